/* Topic assignment: see topics.h. Model records (tab-separated, kind first):
 *   T code level parent name | L term code weight | B five class codes | Q five log priors
 *   W word five log-likelihoods */
#include "enrich/topics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "enrich/events_lex.h"

#define MODEL_CAP (16u << 20)
#define MAX_TOPICS 256
#define MAX_TERMS 4096
#define NCLASS 5
#define MAX_TOKENS ND_EVLEX_MAX_TOKENS
#define MAX_OUT 10
#define MAX_EVIDENCE 4
#define WORD_AHEAD 8 /* tokens between a word slot's prefetch and its lookup */
#define THRESHOLD 1.3 /* compressed score for a topic to be assigned: one clear subtopic term */

struct topic {
    char code[9];
    int level;
    int parent; /* index or -1 */
    const char *name;
    /* name is valid UTF-8 (tested once at load): the per-story JSON string skips the check */
    int name_ok;
};

struct term {
    uint16_t topic;
    float weight;
};

struct nd_topics {
    char *buf;
    struct topic topics[MAX_TOPICS];
    size_t ntopics;
    struct term *terms;
    size_t nterms;
    struct nd_evmap
        *term_map;       /* term key -> first index in terms; a term may feed several topics */
    uint32_t *term_next; /* chain of terms sharing a key */
    struct nd_evmap
        *word_map; /* word -> row in lik + 1 (low 24 bits) | longest term it starts << 24 */
    float *lik;    /* NCLASS log-likelihoods per word */
    size_t nwords;
    float prior[NCLASS];
    int cls_topic[NCLASS];
    int has_nb;
    /* the topics coded events speak for (index or -1), found once at load */
    int ev_ir, ev_dip, ev_conflict, ev_sanction, ev_aid;
};

static int topic_index(const struct nd_topics *topics, const char *code)
{
    for (size_t i = 0; i < topics->ntopics; i++)
        if (!strcmp(topics->topics[i].code, code))
            return (int)i;
    return -1;
}

static enum nd_err model_load(struct nd_topics *topics, char *errstr, size_t errsz)
{
    enum nd_err err = ND_OK;
    size_t tcap = 0, wcap = 0, lineno = 0;
    char *line = topics->buf, *next;
    for (; line && *line; line = next) {
        char *f[8];
        int nf = 0;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        f[nf++] = line;
        for (char *p = line; *p && nf < 8; p++)
            if (*p == '\t') {
                *p = '\0';
                f[nf++] = p + 1;
            }
        if (line[0] == 'T' && nf >= 5 && topics->ntopics < MAX_TOPICS) {
            struct topic *t = &topics->topics[topics->ntopics++];
            snprintf(t->code, sizeof(t->code), "%s", f[1]);
            t->level = atoi(f[2]);
            t->parent = strcmp(f[3], "-") ? topic_index(topics, f[3]) : -1;
            t->name = f[4];
            json_t *probe = json_string(t->name);
            t->name_ok = probe != NULL;
            json_decref(probe);
        } else if (line[0] == 'L' && nf >= 4) {
            int ti = topic_index(topics, f[2]);
            uint32_t head = UINT32_MAX;
            if (ti < 0) {
                err = ND_ERR_INVALID;
                goto out;
            }
            if (topics->nterms >= tcap) {
                size_t ncap = tcap ? tcap * 2 : 512;
                struct term *nt = realloc(topics->terms, ncap * sizeof(*nt));
                uint32_t *nn = nt ? realloc(topics->term_next, ncap * sizeof(*nn)) : NULL;
                if (!nt) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
                topics->terms = nt;
                if (!nn) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
                topics->term_next = nn;
                tcap = ncap;
            }
            nd_evmap_get(topics->term_map, f[1], strlen(f[1]), &head);
            {
                const char *sp = strchr(f[1], ' ');
                size_t flen = sp ? (size_t)(sp - f[1]) : strlen(f[1]);
                uint32_t nw = 1, old = 0;
                for (const char *q = f[1]; *q; q++)
                    nw += *q == ' ';
                nd_evmap_get(topics->word_map, f[1], flen, &old);
                if (nw > (old >> 24) &&
                    nd_evmap_put(topics->word_map, f[1], flen, (old & 0xffffffu) | (nw << 24))) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
            }
            topics->terms[topics->nterms] =
                (struct term){.topic = (uint16_t)ti, .weight = strtof(f[3], NULL)};
            topics->term_next[topics->nterms] = head;
            if (nd_evmap_put(topics->term_map, f[1], strlen(f[1]), (uint32_t)topics->nterms++)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
        } else if (line[0] == 'B' && nf >= 1 + NCLASS) {
            for (int c = 0; c < NCLASS; c++)
                if ((topics->cls_topic[c] = topic_index(topics, f[1 + c])) < 0) {
                    err = ND_ERR_INVALID;
                    goto out;
                }
            topics->has_nb = 1;
        } else if (line[0] == 'Q' && nf >= 1 + NCLASS) {
            for (int c = 0; c < NCLASS; c++)
                topics->prior[c] = strtof(f[1 + c], NULL);
        } else if (line[0] == 'W' && nf >= 2 + NCLASS) {
            if (topics->nwords >= wcap) {
                size_t ncap = wcap ? wcap * 2 : 4096;
                float *nl = realloc(topics->lik, ncap * NCLASS * sizeof(*nl));
                if (!nl) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
                topics->lik = nl;
                wcap = ncap;
            }
            for (int c = 0; c < NCLASS; c++)
                topics->lik[topics->nwords * NCLASS + (size_t)c] = strtof(f[2 + c], NULL);
            uint32_t old = 0;
            nd_evmap_get(topics->word_map, f[1], strlen(f[1]), &old);
            if (nd_evmap_put(topics->word_map, f[1], strlen(f[1]),
                             (old & 0xff000000u) | (uint32_t)(++topics->nwords))) {
                err = ND_ERR_NOMEM;
                goto out;
            }
        } else {
            err = ND_ERR_INVALID;
            goto out;
        }
    }
    if (!topics->ntopics) {
        snprintf(errstr, errsz, "topics model: no topics");
        return ND_ERR_INVALID;
    }
    return ND_OK;
out:
    if (err == ND_ERR_INVALID)
        snprintf(errstr, errsz, "topics model: line %zu: malformed record", lineno);
    else
        snprintf(errstr, errsz, "topics model: out of memory at line %zu", lineno);
    return err;
}

struct nd_topics *nd_topics_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_buf path;
    size_t len;
    enum nd_err err;
    struct nd_topics *topics = calloc(1, sizeof(*topics));
    if (!topics) {
        snprintf(errstr, errsz, "topics model: out of memory");
        return NULL;
    }
    if ((err = nd_path_join(&path, models_dir, "topics.model")) == ND_OK)
        err = nd_file_read(path.data, MODEL_CAP, &topics->buf, &len);
    nd_buf_free(&path);
    if (err) {
        snprintf(errstr, errsz, "topics model %s/topics.model: %s", models_dir, nd_err_str(err));
        goto out;
    }
    topics->term_map = nd_evmap_new(1024);
    topics->word_map = nd_evmap_new(8192);
    if (!topics->term_map || !topics->word_map) {
        snprintf(errstr, errsz, "topics model: out of memory");
        goto out;
    }
    if (model_load(topics, errstr, errsz) != ND_OK)
        goto out;
    topics->ev_ir = topic_index(topics, "20000638");
    topics->ev_dip = topic_index(topics, "20000639");
    topics->ev_conflict = topic_index(topics, "20000056");
    topics->ev_sanction = topic_index(topics, "20000642");
    topics->ev_aid = topic_index(topics, "20000643");
    return topics;
out:
    nd_topics_destroy(topics);
    return NULL;
}

void nd_topics_destroy(struct nd_topics *topics)
{
    if (!topics)
        return;
    nd_evmap_destroy(topics->term_map);
    nd_evmap_destroy(topics->word_map);
    free(topics->terms);
    free(topics->term_next);
    free(topics->lik);
    free(topics->buf);
    free(topics);
}

struct evidence {
    const char *s[MAX_EVIDENCE];
    size_t len[MAX_EVIDENCE];
    int n;
};

struct scoring {
    double score[MAX_TOPICS];
    struct evidence ev[MAX_TOPICS];
    double post[NCLASS];
};

/* A zeroed scoring but for the evidence strings, which are read only below each count: 2 KB
 * cleared per story instead of 20. */
static struct scoring *scoring_new(void)
{
    struct scoring *sc = malloc(sizeof(*sc));
    if (!sc)
        return NULL;
    memset(sc->score, 0, sizeof(sc->score));
    memset(sc->post, 0, sizeof(sc->post));
    for (size_t t = 0; t < MAX_TOPICS; t++)
        sc->ev[t].n = 0;
    return sc;
}

static void add_evidence(struct evidence *ev, const char *s, size_t len)
{
    for (int k = 0; k < ev->n; k++)
        if (ev->len[k] == len && !strncasecmp(ev->s[k], s, len))
            return;
    if (ev->n < MAX_EVIDENCE) {
        ev->s[ev->n] = s;
        ev->len[ev->n++] = len;
    }
}

/* Lexicon and classifier over the tokens. */
static void score_text(const struct nd_topics *topics, const char *text,
                       const struct nd_evtok *toks, size_t ntok, struct scoring *sc)
{
    double ll[NCLASS];
    char phrase[3 * (ND_EVTOK_KEYMAX + 1) + 1];
    size_t lens[sizeof(phrase)]; /* a phrase of k tokens that fits takes k - 1 bytes of spaces */
    for (int c = 0; c < NCLASS; c++)
        ll[c] = topics->prior[c];
    for (size_t i = 0; i < WORD_AHEAD && i < ntok; i++)
        nd_evmap_prefetch(topics->word_map, toks[i].hash);
    for (size_t i = 0; i < ntok; i++) {
        uint32_t v;
        /* the word slot WORD_AHEAD tokens on starts loading now (the map is mostly not in cache) */
        if (i + WORD_AHEAD < ntok)
            nd_evmap_prefetch(topics->word_map, toks[i + WORD_AHEAD].hash);
        if (!(toks[i].flags & ND_EVTOK_WORD))
            continue;
        uint32_t w;
        if (!nd_evmap_get_hashed(topics->word_map, toks[i].key, toks[i].keylen, toks[i].hash, &w))
            continue;
        if (topics->has_nb && (w & 0xffffffu))
            for (int c = 0; c < NCLASS; c++)
                ll[c] += topics->lik[(size_t)((w & 0xffffffu) - 1) * NCLASS + (size_t)c];
        /* the phrases of n tokens here, longest first: one join, each shorter one its prefix */
        size_t nmax = w >> 24, nfit;
        if (nmax > ntok - i)
            nmax = ntok - i;
        nfit = nmax ? nd_evlex_join_prefixes(toks, i, nmax, phrase, sizeof(phrase), lens) : 0;
        for (size_t n = nfit; n >= 1; n--) {
            if (!nd_evmap_get(topics->term_map, phrase, lens[n - 1], &v))
                continue;
            for (uint32_t t = v; t != UINT32_MAX; t = topics->term_next[t]) {
                const struct term *term = &topics->terms[t];
                /* repeated mentions count, with diminishing returns (see the log below) */
                sc->score[term->topic] += term->weight;
                add_evidence(&sc->ev[term->topic], text + toks[i].start,
                             toks[i + n - 1].end - toks[i].start);
            }
            break;
        }
    }
    if (topics->has_nb) {
        double m = ll[0], z = 0;
        for (int c = 1; c < NCLASS; c++)
            m = ll[c] > m ? ll[c] : m;
        for (int c = 0; c < NCLASS; c++)
            z += exp(ll[c] - m);
        for (int c = 0; c < NCLASS; c++)
            sc->post[c] = exp(ll[c] - m) / z;
    }
}

/* The fields of an event object read here, in one walk over its keys: a lookup by name hashes
 * the name each time, and an event has about ten keys. */
static void event_fields(const json_t *ev, const char **type, const char **cameo,
                         const json_t **src, const json_t **tgt)
{
    /* the coder sets these four first: the walk ends when it has them, not after the ten keys */
    for (void *it = json_object_iter((json_t *)ev); it && !(*type && *cameo && *src && *tgt);
         it = json_object_iter_next((json_t *)ev, it)) {
        const char *key = json_object_iter_key(it);
        if (key[0] == 't' && !strcmp(key, "type"))
            *type = json_string_value(json_object_iter_value(it));
        else if (key[0] == 'c' && !strcmp(key, "cameo"))
            *cameo = json_string_value(json_object_iter_value(it));
        else if (key[0] == 's' && !strcmp(key, "source"))
            *src = json_object_iter_value(it);
        else if (key[0] == 't' && !strcmp(key, "target"))
            *tgt = json_object_iter_value(it);
    }
}

/* An actor object's "code", by the same walk. */
static const char *actor_code(const json_t *actor)
{
    for (void *it = json_object_iter((json_t *)actor); it;
         it = json_object_iter_next((json_t *)actor, it))
        if (!strcmp(json_object_iter_key(it), "code"))
            return json_string_value(json_object_iter_value(it));
    return NULL;
}

/* An event type against a name: the first letters, which tell most names apart, before strcmp. */
static inline int type_is(const char *type, const char *name)
{
    return type[0] == name[0] && !strcmp(type, name);
}

/* Coded events are entity evidence: two countries meeting is international relations. */
static void score_events(const struct nd_topics *topics, const json_t *events, struct scoring *sc)
{
    size_t i;
    const json_t *ev;
    int ir = topics->ev_ir, dip = topics->ev_dip, conflict = topics->ev_conflict,
        sanction = topics->ev_sanction, aid = topics->ev_aid;
    json_array_foreach(events, i, ev)
    {
        const char *type = NULL, *cameo = NULL;
        const json_t *src = NULL, *tgt = NULL;
        event_fields(ev, &type, &cameo, &src, &tgt);
        const char *sc_cc = actor_code(json_array_get(src, 0));
        const char *tg_cc = actor_code(json_array_get(tgt, 0));
        int target;
        if (!type)
            continue;
        if (type_is(type, "CONSULT") || type_is(type, "AGREE") || type_is(type, "SUPPORT") ||
            type_is(type, "REJECT") || type_is(type, "ACCUSE") || type_is(type, "REQUEST"))
            target = dip;
        else if (type_is(type, "ASSAULT") || type_is(type, "MOBILIZE"))
            target = conflict;
        else if (type_is(type, "SANCTION") || (cameo && !strncmp(cameo, "163", 3)))
            target = sanction;
        else if (type_is(type, "AID"))
            target = aid;
        else
            target = -1;
        int international = sc_cc && tg_cc && strcmp(sc_cc, tg_cc);
        if (target >= 0 && international) {
            sc->score[target] += 0.75;
            add_evidence(&sc->ev[target], type, strlen(type));
        }
        if (ir >= 0 && international) {
            sc->score[ir] += 0.5;
            add_evidence(&sc->ev[ir], "events between countries", 24);
        }
    }
}

json_t *nd_topics_assign(const struct nd_topics *topics, const char *text, size_t len,
                         const json_t *events)
{
    struct nd_evtok *toks = NULL;
    size_t ntok;
    json_t *out;

    if (!topics || !text || !len)
        return json_array();
    ntok = nd_evlex_tokenize_alloc(text, len, MAX_TOKENS, &toks);
    out = nd_topics_assign_tokens(topics, text, len, toks, ntok, events);
    free(toks);
    return out;
}

json_t *nd_topics_assign_tokens(const struct nd_topics *topics, const char *text, size_t len,
                                const struct nd_evtok *toks, size_t ntok, const json_t *events)
{
    json_t *out = json_array();
    struct scoring *sc = NULL;
    double total[MAX_TOPICS], conf[MAX_TOPICS];
    size_t order[MAX_TOPICS], nitems = 0;
    int best_top = -1;

    if (!topics || !text || !len || !toks)
        return out;
    /* prose runs at about one token per five bytes: a denser text is scored on its first tokens */
    size_t cap = len / 4 + 64 < MAX_TOKENS ? len / 4 + 64 : MAX_TOKENS;
    if (ntok > cap)
        ntok = cap;
    sc = scoring_new();
    if (!sc)
        goto out;
    score_text(topics, text, toks, ntok, sc);
    if (events)
        score_events(topics, events, sc);
    /* lexicon sums grow with length: compress, then add the classifier's posterior */
    for (size_t t = 0; t < topics->ntopics; t++)
        total[t] = sc->score[t] > 0 ? 2.0 * log1p(sc->score[t]) : 0;
    if (topics->has_nb)
        for (int c = 0; c < NCLASS; c++)
            total[topics->cls_topic[c]] += 3.0 * sc->post[c];
    /* a topic's evidence also speaks for its ancestors, half as loud per level */
    for (size_t t = topics->ntopics; t-- > 0;) {
        double carry = total[t] * 0.5;
        for (int p = topics->topics[t].parent; p >= 0 && carry > 0.25;
             p = topics->topics[p].parent) {
            total[p] += carry;
            carry *= 0.5;
            if (!sc->ev[p].n && sc->ev[t].n) /* evidence by way of the subtopic */
                add_evidence(&sc->ev[p], topics->topics[t].name, strlen(topics->topics[t].name));
        }
    }
    for (size_t t = 0; t < topics->ntopics; t++)
        if (topics->topics[t].level == 1 && (best_top < 0 || total[t] > total[best_top]))
            best_top = (int)t;
    /* Ranked by confidence before any JSON is made, so only the topics kept get built. The
     * insertion keeps topics of equal confidence in model order (the order a stable sort of all
     * of them gave). */
    for (size_t t = 0; t < topics->ntopics && nitems < MAX_TOPICS; t++) {
        size_t k;
        if (total[t] < THRESHOLD && (int)t != best_top)
            continue;
        if (total[t] <= 0)
            continue;
        conf[t] = floor((1.0 - exp(-total[t] / 3.0)) * 1000.0 + 0.5) / 1000.0;
        for (k = nitems; k > 0 && conf[order[k - 1]] < conf[t]; k--)
            order[k] = order[k - 1];
        order[k] = t;
        nitems++;
    }
    for (size_t k = 0; k < nitems && k < MAX_OUT; k++) {
        size_t t = order[k];
        static const char prefix[] = "http://cv.iptc.org/newscodes/mediatopic/";
        char uri[sizeof(prefix) + sizeof(topics->topics[t].code)];
        json_t *ev, *item;
        /* the code is at most eight bytes (its field's size): prefix and code copied, no format */
        size_t clen = strnlen(topics->topics[t].code, sizeof(topics->topics[t].code));
        memcpy(uri, prefix, sizeof(prefix) - 1);
        memcpy(uri + sizeof(prefix) - 1, topics->topics[t].code, clen);
        uri[sizeof(prefix) - 1 + clen] = '\0';
        ev = json_array();
        for (int e = 0; e < sc->ev[t].n; e++)
            json_array_append_new(ev, json_stringn(sc->ev[t].s[e], sc->ev[t].len[e]));
        for (int c = 0; c < NCLASS && topics->has_nb; c++)
            if (topics->cls_topic[c] == (int)t && sc->post[c] > 0.5)
                json_array_append_new(ev, json_string_nocheck("classifier"));
        item = json_object();
        if (!item) {
            json_decref(ev);
            continue;
        }
        json_object_set_new_nocheck(item, "uri", json_string_nocheck(uri));
        if (topics->topics[t].name_ok)
            json_object_set_new_nocheck(item, "name",
                                        json_string_nocheck(topics->topics[t].name));
        json_object_set_new_nocheck(item, "confidence", json_real(conf[t]));
        json_object_set_new_nocheck(item, "evidence", ev);
        json_array_append_new(out, item);
    }
out:
    free(sc);
    return out;
}

const char *nd_topics_top_class(const struct nd_topics *topics, const char *text, size_t len)
{
    struct nd_evtok *toks;
    struct scoring *sc;
    const char *best = NULL;
    if (!topics || !topics->has_nb || !text)
        return NULL;
    size_t cap = len / 2 + 16 < MAX_TOKENS ? len / 2 + 16 : MAX_TOKENS;
    toks = malloc(cap * sizeof(*toks));
    sc = scoring_new();
    if (toks && sc) {
        size_t ntok = nd_evlex_tokenize(text, len, toks, cap);
        double bestv = -1;
        score_text(topics, text, toks, ntok, sc);
        for (int c = 0; c < NCLASS; c++) {
            int t = topics->cls_topic[c];
            double v = 3.0 * sc->post[c] + (sc->score[t] > 0 ? 2.0 * log1p(sc->score[t]) : 0);
            if (v > bestv) {
                bestv = v;
                best = topics->topics[t].code;
            }
        }
    }
    free(toks);
    free(sc);
    return best;
}
