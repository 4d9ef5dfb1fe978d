/* The arc-hybrid transition system (Kuhlmann et al. 2011) and greedy tagging and parsing.
 *
 * Configuration: a stack whose bottom is ROOT (word 0), a buffer front b, the arcs so far.
 *   SHIFT  push b.
 *   LEFT   s0 <- b (b becomes the head of the stack top), pop.
 *   RIGHT  s1 -> s0 (the word under the top becomes its head), pop.
 * ROOT takes its one dependent last (RIGHT with s1 = ROOT only once the buffer is empty), so every
 * parse is a single tree, and the parser always ends: SHIFT until the buffer is empty, then RIGHT.
 * The trees it can build are exactly the projective ones. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "enrich/syntax_int.h"

void syn_state_init(struct syn_state *st, size_t n)
{
    size_t m = n + 2;
    st->sp = 1;
    st->stack[0] = 0;
    st->b = 1;
    for (size_t i = 0; i < m; i++)
        st->head[i] = -1;
    memset(st->label, 0, m * sizeof(st->label[0]));
    memset(st->lc1, 0, m * sizeof(st->lc1[0]));
    memset(st->lc2, 0, m * sizeof(st->lc2[0]));
    memset(st->rc1, 0, m * sizeof(st->rc1[0]));
    memset(st->rc2, 0, m * sizeof(st->rc2[0]));
    memset(st->nl, 0, m * sizeof(st->nl[0]));
    memset(st->nr, 0, m * sizeof(st->nr[0]));
    memset(st->lset, 0, m * sizeof(st->lset[0]));
    memset(st->rset, 0, m * sizeof(st->rset[0]));
}

int syn_terminal(const struct syn_state *st, size_t n)
{
    return st->b > (int)n && st->sp == 1;
}

unsigned syn_valid(const struct syn_state *st, size_t n)
{
    unsigned v = 0;
    int buf = st->b <= (int)n;
    if (buf)
        v |= 1u << SYN_SHIFT;
    if (buf && st->sp >= 2)
        v |= 1u << SYN_LEFT; /* the top is a word, never ROOT */
    if (st->sp >= 3 || (st->sp == 2 && !buf))
        v |= 1u << SYN_RIGHT;
    return v;
}

void syn_arc_of(const struct syn_state *st, int m, int *head, int *dep)
{
    *dep = st->stack[st->sp - 1];
    *head = m == SYN_LEFT ? st->b : st->stack[st->sp - 2];
}

static void add_arc(struct syn_state *st, int h, int d, int label)
{
    st->head[d] = (int16_t)h;
    st->label[d] = (uint8_t)label;
    if (d < h) {
        if (!st->lc1[h] || d < st->lc1[h]) {
            st->lc2[h] = st->lc1[h];
            st->lc1[h] = (int16_t)d;
        } else if (!st->lc2[h] || d < st->lc2[h]) {
            st->lc2[h] = (int16_t)d;
        }
        st->nl[h]++;
        st->lset[h] |= 1ull << label;
    } else {
        if (!st->rc1[h] || d > st->rc1[h]) {
            st->rc2[h] = st->rc1[h];
            st->rc1[h] = (int16_t)d;
        } else if (!st->rc2[h] || d > st->rc2[h]) {
            st->rc2[h] = (int16_t)d;
        }
        st->nr[h]++;
        st->rset[h] |= 1ull << label;
    }
}

void syn_apply(struct syn_state *st, int m, int label)
{
    int h, d;
    if (m == SYN_SHIFT) {
        st->stack[st->sp++] = (int16_t)st->b++;
        return;
    }
    syn_arc_of(st, m, &h, &d);
    add_arc(st, h, d, label);
    st->sp--;
}

int syn_argmax(const float *scores, uint64_t mask, int k)
{
    int best = -1;
    for (int c = 0; c < k; c++)
        if ((mask >> c & 1) && (best < 0 || scores[c] > scores[best]))
            best = c;
    return best;
}

uint64_t syn_label_mask(int head)
{
    uint64_t all = (ND_DEP_COUNT >= 64 ? ~0ull : (1ull << ND_DEP_COUNT) - 1) & ~1ull;
    return head == 0 ? 1ull << ND_DEP_ROOT : all & ~(1ull << ND_DEP_ROOT);
}

/* acc[0 .. kpad) += the kpad int16 weights at row (a heavy row of a sparse table, syn_table),
 * eight at a time. */
static inline void add_dense_row(int32_t *acc, const void *row, uint32_t kpad)
{
#ifdef __SSE2__
    for (uint32_t c = 0; c < kpad; c += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)((const char *)row + 2 * c));
        __m128i a = _mm_loadu_si128((const __m128i *)(acc + c));
        __m128i b = _mm_loadu_si128((const __m128i *)(acc + c + 4));
        a = _mm_add_epi32(a, _mm_srai_epi32(_mm_unpacklo_epi16(x, x), 16));
        b = _mm_add_epi32(b, _mm_srai_epi32(_mm_unpackhi_epi16(x, x), 16));
        _mm_storeu_si128((__m128i *)(acc + c), a);
        _mm_storeu_si128((__m128i *)(acc + c + 4), b);
    }
#else
    int16_t w[64];
    memcpy(w, row, kpad * sizeof(*w));
    for (uint32_t c = 0; c < kpad; c++)
        acc[c] += w[c];
#endif
}

/* scores[c] = acc[c] * scale for c < k, four at a time (the same conversion and product as one
 * at a time: the figures are identical). */
static inline void scale_scores(const int32_t *acc, unsigned k, float scale, float *scores)
{
    unsigned c = 0;
#ifdef __SSE2__
    __m128 s4 = _mm_set1_ps(scale);
    for (; c + 4 <= k; c += 4)
        _mm_storeu_ps(scores + c,
                      _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(acc + c))), s4));
#endif
    for (; c < k; c++)
        scores[c] = (float)acc[c] * scale;
}

/* acc[c] = the integer sum of class c's weights over the features (k of them; kpad for a sparse
 * table), before the table's scale. */
static void table_acc(const struct syn_table *t, const uint64_t *f, size_t nf, int32_t *acc)
{
    unsigned sh = 64 - t->bits;
    if (t->dense) {
        /* a row is four int16, sign-extended and added as one vector of four int32 (SSE2:
         * unpack, shift, add); integer sums, so the order of the additions does not change them */
        for (size_t i = 0; i < nf; i++)
            __builtin_prefetch(&t->dense[(f[i] >> sh) * SYN_DENSE_K]);
#ifdef __SSE2__
        __m128i v = _mm_setzero_si128();
        for (size_t i = 0; i < nf; i++) {
            __m128i row = _mm_loadl_epi64((const __m128i *)&t->dense[(f[i] >> sh) * SYN_DENSE_K]);
            v = _mm_add_epi32(v, _mm_srai_epi32(_mm_unpacklo_epi16(row, row), 16));
        }
        _mm_storeu_si128((__m128i *)acc, v);
#else
        memset(acc, 0, SYN_DENSE_K * sizeof(*acc));
        for (size_t i = 0; i < nf; i++) {
            const int16_t *row = &t->dense[(f[i] >> sh) * SYN_DENSE_K];
            for (unsigned c = 0; c < SYN_DENSE_K; c++)
                acc[c] += row[c];
        }
#endif
        return;
    }
    {
        /* three passes so the cache misses of all features overlap: prefetch the row offsets,
         * then the rows, then add them up */
        uint32_t lo[SYN_MAX_FEATS], hi[SYN_MAX_FEATS];
        memset(acc, 0, t->kpad * sizeof(*acc));
        for (size_t i = 0; i < nf; i++)
            __builtin_prefetch(&t->off[f[i] >> sh]);
        for (size_t i = 0; i < nf; i++) {
            uint32_t r = (uint32_t)(f[i] >> sh);
            lo[i] = t->off[r];
            hi[i] = t->off[r + 1];
            __builtin_prefetch(&t->ent[lo[i]]);
        }
        /* four entries a step: a row's classes are distinct, so the four adds are independent,
         * and the loop's own work is shared by four */
        for (size_t i = 0; i < nf; i++) {
            const struct syn_ent *e = t->ent + lo[i];
            uint32_t n = hi[i] - lo[i];
            if (n >= t->heavy) {
                add_dense_row(acc, (const void *)e, t->kpad);
                continue;
            }
            for (uint32_t q = n >> 2; q; q--, e += 4) {
                acc[e[0].cls] += e[0].w;
                acc[e[1].cls] += e[1].w;
                acc[e[2].cls] += e[2].w;
                acc[e[3].cls] += e[3].w;
            }
            for (n &= 3; n; n--, e++)
                acc[e->cls] += e->w;
        }
    }
}

void syn_score(const struct syn_scorer *sc, const uint64_t *f, size_t nf, float *scores)
{
    if (sc->d) {
        const struct syn_dense *d = sc->d;
        unsigned sh = 64 - d->bits, k = d->k;
        memset(scores, 0, k * sizeof(*scores));
        for (size_t i = 0; i < nf; i++) {
            const float *row = d->w + (size_t)(f[i] >> sh) * k;
            for (unsigned c = 0; c < k; c++)
                scores[c] += row[c];
        }
        return;
    }
    {
        int32_t acc[64];
        table_acc(sc->t, f, nf, acc);
        scale_scores(acc, sc->t->k, sc->t->scale, scores);
    }
}

int syn_best(const struct syn_scorer *sc, const uint64_t *f, size_t nf, uint64_t mask)
{
    if (sc->d) {
        float scores[64];
        syn_score(sc, f, nf, scores);
        return syn_argmax(scores, mask, (int)sc->d->k);
    }
    {
        /* the scale is positive, so the best class of the integer sums is the best class: no
         * conversion to float; the classes outside mask are set below every sum first */
        int32_t acc[64];
        int k = (int)sc->t->k, best = 0;
        uint64_t out = ~mask & (k >= 64 ? ~0ull : (1ull << k) - 1);
        table_acc(sc->t, f, nf, acc);
        for (; out; out &= out - 1)
            acc[__builtin_ctzll(out)] = INT32_MIN;
#ifdef __SSE2__
        if (k >= 8) {
            /* the highest sum four lanes at a time (lanes past k below every sum), then the
             * first class that has it: the class the scan below picks */
            int kk = (k + 3) & ~3, c;
            __m128i mx = _mm_set1_epi32(INT32_MIN);
            for (c = k; c < kk; c++)
                acc[c] = INT32_MIN;
            for (c = 0; c < kk; c += 4) {
                __m128i x = _mm_loadu_si128((const __m128i *)(acc + c)), g = _mm_cmpgt_epi32(x, mx);
                mx = _mm_or_si128(_mm_and_si128(g, x), _mm_andnot_si128(g, mx));
            }
            for (int sh = 0; sh < 2; sh++) {
                __m128i y = sh ? _mm_shuffle_epi32(mx, _MM_SHUFFLE(2, 3, 0, 1))
                               : _mm_shuffle_epi32(mx, _MM_SHUFFLE(1, 0, 3, 2));
                __m128i g = _mm_cmpgt_epi32(y, mx);
                mx = _mm_or_si128(_mm_and_si128(g, y), _mm_andnot_si128(g, mx));
            }
            for (c = 0;; c += 4) {
                int eq = _mm_movemask_ps(
                    _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(acc + c)), mx)));
                if (eq)
                    return c + __builtin_ctz((unsigned)eq);
            }
        }
#endif
        for (int c = 1; c < k; c++)
            if (acc[c] > acc[best])
                best = c;
        return best;
    }
}

#define XPOS_MASK (((1ull << ND_XPOS_COUNT) - 1) & ~1ull)
#define UPOS_MASK (((1ull << ND_UPOS_COUNT) - 1) & ~1ull)

const struct syn_dict_ent *syn_dict_find(const struct syn_dict *dict, uint64_t form)
{
    size_t lo = 0, hi = dict ? dict->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dict->e[mid].form == form)
            return &dict->e[mid];
        if (dict->e[mid].form < form)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void syn_tag_sent(const struct syn_scorer *xs, const struct syn_scorer *us,
                  const struct syn_dict *dict, struct syn_sent *sent)
{
    uint64_t f[SYN_MAX_FEATS];
    uint8_t known[SYN_MAXW + 2] = {0}; /* tagged by the dictionary */
    for (size_t i = 1; i <= sent->n; i++) {
        const struct syn_dict_ent *d;
        if (sent->hint[i]) {
            sent->xpos[i] = sent->hint[i];
            continue;
        }
        if ((d = syn_dict_find(dict, sent->w[i].form))) {
            sent->xpos[i] = d->xpos;
            sent->upos[i] = d->upos;
            known[i] = 1;
            continue;
        }
        sent->xpos[i] = (uint8_t)syn_best(xs, f, syn_xpos_feats(sent, i, f), XPOS_MASK);
    }
    for (size_t i = 1; i <= sent->n; i++) {
        if (sent->hint[i] == ND_XPOS_NNP || sent->hint[i] == ND_XPOS_NNPS) {
            sent->upos[i] = ND_UPOS_PROPN; /* a name the caller knows */
            continue;
        }
        if (known[i])
            continue;
        sent->upos[i] = (uint8_t)syn_best(us, f, syn_upos_feats(sent, i, f), UPOS_MASK);
    }
}

void syn_parse_sent(const struct syn_scorer *ms, const struct syn_scorer *ls,
                    const struct syn_sent *sent, struct syn_state *st)
{
    uint64_t f[SYN_MAX_FEATS];

    syn_state_init(st, sent->n);
    while (!syn_terminal(st, sent->n)) {
        unsigned valid = syn_valid(st, sent->n);
        int m, label = 0, h, d;
        if (valid & (valid - 1)) {
            m = syn_best(ms, f, syn_move_feats(sent, st, f), valid);
        } else { /* one move possible (the first SHIFT, the RIGHTs once the buffer is empty) */
            m = __builtin_ctz(valid);
        }
        if (m != SYN_SHIFT) {
            syn_arc_of(st, m, &h, &d);
            if (h == 0)
                label = ND_DEP_ROOT;
            else
                label = syn_best(ls, f, syn_label_feats(sent, st, h, d, f), syn_label_mask(h));
        }
        syn_apply(st, m, label);
    }
}

/* Tag (and parse) one piece of at most SYN_MAXW words into out at offset off. */
static void piece(const struct nd_syntax *syntax, const struct nd_syntax_word *words, size_t n,
                  struct nd_syntax_out *out, size_t off, int parse)
{
    struct syn_sent sent;
    struct syn_state st;
    struct syn_scorer xs = {&syntax->tabs[SYN_T_XPOS], NULL};
    struct syn_scorer us = {&syntax->tabs[SYN_T_UPOS], NULL};
    struct syn_scorer ms = {&syntax->tabs[SYN_T_MOVE], NULL};
    struct syn_scorer ls = {&syntax->tabs[SYN_T_LABEL], NULL};

    syn_words(&sent, words, n, &syntax->lex);
    syn_tag_sent(&xs, &us, &syntax->dict, &sent);
    for (size_t i = 0; i < n; i++) {
        out->upos[off + i] = sent.upos[i + 1];
        out->xpos[off + i] = sent.xpos[i + 1];
    }
    if (!parse)
        return;
    syn_prep(&sent);
    syn_parse_sent(&ms, &ls, &sent, &st);
    for (size_t i = 0; i < n; i++) {
        int h = st.head[i + 1];
        out->head[off + i] = (uint32_t)(h <= 0 ? 0 : (size_t)h + off);
        out->deprel[off + i] = st.label[i + 1];
    }
}

enum nd_err nd_syntax_parse(const struct nd_syntax *syntax, const struct nd_syntax_word *words,
                            size_t n, struct nd_syntax_out *out)
{
    for (size_t off = 0; off < n; off += SYN_MAXW)
        piece(syntax, words + off, n - off < SYN_MAXW ? n - off : SYN_MAXW, out, off, 1);
    return ND_OK;
}

void nd_syntax_tag(const struct nd_syntax *syntax, const struct nd_syntax_word *words, size_t n,
                   struct nd_syntax_out *out)
{
    for (size_t off = 0; off < n; off += SYN_MAXW)
        piece(syntax, words + off, n - off < SYN_MAXW ? n - off : SYN_MAXW, out, off, 0);
}
