#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>

#include "queue/queue.h"

static void test_fifo_and_capacity(void **state)
{
    struct nd_queue *q = nd_queue_new(2);
    int a = 1, b = 2, c = 3;
    (void)state;
    assert_int_equal(nd_queue_try_push(q, &a), ND_OK);
    assert_int_equal(nd_queue_try_push(q, &b), ND_OK);
    /* full: refused, not dropped, and nothing is overwritten */
    assert_int_equal(nd_queue_try_push(q, &c), ND_ERR_AGAIN);
    assert_int_equal(nd_queue_push(q, &c, 10), ND_ERR_AGAIN);
    assert_int_equal(nd_queue_len(q), 2);
    assert_ptr_equal(nd_queue_pop(q, 0), &a);
    assert_int_equal(nd_queue_try_push(q, &c), ND_OK);
    assert_ptr_equal(nd_queue_pop(q, 0), &b);
    assert_ptr_equal(nd_queue_pop(q, 0), &c);
    assert_null(nd_queue_pop(q, 10));
    nd_queue_destroy(q, NULL);
}

static void test_close_drains_then_stops(void **state)
{
    struct nd_queue *q = nd_queue_new(4);
    int a = 1;
    (void)state;
    nd_queue_try_push(q, &a);
    nd_queue_close(q);
    assert_int_equal(nd_queue_try_push(q, &a), ND_ERR_AGAIN);
    assert_false(nd_queue_drained(q));
    assert_ptr_equal(nd_queue_pop(q, -1), &a);
    assert_true(nd_queue_drained(q));
    /* closed and empty: returns at once even with an infinite timeout */
    assert_null(nd_queue_pop(q, -1));
    nd_queue_destroy(q, NULL);
}

struct producer_arg {
    struct nd_queue *q;
    int base, n;
};

static void *producer(void *p)
{
    struct producer_arg *arg = p;
    for (int i = 0; i < arg->n; i++)
        nd_queue_push(arg->q, (void *)(intptr_t)(arg->base + i + 1), -1);
    return NULL;
}

static void test_threads_lose_nothing(void **state)
{
    enum { PRODUCERS = 4, EACH = 20000 };
    struct nd_queue *q = nd_queue_new(16);
    pthread_t threads[PRODUCERS];
    struct producer_arg args[PRODUCERS];
    static unsigned char seen[PRODUCERS * EACH + 1];
    (void)state;
    for (int t = 0; t < PRODUCERS; t++) {
        args[t] = (struct producer_arg){q, t * EACH, EACH};
        pthread_create(&threads[t], NULL, producer, &args[t]);
    }
    for (int i = 0; i < PRODUCERS * EACH; i++) {
        intptr_t v = (intptr_t)nd_queue_pop(q, 5000);
        assert_true(v > 0 && v <= PRODUCERS * EACH);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
    }
    for (int t = 0; t < PRODUCERS; t++)
        pthread_join(threads[t], NULL);
    assert_int_equal(nd_queue_len(q), 0);
    nd_queue_destroy(q, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_capacity),
        cmocka_unit_test(test_close_drains_then_stops),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
