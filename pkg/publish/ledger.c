#include "publish/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* A deque of units in sequence order. Sequences are dense per source but interleave across
 * sources, so lookups by seq are a binary search over the ring. */
struct nd_ledger {
    struct nd_unit **ring;
    size_t cap, head, count;
};

struct nd_ledger *nd_ledger_new(void)
{
    struct nd_ledger *ledger = nd_xcalloc(1, sizeof(*ledger));
    ledger->cap = 64;
    ledger->ring = nd_xcalloc(ledger->cap, sizeof(*ledger->ring));
    return ledger;
}

void nd_unit_free(struct nd_unit *unit)
{
    if (!unit)
        return;
    free(unit->feed_id);
    free(unit->topic);
    json_decref(unit->state);
    free(unit);
}

void nd_ledger_destroy(struct nd_ledger *ledger)
{
    if (!ledger)
        return;
    for (size_t i = 0; i < ledger->count; i++)
        nd_unit_free(ledger->ring[(ledger->head + i) % ledger->cap]);
    free(ledger->ring);
    free(ledger);
}

static struct nd_unit *at(const struct nd_ledger *ledger, size_t i)
{
    return ledger->ring[(ledger->head + i) % ledger->cap];
}

static struct nd_unit *find(const struct nd_ledger *ledger, uint64_t seq)
{
    size_t lo = 0, hi = ledger->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct nd_unit *u = at(ledger, mid);
        if (u->seq == seq)
            return u;
        if (u->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct nd_unit *nd_ledger_open(struct nd_ledger *ledger, uint64_t seq, enum nd_unit_kind kind)
{
    struct nd_unit *unit;
    if (ledger->count && at(ledger, ledger->count - 1)->seq >= seq)
        abort(); /* broken invariant: sources open units in order */
    if (ledger->count == ledger->cap) {
        struct nd_unit **ring = nd_xcalloc(ledger->cap * 2, sizeof(*ring));
        for (size_t i = 0; i < ledger->count; i++)
            ring[i] = at(ledger, i);
        free(ledger->ring);
        ledger->ring = ring;
        ledger->head = 0;
        ledger->cap *= 2;
    }
    unit = nd_xcalloc(1, sizeof(*unit));
    unit->seq = seq;
    unit->kind = kind;
    unit->partition = -1;
    unit->offset = -1;
    ledger->ring[(ledger->head + ledger->count) % ledger->cap] = unit;
    ledger->count++;
    return unit;
}

int nd_ledger_close(struct nd_ledger *ledger, uint64_t seq, size_t expected, json_t *state)
{
    struct nd_unit *unit = find(ledger, seq);
    if (!unit) {
        json_decref(state);
        return -1;
    }
    unit->closed = 1;
    unit->expected = expected;
    json_decref(unit->state);
    unit->state = state;
    return 0;
}

void nd_ledger_produced(struct nd_ledger *ledger, uint64_t seq)
{
    struct nd_unit *unit = find(ledger, seq);
    if (unit)
        unit->produced++;
}

struct nd_unit *nd_ledger_pop_complete(struct nd_ledger *ledger)
{
    struct nd_unit *unit;
    if (!ledger->count)
        return NULL;
    unit = at(ledger, 0);
    if (!unit->closed || unit->produced < unit->expected)
        return NULL;
    ledger->ring[ledger->head] = NULL;
    ledger->head = (ledger->head + 1) % ledger->cap;
    ledger->count--;
    return unit;
}

uint64_t nd_ledger_oldest(const struct nd_ledger *ledger)
{
    return ledger->count ? at(ledger, 0)->seq : UINT64_MAX;
}

size_t nd_ledger_count(const struct nd_ledger *ledger)
{
    return ledger->count;
}
