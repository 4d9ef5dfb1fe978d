#include "kafka/kafka.h"

#include "core/core.h"

#include <stdio.h>
#include <string.h>

enum nd_log_level nd_kafka_log_level(int level, const char *fac)
{
    enum nd_log_level lvl = level <= 3   ? ND_LOG_ERROR
                            : level == 4 ? ND_LOG_WARN
                            : level == 5 ? ND_LOG_INFO
                                         : ND_LOG_DEBUG;
    if (lvl > ND_LOG_WARN && fac && (!strcmp(fac, "FAIL") || !strcmp(fac, "ERROR")))
        lvl = ND_LOG_WARN;
    return lvl;
}

void nd_kafka_log(enum nd_log_level level, const char *fac, const char *buf)
{
    nd_log(level, "kafka", "%s: %s", fac ? fac : "-", buf ? buf : "");
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    nd_kafka_log(nd_kafka_log_level(level, fac), fac, buf);
}

void nd_kafka_conf_set_logger(rd_kafka_conf_t *kconf)
{
    rd_kafka_conf_set_log_cb(kconf, on_log);
}

int nd_kafka_producer_only(const char *key)
{
    static const char *const keys[] = {"acks",
                                       "linger.ms",
                                       "compression.type",
                                       "enable.idempotence",
                                       "message.timeout.ms",
                                       "transactional.id",
                                       "batch.size",
                                       "queue.buffering.max.messages",
                                       "queue.buffering.max.ms",
                                       NULL};
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

rd_kafka_conf_t *nd_kafka_consumer_conf(const struct nd_config *conf, const char *const *props,
                                        const char *what, char *errstr, size_t errsz)
{
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    char kerr[512];

    if (rd_kafka_conf_set(kconf, "bootstrap.servers", conf->kafka_brokers, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "client.id", conf->kafka_client_id, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "log_level", "3", kerr, sizeof(kerr)))
        goto fail;
    nd_kafka_conf_set_logger(kconf);
    for (; props && props[0] && props[1]; props += 2)
        if (rd_kafka_conf_set(kconf, props[0], props[1], kerr, sizeof(kerr)))
            goto fail;
    for (size_t i = 0; i < conf->nkafka_props; i++)
        if (!nd_kafka_producer_only(conf->kafka_props[i].key) &&
            rd_kafka_conf_set(kconf, conf->kafka_props[i].key, conf->kafka_props[i].value, kerr,
                              sizeof(kerr)))
            goto fail;
    return kconf;
fail:
    snprintf(errstr, errsz, "%s: %s", what, kerr);
    rd_kafka_conf_destroy(kconf);
    return NULL;
}

rd_kafka_t *nd_kafka_consumer_new(const struct nd_config *conf, const char *const *props,
                                  const char *what, char *errstr, size_t errsz)
{
    rd_kafka_conf_t *kconf = nd_kafka_consumer_conf(conf, props, what, errstr, errsz);
    rd_kafka_t *rk;
    char kerr[512];

    if (!kconf)
        return NULL;
    /* rd_kafka_new takes the conf only on success */
    if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, kerr, sizeof(kerr))))
        return rk;
    snprintf(errstr, errsz, "%s: %s", what, kerr);
    rd_kafka_conf_destroy(kconf);
    return NULL;
}

void nd_kafka_ensure_compacted(rd_kafka_t *rk, const char *topic, int partitions, const char *what)
{
    char errstr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, errstr, sizeof(errstr));
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;

    if (!nt) {
        nd_warn(what, "creating %s: %s", topic, errstr);
        return;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    if ((ev = rd_kafka_queue_poll(q, 10000))) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (n && rd_kafka_topic_result_error(tr[0]) &&
            rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            nd_warn(what, "creating %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
        else if (n && !rd_kafka_topic_result_error(tr[0]))
            nd_info(what, "created compacted topic %s", topic);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
}

int nd_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, const char *what,
                              volatile sig_atomic_t *stop, rd_kafka_topic_partition_list_t **parts,
                              char *errstr, size_t errsz)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    int ret = -1, warned = 0;

    *parts = NULL;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (!err && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
            for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(*parts, topic, md->topics[0].partitions[p].id);
            ret = 1;
            break;
        }
        if (!err && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            ret = 0;
            break;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (!warned++)
            nd_warn(what, "waiting for Kafka to read %s: %s", topic, rd_kafka_err2str(err));
        if (stop && *stop) {
            snprintf(errstr, errsz, "stopped while waiting for Kafka");
            break;
        }
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return ret;
}

/* One message or event of the read-back: 1 committed, 0 aborted, -1 not decided yet. */
static int readback_verdict(const rd_kafka_message_t *msg, int64_t offset)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return msg->offset > offset ? 0 : -1; /* the stable end: past the record, or not yet */
    if (msg->err)
        return -1;
    return msg->offset == offset ? 1 : msg->offset > offset ? 0 : -1;
}

int nd_kafka_record_committed(const struct nd_config *conf, const char *topic, int32_t partition,
                              int64_t offset, int timeout_ms, char *errstr, size_t errsz)
{
    rd_kafka_t *rk = nd_kafka_consumer_new(
        conf,
        (const char *const[]){"group.id", "newsd-txn-check", "enable.auto.commit", "false",
                              "enable.partition.eof", "true", "isolation.level", "read_committed",
                              NULL},
        "transaction check", errstr, errsz);
    rd_kafka_topic_partition_list_t *parts;
    int64_t deadline = nd_mono_ms() + timeout_ms;
    int verdict = -1;
    char last[256] = "nothing read";

    if (!rk)
        return -1;
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = offset;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (verdict < 0 && nd_mono_ms() < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        verdict = readback_verdict(msg, offset);
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            snprintf(last, sizeof(last), "the stable end at offset %lld", (long long)msg->offset);
        else if (msg->err)
            snprintf(last, sizeof(last), "%s", rd_kafka_message_errstr(msg));
        else
            snprintf(last, sizeof(last), "a record at offset %lld", (long long)msg->offset);
        rd_kafka_message_destroy(msg);
    }
    if (verdict < 0)
        snprintf(errstr, errsz, "%s [%d] offset %lld undecided after %d ms: %s", topic,
                 (int)partition, (long long)offset, timeout_ms, last);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return verdict;
}
