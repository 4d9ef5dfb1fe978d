#include "fetch/seen.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* Open addressing (linear probing) at most half full, with a FIFO ring of insertion order for
 * eviction. Deletion uses backward-shift so no tombstones build up. Both arrays start small and double
 * up to the capacity; eviction only begins once the ring has reached the capacity, so while the ring
 * grows it is never wrapped (head is 0) and a plain realloc keeps its order. */
struct entry {
    uint64_t id; /* 0 = empty slot (ids are hashes; 0 is remapped to 1) */
    uint64_t content;
    int version;
};

struct nd_seen {
    struct entry *slots;
    size_t nslots; /* power of two, >= 2 * ring size */
    uint64_t *ring; /* insertion order */
    size_t ralloc, cap, head, count;
};

#define INITIAL 4

struct nd_seen *nd_seen_new(size_t capacity)
{
    struct nd_seen *seen = nd_xcalloc(1, sizeof(*seen));
    seen->cap = capacity < 1 ? 1 : capacity;
    return seen;
}

void nd_seen_destroy(struct nd_seen *seen)
{
    if (!seen)
        return;
    free(seen->slots);
    free(seen->ring);
    free(seen);
}

static uint64_t fix(uint64_t id)
{
    return id ? id : 1;
}

static size_t home_of(uint64_t id, size_t mask)
{
    return (size_t)(id * 0x9E3779B97F4A7C15ull >> 17) & mask;
}

static size_t find(const struct nd_seen *seen, uint64_t id)
{
    size_t mask = seen->nslots - 1, i = home_of(id, mask);
    while (seen->slots[i].id && seen->slots[i].id != id)
        i = (i + 1) & mask;
    return i;
}

int nd_seen_check(const struct nd_seen *seen, uint64_t id, uint64_t content, int *version)
{
    const struct entry *e;
    if (!seen->count)
        return 0;
    e = &seen->slots[find(seen, fix(id))];
    if (!e->id)
        return 0;
    if (version)
        *version = e->version;
    return e->content == content ? 1 : 2;
}

static void remove_id(struct nd_seen *seen, uint64_t id)
{
    size_t mask = seen->nslots - 1, i = find(seen, id), j;
    if (!seen->slots[i].id)
        return;
    seen->slots[i].id = 0;
    /* backward-shift the cluster after i */
    for (j = (i + 1) & mask; seen->slots[j].id; j = (j + 1) & mask) {
        size_t home = home_of(seen->slots[j].id, mask);
        /* move j to i if home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            seen->slots[i] = seen->slots[j];
            seen->slots[j].id = 0;
            i = j;
        }
    }
}

/* Grow the ring to n entries and the table to at least 2n slots, rehashing. */
static void grow(struct nd_seen *seen, size_t n)
{
    struct entry *old = seen->slots;
    size_t oldn = seen->nslots, nslots = 8;
    uint64_t *ring = realloc(seen->ring, n * sizeof(*ring));
    if (!ring)
        abort();
    seen->ring = ring;
    seen->ralloc = n;
    while (nslots < 2 * n)
        nslots *= 2;
    if (nslots == oldn)
        return;
    seen->slots = nd_xcalloc(nslots, sizeof(*seen->slots));
    seen->nslots = nslots;
    for (size_t i = 0; i < oldn; i++)
        if (old[i].id)
            seen->slots[find(seen, old[i].id)] = old[i];
    free(old);
}

void nd_seen_put(struct nd_seen *seen, uint64_t id, uint64_t content, int version)
{
    size_t i;
    id = fix(id);
    if (seen->count) {
        i = find(seen, id);
        if (seen->slots[i].id) {
            seen->slots[i].content = content;
            seen->slots[i].version = version;
            return;
        }
    }
    if (seen->count == seen->cap) {
        remove_id(seen, seen->ring[seen->head]);
        seen->head = (seen->head + 1) % seen->ralloc;
        seen->count--;
    } else if (seen->count == seen->ralloc) {
        size_t n = seen->ralloc ? seen->ralloc * 2 : INITIAL;
        grow(seen, n < seen->cap ? n : seen->cap);
    }
    i = find(seen, id);
    seen->slots[i].id = id;
    seen->slots[i].content = content;
    seen->slots[i].version = version;
    seen->ring[(seen->head + seen->count) % seen->ralloc] = id;
    seen->count++;
}

size_t nd_seen_count(const struct nd_seen *seen)
{
    return seen->count;
}

size_t nd_seen_capacity(const struct nd_seen *seen)
{
    return seen->cap;
}

void nd_seen_get(const struct nd_seen *seen, size_t i, uint64_t *id, uint64_t *content, int *version)
{
    uint64_t key = seen->ring[(seen->head + i) % seen->ralloc];
    const struct entry *e = &seen->slots[find(seen, key)];
    *id = e->id;
    *content = e->content;
    *version = e->version;
}

size_t nd_seen_bytes(const struct nd_seen *seen)
{
    return sizeof(*seen) + seen->nslots * sizeof(*seen->slots) + seen->ralloc * sizeof(*seen->ring);
}
