#include "daemon/daemon.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consume/consume.h"
#include "enrich/enrich.h"
#include "fetch/fetch.h"
#include "queue/queue.h"

#define MOD "daemon"
#define MAX_WORKERS 64

struct nd_daemon {
    const struct nd_config *conf;
    struct nd_fetch *fetch;
    struct nd_enrich *enrich;
    struct nd_publish *pub;
    struct nd_queue *fetched;  /* fetch -> enrich */
    struct nd_queue *enriched; /* enrich -> publish */
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    pthread_t publisher;
    struct nd_consume *consume; /* raw stories from Kafka, when consume.topics is set */
    pthread_t consumer;
    volatile sig_atomic_t *stop;
    int exit_status;
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

static void *enrich_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;

    while ((story = nd_queue_pop(daemon->fetched, -1))) {
        nd_enrich_story(daemon->enrich, story);
        /* blocks while publish is behind: that is the backpressure path */
        if (nd_queue_push(daemon->enriched, story, -1) != ND_OK) {
            nd_error(MOD, "story %s dropped at shutdown: publish queue closed", story->id);
            nd_story_destroy(story);
        }
    }
    return NULL;
}

/* Raw stories from Kafka join the fetched queue; a full queue blocks this thread, so it stops reading
 * (backpressure). An offset is stored only once its story is in the queue. */
static void *consume_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_consume_pos pos;
    struct nd_story *story;
    char errstr[512];

    while (!*daemon->stop) {
        enum nd_err err = nd_consume_poll(daemon->consume, 200, &story, &pos, errstr, sizeof(errstr));
        if (err == ND_ERR_INVALID) {
            nd_warn(MOD, "raw story skipped: %s", errstr);
            nd_consume_done(daemon->consume, &pos);
        }
        if (err != ND_OK)
            continue;
        while ((err = nd_queue_push(daemon->fetched, story, 200)) == ND_ERR_AGAIN && !*daemon->stop)
            ;
        if (err != ND_OK) {
            nd_story_destroy(story); /* stopping: not stored, so read again after the restart */
            break;
        }
        nd_consume_done(daemon->consume, &pos);
    }
    return NULL;
}

static void *publish_main(void *arg)
{
    struct nd_daemon *daemon = arg;
    struct nd_story *story;
    int flush_ms = daemon->conf->kafka_flush_timeout_ms;

    for (;;) {
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
                nd_error(MOD, "story %s not published: %s", story->id, nd_err_str(err));
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
    return NULL;
}

struct nd_daemon *nd_daemon_new(const struct nd_daemon_opts *opts, char *errstr, size_t errsz)
{
    struct nd_daemon *daemon = nd_xcalloc(1, sizeof(*daemon));
    const struct nd_config *conf = opts->conf;

    daemon->conf = conf;
    if (!(daemon->enrich = nd_enrich_new(opts->models_dir, errstr, errsz)))
        goto fail;
    if (!(daemon->pub = nd_publish_new(conf, opts->kafka_extra, opts->nkafka_extra, errstr, errsz)))
        goto fail;
    if (opts->on_delivered)
        nd_publish_set_delivered_cb(daemon->pub, opts->on_delivered, opts->on_delivered_opaque);
    daemon->fetched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->enriched = nd_queue_new((size_t)conf->queue_capacity);
    daemon->fetch = nd_fetch_new(conf, emit_story, daemon);
    if (conf->consume_topics && *conf->consume_topics &&
        !(daemon->consume = nd_consume_new(conf, opts->kafka_extra, opts->nkafka_extra, errstr, errsz)))
        goto fail;
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
    pthread_create(&daemon->publisher, NULL, publish_main, daemon);
    daemon->stop = stop;
    if (daemon->consume && pthread_create(&daemon->consumer, NULL, consume_main, daemon) != 0) {
        nd_error(MOD, "cannot start the Kafka source thread; consume.topics are not read");
        nd_consume_destroy(daemon->consume);
        daemon->consume = NULL;
    }
    nd_info(MOD, "newsd %s running: %zu feeds, %d enrich workers, brokers %s", NEWSD_VERSION,
            daemon->conf->nfeeds, daemon->nworkers, daemon->conf->kafka_brokers);

    while (!*stop)
        nd_fetch_run(daemon->fetch, 200);

    nd_info(MOD, "stopping: draining queues and flushing the producer");
    if (daemon->consume)
        pthread_join(daemon->consumer, NULL);
    nd_queue_close(daemon->fetched);
    for (int i = 0; i < daemon->nworkers; i++)
        pthread_join(daemon->workers[i], NULL);
    daemon->nworkers = 0;
    nd_queue_close(daemon->enriched);
    pthread_join(daemon->publisher, NULL);
    nd_info(MOD, "stopped");
    return daemon->exit_status;
}

void nd_daemon_destroy(struct nd_daemon *daemon)
{
    if (!daemon)
        return;
    nd_fetch_destroy(daemon->fetch);
    nd_consume_destroy(daemon->consume);
    if (daemon->fetched)
        nd_queue_destroy(daemon->fetched, story_free);
    if (daemon->enriched)
        nd_queue_destroy(daemon->enriched, story_free);
    nd_publish_destroy(daemon->pub);
    nd_enrich_destroy(daemon->enrich);
    free(daemon);
}
