#include "consume/consume.h"

#include "kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

#define MOD "consume"

/* A raw story larger than this is refused rather than parsed (fetch.max_body_bytes is the cap on
 * HTTP; a Kafka record has its own, message.max.bytes, but we do not trust the producer's). */
#define MAX_RECORD_BYTES (16u << 20)

struct nd_consume {
    rd_kafka_t *rk;
    int paused;
    struct nd_consume_stats stats;
};

static int set_prop(rd_kafka_conf_t *kconf, const char *key, const char *value, char *errstr,
                    size_t errsz)
{
    char kerr[512];
    if (rd_kafka_conf_set(kconf, key, value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errsz, "kafka consumer property \"%s\" = \"%s\" rejected: %s", key, value,
                 kerr);
        return -1;
    }
    return 0;
}

/* Producer-only passthrough properties would make librdkafka warn at every start. */

static rd_kafka_topic_partition_list_t *topic_list(const char *topics)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    const char *p = topics;
    while (*p) {
        size_t n;
        char name[256];
        p += strspn(p, " ,");
        n = strcspn(p, ", ");
        if (n && n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            rd_kafka_topic_partition_list_add(list, name, RD_KAFKA_PARTITION_UA);
        }
        p += n;
    }
    return list;
}

struct nd_consume *nd_consume_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz)
{
    struct nd_consume *consume = NULL;
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_resp_err_t err;
    char kerr[512], prefetch[32];

    /* records fetched ahead of the poll are memory too: an eighth of memory.limit_mb (librdkafka's
     * default is 64 MiB); kafka.properties may set it (applied after) */
    snprintf(prefetch, sizeof(prefetch), "%ld", (long)conf->memory_limit_mb * 1024 / 8);
    topics = topic_list(conf->consume_topics ? conf->consume_topics : "");
    if (topics->cnt == 0) {
        snprintf(errstr, errsz, "consume.topics names no topic");
        goto out;
    }
    if (set_prop(kconf, "bootstrap.servers", conf->kafka_brokers, errstr, errsz) ||
        set_prop(kconf, "client.id", conf->kafka_client_id, errstr, errsz) ||
        set_prop(kconf, "group.id", conf->consume_group_id, errstr, errsz) ||
        set_prop(kconf, "auto.offset.reset", "earliest", errstr, errsz) ||
        /* only raw stories whose producer committed them */
        set_prop(kconf, "isolation.level", "read_committed", errstr, errsz) ||
        /* offsets are stored when a story is handed on, never when it is merely read */
        set_prop(kconf, "enable.auto.offset.store", "false", errstr, errsz) ||
        set_prop(kconf, "enable.auto.commit", "true", errstr, errsz) ||
        set_prop(kconf, "queued.max.messages.kbytes", prefetch, errstr, errsz))
        goto out;
    for (size_t i = 0; i < conf->nkafka_props; i++)
        if (!nd_kafka_producer_only(conf->kafka_props[i].key) &&
            set_prop(kconf, conf->kafka_props[i].key, conf->kafka_props[i].value, errstr, errsz))
            goto out;
    for (size_t i = 0; i < nextra; i++)
        if (set_prop(kconf, extra[i].key, extra[i].value, errstr, errsz))
            goto out;
    nd_kafka_conf_set_logger(kconf);
    consume = nd_xcalloc(1, sizeof(*consume));
    consume->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, kerr, sizeof(kerr));
    if (!consume->rk) {
        snprintf(errstr, errsz, "cannot create the Kafka consumer: %s", kerr);
        free(consume);
        consume = NULL;
        goto out;
    }
    kconf = NULL; /* rd_kafka_new took it */
    rd_kafka_poll_set_consumer(consume->rk);
    if ((err = rd_kafka_subscribe(consume->rk, topics))) {
        snprintf(errstr, errsz, "cannot subscribe to %s: %s", conf->consume_topics, rd_kafka_err2str(err));
        nd_consume_destroy(consume);
        consume = NULL;
        goto out;
    }
    nd_info(MOD, "consuming raw stories from %s as group %s", conf->consume_topics,
            conf->consume_group_id);
out:
    if (kconf)
        rd_kafka_conf_destroy(kconf);
    if (topics)
        rd_kafka_topic_partition_list_destroy(topics);
    return consume;
}

void nd_consume_destroy(struct nd_consume *consume)
{
    if (!consume)
        return;
    if (consume->rk) {
        rd_kafka_consumer_close(consume->rk);
        rd_kafka_destroy(consume->rk);
    }
    free(consume);
}

enum nd_err nd_consume_poll(struct nd_consume *consume, int timeout_ms, struct nd_story **story,
                            struct nd_consume_pos *pos, char *errstr, size_t errsz)
{
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(consume->rk, timeout_ms);
    enum nd_err ret = ND_ERR_AGAIN;
    json_error_t jerr;
    json_t *doc = NULL;

    *story = NULL;
    pos->bad = NULL;
    pos->bad_len = 0;
    if (!msg)
        return ND_ERR_AGAIN;
    if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            nd_warn(MOD, "kafka: %s", rd_kafka_message_errstr(msg));
        goto out;
    }
    consume->stats.records++;
    snprintf(pos->topic, sizeof(pos->topic), "%s", rd_kafka_topic_name(msg->rkt));
    pos->partition = msg->partition;
    pos->offset = msg->offset;
    ret = ND_ERR_INVALID;
    if (msg->len > MAX_RECORD_BYTES) {
        snprintf(errstr, errsz, "%s/%d@%lld: record of %zu bytes is over the %u-byte cap", pos->topic,
                 pos->partition, (long long)pos->offset, msg->len, MAX_RECORD_BYTES);
        goto invalid;
    }
    if (!(doc = json_loadb(msg->payload ? msg->payload : "", msg->len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(errstr, errsz, "%s/%d@%lld: not JSON: %s at line %d column %d", pos->topic,
                 pos->partition, (long long)pos->offset, jerr.text, jerr.line, jerr.column);
        goto invalid;
    }
    {
        char why[256];
        if (!(*story = nd_story_from_json(doc, why, sizeof(why)))) {
            snprintf(errstr, errsz, "%s/%d@%lld: %s", pos->topic, pos->partition, (long long)pos->offset,
                     why);
            goto invalid;
        }
    }
    /* A raw story without a source is credited to its topic, which also keys its identity. */
    if (!(*story)->feed_id) {
        char source[300];
        snprintf(source, sizeof(source), "kafka/%s", pos->topic);
        nd_story_set(&(*story)->feed_id, source);
        if (!json_is_string(json_object_get(doc, "id")) || json_string_length(json_object_get(doc, "id")) != 16)
            nd_story_assign_id(*story);
    }
    if ((*story)->version < 1)
        (*story)->version = 1;
    (*story)->fetched_at_ms = nd_now_ms();
    consume->stats.stories++;
    ret = ND_OK;
    goto out;
invalid:
    consume->stats.invalid++;
    pos->bad_len = msg->len < MAX_RECORD_BYTES ? msg->len : MAX_RECORD_BYTES;
    pos->bad = nd_xmalloc(pos->bad_len ? pos->bad_len : 1);
    if (pos->bad_len)
        memcpy(pos->bad, msg->payload, pos->bad_len);
out:
    json_decref(doc);
    rd_kafka_message_destroy(msg);
    return ret;
}

enum nd_err nd_consume_done(struct nd_consume *consume, const struct nd_consume_pos *pos)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;
    rd_kafka_topic_partition_list_add(list, pos->topic, pos->partition)->offset = pos->offset + 1;
    err = rd_kafka_offsets_store(consume->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    /* a partition revoked meanwhile: its new owner reads the record again (at least once) */
    return err ? ND_ERR_AGAIN : ND_OK;
}

void nd_consume_pause(struct nd_consume *consume, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t err;

    if (!pause && !consume->paused)
        return;
    if (rd_kafka_assignment(consume->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    /* again on every call while paused: partitions assigned since are paused too */
    err = pause ? rd_kafka_pause_partitions(consume->rk, parts)
                : rd_kafka_resume_partitions(consume->rk, parts);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && pause != consume->paused) {
        nd_info(MOD, "%s consuming %s", pause ? "memory.limit_mb reached: paused" : "resumed",
                pause ? "until publish drains" : "after the memory pause");
        consume->paused = pause;
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

void nd_consume_get_stats(const struct nd_consume *consume, struct nd_consume_stats *stats)
{
    *stats = consume->stats;
}

rd_kafka_t *nd_consume_kafka(struct nd_consume *consume)
{
    return consume->rk;
}
