/* entities: people, organisations, places and nationalities found in a story, linked to who they
 * are.
 *
 * nd_entities_find runs after nd_enrich_text on the cleaned body_text (and the headline): it
 * tokenises, tags with the statistical tagger (tagger.c) and the knowledge base (kb.c), links
 * mentions to KB entries, resolves short forms within the story ("Blinken", "the minister") to the
 * full entity, and scores salience. The result is plain data that later stages (topics, events)
 * read; nothing in it points into the models. Thread-safe: enrich is read-only. */
#ifndef ND_ENTITIES_H
#define ND_ENTITIES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich/enrich.h"
#include "enrich/tokenize.h"

enum nd_ent_type {
    ND_ENT_PERSON = 0,
    ND_ENT_ORG,
    ND_ENT_GPE,
    ND_ENT_LOC,
    ND_ENT_NORP,
    ND_ENT_NTYPES
};
/* "PERSON", "ORG", "GPE", "LOC", "NORP" */
const char *nd_ent_type_name(enum nd_ent_type type);

/* Where a mention is. */
enum nd_ent_field { ND_FIELD_BODY = 0, ND_FIELD_HEADLINE };

struct nd_mention {
    enum nd_ent_field field;
    uint32_t start, end;   /* byte offsets into body_text (or headline): [start, end) */
    uint32_t cstart, cend; /* the same as character (code point) offsets, as published in JSON */
    uint32_t sentence;     /* index into nd_entities.tokens.sentences (body mentions) */
    uint32_t tok_first, tok_count; /* token range in nd_entities.tokens (body mentions) */
    /* The mention stands for a country's government ("Beijing says"): a capital or country name
     * used as an actor. */
    unsigned metonym : 1;
    /* A short form or description resolved to an earlier full mention ("Blinken", "the minister").
     */
    unsigned resolved : 1;
    float confidence; /* 0..1 */
};

struct nd_entity {
    enum nd_ent_type type;
    char *name;      /* canonical name: "Antony Blinken", "China", "United Nations" */
    char country[4]; /* ISO 3166 alpha-3: the country itself (GPE country, capital
                      * metonym), a city's country, a NORP's country, an official's or
                      * organisation's affiliation; "" when unknown or international */
    char *wikidata;  /* "Q123", NULL when unknown */
    char *kb_id;     /* the knowledge base key ("CHN", "IGOUNO", "Q1234"), NULL if unlinked */
    char *role;      /* for officials: "Secretary of State", "Foreign Minister"; NULL */
    /* What the entity is in the knowledge base: "country", "capital", "city", "igo", "official",
     * "leader", "norp", ... or NULL when the tagger found it and the KB does not know it. */
    const char *kind;
    double salience;             /* 0..1, headline and lead mentions weigh more */
    struct nd_mention *mentions; /* in text order, at most ND_ENT_MAX_MENTIONS */
    size_t nmentions;
    size_t mention_total; /* all mentions, counted past the cap too (salience uses them all) */
};

/* Caps so a hostile or enormous story cannot make the output grow without bound: mentions kept per
 * entity, and entities per story (the rest of the story's names are left out). */
#define ND_ENT_MAX_MENTIONS 1000
#define ND_ENT_MAX_ENTITIES 2000

struct nd_doc;
struct nd_entities {
    struct nd_entity *entities; /* ordered by first mention, headline first */
    size_t nentities;
    /* the body's token stream that mentions (tok_first, sentence) refer to: the caller's
     * (nd_entities_find_doc, borrowed) or own_doc (nd_entities_find) */
    const struct nd_doc *doc;
    struct nd_doc *own_doc;
};

/* Find, link and score the entities of a story whose text stage has run. *ents is zeroed first;
 * free it with nd_entities_free. Returns ND_OK, or ND_ERR_TOOBIG for a body over the tokeniser's
 * cap (ents is then empty and valid). */
enum nd_err nd_entities_find(const struct nd_enrich *enrich, const struct nd_story *story,
                             struct nd_entities *ents);
/* The same on a body already tokenised: body is the story's token stream (doc.h) over body_text,
 * borrowed by ents (ents->doc) and kept alive by the caller while ents is used; mentions take
 * their character offsets from it. */
enum nd_err nd_entities_find_doc(const struct nd_enrich *enrich, const struct nd_story *story,
                                 const struct nd_doc *body, struct nd_entities *ents);
void nd_entities_free(struct nd_entities *ents);

/* The entity one of whose body mentions overlaps byte range [start, end), or NULL. */
const struct nd_entity *nd_entities_at(const struct nd_entities *ents, uint32_t start,
                                       uint32_t end);

/* The `entities` array of the enriched story (DESIGN.md): type, name, ids {iso3166, wikidata, kb},
 * kind, role, country (affiliation), salience, mentions [{start, end (character offsets), text,
 * field (when "headline"), metonym, resolved}]. story is the one ents was found in. Returns a new
 * reference. */
json_t *nd_entities_to_json(const struct nd_entities *ents, const struct nd_story *story);

#endif
