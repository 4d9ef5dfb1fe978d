/* enrich: turns a parsed story into an enriched one: clean text with dateline, byline and credit
 * split off; later entities, topics, events and near-duplicate fingerprints.
 *
 * An nd_enrich holds the loaded models; it is read-only after nd_enrich_new, so any number of
 * worker threads may call nd_enrich_story on it at once. */
#ifndef ND_ENRICH_H
#define ND_ENRICH_H

#include "story/story.h"

struct nd_enrich;

/* models_dir: the folder holding kb.tsv, ner.bin, events.model, topics.model (not NULL; the
 * caller keeps it). NULL with errstr on failure. */
struct nd_enrich *nd_enrich_new(const char *models_dir, char *errstr, size_t errsz);
void nd_enrich_destroy(struct nd_enrich *enrich);

/* Events whose calibrated confidence is below this are kept in the story with below_threshold
 * set and are neither published to the events topic nor alerted on (config events.min_confidence;
 * this default when unset). Call before the worker threads start. */
#define ND_EVENTS_MIN_CONFIDENCE 0.5
void nd_enrich_set_min_confidence(struct nd_enrich *enrich, double min_confidence);

/* Enrich one story in place. Thread-safe. Never fails on odd text: a story that yields nothing
 * still goes on, with empty annotations. */
enum nd_err nd_enrich_story(const struct nd_enrich *enrich, struct nd_story *story);

/* What one nd_enrich_story did, for benchmarks and metrics: the body's sentences and how many of
 * them the parse gate let through to the parser. */
struct nd_enrich_stats {
    size_t sentences, parsed;
};
/* nd_enrich_story, adding its counts to *stats (NULL: none). */
enum nd_err nd_enrich_story_stats(const struct nd_enrich *enrich, struct nd_story *story,
                                  struct nd_enrich_stats *stats);

/* The parse nd_enrich_story makes, of every sentence of text[0..len) taken as a story's body
 * (already normalised): *doc built (nd_doc_build: the caller frees it with nd_doc_free and keeps
 * text alive), names marked from the entities stage, every sentence tagged and parsed. For
 * `newsd syntax FILE.txt` and tests. ND_ERR_TOOBIG / ND_ERR_NOMEM leave *doc empty. */
struct nd_doc;
enum nd_err nd_enrich_parse(const struct nd_enrich *enrich, const char *text, size_t len,
                            struct nd_doc *doc);

/* Text stage alone: normalise headline and body_text and split off dateline, byline and credit
 * line. */
void nd_enrich_text(struct nd_story *story);

/* Normalised copy of s (caller frees; NULL for NULL): valid UTF-8 (bad bytes become U+FFFD), HTML
 * tags and character references decoded, NFC, one space between words, \n line ends, at most one
 * blank line in a row, no zero-width characters. oneline: line breaks become spaces. */
char *nd_text_normalize(const char *s, int oneline);

/* `newsd enrich FILE`: a file starting with '{' holds JSON story objects one per line, anything
 * else is one plain-text story; "-" reads stdin. Prints one enriched story JSON per line to out, in
 * input order; a bad line gets a message naming file and line on errout and the next lines still go
 * through. An empty (or all-whitespace) file gives no story and a note on errout, and is no error.
 * Returns the number of errors. Files over ND_ENRICH_FILE_MAX bytes are refused. */
#include <stdio.h>
#define ND_ENRICH_FILE_MAX (256u << 20)
int nd_enrich_file(const struct nd_enrich *enrich, const char *path, FILE *out, FILE *errout);

#endif
