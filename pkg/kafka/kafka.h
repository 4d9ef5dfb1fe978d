/* kafka: librdkafka clients made from newsd's configuration, so every consumer newsd opens (state
 * restore, alert restore, webhook dispatcher, the Kafka source) sees the same brokers, client id
 * and `kafka.properties.*` (security settings above all). */
#ifndef ND_KAFKA_H
#define ND_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "config/config.h"

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

#endif
