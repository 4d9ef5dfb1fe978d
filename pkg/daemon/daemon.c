#include "daemon/daemon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enrich/enrich.h"
#include "fetch/fetch.h"
#include "metrics/metrics.h"
#include "queue/queue.h"
#include "server/server.h"

#define MOD "daemon"
#define MAX_WORKERS 64
/* How long a scrape waits for the fetch thread to copy its counters before serving the last copy. */
#define SNAPSHOT_WAIT_MS 2000
/* Broker reachability is asked this often: quickly while it is down, rarely once it answers. */
#define KAFKA_CHECK_DOWN_MS 1000
#define KAFKA_CHECK_UP_MS 5000
#define KAFKA_CHECK_TIMEOUT_MS 500

static const double enrich_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

struct feed_snap {
    char *id;
    struct nd_fetch_stats stats;
};

/* The stages' counters as last copied by their own threads. fetch is single-threaded and its feed
 * list changes on reload, so a scrape asks the fetch thread for a copy (wanted, then wait for gen to
 * move) instead of reading fetch's memory from the server thread. */
struct snapshot {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int wanted;
    uint64_t gen;
    int fetch_running;
    struct feed_snap *feeds;
    size_t nfeeds, inflight, pending;
    struct nd_publish_stats pub;
    int outq;
};

struct nd_daemon {
    const struct nd_config *conf;  /* the startup config: every key but the reloadable lists */
    struct nd_config *feeds_conf;  /* owned: the reloaded config whose feeds fetch polls (or NULL) */
    struct nd_config *next_conf;   /* owned: a valid reloaded config fetch has not taken yet */
    const char *config_path;
    volatile sig_atomic_t *reload;
    struct nd_fetch *fetch;
    struct nd_enrich *enrich;
    struct nd_publish *pub;
    struct nd_queue *fetched;  /* fetch -> enrich */
    struct nd_queue *enriched; /* enrich -> publish */
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    pthread_t publisher;
    int publisher_started;
    int exit_status;
    /* health and metrics */
    struct nd_server *server;
    struct nd_metrics_hist *enrich_hist;
    _Atomic int kafka_up, state_restored, stages_running;
    _Atomic uint64_t reloads_ok, reloads_failed;
    int64_t started_ms;
    struct snapshot snap;
};

static enum nd_err emit_story(void *opaque, struct nd_story *story)
{
    struct nd_daemon *daemon = opaque;
    return nd_queue_try_push(daemon->fetched, story);
}

static void story_free(void *p)
{
    nd_story_destroy(p);
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
        /* blocks while publish is behind: that is the backpressure path */
        if (nd_queue_push(daemon->enriched, story, -1) != ND_OK) {
            const char *kv[] = {"story", story->id, "feed", story->feed_id, NULL};
            nd_log_kv(ND_LOG_ERROR, MOD, kv, "story %s dropped at shutdown: publish queue closed",
                      story->id);
            nd_story_destroy(story);
        }
    }
    return NULL;
}

static void publish_snapshot(struct nd_daemon *daemon)
{
    struct nd_publish_stats stats;
    int outq = nd_publish_outq(daemon->pub);
    nd_publish_get_stats(daemon->pub, &stats);
    pthread_mutex_lock(&daemon->snap.lock);
    daemon->snap.pub = stats;
    daemon->snap.outq = outq;
    pthread_mutex_unlock(&daemon->snap.lock);
}

static void *publish_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;
    int flush_ms = daemon->conf->kafka_flush_timeout_ms;
    int64_t next_check = 0;

    for (;;) {
        int64_t now = nd_mono_ms();
        if (now >= next_check) {
            int up = nd_publish_broker_reachable(daemon->pub, KAFKA_CHECK_TIMEOUT_MS);
            if (up != atomic_exchange(&daemon->kafka_up, up))
                nd_log(up ? ND_LOG_INFO : ND_LOG_WARN, MOD, "kafka %s", up ? "reachable" : "not reachable");
            next_check = nd_mono_ms() + (up ? KAFKA_CHECK_UP_MS : KAFKA_CHECK_DOWN_MS);
        }
        publish_snapshot(daemon);
        story = nd_queue_pop(daemon->enriched, 100);
        if (!story) {
            nd_publish_poll(daemon->pub, 0);
            if (nd_queue_drained(daemon->enriched))
                break;
            continue;
        }
        for (;;) {
            enum nd_err err = nd_publish_story(daemon->pub, story);
            if (err == ND_OK)
                break;
            if (err != ND_ERR_AGAIN) {
                const char *kv[] = {"story", story->id, "feed", story->feed_id, NULL};
                nd_log_kv(ND_LOG_ERROR, MOD, kv, "story %s not published: %s", story->id,
                          nd_err_str(err));
                nd_story_destroy(story);
                break;
            }
            /* librdkafka's queue is full: serve delivery reports until there is room */
            nd_publish_poll(daemon->pub, 100);
        }
        nd_publish_poll(daemon->pub, 0);
    }
    if (nd_publish_flush(daemon->pub, flush_ms) != ND_OK) {
        nd_error(MOD, "%d records not delivered within kafka.flush_timeout_ms (%d ms)",
                 nd_publish_outq(daemon->pub), flush_ms);
        daemon->exit_status = 1;
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

static int ready_cb(void *opaque, struct nd_buf *buf)
{
    struct nd_daemon *daemon = opaque;
    int kafka = atomic_load(&daemon->kafka_up), state = atomic_load(&daemon->state_restored),
        stages = atomic_load(&daemon->stages_running);
    nd_buf_appendf(buf, "kafka: %s\nstate: %s\nstages: %s\n", kafka ? "ok" : "failing",
                   state ? "ok" : "failing", stages ? "ok" : "failing");
    return kafka && state && stages;
}

static void counter(struct nd_buf *buf, const char *name, const char *help, double value)
{
    nd_metrics_family(buf, name, ND_METRICS_COUNTER, help);
    nd_metrics_sample(buf, name, NULL, value);
}

static void gauge(struct nd_buf *buf, const char *name, const char *help, double value)
{
    nd_metrics_family(buf, name, ND_METRICS_GAUGE, help);
    nd_metrics_sample(buf, name, NULL, value);
}

enum feed_field { FF_POLLS, FF_NOT_MODIFIED, FF_UNCHANGED, FF_ITEMS, FF_LAST_POLL, FF_LAST_STATUS };

static void per_feed(struct nd_buf *buf, const struct snapshot *snap, const char *name,
                     enum nd_metrics_type type, const char *help, enum feed_field field)
{
    nd_metrics_family(buf, name, type, help);
    for (size_t i = 0; i < snap->nfeeds; i++) {
        const struct nd_fetch_stats *st = &snap->feeds[i].stats;
        const char *labels[] = {"feed", snap->feeds[i].id, NULL};
        double v = 0;
        switch (field) {
        case FF_POLLS: v = (double)st->polls; break;
        case FF_NOT_MODIFIED: v = (double)st->not_modified; break;
        case FF_UNCHANGED: v = (double)st->unchanged; break;
        case FF_ITEMS: v = (double)st->items; break;
        case FF_LAST_POLL:
            if (!st->last_poll_ms)
                continue;
            v = (double)st->last_poll_ms / 1000.0;
            break;
        case FF_LAST_STATUS:
            if (!st->polls)
                continue;
            v = st->last_status;
            break;
        }
        nd_metrics_sample(buf, name, labels, v);
    }
}

static void metrics_cb(void *opaque, struct nd_buf *buf)
{
    struct nd_daemon *daemon = opaque;
    struct snapshot *snap = &daemon->snap;
    uint64_t rss, vm;
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SNAPSHOT_WAIT_MS / 1000;
    pthread_mutex_lock(&snap->lock);
    if (snap->fetch_running) {
        uint64_t target = snap->gen + 1;
        atomic_store(&snap->wanted, 1);
        nd_fetch_wakeup(daemon->fetch);
        while (snap->fetch_running && snap->gen < target)
            if (pthread_cond_timedwait(&snap->cond, &snap->lock, &deadline) != 0)
                break;
    }

    nd_metrics_family(buf, "newsd_build_info", ND_METRICS_GAUGE, "Version of the running newsd.");
    nd_metrics_sample(buf, "newsd_build_info", (const char *[]){"version", NEWSD_VERSION, NULL}, 1);
    nd_metrics_process_memory(&rss, &vm);
    gauge(buf, "process_resident_memory_bytes", "Resident set size (from /proc/self/statm).",
          (double)rss);
    gauge(buf, "process_virtual_memory_bytes", "Virtual memory size (from /proc/self/statm).",
          (double)vm);
    gauge(buf, "process_start_time_seconds", "Start time of the process since the epoch.",
          (double)daemon->started_ms / 1000.0);
    gauge(buf, "newsd_uptime_seconds", "Seconds since the daemon started.",
          (double)(nd_now_ms() - daemon->started_ms) / 1000.0);
    nd_metrics_family(buf, "newsd_ready", ND_METRICS_GAUGE,
                      "Readiness checks of /readyz: 1 passing, 0 failing.");
    nd_metrics_sample(buf, "newsd_ready", (const char *[]){"check", "kafka", NULL},
                      atomic_load(&daemon->kafka_up));
    nd_metrics_sample(buf, "newsd_ready", (const char *[]){"check", "state", NULL},
                      atomic_load(&daemon->state_restored));
    nd_metrics_sample(buf, "newsd_ready", (const char *[]){"check", "stages", NULL},
                      atomic_load(&daemon->stages_running));

    gauge(buf, "newsd_feeds", "Feeds being polled.", (double)snap->nfeeds);
    per_feed(buf, snap, "newsd_feed_polls_total", ND_METRICS_COUNTER, "Requests started per feed.",
             FF_POLLS);
    per_feed(buf, snap, "newsd_feed_not_modified_total", ND_METRICS_COUNTER,
             "Polls answered 304 Not Modified.", FF_NOT_MODIFIED);
    per_feed(buf, snap, "newsd_feed_unchanged_total", ND_METRICS_COUNTER,
             "Polls whose body was byte-identical to the last one (not parsed again).", FF_UNCHANGED);
    per_feed(buf, snap, "newsd_feed_items_total", ND_METRICS_COUNTER,
             "New or changed items emitted per feed.", FF_ITEMS);
    nd_metrics_family(buf, "newsd_feed_errors_total", ND_METRICS_COUNTER,
                      "Failed polls per feed and reason (only reasons that occurred).");
    for (size_t i = 0; i < snap->nfeeds; i++)
        for (size_t r = 0; r < ND_FETCH_NREASONS; r++)
            if (snap->feeds[i].stats.errors_by_reason[r])
                nd_metrics_sample(buf, "newsd_feed_errors_total",
                                  (const char *[]){"feed", snap->feeds[i].id, "reason",
                                                   nd_fetch_reasons[r], NULL},
                                  (double)snap->feeds[i].stats.errors_by_reason[r]);
    per_feed(buf, snap, "newsd_feed_last_poll_timestamp_seconds", ND_METRICS_GAUGE,
             "When the feed was last polled, seconds since the epoch.", FF_LAST_POLL);
    per_feed(buf, snap, "newsd_feed_last_status", ND_METRICS_GAUGE,
             "HTTP status of the last poll (0: transport error or file://).", FF_LAST_STATUS);
    gauge(buf, "newsd_fetch_inflight_requests", "HTTP requests in flight.", (double)snap->inflight);
    gauge(buf, "newsd_fetch_pending_stories",
          "Stories parsed and waiting for room in the enrich queue (backpressure).",
          (double)snap->pending);

    nd_metrics_family(buf, "newsd_queue_depth", ND_METRICS_GAUGE, "Stories waiting in a stage queue.");
    nd_metrics_sample(buf, "newsd_queue_depth", (const char *[]){"queue", "enrich", NULL},
                      (double)nd_queue_len(daemon->fetched));
    nd_metrics_sample(buf, "newsd_queue_depth", (const char *[]){"queue", "publish", NULL},
                      (double)nd_queue_len(daemon->enriched));
    nd_metrics_family(buf, "newsd_queue_capacity", ND_METRICS_GAUGE, "Capacity of a stage queue.");
    nd_metrics_sample(buf, "newsd_queue_capacity", (const char *[]){"queue", "enrich", NULL},
                      (double)nd_queue_capacity(daemon->fetched));
    nd_metrics_sample(buf, "newsd_queue_capacity", (const char *[]){"queue", "publish", NULL},
                      (double)nd_queue_capacity(daemon->enriched));
    nd_metrics_hist_write(buf, "newsd_enrich_duration_seconds", "Time to enrich one story.",
                          daemon->enrich_hist);

    counter(buf, "newsd_kafka_produced_total", "Story records handed to the producer.",
            (double)snap->pub.produced);
    counter(buf, "newsd_kafka_delivered_total", "Story records acknowledged by the brokers.",
            (double)snap->pub.delivered);
    counter(buf, "newsd_kafka_delivery_errors_total", "Story records that failed for good.",
            (double)snap->pub.failed);
    counter(buf, "newsd_kafka_queue_full_total",
            "Times the producer's local queue was full (publish waited).",
            (double)snap->pub.queue_full);
    gauge(buf, "newsd_kafka_outq_records", "Records produced and not yet acknowledged.",
          (double)snap->outq);
    pthread_mutex_unlock(&snap->lock);

    nd_metrics_family(buf, "newsd_alerts_total", ND_METRICS_COUNTER,
                      "Alerts emitted per desk (no samples until desks exist).");
    nd_metrics_family(buf, "newsd_config_reloads_total", ND_METRICS_COUNTER,
                      "Configuration reloads (SIGHUP) by result.");
    nd_metrics_sample(buf, "newsd_config_reloads_total", (const char *[]){"result", "applied", NULL},
                      (double)atomic_load(&daemon->reloads_ok));
    nd_metrics_sample(buf, "newsd_config_reloads_total", (const char *[]){"result", "rejected", NULL},
                      (double)atomic_load(&daemon->reloads_failed));
}

/* --- reload (fetch thread) ------------------------------------------------------------------- */

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
    enum nd_log_level level;

    if (mem)
        fclose(mem);
    if (nerr) {
        log_config_errors(daemon->config_path, errs);
        nd_log_kv(ND_LOG_ERROR, "config", kv,
                  "reload rejected: %d error%s; the running configuration stays", nerr,
                  nerr == 1 ? "" : "s");
        atomic_fetch_add(&daemon->reloads_failed, 1);
        nd_config_destroy(conf);
        goto out;
    }
    if (nd_config_restart_needed(daemon->conf, conf, key, sizeof(key)))
        nd_log_kv(ND_LOG_WARN, "config", kv,
                  "reload: %s (and maybe more) changed; only feeds and log_level are applied "
                  "without a restart", key);
    if (nd_log_level_parse(conf->log_level, &level) == 0)
        nd_log_set_level(level);
    /* a newer file supersedes one still waiting */
    nd_config_destroy(daemon->next_conf);
    daemon->next_conf = conf;
out:
    free(errs);
}

static void reload_apply(struct nd_daemon *daemon)
{
    struct nd_config *conf = daemon->next_conf;
    const char *kv[] = {"path", daemon->config_path, NULL};
    if (!conf || nd_fetch_set_feeds(daemon->fetch, conf->feeds, conf->nfeeds) != ND_OK)
        return; /* ND_ERR_AGAIN: a removed feed still hands stories on; the loop retries */
    nd_config_destroy(daemon->feeds_conf);
    daemon->feeds_conf = conf;
    daemon->next_conf = NULL;
    atomic_fetch_add(&daemon->reloads_ok, 1);
    nd_log_kv(ND_LOG_INFO, "config", kv, "reload applied: %zu feeds", conf->nfeeds);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

struct nd_daemon *nd_daemon_new(const struct nd_daemon_opts *opts, char *errstr, size_t errsz)
{
    struct nd_daemon *daemon = nd_xcalloc(1, sizeof(*daemon));
    const struct nd_config *conf = opts->conf;

    daemon->conf = conf;
    daemon->config_path = opts->config_path;
    daemon->reload = opts->reload;
    daemon->started_ms = nd_now_ms();
    pthread_mutex_init(&daemon->snap.lock, NULL);
    pthread_cond_init(&daemon->snap.cond, NULL);
    daemon->enrich_hist = nd_metrics_hist_new(enrich_bounds, sizeof(enrich_bounds) / sizeof(*enrich_bounds));
    if (!(daemon->enrich = nd_enrich_new(opts->models_dir, errstr, errsz)))
        goto fail;
    if (!(daemon->pub = nd_publish_new(conf, opts->kafka_extra, opts->nkafka_extra, errstr, errsz)))
        goto fail;
    if (opts->on_delivered)
        nd_publish_set_delivered_cb(daemon->pub, opts->on_delivered, opts->on_delivered_opaque);
    daemon->fetched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->enriched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->fetch = nd_fetch_new(conf, emit_story, daemon);
    if (conf->server_port > 0) {
        struct nd_server_handlers h = {.metrics = metrics_cb, .ready = ready_cb, .opaque = daemon};
        if (!(daemon->server = nd_server_new(conf->server_bind, conf->server_port, &h, errstr, errsz)))
            goto fail;
    }
    return daemon;
fail:
    nd_daemon_destroy(daemon);
    return NULL;
}

int nd_daemon_run(struct nd_daemon *daemon, volatile sig_atomic_t *stop)
{
    int n = daemon->conf->enrich_threads;
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    for (int i = 0; i < n; i++)
        if (pthread_create(&daemon->workers[daemon->nworkers], NULL, enrich_main, daemon) == 0)
            daemon->nworkers++;
    if (pthread_create(&daemon->publisher, NULL, publish_main, daemon) == 0)
        daemon->publisher_started = 1;
    atomic_store(&daemon->stages_running, daemon->nworkers > 0 && daemon->publisher_started);
    /* No state is restored from Kafka yet (that comes with the transactional publish stage): there is
     * nothing to wait for. */
    atomic_store(&daemon->state_restored, 1);
    snapshot_set_running(daemon, 1);
    nd_info(MOD, "newsd %s running: %zu feeds, %d enrich workers, brokers %s", NEWSD_VERSION,
            daemon->conf->nfeeds, daemon->nworkers, daemon->conf->kafka_brokers);

    while (!*stop) {
        nd_fetch_run(daemon->fetch, 200);
        if (daemon->reload && *daemon->reload) {
            *daemon->reload = 0;
            if (daemon->config_path)
                reload_begin(daemon);
        }
        reload_apply(daemon);
        if (atomic_load(&daemon->snap.wanted))
            snapshot_take(daemon);
    }

    nd_info(MOD, "stopping: draining queues and flushing the producer");
    snapshot_set_running(daemon, 0);
    atomic_store(&daemon->stages_running, 0);
    nd_queue_close(daemon->fetched);
    for (int i = 0; i < daemon->nworkers; i++)
        pthread_join(daemon->workers[i], NULL);
    daemon->nworkers = 0;
    nd_queue_close(daemon->enriched);
    if (daemon->publisher_started)
        pthread_join(daemon->publisher, NULL);
    daemon->publisher_started = 0;
    nd_info(MOD, "stopped");
    return daemon->exit_status;
}

void nd_daemon_destroy(struct nd_daemon *daemon)
{
    if (!daemon)
        return;
    /* first: no scrape may reach the stages while they go */
    nd_server_destroy(daemon->server);
    nd_fetch_destroy(daemon->fetch);
    if (daemon->fetched)
        nd_queue_destroy(daemon->fetched, story_free);
    if (daemon->enriched)
        nd_queue_destroy(daemon->enriched, story_free);
    nd_publish_destroy(daemon->pub);
    nd_enrich_destroy(daemon->enrich);
    nd_metrics_hist_destroy(daemon->enrich_hist);
    for (size_t i = 0; i < daemon->snap.nfeeds; i++)
        free(daemon->snap.feeds[i].id);
    free(daemon->snap.feeds);
    pthread_cond_destroy(&daemon->snap.cond);
    pthread_mutex_destroy(&daemon->snap.lock);
    nd_config_destroy(daemon->next_conf);
    nd_config_destroy(daemon->feeds_conf);
    free(daemon);
}
