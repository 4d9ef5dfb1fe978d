/* Averaged-perceptron NER tagger: features, scoring, training, model file, CoNLL I/O.
 *
 * Features are 64-bit hashes of (template, value); the model maps each hash to 9 label weights.
 * Scoring a token is: hash ~40 features, add their weight rows (the label-independent score), and
 * the rows of the previous label alone and with the word (one 9x9 table per token); Viterbi
 * (tagger_viterbi.c) then picks the sentence's best IOB2-valid labels. Training decodes each
 * sentence the same way and updates where the best path leaves the gold one (the structured
 * perceptron, with weight averaging: Collins 2002). The document's history of a word (the type it
 * had) is noted after each sentence, from the decoded labels, in training as in tagging.
 *
 * Model file (little-endian): "NDNER2\0\0", u32 nlabels, u32 nrows, f32 scale, u32 zero, then nrows
 * of (u64 key, i16 w[nlabels]), then u32 nwords and nwords of (u16 len, bytes): the training
 * vocabulary, for which the loader pre-sums weight rows (struct vent); then the word clusters the
 * model was trained with (clusters.h). Weights are averaged, pruned of rows too small to change a
 * decision, and quantised to int16. */
#include "enrich/tagger.h"

#include "enrich/clusters.h"
#include "enrich/tagger_doc.h"
#include "enrich/tagger_viterbi.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

const char *const nd_ner_labels[ND_NER_NLABELS] = {"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                                   "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
#define NL ND_NER_NLABELS
#define MAX_FEATS 128
#define MODEL_MAX_BYTES (256u << 20)
#define DOC_MAX_TOKENS (8u << 20)

int nd_ner_label(const char *name)
{
    for (int i = 0; i < NL; i++)
        if (!strcmp(name, nd_ner_labels[i]))
            return i;
    return -1;
}

/* label -> entity type 1..4 (PER ORG LOC MISC), 0 for O */
static int ltype(int l)
{
    return (l + 1) / 2;
}

/* IOB2: I-X only after B-X or I-X. */
static int allowed(int prev, int l)
{
    if (l == 0 || (l & 1))
        return 1;
    return prev != 0 && ltype(prev) == ltype(l);
}

/* ---- weight table: open addressing, key -> row --------------------------------------------------
 */
struct wtab {
    uint64_t *keys;
    uint32_t *rows;
    size_t mask, n;
    float *w; /* n rows of NL floats */
    size_t rcap;
};

static int wtab_init(struct wtab *t, size_t cap)
{
    size_t c = 1024;
    while (c < cap * 2)
        c <<= 1;
    memset(t, 0, sizeof(*t));
    t->keys = calloc(c, sizeof(*t->keys));
    t->rows = calloc(c, sizeof(*t->rows));
    t->mask = c - 1;
    return t->keys && t->rows ? 0 : -1;
}

static void wtab_free(struct wtab *t)
{
    free(t->keys);
    free(t->rows);
    free(t->w);
    memset(t, 0, sizeof(*t));
}

static const float *wtab_get(const struct wtab *t, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 31)) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        if (t->keys[i] == key)
            return &t->w[(size_t)t->rows[i] * NL];
        if (!t->keys[i])
            return NULL;
    }
}

static int wtab_grow(struct wtab *t);

/* Row index of key, added (zeroed) when absent; -1 on OOM. */
static long wtab_add(struct wtab *t, uint64_t key)
{
    size_t i;
    if ((t->n + 1) * 2 > t->mask && wtab_grow(t))
        return -1;
    for (i = (size_t)(key ^ (key >> 31)) & t->mask;; i = (i + 1) & t->mask) {
        if (t->keys[i] == key)
            return t->rows[i];
        if (!t->keys[i])
            break;
    }
    if (t->n == t->rcap) {
        size_t nc = t->rcap ? t->rcap * 2 : 65536;
        float *nw = realloc(t->w, nc * NL * sizeof(float));
        if (!nw)
            return -1;
        memset(nw + t->rcap * NL, 0, (nc - t->rcap) * NL * sizeof(float));
        t->w = nw;
        t->rcap = nc;
    }
    t->keys[i] = key;
    t->rows[i] = (uint32_t)t->n;
    return (long)t->n++;
}

static int wtab_grow(struct wtab *t)
{
    size_t nmask = t->mask * 2 + 1;
    uint64_t *nk = calloc(nmask + 1, sizeof(*nk));
    uint32_t *nr = calloc(nmask + 1, sizeof(*nr));
    if (!nk || !nr) {
        free(nk);
        free(nr);
        return -1;
    }
    for (size_t i = 0; i <= t->mask; i++) {
        size_t j;
        if (!t->keys[i])
            continue;
        for (j = (size_t)(t->keys[i] ^ (t->keys[i] >> 31)) & nmask; nk[j]; j = (j + 1) & nmask)
            ;
        nk[j] = t->keys[i];
        nr[j] = t->rows[i];
    }
    free(t->keys);
    free(t->rows);
    t->keys = nk;
    t->rows = nr;
    t->mask = nmask;
    return 0;
}

/* The loaded model: one 32-byte slot per feature (key and its int16 weights together, so a lookup
 * touches one cache line), open addressing. Label-history rows are pre-summed into small tables. */
struct rslot {
    uint64_t key;
    int16_t w[NL];
    int16_t pad[3];
};

/* Per word of the training vocabulary, its weight rows pre-summed: what the word contributes as the
 * token scored (all its own-string features), and as each neighbour (-1, +1, -2, +2 by its lower
 * case, -1 and +1 by its shape). A known word then costs one lookup instead of nineteen. */
enum { V_SELF, V_M1, V_P1, V_M2, V_P2, V_SM1, V_SP1, V_N };
struct vent {
    uint64_t key;        /* fnv of the exact token */
    uint64_t lw, sh, ss; /* its lower-case hash and shapes, so a known word is not re-read */
    uint8_t up, all;
    uint32_t vidx; /* 1 + index into vocab (its struct vctx), 0 for a word outside it */
    int32_t v[V_N][NL];
};

/* Per vocabulary word, the context and label-history features that depend on nothing but the word
 * and a few small values, pre-summed for each value: as the first word of a sentence or not, times
 * the document's case evidence (T_FIRST, T_DOC, T_DOCW); after each previous label (T_T1W, T_T1S);
 * with each entity type the document last gave it (T_HIST). A known word's token then hashes and
 * probes none of them. */
#define VC_HIST 5 /* 0 none, or an entity type 1..4 */
struct vctx {
    int32_t fd[2][4][NL]; /* [first][doccase] */
    int32_t t1[NL][NL];   /* [previous label] */
    int32_t hist[VC_HIST][NL];
};

/* Open addressing over the vocabulary: the word's hash beside its index, so a probe (its slot
 * prefetched a few tokens earlier) does not wait on the entry itself, which is five cache lines
 * away and only needed once the word is found. */
struct vslot {
    uint64_t key;
    uint32_t idx; /* 1 + index into vocab, 0 empty */
};

#define FILTER_BITS 20 /* 128 KB: stays in L2, where the slot table (megabytes) does not */

/* Gazetteer bits per token. */
#define G_LOC_B 0x001u
#define G_LOC_I 0x002u
#define G_ORG_B 0x004u
#define G_ORG_I 0x008u
#define G_PER_B 0x010u
#define G_PER_I 0x020u
#define G_MISC_B 0x040u
#define G_MISC_I 0x080u
#define G_GIVEN 0x100u
#define G_SURNAME 0x200u
/* gazetteer-only phrases set the same B/I bits shifted up, as separate evidence */
#define G_PHRASE_SHIFT 10
#define G_NBITS 20

struct nd_tagger {
    struct rslot *slots;
    size_t mask;
    /* One bit per hash bucket of the features the model has: most features of running text (word
     * pairs never seen in training) are absent, and this answers that without a cache miss. */
    uint64_t *filter;
    int32_t trans[NL][NL]; /* [previous label][label]: the T_T1 rows */
    struct vent *vocab;
    struct vctx *vctx; /* beside vocab, same index */
    struct vslot *vslots;
    size_t nvocab, vmask;
    int32_t edge[V_N][NL]; /* BOS/EOS neighbour rows, at the same V_ indexes */
    /* rows of the features of small values, by value: T_CAP3; T_GAZ, T_GAZM1, T_GAZP1 by bit */
    int32_t cap3[27][NL];
    uint16_t allow[NL]; /* per previous label, bit l set when allowed(prev, l) */
    int32_t gaz[3][G_NBITS][NL];
    struct nd_clusters *clusters; /* the word clusters the model was trained with; may be NULL */
};

static int rt_maybe(const struct nd_tagger *t, uint64_t key)
{
    uint64_t b = (key >> 40) & ((1u << FILTER_BITS) - 1);
    return (t->filter[b >> 6] >> (b & 63)) & 1;
}

/* A feature's weight row for the scoring loop: an absent key gives a row of zeros, so the caller adds without
 * testing (whether a feature is in the model is a coin toss the branch predictor loses a third of
 * the time). */
static const int16_t rt_zero[NL + 3];

static const int16_t *rt_row(const struct nd_tagger *t, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 31)) & t->mask;
    if (!rt_maybe(t, key))
        return rt_zero;
    for (;; i = (i + 1) & t->mask) {
        if (t->slots[i].key == key)
            return t->slots[i].w;
        if (!t->slots[i].key)
            return rt_zero;
    }
}

static void rt_prefetch(const struct nd_tagger *t, uint64_t key)
{
    if (rt_maybe(t, key))
        __builtin_prefetch(&t->slots[(size_t)(key ^ (key >> 31)) & t->mask]);
}

/* A score row is nine labels: eight in a loop of fixed count, which the compiler turns into vector
 * adds, and the ninth alone (a loop of nine stays scalar). Tagging is a few dozen of these adds per
 * token, the most of its instructions. */
_Static_assert(NL == 9, "score rows are added as 8 + 1 lanes");

static void add_w16(int32_t *restrict acc, const int16_t *restrict w)
{
    for (int c = 0; c < 8; c++)
        acc[c] += w[c];
    acc[8] += w[8];
}

static void add_w32(int32_t *restrict acc, const int32_t *restrict w)
{
    for (int c = 0; c < 8; c++)
        acc[c] += w[c];
    acc[8] += w[8];
}

static void rt_addrow(const struct nd_tagger *t, int32_t *acc, uint64_t key)
{
    add_w16(acc, rt_row(t, key));
}

static const struct vent *vocab_get(const struct nd_tagger *t, uint64_t key)
{
    size_t i;
    if (!t->vslots)
        return NULL;
    for (i = (size_t)(key ^ (key >> 29)) & t->vmask; t->vslots[i].idx; i = (i + 1) & t->vmask)
        if (t->vslots[i].key == key)
            return &t->vocab[t->vslots[i].idx - 1];
    return NULL;
}

/* ---- features
 * ------------------------------------------------------------------------------------ */
enum tmpl {
    T_BIAS = 1,
    T_W,
    T_LW,
    T_P1,
    T_P2,
    T_P3,
    T_P4,
    T_S1,
    T_S2,
    T_S3,
    T_S4,
    T_SH,
    T_SS,
    T_LWM1,
    T_LWP1,
    T_LWM2,
    T_LWP2,
    T_SSM1,
    T_SSP1,
    T_BIM,
    T_BIP,
    T_SH3,
    T_FIRST,
    T_GAZ,
    T_GAZM1,
    T_GAZP1,
    T_DOC,
    T_HIST,
    T_T1,
    T_T1W,
    T_T1S,
    T_LEN,
    T_GAZW,
    T_DOCW,
    T_CAP3,
    T_LWSP,
    T_LMSW,
    T_CL,
    T_CLN,
};

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2))) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static uint64_t fnv(uint64_t h, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV_PRIME;
    return h;
}

static uint64_t fnv_lower(uint64_t h, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h = (h ^ c) * FNV_PRIME;
    }
    return h;
}

/* Word shape: X upper, x lower, d digit, other characters as themselves; long form capped at 12,
 * short form with runs collapsed ("Xx", "X.X.", "d,d"). */
static void shapes(const char *s, size_t len, uint64_t *longh, uint64_t *shorth, int *has_upper,
                   int *all_upper)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t lh = FNV_OFF, sh = FNV_OFF;
    unsigned char last = 0;
    size_t i = 0, nchar = 0;
    int up = 0, low = 0;

    while (i < len) {
        unsigned char c = p[i], k;
        size_t step = 1;
        if (c < 0x80) {
            k = (c >= 'A' && c <= 'Z')   ? 'X'
                : (c >= 'a' && c <= 'z') ? 'x'
                : (c >= '0' && c <= '9') ? 'd'
                                         : c;
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
            if (l <= 0) {
                k = 'o';
            } else {
                utf8proc_category_t cat = utf8proc_category(cp);
                step = (size_t)l;
                k = (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT)   ? 'X'
                    : (cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LO) ? 'x'
                    : cat == UTF8PROC_CATEGORY_ND                                  ? 'd'
                                                                                   : 'o';
            }
        }
        up += k == 'X';
        low += k == 'x';
        if (nchar++ < 12)
            lh = (lh ^ k) * FNV_PRIME;
        if (k != last)
            sh = (sh ^ k) * FNV_PRIME;
        last = k;
        i += step;
    }
    *longh = lh;
    *shorth = sh;
    *has_upper = up > 0;
    *all_upper = up > 0 && low == 0;
}


/* Cluster ids of a word without any: a value no level has. */
#define CL_NONE 0xffffu

/* Per-token values computed once per document. */
struct tokf {
    uint64_t ex, lw, sh, ss;
    uint16_t cl[ND_CL_LEVELS]; /* training only: the word's cluster ids, CL_NONE when it has none */
    uint32_t gaz;
    uint32_t dslot; /* the word's docmap slot (the map never grows once prepared) */
    uint8_t upper, allcaps, first, doccase;
};

/* Document-level case evidence for a word: seen capitalised mid-sentence, seen lower case. */
#define DC_CAP_MID 1u
#define DC_LOWER 2u

struct docmap {
    uint64_t *keys;
    uint8_t *vals;
    uint8_t *hist; /* entity type last predicted for the word in this document, 0 none */
    size_t mask;
};

static size_t docmap_slot(struct docmap *m, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & m->mask;
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & m->mask;
    m->keys[i] = key;
    return i;
}

static uint32_t gaz_bits_for(enum nd_ent_type type, int begin)
{
    switch (type) {
    case ND_ENT_PERSON:
        return begin ? G_PER_B : G_PER_I;
    case ND_ENT_ORG:
        return begin ? G_ORG_B : G_ORG_I;
    case ND_ENT_NORP:
        return begin ? G_MISC_B : G_MISC_I;
    default:
        return begin ? G_LOC_B : G_LOC_I;
    }
}

struct doc {
    struct nd_ner_tok *toks;
    size_t n;
    size_t mark;   /* scratch mark: f and vents are scratch memory */
    void *dmblock; /* the docmap's arrays, one calloc */
    struct tokf *f;
    struct docmap dm;
    const struct vent **vents; /* tagging only: each token's vocabulary entry, NULL when unknown */
};

#define PF_DIST 8

static void doc_free(struct doc *d);

/* tagger: tagging (its vocabulary entries are looked up); clusters: training (each token's cluster
 * ids are looked up; tagging has them in the vocabulary entries). */
static enum nd_err doc_prepare(struct doc *d, const struct nd_kb *kb, struct nd_ner_tok *toks,
                               size_t n, const struct nd_tagger *tagger,
                               const struct nd_clusters *clusters)
{
    uint64_t *h = NULL;
    enum nd_err err = ND_OK;
    size_t hmark;

    memset(d, 0, sizeof(*d));
    d->toks = toks;
    d->n = n;
    if (n > DOC_MAX_TOKENS)
        return ND_ERR_TOOBIG;
    {
        /* f and vents in one scratch block (sizes are multiples of 8, so both stay aligned), the
         * token hashes after it (only this function needs them: released on return); the docmap
         * by calloc, whose pages the kernel zeroes only where touched, which matters for a big
         * document of few distinct words */
        size_t nn = n ? n : 1, c = 64, szf = nn * sizeof(*d->f),
               szv = tagger ? nn * sizeof(*d->vents) : 0;
        char *p;
        while (c < n * 2)
            c <<= 1;
        d->mark = nd_scratch_mark();
        if (!(p = nd_scratch_alloc(szf + szv)) ||
            !(d->dmblock = calloc(c, sizeof(*d->dm.keys) + 2))) {
            doc_free(d);
            return ND_ERR_NOMEM;
        }
        d->f = (struct tokf *)(void *)p;
        memset(d->f, 0, szf);
        if (tagger)
            d->vents = (const struct vent **)(void *)(p + szf);
        d->dm.keys = d->dmblock;
        d->dm.vals = (uint8_t *)d->dmblock + c * sizeof(*d->dm.keys);
        d->dm.hist = d->dm.vals + c;
        d->dm.mask = c - 1;
        hmark = nd_scratch_mark();
        if (!(h = nd_scratch_alloc(nn * sizeof(*h)))) {
            doc_free(d);
            return ND_ERR_NOMEM;
        }
    }
    /* Four stages a few tokens apart, so each table probe was prefetched by an earlier stage: the
     * tables are megabytes and every probe would otherwise wait for memory. A: hash the token and
     * prefetch its vocabulary slot; B: find its vocabulary entry and prefetch it; C: read hashes
     * and shapes, prefetch the KB name and phrase slots; D: the KB lookups and case evidence. */
    for (size_t i = 0; i < n + 3 * PF_DIST; i++) {
        size_t a = i, b = i - PF_DIST, c = i - 2 * PF_DIST, dd = i - 3 * PF_DIST;
        if (a < n) {
            d->f[a].ex = fnv(FNV_OFF, (const unsigned char *)toks[a].s, toks[a].len);
            if (tagger)
                __builtin_prefetch(
                    &tagger->vslots[(size_t)(d->f[a].ex ^ (d->f[a].ex >> 29)) & tagger->vmask]);
        }
        if (i >= PF_DIST && b < n && tagger) {
            const struct vent *v = vocab_get(tagger, d->f[b].ex);
            d->vents[b] = v;
            if (v)
                __builtin_prefetch(v);
        }
        if (i >= 2 * PF_DIST && c < n) {
            struct tokf *f = &d->f[c];
            const struct vent *v = tagger ? d->vents[c] : NULL;
            int up, all;
            if (v) {
                f->lw = v->lw;
                f->sh = v->sh;
                f->ss = v->ss;
                up = v->up;
                all = v->all;
            } else {
                f->lw = toks[c].lw ? toks[c].lw : nd_kb_tokhash(toks[c].s, toks[c].len);
                shapes(toks[c].s, toks[c].len, &f->sh, &f->ss, &up, &all);
            }
            h[c] = f->lw;
            if (!tagger) {
                for (int k = 0; k < ND_CL_LEVELS; k++)
                    f->cl[k] = CL_NONE;
                nd_clusters_get(clusters, toks[c].s, toks[c].len, f->cl);
            }
            f->upper = (uint8_t)up;
            f->allcaps = (uint8_t)(all && toks[c].len > 1);
            f->first = toks[c].sent_start || c == 0;
            nd_kb_prefetch(kb, f->lw);
        }
        if (i >= 3 * PF_DIST && dd < n) {
            struct tokf *f = &d->f[dd];
            if (kb) {
                unsigned nf = nd_kb_name_flags(kb, f->lw);
                if (nf & ND_KB_GIVEN)
                    f->gaz |= G_GIVEN;
                if (nf & ND_KB_SURNAME)
                    f->gaz |= G_SURNAME;
            }
            /* case evidence: only from tokens not at a sentence start and not in an all-caps run */
            if (!f->first && !f->allcaps) {
                size_t s = docmap_slot(&d->dm, f->lw);
                unsigned char c0 = (unsigned char)toks[dd].s[0];
                if (f->upper && toks[dd].len)
                    d->dm.vals[s] |= DC_CAP_MID;
                else if (c0 >= 'a' && c0 <= 'z')
                    d->dm.vals[s] |= DC_LOWER;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        d->f[i].doccase = d->dm.vals[d->f[i].dslot = (uint32_t)docmap_slot(&d->dm, d->f[i].lw)];
    /* gazetteer phrases, longest match, within sentences, first token capitalised */
    if (kb) {
        size_t i = 0;
        while (i < n) {
            size_t len = 0, end = i + 1;
            int e;
            while (end < n && !toks[end].sent_start)
                end++;
            for (size_t k = i; k < end;) {
                if (d->f[k].upper && (e = nd_kb_match(kb, h, end, k, &len)) >= 0) {
                    const struct nd_kb_entry *ent = nd_kb_get(kb, e);
                    for (size_t j = 0; j < len; j++)
                        d->f[k + j].gaz |= gaz_bits_for(ent->type, j == 0);
                    k += len;
                } else if (d->f[k].upper && (e = nd_kb_gaz_match(kb, h, end, k, &len)) >= 0) {
                    for (size_t j = 0; j < len; j++)
                        d->f[k + j].gaz |= gaz_bits_for((enum nd_ent_type)e, j == 0)
                                           << G_PHRASE_SHIFT;
                    k += len;
                } else {
                    k++;
                }
            }
            i = end;
        }
    }
    nd_scratch_release(hmark);
    return err;
}

/* Frees what doc_prepare took, and any scratch taken after it. */
static void doc_free(struct doc *d)
{
    nd_scratch_release(d->mark);
    free(d->dmblock);
    d->dmblock = NULL;
}

/* Sentence bounds around i. */
static void sent_bounds(const struct doc *d, size_t i, size_t *b, size_t *e)
{
    size_t s = i, t = i + 1;
    while (s > 0 && !d->toks[s].sent_start)
        s--;
    while (t < d->n && !d->toks[t].sent_start)
        t++;
    *b = s;
    *e = t;
}

#define BOS 0x5555aaaa5555aaaaull
#define EOS 0xaaaa5555aaaa5555ull

/* Capitalisation of the token and its two neighbours in the sentence, one of 27 values. */
static uint64_t cap3(const struct doc *d, size_t i, size_t b, size_t e)
{
    return (uint64_t)((i > b ? d->f[i - 1].upper + 1 : 0) * 9 + (d->f[i].upper + 1) * 3 +
                      (i + 1 < e ? d->f[i + 1].upper + 1 : 0));
}

/* Features of the token's own string, and of its clusters (cl, ND_CL_LEVELS ids). */
static size_t word_feats(const unsigned char *s, size_t len, uint64_t ex, uint64_t lw, uint64_t sh,
                         uint64_t ss, const uint16_t *cl, uint64_t *out)
{
    size_t n = 0;
    for (uint64_t k = 0; k < ND_CL_LEVELS; k++)
        out[n++] = mix(T_CL, mix(k, cl[k]));
    out[n++] = mix(T_BIAS, 0);
    out[n++] = mix(T_W, ex);
    out[n++] = mix(T_LW, lw);
    for (size_t k = 1; k <= 4 && k <= len; k++) {
        out[n++] = mix(T_P1 + k - 1, fnv_lower(FNV_OFF, s, k));
        out[n++] = mix(T_S1 + k - 1, fnv_lower(FNV_OFF, s + len - k, k));
    }
    out[n++] = mix(T_SH, sh);
    out[n++] = mix(T_SS, ss);
    out[n++] = mix(T_LEN, len > 12 ? 12 : len);
    return n;
}

/* Features a word gives the token it is the neighbour of, at offset pos (V_M1, V_P1, V_M2, V_P2):
 * its lower case, its middle (256) and fine (1024) clusters and, next to it, its vector row. Past
 * the sentence's edge (cl NULL) only lw, BOS or EOS. */
static size_t nbr_feats(int pos, uint64_t lw, const uint16_t *cl, uint64_t *out)
{
    static const enum tmpl lwt[V_N] = {[V_M1] = T_LWM1, [V_P1] = T_LWP1, [V_M2] = T_LWM2,
                                       [V_P2] = T_LWP2};
    size_t n = 0;
    out[n++] = mix(lwt[pos], lw);
    if (!cl)
        return n;
    out[n++] = mix(T_CLN, mix((uint64_t)pos * 8 + 1, cl[1]));
    out[n++] = mix(T_CLN, mix((uint64_t)pos * 8 + 2, cl[2]));
    if (pos == V_M1 || pos == V_P1)
        out[n++] = mix(T_CLN, mix((uint64_t)pos * 8 + 3, cl[3]));
    return n;
}

/* Features that look at the rest of the sentence and document, beyond the single words around. */
/* ctx_feats' parts a tagger may have pre-summed: the features of the word alone (struct vctx) and
 * those of a few small values (cap3, gaz rows in struct nd_tagger) */
#define CF_WORD 1
#define CF_SMALL 2

static size_t ctx_feats(const struct doc *d, size_t i, size_t b, size_t e, int parts, uint64_t *out)
{
    const struct tokf *f = &d->f[i];
    size_t n = 0;
    uint64_t lwm1 = i > b ? d->f[i - 1].lw : BOS, lwp1 = i + 1 < e ? d->f[i + 1].lw : EOS;
    uint64_t ssm1 = i > b ? d->f[i - 1].ss : BOS, ssp1 = i + 1 < e ? d->f[i + 1].ss : EOS;
    uint32_t gm1 = i > b ? d->f[i - 1].gaz : 0, gp1 = i + 1 < e ? d->f[i + 1].gaz : 0;

    out[n++] = mix(T_BIM, mix(lwm1, f->lw));
    out[n++] = mix(T_BIP, mix(f->lw, lwp1));
    out[n++] = mix(T_SH3, mix(mix(ssm1, f->ss), ssp1));
    if (parts & CF_WORD)
        out[n++] = mix(T_FIRST, mix(f->first, f->ss));
    /* most tokens have no gazetteer bit at all: visit only the set ones, in ascending order */
    for (uint32_t any = (f->gaz | gm1 | gp1) & ((1u << G_NBITS) - 1); any; any &= any - 1) {
        unsigned k = (unsigned)__builtin_ctz(any);
        if (f->gaz & (1u << k)) {
            if (parts & CF_SMALL)
                out[n++] = mix(T_GAZ, k);
            out[n++] = mix(T_GAZW, mix(k, f->ss));
        }
        if (!(parts & CF_SMALL))
            continue;
        if (gm1 & (1u << k))
            out[n++] = mix(T_GAZM1, k);
        if (gp1 & (1u << k))
            out[n++] = mix(T_GAZP1, k);
    }
    if (parts & CF_SMALL)
        out[n++] = mix(T_CAP3, cap3(d, i, b, e));
    out[n++] = mix(T_LWSP, mix(f->lw, ssp1));
    out[n++] = mix(T_LMSW, mix(lwm1, f->ss));
    if (!(parts & CF_WORD))
        return n;
    out[n++] = mix(T_DOC, mix(mix(f->doccase, f->first), mix(f->allcaps, f->ss)));
    if (f->allcaps || f->first)
        out[n++] = mix(T_DOCW, mix(f->doccase, f->lw));
    return n;
}

/* The label-independent features of token i (sentence [b, e)): its word, the words and shapes
 * around it, and the context. Returns the count. */
static size_t features(const struct doc *d, size_t i, size_t b, size_t e, uint64_t *out)
{
    const struct tokf *f = &d->f[i];
    size_t n = word_feats((const unsigned char *)d->toks[i].s, d->toks[i].len, f->ex, f->lw, f->sh,
                          f->ss, f->cl, out);
    static const struct {
        int pos, off;
    } nbrs[] = {{V_M1, -1}, {V_P1, 1}, {V_M2, -2}, {V_P2, 2}};
    for (size_t k = 0; k < sizeof(nbrs) / sizeof(nbrs[0]); k++) {
        size_t j = i + (size_t)(ptrdiff_t)nbrs[k].off; /* wraps below 0: then j >= e */
        if (j >= b && j < e)
            n += nbr_feats(nbrs[k].pos, d->f[j].lw, d->f[j].cl, out + n);
        else
            n += nbr_feats(nbrs[k].pos, nbrs[k].off < 0 ? BOS : EOS, NULL, out + n);
    }
    out[n++] = mix(T_SSM1, i > b ? d->f[i - 1].ss : BOS);
    out[n++] = mix(T_SSP1, i + 1 < e ? d->f[i + 1].ss : EOS);
    return n + ctx_feats(d, i, b, e, CF_WORD | CF_SMALL, out + n);
}

static void add_row(float *sc, const float *w)
{
    if (!w)
        return;
    for (int c = 0; c < NL; c++)
        sc[c] += w[c];
}

/* The document's history of the word: the entity type it was last given in earlier sentences. */
static uint64_t hist_feature(const struct doc *d, size_t i)
{
    return mix(T_HIST, mix(d->dm.hist[d->f[i].dslot], d->f[i].ss));
}

/* Features of the previous label p1 with the word and its shape (tagging pre-sums them per
 * vocabulary word in struct vctx), and (with_trans) of the previous label alone (pre-summed in
 * trans). */
static size_t label_features(const struct doc *d, size_t i, int p1, int with_trans, uint64_t *out)
{
    size_t n = 0;
    if (with_trans)
        out[n++] = mix(T_T1, (uint64_t)p1);
    out[n++] = mix(T_T1W, mix((uint64_t)p1, d->f[i].lw));
    out[n++] = mix(T_T1S, mix((uint64_t)p1, d->f[i].ss));
    return n;
}

static void note_history(struct doc *d, size_t i, int label)
{
    if (label)
        d->dm.hist[d->f[i].dslot] = (uint8_t)ltype(label);
}

static void compute_vent(const struct nd_tagger *t, const char *str, size_t len, uint64_t ex,
                         uint64_t lw, uint64_t sh, uint64_t ss, struct vent *v)
{
    uint64_t f[32];
    uint16_t cl[ND_CL_LEVELS] = {CL_NONE, CL_NONE, CL_NONE, CL_NONE};
    size_t n;
    nd_clusters_get(t->clusters, str, len, cl);
    n = word_feats((const unsigned char *)str, len, ex, lw, sh, ss, cl, f);
    memset(v, 0, sizeof(*v));
    v->key = ex;
    v->lw = lw;
    v->sh = sh;
    v->ss = ss;
    for (size_t k = 0; k < n; k++)
        rt_addrow(t, v->v[V_SELF], f[k]);
    for (int pos = V_M1; pos <= V_P2; pos++) {
        size_t nn = nbr_feats(pos, lw, cl, f);
        for (size_t k = 0; k < nn; k++)
            rt_addrow(t, v->v[pos], f[k]);
    }
    rt_addrow(t, v->v[V_SM1], mix(T_SSM1, ss));
    rt_addrow(t, v->v[V_SP1], mix(T_SSP1, ss));
}

/* The sums of struct vctx for a vocabulary word: the same rows the scoring loop would add. */
static void compute_vctx(const struct nd_tagger *t, uint64_t lw, uint64_t ss, int allcaps,
                         struct vctx *vc)
{
    memset(vc, 0, sizeof(*vc));
    for (uint64_t first = 0; first < 2; first++)
        for (uint64_t dc = 0; dc < 4; dc++) {
            int32_t *acc = vc->fd[first][dc];
            rt_addrow(t, acc, mix(T_FIRST, mix(first, ss)));
            rt_addrow(t, acc, mix(T_DOC, mix(mix(dc, first), mix((uint64_t)allcaps, ss))));
            if (allcaps || first)
                rt_addrow(t, acc, mix(T_DOCW, mix(dc, lw)));
        }
    for (uint64_t p1 = 0; p1 < NL; p1++) {
        rt_addrow(t, vc->t1[p1], mix(T_T1W, mix(p1, lw)));
        rt_addrow(t, vc->t1[p1], mix(T_T1S, mix(p1, ss)));
    }
    for (uint64_t h = 0; h < VC_HIST; h++)
        rt_addrow(t, vc->hist[h], mix(T_HIST, mix(h, ss)));
}

static const struct vctx *known_ctx(const struct nd_tagger *t, const struct vent *v)
{
    return v && v->vidx ? &t->vctx[v->vidx - 1] : NULL;
}

/* The rows of ctx_feats' CF_SMALL part, from the tagger's tables. */
static void add_small_rows(const struct nd_tagger *t, const struct doc *d, size_t i, size_t b,
                           size_t e, int32_t *sc)
{
    uint32_t g = d->f[i].gaz, gm1 = i > b ? d->f[i - 1].gaz : 0;
    uint32_t gp1 = i + 1 < e ? d->f[i + 1].gaz : 0;
    add_w32(sc, t->cap3[cap3(d, i, b, e)]);
    for (uint32_t m = g & ((1u << G_NBITS) - 1); m; m &= m - 1)
        add_w32(sc, t->gaz[0][__builtin_ctz(m)]);
    for (uint32_t m = gm1 & ((1u << G_NBITS) - 1); m; m &= m - 1)
        add_w32(sc, t->gaz[1][__builtin_ctz(m)]);
    for (uint32_t m = gp1 & ((1u << G_NBITS) - 1); m; m &= m - 1)
        add_w32(sc, t->gaz[2][__builtin_ctz(m)]);
}

#define RING 8
/* Distinct out-of-vocabulary words whose vectors one document keeps: names and rare words recur
 * within a story, and summing a vector means probing rows that are rarely in cache. */
#define OOV_CACHE_MAX 4096

struct oovcache {
    uint64_t *keys; /* exact-token hash; 0 marks an empty slot (a word hashing to 0 is uncached) */
    uint32_t *idx;  /* into pool */
    struct vent *pool;
    size_t mask, n, cap;
};

static int oov_init(struct oovcache *c, const struct doc *d)
{
    size_t noov = 0, tc = 16;
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < d->n; i++)
        noov += !d->vents[i];
    c->cap = noov < OOV_CACHE_MAX ? noov : OOV_CACHE_MAX;
    if (!c->cap)
        return 0;
    while (tc < c->cap * 2)
        tc <<= 1;
    /* scratch memory: released with the document's */
    c->keys = nd_scratch_calloc(tc, sizeof(*c->keys));
    c->idx = nd_scratch_alloc(tc * sizeof(*c->idx));
    c->pool = nd_scratch_alloc(c->cap * sizeof(*c->pool));
    c->mask = tc - 1;
    return c->keys && c->idx && c->pool ? 0 : -1;
}

/* The cached vector of the word with exact hash key, or NULL; *slot is where to add it. */
static const struct vent *oov_find(const struct oovcache *c, uint64_t key, size_t *slot)
{
    size_t i;
    if (!c->cap || !key)
        return NULL;
    for (i = (size_t)(key ^ (key >> 29)) & c->mask; c->keys[i]; i = (i + 1) & c->mask)
        if (c->keys[i] == key)
            return &c->pool[c->idx[i]];
    *slot = i;
    return NULL;
}

/* The previous-label rows of a word outside the vocabulary: what struct vctx's t1 holds for one
 * inside it. */
static void oov_label_rows(const struct nd_tagger *t, const struct doc *d, size_t i,
                           int32_t rows[NL][NL])
{
    for (int a = 0; a < NL; a++) {
        uint64_t lf[2];
        label_features(d, i, a, 0, lf);
        memset(rows[a], 0, sizeof(rows[a]));
        rt_addrow(t, rows[a], lf[0]);
        rt_addrow(t, rows[a], lf[1]);
    }
}

/* The decoded window's labels into toks[from..], its margins into margin[from..]; returns its
 * length. */
static size_t vit_flush(struct nd_vit *vit, struct nd_ner_tok *toks, size_t from, int32_t *margin)
{
    uint8_t lab[ND_VIT_WINDOW];
    size_t len = nd_vit_finish(vit, lab, margin + from);
    for (size_t k = 0; k < len; k++)
        toks[from + k].label = lab[k];
    return len;
}

enum nd_err nd_tagger_tag(const struct nd_tagger *tagger, const struct nd_kb *kb,
                          struct nd_ner_tok *toks, size_t n)
{
    struct doc d;
    uint64_t fa[MAX_FEATS], fb[MAX_FEATS], *cur = fa, *next = fb;
    enum nd_err err;
    size_t b = 0, e = 0, nb = 0, ne = 0, ncur = 0, nnext = 0, ready = 0;
    size_t wstart = 0; /* the first token of the decoder's window */
    struct nd_vit *vit;
    int32_t t1oov[NL][NL];
    const int32_t(*t1)[NL];
    /* the word vectors of tokens i-2 .. i+2, by position mod RING; unknown words computed into oov
     */
    const struct vent *vp[RING];
    struct vent oov[RING];
    struct oovcache oc;
    const struct vctx *kcur = NULL, *knext = NULL;
    int32_t *margin = NULL;

    if ((err = doc_prepare(&d, kb, toks, n, tagger, NULL)) != ND_OK)
        return err;
    /* each token's margin (best score less the runner-up), how sure the vote may take it to be */
    if (oov_init(&oc, &d) || !(margin = nd_scratch_alloc((n ? n : 1) * sizeof(*margin))) ||
        !(vit = nd_scratch_alloc(sizeof(*vit)))) {
        doc_free(&d);
        return ND_ERR_NOMEM;
    }
    nd_vit_start(vit, tagger->allow, 0);
    /* Context features of token i+1 are computed and their slots prefetched while token i is
     * scored: the lookups are memory-bound, and this overlaps them. */
    if (n) {
        sent_bounds(&d, 0, &b, &e);
        kcur = known_ctx(tagger, d.vents[0]);
        ncur = ctx_feats(&d, 0, b, e, kcur ? 0 : CF_WORD, cur);
    }
    for (size_t i = 0; i < n; i++) {
        int32_t sc[NL];
        if (i + 6 < n) {
            /* six tokens ahead: pull in that word's vector rows, or for a word outside the
             * vocabulary the weight slots its vector will be summed from */
            const struct vent *v = d.vents[i + 6];
            size_t slot;
            if (!v && (v = oov_find(&oc, d.f[i + 6].ex, &slot)))
                d.vents[i + 6] = v;
            if (v) {
                for (size_t off = 0; off < sizeof(*v); off += 64)
                    __builtin_prefetch((const char *)v + off);
            } else {
                /* (the cluster rows are left out: a prefetch is a hint) */
                static const uint16_t nocl[ND_CL_LEVELS] = {CL_NONE, CL_NONE, CL_NONE, CL_NONE};
                uint64_t f[32];
                const struct tokf *t = &d.f[i + 6];
                size_t nf = word_feats((const unsigned char *)toks[i + 6].s, toks[i + 6].len, t->ex,
                                       t->lw, t->sh, t->ss, nocl, f);
                for (size_t k = 0; k < nf; k++)
                    rt_prefetch(tagger, f[k]);
                rt_prefetch(tagger, mix(T_LWM1, t->lw));
                rt_prefetch(tagger, mix(T_LWP1, t->lw));
                rt_prefetch(tagger, mix(T_LWM2, t->lw));
                rt_prefetch(tagger, mix(T_LWP2, t->lw));
            }
        }
        while (ready < n && ready <= i + 2) {
            const struct vent *v = d.vents[ready];
            size_t slot = 0;
            if (!v && !(v = oov_find(&oc, d.f[ready].ex, &slot))) {
                struct vent *o = &oov[ready % RING];
                if (oc.n < oc.cap && d.f[ready].ex) {
                    o = &oc.pool[oc.n];
                    oc.keys[slot] = d.f[ready].ex;
                    oc.idx[slot] = (uint32_t)oc.n++;
                }
                compute_vent(tagger, toks[ready].s, toks[ready].len, d.f[ready].ex, d.f[ready].lw,
                             d.f[ready].sh, d.f[ready].ss, o);
                v = o;
            }
            vp[ready % RING] = v;
            ready++;
        }
        if (i + 1 < n) {
            nb = b;
            ne = e;
            if (i + 1 >= e)
                sent_bounds(&d, i + 1, &nb, &ne);
            knext = known_ctx(tagger, d.vents[i + 1]);
            nnext = ctx_feats(&d, i + 1, nb, ne, knext ? 0 : CF_WORD, next);
            for (size_t k = 0; k < nnext; k++)
                rt_prefetch(tagger, next[k]);
            /* the word-with-previous-label row, guessing the commonest previous label (O) */
            if (knext) {
                const struct tokf *f = &d.f[i + 1];
                __builtin_prefetch(knext->fd[f->first][f->doccase]);
                __builtin_prefetch(knext->t1[0]);
                __builtin_prefetch(knext->hist[d.dm.hist[f->dslot]]);
            } else {
                rt_prefetch(tagger, mix(T_T1W, mix(0, d.f[i + 1].lw)));
            }
        }
        memset(sc, 0, sizeof(sc));
        {
            const int32_t *rows[V_N] = {
                vp[i % RING]->v[V_SELF],
                i > b ? vp[(i - 1) % RING]->v[V_M1] : tagger->edge[V_M1],
                i + 1 < e ? vp[(i + 1) % RING]->v[V_P1] : tagger->edge[V_P1],
                i > b + 1 ? vp[(i - 2) % RING]->v[V_M2] : tagger->edge[V_M2],
                i + 2 < e ? vp[(i + 2) % RING]->v[V_P2] : tagger->edge[V_P2],
                i > b ? vp[(i - 1) % RING]->v[V_SM1] : tagger->edge[V_SM1],
                i + 1 < e ? vp[(i + 1) % RING]->v[V_SP1] : tagger->edge[V_SP1],
            };
            for (int k = 0; k < V_N; k++)
                add_w32(sc, rows[k]);
        }
        add_small_rows(tagger, &d, i, b, e, sc);
        if (kcur) {
            add_w32(sc, kcur->fd[d.f[i].first][d.f[i].doccase]);
            add_w32(sc, kcur->hist[d.dm.hist[d.f[i].dslot]]);
            t1 = (const int32_t(*)[NL])kcur->t1;
        } else {
            cur[ncur++] = hist_feature(&d, i);
            oov_label_rows(tagger, &d, i, t1oov);
            t1 = (const int32_t(*)[NL])t1oov;
        }
        for (size_t k = 0; k < ncur; k++)
            add_w16(sc, rt_row(tagger, cur[k]));
        if (vit->len == ND_VIT_WINDOW) {
            /* a sentence longer than the window: go on from the state the window ended in */
            wstart += vit_flush(vit, toks, wstart, margin);
            nd_vit_start(vit, tagger->allow, toks[i - 1].label);
        }
        nd_vit_step(vit, (const int32_t(*)[NL])tagger->trans, t1, sc);
        if (i + 1 == e) {
            wstart += vit_flush(vit, toks, wstart, margin);
            for (size_t k = b; k < e; k++)
                note_history(&d, k, toks[k].label);
            nd_vit_start(vit, tagger->allow, 0);
        }
        if (i + 1 < n) {
            uint64_t *tmp = cur;
            cur = next;
            next = tmp;
            ncur = nnext;
            kcur = knext;
            b = nb;
            e = ne;
        }
    }
    {
        /* the token hashes for the vote, in the scratch block the document releases */
        uint64_t *lw = nd_scratch_alloc((n ? n : 1) * sizeof(*lw));
        for (size_t i = 0; lw && i < n; i++)
            lw[i] = d.f[i].lw;
        err = lw ? nd_tagger_doc_vote(toks, n, lw, margin) : ND_ERR_NOMEM;
    }
    doc_free(&d);
    return err;
}

/* ---- model file
 * ---------------------------------------------------------------------------------- */
struct nd_tagger *nd_tagger_load(const char *path, char *errstr, size_t errsz)
{
    char *data = NULL;
    size_t len, nrows, off = 24;
    uint32_t nl, nr;
    float scale;
    struct nd_tagger *tagger = NULL, *ret = NULL;
    enum nd_err err;

    if ((err = nd_file_read(path, MODEL_MAX_BYTES, &data, &len)) != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, nd_err_str(err));
        goto out;
    }
    if (len < 24 || memcmp(data, "NDNER2\0\0", 8)) {
        snprintf(errstr, errsz, "%s: not a newsd NER model", path);
        goto out;
    }
    memcpy(&nl, data + 8, 4);
    memcpy(&nr, data + 12, 4);
    memcpy(&scale, data + 16, 4);
    nrows = nr;
    if (nl != NL || len < 24 + nrows * (8 + 2 * NL) + 4 || !(scale > 0)) {
        snprintf(errstr, errsz, "%s: truncated or incompatible model", path);
        goto out;
    }
    tagger = nd_xcalloc(1, sizeof(*tagger));
    {
        size_t cap = 1024;
        while (cap < nrows * 2)
            cap <<= 1;
        tagger->slots = aligned_alloc(64, cap * sizeof(struct rslot));
        if (!tagger->slots) {
            snprintf(errstr, errsz, "%s: out of memory", path);
            goto out;
        }
        memset(tagger->slots, 0, cap * sizeof(struct rslot));
        tagger->mask = cap - 1;
        tagger->filter = calloc((1u << FILTER_BITS) / 64, sizeof(uint64_t));
        if (!tagger->filter) {
            snprintf(errstr, errsz, "%s: out of memory", path);
            goto out;
        }
    }
    for (size_t r = 0; r < nrows; r++, off += 8 + 2 * NL) {
        uint64_t key;
        size_t i;
        memcpy(&key, data + off, 8);
        if (!key) {
            snprintf(errstr, errsz, "%s: corrupt model (zero key)", path);
            goto out;
        }
        for (i = (size_t)(key ^ (key >> 31)) & tagger->mask;
             tagger->slots[i].key && tagger->slots[i].key != key; i = (i + 1) & tagger->mask)
            ;
        tagger->slots[i].key = key;
        memcpy(tagger->slots[i].w, data + off + 8, sizeof(tagger->slots[i].w));
        {
            uint64_t b = (key >> 40) & ((1u << FILTER_BITS) - 1);
            tagger->filter[b >> 6] |= 1ull << (b & 63);
        }
    }
    (void)scale; /* scores are compared, never reported: the common scale does not matter */
    {
        uint32_t nv;
        size_t cap = 1024;
        memcpy(&nv, data + off, 4);
        off += 4;
        if (nv > len) {
            snprintf(errstr, errsz, "%s: corrupt vocabulary", path);
            goto out;
        }
        while (cap < (size_t)nv * 2)
            cap <<= 1;
        /* the clusters follow the vocabulary, and its vectors need them: read them first */
        {
            size_t voff = off, used;
            for (uint32_t k = 0; k < nv; k++) {
                uint16_t wl;
                if (voff + 2 > len || (memcpy(&wl, data + voff, 2), voff + 2 + wl > len)) {
                    snprintf(errstr, errsz, "%s: truncated vocabulary", path);
                    goto out;
                }
                voff += 2 + wl;
            }
            if (!(tagger->clusters =
                      nd_clusters_read(data + voff, len - voff, &used, errstr, errsz))) {
                char msg[256];
                snprintf(msg, sizeof(msg), "%s", errstr);
                snprintf(errstr, errsz, "%s: %s", path, msg);
                goto out;
            }
        }
        tagger->vocab = calloc(nv ? nv : 1, sizeof(*tagger->vocab));
        tagger->vctx = calloc(nv ? nv : 1, sizeof(*tagger->vctx));
        tagger->vslots = calloc(cap, sizeof(*tagger->vslots));
        tagger->vmask = cap - 1;
        if (!tagger->vocab || !tagger->vctx || !tagger->vslots) {
            snprintf(errstr, errsz, "%s: out of memory", path);
            goto out;
        }
        for (uint32_t k = 0; k < nv; k++) {
            uint16_t wl;
            uint64_t ex, lw, sh, ss;
            int up, all;
            size_t i;
            if (off + 2 > len || (memcpy(&wl, data + off, 2), off + 2 + wl > len)) {
                snprintf(errstr, errsz, "%s: truncated vocabulary", path);
                goto out;
            }
            off += 2;
            ex = fnv(FNV_OFF, (const unsigned char *)data + off, wl);
            lw = nd_kb_tokhash(data + off, wl);
            shapes(data + off, wl, &sh, &ss, &up, &all);
            for (i = (size_t)(ex ^ (ex >> 29)) & tagger->vmask; tagger->vslots[i].idx;
                 i = (i + 1) & tagger->vmask)
                ;
            compute_vent(tagger, data + off, wl, ex, lw, sh, ss, &tagger->vocab[tagger->nvocab]);
            tagger->vocab[tagger->nvocab].up = (uint8_t)up;
            tagger->vocab[tagger->nvocab].all = (uint8_t)all;
            tagger->vocab[tagger->nvocab].vidx = (uint32_t)tagger->nvocab + 1;
            compute_vctx(tagger, lw, ss, all && wl > 1, &tagger->vctx[tagger->nvocab]);
            tagger->vslots[i].key = ex;
            tagger->vslots[i].idx = (uint32_t)++tagger->nvocab;
            off += wl;
        }
        rt_addrow(tagger, tagger->edge[V_M1], mix(T_LWM1, BOS));
        rt_addrow(tagger, tagger->edge[V_M2], mix(T_LWM2, BOS));
        rt_addrow(tagger, tagger->edge[V_SM1], mix(T_SSM1, BOS));
        rt_addrow(tagger, tagger->edge[V_P1], mix(T_LWP1, EOS));
        rt_addrow(tagger, tagger->edge[V_P2], mix(T_LWP2, EOS));
        rt_addrow(tagger, tagger->edge[V_SP1], mix(T_SSP1, EOS));
    }
    for (int prev = 0; prev < NL; prev++)
        for (int l = 0; l < NL; l++)
            tagger->allow[prev] |= (uint16_t)(allowed(prev, l) << l);
    for (uint64_t v = 0; v < 27; v++)
        rt_addrow(tagger, tagger->cap3[v], mix(T_CAP3, v));
    for (uint64_t k = 0; k < G_NBITS; k++) {
        rt_addrow(tagger, tagger->gaz[0][k], mix(T_GAZ, k));
        rt_addrow(tagger, tagger->gaz[1][k], mix(T_GAZM1, k));
        rt_addrow(tagger, tagger->gaz[2][k], mix(T_GAZP1, k));
    }
    for (int p1 = 0; p1 < NL; p1++)
        rt_addrow(tagger, tagger->trans[p1], mix(T_T1, (uint64_t)p1));
    ret = tagger;
    tagger = NULL;
out:
    free(data);
    nd_tagger_destroy(tagger);
    return ret;
}

void nd_tagger_destroy(struct nd_tagger *tagger)
{
    if (!tagger)
        return;
    free(tagger->slots);
    free(tagger->filter);
    free(tagger->vocab);
    free(tagger->vctx);
    free(tagger->vslots);
    nd_clusters_destroy(tagger->clusters);
    free(tagger);
}

/* ---- CoNLL reading
 * ------------------------------------------------------------------------------- */
enum nd_err nd_conll_read(char *text, size_t len, int with_labels, nd_conll_doc_fn fn, void *arg,
                          char *errstr, size_t errsz)
{
    struct nd_ner_tok *toks = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    int sent_start = 1;
    enum nd_err err = ND_OK;
    char *line = text, *end = text + len;

    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *eol = nl ? nl : end, *sp, *last;
        lineno++;
        if (eol > line && eol[-1] == '\r')
            eol--;
        *eol = '\0';
        if (line == eol) {
            sent_start = 1;
        } else if (!strncmp(line, "-DOCSTART-", 10)) {
            if (n && (err = fn(toks, n, arg)) != ND_OK)
                goto out;
            n = 0;
            sent_start = 1;
        } else {
            if (n == cap) {
                struct nd_ner_tok *nt;
                cap = cap ? cap * 2 : 4096;
                if (cap > DOC_MAX_TOKENS || !(nt = realloc(toks, cap * sizeof(*nt)))) {
                    snprintf(errstr, errsz, "line %zu: document too large", lineno);
                    err = ND_ERR_TOOBIG;
                    goto out;
                }
                toks = nt;
            }
            sp = strpbrk(line, " \t");
            last = strrchr(line, ' ');
            if (!last || strrchr(line, '\t') > last)
                last = strrchr(line, '\t');
            toks[n].s = line;
            toks[n].len = (uint32_t)(sp ? sp - line : eol - line);
            toks[n].sent_start = (uint8_t)sent_start;
            toks[n].label = 0;
            toks[n].lw = 0;
            if (with_labels) {
                int l = last ? nd_ner_label(last + 1) : -1;
                if (l < 0) {
                    snprintf(errstr, errsz, "line %zu: no IOB2 label in the last column", lineno);
                    err = ND_ERR_INVALID;
                    goto out;
                }
                toks[n].label = (uint8_t)l;
            }
            n++;
            sent_start = 0;
        }
        line = nl ? nl + 1 : end;
    }
    if (n)
        err = fn(toks, n, arg);
out:
    free(toks);
    return err;
}

/* ---- training
 * ------------------------------------------------------------------------------------ */
struct trainer {
    struct wtab tab; /* current weights */
    float *tot;      /* accumulated weights for averaging, per row */
    uint32_t *ts;    /* time of the last change, per row */
    size_t tcap;
    uint32_t clock;
    struct nd_ner_tok **docs;
    size_t *doclen, ndocs, dcap;
    const struct nd_kb *kb;
    const struct nd_clusters *clusters;
    struct nd_ner_tok *vocab; /* distinct training words (s, len) */
    size_t nvocab;
    struct nd_vit *vit;
    uint64_t *feats; /* ND_VIT_WINDOW * MAX_FEATS: the features of a window's tokens */
    uint16_t allow[NL];
};

/* Distinct words of the training documents, for the model's vocabulary section. */
static enum nd_err collect_vocab(struct trainer *tr)
{
    size_t total = 0, cap = 1024;
    uint64_t *seen;
    for (size_t d = 0; d < tr->ndocs; d++)
        total += tr->doclen[d];
    while (cap < total * 2)
        cap <<= 1;
    seen = calloc(cap, sizeof(*seen));
    tr->vocab = malloc((total ? total : 1) * sizeof(*tr->vocab));
    if (!seen || !tr->vocab) {
        free(seen);
        return ND_ERR_NOMEM;
    }
    for (size_t d = 0; d < tr->ndocs; d++)
        for (size_t i = 0; i < tr->doclen[d]; i++) {
            const struct nd_ner_tok *t = &tr->docs[d][i];
            uint64_t h = fnv(FNV_OFF, (const unsigned char *)t->s, t->len) | 1;
            size_t k;
            if (t->len > 255)
                continue;
            for (k = (size_t)(h ^ (h >> 29)) & (cap - 1); seen[k] && seen[k] != h;
                 k = (k + 1) & (cap - 1))
                ;
            if (seen[k])
                continue;
            seen[k] = h;
            tr->vocab[tr->nvocab++] = *t;
        }
    free(seen);
    return ND_OK;
}

static enum nd_err keep_doc(struct nd_ner_tok *toks, size_t n, void *arg)
{
    struct trainer *tr = arg;
    struct nd_ner_tok *copy;
    if (tr->ndocs == tr->dcap) {
        tr->dcap = tr->dcap ? tr->dcap * 2 : 1024;
        tr->docs = realloc(tr->docs, tr->dcap * sizeof(*tr->docs));
        tr->doclen = realloc(tr->doclen, tr->dcap * sizeof(*tr->doclen));
        if (!tr->docs || !tr->doclen)
            return ND_ERR_NOMEM;
    }
    if (!(copy = malloc(n * sizeof(*copy))))
        return ND_ERR_NOMEM;
    memcpy(copy, toks, n * sizeof(*copy));
    tr->docs[tr->ndocs] = copy;
    tr->doclen[tr->ndocs++] = n;
    return ND_OK;
}

static int update(struct trainer *tr, uint64_t key, int c, float delta)
{
    long row = wtab_add(&tr->tab, key);
    size_t ix;
    if (row < 0)
        return -1;
    if ((size_t)row >= tr->tcap) {
        size_t nc = tr->tab.rcap;
        float *nt = realloc(tr->tot, nc * NL * sizeof(float));
        uint32_t *ns;
        if (!nt)
            return -1;
        tr->tot = nt;
        if (!(ns = realloc(tr->ts, nc * NL * sizeof(uint32_t))))
            return -1;
        tr->ts = ns;
        memset(nt + tr->tcap * NL, 0, (nc - tr->tcap) * NL * sizeof(float));
        memset(ns + tr->tcap * NL, 0, (nc - tr->tcap) * NL * sizeof(uint32_t));
        tr->tcap = nc;
    }
    ix = (size_t)row * NL + (size_t)c;
    tr->tot[ix] += (float)(tr->clock - tr->ts[ix]) * tr->tab.w[ix];
    tr->ts[ix] = tr->clock;
    tr->tab.w[ix] += delta;
    return 0;
}

/* The perceptron's weights are sums of +1 and -1 updates, whole numbers: as integers they decode
 * exactly as the tagger's do. */
static void to_int_row(int32_t *out, const float *row)
{
    for (int c = 0; c < NL; c++)
        out[c] = (int32_t)lrintf(row[c]);
}

/* Perceptron update for token i of a decoded window: the gold label's features up, the guessed
 * label's down, each with the labels before it on its own path (Collins 2002). */
static int update_token(struct trainer *tr, const struct doc *d, size_t i, const uint64_t *feats,
                        size_t nf, const int gold[2], const int guess[2])
{
    uint64_t lf[8];
    size_t nl;
    if (gold[0] != guess[0])
        for (size_t k = 0; k < nf; k++)
            if (update(tr, feats[k], gold[0], 1.0f) || update(tr, feats[k], guess[0], -1.0f))
                return -1;
    nl = label_features(d, i, gold[1], 1, lf);
    for (size_t k = 0; k < nl; k++)
        if (update(tr, lf[k], gold[0], 1.0f))
            return -1;
    nl = label_features(d, i, guess[1], 1, lf);
    for (size_t k = 0; k < nl; k++)
        if (update(tr, lf[k], guess[0], -1.0f))
            return -1;
    return 0;
}

/* Decode tokens [w, w + len) of sentence [b, e) (len <= ND_VIT_WINDOW) with the current weights,
 * starting after the guessed label guess[w-1], into guess[w..]; then update where the guess
 * differs from the gold labels. */
static int train_window(struct trainer *tr, struct doc *d, size_t b, size_t e, size_t w,
                        size_t len, uint8_t *guess, size_t *errors)
{
    int32_t trans[NL][NL];
    struct nd_vit *vit = tr->vit;
    size_t nfs[ND_VIT_WINDOW];
    for (int a = 0; a < NL; a++) {
        float row[NL] = {0};
        add_row(row, wtab_get(&tr->tab, mix(T_T1, (uint64_t)a)));
        to_int_row(trans[a], row);
    }
    nd_vit_start(vit, tr->allow, w > b ? guess[w - 1] : 0);
    for (size_t k = 0; k < len; k++) {
        size_t i = w + k;
        uint64_t *feats = tr->feats + k * MAX_FEATS;
        float fbase[NL] = {0};
        int32_t base[NL], t1[NL][NL];
        size_t nf = features(d, i, b, e, feats);
        feats[nf++] = hist_feature(d, i);
        nfs[k] = nf;
        for (size_t q = 0; q < nf; q++)
            add_row(fbase, wtab_get(&tr->tab, feats[q]));
        to_int_row(base, fbase);
        for (int a = 0; a < NL; a++) {
            uint64_t lf[2];
            float row[NL] = {0};
            label_features(d, i, a, 0, lf);
            add_row(row, wtab_get(&tr->tab, lf[0]));
            add_row(row, wtab_get(&tr->tab, lf[1]));
            to_int_row(t1[a], row);
        }
        nd_vit_step(vit, (const int32_t(*)[NL])trans, (const int32_t(*)[NL])t1, base);
    }
    nd_vit_finish(vit, guess + w, NULL);
    for (size_t k = 0; k < len; k++) {
        size_t i = w + k;
        int gold[2] = {d->toks[i].label, i > b ? d->toks[i - 1].label : 0};
        int gs[2] = {guess[i], i > b ? guess[i - 1] : 0};
        tr->clock++;
        if (gold[0] == gs[0] && gold[1] == gs[1])
            continue;
        *errors += gold[0] != gs[0];
        if (update_token(tr, d, i, tr->feats + k * MAX_FEATS, nfs[k], gold, gs))
            return -1;
    }
    return 0;
}

static enum nd_err train_doc(struct trainer *tr, struct nd_ner_tok *toks, size_t n, size_t *errors)
{
    struct doc d;
    enum nd_err err;
    uint8_t *guess;

    if ((err = doc_prepare(&d, tr->kb, toks, n, NULL, tr->clusters)) != ND_OK)
        return err;
    if (!(guess = nd_scratch_alloc(n ? n : 1))) {
        doc_free(&d);
        return ND_ERR_NOMEM;
    }
    for (size_t b = 0, e = 0; b < n; b = e) {
        sent_bounds(&d, b, &b, &e);
        for (size_t w = b; w < e; w += ND_VIT_WINDOW) {
            size_t len = e - w < ND_VIT_WINDOW ? e - w : ND_VIT_WINDOW;
            if (train_window(tr, &d, b, e, w, len, guess, errors)) {
                doc_free(&d);
                return ND_ERR_NOMEM;
            }
        }
        /* the history learns from the guesses, as tagging will see it */
        for (size_t i = b; i < e; i++)
            note_history(&d, i, guess[i]);
    }
    doc_free(&d);
    return ND_OK;
}

static enum nd_err save_model(struct trainer *tr, const char *path, char *errstr, size_t errsz,
                              size_t *kept)
{
    float maxw = 0;
    FILE *fp = NULL;
    enum nd_err err = ND_OK;
    uint32_t nl = NL, nr = 0;
    float scale, *avg = NULL;
    size_t nrows = tr->tab.n;

    avg = malloc((nrows ? nrows : 1) * NL * sizeof(float));
    if (!avg)
        return ND_ERR_NOMEM;
    for (size_t ix = 0; ix < nrows * NL; ix++) {
        float tot = tr->tot[ix] + (float)(tr->clock - tr->ts[ix]) * tr->tab.w[ix];
        avg[ix] = tot / (float)(tr->clock ? tr->clock : 1);
        if (fabsf(avg[ix]) > maxw)
            maxw = fabsf(avg[ix]);
    }
    scale = maxw > 0 ? 32767.0f / maxw : 1.0f;
    /* A row whose largest weight rounds to almost nothing cannot change a decision: drop it. */
    for (size_t r = 0; r < nrows; r++) {
        float m = 0;
        for (int c = 0; c < NL; c++)
            m = fmaxf(m, fabsf(avg[r * NL + c]));
        if (m * scale >= 8.0f)
            nr++;
    }
    if (!(fp = fopen(path, "wb"))) {
        snprintf(errstr, errsz, "%s: cannot write", path);
        err = ND_ERR_IO;
        goto out;
    }
    fwrite("NDNER2\0\0", 1, 8, fp);
    fwrite(&nl, 4, 1, fp);
    fwrite(&nr, 4, 1, fp);
    fwrite(&scale, 4, 1, fp);
    fwrite("\0\0\0\0", 1, 4, fp);
    for (size_t i = 0; i <= tr->tab.mask; i++) {
        size_t r;
        float m = 0;
        int16_t q[NL];
        if (!tr->tab.keys[i])
            continue;
        r = tr->tab.rows[i];
        for (int c = 0; c < NL; c++)
            m = fmaxf(m, fabsf(avg[r * NL + c]));
        if (m * scale < 8.0f)
            continue;
        for (int c = 0; c < NL; c++)
            q[c] = (int16_t)lrintf(avg[r * NL + c] * scale);
        fwrite(&tr->tab.keys[i], 8, 1, fp);
        fwrite(q, sizeof(q), 1, fp);
    }
    {
        /* the training vocabulary, distinct words in first-seen order */
        uint32_t nv = (uint32_t)tr->nvocab;
        fwrite(&nv, 4, 1, fp);
        for (size_t k = 0; k < tr->nvocab; k++) {
            uint16_t wl = (uint16_t)tr->vocab[k].len;
            fwrite(&wl, 2, 1, fp);
            fwrite(tr->vocab[k].s, 1, wl, fp);
        }
    }
    nd_clusters_write(tr->clusters, fp);
    if (ferror(fp)) {
        snprintf(errstr, errsz, "%s: write error", path);
        err = ND_ERR_IO;
    }
    *kept = nr;
out:
    if (fp && fclose(fp) && err == ND_OK) {
        snprintf(errstr, errsz, "%s: write error", path);
        err = ND_ERR_IO;
    }
    free(avg);
    return err;
}

enum nd_err nd_tagger_train(const char *const *conll_paths, size_t npaths,
                            const struct nd_kb *kb, const struct nd_clusters *clusters,
                            const char *out_path, int epochs, FILE *log, char *errstr,
                            size_t errsz)
{
    struct trainer tr;
    char *data[ND_TRAIN_MAX_FILES] = {NULL};
    size_t len, *order = NULL, kept = 0;
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    enum nd_err err = ND_ERR_INVALID;

    memset(&tr, 0, sizeof(tr));
    tr.kb = kb;
    tr.clusters = clusters;
    if (!npaths || npaths > ND_TRAIN_MAX_FILES) {
        snprintf(errstr, errsz, "1 to %d training files", ND_TRAIN_MAX_FILES);
        goto out;
    }
    /* the documents' tokens point into the files' text, kept until the model is written */
    for (size_t f = 0; f < npaths; f++) {
        char msg[256];
        if ((err = nd_file_read(conll_paths[f], MODEL_MAX_BYTES, &data[f], &len)) != ND_OK) {
            snprintf(errstr, errsz, "%s: %s", conll_paths[f], nd_err_str(err));
            goto out;
        }
        if ((err = nd_conll_read(data[f], len, 1, keep_doc, &tr, msg, sizeof(msg))) != ND_OK) {
            snprintf(errstr, errsz, "%s: %s", conll_paths[f], msg);
            goto out;
        }
    }
    for (int a = 0; a < NL; a++)
        for (int c = 0; c < NL; c++)
            tr.allow[a] |= (uint16_t)(allowed(a, c) << c);
    if (wtab_init(&tr.tab, 1u << 20) || !(order = malloc((tr.ndocs + 1) * sizeof(*order))) ||
        !(tr.vit = malloc(sizeof(*tr.vit))) ||
        !(tr.feats = malloc(ND_VIT_WINDOW * MAX_FEATS * sizeof(*tr.feats)))) {
        err = ND_ERR_NOMEM;
        snprintf(errstr, errsz, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < tr.ndocs; i++)
        order[i] = i;
    for (int ep = 0; ep < epochs; ep++) {
        size_t errors = 0, ntok = 0;
        /* a fixed-seed shuffle: the same data gives the same model */
        for (size_t i = tr.ndocs; i > 1; i--) {
            size_t j, t;
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            j = (size_t)(rng % i);
            t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < tr.ndocs; k++) {
            size_t di = order[k];
            ntok += tr.doclen[di];
            if ((err = train_doc(&tr, tr.docs[di], tr.doclen[di], &errors)) != ND_OK) {
                snprintf(errstr, errsz, "out of memory in training");
                goto out;
            }
        }
        if (log)
            fprintf(log, "epoch %d: %zu tokens, %zu errors (%.2f%%), %zu features\n", ep + 1, ntok,
                    errors, 100.0 * (double)errors / (double)(ntok ? ntok : 1), tr.tab.n);
    }
    if ((err = collect_vocab(&tr)) != ND_OK) {
        snprintf(errstr, errsz, "out of memory");
        goto out;
    }
    if ((err = save_model(&tr, out_path, errstr, errsz, &kept)) != ND_OK)
        goto out;
    if (log)
        fprintf(log, "wrote %s: %zu of %zu feature rows kept\n", out_path, kept, tr.tab.n);
out:
    for (size_t i = 0; i < tr.ndocs; i++)
        free(tr.docs[i]);
    free(tr.docs);
    free(tr.doclen);
    free(tr.vocab);
    free(tr.vit);
    free(tr.feats);
    free(order);
    free(tr.tot);
    free(tr.ts);
    wtab_free(&tr.tab);
    for (size_t f = 0; f < ND_TRAIN_MAX_FILES; f++)
        free(data[f]);
    return err;
}

/* ---- CoNLL tagging
 * ------------------------------------------------------------------------------- */
static void print_segment(const char *text, size_t from, size_t to, const struct nd_ner_tok *toks,
                          FILE *out)
{
    size_t k = 0, p = from;
    while (p < to) {
        const char *nl = memchr(text + p, '\n', to - p);
        size_t eol = nl ? (size_t)(nl - text) : to, e = eol;
        if (e > p && text[e - 1] == '\r')
            e--;
        if (e == p) {
            fputc('\n', out);
        } else if (!strncmp(text + p, "-DOCSTART-", 10)) {
            fputs("-DOCSTART-\tO\n", out);
        } else {
            fwrite(toks[k].s, 1, toks[k].len, out);
            fprintf(out, "\t%s\n", nd_ner_labels[toks[k].label]);
            k++;
        }
        p = eol + 1;
    }
}

enum nd_err nd_tagger_conll(const struct nd_tagger *tagger, const struct nd_kb *kb,
                            const char *text, size_t len, FILE *out, char *errstr, size_t errsz)
{
    struct nd_ner_tok *toks = NULL;
    size_t n = 0, cap = 0, p = 0, seg = 0, lineno = 0;
    int sent_start = 1;
    enum nd_err err = ND_OK;

    for (;;) {
        const char *nl = p < len ? memchr(text + p, '\n', len - p) : NULL;
        size_t eol = nl ? (size_t)(nl - text) : len, e = eol;
        int docstart, last = (p >= len);
        lineno++;
        if (e > p && text[e - 1] == '\r')
            e--;
        docstart = !last && !strncmp(text + p, "-DOCSTART-", 10);
        if (docstart || last) {
            if (n && (err = nd_tagger_tag(tagger, kb, toks, n)) != ND_OK) {
                snprintf(errstr, errsz, "line %zu: %s", lineno, nd_err_str(err));
                goto out;
            }
            print_segment(text, seg, p < len ? p : len, toks, out);
            n = 0;
            seg = p;
            sent_start = 1;
            if (last)
                break;
        } else if (e == p) {
            sent_start = 1;
        } else {
            const char *sp = memchr(text + p, ' ', e - p), *tab = memchr(text + p, '\t', e - p);
            if (tab && (!sp || tab < sp))
                sp = tab;
            if (n == cap) {
                struct nd_ner_tok *nt;
                cap = cap ? cap * 2 : 4096;
                if (cap > DOC_MAX_TOKENS || !(nt = realloc(toks, cap * sizeof(*nt)))) {
                    snprintf(errstr, errsz, "line %zu: document too large", lineno);
                    err = ND_ERR_TOOBIG;
                    goto out;
                }
                toks = nt;
            }
            toks[n].s = text + p;
            toks[n].len = (uint32_t)((sp ? (size_t)(sp - text) : e) - p);
            toks[n].sent_start = (uint8_t)sent_start;
            toks[n].label = 0;
            toks[n].lw = 0;
            n++;
            sent_start = 0;
        }
        p = eol + 1;
    }
out:
    free(toks);
    return err;
}
