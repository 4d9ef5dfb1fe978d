#include "publish/publish.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "publish"

struct nd_publish {
    const struct nd_config *conf;
    rd_kafka_t *rk;
    nd_publish_delivered_fn delivered;
    void *delivered_opaque;
    struct nd_publish_stats stats;
    int connected;
};

/* What travels with a record as librdkafka's per-message opaque: freed in the delivery report. */
struct inflight {
    struct nd_story *story;
    json_t *doc;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct nd_publish *pub = opaque;
    struct inflight *in = msg->_private;
    enum nd_err err = ND_OK;

    (void)rk;
    if (msg->err) {
        const char *kv[] = {"story", in->story->id, NULL};
        err = ND_ERR_AGAIN;
        pub->stats.failed++;
        nd_log_kv(ND_LOG_ERROR, MOD, kv, "delivery of story %s failed: %s", in->story->id,
                  rd_kafka_err2str(msg->err));
    } else {
        pub->stats.delivered++;
        pub->connected = 1;
    }
    if (pub->delivered)
        pub->delivered(pub->delivered_opaque, in->story, in->doc, err,
                       msg->err ? rd_kafka_err2str(msg->err) : NULL);
    nd_story_destroy(in->story);
    json_decref(in->doc);
    free(in);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    /* Most errors are informational (broker down, retried by librdkafka); fatal ones are not. */
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        nd_error(MOD, "fatal producer error: %s", buf);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        nd_warn(MOD, "kafka: %s (waiting for the broker)", reason);
    } else {
        nd_warn(MOD, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    nd_log(level <= 3 ? ND_LOG_ERROR : level <= 4 ? ND_LOG_WARN : ND_LOG_DEBUG, "kafka", "%s: %s",
           fac, buf);
}

static int set_prop(rd_kafka_conf_t *kconf, const char *key, const char *value, char *errstr,
                    size_t errsz)
{
    char kerr[512];
    if (rd_kafka_conf_set(kconf, key, value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errsz, "kafka property \"%s\" = \"%s\" rejected: %s", key, value, kerr);
        return -1;
    }
    return 0;
}

struct nd_publish *nd_publish_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz)
{
    struct nd_publish *pub = nd_xcalloc(1, sizeof(*pub));
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    char linger[32], kerr[512];

    pub->conf = conf;
    snprintf(linger, sizeof(linger), "%d", conf->kafka_linger_ms);
    if (set_prop(kconf, "bootstrap.servers", conf->kafka_brokers, errstr, errsz) ||
        set_prop(kconf, "client.id", conf->kafka_client_id, errstr, errsz) ||
        set_prop(kconf, "enable.idempotence", "true", errstr, errsz) ||
        set_prop(kconf, "acks", "all", errstr, errsz) ||
        set_prop(kconf, "compression.type", conf->kafka_compression, errstr, errsz) ||
        set_prop(kconf, "linger.ms", linger, errstr, errsz) ||
        /* never give up on a record: the broker may be down for minutes */
        set_prop(kconf, "message.timeout.ms", "0", errstr, errsz) ||
        set_prop(kconf, "queue.buffering.max.messages", "100000", errstr, errsz))
        goto fail;
    for (size_t i = 0; i < conf->nkafka_props; i++)
        if (set_prop(kconf, conf->kafka_props[i].key, conf->kafka_props[i].value, errstr, errsz))
            goto fail;
    for (size_t i = 0; i < nextra; i++)
        if (set_prop(kconf, extra[i].key, extra[i].value, errstr, errsz))
            goto fail;
    rd_kafka_conf_set_dr_msg_cb(kconf, on_delivery);
    rd_kafka_conf_set_error_cb(kconf, on_error);
    rd_kafka_conf_set_log_cb(kconf, on_log);
    rd_kafka_conf_set_opaque(kconf, pub);
    pub->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, kerr, sizeof(kerr));
    if (!pub->rk) {
        /* rd_kafka_new takes the conf only on success */
        snprintf(errstr, errsz, "cannot create the Kafka producer: %s", kerr);
        goto fail;
    }
    return pub;
fail:
    rd_kafka_conf_destroy(kconf);
    free(pub);
    return NULL;
}

void nd_publish_destroy(struct nd_publish *pub)
{
    if (!pub)
        return;
    if (pub->rk) {
        /* Purge what could not be flushed so every opaque is freed by its delivery report. */
        rd_kafka_purge(pub->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(pub->rk, 0);
        rd_kafka_destroy(pub->rk);
    }
    free(pub);
}

void nd_publish_set_delivered_cb(struct nd_publish *pub, nd_publish_delivered_fn fn, void *opaque)
{
    pub->delivered = fn;
    pub->delivered_opaque = opaque;
}

enum nd_err nd_publish_story(struct nd_publish *pub, struct nd_story *story)
{
    struct inflight *in;
    rd_kafka_headers_t *hdrs;
    rd_kafka_resp_err_t err;
    char *value;
    char ce_id[64], ce_source[512], ce_time[40];

    json_t *doc = nd_story_to_json(story);
    value = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!value) {
        json_decref(doc);
        return ND_ERR_NOMEM;
    }
    snprintf(ce_id, sizeof(ce_id), "%s-v%d", story->id, story->version);
    snprintf(ce_source, sizeof(ce_source), "/newsd/feeds/%s", story->feed_id ? story->feed_id : "-");
    nd_time_rfc3339(nd_now_ms() / 1000, ce_time, sizeof(ce_time));
    hdrs = rd_kafka_headers_new(7);
    rd_kafka_header_add(hdrs, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(hdrs, "ce_id", -1, ce_id, -1);
    rd_kafka_header_add(hdrs, "ce_source", -1, ce_source, -1);
    rd_kafka_header_add(hdrs, "ce_type", -1, ND_CE_TYPE_STORY, -1);
    rd_kafka_header_add(hdrs, "ce_time", -1, ce_time, -1);
    rd_kafka_header_add(hdrs, "ce_subject", -1, story->id, -1);
    rd_kafka_header_add(hdrs, "content-type", -1, "application/json", -1);

    in = nd_xmalloc(sizeof(*in));
    in->story = story;
    in->doc = doc;
    err = rd_kafka_producev(pub->rk, RD_KAFKA_V_TOPIC(pub->conf->topic_stories),
                            RD_KAFKA_V_KEY(story->id, strlen(story->id)),
                            RD_KAFKA_V_VALUE(value, strlen(value)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(hdrs),
                            RD_KAFKA_V_OPAQUE(in), RD_KAFKA_V_END);
    if (err) {
        /* on failure ownership of value and headers stays with us */
        free(value);
        rd_kafka_headers_destroy(hdrs);
        json_decref(doc);
        free(in);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            pub->stats.queue_full++;
            return ND_ERR_AGAIN;
        }
        nd_error(MOD, "produce of story %s failed: %s", story->id, rd_kafka_err2str(err));
        return err == RD_KAFKA_RESP_ERR__FATAL ? ND_ERR_FATAL : ND_ERR_AGAIN;
    }
    pub->stats.produced++;
    return ND_OK;
}

void nd_publish_poll(struct nd_publish *pub, int timeout_ms)
{
    rd_kafka_poll(pub->rk, timeout_ms);
}

enum nd_err nd_publish_flush(struct nd_publish *pub, int timeout_ms)
{
    return rd_kafka_flush(pub->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? ND_OK : ND_ERR_AGAIN;
}

int nd_publish_outq(struct nd_publish *pub)
{
    return rd_kafka_outq_len(pub->rk);
}

void nd_publish_get_stats(const struct nd_publish *pub, struct nd_publish_stats *stats)
{
    *stats = pub->stats;
}

int nd_publish_connected(struct nd_publish *pub)
{
    return pub->connected;
}

int nd_publish_broker_reachable(struct nd_publish *pub, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    /* all_topics=0 and no topic: the cheapest request that needs a live broker */
    if (rd_kafka_metadata(pub->rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_metadata_destroy(md);
    return 1;
}
