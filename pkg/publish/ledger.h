/* ledger: the source units of the publish stage, so a Kafka transaction never commits half of one.
 *
 * A unit is what a source hands over at once and must be committed atomically with its cursor: a
 * feed poll (its new stories, then the feed state that records them as seen) or a record consumed
 * from Kafka (its story, then its offset). Sources open units in sequence order; stories of a unit
 * reach publish in any order through the parallel enrich stage. A unit is complete when it is
 * closed (the source said how many stories it has) and that many were produced. Complete units
 * leave the ledger strictly in sequence order, so per-feed states are written oldest first.
 *
 * Single-threaded: used by the publish thread only. */
#ifndef ND_PUBLISH_LEDGER_H
#define ND_PUBLISH_LEDGER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum nd_unit_kind { ND_UNIT_FEED = 1, ND_UNIT_KAFKA = 2 };

struct nd_unit {
    uint64_t seq;
    enum nd_unit_kind kind;
    int closed;
    size_t expected; /* stories, known once closed */
    size_t produced;
    /* feed units */
    char *feed_id;
    json_t *state;   /* owned */
    /* kafka units: the consumed record */
    char *topic;
    int32_t partition;
    int64_t offset;
};

struct nd_ledger;

struct nd_ledger *nd_ledger_new(void);
void nd_ledger_destroy(struct nd_ledger *ledger);

/* Open unit seq; seqs must be opened in increasing order. Returns the unit to fill (kind, feed id or
 * topic/partition/offset), owned by the ledger. */
struct nd_unit *nd_ledger_open(struct nd_ledger *ledger, uint64_t seq, enum nd_unit_kind kind);
/* Close unit seq: it has `expected` stories; `state` (stolen, may be NULL) is its feed state. */
int nd_ledger_close(struct nd_ledger *ledger, uint64_t seq, size_t expected, json_t *state);
/* A story of unit seq was produced. */
void nd_ledger_produced(struct nd_ledger *ledger, uint64_t seq);
/* The oldest unit if it is complete, removed from the ledger: the caller owns it (nd_unit_free).
 * NULL when the oldest unit is not complete or the ledger is empty. */
struct nd_unit *nd_ledger_pop_complete(struct nd_ledger *ledger);
/* Sequence number of the oldest unit still in the ledger, or UINT64_MAX when empty. */
uint64_t nd_ledger_oldest(const struct nd_ledger *ledger);
size_t nd_ledger_count(const struct nd_ledger *ledger);
void nd_unit_free(struct nd_unit *unit);

#endif
