/* bench_enrich: speed and memory of the enrich stage, one thread (figures are per core).
 *
 *   tagging     tokens/s of nd_tagger_tag over CoNLL-2003 dev.txt (or the test fixture story when
 *               ../shared is absent), against tokenising the same text as the baseline;
 *   enrich      stories/s of nd_enrich_story on 400 4 KB stories (the BBC politics articles of at
 *               least 4 KB, cut to 4 KB, then the fixture story repeated to 4 KB for the rest),
 *               against the text stage alone as the baseline;
 *   stages      microseconds per story of the text stage, nd_entities_find, nd_entities_to_json,
 *               and freeing that JSON and the entities, and topics (nd_topics_assign_tokens over
 *               the story's tokens and coded events, made beforehand, and freeing its JSON),
 *               timed one by one in a separate pass (the rest of `enrich` is events and the
 *               tokens they share with topics);
 *   parse       sentences of the enrich stories that the parse gate sends to the parser;
 *   memory      resident set size before and after loading the models.
 * Each figure is the median of 5 runs, timed in thread CPU time (so a busy shared machine does not
 * count against it). It prints figures; it never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enrich/doc.h"
#include "enrich/enrich.h"
#include "enrich/entities.h"
#include "enrich/events.h"
#include "enrich/events_lex.h"
#include "enrich/kb.h"
#include "enrich/tagger.h"
#include "enrich/tokenize.h"
#include "enrich/topics.h"
#include "story/story.h"
#include "bench_rss.h"
#include "bench_stats.h"

#define RUNS 5
#define NSTORIES 400
#define STORY_BYTES 4096

/* CPU time of this thread: the machine is shared, and time spent waiting for a core while other
 * processes run is not the code's cost. Per-core throughput is work per CPU-second. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *len)
{
    char *data;
    if (nd_file_read(path, 64u << 20, &data, len) != ND_OK)
        return NULL;
    return data;
}

/* CoNLL tokens as a document (sentence starts from blank lines). */
static struct nd_ner_tok *conll_tokens(char *text, size_t len, size_t *n)
{
    struct nd_ner_tok *toks = malloc((len / 2 + 1) * sizeof(*toks));
    int start = 1;
    *n = 0;
    for (char *line = text, *nl; line < text + len; line = nl + 1) {
        char *sp;
        if (!(nl = memchr(line, '\n', (size_t)(text + len - line))))
            nl = text + len;
        if (nl == line) {
            start = 1;
            continue;
        }
        if (!strncmp(line, "-DOCSTART-", 10))
            continue;
        sp = memchr(line, ' ', (size_t)(nl - line));
        toks[*n] =
            (struct nd_ner_tok){line, (uint32_t)((sp ? sp : nl) - line), (uint8_t)start, 0, 0};
        (*n)++;
        start = 0;
    }
    return toks;
}

/* Tokens of free text, as the enrich stage feeds the tagger. */
static struct nd_ner_tok *text_tokens(const char *text, size_t *n)
{
    struct nd_tokens tk;
    struct nd_ner_tok *toks;
    nd_tokenize(text, strlen(text), &tk);
    toks = malloc((tk.ntokens + 1) * sizeof(*toks));
    for (size_t i = 0; i < tk.ntokens; i++)
        toks[i] =
            (struct nd_ner_tok){text + tk.tokens[i].start, tk.tokens[i].end - tk.tokens[i].start,
                                (uint8_t)((tk.tokens[i].flags & ND_TOK_SENT_START) != 0), 0, 0};
    *n = tk.ntokens;
    nd_tokens_free(&tk);
    return toks;
}

/* Seconds of nd_topics_assign_tokens (and freeing its JSON) on a story whose text stage ran. */
static double time_topics(const struct nd_events *events, const struct nd_topics *topics,
                          const struct nd_story *story)
{
    struct nd_evtok *etoks = NULL;
    struct nd_doc doc;
    const char *text = story->body_text ? story->body_text : "";
    size_t len = strlen(text), ntok = 0;
    struct nd_event_list evs = {0};
    double t0, t;
    if (nd_doc_build(&doc, text, len) == ND_OK)
        ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &etoks);
    if (ntok)
        nd_events_code_tokens(events, &doc, etoks, ntok, NULL, 0, &evs);
    t0 = now();
    json_decref(nd_topics_assign_tokens(topics, story->headline, text, len, etoks, ntok, &evs));
    t = now() - t0;
    nd_event_list_clear(&evs);
    free(etoks);
    nd_doc_free(&doc);
    return t;
}

int main(void)
{
    const char *src = NEWSD_SOURCE_DIR;
    char path[4096], errstr[512], *conll = NULL, *fixture, *stories[NSTORIES];
    size_t len, ntok = 0, flen, nst = 0;
    long rss0, rss1, rss_kb1, rss_tag;
    struct nd_kb *kb;
    struct nd_tagger *tagger;
    struct nd_enrich *enrich;
    struct nd_ner_tok *toks;
    double tag[RUNS], tokb[RUNS], enr[RUNS], txt[RUNS];
    /* per-stage microseconds per story: text, entities found, entities JSON built, that JSON freed
     */
    double st_text[RUNS], st_find[RUNS], st_json[RUNS], st_free[RUNS], st_topics[RUNS];
    struct nd_events *events;
    struct nd_topics *topics;
    const char *tagsrc;
    char storysrc[128];
    struct nd_enrich_stats gate = {0, 0};
    size_t nbbc = 0;

    nd_alloc_tune(); /* the daemon's allocator settings (newsd run), so the figures are its own */
    rss0 = rss_kb();
    snprintf(path, sizeof(path), "%s/models/kb.tsv", src);
    if (!(kb = nd_kb_load(path, errstr, sizeof(errstr))))
        return fprintf(stderr, "bench_enrich: %s\n", errstr), 1;
    rss_kb1 = rss_kb();
    snprintf(path, sizeof(path), "%s/models/ner.bin", src);
    if (!(tagger = nd_tagger_load(path, errstr, sizeof(errstr))))
        return fprintf(stderr, "bench_enrich: %s\n", errstr), 1;
    rss_tag = rss_kb();
    if (!(enrich = nd_enrich_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr))))
        return fprintf(stderr, "bench_enrich: %s\n", errstr), 1;
    rss1 = rss_kb();
    /* the topics stage alone, on the tokens and events the enrich stage would hand it */
    if (!(events = nd_events_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr))) ||
        !(topics = nd_topics_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr))))
        return fprintf(stderr, "bench_enrich: %s\n", errstr), 1;

    snprintf(path, sizeof(path), "%s/tests/fixtures/enrich/wire-lavrov-fidan.txt", src);
    if (!(fixture = read_all(path, &flen)))
        return fprintf(stderr, "bench_enrich: %s missing\n", path), 1;

    /* tagging */
    snprintf(path, sizeof(path), "%s/../shared/data/conll2003/dev.txt", src);
    if ((conll = read_all(path, &len))) {
        toks = conll_tokens(conll, len, &ntok);
        tagsrc = "CoNLL-2003 dev.txt";
    } else {
        char *rep = malloc(flen * 40 + 1);
        for (int i = 0; i < 40; i++)
            memcpy(rep + (size_t)i * flen, fixture, flen);
        rep[flen * 40] = '\0';
        conll = rep;
        toks = text_tokens(rep, &ntok);
        tagsrc = "fixture story x40";
    }
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        nd_tagger_tag(tagger, kb, toks, ntok);
        tag[r] = (double)ntok / (now() - t0);
    }
    {
        /* baseline: tokenising the tokens' text (joined by spaces) */
        size_t tl = 0;
        char *joined;
        for (size_t i = 0; i < ntok; i++)
            tl += toks[i].len + 1;
        joined = malloc(tl + 1);
        tl = 0;
        for (size_t i = 0; i < ntok; i++) {
            memcpy(joined + tl, toks[i].s, toks[i].len);
            tl += toks[i].len;
            joined[tl++] = ' ';
        }
        for (int r = 0; r < RUNS; r++) {
            struct nd_tokens tk;
            double t0 = now();
            nd_tokenize(joined, tl, &tk);
            tokb[r] = (double)tk.ntokens / (now() - t0);
            nd_tokens_free(&tk);
        }
        free(joined);
    }

    /* 4 KB stories */
    snprintf(path, sizeof(path), "%s/../shared/data/bbc-news/politics/%03d.txt", src, 1);
    for (int i = 1; nst < NSTORIES && i <= 417; i++) {
        char *t;
        size_t tl;
        snprintf(path, sizeof(path), "%s/../shared/data/bbc-news/politics/%03d.txt", src, i);
        if (!(t = read_all(path, &tl)))
            break;
        if (tl >= STORY_BYTES) {
            /* cut at a space before 4 KB so no UTF-8 sequence is split */
            size_t cut = STORY_BYTES;
            while (cut > 0 && t[cut] != ' ')
                cut--;
            t[cut] = '\0';
            stories[nst++] = t;
            nbbc++;
        } else {
            free(t);
        }
    }
    while (nst < NSTORIES) {
        char *t = malloc(STORY_BYTES + 1);
        size_t k = 0;
        while (k + flen < STORY_BYTES) {
            memcpy(t + k, fixture, flen);
            k += flen;
        }
        t[k] = '\0';
        stories[nst++] = t;
    }
    snprintf(storysrc, sizeof(storysrc),
             "%zu BBC politics articles cut to 4 KB + %zu x the fixture story", nbbc, nst - nbbc);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now(), t1;
        for (size_t i = 0; i < nst; i++) {
            struct nd_story *story = nd_story_new();
            nd_story_set(&story->body_text, stories[i]);
            nd_enrich_story_stats(enrich, story, r ? NULL : &gate);
            nd_story_destroy(story);
        }
        t1 = now();
        enr[r] = (double)nst / (t1 - t0);
        for (size_t i = 0; i < nst; i++) {
            struct nd_story *story = nd_story_new();
            nd_story_set(&story->body_text, stories[i]);
            nd_enrich_text(story);
            nd_story_destroy(story);
        }
        txt[r] = (double)nst / (now() - t1);
        st_text[r] = st_find[r] = st_json[r] = st_free[r] = st_topics[r] = 0;
        for (size_t i = 0; i < nst; i++) {
            struct nd_story *story = nd_story_new();
            struct nd_entities ents;
            json_t *js;
            double a, b, c, d, e;
            nd_story_set(&story->body_text, stories[i]);
            a = now();
            nd_enrich_text(story);
            b = now();
            nd_entities_find(enrich, story, &ents);
            c = now();
            js = nd_entities_to_json(&ents, story);
            d = now();
            json_decref(js);
            nd_entities_free(&ents);
            e = now();
            st_text[r] += b - a;
            st_find[r] += c - b;
            st_json[r] += d - c;
            st_free[r] += e - d;
            st_topics[r] += time_topics(events, topics, story);
            nd_story_destroy(story);
        }
    }

    printf("bench_enrich (one thread, per CPU-second; median of %d runs; allocator %s)\n", RUNS,
           NEWSD_ALLOCATOR);
    printf("  tagging:  %.0f tokens/s   [%s, %zu tokens]  baseline tokenise %.0f tokens/s  ratio "
           "%.2f\n",
           median(tag, RUNS), tagsrc, ntok, median(tokb, RUNS),
           median(tag, RUNS) / median(tokb, RUNS));
    printf(
        "  enrich:   %.0f stories/s  [%zu stories: %s]  baseline text stage %.0f stories/s  ratio "
        "%.2f\n",
        median(enr, RUNS), nst, storysrc, median(txt, RUNS), median(enr, RUNS) / median(txt, RUNS));
    {
        double us = 1e6 / (double)nst, tx = median(st_text, RUNS) * us,
               fi = median(st_find, RUNS) * us, js = median(st_json, RUNS) * us,
               fr = median(st_free, RUNS) * us, whole = 1e6 / median(enr, RUNS);
        double tp = median(st_topics, RUNS) * us;
        printf("  stages:   us/story  text %.1f  entities %.1f  entities JSON %.1f  JSON+entities "
               "free %.1f  topics %.1f  rest (events, tokens) %.1f  whole %.1f\n",
               tx, fi, js, fr, tp, whole - tx - fi - js - fr - tp, whole);
    }
    printf("  parse:    %zu of %zu sentences (%.1f%%) through the parse gate\n", gate.parsed,
           gate.sentences, gate.sentences ? 100.0 * (double)gate.parsed / (double)gate.sentences : 0);
    printf("  memory:   RSS %.1f MB with models loaded (%.1f MB before loading; kb + tagger loaded "
           "twice: "
           "once for the tagging run, once inside nd_enrich)\n",
           (double)rss1 / 1024, (double)rss0 / 1024);
    printf("  memory:   tagger resident %.1f MB (RSS growth of nd_tagger_load alone)\n",
           (double)(rss_tag - rss_kb1) / 1024);
    for (size_t i = 0; i < nst; i++)
        free(stories[i]);
    nd_topics_destroy(topics);
    nd_events_destroy(events);
    free(toks);
    free(conll);
    free(fixture);
    nd_enrich_destroy(enrich);
    nd_tagger_destroy(tagger);
    nd_kb_destroy(kb);
    return 0;
}
