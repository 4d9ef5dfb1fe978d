/* alert: desk subscriptions, near-duplicates, developments, and the deliveries of alerts.
 *
 * The alert stage runs on the publish thread, just before a story is produced, inside the Kafka
 * transaction that carries the story (nd_alert_publish_hook): it fingerprints the story (SimHash),
 * links it to a near-duplicate and to a development, fills the story's `dedup` annotation, matches
 * it against every desk, and produces one alert per desk for a new development or an escalation of
 * one. So an alert is committed exactly when its story is, and the stage's state is rebuilt at
 * start from the committed alerts (nd_alert_restore).
 *
 * Webhooks are delivered by a separate consumer of the alerts topic (nd_webhook_*): it commits its
 * offsets only after a POST (or a digest covering it) succeeded, so an endpoint that is down for
 * minutes, or a restart, loses nothing.
 *
 * Desks come from the `desks:` section of the configuration (see docs/ALERTS.md). */
#ifndef ND_ALERT_H
#define ND_ALERT_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "publish/publish.h"
#include "story/story.h"

enum nd_priority { ND_PRIO_ROUTINE = 0, ND_PRIO_URGENT = 1, ND_PRIO_FLASH = 2 };
const char *nd_priority_str(enum nd_priority prio);

/* --- desks ----------------------------------------------------------------------------------- */

/* A validated, immutable set of desks. Reference-counted so the alert stage, the webhook thread and
 * a reload can share one: nd_desks_ref adds a reference, nd_desks_destroy drops one (and frees on
 * the last). destroy(NULL) is a no-op. */
struct nd_desks;

/* Build the desks from the config's `desks` JSON (config.h: objects carry "@file" and "@line").
 * NULL json gives an empty set. Every problem is reported as "FILE:LINE: message" to `errors` (may
 * be NULL) and counted in *nerr; the result is NULL when there was any. models_dir: where
 * iptc_mediatopics.tsv may be (NULL: only topic URIs and the built-in top-level topics). */
struct nd_desks *nd_desks_load(const json_t *desks, const char *models_dir, FILE *errors,
                               int *nerr);
struct nd_desks *nd_desks_ref(struct nd_desks *desks);
void nd_desks_destroy(struct nd_desks *desks);
size_t nd_desks_count(const struct nd_desks *desks);
/* The name (Kafka key) and title of desk i (0 <= i < count), owned by the set; NULL past it. */
const char *nd_desks_name(const struct nd_desks *desks, size_t i);
const char *nd_desks_title(const struct nd_desks *desks, size_t i);
/* 1 when some desk has a webhook. */
int nd_desks_have_webhooks(const struct nd_desks *desks);

/* --- the alert stage ---------------------------------------------------------------------------
 */

struct nd_alert_opts {
    int64_t window_ms;         /* a development stays open this long after its last story */
    int dedup_distance;        /* SimHash Hamming distance of near-duplicates (0..15) */
    size_t dedup_capacity;     /* recent fingerprints kept */
    size_t developments_max;   /* developments kept */
    int corroboration;         /* sources at which corroboration escalates (and makes URGENT) */
    double escalate_intensity; /* |intensity| rise that counts as an escalation */
};
void nd_alert_opts_from_config(struct nd_alert_opts *opts, const struct nd_config *conf);

struct nd_alert;

struct nd_alert_stats {
    uint64_t stories, duplicates, developments, alerts, escalations, restored;
};

struct nd_alert *nd_alert_new(const struct nd_alert_opts *opts);
void nd_alert_destroy(struct nd_alert *alert);

/* Swap the desks (takes the caller's reference; NULL: no desks). Thread-safe: a reload may call it
 * while the publish thread runs stories; a story sees either the old or the new set, whole. */
void nd_alert_set_desks(struct nd_alert *alert, struct nd_desks *desks);

/* Run one story through the stage at time now_ms: fills story->annotations "dedup", updates the
 * developments and returns the alerts it causes as a new JSON array of alert documents (each with
 * "desk"; empty when none). Single-threaded: the publish thread. */
json_t *nd_alert_story(struct nd_alert *alert, struct nd_story *story, int64_t now_ms);

/* Rebuild state from one committed alert (a news.alerts.v1 value): its development, the desk's
 * alerted state and the story's fingerprint. Alerts must be applied oldest first. */
void nd_alert_restore_record(struct nd_alert *alert, const json_t *doc, int64_t now_ms);

/* Read conf->topic_alerts from now - window with read_committed and apply every record. Returns
 * the number applied, or -1 with errstr. Stops early (returning what was applied) when *stop. */
int nd_alert_restore(struct nd_alert *alert, const struct nd_config *conf,
                     volatile sig_atomic_t *stop, char *errstr, size_t errsz);

/* The publish hook (publish.h, nd_publish_set_story_hook) with an nd_alert as opaque: runs the
 * story through the stage and produces its alerts in the story's transaction. */
void nd_alert_publish_hook(void *opaque, struct nd_publish *pub, struct nd_story *story);

/* Counters since start; thread-safe (the metrics thread reads them). */
void nd_alert_get_stats(struct nd_alert *alert, struct nd_alert_stats *stats);
/* Alerts emitted per desk since start: fn once per desk that has had one, under the stats lock (fn
 * must not call back into the stage). Desks removed by a reload keep their count. */
typedef void (*nd_alert_count_fn)(void *opaque, const char *desk, uint64_t alerts);
void nd_alert_desk_counts(struct nd_alert *alert, nd_alert_count_fn fn, void *opaque);

/* --- deliveries ------------------------------------------------------------------------------- */

/* One line of text for people: "FLASH Asia-Pacific: new development — ...". Caller frees. */
char *nd_alert_text(const json_t *alert);
/* A Slack-compatible message ({"text": ..., "blocks": [...]}) for one alert, or for a digest of n
 * alerts when n > 1. New reference. */
json_t *nd_alert_slack(json_t *const *alerts, size_t n);

/* The webhook dispatcher: a thread consuming the alerts topic as consumer group
 * alerts.webhook_group (read_committed), POSTing each alert to its desk's webhooks with retries and
 * backoff and a per-desk rate limit whose overflow goes out as one digest. Offsets are committed
 * only for alerts every webhook of their desk has accepted. */
struct nd_webhook;
struct nd_webhook *nd_webhook_new(const struct nd_config *conf, struct nd_desks *desks,
                                  char *errstr, size_t errsz); /* takes the desks reference */
enum nd_err nd_webhook_start(struct nd_webhook *hook);
/* Swap the desks (takes the reference); thread-safe. */
void nd_webhook_set_desks(struct nd_webhook *hook, struct nd_desks *desks);
/* POSTs by outcome (a digest is one POST), alerts given up after REJECT_ATTEMPTS permanent 4xx
 * answers, and alerts waiting for delivery. Thread-safe. */
struct nd_webhook_stats {
    uint64_t delivered, failed, rejected, dropped;
    size_t pending;
};
void nd_webhook_get_stats(struct nd_webhook *hook, struct nd_webhook_stats *stats);
/* Stop the thread (pending alerts stay uncommitted in Kafka for the next start) and free. */
void nd_webhook_destroy(struct nd_webhook *hook);

/* `newsd alerts --desk NAME [--brokers B] [--topic T] [--from-beginning] [--count N]
 * [-c CONFIG]`: tail a desk's alerts from Kafka in the terminal. Returns the exit status. */
int nd_alert_view_main(int argc, char **argv, volatile sig_atomic_t *stop);

#endif
