#include "daemon/daemon.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/enrich.h"
#include "fetch/fetch.h"
#include "publish/state.h"
#include "queue/queue.h"

#define MOD "daemon"
#define MAX_WORKERS 64
#define CONTROL_CAPACITY 65536

/* Messages from the sources to the publish thread that bypass enrich: a source unit opens (before
 * its first story enters the pipeline) and closes (with its story count and feed state). */
enum ctl_op { CTL_OPEN = 1, CTL_CLOSE };

struct ctl {
    enum ctl_op op;
    uint64_t seq;
    enum nd_unit_kind kind;
    char *feed_id;
    json_t *state;
    size_t nstories;
};

struct nd_daemon {
    const struct nd_config *conf;
    struct nd_fetch *fetch;
    struct nd_enrich *enrich;
    struct nd_publish *pub;
    struct nd_alert *alert;     /* runs inside the publish thread (publish hook) */
    struct nd_desks *desks;
    struct nd_webhook *webhook; /* when some desk has a webhook */
    struct nd_queue *fetched;  /* fetch -> enrich */
    struct nd_queue *enriched; /* enrich -> publish */
    struct nd_queue *control;  /* sources -> publish: unit open/close */
    pthread_mutex_t unit_lock; /* orders unit sequence numbers with their OPEN messages */
    uint64_t next_unit;
    json_t *open_units;        /* feed id -> seq of the poll being emitted (fetch thread only) */
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    pthread_t publisher;
    int publisher_started;
    int exit_status;
};

static void ctl_free(void *p)
{
    struct ctl *ctl = p;
    if (!ctl)
        return;
    free(ctl->feed_id);
    json_decref(ctl->state);
    free(ctl);
}

static void story_free(void *p)
{
    nd_story_destroy(p);
}

/* Open a unit: its sequence number and its OPEN message are ordered under one lock, so the publish
 * thread sees OPENs in sequence order whatever thread the source runs on. */
static uint64_t unit_open(struct nd_daemon *daemon, enum nd_unit_kind kind, const char *feed_id)
{
    struct ctl *ctl = nd_xcalloc(1, sizeof(*ctl));
    uint64_t seq;
    ctl->op = CTL_OPEN;
    ctl->kind = kind;
    ctl->feed_id = nd_strdup(feed_id);
    pthread_mutex_lock(&daemon->unit_lock);
    seq = ctl->seq = ++daemon->next_unit;
    nd_queue_push(daemon->control, ctl, -1);
    pthread_mutex_unlock(&daemon->unit_lock);
    return seq;
}

static enum nd_err emit_story(void *opaque, struct nd_story *story)
{
    struct nd_daemon *daemon = opaque;
    const char *feed = story->feed_id ? story->feed_id : "";
    json_t *open = json_object_get(daemon->open_units, feed);
    uint64_t seq = open ? (uint64_t)json_integer_value(open) : 0;

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
    struct ctl *ctl;

    if (!open) {
        json_decref(state);
        return;
    }
    ctl = nd_xcalloc(1, sizeof(*ctl));
    ctl->op = CTL_CLOSE;
    ctl->seq = (uint64_t)json_integer_value(open);
    ctl->state = state;
    ctl->nstories = nstories;
    nd_queue_push(daemon->control, ctl, -1);
    json_object_del(daemon->open_units, feed_id);
}

static void *enrich_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;

    while ((story = nd_queue_pop(daemon->fetched, -1))) {
        nd_enrich_story(daemon->enrich, story);
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
            nd_publish_unit_open(daemon->pub, ctl->seq, ctl->kind, ctl->feed_id, NULL, -1, -1);
        } else {
            nd_publish_unit_close(daemon->pub, ctl->seq, ctl->nstories, ctl->state);
            ctl->state = NULL;
        }
        ctl_free(ctl);
    }
}

static void *publish_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;
    int flush_ms = daemon->conf->kafka_flush_timeout_ms;

    for (;;) {
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
    }
    apply_control(daemon);
    if (nd_publish_finish(daemon->pub, flush_ms) != ND_OK) {
        nd_error(MOD, "the open transaction could not be committed within kafka.flush_timeout_ms "
                      "(%d ms); it was aborted and its stories will be fetched again",
                 flush_ms);
    }
    return NULL;
}

struct nd_daemon *nd_daemon_new(const struct nd_daemon_opts *opts, char *errstr, size_t errsz)
{
    struct nd_daemon *daemon = nd_xcalloc(1, sizeof(*daemon));
    const struct nd_config *conf = opts->conf;
    struct nd_alert_opts alert_opts;

    daemon->conf = conf;
    pthread_mutex_init(&daemon->unit_lock, NULL);
    daemon->open_units = json_object();
    if (!(daemon->enrich = nd_enrich_new(opts->models_dir, errstr, errsz)))
        goto fail;
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
    daemon->fetch = nd_fetch_new(conf, emit_story, daemon);
    nd_fetch_set_state_cb(daemon->fetch, emit_state);
    return daemon;
fail:
    nd_desks_destroy(opts->desks);
    nd_daemon_destroy(daemon);
    return NULL;
}

static void start_webhooks(struct nd_daemon *daemon)
{
    char errstr[512];
    if (daemon->webhook || !nd_desks_have_webhooks(daemon->desks))
        return;
    daemon->webhook = nd_webhook_new(daemon->conf, nd_desks_ref(daemon->desks), errstr,
                                     sizeof(errstr));
    if (!daemon->webhook)
        nd_error(MOD, "%s; alerts stay on Kafka only", errstr);
    else if (nd_webhook_start(daemon->webhook) != ND_OK)
        nd_error(MOD, "the webhook dispatcher did not start; alerts stay on Kafka only");
}

void nd_daemon_set_desks(struct nd_daemon *daemon, struct nd_desks *desks)
{
    nd_desks_destroy(daemon->desks);
    daemon->desks = desks;
    nd_alert_set_desks(daemon->alert, nd_desks_ref(desks));
    if (daemon->webhook)
        nd_webhook_set_desks(daemon->webhook, nd_desks_ref(desks));
    else if (daemon->publisher_started)
        start_webhooks(daemon);
    nd_info(MOD, "desks: %zu", nd_desks_count(desks));
}

static void restore_one(void *opaque, const char *feed_id, const json_t *state)
{
    struct nd_daemon *daemon = opaque;
    enum nd_err err = nd_fetch_state_import(daemon->fetch, feed_id, state);
    if (err == ND_ERR_INVALID)
        nd_warn(MOD, "state of feed %s is malformed; the feed starts afresh", feed_id);
}

int nd_daemon_run(struct nd_daemon *daemon, volatile sig_atomic_t *stop)
{
    char errstr[512];
    int n = daemon->conf->enrich_threads, restored;

    /* Fence any previous instance first: its open transaction is aborted, so reading the state
     * topic with read_committed does not wait for it to time out. */
    if (nd_publish_start(daemon->pub, stop) != ND_OK) {
        nd_error(MOD, "stopped before Kafka became reachable");
        return *stop ? 0 : 1;
    }
    restored = nd_state_restore(daemon->conf, restore_one, daemon, stop, errstr, sizeof(errstr));
    if (restored < 0) {
        nd_error(MOD, "%s", errstr);
        return *stop ? 0 : 1;
    }
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
    nd_info(MOD, "newsd %s running: %zu feeds, %d enrich workers, brokers %s, transactions %s",
            NEWSD_VERSION, daemon->conf->nfeeds, daemon->nworkers, daemon->conf->kafka_brokers,
            daemon->conf->kafka_transactions ? "on" : "off");

    while (!*stop)
        nd_fetch_run(daemon->fetch, 200);

    nd_info(MOD, "stopping: draining queues and committing the open transaction");
    nd_queue_close(daemon->fetched);
    for (int i = 0; i < daemon->nworkers; i++)
        pthread_join(daemon->workers[i], NULL);
    daemon->nworkers = 0;
    nd_queue_close(daemon->enriched);
    if (daemon->publisher_started)
        pthread_join(daemon->publisher, NULL);
    daemon->publisher_started = 0;
    /* undelivered webhook alerts stay uncommitted in the consumer group: sent after a restart */
    nd_webhook_destroy(daemon->webhook);
    daemon->webhook = NULL;
    nd_info(MOD, "stopped");
    return daemon->exit_status;
}

void nd_daemon_destroy(struct nd_daemon *daemon)
{
    if (!daemon)
        return;
    nd_fetch_destroy(daemon->fetch);
    if (daemon->fetched)
        nd_queue_destroy(daemon->fetched, story_free);
    if (daemon->enriched)
        nd_queue_destroy(daemon->enriched, story_free);
    if (daemon->control)
        nd_queue_destroy(daemon->control, ctl_free);
    nd_webhook_destroy(daemon->webhook);
    nd_publish_destroy(daemon->pub);
    nd_alert_destroy(daemon->alert);
    nd_desks_destroy(daemon->desks);
    nd_enrich_destroy(daemon->enrich);
    json_decref(daemon->open_units);
    pthread_mutex_destroy(&daemon->unit_lock);
    free(daemon);
}
