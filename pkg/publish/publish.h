/* publish: owns the librdkafka producer and the Kafka transactions.
 *
 * Stories, their events and the feed state (or consumed offsets) that produced them are written in
 * one transaction; a transaction commits only when every source unit in it is complete (ledger.h),
 * so for read_committed consumers each story appears exactly once across crashes, broker restarts
 * and producer fencing. Errors are handled the way librdkafka documents them: retriable -> retry,
 * abortable -> abort and redo the batch, fatal -> recreate the producer and redo the batch. A commit
 * that only times out past the transaction timeout while the broker answers (librdkafka may never
 * finish one the broker froze under) is settled: a new producer ends the transaction, a record of
 * it is read back, and the batch is redone only if it was aborted. The batch of records of the open
 * transaction stays in memory until its commit succeeds, so nothing is lost whichever way a commit
 * fails.
 *
 * With kafka.transactions off the producer is idempotent and the same batches are flushed instead of
 * committed: at-least-once, with ce_id (story id + version) for consumers to drop duplicates.
 *
 * Single-threaded: one publish thread calls everything here. */
#ifndef ND_PUBLISH_H
#define ND_PUBLISH_H

#include <signal.h>
#include <stdint.h>

#include "config/config.h"
#include "core/membudget.h"
#include "publish/ledger.h"
#include "story/story.h"

struct nd_publish;

/* Why a transaction was given up (aborted, or abandoned with a fenced producer):
 *   timeout    it outlived kafka.transaction_timeout_ms (the broker was away): redone
 *   fenced     the producer hit a fatal error (another instance took the transactional id): redone
 *   error      an abortable error of the broker or of a record: redone
 *   rebalance  cluster mode, a commit refused during a rebalance: redone with the new generation
 *   discarded  cluster mode, dropped; its feeds resume from their committed state
 *   shutdown   its units could not complete before kafka.flush_timeout_ms: fetched again at start */
enum nd_abort_reason {
    ND_ABORT_TIMEOUT = 0, ND_ABORT_FENCED, ND_ABORT_ERROR, ND_ABORT_REBALANCE, ND_ABORT_DISCARDED,
    ND_ABORT_SHUTDOWN, ND_ABORT_NREASONS
};
const char *nd_publish_abort_reason_name(enum nd_abort_reason reason);

struct nd_publish_stats {
    uint64_t stories, events, states, deadletters, alerts; /* records produced (redos not counted twice) */
    uint64_t delivered, delivery_errors;
    uint64_t commits, aborts, retries, fatal_recreates;
    uint64_t stalls; /* commits that stalled after the broker came back: settled by a read-back */
    uint64_t aborted[ND_ABORT_NREASONS]; /* transactions given up, once each, by reason */
    uint64_t queue_full;
    int64_t last_commit_latency_ms;
};

/* Create the producer; `extra` librdkafka properties are set last (tests, the demo). NULL with the
 * reason in errstr, naming the property librdkafka rejected. */
struct nd_publish *nd_publish_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz);
void nd_publish_destroy(struct nd_publish *pub);

/* Initialise transactions (fencing any previous instance with our transactional.id), waiting for
 * the broker as long as it takes unless *give_up becomes non-zero (then ND_ERR_AGAIN). */
enum nd_err nd_publish_start(struct nd_publish *pub, volatile sig_atomic_t *give_up);

/* Source units (see ledger.h). open: in increasing seq order. For ND_UNIT_KAFKA units give the
 * consumed record's topic, partition and offset; for ND_UNIT_FEED the feed id. */
void nd_publish_unit_open(struct nd_publish *pub, uint64_t seq, enum nd_unit_kind kind,
                          const char *feed_id, const char *topic, int32_t partition, int64_t offset);
/* The unit has nstories stories; state (stolen, may be NULL) is the feed state to write with them. */
void nd_publish_unit_close(struct nd_publish *pub, uint64_t seq, size_t nstories, json_t *state);

/* Produce a story and its events in the open transaction. Takes ownership of the story. */
void nd_publish_story(struct nd_publish *pub, struct nd_story *story);

/* The memory budget (memory.limit_mb; not owned, NULL: none): each record of the open transaction
 * holds its bytes (and librdkafka's copy's) there until the commit, and librdkafka's own buffers
 * hold a fixed share (8 MiB, at most a quarter) while publish lives. Set before the first story. */
void nd_publish_set_budget(struct nd_publish *pub, struct nd_membudget *budget);

/* Called on the publish thread for each story just before it is encoded and produced, when it
 * enters the transaction that will carry it: the hook may add annotations to the story (the alert
 * stage fills `dedup`) and produce records that must commit with it (nd_publish_alert). */
typedef void (*nd_publish_story_hook)(void *opaque, struct nd_publish *pub, struct nd_story *story);
void nd_publish_set_story_hook(struct nd_publish *pub, nd_publish_story_hook hook, void *opaque);

/* An alert for a desk in the open transaction, keyed by desk, as part of source unit `unit` (the
 * story's), so it commits exactly when the story does. doc is encoded here, not stolen. */
void nd_publish_alert(struct nd_publish *pub, uint64_t unit, const char *desk, const json_t *doc);

/* An input that can never be processed: to the dead-letter topic with error, source and stage in
 * headers. payload is copied (capped at 1 MiB). unit: its source unit, or 0. */
void nd_publish_deadletter(struct nd_publish *pub, uint64_t unit, const char *source,
                           const char *stage, const char *error, const void *payload, size_t len);

/* The Kafka source's consumer (rd_kafka_t *), for consume-transform-produce: each commit sends the
 * consumed offsets with the group's current metadata. Not owned; must outlive publish's use. */
void nd_publish_set_consumer(struct nd_publish *pub, void *consumer);

/* Cluster mode (cluster.feeds_topic): the feeds group's consumer (rd_kafka_t *). Every commit sends
 * its assignment's positions with the group's current metadata, so an instance the group has
 * dropped (a zombie: paused past the session timeout) cannot commit. A batch whose commit fails
 * that way, or with an error that needs an abort or a new producer, is dropped instead of redone:
 * its stories may belong to feeds another instance polls now. From then on every unit is ignored
 * until the source calls nd_publish_discard; nd_publish_drops counts these drops. Not owned. */
void nd_publish_set_fence(struct nd_publish *pub, void *consumer);
/* The source has forgotten everything it had not committed (its feeds resume from the committed
 * state): drop the open transaction, held-back stories and open units, and ignore units up to
 * `upto` (every unit the source opened before this call) from now on. */
void nd_publish_discard(struct nd_publish *pub, uint64_t upto);
/* Thread-safe. Every unit up to the returned seq is committed or discarded. */
uint64_t nd_publish_committed(const struct nd_publish *pub);
/* Thread-safe. The `upto` of the last nd_publish_discard done, and the number of dropped batches. */
uint64_t nd_publish_discarded(const struct nd_publish *pub);
uint64_t nd_publish_drops(const struct nd_publish *pub);

/* Serve delivery reports, write the states of completed units, and commit when the batch is due
 * (kafka.commit_records, kafka.commit_interval_ms) or flush_now is set. */
void nd_publish_tick(struct nd_publish *pub, int flush_now);

/* At shutdown: commit every complete unit within timeout_ms; records of units that cannot complete
 * are aborted, never half-written. ND_OK when everything complete was committed. */
enum nd_err nd_publish_finish(struct nd_publish *pub, int timeout_ms);

/* Stopping has begun: retries (commits, a broker that is away) give up at deadline_ms (monotonic),
 * so shutdown ends within kafka.flush_timeout_ms. The only call here that another thread may make. */
void nd_publish_set_deadline(struct nd_publish *pub, int64_t deadline_ms);

/* Thread-safe. How long the commit under way has been trying (its retries and redos included),
 * 0 when none is: a broker that hangs without closing its connections shows here first. */
int64_t nd_publish_commit_waiting_ms(const struct nd_publish *pub);

/* Records in the open transaction, stories held back until the next one, open units. */
size_t nd_publish_backlog(const struct nd_publish *pub);
void nd_publish_get_stats(const struct nd_publish *pub, struct nd_publish_stats *stats);
/* 1 once the producer is initialised against a broker. */
int nd_publish_ready(const struct nd_publish *pub);
/* Ask the cluster for metadata, waiting up to timeout_ms: 1 when a broker answered. The readiness
 * check calls it (on the publish thread) whether or not records are flowing. */
int nd_publish_broker_reachable(struct nd_publish *pub, int timeout_ms);

#define ND_CE_TYPE_STORY "io.newsd.story.v1"
#define ND_CE_TYPE_EVENT "io.newsd.event.v1"
#define ND_CE_TYPE_STATE "io.newsd.feedstate.v1"
#define ND_CE_TYPE_DEADLETTER "io.newsd.deadletter.v1"
#define ND_CE_TYPE_ALERT "io.newsd.alert.v1"

#endif
