#include "publish/state.h"

#include "kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "state"

/* Create the topic compacted; an existing one is left as it is. */
static void ensure_topic(rd_kafka_t *rk, const char *topic)
{
    char errstr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, -1, -1, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;

    if (!nt) {
        rd_kafka_queue_destroy(q);
        return;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    if ((ev = rd_kafka_queue_poll(q, 10000))) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (n && rd_kafka_topic_result_error(tr[0]) &&
            rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            nd_warn(MOD, "creating %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
        else if (n && !rd_kafka_topic_result_error(tr[0]))
            nd_info(MOD, "created compacted topic %s", topic);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
}

int nd_state_restore(const struct nd_config *conf, nd_state_fn fn, void *opaque,
                     volatile sig_atomic_t *give_up, char *errstr, size_t errsz)
{
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    json_t *latest = json_object();
    int nparts = 0, eofs = 0, restored = -1;
    const char *key;
    json_t *value;

    if (!(rk = nd_kafka_consumer_new(
              conf,
              (const char *const[]){"group.id", "newsd-state-restore", "enable.auto.commit",
                                    "false", "enable.partition.eof", "true", "isolation.level",
                                    "read_committed", NULL},
              "state restore", errstr, errsz)))
        goto out;
    switch (nd_kafka_topic_partitions(rk, conf->topic_state, MOD, give_up, &parts, errstr, errsz)) {
    case 0:
        /* never written: nothing to restore; create it compacted before the first write
         * auto-creates it with the broker's default (delete) policy */
        ensure_topic(rk, conf->topic_state);
        restored = 0;
        goto out;
    case -1:
        goto out;
    }
    nparts = parts->cnt;
    for (int p = 0; p < nparts; p++)
        parts->elems[p].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    while (eofs < nparts) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 500);
        if (give_up && *give_up) {
            if (msg)
                rd_kafka_message_destroy(msg);
            snprintf(errstr, errsz, "stopped while reading %s", conf->topic_state);
            goto out;
        }
        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (msg->err) {
            nd_warn(MOD, "reading %s: %s", conf->topic_state, rd_kafka_message_errstr(msg));
        } else if (msg->key && msg->key_len < 1024) {
            char feed[1024];
            json_error_t jerr;
            memcpy(feed, msg->key, msg->key_len);
            feed[msg->key_len] = '\0';
            if (!msg->payload) {
                json_object_del(latest, feed); /* tombstone: the feed was removed */
            } else {
                json_t *doc = json_loadb(msg->payload, msg->len, 0, &jerr);
                json_t *state = json_object_get(doc, "state");
                if (json_is_object(state))
                    json_object_set(latest, feed, state);
                else
                    nd_warn(MOD, "ignoring malformed state record of %s at offset %lld", feed,
                            (long long)msg->offset);
                json_decref(doc);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    restored = 0;
    json_object_foreach(latest, key, value)
    {
        fn(opaque, key, value);
        restored++;
    }
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    json_decref(latest);
    return restored;
}
