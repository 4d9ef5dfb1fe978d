/* topics: IPTC Media Topics for a story (the newsroom subject taxonomy).
 *
 * models/topics.model (built by scripts/build_topics_model.py) holds the IPTC codes and names used,
 * a weighted lexicon over all of them, and a naive Bayes model of five broad classes (trained on
 * BBC News) mapped onto IPTC top-level topics. Scores from the lexicon, the classifier and the
 * story's coded events (who met or fought whom) are summed per topic and carried up to its
 * ancestors. Loaded once; read-only afterwards, so any number of threads may assign at once. */
#ifndef ND_TOPICS_H
#define ND_TOPICS_H

#include <jansson.h>
#include <stddef.h>

#include "story/event.h"

struct nd_topics;

/* Load <models_dir>/topics.model. NULL with errstr filled when it is missing or malformed. */
struct nd_topics *nd_topics_new(const char *models_dir, char *errstr, size_t errsz);
void nd_topics_destroy(struct nd_topics *topics);

/* Topics of text[0..len). events: the events nd_events_code_list coded for the same text
 * (borrowed, may be NULL). Returns a new JSON array (never NULL) of {uri, name, confidence, evidence[]},
 * most confident first. Thread-safe. */
json_t *nd_topics_assign(const struct nd_topics *topics, const char *text, size_t len,
                         const struct nd_event_list *events);

/* As nd_topics_assign, over the text's tokens from nd_evlex_tokenize_alloc (events_lex.h): the
 * enrich stage tokenizes once for the event coder and topics. */
struct nd_evtok;
json_t *nd_topics_assign_tokens(const struct nd_topics *topics, const char *text, size_t len,
                                const struct nd_evtok *toks, size_t ntok,
                                const struct nd_event_list *events);

/* The best of the classifier's top-level classes (an IPTC code such as "04000000") for text, or
 * NULL when the model has no classifier: the number scripts/eval_topics.py checks against BBC
 * labels. */
const char *nd_topics_top_class(const struct nd_topics *topics, const char *text, size_t len);

#endif
