/* fetch against file:// feeds: only new or changed items, the state export/import round trip, the
 * state callback after the stories, backpressure, GUID churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/fetch.h"

struct sink {
    struct nd_story *stories[64];
    size_t n;
    int refuse;          /* refuse this many emits before accepting */
    size_t nstate;       /* state callbacks */
    size_t state_nstories, emitted_at_state;
    json_t *state;
};

static enum nd_err emit(void *opaque, struct nd_story *story)
{
    struct sink *sink = opaque;
    if (sink->refuse > 0) {
        sink->refuse--;
        return ND_ERR_AGAIN;
    }
    assert_true(sink->n < 64);
    sink->stories[sink->n++] = story;
    return ND_OK;
}

static void on_state(void *opaque, const char *feed_id, json_t *state, size_t nstories)
{
    struct sink *sink = opaque;
    assert_string_equal(feed_id, "f1");
    sink->nstate++;
    sink->state_nstories = nstories;
    sink->emitted_at_state = sink->n;
    json_decref(sink->state);
    sink->state = state;
}

static void sink_clear(struct sink *sink)
{
    for (size_t i = 0; i < sink->n; i++)
        nd_story_destroy(sink->stories[i]);
    sink->n = 0;
}

struct fixture {
    char path[64];
    char url[96];
    struct nd_config *conf;
};

static void write_feed(struct fixture *fx, const char *const *guids, const char *const *links,
                       const char *const *titles, size_t n)
{
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    fprintf(f, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "<item><guid>%s</guid><link>%s</link><title>%s</title><description>Body of %s."
                   "</description></item>",
                guids[i], links[i], titles[i], titles[i]);
    fprintf(f, "</channel></rss>");
    fclose(f);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    int fd;
    snprintf(fx->path, sizeof(fx->path), "/tmp/nd_fetch_XXXXXX");
    fd = mkstemp(fx->path);
    close(fd);
    snprintf(fx->url, sizeof(fx->url), "file://%s", fx->path);
    fx->conf = nd_config_new();
    nd_config_add_feed(fx->conf, "f1", fx->url, 1);
    nd_log_set_level(ND_LOG_OFF);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->path);
    nd_config_destroy(fx->conf);
    free(fx);
    return 0;
}

/* One poll from now to its batch accepted downstream (or refused, when the sink refuses). */
static void poll_once(struct nd_fetch *fetch, struct sink *sink)
{
    struct nd_fetch_stats before, st;
    nd_fetch_feed_stats(fetch, 0, &before);
    nd_fetch_poll_all_now(fetch);
    for (int i = 0; i < 500; i++) {
        nd_fetch_run(fetch, 10);
        nd_fetch_feed_stats(fetch, 0, &st);
        if (st.polls > before.polls && !nd_fetch_inflight(fetch) &&
            (!nd_fetch_pending(fetch) || sink->refuse))
            return;
    }
    fail_msg("poll did not finish");
}

static const char *G[] = {"g1", "g2", "g3", "g4"};
static const char *L[] = {"http://e.org/1", "http://e.org/2", "http://e.org/3", "http://e.org/4"};
static const char *T[] = {"One", "Two", "Three", "Four"};

static void test_new_items_state_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    struct nd_fetch *fetch = nd_fetch_new(fx->conf, emit, &sink);
    const char *T2[] = {"One", "Two", "Three changed"};
    json_t *exported;
    struct nd_fetch_stats st;

    nd_fetch_set_state_cb(fetch, on_state, &sink);
    write_feed(fx, G, L, T, 3);
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 3);
    /* oldest (last in the document) first */
    assert_string_equal(sink.stories[0]->headline, "Three");
    assert_int_equal(sink.stories[0]->version, 1);
    /* the state came after the stories it covers */
    assert_int_equal(sink.nstate, 1);
    assert_int_equal(sink.state_nstories, 3);
    assert_int_equal(sink.emitted_at_state, 3);
    assert_int_equal(json_array_size(json_object_get(sink.state, "ids")), 3);
    sink_clear(&sink);

    /* the same bytes again: nothing parsed, nothing emitted, no state */
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 0);
    assert_int_equal(sink.nstate, 1);
    nd_fetch_feed_stats(fetch, 0, &st);
    assert_int_equal(st.unchanged, 1);

    exported = nd_fetch_state_export(fetch, 0);
    assert_string_equal(json_string_value(json_object_get(exported, "body_hash")),
                        json_string_value(json_object_get(sink.state, "body_hash")));
    nd_fetch_destroy(fetch);

    /* a new fetcher restored from the state: one new item, one changed (version 2), nothing else */
    fetch = nd_fetch_new(fx->conf, emit, &sink);
    nd_fetch_set_state_cb(fetch, on_state, &sink);
    assert_int_equal(nd_fetch_state_import(fetch, "f1", exported), ND_OK);
    {
        const char *g[] = {"g4", "g1", "g2", "g3"}, *l[] = {L[3], L[0], L[1], L[2]},
                   *t[] = {"Four", T2[0], T2[1], T2[2]};
        write_feed(fx, g, l, t, 4);
    }
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 2);
    assert_string_equal(sink.stories[0]->headline, "Three changed");
    assert_int_equal(sink.stories[0]->version, 2);
    assert_string_equal(sink.stories[1]->headline, "Four");
    assert_int_equal(sink.stories[1]->version, 1);
    assert_int_equal(sink.nstate, 2);
    assert_int_equal(sink.state_nstories, 2);
    sink_clear(&sink);

    /* export -> import -> export is the identity */
    {
        json_t *a = nd_fetch_state_export(fetch, 0), *b;
        struct nd_fetch *other = nd_fetch_new(fx->conf, emit, &sink);
        assert_int_equal(nd_fetch_state_import(other, "f1", a), ND_OK);
        b = nd_fetch_state_export(other, 0);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        nd_fetch_destroy(other);
    }
    json_decref(exported);
    json_decref(sink.state);
    nd_fetch_destroy(fetch);
}

static void test_import_rejects_bad_state(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    struct nd_fetch *fetch = nd_fetch_new(fx->conf, emit, &sink);
    const char *bad[] = {
        "[]",
        "{\"etag\": 5}",
        "{\"body_hash\": \"xyz\"}",
        "{\"ids\": {}}",
        "{\"ids\": [[\"0123456789abcdef\", \"0123456789abcdef\", 0]]}",
        "{\"ids\": [[\"0123456789abcdef\", 7, 1]]}",
        "{\"etag\": \"a\\r\\nX-Injected: 1\"}",
    };
    json_t *ok = json_loads("{\"etag\": \"\\\"v1\\\"\", \"ids\": []}", 0, NULL);
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(nd_fetch_state_import(fetch, "f1", j), ND_ERR_INVALID);
        json_decref(j);
    }
    assert_int_equal(nd_fetch_state_import(fetch, "nope", ok), ND_ERR_NOTFOUND);
    assert_int_equal(nd_fetch_state_import(fetch, "f1", ok), ND_OK);
    json_decref(ok);
    assert_int_equal(nd_fetch_feed_index(fetch, "f1"), 0);
    assert_int_equal(nd_fetch_feed_index(fetch, "nope"), -1);
    nd_fetch_destroy(fetch);
}

static void test_backpressure_holds_and_keeps(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    struct nd_fetch *fetch = nd_fetch_new(fx->conf, emit, &sink);
    struct nd_fetch_stats st;

    nd_fetch_set_state_cb(fetch, on_state, &sink);
    write_feed(fx, G, L, T, 3);
    sink.refuse = 1000000;
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 0);
    assert_int_equal(nd_fetch_pending(fetch), 3);
    assert_int_equal(sink.nstate, 0);
    /* while downstream refuses, no new request starts, even when every feed is due */
    nd_fetch_poll_all_now(fetch);
    for (int i = 0; i < 10; i++)
        nd_fetch_run(fetch, 5);
    nd_fetch_feed_stats(fetch, 0, &st);
    assert_int_equal(st.polls, 1);
    /* room again: all three arrive, in order, then the state */
    sink.refuse = 0;
    nd_fetch_run(fetch, 5);
    assert_int_equal(sink.n, 3);
    assert_int_equal(nd_fetch_pending(fetch), 0);
    assert_int_equal(sink.nstate, 1);
    assert_string_equal(sink.stories[0]->headline, "Three");
    sink_clear(&sink);
    json_decref(sink.state);
    nd_fetch_destroy(fetch);
}

static void test_guid_churn_switches_to_url_identity(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    struct nd_fetch *fetch = nd_fetch_new(fx->conf, emit, &sink);
    const char *g2[] = {"x1", "x2", "x3"}, *g3[] = {"y1", "y2", "y3"};
    const char *g4[] = {"z4", "z1", "z2", "z3"}, *l4[] = {L[3], L[0], L[1], L[2]},
               *t4[] = {"Four", "One", "Two", "Three"};
    struct nd_fetch_stats st;

    write_feed(fx, G, L, T, 3);
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 3);
    sink_clear(&sink);
    /* every GUID changes, the articles do not: nothing new */
    write_feed(fx, g2, L, T, 3);
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 0);
    nd_fetch_feed_stats(fetch, 0, &st);
    assert_int_equal(st.by_reason[ND_FETCH_UNSTABLE_GUIDS], 1);
    write_feed(fx, g3, L, T, 3);
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 0);
    /* a genuinely new article still comes through, once */
    write_feed(fx, g4, l4, t4, 4);
    poll_once(fetch, &sink);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.stories[0]->headline, "Four");
    sink_clear(&sink);
    {
        json_t *s = nd_fetch_state_export(fetch, 0);
        assert_true(json_is_true(json_object_get(s, "unstable_guids")));
        json_decref(s);
    }
    nd_fetch_destroy(fetch);
}

static void test_parse_error_counts_and_backs_off(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    struct nd_fetch *fetch = nd_fetch_new(fx->conf, emit, &sink);
    struct nd_fetch_stats st;
    FILE *f = fopen(fx->path, "w");
    fputs("<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", f);
    fclose(f);
    poll_once(fetch, &sink);
    nd_fetch_feed_stats(fetch, 0, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.by_reason[ND_FETCH_NOT_A_FEED], 1);
    assert_string_equal(st.last_error, "not_a_feed");
    assert_int_equal(st.failures, 1);
    assert_string_equal(nd_fetch_reason_name(ND_FETCH_NOT_A_FEED), "not_a_feed");
    nd_fetch_totals(fetch, &st);
    assert_int_equal(st.by_reason[ND_FETCH_NOT_A_FEED], 1);
    nd_fetch_destroy(fetch);
}

/* Requests in flight and queued behind the per-host limit are all released by destroy (ASan's leak
 * check runs this). The server accepts nothing, so the requests hang. */
static void test_destroy_mid_flight(void **state)
{
    struct sink sink = {0};
    struct nd_config *conf = nd_config_new();
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct nd_fetch *fetch;
    char url[64];
    (void)state;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    conf->fetch_per_host = 1;
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "h%d", i);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/%d.xml", ntohs(addr.sin_port), i);
        nd_config_add_feed(conf, id, url, 60);
    }
    fetch = nd_fetch_new(conf, emit, &sink);
    nd_fetch_poll_all_now(fetch);
    for (int i = 0; i < 20 && !nd_fetch_inflight(fetch); i++)
        nd_fetch_run(fetch, 10);
    nd_fetch_run(fetch, 30);
    /* one host, per_host 1: one request in flight, the others wait their turn */
    assert_int_equal(nd_fetch_inflight(fetch), 1);
    nd_fetch_destroy(fetch);
    nd_fetch_destroy(NULL);
    nd_config_destroy(conf);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_items_state_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_rejects_bad_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_holds_and_keeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guid_churn_switches_to_url_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_counts_and_backs_off, setup, teardown),
        cmocka_unit_test(test_destroy_mid_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
