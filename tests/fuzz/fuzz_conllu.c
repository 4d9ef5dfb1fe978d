/* The CoNLL-U reader and `newsd syntax --conllu` on arbitrary bytes: every sentence handed over has
 * its word IDs 1..n and HEADs in range, columns inside the input; the output of a parse keeps every
 * head within its sentence. The model is loaded once (models/syntax.bin); without it only the
 * reader runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/conllu.h"
#include "enrich/syntax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    const char *text;
    size_t len;
    const struct nd_syntax *syntax;
};

static enum nd_err check_sent(const struct nd_conllu_sent *sent, void *arg)
{
    const struct check *c = arg;
    struct nd_syntax_word words[64];
    uint8_t upos[64], xpos[64], deprel[64];
    uint32_t head[64], vlen;
    struct nd_syntax_out out = {upos, xpos, deprel, head};
    size_t w = 0;

    if (!sent->nlines || sent->nlines > ND_CONLLU_MAX_LINES)
        abort();
    for (size_t i = 0; i < sent->nlines; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->line < c->text || l->line + l->len > c->text + c->len)
            abort();
        if (l->kind == ND_CONLLU_COMMENT)
            continue;
        for (int k = 0; k < ND_CONLLU_NCOLS; k++)
            if (l->col[k] < l->line || l->col[k] + l->collen[k] > l->line + l->len)
                abort();
        (void)nd_conllu_misc(l, "SpaceAfter", &vlen);
        if (l->kind != ND_CONLLU_WORD)
            continue;
        if (l->head != UINT32_MAX && l->head > sent->nwords)
            abort();
        if (w < 64) {
            words[w].form = l->col[ND_CU_FORM];
            words[w].len = l->collen[ND_CU_FORM];
            words[w].xpos_hint = 0;
        }
        w++;
    }
    if (w != sent->nwords)
        abort();
    if (c->syntax && w <= 64) {
        nd_syntax_parse(c->syntax, words, w, &out);
        for (size_t i = 0; i < w; i++)
            if (head[i] > w || head[i] == i + 1 || upos[i] >= ND_UPOS_COUNT ||
                deprel[i] >= ND_DEP_COUNT)
                abort();
    }
    return ND_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nd_syntax *syntax;
    static int loaded;
    char errstr[256];
    struct check c = {(const char *)data, size, NULL};

    if (!loaded) {
        loaded = 1;
        syntax = nd_syntax_load(NEWSD_SOURCE_DIR "/models/syntax.bin", errstr, sizeof(errstr));
    }
    c.syntax = syntax;
    (void)nd_conllu_read((const char *)data, size, check_sent, &c, errstr, sizeof(errstr));
    if (syntax && size < 4096) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            (void)nd_syntax_conllu(syntax, (const char *)data, size, devnull, errstr,
                                   sizeof(errstr));
            fclose(devnull);
        }
    }
    return 0;
}
