/* CoNLL-U reader: one pass over lines, a sentence handed to the callback at each blank line. */
#include "enrich/conllu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int all_digits(const char *s, uint32_t n)
{
    if (!n)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Decimal value of s[0..n) (all digits, at most 9 of them), else -1. */
static long num(const char *s, uint32_t n)
{
    long v = 0;
    if (!all_digits(s, n) || n > 9)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Split a non-comment line into its columns and kind. 0, or -1 with errstr. */
static int split_line(struct nd_conllu_line *line, char *errstr, size_t errsz)
{
    const char *p = line->line, *end = line->line + line->len, *id;
    int c = 0;
    uint32_t idlen;

    while (c < ND_CONLLU_NCOLS) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *e = tab ? tab : end;
        line->col[c] = p;
        line->collen[c] = (uint32_t)(e - p);
        c++;
        if (!tab)
            break;
        p = tab + 1;
    }
    if (c != ND_CONLLU_NCOLS || memchr(p, '\t', (size_t)(end - p)) ||
        line->collen[ND_CU_MISC] != (uint32_t)(end - line->col[ND_CU_MISC])) {
        snprintf(errstr, errsz, "expected %d tab-separated columns", ND_CONLLU_NCOLS);
        return -1;
    }
    id = line->col[ND_CU_ID];
    idlen = line->collen[ND_CU_ID];
    if (all_digits(id, idlen))
        line->kind = ND_CONLLU_WORD;
    else if (memchr(id, '-', idlen))
        line->kind = ND_CONLLU_MWT;
    else if (memchr(id, '.', idlen))
        line->kind = ND_CONLLU_EMPTY;
    else {
        snprintf(errstr, errsz, "bad ID \"%.*s\"", (int)(idlen < 20 ? idlen : 20), id);
        return -1;
    }
    if (line->kind == ND_CONLLU_WORD && !line->collen[ND_CU_FORM]) {
        snprintf(errstr, errsz, "empty FORM");
        return -1;
    }
    return 0;
}

/* Check word IDs run 1..n and HEADs are in 0..n or "_"; fills line->head. */
static int check_sentence(struct nd_conllu_line *lines, size_t nlines, size_t nwords,
                          size_t *badline, char *errstr, size_t errsz)
{
    size_t w = 0;
    for (size_t i = 0; i < nlines; i++) {
        struct nd_conllu_line *l = &lines[i];
        const char *h = l->col[ND_CU_HEAD];
        uint32_t hl = l->collen[ND_CU_HEAD];
        long v;
        if (l->kind != ND_CONLLU_WORD)
            continue;
        *badline = i;
        if (num(l->col[ND_CU_ID], l->collen[ND_CU_ID]) != (long)++w) {
            snprintf(errstr, errsz, "word ID %.*s out of order (expected %zu)",
                     (int)(l->collen[ND_CU_ID] < 20 ? l->collen[ND_CU_ID] : 20), l->col[ND_CU_ID],
                     w);
            return -1;
        }
        if (hl == 1 && h[0] == '_') {
            l->head = UINT32_MAX;
            continue;
        }
        v = num(h, hl);
        if (v < 0 || (size_t)v > nwords) {
            snprintf(errstr, errsz, "HEAD \"%.*s\" not in 0..%zu", (int)(hl < 20 ? hl : 20), h,
                     nwords);
            return -1;
        }
        l->head = (uint32_t)v;
    }
    return 0;
}

enum nd_err nd_conllu_read(const char *text, size_t len, nd_conllu_fn fn, void *arg, char *errstr,
                           size_t errsz)
{
    struct nd_conllu_line *lines = malloc(ND_CONLLU_MAX_LINES * sizeof(*lines));
    size_t nlines = 0, nwords = 0, lineno = 0, first = 0, p = 0;
    enum nd_err err = ND_OK;
    char msg[256];

    if (!lines)
        return ND_ERR_NOMEM;
    while (p <= len) {
        const char *s = text + p, *nl = p < len ? memchr(s, '\n', len - p) : NULL;
        size_t e = nl ? (size_t)(nl - text) : len, l = e - p;
        int blank;
        lineno++;
        if (l && s[l - 1] == '\r')
            l--;
        blank = 1; /* the text need not end in a NUL: no str* function may read it */
        for (size_t k = 0; k < l && blank; k++)
            blank = s[k] == ' ' || s[k] == '\t';
        if (!blank) {
            struct nd_conllu_line *line = &lines[nlines];
            if (nlines == ND_CONLLU_MAX_LINES) {
                snprintf(errstr, errsz, "line %zu: sentence longer than %d lines", lineno,
                         ND_CONLLU_MAX_LINES);
                err = ND_ERR_TOOBIG;
                goto out;
            }
            if (!nlines)
                first = lineno;
            memset(line, 0, sizeof(*line));
            line->line = s;
            line->len = (uint32_t)l;
            if (s[0] == '#')
                line->kind = ND_CONLLU_COMMENT;
            else if (split_line(line, msg, sizeof(msg))) {
                snprintf(errstr, errsz, "line %zu: %s", lineno, msg);
                err = ND_ERR_INVALID;
                goto out;
            }
            nwords += line->kind == ND_CONLLU_WORD;
            nlines++;
        }
        if ((blank || e >= len) && nlines) {
            size_t bad = 0;
            struct nd_conllu_sent sent = {lines, nlines, nwords, first};
            if (check_sentence(lines, nlines, nwords, &bad, msg, sizeof(msg))) {
                snprintf(errstr, errsz, "line %zu: %s", first + bad, msg);
                err = ND_ERR_INVALID;
                goto out;
            }
            if ((err = fn(&sent, arg)) != ND_OK)
                goto out;
            nlines = nwords = 0;
        }
        if (!nl)
            break;
        p = e + 1;
    }
out:
    free(lines);
    return err;
}

const char *nd_conllu_misc(const struct nd_conllu_line *line, const char *key, uint32_t *vlen)
{
    const char *p = line->col[ND_CU_MISC], *end = p + line->collen[ND_CU_MISC];
    size_t klen = strlen(key);
    *vlen = 0;
    if (line->kind == ND_CONLLU_COMMENT)
        return NULL;
    while (p < end) {
        const char *bar = memchr(p, '|', (size_t)(end - p)), *e = bar ? bar : end;
        if ((size_t)(e - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            *vlen = (uint32_t)(e - p - (ptrdiff_t)klen - 1);
            return p + klen + 1;
        }
        p = e + 1;
    }
    return NULL;
}

enum nd_err nd_conllu_file_read(const char *path, size_t max, char **data, size_t *len)
{
    gzFile gz = gzopen(path, "rb"); /* reads plain files too */
    struct nd_buf buf;
    char chunk[65536];
    enum nd_err err = ND_OK;
    int n;

    *data = NULL;
    *len = 0;
    if (!gz)
        return ND_ERR_NOTFOUND;
    nd_buf_init(&buf, max);
    while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
        if ((err = nd_buf_append(&buf, chunk, (size_t)n)) != ND_OK)
            break;
    if (n < 0)
        err = ND_ERR_IO;
    gzclose(gz);
    if (err == ND_OK && !buf.data)
        err = nd_buf_append(&buf, "", 0);
    if (err != ND_OK) {
        nd_buf_free(&buf);
        return err;
    }
    *data = nd_buf_steal(&buf, len);
    return ND_OK;
}
