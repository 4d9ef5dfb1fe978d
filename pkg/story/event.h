/* event: a coded diplomatic event (who did what to whom) as every stage after the coder reads it,
 * and its JSON form (the "events" member of news.stories.v1 and the value of news.events.v1).
 *
 * The event coder (pkg/enrich/events.h) fills a story's nd_event_list; topics, publish and alert
 * read the typed events; only nd_event_to_json / nd_event_list_to_json build JSON, and
 * nd_event_list_from_json reads an upstream story's events back (a ninjs item already enriched).
 * Offsets are Unicode code points in the story's body_text, as in the JSON. */
#ifndef ND_EVENT_H
#define ND_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ND_EVENT_ACTORS 4    /* actors kept per side */
#define ND_EVENT_FEATURES 20 /* the coder's evidence values per event */

struct nd_event_actor {
    char code[4];        /* ISO 3166 alpha-3, "IGO", "NGO"...; "" when unknown */
    char sector[4];      /* "GOV", "MIL", ... or "" */
    char *name;          /* owned; may be NULL */
    char *text;          /* owned: the mention as written; NULL when not named in the sentence */
    uint32_t start, end; /* the mention's code point span (when text) */
    int implied;         /* not named: the source's own country (a domestic act) */
};

enum nd_event_status { ND_EVENT_REPORTED = 0, ND_EVENT_PLANNED = 1 };

struct nd_event {
    char type[16]; /* PLOVER type, "AGREE" */
    char cameo[6]; /* CAMEO code, "036" */
    struct nd_event_actor source[ND_EVENT_ACTORS], target[ND_EVENT_ACTORS];
    int nsource, ntarget;
    uint32_t sent_start, sent_end; /* the sentence's code point span */
    char *trigger;                 /* owned: the words that name the event */
    uint32_t trig_start, trig_end;
    char *quote; /* owned: the quoted words it comes from, or NULL */
    enum nd_event_status status;
    double intensity;    /* Goldstein-style, -10..10 */
    double confidence;   /* calibrated: the estimated probability the event is right */
    int below_threshold; /* confidence under events.min_confidence: kept in the story only */
    /* the coder's evidence the confidence is computed from (named in pkg/enrich/events_emit.c),
     * for fitting the calibration (scripts/fit_event_confidence.py); not part of the JSON */
    float features[ND_EVENT_FEATURES];
};

/* A story's events. `set`: the list was filled (by the coder or from upstream JSON), even if empty,
 * so the encoded story carries "events". */
struct nd_event_list {
    struct nd_event *v;
    size_t n, cap;
    int set;
};

/* Append a zeroed event (the list owns it); NULL when out of memory. */
struct nd_event *nd_event_list_add(struct nd_event_list *list);
/* Free the events' strings and the array; the list is empty (and unset) afterwards. */
void nd_event_list_clear(struct nd_event_list *list);
/* Mark the events whose confidence is below min_confidence (below_threshold), clear the mark of
 * the others. */
void nd_event_list_mark(struct nd_event_list *list, double min_confidence);
/* Events at or above the threshold, the ones published and alerted on. */
size_t nd_event_list_count_published(const struct nd_event_list *list);

/* JSON of one event (new reference): type, cameo, source[], target[], sentence, trigger, quote,
 * status, intensity, confidence, and below_threshold when set. */
json_t *nd_event_to_json(const struct nd_event *event);
/* JSON array of all the list's events (new reference). */
json_t *nd_event_list_to_json(const struct nd_event_list *list);
/* Read an "events" array as nd_event_to_json writes it into list (cleared first; sets `set`).
 * Members of the wrong type are skipped; unknown keys are ignored. Returns the events read. */
size_t nd_event_list_from_json(struct nd_event_list *list, const json_t *arr);

#endif
