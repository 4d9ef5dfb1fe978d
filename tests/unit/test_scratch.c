#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

static void test_nested_marks(void **state)
{
    size_t m0, m1;
    unsigned char *a, *b, *c, *z;
    (void)state;
    m0 = nd_scratch_mark();
    a = nd_scratch_alloc(100);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 16, 0);
    memset(a, 0xAA, 100);
    m1 = nd_scratch_mark();
    assert_true(m1 > m0);
    b = nd_scratch_alloc(3000);
    assert_non_null(b);
    assert_int_equal((uintptr_t)b % 16, 0);
    memset(b, 0xBB, 3000);
    z = nd_scratch_calloc(50, 8);
    assert_non_null(z);
    for (size_t i = 0; i < 400; i++)
        assert_int_equal(z[i], 0);
    /* an inner release keeps what was taken before its mark */
    nd_scratch_release(m1);
    assert_int_equal(nd_scratch_mark(), m1);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(a[i], 0xAA);
    /* the space is handed out again */
    c = nd_scratch_alloc(16);
    assert_non_null(c);
    nd_scratch_release(m0);
    assert_int_equal(nd_scratch_mark(), m0);
}

static void test_large_and_many(void **state)
{
    size_t m = nd_scratch_mark();
    unsigned char *big, *small[200];
    (void)state;
    /* larger than the kept chunk: its own chunk, freed on release */
    big = nd_scratch_alloc(5u << 20);
    assert_non_null(big);
    memset(big, 1, 5u << 20);
    /* many blocks spanning several chunks stay distinct */
    for (int i = 0; i < 200; i++) {
        small[i] = nd_scratch_alloc(10000);
        assert_non_null(small[i]);
        memset(small[i], i, 10000);
    }
    for (int i = 0; i < 200; i++)
        assert_int_equal(small[i][9999], (unsigned char)i);
    assert_int_equal(big[(5u << 20) - 1], 1);
    nd_scratch_release(m);
    assert_int_equal(nd_scratch_mark(), m);
    /* absurd sizes fail cleanly */
    assert_null(nd_scratch_alloc((size_t)-1));
    assert_null(nd_scratch_calloc((size_t)-1 / 2, 4));
}

static void *worker(void *arg)
{
    size_t m = nd_scratch_mark();
    int *v = nd_scratch_alloc(1000 * sizeof(int));
    (void)arg;
    if (!v)
        return NULL;
    for (int i = 0; i < 1000; i++)
        v[i] = i;
    nd_scratch_release(m);
    /* the thread ends holding its kept chunk: freed by the thread-exit destructor (LeakSanitizer
     * in the ASan run would report it otherwise) */
    return nd_scratch_alloc(64) ? arg : NULL;
}

static void test_threads_have_their_own(void **state)
{
    pthread_t t[4];
    int ok[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &ok[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_ptr_equal(r, &ok[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_marks),
        cmocka_unit_test(test_large_and_many),
        cmocka_unit_test(test_threads_have_their_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
