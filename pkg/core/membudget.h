/* membudget: one account of the bytes newsd buffers between its sources and Kafka
 * (memory.limit_mb).
 *
 * Fluent Bit's mem_buf_limit, for a pipeline that must not lose anything: every stage that holds
 * data on its way to Kafka reserves its bytes here (fetch: response bodies being read and parsed
 * stories; enrich: what enrichment adds to a story; publish: the records of the open transaction
 * and librdkafka's copies of them) and releases them when it lets go. Reserving never fails (the
 * bytes are already held); instead, once the total reaches the limit the budget is "full" and the
 * sources (fetch scheduling polls, the Kafka source consuming) take no new work until publish has
 * drained it below the low watermark. The stages in between never wait on the budget, so the units
 * already in the pipeline always complete and commit: backpressure, never loss, and nothing to lose
 * on restart since the sources resume from the committed state.
 *
 * Thread-safe: atomic counters. Every function accepts a NULL budget (no accounting). */
#ifndef ND_MEMBUDGET_H
#define ND_MEMBUDGET_H

#include <stddef.h>
#include <stdint.h>

/* The sources that pause; each has its own backpressure clock. */
enum nd_mem_stage { ND_MEM_FETCH = 0, ND_MEM_CONSUME, ND_MEM_NSTAGES };
const char *nd_mem_stage_name(enum nd_mem_stage stage);

struct nd_membudget;

/* limit: bytes at which the sources pause; low: bytes below which they resume (< limit). */
struct nd_membudget *nd_membudget_new(size_t limit, size_t low);
void nd_membudget_destroy(struct nd_membudget *budget);

void nd_membudget_reserve(struct nd_membudget *budget, size_t bytes);
void nd_membudget_release(struct nd_membudget *budget, size_t bytes);

size_t nd_membudget_used(const struct nd_membudget *budget);
size_t nd_membudget_peak(const struct nd_membudget *budget);
size_t nd_membudget_limit(const struct nd_membudget *budget);
/* 1 from the moment the total reaches the limit until it falls below the low watermark. */
int nd_membudget_full(const struct nd_membudget *budget);

/* May `stage` start new work expected to bring `cost` bytes (0: unknown)? 0 while the budget is
 * full, and while the cost does not fit under the limit, unless the budget is drained to a quarter
 * (so a unit of work larger than the budget is still taken, alone). Called by the stage's own
 * thread (one thread per stage): it also keeps that stage's backpressure clock, which runs from the
 * first call that answered 0 to the first that answers 1 again. */
int nd_membudget_admit(struct nd_membudget *budget, enum nd_mem_stage stage, size_t cost);
/* Seconds `stage` has spent paused (the current pause included), and its number of pauses. */
double nd_membudget_paused_seconds(const struct nd_membudget *budget, enum nd_mem_stage stage);
uint64_t nd_membudget_pauses(const struct nd_membudget *budget, enum nd_mem_stage stage);

#endif
