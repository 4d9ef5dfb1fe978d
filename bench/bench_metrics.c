/* What a /metrics scrape and a latency observation cost.
 *
 *   exposition: the per-feed families of a scrape with 10 000 feeds written with nd_metrics_sample
 *               (label escaping, number formatting), against a baseline of the same lines written
 *               with one snprintf each and no escaping, in the same run.
 *   histogram:  nd_metrics_hist_observe from one thread, against a bare atomic increment.
 * Prints medians of 15 runs and the ratios. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics.h"
#include "bench_stats.h"

#define FEEDS 10000
#define FAMILIES 6
#define RUNS 15
#define OBSERVATIONS 2000000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char ids[FEEDS][32];
static const char *families[FAMILIES] = {"newsd_feed_polls_total", "newsd_feed_not_modified_total",
                                         "newsd_feed_unchanged_total", "newsd_feed_items_total",
                                         "newsd_feed_last_poll_timestamp_seconds",
                                         "newsd_feed_last_status"};

static size_t scrape(void)
{
    struct nd_buf buf;
    size_t len;
    nd_buf_init(&buf, 256u << 20);
    for (int f = 0; f < FAMILIES; f++) {
        nd_metrics_family(&buf, families[f], ND_METRICS_COUNTER, "Help text of the family.");
        for (int i = 0; i < FEEDS; i++)
            nd_metrics_sample(&buf, families[f], (const char *[]){"feed", ids[i], NULL},
                              (double)(i * 7 + f));
    }
    len = buf.len;
    nd_buf_free(&buf);
    return len;
}

static size_t scrape_baseline(void)
{
    size_t cap = 64u << 20, len = 0;
    char *out = malloc(cap);
    for (int f = 0; f < FAMILIES; f++) {
        len += (size_t)snprintf(out + len, cap - len, "# HELP %s Help text of the family.\n# TYPE %s counter\n",
                                families[f], families[f]);
        for (int i = 0; i < FEEDS; i++)
            len += (size_t)snprintf(out + len, cap - len, "%s{feed=\"%s\"} %d\n", families[f], ids[i],
                                    i * 7 + f);
    }
    free(out);
    return len;
}

int main(void)
{
    static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
    double t[RUNS], b[RUNS], h[RUNS], a[RUNS];
    size_t bytes = 0, bbytes = 0;
    struct nd_metrics_hist *hist = nd_metrics_hist_new(bounds, sizeof(bounds) / sizeof(*bounds));
    _Atomic uint64_t counter = 0;

    for (int i = 0; i < FEEDS; i++)
        snprintf(ids[i], sizeof(ids[i]), "feed-%05d-wire", i);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_s();
        bytes = scrape();
        t[r] = now_s() - t0;
        t0 = now_s();
        bbytes = scrape_baseline();
        b[r] = now_s() - t0;
        t0 = now_s();
        for (int i = 0; i < OBSERVATIONS; i++)
            nd_metrics_hist_observe(hist, (double)(i & 1023) * 1e-5);
        h[r] = now_s() - t0;
        t0 = now_s();
        for (int i = 0; i < OBSERVATIONS; i++)
            atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
        a[r] = now_s() - t0;
    }
    double mt = median(t, RUNS), mb = median(b, RUNS), mh = median(h, RUNS), ma = median(a, RUNS);
    printf("bench_metrics: %d feeds x %d families, %d runs, medians\n", FEEDS, FAMILIES, RUNS);
    printf("  exposition    %8.2f ms  %zu bytes\n", mt * 1e3, bytes);
    printf("  baseline      %8.2f ms  %zu bytes (snprintf, no escaping)\n", mb * 1e3, bbytes);
    printf("  ratio         %8.2fx\n", mt / mb);
    printf("  hist observe  %8.2f ns/op\n", mh / OBSERVATIONS * 1e9);
    printf("  atomic add    %8.2f ns/op (baseline)\n", ma / OBSERVATIONS * 1e9);
    printf("  ratio         %8.2fx\n", mh / ma);
    nd_metrics_hist_destroy(hist);
    return 0;
}
