/* The process allocator's settings for the daemon, whose resident memory should follow what
 * memory.limit_mb counts (docs/OPERATIONS.md, "Memory sizing").
 *
 * mimalloc 2.0 decommits the pages a thread frees only after a delay (25 ms for pages, 500 ms for
 * whole segments), and only when that thread next allocates or frees: the delay is checked on the
 * thread's own allocator calls, never by a timer. newsd's threads go idle exactly when memory
 * matters, while the memory budget has paused the sources (fetch and enrich workers wait, publish
 * waits on the broker), so the pages freed by a burst stayed resident: 10 MiB more in the steady
 * state of tests/integration/test_memory.py, and a peak at the catch-up after a broker freeze, where
 * the batch's memory was freed by one thread while others allocated afresh. Decommitting at once
 * returns them when they are freed. The cost is an madvise per freed span, which bench_enrich does
 * not show (docs/OPERATIONS.md).
 *
 * An operator's MIMALLOC_DECOMMIT_DELAY / MIMALLOC_SEGMENT_DECOMMIT_DELAY still win. Without
 * mimalloc (sanitizers, fuzzing, -DNEWSD_MIMALLOC=OFF) this does nothing. */
#include "core/core.h"

#include <stdlib.h>

#ifdef NEWSD_WITH_MIMALLOC
#include <mimalloc.h>

static void option_default(mi_option_t option, const char *env, long value)
{
    if (!getenv(env))
        mi_option_set(option, value);
}
#endif

void nd_alloc_tune(void)
{
#ifdef NEWSD_WITH_MIMALLOC
    option_default(mi_option_decommit_delay, "MIMALLOC_DECOMMIT_DELAY", 0);
    option_default(mi_option_segment_decommit_delay, "MIMALLOC_SEGMENT_DECOMMIT_DELAY", 0);
#endif
}
