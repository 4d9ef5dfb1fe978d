/* events: sentence-level diplomatic event coding (who did what to whom), PLOVER types with the
 * CAMEO code beside them.
 *
 * The knowledge (CAMEO verbs and patterns, Phoenix actors and agents, CAMEO->PLOVER, Goldstein-like
 * intensities) is compiled by scripts/build_events_model.py into models/events.model and loaded
 * once by nd_events_new; the loaded model is read-only, so any number of threads may code at once.
 *
 * The coder works without a parser: per sentence it finds actor chunks (country/adjective, title,
 * name: "Chinese Foreign Minister Wang Yi"), joins coordinated ones ("China and Brazil"), finds
 * verb and noun triggers, picks the most specific CAMEO pattern, then assigns source and target
 * from position, prepositions, passives ("chaired by"), possessives ("Zelenskiy's dismissal"),
 * reported speech ("Blinken said ...") and pronouns; negated triggers ("did not condemn") code
 * nothing, and intent or planning ("will meet", "a call was being planned") is kept apart as status
 * "planned". */
#ifndef ND_EVENTS_H
#define ND_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "story/event.h"

struct nd_events;

/* Load <models_dir>/events.model. NULL with errstr filled when it is missing or malformed. */
struct nd_events *nd_events_new(const char *models_dir, char *errstr, size_t errsz);
void nd_events_destroy(struct nd_events *events);

/* An entity mention found by the entities stage. When the caller has them, they replace the coder's
 * own dictionary lookup of actors (titles and agents are still read from the text). From the
 * entities module: one per body mention, byte offsets, the entity's type name, its country ("IGO"
 * when its kind is an international organisation, NULL when unknown), its canonical name. `role` is
 * used only when it is a three-letter sector code ("GOV", "MIL"); a title such as "Secretary of
 * State" is left to the coder, which reads titles from the text. */
struct nd_events_mention {
    size_t start, end;   /* byte offsets in the text */
    const char *type;    /* "PERSON", "ORG", "GPE", "LOC", "NORP" */
    const char *country; /* ISO 3166 alpha-3 (or "IGO" for international bodies), may be NULL */
    const char *name;    /* canonical name, may be NULL */
    const char *role;    /* sector such as "GOV", "MIL", may be NULL */
};

/* Code the events of text[0..len) (UTF-8) into out (appended; out->set is set). mentions may be
 * NULL. Offsets in the events are Unicode code points. Thread-safe. */
void nd_events_code_list(const struct nd_events *events, const char *text, size_t len,
                         const struct nd_events_mention *mentions, size_t nmentions,
                         struct nd_event_list *out);

/* As nd_events_code_list, returning the events as a new JSON array (never NULL): for tools and
 * tests, which print or compare the JSON. */
json_t *nd_events_code(const struct nd_events *events, const char *text, size_t len,
                       const struct nd_events_mention *mentions, size_t nmentions);

/* As nd_events_code_list, over the story's token stream: doc (nd_doc_build of the text, borrowed;
 * the sentences nd_doc_parse parsed give the roles of their verbs) and toks, its first ntok tokens
 * from nd_evlex_tokens (events_lex.h), shared with topics; the coder fills the tokens' word-class
 * bits (cls) and reads nothing else of them but what nd_evlex_tokens wrote. Sentences and character
 * offsets are the doc's. */
struct nd_evtok;
struct nd_doc;
void nd_events_code_tokens(const struct nd_events *events, const struct nd_doc *doc,
                           struct nd_evtok *toks, size_t ntok,
                           const struct nd_events_mention *mentions, size_t nmentions,
                           struct nd_event_list *out);

/* The sentences of doc that can hold an event, for the caller to parse only those: want[s]
 * (doc->nsents entries, caller's) is set when sentence s holds a token of toks (ntok of them, as
 * for nd_events_code_tokens) that begins a verb or noun trigger of the model's dictionaries, else
 * cleared. A sentence left out holds nothing the coder reads the parse for. events NULL: no
 * sentence. Thread-safe. */
void nd_events_trigger_sentences(const struct nd_events *events, const struct nd_evtok *toks,
                                 size_t ntok, const struct nd_doc *doc, uint8_t *want);

/* Where the roles of a verb come from (a bit set; the default is both): the dependency parse of the
 * story (nd_events_code_tokens' doc), and word order (the coder without a parse) for a role the
 * parse leaves empty, or for every role where there is no parse. For the evaluation's ablation;
 * set once, before coding. */
#define ND_EVENTS_ROLES_PARSE 1u
#define ND_EVENTS_ROLES_FALLBACK 2u
void nd_events_set_roles(struct nd_events *events, unsigned roles);

/* Count of dictionary entries, for logs and tests. */
size_t nd_events_model_size(const struct nd_events *events);

#endif
