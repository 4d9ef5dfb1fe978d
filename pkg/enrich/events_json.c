/* events_json: an event as JSON, with the story's caches that let events share their values. */

/* Setting a key given as a string literal: its length is known at compile time, so jansson is not
 * left to strlen it on every set (this runs for every key of every mention and event). */
#define JSON_SET_NEW(obj, lit, value)                                                              \
    json_object_setn_new_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))
#define JSON_SET(obj, lit, value)                                                                  \
    json_object_setn_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))

#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* text[b, e) as a JSON string. When the story was found valid UTF-8 once, a slice that starts and
 * ends on character boundaries is valid too, and skips jansson's check. */
static json_t *slice_json(const struct story_state *st, uint32_t b, uint32_t e)
{
    const unsigned char *t = (const unsigned char *)st->text;
    if (st->utf8_ok && (t[b] & 0xC0) != 0x80 && (e >= st->text_len || (t[e] & 0xC0) != 0x80))
        return json_stringn_nocheck(st->text + b, e - b);
    return json_stringn(st->text + b, e - b);
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as jansson checks it. */
int nd_ev_utf8_valid(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned c = *p;
        uint64_t w;
        if (end - p >= 8 && (memcpy(&w, p, 8), !(w & 0x8080808080808080ull))) {
            p += 8; /* eight ASCII bytes at once: most of an English story */
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* A shared JSON string for a code ("CHN", "GOV": three ASCII capitals, no check needed) or, with
 * code NULL, for a name string that lives as long as the story (model or entity names). */
_Static_assert(2 * MAX_STR_CACHE == 1 << 6 && 2 * MAX_ACTOR_CACHE == 1 << 7,
               "the cache indexes below take 6 and 7 bits");

/* Slot of a cache key in an index of 2^bits entries (Fibonacci hashing). */
static size_t index_slot(uint64_t key, int bits)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static json_t *interned(struct story_state *st, const char *code, const char *name)
{
    json_t *obj;
    uint32_t c4 = 0;
    uint64_t key;
    size_t j;
    if (code)
        memcpy(&c4, code, 4);
    key = code ? c4 : (uint64_t)(uintptr_t)name;
    for (j = index_slot(key, 6); st->str_index[j]; j = (j + 1) & (2 * MAX_STR_CACHE - 1)) {
        const struct str_cache *c = &st->str_cache[st->str_index[j] - 1];
        if (code ? !c->name && !memcmp(c->code, code, 4) : c->name == name)
            return json_incref(c->obj);
    }
    obj = code ? json_string_nocheck(code) : json_string(name);
    if (obj && st->nstr_cache < MAX_STR_CACHE) {
        struct str_cache *c = &st->str_cache[st->nstr_cache++];
        c->name = code ? NULL : name;
        copy_code(c->code, code ? code : "", sizeof(c->code));
        c->obj = json_incref(obj);
        st->str_index[j] = (uint8_t)st->nstr_cache;
    }
    return obj;
}

static json_t *build_actor_json(struct story_state *st, const struct actor_ref *a);

/* An actor's JSON object; a mention that is source or target of several events is built once and
 * shared (jansson counts references), which halves the allocations of an event-dense story. */
static json_t *actor_json(struct story_state *st, const struct actor_ref *a)
{
    uint32_t cc4;
    memcpy(&cc4, a->cc, 4);
    uint64_t key = ((uint64_t)a->b << 40) ^ ((uint64_t)a->e << 20) ^ a->name_b ^
                   ((uint64_t)cc4 << 24) ^ (uint64_t)(uintptr_t)a->name;
    size_t j;
    for (j = index_slot(key, 7); st->actor_index[j]; j = (j + 1) & (2 * MAX_ACTOR_CACHE - 1)) {
        const struct actor_cache *c = &st->actor_cache[st->actor_index[j] - 1];
        if (c->b == a->b && c->e == a->e && c->name == a->name && c->name_b == a->name_b &&
            c->implied == a->implied && !memcmp(c->cc, a->cc, sizeof(c->cc)) &&
            !memcmp(c->sector, a->sector, sizeof(c->sector)))
            return json_incref(c->obj);
    }
    json_t *obj = build_actor_json(st, a);
    if (obj && st->nactor_cache < MAX_ACTOR_CACHE) {
        st->actor_index[j] = (uint8_t)(st->nactor_cache + 1);
        struct actor_cache *c = &st->actor_cache[st->nactor_cache++];
        c->b = a->b;
        c->e = a->e;
        c->name = a->name;
        c->name_b = a->name_b;
        c->implied = a->implied;
        memcpy(c->cc, a->cc, sizeof(c->cc));
        memcpy(c->sector, a->sector, sizeof(c->sector));
        c->obj = obj; /* borrowed: the events array holds the references */
    }
    return obj;
}

static json_t *build_actor_json(struct story_state *st, const struct actor_ref *a)
{
    json_t *obj = json_object();
    /* codes are three ASCII capitals (checked where they come in): no UTF-8 check needed */
    JSON_SET_NEW(obj, "code", interned(st, a->cc, NULL));
    if (a->sector[0])
        JSON_SET_NEW(obj, "sector", interned(st, a->sector, NULL));
    if (a->name)
        JSON_SET_NEW(obj, "name", interned(st, NULL, a->name));
    else if (a->name_e > a->name_b && a->name_e <= st->ntok) {
        uint32_t b = st->toks[a->name_b].start, e = st->toks[a->name_e - 1].end;
        JSON_SET_NEW(obj, "name", slice_json(st, b, e));
    }
    if (a->implied)
        JSON_SET_NEW(obj, "implied", json_true());
    if (a->e > a->b) {
        uint32_t b = st->toks[a->b].start, e = st->toks[a->e - 1].end;
        JSON_SET_NEW(obj, "text", slice_json(st, b, e));
        JSON_SET_NEW(obj, "start", json_integer((json_int_t)st->cps[2 * a->b]));
        JSON_SET_NEW(obj, "end", json_integer((json_int_t)st->cps[2 * (a->e - 1) + 1]));
    }
    return obj;
}

static json_t *group_json(struct story_state *st, const struct group_ref *g)
{
    json_t *members[4], *arr;
    int n = g->n < 4 ? g->n : 4;
    for (int k = 0; k < n; k++)
        members[k] = actor_json(st, &g->a[k]);
    for (size_t c = 0; c < MAX_GROUP_CACHE && c < st->ngroup_cache; c++) {
        const struct group_cache *gc = &st->group_cache[c];
        int same = gc->n == n;
        for (int k = 0; k < n && same; k++)
            same = gc->members[k] == members[k];
        if (same) {
            for (int k = 0; k < n; k++)
                json_decref(members[k]);
            return json_incref(gc->arr);
        }
    }
    arr = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(arr, members[k]);
    if (arr) {
        for (int k = 0; k < n; k++)
            if (!members[k])
                return arr; /* an allocation failed: nothing to share */
        struct group_cache *gc = &st->group_cache[st->ngroup_cache++ % MAX_GROUP_CACHE];
        gc->n = n;
        memcpy(gc->members, members, (size_t)n * sizeof(members[0]));
        gc->arr = arr;
    }
    return arr;
}

/* The confidence's JSON value, one per distinct value in a story. */
static json_t *conf_json(struct story_state *st, double v)
{
    for (size_t k = 0; k < st->nconf_cache; k++)
        if (st->conf_cache[k].v == v)
            return json_incref(st->conf_cache[k].obj);
    json_t *obj = json_real(v);
    if (obj && st->nconf_cache < MAX_CONF_CACHE) {
        st->conf_cache[st->nconf_cache].v = v;
        st->conf_cache[st->nconf_cache++].obj = json_incref(obj);
    }
    return obj;
}
/* The story's cache entry for code, made on first use; NULL when the cache is full or the code too
 * long to be a key (the caller then builds the values itself). */
static const struct code_cache *code_values(struct story_state *st, const char *code)
{
    struct code_cache *c;
    /* the code zero-padded to the key's size, so keys compare as fixed-size blocks */
    char key[sizeof(c->code)] = {0};
    size_t n = strlen(code);
    if (n >= sizeof(key))
        return NULL;
    memcpy(key, code, n);
    for (size_t k = 0; k < st->ncode_cache; k++)
        if (!memcmp(st->code_cache[k].code, key, sizeof(key)))
            return &st->code_cache[k];
    if (st->ncode_cache == MAX_CODE_CACHE)
        return NULL;
    c = &st->code_cache[st->ncode_cache++];
    memcpy(c->code, key, sizeof(key));
    c->pl = nd_ev_plover_of(st->events, code);
    /* codes are ASCII and PLOVER types model constants: no UTF-8 check needed */
    c->type = c->pl ? json_string_nocheck(c->pl->type) : NULL;
    c->cameo = c->pl ? json_string_nocheck(code) : NULL;
    c->intensity = c->pl ? json_real(c->pl->goldstein) : NULL;
    return c;
}

void nd_ev_code_cache_free(struct story_state *st)
{
    for (size_t k = 0; k < st->ncode_cache; k++) {
        json_decref(st->code_cache[k].type);
        json_decref(st->code_cache[k].cameo);
        json_decref(st->code_cache[k].intensity);
    }
    json_decref(st->status[0]);
    json_decref(st->status[1]);
    for (size_t k = 0; k < st->nconf_cache; k++)
        json_decref(st->conf_cache[k].obj);
    for (size_t k = 0; k < st->nstr_cache; k++)
        json_decref(st->str_cache[k].obj);
}

/* doubt: 0 when the verb's own subject is the source; each fallback taken (source from the
 * speaker or the sentence, relaxed pass, implied target) adds one and lowers the confidence. */
void nd_ev_emit(struct story_state *st, size_t s0, size_t s1, const struct trigger *tr,
                const char *code, const struct group_ref *src, const struct group_ref *tgt,
                int planned, int doubt, size_t qb, size_t qe)
{
    const struct code_cache *cv = code_values(st, code);
    const struct plover *pl = cv ? cv->pl : nd_ev_plover_of(st->events, code);
    json_t *ev;
    double conf;
    uint32_t tb = st->toks[tr->b].start, te = st->toks[tr->e - 1].end;
    int pk = planned != 0;
    if (!pl || st->nevents >= MAX_EVENTS)
        return;
    if (!st->status[pk])
        st->status[pk] = json_string_nocheck(pk ? "planned" : "reported");
    /* keys and codes are ASCII constants: the _nocheck calls skip UTF-8 validation; text taken from
     * the story is validated (json_stringn) */
    ev = json_object();
    JSON_SET_NEW(ev, "type", cv ? json_incref(cv->type) : json_string_nocheck(pl->type));
    JSON_SET_NEW(ev, "cameo", cv ? json_incref(cv->cameo) : json_string_nocheck(code));
    JSON_SET_NEW(ev, "source", group_json(st, src));
    JSON_SET_NEW(ev, "target", group_json(st, tgt));
    if (!st->sentence_obj) {
        /* every event of a sentence shares one {start, end} object */
        st->sentence_obj = json_object();
        JSON_SET_NEW(st->sentence_obj, "start", json_integer((json_int_t)st->cps[2 * s0]));
        JSON_SET_NEW(st->sentence_obj, "end", json_integer((json_int_t)st->cps[2 * (s1 - 1) + 1]));
        JSON_SET_NEW(ev, "sentence", st->sentence_obj);
    } else {
        JSON_SET(ev, "sentence", st->sentence_obj);
    }
    json_t *trig = json_object();
    JSON_SET_NEW(trig, "text", slice_json(st, tb, te));
    JSON_SET_NEW(trig, "start", json_integer((json_int_t)st->cps[2 * tr->b]));
    JSON_SET_NEW(trig, "end", json_integer((json_int_t)st->cps[2 * (tr->e - 1) + 1]));
    JSON_SET_NEW(ev, "trigger", trig);
    if (qe > qb) {
        uint32_t b = st->toks[qb].start, e = st->toks[qe - 1].end;
        JSON_SET_NEW(ev, "quote", slice_json(st, b, e));
    }
    JSON_SET_NEW(ev, "status", json_incref(st->status[pk]));
    JSON_SET_NEW(ev, "intensity", cv ? json_incref(cv->intensity) : json_real(pl->goldstein));
    /* a specific pattern, the verb's own subject and a target raise it; later events in a sentence
     * are more often inside subordinate clauses */
    conf = (src->n ? 0.7 : 0.35) - 0.1 * doubt + (tr->pattern ? 0.1 : 0.0) + (tgt->n ? 0.1 : 0.0) -
           0.12 * (double)st->sentence_events;
    conf = conf > 0.95 ? 0.95 : conf < 0.05 ? 0.05 : conf;
    JSON_SET_NEW(ev, "confidence", conf_json(st, conf));
    json_array_append_new(st->out, ev);
    st->nevents++;
    st->sentence_events++;
}
