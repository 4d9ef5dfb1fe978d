/* Inside the syntax module (syntax_*.c): weight tables, the per-sentence word features and parser
 * state, and the feature extractors that tagging, parsing and training share. Not for other
 * modules.
 *
 * Words are 1..n, 0 is the artificial ROOT. A feature is a 64-bit hash of (template, values); it
 * selects row (hash >> (64 - bits)) of a table, whose entries add weights to class scores. */
#ifndef ND_SYNTAX_INT_H
#define ND_SYNTAX_INT_H

#include <stdint.h>

#include "enrich/syntax.h"

#define SYN_MAXW ND_SYNTAX_MAX_WORDS
#define SYN_MAX_FEATS 96
/* tag ids beyond the real XPOS: ROOT and "no such position" */
#define SYN_TAG_ROOT ND_XPOS_COUNT
#define SYN_TAG_NONE (ND_XPOS_COUNT + 1)

enum syn_move { SYN_SHIFT, SYN_LEFT, SYN_RIGHT, SYN_NMOVES };

enum syn_tab { SYN_T_XPOS, SYN_T_UPOS, SYN_T_MOVE, SYN_T_LABEL, SYN_NTABS };

/* Run-time table: row r's entries are ent[off[r] .. off[r+1]-1]; weight = w * scale. A table
 * of at most SYN_DENSE_K classes (the moves) is kept dense instead: row r is dense[r * SYN_DENSE_K
 * ..], one cache line per feature and no offset to look up first. */
#define SYN_DENSE_K 4
struct syn_ent {
    int16_t w;
    uint8_t cls, pad;
};
struct syn_table {
    uint32_t bits, k;
    float scale;
    uint32_t nent;
    /* A sparse row of at least `heavy` entries (the bias, frequent words) holds instead, in the
     * same bytes, kpad (k rounded up to 8) int16 weights, one per class: added eight at a time.
     * Set at load; heavy is UINT32_MAX when no row is stored so. */
    uint32_t kpad, heavy;
    uint32_t *off;
    struct syn_ent *ent; /* nent entries: class and weight side by side, one cache miss a row */
    int16_t *dense;
};

/* Training table: dense rows of k weights and the averaging sums (Daume's trick: the average is
 * w - u / c, with u the sum of c * delta over updates). */
struct syn_dense {
    uint32_t bits, k;
    float *w, *u;
};

/* Scores of a table: exactly one of the two is set. */
struct syn_scorer {
    const struct syn_table *t;
    const struct syn_dense *d;
};

/* The lower-case lexicon: sorted hashes (syn_word.lw) of the words train writes in lower case. A
 * capitalised word missing from it is most likely a name ("Wang" at the start of a sentence),
 * one found in it a common word capitalised ("The"). */
struct syn_lex {
    uint64_t *h;
    size_t n;
};

/* The tag dictionary: words frequent in train that nearly always carry one XPOS and one UPOS
 * (a form seen at least SYN_DICT_MIN times with one tag pair 99.5% of the time). Tagging them is a
 * lookup: about half of running text. Sorted by form hash. */
#define SYN_DICT_MIN 20
struct syn_dict_ent {
    uint64_t form;
    uint8_t xpos, upos;
};
struct syn_dict {
    struct syn_dict_ent *e;
    size_t n;
};

struct nd_syntax {
    struct syn_table tabs[SYN_NTABS];
    struct syn_lex lex;
    struct syn_dict dict;
};

/* What the features know of one word. */
struct syn_word {
    uint64_t lw;       /* lower-case form, digits folded to 0 */
    uint64_t shape;    /* Xxxx-dd shape, runs collapsed */
    uint64_t suf2, suf3, suf4, pre1, pre3;
    uint64_t form;     /* the form as written (the tag dictionary's key) */
    uint8_t flags;     /* SYN_W_* */
};
#define SYN_W_UPPER 0x01
#define SYN_W_DIGIT 0x02
#define SYN_W_HYPHEN 0x04
#define SYN_W_ALLCAP 0x08
#define SYN_W_NAMEISH 0x10 /* capitalised and not in the lower-case lexicon */

struct syn_sent {
    size_t n;
    struct syn_word w[SYN_MAXW + 2]; /* 0: ROOT, n+1: past the end */
    uint8_t xpos[SYN_MAXW + 2];      /* predicted (or gold when training on gold) */
    uint8_t upos[SYN_MAXW + 2];
    uint8_t hint[SYN_MAXW + 2]; /* XPOS given by the caller, 0 where none */
    /* What the parser's features read of word x, at [x + 1]; [0] is "no such word" (syn_prep) */
    uint64_t vw[SYN_MAXW + 3], vwp[SYN_MAXW + 3]; /* lw; lw and XPOS */
    uint8_t vp[SYN_MAXW + 3];                     /* XPOS */
};

/* Arc-hybrid configuration: stack of word indexes (bottom is ROOT), buffer front b (n+1 when
 * empty), arcs so far with children kept for the features. */
struct syn_state {
    int16_t stack[SYN_MAXW + 2];
    int sp; /* stack size */
    int b;
    int16_t head[SYN_MAXW + 2]; /* -1: none yet */
    uint8_t label[SYN_MAXW + 2];
    int16_t lc1[SYN_MAXW + 2], lc2[SYN_MAXW + 2], rc1[SYN_MAXW + 2], rc2[SYN_MAXW + 2];
    uint8_t nl[SYN_MAXW + 2], nr[SYN_MAXW + 2];
    uint64_t lset[SYN_MAXW + 2], rset[SYN_MAXW + 2]; /* bit per label of left / right children */
};

/* syntax_feat.c */
void syn_words(struct syn_sent *sent, const struct nd_syntax_word *words, size_t n,
               const struct syn_lex *lex);
/* The lw hash syn_words gives a form (lower case, digits as 0), and its form hash. */
uint64_t syn_lower_hash(const char *form, size_t len);
uint64_t syn_form_hash(const char *form, size_t len);
/* Fill sent's v* arrays from its words and tags: after tagging, before parsing. */
void syn_prep(struct syn_sent *sent);
size_t syn_xpos_feats(const struct syn_sent *sent, size_t i, uint64_t *f);
size_t syn_upos_feats(const struct syn_sent *sent, size_t i, uint64_t *f);
size_t syn_move_feats(const struct syn_sent *sent, const struct syn_state *st, uint64_t *f);
size_t syn_label_feats(const struct syn_sent *sent, const struct syn_state *st, int head, int dep,
                       uint64_t *f);

/* syntax_parse.c: the transition system */
void syn_state_init(struct syn_state *st, size_t n);
int syn_terminal(const struct syn_state *st, size_t n);
/* bit m set when move m is allowed */
unsigned syn_valid(const struct syn_state *st, size_t n);
/* head and dependent the arc move m would make (m is LEFT or RIGHT) */
void syn_arc_of(const struct syn_state *st, int m, int *head, int *dep);
void syn_apply(struct syn_state *st, int m, int label);
/* best class among those with bit set in mask (classes < 64) */
int syn_argmax(const float *scores, uint64_t mask, int k);
/* labels allowed for an arc to head: root only from ROOT */
uint64_t syn_label_mask(int head);
void syn_score(const struct syn_scorer *sc, const uint64_t *f, size_t nf, float *scores);
/* The best-scoring class among those with bit set in mask: syn_argmax of syn_score, without
 * the conversion to float for a run-time table. */
int syn_best(const struct syn_scorer *sc, const uint64_t *f, size_t nf, uint64_t mask);
/* Tag sent (xpos, upos) in place; dict may be NULL. */
void syn_tag_sent(const struct syn_scorer *xs, const struct syn_scorer *us,
                  const struct syn_dict *dict, struct syn_sent *sent);
/* The dictionary entry of a form hash, or NULL. */
const struct syn_dict_ent *syn_dict_find(const struct syn_dict *dict, uint64_t form);
/* Parse sent into st greedily. */
void syn_parse_sent(const struct syn_scorer *ms, const struct syn_scorer *ls,
                    const struct syn_sent *sent, struct syn_state *st);

/* syntax_oracle.c: gh[1..n] gold heads (0 = ROOT). Fills cost[SYN_NMOVES] of the valid moves and
 * returns the mask of the cheapest valid ones. */
unsigned syn_costs(const struct syn_state *st, size_t n, const int16_t *gh, unsigned valid,
                   int *cost);
int syn_projective(const int16_t *gh, size_t n);
/* Follow the cheapest moves (static order: LEFT, RIGHT, SHIFT) from the start: a projective gold
 * tree comes out unchanged. */
void syn_oracle_parse(const int16_t *gh, const uint8_t *glabel, size_t n, struct syn_state *st);

/* syntax_model.c */
enum nd_err syn_model_save(const struct syn_dense *tabs, const struct syn_lex *lex,
                           const struct syn_dict *dict, const char *path, char *errstr,
                           size_t errsz);

#endif
