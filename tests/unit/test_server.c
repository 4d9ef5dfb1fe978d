/* server and metrics: the exposition format (HELP/TYPE, label escaping, histogram buckets) and the
 * HTTP endpoints on a real loopback socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "server/server.h"

static void test_exposition(void **state)
{
    struct nd_buf buf;
    (void)state;
    nd_buf_init(&buf, 1 << 20);
    nd_metrics_family(&buf, "x_total", ND_METRICS_COUNTER, "Help with \\ and\nnewline.");
    nd_metrics_sample(&buf, "x_total", (const char *[]){"feed", "a\"b\\c\nd", "reason", "dns", NULL}, 3);
    nd_metrics_sample(&buf, "x_total", NULL, 12345678901.0);
    nd_metrics_sample(&buf, "x_total", NULL, 0.25);
    assert_string_equal(buf.data, "# HELP x_total Help with \\\\ and\\nnewline.\n"
                                  "# TYPE x_total counter\n"
                                  "x_total{feed=\"a\\\"b\\\\c\\nd\",reason=\"dns\"} 3\n"
                                  "x_total 12345678901\n"
                                  "x_total 0.25\n");
    nd_buf_free(&buf);
}

struct observer_arg {
    struct nd_metrics_hist *hist;
    int n;
};

static void *observer(void *p)
{
    struct observer_arg *arg = p;
    for (int i = 0; i < arg->n; i++)
        nd_metrics_hist_observe(arg->hist, (i % 3) == 0 ? 0.5 : 0.002);
    return NULL;
}

static void test_histogram(void **state)
{
    static const double bounds[] = {0.001, 0.01, 1};
    struct nd_metrics_hist *hist = nd_metrics_hist_new(bounds, 3);
    struct observer_arg arg = {hist, 30000};
    pthread_t threads[4];
    struct nd_buf buf;
    (void)state;

    /* many threads, no lock: nothing lost */
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, observer, &arg);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    nd_metrics_hist_observe(hist, 5);
    assert_int_equal(nd_metrics_hist_count(hist), 120001);
    nd_buf_init(&buf, 1 << 20);
    nd_metrics_hist_write(&buf, "d_seconds", "Durations.", hist);
    assert_non_null(strstr(buf.data, "# TYPE d_seconds histogram\n"));
    assert_non_null(strstr(buf.data, "d_seconds_bucket{le=\"0.001\"} 0\n"));
    assert_non_null(strstr(buf.data, "d_seconds_bucket{le=\"0.01\"} 80000\n"));
    assert_non_null(strstr(buf.data, "d_seconds_bucket{le=\"1\"} 120000\n"));
    assert_non_null(strstr(buf.data, "d_seconds_bucket{le=\"+Inf\"} 120001\n"));
    assert_non_null(strstr(buf.data, "d_seconds_count 120001\n"));
    /* 40000 * 0.5 + 80000 * 0.002 + 5 */
    assert_non_null(strstr(buf.data, "d_seconds_sum 20165"));
    nd_buf_free(&buf);
    nd_metrics_hist_destroy(hist);
    assert_null(nd_metrics_hist_new(bounds, 1000));
}

static void test_process_memory(void **state)
{
    uint64_t rss, vm;
    (void)state;
    nd_metrics_process_memory(&rss, &vm);
    assert_true(rss > 0);
    assert_true(vm >= rss);
}

/* --- HTTP ------------------------------------------------------------------------------------ */

static _Atomic int ready_flag;

static int ready_cb(void *opaque, struct nd_buf *buf)
{
    (void)opaque;
    nd_buf_appendf(buf, "kafka: %s\n", ready_flag ? "ok" : "failing");
    return ready_flag;
}

static void metrics_cb(void *opaque, struct nd_buf *buf)
{
    nd_metrics_family(buf, "t_up", ND_METRICS_GAUGE, "Test.");
    nd_metrics_sample(buf, "t_up", NULL, *(int *)opaque);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    nd_buf_append(userp, data, size * nmemb);
    return size * nmemb;
}

static long request(int port, const char *method, const char *path, struct nd_buf *body, char *ctype,
                    size_t ctsz)
{
    CURL *easy = curl_easy_init();
    char url[256];
    long status = 0;
    char *ct = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    nd_buf_reset(body);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctsz, "%s", ct ? ct : "");
    curl_easy_cleanup(easy);
    return status;
}

static void test_endpoints(void **state)
{
    int value = 42;
    struct nd_server_handlers h = {.metrics = metrics_cb, .ready = ready_cb, .opaque = &value};
    char errstr[256], ctype[128], url[128];
    struct nd_server *srv = nd_server_new("127.0.0.1", 0, &h, errstr, sizeof(errstr));
    struct nd_buf body;
    int port;
    (void)state;

    assert_non_null(srv);
    port = nd_server_port(srv);
    assert_true(port > 0);
    nd_buf_init(&body, 1 << 20);

    assert_int_equal(request(port, "GET", "/healthz", &body, ctype, sizeof(ctype)), 200);
    assert_string_equal(body.data, "ok\n");
    ready_flag = 0;
    assert_int_equal(request(port, "GET", "/readyz", &body, ctype, sizeof(ctype)), 503);
    assert_string_equal(body.data, "kafka: failing\n");
    ready_flag = 1;
    assert_int_equal(request(port, "GET", "/readyz", &body, ctype, sizeof(ctype)), 200);
    assert_string_equal(body.data, "kafka: ok\n");
    assert_int_equal(request(port, "GET", "/metrics", &body, ctype, sizeof(ctype)), 200);
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(body.data, "t_up 42\n"));
    assert_int_equal(request(port, "GET", "/nope", &body, ctype, sizeof(ctype)), 404);
    assert_int_equal(request(port, "POST", "/metrics", &body, ctype, sizeof(ctype)), 405);

    /* the container probe */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    assert_int_equal(nd_server_probe(url, 2000, errstr, sizeof(errstr)), ND_OK);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", port);
    assert_int_equal(nd_server_probe(url, 2000, errstr, sizeof(errstr)), ND_ERR_AGAIN);
    assert_non_null(strstr(errstr, "HTTP status 404"));

    /* a second server on the same port fails with a reason */
    assert_null(nd_server_new("127.0.0.1", port, &h, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "cannot listen"));
    assert_null(nd_server_new("localhost", 0, &h, errstr, sizeof(errstr)));

    nd_server_destroy(srv);
    nd_server_destroy(NULL);
    /* nobody listens any more */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    assert_int_equal(nd_server_probe(url, 2000, errstr, sizeof(errstr)), ND_ERR_AGAIN);
    nd_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_process_memory),
        cmocka_unit_test(test_endpoints),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
