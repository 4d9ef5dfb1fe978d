/* First-order Viterbi for the tagger (tagger_viterbi.h). */
#include "enrich/tagger_viterbi.h"

#include <string.h>

#define NL ND_VIT_NL
/* below any real path, and far enough above INT32_MIN that adding a token's scores cannot wrap */
#define NEG (INT32_MIN / 4)

void nd_vit_start(struct nd_vit *v, const uint16_t allow[NL], int a)
{
    memcpy(v->allow, allow, sizeof(v->allow));
    v->len = 0;
    v->a0 = (uint8_t)a;
}

int nd_vit_step(struct nd_vit *v, const int32_t trans[NL][NL], const int32_t t1[NL][NL],
                const int32_t base[NL])
{
    size_t pos = v->len;
    int32_t prev[NL], m[NL], best = NEG;
    uint8_t *bp;
    if (pos == ND_VIT_WINDOW)
        return 0;
    bp = v->bp[pos];
    for (int a = 0; a < NL; a++)
        prev[a] = pos ? v->fwd[pos - 1][a] : a == v->a0 ? 0 : NEG;
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
        int32_t own = v->fwd[pos][labels[pos]], other = NEG;
        for (int x = 0; x < NL; x++)
            if (x != labels[pos] && v->fwd[pos][x] > other)
                other = v->fwd[pos][x];
        margin[pos] = other <= NEG ? 1 << 20 : own > other ? own - other : 0;
    }
    return v->len;
}
