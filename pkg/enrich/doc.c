/* The per-story token stream: nd_tokenize's tokens with character offsets, lookup keys and the
 * parse. */
#include "enrich/doc.h"

#include <stdlib.h>
#include <string.h>

#include "enrich/events_lex.h"
#include "enrich/syntax.h"

/* The key of a punctuation token as events_lex makes it: quotes fold to '"' or "'", dashes to
 * "-", the ellipsis to "...". */
static size_t punct_key(const unsigned char *p, size_t n, char *key)
{
    if (n == 3 && p[0] == 0xE2 && p[1] == 0x80) {
        if (p[2] == 0x9C || p[2] == 0x9D)
            return (void)(key[0] = '"'), 1;
        if (p[2] == 0x98 || p[2] == 0x99)
            return (void)(key[0] = '\''), 1;
        if (p[2] >= 0x90 && p[2] <= 0x95)
            return (void)(key[0] = '-'), 1;
        if (p[2] == 0xA6)
            return memcpy(key, "...", 3), 3;
    }
    if (n == 1 || (p[0] < 0x80 && p[0] != '-' && p[0] != '.'))
        return (void)(key[0] = (char)p[0]), 1;
    if (p[0] == '-' || p[0] == '.') { /* "--", "..." */
        size_t k = n < ND_DOC_KEYMAX - 1 ? n : ND_DOC_KEYMAX - 1;
        memcpy(key, p, k);
        return k;
    }
    return (void)(key[0] = '?'), 1;
}

/* Word key: ASCII lowered, periods dropped, "’" folded to "'", cut at ND_DOC_KEYMAX - 1 bytes. */
static size_t word_key(const unsigned char *p, size_t n, char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < ND_DOC_KEYMAX - 1; i++) {
        unsigned char c = p[i];
        if (c == '.')
            continue;
        if (c == 0xE2 && i + 2 < n && p[i + 1] == 0x80 && p[i + 2] == 0x99) {
            key[k++] = '\'';
            i += 2;
            continue;
        }
        key[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return k;
}

static void make_key(struct nd_doc_tok *t, const char *text)
{
    const unsigned char *p = (const unsigned char *)text + t->start;
    size_t n = t->end - t->start, k;
    if ((t->flags & ND_TOK_PUNCT) && !(n == 2 && p[0] == '\'' ))
        k = punct_key(p, n, t->key);
    else
        k = word_key(p, n, t->key);
    if (!k) /* a token of periods only: keep one */
        t->key[k++] = '.';
    t->key[k] = '\0';
    t->keylen = (uint8_t)k;
    t->hash = nd_evmap_hash(t->key, k);
}

enum nd_err nd_doc_build(struct nd_doc *doc, const char *text, size_t len)
{
    enum nd_err err;
    size_t cbyte = 0, cchar = 0;

    memset(doc, 0, sizeof(*doc));
    if ((err = nd_tokenize(text, len, &doc->raw)) != ND_OK)
        return err;
    doc->text = text;
    doc->len = len;
    doc->ntoks = doc->raw.ntokens;
    doc->nsents = doc->raw.nsentences;
    doc->toks = calloc(doc->ntoks ? doc->ntoks : 1, sizeof(*doc->toks));
    doc->sents = calloc(doc->nsents ? doc->nsents : 1, sizeof(*doc->sents));
    if (!doc->toks || !doc->sents) {
        nd_doc_free(doc);
        return ND_ERR_NOMEM;
    }
    /* the one byte -> character mapping: a running count over the text, token by token */
    for (size_t i = 0; i < doc->ntoks; i++) {
        const struct nd_token *r = &doc->raw.tokens[i];
        struct nd_doc_tok *t = &doc->toks[i];
        cchar += nd_utf8_chars(text + cbyte, r->start - cbyte);
        t->start = r->start;
        t->end = r->end;
        t->flags = r->flags;
        t->cstart = (uint32_t)cchar;
        cchar += nd_utf8_chars(text + r->start, r->end - r->start);
        cbyte = r->end;
        t->cend = (uint32_t)cchar;
        t->head = ND_DOC_HEAD_NONE;
        make_key(t, text);
    }
    for (size_t s = 0; s < doc->nsents; s++) {
        const struct nd_sentence *r = &doc->raw.sentences[s];
        struct nd_doc_sent *d = &doc->sents[s];
        d->first = r->first;
        d->count = r->count;
        d->start = r->start;
        d->end = r->end;
        if (r->count) {
            d->cstart = doc->toks[r->first].cstart;
            d->cend = doc->toks[r->first + r->count - 1].cend;
        }
        for (uint32_t i = 0; i < r->count; i++)
            doc->toks[r->first + i].sent = (uint32_t)s;
    }
    return ND_OK;
}

void nd_doc_free(struct nd_doc *doc)
{
    if (!doc)
        return;
    nd_tokens_free(&doc->raw);
    free(doc->toks);
    free(doc->sents);
    memset(doc, 0, sizeof(*doc));
}

/* Parse one sentence in pieces of at most ND_SYNTAX_MAX_WORDS words (stack arrays). */
static void parse_sent(struct nd_doc *doc, const struct nd_syntax *syntax, size_t s)
{
    struct nd_doc_sent *ds = &doc->sents[s];
    struct nd_syntax_word words[ND_SYNTAX_MAX_WORDS];
    uint8_t upos[ND_SYNTAX_MAX_WORDS], xpos[ND_SYNTAX_MAX_WORDS], deprel[ND_SYNTAX_MAX_WORDS];
    uint32_t head[ND_SYNTAX_MAX_WORDS];
    struct nd_syntax_out out = {upos, xpos, deprel, head};

    for (uint32_t off = 0; off < ds->count; off += ND_SYNTAX_MAX_WORDS) {
        uint32_t first = ds->first + off, n = ds->count - off;
        if (n > ND_SYNTAX_MAX_WORDS)
            n = ND_SYNTAX_MAX_WORDS;
        for (uint32_t i = 0; i < n; i++) {
            const struct nd_doc_tok *t = &doc->toks[first + i];
            words[i].form = doc->text + t->start;
            words[i].len = t->end - t->start;
            words[i].xpos_hint =
                t->name && (t->flags & ND_TOK_UPPER) && !(t->flags & ND_TOK_PUNCT) ? ND_XPOS_NNP : 0;
        }
        nd_syntax_parse(syntax, words, n, &out);
        for (uint32_t i = 0; i < n; i++) {
            struct nd_doc_tok *t = &doc->toks[first + i];
            t->upos = upos[i];
            t->xpos = xpos[i];
            t->deprel = deprel[i];
            t->head = head[i] ? (int32_t)(first + head[i] - 1) : ND_DOC_HEAD_ROOT;
        }
    }
    ds->parsed = 1;
}

enum nd_err nd_doc_parse(struct nd_doc *doc, const struct nd_syntax *syntax, nd_doc_want_fn want,
                         void *arg)
{
    for (size_t s = 0; s < doc->nsents; s++)
        if (!want || want(doc, s, arg))
            parse_sent(doc, syntax, s);
    return ND_OK;
}
