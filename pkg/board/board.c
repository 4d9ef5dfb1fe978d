/* The board's life: its state, its consumer thread, its desks and counters. */
#include "board/board_int.h"

#include <stdlib.h>
#include <string.h>

#define MOD "board"

struct nd_board *nd_board_new(const struct nd_config *conf)
{
    struct nd_board *board = nd_xcalloc(1, sizeof(*board));
    board->conf = conf;
    pthread_mutex_init(&board->lock, NULL);
    nd_board_ring_init(&board->ring, (size_t)conf->board_recent_per_desk);
    board->stories = nd_board_stories_new((size_t)conf->board_story_cache);
    nd_board_pos_init(&board->pos);
    board->desks = json_array();
    return board;
}

static void *feed_main(void *arg)
{
    nd_board_feed_run(arg);
    return NULL;
}

enum nd_err nd_board_start(struct nd_board *board, char *errstr, size_t errsz)
{
    if (board->started)
        return ND_OK;
    if (pthread_create(&board->thread, NULL, feed_main, board)) {
        snprintf(errstr, errsz, "cannot start the board's consumer thread");
        return ND_ERR_FATAL;
    }
    board->started = 1;
    return ND_OK;
}

void nd_board_set_desks(struct nd_board *board, struct nd_desks *desks)
{
    json_t *list = json_array();
    for (size_t i = 0; i < nd_desks_count(desks); i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "name", nd_desks_name(desks, i),
                                              "title", nd_desks_title(desks, i)));
    nd_desks_destroy(desks);
    pthread_mutex_lock(&board->lock);
    json_decref(board->desks);
    board->desks = list;
    pthread_mutex_unlock(&board->lock);
}

json_t *nd_board_alert_data(const char *alert, size_t len, int32_t partition, int64_t offset,
                            const json_t *summary)
{
    json_t *doc = json_loadb(alert, len, 0, NULL);
    char pos[48];
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    snprintf(pos, sizeof(pos), "%d:%lld", (int)partition, (long long)offset);
    return json_pack("{s:s, s:o, s:O*}", "pos", pos, "alert", doc, "story", summary);
}

void nd_board_shutdown(struct nd_board *board)
{
    if (!board)
        return;
    pthread_mutex_lock(&board->lock);
    board->closing = 1;
    nd_board_wake_all(board);
    pthread_mutex_unlock(&board->lock);
}

void nd_board_destroy(struct nd_board *board)
{
    if (!board)
        return;
    nd_board_shutdown(board);
    board->stop = 1;
    if (board->started)
        pthread_join(board->thread, NULL);
    nd_board_ring_free(&board->ring);
    nd_board_stories_destroy(board->stories);
    json_decref(board->desks);
    pthread_mutex_destroy(&board->lock);
    free(board);
}

void nd_board_get_stats(struct nd_board *board, struct nd_board_stats *stats)
{
    pthread_mutex_lock(&board->lock);
    *stats = board->stats;
    stats->clients = board->nclients;
    pthread_mutex_unlock(&board->lock);
}
