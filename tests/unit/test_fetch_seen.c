#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fetch/seen.h"

static void test_new_same_changed(void **state)
{
    struct nd_seen *seen = nd_seen_new(8);
    int version = 0;
    (void)state;
    assert_int_equal(nd_seen_check(seen, 42, 7, &version), 0);
    nd_seen_put(seen, 42, 7, 1);
    assert_int_equal(nd_seen_check(seen, 42, 7, &version), 1);
    assert_int_equal(nd_seen_check(seen, 42, 8, &version), 2);
    assert_int_equal(version, 1);
    nd_seen_put(seen, 42, 8, 2);
    assert_int_equal(nd_seen_check(seen, 42, 8, &version), 1);
    assert_int_equal(version, 2);
    assert_int_equal(nd_seen_count(seen), 1);
    /* id 0 is a legal hash */
    nd_seen_put(seen, 0, 1, 1);
    assert_int_equal(nd_seen_check(seen, 0, 1, NULL), 1);
    nd_seen_destroy(seen);
    nd_seen_destroy(NULL);
}

static void test_bounded_fifo_eviction(void **state)
{
    struct nd_seen *seen = nd_seen_new(100);
    (void)state;
    for (uint64_t i = 1; i <= 1000; i++)
        nd_seen_put(seen, i * 0x10001, i, 1);
    assert_int_equal(nd_seen_count(seen), 100);
    /* the oldest 900 are forgotten, the newest 100 remembered, in order */
    for (uint64_t i = 1; i <= 900; i++)
        assert_int_equal(nd_seen_check(seen, i * 0x10001, i, NULL), 0);
    for (uint64_t i = 901; i <= 1000; i++)
        assert_int_equal(nd_seen_check(seen, i * 0x10001, i, NULL), 1);
    for (size_t i = 0; i < 100; i++) {
        uint64_t id, content;
        int version;
        nd_seen_get(seen, i, &id, &content, &version);
        assert_true(id == (901 + i) * 0x10001);
        assert_true(content == 901 + i);
    }
    /* the table never grows past what the capacity needs */
    assert_true(nd_seen_bytes(seen) < 100 * 80);
    nd_seen_destroy(seen);
}

static void test_grows_with_use(void **state)
{
    struct nd_seen *seen = nd_seen_new(100000);
    size_t empty = nd_seen_bytes(seen), small;
    (void)state;
    for (uint64_t i = 1; i <= 20; i++)
        nd_seen_put(seen, i, i, 1);
    small = nd_seen_bytes(seen);
    /* an idle feed with 20 items holds about 20 ids, not the cap */
    assert_true(small - empty < 2048);
    for (uint64_t i = 21; i <= 5000; i++)
        nd_seen_put(seen, i, i, 1);
    for (uint64_t i = 1; i <= 5000; i++)
        assert_int_equal(nd_seen_check(seen, i, i, NULL), 1);
    nd_seen_destroy(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_same_changed),
        cmocka_unit_test(test_bounded_fifo_eviction),
        cmocka_unit_test(test_grows_with_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
