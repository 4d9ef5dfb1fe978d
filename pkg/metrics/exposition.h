/* exposition: newsd's own metric families, written in the Prometheus text format (metrics.h).
 *
 * Every family's name, type and help text lives here, one writer per group of stages. The caller
 * (the daemon's /metrics handler) only gathers the stages' counters into the typed records below,
 * each copied by the thread that owns it, and calls the writers in order; nothing here locks or
 * touches a stage. A family whose counter no stage keeps yet is not written. */
#ifndef ND_EXPOSITION_H
#define ND_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "board/board.h"
#include "cluster/cluster.h"
#include "core/core.h"
#include "core/membudget.h"
#include "fetch/fetch.h"
#include "metrics/metrics.h"
#include "publish/publish.h"

/* The process: build info, memory, start time and uptime. */
void nd_expo_process(struct nd_buf *buf, int64_t started_ms, int64_t now_ms);

/* newsd_ready{check}: one sample per /readyz check, 1 passing. */
struct nd_expo_check {
    const char *name;
    int ok;
};
void nd_expo_ready(struct nd_buf *buf, const struct nd_expo_check *checks, size_t n);

/* Fetch: per feed and the poller as a whole. */
struct nd_expo_feed {
    char *id; /* the caller's (the daemon's snapshot owns its copies) */
    struct nd_fetch_stats stats;
};
void nd_expo_fetch(struct nd_buf *buf, const struct nd_expo_feed *feeds, size_t nfeeds,
                   size_t inflight, size_t pending);

/* Publish: records, deliveries and transactions; backlog as nd_publish_backlog counts it. */
void nd_expo_kafka(struct nd_buf *buf, const struct nd_publish_stats *st, size_t backlog);

/* The memory budget (core/membudget.h): buffered and limit bytes, backpressure per source. */
struct nd_expo_memory {
    size_t buffered, peak, limit;
    int paused;
    double paused_s[ND_MEM_NSTAGES];
};
void nd_expo_memory(struct nd_buf *buf, const struct nd_expo_memory *mem);

/* The stage queues: newsd_queue_depth and newsd_queue_capacity by queue name. */
struct nd_expo_queue {
    const char *name;
    size_t depth, capacity;
};
void nd_expo_queues(struct nd_buf *buf, const struct nd_expo_queue *queues, size_t n);

/* The alert stage and its webhooks. desk_counts lists alerts per desk (nd_alert_desk_counts; may
 * be NULL). */
void nd_expo_alerts(struct nd_buf *buf, const struct nd_alert_stats *st,
                    struct nd_alert *desk_counts, const struct nd_webhook_stats *hooks);

/* SIGHUP reloads by result. */
void nd_expo_reloads(struct nd_buf *buf, uint64_t applied, uint64_t rejected);

/* Cluster mode: the feeds group's assignment; dropped: batches given up when fenced. */
void nd_expo_cluster(struct nd_buf *buf, const struct nd_cluster_stats *cs, uint64_t dropped);

/* The desk board: pages connected, events written to them, pages dropped or refused. */
void nd_expo_board(struct nd_buf *buf, const struct nd_board_stats *st);

#endif
