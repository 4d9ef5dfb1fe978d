/* Feed dates: each accepted form gives the right instant; each doubtful one is rejected with a
 * reason, never turned into a wrong date. "now" is fixed so future-date rules are deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse/parse_int.h"

#define NOW 1795910400 /* 2026-11-29T00:00:00Z */

static void expect(const char *text, const char *rfc3339)
{
    const char *why = NULL;
    char got[40] = "";
    int64_t t = nd_parse_date_at(text, NOW, &why);
    if (t)
        nd_time_rfc3339(t, got, sizeof(got));
    if (strcmp(got, rfc3339)) {
        fprintf(stderr, "\"%s\": got \"%s\" (%s), want %s\n", text, got, why ? why : "", rfc3339);
        fail();
    }
}

static void reject(const char *text, const char *reason)
{
    const char *why = NULL;
    int64_t t = nd_parse_date_at(text, NOW, &why);
    if (t != 0 || !why || !strstr(why, reason)) {
        fprintf(stderr, "\"%s\": got %lld (%s), want rejection \"%s\"\n", text, (long long)t,
                why ? why : "no reason", reason);
        fail();
    }
}

static void test_rfc822(void **state)
{
    (void)state;
    expect("Sat, 28 Nov 2026 09:12:00 GMT", "2026-11-28T09:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 +0100", "2026-11-28T08:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 +01:00", "2026-11-28T08:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 -0330", "2026-11-28T12:42:00Z");
    expect("28 Nov 2026 09:12:00 UT", "2026-11-28T09:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 UTC", "2026-11-28T09:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 Z", "2026-11-28T09:12:00Z");
    expect("Fri, 27 Nov 2026 22:00:00 EST", "2026-11-28T03:00:00Z");
    expect("Fri, 27 Nov 2026 22:00:00 EDT", "2026-11-28T02:00:00Z");
    expect("Thu, 01 Oct 2026 06:30:00 PDT", "2026-10-01T13:30:00Z");
    expect("Thu, 01 Oct 2026 06:30:00 PST", "2026-10-01T14:30:00Z");
    expect("Thu, 01 Oct 2026 06:30:00 CST", "2026-10-01T12:30:00Z");
    expect("Thu, 01 Oct 2026 06:30:00 MDT", "2026-10-01T12:30:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 GMT+0100", "2026-11-28T08:12:00Z");
    expect("Sat, 28 Nov 2026 09:12:00 +0100 (CET)", "2026-11-28T08:12:00Z");
    expect("  Sat, 28 Nov 2026 09:12:00 GMT \n", "2026-11-28T09:12:00Z");
}

static void test_military_zones(void **state)
{
    (void)state;
    /* military convention: A = UTC+1 ... M = UTC+12, N = UTC-1 ... Y = UTC-12 */
    expect("Sat, 28 Nov 2026 10:00:00 A", "2026-11-28T09:00:00Z");
    expect("Sat, 28 Nov 2026 12:00:00 M", "2026-11-28T00:00:00Z");
    expect("Sat, 28 Nov 2026 10:00:00 N", "2026-11-28T11:00:00Z");
    expect("Sat, 28 Nov 2026 10:00:00 Y", "2026-11-28T22:00:00Z");
    reject("Sat, 28 Nov 2026 10:00:00 J", "unknown time zone");
}

static void test_broken_variants(void **state)
{
    (void)state;
    expect("Sat, 28 Nov 2026 09:12 GMT", "2026-11-28T09:12:00Z");     /* no seconds */
    expect("Sat, 28 Nov 26 09:12:00 GMT", "2026-11-28T09:12:00Z");    /* two-digit year */
    expect("Sat, 28 Nov 99 09:12:00 GMT", "1999-11-28T09:12:00Z");
    expect("Mon, 28 Nov 2026 09:12:00 GMT", "2026-11-28T09:12:00Z");  /* wrong day name */
    expect("Saturday, 28 November 2026 09:12:00 GMT", "2026-11-28T09:12:00Z");
    expect("Sat,28 Nov 2026 09:12:00 GMT", "2026-11-28T09:12:00Z");
    expect("28-Nov-2026 09:12:00 GMT", "2026-11-28T09:12:00Z");
    expect("Nov 28, 2026 09:12:00 GMT", "2026-11-28T09:12:00Z");
    expect("November 28, 2026 9:12 pm EST", "2026-11-29T02:12:00Z");
    expect("Sat Nov 28 09:12:00 UTC 2026", "2026-11-28T09:12:00Z");    /* ctime */
    expect("Sat, 28 Nov 2026", "2026-11-28T00:00:00Z");                 /* a bare day */
    expect("Sat, 28 Nov 2026 09:12:60 GMT", "2026-11-28T09:12:59Z");   /* leap second */
}

static void test_rfc3339(void **state)
{
    (void)state;
    expect("2026-11-28T09:12:00Z", "2026-11-28T09:12:00Z");
    expect("2026-11-28t09:12:00z", "2026-11-28T09:12:00Z");
    expect("2026-11-28T09:12:00.123456Z", "2026-11-28T09:12:00Z");
    expect("2026-11-28T09:12:00+05:30", "2026-11-28T03:42:00Z");
    expect("2026-11-28T09:12:00-0800", "2026-11-28T17:12:00Z");
    expect("2026-11-28 09:12:00+00:00", "2026-11-28T09:12:00Z");
    expect("2026-11-28T09:12Z", "2026-11-28T09:12:00Z");
    expect("2026-11-28", "2026-11-28T00:00:00Z");
    expect("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z");
}

static void test_rejections(void **state)
{
    (void)state;
    reject("Sat, 28 Nov 2099 09:12:00 GMT", "future");
    reject("2026-11-30T01:00:01Z", "future");                     /* beyond a day of tolerance */
    expect("2026-11-29T23:59:59Z", "2026-11-29T23:59:59Z");       /* within it */
    reject("Fri, 30 Feb 2026 09:12:00 GMT", "no such day");
    reject("2025-02-29T12:00:00Z", "no such day");
    reject("2026-04-31T12:00:00Z", "no such day");
    reject("2026-13-01T12:00:00Z", "month out of range");
    reject("2026-11-28T24:00:00Z", "time of day out of range");
    reject("2026-11-28T12:60:00Z", "out of range");
    reject("Sat, 28 Nov 2026 09:12:00", "no time zone");
    reject("2026-11-28T09:12:00", "no time zone");
    reject("Sat, 28 Nov 2026 09:12:00 XYZ", "unknown time zone");
    reject("Sat, 28 Nov 2026 09:12:00 +2500", "offset out of range");
    reject("Thu, 01 Jan 1970 00:00:00 GMT", "year out of range");
    reject("0001-01-01T00:00:00Z", "year out of range");
    reject("Sat, 28 Foo 2026 09:12:00 GMT", "unknown month");
    reject("sometime last week", "not an RFC 822");
    reject("", "empty");
    reject("2026-11-28T09:12:00Z trailing", "unexpected text");
    reject("Sat, 28 Nov 2026 09:12:00 GMT and more", "unexpected text");
    reject("Sat, 28 Nov 202 09:12:00 GMT", "year");
    /* a day and a lone digit at the very end of the text: nothing is read past the end */
    {
        char edge[128];
        memset(edge, ' ', sizeof(edge));
        memcpy(edge, "may 1", 5);
        edge[sizeof(edge) - 2] = '2';
        edge[sizeof(edge) - 1] = '\0';
        reject(edge, "");
    }
    {
        char big[300];
        memset(big, '9', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        reject(big, "too long");
    }
}

static void test_story_date_note(void **state)
{
    struct nd_story *story = nd_story_new();
    (void)state;
    nd_story_set_date(story, "Fri, 30 Feb 2024 09:12:00 GMT", 0);
    assert_int_equal(story->published_at, 0);
    assert_non_null(story->date_note);
    assert_non_null(strstr(story->date_note, "no such day"));
    assert_non_null(strstr(story->date_note, "30 Feb"));
    nd_story_set_date(story, "Thu, 28 Nov 2024 09:12:00 GMT", 0);
    assert_int_equal(story->published_at, 1732785120);
    nd_story_destroy(story);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc822),         cmocka_unit_test(test_military_zones),
        cmocka_unit_test(test_broken_variants), cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_rejections),     cmocka_unit_test(test_story_date_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
