/* First-order Viterbi for the tagger (tagger_viterbi.h). */
#include "enrich/tagger_viterbi.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NL ND_VIT_NL
/* below any real path, and far enough above INT32_MIN that adding a token's scores cannot wrap */
#define NEG (INT32_MIN / 4)

#ifdef __SSE2__
/* max of a and b per lane (SSE2 has no signed 32-bit max) */
static __m128i max_epi32(__m128i a, __m128i b)
{
    __m128i g = _mm_cmpgt_epi32(a, b);
    return _mm_or_si128(_mm_and_si128(g, a), _mm_andnot_si128(g, b));
}

/* x where keep is all ones, else y */
static __m128i select_epi32(__m128i keep, __m128i x, __m128i y)
{
    return _mm_or_si128(_mm_and_si128(keep, x), _mm_andnot_si128(keep, y));
}
#endif

void nd_vit_start(struct nd_vit *v, const uint16_t allow[NL], int a)
{
    memcpy(v->allow, allow, sizeof(v->allow));
#ifdef __SSE2__
    {
        const __m128i bits0 = _mm_setr_epi32(1, 2, 4, 8), bits1 = _mm_setr_epi32(16, 32, 64, 128);
        const __m128i neg = _mm_set1_epi32(NEG);
        for (int p = 0; p < NL; p++) {
            __m128i al = _mm_set1_epi32(allow[p]);
            __m128i k0 = _mm_cmpeq_epi32(_mm_and_si128(al, bits0), bits0);
            __m128i k1 = _mm_cmpeq_epi32(_mm_and_si128(al, bits1), bits1);
            _mm_storeu_si128((__m128i *)&v->amask[p][0], k0);
            _mm_storeu_si128((__m128i *)&v->amask[p][4], k1);
            _mm_storeu_si128((__m128i *)&v->afill[p][0], _mm_andnot_si128(k0, neg));
            _mm_storeu_si128((__m128i *)&v->afill[p][4], _mm_andnot_si128(k1, neg));
        }
    }
#endif
    v->len = 0;
    v->a0 = (uint8_t)a;
}

int nd_vit_step(struct nd_vit *v, const int32_t trans[NL][NL], const int32_t t1[NL][NL],
                const int32_t base[NL])
{
    size_t pos = v->len;
    int32_t start[NL], best = NEG;
    const int32_t *prev = start;
    uint8_t *bp;
    if (pos == ND_VIT_WINDOW)
        return 0;
    bp = v->bp[pos];
    if (pos)
        prev = v->fwd[pos - 1];
    else
        for (int a = 0; a < NL; a++)
            start[a] = a == v->a0 ? 0 : NEG;
#ifdef __SSE2__
    /* labels 0-7 in two vectors of four, label 8 alone: per previous label a, the candidate
     * scores of all labels at once, a lane taking a when it beats the best so far (strictly, so
     * the lowest a wins a tie, as in the scalar loop below) */
    {
        const __m128i neg = _mm_set1_epi32(NEG);
        __m128i m0 = neg, m1 = neg, b0 = _mm_setzero_si128(), b1 = _mm_setzero_si128(), bv;
        int32_t m8 = NEG;
        uint8_t b8 = 0;
        for (int a = 0; a < NL; a++) {
            __m128i p, s0, s1, g0, g1, av;
            if (prev[a] <= NEG)
                continue;
            p = _mm_set1_epi32(prev[a]);
            av = _mm_set1_epi32(a);
            s0 = _mm_add_epi32(_mm_add_epi32(p, _mm_loadu_si128((const __m128i *)&trans[a][0])),
                               _mm_loadu_si128((const __m128i *)&t1[a][0]));
            s1 = _mm_add_epi32(_mm_add_epi32(p, _mm_loadu_si128((const __m128i *)&trans[a][4])),
                               _mm_loadu_si128((const __m128i *)&t1[a][4]));
            s0 = _mm_or_si128(_mm_and_si128(s0, _mm_loadu_si128((const __m128i *)&v->amask[a][0])),
                              _mm_loadu_si128((const __m128i *)&v->afill[a][0]));
            s1 = _mm_or_si128(_mm_and_si128(s1, _mm_loadu_si128((const __m128i *)&v->amask[a][4])),
                              _mm_loadu_si128((const __m128i *)&v->afill[a][4]));
            g0 = _mm_cmpgt_epi32(s0, m0);
            g1 = _mm_cmpgt_epi32(s1, m1);
            m0 = select_epi32(g0, s0, m0);
            m1 = select_epi32(g1, s1, m1);
            b0 = select_epi32(g0, av, b0);
            b1 = select_epi32(g1, av, b1);
            {
                int32_t s = ((v->allow[a] >> 8) & 1) ? prev[a] + trans[a][8] + t1[a][8] : NEG;
                int better = s > m8;
                m8 = better ? s : m8;
                b8 = better ? (uint8_t)a : b8;
            }
        }
        _mm_storel_epi64((__m128i *)bp, _mm_packus_epi16(_mm_packs_epi32(b0, b1), b0));
        bp[8] = b8;
        /* add the token's scores to the reached labels; keep the best path at 0 */
        m0 = select_epi32(_mm_cmpgt_epi32(m0, neg),
                          _mm_add_epi32(m0, _mm_loadu_si128((const __m128i *)&base[0])), neg);
        m1 = select_epi32(_mm_cmpgt_epi32(m1, neg),
                          _mm_add_epi32(m1, _mm_loadu_si128((const __m128i *)&base[4])), neg);
        m8 = m8 > NEG ? m8 + base[8] : NEG;
        bv = max_epi32(max_epi32(m0, m1), _mm_set1_epi32(m8));
        bv = max_epi32(bv, _mm_shuffle_epi32(bv, _MM_SHUFFLE(1, 0, 3, 2)));
        bv = max_epi32(bv, _mm_shuffle_epi32(bv, _MM_SHUFFLE(2, 3, 0, 1)));
        best = _mm_cvtsi128_si32(bv); /* >= NEG: every lane is */
        _mm_storeu_si128((__m128i *)&v->fwd[pos][0],
                         select_epi32(_mm_cmpgt_epi32(m0, neg), _mm_sub_epi32(m0, bv), neg));
        _mm_storeu_si128((__m128i *)&v->fwd[pos][4],
                         select_epi32(_mm_cmpgt_epi32(m1, neg), _mm_sub_epi32(m1, bv), neg));
        v->fwd[pos][8] = m8 > NEG ? m8 - best : NEG;
    }
#else
    int32_t m[NL];
    for (int c = 0; c < NL; c++) {
        m[c] = NEG;
        bp[c] = 0;
    }
    for (int a = 0; a < NL; a++) {
        unsigned allow = v->allow[a];
        if (prev[a] <= NEG)
            continue;
        for (int c = 0; c < NL; c++) {
            int32_t s = ((allow >> c) & 1) ? prev[a] + trans[a][c] + t1[a][c] : NEG;
            int better = s > m[c];
            m[c] = better ? s : m[c];
            bp[c] = better ? (uint8_t)a : bp[c];
        }
    }
    for (int c = 0; c < NL; c++) {
        m[c] = m[c] > NEG ? m[c] + base[c] : NEG;
        best = m[c] > best ? m[c] : best;
    }
    /* keep the best path at 0: scores stay small however long the window */
    for (int c = 0; c < NL; c++)
        v->fwd[pos][c] = m[c] > NEG ? m[c] - best : NEG;
#endif
    v->len++;
    return 1;
}

size_t nd_vit_finish(struct nd_vit *v, uint8_t *labels, int32_t *margin)
{
    int c = 0;
    if (!v->len)
        return 0;
    for (int x = 1; x < NL; x++)
        if (v->fwd[v->len - 1][x] > v->fwd[v->len - 1][c])
            c = x;
    for (size_t pos = v->len; pos-- > 0;) {
        labels[pos] = (uint8_t)c;
        c = v->bp[pos][c];
    }
    for (size_t pos = 0; margin && pos < v->len; pos++) {
        const int32_t *f = v->fwd[pos];
        int32_t own = f[labels[pos]], other = NEG;
#ifdef __SSE2__
        /* the best of the other labels: the label's own lane set to NEG, then the max of all */
        const __m128i neg = _mm_set1_epi32(NEG), lab = _mm_set1_epi32(labels[pos]);
        __m128i x0 = _mm_loadu_si128((const __m128i *)&f[0]);
        __m128i x1 = _mm_loadu_si128((const __m128i *)&f[4]), o;
        x0 = select_epi32(_mm_cmpeq_epi32(lab, _mm_setr_epi32(0, 1, 2, 3)), neg, x0);
        x1 = select_epi32(_mm_cmpeq_epi32(lab, _mm_setr_epi32(4, 5, 6, 7)), neg, x1);
        o = max_epi32(max_epi32(x0, x1), _mm_set1_epi32(labels[pos] == 8 ? NEG : f[8]));
        o = max_epi32(o, _mm_shuffle_epi32(o, _MM_SHUFFLE(1, 0, 3, 2)));
        o = max_epi32(o, _mm_shuffle_epi32(o, _MM_SHUFFLE(2, 3, 0, 1)));
        other = _mm_cvtsi128_si32(o);
#else
        for (int x = 0; x < NL; x++)
            if (x != labels[pos] && f[x] > other)
                other = f[x];
#endif
        margin[pos] = other <= NEG ? 1 << 20 : own > other ? own - other : 0;
    }
    return v->len;
}
