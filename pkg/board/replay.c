/* A reconnecting page's gap, read from Kafka: a consumer of its own assigned to the partitions it
 * lacks, at the offset after the last it saw, up to the board's position when it reconnected
 * (read_committed, so it sees what the board's consumer saw). */
#include "board/board_int.h"
#include "kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "board"
#define REPLAY_TIMEOUT_MS 10000

/* The partitions to read and where to start; 0 when the gap is longer than replay_max. */
static int plan(struct nd_board *board, const struct nd_board_pos *from,
                const struct nd_board_pos *upto, rd_kafka_topic_partition_list_t *parts, int *need)
{
    int64_t total = 0;
    pthread_mutex_lock(&board->lock);
    for (int p = 0; p < board->nparts; p++) {
        int64_t begin = from->off[p] >= 0 ? from->off[p] + 1 : board->start[p];
        need[p] = upto->off[p] >= 0 && begin <= upto->off[p];
        if (!need[p])
            continue;
        total += upto->off[p] - begin + 1;
        rd_kafka_topic_partition_list_add(parts, board->conf->topic_alerts, p)->offset = begin;
    }
    pthread_mutex_unlock(&board->lock);
    return total <= board->conf->board_replay_max;
}

/* One replayed record: an SSE event when the desk filter takes it. */
static void replayed(struct nd_board *board, const rd_kafka_message_t *msg, const char *desk,
                     const struct nd_board_pos *cur, struct nd_buf *out, uint64_t *count)
{
    json_t *doc = json_loadb(msg->payload, msg->len, 0, NULL), *data = NULL;
    const char *d = json_string_value(json_object_get(doc, "desk"));
    char id[ND_BOARD_POS_TEXT];

    if (d && nd_board_desk_wanted(desk, d)) {
        pthread_mutex_lock(&board->lock);
        data = nd_board_alert_data(
            msg->payload, msg->len, msg->partition, msg->offset,
            nd_board_stories_summary(board->stories,
                                     json_string_value(json_object_get(doc, "story_id"))));
        pthread_mutex_unlock(&board->lock);
    }
    if (data) {
        nd_board_pos_format(cur, id, sizeof(id));
        nd_board_frame_append(out, id, "alert", data);
        (*count)++;
    }
    json_decref(data);
    json_decref(doc);
}

int nd_board_replay(struct nd_board *board, const struct nd_board_pos *from,
                    const struct nd_board_pos *upto, const char *desk, struct nd_buf *out,
                    uint64_t *count)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    int remaining = 0, ok = 0;
    int *left = nd_xcalloc(ND_BOARD_MAX_PARTS, sizeof(*left));
    struct nd_board_pos cur = *from;
    rd_kafka_t *rk = NULL;
    char errstr[512];
    int64_t deadline = nd_mono_ms() + REPLAY_TIMEOUT_MS;

    if (!plan(board, from, upto, parts, left))
        goto out;
    for (int p = 0; p < ND_BOARD_MAX_PARTS; p++)
        remaining += left[p];
    if (!remaining) {
        ok = 1;
        goto out;
    }
    rk = nd_kafka_consumer_new(board->conf,
                               (const char *const[]){"group.id", "newsd-board-replay",
                                                     "enable.auto.commit", "false",
                                                     "enable.partition.eof", "true",
                                                     "isolation.level", "read_committed",
                                                     "queued.max.messages.kbytes",
                                                     ND_BOARD_PREFETCH_KB, NULL},
                               "board replay", errstr, sizeof(errstr));
    if (!rk) {
        nd_warn(MOD, "%s", errstr);
        goto out;
    }
    rd_kafka_assign(rk, parts);
    while (remaining && nd_mono_ms() < deadline && !board->stop && !atomic_load(&board->closing)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        int32_t p;
        if (!msg)
            continue;
        p = msg->partition;
        if (p < 0 || p >= ND_BOARD_MAX_PARTS || !left[p]) {
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
            (!msg->err && msg->offset > upto->off[p])) {
            left[p] = 0;
            remaining--;
        } else if (!msg->err) {
            cur.off[p] = msg->offset;
            if (msg->payload && msg->len <= ND_BOARD_RECORD_MAX)
                replayed(board, msg, desk, &cur, out, count);
            if (msg->offset == upto->off[p]) {
                left[p] = 0;
                remaining--;
            }
        }
        rd_kafka_message_destroy(msg);
    }
    ok = !remaining;
    if (!ok)
        nd_warn(MOD, "a page's replay from %s did not finish in %d ms; it gets the recent alerts",
                board->conf->topic_alerts, REPLAY_TIMEOUT_MS);
out:
    if (!ok) {
        nd_buf_reset(out);
        *count = 0;
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    free(left);
    return ok;
}
