/* tagger: the statistical named-entity tagger. An averaged structured perceptron over IOB2 labels
 * (PER, ORG, LOC, MISC, as CoNLL-2003), decoded by Viterbi over each sentence with the previous
 * label as a feature (tagger_viterbi.h), then a document-level vote (tagger_doc.h). Features: the
 * word, its lower case, prefixes and suffixes, word shape, neighbouring words and shapes within the
 * sentence, word clusters of the word and its neighbours (clusters.h), knowledge-base gazetteer
 * matches (countries, cities, organisations, names), document-level case evidence, and the type the
 * same word got in earlier sentences of the document.
 *
 * A model is trained by nd_tagger_train (`newsd train-ner`) and saved as a compact binary file
 * (models/ner.bin). A loaded tagger is read-only: any number of threads may tag with it. */
#ifndef ND_TAGGER_H
#define ND_TAGGER_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "enrich/clusters.h"
#include "enrich/kb.h"

#define ND_NER_NLABELS 9
/* "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC" */
extern const char *const nd_ner_labels[ND_NER_NLABELS];
/* Label index from its name; -1 when unknown. */
int nd_ner_label(const char *name);

/* One token of a document to tag. The caller fills s/len and sent_start; the rest is scratch. */
struct nd_ner_tok {
    const char *s;
    uint32_t len;
    uint8_t sent_start; /* first token of a sentence */
    uint8_t label;      /* output (and gold input when training) */
    uint64_t lw;        /* nd_kb_tokhash of the token when the caller has it, else 0 */
};

struct nd_tagger;

struct nd_tagger *nd_tagger_load(const char *path, char *errstr, size_t errsz);
void nd_tagger_destroy(struct nd_tagger *tagger);

/* Tag one document in place (toks[i].label). kb may be NULL (no gazetteer features; worse). */
enum nd_err nd_tagger_tag(const struct nd_tagger *tagger, const struct nd_kb *kb,
                          struct nd_ner_tok *toks, size_t n);

/* Train on CoNLL files (documents split by -DOCSTART-; 1 to ND_TRAIN_MAX_FILES of them, their
 * documents together) and write the model to out_path, with a copy of the word clusters (may be
 * NULL: no cluster features; worse) inside it. Progress on log. Returns ND_OK or an error with
 * errstr filled. */
#define ND_TRAIN_MAX_FILES 8
enum nd_err nd_tagger_train(const char *const *conll_paths, size_t npaths,
                            const struct nd_kb *kb, const struct nd_clusters *clusters,
                            const char *out_path, int epochs, FILE *log, char *errstr,
                            size_t errsz);

/* Read CoNLL text (first column token, blank line between sentences, -DOCSTART- lines) into
 * documents: calls fn for each document. Tokens point into `text` (modified in place). */
typedef enum nd_err (*nd_conll_doc_fn)(struct nd_ner_tok *toks, size_t n, void *arg);
enum nd_err nd_conll_read(char *text, size_t len, int with_labels, nd_conll_doc_fn fn, void *arg,
                          char *errstr, size_t errsz);

/* Tag CoNLL text (token in the first column) and write "token<TAB>label" lines to out, keeping
 * blank lines; -DOCSTART- lines are written as "-DOCSTART-<TAB>O" and start a new document. */
enum nd_err nd_tagger_conll(const struct nd_tagger *tagger, const struct nd_kb *kb,
                            const char *text, size_t len, FILE *out, char *errstr, size_t errsz);

#endif
