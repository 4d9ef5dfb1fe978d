/* The topics `newsd demo` shows: every story of the bundled sample feeds (deploy/demo/feeds),
 * parsed and enriched as the daemon does, has the main subject an editor would give it, and no
 * shipped desk (deploy/desks.yaml) matches a story on a topic the story does not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_helpers.h"
#include "enrich/enrich.h"
#include "parse/parse.h"

#define FEEDS NEWSD_SOURCE_DIR "/deploy/demo/feeds"
#define URI(code) "http://cv.iptc.org/newscodes/mediatopic/" code
#define ECONOMY URI("04000000")
#define POLITICS URI("11000000")
#define CONFLICT URI("16000000")

static const char *const feeds[] = {"wire-diplomacy.xml", "wire-asia.xml", "ministry-europe.xml"};

/* What each sample story must (and must not) carry, by a piece of its headline. */
static const struct expect {
    const char *headline;
    const char *first; /* the first top-level topic */
    const char *has;   /* a subtopic it has, with confidence >= 0.5 */
    const char *hasnt; /* a topic it must not have at all */
} expects[] = {
    {"ceasefire talks on Sudan", POLITICS, URI("20000073"), NULL},     /* peace process */
    {"coast guard ships", POLITICS, URI("20000638"), URI("20000065")}, /* not civil unrest */
    {"trade warnings over Taiwan", POLITICS, URI("20000639"), NULL},   /* diplomacy */
    {"new sanctions on Russia", POLITICS, URI("20000642"), NULL},      /* economic sanction */
    {"defence logistics pact", POLITICS, URI("20000641"), NULL},       /* treaty */
    {"missile strikes on Ukrainian", POLITICS, URI("20000638"), URI("09000000")}, /* not labour */
};

struct demo {
    struct nd_enrich *enrich;
    struct nd_story *stories[32];
    size_t n;
};

static struct demo demo;

static int setup(void **state)
{
    char errstr[512];
    (void)state;
    demo.enrich = nd_enrich_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr));
    if (!demo.enrich) {
        fprintf(stderr, "%s\n", errstr);
        return -1;
    }
    for (size_t f = 0; f < sizeof(feeds) / sizeof(feeds[0]); f++) {
        char path[1024], *data = NULL;
        size_t len;
        struct nd_parse_result res = {0};
        struct nd_parse_opts opts = {.feed_id = feeds[f]};
        snprintf(path, sizeof(path), "%s/%s", FEEDS, feeds[f]);
        if (nd_file_read(path, 1 << 20, &data, &len) != ND_OK ||
            nd_parse_feed(data, len, &opts, &res, errstr, sizeof(errstr)) != ND_OK) {
            fprintf(stderr, "%s: %s\n", path, errstr);
            free(data);
            nd_parse_result_free(&res);
            return -1;
        }
        for (size_t i = 0; i < res.nstories && demo.n < 32; i++) {
            demo.stories[demo.n] = res.stories[i];
            res.stories[i] = NULL;
            nd_enrich_story(demo.enrich, demo.stories[demo.n++]);
        }
        nd_parse_result_free(&res);
        free(data);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < demo.n; i++)
        nd_story_destroy(demo.stories[i]);
    nd_enrich_destroy(demo.enrich);
    return 0;
}

static const json_t *subject_of(const struct nd_story *story)
{
    return json_object_get(story->annotations, "subject");
}

static double confidence(const json_t *subject, const char *uri)
{
    size_t i;
    const json_t *t;
    json_array_foreach(subject, i, t)
    {
        if (!strcmp(json_string_value(json_object_get(t, "uri")), uri))
            return json_real_value(json_object_get(t, "confidence"));
    }
    return -1;
}

static const char *first_top(const json_t *subject)
{
    size_t i;
    const json_t *t;
    json_array_foreach(subject, i, t)
    {
        const char *uri = json_string_value(json_object_get(t, "uri"));
        if (strlen(uri) > 6 && !strcmp(uri + strlen(uri) - 6, "000000"))
            return uri;
    }
    return NULL;
}

static void test_every_story_expected(void **state)
{
    (void)state;
    assert_int_equal(demo.n, sizeof(expects) / sizeof(expects[0]));
    for (size_t e = 0; e < sizeof(expects) / sizeof(expects[0]); e++) {
        const struct nd_story *story = NULL;
        for (size_t i = 0; i < demo.n && !story; i++)
            if (strstr(demo.stories[i]->headline, expects[e].headline))
                story = demo.stories[i];
        assert_non_null(story);
        const json_t *subject = subject_of(story);
        const char *first = first_top(subject);
        if (!first || strcmp(first, expects[e].first))
            fail_msg("\"%s\": first top-level topic %s, expected %s", story->headline,
                     first ? first : "none", expects[e].first);
        assert_true(confidence(subject, expects[e].has) >= 0.5);
        if (expects[e].hasnt)
            assert_true(confidence(subject, expects[e].hasnt) < 0);
        /* none of the sample stories is a business story */
        assert_true(confidence(subject, ECONOMY) < 0.5);
    }
}

static void test_confidences_and_evidence(void **state)
{
    (void)state;
    for (size_t i = 0; i < demo.n; i++) {
        const json_t *subject = subject_of(demo.stories[i]), *t;
        size_t k;
        double prev = 1.0;
        assert_true(json_array_size(subject) > 0);
        json_array_foreach(subject, k, t)
        {
            double c = json_real_value(json_object_get(t, "confidence"));
            assert_true(c > 0.0 && c <= prev + 1e-9); /* a probability, most confident first */
            prev = c;
            assert_true(json_array_size(json_object_get(t, "evidence")) > 0);
        }
    }
}

/* A shipped desk matching a sample story on topics matched topics the story has, at the desk's
 * confidence threshold. */
static void test_desks_match_only_topics_stories_have(void **state)
{
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks;
    int nerr;
    (void)state;
    nerr = nd_config_load_string(conf, "desks: deploy/desks.yaml\n", 24,
                                 NEWSD_SOURCE_DIR "/newsd.yaml", stderr);
    assert_int_equal(nerr, 0);
    desks = nd_desks_load(conf->desks, NULL, stderr, &nerr);
    assert_non_null(desks);
    for (size_t i = 0; i < demo.n; i++) {
        json_t *doc = nd_story_to_json(demo.stories[i]);
        struct nd_facts facts;
        nd_facts_init(&facts, doc, &demo.stories[i]->events);
        for (size_t d = 0; d < nd_desks_count(desks); d++) {
            json_t *matched = NULL, *uri;
            size_t k;
            if (nd_desk_match(&desks->desks[d], &facts, &matched))
                json_array_foreach(json_object_get(matched, "topics"), k, uri)
                {
                    double c = confidence(subject_of(demo.stories[i]), json_string_value(uri));
                    if (c < ND_TOPIC_CONFIDENCE)
                        fail_msg("desk %s matched \"%s\" on %s (confidence %.3f)",
                                 desks->desks[d].name, demo.stories[i]->headline,
                                 json_string_value(uri), c);
                }
            json_decref(matched);
        }
        nd_facts_free(&facts);
        json_decref(doc);
    }
    nd_desks_destroy(desks);
    nd_config_destroy(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_story_expected),
        cmocka_unit_test(test_confidences_and_evidence),
        cmocka_unit_test(test_desks_match_only_topics_stories_have),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
