#include "queue/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct nd_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **ring;
    size_t cap, head, len;
    int closed;
};

struct nd_queue *nd_queue_new(size_t capacity)
{
    struct nd_queue *q = nd_xcalloc(1, sizeof(*q));
    pthread_condattr_t attr;

    if (capacity == 0)
        capacity = 1;
    q->ring = nd_xcalloc(capacity, sizeof(void *));
    q->cap = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &attr);
    pthread_cond_init(&q->not_full, &attr);
    pthread_condattr_destroy(&attr);
    return q;
}

void nd_queue_destroy(struct nd_queue *q, void (*free_fn)(void *))
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++) {
        void *item = q->ring[(q->head + i) % q->cap];
        if (free_fn)
            free_fn(item);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q);
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void put_locked(struct nd_queue *q, void *item)
{
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
}

enum nd_err nd_queue_try_push(struct nd_queue *q, void *item)
{
    enum nd_err err = ND_ERR_AGAIN;
    pthread_mutex_lock(&q->lock);
    if (!q->closed && q->len < q->cap) {
        put_locked(q, item);
        err = ND_OK;
    }
    pthread_mutex_unlock(&q->lock);
    return err;
}

enum nd_err nd_queue_push(struct nd_queue *q, void *item, int timeout_ms)
{
    struct timespec deadline;
    enum nd_err err = ND_ERR_AGAIN;

    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (!q->closed && q->len == q->cap) {
        if (timeout_ms < 0)
            pthread_cond_wait(&q->not_full, &q->lock);
        else if (pthread_cond_timedwait(&q->not_full, &q->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (!q->closed && q->len < q->cap) {
        put_locked(q, item);
        err = ND_OK;
    }
    pthread_mutex_unlock(&q->lock);
    return err;
}

void *nd_queue_pop(struct nd_queue *q, int timeout_ms)
{
    struct timespec deadline;
    void *item = NULL;

    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (!q->closed && q->len == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&q->not_empty, &q->lock);
        else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (q->len > 0) {
        item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

void nd_queue_close(struct nd_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

size_t nd_queue_len(struct nd_queue *q)
{
    size_t n;
    pthread_mutex_lock(&q->lock);
    n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

int nd_queue_drained(struct nd_queue *q)
{
    int drained;
    pthread_mutex_lock(&q->lock);
    drained = q->closed && q->len == 0;
    pthread_mutex_unlock(&q->lock);
    return drained;
}

size_t nd_queue_capacity(const struct nd_queue *q)
{
    return q->cap;
}
