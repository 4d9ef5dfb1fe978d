/* Topics: IPTC Media Topic URIs, names, confidences and evidence for a diplomatic story, a sports
 * story, empty text; the model must load and fail cleanly when missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "enrich/events.h"
#include "enrich/topics.h"

#define MODELS NEWSD_SOURCE_DIR "/models"
#define URI(code) "http://cv.iptc.org/newscodes/mediatopic/" code

static struct nd_topics *topics;
static struct nd_events *events;

static int setup(void **state)
{
    char errstr[256];
    (void)state;
    topics = nd_topics_new(MODELS, errstr, sizeof(errstr));
    events = topics ? nd_events_new(MODELS, errstr, sizeof(errstr)) : NULL;
    if (!events)
        fprintf(stderr, "%s\n", errstr);
    return events ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nd_topics_destroy(topics);
    nd_events_destroy(events);
    return 0;
}

static const json_t *find(const json_t *arr, const char *uri)
{
    size_t i;
    const json_t *t;
    json_array_foreach(arr, i, t)
    {
        if (!strcmp(json_string_value(json_object_get(t, "uri")), uri))
            return t;
    }
    return NULL;
}

static json_t *assign(const char *text)
{
    struct nd_event_list evs = {0};
    json_t *arr;
    nd_events_code_list(events, text, strlen(text), NULL, 0, &evs);
    arr = nd_topics_assign(topics, NULL, text, strlen(text), &evs);
    nd_event_list_clear(&evs);
    return arr;
}

static void test_diplomatic_story(void **state)
{
    char *text = NULL;
    size_t len, i;
    json_t *arr;
    const json_t *t;
    (void)state;
    assert_int_equal(nd_file_read(NEWSD_FIXTURES "/events/story.txt", 1 << 20, &text, &len), ND_OK);
    arr = assign(text);
    assert_non_null(find(arr, URI("11000000")));    /* politics and government */
    assert_non_null(find(arr, URI("20000638")));    /* international relations */
    const json_t *dip = find(arr, URI("20000639")); /* diplomacy */
    assert_non_null(dip);
    assert_string_equal(json_string_value(json_object_get(dip, "name")), "diplomacy");
    assert_null(find(arr, URI("15000000"))); /* not sport */
    json_array_foreach(arr, i, t)
    {
        double c = json_real_value(json_object_get(t, "confidence"));
        assert_true(c > 0.0 && c < 1.0 + 1e-9);
        assert_true(json_array_size(json_object_get(t, "evidence")) > 0);
        if (i > 0) /* most confident first */
            assert_true(c <=
                        json_real_value(json_object_get(json_array_get(arr, i - 1), "confidence")));
    }
    json_decref(arr);
    free(text);
}

/* Events under the threshold are left out of the topics: the story scores as if it had none. */
static void test_below_threshold_events_ignored(void **state)
{
    char *text = NULL, *with, *without;
    size_t len;
    struct nd_event_list evs = {0}, none = {0};
    json_t *a, *b;
    (void)state;
    assert_int_equal(nd_file_read(NEWSD_FIXTURES "/events/story.txt", 1 << 20, &text, &len), ND_OK);
    nd_events_code_list(events, text, len, NULL, 0, &evs);
    assert_true(evs.n > 0);
    a = nd_topics_assign(topics, NULL, text, len, &evs);
    b = nd_topics_assign(topics, NULL, text, len, &none);
    with = json_dumps(a, JSON_SORT_KEYS), without = json_dumps(b, JSON_SORT_KEYS);
    assert_string_not_equal(with, without); /* the events count while they are above it */
    free(with);
    json_decref(a);
    nd_event_list_mark(&evs, 1.01); /* every event below the threshold */
    a = nd_topics_assign(topics, NULL, text, len, &evs);
    with = json_dumps(a, JSON_SORT_KEYS);
    assert_string_equal(with, without);
    free(with);
    free(without);
    json_decref(a);
    json_decref(b);
    nd_event_list_clear(&evs);
    free(text);
}

static void test_subtopics(void **state)
{
    json_t *arr =
        assign("Washington imposed new tariffs and export controls on Chinese chips, and the "
               "European Union announced sanctions against Iran. Tariffs on steel rose again.");
    (void)state;
    assert_non_null(find(arr, URI("20000384"))); /* tariff */
    assert_non_null(find(arr, URI("20000642"))); /* economic sanction */
    json_decref(arr);
    arr = assign(
        "The peace talks stalled as the ceasefire collapsed and the war entered its third year; "
        "refugees fled the shelling and drones struck the capital.");
    assert_non_null(find(arr, URI("20000073"))); /* peace process */
    assert_non_null(find(arr, URI("16000000"))); /* conflict, war and peace */
    json_decref(arr);
}

static void test_sport(void **state)
{
    const char *text =
        "Arsenal beat Chelsea 2-1 in the league on Saturday. The coach praised his players "
        "after the match, and the team climbed to second in the championship table.";
    json_t *arr = assign(text);
    (void)state;
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "uri")),
                        URI("15000000"));
    assert_string_equal(nd_topics_top_class(topics, NULL, text, strlen(text)), "15000000");
    json_decref(arr);
}

static const char *first_top(const json_t *arr)
{
    size_t i;
    const json_t *t;
    json_array_foreach(arr, i, t)
    {
        const char *uri = json_string_value(json_object_get(t, "uri"));
        if (!strcmp(uri + strlen(uri) - 6, "000000"))
            return uri;
    }
    return "";
}

/* Headline, then lead, weigh more than the tail: the same two sentences, swapped, swap the
 * story's main subject; a headline outweighs the sentence at the tail. */
static void test_headline_and_lead_weigh_more(void **state)
{
    /* about as strong as each other side by side (sport 0.53, economy 0.46) */
    const char *markets = "Shares and bonds fell as investors sold stocks.";
    const char *match = "The striker scored twice as the team won the league match and the coach "
                        "praised the players.";
    char body[4096];
    json_t *arr;
    (void)state;
    for (int order = 0; order < 2; order++) {
        size_t n = (size_t)snprintf(body, sizeof(body), "%s", order ? match : markets);
        for (int i = 0; i < 320; i++) /* words the classifier does not know, only their places */
            n += (size_t)snprintf(body + n, sizeof(body) - n, " qzx");
        snprintf(body + n, sizeof(body) - n, " %s", order ? markets : match);
        arr = nd_topics_assign(topics, NULL, body, strlen(body), NULL);
        assert_string_equal(first_top(arr), order ? URI("15000000") : URI("04000000"));
        json_decref(arr);
    }
    snprintf(body, sizeof(body), "qzx.");
    for (int i = 0; i < 320; i++)
        strcat(body, " qzx");
    strcat(body, " ");
    strcat(body, match);
    arr = nd_topics_assign(topics, markets, body, strlen(body), NULL);
    assert_string_equal(first_top(arr), URI("04000000"));
    json_decref(arr);
}

/* Evidence is what moved the score: "term +0.42", the first top-level topic's led by the
 * classifier's strongest word of the text; top-level confidences are one distribution (at most 1
 * together). */
static void test_evidence_and_probabilities(void **state)
{
    const char *text = "Brazil and South Africa called for immediate ceasefire talks between "
                       "Sudan's warring parties on Saturday.";
    json_t *arr = assign(text);
    size_t i, k;
    const json_t *t, *e, *first = NULL;
    double top_sum = 0;
    char term[128];
    (void)state;
    assert_string_not_equal(first_top(arr), URI("04000000"));
    json_array_foreach(arr, i, t)
    {
        const char *uri = json_string_value(json_object_get(t, "uri"));
        if (!strcmp(uri + strlen(uri) - 6, "000000")) {
            top_sum += json_real_value(json_object_get(t, "confidence"));
            first = first ? first : t;
        }
        json_array_foreach(json_object_get(t, "evidence"), k, e)
        {
            const char *s = json_string_value(e), *sp = strrchr(s, ' ');
            assert_non_null(sp);
            assert_true((sp[1] == '+' || sp[1] == '-') && isdigit((unsigned char)sp[2]));
            assert_non_null(strchr(sp, '.'));
            assert_int_equal(strlen(strchr(sp, '.')), 3); /* two decimals */
        }
    }
    assert_true(top_sum <= 1.0 + 1e-6);
    e = json_array_get(json_object_get(first, "evidence"), 0);
    snprintf(term, sizeof(term), "%s", json_string_value(e));
    *strrchr(term, ' ') = '\0';
    assert_non_null(strstr(text, term));
    json_decref(arr);
}

/* A model whose records are out of order or malformed is refused with the line. */
/* records written as dir/topics.model (dir: a mkdtemp template, filled in; path: the file's) */
static void write_model(char *dir, char *path, size_t pathsz, const char *records)
{
    FILE *fp;
    assert_non_null(mkdtemp(dir));
    snprintf(path, pathsz, "%s/topics.model", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(records, fp);
    fclose(fp);
}

static void test_bad_model(void **state)
{
    char dir[] = "/tmp/newsd-topics-XXXXXX", path[256], errstr[256] = "";
    (void)state;
    write_model(dir, path, sizeof(path),
                "T\t04000000\t1\t-\teconomy, business and finance\nW\tshares\t0.5\n");
    assert_null(nd_topics_new(dir, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "line 2"));
    unlink(path);
    rmdir(dir);
}

/* A small model: the longest term wins over the word alone ("box office", not "box"), a one-word
 * term scores beside the word's weights, a word longer than any token's key loads and never
 * matches, and evidence that is not UTF-8 (a word with a stray byte) is left out while its
 * neighbours stay. */
static void test_terms_and_evidence_bytes(void **state)
{
    char dir[] = "/tmp/newsd-topics-XXXXXX", path[256], errstr[256] = "";
    const char *text =
        "The box office takings of the film rose at the caf\xff and the caf\xc3\xa9.";
    struct nd_topics *small;
    json_t *arr;
    const json_t *t, *e;
    size_t i, k;
    int office = 0, cafe = 0, film = 0;
    (void)state;
    write_model(dir, path, sizeof(path),
                "T\t01000000\t1\t-\tarts\nT\t04000000\t1\t-\teconomy\n"
                "L\tbox office\t01000000\t1.0\nL\tbox\t04000000\t1.0\nL\tfilm\t01000000\t0.5\n"
                "C\t01000000\t04000000\nG\t0\t0\nW\tfilm\t1.0\t-1.0\nW\tcaf\xff\t1.0\t-1.0\n"
                "W\tcaf\xc3\xa9\t1.0\t-1.0\n"
                "W\tabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\t-5\t5\n");
    small = nd_topics_new(dir, errstr, sizeof(errstr));
    assert_non_null(small);
    arr = nd_topics_assign(small, NULL, text, strlen(text), NULL);
    assert_string_equal(first_top(arr), URI("01000000"));
    json_array_foreach(arr, i, t)
    {
        json_array_foreach(json_object_get(t, "evidence"), k, e)
        {
            const char *s = json_string_value(e);
            assert_non_null(s);
            assert_null(strchr(s, '\xff'));
            assert_false(!strncmp(s, "box +", 5));
            office += !strncmp(s, "box office +1.", 14);
            cafe += !strncmp(s, "caf\xc3\xa9 +", 6);
            film += !strcmp(s, "film +0.50");
        }
    }
    assert_int_equal(office, 1);
    assert_int_equal(cafe, 1);
    assert_int_equal(film, 1);
    json_decref(arr);
    nd_topics_destroy(small);
    unlink(path);
    rmdir(dir);
}

static void test_empty_and_missing(void **state)
{
    char errstr[256] = "";
    json_t *arr = nd_topics_assign(topics, NULL, "", 0, NULL);
    (void)state;
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    assert_null(nd_topics_new("/nonexistent", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "topics.model"));
    nd_topics_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diplomatic_story),
        cmocka_unit_test(test_below_threshold_events_ignored),
        cmocka_unit_test(test_subtopics),
        cmocka_unit_test(test_sport),
        cmocka_unit_test(test_headline_and_lead_weigh_more),
        cmocka_unit_test(test_evidence_and_probabilities),
        cmocka_unit_test(test_bad_model),
        cmocka_unit_test(test_terms_and_evidence_bytes),
        cmocka_unit_test(test_empty_and_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
