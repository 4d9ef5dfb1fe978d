/* fetch: one event-loop thread drives libcurl's multi interface for every feed.
 *
 * The scheduler decides when each feed is due (interval, jitter, backoff on errors, server hints);
 * conditional GET (ETag / Last-Modified) and a body hash make an unchanged feed cost one request and no
 * parsing; only new or changed items are emitted. fetch knows nothing of Kafka: it hands stories to an
 * emit callback and stops starting requests while that callback reports a full queue. */
#ifndef ND_FETCH_H
#define ND_FETCH_H

#include <stdint.h>

#include "config/config.h"
#include "story/story.h"

struct nd_fetch;

/* Called on the fetch thread for each new or changed story. ND_OK: the callee owns the story.
 * ND_ERR_AGAIN: full; the caller keeps the story and retries later (backpressure, never loss). */
typedef enum nd_err (*nd_fetch_emit_fn)(void *opaque, struct nd_story *story);

/* Why a feed's poll failed: one counter each per feed (metrics by reason); the name is the "reason"
 * field of the feed's log line. */
enum nd_fetch_reason {
    ND_FETCH_PARSE = 0,
    ND_FETCH_BODY_TOO_BIG,
    ND_FETCH_TIMEOUT,
    ND_FETCH_DNS,
    ND_FETCH_CONNECT,
    ND_FETCH_REDIRECTS,
    ND_FETCH_TLS,
    ND_FETCH_TRANSPORT,
    ND_FETCH_RATE_LIMITED,
    ND_FETCH_HTTP_5XX,
    ND_FETCH_HTTP_4XX,
    ND_FETCH_NREASONS
};
const char *nd_fetch_reason_name(enum nd_fetch_reason reason);

/* Per-feed counters, read by metrics. */
struct nd_fetch_stats {
    uint64_t polls, not_modified, unchanged, errors, items, parse_errors;
    uint64_t by_reason[ND_FETCH_NREASONS];
    int64_t last_poll_ms;
    int last_status;       /* last HTTP status, 0 for transport errors */
    const char *last_error; /* static text or NULL */
};

/* Called on the fetch thread after a poll's nstories (> 0) stories were all accepted by emit: the
 * feed's state as of that poll (stolen), to be committed together with those stories. */
typedef void (*nd_fetch_state_fn)(void *opaque, const char *feed_id, json_t *state, size_t nstories);

/* conf must outlive the fetcher. */
struct nd_fetch *nd_fetch_new(const struct nd_config *conf, nd_fetch_emit_fn emit, void *opaque);
void nd_fetch_destroy(struct nd_fetch *fetch);
void nd_fetch_set_state_cb(struct nd_fetch *fetch, nd_fetch_state_fn fn);

/* A feed's cursor: {"etag", "last_modified", "body_hash", "ids": [[id, content, version], ...]}
 * (hashes as 16-hex-digit strings). New reference. */
json_t *nd_fetch_state_export(const struct nd_fetch *fetch, size_t feed_index);
/* Restore a feed's cursor (at start, from the state topic). ND_ERR_NOTFOUND for an unknown feed id,
 * ND_ERR_INVALID for a malformed state. */
enum nd_err nd_fetch_state_import(struct nd_fetch *fetch, const char *feed_id, const json_t *state);

/* Run the loop for up to timeout_ms: start due requests, drive transfers, parse finished bodies,
 * emit new items. Returns after timeout_ms or when nd_fetch_wakeup is called. */
void nd_fetch_run(struct nd_fetch *fetch, int timeout_ms);
/* Thread-safe: make a blocked nd_fetch_run return soon. */
void nd_fetch_wakeup(struct nd_fetch *fetch);
/* Make every feed due now (tests, SIGHUP). */
void nd_fetch_poll_all_now(struct nd_fetch *fetch);

/* Replace the feed list (SIGHUP). Feeds are matched by id: a feed that stays keeps its state
 * (validators, recent item ids, schedule, counters, a request in flight); a new feed starts; a removed
 * feed's request is cancelled. A feed whose URL changed forgets its validators. `feeds` must outlive the
 * fetcher or the next call; the fetcher no longer refers to the previous array once this returns ND_OK.
 * ND_ERR_AGAIN (nothing changed): a feed to be removed still holds stories not yet accepted
 * downstream; run the loop (which hands them on) and call again, so no parsed story is dropped. */
enum nd_err nd_fetch_set_feeds(struct nd_fetch *fetch, const struct nd_feed_conf *feeds, size_t nfeeds);

size_t nd_fetch_feed_count(const struct nd_fetch *fetch);
const char *nd_fetch_feed_id(const struct nd_fetch *fetch, size_t i);
void nd_fetch_feed_stats(const struct nd_fetch *fetch, size_t i, struct nd_fetch_stats *stats);
/* Requests in flight and stories waiting for room downstream. */
size_t nd_fetch_inflight(const struct nd_fetch *fetch);
size_t nd_fetch_pending(const struct nd_fetch *fetch);

#endif
