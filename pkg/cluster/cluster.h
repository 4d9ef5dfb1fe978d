/* cluster: several instances share the feeds through Kafka, with no coordinator of ours.
 *
 * Feed definitions are records of a compacted topic (cluster.feeds_topic; key: feed id, value: the
 * feed as JSON, a tombstone deletes it). Every instance subscribes to it in one consumer group
 * (cluster.group_id, cooperative-sticky assignment); the feeds of the partitions the group assigns
 * an instance are the feeds it polls. A partition newly assigned is read from its beginning to its
 * end (the compacted topic is the truth, the group's committed offsets are not) before its feeds are
 * handed over; later records (a feed added, changed or deleted) update the set as they come.
 *
 * The daemon reacts through hooks, all called on the thread that calls nd_cluster_poll:
 *   set_feeds  the instance's feeds are now exactly `feeds`: swap fetch's list, restore the
 *              committed state of the added ones, return ND_OK; anything else (stopping) keeps the
 *              previous list in use, and the same set is offered again later
 *   barrier    partitions are being revoked and their feeds were removed by set_feeds: return once
 *              everything they produced is committed, so the next owner starts from it
 *   lost       the group dropped this instance (its session expired): nothing uncommitted may ever
 *              commit; the feeds are then set again from scratch
 * The partitions move to another instance only after the hooks return.
 *
 * Not thread-safe except nd_cluster_get_stats and nd_cluster_kafka (whose handle librdkafka makes
 * thread-safe for what publish does with it: assignment, position, group metadata). */
#ifndef ND_CLUSTER_H
#define ND_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "config/config.h"

struct nd_cluster;

struct nd_cluster_hooks {
    enum nd_err (*set_feeds)(void *opaque, const struct nd_feed_conf *feeds, size_t nfeeds);
    void (*barrier)(void *opaque);
    void (*lost)(void *opaque);
    void *opaque;
};

struct nd_cluster_stats {
    uint64_t rebalances;   /* assignments and revocations served */
    uint64_t records;      /* feed records read */
    uint64_t invalid;      /* feed records rejected (logged) */
    uint64_t partitions;   /* partitions assigned now */
    uint64_t feeds;        /* feeds handed to fetch by the last set_feeds */
    int ready;             /* in the group, every assigned partition read and its feeds handed over */
};

/* Subscribe to conf->cluster_feeds_topic as conf->cluster_group_id. NULL with errstr filled. */
struct nd_cluster *nd_cluster_new(const struct nd_config *conf, const struct nd_cluster_hooks *hooks,
                                  char *errstr, size_t errsz);
/* Leaves the group if nd_cluster_close was not called. NULL is a no-op. */
void nd_cluster_destroy(struct nd_cluster *cluster);

/* Serve rebalances and feed records for up to timeout_ms; calls the hooks. */
void nd_cluster_poll(struct nd_cluster *cluster, int timeout_ms);
/* Offer the current feed set to set_feeds again at the next poll (after the daemon reset fetch). */
void nd_cluster_reapply(struct nd_cluster *cluster);
/* Leave the group (at shutdown, once the last transaction is committed); no hook is called. */
void nd_cluster_close(struct nd_cluster *cluster);

rd_kafka_t *nd_cluster_kafka(struct nd_cluster *cluster);
void nd_cluster_get_stats(struct nd_cluster *cluster, struct nd_cluster_stats *stats);

/* `newsd feeds publish`: write every feed of conf (its `feeds:` list) to conf->cluster_feeds_topic,
 * keyed by id, creating the topic compacted with `partitions` partitions when it does not exist;
 * then a tombstone for each id of `remove`. Waits until every record is acknowledged. Returns the
 * number of records written, or -1 with errstr filled. */
int nd_cluster_publish_feeds(const struct nd_config *conf, int partitions,
                             const char *const *remove, size_t nremove, char *errstr, size_t errsz);

#endif
