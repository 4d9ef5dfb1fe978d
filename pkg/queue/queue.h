/* queue: a bounded multi-producer multi-consumer queue of pointers between stages.
 *
 * A full queue never drops: nd_queue_try_push fails with ND_ERR_AGAIN and the producer stops taking new
 * work (backpressure). Ownership of an element passes to the queue on push and to the caller on pop. */
#ifndef ND_QUEUE_H
#define ND_QUEUE_H

#include <stddef.h>

#include "core/core.h"

struct nd_queue;

struct nd_queue *nd_queue_new(size_t capacity);
/* Frees the queue; elements still inside are passed to free_fn (may be NULL). */
void nd_queue_destroy(struct nd_queue *q, void (*free_fn)(void *));

enum nd_err nd_queue_try_push(struct nd_queue *q, void *item);       /* ND_ERR_AGAIN when full */
/* Blocks up to timeout_ms (-1: forever) for room. ND_ERR_AGAIN on timeout or when closed. */
enum nd_err nd_queue_push(struct nd_queue *q, void *item, int timeout_ms);
/* Blocks up to timeout_ms (-1: forever) for an element. NULL on timeout, or when closed and empty. */
void *nd_queue_pop(struct nd_queue *q, int timeout_ms);
/* After close, pushes fail and pops drain what is left, then return NULL at once. */
void nd_queue_close(struct nd_queue *q);
size_t nd_queue_len(struct nd_queue *q);
/* 1 when the queue is closed and empty: its consumer can stop. */
int nd_queue_drained(struct nd_queue *q);
size_t nd_queue_capacity(const struct nd_queue *q);

#endif
