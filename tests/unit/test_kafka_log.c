/* librdkafka's log lines go through newsd's logger (pkg/kafka): the level mapping, and a real
 * consumer whose broker refuses connections writes JSON lines of module "kafka" to stderr, never
 * librdkafka's own "%3|..." lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "kafka/kafka.h"

static void test_level_mapping(void **state)
{
    (void)state;
    assert_int_equal(nd_kafka_log_level(0, "X"), ND_LOG_ERROR);
    assert_int_equal(nd_kafka_log_level(3, "PROTOERR"), ND_LOG_ERROR);
    assert_int_equal(nd_kafka_log_level(4, "CONFWARN"), ND_LOG_WARN);
    assert_int_equal(nd_kafka_log_level(5, "REQTMOUT"), ND_LOG_INFO);
    assert_int_equal(nd_kafka_log_level(6, "INIT"), ND_LOG_DEBUG);
    assert_int_equal(nd_kafka_log_level(7, "BROKER"), ND_LOG_DEBUG);
    /* a broker that is away: newsd retries and its readiness says so, a warning at most */
    assert_int_equal(nd_kafka_log_level(3, "FAIL"), ND_LOG_WARN);
    assert_int_equal(nd_kafka_log_level(3, "ERROR"), ND_LOG_WARN);
    assert_int_equal(nd_kafka_log_level(7, "FAIL"), ND_LOG_DEBUG);
}

/* A loopback port with nothing listening: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_consumer_logs_through_newsd(void **state)
{
    struct nd_config *conf = nd_config_new();
    char brokers[64], errstr[256], line[4096];
    FILE *cap = tmpfile();
    int saved = dup(STDERR_FILENO), kafka_lines = 0, raw_lines = 0;
    rd_kafka_t *rk;
    (void)state;

    assert_non_null(cap);
    snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", closed_port());
    free(conf->kafka_brokers);
    conf->kafka_brokers = strdup(brokers);
    nd_log_set_level(ND_LOG_DEBUG);
    fflush(stderr);
    dup2(fileno(cap), STDERR_FILENO);
    rk = nd_kafka_consumer_new(conf, (const char *const[]){"group.id", "log-test", NULL}, "test",
                               errstr, sizeof(errstr));
    assert_non_null(rk);
    /* librdkafka connects at once and fails; its threads log as they do */
    for (int i = 0; i < 40; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        rd_kafka_poll(rk, 0);
        nanosleep(&ts, NULL);
    }
    rd_kafka_destroy(rk);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    nd_log_set_level(ND_LOG_OFF);

    rewind(cap);
    while (fgets(line, sizeof(line), cap)) {
        if (line[0] != '{')
            raw_lines++;
        else if (strstr(line, "\"module\":\"kafka\"") && strstr(line, "FAIL: ") &&
                 strstr(line, "\"level\":\"warn\""))
            kafka_lines++;
    }
    fclose(cap);
    nd_config_destroy(conf);
    assert_int_equal(raw_lines, 0);
    assert_true(kafka_lines >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_mapping),
        cmocka_unit_test(test_consumer_logs_through_newsd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
