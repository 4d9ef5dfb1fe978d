/* state: the feed-state topic (compacted, keyed by feed id) read back at start.
 *
 * Reading it to its end with read_committed gives exactly the cursors that were committed together
 * with their stories; newsd resumes from there, so a story whose transaction did not commit is
 * fetched and produced again, and one that did commit is not. */
#ifndef ND_PUBLISH_STATE_H
#define ND_PUBLISH_STATE_H

#include <jansson.h>
#include <signal.h>

#include "config/config.h"

typedef void (*nd_state_fn)(void *opaque, const char *feed_id, const json_t *state);

/* Make sure the state topic exists with cleanup.policy=compact, then read it to its end and call fn
 * once per feed with its latest state. Waits for the broker unless *give_up becomes non-zero.
 * Returns the number of feeds restored, or -1 with errstr filled. */
int nd_state_restore(const struct nd_config *conf, nd_state_fn fn, void *opaque,
                     volatile sig_atomic_t *give_up, char *errstr, size_t errsz);

/* The same, for a feed whose previous owner was another instance (cluster mode): read_committed
 * alone stops at the last stable offset, so a state committed by the old owner after another
 * instance's still-open transaction would be missed. This read goes on until every partition's
 * offset reaches the high watermark of the moment it starts, i.e. until every transaction open
 * then has committed or been aborted (a dead instance's, by its transaction timeout), waiting at
 * most stable_ms (then it logs a warning and keeps what it read). */
int nd_state_restore_stable(const struct nd_config *conf, int stable_ms, nd_state_fn fn,
                            void *opaque, volatile sig_atomic_t *give_up, char *errstr, size_t errsz);

#endif
