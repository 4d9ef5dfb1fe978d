#include "core/membudget.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "core/core.h"

#define MOD "memory"

struct stage_clock {
    _Atomic int64_t since_ms; /* monotonic ms the current pause began; 0: running */
    _Atomic int64_t total_ms; /* finished pauses */
    _Atomic uint64_t pauses;
};

struct nd_membudget {
    size_t limit, low;
    _Atomic size_t used, peak;
    _Atomic int full;
    _Atomic int64_t full_since_ms;
    struct stage_clock clocks[ND_MEM_NSTAGES];
};

static const char *const stage_names[ND_MEM_NSTAGES] = {"fetch", "consume"};

const char *nd_mem_stage_name(enum nd_mem_stage stage)
{
    return (unsigned)stage < ND_MEM_NSTAGES ? stage_names[stage] : "unknown";
}

struct nd_membudget *nd_membudget_new(size_t limit, size_t low)
{
    struct nd_membudget *budget = nd_xcalloc(1, sizeof(*budget));
    budget->limit = limit ? limit : 1;
    budget->low = low < budget->limit ? low : budget->limit - 1;
    return budget;
}

void nd_membudget_destroy(struct nd_membudget *budget)
{
    free(budget);
}

static size_t mib(size_t bytes)
{
    return (bytes + (1u << 19)) >> 20;
}

void nd_membudget_reserve(struct nd_membudget *budget, size_t bytes)
{
    size_t used, peak;
    if (!budget || !bytes)
        return;
    used = atomic_fetch_add(&budget->used, bytes) + bytes;
    peak = atomic_load(&budget->peak);
    while (used > peak && !atomic_compare_exchange_weak(&budget->peak, &peak, used))
        ;
    if (used >= budget->limit && !atomic_exchange(&budget->full, 1)) {
        atomic_store(&budget->full_since_ms, nd_mono_ms());
        nd_info(MOD,
                "memory.limit_mb reached (%zu MiB buffered): sources paused until publish "
                "drains below %zu MiB",
                mib(used), mib(budget->low));
    }
}

void nd_membudget_release(struct nd_membudget *budget, size_t bytes)
{
    size_t used, cur;
    if (!budget || !bytes)
        return;
    cur = atomic_load(&budget->used);
    do {
        /* never below zero, whatever a caller's estimate did: a bug here must not wedge the sources
         */
        used = bytes > cur ? 0 : cur - bytes;
    } while (!atomic_compare_exchange_weak(&budget->used, &cur, used));
    if (used <= budget->low && atomic_load(&budget->full) && atomic_exchange(&budget->full, 0))
        nd_info(MOD, "buffered memory down to %zu MiB: sources resumed after %.1f s", mib(used),
                (double)(nd_mono_ms() - atomic_load(&budget->full_since_ms)) / 1000.0);
}

size_t nd_membudget_used(const struct nd_membudget *budget)
{
    return budget ? atomic_load(&budget->used) : 0;
}

size_t nd_membudget_peak(const struct nd_membudget *budget)
{
    return budget ? atomic_load(&budget->peak) : 0;
}

size_t nd_membudget_limit(const struct nd_membudget *budget)
{
    return budget ? budget->limit : 0;
}

int nd_membudget_full(const struct nd_membudget *budget)
{
    return budget ? atomic_load(&budget->full) : 0;
}

int nd_membudget_admit(struct nd_membudget *budget, enum nd_mem_stage stage, size_t cost)
{
    struct stage_clock *clock;
    int64_t since;
    size_t used;
    if (!budget || (unsigned)stage >= ND_MEM_NSTAGES)
        return 1;
    clock = &budget->clocks[stage];
    since = atomic_load(&clock->since_ms);
    used = atomic_load(&budget->used);
    if (atomic_load(&budget->full) || (used + cost > budget->limit && used > budget->limit / 4)) {
        if (!since) {
            /* 0 means running: a pause that begins at monotonic 0 is recorded as 1 ms */
            int64_t now = nd_mono_ms();
            atomic_store(&clock->since_ms, now ? now : 1);
            atomic_fetch_add(&clock->pauses, 1);
        }
        return 0;
    }
    if (since) {
        atomic_fetch_add(&clock->total_ms, nd_mono_ms() - since);
        atomic_store(&clock->since_ms, 0);
    }
    return 1;
}

double nd_membudget_paused_seconds(const struct nd_membudget *budget, enum nd_mem_stage stage)
{
    const struct stage_clock *clock;
    int64_t total, since;
    if (!budget || (unsigned)stage >= ND_MEM_NSTAGES)
        return 0;
    clock = &budget->clocks[stage];
    /* total first: a pause that ends between the two loads is then missing from this one reading,
     * never counted twice (a counter must not go down on the next scrape) */
    total = atomic_load(&clock->total_ms);
    since = atomic_load(&clock->since_ms);
    if (since)
        total += nd_mono_ms() - since;
    return (double)total / 1000.0;
}

uint64_t nd_membudget_pauses(const struct nd_membudget *budget, enum nd_mem_stage stage)
{
    if (!budget || (unsigned)stage >= ND_MEM_NSTAGES)
        return 0;
    return atomic_load(&budget->clocks[stage].pauses);
}
