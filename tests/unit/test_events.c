/* Event coder: the fixture story (tests/fixtures/events/, a wire story written for this test) must
 * yield each expected event with its actors; negation, quotes, passives, planning, entity mentions
 * and bad input are checked one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "enrich/enrich.h"
#include "enrich/doc.h"
#include "enrich/events.h"
#include "enrich/events_lex.h"
#include "enrich/syntax.h"
#include "story/story.h"

#define MODELS NEWSD_SOURCE_DIR "/models"

static struct nd_events *events;

static int setup(void **state)
{
    char errstr[256];
    (void)state;
    events = nd_events_new(MODELS, errstr, sizeof(errstr));
    if (!events)
        fprintf(stderr, "%s\n", errstr);
    return events ? 0 : -1;
}

static struct nd_enrich *enrich_models;
static struct nd_syntax *syntax_model;

static int teardown(void **state)
{
    (void)state;
    nd_events_destroy(events);
    nd_enrich_destroy(enrich_models);
    nd_syntax_destroy(syntax_model);
    return 0;
}

static json_t *code(const char *text)
{
    return nd_events_code(events, text, strlen(text), NULL, 0);
}

static int has_code(const json_t *actors, const char *cc)
{
    size_t i;
    const json_t *a;
    json_array_foreach(actors, i, a)
    {
        if (!strcmp(json_string_value(json_object_get(a, "code")), cc))
            return 1;
    }
    return 0;
}

/* The first event of `type` with source `src` (and target `tgt` unless NULL), or NULL;
 * published_only: among the events not below_threshold. */
static const json_t *find_event(const json_t *arr, const char *type, const char *src,
                                const char *tgt, int published_only)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(arr, i, ev)
    {
        if (published_only && json_is_true(json_object_get(ev, "below_threshold")))
            continue;
        if (strcmp(json_string_value(json_object_get(ev, "type")), type))
            continue;
        if (src && !has_code(json_object_get(ev, "source"), src))
            continue;
        if (tgt && !has_code(json_object_get(ev, "target"), tgt))
            continue;
        return ev;
    }
    return NULL;
}

#define find(arr, type, src, tgt) find_event(arr, type, src, tgt, 0)
#define find_published(arr, type, src, tgt) find_event(arr, type, src, tgt, 1)

/* The events nd_enrich_story codes for text (the daemon's path: the text parsed, actors from the
 * entities stage), marked at the default events.min_confidence; the caller frees the array. */
static json_t *enriched(const char *text)
{
    char errstr[256];
    struct nd_story *story = nd_story_new();
    json_t *arr;
    if (!enrich_models)
        enrich_models = nd_enrich_new(MODELS, errstr, sizeof(errstr));
    assert_non_null(enrich_models);
    nd_story_set(&story->body_text, text);
    assert_int_equal(nd_enrich_story(enrich_models, story), ND_OK);
    arr = nd_event_list_to_json(&story->events);
    nd_story_destroy(story);
    return arr;
}

/* Any event (published or not) whose target holds an actor of country cc that is not implied (a
 * named one). */
static int named_target(const json_t *arr, const char *cc)
{
    size_t i, k;
    const json_t *ev, *a;
    json_array_foreach(arr, i, ev)
    {
        json_array_foreach(json_object_get(ev, "target"), k, a)
        {
            if (!strcmp(json_string_value(json_object_get(a, "code")), cc) &&
                !json_is_true(json_object_get(a, "implied")))
                return 1;
        }
    }
    return 0;
}

static void test_fixture_story(void **state)
{
    char errstr[256], *text = NULL, *want = NULL;
    size_t len, i;
    json_t *expected, *got, *exp;
    struct nd_enrich *enrich = nd_enrich_new(MODELS, errstr, sizeof(errstr));
    struct nd_story *story = nd_story_new();
    (void)state;
    assert_non_null(enrich);
    assert_int_equal(nd_file_read(NEWSD_FIXTURES "/events/story.txt", 1 << 20, &text, &len), ND_OK);
    assert_int_equal(nd_file_read(NEWSD_FIXTURES "/events/expected.json", 1 << 20, &want, &len),
                     ND_OK);
    expected = json_loads(want, 0, NULL);
    assert_non_null(expected);
    nd_story_set(&story->body_text, text);
    assert_int_equal(nd_enrich_story(enrich, story), ND_OK);
    got = nd_event_list_to_json(&story->events);
    assert_true(json_array_size(got) > 0);
    json_array_foreach(expected, i, exp)
    {
        const char *type = json_string_value(json_object_get(exp, "type"));
        const char *src = json_string_value(json_object_get(exp, "source"));
        const char *tgt = json_string_value(json_object_get(exp, "target"));
        const char *trigger = json_string_value(json_object_get(exp, "trigger"));
        const char *status = json_string_value(json_object_get(exp, "status"));
        const json_t *ev = find(got, type, src, tgt);
        if (!ev)
            fail_msg("expected %s %s -> %s (%s) not found", type, src, tgt ? tgt : "-", trigger);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(ev, "trigger"), "text")), trigger);
        if (status)
            assert_string_equal(json_string_value(json_object_get(ev, "status")), status);
        /* every event carries the PLOVER type's CAMEO code, intensity, confidence and sentence span
         */
        assert_non_null(json_string_value(json_object_get(ev, "cameo")));
        assert_true(json_is_real(json_object_get(ev, "intensity")));
        double conf = json_real_value(json_object_get(ev, "confidence"));
        assert_true(conf > 0.0 && conf <= 1.0);
        json_int_t sb =
            json_integer_value(json_object_get(json_object_get(ev, "sentence"), "start"));
        json_int_t se = json_integer_value(json_object_get(json_object_get(ev, "sentence"), "end"));
        assert_true(sb >= 0 && se > sb && (size_t)se <= strlen(story->body_text));
    }
    /* the person behind a title is named */
    const json_t *met = find(got, "CONSULT", "FRA", "IND");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(met, "source"), 0), "name")),
                        "Jean-Noel Barrot");
    /* "did not condemn" codes nothing */
    size_t k;
    const json_t *ev;
    json_array_foreach(got, k, ev)
    {
        assert_string_not_equal(
            json_string_value(json_object_get(json_object_get(ev, "trigger"), "text")), "condemn");
    }
    /* the published story carries both annotations (DESIGN.md: subject, events) */
    json_t *published = nd_story_to_json(story);
    assert_true(json_array_size(json_object_get(published, "events")) > 0);
    assert_true(json_array_size(json_object_get(published, "subject")) > 0);
    json_decref(published);
    json_decref(got);
    json_decref(expected);
    free(text);
    free(want);
    nd_story_destroy(story);
    nd_enrich_destroy(enrich);
}

static void test_sentence_span_is_the_sentence(void **state)
{
    const char *text = "Markets rose. Japan and South Korea signed an agreement on Monday.";
    json_t *arr = code(text);
    const json_t *ev = find(arr, "SUPPORT", "JPN", NULL);
    (void)state;
    assert_non_null(ev);
    assert_true(has_code(json_object_get(ev, "source"), "KOR")); /* compound actor */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "sentence"), "start")),
                     14);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "sentence"), "end")),
                     (json_int_t)strlen(text));
    json_decref(arr);
}

static void test_negation(void **state)
{
    json_t *arr = code("Germany did not condemn Russia on Monday.");
    (void)state;
    assert_null(find(arr, "ACCUSE", NULL, NULL));
    json_decref(arr);
    arr = code("Germany condemned Russia on Monday.");
    assert_non_null(find(arr, "ACCUSE", "DEU", "RUS"));
    json_decref(arr);
    /* refusing to cooperate is a rejection */
    arr = code("Syria said it will not accept any more refugees from Iraq.");
    assert_non_null(find(arr, "REJECT", "SYR", NULL));
    json_decref(arr);
}

static void test_reported_speech_and_quote(void **state)
{
    json_t *arr =
        code("\xE2\x80\x9CWe strongly condemn Israel,\xE2\x80\x9D Iranian Foreign Minister Abbas "
             "Araqchi said on Sunday.");
    const json_t *ev = find(arr, "ACCUSE", "IRN", "ISR");
    (void)state;
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "quote")),
                        "We strongly condemn Israel,");
    json_decref(arr);
    /* the speaker acts through "it" */
    arr = code("Syria says it is willing to withdraw its troops from neighboring Lebanon.");
    ev = find(arr, "AGREE", "SYR", "LBN");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "status")), "planned");
    json_decref(arr);
}

static void test_passive_and_sidelines(void **state)
{
    json_t *arr = code("Canada was sharply criticised by India on Friday.");
    (void)state;
    assert_non_null(find(arr, "ACCUSE", "IND", "CAN"));
    json_decref(arr);
    arr = code("Turkish President Recep Tayyip Erdogan met Greek Prime Minister Kyriakos "
               "Mitsotakis on the sidelines "
               "of the NATO summit in Vilnius.");
    const json_t *ev = find(arr, "CONSULT", "TUR", "GRC");
    assert_non_null(ev);
    assert_int_equal(json_array_size(json_object_get(ev, "target")),
                     1); /* not NATO, not the city */
    json_decref(arr);
}

static void test_title_resolved_later(void **state)
{
    json_t *arr = code("Chinese Foreign Minister Wang Yi arrived in Berlin on Monday. "
                       "Wang met German officials. The foreign minister praised Germany.");
    (void)state;
    const json_t *ev = find(arr, "SUPPORT", "CHN", "DEU");
    assert_non_null(ev);
    json_decref(arr);
}

static void test_mentions_replace_dictionary(void **state)
{
    /* names the dictionary does not know, given by the entities stage */
    const char *text = "Zorblat met Quxley in Geneva.";
    struct nd_events_mention m[2] = {
        {.start = 0,
         .end = 7,
         .type = "PERSON",
         .country = "FRA",
         .name = "Zorblat",
         .role = "GOV"},
        {.start = 12,
         .end = 18,
         .type = "PERSON",
         .country = "BRA",
         .name = "Quxley",
         .role = "GOV"},
    };
    json_t *arr = nd_events_code(events, text, strlen(text), m, 2);
    const json_t *ev = find(arr, "CONSULT", "FRA", "BRA");
    (void)state;
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ev, "target"), 0), "name")),
                        "Quxley");
    json_decref(arr);
    arr = code(text);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
}

/* The cameo code of the first event triggered by `word`, or "" when none. */
static const char *cameo_of(const json_t *arr, const char *word)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(arr, i, ev)
    {
        if (!strcmp(json_string_value(json_object_get(json_object_get(ev, "trigger"), "text")),
                    word))
            return json_string_value(json_object_get(ev, "cameo"));
    }
    return "";
}

static void test_plural_pattern(void **state)
{
    (void)state;
    /* a CAMEO pattern names the singular noun ("open border"); the plural matches it too */
    json_t *one = code("Turkey opened its border to Syrian refugees on Monday.");
    json_t *many = code("Turkey opened its borders to Syrian refugees on Monday.");
    assert_string_not_equal(cameo_of(one, "opened"), "");
    assert_string_equal(cameo_of(many, "opened"), cameo_of(one, "opened"));
    json_decref(one);
    json_decref(many);
}

static void test_commitment_to_harm_is_threat(void **state)
{
    (void)state;
    json_t *arr = code("Yemen pledged to attack Israel.");
    const json_t *ev = find(arr, "THREATEN", "YEM", "ISR");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "cameo")), "138");
    assert_null(find(arr, "AGREE", NULL, NULL));
    json_decref(arr);
}

static void test_relaxed_pass_and_implied_target(void **state)
{
    (void)state;
    /* a bare verb with no one acted upon: coded only because the sentence has nothing else, at
     * lower confidence, the target the source's own country, marked implied */
    json_t *arr = code("The Peruvian cabinet resigned on Friday.");
    const json_t *ev = find(arr, "CONCEDE", "PER", "PER");
    assert_non_null(ev);
    assert_true(json_real_value(json_object_get(ev, "confidence")) < 0.7);
    const json_t *tgt = json_array_get(json_object_get(ev, "target"), 0);
    assert_true(json_is_true(json_object_get(tgt, "implied")));
    assert_null(json_object_get(tgt, "text"));
    const json_t *src = json_array_get(json_object_get(ev, "source"), 0);
    assert_null(json_object_get(src, "implied"));
    json_decref(arr);
    /* a target named in the sentence is not implied */
    arr = code("Turkey opened its borders to Syrian refugees on Monday.");
    ev = find(arr, "CONCEDE", "TUR", "SYR");
    assert_non_null(ev);
    assert_null(json_object_get(json_array_get(json_object_get(ev, "target"), 0), "implied"));
    json_decref(arr);
}

/* The first event's CAMEO code, "" when there is none. */
static const char *first_cameo(const json_t *arr)
{
    const json_t *ev = json_array_get(arr, 0);
    return ev ? json_string_value(json_object_get(ev, "cameo")) : "";
}

static void test_appeals(void **state)
{
    (void)state;
    /* PLOVER drops CAMEO 02 appeals; urging support for Y is rallying support on behalf of Y
     * (053), urging action against Y rallying opposition against Y (113) */
    json_t *arr = code("Egypt urged Britain to support Jordan.");
    const json_t *ev = find(arr, "SUPPORT", "EGY", "JOR");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "cameo")), "053");
    assert_null(find(arr, "REQUEST", NULL, NULL));
    assert_null(find(arr, "SUPPORT", "GBR", NULL));
    json_decref(arr);
    arr = code("Syria called on Arab states to unite against Israel.");
    ev = find(arr, "ACCUSE", "SYR", "ISR");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "cameo")), "113");
    assert_null(find(arr, "CONSULT", NULL, NULL)); /* "called on" is no phone call */
    json_decref(arr);
    /* a statement (CAMEO 01) is no event either, whatever the verb's default code ("issue" is
     * 060): the demand it carries is */
    arr = code("Kenya issued a declaration demanding that Somalia free the hostages.");
    assert_non_null(find(arr, "REQUEST", "KEN", "SOM"));
    assert_null(find(arr, "COOPERATE", NULL, NULL));
    json_decref(arr);
    /* any other appeal is no event, and what is asked for is not the appealer's own act */
    arr = code("China urged the U.S. to remove tariffs.");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
}

static void test_deployment_exercise_and_orders(void **state)
{
    (void)state;
    json_t *arr = code("Fijian peacekeeping troops arrived in Lebanon on Monday.");
    assert_non_null(find(arr, "AID", "FJI", "LBN"));
    assert_string_equal(first_cameo(arr), "074");
    assert_null(find(arr, "CONSULT", NULL, NULL));
    json_decref(arr);
    arr = code("French and Egyptian warships launched war games on Monday.");
    assert_non_null(find(arr, "COOPERATE", "FRA", "EGY"));
    assert_string_equal(first_cameo(arr), "062");
    json_decref(arr);
    arr = code("Egypt ordered the station to close.");
    assert_non_null(find(arr, "COERCE", "EGY", NULL));
    assert_string_equal(first_cameo(arr), "172");
    json_decref(arr);
    /* our pattern corrects the dictionary's: expelling diplomats is 166, not deporting (174) */
    arr = code("Kenya expelled two Somali diplomats.");
    assert_non_null(find(arr, "SANCTION", "KEN", "SOM"));
    assert_string_equal(first_cameo(arr), "166");
    json_decref(arr);
}

static void test_condition_is_no_event(void **state)
{
    (void)state;
    /* the threat is the event; what the "unless" clause names has not happened */
    json_t *arr = code("Chad will boycott the summit unless Sudan agrees to talks.");
    assert_non_null(find(arr, "THREATEN", "TCD", NULL));
    assert_null(find(arr, "AGREE", NULL, NULL));
    assert_null(find(arr, "CONSULT", NULL, NULL));
    json_decref(arr);
}

static void test_participle_after_prepositional_object(void **state)
{
    (void)state;
    /* "targeting" describes the sanctions; Russia targets no one */
    json_t *arr = code("Canada imposed sanctions on Russia targeting banks.");
    assert_non_null(find(arr, "COERCE", "CAN", "RUS")); /* 163, COERCE in the 2021 table */
    assert_null(find(arr, "ASSAULT", NULL, NULL));
    json_decref(arr);
    /* after a subject the participle is still a verb: "troops, attacking" */
    arr = code("Israeli jets struck Gaza, targeting militants.");
    assert_non_null(find(arr, "ASSAULT", "ISR", NULL));
    json_decref(arr);
}

static void test_ethnic_groups_and_led_forces(void **state)
{
    (void)state;
    /* a people is not its nation's state: ethnic Albanians in Montenegro are Montenegro's */
    json_t *arr = code("Ethnic Albanians rioted in Montenegro on Monday.");
    const json_t *ev = find(arr, "PROTEST", "MNE", NULL);
    assert_non_null(ev);
    assert_null(find(arr, "PROTEST", "ALB", NULL));
    const json_t *src = json_array_get(json_object_get(ev, "source"), 0);
    assert_string_equal(json_string_value(json_object_get(src, "sector")), "ETH");
    json_decref(arr);
    arr = code("Saudi-led forces attacked Houthi positions in Yemen.");
    assert_non_null(find(arr, "ASSAULT", "SAU", "YEM"));
    json_decref(arr);
}

static void test_mentions_and_dictionary(void **state)
{
    (void)state;
    /* the entities stage knows "European Community" but not its country: the actor dictionary
     * still resolves it */
    const char *text = "Brazil hosted the European Community in Brasilia.";
    struct nd_events_mention m[3] = {
        {.start = 0, .end = 6, .type = "GPE", .country = "BRA", .name = "Brazil"},
        {.start = 18, .end = 36, .type = "ORG", .country = NULL, .name = "European Community"},
        {.start = 40, .end = 48, .type = "GPE", .country = "BRA", .name = "Brasilia"},
    };
    json_t *arr = nd_events_code(events, text, strlen(text), m, 3);
    assert_non_null(find(arr, "CONSULT", "BRA", "IGO"));
    json_decref(arr);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Only parse sentences "with a trigger": the events of want_all (doc) and of the same text with only
 * the sentences nd_events_trigger_sentences wants parsed. */
static int want_all(const struct nd_doc *doc, size_t s, void *arg)
{
    (void)doc;
    (void)s;
    (void)arg;
    return 1;
}
static int want_gate(const struct nd_doc *doc, size_t s, void *arg)
{
    (void)doc;
    return ((const uint8_t *)arg)[s];
}

static char *code_parsed(const struct nd_syntax *syntax, const char *text, int gated, size_t *nwant)
{
    struct nd_doc doc;
    struct nd_evtok *toks = NULL;
    struct nd_event_list list = {0};
    size_t len = strlen(text), ntok;
    uint8_t *want;
    json_t *arr;
    char *out;
    assert_int_equal(nd_doc_build(&doc, text, len), ND_OK);
    ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &toks);
    want = calloc(doc.nsents + 1, 1);
    nd_events_trigger_sentences(events, toks, ntok, &doc, want);
    *nwant = 0;
    for (size_t s = 0; s < doc.nsents; s++)
        *nwant += want[s];
    nd_doc_parse(&doc, syntax, gated ? want_gate : want_all, want);
    nd_events_code_tokens(events, &doc, toks, ntok, NULL, 0, &list);
    arr = nd_event_list_to_json(&list);
    out = json_dumps(arr, JSON_SORT_KEYS);
    json_decref(arr);
    nd_event_list_clear(&list);
    nd_doc_free(&doc);
    free(want);
    free(toks);
    return out;
}

/* The gate parses fewer sentences and the coder codes the same events: it reads the parse only
 * for triggers, and the gate keeps every sentence with one. A sentence without a dictionary
 * verb or eventive noun is left out. */
static void test_trigger_gate(void **state)
{
    static const char *const paths[] = {NEWSD_SOURCE_DIR "/tests/fixtures/events/story.txt",
                                        NEWSD_SOURCE_DIR "/tests/fixtures/events/wire.txt"};
    const char *plain = "China and Russia held talks in Beijing. The weather in China and Russia "
                        "was cold. France condemned Germany.";
    char errstr[256];
    struct nd_syntax *syntax = nd_syntax_load(MODELS "/syntax.bin", errstr, sizeof(errstr));
    struct nd_doc doc;
    struct nd_evtok *toks = NULL;
    uint8_t want[3];
    size_t ntok, nwant;
    (void)state;
    assert_non_null(syntax);
    assert_int_equal(nd_doc_build(&doc, plain, strlen(plain)), ND_OK);
    ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &toks);
    assert_int_equal(doc.nsents, 3);
    nd_events_trigger_sentences(events, toks, ntok, &doc, want);
    assert_int_equal(want[0], 1);
    assert_int_equal(want[1], 0);
    assert_int_equal(want[2], 1);
    nd_events_trigger_sentences(NULL, toks, ntok, &doc, want);
    assert_int_equal(want[0] | want[1] | want[2], 0);
    nd_doc_free(&doc);
    free(toks);
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        char *text = slurp(paths[p]), *all, *gated;
        size_t nall;
        assert_non_null(text);
        all = code_parsed(syntax, text, 0, &nall);
        gated = code_parsed(syntax, text, 1, &nwant);
        assert_true(strlen(all) > 100);
        assert_string_equal(all, gated);
        free(all);
        free(gated);
        free(text);
    }
    nd_syntax_destroy(syntax);
}

/* The events the coder alone codes for text with every sentence parsed (the dictionary path of
 * scripts/eval_events.py, actors from the coder's own dictionaries), marked at the default
 * events.min_confidence; the caller frees the array. */
static json_t *coded_parsed(const char *text)
{
    char errstr[256];
    struct nd_doc doc;
    struct nd_evtok *toks = NULL;
    struct nd_event_list list = {0};
    json_t *arr;
    size_t ntok;
    if (!syntax_model)
        syntax_model = nd_syntax_load(MODELS "/syntax.bin", errstr, sizeof(errstr));
    assert_non_null(syntax_model);
    assert_int_equal(nd_doc_build(&doc, text, strlen(text)), ND_OK);
    ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &toks);
    nd_doc_parse(&doc, syntax_model, want_all, NULL);
    nd_events_code_tokens(events, &doc, toks, ntok, NULL, 0, &list);
    nd_event_list_mark(&list, ND_EVENTS_MIN_CONFIDENCE);
    arr = nd_event_list_to_json(&list);
    nd_event_list_clear(&list);
    nd_doc_free(&doc);
    free(toks);
    return arr;
}

/* Rules read from the parse, one real sentence (or short story) each: the event that must be
 * published (type, a source and, unless NULL, a target code; also_src: a second source code it
 * must hold), and the event that must not be coded at all (absent_type with a source and a
 * target code unless NULL; absent_type NULL: nothing to check). dictionary: the coder alone
 * (coded_parsed), else the daemon's path (enriched). */
struct parse_case {
    const char *why, *text;
    const char *type, *src, *tgt, *also_src;
    const char *absent_type, *absent_src, *absent_tgt;
    int dictionary;
};

static const struct parse_case parse_cases[] = {
    {"an order of an event noun is that event, by the one who gave it, not a demand (REQUEST)",
     "MOSCOW (Test Wire) - Russian President Vladimir Putin ordered missile strikes on Kyiv on "
     "Sunday, and Russian forces shelled Ukrainian positions near Kharkiv, the defence ministry "
     "said.",
     "ASSAULT", "RUS", "UKR", NULL, "REQUEST", NULL, NULL, 0},
    {"a joint act of two countries does not name one of them again as its target",
     "SANTIAGO (Test Wire) - Chile and Argentina held talks on Thursday on coordinating lithium "
     "exports, the Chilean foreign ministry said.",
     "CONSULT", "CHL", "ARG", NULL, "CONSULT", NULL, "CHL", 0},
    {"a to-infinitive of a noun is a purpose; a title misread as the object is the subject's own",
     "U.S. national security adviser Jake Sullivan met Chinese President Xi Jinping in Beijing "
     "last month at the end of talks to ease frictions ahead of November's U.S. election.",
     "CONSULT", "USA", "CHN", NULL, "COOPERATE", NULL, NULL, 0},
    {"the meeting a participle's agent names is the agent's, both co-chairs its source",
     "Chinese Foreign Minister Wang Yi spoke on Friday. Seventeen countries attended the meeting "
     "chaired by Wang and Brazilian foreign policy adviser Celso Amorim.",
     "CONSULT", "CHN", NULL, "BRA", NULL, NULL, NULL, 0},
    {"what someone is pressed to do, past the object's list and a quote mark, is not done",
     "Blinken said that crucial to achieving a lasting peace in Ukraine was \u201cpressing Iran, "
     "North Korea and China \u2026 to stop providing weapons\u201d to Russia.",
     NULL, NULL, NULL, NULL, "RETREAT", NULL, NULL, 0},
    {"an infinitive coordinated with the one an agreement governs is not done",
     "U.S. Secretary of State Marco Rubio met Chinese Foreign Minister Wang Yi in Geneva on "
     "Saturday.\nWang told Rubio that Taiwan was a red line and urged Washington to stop arms "
     "sales to the island, China's foreign ministry said.\nThe two sides agreed to keep military "
     "communication channels open and to hold further talks on trade and export controls early "
     "next year.",
     "CONSULT", "USA", "CHN", NULL, "CONSULT", "CHN", NULL, 0},
    {"a group of a region takes the country its first word names",
     "Palestinian Islamic Jihad rejected the proposal on Monday.", "REJECT", "PSE", NULL, NULL,
     "REJECT", "MEA", NULL, 0},
    {"Phoenix spells it \"Peoples'\" only: the Democratic People's Republic of Korea is PRK",
     "Japan condemned the Democratic People's Republic of Korea on Monday.", "ACCUSE", "JPN",
     "PRK", NULL, "ACCUSE", NULL, "KOR", 1},
    {"another actor's act is published when the sentence's other verb is a purpose, not an act",
     "China and Brazil on Friday pressed ahead with an effort to gather developing countries "
     "behind a Ukraine peace plan, despite Ukrainian President Volodymyr Zelenskiy\u2019s "
     "dismissal of the initiative as serving Moscow\u2019s interests.",
     "REJECT", "UKR", NULL, NULL, "CONSULT", "CHN", NULL, 0},
    {"a lead's main verb the parse reads as a participle of the reported clause's noun is active",
     "Thousands of Iraqi Kurds marched in the northern city of Kirkuk on Sunday calling for "
     "independence from Iraq, witnesses said.",
     "PROTEST", "IRQ", NULL, NULL, NULL, NULL, NULL, 0},
    {"readiness to go on with an attack is a force posture (154), not an agreement, nor the attack",
     "Syrian troops prepared to resume shelling rebel positions near Aleppo on Monday.",
     "MOBILIZE", "SYR", NULL, NULL, "ASSAULT", NULL, NULL, 0},
    {"what someone must do is the demand of whoever says so",
     "Russia said Sudan must return the helicopter.", "REQUEST", "RUS", "SDN", NULL, NULL, NULL,
     NULL, 0},
    {"with no one saying it, what someone must do is no event",
     "The United States and other developed nations must allocate greater financial resources to "
     "Africa.",
     NULL, NULL, NULL, NULL, "COOPERATE", NULL, NULL, 0},
    {"a thing the parse names as the subject (\"actions that are helping Putin\") is no act of "
     "the quote's speaker",
     "U.S. Secretary of State Antony Blinken said that about 70 percent of the machine tools "
     "Russia is importing come from China, and that this was materially helping Moscow produce "
     "the missiles.\n\u201cSo when Beijing says that, on the one hand, it wants peace, it wants "
     "to see an end to the conflict, but on the other hand, is allowing its companies to take "
     "actions that are actually helping Putin continue the aggression, that doesn\u2019t add "
     "up.\u201d",
     NULL, NULL, NULL, NULL, "AID", "USA", NULL, 1},
};

static void test_parse_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        json_t *arr = c->dictionary ? coded_parsed(c->text) : enriched(c->text);
        const json_t *ev = c->type ? find_published(arr, c->type, c->src, c->tgt) : NULL;
        if ((c->type && (!ev || (c->also_src && !has_code(json_object_get(ev, "source"),
                                                            c->also_src)))) ||
            (c->absent_type && find(arr, c->absent_type, c->absent_src, c->absent_tgt))) {
            char *dump = json_dumps(arr, JSON_INDENT(1));
            fail_msg("%s\n%s\ncoded: %s", c->why, c->text, dump ? dump : "?");
        }
        json_decref(arr);
    }
}

/* The source's own agents, with no country but the sentence's, are no named target ("army
 * reservists"). */
static void test_own_agents_are_no_target(void **state)
{
    (void)state;
    json_t *arr = enriched("Britain mobilized army reservists for a possible war against Iraq on "
                           "Tuesday.");
    assert_non_null(find_published(arr, "MOBILIZE", "GBR", NULL));
    assert_false(named_target(arr, "GBR"));
    json_decref(arr);
    arr = enriched("Israel must not build new settlements in the West Bank.");
    assert_int_equal(json_array_size(arr), 0); /* no speaker: no demand, no rejection */
    json_decref(arr);
}

static void test_bad_input(void **state)
{
    char junk[4096];
    json_t *arr;
    (void)state;
    arr = nd_events_code(events, NULL, 0, NULL, 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    arr = nd_events_code(NULL, "x", 1, NULL, 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)((i * 131 + 7) & 0xff);
    arr = nd_events_code(events, junk, sizeof(junk), NULL, 0);
    assert_non_null(arr);
    json_decref(arr);
    /* one endless "sentence" of actors is capped, not quadratic */
    size_t n = 200000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i += 8)
        memcpy(big + i, "China , ", 8);
    big[n] = '\0';
    arr = nd_events_code(events, big, n, NULL, 0);
    assert_non_null(arr);
    json_decref(arr);
    free(big);
}

static void test_missing_model(void **state)
{
    char errstr[256] = "";
    (void)state;
    assert_null(nd_events_new("/nonexistent", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "events.model"));
    nd_events_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_story),
        cmocka_unit_test(test_sentence_span_is_the_sentence),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_reported_speech_and_quote),
        cmocka_unit_test(test_passive_and_sidelines),
        cmocka_unit_test(test_title_resolved_later),
        cmocka_unit_test(test_mentions_replace_dictionary),
        cmocka_unit_test(test_plural_pattern),
        cmocka_unit_test(test_commitment_to_harm_is_threat),
        cmocka_unit_test(test_relaxed_pass_and_implied_target),
        cmocka_unit_test(test_appeals),
        cmocka_unit_test(test_deployment_exercise_and_orders),
        cmocka_unit_test(test_condition_is_no_event),
        cmocka_unit_test(test_participle_after_prepositional_object),
        cmocka_unit_test(test_ethnic_groups_and_led_forces),
        cmocka_unit_test(test_mentions_and_dictionary),
        cmocka_unit_test(test_trigger_gate),
        cmocka_unit_test(test_parse_rules),
        cmocka_unit_test(test_own_agents_are_no_target),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_missing_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
