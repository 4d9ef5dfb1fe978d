/* cluster: feed definition records (the values of cluster.feeds_topic) parsed by the config table,
 * with the same checks as a `feeds:` entry of the file, and their encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static enum nd_err parse(const char *key, const char *value, struct nd_feed_conf *feed, char *errstr,
                         size_t errsz)
{
    return nd_config_feed_from_json(key, strlen(key), value, value ? strlen(value) : 0, feed, errstr,
                                    errsz);
}

static void test_full_record(void **state)
{
    struct nd_feed_conf feed;
    char errstr[512];
    (void)state;
    assert_int_equal(parse("wire", "{\"id\": \"wire\", \"url\": \"https://example.org/rss\", "
                                   "\"interval_s\": 60, \"fulltext\": true, \"format\": \"rss\", "
                                   "\"headers\": {\"Authorization\": \"Bearer ${T}\"}}",
                           &feed, errstr, sizeof(errstr)),
                     ND_OK);
    assert_string_equal(feed.id, "wire");
    assert_string_equal(feed.url, "https://example.org/rss");
    assert_int_equal(feed.interval_s, 60);
    assert_int_equal(feed.fulltext, 1);
    assert_string_equal(feed.format, "rss");
    assert_int_equal(feed.nheaders, 1);
    assert_string_equal(feed.headers[0].key, "Authorization");
    assert_string_equal(feed.headers[0].value, "Bearer ${T}");
    nd_config_feed_clear(&feed);
}

static void test_defaults_and_key_as_id(void **state)
{
    struct nd_feed_conf feed;
    char errstr[512];
    (void)state;
    /* the id comes from the record key; YAML-style scalars as strings are accepted too */
    assert_int_equal(parse("a", "{\"url\": \"http://127.0.0.1:1/a.xml\", \"interval_s\": \"30\", "
                                "\"fulltext\": \"no\"}",
                           &feed, errstr, sizeof(errstr)),
                     ND_OK);
    assert_string_equal(feed.id, "a");
    assert_int_equal(feed.interval_s, 30);
    assert_int_equal(feed.fulltext, 0);
    assert_string_equal(feed.format, "auto");
    assert_int_equal(feed.nheaders, 0);
    nd_config_feed_clear(&feed);
}

/* Each bad record is rejected with a reason naming the feed and the problem. */
static void test_rejected(void **state)
{
    static const struct {
        const char *key, *value, *reason;
    } cases[] = {
        {"a", "not json", "not JSON"},
        {"a", "[1]", "must be a JSON object"},
        {"a", "{}", "needs \"url\""},
        {"a", "{\"url\": \"ftp://x/y\"}", "scheme must be one of"},
        {"a", "{\"url\": \"http://x/\", \"interval_s\": 100000}", "out of range"},
        {"a", "{\"url\": \"http://x/\", \"interval_s\": 1.5}", "must be a scalar"},
        {"a", "{\"url\": \"http://x/\", \"format\": \"csv\"}", "is not one of"},
        {"a", "{\"url\": \"http://x/\", \"colour\": \"red\"}", "unknown key \"colour\""},
        {"a", "{\"id\": \"b\", \"url\": \"http://x/\"}", "differs from the record key"},
        {"a", "{\"url\": \"http://x/\", \"headers\": {\"X\": 1}}", "must be a string"},
        {"a", "{\"url\": \"http://x/\", \"headers\": [\"X\"]}", "must be an object"},
        {"a", "{\"url\": \"http://x/\", \"url\": \"http://y/\"}", "not JSON"},
        {"", "{\"url\": \"http://x/\"}", "record key"},
        /* found by fuzz_feedrec: an id that is not UTF-8 cannot go into JSON, logs or labels */
        {"w\xe9re1", "{\"url\": \"http://x/\"}", "UTF-8"},
        {"tab\tid", "{\"url\": \"http://x/\"}", "control characters"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct nd_feed_conf feed;
        char errstr[512] = "";
        assert_int_equal(parse(cases[i].key, cases[i].value, &feed, errstr, sizeof(errstr)),
                         ND_ERR_INVALID);
        if (!strstr(errstr, cases[i].reason))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, errstr, cases[i].reason);
        assert_null(feed.id);
        assert_null(feed.url);
    }
}

static void test_caps(void **state)
{
    struct nd_feed_conf feed;
    char errstr[512], *big = malloc(ND_FEEDREC_MAX + 64), key[300];
    size_t len;
    (void)state;
    len = (size_t)snprintf(big, 64, "{\"url\": \"http://x/\", \"format\": \"");
    memset(big + len, 'a', ND_FEEDREC_MAX);
    strcpy(big + len + ND_FEEDREC_MAX, "\"}");
    assert_int_equal(parse("a", big, &feed, errstr, sizeof(errstr)), ND_ERR_INVALID);
    assert_non_null(strstr(errstr, "bytes, over"));
    /* 65 headers: one too many */
    len = (size_t)sprintf(big, "{\"url\": \"http://x/\", \"headers\": {");
    for (int i = 0; i < 65; i++)
        len += (size_t)sprintf(big + len, "%s\"h%d\": \"v\"", i ? ", " : "", i);
    strcpy(big + len, "}}");
    assert_int_equal(parse("a", big, &feed, errstr, sizeof(errstr)), ND_ERR_INVALID);
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(parse(key, "{\"url\": \"http://x/\"}", &feed, errstr, sizeof(errstr)),
                     ND_ERR_INVALID);
    /* a NUL inside the key is not a feed id */
    assert_int_equal(nd_config_feed_from_json("a\0b", 3, "{\"url\": \"http://x/\"}", 20, &feed,
                                              errstr, sizeof(errstr)),
                     ND_ERR_INVALID);
    free(big);
}

/* What `newsd feeds publish` writes is what the instances read back. */
static void test_file_feed_round_trip(void **state)
{
    static const char yaml[] = "feeds:\n"
                               "  - id: wire\n"
                               "    url: https://example.org/rss?key=${KEY}\n"
                               "    interval_s: 120\n"
                               "    fulltext: true\n"
                               "    headers:\n"
                               "      Authorization: Bearer ${T}\n"
                               "      X-Client: newsd\n";
    struct nd_config *conf = nd_config_new();
    struct nd_feed_conf feed, copy;
    char errstr[512], *text;
    json_t *doc;
    (void)state;
    assert_int_equal(nd_config_load_string(conf, yaml, strlen(yaml), "t.yaml", NULL), 0);
    doc = nd_config_feed_to_json(&conf->feeds[0]);
    text = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(parse("wire", text, &feed, errstr, sizeof(errstr)), ND_OK);
    assert_string_equal(feed.url, "https://example.org/rss?key=${KEY}");
    assert_int_equal(feed.interval_s, 120);
    assert_int_equal(feed.fulltext, 1);
    assert_int_equal(feed.nheaders, 2);
    nd_config_feed_copy(&copy, &feed);
    assert_string_equal(copy.headers[1].value, conf->feeds[0].headers[1].value);
    assert_ptr_not_equal(copy.url, feed.url);
    nd_config_feed_clear(&copy);
    nd_config_feed_clear(&feed);
    nd_config_feed_clear(NULL);
    free(text);
    json_decref(doc);
    nd_config_destroy(conf);
}

/* Scale-out keys: defaults, and cluster mode without transactions is refused (no fencing). */
static void test_cluster_keys(void **state)
{
    char path[] = "/tmp/newsd-cluster-XXXXXX";
    int fd = mkstemp(path);
    static const char yaml[] = "kafka:\n  transactions: false\ncluster:\n  feeds_topic: f\n";
    struct nd_config *conf = nd_config_new();
    char *errs = NULL;
    size_t len = 0;
    FILE *mem;
    (void)state;
    assert_string_equal(conf->cluster_feeds_topic, "");
    assert_string_equal(conf->cluster_group_id, "newsd-cluster");
    assert_int_equal(conf->cluster_session_timeout_ms, 10000);
    assert_int_equal(conf->cluster_transaction_timeout_ms, 10000);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
    close(fd);
    mem = open_memstream(&errs, &len);
    assert_int_equal(nd_config_load(conf, path, mem), 1);
    fclose(mem);
    assert_non_null(strstr(errs, "cluster.feeds_topic needs kafka.transactions: true"));
    free(errs);
    unlink(path);
    nd_config_destroy(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_record),
        cmocka_unit_test(test_defaults_and_key_as_id),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_file_feed_round_trip),
        cmocka_unit_test(test_cluster_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
