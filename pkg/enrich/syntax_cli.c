/* `newsd syntax`: CoNLL-U in and out, and raw text to CoNLL-U. */
#include <stdlib.h>
#include <string.h>

#include "enrich/conllu.h"
#include "enrich/doc.h"
#include "enrich/syntax.h"

struct conllu_job {
    const struct nd_syntax *syntax;
    FILE *out;
    struct nd_syntax_word *words;
    uint8_t *upos, *xpos, *deprel;
    uint32_t *head;
};

static void put_col(FILE *out, const char *s, uint32_t n)
{
    fwrite(s, 1, n, out);
    fputc('\t', out);
}

static enum nd_err conllu_sent(const struct nd_conllu_sent *sent, void *arg)
{
    struct conllu_job *job = arg;
    struct nd_syntax_out o = {job->upos, job->xpos, job->deprel, job->head};
    size_t w = 0;

    for (size_t i = 0; i < sent->nlines; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind == ND_CONLLU_WORD) {
            job->words[w].form = l->col[ND_CU_FORM];
            job->words[w].xpos_hint = 0;
            job->words[w++].len = l->collen[ND_CU_FORM];
        }
    }
    nd_syntax_parse(job->syntax, job->words, w, &o);
    w = 0;
    for (size_t i = 0; i < sent->nlines; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind != ND_CONLLU_WORD) {
            fwrite(l->line, 1, l->len, job->out);
            fputc('\n', job->out);
            continue;
        }
        put_col(job->out, l->col[ND_CU_ID], l->collen[ND_CU_ID]);
        put_col(job->out, l->col[ND_CU_FORM], l->collen[ND_CU_FORM]);
        put_col(job->out, l->col[ND_CU_LEMMA], l->collen[ND_CU_LEMMA]);
        fprintf(job->out, "%s\t%s\t", nd_upos_names[job->upos[w]], nd_xpos_names[job->xpos[w]]);
        put_col(job->out, l->col[ND_CU_FEATS], l->collen[ND_CU_FEATS]);
        fprintf(job->out, "%u\t%s\t_\t", job->head[w], nd_deprel_names[job->deprel[w]]);
        fwrite(l->col[ND_CU_MISC], 1, l->collen[ND_CU_MISC], job->out);
        fputc('\n', job->out);
        w++;
    }
    fputc('\n', job->out);
    return ferror(job->out) ? ND_ERR_IO : ND_OK;
}

enum nd_err nd_syntax_conllu(const struct nd_syntax *syntax, const char *text, size_t len,
                             FILE *out, char *errstr, size_t errsz)
{
    struct conllu_job job = {syntax, out, NULL, NULL, NULL, NULL, NULL};
    enum nd_err err = ND_ERR_NOMEM;
    job.words = malloc(ND_CONLLU_MAX_LINES * sizeof(*job.words));
    job.upos = malloc(ND_CONLLU_MAX_LINES * 3);
    job.head = malloc(ND_CONLLU_MAX_LINES * sizeof(*job.head));
    if (job.words && job.upos && job.head) {
        job.xpos = job.upos + ND_CONLLU_MAX_LINES;
        job.deprel = job.xpos + ND_CONLLU_MAX_LINES;
        err = nd_conllu_read(text, len, conllu_sent, &job, errstr, errsz);
    } else {
        snprintf(errstr, errsz, "out of memory");
    }
    if (err == ND_ERR_IO)
        snprintf(errstr, errsz, "write error");
    free(job.words);
    free(job.upos);
    free(job.head);
    return err;
}

/* "# text = ..." of a sentence: its bytes with line breaks as spaces. */
static void put_text(FILE *out, const char *s, size_t n)
{
    fputs("# text = ", out);
    for (size_t i = 0; i < n; i++)
        fputc(s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i], out);
    fputc('\n', out);
}

static void put_sentence(FILE *out, const struct nd_doc *doc, size_t s)
{
    const struct nd_doc_sent *ds = &doc->sents[s];
    if (s == 0 || (doc->toks[ds->first].flags & ND_TOK_NEWLINE))
        fprintf(out, "# newpar\n");
    fprintf(out, "# sent_id = %zu\n", s + 1);
    put_text(out, doc->text + ds->start, ds->end - ds->start);
    for (uint32_t i = 0; i < ds->count; i++) {
        const struct nd_doc_tok *t = &doc->toks[ds->first + i];
        int32_t h = t->head;
        int space_after = ds->first + i + 1 >= doc->ntoks || doc->toks[ds->first + i + 1].start > t->end;
        fprintf(out, "%u\t%.*s\t_\t%s\t%s\t_\t%d\t%s\t_\tTokenRange=%u:%u%s\n", i + 1,
                (int)(t->end - t->start), doc->text + t->start, nd_upos_names[t->upos],
                nd_xpos_names[t->xpos], h >= 0 ? h - (int32_t)ds->first + 1 : 0,
                nd_deprel_names[t->deprel], t->cstart, t->cend, space_after ? "" : "|SpaceAfter=No");
    }
    fputc('\n', out);
}

enum nd_err nd_syntax_text(const struct nd_syntax *syntax, const char *text, size_t len,
                           FILE *out, char *errstr, size_t errsz)
{
    struct nd_doc doc;
    enum nd_err err = nd_doc_build(&doc, text, len);
    if (err != ND_OK) {
        snprintf(errstr, errsz, "%s", nd_err_str(err));
        return err;
    }
    nd_doc_parse(&doc, syntax, NULL, NULL);
    err = nd_syntax_write_doc(&doc, out);
    nd_doc_free(&doc);
    if (err != ND_OK)
        snprintf(errstr, errsz, "write error");
    return err;
}

enum nd_err nd_syntax_write_doc(const struct nd_doc *doc, FILE *out)
{
    for (size_t s = 0; s < doc->nsents; s++)
        put_sentence(out, doc, s);
    return ferror(out) ? ND_ERR_IO : ND_OK;
}
