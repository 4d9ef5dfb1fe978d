#include "daemon/daemon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "board/board.h"
#include "cluster/cluster.h"
#include "consume/consume.h"
#include "enrich/enrich.h"
#include "fetch/fetch.h"
#include "metrics/exposition.h"
#include "metrics/metrics.h"
#include "parse/parse.h"
#include "publish/state.h"
#include "queue/queue.h"
#include "server/server.h"

#define MOD "daemon"
#define MAX_WORKERS 64
#define CONTROL_CAPACITY 65536
/* How long a scrape waits for the fetch thread to copy its counters before serving the last copy. */
#define SNAPSHOT_WAIT_MS 2000
/* Broker reachability is asked this often: quickly while it is down, rarely once it answers. */
#define KAFKA_CHECK_DOWN_MS 1000
#define KAFKA_CHECK_UP_MS 5000
#define KAFKA_CHECK_TIMEOUT_MS 500
/* A commit takes milliseconds; one still trying after this means the broker does not answer. */
#define COMMIT_STALLED_MS 10000
/* An editor or kubelet writes a file in several steps: reload once they have settled. */
#define WATCH_SETTLE_MS 300

static const double enrich_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

/* The stages' counters as last copied by their own threads. fetch is single-threaded and its feed
 * list changes on reload, so a scrape asks the fetch thread for a copy (wanted, then wait for gen to
 * move) instead of reading fetch's memory from the server thread; publish copies its counters after
 * every round of its loop. */
struct snapshot {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int wanted;
    uint64_t gen;
    int fetch_running;
    struct nd_expo_feed *feeds;
    size_t nfeeds, inflight, pending;
    struct nd_publish_stats pub;
    size_t backlog;
};

/* Messages from the sources to the publish thread that bypass enrich: a source unit opens (before
 * its first story enters the pipeline) and closes (with its story count and feed state); an input
 * that can never be processed goes to the dead-letter topic inside its unit. */
enum ctl_op { CTL_OPEN = 1, CTL_CLOSE, CTL_DEADLETTER, CTL_DISCARD };

struct ctl {
    enum ctl_op op;
    uint64_t seq;
    enum nd_unit_kind kind;
    char *feed_id;          /* OPEN of a feed unit */
    char *topic;            /* OPEN of a Kafka unit: the consumed record's position */
    int32_t partition;
    int64_t offset;
    json_t *state;          /* CLOSE */
    size_t nstories;
    char *source, *stage, *error; /* DEADLETTER */
    void *payload;
    size_t len;
    struct nd_membudget *budget; /* the state's and payload's bytes are reserved here */
    size_t mem;
};

struct nd_daemon {
    const struct nd_config *conf;  /* the startup config: every key but the reloadable lists */
    struct nd_config *feeds_conf;  /* owned: the reloaded config whose feeds fetch polls (or NULL) */
    struct nd_config *next_conf;   /* owned: a valid reloaded config fetch has not taken yet */
    const char *config_path;
    char *models_dir;              /* for the desks' topic table on reload */
    volatile sig_atomic_t *reload;
    volatile sig_atomic_t *stop;
    struct nd_config_watch *watch; /* reload.watch_file */
    int64_t watch_due_ms;          /* reload at this time (monotonic), 0: nothing seen */
    struct nd_fetch *fetch;
    struct nd_enrich *enrich;
    struct nd_publish *pub;
    struct nd_alert *alert;     /* runs inside the publish thread (publish hook) */
    struct nd_desks *desks;
    struct nd_webhook *webhook; /* when some desk has a webhook */
    pthread_mutex_t hook_lock;  /* the pointer above, against a scrape reading its stats */
    struct nd_queue *fetched;  /* fetch -> enrich */
    struct nd_queue *enriched; /* enrich -> publish */
    struct nd_queue *control;  /* sources -> publish: unit open/close */
    struct nd_membudget *budget; /* memory.limit_mb, shared by fetch, enrich, publish, consume */
    pthread_mutex_t unit_lock; /* orders unit sequence numbers with their OPEN messages */
    uint64_t next_unit;
    json_t *open_units;        /* feed id -> seq of the poll being emitted (fetch thread only) */
    json_t *restore_only;      /* during a reload's restore: the ids of the feeds it added */
    int nimported;             /* states imported by restore_one since it was last reset */
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    pthread_t publisher;
    int publisher_started;
    struct nd_consume *consume; /* raw stories from Kafka, when consume.topics is set */
    pthread_t consumer;
    int consumer_started;
    /* cluster mode (cluster.feeds_topic): the feeds come from the group's assignment */
    struct nd_cluster *cluster;
    int discarding;            /* fetch thread: stories emitted now are dropped (a reset) */
    uint64_t drops_seen;       /* publish's dropped batches already answered with a reset */
    pthread_mutex_t progress_lock; /* publish signals progress_cond after every round */
    pthread_cond_t progress_cond;
    int exit_status;
    /* health and metrics, and the desk board on the same server */
    struct nd_server *server;
    struct nd_board *board;
    struct nd_metrics_hist *enrich_hist;
    _Atomic int kafka_up, state_restored, stages_running;
    _Atomic uint64_t reloads_ok, reloads_failed;
    int64_t started_ms;
    struct snapshot snap;
};

static void ctl_free(void *p)
{
    struct ctl *ctl = p;
    if (!ctl)
        return;
    free(ctl->feed_id);
    free(ctl->topic);
    json_decref(ctl->state);
    free(ctl->source);
    free(ctl->stage);
    free(ctl->error);
    free(ctl->payload);
    nd_membudget_release(ctl->budget, ctl->mem);
    free(ctl);
}

static void story_free(void *p)
{
    nd_story_destroy(p);
}

/* Open a unit: its sequence number and its OPEN message are ordered under one lock, so the publish
 * thread sees OPENs in sequence order whatever thread the source runs on. Takes ctl. */
static uint64_t unit_open_ctl(struct nd_daemon *daemon, struct ctl *ctl)
{
    uint64_t seq;
    ctl->op = CTL_OPEN;
    pthread_mutex_lock(&daemon->unit_lock);
    seq = ctl->seq = ++daemon->next_unit;
    nd_queue_push(daemon->control, ctl, -1);
    pthread_mutex_unlock(&daemon->unit_lock);
    return seq;
}

static uint64_t unit_open(struct nd_daemon *daemon, enum nd_unit_kind kind, const char *feed_id)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    ctl->kind = kind;
    ctl->feed_id = nd_strdup(feed_id);
    return unit_open_ctl(daemon, ctl);
}

static uint64_t unit_open_record(struct nd_daemon *daemon, const struct nd_consume_pos *pos)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    ctl->kind = ND_UNIT_KAFKA;
    ctl->topic = nd_strdup(pos->topic);
    ctl->partition = pos->partition;
    ctl->offset = pos->offset;
    return unit_open_ctl(daemon, ctl);
}

/* Close unit seq: it has nstories stories; state (stolen, may be NULL) is written with them. */
static void unit_close(struct nd_daemon *daemon, uint64_t seq, size_t nstories, json_t *state)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    ctl->op = CTL_CLOSE;
    ctl->seq = seq;
    ctl->state = state;
    ctl->nstories = nstories;
    /* a feed's state with thousands of recent ids is a large tree: it counts until publish takes
     * it (it is written to the transaction at once, and the record counts from then on) */
    ctl->budget = daemon->budget;
    ctl->mem = nd_story_json_mem(state);
    nd_membudget_reserve(ctl->budget, ctl->mem);
    nd_queue_push(daemon->control, ctl, -1);
}

static void control_deadletter(struct nd_daemon *daemon, uint64_t seq, const char *source,
                               const char *stage, const char *error, const void *payload, size_t len)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    ctl->op = CTL_DEADLETTER;
    ctl->seq = seq;
    ctl->source = nd_strdup(source);
    ctl->stage = nd_strdup(stage);
    ctl->error = nd_strdup(error);
    if (payload && len) {
        ctl->payload = nd_xmalloc(len);
        memcpy(ctl->payload, payload, len);
        ctl->len = len;
        ctl->budget = daemon->budget;
        ctl->mem = len;
        nd_membudget_reserve(ctl->budget, ctl->mem);
    }
    nd_queue_push(daemon->control, ctl, -1);
}

static enum nd_err emit_story(void *opaque, struct nd_story *story)
{
    struct nd_daemon *daemon = opaque;
    const char *feed = story->feed_id ? story->feed_id : "";
    json_t *open = json_object_get(daemon->open_units, feed);
    uint64_t seq = open ? (uint64_t)json_integer_value(open) : 0;

    if (daemon->discarding) {
        /* a reset: the feed resumes from its committed state, which does not know this item */
        nd_story_destroy(story);
        return ND_OK;
    }
    if (!seq) {
        seq = unit_open(daemon, ND_UNIT_FEED, feed);
        json_object_set_new(daemon->open_units, feed, json_integer((json_int_t)seq));
    }
    story->unit = seq;
    return nd_queue_try_push(daemon->fetched, story);
}

static void emit_state(void *opaque, const char *feed_id, json_t *state, size_t nstories)
{
    struct nd_daemon *daemon = opaque;
    json_t *open = json_object_get(daemon->open_units, feed_id);

    if (!open || daemon->discarding) {
        json_decref(state);
        return;
    }
    unit_close(daemon, (uint64_t)json_integer_value(open), nstories, state);
    json_object_del(daemon->open_units, feed_id);
}

/* fulltext feeds: the main text of an article page, boilerplate removed (pkg/parse). */
static char *extract_article(void *opaque, const char *html, size_t len, const char *url)
{
    struct nd_article art;
    char errstr[256] = "", *text = NULL;
    (void)opaque;
    if (nd_html_extract(html, len, NULL, &art, errstr, sizeof(errstr)) == ND_OK && art.text &&
        *art.text) {
        text = art.text;
        art.text = NULL;
    } else {
        const char *kv[] = {"url", url, NULL};
        nd_log_kv(ND_LOG_DEBUG, MOD, kv, "no main text in the article page: %s", errstr);
    }
    nd_article_free(&art);
    return text;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *enrich_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;

    while ((story = nd_queue_pop(daemon->fetched, -1))) {
        double t0 = mono_seconds();
        nd_enrich_story(daemon->enrich, story);
        nd_metrics_hist_observe(daemon->enrich_hist, mono_seconds() - t0);
        /* what enrichment added; never waits: the story is on its way out */
        nd_story_account(story, daemon->budget);
        /* blocks while publish is behind: that is the backpressure path */
        if (nd_queue_push(daemon->enriched, story, -1) != ND_OK)
            nd_story_destroy(story);
    }
    return NULL;
}

static void apply_control(struct nd_daemon *daemon)
{
    struct ctl *ctl;
    while ((ctl = nd_queue_pop(daemon->control, 0))) {
        if (ctl->op == CTL_OPEN) {
            nd_publish_unit_open(daemon->pub, ctl->seq, ctl->kind, ctl->feed_id, ctl->topic,
                                 ctl->partition, ctl->offset);
        } else if (ctl->op == CTL_DISCARD) {
            nd_publish_discard(daemon->pub, ctl->seq);
        } else if (ctl->op == CTL_CLOSE) {
            nd_publish_unit_close(daemon->pub, ctl->seq, ctl->nstories, ctl->state);
            ctl->state = NULL;
        } else {
            nd_publish_deadletter(daemon->pub, ctl->seq, ctl->source, ctl->stage, ctl->error,
                                  ctl->payload, ctl->len);
        }
        ctl_free(ctl);
    }
}

static void publish_snapshot(struct nd_daemon *daemon)
{
    struct nd_publish_stats stats;
    size_t backlog = nd_publish_backlog(daemon->pub);
    nd_publish_get_stats(daemon->pub, &stats);
    pthread_mutex_lock(&daemon->snap.lock);
    daemon->snap.pub = stats;
    daemon->snap.backlog = backlog;
    pthread_mutex_unlock(&daemon->snap.lock);
}

/* Readiness wants to know about Kafka whether or not records flow: ask now and then. */
static void check_kafka(struct nd_daemon *daemon, int64_t *next_check)
{
    int up;
    if (nd_mono_ms() < *next_check)
        return;
    up = nd_publish_broker_reachable(daemon->pub, KAFKA_CHECK_TIMEOUT_MS);
    if (up != atomic_exchange(&daemon->kafka_up, up))
        nd_log(up ? ND_LOG_INFO : ND_LOG_WARN, MOD, "kafka %s", up ? "reachable again" : "not reachable");
    *next_check = nd_mono_ms() + (up ? KAFKA_CHECK_UP_MS : KAFKA_CHECK_DOWN_MS);
}

/* Raw stories from Kafka. Each record is a source unit of its own: opened with its position, its
 * story pushed into the pipeline (a full queue blocks this thread: backpressure), then closed. With
 * transactions its offset is committed in the transaction that holds its story; without, it is
 * stored once the story is queued (at least once). A record that is not a story is dead-lettered in
 * its unit, so its offset advances with the dead letter. */
static void *consume_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_consume_pos pos;
    struct nd_story *story;
    char errstr[512];
    int transactional = daemon->conf->kafka_transactions;

    while (!*daemon->stop) {
        enum nd_err err;
        uint64_t seq;
        /* over memory.limit_mb: fetch no more records (polling goes on for the group's sake) */
        nd_consume_pause(daemon->consume, !nd_membudget_admit(daemon->budget, ND_MEM_CONSUME, 0));
        err = nd_consume_poll(daemon->consume, 200, &story, &pos, errstr, sizeof(errstr));
        if (err != ND_OK && err != ND_ERR_INVALID)
            continue;
        seq = unit_open_record(daemon, &pos);
        if (err == ND_ERR_INVALID) {
            control_deadletter(daemon, seq, pos.topic, "consume", errstr, pos.bad, pos.bad_len);
            free(pos.bad);
            unit_close(daemon, seq, 0, NULL);
            if (!transactional)
                nd_consume_done(daemon->consume, &pos);
            continue;
        }
        story->unit = seq;
        nd_story_account_ahead(story, daemon->budget);
        while ((err = nd_queue_push(daemon->fetched, story, 200)) == ND_ERR_AGAIN && !*daemon->stop)
            ;
        if (err != ND_OK) {
            /* stopping: its unit never closes, so nothing of it commits; read again after restart */
            nd_story_destroy(story);
            break;
        }
        unit_close(daemon, seq, 1, NULL);
        if (!transactional)
            nd_consume_done(daemon->consume, &pos);
    }
    return NULL;
}

static void *publish_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;
    int flush_ms = daemon->conf->kafka_flush_timeout_ms;
    int64_t next_check = nd_mono_ms() + KAFKA_CHECK_UP_MS;

    for (;;) {
        check_kafka(daemon, &next_check);
        apply_control(daemon);
        story = nd_queue_pop(daemon->enriched, 20);
        if (story) {
            /* the story's OPEN was queued before the story entered the pipeline */
            apply_control(daemon);
            nd_publish_story(daemon->pub, story);
        } else if (nd_queue_drained(daemon->enriched)) {
            break;
        }
        nd_publish_tick(daemon->pub, 0);
        publish_snapshot(daemon);
        if (daemon->cluster) {
            /* a revocation or a reset on the fetch thread waits for commits and discards */
            pthread_mutex_lock(&daemon->progress_lock);
            pthread_cond_broadcast(&daemon->progress_cond);
            pthread_mutex_unlock(&daemon->progress_lock);
        }
    }
    apply_control(daemon);
    if (nd_publish_finish(daemon->pub, flush_ms) != ND_OK) {
        nd_error(MOD, "the open transaction could not be committed within kafka.flush_timeout_ms "
                      "(%d ms); it was aborted and its stories will be fetched again",
                 flush_ms);
    }
    publish_snapshot(daemon);
    return NULL;
}

/* --- snapshot of the fetch counters (fetch thread) ------------------------------------------- */

static void snapshot_take(struct nd_daemon *daemon)
{
    struct snapshot *snap = &daemon->snap;
    size_t n = nd_fetch_feed_count(daemon->fetch);

    pthread_mutex_lock(&snap->lock);
    for (size_t i = n; i < snap->nfeeds; i++)
        free(snap->feeds[i].id);
    if (n > snap->nfeeds) {
        snap->feeds = realloc(snap->feeds, n * sizeof(*snap->feeds));
        if (!snap->feeds)
            abort();
        memset(snap->feeds + snap->nfeeds, 0, (n - snap->nfeeds) * sizeof(*snap->feeds));
    }
    snap->nfeeds = n;
    for (size_t i = 0; i < n; i++) {
        const char *id = nd_fetch_feed_id(daemon->fetch, i);
        if (!snap->feeds[i].id || strcmp(snap->feeds[i].id, id)) {
            free(snap->feeds[i].id);
            snap->feeds[i].id = nd_strdup(id);
        }
        nd_fetch_feed_stats(daemon->fetch, i, &snap->feeds[i].stats);
    }
    snap->inflight = nd_fetch_inflight(daemon->fetch);
    snap->pending = nd_fetch_pending(daemon->fetch);
    snap->gen++;
    atomic_store(&snap->wanted, 0);
    pthread_cond_broadcast(&snap->cond);
    pthread_mutex_unlock(&snap->lock);
}

static void snapshot_set_running(struct nd_daemon *daemon, int running)
{
    pthread_mutex_lock(&daemon->snap.lock);
    daemon->snap.fetch_running = running;
    pthread_cond_broadcast(&daemon->snap.cond);
    pthread_mutex_unlock(&daemon->snap.lock);
}

/* --- /readyz and /metrics (server thread) ---------------------------------------------------- */

/* A broker that hangs (stopped, partitioned away) keeps its connections open: the publish thread,
 * which asks for metadata between its rounds, is then stuck in the commit. That is Kafka failing
 * too. *waiting: how long the commit under way has been trying. */
static int kafka_ready(struct nd_daemon *daemon, int64_t *waiting)
{
    *waiting = nd_publish_commit_waiting_ms(daemon->pub);
    return atomic_load(&daemon->kafka_up) && *waiting < COMMIT_STALLED_MS;
}

static int ready_cb(void *opaque, struct nd_buf *buf)
{
    struct nd_daemon *daemon = opaque;
    int64_t waiting;
    int kafka = kafka_ready(daemon, &waiting), state = atomic_load(&daemon->state_restored),
        stages = atomic_load(&daemon->stages_running);
    int cluster = 1;
    nd_buf_appendf(buf, "kafka: %s", kafka ? "ok\n" : "failing");
    if (!kafka && waiting >= COMMIT_STALLED_MS)
        nd_buf_appendf(buf, " (a commit waiting for %lld s)", (long long)(waiting / 1000));
    nd_buf_appendf(buf, "%sstate: %s\nstages: %s\n", kafka ? "" : "\n", state ? "ok" : "failing",
                   stages ? "ok" : "failing");
    /* Not a check: a pause is flow control, and nothing is lost while it lasts; its cause (a broker
     * away, which the kafka line shows) is what fails readiness. Said so the body explains why
     * nothing is being fetched. */
    if (nd_membudget_full(daemon->budget))
        nd_buf_appendf(buf, "memory: paused (%zu of %zu MiB buffered; sources wait for publish)\n",
                       nd_membudget_used(daemon->budget) >> 20,
                       nd_membudget_limit(daemon->budget) >> 20);
    if (daemon->cluster) {
        /* in the group, its partitions read and their feeds polling */
        struct nd_cluster_stats cs;
        nd_cluster_get_stats(daemon->cluster, &cs);
        cluster = cs.ready;
        nd_buf_appendf(buf, "cluster: %s\n", cluster ? "ok" : "failing");
    }
    return kafka && state && stages && cluster;
}

/* Ask the fetch thread for a fresh copy of its counters (it answers between two rounds of its
 * loop); after SNAPSHOT_WAIT_MS the last copy is served. Called and returns with snap->lock held. */
static void snapshot_refresh(struct nd_daemon *daemon)
{
    struct snapshot *snap = &daemon->snap;
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SNAPSHOT_WAIT_MS / 1000;
    if (!snap->fetch_running)
        return;
    uint64_t target = snap->gen + 1;
    atomic_store(&snap->wanted, 1);
    nd_fetch_wakeup(daemon->fetch);
    while (snap->fetch_running && snap->gen < target)
        if (pthread_cond_timedwait(&snap->cond, &snap->lock, &deadline) != 0)
            break;
}

static void write_alert_metrics(struct nd_daemon *daemon, struct nd_buf *buf)
{
    struct nd_alert_stats st;
    struct nd_webhook_stats wh = {0};

    nd_alert_get_stats(daemon->alert, &st);
    pthread_mutex_lock(&daemon->hook_lock);
    if (daemon->webhook)
        nd_webhook_get_stats(daemon->webhook, &wh);
    pthread_mutex_unlock(&daemon->hook_lock);
    nd_expo_alerts(buf, &st, daemon->alert, &wh);
}

static void write_memory_metrics(struct nd_daemon *daemon, struct nd_buf *buf)
{
    struct nd_expo_memory mem = {.buffered = nd_membudget_used(daemon->budget),
                                 .peak = nd_membudget_peak(daemon->budget),
                                 .limit = nd_membudget_limit(daemon->budget),
                                 .paused = nd_membudget_full(daemon->budget)};
    for (int i = 0; i < ND_MEM_NSTAGES; i++)
        mem.paused_s[i] = nd_membudget_paused_seconds(daemon->budget, (enum nd_mem_stage)i);
    nd_expo_memory(buf, &mem);
}

/* /metrics: the stages' counters, gathered here and written by pkg/metrics/exposition.c. */
static void metrics_cb(void *opaque, struct nd_buf *buf)
{
    struct nd_daemon *daemon = opaque;
    struct snapshot *snap = &daemon->snap;
    int64_t waiting;
    const struct nd_expo_check checks[] = {
        {"kafka", kafka_ready(daemon, &waiting)},
        {"state", atomic_load(&daemon->state_restored)},
        {"stages", atomic_load(&daemon->stages_running)},
    };
    const struct nd_expo_queue queues[] = {
        {"enrich", nd_queue_len(daemon->fetched), nd_queue_capacity(daemon->fetched)},
        {"publish", nd_queue_len(daemon->enriched), nd_queue_capacity(daemon->enriched)},
        {"control", nd_queue_len(daemon->control), nd_queue_capacity(daemon->control)},
    };

    nd_expo_process(buf, daemon->started_ms, nd_now_ms());
    nd_expo_ready(buf, checks, sizeof(checks) / sizeof(checks[0]));
    pthread_mutex_lock(&snap->lock);
    snapshot_refresh(daemon);
    nd_expo_fetch(buf, snap->feeds, snap->nfeeds, snap->inflight, snap->pending);
    nd_expo_kafka(buf, &snap->pub, snap->backlog);
    pthread_mutex_unlock(&snap->lock);
    nd_expo_queues(buf, queues, sizeof(queues) / sizeof(queues[0]));
    write_memory_metrics(daemon, buf);
    nd_metrics_hist_write(buf, "newsd_enrich_duration_seconds", "Time to enrich one story.",
                          daemon->enrich_hist);
    write_alert_metrics(daemon, buf);
    nd_expo_reloads(buf, atomic_load(&daemon->reloads_ok), atomic_load(&daemon->reloads_failed));
    if (daemon->cluster) {
        struct nd_cluster_stats cs;
        nd_cluster_get_stats(daemon->cluster, &cs);
        nd_expo_cluster(buf, &cs, nd_publish_drops(daemon->pub));
    }
    if (daemon->board) {
        struct nd_board_stats bs;
        nd_board_get_stats(daemon->board, &bs);
        nd_expo_board(buf, &bs);
    }
}

/* --- state restore and reload (fetch thread) ------------------------------------------------- */

static void restore_one(void *opaque, const char *feed_id, const json_t *state)
{
    struct nd_daemon *daemon = opaque;
    enum nd_err err;
    /* on reload only new feeds take state: the others' in memory is newer than any committed one */
    if (daemon->restore_only && !json_object_get(daemon->restore_only, feed_id))
        return;
    err = nd_fetch_state_import(daemon->fetch, feed_id, state);
    if (err == ND_OK)
        daemon->nimported++;
    if (err == ND_ERR_INVALID) {
        const char *kv[] = {"feed", feed_id, NULL};
        nd_log_kv(ND_LOG_WARN, MOD, kv, "state of feed %s is malformed; the feed starts afresh", feed_id);
    }
}

static void log_config_errors(const char *path, const char *text)
{
    const char *kv[] = {"path", path, NULL};
    while (text && *text) {
        size_t len = strcspn(text, "\n");
        if (len)
            nd_log_kv(ND_LOG_ERROR, "config", kv, "%.*s", (int)len, text);
        text += len + (text[len] == '\n');
    }
}

/* Read the file again. A valid config waits in next_conf until fetch can take its feeds; an invalid
 * one is logged and dropped, and the running config stays. */
static void reload_begin(struct nd_daemon *daemon)
{
    struct nd_config *conf = nd_config_new();
    const char *kv[] = {"path", daemon->config_path, NULL};
    char *errs = NULL, key[128];
    size_t errlen = 0;
    FILE *mem = open_memstream(&errs, &errlen);
    int nerr = nd_config_load(conf, daemon->config_path, mem);
    struct nd_desks *desks = NULL;
    enum nd_log_level level;

    /* the desks are part of what a reload applies: a desk with errors rejects the whole file */
    if (!nerr)
        desks = nd_desks_load(conf->desks, daemon->models_dir, mem, &nerr);
    if (mem)
        fclose(mem);
    if (nerr) {
        log_config_errors(daemon->config_path, errs);
        nd_log_kv(ND_LOG_ERROR, "config", kv,
                  "reload rejected: %d error%s; the running configuration stays", nerr,
                  nerr == 1 ? "" : "s");
        atomic_fetch_add(&daemon->reloads_failed, 1);
        nd_desks_destroy(desks);
        nd_config_destroy(conf);
        goto out;
    }
    /* desks apply at once: the alert stage takes the new set between two stories */
    nd_daemon_set_desks(daemon, desks);
    if (nd_config_restart_needed(daemon->conf, conf, key, sizeof(key)))
        nd_log_kv(ND_LOG_WARN, "config", kv,
                  "reload: %s (and maybe more) changed; only feeds and log_level are applied "
                  "without a restart", key);
    if (nd_log_level_parse(conf->log_level, &level) == 0)
        nd_log_set_level(level);
    if (daemon->cluster) {
        /* the feeds come from cluster.feeds_topic: the file's list is for `newsd feeds publish` */
        nd_log_kv(ND_LOG_INFO, "config", kv, "reload applied (cluster mode: feeds come from %s)",
                  daemon->conf->cluster_feeds_topic);
        atomic_fetch_add(&daemon->reloads_ok, 1);
        nd_config_destroy(conf);
        goto out;
    }
    /* a newer file supersedes one still waiting */
    nd_config_destroy(daemon->next_conf);
    daemon->next_conf = conf;
out:
    free(errs);
}

/* Hand the waiting config's feeds to fetch; added feeds resume from their committed state. */
static void reload_apply(struct nd_daemon *daemon)
{
    struct nd_config *conf = daemon->next_conf;
    const char *kv[] = {"path", daemon->config_path, NULL};
    json_t *added;
    char errstr[512];

    if (!conf)
        return;
    added = json_object();
    for (size_t i = 0; i < conf->nfeeds; i++)
        json_object_set_new(added, conf->feeds[i].id, json_true());
    for (size_t i = 0; i < nd_fetch_feed_count(daemon->fetch); i++)
        json_object_del(added, nd_fetch_feed_id(daemon->fetch, i));
    if (nd_fetch_set_feeds(daemon->fetch, conf->feeds, conf->nfeeds) != ND_OK) {
        json_decref(added); /* ND_ERR_AGAIN: a removed feed still hands stories on; the loop retries */
        return;
    }
    nd_config_destroy(daemon->feeds_conf);
    daemon->feeds_conf = conf;
    daemon->next_conf = NULL;
    if (json_object_size(added)) {
        daemon->restore_only = added;
        if (nd_state_restore(daemon->conf, restore_one, daemon, daemon->stop, errstr, sizeof(errstr)) < 0)
            nd_log_kv(ND_LOG_WARN, "config", kv, "reload: state of the added feeds not restored: %s",
                      errstr);
        daemon->restore_only = NULL;
    }
    json_decref(added);
    atomic_fetch_add(&daemon->reloads_ok, 1);
    nd_log_kv(ND_LOG_INFO, "config", kv, "reload applied: %zu feeds", conf->nfeeds);
}

/* --- cluster mode (fetch thread) ------------------------------------------------------------- */

/* How long a takeover's state read may wait for the open transactions of the moment to end: a dead
 * instance's ends when the broker aborts it (its transaction timeout, checked by the broker every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by default). */
static int takeover_wait_ms(const struct nd_config *conf)
{
    return 2 * conf->cluster_transaction_timeout_ms + 15000;
}

/* Wait (fetch thread) until cond(daemon, arg) holds, publish signalling after each of its rounds. */
static int wait_publish(struct nd_daemon *daemon, int (*cond)(struct nd_daemon *, uint64_t),
                        uint64_t arg)
{
    pthread_mutex_lock(&daemon->progress_lock);
    while (!cond(daemon, arg) && !*daemon->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L; /* the stop flag has no signal of its own */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&daemon->progress_cond, &daemon->progress_lock, &ts);
    }
    pthread_mutex_unlock(&daemon->progress_lock);
    return cond(daemon, arg);
}

static int discard_done(struct nd_daemon *daemon, uint64_t upto)
{
    return nd_publish_discarded(daemon->pub) >= upto;
}

static int committed_or_dropped(struct nd_daemon *daemon, uint64_t upto)
{
    return nd_publish_committed(daemon->pub) >= upto ||
           nd_publish_drops(daemon->pub) != daemon->drops_seen;
}

/* Forget everything not committed: fetch's feeds (and their in-memory state, which may count items
 * whose stories will never commit), the open units, and publish's batch, which it drops once it
 * has read the DISCARD queued behind every unit opened so far. The feeds are then set again and
 * resume from the state topic. Returns once publish has done it, so nothing of before can commit
 * afterwards (a rejoin of the group must not lend a valid generation to old stories). */
static void discard_reset(struct nd_daemon *daemon)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    uint64_t upto;

    daemon->drops_seen = nd_publish_drops(daemon->pub);
    daemon->discarding = 1;
    while (nd_fetch_set_feeds(daemon->fetch, NULL, 0) == ND_ERR_AGAIN && !*daemon->stop)
        nd_fetch_run(daemon->fetch, 50);
    json_object_clear(daemon->open_units);
    ctl->op = CTL_DISCARD;
    pthread_mutex_lock(&daemon->unit_lock);
    upto = ctl->seq = daemon->next_unit;
    nd_queue_push(daemon->control, ctl, -1);
    pthread_mutex_unlock(&daemon->unit_lock);
    daemon->discarding = 0;
    wait_publish(daemon, discard_done, upto);
    nd_warn(MOD, "cluster: uncommitted work discarded; the feeds resume from their committed state");
}

/* The feeds this instance polls are now exactly `feeds`; the added ones first take the state their
 * previous owner committed. */
static enum nd_err cluster_set_feeds(void *opaque, const struct nd_feed_conf *feeds, size_t nfeeds)
{
    struct nd_daemon *daemon = opaque;
    json_t *added = json_object();
    char errstr[512];
    int64_t t0 = nd_mono_ms();
    int restored;

    for (size_t i = 0; i < nfeeds; i++)
        if (nd_fetch_feed_index(daemon->fetch, feeds[i].id) < 0)
            json_object_set_new(added, feeds[i].id, json_true());
    while (nd_fetch_set_feeds(daemon->fetch, feeds, nfeeds) == ND_ERR_AGAIN) {
        if (*daemon->stop) {
            json_decref(added);
            return ND_ERR_AGAIN;
        }
        nd_fetch_run(daemon->fetch, 50);
    }
    if (json_object_size(added)) {
        /* fetch runs on this thread: the added feeds are not polled before their state is in */
        daemon->restore_only = added;
        daemon->nimported = 0;
        restored = nd_state_restore_stable(daemon->conf, takeover_wait_ms(daemon->conf), restore_one,
                                           daemon, daemon->stop, errstr, sizeof(errstr));
        daemon->restore_only = NULL;
        if (restored < 0)
            nd_error(MOD, "cluster: state of the %zu added feeds not restored: %s",
                     json_object_size(added), errstr);
        else
            nd_info(MOD, "cluster: %zu feeds added, the committed state of %d restored in %lld ms",
                    json_object_size(added), daemon->nimported, (long long)(nd_mono_ms() - t0));
    }
    json_decref(added);
    return ND_OK;
}

/* Partitions are being revoked and their feeds are no longer polled: every unit opened so far must
 * be committed before the next owner reads the state. */
static void cluster_barrier(void *opaque)
{
    struct nd_daemon *daemon = opaque;
    uint64_t upto;
    pthread_mutex_lock(&daemon->unit_lock);
    upto = daemon->next_unit;
    pthread_mutex_unlock(&daemon->unit_lock);
    wait_publish(daemon, committed_or_dropped, upto);
    if (nd_publish_drops(daemon->pub) != daemon->drops_seen)
        discard_reset(daemon);
}

static void cluster_lost(void *opaque)
{
    discard_reset(opaque);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

struct nd_daemon *nd_daemon_new(const struct nd_daemon_opts *opts, char *errstr, size_t errsz)
{
    struct nd_daemon *daemon = nd_xcalloc(1, sizeof(*daemon));
    const struct nd_config *conf = opts->conf;
    struct nd_alert_opts alert_opts;

    daemon->conf = conf;
    daemon->config_path = opts->config_path;
    daemon->reload = opts->reload;
    daemon->started_ms = nd_now_ms();
    pthread_mutex_init(&daemon->unit_lock, NULL);
    pthread_mutex_init(&daemon->hook_lock, NULL);
    pthread_mutex_init(&daemon->progress_lock, NULL);
    pthread_cond_init(&daemon->progress_cond, NULL);
    pthread_mutex_init(&daemon->snap.lock, NULL);
    pthread_cond_init(&daemon->snap.cond, NULL);
    daemon->open_units = json_object();
    daemon->enrich_hist =
        nd_metrics_hist_new(enrich_bounds, sizeof(enrich_bounds) / sizeof(*enrich_bounds));
    daemon->models_dir = nd_strdup(opts->models_dir);
    if (!(daemon->enrich = nd_enrich_new(opts->models_dir, errstr, errsz)))
        goto fail;
    nd_enrich_set_min_confidence(daemon->enrich, conf->events_min_confidence);
    if (!(daemon->pub = nd_publish_new(conf, opts->kafka_extra, opts->nkafka_extra, errstr, errsz)))
        goto fail;
    nd_alert_opts_from_config(&alert_opts, conf);
    daemon->alert = nd_alert_new(&alert_opts);
    daemon->desks = opts->desks;
    nd_alert_set_desks(daemon->alert, nd_desks_ref(daemon->desks));
    nd_publish_set_story_hook(daemon->pub, nd_alert_publish_hook, daemon->alert);
    daemon->fetched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->enriched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->control = nd_queue_new(CONTROL_CAPACITY);
    daemon->budget = nd_membudget_new((size_t)conf->memory_limit_mb << 20,
                                      ((size_t)conf->memory_limit_mb << 20) / 4 * 3);
    nd_publish_set_budget(daemon->pub, daemon->budget);
    daemon->fetch = nd_fetch_new(conf, emit_story, daemon);
    nd_fetch_set_budget(daemon->fetch, daemon->budget);
    nd_fetch_set_state_cb(daemon->fetch, emit_state, daemon);
    nd_fetch_set_extractor(daemon->fetch, extract_article, NULL);
    if (*conf->cluster_feeds_topic) {
        struct nd_cluster_hooks hooks = {.set_feeds = cluster_set_feeds,
                                         .barrier = cluster_barrier,
                                         .lost = cluster_lost,
                                         .opaque = daemon};
        /* the feeds come from the group's assignment, not from the file */
        nd_fetch_set_feeds(daemon->fetch, NULL, 0);
        if (!(daemon->cluster = nd_cluster_new(conf, &hooks, errstr, errsz)))
            goto fail;
    }
    /* Serving from the start: while newsd waits for Kafka, /healthz says alive, /readyz not ready. */
    if (conf->server_port > 0 || opts->pick_port) {
        struct nd_server_handlers h = {.metrics = metrics_cb, .ready = ready_cb, .opaque = daemon};
        if (conf->board_enabled) {
            daemon->board = nd_board_new(conf);
            nd_board_set_desks(daemon->board, nd_desks_ref(daemon->desks));
            h.route_prefix = "/board";
            h.route = nd_board_route;
            h.route_opaque = daemon->board;
            h.route_connections = (unsigned)conf->board_max_clients;
        }
        if (!(daemon->server = nd_server_new(conf->server_bind, opts->pick_port ? 0 : conf->server_port,
                                             &h, errstr, errsz)))
            goto fail;
    }
    if (conf->consume_topics && *conf->consume_topics &&
        !(daemon->consume = nd_consume_new(conf, opts->kafka_extra, opts->nkafka_extra, errstr, errsz)))
        goto fail;
    return daemon;
fail:
    nd_desks_destroy(opts->desks);
    nd_daemon_destroy(daemon);
    return NULL;
}

static void start_webhooks(struct nd_daemon *daemon)
{
    struct nd_webhook *hook;
    char errstr[512];
    if (daemon->webhook || !nd_desks_have_webhooks(daemon->desks))
        return;
    hook = nd_webhook_new(daemon->conf, nd_desks_ref(daemon->desks), errstr, sizeof(errstr));
    if (!hook)
        nd_error(MOD, "%s; alerts stay on Kafka only", errstr);
    else if (nd_webhook_start(hook) != ND_OK)
        nd_error(MOD, "the webhook dispatcher did not start; alerts stay on Kafka only");
    pthread_mutex_lock(&daemon->hook_lock);
    daemon->webhook = hook;
    pthread_mutex_unlock(&daemon->hook_lock);
}

static void stop_webhooks(struct nd_daemon *daemon)
{
    struct nd_webhook *hook;
    pthread_mutex_lock(&daemon->hook_lock);
    hook = daemon->webhook;
    daemon->webhook = NULL;
    pthread_mutex_unlock(&daemon->hook_lock);
    nd_webhook_destroy(hook);
}

void nd_daemon_set_desks(struct nd_daemon *daemon, struct nd_desks *desks)
{
    nd_desks_destroy(daemon->desks);
    daemon->desks = desks;
    nd_alert_set_desks(daemon->alert, nd_desks_ref(desks));
    if (daemon->board)
        nd_board_set_desks(daemon->board, nd_desks_ref(desks));
    if (daemon->webhook)
        nd_webhook_set_desks(daemon->webhook, nd_desks_ref(desks));
    else if (daemon->publisher_started)
        start_webhooks(daemon);
    nd_info(MOD, "desks: %zu", nd_desks_count(desks));
}

int nd_daemon_run(struct nd_daemon *daemon, volatile sig_atomic_t *stop)
{
    char errstr[512];
    int n = daemon->conf->enrich_threads, restored;

    daemon->stop = stop;
    /* Fence any previous instance first: its open transaction is aborted, so reading the state
     * topic with read_committed does not wait for it to time out. */
    if (nd_publish_start(daemon->pub, stop) != ND_OK) {
        /* asked to stop while waiting (SIGTERM during start-up) is an ordinary stop: info */
        nd_log(*stop ? ND_LOG_INFO : ND_LOG_ERROR, MOD, "stopped before Kafka became reachable");
        return *stop ? 0 : 1;
    }
    atomic_store(&daemon->kafka_up, 1);
    restored = nd_state_restore(daemon->conf, restore_one, daemon, stop, errstr, sizeof(errstr));
    if (restored < 0) {
        nd_log(*stop ? ND_LOG_INFO : ND_LOG_ERROR, MOD, "%s", errstr);
        return *stop ? 0 : 1;
    }
    atomic_store(&daemon->state_restored, 1);
    nd_info(MOD, "restored the state of %d feeds from %s", restored, daemon->conf->topic_state);
    if (daemon->conf->alerts_restore && nd_desks_count(daemon->desks)) {
        /* developments and what each desk was told, so a restart does not alert twice */
        restored = nd_alert_restore(daemon->alert, daemon->conf, stop, errstr, sizeof(errstr));
        if (restored < 0)
            nd_warn(MOD, "%s; developments start afresh", errstr);
        else
            nd_info(MOD, "restored %d alerts of the last %d s from %s", restored,
                    daemon->conf->alerts_window_s, daemon->conf->topic_alerts);
    }
    start_webhooks(daemon);
    if (daemon->board && nd_board_start(daemon->board, errstr, sizeof(errstr)) != ND_OK)
        nd_error(MOD, "%s; the board shows no alerts", errstr);

    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    for (int i = 0; i < n; i++)
        if (pthread_create(&daemon->workers[daemon->nworkers], NULL, enrich_main, daemon) == 0)
            daemon->nworkers++;
    /* cluster mode: every commit proves this instance still holds its feeds partitions */
    if (daemon->cluster)
        nd_publish_set_fence(daemon->pub, nd_cluster_kafka(daemon->cluster));
    if (pthread_create(&daemon->publisher, NULL, publish_main, daemon) == 0)
        daemon->publisher_started = 1;
    atomic_store(&daemon->stages_running, daemon->nworkers > 0 && daemon->publisher_started);
    snapshot_set_running(daemon, 1);
    nd_info(MOD, "newsd %s running: %zu feeds%s, %d enrich workers, brokers %s, transactions %s",
            NEWSD_VERSION, daemon->cluster ? (size_t)0 : daemon->conf->nfeeds,
            daemon->cluster ? " until the feeds group assigns some" : "", daemon->nworkers, daemon->conf->kafka_brokers,
            daemon->conf->kafka_transactions ? "on" : "off");
    if (daemon->consume) {
        /* consume-transform-produce: offsets go to our transactions under the group's metadata */
        if (daemon->conf->kafka_transactions)
            nd_publish_set_consumer(daemon->pub, nd_consume_kafka(daemon->consume));
        if (pthread_create(&daemon->consumer, NULL, consume_main, daemon) == 0)
            daemon->consumer_started = 1;
        else
            nd_error(MOD, "cannot start the Kafka source thread; consume.topics are not read");
    }

    if (daemon->conf->reload_watch_file && daemon->config_path &&
        !(daemon->watch = nd_config_watch_new(daemon->config_path, errstr, sizeof(errstr))))
        nd_warn(MOD, "reload.watch_file: %s; SIGHUP still reloads", errstr);

    while (!*stop) {
        nd_fetch_run(daemon->fetch, 200);
        if (daemon->cluster) {
            /* a batch publish dropped (fenced, or failed for good): start again from Kafka */
            if (nd_publish_drops(daemon->pub) != daemon->drops_seen) {
                discard_reset(daemon);
                nd_cluster_reapply(daemon->cluster);
            }
            nd_cluster_poll(daemon->cluster, 0);
        }
        if (daemon->watch && nd_config_watch_changed(daemon->watch))
            daemon->watch_due_ms = nd_mono_ms() + WATCH_SETTLE_MS;
        if ((daemon->reload && *daemon->reload) ||
            (daemon->watch_due_ms && nd_mono_ms() >= daemon->watch_due_ms)) {
            if (daemon->reload)
                *daemon->reload = 0;
            daemon->watch_due_ms = 0;
            if (daemon->config_path)
                reload_begin(daemon);
        }
        reload_apply(daemon);
        if (atomic_load(&daemon->snap.wanted))
            snapshot_take(daemon);
    }

    nd_info(MOD, "stopping: draining queues and committing the open transaction");
    /* whatever the broker does, the commit gives up at the deadline and the threads drain */
    nd_publish_set_deadline(daemon->pub, nd_mono_ms() + daemon->conf->kafka_flush_timeout_ms);
    snapshot_set_running(daemon, 0);
    atomic_store(&daemon->stages_running, 0);
    if (daemon->consumer_started)
        pthread_join(daemon->consumer, NULL);
    daemon->consumer_started = 0;
    nd_queue_close(daemon->fetched);
    for (int i = 0; i < daemon->nworkers; i++)
        pthread_join(daemon->workers[i], NULL);
    daemon->nworkers = 0;
    nd_queue_close(daemon->enriched);
    if (daemon->publisher_started)
        pthread_join(daemon->publisher, NULL);
    daemon->publisher_started = 0;
    /* the last transaction is in: now the feeds may move to the other instances */
    nd_cluster_close(daemon->cluster);
    /* undelivered webhook alerts stay uncommitted in the consumer group: sent after a restart */
    stop_webhooks(daemon);
    nd_info(MOD, "stopped");
    return daemon->exit_status;
}

int nd_daemon_port(const struct nd_daemon *daemon)
{
    return daemon->server ? nd_server_port(daemon->server) : 0;
}

void nd_daemon_destroy(struct nd_daemon *daemon)
{
    if (!daemon)
        return;
    /* first: no scrape may reach the stages while they go (the board's streams end first, the
     * server waits for its connections) */
    nd_board_shutdown(daemon->board);
    nd_server_destroy(daemon->server);
    nd_board_destroy(daemon->board);
    nd_fetch_destroy(daemon->fetch);
    nd_cluster_destroy(daemon->cluster);
    nd_consume_destroy(daemon->consume);
    if (daemon->fetched)
        nd_queue_destroy(daemon->fetched, story_free);
    if (daemon->enriched)
        nd_queue_destroy(daemon->enriched, story_free);
    if (daemon->control)
        nd_queue_destroy(daemon->control, ctl_free);
    stop_webhooks(daemon);
    nd_publish_destroy(daemon->pub);
    nd_alert_destroy(daemon->alert);
    nd_desks_destroy(daemon->desks);
    nd_enrich_destroy(daemon->enrich);
    /* last: every story and record above released its bytes into it */
    nd_membudget_destroy(daemon->budget);
    nd_metrics_hist_destroy(daemon->enrich_hist);
    json_decref(daemon->open_units);
    free(daemon->models_dir);
    pthread_mutex_destroy(&daemon->unit_lock);
    pthread_mutex_destroy(&daemon->hook_lock);
    pthread_mutex_destroy(&daemon->progress_lock);
    pthread_cond_destroy(&daemon->progress_cond);
    for (size_t i = 0; i < daemon->snap.nfeeds; i++)
        free(daemon->snap.feeds[i].id);
    free(daemon->snap.feeds);
    pthread_cond_destroy(&daemon->snap.cond);
    pthread_mutex_destroy(&daemon->snap.lock);
    nd_config_destroy(daemon->next_conf);
    nd_config_destroy(daemon->feeds_conf);
    nd_config_watch_destroy(daemon->watch);
    free(daemon);
}
