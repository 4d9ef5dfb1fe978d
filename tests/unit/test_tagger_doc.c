/* The tagger's document vote: mentions of one name in running text agree, by the margins the
 * tagger gave them; a surname after the full name is a person; headlines and tables abstain; the
 * labels stay valid IOB2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/kb.h"
#include "enrich/tagger.h"
#include "enrich/tagger_doc.h"

#define MAXT 64
#define O 0
#define BPER 1
#define IPER 2
#define BORG 3
#define BLOC 5

struct doc {
    struct nd_ner_tok toks[MAXT];
    uint64_t lw[MAXT];
    int32_t margin[MAXT];
    size_t n;
};

/* Appends a sentence of space-separated words; labels[k] and margins[k] for word k. */
static void sentence(struct doc *d, const char *words, const int *labels, const int *margins)
{
    const char *p = words;
    size_t k = 0;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        struct nd_ner_tok *t = &d->toks[d->n];
        assert_true(d->n < MAXT);
        t->s = p;
        t->len = (uint32_t)len;
        t->sent_start = k == 0;
        t->label = (uint8_t)labels[k];
        t->lw = 0;
        d->lw[d->n] = nd_kb_tokhash(p, len);
        d->margin[d->n] = margins ? margins[k] : 100;
        d->n++;
        k++;
        p += len + (sp != NULL);
    }
}

static void test_vote_by_margin(void **state)
{
    static struct doc d;
    static const int l1[] = {BORG, O, O, O, O, O}, m1[] = {10, 0, 0, 0, 0, 0};
    static const int l2[] = {O, O, BPER, O, O, O}, m2[] = {0, 0, 500, 0, 0, 0};
    static const int l3[] = {BORG, O, O, O, O}, m3[] = {20, 0, 0, 0, 0};
    (void)state;
    memset(&d, 0, sizeof(d));
    sentence(&d, "Bernardin said on Monday he would", l1, m1);
    sentence(&d, "aides to Bernardin said he was", l2, m2);
    sentence(&d, "Bernardin was in the hospital", l3, m3);
    assert_int_equal(nd_tagger_doc_vote(d.toks, d.n, d.lw, d.margin), ND_OK);
    assert_int_equal(d.toks[0].label, BPER);
    assert_int_equal(d.toks[8].label, BPER);
    assert_int_equal(d.toks[12].label, BPER);
    /* nothing else moved */
    for (size_t i = 0; i < d.n; i++)
        if (i != 0 && i != 8 && i != 12)
            assert_int_equal(d.toks[i].label, O);
}

static void test_surname_after_full_name(void **state)
{
    static struct doc d;
    static const int l1[] = {O, O, BPER, IPER, O, O, O};
    static const int l2[] = {BLOC, O, O, O};
    static const int l0[] = {BORG, O, O, O, O, O};
    (void)state;
    memset(&d, 0, sizeof(d));
    /* a mention before the full name is not changed by it */
    sentence(&d, "Lindsey is a bank in town", l0, NULL);
    sentence(&d, "said Governor Lawrence Lindsey on the phone", l1, NULL);
    sentence(&d, "Lindsey said it was", l2, NULL);
    assert_int_equal(nd_tagger_doc_vote(d.toks, d.n, d.lw, d.margin), ND_OK);
    assert_int_equal(d.toks[0].label, BORG);
    assert_int_equal(d.toks[8].label, BPER);
    assert_int_equal(d.toks[9].label, IPER);
    assert_int_equal(d.toks[13].label, BPER);
}

static void test_tables_abstain(void **state)
{
    static struct doc d;
    /* a standings line: the city is the team (ORG); in running text it is a place */
    static const int l1[] = {BORG, O, O}, m1[] = {5, 0, 0};
    static const int l2[] = {O, O, O, O, BLOC, O, O}, m2[] = {0, 0, 0, 0, 900, 0, 0};
    (void)state;
    memset(&d, 0, sizeof(d));
    sentence(&d, "DETROIT 5 3", l1, m1);
    sentence(&d, "the game was in Detroit on Sunday", l2, m2);
    assert_int_equal(nd_tagger_doc_vote(d.toks, d.n, d.lw, d.margin), ND_OK);
    assert_int_equal(d.toks[0].label, BORG);
    assert_int_equal(d.toks[7].label, BLOC);
    assert_int_equal(nd_tagger_doc_vote(d.toks, 0, d.lw, d.margin), ND_OK);
}

static void test_multiword_relabel_valid(void **state)
{
    static struct doc d;
    static const int l1[] = {O, O, O, BORG, 4, O}, m1[] = {0, 0, 0, 50, 50, 0};
    static const int l2[] = {O, O, O, BLOC, 6, O}, m2[] = {0, 0, 0, 400, 400, 0};
    (void)state;
    memset(&d, 0, sizeof(d));
    sentence(&d, "ships near the Natuna Islands were", l1, m1);
    sentence(&d, "boats off the Natuna Islands were", l2, m2);
    assert_int_equal(nd_tagger_doc_vote(d.toks, d.n, d.lw, d.margin), ND_OK);
    assert_int_equal(d.toks[3].label, BLOC);
    assert_int_equal(d.toks[4].label, 6);
    for (size_t i = 1; i < d.n; i++) {
        int l = d.toks[i].label, p = d.toks[i - 1].label;
        if (l && !(l & 1))
            assert_true(!d.toks[i].sent_start && p && (p + 1) / 2 == (l + 1) / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_by_margin),
        cmocka_unit_test(test_surname_after_full_name),
        cmocka_unit_test(test_tables_abstain),
        cmocka_unit_test(test_multiword_relabel_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
