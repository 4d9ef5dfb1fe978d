/* Inside the event coder (pkg/enrich/events*.c): the loaded model, the per-story coding state and
 * the steps' functions. Not for other modules: events.h is the API.
 *
 *   events_model.c       models/events.model -> struct nd_events, word lists
 *   events_actors.c      actor chunks, groups, subject and object positions
 *   events_predicates.c  triggers (verbs, eventive nouns), CAMEO patterns, negation, plans
 *   events_roles.c       per trigger: source, target and the final code
 *   events_emit.c        an event's typed record (struct nd_event) and its confidence
 *   events.c             the per-story driver (the doc's tokens and sentences) */
#ifndef ND_EVENTS_INT_H
#define ND_EVENTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "enrich/events.h"
#include "enrich/events_lex.h"
#include "story/event.h"

#define MODEL_CAP (64u << 20)
#define MAX_PHRASE 8 /* longest dictionary phrase tried, in tokens */
#define MAX_TOKENS ND_EVLEX_MAX_TOKENS
#define MAX_SPANS 256     /* actor chunks per sentence */
#define MAX_MEMO 128      /* names remembered across a story */
#define MAX_EVENTS 256    /* events per story */
#define PATTERN_WINDOW 10 /* tokens after a verb a pattern may span */
#define FIRST_AHEAD 8     /* tokens between a dictionary slot's prefetch and its lookup */

struct verb {
    const char *lemma;
    char code[6];
    uint8_t speech;
    uint8_t command; /* its lemma is in the commands list */
    uint8_t plan;    /* its lemma is in the plan_lemmas list */
};

struct pattern {
    char code[6];
    uint8_t
        content; /* has a word other than a preposition (else too vague to use without a parse) */
    uint16_t nwords;
    uint32_t words; /* index into words[] */
};

struct link {
    uint32_t pattern;
    uint32_t next; /* UINT32_MAX ends the chain */
};

struct actor {
    const char *name;
    const char *code; /* Phoenix code, "USAGOV" */
    char cc[4];       /* ISO alpha-3, "IGO", or "" for a non-actor ("Reuters") */
    char sector[4];
    char kind; /* C country/place, O organisation, P person */
};

struct synset {
    const char *first; /* members, NUL-separated and consecutive in the model buffer */
    uint32_t n;
};

struct first_info {
    uint32_t masks; /* 8 bits per dictionary: bit n-1 set when a phrase of n tokens starts here */
    uint32_t cls;   /* word_lists bits, and PATTERN_START */
    uint32_t single[4]; /* per dictionary, the value of the one-token phrase (when bit 0 is set) */
};

#define PATTERN_START (1u << 31)
#define PATTERN_PLURAL (1u << 30) /* the singular of this word starts a pattern */

struct nominal {
    char code[6];
    char role; /* 'o' obj, 'p' pair */
};

struct plover {
    char code[6];
    const char *type;
    float goldstein;
};

/* The word lists of models/src/events_words.tsv (W records); the first WL_TOKEN_LISTS, in this
 * order, are the bits of nd_evtok.cls. */
enum word_list {
    WL_PREPS,
    WL_DETS,
    WL_QUANTITIES,
    WL_COLLECTIVES,
    WL_PRONOUNS,
    WL_BE_FORMS,
    WL_NEGATORS,
    WL_MODALS,
    WL_PLAN_WORDS,
    WL_CLAUSE_STOPS,
    WL_AUXILIARIES,
    WL_MEETING_NOUNS,
    WL_PLACES,         /* prepositions of place: a place is no target */
    WL_OBLIQUE_PLACES, /* the same for the parse's obliques, with time */
    WL_DAYS,           /* names of days */
    WL_TIME_WORDS,     /* today, yesterday */
    WL_PARTICIPLES,    /* irregular past participles */
    WL_COMMITMENTS,    /* "offered", "pledged": commitments, events themselves */
    WL_REFUSALS,       /* "declined", "refused" (to) */
    WL_OBLIGATIONS,    /* "must", "should" */
    WL_HAVE_FORMS,     /* "has", "have" (to) */
    WL_CONDITIONALS,   /* "if", "unless" */
    WL_READINESS,      /* "prepared", "ready" (to attack) */
    WL_EXERCISES,      /* "drills", "war games" */
    WL_POSSESSIVES,    /* possessive determiners */
    WL_SIDELINES,      /* "on the sidelines of" */
    WL_ASPECTUALS,     /* "resume", "continue" (to ... doing) */
    WL_PEACEKEEPING,   /* "peacekeeping", "peacekeepers" */
    WL_ETHNIC,         /* "ethnic" */
    WL_TOKEN_LISTS,    /* the lists above are token classes (a bit of nd_evtok.cls each); those
                        * below are looked up by nd_ev_in_list only, on lemmas and codes */
    WL_SPEECH = WL_TOKEN_LISTS, /* verb lemmas of speech */
    WL_COMMANDS,       /* verb lemmas of command: "ordered strikes" */
    WL_PLAN_LEMMAS,    /* verb lemmas that mark a plan ("was being planned"), no events */
    WL_REGIONS,        /* Phoenix codes of regions, lowercase ("mea") */
    WL_COUNT
};
_Static_assert(WL_TOKEN_LISTS <= 30, "token classes share nd_evtok.cls with the two pattern bits");

struct nd_events {
    char *buf; /* the model file, fields NUL-terminated in place */
    struct verb *verbs;
    size_t nverbs;
    struct pattern *patterns;
    size_t npatterns;
    const char **words;
    size_t nwords;
    struct link *links;
    size_t nlinks;
    struct actor *actors;
    size_t nactors;
    char (*sectors)[4];
    size_t nsectors;
    struct nominal *nominals;
    size_t nnominals;
    struct plover *plovers;
    size_t nplovers;
    struct synset *syns;
    size_t nsyns;
    struct first_info *finfo;
    size_t nfinfo, finfo_cap;
    struct nd_evmap *syn_names, *verb_forms, *verb_lemmas, *pat_index, *syn_members, *actor_map,
        *agent_map, *nominal_map, *plover_map,
        *first_len; /* first token (prefixed by kind) -> longest phrase */
    /* models/events_calib.tsv: logistic weights over an event's features (ND_EVENT_FEATURES);
     * without the file the confidence is the fixed-weight score of the uncalibrated coder */
    double calib[ND_EVENT_FEATURES];
    double calib_no_source; /* the confidence of an event without a source */
    int has_calib;
    unsigned roles; /* ND_EVENTS_ROLES_* (events.h): where roles come from */
    /* the word lists (W records): words point into buf */
    const char **lists[WL_COUNT];
    size_t nlists[WL_COUNT], list_cap[WL_COUNT];
};

/* An event's features, the evidence its confidence is computed from (events_emit.c). */
enum ev_feature {
    EVF_BIAS,
    EVF_SOURCE,       /* a source was found */
    EVF_SRC_FALLBACK, /* ... from outside the trigger's clause (speaker, sentence subject) */
    EVF_RELAXED,      /* coded by the relaxed pass */
    EVF_TGT_IMPLIED,  /* the target is the source's own country, not named */
    EVF_PATTERN,      /* words of the CAMEO pattern matched, over 3 (capped at 1) */
    EVF_TARGET,       /* a target was found */
    EVF_ORDER,        /* events before it in its sentence with a source of its own (capped at 3) */
    EVF_NOMINAL,      /* the trigger is a noun ("talks", "dismissal of") */
    EVF_PLANNED,      /* intent or plan */
    EVF_PASSIVE,      /* a passive verb without its agent named ("was arrested in Lebanon") */
    EVF_SENT_EVENTS,  /* events of its sentence (capped at 4) */
    EVF_DEFAULT_CODE, /* a verb's bare default code: no pattern */
    EVF_SRC_SECTOR,   /* the source is an official body or title (GOV, MIL, ...) */
    EVF_QUOTED,       /* inside a quote */
    EVF_PARSE,        /* roles read from the dependency parse (not word order) */
    EVF_ROOT,         /* the parsed verb is its sentence's main predicate (root, or its conj) */
    EVF_DEPTH,        /* clauses between it and the root (ccomp, xcomp, advcl, acl ...), over 3 */
    EVF_THING, /* the parse's subject is a noun that is no actor ("the measures would hit") */
    EVF_ORDER_OTHER, /* events before it in its sentence by other sources (capped at 3) */
    EVF_COUNT
};
_Static_assert(EVF_COUNT == ND_EVENT_FEATURES, "one feature per slot");
/* Feature names as models/events_calib.tsv spells them, by enum ev_feature. */
extern const char *const nd_ev_feature_names[EVF_COUNT];

/* ---------- coding ---------- */

/* One actor chunk in a sentence: "U.S. Secretary of State Antony Blinken", "China", "they". */
struct span {
    uint32_t b, e; /* token range [b, e) */
    char cc[4];
    char sector[4];
    const char *name;        /* display name (model or text), may be NULL */
    uint32_t name_b, name_e; /* name taken from the text when name is NULL and name_e > name_b */
    char pron;               /* 1: a pronoun to resolve */
    char blocked;     /* a known non-actor ("Reuters"): occupies text, never source or target */
    char possessive;  /* followed by 's */
    const char *prep; /* the preposition before it, or NULL */
    char prep_place;  /* ... a preposition of place ("in", "at") */
    uint16_t group;   /* coordinated chunks share a group id */
    char inherited;   /* an agent without a country of its own, given the sentence's */
};

struct memo {
    char key[ND_EVTOK_KEYMAX];
    uint8_t keylen;
    char cc[4];
    char sector[4];
    const char *name;
    uint32_t name_b, name_e;
};

/* A resolved actor as an event carries it; token offsets point into the story. */
struct actor_ref {
    char cc[4];
    char sector[4];
    const char *name;
    uint32_t name_b, name_e;
    uint32_t b, e; /* token range of the mention */
    int implied;   /* not named in the sentence: the source's own country (a domestic act) */
    int inherited; /* an agent given the sentence's country ("army reservists"), not named */
};

struct group_ref {
    struct actor_ref a[4];
    int n;
};

struct story_state {
    const struct nd_events *events;
    const char *text;
    size_t text_len;
    struct nd_evtok *toks; /* the view of doc's tokens (events_lex.h) */
    size_t ntok;
    uint32_t *firsts; /* per token: packed longest phrase per dictionary (see note_first) */
    uint32_t *fidx;   /* per token: its first_info (valid where firsts is not 0) */
    uint32_t *mfirst; /* per token: the first sorted mention starting with it, or UINT32_MAX */
    const struct nd_events_mention **sorted; /* the caller's mentions by start offset */
    size_t nmentions;
    size_t nmemo;
    struct group_ref last_subject; /* the previous sentence's subject, for pronouns */
    struct group_ref last_speaker;
    const struct nd_doc *doc;  /* the story's token stream: sentences, character offsets, parse */
    int parse;                 /* roles from the parse of the sentences nd_doc_parse parsed */
    uint32_t *etok;            /* per doc token: the token holding it, or UINT32_MAX */
    struct nd_event_list *out; /* the caller's: events are appended */
    size_t first_event;        /* out->n when this story began */
    size_t nevents;
    size_t sentence_events;
    /* The array last: only its first nmemo entries are ever read, each written whole when added,
     * so a new state zeroes the fields above and not the memo. */
    struct memo memo[MAX_MEMO];
};

/* Character (code point) offsets of token i's start and end: the doc's. */
#define tok_cstart(st, i) ((st)->doc->toks[(st)->toks[i].dtok].cstart)
#define tok_cend(st, i) ((st)->doc->toks[(st)->toks[i].dtok + (st)->toks[i].dn - 1].cend)

/* Token key equals a string literal (length first: most tokens differ there). */
#define key_is(tok, lit)                                                                           \
    ((tok)->keylen == sizeof(lit) - 1 && !memcmp((tok)->key, lit, sizeof(lit) - 1))

#define has_class(tok, wl) (((tok)->cls >> (wl)) & 1u)
struct trigger {
    size_t b, e; /* token range */
    char code[6];
    int nominal;     /* 0 verb, 'o' or 'p' */
    int pattern;     /* words matched by a pattern (0: the verb's default code) */
    int dropped;     /* not emitted (negated, no actors) */
    int governed;    /* an infinitive coded by the verb before it */
    size_t pair_at;  /* "call ... between": the token after "between" */
    char emitted[6]; /* the code it was emitted with */
    /* a dictionary verb in a place a noun could be ("the talks"): coded only when the sentence
     * has no event otherwise (the relaxed pass of code_sentence) */
    const struct verb *weak;
    /* an appeal (CAMEO 02: "urged X to ...", "called on X to ..."): PLOVER drops appeals, so it
     * is no event itself; it rallies support (053) or opposition (113) when its complement is
     * support or action against someone, and its complement is never the subject's own act */
    int appeal;
    int appealed; /* the complement of an appeal: what someone else is asked to do */
    int command;  /* a verb of command ("ordered"): with an event noun as its object, that event
                   * is the act, the verb none */
    int light;    /* not emitted: the event is its object noun's, whose source is this verb's */
    int agent_noun; /* a meeting noun with a participle's agent ("the meeting chaired by X") */
};

/* What a token can start: for each dictionary (actors, agents, nominal triggers, verbs) a mask of
 * the phrase lengths that begin with it, and its function-word classes. One lookup per token serves
 * all of them, and a phrase is only joined and looked up at lengths that exist. */
static inline int kind_shift(char kind)
{
    return kind == 'A' ? 0 : kind == 'G' ? 8 : kind == 'N' ? 16 : 24;
}

static inline int kind_index(char kind)
{
    return kind_shift(kind) / 8;
}

static inline void copy_code(char *dst, const char *src, size_t sz)
{
    size_t n = strnlen(src, sz - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---------- model (events_model.c) ---------- */

/* Does token key k (length kl) equal word w or its plural? */
int nd_ev_word_or_plural(const char *w, const char *k, size_t kl);
/* The PLOVER entry of a CAMEO code (its longest known prefix), or NULL. */
const struct plover *nd_ev_plover_of(const struct nd_events *events, const char *code);

/* ---------- actors (events_actors.c) ---------- */

/* Longest dictionary phrase of `kind` starting at token i (within [i, end)) among the lengths in
 * mask. Returns its token count and the value, or 0. */
size_t nd_ev_match_phrase_at(const struct story_state *st, const struct nd_evmap *map, char kind,
                             size_t i, size_t end, uint32_t mask, uint32_t *value);
/* Three ASCII capitals ("CHN", "GOV"): what a code from outside must look like to be used. */
int nd_ev_is_code3(const char *s);
/* International and non-state bodies: their members have no country of theirs. */
int nd_ev_is_body_code(const char *cc);
int nd_ev_cap_word(const struct nd_evtok *tok);
/* Actor chunks of sentence [s0, s1) into spans (at most MAX_SPANS); returns the count. */
size_t nd_ev_find_spans(struct story_state *st, size_t s0, size_t s1, struct span *spans);
/* The span holding token tok, or -1. */
int nd_ev_span_at(const struct span *spans, size_t nspans, size_t tok);
/* The actors of span k's coordinated group; a pronoun member takes the actors of `pron`. */
void nd_ev_group_of(const struct span *spans, size_t nspans, size_t k, const struct group_ref *pron,
                    struct group_ref *g);
/* The subject of a trigger: the leftmost (or nearest) group in [after, before) outside a
 * prepositional phrase. Returns the index of the group's first span, or -1. */
int nd_ev_subject_before(const struct span *spans, size_t nspans, size_t after, size_t before,
                         int nearest);
/* 1 when word is in the model's word list wl. */
int nd_ev_in_list(const struct nd_events *events, enum word_list wl, const char *word);
/* First group starting in [from, limit) that can be a target, or -1. */
int nd_ev_object_after(const struct nd_evtok *toks, const struct span *spans, size_t nspans,
                       size_t from, size_t limit, int meeting);
int nd_ev_same_group(const struct group_ref *a, const struct group_ref *b);
/* All actors of the group of one country ("Russian forces and Russian police"). */
int nd_ev_same_country(const struct group_ref *g);
/* What a pronoun subject stands for: after a speech verb in this sentence the speaker, else the
 * previous sentence's subject. */
const struct group_ref *nd_ev_pronoun_ref(const struct story_state *st,
                                          const struct group_ref *speaker);

/* ---------- triggers and patterns (events_predicates.c) ---------- */

size_t nd_ev_clause_start(const struct nd_evtok *toks, size_t s0, size_t i);
size_t nd_ev_clause_end(const struct nd_evtok *toks, size_t i, size_t s1);
/* Most specific pattern of a verb in the tokens [from, limit) after it: its code, or NULL; the
 * number of words it matched in *nmatched. */
const char *nd_ev_match_patterns(const struct nd_events *events, const char *lemma,
                                 const struct nd_evtok *toks, size_t from, size_t limit,
                                 size_t *nmatched);
/* Intent to do X is CAMEO 03x (PLOVER AGREE): the intent code of code's root, or NULL. */
const char *nd_ev_intent_code(const char *code);
/* Quoted segment [qb, qe) of tokens containing token i, if any. */
int nd_ev_quote_around(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, size_t *qb,
                       size_t *qe);
/* Negated by the words before token i: a negator ("not", "n't", "never"), or, lexical_only, just a
 * refusal ("declined to", "refused to", "failed to"). */
int nd_ev_negated(const struct nd_evtok *toks, size_t s0, size_t i, int lexical_only);
int nd_ev_is_planned(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, int nominal);
int nd_ev_is_passive(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i);
/* The triggers of sentence [s0, s1) into trig (at most max); fills speaker and speech_at from the
 * sentence's speech verb. */
size_t nd_ev_find_triggers(struct story_state *st, size_t s0, size_t s1, const struct span *spans,
                           size_t nspans, struct trigger *trig, size_t max,
                           struct group_ref *speaker, size_t *speech_at);
int nd_ev_peacekeepers_before(const struct nd_evtok *toks, size_t cb, size_t b);
int nd_ev_exercise_near(const struct nd_evtok *toks, size_t from, size_t ce);
/* The threat code for the event of an infinitive right after trigger t ("sworn to fight"), when
 * that event is harm (CAMEO 15 to 20); NULL otherwise. */
const char *nd_ev_harmful_complement(const struct nd_evtok *toks, const struct trigger *trig,
                                     size_t ntrig, size_t t, size_t ce);

/* ---------- the parse (events_parse.c) ---------- */

/* The doc token of token tok (a compound's last) when its sentence was parsed and roles come from
 * the parse, else -1. */
int32_t nd_ev_parse_verb(const struct story_state *st, size_t tok);
/* Source and target of the verb at token tok from the parse (groups of spans; a pronoun member
 * takes pron's actors), *passive when it is a passive. 0 when the sentence was not parsed. */
int nd_ev_parse_roles(const struct story_state *st, const struct span *spans, size_t nspans,
                      size_t tok, const struct group_ref *pron, struct group_ref *src,
                      struct group_ref *tgt, int *passive, int *has_object, int *thing_subject);

/* The verb (its token) whose subject or object the mention at tokens [b, e) heads, through
 * modifiers, compounds and flat names; *subject set when it is the subject. SIZE_MAX when it is no
 * verb's subject or object in the parse. */
size_t nd_ev_parse_argument_of(const struct story_state *st, size_t b, size_t e, int *subject);

/* The agent of a participle modifying the noun at tok ("the meeting chaired by Wang and Amorim")
 * into src (when not NULL, a pronoun member taking pron's actors): 1 when there is such an agent
 * holding an actor, 0 when not, -1 when the sentence was not parsed. */
int nd_ev_parse_noun_agent(const struct story_state *st, const struct span *spans, size_t nspans,
                           size_t tok, const struct group_ref *pron, struct group_ref *src);

/* The possessor of the noun at tok ("Russia's overnight missile strikes") into src; 1 when found.
 */
int nd_ev_parse_possessor(const struct story_state *st, const struct span *spans, size_t nspans,
                          size_t tok, const struct group_ref *pron, struct group_ref *src);
/* The noun at token noun is (inside) the object of the verb at token verb. */
int nd_ev_parse_object_names(const struct story_state *st, size_t verb, size_t noun);
/* Clauses between the verb at tok and its sentence's root (0: the root or a conjunct of it;
 * capped at 3), or -1 when not parsed. */
int nd_ev_parse_depth(const struct story_state *st, size_t tok);
/* The verb at tok is the infinitive of an appeal or a demand ("pressing Iran ... to stop providing
 * weapons", "urged Beijing to stop"): what someone is asked to do, not something done. */
int nd_ev_parse_asked(const struct story_state *st, size_t tok);
/* The verb at tok is a to-infinitive modifying a common noun that is no plan: a purpose or an
 * attempt ("an effort to gather", "talks to ease frictions"), nothing done yet. */
int nd_ev_parse_purpose(const struct story_state *st, size_t tok);
/* The verb at tok is planned or intended in the parse: a modal auxiliary ("will meet"), or the
 * infinitive of a verb of intent or plan ("plans to visit", "expected to meet"). */
int nd_ev_parse_planned(const struct story_state *st, size_t tok);
/* The verb at tok (or the verb governing its infinitive) is negated in the parse. */
int nd_ev_parse_negated(const struct story_state *st, size_t tok);
/* The verb at tok is inside a clause marked "if" or "unless". */
int nd_ev_parse_conditional(const struct story_state *st, size_t tok);

/* ---------- roles (events_roles.c) ---------- */

/* Code the events of sentence [s0, s1) of the story. */
void nd_ev_code_sentence(struct story_state *st, size_t s0, size_t s1);

/* ---------- output (events_emit.c) ---------- */

/* What role assignment found for one trigger: the event to emit. */
struct ev_found {
    const struct trigger *tr;
    const char *code;
    const struct group_ref *src, *tgt;
    size_t qb, qe; /* its quote, when qe > qb */
    int planned, src_fallback, relaxed, tgt_implied, parsed;
    int passive; /* a passive without its agent named */
    int clause_depth;  /* parsed: clauses between the verb and the root (0: main predicate) */
    int thing_subject; /* parsed: the subject is a noun that is no actor */
};
/* Append one event of sentence [s0, s1) to the story's list, with its features. */
void nd_ev_emit(struct story_state *st, size_t s0, size_t s1, const struct ev_found *found);
/* After the last sentence: the features that need the whole sentence, then every event's
 * confidence (calibrated when the model has events_calib.tsv). */
void nd_ev_finish(struct story_state *st);

/* Most tokens start no phrase of the dictionary asked: that answer, from the token's masks, is
 * inlined at each call, and only a possible match pays for the call and its phrase buffer. */
static inline size_t match_phrase(const struct story_state *st, const struct nd_evmap *map,
                                  char kind, size_t i, size_t end, uint32_t *value)
{
    uint32_t mask = (st->firsts[i] >> kind_shift(kind)) & 0xff;
    return mask ? nd_ev_match_phrase_at(st, map, kind, i, end, mask, value) : 0;
}

#endif
