/* The board's consumer: the alerts topic from a little before its end (enough for
 * board.recent_per_desk alerts of every desk) and the stories topic from board.story_cache records
 * before its end, then everything new, read_committed (what the page shows is what was committed).
 */
#include "board/board_int.h"
#include "kafka/kafka.h"

#include <string.h>
#include <unistd.h>

#define MOD "board"
#define WAIT_TOPIC_MS 2000

/* Where to start on each partition; fills board->start. */
static void add_partitions(struct nd_board *board, rd_kafka_t *rk,
                           rd_kafka_topic_partition_list_t *parts, const char *topic, int alerts,
                           int64_t back)
{
    rd_kafka_topic_partition_list_t *found = NULL;
    char errstr[256];
    if (nd_kafka_topic_partitions(rk, topic, MOD, &board->stop, &found, errstr, sizeof(errstr)) !=
        1)
        return;
    for (int i = 0; i < found->cnt; i++) {
        int32_t p = found->elems[i].partition;
        int64_t lo = 0, hi = 0, start;
        if (alerts && p >= ND_BOARD_MAX_PARTS) {
            nd_warn(MOD, "%s has more than %d partitions; the board leaves out partition %d", topic,
                    ND_BOARD_MAX_PARTS, (int)p);
            continue;
        }
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000))
            lo = hi = 0;
        start = hi - back > lo ? hi - back : lo;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = start;
        if (alerts) {
            pthread_mutex_lock(&board->lock);
            board->start[p] = start;
            if (p + 1 > board->nparts)
                board->nparts = p + 1;
            pthread_mutex_unlock(&board->lock);
        }
    }
    rd_kafka_topic_partition_list_destroy(found);
}

/* 1 when both topics exist and are assigned. */
static int assign(struct nd_board *board, rd_kafka_t *rk)
{
    const struct nd_config *conf = board->conf;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    size_t ndesks;
    int nstory, ok;

    pthread_mutex_lock(&board->lock);
    ndesks = json_array_size(board->desks);
    pthread_mutex_unlock(&board->lock);
    /* keyed by desk, a partition holds a few desks' alerts; transaction markers take offsets too */
    add_partitions(board, rk, parts, conf->topic_alerts, 1,
                   2 * (int64_t)conf->board_recent_per_desk * (int64_t)(ndesks ? ndesks : 1));
    nstory = parts->cnt;
    add_partitions(board, rk, parts, conf->topic_stories, 0, 2 * (int64_t)conf->board_story_cache);
    ok = nstory > 0 && parts->cnt > nstory;
    if (ok)
        rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return ok;
}

static void on_alert(struct nd_board *board, const rd_kafka_message_t *msg)
{
    json_t *doc = json_loadb(msg->payload, msg->len, 0, NULL), *data;
    const char *desk = json_string_value(json_object_get(doc, "desk"));
    const char *story_id = json_string_value(json_object_get(doc, "story_id"));
    struct nd_board_entry *old;
    char id[ND_BOARD_POS_TEXT];

    if (!desk || !*desk || strlen(desk) > ND_BOARD_DESK_MAX || msg->partition < 0 ||
        msg->partition >= ND_BOARD_MAX_PARTS) {
        json_decref(doc);
        return;
    }
    pthread_mutex_lock(&board->lock);
    board->pos.off[msg->partition] = msg->offset;
    old = nd_board_ring_add(&board->ring, desk, story_id, msg->partition, msg->offset, msg->payload,
                            msg->len);
    nd_board_stories_pin(board->stories, story_id);
    if (old)
        nd_board_stories_unpin(board->stories, old->story_id);
    if (board->clients &&
        (data = nd_board_alert_data(msg->payload, msg->len, msg->partition, msg->offset,
                                    nd_board_stories_summary(board->stories, story_id)))) {
        struct nd_board_frame *frame;
        nd_board_pos_format(&board->pos, id, sizeof(id));
        frame = nd_board_frame_new(id, "alert", data);
        nd_board_broadcast(board, desk, frame);
        nd_board_frame_unref(frame);
        json_decref(data);
    }
    pthread_mutex_unlock(&board->lock);
    nd_board_entry_free(old);
    json_decref(doc);
}

/* A story: kept for the story view; when an alert on the board names it, the pages hear of it
 * (its dateline and quoted sentence, a new version, a withdrawal). */
static void on_story(struct nd_board *board, const rd_kafka_message_t *msg)
{
    const json_t *summary;
    int pinned;
    pthread_mutex_lock(&board->lock);
    summary = nd_board_stories_put(board->stories, msg->payload, msg->len, &pinned);
    if (summary && pinned && board->clients) {
        struct nd_board_frame *frame = nd_board_frame_new(NULL, "story", summary);
        nd_board_broadcast(board, NULL, frame);
        board->stats.stories++;
        nd_board_frame_unref(frame);
    }
    pthread_mutex_unlock(&board->lock);
}

void nd_board_feed_run(struct nd_board *board)
{
    const struct nd_config *conf = board->conf;
    char errstr[512];
    rd_kafka_t *rk = nd_kafka_consumer_new(
        conf,
        (const char *const[]){"group.id", "newsd-board", "enable.auto.commit", "false",
                              "isolation.level", "read_committed", "queued.max.messages.kbytes",
                              ND_BOARD_PREFETCH_KB, NULL},
        "board", errstr, sizeof(errstr));

    if (!rk) {
        nd_error(MOD, "%s; the board shows no alerts", errstr);
        return;
    }
    while (!board->stop && !assign(board, rk))
        for (int i = 0; i < WAIT_TOPIC_MS / 100 && !board->stop; i++)
            usleep(100 * 1000);
    while (!board->stop) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        if (!msg->err && msg->payload && msg->len <= ND_BOARD_RECORD_MAX) {
            if (!strcmp(rd_kafka_topic_name(msg->rkt), conf->topic_alerts))
                on_alert(board, msg);
            else
                on_story(board, msg);
        }
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}
