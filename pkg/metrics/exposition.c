#include "metrics/exposition.h"

static void counter(struct nd_buf *buf, const char *name, const char *help, double value)
{
    nd_metrics_family(buf, name, ND_METRICS_COUNTER, help);
    nd_metrics_sample(buf, name, NULL, value);
}

static void gauge(struct nd_buf *buf, const char *name, const char *help, double value)
{
    nd_metrics_family(buf, name, ND_METRICS_GAUGE, help);
    nd_metrics_sample(buf, name, NULL, value);
}

/* One sample of a family per value of its only label. */
static void by_label(struct nd_buf *buf, const char *name, const char *label, const char *value,
                     double v)
{
    nd_metrics_sample(buf, name, (const char *[]){label, value, NULL}, v);
}

void nd_expo_process(struct nd_buf *buf, int64_t started_ms, int64_t now_ms)
{
    uint64_t rss, vm;

    nd_metrics_family(buf, "newsd_build_info", ND_METRICS_GAUGE, "Version of the running newsd.");
    by_label(buf, "newsd_build_info", "version", NEWSD_VERSION, 1);
    nd_metrics_process_memory(&rss, &vm);
    gauge(buf, "process_resident_memory_bytes", "Resident set size (from /proc/self/statm).",
          (double)rss);
    gauge(buf, "process_virtual_memory_bytes", "Virtual memory size (from /proc/self/statm).",
          (double)vm);
    gauge(buf, "process_start_time_seconds", "Start time of the process since the epoch.",
          (double)started_ms / 1000.0);
    gauge(buf, "newsd_uptime_seconds", "Seconds since the daemon started.",
          (double)(now_ms - started_ms) / 1000.0);
}

void nd_expo_ready(struct nd_buf *buf, const struct nd_expo_check *checks, size_t n)
{
    nd_metrics_family(buf, "newsd_ready", ND_METRICS_GAUGE,
                      "Readiness checks of /readyz: 1 passing, 0 failing.");
    for (size_t i = 0; i < n; i++)
        by_label(buf, "newsd_ready", "check", checks[i].name, checks[i].ok ? 1 : 0);
}

enum feed_field { FF_POLLS, FF_NOT_MODIFIED, FF_UNCHANGED, FF_ITEMS, FF_LAST_POLL, FF_LAST_STATUS };

/* 1 and *v when the feed has a sample of this field (a feed never polled has no last status). */
static int feed_value(const struct nd_fetch_stats *st, enum feed_field field, double *v)
{
    switch (field) {
    case FF_POLLS: *v = (double)st->polls; return 1;
    case FF_NOT_MODIFIED: *v = (double)st->not_modified; return 1;
    case FF_UNCHANGED: *v = (double)st->unchanged; return 1;
    case FF_ITEMS: *v = (double)st->items; return 1;
    case FF_LAST_POLL: *v = (double)st->last_poll_ms / 1000.0; return st->last_poll_ms != 0;
    case FF_LAST_STATUS: *v = st->last_status; return st->polls != 0;
    }
    return 0;
}

static void per_feed(struct nd_buf *buf, const struct nd_expo_feed *feeds, size_t nfeeds,
                     const char *name, enum nd_metrics_type type, const char *help,
                     enum feed_field field)
{
    nd_metrics_family(buf, name, type, help);
    for (size_t i = 0; i < nfeeds; i++) {
        double v;
        if (feed_value(&feeds[i].stats, field, &v))
            by_label(buf, name, "feed", feeds[i].id, v);
    }
}

void nd_expo_fetch(struct nd_buf *buf, const struct nd_expo_feed *feeds, size_t nfeeds,
                   size_t inflight, size_t pending)
{
    gauge(buf, "newsd_feeds", "Feeds being polled.", (double)nfeeds);
    per_feed(buf, feeds, nfeeds, "newsd_feed_polls_total", ND_METRICS_COUNTER,
             "Requests started per feed.", FF_POLLS);
    per_feed(buf, feeds, nfeeds, "newsd_feed_not_modified_total", ND_METRICS_COUNTER,
             "Polls answered 304 Not Modified.", FF_NOT_MODIFIED);
    per_feed(buf, feeds, nfeeds, "newsd_feed_unchanged_total", ND_METRICS_COUNTER,
             "Polls whose body was byte-identical to the last one (not parsed again).", FF_UNCHANGED);
    per_feed(buf, feeds, nfeeds, "newsd_feed_items_total", ND_METRICS_COUNTER,
             "New or changed items emitted per feed.", FF_ITEMS);
    nd_metrics_family(buf, "newsd_feed_errors_total", ND_METRICS_COUNTER,
                      "Polls that failed (or were flagged) per feed and reason; only reasons "
                      "that occurred have a sample.");
    for (size_t i = 0; i < nfeeds; i++)
        for (size_t r = 0; r < ND_FETCH_NREASONS; r++)
            if (feeds[i].stats.by_reason[r])
                nd_metrics_sample(buf, "newsd_feed_errors_total",
                                  (const char *[]){"feed", feeds[i].id, "reason",
                                                   nd_fetch_reason_name((enum nd_fetch_reason)r),
                                                   NULL},
                                  (double)feeds[i].stats.by_reason[r]);
    per_feed(buf, feeds, nfeeds, "newsd_feed_last_poll_timestamp_seconds", ND_METRICS_GAUGE,
             "When the feed was last polled, seconds since the epoch.", FF_LAST_POLL);
    per_feed(buf, feeds, nfeeds, "newsd_feed_last_status", ND_METRICS_GAUGE,
             "HTTP status of the last poll (0: transport error or file://).", FF_LAST_STATUS);
    gauge(buf, "newsd_fetch_inflight_requests", "HTTP requests in flight.", (double)inflight);
    gauge(buf, "newsd_fetch_pending_stories",
          "Stories parsed and waiting for room in the enrich queue (backpressure).",
          (double)pending);
}

void nd_expo_kafka(struct nd_buf *buf, const struct nd_publish_stats *st, size_t backlog)
{
    const char *records = "newsd_kafka_records_total", *txns = "newsd_kafka_transactions_total";

    nd_metrics_family(buf, records, ND_METRICS_COUNTER,
                      "Records produced by kind (a batch redone after an abort is not counted twice).");
    by_label(buf, records, "kind", "story", (double)st->stories);
    by_label(buf, records, "kind", "event", (double)st->events);
    by_label(buf, records, "kind", "state", (double)st->states);
    by_label(buf, records, "kind", "deadletter", (double)st->deadletters);
    counter(buf, "newsd_kafka_delivered_total", "Records acknowledged by the brokers.",
            (double)st->delivered);
    counter(buf, "newsd_kafka_delivery_errors_total", "Records whose delivery failed (then redone).",
            (double)st->delivery_errors);
    nd_metrics_family(buf, txns, ND_METRICS_COUNTER,
                      "Transactions (or, with kafka.transactions off, flushed batches) by result.");
    by_label(buf, txns, "result", "committed", (double)st->commits);
    by_label(buf, txns, "result", "aborted", (double)st->aborts);
    nd_metrics_family(buf, "newsd_kafka_transactions_aborted_total", ND_METRICS_COUNTER,
                      "Transactions given up, once each, by reason: timeout (the broker was away "
                      "past the transaction timeout), fenced, error, rebalance (redone), "
                      "discarded (cluster mode: refetched), shutdown.");
    for (int r = 0; r < ND_ABORT_NREASONS; r++)
        by_label(buf, "newsd_kafka_transactions_aborted_total", "reason",
                 nd_publish_abort_reason_name((enum nd_abort_reason)r), (double)st->aborted[r]);
    counter(buf, "newsd_kafka_retries_total", "Retriable errors of transactional calls.",
            (double)st->retries);
    counter(buf, "newsd_kafka_producer_recreates_total",
            "Producers recreated after a fatal error (fencing, broker state) or a stalled commit.",
            (double)st->fatal_recreates);
    counter(buf, "newsd_kafka_commit_stalls_total",
            "Commits that never finished after the broker came back: the producer was replaced and "
            "the transaction read back (committed, or aborted and redone).",
            (double)st->stalls);
    counter(buf, "newsd_kafka_queue_full_total",
            "Times the producer's local queue was full (publish waited).", (double)st->queue_full);
    gauge(buf, "newsd_kafka_last_commit_seconds", "Duration of the last commit.",
          (double)st->last_commit_latency_ms / 1000.0);
    gauge(buf, "newsd_kafka_backlog",
          "Records in the open transaction, stories held for the next one and open source units.",
          (double)backlog);
}

void nd_expo_memory(struct nd_buf *buf, const struct nd_expo_memory *mem)
{
    const char *bp = "newsd_backpressure_seconds_total";

    gauge(buf, "newsd_memory_buffered_bytes",
          "Bytes buffered on their way to Kafka, as memory.limit_mb counts them: bodies being read, "
          "stories in the stages, records of the open transaction and librdkafka's copies.",
          (double)mem->buffered);
    gauge(buf, "newsd_memory_buffered_peak_bytes", "The highest newsd_memory_buffered_bytes since start.",
          (double)mem->peak);
    gauge(buf, "newsd_memory_limit_bytes", "memory.limit_mb in bytes.", (double)mem->limit);
    gauge(buf, "newsd_memory_paused",
          "1 while the buffered bytes are over the limit and the sources are paused.",
          (double)mem->paused);
    nd_metrics_family(buf, bp, ND_METRICS_COUNTER,
                      "Seconds a source spent paused because memory.limit_mb was reached "
                      "(fetch: no new poll; consume: partitions paused).");
    for (int i = 0; i < ND_MEM_NSTAGES; i++)
        by_label(buf, bp, "stage", nd_mem_stage_name((enum nd_mem_stage)i), mem->paused_s[i]);
}

void nd_expo_queues(struct nd_buf *buf, const struct nd_expo_queue *queues, size_t n)
{
    nd_metrics_family(buf, "newsd_queue_depth", ND_METRICS_GAUGE, "Stories waiting in a stage queue.");
    for (size_t i = 0; i < n; i++)
        by_label(buf, "newsd_queue_depth", "queue", queues[i].name, (double)queues[i].depth);
    nd_metrics_family(buf, "newsd_queue_capacity", ND_METRICS_GAUGE, "Capacity of a stage queue.");
    for (size_t i = 0; i < n; i++)
        by_label(buf, "newsd_queue_capacity", "queue", queues[i].name, (double)queues[i].capacity);
}

static void desk_alerts(void *opaque, const char *desk, uint64_t alerts)
{
    by_label(opaque, "newsd_alerts_total", "desk", desk, (double)alerts);
}

void nd_expo_alerts(struct nd_buf *buf, const struct nd_alert_stats *st,
                    struct nd_alert *desk_counts, const struct nd_webhook_stats *wh)
{
    const char *stage = "newsd_alert_stage_total", *posts = "newsd_webhook_posts_total";

    nd_metrics_family(buf, "newsd_alerts_total", ND_METRICS_COUNTER,
                      "Alerts emitted per desk (samples from a desk's first alert).");
    if (desk_counts)
        nd_alert_desk_counts(desk_counts, desk_alerts, buf);
    nd_metrics_family(buf, stage, ND_METRICS_COUNTER,
                      "The alert stage: stories seen, near-duplicates, new developments, "
                      "escalations alerted, alerts restored at start.");
    by_label(buf, stage, "event", "stories", (double)st->stories);
    by_label(buf, stage, "event", "duplicates", (double)st->duplicates);
    by_label(buf, stage, "event", "developments", (double)st->developments);
    by_label(buf, stage, "event", "escalations", (double)st->escalations);
    by_label(buf, stage, "event", "restored", (double)st->restored);

    nd_metrics_family(buf, posts, ND_METRICS_COUNTER,
                      "Webhook POSTs by result (a digest is one POST): delivered, failed (to be "
                      "retried), rejected (permanent 4xx).");
    by_label(buf, posts, "result", "delivered", (double)wh->delivered);
    by_label(buf, posts, "result", "failed", (double)wh->failed);
    by_label(buf, posts, "result", "rejected", (double)wh->rejected);
    counter(buf, "newsd_webhook_dropped_total",
            "Alerts given up after a webhook refused them with a permanent 4xx "
            "repeatedly (they stay in the alerts topic).",
            (double)wh->dropped);
    gauge(buf, "newsd_webhook_pending", "Alerts read from the alerts topic and not yet delivered.",
          (double)wh->pending);
}

void nd_expo_reloads(struct nd_buf *buf, uint64_t applied, uint64_t rejected)
{
    const char *name = "newsd_config_reloads_total";
    nd_metrics_family(buf, name, ND_METRICS_COUNTER, "Configuration reloads (SIGHUP) by result.");
    by_label(buf, name, "result", "applied", (double)applied);
    by_label(buf, name, "result", "rejected", (double)rejected);
}

void nd_expo_cluster(struct nd_buf *buf, const struct nd_cluster_stats *cs, uint64_t dropped)
{
    gauge(buf, "newsd_cluster_feeds", "Feeds the feeds group assigned to this instance.",
          (double)cs->feeds);
    gauge(buf, "newsd_cluster_partitions", "Partitions of cluster.feeds_topic assigned here.",
          (double)cs->partitions);
    counter(buf, "newsd_cluster_rebalances_total",
            "Assignments and revocations of feeds partitions served.", (double)cs->rebalances);
    counter(buf, "newsd_cluster_records_total", "Feed definition records read.",
            (double)cs->records);
    counter(buf, "newsd_cluster_invalid_records_total",
            "Feed definition records rejected (logged; the feed keeps its last good one).",
            (double)cs->invalid);
    counter(buf, "newsd_cluster_dropped_batches_total",
            "Transactions dropped because this instance was fenced (or a commit failed for "
            "good); their feeds resumed from the committed state.",
            (double)dropped);
}

void nd_expo_board(struct nd_buf *buf, const struct nd_board_stats *st)
{
    const char *events = "newsd_board_events_total", *drops = "newsd_board_disconnects_total";
    gauge(buf, "newsd_board_clients", "Board pages connected (live streams at /board/events).",
          (double)st->clients);
    nd_metrics_family(buf, events, ND_METRICS_COUNTER,
                      "Events written to board pages: live alerts, recent alerts sent to a page "
                      "that opened, alerts replayed from Kafka to a page that reconnected, story "
                      "updates (a dateline, a withdrawal).");
    by_label(buf, events, "kind", "live", (double)st->live);
    by_label(buf, events, "kind", "recent", (double)st->recent);
    by_label(buf, events, "kind", "replayed", (double)st->replayed);
    by_label(buf, events, "kind", "story", (double)st->stories);
    nd_metrics_family(buf, drops, ND_METRICS_COUNTER,
                      "Board pages disconnected because they read too slowly (board.client_queue), "
                      "or refused because board.max_clients were connected.");
    by_label(buf, drops, "reason", "slow", (double)st->slow);
    by_label(buf, drops, "reason", "refused", (double)st->refused);
}
