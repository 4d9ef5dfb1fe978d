/* doc: one story's token stream, made once and read by every enrich step (entities, syntax,
 * events, topics).
 *
 * The text is tokenised and split into sentences by nd_tokenize (tokenize.h, UD EWT conventions:
 * "don't" -> do + n't, possessive 's split). Each token carries its byte span, its character
 * (code point) span made in one pass here (the only byte -> character mapping enrich needs), a
 * lookup key in the events_lex form (lowercase ASCII, periods dropped, "’" folded to "'", at most
 * ND_DOC_KEYMAX - 1 bytes) with its hash (nd_evmap_hash of the key, so dictionaries built for
 * nd_evtok keys match), and the syntax fields that nd_doc_parse fills.
 *
 * Ownership: the doc borrows `text` (the caller keeps it alive and unchanged while the doc lives)
 * and owns its arrays; nd_doc_free releases them. A doc is written by the thread that builds it and
 * read-only afterwards. */
#ifndef ND_DOC_H
#define ND_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "enrich/tokenize.h"

#define ND_DOC_KEYMAX 40

/* head value of a token its sentence's parse did not reach (sentence not parsed) */
#define ND_DOC_HEAD_NONE (-2)
/* head value of a sentence's root */
#define ND_DOC_HEAD_ROOT (-1)

struct nd_doc_tok {
    uint32_t start, end;   /* byte offsets into text: [start, end) */
    uint32_t cstart, cend; /* the same span in code points */
    uint32_t flags;        /* ND_TOK_* (tokenize.h) */
    uint32_t sent;         /* index of its sentence in doc->sents */
    uint64_t hash;         /* nd_evmap_hash(key, keylen) */
    uint8_t name;          /* set by the caller before nd_doc_parse: inside a name (entities) */
    uint8_t keylen;
    char key[ND_DOC_KEYMAX]; /* NUL-terminated */
    /* syntax, filled by nd_doc_parse for the sentences it parses (else upos/xpos/deprel 0 and
     * head ND_DOC_HEAD_NONE) */
    uint8_t upos;   /* enum nd_upos (syntax.h) */
    uint8_t xpos;   /* enum nd_xpos */
    uint8_t deprel; /* enum nd_deprel */
    int32_t head;   /* doc token index of the head, ND_DOC_HEAD_ROOT, or ND_DOC_HEAD_NONE */
};

struct nd_doc_sent {
    uint32_t first, count; /* tokens[first .. first+count) */
    uint32_t start, end;   /* byte span from the first token's start to the last token's end */
    uint32_t cstart, cend; /* the same in code points */
    uint8_t parsed;        /* nd_doc_parse filled this sentence's syntax fields */
};

struct nd_doc {
    const char *text; /* borrowed */
    size_t len;
    struct nd_doc_tok *toks;
    size_t ntoks;
    struct nd_doc_sent *sents;
    size_t nsents;
    struct nd_tokens raw; /* nd_tokenize's own arrays (entities reads these) */
};

/* Tokenise text[0..len) into *doc (zeroed first). ND_ERR_TOOBIG past ND_TOKENIZE_MAX_BYTES,
 * ND_ERR_NOMEM; on error the doc is empty and needs no free (nd_doc_free is still safe). */
enum nd_err nd_doc_build(struct nd_doc *doc, const char *text, size_t len);
void nd_doc_free(struct nd_doc *doc);

struct nd_syntax;
/* Tag and parse the sentences for which want(doc, sentence index, arg) returns nonzero (want NULL:
 * every sentence); fills the tokens' upos/xpos/deprel/head and the sentences' parsed flag. A
 * capitalised word token marked `name` is tagged NNP (PROPN) without asking the tagger.
 * Thread-safe on a shared syntax model. ND_ERR_NOMEM only. */
typedef int (*nd_doc_want_fn)(const struct nd_doc *doc, size_t sent, void *arg);
enum nd_err nd_doc_parse(struct nd_doc *doc, const struct nd_syntax *syntax, nd_doc_want_fn want,
                         void *arg);

#endif
