#include "metrics/metrics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BOUNDS 64

struct nd_metrics_hist {
    size_t nbounds;
    double bounds[MAX_BOUNDS];
    _Atomic uint64_t counts[MAX_BOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
    _Atomic uint64_t sum_bits;               /* a double, updated by compare-and-swap */
};

static const char *type_name(enum nd_metrics_type type)
{
    return type == ND_METRICS_COUNTER ? "counter" : type == ND_METRICS_GAUGE ? "gauge" : "histogram";
}

void nd_metrics_family(struct nd_buf *buf, const char *name, enum nd_metrics_type type,
                       const char *help)
{
    nd_buf_appendf(buf, "# HELP %s ", name);
    /* HELP text escapes only backslash and newline */
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            nd_buf_append(buf, "\\\\", 2);
        else if (*p == '\n')
            nd_buf_append(buf, "\\n", 2);
        else
            nd_buf_append(buf, p, 1);
    }
    nd_buf_appendf(buf, "\n# TYPE %s %s\n", name, type_name(type));
}

static void write_value(struct nd_buf *buf, double value)
{
    char num[32];
    int n;
    if (isinf(value))
        n = snprintf(num, sizeof(num), value > 0 ? "+Inf" : "-Inf");
    else if (isnan(value))
        n = snprintf(num, sizeof(num), "NaN");
    else if (value == floor(value) && fabs(value) < 9007199254740992.0)
        /* integers (counters) exactly, without the cost of %g */
        n = snprintf(num, sizeof(num), "%lld", (long long)value);
    else
        n = snprintf(num, sizeof(num), "%.15g", value);
    nd_buf_append(buf, num, (size_t)n);
}

/* Append s with backslash, double quote and newline escaped; plain runs are copied whole, since
 * a scrape of thousands of feeds is mostly plain label values. */
static void append_escaped(struct nd_buf *buf, const char *s)
{
    for (;;) {
        size_t run = strcspn(s, "\\\"\n");
        nd_buf_append(buf, s, run);
        s += run;
        if (!*s)
            return;
        nd_buf_append(buf, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", 2);
        s++;
    }
}

void nd_metrics_sample(struct nd_buf *buf, const char *name, const char *const *labels, double value)
{
    nd_buf_append(buf, name, strlen(name));
    if (labels && labels[0]) {
        nd_buf_append(buf, "{", 1);
        for (const char *const *l = labels; l[0] && l[1]; l += 2) {
            if (l != labels)
                nd_buf_append(buf, ",", 1);
            nd_buf_append(buf, l[0], strlen(l[0]));
            nd_buf_append(buf, "=\"", 2);
            append_escaped(buf, l[1]);
            nd_buf_append(buf, "\"", 1);
        }
        nd_buf_append(buf, "}", 1);
    }
    nd_buf_append(buf, " ", 1);
    write_value(buf, value);
    nd_buf_append(buf, "\n", 1);
}

struct nd_metrics_hist *nd_metrics_hist_new(const double *bounds, size_t nbounds)
{
    struct nd_metrics_hist *hist;
    if (nbounds > MAX_BOUNDS)
        return NULL;
    hist = nd_xcalloc(1, sizeof(*hist));
    hist->nbounds = nbounds;
    memcpy(hist->bounds, bounds, nbounds * sizeof(*bounds));
    return hist;
}

void nd_metrics_hist_destroy(struct nd_metrics_hist *hist)
{
    free(hist);
}

void nd_metrics_hist_observe(struct nd_metrics_hist *hist, double value)
{
    size_t i = 0;
    uint64_t old, next;
    double sum;

    while (i < hist->nbounds && value > hist->bounds[i])
        i++;
    atomic_fetch_add_explicit(&hist->counts[i], 1, memory_order_relaxed);
    old = atomic_load_explicit(&hist->sum_bits, memory_order_relaxed);
    do {
        memcpy(&sum, &old, sizeof(sum));
        sum += value;
        memcpy(&next, &sum, sizeof(next));
    } while (!atomic_compare_exchange_weak_explicit(&hist->sum_bits, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

uint64_t nd_metrics_hist_count(const struct nd_metrics_hist *hist)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= hist->nbounds; i++)
        n += atomic_load_explicit(&hist->counts[i], memory_order_relaxed);
    return n;
}

void nd_metrics_hist_write(struct nd_buf *buf, const char *name, const char *help,
                           const struct nd_metrics_hist *hist)
{
    char bname[256], le[64];
    uint64_t cum = 0, bits;
    double sum;

    nd_metrics_family(buf, name, ND_METRICS_HISTOGRAM, help);
    snprintf(bname, sizeof(bname), "%s_bucket", name);
    for (size_t i = 0; i <= hist->nbounds; i++) {
        const char *labels[] = {"le", le, NULL};
        cum += atomic_load_explicit(&hist->counts[i], memory_order_relaxed);
        if (i < hist->nbounds)
            snprintf(le, sizeof(le), "%g", hist->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        nd_metrics_sample(buf, bname, labels, (double)cum);
    }
    bits = atomic_load_explicit(&hist->sum_bits, memory_order_relaxed);
    memcpy(&sum, &bits, sizeof(sum));
    snprintf(bname, sizeof(bname), "%s_sum", name);
    nd_metrics_sample(buf, bname, NULL, sum);
    snprintf(bname, sizeof(bname), "%s_count", name);
    /* the +Inf bucket is the count: the same number, read once */
    nd_metrics_sample(buf, bname, NULL, (double)cum);
}

void nd_metrics_process_memory(uint64_t *rss_bytes, uint64_t *vm_bytes)
{
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");

    *rss_bytes = *vm_bytes = 0;
    if (!f)
        return;
    if (fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
        *vm_bytes = size * (uint64_t)page;
        *rss_bytes = resident * (uint64_t)page;
    }
    fclose(f);
}
