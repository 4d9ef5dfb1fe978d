/* topics: the loaded model, shared by topics_model.c (loading) and topics.c (assigning). */
#ifndef ND_TOPICS_INT_H
#define ND_TOPICS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ND_TOPICS_MAX 256
#define ND_TOPICS_MAX_CLASS 8

struct nd_topic {
    char code[9];
    int level;
    int parent;              /* index or -1 */
    const char *parent_code; /* "-" for none; resolved into parent once the table is read */
    const char *name;
    /* name is valid UTF-8 (tested once at load): the per-story JSON string skips the check */
    int name_ok;
    /* found once at load: the top-level ancestor (itself at level 1) or -1, the classifier's
     * class of this topic or -1, whether the world class's probability is shared with it */
    int top, cls, world_share;
};

struct nd_topic_term {
    uint16_t topic;
    float weight;
};

/* A word the model knows, in a table of its own (open addressing, linear probing, by the hash
 * nd_evmap_hash gives its key, which every token carries): the story's one lookup per word token
 * finds at once its classifier row, the lexicon term that is the word alone, and how long a term
 * it starts, with no call and no second lookup. Empty slots have klen 0. */
struct nd_topics_word {
    const char *key; /* in word_keys, zero-padded to whole eight-byte units */
    uint32_t tag;    /* the hash's high half (the slot index is from the low bits) */
    uint32_t row;    /* row in weight + 1, or 0 */
    uint32_t term;   /* first index in terms of the one-word term + 1, or 0 */
    uint8_t klen;
    uint8_t maxn; /* the longest term it starts, in words; 0 for none */
};

/* Where a word stands decides its weight (scripts/topics_corpus.py POSITION): the headline, the
 * first lead_n tokens of the body (punctuation counts), the body up to tail_n tokens, the tail. */
struct nd_topics_position {
    float head, lead, body, tail;
    uint32_t lead_n, tail_n;
};

struct nd_topics {
    char *buf;
    struct nd_topic topics[ND_TOPICS_MAX];
    size_t ntopics;
    struct nd_topic_term *terms;
    size_t nterms;
    struct nd_evmap
        *term_map;       /* term key -> first index in terms; a term may feed several topics */
    uint32_t *term_next; /* chain of terms sharing a key */
    struct nd_topics_word *words; /* never more than half full: a probe always ends */
    size_t word_mask;             /* slots - 1 */
    char *word_keys;              /* the words' keys */
    size_t word_keys_used;
    float *weight; /* nclass weights per word */
    size_t nwords;
    /* the classifier: nclass classes, each an IPTC top-level topic (index) or the world class (-1),
     * whose probability is shared among the world topics by their lexicon evidence */
    int nclass;
    int cls_topic[ND_TOPICS_MAX_CLASS];
    int world; /* the world class, or -1 */
    float bias[ND_TOPICS_MAX_CLASS];
    /* per top-level topic: the weights of log(1 + its lexicon points) for each class */
    float lexw[ND_TOPICS_MAX][ND_TOPICS_MAX_CLASS];
    float temperature; /* logits are divided by it (calibration) */
    float event_logit; /* added to the world class per event between two countries */
    int event_cap;     /* counted events at most */
    struct nd_topics_position pos;
    /* the topics coded events speak for (index or -1), found once at load */
    int ev_ir, ev_dip, ev_conflict, ev_sanction, ev_aid;
    int politics; /* the world share's default topic (politics and government), or -1 */
};

/* Load the model records of buf (NUL-terminated; the strings stay in it). ND_OK or an error with
 * errstr filled (line number). */
enum nd_err nd_topics_model_load(struct nd_topics *topics, char *errstr, size_t errsz);
int nd_topics_index(const struct nd_topics *topics, const char *code);

/* Whether a token's key (ND_EVTOK_KEYMAX bytes readable, klen of them the key's) equals a word's
 * key (zero-padded to whole eight-byte units), eight bytes at a time: keys are short. */
static inline int nd_topics_key_equal(const char *tok, const char *word, size_t klen)
{
    for (size_t o = 0; o < klen; o += 8) {
        uint64_t x, y;
        memcpy(&x, tok + o, 8);
        memcpy(&y, word + o, 8);
        x ^= y;
        if (klen - o < 8) /* only the key's bytes of the last unit */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            x &= ~0ull << 8 * (8 - (klen - o));
#else
            x &= ~0ull >> 8 * (8 - (klen - o));
#endif
        if (x)
            return 0;
    }
    return 1;
}

/* The word of a token's key[0..klen) (hash: the token's, nd_evmap_hash of it) in the table
 * words[0..mask], or NULL. Inline: it runs once per word token of every story; the caller holds
 * words and mask in locals, so that no store of its loop makes them be read again. */
static inline const struct nd_topics_word *nd_topics_word_find(const struct nd_topics_word *words,
                                                               size_t mask, const char *key,
                                                               size_t klen, uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    for (size_t j = (size_t)hash & mask;; j = (j + 1) & mask) {
        const struct nd_topics_word *word = &words[j];
        if (!word->klen)
            return NULL;
        if (word->tag == tag && word->klen == klen && nd_topics_key_equal(key, word->key, klen))
            return word;
    }
}

#endif
