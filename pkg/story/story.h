/* story: the story item every stage passes along, and its JSON form (DESIGN.md's data contract).
 *
 * parse fills the source fields, enrich fills text fields and `annotations`, publish encodes it.
 * A story has exactly one owner at a time: the stage holding it, or the queue between two stages. */
#ifndef ND_STORY_H
#define ND_STORY_H

#include <jansson.h>
#include <stdint.h>

#include "core/core.h"
#include "story/event.h"
#include "core/membudget.h"

enum nd_pubstatus { ND_PUBSTATUS_USABLE = 0, ND_PUBSTATUS_WITHHELD, ND_PUBSTATUS_CANCELED };

struct nd_story {
    /* identity: id is 16 hex digits of a stable hash (see nd_story_assign_id) */
    char id[17];
    int version;                  /* 1, then +1 each time the item's content changes */
    enum nd_pubstatus pubstatus;

    /* from the source (all owned, malloc'd, UTF-8, may be NULL) */
    char *guid;                   /* the item's GUID/id as the feed gave it */
    char *url;                    /* the item's link, resolved to absolute */
    char *headline;
    char *summary;                /* feed summary/description as text */
    char *body_text;              /* main text: content, else summary; enrich cleans it */
    char *byline;                 /* author(s) */
    char *located;                /* dateline place, "NEW YORK" */
    char *dateline;               /* the whole dateline as printed, "NEW YORK (Reuters) -" */
    char *credit;                 /* "(Reporting by ...; Editing by ...)" */
    char *language;               /* BCP 47, "en" */
    char *date_note;              /* why published_at is absent, when it is */
    int64_t published_at;         /* epoch seconds; 0 = unknown */
    int64_t updated_at;           /* epoch seconds; 0 = unknown */

    /* provenance */
    char *feed_id;
    char *feed_url;
    int64_t fetched_at_ms;
    int64_t enriched_at_ms;
    /* the source unit (a feed poll, a consumed record) this story belongs to; the publish stage
     * commits a transaction only when every unit in it is complete (see pkg/publish/ledger.h) */
    uint64_t unit;

    /* enrichment: a JSON object whose members (entities, subject, events, dedup, ...) are merged into
     * the encoded story. Owned by the story (one reference). */
    json_t *annotations;
    /* the coded events (enrich's event coder, or an upstream story's "events" read back), typed;
     * nd_story_to_json writes them as "events" after the annotations. Owned by the story. */
    struct nd_event_list events;

    /* memory accounting (core/membudget.h): the bytes this story holds in `budget` (may be NULL),
     * released by nd_story_destroy */
    struct nd_membudget *budget;
    size_t mem_bytes;
};

struct nd_story *nd_story_new(void);
/* Releases the story's bytes from its budget. NULL is a no-op. */
void nd_story_destroy(struct nd_story *story);

/* Heap bytes the story holds (its strings and annotations, with the allocator's overhead): an
 * estimate calibrated against glibc's own count (bench/bench_memory.c). */
size_t nd_story_mem(const struct nd_story *story);
/* Heap bytes of a JSON value (jansson's nodes, keys and strings), as nd_story_mem counts the
 * annotations; also for the feed state that travels with a source unit. NULL: 0. */
size_t nd_story_json_mem(const json_t *v);
/* What it will hold once enriched: enrichment adds some 30 times its text in annotations. */
size_t nd_story_mem_enriched(const struct nd_story *story);
/* Account the story in budget (NULL: stop accounting it) at what it holds now, reserving or
 * releasing the difference to what it had reserved; from the old budget when it changes. */
void nd_story_account(struct nd_story *story, struct nd_membudget *budget);
/* The same at nd_story_mem_enriched: a source reserves a story's enriched size as it takes it in,
 * so the budget stops the sources before enrichment (which never waits) makes it true. */
void nd_story_account_ahead(struct nd_story *story, struct nd_membudget *budget);

/* Set a string field: copies `value` (NULL clears it). */
void nd_story_set(char **field, const char *value);

/* The stable id: xxh3 of the feed id and the item's GUID, else its canonical URL (tracking
 * parameters removed), else the hash of headline+body. Fills story->id. */
void nd_story_assign_id(struct nd_story *story);
/* A hash of the content that matters for versioning (headline, body, summary, url, status). */
uint64_t nd_story_content_hash(const struct nd_story *story);

/* The URL without tracking parameters (utm_*, fbclid, gclid, ...) and fragment. Caller frees. */
char *nd_url_canonical(const char *url);

/* Take an upstream story's enrichment member (key "entities", "subject", "events", ...): "events"
 * is read into story->events (typed), anything else is kept in annotations. value is borrowed
 * (copied). */
void nd_story_keep_annotation(struct nd_story *story, const char *key, const json_t *value);

/* Encode as the news.stories.v1 value. Returns a new reference. */
json_t *nd_story_to_json(const struct nd_story *story);
/* Decode a story object (ninjs-style fields; body_text required). NULL with errstr filled when the
 * object is not a story. The returned story is owned by the caller. */
struct nd_story *nd_story_from_json(const json_t *obj, char *errstr, size_t errsz);

#endif
