/* conllu: a CoNLL-U reader (https://universaldependencies.org/format.html).
 *
 * Splits text into sentences (blocks separated by blank lines) and each line into its kind and,
 * for word, multiword-token and empty-node lines, its ten tab-separated columns. Pointers point
 * into the caller's text, which must outlive the callback. Checks what the parser relies on: ten
 * columns, word IDs 1..n in order, HEAD a number in 0..n or "_", at most ND_CONLLU_MAX_LINES lines
 * per sentence; a violation stops the read with an error naming the line. Pure: no state, any
 * thread. */
#ifndef ND_CONLLU_H
#define ND_CONLLU_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define ND_CONLLU_MAX_LINES 4096
#define ND_CONLLU_NCOLS 10

enum nd_conllu_col { ND_CU_ID, ND_CU_FORM, ND_CU_LEMMA, ND_CU_UPOS, ND_CU_XPOS, ND_CU_FEATS,
                     ND_CU_HEAD, ND_CU_DEPREL, ND_CU_DEPS, ND_CU_MISC };

enum nd_conllu_kind {
    ND_CONLLU_COMMENT, /* "# ..." */
    ND_CONLLU_WORD,    /* integer ID */
    ND_CONLLU_MWT,     /* "3-4": a multiword token */
    ND_CONLLU_EMPTY,   /* "8.1": an empty node of the enhanced graph */
};

struct nd_conllu_line {
    enum nd_conllu_kind kind;
    const char *line; /* the whole line without its "\n" (and "\r") */
    uint32_t len;
    const char *col[ND_CONLLU_NCOLS]; /* not for comments */
    uint32_t collen[ND_CONLLU_NCOLS];
    uint32_t head;   /* WORD: parsed HEAD, or UINT32_MAX for "_" */
};

struct nd_conllu_sent {
    const struct nd_conllu_line *lines;
    size_t nlines;
    size_t nwords;   /* lines of kind WORD */
    size_t lineno;   /* 1-based line number of the sentence's first line in the text */
};

/* Calls fn for each sentence in order; fn's error stops the read and is returned. */
typedef enum nd_err (*nd_conllu_fn)(const struct nd_conllu_sent *sent, void *arg);
enum nd_err nd_conllu_read(const char *text, size_t len, nd_conllu_fn fn, void *arg, char *errstr,
                           size_t errsz);

/* The value of KEY=value in a MISC column (e.g. "SpaceAfter"); NULL and *vlen 0 when absent. */
const char *nd_conllu_misc(const struct nd_conllu_line *line, const char *key, uint32_t *vlen);

/* Read a file, gunzipping it when it starts with the gzip magic, into a NUL-terminated buffer
 * (*data, caller frees) of at most max bytes after decompression. */
enum nd_err nd_conllu_file_read(const char *path, size_t max, char **data, size_t *len);

#endif
