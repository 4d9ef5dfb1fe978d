#include "fetch/seen.h"

#include <stdlib.h>

#include "core/core.h"

/* Open addressing (linear probing) over twice the capacity, with a FIFO ring of insertion order for
 * eviction. Deletion uses backward-shift so no tombstones build up. */
struct entry {
    uint64_t id;      /* 0 = empty slot (ids are hashes; 0 is remapped to 1) */
    uint64_t content;
    int version;
};

struct nd_seen {
    struct entry *slots;
    size_t nslots;    /* power of two */
    uint64_t *ring;   /* insertion order */
    size_t cap, head, count;
};

struct nd_seen *nd_seen_new(size_t capacity)
{
    struct nd_seen *seen = nd_xcalloc(1, sizeof(*seen));
    size_t n = 16;
    if (capacity < 1)
        capacity = 1;
    while (n < capacity * 2)
        n *= 2;
    seen->slots = nd_xcalloc(n, sizeof(*seen->slots));
    seen->nslots = n;
    seen->ring = nd_xcalloc(capacity, sizeof(*seen->ring));
    seen->cap = capacity;
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

static size_t find(const struct nd_seen *seen, uint64_t id)
{
    size_t mask = seen->nslots - 1, i = (size_t)(id * 0x9E3779B97F4A7C15ull) & mask;
    while (seen->slots[i].id && seen->slots[i].id != id)
        i = (i + 1) & mask;
    return i;
}

int nd_seen_check(const struct nd_seen *seen, uint64_t id, uint64_t content, int *version)
{
    const struct entry *e = &seen->slots[find(seen, fix(id))];
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
        size_t home = (size_t)(seen->slots[j].id * 0x9E3779B97F4A7C15ull) & mask;
        /* move j to i if home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            seen->slots[i] = seen->slots[j];
            seen->slots[j].id = 0;
            i = j;
        }
    }
}

void nd_seen_put(struct nd_seen *seen, uint64_t id, uint64_t content, int version)
{
    size_t i;
    id = fix(id);
    i = find(seen, id);
    if (seen->slots[i].id) {
        seen->slots[i].content = content;
        seen->slots[i].version = version;
        return;
    }
    if (seen->count == seen->cap) {
        remove_id(seen, seen->ring[seen->head]);
        seen->head = (seen->head + 1) % seen->cap;
        seen->count--;
        i = find(seen, id);
    }
    seen->slots[i].id = id;
    seen->slots[i].content = content;
    seen->slots[i].version = version;
    seen->ring[(seen->head + seen->count) % seen->cap] = id;
    seen->count++;
}

size_t nd_seen_count(const struct nd_seen *seen)
{
    return seen->count;
}

void nd_seen_get(const struct nd_seen *seen, size_t i, uint64_t *id, uint64_t *content, int *version)
{
    const struct entry *e = &seen->slots[find(seen, seen->ring[(seen->head + i) % seen->cap])];
    *id = e->id;
    *content = e->content;
    *version = e->version;
}
