/* Webhooks: a consumer of the alerts topic that POSTs each alert to its desk's webhooks.
 *
 * Why a consumer and not a call from the alert stage: an alert exists once its transaction commits,
 * and an endpoint may be down for minutes. Reading committed alerts as a consumer group and
 * committing an offset only when every webhook of the alert's desk accepted it (alone or inside a
 * digest) means nothing is lost across outages and restarts, and the publish thread never waits on
 * HTTP. Delivery is at least once; receivers deduplicate by the alert id (X-Newsd-Alert-Id).
 *
 * Each webhook has an outbox: a FIFO of alerts, a token bucket (rate_per_min, burst) and a backoff.
 * Alerts go one by one while tokens last; when they run out, the next token carries everything
 * queued as one digest message, so a burst of alerts costs the endpoint a bounded number of
 * messages and nothing is dropped.
 *
 * A webhook that answers a permanent client error (4xx other than 408, 425 and 429: the receiver
 * read the request and refuses it) gets the same message REJECT_ATTEMPTS times with backoff, in
 * case a deploy was in progress; then the message is given up with an error log and a metric, so
 * one alert a receiver will never take does not hold back every alert after it. The alert stays
 * in the alerts topic for a replay. */
#include "alert/alert_int.h"
#include "kafka/kafka.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MOD "webhook"
#define MAX_DIGEST 100
#define PENDING_MAX 10000 /* alerts held in memory; consumption pauses above it */
#define COMMIT_EVERY_MS 500
#define BACKOFF_MIN_MS 1000
#define REJECT_ATTEMPTS 3

/* --- rate limit and outbox decisions (pure, unit-tested) ----------------------------------------
 */

void nd_ratelimit_init(struct nd_ratelimit *rl, int rate_per_min, int burst, int64_t now_ms)
{
    rl->burst = burst > 0 ? burst : 1;
    rl->tokens = rl->burst;
    rl->per_ms = (rate_per_min > 0 ? rate_per_min : 1) / 60000.0;
    rl->last_ms = now_ms;
}

static void refill(struct nd_ratelimit *rl, int64_t now_ms)
{
    if (now_ms > rl->last_ms) {
        rl->tokens += (double)(now_ms - rl->last_ms) * rl->per_ms;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last_ms = now_ms;
    }
}

int nd_ratelimit_take(struct nd_ratelimit *rl, int64_t now_ms)
{
    refill(rl, now_ms);
    if (rl->tokens < 1.0)
        return 0;
    rl->tokens -= 1.0;
    return 1;
}

int64_t nd_ratelimit_wait(struct nd_ratelimit *rl, int64_t now_ms)
{
    refill(rl, now_ms);
    if (rl->tokens >= 1.0)
        return 0;
    return (int64_t)((1.0 - rl->tokens) / rl->per_ms) + 1;
}

enum nd_outbox_action nd_outbox_next(struct nd_outbox *box, size_t queued, size_t max_digest,
                                     int64_t now_ms, size_t *count, int64_t *wait_ms)
{
    int64_t w;
    *count = 0;
    *wait_ms = 0;
    if (!queued) {
        box->limited = 0;
        return ND_OUTBOX_IDLE;
    }
    if (now_ms < box->retry_at_ms) {
        *wait_ms = box->retry_at_ms - now_ms;
        return ND_OUTBOX_WAIT;
    }
    if (!box->limited && nd_ratelimit_take(&box->rl, now_ms)) {
        *count = 1;
        return ND_OUTBOX_SEND_ONE;
    }
    /* out of tokens: everything queued goes with the next token, as one digest */
    box->limited = 1;
    if ((w = nd_ratelimit_wait(&box->rl, now_ms)) > 0) {
        *wait_ms = w;
        return ND_OUTBOX_WAIT;
    }
    nd_ratelimit_take(&box->rl, now_ms);
    *count = queued < max_digest ? queued : max_digest;
    if (queued <= max_digest)
        box->limited = 0;
    return *count > 1 ? ND_OUTBOX_SEND_DIGEST : ND_OUTBOX_SEND_ONE;
}

void nd_outbox_done(struct nd_outbox *box, int ok, int64_t now_ms, int64_t max_backoff_ms)
{
    int64_t backoff;
    if (ok) {
        box->failures = 0;
        box->retry_at_ms = 0;
        return;
    }
    box->failures++;
    backoff = BACKOFF_MIN_MS;
    for (int i = 1; i < box->failures && backoff < max_backoff_ms; i++)
        backoff *= 2;
    if (backoff > max_backoff_ms)
        backoff = max_backoff_ms;
    box->retry_at_ms = now_ms + backoff;
}

/* --- the dispatcher --------------------------------------------------------------------------- */

struct pending {
    int32_t partition;
    int64_t offset;
    json_t *doc;
    int remaining; /* webhooks that have not accepted it yet */
};

struct slot {
    int64_t offset;
    struct pending *p; /* NULL once done */
};

/* Offsets consumed from one partition, in order, with which are done. */
struct part {
    int32_t partition;
    struct slot *v;
    size_t head, n, cap; /* ring */
    int64_t next;        /* the offset after the last consumed */
    int64_t committed;
};

struct outq {
    char *desk, *url;
    int slack;
    struct nd_outbox box;
    struct pending **v;
    size_t head, n, cap;
    int alive;   /* still configured */
    int rejects; /* consecutive permanent refusals of the message at the head */
};

struct nd_webhook {
    const struct nd_config *conf;
    pthread_mutex_t lock;
    struct nd_desks *desks, *next_desks; /* next_desks: swapped in by the thread */
    int swap;
    volatile int running;
    pthread_t thread;
    int started;
    rd_kafka_t *rk;
    CURL *curl;
    struct part *parts;
    size_t nparts;
    struct outq *qs;
    size_t nqs;
    size_t pending;
    int paused, dirty;
    int64_t last_commit_ms;
    atomic_uint_fast64_t posts[3], dropped; /* by enum post_result; read by the metrics thread */
    atomic_size_t npending;
};

enum post_result { POST_DELIVERED, POST_FAILED, POST_REJECTED };

/* 4xx is the receiver's final word, except timeouts, "too early" and rate limits. */
static int permanent(long code)
{
    return code >= 400 && code <= 499 && code != 408 && code != 425 && code != 429;
}

struct nd_webhook *nd_webhook_new(const struct nd_config *conf, struct nd_desks *desks,
                                  char *errstr, size_t errsz)
{
    struct nd_webhook *hook = nd_xcalloc(1, sizeof(*hook));
    hook->conf = conf;
    hook->desks = desks;
    pthread_mutex_init(&hook->lock, NULL);
    if (!(hook->rk = nd_kafka_consumer_new(
              conf,
              (const char *const[]){"group.id", conf->alerts_webhook_group, "enable.auto.commit",
                                    "false", "auto.offset.reset", "earliest", "isolation.level",
                                    "read_committed", NULL},
              "webhooks", errstr, errsz)) ||
        !(hook->curl = curl_easy_init())) {
        if (hook->rk && !hook->curl)
            snprintf(errstr, errsz, "webhooks: cannot create a curl handle");
        nd_webhook_destroy(hook);
        return NULL;
    }
    return hook;
}

void nd_webhook_set_desks(struct nd_webhook *hook, struct nd_desks *desks)
{
    struct nd_desks *old;
    pthread_mutex_lock(&hook->lock);
    old = hook->next_desks;
    hook->next_desks = desks;
    hook->swap = 1;
    pthread_mutex_unlock(&hook->lock);
    nd_desks_destroy(old);
}

static struct part *part_get(struct nd_webhook *hook, int32_t partition)
{
    for (size_t i = 0; i < hook->nparts; i++)
        if (hook->parts[i].partition == partition)
            return &hook->parts[i];
    hook->parts = realloc(hook->parts, (hook->nparts + 1) * sizeof(*hook->parts));
    if (!hook->parts)
        abort();
    memset(&hook->parts[hook->nparts], 0, sizeof(*hook->parts));
    hook->parts[hook->nparts].partition = partition;
    hook->parts[hook->nparts].next = -1;
    hook->parts[hook->nparts].committed = -1;
    return &hook->parts[hook->nparts++];
}

static void part_push(struct part *part, int64_t offset, struct pending *p)
{
    if (part->n == part->cap) {
        size_t cap = part->cap ? part->cap * 2 : 64;
        struct slot *v = nd_xcalloc(cap, sizeof(*v));
        for (size_t i = 0; i < part->n; i++)
            v[i] = part->v[(part->head + i) % part->cap];
        free(part->v);
        part->v = v;
        part->cap = cap;
        part->head = 0;
    }
    part->v[(part->head + part->n++) % part->cap] = (struct slot){offset, p};
    part->next = offset + 1;
}

/* The offset to commit: the first one not done, else the one after the last consumed. */
static int64_t part_commit_point(struct part *part)
{
    while (part->n && !part->v[part->head].p) {
        part->head = (part->head + 1) % part->cap;
        part->n--;
    }
    return part->n ? part->v[part->head].offset : part->next;
}

static void pending_done(struct nd_webhook *hook, struct pending *p)
{
    struct part *part;
    if (--p->remaining > 0)
        return;
    part = part_get(hook, p->partition);
    for (size_t i = 0; i < part->n; i++) {
        struct slot *s = &part->v[(part->head + i) % part->cap];
        if (s->p == p) {
            s->p = NULL;
            break;
        }
    }
    json_decref(p->doc);
    free(p);
    hook->pending--;
    hook->dirty = 1;
}

static void outq_push(struct outq *q, struct pending *p)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct pending **v = nd_xcalloc(cap, sizeof(*v));
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->n++) % q->cap] = p;
}

static struct outq *outq_get(struct nd_webhook *hook, const char *desk,
                             const struct nd_hook_conf *conf)
{
    struct outq *q;
    for (size_t i = 0; i < hook->nqs; i++) {
        q = &hook->qs[i];
        if (!strcmp(q->desk, desk) && !strcmp(q->url, conf->url))
            goto found;
    }
    hook->qs = realloc(hook->qs, (hook->nqs + 1) * sizeof(*hook->qs));
    if (!hook->qs)
        abort();
    q = &hook->qs[hook->nqs++];
    memset(q, 0, sizeof(*q));
    q->desk = nd_strdup(desk);
    q->url = nd_strdup(conf->url);
    nd_ratelimit_init(&q->box.rl, conf->rate_per_min, conf->burst, nd_mono_ms());
found:
    q->slack = conf->slack;
    q->alive = 1;
    return q;
}

static const struct nd_desk *desk_find(const struct nd_desks *desks, const char *name)
{
    for (size_t i = 0; desks && name && i < desks->n; i++)
        if (!strcmp(desks->desks[i].name, name))
            return &desks->desks[i];
    return NULL;
}

/* New desks: outboxes of webhooks no longer configured are given up (their alerts count as done).
 */
static void apply_swap(struct nd_webhook *hook)
{
    struct nd_desks *old = NULL;
    pthread_mutex_lock(&hook->lock);
    if (hook->swap) {
        old = hook->desks;
        hook->desks = hook->next_desks;
        hook->next_desks = NULL;
        hook->swap = 0;
    } else {
        pthread_mutex_unlock(&hook->lock);
        return;
    }
    pthread_mutex_unlock(&hook->lock);
    nd_desks_destroy(old);
    for (size_t i = 0; i < hook->nqs; i++) {
        struct outq *q = &hook->qs[i];
        const struct nd_desk *desk = desk_find(hook->desks, q->desk);
        int alive = 0;
        for (size_t k = 0; desk && k < desk->nhooks; k++)
            alive |= !strcmp(desk->hooks[k].url, q->url);
        q->alive = alive;
        if (!alive) {
            while (q->n) {
                pending_done(hook, q->v[q->head]);
                q->head = (q->head + 1) % q->cap;
                q->n--;
            }
        }
    }
}

static void take_record(struct nd_webhook *hook, rd_kafka_message_t *msg)
{
    struct part *part = part_get(hook, msg->partition);
    struct pending *p = nd_xcalloc(1, sizeof(*p));
    const struct nd_desk *desk;
    json_error_t jerr;
    int64_t t;

    p->partition = msg->partition;
    p->offset = msg->offset;
    p->doc = msg->payload ? json_loadb(msg->payload, msg->len, 0, &jerr) : NULL;
    part_push(part, msg->offset, p);
    hook->pending++;
    p->remaining = 1; /* held while being dispatched */
    desk = desk_find(hook->desks, json_string_value(json_object_get(p->doc, "desk")));
    t = json_integer_value(json_object_get(p->doc, "time_ms"));
    if (desk && t > nd_now_ms() - (int64_t)hook->conf->alerts_webhook_max_age_s * 1000) {
        for (size_t i = 0; i < desk->nhooks; i++) {
            outq_push(outq_get(hook, desk->name, &desk->hooks[i]), p);
            p->remaining++;
        }
    }
    /* alerts of desks without webhooks, malformed or stale ones are done at once */
    pending_done(hook, p);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static enum post_result post(struct nd_webhook *hook, struct outq *q, const char *body,
                             const char *alert_id, size_t count)
{
    struct curl_slist *hdrs = NULL;
    char h[256];
    long code = 0;
    CURLcode rc;

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    snprintf(h, sizeof(h), "X-Newsd-Alert-Id: %s", alert_id ? alert_id : "");
    hdrs = curl_slist_append(hdrs, h);
    snprintf(h, sizeof(h), "X-Newsd-Alerts: %zu", count);
    hdrs = curl_slist_append(hdrs, h);
    curl_easy_reset(hook->curl);
    curl_easy_setopt(hook->curl, CURLOPT_URL, q->url);
    curl_easy_setopt(hook->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(hook->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(hook->curl, CURLOPT_USERAGENT, hook->conf->fetch_user_agent);
    curl_easy_setopt(hook->curl, CURLOPT_TIMEOUT_MS, (long)hook->conf->alerts_webhook_timeout_ms);
    curl_easy_setopt(hook->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)hook->conf->alerts_webhook_timeout_ms);
    curl_easy_setopt(hook->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(hook->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(hook->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(hook->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(hook->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        nd_warn(MOD, "desk %s: POST %s: %s (retrying with backoff)", q->desk, q->url,
                curl_easy_strerror(rc));
        return POST_FAILED;
    }
    if (permanent(code)) {
        nd_warn(MOD, "desk %s: POST %s: HTTP %ld, refused (attempt %d of %d)", q->desk, q->url,
                code, q->rejects + 1, REJECT_ATTEMPTS);
        return POST_REJECTED;
    }
    if (code < 200 || code > 299) {
        nd_warn(MOD, "desk %s: POST %s: HTTP %ld (retrying with backoff)", q->desk, q->url, code);
        return POST_FAILED;
    }
    nd_debug(MOD, "desk %s: delivered %zu alert%s to %s", q->desk, count, count == 1 ? "" : "s",
             q->url);
    return POST_DELIVERED;
}

static void send_from(struct nd_webhook *hook, struct outq *q, size_t count, int digest)
{
    json_t **docs = nd_xcalloc(count, sizeof(*docs)), *body;
    char *text;
    enum post_result res = POST_FAILED;
    size_t n = 0;

    for (size_t i = 0; i < count; i++) {
        json_t *doc = q->v[(q->head + i) % q->cap]->doc;
        if (doc)
            docs[n++] = doc;
    }
    if (q->slack) {
        body = nd_alert_slack(docs, n);
    } else if (!digest) {
        body = json_incref(n ? docs[0] : json_object());
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append(arr, docs[i]);
        const char *title = n ? json_string_value(json_object_get(docs[0], "desk_title")) : NULL;
        body =
            json_pack("{s:s, s:s, s:s, s:I, s:o}", "type", "digest", "desk", q->desk, "desk_title",
                      title ? title : q->desk, "count", (json_int_t)n, "alerts", arr);
    }
    text = json_dumps(body, JSON_COMPACT);
    if (text)
        res = post(hook, q, text, n ? json_string_value(json_object_get(docs[0], "id")) : NULL, n);
    free(text);
    json_decref(body);
    free(docs);
    atomic_fetch_add(&hook->posts[res], 1);
    if (res == POST_REJECTED && ++q->rejects >= REJECT_ATTEMPTS) {
        nd_error(MOD, "desk %s: %s refused %zu alert%s %d times; giving %s up (still in %s)",
                 q->desk, q->url, count, count == 1 ? "" : "s", q->rejects,
                 count == 1 ? "it" : "them", hook->conf->topic_alerts);
        atomic_fetch_add(&hook->dropped, count);
        res = POST_DELIVERED; /* done with it: the next message starts without backoff */
    }
    nd_outbox_done(&q->box, res == POST_DELIVERED, nd_mono_ms(),
                   (int64_t)hook->conf->alerts_webhook_retry_max_s * 1000);
    if (res != POST_DELIVERED)
        return;
    q->rejects = 0;
    for (size_t i = 0; i < count; i++) {
        pending_done(hook, q->v[q->head]);
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
}

/* Serve every outbox once; returns how long the loop may sleep. */
static int64_t dispatch(struct nd_webhook *hook)
{
    int64_t sleep_ms = 200;
    for (size_t i = 0; i < hook->nqs && hook->running; i++) {
        struct outq *q = &hook->qs[i];
        size_t count;
        int64_t wait;
        switch (nd_outbox_next(&q->box, q->n, MAX_DIGEST, nd_mono_ms(), &count, &wait)) {
        case ND_OUTBOX_SEND_ONE:
            send_from(hook, q, count, 0);
            sleep_ms = 0;
            break;
        case ND_OUTBOX_SEND_DIGEST:
            send_from(hook, q, count, 1);
            sleep_ms = 0;
            break;
        case ND_OUTBOX_WAIT:
            if (wait < sleep_ms)
                sleep_ms = wait;
            break;
        case ND_OUTBOX_IDLE:
            break;
        }
    }
    return sleep_ms;
}

static void commit(struct nd_webhook *hook, int sync)
{
    rd_kafka_topic_partition_list_t *offsets;
    rd_kafka_resp_err_t err;
    if (!hook->dirty)
        return;
    offsets = rd_kafka_topic_partition_list_new((int)hook->nparts);
    for (size_t i = 0; i < hook->nparts; i++) {
        struct part *part = &hook->parts[i];
        int64_t at = part_commit_point(part);
        if (at >= 0 && at != part->committed) {
            rd_kafka_topic_partition_list_add(offsets, hook->conf->topic_alerts, part->partition)
                ->offset = at;
            part->committed = at;
        }
    }
    if (offsets->cnt && (err = rd_kafka_commit(hook->rk, offsets, !sync)))
        nd_warn(MOD, "committing webhook offsets: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(offsets);
    hook->dirty = 0;
    hook->last_commit_ms = nd_mono_ms();
}

static void set_paused(struct nd_webhook *hook, int pause)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (pause == hook->paused || rd_kafka_assignment(hook->rk, &assigned) || !assigned)
        return;
    if (pause)
        rd_kafka_pause_partitions(hook->rk, assigned);
    else
        rd_kafka_resume_partitions(hook->rk, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
    hook->paused = pause;
}

static void *webhook_main(void *arg)
{
    struct nd_webhook *hook = arg;
    int64_t sleep_ms = 100;

    while (hook->running) {
        rd_kafka_message_t *msg;
        apply_swap(hook);
        /* bounded memory: past PENDING_MAX the partitions pause until outboxes drain */
        if (hook->pending >= PENDING_MAX)
            set_paused(hook, 1);
        else if (hook->pending < PENDING_MAX / 2)
            set_paused(hook, 0);
        msg = rd_kafka_consumer_poll(hook->rk, (int)(sleep_ms < 0 ? 0 : sleep_ms));
        while (msg) {
            if (!msg->err)
                take_record(hook, msg);
            else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                nd_warn(MOD, "reading %s: %s", hook->conf->topic_alerts,
                        rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            msg = hook->pending < PENDING_MAX ? rd_kafka_consumer_poll(hook->rk, 0) : NULL;
        }
        sleep_ms = dispatch(hook);
        atomic_store(&hook->npending, hook->pending);
        if (hook->dirty && nd_mono_ms() - hook->last_commit_ms >= COMMIT_EVERY_MS)
            commit(hook, 0);
    }
    commit(hook, 1);
    return NULL;
}

enum nd_err nd_webhook_start(struct nd_webhook *hook)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;
    rd_kafka_topic_partition_list_add(topics, hook->conf->topic_alerts, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(hook->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        nd_error(MOD, "subscribing to %s: %s", hook->conf->topic_alerts, rd_kafka_err2str(err));
        return ND_ERR_AGAIN;
    }
    hook->running = 1;
    if (pthread_create(&hook->thread, NULL, webhook_main, hook) != 0) {
        hook->running = 0;
        return ND_ERR_FATAL;
    }
    hook->started = 1;
    nd_info(MOD, "delivering alerts of %s to webhooks (consumer group %s)",
            hook->conf->topic_alerts, hook->conf->alerts_webhook_group);
    return ND_OK;
}

void nd_webhook_get_stats(struct nd_webhook *hook, struct nd_webhook_stats *stats)
{
    stats->delivered = atomic_load(&hook->posts[POST_DELIVERED]);
    stats->failed = atomic_load(&hook->posts[POST_FAILED]);
    stats->rejected = atomic_load(&hook->posts[POST_REJECTED]);
    stats->dropped = atomic_load(&hook->dropped);
    stats->pending = atomic_load(&hook->npending);
}

void nd_webhook_destroy(struct nd_webhook *hook)
{
    if (!hook)
        return;
    if (hook->started) {
        hook->running = 0;
        pthread_join(hook->thread, NULL);
    }
    if (hook->rk) {
        rd_kafka_consumer_close(hook->rk);
        rd_kafka_destroy(hook->rk);
    }
    if (hook->curl)
        curl_easy_cleanup(hook->curl);
    /* what is still queued was not committed: it is delivered again on the next start */
    for (size_t i = 0; i < hook->nparts; i++) {
        struct part *part = &hook->parts[i];
        for (size_t k = 0; k < part->n; k++) {
            struct pending *p = part->v[(part->head + k) % part->cap].p;
            if (p) {
                json_decref(p->doc);
                free(p);
            }
        }
        free(part->v);
    }
    free(hook->parts);
    for (size_t i = 0; i < hook->nqs; i++) {
        free(hook->qs[i].desk);
        free(hook->qs[i].url);
        free(hook->qs[i].v);
    }
    free(hook->qs);
    nd_desks_destroy(hook->desks);
    nd_desks_destroy(hook->next_desks);
    pthread_mutex_destroy(&hook->lock);
    free(hook);
}
