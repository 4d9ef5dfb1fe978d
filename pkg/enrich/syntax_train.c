/* Training the syntax model (`newsd train-syntax`): averaged perceptrons for XPOS, UPOS, moves and
 * labels, on a CoNLL-U treebank.
 *
 * 1. Taggers. The XPOS tagger learns from its own predicted history (greedy, left to right); the
 *    UPOS tagger learns from the XPOS tagger's output. Trained on all of train for the model, and
 *    4-fold jackknifed so the parser learns on tags as wrong as the ones it will see.
 * 2. Parser. Each epoch visits the training sentences in a seeded shuffle and runs the greedy
 *    parser; at each configuration the dynamic oracle (syntax_oracle.c) names the cheapest moves;
 *    a wrong prediction updates the move weights towards the best-scoring cheapest move. From the
 *    second epoch on, a wrong move is followed with probability 0.9 (error exploration). When the
 *    move followed makes a gold arc, the label perceptron learns that arc's label.
 *    Non-projective trees (about 2% of EWT train sentences) are trained on as they are: the oracle
 *    counts the arcs each move loses, and the cheapest path builds the nearest projective tree.
 *    Sentences longer than ND_SYNTAX_MAX_WORDS are skipped.
 * After each parser epoch the averaged weights are scored on dev; the best epoch's are saved. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/conllu.h"
#include "enrich/syntax_int.h"

#define TRAIN_MAX_BYTES (512u << 20)
#define TAG_EPOCHS 10
#define FOLDS 4
#define EXPLORE_P 0.9

struct tsent {
    uint32_t n;
    struct nd_syntax_word *words;
    uint8_t *xpos, *upos, *label; /* gold, 1-based ([0] unused) */
    int16_t *head;
    uint8_t *pxpos, *pupos; /* predicted (jackknifed for train), 1-based */
};

struct corpus {
    char *text;
    struct tsent *s;
    size_t n, cap, skipped, nonproj, tokens;
};

struct trainer {
    struct syn_dense tab[SYN_NTABS], avg[SYN_NTABS];
    double c; /* updates so far (the averaging clock) */
    struct syn_lex lex;
    struct syn_dict dict;
    uint64_t rng;
};

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- corpus ----------------------------------------------------------------------------------- */

static enum nd_err add_sent(const struct nd_conllu_sent *cs, void *arg)
{
    struct corpus *c = arg;
    struct tsent *t;
    size_t n = cs->nwords, w = 0;
    if (n == 0 || n > SYN_MAXW) {
        c->skipped++;
        return ND_OK;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        struct tsent *ns = realloc(c->s, ncap * sizeof(*ns));
        if (!ns)
            return ND_ERR_NOMEM;
        c->s = ns;
        c->cap = ncap;
    }
    t = &c->s[c->n++];
    t->n = (uint32_t)n;
    t->words = nd_xcalloc(n, sizeof(*t->words));
    t->xpos = nd_xcalloc(n + 2, 5);
    t->upos = t->xpos + (n + 2);
    t->label = t->upos + (n + 2);
    t->pxpos = t->label + (n + 2);
    t->pupos = t->pxpos + (n + 2);
    t->head = nd_xcalloc(n + 2, sizeof(*t->head));
    for (size_t i = 0; i < cs->nlines; i++) {
        const struct nd_conllu_line *l = &cs->lines[i];
        if (l->kind != ND_CONLLU_WORD)
            continue;
        t->words[w].form = l->col[ND_CU_FORM];
        t->words[w].len = l->collen[ND_CU_FORM];
        w++;
        t->xpos[w] = (uint8_t)nd_xpos_from_name(l->col[ND_CU_XPOS], l->collen[ND_CU_XPOS]);
        t->upos[w] = (uint8_t)nd_upos_from_name(l->col[ND_CU_UPOS], l->collen[ND_CU_UPOS]);
        t->label[w] = (uint8_t)nd_deprel_from_name(l->col[ND_CU_DEPREL], l->collen[ND_CU_DEPREL]);
        t->head[w] = (int16_t)(l->head == UINT32_MAX ? 0 : l->head);
        if (!t->label[w])
            t->label[w] = t->head[w] ? ND_DEP_DEP : ND_DEP_ROOT;
    }
    c->tokens += n;
    c->nonproj += !syn_projective(t->head, n);
    return ND_OK;
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].words);
        free(c->s[i].xpos);
        free(c->s[i].head);
    }
    free(c->s);
    free(c->text);
    memset(c, 0, sizeof(*c));
}

static enum nd_err corpus_load(struct corpus *c, const char *path, char *errstr, size_t errsz)
{
    size_t len;
    enum nd_err err;
    char msg[256];
    memset(c, 0, sizeof(*c));
    if ((err = nd_conllu_file_read(path, TRAIN_MAX_BYTES, &c->text, &len)) != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, nd_err_str(err));
        return err;
    }
    if ((err = nd_conllu_read(c->text, len, add_sent, c, msg, sizeof(msg))) != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, msg);
        corpus_free(c);
    }
    return err;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The lower-case lexicon of train: every word form written starting with a lower-case letter. */
static void build_lex(struct syn_lex *lex, const struct corpus *c)
{
    size_t n = 0;
    lex->h = nd_xcalloc(c->tokens + 1, sizeof(*lex->h));
    for (size_t k = 0; k < c->n; k++)
        for (size_t i = 0; i < c->s[k].n; i++) {
            const struct nd_syntax_word *w = &c->s[k].words[i];
            if (w->len && w->form[0] >= 'a' && w->form[0] <= 'z')
                lex->h[n++] = syn_lower_hash(w->form, w->len);
        }
    qsort(lex->h, n, sizeof(*lex->h), cmp_u64);
    lex->n = 0;
    for (size_t i = 0; i < n; i++)
        if (!lex->n || lex->h[lex->n - 1] != lex->h[i])
            lex->h[lex->n++] = lex->h[i];
}

struct form_tag {
    uint64_t form;
    uint8_t xpos, upos;
};

static int cmp_form_tag(const void *a, const void *b)
{
    const struct form_tag *x = a, *y = b;
    if (x->form != y->form)
        return (x->form > y->form) - (x->form < y->form);
    if (x->xpos != y->xpos)
        return x->xpos - y->xpos;
    return x->upos - y->upos;
}

/* The tag dictionary of train (syntax_int.h): forms of SYN_DICT_MIN or more tokens whose commonest
 * (XPOS, UPOS) pair covers 99.5% of them. */
static void build_dict(struct syn_dict *dict, const struct corpus *c)
{
    struct form_tag *all = nd_xcalloc(c->tokens + 1, sizeof(*all));
    size_t n = 0;
    for (size_t k = 0; k < c->n; k++)
        for (size_t i = 0; i < c->s[k].n; i++) {
            const struct nd_syntax_word *w = &c->s[k].words[i];
            all[n].form = syn_form_hash(w->form, w->len);
            all[n].xpos = c->s[k].xpos[i + 1];
            all[n++].upos = c->s[k].upos[i + 1];
        }
    qsort(all, n, sizeof(*all), cmp_form_tag);
    dict->e = nd_xcalloc(n + 1, sizeof(*dict->e));
    dict->n = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, best = 0, bi = i;
        while (j < n && all[j].form == all[i].form) {
            size_t r = j;
            while (r < n && all[r].form == all[j].form && all[r].xpos == all[j].xpos &&
                   all[r].upos == all[j].upos)
                r++;
            if (r - j > best) {
                best = r - j;
                bi = j;
            }
            j = r;
        }
        if (j - i >= SYN_DICT_MIN && best * 1000 >= (j - i) * 995 && all[bi].xpos && all[bi].upos)
            dict->e[dict->n++] = (struct syn_dict_ent){all[bi].form, all[bi].xpos, all[bi].upos};
        i = j;
    }
    free(all);
}

/* ---- weights ---------------------------------------------------------------------------------- */

static int dense_init(struct syn_dense *d, unsigned bits, unsigned k)
{
    size_t cells = ((size_t)1 << bits) * k;
    d->bits = bits;
    d->k = k;
    d->w = calloc(cells, sizeof(float));
    d->u = calloc(cells, sizeof(float));
    return d->w && d->u ? 0 : -1;
}

static void dense_free(struct syn_dense *d)
{
    free(d->w);
    free(d->u);
    memset(d, 0, sizeof(*d));
}

static void dense_clear(struct syn_dense *d)
{
    size_t cells = ((size_t)1 << d->bits) * d->k;
    memset(d->w, 0, cells * sizeof(float));
    memset(d->u, 0, cells * sizeof(float));
}

/* avg->w = the averaged weights of d at clock c (avg->u unused) */
static void dense_average(const struct syn_dense *d, struct syn_dense *avg, double c)
{
    size_t cells = ((size_t)1 << d->bits) * d->k;
    for (size_t i = 0; i < cells; i++)
        avg->w[i] = d->w[i] - (float)(d->u[i] / c);
}

static void update(struct syn_dense *d, const uint64_t *f, size_t nf, int good, int bad, double c)
{
    unsigned sh = 64 - d->bits;
    for (size_t i = 0; i < nf; i++) {
        size_t r = (size_t)(f[i] >> sh) * d->k;
        d->w[r + good] += 1;
        d->u[r + good] += (float)c;
        d->w[r + bad] -= 1;
        d->u[r + bad] -= (float)c;
    }
}

/* ---- taggers ---------------------------------------------------------------------------------- */

#define XPOS_MASK (((1ull << ND_XPOS_COUNT) - 1) & ~1ull)
#define UPOS_MASK (((1ull << ND_UPOS_COUNT) - 1) & ~1ull)

/* One pass of tagger training over sentences idx[0..n). */
static void tag_epoch(struct trainer *tr, struct corpus *c, const size_t *idx, size_t n)
{
    struct syn_sent *sent = malloc(sizeof(*sent));
    struct syn_scorer xs = {NULL, &tr->tab[SYN_T_XPOS]}, us = {NULL, &tr->tab[SYN_T_UPOS]};
    uint64_t f[SYN_MAX_FEATS];
    float sc[64];
    if (!sent)
        abort();
    for (size_t k = 0; k < n; k++) {
        struct tsent *t = &c->s[idx[k]];
        syn_words(sent, t->words, t->n, &tr->lex);
        for (size_t i = 1; i <= t->n; i++) {
            const struct syn_dict_ent *d = syn_dict_find(&tr->dict, sent->w[i].form);
            size_t nf;
            int p;
            if (d) { /* the dictionary's, as when tagging: nothing to learn */
                sent->xpos[i] = d->xpos;
                continue;
            }
            nf = syn_xpos_feats(sent, i, f);
            syn_score(&xs, f, nf, sc);
            p = syn_argmax(sc, XPOS_MASK, ND_XPOS_COUNT);
            tr->c++;
            if (p != t->xpos[i] && t->xpos[i])
                update(&tr->tab[SYN_T_XPOS], f, nf, t->xpos[i], p, tr->c);
            sent->xpos[i] = (uint8_t)p;
        }
        for (size_t i = 1; i <= t->n; i++) {
            size_t nf;
            int p;
            if (syn_dict_find(&tr->dict, sent->w[i].form))
                continue;
            nf = syn_upos_feats(sent, i, f);
            syn_score(&us, f, nf, sc);
            p = syn_argmax(sc, UPOS_MASK, ND_UPOS_COUNT);
            if (p != t->upos[i] && t->upos[i])
                update(&tr->tab[SYN_T_UPOS], f, nf, t->upos[i], p, tr->c);
        }
    }
    free(sent);
}

/* Tag sentences idx[0..n) with the averaged taggers into their pxpos/pupos. */
static void tag_with(struct trainer *tr, struct corpus *c, const size_t *idx, size_t n)
{
    struct syn_sent *sent = malloc(sizeof(*sent));
    struct syn_scorer xs = {NULL, &tr->avg[SYN_T_XPOS]}, us = {NULL, &tr->avg[SYN_T_UPOS]};
    if (!sent)
        abort();
    for (size_t k = 0; k < n; k++) {
        struct tsent *t = &c->s[idx[k]];
        syn_words(sent, t->words, t->n, &tr->lex);
        syn_tag_sent(&xs, &us, &tr->dict, sent);
        memcpy(t->pxpos, sent->xpos, t->n + 2);
        memcpy(t->pupos, sent->upos, t->n + 2);
    }
    free(sent);
}

static void shuffle(size_t *idx, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd(rng) % i), x = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = x;
    }
}

/* Train both taggers on idx[0..n) from scratch; leaves the averages in tr->avg. */
static void train_taggers(struct trainer *tr, struct corpus *c, const size_t *idx, size_t n)
{
    size_t *order = nd_xcalloc(n ? n : 1, sizeof(*order));
    memcpy(order, idx, n * sizeof(*order));
    dense_clear(&tr->tab[SYN_T_XPOS]);
    dense_clear(&tr->tab[SYN_T_UPOS]);
    tr->c = 1;
    for (int e = 0; e < TAG_EPOCHS; e++) {
        shuffle(order, n, &tr->rng);
        tag_epoch(tr, c, order, n);
    }
    dense_average(&tr->tab[SYN_T_XPOS], &tr->avg[SYN_T_XPOS], tr->c);
    dense_average(&tr->tab[SYN_T_UPOS], &tr->avg[SYN_T_UPOS], tr->c);
    free(order);
}

/* Jackknife train's predicted tags, then train the final taggers on all of train and tag dev. */
static void tag_corpora(struct trainer *tr, struct corpus *train, struct corpus *dev, FILE *log)
{
    size_t n = train->n, *in = nd_xcalloc(n, sizeof(*in)), *out = nd_xcalloc(n, sizeof(*out));
    size_t *all = nd_xcalloc(dev->n + n, sizeof(*all));
    for (int fold = 0; fold < FOLDS; fold++) {
        size_t ni = 0, no = 0;
        for (size_t i = 0; i < n; i++) {
            if ((int)(i % FOLDS) == fold)
                out[no++] = i;
            else
                in[ni++] = i;
        }
        train_taggers(tr, train, in, ni);
        tag_with(tr, train, out, no);
        if (log)
            fprintf(log, "train-syntax: tagger fold %d/%d done\n", fold + 1, FOLDS);
    }
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    train_taggers(tr, train, all, n);
    for (size_t i = 0; i < dev->n; i++)
        all[i] = i;
    tag_with(tr, dev, all, dev->n);
    free(in);
    free(out);
    free(all);
}

/* ---- parser ----------------------------------------------------------------------------------- */

static void fill_sent(struct syn_sent *sent, const struct tsent *t, const struct syn_lex *lex)
{
    syn_words(sent, t->words, t->n, lex);
    memcpy(sent->xpos + 1, t->pxpos + 1, t->n);
    memcpy(sent->upos + 1, t->pupos + 1, t->n);
    syn_prep(sent);
}

/* Label an arc (h, d) the followed move makes: learn it when the arc is gold. */
static int learn_label(struct trainer *tr, const struct syn_sent *sent, const struct syn_state *st,
                       const struct tsent *t, int h, int d)
{
    struct syn_scorer ls = {NULL, &tr->tab[SYN_T_LABEL]};
    uint64_t f[SYN_MAX_FEATS];
    float sc[64];
    size_t nf;
    int p;
    if (h == 0)
        return ND_DEP_ROOT;
    nf = syn_label_feats(sent, st, h, d, f);
    syn_score(&ls, f, nf, sc);
    p = syn_argmax(sc, syn_label_mask(h), ND_DEP_COUNT);
    if (t->head[d] != h || t->label[d] == ND_DEP_ROOT)
        return p;
    if (p != t->label[d])
        update(&tr->tab[SYN_T_LABEL], f, nf, t->label[d], p, tr->c);
    return t->label[d];
}

/* The move to follow from st, learning the move weights when the best-scoring valid move is not
 * one of the cheapest (zero); with explore, the wrong move is then followed with probability
 * EXPLORE_P. */
static int train_move(struct trainer *tr, const struct syn_sent *sent, const struct syn_state *st,
                      unsigned valid, unsigned zero, int explore)
{
    struct syn_scorer ms = {NULL, &tr->tab[SYN_T_MOVE]};
    uint64_t f[SYN_MAX_FEATS];
    float sc[64];
    size_t nf = syn_move_feats(sent, st, f);
    int p, g;
    syn_score(&ms, f, nf, sc);
    p = syn_argmax(sc, valid, SYN_NMOVES);
    if (zero >> p & 1)
        return p;
    g = syn_argmax(sc, zero, SYN_NMOVES);
    update(&tr->tab[SYN_T_MOVE], f, nf, g, p, tr->c);
    return explore && (double)(rnd(&tr->rng) >> 11) / 9007199254740992.0 < EXPLORE_P ? p : g;
}

static void parse_train_sent(struct trainer *tr, struct syn_sent *sent, struct syn_state *st,
                             const struct tsent *t, int explore)
{
    int cost[SYN_NMOVES];

    fill_sent(sent, t, &tr->lex);
    syn_state_init(st, t->n);
    while (!syn_terminal(st, t->n)) {
        unsigned valid = syn_valid(st, t->n), zero = syn_costs(st, t->n, t->head, valid, cost);
        int m, label = 0, h, d;
        tr->c++;
        /* one move possible (the first SHIFT, the RIGHTs once the buffer is empty): nothing to
         * score or learn, as when parsing */
        m = valid & (valid - 1) ? train_move(tr, sent, st, valid, zero, explore)
                                : __builtin_ctz(valid);
        if (m != SYN_SHIFT) {
            syn_arc_of(st, m, &h, &d);
            label = learn_label(tr, sent, st, t, h, d);
        }
        syn_apply(st, m, label);
    }
}

struct scores {
    size_t words, upos, xpos, uas, las;
};

/* Score the averaged model on a corpus (its pxpos/pupos already tagged). */
static void evaluate(struct trainer *tr, const struct corpus *c, struct scores *s)
{
    struct syn_sent *sent = malloc(sizeof(*sent));
    struct syn_state *st = malloc(sizeof(*st));
    struct syn_scorer ms = {NULL, &tr->avg[SYN_T_MOVE]}, ls = {NULL, &tr->avg[SYN_T_LABEL]};
    if (!sent || !st)
        abort();
    memset(s, 0, sizeof(*s));
    for (size_t k = 0; k < c->n; k++) {
        const struct tsent *t = &c->s[k];
        fill_sent(sent, t, &tr->lex);
        syn_parse_sent(&ms, &ls, sent, st);
        for (size_t i = 1; i <= t->n; i++) {
            s->words++;
            s->upos += t->pupos[i] == t->upos[i];
            s->xpos += t->pxpos[i] == t->xpos[i];
            if (st->head[i] == t->head[i]) {
                s->uas++;
                s->las += st->label[i] == t->label[i];
            }
        }
    }
    free(sent);
    free(st);
}

static void log_scores(FILE *log, const char *what, const struct scores *s)
{
    double w = s->words ? (double)s->words : 1;
    if (log)
        fprintf(log, "train-syntax: %s UPOS %.4f XPOS %.4f UAS %.4f LAS %.4f\n", what,
                (double)s->upos / w, (double)s->xpos / w, (double)s->uas / w, (double)s->las / w);
}

static int trainer_init(struct trainer *tr, const struct nd_syntax_train_opts *o)
{
    static const unsigned ks[SYN_NTABS] = {ND_XPOS_COUNT, ND_UPOS_COUNT, SYN_NMOVES, ND_DEP_COUNT};
    unsigned mb = o->hbits ? o->hbits : 21, bits[SYN_NTABS] = {18, 16, mb, mb - 2};
    memset(tr, 0, sizeof(*tr));
    tr->rng = o->seed ? o->seed : 1;
    for (int t = 0; t < SYN_NTABS; t++)
        if (dense_init(&tr->tab[t], bits[t], ks[t]) || dense_init(&tr->avg[t], bits[t], ks[t]))
            return -1;
    return 0;
}

static void trainer_free(struct trainer *tr)
{
    for (int t = 0; t < SYN_NTABS; t++) {
        dense_free(&tr->tab[t]);
        dense_free(&tr->avg[t]);
    }
    free(tr->lex.h);
    free(tr->dict.e);
}

static enum nd_err train_parser(struct trainer *tr, struct corpus *train, struct corpus *dev,
                                int epochs, const char *out_path, FILE *log, char *errstr,
                                size_t errsz)
{
    struct syn_sent *sent = malloc(sizeof(*sent));
    struct syn_state *st = malloc(sizeof(*st));
    size_t *order = nd_xcalloc(train->n, sizeof(*order)), best = 0;
    enum nd_err err = ND_OK;
    if (!sent || !st)
        abort();
    for (size_t i = 0; i < train->n; i++)
        order[i] = i;
    tr->c = 1;
    for (int e = 0; e < epochs; e++) {
        struct scores s;
        char what[64];
        shuffle(order, train->n, &tr->rng);
        for (size_t k = 0; k < train->n; k++)
            parse_train_sent(tr, sent, st, &train->s[order[k]], e > 0);
        dense_average(&tr->tab[SYN_T_MOVE], &tr->avg[SYN_T_MOVE], tr->c);
        dense_average(&tr->tab[SYN_T_LABEL], &tr->avg[SYN_T_LABEL], tr->c);
        evaluate(tr, dev, &s);
        snprintf(what, sizeof(what), "epoch %d dev", e + 1);
        log_scores(log, what, &s);
        if (s.las > best) {
            best = s.las;
            if ((err = syn_model_save(tr->avg, &tr->lex, &tr->dict, out_path, errstr,
                                      errsz)) != ND_OK)
                break;
            if (log)
                fprintf(log, "train-syntax: saved %s\n", out_path);
        }
    }
    free(order);
    free(sent);
    free(st);
    return err;
}

enum nd_err nd_syntax_train(const char *train_path, const char *dev_path, const char *out_path,
                            const struct nd_syntax_train_opts *opts, FILE *log, char *errstr,
                            size_t errsz)
{
    struct corpus train = {0}, dev = {0};
    struct trainer tr;
    enum nd_err err;
    int epochs = opts && opts->epochs > 0 ? opts->epochs : 12;
    struct nd_syntax_train_opts o = opts ? *opts : (struct nd_syntax_train_opts){0};

    if (trainer_init(&tr, &o)) {
        snprintf(errstr, errsz, "out of memory for the weight tables");
        err = ND_ERR_NOMEM;
        goto out;
    }
    if ((err = corpus_load(&train, train_path, errstr, errsz)) != ND_OK ||
        (err = corpus_load(&dev, dev_path, errstr, errsz)) != ND_OK)
        goto out;
    if (log)
        fprintf(log,
                "train-syntax: %zu train sentences (%zu words, %zu non-projective, %zu skipped), "
                "%zu dev\n",
                train.n, train.tokens, train.nonproj, train.skipped, dev.n);
    build_lex(&tr.lex, &train);
    build_dict(&tr.dict, &train);
    if (log)
        fprintf(log, "train-syntax: lower-case lexicon %zu words, tag dictionary %zu words\n",
                tr.lex.n, tr.dict.n);
    tag_corpora(&tr, &train, &dev, log);
    err = train_parser(&tr, &train, &dev, epochs, out_path, log, errstr, errsz);
out:
    corpus_free(&train);
    corpus_free(&dev);
    trainer_free(&tr);
    return err;
}
