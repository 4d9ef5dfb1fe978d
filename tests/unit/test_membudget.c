#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "core/membudget.h"
#include "story/story.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_full_until_the_low_watermark(void **state)
{
    struct nd_membudget *b = nd_membudget_new(1000, 750);
    (void)state;
    nd_log_set_level(ND_LOG_OFF);
    nd_membudget_reserve(b, 600);
    assert_int_equal(nd_membudget_used(b), 600);
    assert_false(nd_membudget_full(b));
    assert_true(nd_membudget_admit(b, ND_MEM_FETCH, 0));
    nd_membudget_reserve(b, 400); /* reaches the limit: reserving never fails, the sources pause */
    assert_true(nd_membudget_full(b));
    assert_false(nd_membudget_admit(b, ND_MEM_FETCH, 0));
    nd_membudget_release(b, 200); /* 800: below the limit, above the low watermark: still paused */
    assert_true(nd_membudget_full(b));
    assert_false(nd_membudget_admit(b, ND_MEM_CONSUME, 0));
    nd_membudget_release(b, 50); /* 750: drained to the watermark */
    assert_false(nd_membudget_full(b));
    assert_true(nd_membudget_admit(b, ND_MEM_FETCH, 0));
    assert_int_equal(nd_membudget_peak(b), 1000);
    assert_int_equal(nd_membudget_limit(b), 1000);
    /* an over-release (a caller's bug) floors at zero instead of wrapping around */
    nd_membudget_release(b, 10000);
    assert_int_equal(nd_membudget_used(b), 0);
    nd_membudget_destroy(b);
}

/* Work expected to bring more than what is left waits; alone (budget drained to a quarter) it goes.
 */
static void test_cost_must_fit(void **state)
{
    struct nd_membudget *b = nd_membudget_new(1000, 750);
    (void)state;
    nd_membudget_reserve(b, 600);
    assert_true(nd_membudget_admit(b, ND_MEM_FETCH, 400));
    assert_false(nd_membudget_admit(b, ND_MEM_FETCH, 401));
    assert_false(nd_membudget_full(b));
    nd_membudget_release(b, 350); /* 250: a quarter */
    assert_true(nd_membudget_admit(b, ND_MEM_FETCH, 5000));
    nd_membudget_destroy(b);
}

static void test_backpressure_clock_per_stage(void **state)
{
    struct nd_membudget *b = nd_membudget_new(100, 50);
    double during, after;
    (void)state;
    nd_membudget_reserve(b, 100);
    assert_false(nd_membudget_admit(b, ND_MEM_FETCH, 0));
    sleep_ms(60);
    during = nd_membudget_paused_seconds(b, ND_MEM_FETCH);
    assert_true(during >= 0.05);
    /* the consume clock only runs once consume has asked */
    assert_true(nd_membudget_paused_seconds(b, ND_MEM_CONSUME) == 0);
    nd_membudget_release(b, 60);
    assert_true(nd_membudget_admit(b, ND_MEM_FETCH, 0));
    after = nd_membudget_paused_seconds(b, ND_MEM_FETCH);
    sleep_ms(30);
    /* stopped: it counts no more once running again */
    assert_true(nd_membudget_paused_seconds(b, ND_MEM_FETCH) == after);
    assert_true(after >= during);
    assert_int_equal(nd_membudget_pauses(b, ND_MEM_FETCH), 1);
    nd_membudget_destroy(b);
}

static void test_null_budget_admits_everything(void **state)
{
    (void)state;
    nd_membudget_reserve(NULL, 10);
    nd_membudget_release(NULL, 10);
    assert_true(nd_membudget_admit(NULL, ND_MEM_FETCH, 0));
    assert_int_equal(nd_membudget_used(NULL), 0);
    nd_membudget_destroy(NULL);
}

struct worker {
    struct nd_membudget *b;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        nd_membudget_reserve(w->b, 7);
        nd_membudget_release(w->b, 7);
    }
    return NULL;
}

static void test_threads_balance(void **state)
{
    struct nd_membudget *b = nd_membudget_new(1 << 20, 1 << 19);
    pthread_t t[4];
    struct worker w = {b};
    (void)state;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, &w);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(nd_membudget_used(b), 0);
    nd_membudget_destroy(b);
}

/* A story holds its bytes in the budget from account to destroy, growing as enrich adds to it. */
static void test_story_accounting(void **state)
{
    struct nd_membudget *b = nd_membudget_new(1 << 20, 1 << 19);
    struct nd_story *story = nd_story_new();
    size_t before;
    (void)state;
    nd_story_set(&story->body_text,
                 "GENEVA (Wire) - Ministers met on Tuesday to talk about trade.");
    nd_story_account(story, b);
    before = nd_membudget_used(b);
    assert_true(before >= sizeof(*story));
    assert_int_equal(before, nd_story_mem(story));
    json_object_set_new(story->annotations, "entities",
                        json_pack("[{s:s, s:i}]", "name", "Geneva", "start", 0));
    nd_story_account(story, b);
    assert_true(nd_membudget_used(b) > before);
    assert_int_equal(nd_membudget_used(b), nd_story_mem(story));
    nd_story_destroy(story);
    assert_int_equal(nd_membudget_used(b), 0);
    nd_membudget_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_until_the_low_watermark),
        cmocka_unit_test(test_cost_must_fit),
        cmocka_unit_test(test_backpressure_clock_per_stage),
        cmocka_unit_test(test_null_budget_admits_everything),
        cmocka_unit_test(test_threads_balance),
        cmocka_unit_test(test_story_accounting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
