/* events_lex: the small lexical layer shared by topics.c and events.c (internal to pkg/enrich).
 *
 * The event coder's and topics' view of the story's one token stream (struct nd_doc, doc.h): the
 * doc's tokens with their key (whose form matches scripts/build_events_model.py: lowercase ASCII,
 * periods dropped, "’" folded to "'") and hash, the flags the coder tests and the word classes it
 * fills. The dictionaries hold hyphenated compounds whole ("free-trade", "counter-attack"), where
 * the doc has UD EWT's tokens (free - trade): the view makes one token of such a run of doc tokens,
 * so it tokenises nothing itself. And the string map used for every dictionary. */
#ifndef ND_EVENTS_LEX_H
#define ND_EVENTS_LEX_H

#include <stddef.h>
#include <stdint.h>

#define ND_EVTOK_KEYMAX 40
/* Tokens coded or scored per story: a cap on the work per story. */
#define ND_EVLEX_MAX_TOKENS 20000

enum {
    ND_EVTOK_WORD = 1 << 0,   /* letters/digits (else punctuation) */
    ND_EVTOK_CAP = 1 << 1,    /* first letter upper-case */
    ND_EVTOK_QUOTE = 1 << 2,  /* a double quote, straight or curly */
    ND_EVTOK_NL = 1 << 3,     /* a line break precedes this token */
    ND_EVTOK_ALLCAP = 1 << 4, /* two or more letters, all upper-case */
};

/* A view token is doc->toks[dtok .. dtok + dn): one doc token, or a hyphenated compound's. */
struct nd_evtok {
    uint32_t start, end; /* byte offsets in the text */
    uint16_t flags;      /* ND_EVTOK_* */
    uint8_t keylen;
    uint8_t dn;      /* doc tokens it spans (1 but for a compound) */
    uint32_t dtok;   /* its first doc token */
    uint32_t cls;    /* word-class bits, filled by the event coder */
    const char *key; /* ND_EVTOK_KEYMAX bytes readable: the doc token's, or the compound's (in the
                        view's own block) */
    uint64_t hash;   /* nd_evmap_hash of key: every map lookup of one token reuses it */
};

/* The view of doc's tokens, at most max of them, as a new block (*out, caller frees with free();
 * it borrows the doc's keys, so it lives no longer than the doc). Returns the count; 0 and *out
 * NULL when the doc has no tokens or memory ran out. max is the caller's cap on work per story. */
struct nd_doc;
size_t nd_evlex_tokens(const struct nd_doc *doc, size_t max, struct nd_evtok **out);

/* String map: key bytes -> uint32 value. Keys are copied into the map's own arena. Not thread-safe
 * for writes; concurrent reads are fine once built. */
struct nd_evmap;
struct nd_evmap *nd_evmap_new(size_t expected);
void nd_evmap_destroy(struct nd_evmap *map);
/* Insert or overwrite. Returns 0, or -1 when out of memory. */
int nd_evmap_put(struct nd_evmap *map, const char *key, size_t klen, uint32_t value);
/* 1 and *value when found, else 0. */
int nd_evmap_get(const struct nd_evmap *map, const char *key, size_t klen, uint32_t *value);
/* The hash a map files a key under (a token carries its key's). */
uint64_t nd_evmap_hash(const char *key, size_t klen);
/* Start loading the slot a key of this hash would sit in: a loop over tokens issues it some tokens
 * ahead, so the lookup does not wait on memory (a model-sized map is mostly out of cache). */
void nd_evmap_prefetch(const struct nd_evmap *map, uint64_t hash);
/* nd_evmap_get with the key's hash already made. */
int nd_evmap_get_hashed(const struct nd_evmap *map, const char *key, size_t klen, uint64_t hash,
                        uint32_t *value);
size_t nd_evmap_count(const struct nd_evmap *map);

/* Join the keys of toks[i..i+n) with single spaces into buf (size bufsz), keeping the length of
 * each shorter phrase: the join of toks[i..i+k+1) is the first lens[k] bytes of buf (not
 * NUL-terminated but for the longest). Returns how many of the n phrases fit (those of 1..that
 * many tokens), so a dictionary tried longest first joins the tokens once, not once per length. */
size_t nd_evlex_join_prefixes(const struct nd_evtok *toks, size_t i, size_t n, char *buf,
                              size_t bufsz, size_t *lens);

#endif
