/* pkg/core/alloc.c: the daemon's allocator settings (freed pages decommitted at once), and an
 * operator's MIMALLOC_* environment winning over them. Only a mimalloc build has settings to check;
 * the sanitizer builds use their own allocator and nd_alloc_tune is empty there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"

#ifdef NEWSD_WITH_MIMALLOC
#include <mimalloc.h>

static void test_delays_zero(void **state)
{
    (void)state;
    unsetenv("MIMALLOC_DECOMMIT_DELAY");
    unsetenv("MIMALLOC_SEGMENT_DECOMMIT_DELAY");
    mi_option_set(mi_option_decommit_delay, 25);
    mi_option_set(mi_option_segment_decommit_delay, 500);
    nd_alloc_tune();
    assert_int_equal(mi_option_get(mi_option_decommit_delay), 0);
    assert_int_equal(mi_option_get(mi_option_segment_decommit_delay), 0);
}

/* mimalloc reads its environment once at start; what it read then is left alone. */
static void test_environment_wins(void **state)
{
    (void)state;
    setenv("MIMALLOC_DECOMMIT_DELAY", "77", 1);
    setenv("MIMALLOC_SEGMENT_DECOMMIT_DELAY", "88", 1);
    mi_option_set(mi_option_decommit_delay, 77);
    mi_option_set(mi_option_segment_decommit_delay, 88);
    nd_alloc_tune();
    assert_int_equal(mi_option_get(mi_option_decommit_delay), 77);
    assert_int_equal(mi_option_get(mi_option_segment_decommit_delay), 88);
}
#endif

int main(void)
{
#ifdef NEWSD_WITH_MIMALLOC
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_zero),
        cmocka_unit_test(test_environment_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    nd_alloc_tune();
    printf("test_alloc: allocator %s: no mimalloc settings in this build\n", NEWSD_ALLOCATOR);
    return 0;
#endif
}
