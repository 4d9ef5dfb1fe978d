/* pkg/board: positions (the SSE ids a page sends back), the recent alerts per desk, the story
 * cache and what the page shows of a story, SSE framing of hostile text, and who may see it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "board/board_int.h"

static void test_pos_round_trip(void **state)
{
    struct nd_board_pos pos, back;
    char text[ND_BOARD_POS_TEXT];
    (void)state;
    nd_board_pos_init(&pos);
    nd_board_pos_format(&pos, text, sizeof(text));
    assert_string_equal(text, "");
    pos.off[0] = 12;
    pos.off[2] = 7;
    pos.off[ND_BOARD_MAX_PARTS - 1] = 123456789012LL;
    nd_board_pos_format(&pos, text, sizeof(text));
    assert_string_equal(text, "0:12,2:7,255:123456789012");
    assert_int_equal(nd_board_pos_parse(text, &back), 0);
    assert_memory_equal(&pos, &back, sizeof(pos));
    /* every partition at a big offset still fits the buffer */
    for (int p = 0; p < ND_BOARD_MAX_PARTS; p++)
        pos.off[p] = 999999999999999999LL;
    nd_board_pos_format(&pos, text, sizeof(text));
    assert_int_equal(nd_board_pos_parse(text, &back), 0);
    assert_memory_equal(&pos, &back, sizeof(pos));
}

static void test_pos_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",       "x",       "1",        "1:",      ":1",
        "1:2,",   ",1:2",    "1:2,,3:4", "256:1",   "-1:2",
        "1:-2",   "1:2 ",    " 1:2",     "1:2,1:3", "1:1234567890123456789",
        "1234:1", "0:1;2:3", "0:1\n"};
    struct nd_board_pos pos;
    char big[ND_BOARD_POS_TEXT + 10];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(nd_board_pos_parse(bad[i], &pos), -1);
        /* a rejected id leaves no partial position behind */
        for (int p = 0; p < ND_BOARD_MAX_PARTS; p++)
            assert_true(pos.off[p] == -1);
    }
    assert_int_equal(nd_board_pos_parse(NULL, &pos), -1);
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[1] = ':';
    assert_int_equal(nd_board_pos_parse(big, &pos), -1);
}

static struct nd_board_entry *add(struct nd_board_ring *ring, const char *desk, int64_t off)
{
    char alert[64];
    int n = snprintf(alert, sizeof(alert), "{\"desk\":\"%s\",\"n\":%lld}", desk, (long long)off);
    return nd_board_ring_add(ring, desk, "s", (int32_t)(off % 3), off, alert, (size_t)n);
}

static void test_ring_keeps_recent_per_desk(void **state)
{
    struct nd_board_ring ring;
    struct nd_board_entry *old, *e;
    int64_t order[8];
    size_t n = 0;
    (void)state;
    nd_board_ring_init(&ring, 2);
    assert_null(add(&ring, "asia", 1));
    assert_null(add(&ring, "europe", 2));
    assert_null(add(&ring, "asia", 3));
    /* asia's third: its oldest (1) goes, europe's stays however old */
    old = add(&ring, "asia", 4);
    assert_non_null(old);
    assert_int_equal(old->offset, 1);
    assert_string_equal(old->desk, "asia");
    nd_board_entry_free(old);
    old = add(&ring, "asia", 5);
    assert_int_equal(old->offset, 3);
    nd_board_entry_free(old);
    for (e = ring.head; e; e = e->next)
        order[n++] = e->offset;
    /* consumption order, every desk together */
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 4);
    assert_int_equal(order[2], 5);
    assert_int_equal(ring.tail->offset, 5);
    assert_string_equal(ring.head->alert, "{\"desk\":\"europe\",\"n\":2}");
    assert_true(nd_board_desk_wanted(NULL, "asia"));
    assert_true(nd_board_desk_wanted("", "asia"));
    assert_true(nd_board_desk_wanted("asia", "asia"));
    assert_false(nd_board_desk_wanted("asia", "asian"));
    nd_board_ring_free(&ring);
}

/* A story record: body with multi-byte characters, so code point offsets differ from bytes. */
static char *story_json(const char *id, const char *status)
{
    json_t *doc = json_pack(
        "{s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s}, s:[{s:s, s:{s:i, s:i}}, {s:s, s:{s:i, s:i}}]}",
        "id", id, "version", 2, "pubstatus", status, "headline", "<img src=x onerror=alert(1)>",
        "located", "ZÜRICH", "body_text", "Zürich – the café closed. Ministers met in Genève.",
        "provenance", "feed", "wire", "events", "type", "CONSULT", "sentence", "start", 26, "end",
        50, "type", "ACCUSE", "sentence", "start", 0, "end", 25);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static void test_story_summary_quotes_by_code_points(void **state)
{
    char *text = story_json("00000000000000aa", "usable");
    json_t *doc = json_loads(text, 0, NULL), *sum = nd_board_story_summary(doc);
    const json_t *ev = json_object_get(sum, "evidence");
    (void)state;
    assert_string_equal(json_string_value(json_object_get(sum, "located")), "ZÜRICH");
    assert_string_equal(json_string_value(json_object_get(sum, "feed")), "wire");
    assert_string_equal(json_string_value(json_object_get(sum, "headline")),
                        "<img src=x onerror=alert(1)>");
    assert_null(json_object_get(sum, "body_text"));
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "text")),
                        "Ministers met in Genève.");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 1), "text")),
                        "Zürich – the café closed.");
    json_decref(sum);
    json_decref(doc);
    free(text);
}

static void test_story_cache_pins_and_evicts(void **state)
{
    struct nd_board_stories *s = nd_board_stories_new(2);
    char *a = story_json("0000000000000001", "usable"),
         *b = story_json("0000000000000002", "usable"),
         *c = story_json("0000000000000003", "canceled");
    struct nd_buf buf;
    json_t *wd;
    int pinned;
    (void)state;
    nd_buf_init(&buf, 1 << 20);
    nd_board_stories_pin(s, "0000000000000001"); /* an alert names it before it arrives */
    assert_non_null(nd_board_stories_put(s, a, strlen(a), &pinned));
    assert_true(pinned);
    assert_non_null(nd_board_stories_put(s, b, strlen(b), &pinned));
    assert_false(pinned);
    assert_null(nd_board_stories_put(s, "[1]", 3, &pinned));
    assert_int_equal(nd_board_stories_record(s, "0000000000000001", &buf), ND_OK);
    assert_string_equal(buf.data, a);
    /* a third record: the oldest (pinned) keeps its summary, not its record */
    nd_board_stories_pin(s, "0000000000000003");
    nd_board_stories_put(s, c, strlen(c), &pinned);
    assert_true(pinned);
    nd_buf_reset(&buf);
    assert_int_equal(nd_board_stories_record(s, "0000000000000001", &buf), ND_ERR_NOTFOUND);
    assert_non_null(nd_board_stories_summary(s, "0000000000000001"));
    assert_int_equal(nd_board_stories_record(s, "0000000000000002", &buf), ND_OK);
    /* a fourth: the unpinned oldest goes whole */
    nd_board_stories_put(s, a, strlen(a), &pinned);
    assert_null(nd_board_stories_summary(s, "0000000000000002"));
    wd = nd_board_stories_withdrawn(s);
    assert_int_equal(json_array_size(wd), 1);
    assert_string_equal(json_string_value(json_array_get(wd, 0)), "0000000000000003");
    json_decref(wd);
    /* no alert names it any more and its record is kept: it stays until evicted */
    nd_board_stories_unpin(s, "0000000000000003");
    nd_board_stories_unpin(s, "0000000000000003");
    assert_non_null(nd_board_stories_summary(s, "0000000000000003"));
    nd_buf_free(&buf);
    nd_board_stories_destroy(s);
    free(a);
    free(b);
    free(c);
}

static void test_story_cache_grows(void **state)
{
    struct nd_board_stories *s = nd_board_stories_new(5000);
    char id[17], *text;
    int pinned;
    (void)state;
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "%016x", i);
        text = story_json(id, "usable");
        assert_non_null(nd_board_stories_put(s, text, strlen(text), &pinned));
        free(text);
    }
    for (int i = 0; i < 3000; i += 299) {
        snprintf(id, sizeof(id), "%016x", i);
        assert_non_null(nd_board_stories_summary(s, id));
    }
    nd_board_stories_destroy(s);
}

/* Text from a story cannot end an SSE event early or start one of its own. */
static void test_frame_is_one_event(void **state)
{
    json_t *data = json_pack("{s:s}", "headline", "a\n\nevent: alert\ndata: {}\r\n\n<img src=x>");
    struct nd_board_frame *f = nd_board_frame_new("0:1,2:3", "alert", data);
    const char *end, *head = "id: 0:1,2:3\nevent: alert\ndata: {";
    (void)state;
    assert_true(f->len == strlen(f->data));
    assert_true(!strncmp(f->data, head, strlen(head)));
    end = strstr(f->data, "\n\n");
    assert_non_null(end);
    assert_true(end + 2 == f->data + f->len);
    assert_null(strchr(f->data, '\r'));
    assert_non_null(
        strstr(f->data, "<img src=x>")); /* JSON leaves markup to the page's textContent */
    nd_board_frame_unref(f);
    json_decref(data);
}

static void test_alert_data(void **state)
{
    const char *alert = "{\"id\":\"alert-1\",\"desk\":\"asia\"}";
    json_t *sum = json_pack("{s:s}", "id", "s1");
    json_t *d = nd_board_alert_data(alert, strlen(alert), 2, 41, sum);
    (void)state;
    assert_string_equal(json_string_value(json_object_get(d, "pos")), "2:41");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "alert"), "desk")),
                        "asia");
    assert_ptr_equal(json_object_get(d, "story"), sum);
    json_decref(d);
    d = nd_board_alert_data(alert, strlen(alert), 0, 0, NULL);
    assert_null(json_object_get(d, "story"));
    json_decref(d);
    assert_null(nd_board_alert_data("[1]", 3, 0, 0, NULL));
    assert_null(nd_board_alert_data("{", 1, 0, 0, NULL));
    json_decref(sum);
}

static void test_auth(void **state)
{
    struct nd_board_creds none = {0}, bearer = {"Bearer tok", NULL, NULL},
                          lower = {"bearer tok", NULL, NULL}, wrong = {"Bearer toky", NULL, NULL},
                          cookie = {NULL, "a=b; newsd_board=tok; c=d", NULL},
                          bad_cookie = {NULL, "newsd_boardx=tok", NULL}, arg = {NULL, NULL, "tok"},
                          basic = {"Basic ZWRpdG9yOnB3", NULL, NULL}, /* editor:pw */
        basic_wrong = {"Basic ZWRpdG9yOnB4", NULL, NULL},             /* editor:px */
        basic_junk = {"Basic !!!!", NULL, NULL};
    char *set = NULL;
    (void)state;
    assert_true(nd_board_auth("", "", &none, &set));
    assert_null(set);
    assert_false(nd_board_auth("tok", "", &none, &set));
    assert_true(nd_board_auth("tok", "", &bearer, &set));
    assert_true(nd_board_auth("tok", "", &lower, &set));
    assert_false(nd_board_auth("tok", "", &wrong, &set));
    assert_true(nd_board_auth("tok", "", &cookie, &set));
    assert_null(set);
    assert_false(nd_board_auth("tok", "", &bad_cookie, &set));
    assert_true(nd_board_auth("tok", "", &arg, &set));
    assert_non_null(set);
    assert_string_equal(set, "newsd_board=tok; Path=/board; HttpOnly; SameSite=Strict");
    free(set);
    assert_true(nd_board_auth("", "pw", &basic, &set));
    assert_false(nd_board_auth("", "pw", &basic_wrong, &set));
    assert_false(nd_board_auth("", "pw", &basic_junk, &set));
    assert_false(nd_board_auth("", "pw", &bearer, &set));
    /* both set: either opens it */
    assert_true(nd_board_auth("tok", "pw", &basic, &set));
    assert_true(nd_board_auth("tok", "pw", &bearer, &set));
    assert_false(nd_board_auth("tok", "pw", &none, &set));
}

static void test_secret_compare_and_base64(void **state)
{
    char out[16];
    (void)state;
    assert_true(nd_board_secret_eq("abc", "abc"));
    assert_true(nd_board_secret_eq("", ""));
    assert_false(nd_board_secret_eq("abc", "abd"));
    assert_false(nd_board_secret_eq("abc", "ab"));
    assert_false(nd_board_secret_eq("", "a"));
    assert_int_equal(nd_board_base64_decode("ZWRpdG9yOnB3", out, sizeof(out)), 9);
    assert_string_equal(out, "editor:pw");
    assert_int_equal(nd_board_base64_decode("YQ==", out, sizeof(out)), 1);
    assert_string_equal(out, "a");
    assert_int_equal(nd_board_base64_decode("YQ=", out, sizeof(out)), -1);
    assert_int_equal(nd_board_base64_decode("Y*==", out, sizeof(out)), -1);
    /* longer than the buffer: refused, not cut */
    assert_int_equal(nd_board_base64_decode("YWFhYWFhYWFhYWFhYWFhYWFh", out, sizeof(out)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pos_round_trip),
        cmocka_unit_test(test_pos_rejects_malformed),
        cmocka_unit_test(test_ring_keeps_recent_per_desk),
        cmocka_unit_test(test_story_summary_quotes_by_code_points),
        cmocka_unit_test(test_story_cache_pins_and_evicts),
        cmocka_unit_test(test_story_cache_grows),
        cmocka_unit_test(test_frame_is_one_event),
        cmocka_unit_test(test_alert_data),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_secret_compare_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
