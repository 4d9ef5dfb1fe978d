#include "cluster/cluster.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"

#define MOD "cluster"
/* Records handled per nd_cluster_poll, so a burst does not hold up the fetch loop. */
#define POLL_BATCH 10000
/* Feeds one instance takes from the topic (the same cap as a config file's list). */
#define MAX_FEEDS 100000

struct entry {
    struct nd_feed_conf feed;
    int32_t partition;
};

struct nd_cluster {
    const struct nd_config *conf;
    struct nd_cluster_hooks hooks;
    rd_kafka_t *rk;
    /* the feeds of the assigned partitions: entries, and feed id -> index in entries */
    struct entry *entries;
    size_t nentries, cap;
    json_t *index;
    json_t *loading;             /* partition -> true: assigned, not yet read to its end */
    json_t *assigned;            /* partition -> true */
    struct nd_feed_conf *cur;    /* the list fetch polls (it must outlive fetch's use) */
    size_t ncur;
    int dirty;                   /* the feed set changed since it was last handed over */
    int joined, closing, closed;
    int warned_topic;
    pthread_mutex_t lock;        /* stats */
    struct nd_cluster_stats stats;
};

static void part_key(int32_t partition, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%d", (int)partition);
}

static void entry_del(struct nd_cluster *cluster, size_t i)
{
    struct entry *last = &cluster->entries[cluster->nentries - 1];
    json_object_del(cluster->index, cluster->entries[i].feed.id);
    nd_config_feed_clear(&cluster->entries[i].feed);
    if (&cluster->entries[i] != last) {
        cluster->entries[i] = *last;
        json_object_set_new(cluster->index, last->feed.id, json_integer((json_int_t)i));
    }
    cluster->nentries--;
}

/* Takes the fields of *feed. */
static void entry_put(struct nd_cluster *cluster, struct nd_feed_conf *feed, int32_t partition)
{
    json_t *at = json_object_get(cluster->index, feed->id);
    struct entry *entry;

    if (at) {
        entry = &cluster->entries[json_integer_value(at)];
        nd_config_feed_clear(&entry->feed);
    } else {
        if (cluster->nentries >= MAX_FEEDS) {
            nd_warn(MOD, "more than %d feeds assigned; feed %s is not polled", MAX_FEEDS, feed->id);
            nd_config_feed_clear(feed);
            return;
        }
        if (cluster->nentries == cluster->cap) {
            cluster->cap = cluster->cap ? cluster->cap * 2 : 64;
            cluster->entries = realloc(cluster->entries, cluster->cap * sizeof(*cluster->entries));
            if (!cluster->entries)
                abort();
        }
        entry = &cluster->entries[cluster->nentries];
        json_object_set_new(cluster->index, feed->id, json_integer((json_int_t)cluster->nentries));
        cluster->nentries++;
    }
    entry->feed = *feed;
    entry->partition = partition;
    memset(feed, 0, sizeof(*feed));
}

static void free_list(struct nd_feed_conf *feeds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nd_config_feed_clear(&feeds[i]);
    free(feeds);
}

/* Hand the feeds of the partitions read to their end to the daemon. */
static void apply(struct nd_cluster *cluster)
{
    struct nd_feed_conf *next = nd_xcalloc(cluster->nentries ? cluster->nentries : 1, sizeof(*next));
    size_t n = 0;
    char key[16];

    for (size_t i = 0; i < cluster->nentries; i++) {
        part_key(cluster->entries[i].partition, key, sizeof(key));
        if (!json_object_get(cluster->loading, key))
            nd_config_feed_copy(&next[n++], &cluster->entries[i].feed);
    }
    if (cluster->hooks.set_feeds(cluster->hooks.opaque, next, n) != ND_OK) {
        free_list(next, n); /* stopping: fetch keeps the list it has */
        return;
    }
    free_list(cluster->cur, cluster->ncur);
    cluster->cur = next;
    cluster->ncur = n;
    cluster->dirty = 0;
    pthread_mutex_lock(&cluster->lock);
    cluster->stats.feeds = n;
    cluster->stats.ready = cluster->joined && !json_object_size(cluster->loading);
    pthread_mutex_unlock(&cluster->lock);
    nd_info(MOD, "polling %zu feeds of %zu partitions of %s", n, json_object_size(cluster->assigned),
            cluster->conf->cluster_feeds_topic);
}

static void set_partitions_stat(struct nd_cluster *cluster, int ready)
{
    pthread_mutex_lock(&cluster->lock);
    cluster->stats.partitions = json_object_size(cluster->assigned);
    cluster->stats.rebalances++;
    if (!ready)
        cluster->stats.ready = 0;
    pthread_mutex_unlock(&cluster->lock);
}

static void describe(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t bufsz)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && len + 16 < bufsz; i++)
        len += (size_t)snprintf(buf + len, bufsz - len, "%s%d", i ? "," : "",
                                (int)parts->elems[i].partition);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct nd_cluster *cluster = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    char key[16], list[512];

    describe(parts, list, sizeof(list));
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* read from the beginning: the compacted topic holds every feed, whatever the group's
         * committed offsets say */
        for (int i = 0; i < parts->cnt; i++) {
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            part_key(parts->elems[i].partition, key, sizeof(key));
            json_object_set_new(cluster->loading, key, json_true());
            json_object_set_new(cluster->assigned, key, json_true());
        }
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        cluster->joined = 1;
        cluster->dirty = 1;
        set_partitions_stat(cluster, !parts->cnt);
        nd_info(MOD, "assigned partitions [%s] of %s", list, cluster->conf->cluster_feeds_topic);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        for (int i = 0; i < parts->cnt; i++) {
            part_key(parts->elems[i].partition, key, sizeof(key));
            json_object_del(cluster->loading, key);
            json_object_del(cluster->assigned, key);
            for (size_t j = cluster->nentries; j-- > 0;)
                if (cluster->entries[j].partition == parts->elems[i].partition)
                    entry_del(cluster, j);
        }
        /* a lost member is not ready until it has rejoined and taken its new share */
        set_partitions_stat(cluster, !lost);
        if (!cluster->closing) {
            nd_log(lost ? ND_LOG_WARN : ND_LOG_INFO, MOD, "%s partitions [%s] of %s",
                   lost ? "lost (this instance left the group)" : "giving up", list,
                   cluster->conf->cluster_feeds_topic);
            if (lost) {
                /* another instance may be polling them already: forget what is not committed */
                cluster->joined = 0; /* until the group assigns this member again */
                cluster->hooks.lost(cluster->hooks.opaque);
                apply(cluster);
            } else {
                /* stop polling them, then let what they produced commit before they move */
                apply(cluster);
                cluster->hooks.barrier(cluster->hooks.opaque);
            }
            cluster->dirty = 1;
        }
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    } else {
        nd_warn(MOD, "rebalance of %s: %s", cluster->conf->cluster_feeds_topic, rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
    if (error) {
        nd_warn(MOD, "rebalance of %s: %s", cluster->conf->cluster_feeds_topic,
                rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void on_record(struct nd_cluster *cluster, const rd_kafka_message_t *msg)
{
    char key[16], errstr[512];
    struct nd_feed_conf feed;

    part_key(msg->partition, key, sizeof(key));
    if (!json_object_get(cluster->assigned, key))
        return;
    pthread_mutex_lock(&cluster->lock);
    cluster->stats.records++;
    pthread_mutex_unlock(&cluster->lock);
    if (!msg->payload) {
        /* a tombstone: the feed was deleted */
        char id[257];
        json_t *at;
        if (!msg->key || !msg->key_len || msg->key_len >= sizeof(id))
            return;
        memcpy(id, msg->key, msg->key_len);
        id[msg->key_len] = '\0';
        if ((at = json_object_get(cluster->index, id))) {
            entry_del(cluster, (size_t)json_integer_value(at));
            cluster->dirty = 1;
        }
        return;
    }
    if (nd_config_feed_from_json(msg->key, msg->key_len, msg->payload, msg->len, &feed, errstr,
                                 sizeof(errstr)) != ND_OK) {
        /* a bad definition leaves the feed as it was: the previous good one, or none */
        nd_warn(MOD, "%s [%d] offset %lld: %s; record ignored", cluster->conf->cluster_feeds_topic,
                (int)msg->partition, (long long)msg->offset, errstr);
        pthread_mutex_lock(&cluster->lock);
        cluster->stats.invalid++;
        pthread_mutex_unlock(&cluster->lock);
        return;
    }
    entry_put(cluster, &feed, msg->partition);
    cluster->dirty = 1;
}

struct nd_cluster *nd_cluster_new(const struct nd_config *conf, const struct nd_cluster_hooks *hooks,
                                  char *errstr, size_t errsz)
{
    struct nd_cluster *cluster = nd_xcalloc(1, sizeof(*cluster));
    char session[16], heartbeat[16], kerr[512];
    rd_kafka_conf_t *kconf;
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_resp_err_t err;
    int hb;

    cluster->conf = conf;
    cluster->hooks = *hooks;
    cluster->index = json_object();
    cluster->loading = json_object();
    cluster->assigned = json_object();
    pthread_mutex_init(&cluster->lock, NULL);
    snprintf(session, sizeof(session), "%d", conf->cluster_session_timeout_ms);
    /* a tenth of the session (within 500 ms..3 s): a member learns of a rebalance at its next
     * heartbeat, so this bounds how long a stopping instance's feeds wait for their new owner */
    hb = conf->cluster_session_timeout_ms / 10;
    snprintf(heartbeat, sizeof(heartbeat), "%d", hb < 500 ? 500 : hb > 3000 ? 3000 : hb);
    kconf = nd_kafka_consumer_conf(
        conf,
        (const char *const[]){"group.id", conf->cluster_group_id,
                              /* only partitions that move are revoked: the others keep polling */
                              "partition.assignment.strategy", "cooperative-sticky",
                              "session.timeout.ms", session, "heartbeat.interval.ms", heartbeat,
                              "enable.auto.commit", "false", "enable.auto.offset.store", "false",
                              "enable.partition.eof", "true", "auto.offset.reset", "earliest",
                              "isolation.level", "read_committed", NULL},
        "cluster", errstr, errsz);
    if (!kconf)
        goto fail;
    rd_kafka_conf_set_rebalance_cb(kconf, on_rebalance);
    rd_kafka_conf_set_opaque(kconf, cluster);
    if (!(cluster->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, kerr, sizeof(kerr)))) {
        snprintf(errstr, errsz, "cluster: %s", kerr);
        rd_kafka_conf_destroy(kconf);
        goto fail;
    }
    rd_kafka_poll_set_consumer(cluster->rk);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, conf->cluster_feeds_topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(cluster->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errstr, errsz, "cluster: subscribing to %s: %s", conf->cluster_feeds_topic,
                 rd_kafka_err2str(err));
        goto fail;
    }
    return cluster;
fail:
    nd_cluster_destroy(cluster);
    return NULL;
}

void nd_cluster_poll(struct nd_cluster *cluster, int timeout_ms)
{
    char key[16];
    for (int i = 0; i < POLL_BATCH; i++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(cluster->rk, i ? 0 : timeout_ms);
        if (!msg)
            break;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            part_key(msg->partition, key, sizeof(key));
            if (json_object_get(cluster->loading, key)) {
                json_object_del(cluster->loading, key);
                cluster->dirty = 1;
            }
        } else if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || !cluster->warned_topic++)
                nd_warn(MOD, "%s: %s%s", cluster->conf->cluster_feeds_topic,
                        rd_kafka_message_errstr(msg),
                        msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                            ? " (create it with `newsd feeds publish`)"
                            : "");
        } else {
            on_record(cluster, msg);
        }
        rd_kafka_message_destroy(msg);
    }
    if (cluster->dirty && cluster->joined && !json_object_size(cluster->loading))
        apply(cluster);
}

void nd_cluster_reapply(struct nd_cluster *cluster)
{
    cluster->dirty = 1;
}

void nd_cluster_close(struct nd_cluster *cluster)
{
    if (!cluster || !cluster->rk || cluster->closed)
        return;
    cluster->closing = 1;
    rd_kafka_consumer_close(cluster->rk);
    cluster->closed = 1;
}

rd_kafka_t *nd_cluster_kafka(struct nd_cluster *cluster)
{
    return cluster->rk;
}

void nd_cluster_get_stats(struct nd_cluster *cluster, struct nd_cluster_stats *stats)
{
    pthread_mutex_lock(&cluster->lock);
    *stats = cluster->stats;
    pthread_mutex_unlock(&cluster->lock);
}

void nd_cluster_destroy(struct nd_cluster *cluster)
{
    if (!cluster)
        return;
    if (cluster->rk) {
        nd_cluster_close(cluster);
        rd_kafka_destroy(cluster->rk);
    }
    for (size_t i = 0; i < cluster->nentries; i++)
        nd_config_feed_clear(&cluster->entries[i].feed);
    free(cluster->entries);
    free_list(cluster->cur, cluster->ncur);
    json_decref(cluster->index);
    json_decref(cluster->loading);
    json_decref(cluster->assigned);
    pthread_mutex_destroy(&cluster->lock);
    free(cluster);
}

int nd_cluster_publish_feeds(const struct nd_config *conf, int partitions,
                             const char *const *remove, size_t nremove, char *errstr, size_t errsz)
{
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    char kerr[512];
    int written = -1, n = 0;
    int64_t deadline;

    if (!*conf->cluster_feeds_topic) {
        snprintf(errstr, errsz, "cluster.feeds_topic is not set");
        goto out;
    }
    if (rd_kafka_conf_set(kconf, "bootstrap.servers", conf->kafka_brokers, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "client.id", conf->kafka_client_id, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "enable.idempotence", "true", kerr, sizeof(kerr))) {
        snprintf(errstr, errsz, "%s", kerr);
        goto out;
    }
    nd_kafka_conf_set_logger(kconf);
    for (size_t i = 0; i < conf->nkafka_props; i++)
        if (rd_kafka_conf_set(kconf, conf->kafka_props[i].key, conf->kafka_props[i].value, kerr,
                              sizeof(kerr))) {
            snprintf(errstr, errsz, "kafka.properties.%s: %s", conf->kafka_props[i].key, kerr);
            goto out;
        }
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, kerr, sizeof(kerr)))) {
        snprintf(errstr, errsz, "%s", kerr);
        goto out;
    }
    kconf = NULL;
    nd_kafka_ensure_compacted(rk, conf->cluster_feeds_topic, partitions, MOD);
    for (size_t i = 0; i < conf->nfeeds + nremove; i++) {
        const char *id = i < conf->nfeeds ? conf->feeds[i].id : remove[i - conf->nfeeds];
        char *value = NULL;
        rd_kafka_resp_err_t err;
        if (i < conf->nfeeds) {
            json_t *doc = nd_config_feed_to_json(&conf->feeds[i]);
            value = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(doc);
        }
        do {
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(conf->cluster_feeds_topic),
                                    RD_KAFKA_V_KEY(id, strlen(id)),
                                    RD_KAFKA_V_VALUE(value, value ? strlen(value) : 0),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 100);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        free(value);
        if (err) {
            snprintf(errstr, errsz, "producing %s: %s", id, rd_kafka_err2str(err));
            goto out;
        }
        n++;
    }
    deadline = nd_mono_ms() + 60000;
    while (rd_kafka_outq_len(rk) > 0 && nd_mono_ms() < deadline)
        rd_kafka_flush(rk, 1000);
    if (rd_kafka_outq_len(rk) > 0) {
        snprintf(errstr, errsz, "%d records not acknowledged within 60 s", rd_kafka_outq_len(rk));
        goto out;
    }
    written = n;
out:
    if (kconf)
        rd_kafka_conf_destroy(kconf);
    if (rk)
        rd_kafka_destroy(rk);
    return written;
}
