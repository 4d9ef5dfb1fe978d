/* tagger_viterbi: exact decoding of the tagger's label chain within a sentence.
 *
 * A token's score for label c after label a is base[c] + trans[a][c] + t1[a][c] (base: the
 * features of the words; trans: the labels alone; t1: the previous label with the word), in
 * integers (the tagger's quantised weights, the trainer's whole-numbered perceptron weights), and
 * IOB2 forbids some (a, c). Viterbi finds the best labels for the whole sentence, where greedy
 * left-to-right decoding committed to each label before seeing the next word ("Palestinian |
 * Liberation Organisation"). A window holds at most ND_VIT_WINDOW tokens: a longer sentence is
 * decoded in windows, each starting from the label the previous one ended in. A second-order chain
 * (labels two back as well) cost nine times as much and did no better in cross-validation. */
#ifndef ND_TAGGER_VITERBI_H
#define ND_TAGGER_VITERBI_H

#include <stddef.h>
#include <stdint.h>

#define ND_VIT_NL 9
#define ND_VIT_WINDOW 256

struct nd_vit {
    int32_t fwd[ND_VIT_WINDOW][ND_VIT_NL]; /* [pos][c]: best score of a path ending in c there */
    uint8_t bp[ND_VIT_WINDOW][ND_VIT_NL];  /* [pos][c]: the label before c on that path */
    uint16_t allow[ND_VIT_NL];             /* per a, bit c set when c may follow a */
    /* allow's bits for labels 0-7 as lanes: all ones where allowed (amask), else the score a
     * forbidden step takes (afill) */
    int32_t amask[ND_VIT_NL][8], afill[ND_VIT_NL][8];
    size_t len;                            /* tokens in the window */
    uint8_t a0;                            /* the label before the window */
};

/* A window whose first token follows label a (O at a sentence start). allow[a] has bit c set when
 * label c may follow label a. */
void nd_vit_start(struct nd_vit *v, const uint16_t allow[ND_VIT_NL], int a);
/* Add the next token; 0 when the window is full (finish it first). */
int nd_vit_step(struct nd_vit *v, const int32_t trans[ND_VIT_NL][ND_VIT_NL],
                const int32_t t1[ND_VIT_NL][ND_VIT_NL], const int32_t base[ND_VIT_NL]);
/* The best labels of the window's tokens into labels[0..len), and per token (margin may be NULL)
 * how far its label's best path led any other label's when the token was read. Returns len. */
size_t nd_vit_finish(struct nd_vit *v, uint8_t *labels, int32_t *margin);

#endif
