/* kb: the knowledge base (models/kb.tsv, built by scripts/build_kb.py): countries, capitals,
 * demonyms, international organisations, leaders and officials, cities, regions; plus given-name
 * and surname lists the tagger uses as features. Loaded once; read-only afterwards, so shared by
 * all threads.
 *
 * Matching works on token hashes: nd_kb_tokhash normalises a token (case folded, accents and
 * periods dropped, typographic apostrophe as ') and hashes it, so "U.S." and "US" and "us" hash
 * alike; a phrase is matched token by token through a prefix table, longest match first. */
#ifndef ND_KB_H
#define ND_KB_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "enrich/entities.h"

struct nd_kb;

struct nd_kb_entry {
    const char *key; /* "CHN", "CHN:capital", "Q1234", "IGOUNO" */
    enum nd_ent_type type;
    const char
        *kind; /* "country", "capital", "norp", "igo", "org", "leader", "official", "city", "loc" */
    char country[4];      /* ISO alpha-3 or "" */
    const char *wikidata; /* NULL when unknown */
    const char *role;     /* NULL unless an official */
    const char *canonical;
};

/* Load path (a kb.tsv). NULL with errstr on failure. */
struct nd_kb *nd_kb_load(const char *path, char *errstr, size_t errsz);
void nd_kb_destroy(struct nd_kb *kb);

size_t nd_kb_size(const struct nd_kb *kb);
const struct nd_kb_entry *nd_kb_get(const struct nd_kb *kb, int idx);
/* The country entry for an ISO alpha-3 code, its capital, its demonym; -1 when absent. */
int nd_kb_country(const struct nd_kb *kb, const char *iso3);

uint64_t nd_kb_tokhash(const char *s, size_t len);

/* Longest KB phrase starting at token i of hashes h[0..n): returns the entry index and sets *len,
 * or -1. The caller checks capitalisation. */
int nd_kb_match(const struct nd_kb *kb, const uint64_t *h, size_t n, size_t i, size_t *len);
/* Longest gazetteer phrase (names that are tagger evidence, not KB entities) at token i: its
 * nd_ent_type (PERSON, ORG or GPE), length in *len; -1 when none. */
int nd_kb_gaz_match(const struct nd_kb *kb, const uint64_t *h, size_t n, size_t i, size_t *len);
/* Exact phrase lookup over hashes h[0..n). */
int nd_kb_lookup(const struct nd_kb *kb, const uint64_t *h, size_t n);
/* A person entry with this surname (unique in the KB), or -1. */
int nd_kb_surname_entry(const struct nd_kb *kb, uint64_t h);
int nd_kb_is_given(const struct nd_kb *kb, uint64_t h);
/* Hint that the name and phrase tables will be asked about token hash h soon (a cache prefetch;
 * callers walking many tokens issue it a few tokens ahead). */
void nd_kb_prefetch(const struct nd_kb *kb, uint64_t h);
/* The three answers in one lookup: ND_KB_GIVEN | ND_KB_SURNAME | ND_KB_GEOHEAD. */
#define ND_KB_GIVEN 1u
#define ND_KB_SURNAME 2u
#define ND_KB_GEOHEAD 4u
unsigned nd_kb_name_flags(const struct nd_kb *kb, uint64_t h);
int nd_kb_is_surname(const struct nd_kb *kb, uint64_t h);
/* Whether the word of token hash h heads names of places (seas, islands, straits, rivers) in the
 * KB: the last word, or the first before "of", of several of its LOC entries and of few others.
 * Learnt from the KB's kinds at load, so a new island chain or sea there teaches it. */
int nd_kb_is_geo_head(const struct nd_kb *kb, uint64_t h);

#endif
