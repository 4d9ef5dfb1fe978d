/* bench_memory: what newsd's resident memory is made of, for the sizing formula of
 * docs/OPERATIONS.md ("Memory sizing") and the estimate memory.limit_mb accounts stories with.
 *
 *   models   resident set size added by loading each model alone: the knowledge base, the tagger,
 *            the events model, the topics model, the dependency parser;
 *   feeds    RSS added per feed by 1000 configured feeds, idle (just configured) and with a full
 *            table of fetch.recent_ids item ids (a long-running feed), and the feed state record
 *            each poll writes with a full table;
 *   stories  RSS added per story by 2000 parsed stories (BBC news articles, ../shared/data), then
 * by enriching them, against nd_story_mem's estimate of the same (the ratio is the check of the
 * estimate); and the bytes a story's records cost in the open transaction. Each per-item figure is
 * the median of 3 runs over fresh items. It prints figures; it never fails. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "enrich/enrich.h"
#include "enrich/events.h"
#include "enrich/kb.h"
#include "enrich/syntax.h"
#include "enrich/tagger.h"
#include "enrich/topics.h"
#include "fetch/fetch.h"
#include "story/story.h"
#include "bench_rss.h"
#include "bench_stats.h"

#define RUNS 3
#define NFEEDS 1000
#define NSTORIES 2000
#define NBODIES 400

/* Everything measured stays allocated until main's end, for the reason in models(). */
static struct nd_kb *held_kb;
static struct nd_tagger *held_tagger;
static struct nd_events *held_events;
static struct nd_topics *held_topics;
static struct nd_syntax *held_syntax;
static struct nd_fetch *held_fetch[RUNS];
static struct nd_story *held[RUNS][NSTORIES];

static double mib(long kb)
{
    return (double)kb / 1024.0;
}

static void models(const char *dir)
{
    char path[4200], errstr[512];
    long r0, r1;
    struct nd_kb *kb;
    struct nd_tagger *tagger;
    struct nd_events *events;
    struct nd_topics *topics;
    long total = 0;

    printf("models (RSS added by loading each, %s):\n", dir);
    r0 = rss_kb();
    snprintf(path, sizeof(path), "%s/kb.tsv", dir);
    kb = nd_kb_load(path, errstr, sizeof(errstr));
    r1 = rss_kb();
    printf("  knowledge base (kb.tsv)     %7.1f MiB%s\n", mib(r1 - r0), kb ? "" : " (not loaded)");
    total += r1 - r0;
    r0 = r1;
    snprintf(path, sizeof(path), "%s/ner.bin", dir);
    tagger = nd_tagger_load(path, errstr, sizeof(errstr));
    r1 = rss_kb();
    printf("  tagger (ner.bin)            %7.1f MiB\n", mib(r1 - r0));
    total += r1 - r0;
    r0 = r1;
    events = nd_events_new(dir, errstr, sizeof(errstr));
    r1 = rss_kb();
    printf("  events model                %7.1f MiB\n", mib(r1 - r0));
    total += r1 - r0;
    r0 = r1;
    topics = nd_topics_new(dir, errstr, sizeof(errstr));
    r1 = rss_kb();
    printf("  topics model                %7.1f MiB\n", mib(r1 - r0));
    total += r1 - r0;
    r0 = r1;
    snprintf(path, sizeof(path), "%s/syntax.bin", dir);
    held_syntax = nd_syntax_load(path, errstr, sizeof(errstr));
    r1 = rss_kb();
    printf("  dependency parser (syntax)  %7.1f MiB%s\n", mib(r1 - r0), held_syntax ? "" : " (not loaded)");
    total += r1 - r0;
    printf("  all models                  %7.1f MiB\n", mib(total));
    /* freed only at the end: the allocator would hand these pages to what is measured next, whose
     * RSS would then not grow */
    held_topics = topics;
    held_events = events;
    held_tagger = tagger;
    held_kb = kb;
}

/* A feed's state with `n` item ids, as newsd.state.v1 holds it after n items. */
static json_t *full_state(int n, int salt)
{
    json_t *ids = json_array();
    char id[17], content[17];
    for (int i = 0; i < n; i++) {
        nd_hash_hex(nd_hash64(&i, sizeof(i), (uint64_t)salt), id);
        nd_hash_hex(nd_hash64(&i, sizeof(i), (uint64_t)salt + 1), content);
        json_array_append_new(ids, json_pack("[s,s,i]", id, content, 1));
    }
    return json_pack("{s:s, s:n, s:s, s:b, s:o}", "etag", "\"abc\"", "last_modified", "body_hash",
                     "0123456789abcdef", "unstable_guids", 0, "ids", ids);
}

static void feeds(void)
{
    static struct nd_config *conf;
    double idle[RUNS], full[RUNS];
    size_t state_len = 0;

    conf = nd_config_new();
    for (int i = 0; i < NFEEDS; i++) {
        char id[32], url[64];
        snprintf(id, sizeof(id), "feed-%d", i);
        snprintf(url, sizeof(url), "http://127.0.0.1:1/feed/%d.xml", i);
        nd_config_add_feed(conf, id, url, 60);
    }
    for (int r = 0; r < RUNS; r++) {
        long r0 = rss_kb(), r1, r2;
        struct nd_fetch *fetch = nd_fetch_new(conf, NULL, NULL);
        r1 = rss_kb();
        for (int i = 0; i < NFEEDS; i++) {
            json_t *st = full_state(conf->fetch_recent_ids, r * NFEEDS + i);
            if (i == 0 && r == 0) {
                char *s = json_dumps(st, JSON_COMPACT);
                state_len = strlen(s);
                free(s);
            }
            nd_fetch_state_import(fetch, conf->feeds[i].id, st);
            json_decref(st);
        }
        r2 = rss_kb();
        idle[r] = (double)(r1 - r0) / NFEEDS;
        full[r] = (double)(r2 - r0) / NFEEDS;
        held_fetch[r] = fetch;
    }
    printf("feeds (%d configured, median of %d runs):\n", NFEEDS, RUNS);
    printf("  idle feed                   %7.1f KiB\n", median(idle, RUNS));
    printf("  feed with %d recent ids   %7.1f KiB\n", conf->fetch_recent_ids, median(full, RUNS));
    printf("  its state record            %7.1f KiB (written to the transaction after every poll "
           "with new items)\n",
           (double)state_len / 1024.0);
}

static int load_bodies(const char *src, char **bodies)
{
    static const char *const cats[] = {"politics", "business", "tech", "sport", "entertainment"};
    int n = 0;
    for (int i = 1; n < NBODIES && i <= 400; i++) {
        for (size_t c = 0; c < 5 && n < NBODIES; c++) {
            char path[4096], *data;
            size_t len;
            snprintf(path, sizeof(path), "%s/../shared/data/bbc-news/%s/%03d.txt", src, cats[c], i);
            if (nd_file_read(path, 1 << 20, &data, &len) == ND_OK)
                bodies[n++] = data;
        }
    }
    return n;
}

static struct nd_story *make_story(char **bodies, int nbodies, int i)
{
    struct nd_story *story = nd_story_new();
    const char *body = bodies[i % nbodies];
    char buf[256];
    size_t nl = strcspn(body, "\n");
    char *headline = nd_strndup(body, nl < 200 ? nl : 200);
    snprintf(buf, sizeof(buf), "bench-%d", i);
    nd_story_set(&story->guid, buf);
    nd_story_set(&story->feed_id, "bench-feed");
    nd_story_set(&story->feed_url, "http://127.0.0.1:1/feed.xml");
    snprintf(buf, sizeof(buf), "http://example.org/story/%d", i);
    nd_story_set(&story->url, buf);
    story->headline = headline;
    nd_story_set(&story->body_text, body + nl);
    story->published_at = 1796000000;
    nd_story_assign_id(story);
    return story;
}

static void stories(const struct nd_enrich *enrich, char **bodies, int nbodies)
{
    double raw[RUNS], enr[RUNS], est_raw[RUNS], est_enr[RUNS], rec[RUNS], body[RUNS], per[RUNS];

    for (int r = 0; r < RUNS; r++) {
        long r0 = rss_kb(), r1, r2;
        size_t e_raw = 0, e_enr = 0, rbytes = 0, bbytes = 0, tbytes = 0;
        for (int i = 0; i < NSTORIES; i++) {
            held[r][i] = make_story(bodies, nbodies, r * NSTORIES + i);
            e_raw += nd_story_mem(held[r][i]);
            bbytes += strlen(held[r][i]->body_text);
            tbytes += strlen(held[r][i]->body_text) + strlen(held[r][i]->headline);
        }
        r1 = rss_kb();
        for (int i = 0; i < NSTORIES; i++) {
            nd_enrich_story(enrich, held[r][i]);
            e_enr += nd_story_mem(held[r][i]);
        }
        r2 = rss_kb();
        for (int i = 0; i < NSTORIES; i++) {
            /* the story record and one per event: what publish holds (twice) until the commit */
            json_t *doc = nd_story_to_json(held[r][i]);
            char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_t *events = json_object_get(doc, "events");
            rbytes += strlen(s) + 512 * (1 + json_array_size(events));
            free(s);
            json_decref(doc);
        }
        raw[r] = (double)(r1 - r0) * 1024 / NSTORIES;
        enr[r] = (double)(r2 - r0) * 1024 / NSTORIES;
        est_raw[r] = (double)e_raw / NSTORIES;
        est_enr[r] = (double)e_enr / NSTORIES;
        rec[r] = (double)rbytes / NSTORIES;
        body[r] = (double)bbytes / NSTORIES;
        per[r] = (double)(e_enr - e_raw) / (double)tbytes;
    }
    printf("stories (%d BBC news articles, median of %d runs, bytes per story):\n", NSTORIES, RUNS);
    printf("  body text                   %7.0f\n", median(body, RUNS));
    printf("  parsed story, resident      %7.0f  (nd_story_mem estimate %.0f, ratio %.2f)\n",
           median(raw, RUNS), median(est_raw, RUNS), median(est_raw, RUNS) / median(raw, RUNS));
    printf("  enriched story, resident    %7.0f  (nd_story_mem estimate %.0f, ratio %.2f)\n",
           median(enr, RUNS), median(est_enr, RUNS), median(est_enr, RUNS) / median(enr, RUNS));
    printf("  enrichment adds %.1f estimated bytes per byte of text (headline + body), the factor "
           "nd_story_mem_enriched reserves ahead\n",
           median(per, RUNS));
    printf("  its records in the open transaction, JSON + 512 B overhead each: %.0f (budgeted "
           "twice: ours and librdkafka's copy)\n",
           median(rec, RUNS));
}

int main(void)
{
    const char *src = NEWSD_SOURCE_DIR;
    char dir[4096], errstr[512], *bodies[NBODIES];
    struct nd_enrich *enrich;
    int nbodies;
    long base;

    nd_alloc_tune(); /* the daemon's allocator settings (newsd run), so the figures are its own */
    base = rss_kb();
    nd_log_set_level(ND_LOG_ERROR);
    snprintf(dir, sizeof(dir), "%s/models", src);
    printf("bench_memory: process before anything is loaded: %.1f MiB resident\n", mib(base));
    models(dir);
    feeds();
    nbodies = load_bodies(src, bodies);
    if (!nbodies)
        return printf("stories: no ../shared/data/bbc-news; skipped\n"), 0;
    if (!(enrich = nd_enrich_new(dir, errstr, sizeof(errstr))))
        return fprintf(stderr, "bench_memory: %s\n", errstr), 1;
    stories(enrich, bodies, nbodies);
    for (int r = 0; r < RUNS; r++) {
        nd_fetch_destroy(held_fetch[r]);
        for (int i = 0; i < NSTORIES; i++)
            nd_story_destroy(held[r][i]);
    }
    nd_topics_destroy(held_topics);
    nd_syntax_destroy(held_syntax);
    nd_events_destroy(held_events);
    nd_tagger_destroy(held_tagger);
    nd_kb_destroy(held_kb);
    nd_enrich_destroy(enrich);
    for (int i = 0; i < nbodies; i++)
        free(bodies[i]);
    return 0;
}
