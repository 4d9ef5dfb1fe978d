/* metrics: the Prometheus text exposition format (version 0.0.4) and a lock-free histogram.
 *
 * How newsd gets its numbers: at scrape time. The stages already count what they do (fetch per feed,
 * publish per producer) for their own logs and decisions; the daemon collects those counts when
 * /metrics is asked for and writes them with the functions here, so there is one source of truth per
 * number and no global registry. What no stage counts (enrich latency) the daemon measures itself
 * with an nd_metrics_hist, which is cheap to update from many threads (one atomic add per
 * observation). */
#ifndef ND_METRICS_H
#define ND_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

enum nd_metrics_type { ND_METRICS_COUNTER, ND_METRICS_GAUGE, ND_METRICS_HISTOGRAM };

/* "# HELP" and "# TYPE" lines of a family; call once before its samples. */
void nd_metrics_family(struct nd_buf *buf, const char *name, enum nd_metrics_type type,
                       const char *help);
/* One sample line. `labels` is a NULL-terminated list of name, value pairs (may be NULL); values are
 * escaped as the format requires. */
void nd_metrics_sample(struct nd_buf *buf, const char *name, const char *const *labels, double value);

/* A histogram with fixed upper bounds (ascending, +Inf implied). Thread-safe observe. */
struct nd_metrics_hist;
struct nd_metrics_hist *nd_metrics_hist_new(const double *bounds, size_t nbounds);
void nd_metrics_hist_destroy(struct nd_metrics_hist *hist);
void nd_metrics_hist_observe(struct nd_metrics_hist *hist, double value);
/* Family header, cumulative _bucket lines, _sum and _count. */
void nd_metrics_hist_write(struct nd_buf *buf, const char *name, const char *help,
                           const struct nd_metrics_hist *hist);
uint64_t nd_metrics_hist_count(const struct nd_metrics_hist *hist);

/* Resident and virtual memory of this process in bytes, from /proc/self/statm; 0 when unknown. */
void nd_metrics_process_memory(uint64_t *rss_bytes, uint64_t *vm_bytes);

#endif
