/* syntax: part-of-speech tagger and labelled dependency parser for English Universal
 * Dependencies (UPOS, XPOS, HEAD, DEPREL as UD English EWT has them).
 *
 * Tagger: an averaged perceptron over XPOS (Penn tags), decoded greedily left to right with the two
 * previous tags as features; UPOS is then predicted from the word and its XPOS by a second small
 * perceptron. Parser: greedy arc-hybrid transitions (SHIFT, LEFT-ARC, RIGHT-ARC) trained with a
 * dynamic oracle (Goldberg and Nivre 2012) and Zhang and Nivre (2011)-style features over the
 * stack, the buffer and the arcs built so far; the label of an arc is chosen with the transition
 * (score of the move plus score of the label given the head, the dependent and their context).
 * Weights are hashed into fixed tables, so the model is compact and scoring is a few cache lines
 * per feature. Non-projective training trees: see syntax_train.c (only the transitions the dynamic
 * oracle allows are learnt; the tree the parser outputs is always projective).
 *
 * A model is trained by nd_syntax_train (`newsd train-syntax`) and saved as one binary file
 * (models/syntax.bin). A loaded model is read-only: any number of threads may parse with it. */
#ifndef ND_SYNTAX_H
#define ND_SYNTAX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

/* Universal POS tags. 0 is "none" (not tagged); names as CoNLL-U writes them. */
#define ND_UPOS_LIST(X)                                                                            \
    X(ADJ, "ADJ") X(ADP, "ADP") X(ADV, "ADV") X(AUX, "AUX") X(CCONJ, "CCONJ") X(DET, "DET")        \
    X(INTJ, "INTJ") X(NOUN, "NOUN") X(NUM, "NUM") X(PART, "PART") X(PRON, "PRON")                  \
    X(PROPN, "PROPN") X(PUNCT, "PUNCT") X(SCONJ, "SCONJ") X(SYM, "SYM") X(VERB, "VERB") X(X, "X")

/* Penn Treebank tags as UD English EWT uses them (XPOS column). */
#define ND_XPOS_LIST(X)                                                                            \
    X(DOLLAR, "$") X(CLOSEQ, "''") X(COMMA, ",") X(LRB, "-LRB-") X(RRB, "-RRB-") X(PERIOD, ".")    \
    X(COLON, ":") X(ADD, "ADD") X(AFX, "AFX") X(CC, "CC") X(CD, "CD") X(DT, "DT") X(EX, "EX")      \
    X(FW, "FW") X(GW, "GW") X(HYPH, "HYPH") X(IN, "IN") X(JJ, "JJ") X(JJR, "JJR") X(JJS, "JJS")    \
    X(LS, "LS") X(MD, "MD") X(NFP, "NFP") X(NN, "NN") X(NNP, "NNP") X(NNPS, "NNPS") X(NNS, "NNS")  \
    X(PDT, "PDT") X(POS, "POS") X(PRP, "PRP") X(PRPS, "PRP$") X(RB, "RB") X(RBR, "RBR")            \
    X(RBS, "RBS") X(RP, "RP") X(SYM, "SYM") X(TO, "TO") X(UH, "UH") X(VB, "VB") X(VBD, "VBD")      \
    X(VBG, "VBG") X(VBN, "VBN") X(VBP, "VBP") X(VBZ, "VBZ") X(WDT, "WDT") X(WP, "WP")              \
    X(WPS, "WP$") X(WRB, "WRB") X(OPENQ, "``") X(XX, "XX")

/* Dependency relations of UD English EWT (universal relation, ":" subtype). */
#define ND_DEPREL_LIST(X)                                                                          \
    X(ACL, "acl") X(ACL_RELCL, "acl:relcl") X(ADVCL, "advcl") X(ADVCL_RELCL, "advcl:relcl")        \
    X(ADVMOD, "advmod") X(AMOD, "amod") X(APPOS, "appos") X(AUX, "aux") X(AUX_PASS, "aux:pass")    \
    X(CASE, "case") X(CC, "cc") X(CC_PRECONJ, "cc:preconj") X(CCOMP, "ccomp")                      \
    X(COMPOUND, "compound") X(COMPOUND_PRT, "compound:prt") X(CONJ, "conj") X(COP, "cop")          \
    X(CSUBJ, "csubj") X(CSUBJ_OUTER, "csubj:outer") X(CSUBJ_PASS, "csubj:pass") X(DEP, "dep")      \
    X(DET, "det") X(DET_PREDET, "det:predet") X(DISCOURSE, "discourse")                            \
    X(DISLOCATED, "dislocated") X(EXPL, "expl") X(FIXED, "fixed") X(FLAT, "flat")                  \
    X(GOESWITH, "goeswith") X(IOBJ, "iobj") X(LIST, "list") X(MARK, "mark") X(NMOD, "nmod")        \
    X(NMOD_DESC, "nmod:desc") X(NMOD_POSS, "nmod:poss") X(NMOD_UNMARKED, "nmod:unmarked")          \
    X(NSUBJ, "nsubj") X(NSUBJ_OUTER, "nsubj:outer") X(NSUBJ_PASS, "nsubj:pass")                    \
    X(NUMMOD, "nummod") X(OBJ, "obj") X(OBL, "obl") X(OBL_AGENT, "obl:agent")                      \
    X(OBL_UNMARKED, "obl:unmarked") X(ORPHAN, "orphan") X(PARATAXIS, "parataxis")                  \
    X(PUNCT, "punct") X(REPARANDUM, "reparandum") X(ROOT, "root") X(VOCATIVE, "vocative")          \
    X(XCOMP, "xcomp")

#define ND_SYN_ENUM_UPOS(id, name) ND_UPOS_##id,
#define ND_SYN_ENUM_XPOS(id, name) ND_XPOS_##id,
#define ND_SYN_ENUM_DEPREL(id, name) ND_DEP_##id,
enum nd_upos { ND_UPOS_NONE, ND_UPOS_LIST(ND_SYN_ENUM_UPOS) ND_UPOS_COUNT };
enum nd_xpos { ND_XPOS_NONE, ND_XPOS_LIST(ND_SYN_ENUM_XPOS) ND_XPOS_COUNT };
enum nd_deprel { ND_DEP_NONE, ND_DEPREL_LIST(ND_SYN_ENUM_DEPREL) ND_DEP_COUNT };

/* Names as CoNLL-U writes them, indexed by the enums ([0] is "_"). */
extern const char *const nd_upos_names[ND_UPOS_COUNT];
extern const char *const nd_xpos_names[ND_XPOS_COUNT];
extern const char *const nd_deprel_names[ND_DEP_COUNT];
/* Enum value from a name of len bytes; 0 when unknown. */
int nd_upos_from_name(const char *name, size_t len);
int nd_xpos_from_name(const char *name, size_t len);
int nd_deprel_from_name(const char *name, size_t len);
/* The universal relation of a label: ND_DEP_NSUBJ for ND_DEP_NSUBJ_PASS, itself when it has no
 * subtype. */
enum nd_deprel nd_deprel_base(enum nd_deprel rel);

/* Longest sentence parsed as one tree. A longer one is parsed in consecutive pieces of this many
 * words, each piece a tree of its own (its root has head 0). */
#define ND_SYNTAX_MAX_WORDS 256

/* One word of a sentence: its form (UTF-8 bytes, not NUL-terminated), and optionally the XPOS an
 * earlier stage is sure of (0: none; the entities stage gives ND_XPOS_NNP to the capitalised words
 * of a name), which the tagger then takes as it is. */
struct nd_syntax_word {
    const char *form;
    uint32_t len;
    uint8_t xpos_hint; /* enum nd_xpos, or 0 */
};

/* Output arrays of n entries each, caller-owned. head[i] is the 1-based index of word i's head in
 * the sentence, 0 for a root (CoNLL-U HEAD). */
struct nd_syntax_out {
    uint8_t *upos;   /* enum nd_upos */
    uint8_t *xpos;   /* enum nd_xpos */
    uint8_t *deprel; /* enum nd_deprel */
    uint32_t *head;
};

struct nd_syntax;

/* Load a model written by nd_syntax_train. NULL with errstr on failure. */
struct nd_syntax *nd_syntax_load(const char *path, char *errstr, size_t errsz);
void nd_syntax_destroy(struct nd_syntax *syntax);

/* Tag and parse one sentence of n words (n may be 0). Thread-safe; allocates nothing but stack
 * scratch. Always ND_OK (out is always filled). */
enum nd_err nd_syntax_parse(const struct nd_syntax *syntax, const struct nd_syntax_word *words,
                            size_t n, struct nd_syntax_out *out);

/* Tag only (upos, xpos), no parse: the cheaper half. */
void nd_syntax_tag(const struct nd_syntax *syntax, const struct nd_syntax_word *words, size_t n,
                   struct nd_syntax_out *out);

/* Train on CoNLL-U train_path (gzip-compressed or plain), report accuracy on dev_path after each
 * epoch and keep the epoch that scores best on dev (LAS), write the model to out_path. Deterministic
 * for a seed. Progress on log. */
struct nd_syntax_train_opts {
    int epochs;      /* passes over train (0: default) */
    uint64_t seed;   /* shuffling and oracle exploration */
    unsigned hbits;  /* log2 of the parser's weight rows (0: default) */
};
enum nd_err nd_syntax_train(const char *train_path, const char *dev_path, const char *out_path,
                            const struct nd_syntax_train_opts *opts, FILE *log, char *errstr,
                            size_t errsz);

/* `newsd syntax --conllu`: read CoNLL-U text[0..len) and write it to out with UPOS, XPOS, HEAD and
 * DEPREL filled; comments, multiword-token and empty-node lines are kept as they are. Errors name
 * the line. */
enum nd_err nd_syntax_conllu(const struct nd_syntax *syntax, const char *text, size_t len,
                             FILE *out, char *errstr, size_t errsz);
/* `newsd syntax FILE.txt`: tokenise and split raw text with nd_doc_build and write CoNLL-U, one
 * sentence per block with "# text", and in MISC the character span of each token
 * (TokenRange=start:end, code points from the start of the text) and SpaceAfter=No. Blank lines
 * separate paragraphs ("# newpar"). */
enum nd_err nd_syntax_text(const struct nd_syntax *syntax, const char *text, size_t len,
                           FILE *out, char *errstr, size_t errsz);
/* The CoNLL-U nd_syntax_text writes, of a doc already parsed (nd_enrich_parse). */
struct nd_doc;
enum nd_err nd_syntax_write_doc(const struct nd_doc *doc, FILE *out);

#endif
