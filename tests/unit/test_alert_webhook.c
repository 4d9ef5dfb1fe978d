/* Webhook outbox decisions: rate limit, digest of the overflow, backoff; and message formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert_helpers.h"

static void test_ratelimit(void **state)
{
    struct nd_ratelimit rl;
    (void)state;
    nd_ratelimit_init(&rl, 6, 2, 0); /* one token every 10 s, two saved */
    assert_true(nd_ratelimit_take(&rl, 0));
    assert_true(nd_ratelimit_take(&rl, 0));
    assert_false(nd_ratelimit_take(&rl, 0));
    assert_true(nd_ratelimit_wait(&rl, 0) > 9000 && nd_ratelimit_wait(&rl, 0) <= 10001);
    assert_false(nd_ratelimit_take(&rl, 9000));
    assert_true(nd_ratelimit_take(&rl, 10001));
    /* a long quiet spell saves no more than the burst */
    assert_true(nd_ratelimit_take(&rl, 1000000));
    assert_true(nd_ratelimit_take(&rl, 1000000));
    assert_false(nd_ratelimit_take(&rl, 1000000));
}

/* 10 alerts at once with 6/min, burst 3: three alone, then one digest of the seven others. */
static void test_overflow_goes_out_as_one_digest(void **state)
{
    struct nd_outbox box = {0};
    size_t queued = 10, count, sent_alone = 0, digests = 0;
    int64_t now = 0, wait;
    (void)state;
    nd_ratelimit_init(&box.rl, 6, 3, 0);
    while (queued) {
        switch (nd_outbox_next(&box, queued, 100, now, &count, &wait)) {
        case ND_OUTBOX_SEND_ONE:
            assert_int_equal(count, 1);
            sent_alone++;
            queued--;
            nd_outbox_done(&box, 1, now, 60000);
            break;
        case ND_OUTBOX_SEND_DIGEST:
            digests++;
            assert_int_equal(count, queued);
            queued = 0;
            nd_outbox_done(&box, 1, now, 60000);
            break;
        case ND_OUTBOX_WAIT:
            assert_true(wait > 0);
            now += wait;
            break;
        case ND_OUTBOX_IDLE:
            fail();
        }
    }
    assert_int_equal(sent_alone, 3);
    assert_int_equal(digests, 1);
    assert_true(now >= 9000 && now <= 10100); /* the digest went with the next token */
    assert_int_equal(nd_outbox_next(&box, 0, 100, now, &count, &wait), ND_OUTBOX_IDLE);
    /* after the queue drained, single alerts flow again when tokens are back */
    now += 60000;
    assert_int_equal(nd_outbox_next(&box, 1, 100, now, &count, &wait), ND_OUTBOX_SEND_ONE);
}

/* Failures back off exponentially up to the cap; nothing leaves the queue until a POST succeeds,
 * and after a long outage the backlog goes as a few alone and one digest. */
static void test_backoff_and_outage(void **state)
{
    struct nd_outbox box = {0};
    size_t count;
    int64_t now = 0, wait, expect[] = {1000, 2000, 4000, 8000, 8000};
    (void)state;
    nd_ratelimit_init(&box.rl, 600, 2, 0);
    for (int i = 0; i < 5; i++) {
        enum nd_outbox_action a = nd_outbox_next(&box, 1, 100, now, &count, &wait);
        assert_true(a == ND_OUTBOX_SEND_ONE || a == ND_OUTBOX_SEND_DIGEST);
        nd_outbox_done(&box, 0, now, 8000);
        assert_int_equal(nd_outbox_next(&box, 1, 100, now, &count, &wait), ND_OUTBOX_WAIT);
        assert_int_equal(wait, expect[i]);
        now += wait;
    }
    /* the endpoint is back; 50 alerts piled up meanwhile */
    {
        size_t queued = 50, messages = 0;
        while (queued) {
            enum nd_outbox_action a = nd_outbox_next(&box, queued, 100, now, &count, &wait);
            if (a == ND_OUTBOX_WAIT) {
                now += wait;
                continue;
            }
            assert_true(a == ND_OUTBOX_SEND_ONE || a == ND_OUTBOX_SEND_DIGEST);
            queued -= count;
            messages++;
            nd_outbox_done(&box, 1, now, 8000);
        }
        assert_true(messages <= 3);
        assert_int_equal(box.failures, 0);
    }
}

static void test_digest_is_capped(void **state)
{
    struct nd_outbox box = {0};
    size_t count;
    int64_t wait;
    (void)state;
    nd_ratelimit_init(&box.rl, 60, 1, 0);
    assert_int_equal(nd_outbox_next(&box, 500, 100, 0, &count, &wait), ND_OUTBOX_SEND_ONE);
    assert_int_equal(nd_outbox_next(&box, 499, 100, 0, &count, &wait), ND_OUTBOX_WAIT);
    assert_int_equal(nd_outbox_next(&box, 499, 100, 1001, &count, &wait), ND_OUTBOX_SEND_DIGEST);
    assert_int_equal(count, 100);
}

static void test_slack_message(void **state)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s}", "priority", "FLASH", "headline",
                          "Talks <collapse> & fail", "why", "Asia-Pacific: new development", "url",
                          "https://example.org/x", "desk_title", "Asia-Pacific");
    json_t *msg = nd_alert_slack(&a, 1), *list[3] = {a, a, a};
    const char *text = json_string_value(json_object_get(msg, "text"));
    char *line;
    (void)state;
    assert_non_null(strstr(text, "*FLASH* <https://example.org/x|Talks &lt;collapse&gt; &amp; "
                                 "fail>"));
    assert_non_null(json_object_get(json_array_get(json_object_get(msg, "blocks"), 0), "text"));
    json_decref(msg);
    msg = nd_alert_slack(list, 3);
    assert_non_null(
        strstr(json_string_value(json_object_get(msg, "text")), "Asia-Pacific: 3 alerts"));
    json_decref(msg);
    line = nd_alert_text(a);
    assert_string_equal(line, "FLASH Asia-Pacific: new development");
    free(line);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_overflow_goes_out_as_one_digest),
        cmocka_unit_test(test_backoff_and_outage),
        cmocka_unit_test(test_digest_is_capped),
        cmocka_unit_test(test_slack_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
