/* nd_fetch_set_feeds: replacing the feed list keeps the state of feeds that stay (no item emitted
 * twice), starts new feeds, stops removed ones, and never drops stories parsed but not yet accepted
 * downstream (ND_ERR_AGAIN until they are handed on). file:// feeds, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch/fetch.h"

#define MAX_GOT 64

struct sink {
    int blocked;
    size_t ngot;
    char *guids[MAX_GOT];
};

static enum nd_err emit(void *opaque, struct nd_story *story)
{
    struct sink *sink = opaque;
    if (sink->blocked || sink->ngot == MAX_GOT)
        return ND_ERR_AGAIN;
    sink->guids[sink->ngot++] = nd_strdup(story->guid);
    nd_story_destroy(story);
    return ND_OK;
}

static int got(const struct sink *sink, const char *guid)
{
    int n = 0;
    for (size_t i = 0; i < sink->ngot; i++)
        n += !strcmp(sink->guids[i], guid);
    return n;
}

static void write_feed(const char *dir, const char *name, const char *const *guids)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.xml", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>%s</title>", name);
    for (; *guids; guids++)
        fprintf(f, "<item><guid>%s</guid><title>Item %s</title><description>Text of %s.</description>"
                   "</item>", *guids, *guids, *guids);
    fprintf(f, "</channel></rss>");
    fclose(f);
}

static struct nd_config *config_with(const char *dir, const char *const *ids)
{
    struct nd_config *conf = nd_config_new();
    char url[600];
    conf->fetch_min_interval_s = 1;
    for (; *ids; ids++) {
        snprintf(url, sizeof(url), "file://%s/%s.xml", dir, *ids);
        nd_config_add_feed(conf, *ids, url, 1);
    }
    return conf;
}

/* Run the loop until cond holds; fail after 15 s of loop time. */
#define RUN_UNTIL(fetch, cond)                                                                     \
    do {                                                                                           \
        int64_t deadline_ = nd_mono_ms() + 15000;                                                  \
        while (!(cond)) {                                                                          \
            if (nd_mono_ms() > deadline_)                                                          \
                fail_msg("timed out waiting for %s", #cond);                                       \
            nd_fetch_run(fetch, 50);                                                               \
        }                                                                                          \
    } while (0)

static const char *feed_index_id(struct nd_fetch *fetch, size_t i)
{
    return i < nd_fetch_feed_count(fetch) ? nd_fetch_feed_id(fetch, i) : "";
}

static void test_reload(void **state)
{
    char dir[] = "/tmp/newsd-fetch-reload-XXXXXX";
    struct sink sink = {0};
    struct nd_fetch_stats before, after;
    struct nd_config *c1, *c2, *c3;
    struct nd_fetch *fetch;
    (void)state;

    assert_non_null(mkdtemp(dir));
    write_feed(dir, "a", (const char *[]){"a1", "a2", NULL});
    write_feed(dir, "b", (const char *[]){"b1", NULL});
    write_feed(dir, "c", (const char *[]){"c1", NULL});
    c1 = config_with(dir, (const char *[]){"a", "b", NULL});
    c2 = config_with(dir, (const char *[]){"b", "c", NULL});
    c3 = config_with(dir, (const char *[]){"b", NULL});
    /* global settings stay with the first config, as in the daemon */
    fetch = nd_fetch_new(c1, emit, &sink);

    RUN_UNTIL(fetch, got(&sink, "a1") && got(&sink, "a2") && got(&sink, "b1"));
    nd_fetch_feed_stats(fetch, 1, &before);
    assert_string_equal(feed_index_id(fetch, 1), "b");

    /* a goes, c comes, b stays with its state */
    assert_int_equal(nd_fetch_set_feeds(fetch, c2->feeds, c2->nfeeds), ND_OK);
    assert_int_equal(nd_fetch_feed_count(fetch), 2);
    assert_string_equal(feed_index_id(fetch, 0), "b");
    assert_string_equal(feed_index_id(fetch, 1), "c");
    nd_fetch_feed_stats(fetch, 0, &after);
    assert_true(after.polls >= before.polls && after.polls > 0);
    assert_int_equal(after.items, before.items);

    write_feed(dir, "a", (const char *[]){"a1", "a2", "a3", NULL});
    write_feed(dir, "b", (const char *[]){"b1", "b2", NULL});
    RUN_UNTIL(fetch, got(&sink, "c1") && got(&sink, "b2"));
    /* b remembered b1; a is not polled any more */
    assert_int_equal(got(&sink, "b1"), 1);
    assert_int_equal(got(&sink, "a3"), 0);

    /* c holds a story downstream refuses: removing c must wait for it */
    sink.blocked = 1;
    write_feed(dir, "c", (const char *[]){"c1", "c2", NULL});
    nd_fetch_poll_all_now(fetch);
    RUN_UNTIL(fetch, nd_fetch_pending(fetch) > 0);
    assert_int_equal(nd_fetch_set_feeds(fetch, c3->feeds, c3->nfeeds), ND_ERR_AGAIN);
    assert_int_equal(nd_fetch_feed_count(fetch), 2);
    sink.blocked = 0;
    RUN_UNTIL(fetch, nd_fetch_pending(fetch) == 0);
    assert_int_equal(got(&sink, "c2"), 1);
    assert_int_equal(nd_fetch_set_feeds(fetch, c3->feeds, c3->nfeeds), ND_OK);
    assert_int_equal(nd_fetch_feed_count(fetch), 1);
    /* the old lists are no longer referenced */
    nd_config_destroy(c2);

    /* an empty list is a valid list */
    assert_int_equal(nd_fetch_set_feeds(fetch, NULL, 0), ND_OK);
    assert_int_equal(nd_fetch_feed_count(fetch), 0);
    nd_fetch_run(fetch, 10);

    nd_fetch_destroy(fetch);
    nd_config_destroy(c1);
    nd_config_destroy(c3);
    for (size_t i = 0; i < sink.ngot; i++)
        free(sink.guids[i]);
    for (const char *const *n = (const char *[]){"a", "b", "c", NULL}; *n; n++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.xml", dir, *n);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
