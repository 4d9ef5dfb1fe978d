/* events_gate: which sentences of a story the coder could code an event in, so the caller parses
 * only those. Every use the coder makes of the parse is for a trigger (a verb or eventive noun of
 * its dictionaries, events_predicates.c), and every trigger starts at a token whose first-token
 * entry (first_len) has a verb or nominal phrase length, or a meeting noun ("talks ... between").
 * The test reads that same entry for the coder's own tokens, so gate and coder cannot disagree: a
 * sentence the gate refuses holds no token the coder could make a trigger of. */
#include "enrich/events_int.h"

#include <string.h>

#include "enrich/doc.h"

/* Does a phrase of map (its lengths in mask, first_info bits) start at toks[i] (within ntok)? The
 * coder's own match (nd_ev_match_phrase_at) with the sentence's end for a bound; the story's end
 * here, which can only find more. */
static int phrase_at(const struct nd_evmap *map, uint32_t mask, const struct nd_evtok *toks,
                     size_t i, size_t ntok)
{
    char phrase[MAX_PHRASE * (ND_EVTOK_KEYMAX + 1) + 1];
    size_t lens[MAX_PHRASE], longest, nfit;
    uint32_t v;
    mask &= (1u << MAX_PHRASE) - 1;
    if (mask & 1u)
        return 1; /* the one-token phrase: first_len has it only when the map does */
    if (!mask)
        return 0;
    longest = (size_t)(32 - __builtin_clz(mask));
    nfit = nd_evlex_join_prefixes(toks, i, longest < ntok - i ? longest : ntok - i, phrase,
                                  sizeof(phrase), lens);
    for (size_t n = 2; n <= nfit; n++)
        if ((mask >> (n - 1) & 1u) && nd_evmap_get(map, phrase, lens[n - 1], &v))
            return 1;
    return 0;
}

/* Could the coder make a trigger starting at toks[i]: a nominal or verb phrase of its
 * dictionaries, or a meeting noun (whose "between" may come some words later)? */
static int may_trigger(const struct nd_events *events, const struct nd_evtok *toks, size_t i,
                       size_t ntok)
{
    uint32_t idx;
    const struct first_info *fi;
    if (!(toks[i].flags & ND_EVTOK_WORD) ||
        !nd_evmap_get_hashed(events->first_len, toks[i].key, toks[i].keylen, toks[i].hash, &idx))
        return 0;
    fi = &events->finfo[idx];
    return ((fi->cls >> WL_MEETING_NOUNS) & 1u) ||
           phrase_at(events->nominal_map, fi->masks >> kind_shift('N'), toks, i, ntok) ||
           phrase_at(events->verb_forms, fi->masks >> kind_shift('V'), toks, i, ntok);
}

void nd_events_trigger_sentences(const struct nd_events *events, const struct nd_evtok *toks,
                                 size_t ntok, const struct nd_doc *doc, uint8_t *want)
{
    memset(want, 0, doc->nsents);
    if (!events)
        return;
    for (size_t i = 0; i < ntok; i++) {
        size_t s = doc->toks[toks[i].dtok].sent;
        if (!want[s])
            want[s] = (uint8_t)may_trigger(events, toks, i, ntok);
    }
}
