/* board: the live desk board, a page editors keep open all shift (docs/ALERTS.md, "The board").
 *
 * The board reads the alerts topic and the stories topic with a consumer of its own
 * (read_committed), keeps the recent alerts of every desk and a bounded cache of enriched stories,
 * and serves, through the daemon's HTTP server (pkg/server) under /board:
 *   /board               the page (HTML, CSS and JavaScript embedded at build time from web/board/)
 *   /board/events        Server-Sent Events (?desk=NAME for one desk): the recent alerts, then
 * every new one live. Event ids are the alerts topic's positions ("p:o,p:o"), so a page that
 * reconnects with Last-Event-ID is replayed what it missed from Kafka. /board/story/ID      the
 * enriched record of a recent story (JSON) It is read-only, guarded by board.token and/or
 * board.password when set, and bounds what a page may hold: board.max_clients streams,
 * board.client_queue events waiting per stream (a slower page is disconnected; it reconnects and
 * replays).
 *
 * Threads: the consumer thread is the board's own; routes run on the server's connection threads.
 * Every public function is thread-safe. */
#ifndef ND_BOARD_H
#define ND_BOARD_H

#include <stdint.h>

#include "alert/alert.h"
#include "config/config.h"
#include "server/server.h"

struct nd_board;

/* A board for conf (kept by reference: it must outlive the board). Nothing runs before
 * nd_board_start. */
struct nd_board *nd_board_new(const struct nd_config *conf);
/* Start the consumer thread. ND_OK, or an error with the reason in errstr. */
enum nd_err nd_board_start(struct nd_board *board, char *errstr, size_t errsz);
/* The desks the page names lanes after (takes the reference; NULL: none). */
void nd_board_set_desks(struct nd_board *board, struct nd_desks *desks);
/* The server route (nd_server_route_fn) with the board as opaque. */
void nd_board_route(void *opaque, const char *path, const struct nd_server_req *req,
                    struct nd_server_reply *reply);
/* End every stream and refuse new ones: call before the server stops (it waits for its
 * connections). */
void nd_board_shutdown(struct nd_board *board);
/* Stops the consumer and frees. Streams must have ended (nd_board_shutdown, server destroyed).
 * NULL is a no-op. */
void nd_board_destroy(struct nd_board *board);

struct nd_board_stats {
    uint64_t clients;                         /* streams open now */
    uint64_t live, recent, replayed, stories; /* events written to streams, by kind */
    uint64_t slow, refused;                   /* streams dropped as too slow, refused as too many */
};
void nd_board_get_stats(struct nd_board *board, struct nd_board_stats *stats);

#endif
