/* Training of the sentence boundary classifier (sentsplit.h): running text from UD CoNLL-U, its
 * candidate gaps labelled by the gold sentence ends, an averaged perceptron, early stopping on dev.
 */
#include "enrich/sentsplit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/conllu.h"

#define TRAIN_FILE_MAX (256u << 20)

/* One split as running text and its gold sentence ends (byte offsets, ascending). */
struct corpus {
    struct nd_buf text;
    uint32_t *ends;
    size_t nends, cap;
};

/* The candidate gaps of a corpus: features (nf[i] of them from feats + off[i]) and labels. */
struct examples {
    uint32_t *feats;
    size_t nfeats, fcap;
    uint32_t *off;
    uint8_t *nf, *label, *rule; /* rule: the rules' answer */
    size_t n, cap;
    size_t gold, missed; /* gold boundaries past the first token, those no candidate holds */
};

/* *p resized to n elements of size bytes; ND_ERR_NOMEM leaves it as it was. */
static enum nd_err resize(void *p, size_t n, size_t size)
{
    void *q = realloc(*(void **)p, n * size);
    if (!q)
        return ND_ERR_NOMEM;
    *(void **)p = q;
    return ND_OK;
}

static enum nd_err add_end(struct corpus *c, size_t end)
{
    if (c->nends == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        if (resize(&c->ends, ncap, sizeof(*c->ends)) != ND_OK)
            return ND_ERR_NOMEM;
        c->cap = ncap;
    }
    c->ends[c->nends++] = (uint32_t)end;
    return ND_OK;
}

/* A sentence's text: its `# text = ` comment, else its word forms joined by spaces (as
 * scripts/eval_syntax.py has it); and whether a paragraph or document starts with it. */
static enum nd_err add_sentence(const struct nd_conllu_sent *sent, void *arg)
{
    struct corpus *c = arg;
    int newpar = 0, have_text = 0;
    enum nd_err err = ND_OK;
    for (size_t i = 0; i < sent->nlines; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind != ND_CONLLU_COMMENT)
            continue;
        newpar |= (l->len >= 8 && !memcmp(l->line, "# newpar", 8)) ||
                  (l->len >= 8 && !memcmp(l->line, "# newdoc", 8));
    }
    if (c->text.len)
        err = nd_buf_append(&c->text, newpar ? "\n\n" : " ", newpar ? 2 : 1);
    for (size_t i = 0; i < sent->nlines && !have_text && err == ND_OK; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind == ND_CONLLU_COMMENT && l->len > 9 && !memcmp(l->line, "# text = ", 9)) {
            err = nd_buf_append(&c->text, l->line + 9, l->len - 9);
            have_text = 1;
        }
    }
    for (size_t i = 0, w = 0; i < sent->nlines && !have_text && err == ND_OK; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind != ND_CONLLU_WORD)
            continue;
        if (w++ && (err = nd_buf_append(&c->text, " ", 1)) != ND_OK)
            break;
        err = nd_buf_append(&c->text, l->col[ND_CU_FORM], l->collen[ND_CU_FORM]);
    }
    if (err != ND_OK)
        return err;
    return c->text.len > UINT32_MAX - 2 ? ND_ERR_TOOBIG : add_end(c, c->text.len);
}

static enum nd_err read_corpus(const char *path, struct corpus *c, char *errstr, size_t errsz)
{
    char *data = NULL;
    size_t len;
    enum nd_err err = nd_conllu_file_read(path, TRAIN_FILE_MAX, &data, &len);
    memset(c, 0, sizeof(*c));
    nd_buf_init(&c->text, TRAIN_FILE_MAX);
    if (err != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, nd_err_str(err));
        return err;
    }
    err = nd_conllu_read(data, len, add_sentence, c, errstr, errsz);
    free(data);
    return err;
}

static void corpus_free(struct corpus *c)
{
    nd_buf_free(&c->text);
    free(c->ends);
}

static enum nd_err add_example(struct examples *ex, const uint32_t *f, size_t nf, int label,
                               int rule)
{
    if (ex->n == ex->cap) {
        size_t ncap = ex->cap ? ex->cap * 2 : 4096;
        if (resize(&ex->off, ncap, sizeof(*ex->off)) || resize(&ex->nf, ncap, 1) ||
            resize(&ex->label, ncap, 1) || resize(&ex->rule, ncap, 1))
            return ND_ERR_NOMEM;
        ex->cap = ncap;
    }
    if (ex->nfeats + nf > ex->fcap) {
        size_t ncap = ex->fcap ? ex->fcap * 2 : 65536;
        if (resize(&ex->feats, ncap, sizeof(*ex->feats)))
            return ND_ERR_NOMEM;
        ex->fcap = ncap;
    }
    memcpy(ex->feats + ex->nfeats, f, nf * sizeof(*f));
    ex->off[ex->n] = (uint32_t)ex->nfeats;
    ex->nf[ex->n] = (uint8_t)nf;
    ex->rule[ex->n] = (uint8_t)rule;
    ex->label[ex->n++] = (uint8_t)label;
    ex->nfeats += nf;
    return ND_OK;
}

/* The corpus tokenised, each candidate gap an example; gaps the classifier never decides (line
 * breaks, after a title) are left out, and gold ends outside every candidate counted as missed. */
static enum nd_err make_examples(const struct corpus *c, uint32_t mask, struct examples *ex)
{
    struct nd_tokens toks;
    uint32_t f[ND_SENTSPLIT_MAXFEAT];
    size_t e = 0;
    enum nd_err err = nd_tokenize(c->text.data, c->text.len, &toks);
    memset(ex, 0, sizeof(*ex));
    if (err != ND_OK)
        return err;
    for (size_t i = 1; i < toks.ntokens && err == ND_OK; i++) {
        const struct nd_token *l = &toks.tokens[i - 1], *r = &toks.tokens[i];
        int gold;
        while (e < c->nends && c->ends[e] < l->end)
            e++;
        gold = e < c->nends && c->ends[e] == l->end;
        ex->gold += gold;
        if (r->flags & ND_TOK_NEWLINE)
            continue;
        if ((l->flags & ND_TOK_TITLE) ||
            !nd_sentsplit_candidate(c->text.data, toks.tokens, toks.ntokens, i)) {
            ex->missed += gold;
            continue;
        }
        err = add_example(
            ex, f, nd_sentsplit_features(c->text.data, toks.tokens, toks.ntokens, i, mask, f), gold,
            (r->flags & ND_TOK_RULE_START) != 0);
    }
    nd_tokens_free(&toks);
    return err;
}

static void examples_free(struct examples *ex)
{
    free(ex->feats);
    free(ex->off);
    free(ex->nf);
    free(ex->label);
    free(ex->rule);
}

static double score(const double *w, const struct examples *ex, size_t i)
{
    double s = 0;
    for (size_t k = 0; k < ex->nf[i]; k++)
        s += w[ex->feats[ex->off[i] + k]];
    return s;
}

/* Boundary F1 on ex of weights w (NULL: of the rules alone), decided gaps against their labels,
 * missed ends as misses. */
static double boundary_f1(const double *w, const struct examples *ex, double *p, double *r)
{
    size_t tp = 0, fp = 0, fn = ex->missed;
    for (size_t i = 0; i < ex->n; i++) {
        int y = w ? score(w, ex, i) > 0 : ex->rule[i];
        tp += y && ex->label[i];
        fp += y && !ex->label[i];
        fn += !y && ex->label[i];
    }
    *p = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    *r = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    return *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

static enum nd_err write_model(const char *out, const double *wd, unsigned bits, char *errstr,
                               size_t errsz)
{
    struct nd_buf tmp;
    uint32_t head[3] = {0, 1, bits};
    size_t n = (size_t)1 << bits;
    float *w;
    FILE *fp;
    int ok;
    memcpy(head, "NDSS", 4);
    nd_buf_init(&tmp, ND_PATH_MAX + 8);
    if (nd_buf_appendf(&tmp, "%s.tmp", out) != ND_OK) {
        snprintf(errstr, errsz, "%.200s...: path too long", out);
        return ND_ERR_TOOBIG;
    }
    if (!(fp = fopen(tmp.data, "wb"))) {
        snprintf(errstr, errsz, "%s: %s", tmp.data, strerror(errno));
        nd_buf_free(&tmp);
        return ND_ERR_IO;
    }
    w = nd_xcalloc(n, sizeof(*w));
    for (size_t b = 0; b < n; b++)
        w[b] = (float)wd[b];
    ok = fwrite(head, sizeof(head), 1, fp) == 1 && fwrite(w, sizeof(*w), n, fp) == n;
    free(w);
    ok = (fclose(fp) == 0) && ok && rename(tmp.data, out) == 0;
    if (!ok) {
        snprintf(errstr, errsz, "%s: %s", out, strerror(errno));
        remove(tmp.data);
    }
    nd_buf_free(&tmp);
    return ok ? ND_OK : ND_ERR_IO;
}

enum nd_err nd_sentsplit_train(const char *train, const char *dev, const char *out, int epochs,
                               unsigned bits, FILE *log, char *errstr, size_t errsz)
{
    struct corpus ctr, cdev;
    struct examples xtr = {0}, xdev = {0};
    size_t n = (size_t)1 << bits;
    double *w = NULL, *u = NULL; /* the perceptron's weights and their step-weighted sums */
    double *avg = NULL, *best = NULL;
    double best_f1 = -1, c = 1;
    int best_epoch = 0;
    enum nd_err err;

    memset(&cdev, 0, sizeof(cdev));
    if (bits < 4 || bits > 24 || epochs < 1) {
        snprintf(errstr, errsz, "bits must be 4..24 and epochs at least 1");
        return ND_ERR_INVALID;
    }
    if ((err = read_corpus(train, &ctr, errstr, errsz)) != ND_OK ||
        (err = read_corpus(dev, &cdev, errstr, errsz)) != ND_OK)
        goto out;
    if ((err = make_examples(&ctr, (uint32_t)n - 1, &xtr)) != ND_OK ||
        (err = make_examples(&cdev, (uint32_t)n - 1, &xdev)) != ND_OK) {
        snprintf(errstr, errsz, "tokenising: %s", nd_err_str(err));
        goto out;
    }
    fprintf(log, "train-split: train %zu sentences, %zu candidate gaps (%zu gold ends not among "
                 "them); dev %zu sentences, %zu gaps (%zu)\n",
            ctr.nends, xtr.n, xtr.missed, cdev.nends, xdev.n, xdev.missed);
    {
        double p, r, f1 = boundary_f1(NULL, &xdev, &p, &r);
        fprintf(log, "train-split: rules alone: dev boundaries P %.4f R %.4f F1 %.4f\n", p, r, f1);
    }
    w = nd_xcalloc(n, sizeof(*w));
    u = nd_xcalloc(n, sizeof(*u));
    avg = nd_xcalloc(n, sizeof(*avg));
    best = nd_xcalloc(n, sizeof(*best));
    for (int ep = 1; ep <= epochs; ep++) {
        double p, r, f1;
        for (size_t i = 0; i < xtr.n; i++, c++) {
            double y = xtr.label[i] ? 1.0 : -1.0;
            if (y * score(w, &xtr, i) > 0)
                continue;
            for (size_t k = 0; k < xtr.nf[i]; k++) {
                uint32_t b = xtr.feats[xtr.off[i] + k];
                w[b] += y;
                u[b] += y * c;
            }
        }
        for (size_t b = 0; b < n; b++)
            avg[b] = w[b] - u[b] / c;
        f1 = boundary_f1(avg, &xdev, &p, &r);
        fprintf(log, "train-split: epoch %d: dev boundaries P %.4f R %.4f F1 %.4f\n", ep, p, r, f1);
        if (f1 > best_f1) {
            best_f1 = f1;
            best_epoch = ep;
            memcpy(best, avg, n * sizeof(*best));
        }
    }
    fprintf(log, "train-split: epoch %d kept (dev F1 %.4f), %zu weights -> %s\n", best_epoch,
            best_f1, n, out);
    err = write_model(out, best, bits, errstr, errsz);
out:
    free(w);
    free(u);
    free(avg);
    free(best);
    examples_free(&xtr);
    examples_free(&xdev);
    corpus_free(&ctr);
    corpus_free(&cdev);
    return err;
}
