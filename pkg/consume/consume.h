/* consume: raw stories from Kafka topics (ninjs or plain JSON story objects) as a consumer group,
 * feeding the same pipeline as fetch. Instances that share consume.group_id share the partitions.
 *
 * Offsets: a record's offset is stored only when the caller says the story is safely handed on
 * (nd_consume_done); stored offsets are committed in the background and on close, so a crash re-reads
 * what was not handed on (at least once). For exactly once the publish stage sends each story's
 * position to its Kafka transaction instead (nd_consume_kafka gives the handle for
 * rd_kafka_consumer_group_metadata).
 *
 * Not thread-safe: one thread polls. */
#ifndef ND_CONSUME_H
#define ND_CONSUME_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "config/config.h"
#include "story/story.h"

struct nd_consume;

/* Where a record came from: kept beside its story so its offset can be committed or sent to a
 * transaction once the story is published. */
struct nd_consume_pos {
    char topic[256];
    int32_t partition;
    int64_t offset;
    /* ND_ERR_INVALID only: a malloc'd copy of the record's value (capped) for the dead-letter
     * topic, owned by the caller (free it); NULL otherwise */
    void *bad;
    size_t bad_len;
};

struct nd_consume_stats {
    uint64_t records, stories, invalid;
};

/* Subscribe to conf->consume_topics (comma-separated) as group conf->consume_group_id. kafka.brokers
 * and kafka.properties.* apply, then `extra` (may be NULL). NULL with the reason in errstr. */
struct nd_consume *nd_consume_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz);
/* Leaves the group, committing stored offsets. */
void nd_consume_destroy(struct nd_consume *consume);

/* Wait up to timeout_ms for the next record.
 *   ND_OK: *story is a new story owned by the caller; *pos its position.
 *   ND_ERR_AGAIN: nothing arrived (transient broker errors are logged and also give AGAIN).
 *   ND_ERR_INVALID: the record at *pos is not a story (reason in errstr): dead-letter it, then call
 *   nd_consume_done so it is not read again. */
enum nd_err nd_consume_poll(struct nd_consume *consume, int timeout_ms, struct nd_story **story,
                            struct nd_consume_pos *pos, char *errstr, size_t errsz);
/* The record at pos is handed on: store offset+1 for the next commit. */
enum nd_err nd_consume_done(struct nd_consume *consume, const struct nd_consume_pos *pos);

/* Backpressure (memory.limit_mb): pause (1) or resume (0) fetching of every assigned partition.
 * Keep polling while paused (rebalances are served in the poll; a record fetched before the pause
 * may still come and is handled as usual); call again each round while paused so partitions
 * assigned meanwhile pause too. The consumer's position does not move while paused, so nothing is
 * skipped on resume. */
void nd_consume_pause(struct nd_consume *consume, int pause);

void nd_consume_get_stats(const struct nd_consume *consume, struct nd_consume_stats *stats);
/* The librdkafka consumer (for consumer-group metadata in transactions). Owned by consume. */
rd_kafka_t *nd_consume_kafka(struct nd_consume *consume);

#endif
