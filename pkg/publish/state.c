#include "publish/state.h"

#include "kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "state"

/* stable_ms > 0: besides the end of each partition (its last stable offset, for read_committed),
 * wait until the offset reaches the high watermark seen at the start, for up to stable_ms. */
static int restore(const struct nd_config *conf, int stable_ms, nd_state_fn fn, void *opaque,
                   volatile sig_atomic_t *give_up, char *errstr, size_t errsz)
{
    int64_t *hwm = NULL;
    int64_t deadline = nd_mono_ms() + stable_ms;
    char *done = NULL;
    int warned = 0;
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
        nd_kafka_ensure_compacted(rk, conf->topic_state, -1, MOD);
        restored = 0;
        goto out;
    case -1:
        goto out;
    }
    nparts = parts->cnt;
    hwm = nd_xcalloc((size_t)nparts, sizeof(*hwm));
    done = nd_xcalloc((size_t)nparts, 1);
    for (int p = 0; p < nparts; p++) {
        int64_t lo = 0;
        parts->elems[p].offset = RD_KAFKA_OFFSET_BEGINNING;
        /* what was written before now, including open transactions that may still commit */
        if (stable_ms > 0 &&
            rd_kafka_query_watermark_offsets(rk, conf->topic_state, parts->elems[p].partition, &lo,
                                             &hwm[p], 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            hwm[p] = -1; /* unknown: the partition's end as read_committed sees it will do */
    }
    rd_kafka_assign(rk, parts);
    while (eofs < nparts) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 500);
        if (stable_ms > 0 && !warned && nd_mono_ms() >= deadline) {
            /* an open transaction that neither commits nor times out: do not wait forever */
            nd_warn(MOD, "%s: open transactions still hold back the stable offset after %d ms; "
                         "using the state committed so far",
                    conf->topic_state, stable_ms);
            warned = 1;
            for (int p = 0; p < nparts; p++)
                if (!done[p]) {
                    done[p] = 1;
                    eofs++;
                }
            if (msg)
                rd_kafka_message_destroy(msg);
            break;
        }
        if (give_up && *give_up) {
            if (msg)
                rd_kafka_message_destroy(msg);
            snprintf(errstr, errsz, "stopped while reading %s", conf->topic_state);
            goto out;
        }
        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* the end seen by read_committed is the last stable offset; with stable_ms the read
             * goes on until that passes the high watermark of the start */
            for (int p = 0; p < nparts; p++)
                if (parts->elems[p].partition == msg->partition && !done[p] &&
                    msg->offset >= hwm[p]) {
                    done[p] = 1;
                    eofs++;
                }

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
    free(hwm);
    free(done);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    json_decref(latest);
    return restored;
}

int nd_state_restore(const struct nd_config *conf, nd_state_fn fn, void *opaque,
                     volatile sig_atomic_t *give_up, char *errstr, size_t errsz)
{
    return restore(conf, 0, fn, opaque, give_up, errstr, errsz);
}

int nd_state_restore_stable(const struct nd_config *conf, int stable_ms, nd_state_fn fn,
                            void *opaque, volatile sig_atomic_t *give_up, char *errstr, size_t errsz)
{
    return restore(conf, stable_ms > 0 ? stable_ms : 1, fn, opaque, give_up, errstr, errsz);
}
