/* The tagger's Viterbi (tagger_viterbi.c): its vector step gives the labels, backpointers and
 * margins of the plain scalar recurrence it replaced (ties to the lowest previous label, IOB2's
 * forbidden steps never taken), and the labels are the best-scoring allowed sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "enrich/tagger_viterbi.h"

#define NL ND_VIT_NL
#define NEG (INT32_MIN / 4)

static uint16_t allow_iob2[NL];

/* IOB2 over O, B-X, I-X for four types: I-X only after B-X or I-X (tagger.c's allowed) */
static void make_allow(void)
{
    for (int a = 0; a < NL; a++) {
        allow_iob2[a] = 0;
        for (int c = 0; c < NL; c++) {
            int ok = c == 0 || (c & 1) || (a != 0 && (a + 1) / 2 == (c + 1) / 2);
            allow_iob2[a] |= (uint16_t)(ok << c);
        }
    }
}

static uint64_t rng = 88172645463325252ull;
static int32_t rnd(int32_t range)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int32_t)(rng % (uint64_t)(2 * range + 1)) - range;
}

/* the scalar recurrence, as the tagger had it */
struct ref {
    int32_t fwd[64][NL];
    uint8_t bp[64][NL];
};

static void ref_decode(const uint16_t allow[NL], int a0, size_t len, const int32_t trans[NL][NL],
                       const int32_t (*t1)[NL][NL], const int32_t (*base)[NL], uint8_t *labels,
                       int32_t *margin, struct ref *r)
{
    for (size_t pos = 0; pos < len; pos++) {
        int32_t prev[NL], m[NL], best = NEG;
        for (int a = 0; a < NL; a++)
            prev[a] = pos ? r->fwd[pos - 1][a] : a == a0 ? 0 : NEG;
        for (int c = 0; c < NL; c++) {
            m[c] = NEG;
            r->bp[pos][c] = 0;
        }
        for (int a = 0; a < NL; a++) {
            if (prev[a] <= NEG)
                continue;
            for (int c = 0; c < NL; c++) {
                int32_t s = ((allow[a] >> c) & 1) ? prev[a] + trans[a][c] + t1[pos][a][c] : NEG;
                if (s > m[c]) {
                    m[c] = s;
                    r->bp[pos][c] = (uint8_t)a;
                }
            }
        }
        for (int c = 0; c < NL; c++) {
            m[c] = m[c] > NEG ? m[c] + base[pos][c] : NEG;
            best = m[c] > best ? m[c] : best;
        }
        for (int c = 0; c < NL; c++)
            r->fwd[pos][c] = m[c] > NEG ? m[c] - best : NEG;
    }
    {
        int c = 0;
        for (int x = 1; x < NL; x++)
            if (r->fwd[len - 1][x] > r->fwd[len - 1][c])
                c = x;
        for (size_t pos = len; pos-- > 0;) {
            labels[pos] = (uint8_t)c;
            c = r->bp[pos][c];
        }
    }
    for (size_t pos = 0; pos < len; pos++) {
        int32_t own = r->fwd[pos][labels[pos]], other = NEG;
        for (int x = 0; x < NL; x++)
            if (x != labels[pos] && r->fwd[pos][x] > other)
                other = r->fwd[pos][x];
        margin[pos] = other <= NEG ? 1 << 20 : own > other ? own - other : 0;
    }
}

static int32_t path_score(int a0, size_t len, const uint8_t *lab, const int32_t trans[NL][NL],
                          const int32_t (*t1)[NL][NL], const int32_t (*base)[NL], int *ok)
{
    int32_t s = 0;
    int prev = a0;
    *ok = 1;
    for (size_t pos = 0; pos < len; pos++) {
        if (!((allow_iob2[prev] >> lab[pos]) & 1))
            *ok = 0;
        s += trans[prev][lab[pos]] + t1[pos][prev][lab[pos]] + base[pos][lab[pos]];
        prev = lab[pos];
    }
    return s;
}

/* random weights in [-range, range] for a window of len tokens */
static void fill(int32_t trans[NL][NL], int32_t (*t1)[NL][NL], int32_t (*base)[NL], size_t len,
                 int32_t range)
{
    for (int a = 0; a < NL; a++)
        for (int c = 0; c < NL; c++)
            trans[a][c] = rnd(range);
    for (size_t p = 0; p < len; p++)
        for (int a = 0; a < NL; a++) {
            base[p][a] = rnd(range);
            for (int c = 0; c < NL; c++)
                t1[p][a][c] = rnd(range);
        }
}

/* random windows, small weights (many ties) and large ones: the same as the scalar recurrence */
static void test_same_as_scalar(void **state)
{
    static struct nd_vit v;
    static struct ref r;
    static int32_t t1[64][NL][NL], base[64][NL];
    int32_t trans[NL][NL];
    (void)state;
    make_allow();
    for (int round = 0; round < 400; round++) {
        int32_t range = round % 2 ? 3 : 100000;
        size_t len = 1 + (size_t)(round % 40);
        int a0 = round % 3 ? 0 : (int)((unsigned)round % NL);
        uint8_t lab[64], rlab[64];
        int32_t margin[64], rmargin[64];
        fill(trans, t1, base, len, range);
        nd_vit_start(&v, allow_iob2, a0);
        for (size_t p = 0; p < len; p++)
            assert_int_equal(nd_vit_step(&v, (const int32_t(*)[NL])trans,
                                         (const int32_t(*)[NL])t1[p], base[p]),
                             1);
        ref_decode(allow_iob2, a0, len, (const int32_t(*)[NL])trans,
                   (const int32_t(*)[NL][NL])t1, (const int32_t(*)[NL])base, rlab, rmargin, &r);
        assert_int_equal(nd_vit_finish(&v, lab, margin), len);
        for (size_t p = 0; p < len; p++) {
            assert_int_equal(lab[p], rlab[p]);
            assert_int_equal(margin[p], rmargin[p]);
            assert_memory_equal(v.fwd[p], r.fwd[p], sizeof(v.fwd[p]));
            assert_memory_equal(v.bp[p], r.bp[p], sizeof(v.bp[p]));
        }
    }
}

/* short windows against every allowed sequence: the decoded one scores the best */
static void test_best_sequence(void **state)
{
    static struct nd_vit v;
    static int32_t t1[3][NL][NL], base[3][NL];
    int32_t trans[NL][NL];
    (void)state;
    make_allow();
    for (int round = 0; round < 30; round++) {
        uint8_t lab[3], seq[3];
        int32_t best = INT32_MIN, got;
        int ok;
        fill(trans, t1, base, 3, 1000);
        nd_vit_start(&v, allow_iob2, 0);
        for (size_t p = 0; p < 3; p++)
            nd_vit_step(&v, (const int32_t(*)[NL])trans, (const int32_t(*)[NL])t1[p], base[p]);
        assert_int_equal(nd_vit_finish(&v, lab, NULL), 3);
        got = path_score(0, 3, lab, (const int32_t(*)[NL])trans, (const int32_t(*)[NL][NL])t1,
                         (const int32_t(*)[NL])base, &ok);
        assert_true(ok);
        for (int x = 0; x < NL * NL * NL; x++) {
            int32_t s;
            seq[0] = (uint8_t)(x % NL);
            seq[1] = (uint8_t)(x / NL % NL);
            seq[2] = (uint8_t)(x / (NL * NL));
            s = path_score(0, 3, seq, (const int32_t(*)[NL])trans, (const int32_t(*)[NL][NL])t1,
                           (const int32_t(*)[NL])base, &ok);
            if (ok && s > best)
                best = s;
        }
        assert_int_equal(got, best);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_scalar),
        cmocka_unit_test(test_best_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
