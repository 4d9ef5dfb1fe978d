/* The board's parts, shared by its files (not part of the API). One lock (board->lock) guards the
 * recent alerts, the story cache, the streams and the consumer's position. */
#ifndef ND_BOARD_INT_H
#define ND_BOARD_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "board/board.h"

#define ND_BOARD_MAX_PARTS 256         /* partitions of the alerts topic the board follows */
#define ND_BOARD_RECORD_MAX (1u << 20) /* an alert or story record bigger than this is skipped */
/* What the board's consumers may fetch ahead per partition, in KiB (librdkafka's default is 64 MiB
 * a consumer, outside memory.limit_mb): the board reads at the pace it renders, so 4 MiB is plenty. */
#define ND_BOARD_PREFETCH_KB "4096"
#define ND_BOARD_DESK_MAX 64           /* a desk name (the alert schema's limit) */

/* --- positions (pos.c): where a page is in the alerts topic ----------------------------------- */

/* The offset of the last alert seen on each partition, -1 where none. As text, the SSE id:
 * "0:12,2:7" (partitions without an alert left out). */
struct nd_board_pos {
    int64_t off[ND_BOARD_MAX_PARTS];
};
void nd_board_pos_init(struct nd_board_pos *pos);
/* Text form into out (NUL-terminated; out must hold ND_BOARD_POS_TEXT bytes). */
#define ND_BOARD_POS_TEXT (ND_BOARD_MAX_PARTS * 24 + 1)
void nd_board_pos_format(const struct nd_board_pos *pos, char *out, size_t outsz);
/* Parse a Last-Event-ID. 0 on success; -1 when it is malformed (the page then starts afresh). */
int nd_board_pos_parse(const char *text, struct nd_board_pos *pos);

/* --- recent alerts (ring.c) ------------------------------------------------------------------- */

struct nd_board_entry {
    struct nd_board_entry *prev, *next; /* all desks, in the order consumed */
    struct nd_board_entry *dnext;       /* the same desk, newer */
    char desk[ND_BOARD_DESK_MAX + 1];
    char story_id[33];
    int32_t partition;
    int64_t offset;
    char *alert; /* the record's JSON text */
    size_t len;
};

struct nd_board_ring {
    size_t per_desk;
    struct nd_board_entry *head, *tail; /* oldest, newest */
    struct ring_desk {
        char name[ND_BOARD_DESK_MAX + 1];
        size_t n;
        struct nd_board_entry *oldest, *newest;
    } *desks;
    size_t ndesks;
};
void nd_board_ring_init(struct nd_board_ring *ring, size_t per_desk);
void nd_board_ring_free(struct nd_board_ring *ring);
/* Add an alert (text copied). When its desk then has more than per_desk, the desk's oldest is
 * taken out and returned (caller frees it with nd_board_entry_free), else NULL. */
struct nd_board_entry *nd_board_ring_add(struct nd_board_ring *ring, const char *desk,
                                         const char *story_id, int32_t partition, int64_t offset,
                                         const char *alert, size_t len);
void nd_board_entry_free(struct nd_board_entry *entry);
/* 1 when the desk filter (NULL or "": every desk) takes alerts of desk. */
int nd_board_desk_wanted(const char *filter, const char *desk);

/* --- stories (stories.c): the enriched records of recent stories ------------------------------ */

struct nd_board_stories;
struct nd_board_stories *nd_board_stories_new(size_t capacity);
void nd_board_stories_destroy(struct nd_board_stories *stories);
/* Take a story record (JSON text). Returns its summary (borrowed, valid until the next call on the
 * cache) or NULL when the record is not a story. *pinned: an alert on the board names it. */
const json_t *nd_board_stories_put(struct nd_board_stories *stories, const char *json, size_t len,
                                   int *pinned);
/* An alert names the story / no longer does: a named story keeps its summary while evicted. */
void nd_board_stories_pin(struct nd_board_stories *stories, const char *id);
void nd_board_stories_unpin(struct nd_board_stories *stories, const char *id);
/* The summary (borrowed) or NULL. */
const json_t *nd_board_stories_summary(struct nd_board_stories *stories, const char *id);
/* A copy of the full record into buf; ND_ERR_NOTFOUND when it is not (or no longer) kept. */
enum nd_err nd_board_stories_record(struct nd_board_stories *stories, const char *id,
                                    struct nd_buf *buf);
/* The ids of named stories whose pubstatus is not usable (a new array). */
json_t *nd_board_stories_withdrawn(struct nd_board_stories *stories);
/* What the page shows of a story: ids, version, pubstatus, headline, dateline, byline, source and
 * the sentences its events quote (text by code point offsets into body_text). New reference. */
json_t *nd_board_story_summary(const json_t *story);

/* --- streams (sse.c) -------------------------------------------------------------------------- */

/* An SSE event, shared by every stream that has it queued. */
struct nd_board_frame {
    atomic_int refs;
    size_t len;
    char data[];
};
/* "id: ID\n" (when id), "event: TYPE\n", "data: JSON\n\n". New frame with one reference. */
struct nd_board_frame *nd_board_frame_new(const char *id, const char *type, const json_t *data);
void nd_board_frame_unref(struct nd_board_frame *frame);
/* Append the same text to a buffer. */
void nd_board_frame_append(struct nd_buf *buf, const char *id, const char *type,
                           const json_t *data);

struct nd_board_client;
/* Wake every stream waiting for frames (they then see board->closing). Under board->lock. */
void nd_board_wake_all(struct nd_board *board);
/* Queue a frame on every stream whose desk filter takes desk (NULL: every stream). A stream whose
 * queue is full is marked slow and ends. Under board->lock. */
void nd_board_broadcast(struct nd_board *board, const char *desk, struct nd_board_frame *frame);
/* The /board/events route. */
void nd_board_stream(struct nd_board *board, const struct nd_server_req *req,
                     struct nd_server_reply *reply);

/* --- the data of an alert event, and the board ------------------------------------------------ */

/* {"pos": "p:o", "alert": ..., "story": summary (absent when NULL)}. New reference, NULL when
 * alert is not a JSON object. */
json_t *nd_board_alert_data(const char *alert, size_t len, int32_t partition, int64_t offset,
                            const json_t *summary);

/* Replay (replay.c): append to out the alerts of partitions after `from` up to `upto` for desk
 * (NULL: all), each an SSE event whose id is `from` moved on. 1 when done; 0 when the gap holds
 * more than board.replay_max alerts or Kafka did not answer in time (out is then reset). */
int nd_board_replay(struct nd_board *board, const struct nd_board_pos *from,
                    const struct nd_board_pos *upto, const char *desk, struct nd_buf *out,
                    uint64_t *count);

/* Auth (auth.c): what a request offers, each NULL when absent: its Authorization and Cookie
 * headers and its ?token= argument. */
struct nd_board_creds {
    const char *authorization, *cookie, *token_arg;
};
/* 1 when the request may see the board. Sets *cookie (a Set-Cookie value to send, caller frees;
 * else NULL) when the token came as ?token= . */
int nd_board_auth(const char *token, const char *password, const struct nd_board_creds *creds,
                  char **cookie);
/* Compare without leaking where they differ (1: equal). */
int nd_board_secret_eq(const char *a, const char *b);
/* Decode base64 into out (NUL-terminated); -1 when malformed or too long. */
int nd_board_base64_decode(const char *in, char *out, size_t outsz);

struct nd_board {
    const struct nd_config *conf;
    pthread_mutex_t lock;
    struct nd_board_ring ring;
    struct nd_board_stories *stories;
    struct nd_board_pos pos;           /* the consumer's: last alert offset per partition */
    int64_t start[ND_BOARD_MAX_PARTS]; /* where the consumer began on each partition */
    int nparts;    /* partitions of the alerts topic, 0 before the consumer knows */
    json_t *desks; /* [{"name", "title"}] */
    struct nd_board_client *clients;
    size_t nclients;
    _Atomic int closing; /* streams end, new ones are refused (set under the lock) */
    volatile sig_atomic_t stop;
    pthread_t thread;
    int started;
    struct nd_board_stats stats;
};

void nd_board_feed_run(struct nd_board *board); /* feed.c: the consumer thread's loop */

#endif
