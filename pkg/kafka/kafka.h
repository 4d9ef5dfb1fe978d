/* kafka: librdkafka clients made from newsd's configuration, so every consumer newsd opens (state
 * restore, alert restore, webhook dispatcher, the Kafka source) sees the same brokers, client id
 * and `kafka.properties.*` (security settings above all), and every client logs through newsd's
 * logger. */
#ifndef ND_KAFKA_H
#define ND_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "config/config.h"
#include "core/core.h"

/* librdkafka's log lines (syslog levels 0-7) in newsd's log, module "kafka": 0-3 error, 4 warn,
 * 5 (notice) info, 6-7 debug. A broker that cannot be reached (facilities FAIL and ERROR: a
 * connection refused or lost, all brokers down) is at most a warning: newsd retries, and its
 * readiness check says so. The one mapping of every client newsd creates. */
enum nd_log_level nd_kafka_log_level(int level, const char *fac);
/* One librdkafka line at `level` (newsd's), as "FAC: text". Any thread. */
void nd_kafka_log(enum nd_log_level level, const char *fac, const char *buf);
/* Route a client's log lines through nd_kafka_log with nd_kafka_log_level (instead of librdkafka's
 * own "%3|..." lines on stderr). Every rd_kafka_conf_t newsd makes passes here. */
void nd_kafka_conf_set_logger(rd_kafka_conf_t *kconf);

/* 1 for librdkafka properties that only a producer understands (a consumer would warn about them).
 */
int nd_kafka_producer_only(const char *key);

/* A consumer: bootstrap.servers and client.id from conf, then `props` (NULL-terminated key, value
 * pairs: group.id, isolation.level, ...), then conf's kafka.properties.* except producer-only ones.
 * NULL with "what: reason" in errstr (`what` names the caller in the message). */
/* The configuration nd_kafka_consumer_new would use, for a caller that sets callbacks (a rebalance
 * callback, an opaque) before rd_kafka_new. Caller owns it. NULL with errstr filled. */
rd_kafka_conf_t *nd_kafka_consumer_conf(const struct nd_config *conf, const char *const *props,
                                        const char *what, char *errstr, size_t errsz);
rd_kafka_t *nd_kafka_consumer_new(const struct nd_config *conf, const char *const *props,
                                  const char *what, char *errstr, size_t errsz);

/* Wait until the broker answers metadata for `topic` (a try every 5 s; one warning, logged as
 * module `what`). 1: it exists; *parts is a new list of all its partitions (offsets unset, caller
 * destroys it). 0: the broker says there is no such topic. -1: *stop became non-zero first
 * (errstr). */
int nd_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, const char *what,
                              volatile sig_atomic_t *stop, rd_kafka_topic_partition_list_t **parts,
                              char *errstr, size_t errsz);

/* Create `topic` compacted with `partitions` partitions (-1: the broker's default) when it does not
 * exist; an existing one is left as it is. Problems are logged as module `what`. rk: any handle. */
void nd_kafka_ensure_compacted(rd_kafka_t *rk, const char *topic, int partitions, const char *what);

/* Was the record that a transactional producer wrote at topic/partition/offset committed? Read
 * back with read_committed, once the transaction has ended (a newer producer with the same
 * transactional.id has been initialised): 1 committed (the record is there), 0 aborted (the
 * consumer skips it: the first record or the end it reaches lies past the offset), -1 not known
 * within timeout_ms (errstr). */
int nd_kafka_record_committed(const struct nd_config *conf, const char *topic, int32_t partition,
                              int64_t offset, int timeout_ms, char *errstr, size_t errsz);

#endif
