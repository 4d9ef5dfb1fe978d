/* bench_events: cost of topics and events per 4 KB story, against the enrichment without them, and
 * the whole enrichment's stories per second on one core. Prints medians; never pass/fail.
 *
 * Also the coder as a filter for the evaluation scripts (scripts/eval_events.py, eval_topics.py,
 * check_seed.py): `bench_events --code [--models DIR]` reads JSON lines {"id": ..., "text": ...} on
 * stdin ("headline" optional) and writes {"id": ..., "events": [...], "subject": [...]} per line;
 * with --features each event also carries the coder's feature values
 * (scripts/fit_event_confidence.py fits on them); --roles order|parse|both (default both) says
 * where verbs' roles come from (the ablation of scripts/eval_events.py --ablation): word order
 * only, the parse only, the parse with word order for what it leaves empty. Every sentence is
 * parsed (models/syntax.bin).
 * `bench_events --loop-events N` codes the wire story N times and nothing else, for perf;
 * `bench_events --loop-enrich N` runs the whole nd_enrich_story on it N times (events then take
 * their actors from the entities stage, as in the daemon). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "enrich/doc.h"
#include "enrich/enrich.h"
#include "enrich/events.h"
#include "enrich/events_lex.h"
#include "enrich/syntax.h"
#include "enrich/topics.h"
#include "story/story.h"
#include "bench_stats.h"

#define RUNS 7
#define LINE_CAP (4u << 20)

/* CPU time of this thread: the machine is shared, and "per core" is what the target is about */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The events of text: the coder over its tokens and, unless roles is word order only, the
 * text's parse (every sentence parsed). */
static void code_text(const struct nd_events *events, const struct nd_syntax *syntax,
                      const char *text, size_t len, struct nd_event_list *list)
{
    struct nd_evtok *toks = NULL;
    struct nd_doc doc;
    size_t ntok;
    list->set = 1;
    if (nd_doc_build(&doc, text, len) != ND_OK)
        return;
    if (syntax)
        nd_doc_parse(&doc, syntax, NULL, NULL);
    ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &toks);
    if (ntok)
        nd_events_code_tokens(events, &doc, toks, ntok, NULL, 0, list);
    nd_doc_free(&doc);
    free(toks);
}

static int code_mode(const char *models, int features, unsigned roles)
{
    char errstr[512], path[4096];
    struct nd_events *events = nd_events_new(models, errstr, sizeof(errstr));
    struct nd_topics *topics = events ? nd_topics_new(models, errstr, sizeof(errstr)) : NULL;
    struct nd_syntax *syntax = NULL;
    char *line = malloc(LINE_CAP);
    int rc = 1;
    snprintf(path, sizeof(path), "%s/syntax.bin", models);
    if (topics && (roles & ND_EVENTS_ROLES_PARSE) &&
        !(syntax = nd_syntax_load(path, errstr, sizeof(errstr))))
        topics = NULL; /* the message is in errstr */
    if (!events || !topics || !line) {
        fprintf(stderr, "bench_events: %s\n", errstr);
        goto out;
    }
    nd_events_set_roles(events, roles);
    while (fgets(line, LINE_CAP, stdin)) {
        json_error_t jerr;
        json_t *in = json_loads(line, 0, &jerr), *out, *evs;
        const char *text;
        if (!in || !(text = json_string_value(json_object_get(in, "text")))) {
            fprintf(stderr, "bench_events: bad input line: %s\n", jerr.text);
            json_decref(in);
            continue;
        }
        /* the text stage first, as in the daemon: byline, dateline and credit are no actors */
        struct nd_story *story = nd_story_new();
        const char *headline = json_string_value(json_object_get(in, "headline"));
        nd_story_set(&story->body_text, text);
        if (headline)
            nd_story_set(&story->headline, headline);
        nd_enrich_text(story);
        text = story->body_text ? story->body_text : "";
        size_t len = strlen(text);
        struct nd_event_list list = {0};
        code_text(events, syntax, text, len, &list);
        nd_event_list_mark(&list, ND_EVENTS_MIN_CONFIDENCE);
        evs = nd_event_list_to_json(&list);
        if (features) /* the coder's evidence per event, for scripts/fit_event_confidence.py */
            for (size_t k = 0; k < list.n; k++) {
                json_t *f = json_array();
                for (int j = 0; j < ND_EVENT_FEATURES; j++)
                    json_array_append_new(f, json_real(list.v[k].features[j]));
                json_object_set_new(json_array_get(evs, k), "features", f);
            }
        out = json_object();
        json_object_set(out, "id", json_object_get(in, "id"));
        json_object_set_new(out, "subject",
                            nd_topics_assign(topics, story->headline, text, len, &list));
        json_object_set_new(out, "events", evs);
        nd_event_list_clear(&list);
        const char *top = nd_topics_top_class(topics, story->headline, text, len);
        if (top)
            json_object_set_new(out, "top_class", json_string(top));
        char *s = json_dumps(out, JSON_COMPACT);
        if (s)
            puts(s);
        free(s);
        json_decref(out);
        json_decref(in);
        nd_story_destroy(story);
    }
    rc = 0;
out:
    free(line);
    nd_topics_destroy(topics);
    nd_events_destroy(events);
    nd_syntax_destroy(syntax);
    return rc;
}

/* A 4 KB story: the fixture story repeated and cut at a sentence end. */
static char *make_story(const char *path)
{
    char *data = NULL, *story;
    size_t len = 0, n = 0;
    if (nd_file_read(path, 1 << 20, &data, &len) != ND_OK || !len) {
        fprintf(stderr, "bench_events: cannot read %s\n", path);
        exit(1);
    }
    story = malloc(4096 + len + 1);
    while (n < 4096) {
        memcpy(story + n, data, len);
        n += len;
    }
    story[4096] = '\0';
    char *dot = strrchr(story, '.');
    if (dot)
        dot[1] = '\0';
    free(data);
    return story;
}

struct result {
    double text, events, topics, all; /* medians */
    double all_min;                   /* the best run: a core nobody else is using */
    size_t nev, len;
};

/* Medians over RUNS of `iters` stories each: text stage alone (the baseline), events, topics, and
 * the whole nd_enrich_story. */
static struct result measure(struct nd_events *events, struct nd_topics *topics,
                             struct nd_enrich *enrich, const char *text)
{
    const int iters = 300;
    size_t len = strlen(text);
    double t_events[RUNS], t_topics[RUNS], t_text[RUNS], t_all[RUNS];
    struct result res = {.len = len};
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_s();
        for (int i = 0; i < iters; i++) {
            struct nd_event_list list = {0};
            nd_events_code_list(events, text, len, NULL, 0, &list);
            res.nev = list.n;
            nd_event_list_clear(&list);
        }
        double t1 = now_s();
        struct nd_event_list list = {0};
        nd_events_code_list(events, text, len, NULL, 0, &list);
        for (int i = 0; i < iters; i++)
            json_decref(nd_topics_assign(topics, NULL, text, len, &list));
        nd_event_list_clear(&list);
        double t2 = now_s();
        for (int i = 0; i < iters; i++) {
            struct nd_story *story = nd_story_new();
            nd_story_set(&story->body_text, text);
            nd_enrich_text(story);
            nd_story_destroy(story);
        }
        double t3 = now_s();
        for (int i = 0; i < iters; i++) {
            struct nd_story *story = nd_story_new();
            nd_story_set(&story->body_text, text);
            nd_enrich_story(enrich, story);
            nd_story_destroy(story);
        }
        double t4 = now_s();
        t_events[r] = (t1 - t0) / iters * 1e6;
        t_topics[r] = (t2 - t1) / iters * 1e6;
        t_text[r] = (t3 - t2) / iters * 1e6;
        t_all[r] = (t4 - t3) / iters * 1e6;
    }
    res.events = median(t_events, RUNS);
    res.topics = median(t_topics, RUNS);
    res.text = median(t_text, RUNS);
    res.all = median(t_all, RUNS);
    res.all_min = t_all[0]; /* median() sorted it */
    return res;
}

static void report(const char *name, const struct result *r)
{
    printf("%s: %zu bytes, %zu events\n", name, r->len, r->nev);
    printf("  text stage alone (baseline)     %8.1f us/story\n", r->text);
    printf("  events                          %8.1f us/story\n", r->events);
    printf("  topics                          %8.1f us/story\n", r->topics);
    printf("  whole nd_enrich_story           %8.1f us/story  = %.0f stories/s per core (target >= "
           "2000)\n",
           r->all, 1e6 / r->all);
    printf("  whole, best of %d runs           %8.1f us/story  = %.0f stories/s per core\n", RUNS,
           r->all_min, 1e6 / r->all_min);
    printf("  topics+events / text baseline   %8.0fx\n",
           (r->events + r->topics) / (r->text > 0 ? r->text : 1));
}

int main(int argc, char **argv)
{
    const char *models = NEWSD_SOURCE_DIR "/models";
    char errstr[512];
    int code = 0, features = 0;
    unsigned roles = ND_EVENTS_ROLES_PARSE | ND_EVENTS_ROLES_FALLBACK;
    long loop = 0, loop_enrich = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--code"))
            code = 1;
        else if (!strcmp(argv[i], "--features"))
            features = 1;
        else if (!strcmp(argv[i], "--roles") && i + 1 < argc) {
            const char *r = argv[++i];
            roles = !strcmp(r, "order")   ? ND_EVENTS_ROLES_FALLBACK
                    : !strcmp(r, "parse") ? ND_EVENTS_ROLES_PARSE
                                          : ND_EVENTS_ROLES_PARSE | ND_EVENTS_ROLES_FALLBACK;
        } else if (!strcmp(argv[i], "--loop-events") && i + 1 < argc)
            loop = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--loop-enrich") && i + 1 < argc)
            loop_enrich = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
    }
    if (code)
        return code_mode(models, features, roles);
    if (loop_enrich > 0) {
        struct nd_enrich *enrich = nd_enrich_new(models, errstr, sizeof(errstr));
        char *wire = make_story(NEWSD_SOURCE_DIR "/tests/fixtures/events/wire.txt");
        for (long i = 0; enrich && i < loop_enrich; i++) {
            struct nd_story *story = nd_story_new();
            nd_story_set(&story->body_text, wire);
            nd_enrich_story(enrich, story);
            nd_story_destroy(story);
        }
        if (!enrich)
            fprintf(stderr, "bench_events: %s\n", errstr);
        nd_enrich_destroy(enrich);
        free(wire);
        return enrich ? 0 : 1;
    }
    if (loop > 0) {
        struct nd_events *events = nd_events_new(models, errstr, sizeof(errstr));
        char *wire = make_story(NEWSD_SOURCE_DIR "/tests/fixtures/events/wire.txt");
        size_t len = strlen(wire);
        for (long i = 0; events && i < loop; i++)
            json_decref(nd_events_code(events, wire, len, NULL, 0));
        nd_events_destroy(events);
        free(wire);
        return 0;
    }

    struct nd_events *events = nd_events_new(models, errstr, sizeof(errstr));
    struct nd_topics *topics = events ? nd_topics_new(models, errstr, sizeof(errstr)) : NULL;
    struct nd_enrich *enrich = topics ? nd_enrich_new(models, errstr, sizeof(errstr)) : NULL;
    if (!enrich) {
        fprintf(stderr, "bench_events: %s\n", errstr);
        return 1;
    }
    /* wire.txt is ordinary wire copy; story.txt is the unit-test fixture, an event in every
     * sentence */
    char *wire = make_story(NEWSD_SOURCE_DIR "/tests/fixtures/events/wire.txt");
    char *dense = make_story(NEWSD_SOURCE_DIR "/tests/fixtures/events/story.txt");
    printf("bench_events: medians of %d runs, thread CPU time, one core\n", RUNS);
    struct result rw = measure(events, topics, enrich, wire);
    report("wire story (tests/fixtures/events/wire.txt to 4 KB)", &rw);
    struct result rd = measure(events, topics, enrich, dense);
    report("dense story (tests/fixtures/events/story.txt to 4 KB)", &rd);
    nd_enrich_destroy(enrich);
    nd_topics_destroy(topics);
    nd_events_destroy(events);
    free(wire);
    free(dense);
    return 0;
}
