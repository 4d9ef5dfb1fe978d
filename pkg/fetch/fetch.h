/* fetch: one event-loop thread drives libcurl's multi interface for every feed.
 *
 * The scheduler decides when each feed is due (interval, jitter, backoff on errors, server hints);
 * conditional GET (ETag / Last-Modified) and a body hash make an unchanged feed cost one request and no
 * parsing; only new or changed items are emitted. Requests wait in a queue per host so one site never
 * gets more than fetch.per_host at once. fetch knows nothing of Kafka: it hands stories to an emit
 * callback and stops starting requests while that callback reports a full queue.
 *
 * Everything here runs on the thread that calls nd_fetch_run, except nd_fetch_wakeup. */
#ifndef ND_FETCH_H
#define ND_FETCH_H

#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "core/membudget.h"
#include "story/story.h"

struct nd_fetch;

/* Called on the fetch thread for each new or changed story. ND_OK: the callee owns the story.
 * ND_ERR_AGAIN: full; the caller keeps the story and retries later (backpressure, never loss). */
typedef enum nd_err (*nd_fetch_emit_fn)(void *opaque, struct nd_story *story);

/* Called on the fetch thread after every story of one poll of feed_id (nstories > 0) was accepted by
 * emit, with the feed's state as nd_fetch_state_export gives it. The callee owns `state` (stolen). */
typedef void (*nd_fetch_state_fn)(void *opaque, const char *feed_id, json_t *state, size_t nstories);

/* Main text of an article page for the fulltext feeds. Returns a malloc'd UTF-8 string (caller of
 * the hook frees it) or NULL when the page has no main text. `url` is the page's address. */
typedef char *(*nd_fetch_extract_fn)(void *opaque, const char *html, size_t len, const char *url);

/* Why a feed's poll failed or was flagged: one counter each per feed (metrics by reason). */
enum nd_fetch_reason {
    ND_FETCH_DNS = 0,         /* host name did not resolve */
    ND_FETCH_CONNECT,         /* connection refused or unreachable */
    ND_FETCH_CONNECT_TIMEOUT, /* no connection within fetch.connect_timeout_ms */
    ND_FETCH_TIMEOUT,         /* response too slow: fetch.timeout_ms or stalled */
    ND_FETCH_TLS,             /* handshake or certificate verification failed */
    ND_FETCH_REDIRECTS,       /* more than fetch.max_redirects */
    ND_FETCH_BODY_TOO_BIG,    /* over fetch.max_body_bytes, after decompression */
    ND_FETCH_ENCODING,        /* bad gzip/deflate stream */
    ND_FETCH_HTTP_4XX,
    ND_FETCH_HTTP_5XX,
    ND_FETCH_RATE_LIMITED,    /* 429 */
    ND_FETCH_NOT_A_FEED,      /* 2xx with an HTML page (an error page) */
    ND_FETCH_PARSE,           /* not a readable feed */
    ND_FETCH_TRANSPORT,       /* any other transfer error */
    ND_FETCH_CONFIG,          /* a ${VAR} the feed needs is not set */
    ND_FETCH_FUTURE_LAST_MODIFIED, /* warning: Last-Modified in the future, not used */
    ND_FETCH_UNSTABLE_GUIDS,  /* warning: GUIDs change between polls; identity by URL from now on */
    ND_FETCH_ARTICLE,         /* warning: a fulltext article page could not be fetched */
    ND_FETCH_NREASONS
};
const char *nd_fetch_reason_name(enum nd_fetch_reason reason);

/* Per-feed counters, read by metrics. */
struct nd_fetch_stats {
    uint64_t polls, not_modified, unchanged, errors, items, parse_errors, articles;
    uint64_t by_reason[ND_FETCH_NREASONS];
    int64_t last_poll_ms;   /* wall clock */
    int last_status;        /* last HTTP status, 0 for transport errors */
    int failures;           /* consecutive failed polls (drives the backoff) */
    const char *last_error; /* reason name of the last failed poll, NULL once a poll succeeds */
};

/* conf must outlive the fetcher. */
struct nd_fetch *nd_fetch_new(const struct nd_config *conf, nd_fetch_emit_fn emit, void *opaque);
void nd_fetch_destroy(struct nd_fetch *fetch);

/* The state callback (NULL: none). */
void nd_fetch_set_state_cb(struct nd_fetch *fetch, nd_fetch_state_fn fn, void *opaque);
/* The article extractor of fulltext feeds. NULL restores the built-in one (nd_html_to_text of the
 * page's <body>). */
void nd_fetch_set_extractor(struct nd_fetch *fetch, nd_fetch_extract_fn fn, void *opaque);

/* The memory budget (memory.limit_mb; not owned, NULL: none). Reserved in it: response bodies as
 * they are read, each queued poll's expected cost (its last body, and its stories at the rate its
 * items came), and the stories parsed (at their enriched size, nd_story_account_ahead). While it
 * is full no poll is queued, and a due feed waits while its expected cost does not fit; requests
 * already queued still start (ND_MEM_FETCH's clock runs while a feed waits). Set before the first
 * nd_fetch_run. */
void nd_fetch_set_budget(struct nd_fetch *fetch, struct nd_membudget *budget);

/* Run the loop for up to timeout_ms: start due requests, drive transfers, parse finished bodies,
 * emit new items. Returns after timeout_ms or soon after nd_fetch_wakeup is called. */
void nd_fetch_run(struct nd_fetch *fetch, int timeout_ms);
/* Thread-safe: make a blocked nd_fetch_run return soon. */
void nd_fetch_wakeup(struct nd_fetch *fetch);
/* Make every idle feed due now (tests, benchmarks, SIGHUP). */
void nd_fetch_poll_all_now(struct nd_fetch *fetch);

/* Replace the feed list (SIGHUP). Feeds are matched by id: a feed that stays keeps its state
 * (validators, recent item ids, schedule, counters); a new feed starts; a removed feed stops. A feed
 * whose URL changed forgets its validators. `feeds` must outlive the fetcher or the next call.
 * ND_ERR_AGAIN (nothing changed yet): polls in flight or stories not yet accepted downstream; the
 * fetcher starts no new poll until the list is swapped, so run the loop and call again: no parsed
 * story is dropped. */
enum nd_err nd_fetch_set_feeds(struct nd_fetch *fetch, const struct nd_feed_conf *feeds, size_t nfeeds);

size_t nd_fetch_feed_count(const struct nd_fetch *fetch);
const char *nd_fetch_feed_id(const struct nd_fetch *fetch, size_t i);
/* Index of a feed by id, or -1. */
long nd_fetch_feed_index(const struct nd_fetch *fetch, const char *feed_id);
void nd_fetch_feed_stats(const struct nd_fetch *fetch, size_t i, struct nd_fetch_stats *stats);
/* The sum over all feeds (last_* fields are those of the most recent poll). */
void nd_fetch_totals(const struct nd_fetch *fetch, struct nd_fetch_stats *stats);
/* Requests in flight and stories waiting for room downstream. */
size_t nd_fetch_inflight(const struct nd_fetch *fetch);
size_t nd_fetch_pending(const struct nd_fetch *fetch);

/* Feed state, for the publish stage to persist (newsd.state.v1) and restore on start:
 *   {"etag": s|null, "last_modified": s|null, "body_hash": "16 hex", "unstable_guids": bool,
 *    "ids": [["16 hex id hash", "16 hex content hash", version], ...]}    ids oldest first.
 * Hashes are hex strings because JSON numbers lose 64-bit precision in most readers.
 * Export returns a new reference. Import replaces the feed's state; ND_ERR_NOTFOUND for an unknown
 * feed id, ND_ERR_INVALID (state unchanged) for a malformed object. Import before the first poll. */
json_t *nd_fetch_state_export(const struct nd_fetch *fetch, size_t feed_index);
enum nd_err nd_fetch_state_import(struct nd_fetch *fetch, const char *feed_id, const json_t *state);

/* Heap bytes held by the fetcher for its idle feeds (memory accounting in benchmarks). */
size_t nd_fetch_memory(const struct nd_fetch *fetch);

#endif
