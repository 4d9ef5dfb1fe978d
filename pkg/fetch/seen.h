/* seen: the bounded set of recent item ids of one feed, with each item's content hash, so a poll
 * emits only new items and changed ones (as a new version). Oldest ids are forgotten first.
 *
 * Memory grows with use, not with the cap: a feed with 20 items holds a table for 20 ids, so thousands
 * of idle feeds stay small while a busy wire can remember up to `capacity` ids.
 * Internal to fetch; its contents are the feed state the publish stage persists (oldest first). */
#ifndef ND_FETCH_SEEN_H
#define ND_FETCH_SEEN_H

#include <stddef.h>
#include <stdint.h>

struct nd_seen;

struct nd_seen *nd_seen_new(size_t capacity);
void nd_seen_destroy(struct nd_seen *seen);
/* Look an id up: 0 not seen; 1 seen with the same content; 2 seen with other content (*version is
 * the version last emitted). */
int nd_seen_check(const struct nd_seen *seen, uint64_t id, uint64_t content, int *version);
/* Remember (or update) an id with its content hash and version; at capacity the oldest id goes. */
void nd_seen_put(struct nd_seen *seen, uint64_t id, uint64_t content, int version);
size_t nd_seen_count(const struct nd_seen *seen);
size_t nd_seen_capacity(const struct nd_seen *seen);
/* The i-th remembered id, oldest first (0 <= i < count). */
void nd_seen_get(const struct nd_seen *seen, size_t i, uint64_t *id, uint64_t *content, int *version);
/* Bytes of heap it holds (for memory accounting). */
size_t nd_seen_bytes(const struct nd_seen *seen);

#endif
