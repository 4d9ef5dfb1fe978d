#include "publish/publish.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka.h"

#define MOD "publish"
#define DEADLETTER_MAX (1u << 20)

/* A record of the open transaction, kept until the commit succeeds so any failure can redo it. */
struct record {
    const char *topic;  /* points into conf */
    char *key;
    char *value;
    size_t len;
    rd_kafka_headers_t *hdrs; /* template; each produce passes a copy */
    uint64_t unit;      /* source unit, 0 for none */
    size_t mem;         /* bytes reserved in the budget for it and librdkafka's copy */
};

/* librdkafka's own cost of a queued message beyond its value and key (rd_kafka_msg_t, headers). */
#define RECORD_OVERHEAD 512

struct nd_publish {
    const struct nd_config *conf;
    struct nd_kv *extra;
    size_t nextra;
    rd_kafka_t *rk;
    int transactional;
    int ready;
    struct nd_ledger *ledger;
    struct nd_publish_stats stats;
    rd_kafka_t *consumer;   /* the Kafka source, for its group metadata */
    rd_kafka_t *fence;      /* cluster mode: the feeds group's consumer, whose metadata fences */

    /* cluster mode: a batch that failed to commit is dropped, never redone (see nd_publish_discard) */
    int discard_all;        /* since a drop: ignore every unit until the source's discard */
    uint64_t discard_upto;  /* units up to this seq were discarded: ignore them */
    uint64_t max_opened;    /* highest unit seq opened */
    _Atomic uint64_t committed; /* every unit up to this seq is committed (or discarded) */
    _Atomic uint64_t discarded; /* the boundary of the last nd_publish_discard done */
    _Atomic uint64_t drops;     /* batches dropped */

    /* the open transaction */
    int txn_open;
    struct record *batch;
    size_t nbatch, batch_cap;
    rd_kafka_topic_partition_list_t *offsets;
    uint64_t txn_max_unit;
    int64_t txn_started_ms;
    /* the same, readable from librdkafka's threads (its log callback); 0: no transaction open */
    _Atomic int64_t txn_open_since;
    _Atomic int64_t commit_since; /* a commit (with its retries and redos) is running since; 0 none */
    int txn_reported;   /* this transaction's failure has had its one warning */
    int txn_counted;    /* and its count in stats.aborted */
    int txn_retry_logged; /* a retriable commit error of this transaction was logged */
    uint64_t txn_gen;   /* transactions begun; every record's opaque, so that a late delivery
                         * report of an earlier transaction is not taken for this one's */
    /* A record of the open transaction that the broker acknowledged (one of a topic that is not
     * compacted preferred), offset -1: none yet. A commit that stalls is settled by reading it
     * back (settle_stalled). */
    char probe_topic[256];
    int32_t probe_partition;
    int64_t probe_offset;
    /* A transaction outlived its timeout and no commit has succeeded since: the errors that
     * follow (the redo's producer fenced when the broker aborts the old transaction, records
     * timed out, aborts refused) are that one event. Read by librdkafka's threads too. */
    _Atomic int away;
    /* commit wanted: stories of units opened after `limit` wait in `deferred` */
    int closing;
    uint64_t limit;
    struct nd_story **deferred;
    size_t ndeferred, deferred_cap;
    int fatal;        /* the producer raised a fatal error: recreate it */
    volatile sig_atomic_t *give_up; /* before the first start: stop waiting for the broker */
    /* at shutdown: stop retrying after this (monotonic ms; 0 none). Set by the daemon's thread
     * when stopping begins, read by the publish thread inside its retry loops. */
    _Atomic int64_t deadline_ms;
    struct nd_membudget *budget;    /* memory.limit_mb: the batch's records are reserved here */
    nd_publish_story_hook hook;     /* the alert stage */
    void *hook_opaque;
};

static const char *const abort_reasons[ND_ABORT_NREASONS] = {"timeout", "fenced", "error",
                                                              "rebalance", "discarded", "shutdown"};

const char *nd_publish_abort_reason_name(enum nd_abort_reason reason)
{
    return (unsigned)reason < ND_ABORT_NREASONS ? abort_reasons[reason] : "unknown";
}

static int txn_timeout_ms(const struct nd_publish *pub)
{
    return *pub->conf->cluster_feeds_topic ? pub->conf->cluster_transaction_timeout_ms
                                           : pub->conf->kafka_transaction_timeout_ms;
}

/* The open transaction has outlived transaction.timeout.ms: the broker aborts it (or has), and
 * whatever fails next (a commit refused, the producer fenced, records timed out, an abort in the
 * wrong state) is that one event, which the caller reports once. Any thread. */
static int txn_expired(const struct nd_publish *pub)
{
    int64_t since = atomic_load(&pub->txn_open_since);
    return pub->transactional && since && nd_mono_ms() - since >= txn_timeout_ms(pub);
}

/* The broker was away past a transaction's timeout, and no commit has succeeded since. Any thread. */
static int broker_was_away(const struct nd_publish *pub)
{
    return txn_expired(pub) || atomic_load(&pub->away);
}

/* The open transaction is given up (aborted, or abandoned with a fenced producer): counted once
 * per transaction by reason. A transaction that outlived its timeout (or a redo that fails as a
 * consequence) counts as a timeout whatever the error that ended it says, and the first of them
 * gets the one warning that tells the operator what happens. */
static void txn_given_up(struct nd_publish *pub, enum nd_abort_reason reason)
{
    if (broker_was_away(pub)) {
        reason = ND_ABORT_TIMEOUT;
        if (!atomic_exchange(&pub->away, 1))
            nd_warn(MOD, "transaction of %zu records aborted: the broker was away longer than the "
                         "transaction timeout (%d ms); %s",
                    pub->nbatch, txn_timeout_ms(pub),
                    pub->fence ? "its feeds resume from their committed state"
                               : "the batch will be redone");
        pub->txn_reported = 1;
    }
    if (!pub->txn_counted)
        pub->stats.aborted[reason]++;
    pub->txn_counted = 1;
}

/* No transaction open any more (committed, aborted or abandoned). */
static void txn_closed(struct nd_publish *pub)
{
    pub->txn_open = 0;
    atomic_store(&pub->txn_open_since, 0);
}

/* What librdkafka holds beyond its copies of our records, reserved once: its produce requests in
 * flight (compressed copies of batches, up to max.in.flight per broker) and their compression
 * buffers, and a replaced producer's during a redo, and the allocator's pages freed by one thread
 * and not yet reused by another. Measured, not modelled: through a broker freeze and its catch-up
 * resident memory grew 4 to 7 MiB more than the count did (bench/soak_memory.py,
 * tests/integration/test_memory.py). At most a quarter of a small budget. */
#define KAFKA_RESERVE (8u << 20)

/* A stalled commit: how long the broker may take to answer that it is there, and how long one
 * read-back of the transaction's record may take. */
#define KAFKA_PROBE_TIMEOUT_MS 2000
#define READBACK_TIMEOUT_MS 15000

static size_t kafka_reserve(const struct nd_membudget *budget)
{
    size_t quarter = nd_membudget_limit(budget) / 4;
    return quarter < KAFKA_RESERVE ? quarter : KAFKA_RESERVE;
}

/* --- producer lifecycle ---------------------------------------------------------------------- */

/* An acknowledged record of the open transaction: the first one, or the first outside the (compacted)
 * state topic, is the one a stalled commit reads back. */
static void note_probe(struct nd_publish *pub, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    int state = !strcmp(topic, pub->conf->topic_state);
    if (pub->probe_offset >= 0 && (state || strcmp(pub->probe_topic, pub->conf->topic_state)))
        return;
    if (strlen(topic) >= sizeof(pub->probe_topic))
        return;
    strcpy(pub->probe_topic, topic);
    pub->probe_partition = msg->partition;
    pub->probe_offset = msg->offset;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct nd_publish *pub = opaque;
    if (msg->err) {
        /* the transaction (or batch) containing it is redone; no record is lost here. Purged
         * records are our own doing (an abort, a producer replaced), and records timed out in a
         * transaction that outlived its timeout are that transaction's one warning: neither is
         * worth a line each. Otherwise the first failure of a transaction is logged. */
        int quiet = msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                    msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT || broker_was_away(pub) ||
                    pub->txn_reported;
        pub->stats.delivery_errors++;
        nd_log(quiet ? ND_LOG_DEBUG : ND_LOG_WARN, MOD, "delivery to %s failed: %s",
               rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
        if (!quiet)
            pub->txn_reported = 1;
    } else {
        pub->stats.delivered++;
        /* delivery reports are served on the publish thread (rd_kafka_poll, flush, commit) */
        if (rk == pub->rk && (uintptr_t)msg->_private == (uintptr_t)pub->txn_gen &&
            msg->offset >= 0)
            note_probe(pub, msg);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct nd_publish *pub = opaque;
    if (rk != pub->rk)
        return; /* a producer being replaced: what it says now is about its own end */
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        /* fenced because the broker aborted an expired transaction: the designed path, reported
         * by txn_given_up */
        nd_log(broker_was_away(pub) ? ND_LOG_INFO : ND_LOG_ERROR, MOD,
               "fatal producer error: %s (recreating the producer)", buf);
        pub->fatal = 1;
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        nd_warn(MOD, "kafka: %s (waiting for the broker)", reason);
    } else {
        nd_warn(MOD, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const struct nd_publish *pub = rd_kafka_opaque(rk);
    enum nd_log_level lvl = nd_kafka_log_level(level, fac);
    /* librdkafka's own account of an expired transaction ("Fatal transaction error", "Fatal
     * error: fenced", an abort in INVALID_TXN_STATE) repeats what txn_given_up says once */
    if (pub && lvl > ND_LOG_DEBUG && broker_was_away(pub) &&
        (!strcmp(fac, "FATAL") || !strncmp(fac, "TXN", 3)))
        lvl = ND_LOG_DEBUG;
    /* a connection that failed also reaches on_error, which logs it (at warn) */
    if (lvl > ND_LOG_DEBUG && !strcmp(fac, "FAIL"))
        lvl = ND_LOG_DEBUG;
    nd_kafka_log(lvl, fac, buf);
}

static int set_prop(rd_kafka_conf_t *kconf, const char *key, const char *value, char *errstr,
                    size_t errsz)
{
    char kerr[512];
    if (rd_kafka_conf_set(kconf, key, value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errsz, "kafka property \"%s\" = \"%s\" rejected: %s", key, value, kerr);
        return -1;
    }
    return 0;
}

/* librdkafka's queue holds copies of the open transaction's records, whose bytes the budget counts
 * twice (ours and its): give it half of memory.limit_mb, and a message count that half fills with
 * the smallest records newsd writes (~512 bytes: an event, an alert), so the byte bound is the one
 * that binds. kafka.properties may set either explicitly (they are applied after these). */
static int set_queue_props(rd_kafka_conf_t *kconf, const struct nd_config *conf, char *errstr,
                           size_t errsz)
{
    long kbytes = (long)conf->memory_limit_mb * 1024 / 2;
    long messages = kbytes * 1024 / 512;
    char num[32];

    snprintf(num, sizeof(num), "%ld", kbytes);
    if (set_prop(kconf, "queue.buffering.max.kbytes", num, errstr, errsz))
        return -1;
    snprintf(num, sizeof(num), "%ld", messages < 1000 ? 1000 : messages);
    return set_prop(kconf, "queue.buffering.max.messages", num, errstr, errsz);
}

static rd_kafka_t *producer_new(struct nd_publish *pub, char *errstr, size_t errsz)
{
    const struct nd_config *conf = pub->conf;
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    char num[32], kerr[512];

    snprintf(num, sizeof(num), "%d", conf->kafka_linger_ms);
    if (set_prop(kconf, "bootstrap.servers", conf->kafka_brokers, errstr, errsz) ||
        set_prop(kconf, "client.id", conf->kafka_client_id, errstr, errsz) ||
        set_prop(kconf, "enable.idempotence", "true", errstr, errsz) ||
        set_prop(kconf, "compression.type", conf->kafka_compression, errstr, errsz) ||
        set_prop(kconf, "linger.ms", num, errstr, errsz) ||
        set_queue_props(kconf, conf, errstr, errsz))
        goto fail;
    if (pub->transactional) {
        /* cluster mode: a dead instance's open transaction delays the takeover of its feeds until
         * the broker aborts it, so it gets a timeout of its own, shorter */
        snprintf(num, sizeof(num), "%d",
                 *conf->cluster_feeds_topic ? conf->cluster_transaction_timeout_ms
                                            : conf->kafka_transaction_timeout_ms);
        if (set_prop(kconf, "transactional.id", conf->kafka_transactional_id, errstr, errsz) ||
            set_prop(kconf, "transaction.timeout.ms", num, errstr, errsz))
            goto fail;
    } else if (set_prop(kconf, "message.timeout.ms", "0", errstr, errsz)) {
        /* without transactions a record is retried forever: the broker may be down for minutes */
        goto fail;
    }
    for (size_t i = 0; i < conf->nkafka_props; i++)
        if (set_prop(kconf, conf->kafka_props[i].key, conf->kafka_props[i].value, errstr, errsz))
            goto fail;
    for (size_t i = 0; i < pub->nextra; i++)
        if (set_prop(kconf, pub->extra[i].key, pub->extra[i].value, errstr, errsz))
            goto fail;
    rd_kafka_conf_set_dr_msg_cb(kconf, on_delivery);
    rd_kafka_conf_set_error_cb(kconf, on_error);
    rd_kafka_conf_set_log_cb(kconf, on_log);
    rd_kafka_conf_set_opaque(kconf, pub);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, kerr, sizeof(kerr)))) {
        /* rd_kafka_new takes the conf only on success */
        snprintf(errstr, errsz, "cannot create the Kafka producer: %s", kerr);
        goto fail;
    }
    return rk;
fail:
    rd_kafka_conf_destroy(kconf);
    return NULL;
}

static void producer_destroy(rd_kafka_t *rk)
{
    if (!rk)
        return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    rd_kafka_destroy(rk);
}

struct nd_publish *nd_publish_new(const struct nd_config *conf, const struct nd_kv *extra,
                                  size_t nextra, char *errstr, size_t errsz)
{
    struct nd_publish *pub = nd_xcalloc(1, sizeof(*pub));
    pub->conf = conf;
    pub->transactional = conf->kafka_transactions;
    pub->extra = nd_xcalloc(nextra ? nextra : 1, sizeof(*pub->extra));
    for (size_t i = 0; i < nextra; i++) {
        pub->extra[i].key = nd_strdup(extra[i].key);
        pub->extra[i].value = nd_strdup(extra[i].value);
    }
    pub->nextra = nextra;
    pub->ledger = nd_ledger_new();
    if (!(pub->rk = producer_new(pub, errstr, errsz))) {
        nd_publish_destroy(pub);
        return NULL;
    }
    return pub;
}

static void record_free(struct nd_publish *pub, struct record *rec)
{
    free(rec->key);
    free(rec->value);
    rd_kafka_headers_destroy(rec->hdrs);
    nd_membudget_release(pub->budget, rec->mem);
}

static void batch_clear(struct nd_publish *pub)
{
    for (size_t i = 0; i < pub->nbatch; i++)
        record_free(pub, &pub->batch[i]);
    pub->nbatch = 0;
    if (pub->offsets) {
        rd_kafka_topic_partition_list_destroy(pub->offsets);
        pub->offsets = NULL;
    }
}

void nd_publish_destroy(struct nd_publish *pub)
{
    if (!pub)
        return;
    producer_destroy(pub->rk);
    nd_membudget_release(pub->budget, kafka_reserve(pub->budget));
    batch_clear(pub);
    free(pub->batch);
    for (size_t i = 0; i < pub->ndeferred; i++)
        nd_story_destroy(pub->deferred[i]);
    free(pub->deferred);
    nd_ledger_destroy(pub->ledger);
    for (size_t i = 0; i < pub->nextra; i++) {
        free(pub->extra[i].key);
        free(pub->extra[i].value);
    }
    free(pub->extra);
    free(pub);
}

/* Retries go on as long as it takes while running (a broker may be away for minutes); at shutdown
 * they stop at the deadline, and before the first start when the daemon is asked to stop. */
static int giving_up(const struct nd_publish *pub)
{
    int64_t deadline = atomic_load(&pub->deadline_ms);
    if (deadline)
        return nd_mono_ms() >= deadline;
    return !pub->ready && pub->give_up && *pub->give_up;
}

/* Timeout of one blocking transactional call. */
static int op_timeout(const struct nd_publish *pub)
{
    int64_t left;
    int64_t deadline = atomic_load(&pub->deadline_ms);
    if (!deadline)
        return 30000;
    left = deadline - nd_mono_ms();
    return left < 100 ? 100 : left > 30000 ? 30000 : (int)left;
}

/* init_transactions until it succeeds: a broker that is not up yet is waited for. */
static enum nd_err init_txn(struct nd_publish *pub)
{
    int warned = 0;
    if (!pub->transactional) {
        pub->ready = 1;
        return ND_OK;
    }
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(pub->rk, op_timeout(pub) < 10000 ? op_timeout(pub) : 10000);
        if (!error) {
            pub->ready = 1;
            nd_info(MOD, "transactions initialised (transactional.id %s)",
                    pub->conf->kafka_transactional_id);
            return ND_OK;
        }
        if (!warned++ || rd_kafka_error_is_fatal(error))
            nd_warn(MOD, "init_transactions: %s%s", rd_kafka_error_string(error),
                    rd_kafka_error_is_retriable(error) ? " (retrying)" : "");
        if (rd_kafka_error_is_fatal(error)) {
            rd_kafka_error_destroy(error);
            return ND_ERR_FATAL;
        }
        rd_kafka_error_destroy(error);
        if (giving_up(pub))
            return ND_ERR_AGAIN;
    }
}

/* A new producer in place of the current one, initialised: with the same transactional id it
 * fences the old one, and once init_transactions has succeeded the broker has ended the old
 * producer's transaction (committed, if its commit had reached the coordinator, else aborted).
 * The open transaction's bookkeeping is left to the caller. */
static enum nd_err replace_producer(struct nd_publish *pub)
{
    char errstr[512];
    for (;;) {
        rd_kafka_t *old = pub->rk;
        pub->stats.fatal_recreates++;
        pub->rk = NULL; /* its callbacks while it goes are told apart (on_error, on_delivery) */
        producer_destroy(old);
        pub->ready = 0;
        pub->fatal = 0;
        if (!(pub->rk = producer_new(pub, errstr, sizeof(errstr)))) {
            nd_error(MOD, "cannot recreate the producer: %s", errstr);
            return ND_ERR_FATAL; /* configuration was accepted once; cannot happen */
        }
        enum nd_err err = init_txn(pub);
        if (err != ND_ERR_FATAL)
            return err;
        if (giving_up(pub))
            return ND_ERR_AGAIN;
        sleep(1);
    }
}

/* Replace a producer that hit a fatal error. The new one fences the old transactional id; the batch
 * in memory is then produced again in a fresh transaction. */
static enum nd_err recreate(struct nd_publish *pub)
{
    if (pub->txn_open)
        txn_given_up(pub, ND_ABORT_FENCED);
    txn_closed(pub);
    return replace_producer(pub);
}

enum nd_err nd_publish_start(struct nd_publish *pub, volatile sig_atomic_t *give_up)
{
    enum nd_err err;
    pub->give_up = give_up;
    err = init_txn(pub);
    if (err == ND_ERR_FATAL)
        err = recreate(pub);
    return err;
}

/* --- producing ------------------------------------------------------------------------------- */

/* Produce one record from the batch. ND_OK, ND_ERR_FATAL (recreate) or ND_ERR_INVALID (the
 * transaction must be aborted). A full local queue is waited out here: that is the backpressure. */
static enum nd_err produce_record(struct nd_publish *pub, const struct record *rec)
{
    for (;;) {
        rd_kafka_headers_t *hdrs = rd_kafka_headers_copy(rec->hdrs);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            pub->rk, RD_KAFKA_V_TOPIC(rec->topic), RD_KAFKA_V_KEY(rec->key, strlen(rec->key)),
            RD_KAFKA_V_VALUE(rec->value, rec->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)pub->txn_gen),
            RD_KAFKA_V_END);
        if (!err)
            return ND_OK;
        rd_kafka_headers_destroy(hdrs);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            pub->stats.queue_full++;
            rd_kafka_poll(pub->rk, 100);
            if (pub->fatal)
                return ND_ERR_FATAL;
            if (giving_up(pub))
                return ND_ERR_INVALID; /* stopping with the broker away: the batch is aborted */
            continue;
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL || pub->fatal)
            return ND_ERR_FATAL;
        nd_warn(MOD, "produce to %s: %s", rec->topic, rd_kafka_err2str(err));
        return ND_ERR_INVALID;
    }
}

static enum nd_err begin_txn(struct nd_publish *pub)
{
    rd_kafka_error_t *error;
    if (pub->txn_open)
        return ND_OK;
    if (pub->transactional) {
        if ((error = rd_kafka_begin_transaction(pub->rk))) {
            int fatal = rd_kafka_error_is_fatal(error);
            /* after an outage this is the recovery path (redo replaces the producer): a warning */
            nd_log(broker_was_away(pub) ? ND_LOG_WARN : ND_LOG_ERROR, MOD, "begin_transaction: %s",
                   rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            return fatal ? ND_ERR_FATAL : ND_ERR_INVALID;
        }
    }
    pub->txn_open = 1;
    pub->txn_gen++;
    pub->probe_offset = -1;
    pub->txn_started_ms = nd_mono_ms();
    atomic_store(&pub->txn_open_since, pub->txn_started_ms);
    pub->txn_reported = pub->txn_counted = pub->txn_retry_logged = 0;
    return ND_OK;
}

static void abort_txn(struct nd_publish *pub, enum nd_abort_reason reason)
{
    rd_kafka_error_t *error;
    pub->stats.aborts++;
    txn_given_up(pub, reason);
    /* An abort that timed out is still in progress in librdkafka: it must be called again until
     * it completes (no other transactional call is taken meanwhile), so it is, while we are not
     * stopping. */
    for (int tries = 0; pub->transactional && pub->txn_open; tries++) {
        int retriable;
        if (!(error = rd_kafka_abort_transaction(pub->rk, op_timeout(pub))))
            break;
        /* after an expired transaction the broker has fenced us: INVALID_TXN_STATE or a
         * fatal error here is expected, and the producer is recreated */
        if (!tries)
            nd_log(broker_was_away(pub) ? ND_LOG_DEBUG : ND_LOG_WARN, MOD,
                   "abort_transaction: %s", rd_kafka_error_string(error));
        retriable = rd_kafka_error_is_retriable(error);
        if (rd_kafka_error_is_fatal(error))
            pub->fatal = 1;
        rd_kafka_error_destroy(error);
        if (!retriable || pub->fatal || giving_up(pub))
            break;
    }
    if (!pub->transactional) {
        rd_kafka_purge(pub->rk, RD_KAFKA_PURGE_F_QUEUE);
    }
    txn_closed(pub);
}

/* Produce the whole batch again in a new transaction (after an abort or a recreated producer). */
static enum nd_err redo(struct nd_publish *pub)
{
    enum nd_err err;
    for (;;) {
        if (pub->fatal && (err = recreate(pub)) != ND_OK)
            return err;
        if ((err = begin_txn(pub)) == ND_OK) {
            for (size_t i = 0; i < pub->nbatch && err == ND_OK; i++)
                err = produce_record(pub, &pub->batch[i]);
            if (err == ND_OK)
                return ND_OK;
        }
        if (err == ND_ERR_FATAL)
            pub->fatal = 1;
        else if (pub->txn_open)
            abort_txn(pub, ND_ABORT_ERROR);
        else
            /* begin_transaction refused (an abort librdkafka still holds open, a state it will
             * not leave): a new producer ends whatever the old one had open, and the batch is
             * produced again there; retrying the same call would only spin */
            pub->fatal = 1;
        if (giving_up(pub))
            return ND_ERR_AGAIN;
    }
}

/* Cluster mode: forget the open transaction's batch, the stories held back and every open unit.
 * Their feeds are then re-read from the committed state by the source (nd_publish_discard), so
 * nothing is lost; redoing the batch instead could commit stories of feeds another instance polls
 * now. Until the source's discard arrives, every unit is ignored (discard_all). */
static void drop_all(struct nd_publish *pub)
{
    if (pub->txn_open && !pub->fatal)
        abort_txn(pub, ND_ABORT_DISCARDED);
    else if (pub->txn_open)
        txn_given_up(pub, ND_ABORT_DISCARDED);
    txn_closed(pub);
    batch_clear(pub);
    for (size_t i = 0; i < pub->ndeferred; i++)
        nd_story_destroy(pub->deferred[i]);
    pub->ndeferred = 0;
    nd_ledger_destroy(pub->ledger);
    pub->ledger = nd_ledger_new();
    pub->closing = 0;
    pub->txn_max_unit = 0;
}

/* Cluster mode, a batch that cannot commit: dropped, and every unit ignored until the source has
 * reset its feeds to their committed state (nd_publish_discard). */
static void drop_batch(struct nd_publish *pub)
{
    drop_all(pub);
    pub->discard_all = 1;
    atomic_fetch_add(&pub->drops, 1);
}

static int discarded_unit(const struct nd_publish *pub, uint64_t seq)
{
    return seq && (pub->discard_all || seq <= pub->discard_upto);
}

/* Append a record to the batch and produce it; failures are repaired by redoing the batch. */
static void add_record(struct nd_publish *pub, const char *topic, const char *key, char *value,
                       size_t len, rd_kafka_headers_t *hdrs, uint64_t unit)
{
    struct record *rec;
    enum nd_err err;

    if (pub->nbatch == pub->batch_cap) {
        pub->batch_cap = pub->batch_cap ? pub->batch_cap * 2 : 256;
        pub->batch = realloc(pub->batch, pub->batch_cap * sizeof(*pub->batch));
        if (!pub->batch)
            abort();
    }
    rec = &pub->batch[pub->nbatch++];
    rec->topic = topic;
    rec->key = nd_strdup(key);
    rec->value = value;
    rec->len = len;
    rec->hdrs = hdrs;
    rec->unit = unit;
    rec->mem = 2 * (len + strlen(key)) + RECORD_OVERHEAD;
    nd_membudget_reserve(pub->budget, rec->mem);
    if (unit > pub->txn_max_unit)
        pub->txn_max_unit = unit;

    if (pub->fatal || (err = begin_txn(pub)) != ND_OK || (err = produce_record(pub, rec)) != ND_OK) {
        if (pub->fatal || err == ND_ERR_FATAL)
            pub->fatal = 1;
        else
            abort_txn(pub, ND_ABORT_ERROR);
        redo(pub);
    }
}

static rd_kafka_headers_t *ce_headers(const char *id, const char *source, const char *type,
                                      const char *subject)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
    char ts[40];
    nd_time_rfc3339(nd_now_ms() / 1000, ts, sizeof(ts));
    rd_kafka_header_add(hdrs, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(hdrs, "ce_id", -1, id, -1);
    rd_kafka_header_add(hdrs, "ce_source", -1, source, -1);
    rd_kafka_header_add(hdrs, "ce_type", -1, type, -1);
    rd_kafka_header_add(hdrs, "ce_time", -1, ts, -1);
    if (subject)
        rd_kafka_header_add(hdrs, "ce_subject", -1, subject, -1);
    rd_kafka_header_add(hdrs, "content-type", -1, "application/json", -1);
    return hdrs;
}

static char *dump(const json_t *doc, size_t *len)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s)
        abort(); /* only on allocation failure: documents are built here and always encodable */
    *len = strlen(s);
    return s;
}

static void produce_story(struct nd_publish *pub, struct nd_story *story)
{
    json_t *doc, *dedup;
    char ce_id[64], source[512], *value;
    size_t len, i;
    const char *dev_id = NULL;

    if (pub->hook)
        pub->hook(pub->hook_opaque, pub, story);
    doc = nd_story_to_json(story);
    dedup = json_object_get(doc, "dedup");

    snprintf(ce_id, sizeof(ce_id), "%s-v%d", story->id, story->version);
    snprintf(source, sizeof(source), "/newsd/feeds/%s", story->feed_id ? story->feed_id : "-");
    value = dump(doc, &len);
    add_record(pub, pub->conf->topic_stories, story->id, value, len,
               ce_headers(ce_id, source, ND_CE_TYPE_STORY, story->id), story->unit);
    pub->stats.stories++;

    /* one record per diplomatic event, keyed by development (story id until developments exist) */
    if (json_is_object(dedup) && json_is_string(json_object_get(dedup, "development_id")))
        dev_id = json_string_value(json_object_get(dedup, "development_id"));
    /* events under the confidence threshold stay in the story only */
    for (i = 0; i < story->events.n; i++) {
        const struct nd_event *ev = &story->events.v[i];
        json_t *rec;
        char evid[96];
        if (ev->below_threshold)
            continue;
        rec = nd_event_to_json(ev);
        json_object_set_new(rec, "story_id", json_string(story->id));
        json_object_set_new(rec, "story_version", json_integer(story->version));
        if (json_is_string(json_object_get(doc, "headline")))
            json_object_set(rec, "headline", json_object_get(doc, "headline"));
        if (dev_id)
            json_object_set_new(rec, "development_id", json_string(dev_id));
        snprintf(evid, sizeof(evid), "%s-v%d-e%zu", story->id, story->version, i);
        value = dump(rec, &len);
        add_record(pub, pub->conf->topic_events, dev_id ? dev_id : story->id, value, len,
                   ce_headers(evid, source, ND_CE_TYPE_EVENT, story->id), story->unit);
        pub->stats.events++;
        json_decref(rec);
    }
    nd_ledger_produced(pub->ledger, story->unit);
    json_decref(doc);
    nd_story_destroy(story);
}

void nd_publish_story(struct nd_publish *pub, struct nd_story *story)
{
    if (discarded_unit(pub, story->unit)) {
        nd_story_destroy(story);
        return;
    }
    /* While a commit waits for its units to complete, stories of later units wait for the next
     * transaction: otherwise under steady load a commit point might never come. */
    if (pub->closing && story->unit > pub->limit) {
        if (pub->ndeferred == pub->deferred_cap) {
            pub->deferred_cap = pub->deferred_cap ? pub->deferred_cap * 2 : 64;
            pub->deferred = realloc(pub->deferred, pub->deferred_cap * sizeof(*pub->deferred));
            if (!pub->deferred)
                abort();
        }
        pub->deferred[pub->ndeferred++] = story;
        return;
    }
    produce_story(pub, story);
}

void nd_publish_set_budget(struct nd_publish *pub, struct nd_membudget *budget)
{
    nd_membudget_release(pub->budget, kafka_reserve(pub->budget));
    pub->budget = budget;
    nd_membudget_reserve(pub->budget, kafka_reserve(pub->budget));
}

void nd_publish_set_story_hook(struct nd_publish *pub, nd_publish_story_hook hook, void *opaque)
{
    pub->hook = hook;
    pub->hook_opaque = opaque;
}

void nd_publish_alert(struct nd_publish *pub, uint64_t unit, const char *desk, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    char source[256], *value;
    size_t len;

    snprintf(source, sizeof(source), "/newsd/desks/%s", desk ? desk : "-");
    /* alerts are read by people and webhooks: 6 significant digits say "0.8", not
     * "0.80000000000000004", and cost less to print */
    if (!(value = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))))
        abort();
    len = strlen(value);
    add_record(pub, pub->conf->topic_alerts, desk ? desk : "-", value, len,
               ce_headers(id ? id : "alert", source, ND_CE_TYPE_ALERT,
                          json_string_value(json_object_get(doc, "story_id"))),
               unit);
    pub->stats.alerts++;
}

void nd_publish_deadletter(struct nd_publish *pub, uint64_t unit, const char *source,
                           const char *stage, const char *error, const void *payload, size_t len)
{
    rd_kafka_headers_t *hdrs;
    char id[40], src[512];
    char *value;

    if (discarded_unit(pub, unit))
        return;
    if (len > DEADLETTER_MAX)
        len = DEADLETTER_MAX;
    value = nd_xmalloc(len + 1);
    if (len)
        memcpy(value, payload, len);
    snprintf(id, sizeof(id), "dl-%016llx",
             (unsigned long long)nd_hash64(value, len, (uint64_t)nd_now_ms()));
    snprintf(src, sizeof(src), "/newsd/%s", source ? source : "-");
    hdrs = ce_headers(id, src, ND_CE_TYPE_DEADLETTER, NULL);
    rd_kafka_header_add(hdrs, "newsd_error", -1, error ? error : "", -1);
    rd_kafka_header_add(hdrs, "newsd_source", -1, source ? source : "", -1);
    rd_kafka_header_add(hdrs, "newsd_stage", -1, stage ? stage : "", -1);
    /* the original bytes are not necessarily JSON */
    rd_kafka_header_remove(hdrs, "content-type");
    rd_kafka_header_add(hdrs, "content-type", -1, "application/octet-stream", -1);
    add_record(pub, pub->conf->topic_deadletter, source ? source : "-", value, len, hdrs, unit);
    pub->stats.deadletters++;
    nd_warn(MOD, "dead letter from %s at stage %s: %s", source ? source : "-", stage ? stage : "-",
            error ? error : "");
}

void nd_publish_set_consumer(struct nd_publish *pub, void *consumer)
{
    pub->consumer = consumer;
}

void nd_publish_set_fence(struct nd_publish *pub, void *consumer)
{
    pub->fence = consumer;
}

void nd_publish_discard(struct nd_publish *pub, uint64_t upto)
{
    if (pub->txn_open || pub->nbatch || pub->ndeferred || nd_ledger_count(pub->ledger))
        nd_info(MOD, "cluster: discarding %zu uncommitted records and %zu open units",
                pub->nbatch + pub->ndeferred, nd_ledger_count(pub->ledger));
    drop_all(pub);
    if (pub->fatal)
        recreate(pub);
    pub->discard_all = 0;
    if (upto > pub->discard_upto)
        pub->discard_upto = upto;
    if (upto > pub->max_opened)
        pub->max_opened = upto;
    atomic_store(&pub->committed, pub->max_opened);
    atomic_store(&pub->discarded, upto);
}

uint64_t nd_publish_committed(const struct nd_publish *pub)
{
    return atomic_load(&pub->committed);
}

uint64_t nd_publish_discarded(const struct nd_publish *pub)
{
    return atomic_load(&pub->discarded);
}

uint64_t nd_publish_drops(const struct nd_publish *pub)
{
    return atomic_load(&pub->drops);
}

/* --- units and commits ----------------------------------------------------------------------- */

void nd_publish_unit_open(struct nd_publish *pub, uint64_t seq, enum nd_unit_kind kind,
                          const char *feed_id, const char *topic, int32_t partition, int64_t offset)
{
    struct nd_unit *unit;
    if (seq > pub->max_opened)
        pub->max_opened = seq;
    if (discarded_unit(pub, seq))
        return;
    unit = nd_ledger_open(pub->ledger, seq, kind);
    unit->feed_id = nd_strdup(feed_id);
    unit->topic = nd_strdup(topic);
    unit->partition = partition;
    unit->offset = offset;
}

void nd_publish_unit_close(struct nd_publish *pub, uint64_t seq, size_t nstories, json_t *state)
{
    if (discarded_unit(pub, seq)) {
        json_decref(state);
        return;
    }
    nd_ledger_close(pub->ledger, seq, nstories, state);
}

/* Write what completed units leave behind: a feed's state record, a consumed record's offset. */
static void retire_units(struct nd_publish *pub)
{
    struct nd_unit *unit;
    while ((unit = nd_ledger_pop_complete(pub->ledger))) {
        if (unit->kind == ND_UNIT_FEED && unit->state && unit->feed_id) {
            json_t *doc = json_pack("{s:s, s:O, s:I}", "feed", unit->feed_id, "state", unit->state,
                                    "unit", (json_int_t)unit->seq);
            char id[64], source[512], *value;
            size_t len;
            snprintf(id, sizeof(id), "state-%llu-%lld", (unsigned long long)unit->seq,
                     (long long)nd_now_ms());
            snprintf(source, sizeof(source), "/newsd/feeds/%s", unit->feed_id);
            value = dump(doc, &len);
            add_record(pub, pub->conf->topic_state, unit->feed_id, value, len,
                       ce_headers(id, source, ND_CE_TYPE_STATE, unit->feed_id), unit->seq);
            pub->stats.states++;
            json_decref(doc);
        } else if (unit->kind == ND_UNIT_KAFKA && unit->topic && unit->offset >= 0) {
            rd_kafka_topic_partition_t *tp;
            if (!pub->offsets)
                pub->offsets = rd_kafka_topic_partition_list_new(8);
            tp = rd_kafka_topic_partition_list_find(pub->offsets, unit->topic, unit->partition);
            if (!tp)
                tp = rd_kafka_topic_partition_list_add(pub->offsets, unit->topic, unit->partition);
            if (unit->offset + 1 > tp->offset)
                tp->offset = unit->offset + 1;
            if (begin_txn(pub) != ND_OK)
                pub->fatal = 1;
        }
        nd_unit_free(unit);
    }
}

/* Are we still the group member whose assignment the offsets prove? After the group dropped us
 * librdkafka resets the member id, and metadata with no member and generation -1 would be accepted
 * by the broker without any check: that must not commit. */
static int fence_member_lost(struct nd_publish *pub)
{
    char *member = rd_kafka_memberid(pub->fence);
    int lost = !member || !*member || rd_kafka_assignment_lost(pub->fence);
    if (member)
        rd_kafka_mem_free(pub->fence, member);
    return lost;
}

/* The feeds group's offsets in the transaction: its assignment at its current positions. The
 * broker accepts them only from the group's current generation, which fences a zombie. */
static rd_kafka_error_t *send_fence(struct nd_publish *pub, int *lost)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_error_t *error = NULL;

    *lost = 0;
    if (rd_kafka_assignment(pub->fence, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return NULL;
    if (parts->cnt) {
        rd_kafka_position(pub->fence, parts);
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].offset < 0)
                parts->elems[i].offset = 0;
        cgmd = rd_kafka_consumer_group_metadata(pub->fence);
        /* checked after taking the metadata: a reset before it is still visible here, since the
         * consumer rejoins only once the source has handled the loss (nd_publish_discard) */
        if (!cgmd || fence_member_lost(pub))
            *lost = 1;
        else
            error = rd_kafka_send_offsets_to_transaction(pub->rk, parts, cgmd, op_timeout(pub));
        if (cgmd)
            rd_kafka_consumer_group_metadata_destroy(cgmd);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return error;
}

/* The group's generation moved on while we are still a member holding our partitions: a rebalance
 * is completing and our metadata is one step behind. With cooperative assignment our partitions can
 * only go to another member after our revoke callback, which waits for this commit; so the batch is
 * still ours to commit: retry with fresh metadata. */
static int generation_behind(struct nd_publish *pub, const rd_kafka_error_t *error)
{
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    return (code == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
            code == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) &&
           !rd_kafka_error_is_fatal(error) && !fence_member_lost(pub);
}

/* Right after a commit (or when idle): every unit not committed is still in the ledger, the units
 * of stories held back included. Publish it for nd_publish_committed. */
static void mark_committed(struct nd_publish *pub)
{
    uint64_t oldest = nd_ledger_oldest(pub->ledger);
    uint64_t upto = oldest == UINT64_MAX ? pub->max_opened : oldest - 1;
    if (upto > atomic_load(&pub->committed))
        atomic_store(&pub->committed, upto);
}

/* The open transaction is committed: its records and units are done with. */
static void commit_done(struct nd_publish *pub, int64_t start)
{
    pub->stats.commits++;
    pub->stats.last_commit_latency_ms = nd_mono_ms() - pub->txn_started_ms;
    mark_committed(pub);
    nd_debug(MOD, "committed %zu records in %lld ms", pub->nbatch,
             (long long)(nd_mono_ms() - start));
    batch_clear(pub);
    txn_closed(pub);
    atomic_store(&pub->away, 0);
    pub->txn_max_unit = 0;
}

/* A commit that only ever times out, for longer than the transaction timeout, while the broker
 * answers: the broker has long since either committed the transaction (its EndTxn arrived) or
 * aborted it on timeout, and librdkafka (2.0.2 after a broker frozen with the EndTxn in flight)
 * may never tell which, retrying forever. */
static int commit_stalled(struct nd_publish *pub, int64_t start)
{
    return nd_mono_ms() - start >= txn_timeout_ms(pub) &&
           nd_publish_broker_reachable(pub, KAFKA_PROBE_TIMEOUT_MS);
}

/* End a stalled commit without knowing its outcome, and learn it: a new producer ends the old
 * one's transaction, then the transaction's acknowledged record (probe) is read back with
 * read_committed. *committed: 1 it had committed (the batch is done), 0 it was aborted (the batch
 * is redone: nothing of it is visible). With no record acknowledged EndTxn was never sent (librdkafka
 * sends it after every record is delivered), so it was aborted, or it held consumed offsets only,
 * which committing again cannot duplicate. Cluster mode drops the batch instead (ND_ERR_INVALID):
 * its feeds resume from their committed state, whichever way it went. ND_ERR_AGAIN: stopping first
 * (the batch is then dropped, never redone: the next start resumes from the committed state). */
static enum nd_err settle_stalled(struct nd_publish *pub, int *committed)
{
    char errstr[512];
    int verdict = 0, warned = 0;

    pub->stats.stalls++;
    nd_info(MOD, "commit of %zu records stalled for %lld s with the broker answering; replacing the "
                 "producer to end its transaction",
            pub->nbatch, (long long)((nd_mono_ms() - atomic_load(&pub->commit_since)) / 1000));
    if (pub->fence) {
        pub->fatal = 1; /* the old producer's transaction is left to the new one to end */
        drop_batch(pub);
        recreate(pub);
        return ND_ERR_INVALID;
    }
    if (replace_producer(pub) != ND_OK) {
        batch_clear(pub);
        txn_closed(pub);
        return ND_ERR_AGAIN;
    }
    while (pub->probe_offset >= 0 &&
           (verdict = nd_kafka_record_committed(pub->conf, pub->probe_topic, pub->probe_partition,
                                                pub->probe_offset, READBACK_TIMEOUT_MS, errstr,
                                                sizeof(errstr))) < 0) {
        if (!warned++)
            nd_warn(MOD, "reading back the stalled transaction of %zu records: %s (retrying)",
                    pub->nbatch, errstr);
        if (giving_up(pub)) {
            batch_clear(pub);
            txn_closed(pub);
            return ND_ERR_AGAIN;
        }
    }
    *committed = verdict == 1;
    if (*committed) {
        nd_warn(MOD, "commit of %zu records stalled in librdkafka after the broker was away; the "
                     "transaction had committed (read back at %s [%d] offset %lld), the producer "
                     "was replaced",
                pub->nbatch, pub->probe_topic, (int)pub->probe_partition,
                (long long)pub->probe_offset);
        return ND_OK;
    }
    txn_given_up(pub, ND_ABORT_TIMEOUT); /* the one warning: aborted, will be redone */
    txn_closed(pub);
    return ND_OK;
}

/* Commit the open transaction; on failure abort/recreate and redo until it commits (or give up). */
static enum nd_err commit_loop(struct nd_publish *pub)
{
    int64_t start = nd_mono_ms();
    for (;;) {
        rd_kafka_error_t *error = NULL;
        int lost = 0;
        if (pub->fatal && pub->fence) {
            nd_warn(MOD, "cluster: dropping the batch of %zu records after a fatal error; its "
                         "feeds resume from their committed state", pub->nbatch);
            drop_batch(pub);
            recreate(pub);
            return ND_ERR_INVALID;
        }
        if (pub->fatal) {
            if (redo(pub) != ND_OK)
                return ND_ERR_AGAIN;
            continue;
        }
        if (!pub->transactional) {
            /* at-least-once mode: the batch is done when every record is delivered */
            while (rd_kafka_outq_len(pub->rk) > 0 && !pub->fatal && !giving_up(pub))
                rd_kafka_flush(pub->rk, 1000);
            if (pub->fatal)
                continue;
            if (rd_kafka_outq_len(pub->rk) > 0)
                return ND_ERR_AGAIN;
        } else {
            if (pub->offsets && pub->offsets->cnt) {
                if (!pub->consumer) {
                    nd_error(MOD, "consumed offsets but no consumer to commit them for");
                } else {
                    /* the group's current generation: a stale one would be fenced */
                    rd_kafka_consumer_group_metadata_t *cgmd =
                        rd_kafka_consumer_group_metadata(pub->consumer);
                    error = rd_kafka_send_offsets_to_transaction(pub->rk, pub->offsets, cgmd,
                                                                 op_timeout(pub));
                    rd_kafka_consumer_group_metadata_destroy(cgmd);
                }
            }
            if (!error && pub->fence)
                error = send_fence(pub, &lost);
            if (lost) {
                nd_warn(MOD, "cluster: no longer a member of the feeds group; dropping the batch "
                             "of %zu records (its feeds belong to another instance now)",
                        pub->nbatch);
                drop_batch(pub);
                return ND_ERR_INVALID;
            }
            if (error && pub->fence && generation_behind(pub, error) &&
                nd_mono_ms() - start < pub->conf->cluster_session_timeout_ms) {
                nd_info(MOD, "cluster: commit of %zu records refused during a rebalance (%s); "
                             "again with the new generation",
                        pub->nbatch, rd_kafka_err2name(rd_kafka_error_code(error)));
                pub->stats.retries++;
                rd_kafka_error_destroy(error);
                abort_txn(pub, ND_ABORT_REBALANCE);
                /* the consumer learns the new generation from the group coordinator meanwhile */
                rd_kafka_poll(pub->rk, 100);
                if (redo(pub) != ND_OK)
                    return ND_ERR_AGAIN;
                continue;
            }
            if (!error)
                error = rd_kafka_commit_transaction(pub->rk, op_timeout(pub));
            if (error && pub->fence &&
                (rd_kafka_error_is_fatal(error) || rd_kafka_error_txn_requires_abort(error))) {
                /* fenced (the group moved on, or the broker aborted the transaction on timeout)
                 * or otherwise broken: never redo in cluster mode */
                if (!broker_was_away(pub)) /* else drop_batch's one warning says it */
                    nd_warn(MOD, "cluster: commit of %zu records failed (%s: %s); dropping the batch, "
                             "its feeds resume from their committed state",
                        pub->nbatch, rd_kafka_err2name(rd_kafka_error_code(error)),
                        rd_kafka_error_string(error));
                pub->stats.retries++;
                if (rd_kafka_error_is_fatal(error))
                    pub->fatal = 1;
                rd_kafka_error_destroy(error);
                drop_batch(pub);
                if (pub->fatal)
                    recreate(pub);
                return ND_ERR_INVALID;
            }
            if (error) {
                int ends = rd_kafka_error_is_fatal(error) || rd_kafka_error_txn_requires_abort(error);
                pub->stats.retries++;
                /* a transaction that ends here past its timeout gets txn_given_up's one warning;
                 * a retriable error (the broker is slow or away) is worth one line a transaction */
                if (ends ? !broker_was_away(pub) : !pub->txn_retry_logged)
                    nd_warn(MOD, "commit of %zu records: %s%s", pub->nbatch,
                            rd_kafka_error_string(error), ends ? "" : " (retrying)");
                else
                    nd_debug(MOD, "commit of %zu records: %s", pub->nbatch,
                             rd_kafka_error_string(error));
                pub->txn_retry_logged |= !ends;
                if (rd_kafka_error_is_fatal(error)) {
                    pub->fatal = 1;
                } else if (rd_kafka_error_txn_requires_abort(error)) {
                    abort_txn(pub, ND_ABORT_ERROR);
                    rd_kafka_error_destroy(error);
                    if (redo(pub) != ND_OK)
                        return ND_ERR_AGAIN;
                    continue;
                }
                /* retriable: the same commit again, unless it has stalled */
                rd_kafka_error_destroy(error);
                if (giving_up(pub))
                    return ND_ERR_AGAIN;
                if (!pub->fatal && commit_stalled(pub, start)) {
                    int committed = 0;
                    enum nd_err err = settle_stalled(pub, &committed);
                    if (err != ND_OK)
                        return err;
                    if (committed)
                        break;
                    if (redo(pub) != ND_OK)
                        return ND_ERR_AGAIN;
                    start = nd_mono_ms();
                }
                continue;
            }
        }
        break;
    }
    commit_done(pub, start);
    return ND_OK;
}

/* The commit, visible to other threads while it lasts (a broker that hangs keeps it going). */
static enum nd_err commit(struct nd_publish *pub)
{
    enum nd_err err;
    atomic_store(&pub->commit_since, nd_mono_ms());
    err = commit_loop(pub);
    atomic_store(&pub->commit_since, 0);
    return err;
}

int64_t nd_publish_commit_waiting_ms(const struct nd_publish *pub)
{
    int64_t since = atomic_load(&pub->commit_since);
    return since ? nd_mono_ms() - since : 0;
}

/* When idle (no transaction open), nothing before the oldest open unit is uncommitted. */
static void note_committed(struct nd_publish *pub)
{
    if (!pub->txn_open && !pub->closing && !pub->ndeferred && !pub->discard_all)
        mark_committed(pub);
}

void nd_publish_tick(struct nd_publish *pub, int flush_now)
{
    rd_kafka_poll(pub->rk, 0);
    retire_units(pub);
    note_committed(pub);
    if (!pub->txn_open && !pub->fatal)
        return;
    if (!pub->closing) {
        int due = flush_now || pub->nbatch >= (size_t)pub->conf->kafka_commit_records ||
                  nd_mono_ms() - pub->txn_started_ms >= pub->conf->kafka_commit_interval_ms;
        if (!due)
            return;
        pub->closing = 1;
        pub->limit = pub->txn_max_unit;
    }
    /* every unit with a story in this transaction must have left the ledger (been completed) */
    if (nd_ledger_oldest(pub->ledger) <= pub->limit)
        return;
    if (commit(pub) != ND_OK)
        return;
    pub->closing = 0;
    /* the stories held back start the next transaction */
    for (size_t i = 0; i < pub->ndeferred; i++)
        produce_story(pub, pub->deferred[i]);
    pub->ndeferred = 0;
    retire_units(pub);
    note_committed(pub);
}

enum nd_err nd_publish_finish(struct nd_publish *pub, int timeout_ms)
{
    int64_t deadline = nd_mono_ms() + timeout_ms;
    size_t keep = 0;
    uint64_t oldest;

    /* an earlier deadline (stopping began with nd_publish_set_deadline) stands */
    if (!atomic_load(&pub->deadline_ms) || atomic_load(&pub->deadline_ms) > deadline)
        atomic_store(&pub->deadline_ms, deadline);
    deadline = atomic_load(&pub->deadline_ms);
    /* Let complete units commit; stop waiting for the ones that cannot complete any more. */
    while (nd_mono_ms() < deadline && (pub->txn_open || pub->ndeferred)) {
        nd_publish_tick(pub, 1);
        if (!pub->closing && !pub->txn_open && !pub->ndeferred)
            break;
        if (pub->closing && nd_ledger_oldest(pub->ledger) <= pub->limit)
            break; /* an incomplete unit is in the transaction: handled below */
        rd_kafka_poll(pub->rk, 10);
    }
    if (!pub->txn_open && !pub->ndeferred && !nd_ledger_count(pub->ledger))
        return ND_OK;

    /* What is left: records of units that will never complete (their source stopped) and maybe
     * complete ones behind them. Abort, keep only records of complete units, commit those. */
    oldest = nd_ledger_oldest(pub->ledger);
    if (pub->txn_open)
        abort_txn(pub, ND_ABORT_SHUTDOWN);
    for (size_t i = 0; i < pub->nbatch; i++) {
        if (pub->batch[i].unit < oldest)
            pub->batch[keep++] = pub->batch[i];
        else
            record_free(pub, &pub->batch[i]);
    }
    pub->nbatch = keep;
    if (keep) {
        if (redo(pub) == ND_OK && commit(pub) == ND_OK) {
            nd_info(MOD, "shutdown: committed %zu records of complete units", keep);
            return ND_OK;
        }
        abort_txn(pub, ND_ABORT_SHUTDOWN);
        return ND_ERR_AGAIN;
    }
    nd_info(MOD, "shutdown: aborted the open transaction; %zu incomplete units will be redone from "
                 "the committed feed state on the next start",
            nd_ledger_count(pub->ledger));
    return ND_OK;
}

void nd_publish_set_deadline(struct nd_publish *pub, int64_t deadline_ms)
{
    atomic_store(&pub->deadline_ms, deadline_ms);
}

size_t nd_publish_backlog(const struct nd_publish *pub)
{
    return pub->nbatch + pub->ndeferred + nd_ledger_count(pub->ledger);
}

void nd_publish_get_stats(const struct nd_publish *pub, struct nd_publish_stats *stats)
{
    *stats = pub->stats;
}

int nd_publish_ready(const struct nd_publish *pub)
{
    return pub->ready;
}

int nd_publish_broker_reachable(struct nd_publish *pub, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    /* all_topics=0 and no topic: the cheapest request that needs a live broker */
    if (rd_kafka_metadata(pub->rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_metadata_destroy(md);
    return 1;
}
