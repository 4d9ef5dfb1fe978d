/* SimHash fingerprints and the multi-index of recent fingerprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert_helpers.h"

static uint64_t fp_of(const char *fixture)
{
    struct nd_story *story = fixture_story(fixture);
    char buf[8192];
    uint64_t fp;
    snprintf(buf, sizeof(buf), "%s\n%s", story->headline, story->body_text);
    fp = nd_simhash(buf, strlen(buf));
    nd_story_destroy(story);
    return fp;
}

static void test_copies_close_others_far(void **state)
{
    uint64_t a = fp_of("talks-a"), b = fp_of("talks-b-copy"), c = fp_of("talks-c-rewrite"),
             e = fp_of("escalation"), u = fp_of("unrelated");
    (void)state;
    assert_int_equal(a, fp_of("talks-a")); /* deterministic */
    assert_true(nd_hamming(a, b) <= 6);    /* another outlet's copy */
    assert_true(nd_hamming(a, c) > 6);     /* a real rewrite is its own story */
    assert_true(nd_hamming(a, e) > 10);
    assert_true(nd_hamming(a, u) > 10);
    /* case and punctuation do not matter; word order within pairs does a little */
    assert_int_equal(nd_simhash("The Foreign Minister, met: counterparts!", 40),
                     nd_simhash("the foreign minister met counterparts", 37));
    /* empty and odd input are fine */
    assert_int_equal(nd_simhash("", 0), 0);
    nd_simhash("\xff\xfe\x00\x01", 4);
}

/* Random fingerprints: the index must find exactly what a brute-force scan of the entries it still
 * holds finds (it holds the last half: the first half was overwritten). */
static void test_index_matches_brute_force(void **state)
{
    enum { N = 3000, Q = 500 };
    static uint64_t fps[N];
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (int distance = 0; distance <= 15; distance += 3) {
        struct nd_dedup *dedup = nd_dedup_new(N / 2, distance);
        char id[17];
        for (int i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            fps[i] = x;
            snprintf(id, sizeof(id), "%016d", i);
            nd_dedup_add(dedup, fps[i], id, "dev", 1000 + i);
        }
        for (int q = 0; q < Q; q++) {
            struct nd_dedup_hit hit;
            uint64_t probe = fps[(q * 7) % N]; /* half of them forgotten */
            int best = 99, found;
            /* flip `q % (distance + 3)` bits: some within the distance, some beyond */
            for (int k = 0; k < q % (distance + 3); k++)
                probe ^= 1ULL << ((q * 13 + k * 29) % 64);
            for (int i = N / 2; i < N; i++)
                if (nd_hamming(probe, fps[i]) < best)
                    best = nd_hamming(probe, fps[i]);
            found = nd_dedup_find(dedup, probe, NULL, 0, &hit);
            assert_int_equal(found, best <= distance);
            if (found)
                assert_int_equal(hit.distance, best);
        }
        assert_int_equal(nd_dedup_count(dedup), N / 2);
        nd_dedup_destroy(dedup);
    }
}

static void test_index_bounded_window_and_same_story(void **state)
{
    struct nd_dedup *dedup = nd_dedup_new(16, 3);
    struct nd_dedup_hit hit;
    char id[17];
    (void)state;
    nd_dedup_add(dedup, 0xabcdef, "s-original", "dev-1", 1000);
    /* the same story (a new version) is not a copy of itself */
    assert_false(nd_dedup_find(dedup, 0xabcdef, "s-original", 0, &hit));
    assert_true(nd_dedup_find(dedup, 0xabcdee, "s-other", 0, &hit));
    assert_string_equal(hit.story_id, "s-original");
    assert_string_equal(hit.dev_id, "dev-1");
    assert_int_equal(hit.distance, 1);
    /* outside the window: forgotten */
    assert_false(nd_dedup_find(dedup, 0xabcdee, "s-other", 2000, &hit));
    /* full: the oldest goes, memory stays bounded */
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        nd_dedup_add(dedup, (uint64_t)i << 40, id, "dev-x", 3000 + i);
        assert_true(nd_dedup_count(dedup) <= 16);
    }
    assert_false(nd_dedup_find(dedup, 0xabcdef, "s-other", 0, &hit));
    assert_true(nd_dedup_find(dedup, 99ULL << 40, "s-new", 0, &hit));
    assert_string_equal(hit.story_id, "s99");
    nd_dedup_destroy(dedup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_close_others_far),
        cmocka_unit_test(test_index_matches_brute_force),
        cmocka_unit_test(test_index_bounded_window_and_same_story),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
