/* Internals of pkg/alert shared by its files and its unit tests; not part of the module's API. */
#ifndef ND_ALERT_INT_H
#define ND_ALERT_INT_H

#include <stdatomic.h>

#include "alert/alert.h"

/* --- reference tables (ref.c, iso3166.c) ---------------------------------------------------------
 */

struct nd_country {
    const char *code; /* ISO 3166-1 alpha-3 */
    const char *name; /* short English name */
};
extern const struct nd_country nd_countries[];
extern const size_t nd_ncountries;

/* The short name of an alpha-3 code, or the code itself when unknown. */
const char *nd_country_name(const char *code);
/* 1 for an assigned ISO 3166-1 alpha-3 code or one of the user-assigned X.. codes (XKX, Kosovo). */
int nd_country_known(const char *code);

/* PLOVER event types (both the 2021 names and the POLECAT ones: ACCUSE, REQUEST). */
int nd_plover_known(const char *type);
/* Kind of event for grouping developments: "talks" (verbal and material cooperation, verbal
 * conflict, sanctions), "force" (mobilisation, coercion, assault) or "protest". */
const char *nd_plover_kind(const char *type);
/* A plain verb phrase ("met", "accused") and whether the type is symmetric ("A and B met"). */
const char *nd_plover_verb(const char *type, int *symmetric);

/* IPTC Media Topics known to validation: the table in models/iptc_mediatopics.tsv if present, else
 * the 17 top-level topics built in. A rule may name a topic by URI, by code or by name. */
struct nd_alert_topics;
struct nd_alert_topics *nd_alert_topics_load(const char *models_dir);
void nd_alert_topics_destroy(struct nd_alert_topics *topics);
/* The topic's URI for a rule value (URI, code or name), or NULL when unknown. */
const char *nd_alert_topics_resolve(const struct nd_alert_topics *topics, const char *value);

/* --- string sets ------------------------------------------------------------------------------ */

struct nd_strs {
    char **v;
    size_t n, cap;
};
void nd_strs_add(struct nd_strs *s, const char *value);       /* appends a copy */
int nd_strs_add_unique(struct nd_strs *s, const char *value); /* 1 when it was new */
int nd_strs_has(const struct nd_strs *s, const char *value);
void nd_strs_copy(struct nd_strs *dst, const struct nd_strs *src);
void nd_strs_free(struct nd_strs *s);
json_t *nd_strs_json(const struct nd_strs *s);

/* --- desks (desk.c) --------------------------------------------------------------------------- */

struct nd_cond {
    struct nd_strs countries;     /* any of these involved */
    struct nd_strs countries_all; /* all of these involved, together */
    struct nd_strs entities;      /* canonical id or name, any */
    struct nd_strs topics;        /* resolved URIs, any */
    struct nd_strs plover;        /* event types, any */
    struct nd_strs cameo;         /* CAMEO code prefixes, any */
    struct nd_strs feeds;         /* source feed ids, any */
    struct nd_strs keywords;      /* lower-cased words or phrases, any */
    int has_min_intensity;
    double min_intensity;  /* |intensity| of some event at least this */
    double min_confidence; /* a topic counts at this confidence or more (ND_TOPIC_CONFIDENCE) */
    int line;
};

/* A topic condition's default threshold: the topic is more likely than not the story's (its
 * confidence is a calibrated probability, pkg/enrich/topics.h). */
#define ND_TOPIC_CONFIDENCE 0.5

struct nd_hook_conf {
    char *url;
    int slack;        /* Slack-compatible message instead of the alert JSON */
    int rate_per_min; /* messages per minute; the overflow is digested */
    int burst;
};

struct nd_prio_rules {
    enum nd_priority min; /* alerts below are not sent to this desk */
    struct nd_strs flash_types, urgent_types;
    double flash_intensity, urgent_intensity;
    int flash_sources, urgent_sources;
};

struct nd_desk {
    char *name;  /* the Kafka key */
    char *title; /* for people; defaults to the name */
    struct nd_cond *any, *all, *none;
    size_t nany, nall, nnone;
    struct nd_prio_rules prio;
    struct nd_hook_conf *hooks;
    size_t nhooks;
    int line;
};

struct nd_desks {
    atomic_int refs;
    struct nd_desk *desks;
    size_t n;
};

/* What a story says, extracted once for matching every desk. */
struct nd_facts {
    const json_t *doc;        /* the story JSON (borrowed) */
    struct nd_strs countries; /* involved: event actors, country entities, officials' countries */
    struct nd_strs event_countries;
    const json_t *entities, *events, *subject; /* arrays from the story (borrowed, may be NULL) */
    const char *feed;
    char *text;           /* headline + body, lower-cased, for keywords */
    double max_mag;       /* largest |intensity| of an event */
    double max_intensity; /* that event's signed intensity */
    int heads_of_state, foreign_ministers;
    struct nd_strs types; /* PLOVER types of the events */
};
void nd_facts_init(struct nd_facts *facts, const json_t *doc);
void nd_facts_free(struct nd_facts *facts);
/* 1 when the entity is a head of state or government / a foreign minister. */
int nd_entity_is_leader(const json_t *entity);
int nd_entity_is_foreign_minister(const json_t *entity);
/* The entity without its mentions: what an alert quotes. New reference. */
json_t *nd_entity_brief(const json_t *entity);

/* 1 when the desk matches; *matched (new object) says by what: countries, entities, events (the
 * matching event objects), topics, keywords, feeds. */
int nd_desk_match(const struct nd_desk *desk, const struct nd_facts *facts, json_t **matched);

/* --- near-duplicates (dedup.c) ------------------------------------------------------------------
 */

/* 64-bit SimHash of the content words of a text and the pairs of consecutive ones. */
uint64_t nd_simhash(const char *text, size_t len);
int nd_hamming(uint64_t a, uint64_t b);

struct nd_dedup;
struct nd_dedup *nd_dedup_new(size_t capacity, int distance);
void nd_dedup_destroy(struct nd_dedup *dedup);
struct nd_dedup_hit {
    char story_id[17];
    char dev_id[24];
    int distance;
};
/* The nearest fingerprint within the distance seen since min_ms from another story; 1 when found.
 */
int nd_dedup_find(const struct nd_dedup *dedup, uint64_t fp, const char *story_id, int64_t min_ms,
                  struct nd_dedup_hit *hit);
/* Remember a fingerprint; the oldest is forgotten when the index is full. */
void nd_dedup_add(struct nd_dedup *dedup, uint64_t fp, const char *story_id, const char *dev_id,
                  int64_t time_ms);
size_t nd_dedup_count(const struct nd_dedup *dedup);

/* --- developments (develop.c) -------------------------------------------------------------------
 */

struct nd_dev_state {
    struct nd_strs actors, types, sources;
    double max_mag, max_intensity;
    int heads_of_state, foreign_ministers;
};

struct nd_dev_mark {
    char *desk;
    struct nd_dev_state at; /* the development as the desk last heard of it */
};

struct nd_dev {
    char id[24];
    char *key;
    int64_t first_ms, last_ms;
    struct nd_dev_state st;
    struct nd_strs stories; /* story ids, capped */
    size_t nstories;
    struct nd_dev_mark *marks;
    size_t nmarks;
};

struct nd_devs;
struct nd_devs *nd_devs_new(size_t max, int64_t window_ms);
void nd_devs_destroy(struct nd_devs *devs);
/* The open development with this key (last story within the window), or NULL. */
struct nd_dev *nd_devs_find_key(struct nd_devs *devs, const char *key, int64_t now_ms);
struct nd_dev *nd_devs_find_id(struct nd_devs *devs, const char *id, int64_t now_ms);
/* A new development; its id derives from the key and the first story id. */
struct nd_dev *nd_devs_create(struct nd_devs *devs, const char *key, const char *story_id,
                              int64_t now_ms);
/* The same with a known id (restore). */
struct nd_dev *nd_devs_create_id(struct nd_devs *devs, const char *id, const char *key,
                                 int64_t now_ms);
size_t nd_devs_count(const struct nd_devs *devs);

/* The development key of a story: kind|ACTOR|ACTOR of its principal event (highest confidence),
 * or NULL when it has no event with a country-coded actor. Caller frees. */
char *nd_dev_key(const struct nd_facts *facts);
/* Fold a story's facts into the development. duplicate: only its source counts. */
void nd_dev_update(struct nd_dev *dev, const struct nd_facts *facts, const char *story_id,
                   int duplicate, int64_t now_ms);
/* The desk's mark, or NULL when the desk was never alerted about the development. */
struct nd_dev_mark *nd_dev_mark_get(struct nd_dev *dev, const char *desk);
void nd_dev_mark_set(struct nd_dev *dev, const char *desk);
/* Why the development escalated since the desk's mark, as a new array of plain phrases (empty when
 * it did not). corroboration: the source count that escalates; step: the |intensity| rise. */
json_t *nd_dev_escalation(const struct nd_dev *dev, const struct nd_dev_mark *mark,
                          int corroboration, double step);
void nd_dev_state_free(struct nd_dev_state *st);
void nd_dev_state_copy(struct nd_dev_state *dst, const struct nd_dev_state *src);
json_t *nd_dev_json(const struct nd_dev *dev);

enum nd_priority nd_dev_priority(const struct nd_dev *dev, const struct nd_prio_rules *rules);

/* --- webhook rate limit and digest (webhook.c) ------------------------------------------------ */

/* A token bucket: rate_per_min tokens a minute, at most burst saved. */
struct nd_ratelimit {
    double tokens, burst, per_ms;
    int64_t last_ms;
};
void nd_ratelimit_init(struct nd_ratelimit *rl, int rate_per_min, int burst, int64_t now_ms);
/* Take a token: 1 when one was available. */
int nd_ratelimit_take(struct nd_ratelimit *rl, int64_t now_ms);
/* Milliseconds until a token is available (0: now). */
int64_t nd_ratelimit_wait(struct nd_ratelimit *rl, int64_t now_ms);

/* What a webhook's outbox should do next with n queued alerts: send the first one alone, send the
 * first `count` as one digest, or wait `wait_ms`. The rule: single messages while tokens last; once
 * they run out, the next token carries everything queued (up to max_digest) as one digest. */
enum nd_outbox_action { ND_OUTBOX_IDLE, ND_OUTBOX_WAIT, ND_OUTBOX_SEND_ONE, ND_OUTBOX_SEND_DIGEST };
struct nd_outbox {
    struct nd_ratelimit rl;
    int64_t retry_at_ms; /* backoff after a failure */
    int failures;
    int limited; /* tokens ran out with alerts still queued: the next send is a digest */
};
enum nd_outbox_action nd_outbox_next(struct nd_outbox *box, size_t queued, size_t max_digest,
                                     int64_t now_ms, size_t *count, int64_t *wait_ms);
/* After a POST: success resets the backoff, failure doubles it (1 s .. max_backoff_ms) and the same
 * alerts are tried again. */
void nd_outbox_done(struct nd_outbox *box, int ok, int64_t now_ms, int64_t max_backoff_ms);

#endif
