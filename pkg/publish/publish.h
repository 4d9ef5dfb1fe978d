/* publish: owns the librdkafka producer. Encodes stories as JSON with CloudEvents 1.0 binary-mode
 * headers and produces them keyed by story id.
 *
 * Single-threaded: one publish thread calls everything here. The producer is idempotent and retries
 * forever (message.timeout.ms = 0 unless configured), so a broker that is down or not up yet is
 * waited for rather than losing records; librdkafka's queue is bounded and a full queue returns
 * ND_ERR_AGAIN, which the caller turns into backpressure. */
#ifndef ND_PUBLISH_H
#define ND_PUBLISH_H

#include <stdint.h>

#include "config/config.h"
#include "story/story.h"

struct nd_publish;

/* Called from nd_publish_poll for every story whose record was delivered (err == ND_OK) or failed
 * for good. The story is destroyed after the callback returns. */
typedef void (*nd_publish_delivered_fn)(void *opaque, const struct nd_story *story, const json_t *doc,
                                        enum nd_err err, const char *errstr);

struct nd_publish_stats {
    uint64_t produced, delivered, failed, queue_full;
};

/* Create the producer. `extra` are librdkafka properties set last (tests, the demo); may be NULL.
 * On error returns NULL with the reason (naming a rejected property) in errstr. */
struct nd_publish *nd_publish_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz);
void nd_publish_destroy(struct nd_publish *pub);

void nd_publish_set_delivered_cb(struct nd_publish *pub, nd_publish_delivered_fn fn, void *opaque);

/* Produce one story to the stories topic. On ND_OK the publisher owns the story (freed after its
 * delivery report). On ND_ERR_AGAIN (local queue full) the caller still owns it: poll and retry. */
enum nd_err nd_publish_story(struct nd_publish *pub, struct nd_story *story);

/* Serve delivery reports for up to timeout_ms. */
void nd_publish_poll(struct nd_publish *pub, int timeout_ms);
/* Wait until everything produced is delivered; ND_ERR_AGAIN when the deadline passes first. */
enum nd_err nd_publish_flush(struct nd_publish *pub, int timeout_ms);
/* Records produced but not yet delivered. */
int nd_publish_outq(struct nd_publish *pub);
void nd_publish_get_stats(const struct nd_publish *pub, struct nd_publish_stats *stats);
/* Ask the cluster for metadata, waiting up to timeout_ms: 1 when a broker answered. The readiness
 * check calls it (on the publish thread) whether or not records are flowing. */
int nd_publish_broker_reachable(struct nd_publish *pub, int timeout_ms);
/* 1 once the producer has talked to a broker. */
int nd_publish_connected(struct nd_publish *pub);

/* The CloudEvents headers of a record (exposed for tests). */
#define ND_CE_TYPE_STORY "io.newsd.story.v1"

#endif
