/* Server-Sent Events: the frames, the streams (one per connected page) and their bounded queues.
 *
 * A stream starts with what the page lacks: the recent alerts when it sends no Last-Event-ID, else
 * what it missed, replayed from Kafka between its position and the board's position when it
 * connected. From then on it takes every frame the consumer broadcasts. A page that reads slower
 * than alerts come gets board.client_queue frames of slack; past that its stream ends, and the
 * browser reconnects with its Last-Event-ID and is replayed the rest: a slow page costs bounded
 * memory and loses nothing. */
#include "board/board_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "board"
/* A comment line this often keeps proxies and the server's idle timeout (10 s) from closing a
 * quiet stream. A page that went away is noticed within HANGUP_CHECK_MS, not at the next write, so
 * a reload does not count twice against board.max_clients. */
#define HEARTBEAT_MS 5000
#define HANGUP_CHECK_MS 250
#define RETRY_MS 1000
#define SNAPSHOT_MAX (256u << 20)

struct nd_board_client {
    struct nd_board_client *next;
    struct nd_board *board;
    char desk[ND_BOARD_DESK_MAX + 1];
    pthread_cond_t cond;
    struct nd_board_frame **queue;
    size_t cap, head, n;
    int slow;
    /* the first bytes: hello, then the recent alerts or a replay */
    struct nd_buf start;
    size_t start_off;
    int replay; /* replay from `from` up to `upto` before the first write */
    struct nd_board_pos from, upto;
    struct nd_board_frame *cur;
    size_t cur_off;
    int fd; /* the connection's socket, polled for a hang-up */
};

/* --- frames ----------------------------------------------------------------------------------- */

void nd_board_frame_append(struct nd_buf *buf, const char *id, const char *type, const json_t *data)
{
    /* compact JSON has no raw newline (strings escape it), so it is one data line and no text in
     * it can end the event or start another */
    char *json = json_dumps(data, JSON_COMPACT);
    if (id)
        nd_buf_appendf(buf, "id: %s\n", id);
    nd_buf_appendf(buf, "event: %s\ndata: %s\n\n", type, json ? json : "null");
    free(json);
}

struct nd_board_frame *nd_board_frame_new(const char *id, const char *type, const json_t *data)
{
    struct nd_buf buf;
    struct nd_board_frame *frame;
    nd_buf_init(&buf, ND_BOARD_RECORD_MAX * 4);
    nd_board_frame_append(&buf, id, type, data);
    frame = nd_xmalloc(sizeof(*frame) + buf.len + 1);
    atomic_init(&frame->refs, 1);
    frame->len = buf.len;
    memcpy(frame->data, buf.data ? buf.data : "", buf.len + 1);
    nd_buf_free(&buf);
    return frame;
}

void nd_board_frame_unref(struct nd_board_frame *frame)
{
    if (frame && atomic_fetch_sub(&frame->refs, 1) == 1)
        free(frame);
}

/* --- queues (under board->lock) --------------------------------------------------------------- */

static void drop_queue(struct nd_board_client *c)
{
    while (c->n) {
        nd_board_frame_unref(c->queue[c->head]);
        c->head = (c->head + 1) % c->cap;
        c->n--;
    }
}

void nd_board_wake_all(struct nd_board *board)
{
    for (struct nd_board_client *c = board->clients; c; c = c->next)
        pthread_cond_signal(&c->cond);
}

void nd_board_broadcast(struct nd_board *board, const char *desk, struct nd_board_frame *frame)
{
    for (struct nd_board_client *c = board->clients; c; c = c->next) {
        if (c->slow || (desk && !nd_board_desk_wanted(c->desk, desk)))
            continue;
        if (c->n == c->cap) {
            /* too slow: its frames go now, its connection at its next write */
            c->slow = 1;
            drop_queue(c);
            board->stats.slow++;
            nd_info(MOD,
                    "a board page read too slowly (%zu events waiting) and was disconnected; "
                    "it replays on reconnect",
                    c->cap);
        } else {
            atomic_fetch_add(&frame->refs, 1);
            c->queue[(c->head + c->n++) % c->cap] = frame;
        }
        pthread_cond_signal(&c->cond);
    }
}

/* --- the start of a stream -------------------------------------------------------------------- */

static void hello(struct nd_board *board, struct nd_board_client *c, const char *mode)
{
    json_t *data = json_pack("{s:O, s:i, s:s, s:s?}", "desks", board->desks, "recent_per_desk",
                             board->conf->board_recent_per_desk, "mode", mode, "desk",
                             *c->desk ? c->desk : NULL);
    nd_buf_appendf(&c->start, "retry: %d\n\n", RETRY_MS);
    nd_board_frame_append(&c->start, NULL, "hello", data);
    json_decref(data);
}

/* The recent alerts of the stream's desks, oldest first, without ids: a page that drops during
 * them starts afresh (and keeps what it has: it knows alerts by id). */
static void snapshot(struct nd_board *board, struct nd_board_client *c)
{
    for (struct nd_board_entry *e = board->ring.head; e; e = e->next) {
        json_t *data;
        if (!nd_board_desk_wanted(c->desk, e->desk))
            continue;
        data = nd_board_alert_data(e->alert, e->len, e->partition, e->offset,
                                   nd_board_stories_summary(board->stories, e->story_id));
        if (data) {
            nd_board_frame_append(&c->start, NULL, "alert", data);
            board->stats.recent++;
        }
        json_decref(data);
    }
}

/* Where the page is now: the board's position when it connected, and the stories withdrawn. */
static void ready(struct nd_board *board, struct nd_board_client *c)
{
    char id[ND_BOARD_POS_TEXT];
    json_t *data = json_pack("{s:o}", "withdrawn", nd_board_stories_withdrawn(board->stories));
    nd_board_pos_format(&c->upto, id, sizeof(id));
    nd_board_frame_append(&c->start, *id ? id : NULL, "ready", data);
    json_decref(data);
}

/* A Last-Event-ID the board can serve: well formed, and not past what the topic holds (an id from
 * another cluster, or from before the topic was recreated, is not). */
static int resumable(const struct nd_board *board, const char *last, struct nd_board_pos *from)
{
    if (!last || nd_board_pos_parse(last, from))
        return 0;
    for (int p = 0; p < ND_BOARD_MAX_PARTS; p++)
        if (from->off[p] >= 0 && (p >= board->nparts || from->off[p] > board->pos.off[p]))
            return 0;
    return 1;
}

/* --- the stream (the connection's thread) ----------------------------------------------------- */

static long take(char *buf, size_t max, const char *data, size_t len, size_t *off)
{
    size_t n = len - *off < max ? len - *off : max;
    memcpy(buf, data + *off, n);
    *off += n;
    return (long)n;
}

static void wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, lock, &ts);
}

/* The page closed its end (it reloaded, or went away): the stream can end now. */
static int hung_up(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
    return fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void run_replay(struct nd_board_client *c)
{
    struct nd_board *board = c->board;
    struct nd_buf out;
    uint64_t count = 0;

    nd_buf_init(&out, SNAPSHOT_MAX);
    if (nd_board_replay(board, &c->from, &c->upto, *c->desk ? c->desk : NULL, &out, &count)) {
        nd_buf_append(&c->start, out.data ? out.data : "", out.len);
        pthread_mutex_lock(&board->lock);
        board->stats.replayed += count;
    } else {
        /* too much missed, or Kafka away: the recent alerts again (the page keeps what it has) */
        pthread_mutex_lock(&board->lock);
        snapshot(board, c);
    }
    ready(board, c);
    pthread_mutex_unlock(&board->lock);
    nd_buf_free(&out);
}

static long stream_read(void *cls, char *buf, size_t max)
{
    struct nd_board_client *c = cls;
    struct nd_board *board = c->board;
    long n = -1;

    if (c->replay) {
        c->replay = 0;
        run_replay(c);
    }
    if (c->start_off < c->start.len) {
        n = take(buf, max, c->start.data, c->start.len, &c->start_off);
        if (c->start_off == c->start.len)
            nd_buf_free(&c->start); /* the recent alerts can be megabytes: not kept once sent */
        return n;
    }
    if (c->cur) {
        n = take(buf, max, c->cur->data, c->cur->len, &c->cur_off);
        if (c->cur_off == c->cur->len) {
            nd_board_frame_unref(c->cur);
            c->cur = NULL;
        }
        return n;
    }
    pthread_mutex_lock(&board->lock);
    for (int waited = 0; !c->n && !c->slow && !board->closing && waited < HEARTBEAT_MS;
         waited += HANGUP_CHECK_MS) {
        wait_ms(&c->cond, &board->lock, HANGUP_CHECK_MS);
        if (hung_up(c->fd)) {
            pthread_mutex_unlock(&board->lock);
            return -1;
        }
    }
    if (c->slow || board->closing) {
        n = -1;
    } else if (c->n) {
        c->cur = c->queue[c->head];
        c->cur_off = 0;
        c->head = (c->head + 1) % c->cap;
        c->n--;
        board->stats.live++;
        n = 0;
    } else {
        n = take(buf, max, ":\n\n", 3, &(size_t){0});
    }
    pthread_mutex_unlock(&board->lock);
    return n == 0 ? stream_read(c, buf, max) : n;
}

static void stream_done(void *cls)
{
    struct nd_board_client *c = cls;
    struct nd_board *board = c->board;
    pthread_mutex_lock(&board->lock);
    for (struct nd_board_client **p = &board->clients; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            board->nclients--;
            break;
        }
    drop_queue(c);
    pthread_mutex_unlock(&board->lock);
    nd_board_frame_unref(c->cur);
    pthread_cond_destroy(&c->cond);
    nd_buf_free(&c->start);
    free(c->queue);
    free(c);
}

void nd_board_stream(struct nd_board *board, const struct nd_server_req *req,
                     struct nd_server_reply *reply)
{
    const char *desk = nd_server_req_arg(req, "desk");
    /* the browser sends the header when it reconnects by itself; a page that had to open a new
     * EventSource (after a refusal) passes the id as ?last= */
    const char *last = nd_server_req_header(req, "Last-Event-ID");
    struct nd_board_client *c;

    if (!last)
        last = nd_server_req_arg(req, "last");
    if (desk && (!*desk || strlen(desk) > ND_BOARD_DESK_MAX)) {
        reply->status = 400;
        nd_buf_appendf(&reply->body, "desk: a desk name of 1 to %d characters\n",
                       ND_BOARD_DESK_MAX);
        return;
    }
    pthread_mutex_lock(&board->lock);
    if (board->closing || board->nclients >= (size_t)board->conf->board_max_clients) {
        board->stats.refused += !board->closing;
        pthread_mutex_unlock(&board->lock);
        reply->status = 503;
        nd_server_reply_header(reply, "Retry-After", "5");
        nd_buf_appendf(&reply->body, "the board has board.max_clients (%d) pages connected\n",
                       board->conf->board_max_clients);
        return;
    }
    c = nd_xcalloc(1, sizeof(*c));
    c->board = board;
    c->fd = nd_server_req_fd(req);
    snprintf(c->desk, sizeof(c->desk), "%s", desk ? desk : "");
    pthread_cond_init(&c->cond, NULL);
    c->cap = (size_t)board->conf->board_client_queue;
    c->queue = nd_xcalloc(c->cap, sizeof(*c->queue));
    nd_buf_init(&c->start, SNAPSHOT_MAX);
    /* from here every broadcast reaches the queue: the replay or the snapshot covers what came
     * before, up to this position */
    c->upto = board->pos;
    c->replay = resumable(board, last, &c->from);
    hello(board, c, c->replay ? "replay" : "recent");
    if (!c->replay) {
        snapshot(board, c);
        ready(board, c);
    }
    c->next = board->clients;
    board->clients = c;
    board->nclients++;
    pthread_mutex_unlock(&board->lock);

    reply->status = 200;
    reply->content_type = "text/event-stream; charset=utf-8";
    nd_server_reply_header(reply, "X-Accel-Buffering", "no");
    reply->read = stream_read;
    reply->done = stream_done;
    reply->cls = c;
}
