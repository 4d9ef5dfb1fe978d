/* config: defaults, every kind of error with its line, environment overrides, the docs page in sync
 * with the table, and the reload comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* Load `yaml` into a fresh config; the errors text lands in *errs (caller frees). */
static struct nd_config *load(const char *yaml, int *nerr, char **errs)
{
    struct nd_config *conf = nd_config_new();
    size_t len = 0;
    FILE *mem = open_memstream(errs, &len);
    *nerr = nd_config_load_string(conf, yaml, strlen(yaml), "t.yaml", mem);
    fclose(mem);
    return conf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_defaults(void **state)
{
    int nerr;
    char *errs;
    struct nd_config *conf = load("", &nerr, &errs);
    (void)state;
    assert_int_equal(nerr, 0);
    assert_string_equal(errs, "");
    assert_string_equal(conf->log_level, "info");
    assert_string_equal(conf->kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(conf->topic_stories, "news.stories.v1");
    assert_int_equal(conf->server_port, 8080);
    assert_string_equal(conf->server_bind, "0.0.0.0");
    assert_int_equal(conf->fetch_max_body_bytes, 10485760L);
    assert_int_equal(conf->kafka_transactions, 1);
    assert_int_equal(conf->nfeeds, 0);
    nd_config_destroy(conf);
    free(errs);
}

static void test_valid_file(void **state)
{
    const char *yaml = "log_level: debug\n"
                       "kafka:\n"
                       "  brokers: k1:9092,k2:9092\n"
                       "  transactions: yes\n"
                       "  properties:\n"
                       "    socket.keepalive.enable: true\n"
                       "    sasl:\n"
                       "      mechanism: PLAIN\n"
                       "fetch: {timeout_ms: 1500}\n"
                       "feeds:\n"
                       "  - id: a\n"
                       "    url: https://example.org/a.xml\n"
                       "    interval_s: 60\n"
                       "    format: rss\n"
                       "    headers: {Authorization: \"${TOKEN}\"}\n"
                       "  - {id: b, url: \"file:///tmp/b.xml\"}\n";
    int nerr;
    char *errs;
    struct nd_config *conf = load(yaml, &nerr, &errs);
    (void)state;
    assert_int_equal(nerr, 0);
    assert_string_equal(conf->log_level, "debug");
    assert_string_equal(conf->kafka_brokers, "k1:9092,k2:9092");
    assert_int_equal(conf->kafka_transactions, 1);
    assert_int_equal(conf->fetch_timeout_ms, 1500);
    assert_int_equal(conf->nkafka_props, 2);
    assert_string_equal(conf->kafka_props[0].key, "socket.keepalive.enable");
    assert_string_equal(conf->kafka_props[1].key, "sasl.mechanism");
    assert_string_equal(conf->kafka_props[1].value, "PLAIN");
    assert_int_equal(conf->nfeeds, 2);
    assert_string_equal(conf->feeds[0].id, "a");
    assert_int_equal(conf->feeds[0].interval_s, 60);
    assert_string_equal(conf->feeds[0].format, "rss");
    assert_int_equal(conf->feeds[0].nheaders, 1);
    assert_string_equal(conf->feeds[0].headers[0].key, "Authorization");
    assert_int_equal(conf->feeds[0].line, 11);
    assert_string_equal(conf->feeds[1].format, "auto");
    assert_int_equal(conf->feeds[1].line, 16);
    nd_config_destroy(conf);
    free(errs);
}

/* Every error of one file is reported, each with its line. */
static void test_errors_with_lines(void **state)
{
    const char *yaml = "log_level: loud\n"                 /* 1 */
                       "kafka:\n"                          /* 2 */
                       "  brokers: \"\"\n"                 /* 3 */
                       "  linger_ms: abc\n"                /* 4 */
                       "  properties:\n"                   /* 5 */
                       "    no.such.property: 1\n"         /* 6 */
                       "  topics: 5\n"                     /* 7 */
                       "fetch:\n"                          /* 8 */
                       "  timeout_ms: 50\n"                /* 9 */
                       "  timeout_ms: 60\n"                /* 10 */
                       "server: {bind: localhost, port: 99999}\n" /* 11 */
                       "bogus: 1\n"                        /* 12 */
                       "feeds:\n"                          /* 13 */
                       "  - id: a\n"                       /* 14 */
                       "    url: http://example.org/a\n"   /* 15 */
                       "  - id: a\n"                       /* 16 */
                       "    url: ftp://example.org/b\n"    /* 17 */
                       "  - id: c\n"                       /* 18 */
                       "    url: \"http://exa mple.org/\"\n" /* 19 */
                       "    colour: red\n"                 /* 20 */
                       "    interval_s: [1]\n"             /* 21 */
                       "  - url: http://example.org/x\n"   /* 22 */
                       "  - just a string\n"               /* 23 */
                       "kafka.transactions: maybe\n";      /* 24 */
    static const char *expected[] = {
        "t.yaml:1: log_level: \"loud\" is not one of",
        "t.yaml:3: kafka.brokers: must not be empty",
        "t.yaml:4: kafka.linger_ms: expected an integer, got \"abc\"",
        "t.yaml:6: kafka.properties.no.such.property: No such configuration property",
        "t.yaml:7: kafka.topics: expected a mapping of keys, got a scalar",
        "t.yaml:9: fetch.timeout_ms: 50 is out of range [100, 600000]",
        "t.yaml:10: duplicate key \"timeout_ms\" (first at line 9)",
        "t.yaml:11: server.bind: \"localhost\" is not a numeric IPv4 or IPv6 address",
        "t.yaml:11: server.port: 99999 is out of range [0, 65535]",
        "t.yaml:12: unknown key \"bogus\"",
        "t.yaml:16: feeds: duplicate id \"a\" (first at line 14)",
        "t.yaml:17: feeds: url: URL \"ftp://example.org/b\": scheme must be one of",
        "t.yaml:19: feeds: url: \"http://exa mple.org/\" is not a valid URL",
        "t.yaml:20: feeds: unknown key \"colour\"",
        "t.yaml:21: feeds: interval_s: expected a scalar value, got a list",
        "t.yaml:22: feeds: an entry needs \"id\"",
        "t.yaml:23: feeds: each entry must be a mapping, got a scalar",
        /* a dotted key works at the top level too */
        "t.yaml:24: kafka.transactions: expected a boolean (true/false), got \"maybe\"",
    };
    int nerr;
    char *errs;
    struct nd_config *conf = load(yaml, &nerr, &errs);
    (void)state;
    for (size_t i = 0; i < sizeof(expected) / sizeof(*expected); i++) {
        if (!strstr(errs, expected[i]))
            fail_msg("missing error \"%s\" in:\n%s", expected[i], errs);
    }
    assert_int_equal(nerr, (int)(sizeof(expected) / sizeof(*expected)));
    assert_int_equal(count_lines(errs), nerr);
    /* a bad value leaves the default in place */
    assert_int_equal(conf->kafka_linger_ms, 5);
    assert_int_equal(conf->server_port, 8080);
    nd_config_destroy(conf);
    free(errs);
}

static void test_yaml_syntax_error(void **state)
{
    int nerr;
    char *errs;
    struct nd_config *conf = load("kafka:\n  brokers: [a, b\nfeeds: []\n", &nerr, &errs);
    (void)state;
    assert_int_equal(nerr, 1);
    assert_non_null(strstr(errs, "t.yaml:3:"));
    assert_non_null(strstr(errs, "YAML error"));
    nd_config_destroy(conf);
    free(errs);
}

static void test_not_a_mapping_and_two_documents(void **state)
{
    int nerr;
    char *errs;
    struct nd_config *conf = load("- a\n- b\n", &nerr, &errs);
    (void)state;
    assert_int_equal(nerr, 1);
    assert_non_null(strstr(errs, "t.yaml:1: the configuration must be a mapping"));
    nd_config_destroy(conf);
    free(errs);

    conf = load("log_level: warn\n---\nlog_level: debug\n", &nerr, &errs);
    assert_int_equal(nerr, 1);
    assert_non_null(strstr(errs, "t.yaml:3: more than one YAML document"));
    assert_string_equal(conf->log_level, "warn");
    nd_config_destroy(conf);
    free(errs);
}

/* Aliases that expand exponentially: the walk stops after MAX_ERRORS reports (or a million nodes)
 * instead of running for ever or printing a million lines. */
static void test_alias_bomb(void **state)
{
    const char *yaml = "kafka:\n"
                       "  properties:\n"
                       "    a: &a {a0: x, a1: x, a2: x, a3: x, a4: x, a5: x, a6: x, a7: x, a8: x, a9: x}\n"
                       "    b: &b {b0: *a, b1: *a, b2: *a, b3: *a, b4: *a, b5: *a, b6: *a, b7: *a, b8: *a, b9: *a}\n"
                       "    c: &c {c0: *b, c1: *b, c2: *b, c3: *b, c4: *b, c5: *b, c6: *b, c7: *b, c8: *b, c9: *b}\n"
                       "    d: &d {d0: *c, d1: *c, d2: *c, d3: *c, d4: *c, d5: *c, d6: *c, d7: *c, d8: *c, d9: *c}\n"
                       "    e: &e {e0: *d, e1: *d, e2: *d, e3: *d, e4: *d, e5: *d, e6: *d, e7: *d, e8: *d, e9: *d}\n"
                       "    f: &f {f0: *e, f1: *e, f2: *e, f3: *e, f4: *e, f5: *e, f6: *e, f7: *e, f8: *e, f9: *e}\n"
                       "    g: {g0: *f, g1: *f, g2: *f, g3: *f, g4: *f, g5: *f, g6: *f, g7: *f, g8: *f, g9: *f}\n";
    int nerr;
    char *errs;
    struct nd_config *conf = load(yaml, &nerr, &errs);
    (void)state;
    assert_int_equal(nerr, 100);
    assert_non_null(strstr(errs, "more than 100 errors; stopping here"));
    assert_int_equal(count_lines(errs), 101);
    nd_config_destroy(conf);
    free(errs);
}

static void test_env_overrides(void **state)
{
    int nerr;
    char *errs;
    size_t len;
    FILE *mem;
    struct nd_config *conf;
    (void)state;

    setenv("NEWSD_KAFKA_BROKERS", "env-broker:9092", 1);
    setenv("NEWSD_SERVER_PORT", "9100", 1);
    setenv("NEWSD_LOG_LEVEL", "warn", 1);
    setenv("NEWSD_KAFKA_TOPICS_STORIES", "env.stories", 1);
    setenv("NEWSD_KAFKA_PROPERTIES_SOCKET_KEEPALIVE_ENABLE", "true", 1);
    conf = load("kafka: {brokers: file-broker:9092}\nserver: {port: 9000}\n", &nerr, &errs);
    assert_int_equal(nerr, 0);
    free(errs);
    mem = open_memstream(&errs, &len);
    assert_int_equal(nd_config_apply_env(conf, mem), 0);
    fclose(mem);
    /* the environment wins over the file */
    assert_string_equal(conf->kafka_brokers, "env-broker:9092");
    assert_int_equal(conf->server_port, 9100);
    assert_string_equal(conf->log_level, "warn");
    assert_string_equal(conf->topic_stories, "env.stories");
    assert_int_equal(conf->nkafka_props, 1);
    assert_string_equal(conf->kafka_props[0].key, "socket.keepalive.enable");
    assert_string_equal(conf->kafka_props[0].value, "true");
    nd_config_destroy(conf);
    free(errs);

    /* bad values from the environment are errors naming the variable */
    setenv("NEWSD_SERVER_PORT", "eighty", 1);
    setenv("NEWSD_KAFKA_PROPERTIES_NO_SUCH_THING", "1", 1);
    conf = nd_config_new();
    mem = open_memstream(&errs, &len);
    assert_int_equal(nd_config_apply_env(conf, mem), 2);
    fclose(mem);
    assert_non_null(strstr(errs, "environment NEWSD_SERVER_PORT: server.port: expected an integer"));
    assert_non_null(strstr(errs, "environment NEWSD_KAFKA_PROPERTIES_NO_SUCH_THING:"));
    assert_int_equal(conf->server_port, 8080);
    nd_config_destroy(conf);
    free(errs);

    unsetenv("NEWSD_KAFKA_BROKERS");
    unsetenv("NEWSD_SERVER_PORT");
    unsetenv("NEWSD_LOG_LEVEL");
    unsetenv("NEWSD_KAFKA_TOPICS_STORIES");
    unsetenv("NEWSD_KAFKA_PROPERTIES_SOCKET_KEEPALIVE_ENABLE");
    unsetenv("NEWSD_KAFKA_PROPERTIES_NO_SUCH_THING");
}

/* nd_config_load = file + environment, and a missing file is one error. */
static void test_load_file(void **state)
{
    char path[] = "/tmp/newsd-test-config-XXXXXX";
    int fd = mkstemp(path), nerr;
    char *errs;
    size_t len;
    FILE *mem, *f;
    struct nd_config *conf = nd_config_new();
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("server:\n  port: 9000\n", f);
    fclose(f);
    setenv("NEWSD_FETCH_PER_HOST", "7", 1);
    mem = open_memstream(&errs, &len);
    nerr = nd_config_load(conf, path, mem);
    fclose(mem);
    unsetenv("NEWSD_FETCH_PER_HOST");
    assert_int_equal(nerr, 0);
    assert_int_equal(conf->server_port, 9000);
    assert_int_equal(conf->fetch_per_host, 7);
    nd_config_destroy(conf);
    free(errs);
    unlink(path);

    conf = nd_config_new();
    mem = open_memstream(&errs, &len);
    assert_int_equal(nd_config_load(conf, "/nonexistent/newsd.yaml", mem), 1);
    fclose(mem);
    assert_non_null(strstr(errs, "/nonexistent/newsd.yaml:0: cannot read"));
    nd_config_destroy(conf);
    free(errs);
}

/* docs/CONFIG.md is generated from the table: regenerate with `newsd config-doc > docs/CONFIG.md`. */
static void test_docs_in_sync(void **state)
{
    char *want, *have;
    size_t wlen, hlen;
    FILE *mem = open_memstream(&want, &wlen);
    (void)state;
    nd_config_print_doc(mem);
    fclose(mem);
    assert_int_equal(nd_file_read(NEWSD_SOURCE_DIR "/docs/CONFIG.md", 1 << 20, &have, &hlen), ND_OK);
    if (wlen != hlen || memcmp(want, have, wlen))
        fail_msg("docs/CONFIG.md is out of date with the table in pkg/config/config.c: run "
                 "`newsd config-doc > docs/CONFIG.md`");
    /* every key of the table is in it with its environment variable */
    assert_non_null(strstr(have, "`NEWSD_KAFKA_BROKERS`"));
    assert_non_null(strstr(have, "`NEWSD_SERVER_PORT`"));
    free(want);
    free(have);
}

static void test_restart_needed(void **state)
{
    int nerr;
    char *errs, key[64] = "";
    struct nd_config *a = load("feeds: [{id: a, url: \"http://x/a\"}]\n", &nerr, &errs);
    struct nd_config *b;
    (void)state;
    free(errs);
    b = load("log_level: debug\nfeeds: [{id: b, url: \"http://x/b\"}]\n", &nerr, &errs);
    free(errs);
    /* feeds and log_level are applied by a reload */
    assert_int_equal(nd_config_restart_needed(a, b, key, sizeof(key)), 0);
    nd_config_destroy(b);
    b = load("kafka: {brokers: \"other:9092\"}\n", &nerr, &errs);
    free(errs);
    assert_int_equal(nd_config_restart_needed(a, b, key, sizeof(key)), 1);
    assert_string_equal(key, "kafka.brokers");
    nd_config_destroy(a);
    nd_config_destroy(b);
}

/* The watcher sees writes and renames of the file (and the ConfigMap "..data" swap), not other files. */
static void test_watch(void **state)
{
    char dir[] = "/tmp/newsd-watch-XXXXXX", path[256], other[256], tmp[256], data[256], errstr[256];
    struct nd_config_watch *watch;
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/newsd.yaml", dir);
    snprintf(other, sizeof(other), "%s/other.yaml", dir);
    snprintf(tmp, sizeof(tmp), "%s/.newsd.yaml.tmp", dir);
    snprintf(data, sizeof(data), "%s/..data", dir);
    f = fopen(path, "w");
    fputs("log_level: info\n", f);
    fclose(f);
    assert_non_null(watch = nd_config_watch_new(path, errstr, sizeof(errstr)));
    assert_int_equal(nd_config_watch_changed(watch), 0);
    f = fopen(other, "w");
    fclose(f);
    assert_int_equal(nd_config_watch_changed(watch), 0);
    f = fopen(path, "w");
    fputs("log_level: warn\n", f);
    fclose(f);
    assert_int_equal(nd_config_watch_changed(watch), 1);
    assert_int_equal(nd_config_watch_changed(watch), 0);
    f = fopen(tmp, "w");
    fputs("log_level: debug\n", f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(nd_config_watch_changed(watch), 1);
    assert_int_equal(symlink(".", data), 0);
    assert_int_equal(nd_config_watch_changed(watch), 1);
    nd_config_watch_destroy(watch);
    nd_config_watch_destroy(NULL);
    assert_null(nd_config_watch_new("/nonexistent-dir/newsd.yaml", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "cannot watch /nonexistent-dir"));
    unlink(path);
    unlink(other);
    unlink(data);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_valid_file),
        cmocka_unit_test(test_errors_with_lines),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_not_a_mapping_and_two_documents),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_docs_in_sync),
        cmocka_unit_test(test_restart_needed),
        cmocka_unit_test(test_watch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
