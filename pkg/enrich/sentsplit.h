/* sentsplit: the sentence boundary classifier behind nd_tokenize (internal to pkg/enrich).
 *
 * The tokeniser's rules propose boundaries (ND_TOK_RULE_START: a terminator and what looks like a
 * new sentence after it, abbreviations and titles kept); an averaged perceptron over the gap
 * between two tokens then decides each candidate gap, the rules' answer among its features. A
 * candidate is a gap after punctuation or an abbreviation, or before a capitalised word, a number
 * or "i": web text and e-mail often end a sentence without a period, or start one in lower case.
 * Fixed: a line break always starts a sentence, a title or initial ("Mr.", "J.") never ends one.
 *
 * The weights (models/sentsplit.bin, `newsd train-split` over UD English EWT train, the epoch
 * chosen on dev) are compiled into the binary, so nd_tokenize stays a pure function. Model file:
 * "NDSS", version 1, bits (uint32 little-endian each), then 2^bits float32 weights. */
#ifndef ND_SENTSPLIT_H
#define ND_SENTSPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "enrich/tokenize.h"

#define ND_SENTSPLIT_MAXFEAT 32

/* A model file's bytes. */
struct nd_sentsplit {
    const unsigned char *data;
    size_t len;
};

/* The model compiled in (models/sentsplit.bin at build time; len 0 when the build had none, and
 * then the rules decide alone). */
extern const struct nd_sentsplit nd_sentsplit_builtin;

/* The weights of a model (2^bits little-endian float32, read with memcpy) and *mask = 2^bits - 1;
 * NULL when its bytes are no valid model. */
const unsigned char *nd_sentsplit_weights(const struct nd_sentsplit *model, uint32_t *mask);

/* Is the gap before tokens[i] (0 < i < n) a candidate boundary? */
int nd_sentsplit_candidate(const char *text, const struct nd_token *tokens, size_t n, size_t i);

/* The feature buckets of the gap before tokens[i] into f (at most ND_SENTSPLIT_MAXFEAT, masked by
 * mask); returns their count. */
size_t nd_sentsplit_features(const char *text, const struct nd_token *tokens, size_t n, size_t i,
                             uint32_t mask, uint32_t *f);

/* Set ND_TOK_SENT_START on tokens[0..n) from the model (NULL or invalid: from
 * ND_TOK_RULE_START), the fixed cases first. */
void nd_sentsplit_apply(const struct nd_sentsplit *model, const char *text, struct nd_token *tokens,
                        size_t n);

/* Train a model on the CoNLL-U files train and dev (gzipped or not): each one's `# text` lines
 * joined into running text as scripts/eval_syntax.py joins them (a space within a paragraph, a
 * blank line between), tokenised, each candidate gap labelled by whether a gold sentence ends
 * there; epochs passes over train in file order, the averaged weights of the epoch with the best
 * dev boundary F1 written to out with 2^bits weights. Progress to log. */
enum nd_err nd_sentsplit_train(const char *train, const char *dev, const char *out, int epochs,
                               unsigned bits, FILE *log, char *errstr, size_t errsz);

#endif
