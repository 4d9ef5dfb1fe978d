#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/enrich.h"
#include "story/story.h"

static void test_canonical_url_drops_tracking(void **state)
{
    char *u;
    (void)state;
    u = nd_url_canonical("https://x.org/a?utm_source=rss&id=7&fbclid=zz#frag");
    assert_string_equal(u, "https://x.org/a?id=7");
    free(u);
    u = nd_url_canonical("https://x.org/a?utm_medium=x");
    assert_string_equal(u, "https://x.org/a");
    free(u);
    u = nd_url_canonical("https://x.org/a");
    assert_string_equal(u, "https://x.org/a");
    free(u);
}

static void test_id_is_stable_and_scoped(void **state)
{
    struct nd_story *a = nd_story_new(), *b = nd_story_new(), *c = nd_story_new();
    (void)state;
    nd_story_set(&a->feed_id, "f1");
    nd_story_set(&a->url, "https://x.org/a?utm_source=rss");
    nd_story_set(&b->feed_id, "f1");
    nd_story_set(&b->url, "https://x.org/a?utm_campaign=other");
    nd_story_set(&c->feed_id, "f2");
    nd_story_set(&c->url, "https://x.org/a");
    nd_story_assign_id(a);
    nd_story_assign_id(b);
    nd_story_assign_id(c);
    assert_int_equal(strlen(a->id), 16);
    assert_string_equal(a->id, b->id);     /* tracking parameters do not change identity */
    assert_string_not_equal(a->id, c->id); /* the source is part of identity */
    /* a GUID wins over the URL */
    nd_story_set(&b->guid, "guid-1");
    nd_story_assign_id(b);
    assert_string_not_equal(a->id, b->id);
    nd_story_destroy(a);
    nd_story_destroy(b);
    nd_story_destroy(c);
}

static void test_json_round_trip(void **state)
{
    struct nd_story *story = nd_story_new(), *back;
    json_t *doc;
    char err[256];
    (void)state;
    nd_story_set(&story->feed_id, "wire");
    nd_story_set(&story->guid, "g-1");
    nd_story_set(&story->headline, "Ministers meet");
    nd_story_set(&story->body_text, "Text \xE2\x80\x9Cquoted\xE2\x80\x9D.");
    story->published_at = 1795900000;
    story->fetched_at_ms = 1795900005000LL;
    nd_story_assign_id(story);
    doc = nd_story_to_json(story);
    assert_string_equal(json_string_value(json_object_get(doc, "headline")), "Ministers meet");
    assert_string_equal(json_string_value(json_object_get(doc, "pubstatus")), "usable");
    assert_string_equal(json_string_value(json_object_get(doc, "firstcreated")),
                        "2026-11-28T21:06:40Z");
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
    back = nd_story_from_json(doc, err, sizeof(err));
    assert_non_null(back);
    assert_string_equal(back->id, story->id);
    assert_string_equal(back->body_text, story->body_text);
    assert_int_equal(back->published_at, story->published_at);
    nd_story_destroy(back);
    json_decref(doc);
    /* not a story */
    doc = json_pack("{s:s}", "headline", "no body");
    assert_null(nd_story_from_json(doc, err, sizeof(err)));
    assert_non_null(strstr(err, "body_text"));
    json_decref(doc);
    nd_story_destroy(story);
}

static void test_wire_structure_split(void **state)
{
    struct nd_story *story = nd_story_new();
    (void)state;
    nd_story_set(&story->body_text,
                 "By Jane Roe and John Doe\nNEW YORK (Sample Wire) -U.S. officials met.\n"
                 "More text.\n(Reporting by Jane Roe; Editing by Max Moe)\n");
    nd_enrich_text(story);
    assert_string_equal(story->byline, "Jane Roe and John Doe");
    assert_string_equal(story->located, "NEW YORK");
    assert_string_equal(story->dateline, "NEW YORK (Sample Wire) -");
    assert_string_equal(story->credit, "(Reporting by Jane Roe; Editing by Max Moe)");
    assert_string_equal(story->body_text, "U.S. officials met.\nMore text.");
    nd_story_destroy(story);

    /* not a dateline: an ordinary sentence starting with an acronym */
    story = nd_story_new();
    nd_story_set(&story->body_text, "NATO allies met on Friday - and agreed.");
    nd_enrich_text(story);
    assert_null(story->located);
    assert_string_equal(story->body_text, "NATO allies met on Friday - and agreed.");
    nd_story_destroy(story);
}

/* Typed events: JSON out and back gives the same events; below_threshold survives. */
static void test_event_json_round_trip(void **state)
{
    struct nd_event_list list = {0}, back = {0};
    struct nd_event *ev = nd_event_list_add(&list);
    json_t *arr, *again;
    (void)state;
    snprintf(ev->type, sizeof(ev->type), "COERCE");
    snprintf(ev->cameo, sizeof(ev->cameo), "163");
    memcpy(ev->source[0].code, "IGO", 4);
    ev->source[0].name = strdup("European Union");
    ev->source[0].text = strdup("European Union");
    ev->source[0].end = 14;
    memcpy(ev->target[0].code, "RUS", 4);
    ev->target[0].implied = 1;
    ev->nsource = ev->ntarget = 1;
    ev->trigger = strdup("sanctions against");
    ev->intensity = -4;
    ev->confidence = 0.42;
    nd_event_list_mark(&list, 0.5);
    assert_true(ev->below_threshold);
    assert_int_equal(nd_event_list_count_published(&list), 0);
    arr = nd_event_list_to_json(&list);
    assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "below_threshold")));
    assert_int_equal(nd_event_list_from_json(&back, arr), 1);
    assert_string_equal(back.v[0].source[0].name, "European Union");
    assert_true(back.v[0].target[0].implied);
    again = nd_event_list_to_json(&back);
    assert_true(json_equal(arr, again));
    json_decref(arr);
    json_decref(again);
    nd_event_list_clear(&list);
    nd_event_list_clear(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_url_drops_tracking),
        cmocka_unit_test(test_id_is_stable_and_scoped),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_event_json_round_trip),
        cmocka_unit_test(test_wire_structure_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
