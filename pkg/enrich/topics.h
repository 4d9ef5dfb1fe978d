/* topics: IPTC Media Topics for a story (the newsroom subject taxonomy).
 *
 * models/topics.model (built by scripts/build_topics_model.py) holds the IPTC codes and names used,
 * a weighted lexicon over all of them, and a calibrated softmax classifier of six classes: five
 * trained on BBC News and mapped onto IPTC top-level topics, and foreign news, whose probability is
 * shared among the world topics (politics, conflict, crime, disaster, ...) by their lexicon
 * evidence. A top-level topic's confidence is the probability that it is the story's main subject
 * (calibrated on held-apart stories: of topics given 0.8, about 80% are right); a subtopic's is the
 * chance its top-level topic is a main or secondary subject times the strength of its own evidence
 * (terms, coded events): not calibrated, for want of stories labelled with subtopics.
 * Words weigh more in the headline and lead than in the tail. Evidence lists what moved the score:
 * the classifier's words with their logit contributions, lexicon terms and events with their
 * points ("ceasefire +0.41"). Loaded once; read-only afterwards, so any number of threads may
 * assign at once. */
#ifndef ND_TOPICS_H
#define ND_TOPICS_H

#include <jansson.h>
#include <stddef.h>

#include "story/event.h"

struct nd_topics;

/* Load <models_dir>/topics.model. NULL with errstr filled when it is missing or malformed. */
struct nd_topics *nd_topics_new(const char *models_dir, char *errstr, size_t errsz);
void nd_topics_destroy(struct nd_topics *topics);

/* Topics of a story: headline (NUL-terminated, may be NULL) and body text[0..len). events: the
 * events nd_events_code_list coded for the same text (borrowed, may be NULL). Returns a new JSON
 * array (never NULL) of {uri, name, confidence, evidence[]}, most confident first. Thread-safe. */
json_t *nd_topics_assign(const struct nd_topics *topics, const char *headline, const char *text,
                         size_t len, const struct nd_event_list *events);

/* As nd_topics_assign, over the text's tokens from nd_evlex_tokens (events_lex.h): the enrich
 * stage's view of the story's one token stream, shared with the event coder. */
struct nd_evtok;
json_t *nd_topics_assign_tokens(const struct nd_topics *topics, const char *headline,
                                const char *text, size_t len, const struct nd_evtok *toks,
                                size_t ntok, const struct nd_event_list *events);

/* The most probable top-level topic (an IPTC code such as "04000000") of a story without events,
 * or NULL when the model has no classifier: the number scripts/eval_topics.py checks against BBC
 * labels. */
const char *nd_topics_top_class(const struct nd_topics *topics, const char *headline,
                                const char *text, size_t len);

#endif
