/* Desk rules: loading through the real config loader, FILE:LINE errors, and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert_helpers.h"

/* Does the single desk of `yaml` match the fixture story? *matched gets the evidence. */
static int matches(const char *yaml, const char *fixture, json_t **evidence)
{
    int nerr = 0, hit;
    struct nd_desks *desks = desks_from_yaml(yaml, stderr, &nerr);
    struct nd_story *story = fixture_story(fixture);
    json_t *doc = nd_story_to_json(story), *matched = NULL;
    struct nd_facts facts;
    assert_non_null(desks);
    assert_int_equal(nd_desks_count(desks), 1);
    nd_facts_init(&facts, doc, &story->events);
    hit = nd_desk_match(&desks->desks[0], &facts, &matched);
    if (evidence)
        *evidence = matched;
    else
        json_decref(matched);
    nd_facts_free(&facts);
    json_decref(doc);
    nd_story_destroy(story);
    nd_desks_destroy(desks);
    return hit;
}

/* A story whose events are all below the confidence threshold matches no desk on events, and its
 * events give it no countries of their own. */
static void test_events_below_threshold_match_nothing(void **state)
{
    static const char *const yaml = "desks:\n - name: d\n   match: {any: [{events: [CONSULT]}]}\n";
    int nerr = 0;
    struct nd_desks *desks = desks_from_yaml(yaml, stderr, &nerr);
    struct nd_story *story = fixture_story("talks-a");
    json_t *doc = nd_story_to_json(story), *matched = NULL;
    struct nd_facts facts;
    (void)state;
    assert_non_null(desks);
    assert_true(story->events.n > 0);
    nd_facts_init(&facts, doc, &story->events);
    assert_true(nd_desk_match(&desks->desks[0], &facts, &matched));
    json_decref(matched);
    nd_facts_free(&facts);
    for (size_t i = 0; i < story->events.n; i++)
        story->events.v[i].below_threshold = 1;
    nd_facts_init(&facts, doc, &story->events);
    assert_int_equal(facts.nevents, 0);
    assert_int_equal(facts.event_countries.n, 0);
    assert_false(nd_desk_match(&desks->desks[0], &facts, &matched));
    assert_null(nd_dev_key(&facts));
    nd_facts_free(&facts);
    json_decref(doc);
    nd_story_destroy(story);
    nd_desks_destroy(desks);
}

/* The alert sentence: the CAMEO code's own phrase, every source and target, no unnamed target,
 * the story sentence quoted by its code point span. */
static void test_event_sentence(void **state)
{
    const char *body = "Intro. Brazil and South Africa called for talks on Sudan. Más.";
    struct nd_event ev;
    struct nd_buf out;
    (void)state;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.type, sizeof(ev.type), "AGREE");
    snprintf(ev.cameo, sizeof(ev.cameo), "036");
    memcpy(ev.source[0].code, "BRA", 4);
    memcpy(ev.source[1].code, "ZAF", 4);
    memcpy(ev.target[0].code, "SDN", 4);
    ev.nsource = 2;
    ev.ntarget = 1;
    ev.sent_start = 7;
    ev.sent_end = 57;
    nd_buf_init(&out, 4096);
    nd_event_sentence(&out, &ev, body);
    assert_string_equal(out.data,
                        "Brazil and South Africa expressed intent to meet or negotiate with "
                        "Sudan (AGREE, CAMEO 036): \"Brazil and South Africa called for "
                        "talks on Sudan.\"");
    nd_buf_free(&out);
    /* a target slot in the phrase; an implied (unnamed) target is not said */
    snprintf(ev.type, sizeof(ev.type), "THREATEN");
    snprintf(ev.cameo, sizeof(ev.cameo), "1384");
    ev.nsource = 1;
    ev.target[0].implied = 1;
    nd_buf_init(&out, 4096);
    nd_event_sentence(&out, &ev, NULL);
    assert_string_equal(out.data, "Brazil threatened conventional attack (THREATEN, CAMEO 1384)");
    nd_buf_free(&out);
    snprintf(ev.cameo, sizeof(ev.cameo), "138");
    ev.target[0].implied = 0;
    nd_buf_init(&out, 4096);
    nd_event_sentence(&out, &ev, NULL);
    assert_string_equal(out.data,
                        "Brazil threatened Sudan with military force (THREATEN, CAMEO 138)");
    nd_buf_free(&out);
    /* no PLOVER bucket phrase anywhere in the table */
    for (size_t i = 0; i < nd_ncameo_phrases; i++)
        assert_null(strstr(nd_cameo_phrases[i].phrase, "reached an agreement"));
}

static void test_countries_any_all_none(void **state)
{
    json_t *ev;
    (void)state;
    assert_true(matches("desks:\n - name: d\n   match: {any: [{countries: [JPN, CHN]}]}\n",
                        "talks-a", &ev));
    assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "countries"), 0)),
                        "CHN");
    json_decref(ev);
    assert_false(matches("desks:\n - name: d\n   match: {any: [{countries: [JPN, KOR]}]}\n",
                         "talks-a", NULL));
    /* together: both must be involved */
    assert_true(matches("desks:\n - name: d\n   match: {all: [{countries_all: [USA, CHN]}]}\n",
                        "talks-a", NULL));
    assert_false(matches("desks:\n - name: d\n   match: {all: [{countries_all: [USA, DEU]}]}\n",
                         "talks-a", NULL));
    /* none vetoes */
    assert_false(matches("desks:\n - name: d\n   match:\n     any: [{countries: [CHN]}]\n"
                         "     none: [{keywords: [taiwan]}]\n",
                         "talks-a", NULL));
    /* all + any together */
    assert_true(matches("desks:\n - name: d\n   match:\n     all: [{topics: [politics]}]\n"
                        "     any: [{countries: [FRA]}, {countries: [USA]}]\n",
                        "talks-a", NULL));
    assert_false(matches("desks:\n - name: d\n   match:\n     all: [{topics: [sport]}]\n"
                         "     any: [{countries: [USA]}]\n",
                         "talks-a", NULL));
    /* an official's affiliation counts: Germany story has no US official */
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{countries: [USA]}]}\n", "unrelated", NULL));
}

static void test_entities_topics_events_feeds_keywords(void **state)
{
    json_t *ev;
    (void)state;
    /* by Wikidata id and by canonical name (case-insensitive) */
    assert_true(matches("desks:\n - name: d\n   match: {any: [{entities: [Q15031]}]}\n",
                        "escalation", &ev));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ev, "entities"), 0), "name")),
                        "Xi Jinping");
    /* the evidence quotes the entity without its mentions */
    assert_null(json_object_get(json_array_get(json_object_get(ev, "entities"), 0), "mentions"));
    json_decref(ev);
    assert_true(matches("desks:\n - name: d\n   match: {any: [{entities: [antony blinken]}]}\n",
                        "talks-a", NULL));
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{entities: [Q15031]}]}\n", "talks-a", NULL));
    /* a topic counts at its confidence threshold (talks-a: politics 0.8), 0.5 by default */
    assert_true(matches("desks:\n - name: d\n   match: {any: [{topics: [politics], "
                        "min_confidence: 0.8}]}\n",
                        "talks-a", NULL));
    assert_false(matches("desks:\n - name: d\n   match: {any: [{topics: [politics], "
                         "min_confidence: 0.81}]}\n",
                         "talks-a", NULL));
    /* topics by name, code and URI */
    assert_true(
        matches("desks:\n - name: d\n   match: {any: [{topics: [Politics]}]}\n", "talks-a", NULL));
    assert_true(matches("desks:\n - name: d\n   match: {any: [{topics: ['11000000']}]}\n",
                        "talks-a", NULL));
    assert_true(matches("desks:\n - name: d\n   match: {any: [{topics: "
                        "['http://cv.iptc.org/newscodes/mediatopic/11000000']}]}\n",
                        "talks-a", NULL));
    /* PLOVER types and CAMEO prefixes */
    assert_true(
        matches("desks:\n - name: d\n   match: {any: [{events: [CONSULT]}]}\n", "talks-a", NULL));
    assert_true(
        matches("desks:\n - name: d\n   match: {any: [{events: ['11']}]}\n", "escalation", NULL));
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{events: ['11']}]}\n", "talks-a", NULL));
    /* minimum intensity is on |intensity|, and with a type both must hold on one event */
    assert_true(
        matches("desks:\n - name: d\n   match: {any: [{min_intensity: 4}]}\n", "escalation", NULL));
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{min_intensity: 4}]}\n", "talks-a", NULL));
    assert_false(matches("desks:\n - name: d\n   match: {any: [{events: [CONSULT], "
                         "min_intensity: 4}]}\n",
                         "escalation", NULL));
    /* feeds */
    assert_true(matches("desks:\n - name: d\n   match: {any: [{feeds: [wire-c, wire-a]}]}\n",
                        "talks-a", NULL));
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{feeds: [wire-b]}]}\n", "talks-a", NULL));
    /* keywords: whole words and phrases, any case */
    assert_true(matches("desks:\n - name: d\n   match: {any: [{keywords: [export controls]}]}\n",
                        "talks-a", NULL));
    assert_false(
        matches("desks:\n - name: d\n   match: {any: [{keywords: [port]}]}\n", "talks-a", NULL));
    /* keys of one condition must all hold */
    assert_false(matches("desks:\n - name: d\n   match: {any: [{countries: [CHN], feeds: "
                         "[wire-b]}]}\n",
                         "talks-a", NULL));
}

static void test_errors_name_file_and_line(void **state)
{
    const char *yaml = "kafka:\n  brokers: x\n"            /* 1-2 */
                       "desks:\n"                          /* 3 */
                       "  - name: asia\n"                  /* 4 */
                       "    match:\n"                      /* 5 */
                       "      any:\n"                      /* 6 */
                       "        - countries: [CHN, usa]\n" /* 7 */
                       "          events: [MEET]\n"        /* 8 */
                       "          topics: [cooking]\n"     /* 9 */
                       "          colour: blue\n"          /* 10 */
                       "    sound: loud\n"                 /* 11 */
                       "  - name: asia\n"                  /* 12 */
                       "    match:\n"                      /* 13 */
                       "      any:\n"                      /* 14 */
                       "        - min_confidence: 0.5\n"   /* 15 */
                       "        - topics: [sport]\n"       /* 16 */
                       "          min_confidence: 2\n";    /* 17 */
    char *out = NULL;
    size_t len = 0;
    FILE *errors = open_memstream(&out, &len);
    int nerr = 0;
    struct nd_desks *desks;
    (void)state;
    desks = desks_from_yaml(yaml, errors, &nerr);
    fclose(errors);
    assert_null(desks);
    assert_int_equal(nerr, 8);
    assert_non_null(strstr(out, "test.yaml:7: countries: \"usa\" is not an ISO 3166-1 alpha-3"));
    assert_non_null(strstr(out, "test.yaml:8: events: unknown PLOVER event type \"MEET\""));
    assert_non_null(strstr(out, "test.yaml:9: topics: \"cooking\" is not a known IPTC"));
    assert_non_null(strstr(out, "test.yaml:10: unknown condition \"colour\""));
    assert_non_null(strstr(out, "test.yaml:11: desks: unknown key \"sound\""));
    assert_non_null(strstr(out, "test.yaml:12: desks: duplicate desk name \"asia\""));
    assert_non_null(
        strstr(out, "test.yaml:15: min_confidence: needs topics in the same condition"));
    assert_non_null(strstr(out, "test.yaml:17: min_confidence:"));
    free(out);
}

static void test_topic_table_from_models(void **state)
{
    char dir[] = "/tmp/newsd-topics-XXXXXX", path[256];
    FILE *f;
    struct nd_alert_topics *topics;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/iptc_mediatopics.tsv", dir);
    f = fopen(path, "w");
    fprintf(f, "uri\tname\n"
               "http://cv.iptc.org/newscodes/mediatopic/20000638\tdiplomacy\tdef\n");
    fclose(f);
    topics = nd_alert_topics_load(dir);
    assert_string_equal(nd_alert_topics_resolve(topics, "Diplomacy"),
                        "http://cv.iptc.org/newscodes/mediatopic/20000638");
    assert_non_null(nd_alert_topics_resolve(topics, "politics")); /* top level still known */
    /* with the table, a URI it does not list is unknown */
    assert_null(
        nd_alert_topics_resolve(topics, "http://cv.iptc.org/newscodes/mediatopic/99999999"));
    nd_alert_topics_destroy(topics);
    unlink(path);
    rmdir(dir);
    topics = nd_alert_topics_load(dir);
    assert_non_null(
        nd_alert_topics_resolve(topics, "http://cv.iptc.org/newscodes/mediatopic/99999999"));
    assert_null(nd_alert_topics_resolve(topics, "http://example.org/topic/1"));
    nd_alert_topics_destroy(topics);
}

static void test_shipped_desks_are_valid(void **state)
{
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks;
    int nerr;
    (void)state;
    /* loaded as `desks: FILE` would load it */
    nerr = nd_config_load_string(conf, "desks: deploy/desks.yaml\n", 24,
                                 NEWSD_FIXTURES "/../../newsd.yaml", stderr);
    assert_int_equal(nerr, 0);
    desks = nd_desks_load(conf->desks, NULL, stderr, &nerr);
    assert_int_equal(nerr, 0);
    assert_int_equal(nd_desks_count(desks), 6);
    nd_desks_destroy(desks);
    nd_config_destroy(conf);
}

static void test_empty_and_missing_desks(void **state)
{
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks;
    int nerr = 0;
    (void)state;
    assert_int_equal(nd_config_load_string(conf, "desks:\n", 7, "t.yaml", NULL), 0);
    desks = nd_desks_load(conf->desks, NULL, NULL, &nerr);
    assert_int_equal(nerr, 0);
    assert_int_equal(nd_desks_count(desks), 0);
    nd_desks_destroy(desks);
    /* a desks file that is not there is an error of the config, with its line */
    assert_int_equal(
        nd_config_load_string(conf, "log_level: info\ndesks: none.yaml\n", 34, "/tmp/t.yaml", NULL),
        1);
    nd_config_destroy(conf);
}

static void test_leaders_and_ministers(void **state)
{
    json_t *e;
    (void)state;
    e = json_pack("{s:s}", "role", "President");
    assert_true(nd_entity_is_leader(e));
    json_decref(e);
    e = json_pack("{s:s}", "role", "Vice President");
    assert_false(nd_entity_is_leader(e));
    json_decref(e);
    e = json_pack("{s:s}", "role", "Secretary of State");
    assert_false(nd_entity_is_leader(e));
    assert_true(nd_entity_is_foreign_minister(e));
    json_decref(e);
    e = json_pack("{s:s}", "kind", "leader");
    assert_true(nd_entity_is_leader(e));
    json_decref(e);
    e = json_pack("{s:s}", "role", "Prime Minister");
    assert_true(nd_entity_is_leader(e));
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_countries_any_all_none),
        cmocka_unit_test(test_events_below_threshold_match_nothing),
        cmocka_unit_test(test_event_sentence),
        cmocka_unit_test(test_entities_topics_events_feeds_keywords),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_topic_table_from_models),
        cmocka_unit_test(test_shipped_desks_are_valid),
        cmocka_unit_test(test_empty_and_missing_desks),
        cmocka_unit_test(test_leaders_and_ministers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
