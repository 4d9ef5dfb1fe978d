/* tagger_doc: document-level consistency of the tagger's labels, after a document is tagged.
 *
 * One name in one story is one thing: every mention of the same words gets the type most of its
 * mentions got (the first mention's on a tie), and a one-word mention that is the surname of a
 * fuller person mention earlier in the document ("Lawrence Lindsey" ... "Lindsey") is a person. */
#ifndef ND_TAGGER_DOC_H
#define ND_TAGGER_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "enrich/tagger.h"

/* Relabel toks[0..n) in place (IOB2 stays valid); lw[i] is token i's nd_kb_tokhash, margin[i] how
 * far the tagger's label for it scored above the runner-up (a mention's vote weighs that much).
 * Uses scratch memory, released before it returns. ND_ERR_NOMEM leaves the labels as they were. */
enum nd_err nd_tagger_doc_vote(struct nd_ner_tok *toks, size_t n, const uint64_t *lw,
                               const int32_t *margin);

#endif
