/* Topic assignment: see topics.h; the model and its loading: topics_int.h, topics_model.c.
 *
 * One pass over the story's word tokens (headline first) does two things. The classifier sums
 * each known word's per-class weights, weighted by where the word stands (headline, lead, body,
 * tail); the sums are scaled by 1/sqrt(total weight), so a headline and a long article give logits
 * of the same size, then divided by the calibration temperature: the softmax is the probability of
 * each class. The lexicon's terms add points to their topics (same position weights), and coded
 * events between countries add points to international relations and its kind, and a logit to the
 * world class. The world class's probability is shared among the world topics (politics and
 * government by default, conflict, crime, disaster, ...) in proportion to their lexicon points. A
 * subtopic's confidence is the chance that its top-level topic is a subject (the main one, p, or a
 * secondary one, (1 - p) * SECONDARY) times the strength of its evidence, 1 - exp(-points). */
#include "enrich/topics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "enrich/doc.h"
#include "enrich/events_lex.h"
#include "enrich/topics_int.h"

#define MODEL_CAP (16u << 20)
#define MAX_TOKENS ND_EVLEX_MAX_TOKENS
#define HEAD_TOKENS 128
#define MAX_OUT 10
#define MAX_EVIDENCE 4     /* lexicon terms, events and subtopics per topic */
#define CLASS_EVIDENCE 3   /* the classifier's words per top-level topic */
#define EVIDENCE_WORDS 512 /* distinct words a story's evidence is chosen from */
#define WORD_AHEAD 8       /* tokens between a word slot's prefetch and its lookup */
#define TERM_MIN 1.0       /* lexicon points for a subtopic to be assigned: one clear term */
#define TOP_MIN 0.10       /* probability for a further top-level topic to be listed */
#define SUB_MIN 0.10       /* confidence for a subtopic to be listed */
#define WORLD_PRIOR 0.3 /* the world share's weight on politics and government with no evidence */
/* A subtopic with evidence under another main subject is a secondary subject this often (set by
 * hand: no labelled stories have subtopics) */
#define SECONDARY 0.3

static void topic_links(struct nd_topics *topics);

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
    if (!topics->term_map) {
        snprintf(errstr, errsz, "topics model: out of memory");
        goto out;
    }
    if (nd_topics_model_load(topics, errstr, errsz) != ND_OK)
        goto out;
    topics->ev_ir = nd_topics_index(topics, "20000638");
    topics->ev_dip = nd_topics_index(topics, "20000639");
    topics->ev_conflict = nd_topics_index(topics, "20000056");
    topics->ev_sanction = nd_topics_index(topics, "20000642");
    topics->ev_aid = nd_topics_index(topics, "20000643");
    topics->politics = nd_topics_index(topics, "11000000");
    topic_links(topics);
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
    free(topics->words);
    free(topics->word_keys);
    free(topics->terms);
    free(topics->term_next);
    free(topics->weight);
    free(topics->buf);
    free(topics);
}

struct evidence {
    const char *s[MAX_EVIDENCE];
    size_t len[MAX_EVIDENCE];
    double w[MAX_EVIDENCE];
    int n;
};

/* A word of the story the classifier knows: its first mention, and its position weights summed
 * over all its mentions. */
struct hit {
    const char *s;
    uint32_t len, row;
    float w;
};

struct scoring {
    /* per topic (ntopics of each, in the same allocation) */
    double *score;   /* lexicon and event points */
    double *carried; /* points with those of subtopics, half per level */
    double *conf;
    struct evidence *ev;
    float acc[ND_TOPICS_MAX_CLASS]; /* the classes' sums (float: one vector add per word) */
    double prob[ND_TOPICS_MAX_CLASS];
    double wsum, scale; /* total position weight of known words; 1 / (sqrt(wsum) T) */
    int nintl;          /* events between two countries */
    size_t nhits, cap;  /* distinct known words (at most cap) */
    struct hit *hits;
    uint32_t *slot, mask; /* open addressing by word row: index in hits + 1, or 0 */
};

/* A zeroed scoring but for the evidence strings, which are read only below each count, with room
 * for cap distinct words: one allocation sized by the model's topics. */
static struct scoring *scoring_new(size_t ntopics, size_t cap)
{
    size_t nslot = 64, size;
    struct scoring *sc;
    char *p;
    /* a story's distinct known words for evidence: a few hundred in 4 KB; past EVIDENCE_WORDS the
     * later ones still count, unnamed */
    cap = cap < 1 ? 1 : cap > EVIDENCE_WORDS ? EVIDENCE_WORDS : cap;
    while (nslot < 2 * cap)
        nslot *= 2;
    size = sizeof(struct scoring) + ntopics * (3 * sizeof(double) + sizeof(struct evidence)) +
           cap * sizeof(struct hit) + nslot * sizeof(uint32_t);
    if (!(sc = malloc(size)))
        return NULL;
    p = (char *)(sc + 1);
    sc->score = (double *)p;
    sc->carried = sc->score + ntopics;
    sc->conf = sc->carried + ntopics;
    sc->ev = (struct evidence *)(sc->conf + ntopics);
    sc->hits = (struct hit *)(sc->ev + ntopics);
    sc->slot = (uint32_t *)(sc->hits + cap);
    sc->mask = (uint32_t)nslot - 1;
    memset(sc->slot, 0, nslot * sizeof(uint32_t));
    memset(sc->score, 0, ntopics * sizeof(double));
    memset(sc->acc, 0, sizeof(sc->acc));
    for (size_t t = 0; t < ntopics; t++)
        sc->ev[t].n = 0;
    sc->wsum = 0;
    sc->nintl = 0;
    sc->nhits = 0;
    sc->cap = cap;
    return sc;
}

/* A mention of a known word: its weight added to the word's hit, the first mention kept. */
static inline void note_hit(struct scoring *sc, const char *s, uint32_t len, uint32_t row, float w)
{
    uint32_t h = (row * 2654435761u) & sc->mask;
    while (sc->slot[h] && sc->hits[sc->slot[h] - 1].row != row)
        h = (h + 1) & sc->mask;
    if (sc->slot[h])
        sc->hits[sc->slot[h] - 1].w += w;
    else if (sc->nhits < sc->cap) {
        sc->hits[sc->nhits] = (struct hit){.s = s, .len = len, .row = row, .w = w};
        sc->slot[h] = (uint32_t)++sc->nhits;
    }
}

static void add_evidence_w(struct evidence *ev, const char *s, size_t len, double w)
{
    for (int k = 0; k < ev->n; k++)
        if (ev->len[k] == len && !strncasecmp(ev->s[k], s, len)) {
            ev->w[k] += w;
            return;
        }
    if (ev->n < MAX_EVIDENCE) {
        ev->s[ev->n] = s;
        ev->w[ev->n] = w;
        ev->len[ev->n++] = len;
    }
}

/* The weight of the body's i-th token by where it stands, and the first token past i whose
 * weight may differ: a loop over tokens asks again only there. */
static double position_weight(const struct nd_topics_position *p, size_t i, size_t *edge)
{
    if (i < p->lead_n)
        return *edge = p->lead_n, p->lead;
    if (i < p->tail_n)
        return *edge = p->tail_n, p->body;
    return *edge = SIZE_MAX, p->tail;
}

/* The lexicon's terms starting at toks[i] (word: its entry), longest first: a phrase of two or
 * more words is looked up joined, the word alone was found with the word. */
static void score_terms(const struct nd_topics *topics, const char *text,
                        const struct nd_evtok *toks, size_t i, size_t ntok,
                        const struct nd_topics_word *word, double pw, struct scoring *sc)
{
    size_t nmax = word->maxn, n = 1;
    uint32_t v = word->term - 1; /* UINT32_MAX when the word alone is no term */
    if (nmax > ntok - i)
        nmax = ntok - i;
    if (nmax >= 2) {
        char phrase[3 * (ND_EVTOK_KEYMAX + 1) + 1];
        size_t
            lens[sizeof(phrase)]; /* a phrase of k tokens that fits takes k - 1 bytes of spaces */
        size_t nfit = nd_evlex_join_prefixes(toks, i, nmax, phrase, sizeof(phrase), lens);
        for (size_t k = nfit; k >= 2; k--)
            if (nd_evmap_get(topics->term_map, phrase, lens[k - 1], &v)) {
                n = k;
                break;
            }
        if (n == 1)
            v = word->term - 1;
    }
    for (uint32_t t = v; t != UINT32_MAX; t = topics->term_next[t]) {
        const struct nd_topic_term *term = &topics->terms[t];
        sc->score[term->topic] += term->weight * pw;
        add_evidence_w(&sc->ev[term->topic], text + toks[i].start,
                       toks[i + n - 1].end - toks[i].start, term->weight * pw);
    }
}

/* Classifier sums and lexicon points over the tokens of one field (the headline or the body):
 * one lookup per word token, in a table whose slots are prefetched WORD_AHEAD tokens ahead. */
static void score_text(const struct nd_topics *topics, const char *text,
                       const struct nd_evtok *toks, size_t ntok, int in_head, struct scoring *sc)
{
    /* local sums of a fixed width: one vector add per known word */
    float acc[ND_TOPICS_MAX_CLASS];
    size_t edge = SIZE_MAX;
    double pw = in_head ? topics->pos.head : position_weight(&topics->pos, 0, &edge);
    const struct nd_topics_word *words = topics->words;
    size_t mask = topics->word_mask;
    memcpy(acc, sc->acc, sizeof(acc));
    for (size_t i = 0; i < WORD_AHEAD && i < ntok; i++)
        __builtin_prefetch(&words[toks[i].hash & mask]);
    for (size_t i = 0; i < ntok; i++) {
        const struct nd_topics_word *word;
        if (i + WORD_AHEAD < ntok)
            __builtin_prefetch(&words[toks[i + WORD_AHEAD].hash & mask]);
        if (!(toks[i].flags & ND_EVTOK_WORD) ||
            !(word = nd_topics_word_find(words, mask, toks[i].key, toks[i].keylen, toks[i].hash)))
            continue;
        if (i >= edge)
            pw = position_weight(&topics->pos, i, &edge);
        if (word->row) {
            const float *wt = &topics->weight[(size_t)(word->row - 1) * ND_TOPICS_MAX_CLASS];
            float fw = (float)pw;
            for (size_t c = 0; c < ND_TOPICS_MAX_CLASS; c++)
                acc[c] += fw * wt[c];
            sc->wsum += pw;
            note_hit(sc, text + toks[i].start, toks[i].end - toks[i].start, word->row - 1, fw);
        }
        if (word->maxn)
            score_terms(topics, text, toks, i, ntok, word, pw, sc);
    }
    memcpy(sc->acc, acc, sizeof(acc));
}

/* An event type against a name: the first letters, which tell most names apart, before strcmp. */
static inline int type_is(const char *type, const char *name)
{
    return type[0] == name[0] && !strcmp(type, name);
}

/* Coded events are entity evidence: two countries meeting is international relations. */
static void score_events(const struct nd_topics *topics, const struct nd_event_list *events,
                         struct scoring *sc)
{
    int ir = topics->ev_ir, dip = topics->ev_dip, conflict = topics->ev_conflict,
        sanction = topics->ev_sanction, aid = topics->ev_aid;
    for (size_t i = 0; i < events->n; i++) {
        const struct nd_event *ev = &events->v[i];
        const char *type = ev->type, *cameo = ev->cameo;
        const char *sc_cc = ev->nsource ? ev->source[0].code : NULL;
        const char *tg_cc = ev->ntarget ? ev->target[0].code : NULL;
        int target;
        /* an event under events.min_confidence is no evidence of what the story is about */
        if (!type[0] || ev->below_threshold)
            continue;
        if (type_is(type, "CONSULT") || type_is(type, "AGREE") || type_is(type, "SUPPORT") ||
            type_is(type, "REJECT") || type_is(type, "ACCUSE") || type_is(type, "REQUEST"))
            target = dip;
        else if (type_is(type, "ASSAULT") || type_is(type, "MOBILIZE"))
            target = conflict;
        else if (type_is(type, "SANCTION") || !strncmp(cameo, "163", 3))
            target = sanction;
        else if (type_is(type, "AID"))
            target = aid;
        else
            target = -1;
        int international = sc_cc && tg_cc && strcmp(sc_cc, tg_cc);
        if (target >= 0 && international) {
            sc->score[target] += 0.75;
            add_evidence_w(&sc->ev[target], type, strlen(type), 0.75);
        }
        sc->nintl += international;
        if (ir >= 0 && international) {
            sc->score[ir] += 0.5;
            add_evidence_w(&sc->ev[ir], "events between countries", 24, 0.5);
        }
    }
}

/* The classes' probabilities: the scaled sums, the lexicon's points per top-level topic (carried
 * first), the events' logit on the world class, the temperature. */
static void classify(const struct nd_topics *topics, struct scoring *sc)
{
    int k = topics->nclass;
    double z[ND_TOPICS_MAX_CLASS], m = -INFINITY, sum = 0;
    sc->scale = sc->wsum > 0 ? 1.0 / sqrt(sc->wsum) : 0;
    for (int c = 0; c < k; c++)
        z[c] = topics->bias[c] + sc->acc[c] * sc->scale;
    for (size_t t = 0; t < topics->ntopics; t++) /* the lexicon's points, as features */
        if (topics->topics[t].level == 1 && sc->carried[t] > 0) {
            double x = log1p(sc->carried[t]);
            for (int c = 0; c < k; c++)
                z[c] += topics->lexw[t][c] * x;
        }
    if (topics->world >= 0)
        z[topics->world] +=
            topics->event_logit * (sc->nintl < topics->event_cap ? sc->nintl : topics->event_cap);
    for (int c = 0; c < k; c++) {
        z[c] /= topics->temperature;
        m = z[c] > m ? z[c] : m;
    }
    for (int c = 0; c < k; c++)
        sum += (sc->prob[c] = exp(z[c] - m));
    for (int c = 0; c < k; c++)
        sc->prob[c] /= sum;
    sc->scale /= topics->temperature;
}

/* A topic's points also speak for its ancestors, half as loud per level. */
static void carry_points(const struct nd_topics *topics, struct scoring *sc)
{
    for (size_t t = 0; t < topics->ntopics; t++)
        sc->carried[t] = sc->score[t];
    for (size_t t = 0; t < topics->ntopics; t++) {
        double carry = sc->score[t] * 0.5;
        int depth = 0;
        for (int p = topics->topics[t].parent; carry > 0 && p >= 0 && depth < 8;
             p = topics->topics[p].parent, depth++) {
            sc->carried[p] += carry;
            carry *= 0.5;
        }
    }
}

/* A subtopic's name as evidence of its ancestors, with the points it carried to each. */
static void carry_evidence(const struct nd_topics *topics, struct scoring *sc)
{
    for (size_t t = 0; t < topics->ntopics; t++) {
        double carry = sc->score[t] * 0.5;
        const char *name = topics->topics[t].name;
        int depth = 0;
        for (int p = topics->topics[t].parent; carry > 0 && p >= 0 && depth < 8;
             p = topics->topics[p].parent, depth++) {
            add_evidence_w(&sc->ev[p], name, strlen(name), carry);
            carry *= 0.5;
        }
    }
}

static int top_of(const struct nd_topics *topics, int t)
{
    for (int depth = 0; t >= 0 && depth < 8; depth++, t = topics->topics[t].parent)
        if (topics->topics[t].level == 1)
            return t;
    return -1;
}

/* Each topic's top-level ancestor, class, and whether the world class is shared with it (the
 * top-level topics no class stands for, and politics). */
static void topic_links(struct nd_topics *topics)
{
    for (size_t t = 0; t < topics->ntopics; t++) {
        struct nd_topic *topic = &topics->topics[t];
        topic->top = top_of(topics, (int)t);
        topic->cls = -1;
        for (int c = 0; c < topics->nclass; c++)
            if (topics->cls_topic[c] == (int)t)
                topic->cls = c;
        topic->world_share = topics->world >= 0 && topic->level == 1 &&
                             ((int)t == topics->politics || topic->cls < 0);
    }
}

static double world_weight(const struct nd_topics *topics, const struct scoring *sc, int t)
{
    return log1p(sc->carried[t]) + (t == topics->politics ? WORLD_PRIOR : 0);
}

static void confidences(const struct nd_topics *topics, struct scoring *sc)
{
    double wsum = 0;
    int nt = (int)topics->ntopics;
    memset(sc->conf, 0, topics->ntopics * sizeof(sc->conf[0]));
    for (int c = 0; c < topics->nclass; c++)
        if (topics->cls_topic[c] >= 0)
            sc->conf[topics->cls_topic[c]] += sc->prob[c];
    if (topics->world >= 0) {
        double u[ND_TOPICS_MAX];
        for (int t = 0; t < nt; t++)
            if (topics->topics[t].world_share)
                wsum += (u[t] = world_weight(topics, sc, t));
        for (int t = 0; t < nt && wsum > 0; t++)
            if (topics->topics[t].world_share)
                sc->conf[t] += sc->prob[topics->world] * u[t] / wsum;
    }
    for (int t = 0; t < nt; t++) {
        int top = topics->topics[t].top;
        if (topics->topics[t].level > 1 && top >= 0 && sc->carried[t] >= TERM_MIN)
            sc->conf[t] =
                (sc->conf[top] + (1.0 - sc->conf[top]) * SECONDARY) * (1.0 - exp(-sc->carried[t]));
    }
}

/* text[0..len)'s token stream into *doc (nd_doc_free it whatever happens) and its first max tokens
 * as the lexical view *toks (caller frees; NULL when there are none). Returns their count. */
static size_t text_tokens(const char *text, size_t len, size_t max, struct nd_doc *doc,
                          struct nd_evtok **toks)
{
    *toks = NULL;
    if (nd_doc_build(doc, text, len) != ND_OK)
        return 0;
    return nd_evlex_tokens(doc, max, toks);
}

/* The story scored: classifier, lexicon, events, confidences. NULL when out of memory. */
static struct scoring *score_story(const struct nd_topics *topics, const char *headline,
                                   const char *text, size_t len, const struct nd_evtok *toks,
                                   size_t ntok, const struct nd_event_list *events)
{
    /* prose runs at about one token per five bytes: a denser text is scored on its first tokens */
    size_t cap = len / 4 + 64 < MAX_TOKENS ? len / 4 + 64 : MAX_TOKENS;
    struct scoring *sc;
    if (ntok > cap)
        ntok = cap;
    if (!(sc = scoring_new(topics->ntopics, ntok + HEAD_TOKENS)))
        return NULL;
    if (headline && *headline) {
        struct nd_doc head;
        struct nd_evtok *htoks = NULL;
        size_t nhead = text_tokens(headline, strlen(headline), HEAD_TOKENS, &head, &htoks);
        score_text(topics, headline, htoks, nhead, 1, sc);
        free(htoks);
        nd_doc_free(&head);
    }
    if (toks)
        score_text(topics, text, toks, ntok, 0, sc);
    carry_points(topics, sc);
    if (events)
        score_events(topics, events, sc);
    /* the lexicon features are the text's points (as trained); the events count by their logit */
    if (topics->nclass)
        classify(topics, sc);
    if (events)
        carry_points(topics, sc);
    carry_evidence(topics, sc);
    confidences(topics, sc);
    return sc;
}

static void swap_evidence(struct evidence *ev, int a, int b)
{
    const char *s = ev->s[a];
    size_t len = ev->len[a];
    double w = ev->w[a];
    ev->s[a] = ev->s[b], ev->len[a] = ev->len[b], ev->w[a] = ev->w[b];
    ev->s[b] = s, ev->len[b] = len, ev->w[b] = w;
}

/* The words that moved each class of mask most: a word's summed position weight times its weight
 * for the class (the model's rows are centred, so that is how far it moves the class against the
 * others), in logits (scaled, calibrated). One pass over the story's distinct words for all. */
static void class_evidence(const struct nd_topics *topics, const struct scoring *sc, unsigned mask,
                           struct evidence *out)
{
    size_t k = (size_t)topics->nclass, nwant = 0;
    int want[ND_TOPICS_MAX_CLASS];
    double least[ND_TOPICS_MAX_CLASS]; /* the weakest kept, once a class has CLASS_EVIDENCE */
    for (size_t c = 0; c < k; c++) {
        out[c].n = 0;
        if (mask >> c & 1)
            least[nwant] = 0, want[nwant++] = (int)c;
    }
    for (size_t h = 0; h < sc->nhits; h++) {
        const struct hit *hit = &sc->hits[h];
        const float *wt = &topics->weight[(size_t)hit->row * ND_TOPICS_MAX_CLASS];
        for (size_t q = 0; q < nwant; q++) {
            struct evidence *ev = &out[want[q]];
            double d = (double)hit->w * wt[want[q]];
            int low = 0;
            if (d <= least[q])
                continue;
            for (int j = 1; j < ev->n; j++)
                low = ev->w[j] < ev->w[low] ? j : low;
            low = ev->n < CLASS_EVIDENCE ? ev->n++ : low;
            ev->s[low] = hit->s;
            ev->len[low] = hit->len;
            ev->w[low] = d;
            if (ev->n == CLASS_EVIDENCE) {
                least[q] = ev->w[0];
                for (int j = 1; j < ev->n; j++)
                    least[q] = ev->w[j] < least[q] ? ev->w[j] : least[q];
            }
        }
    }
    for (size_t c = 0; c < k; c++) /* in logits: scaled and calibrated */
        for (int j = 0; j < out[c].n; j++)
            out[c].w[j] *= sc->scale;
    for (size_t c = 0; c < k; c++)
        for (int a = 1; a < out[c].n; a++) /* strongest first */
            for (int b = a; b > 0 && out[c].w[b] > out[c].w[b - 1]; b--)
                swap_evidence(&out[c], b, b - 1);
}

/* The class whose probability gave topic t most of its confidence, or -1. */
static int main_class(const struct nd_topics *topics, const struct scoring *sc, int t)
{
    int c = topics->topics[t].cls, w = topics->world;
    double own = c >= 0 ? sc->prob[c] : 0;
    if (w >= 0 && topics->topics[t].world_share && sc->conf[t] - own > own)
        return w;
    return c;
}

/* Whether s[0..n) is UTF-8 as json_stringn takes it (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF), so the string is made without jansson checking it again; evidence is
 * mostly ASCII, and a text span cut at 120 bytes may end inside a character. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (uint64_t x; i + 8 <= n; i += 8) { /* eight ASCII bytes at a time, then byte by byte */
        memcpy(&x, s + i, 8);
        if (x & 0x8080808080808080ull)
            break;
    }
    while (i < n) {
        unsigned c = s[i], cp;
        uint32_t min;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            k = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3Fu);
        }
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += k + 1;
    }
    return 1;
}

/* "term +1.25": the weight with a sign and two decimals, written without printf (a story has a
 * few dozen of these). A term that is not UTF-8 is left out, as json_stringn would. */
static void append_evidence(json_t *arr, const struct evidence *ev)
{
    for (int e = 0; e < ev->n; e++) {
        char buf[160];
        size_t n = ev->len[e] < 120 ? ev->len[e] : 120;
        double x = fabs(ev->w[e]) * 100.0 + 0.5;
        long v = x < 1e8 ? (long)x : 99999999; /* NaN or huge: not from a sane model */
        char digits[24];
        int nd = 0;
        memcpy(buf, ev->s[e], n);
        buf[n++] = ' ';
        buf[n++] = ev->w[e] < 0 ? '-' : '+';
        do
            digits[nd++] = (char)('0' + v % 10);
        while ((v /= 10) > 0 || nd < 3);
        while (nd > 2)
            buf[n++] = digits[--nd];
        buf[n++] = '.';
        buf[n++] = digits[1];
        buf[n++] = digits[0];
        if (utf8_valid((const unsigned char *)buf, n))
            json_array_append_new(arr, json_stringn_nocheck(buf, n));
    }
}

/* One topic's JSON; cls: the classes' evidence (class_evidence), or NULL. */
static json_t *topic_json(const struct nd_topics *topics, const struct scoring *sc,
                          const struct evidence *cls, int t)
{
    static const char prefix[] = "http://cv.iptc.org/newscodes/mediatopic/";
    const struct nd_topic *topic = &topics->topics[t];
    char uri[sizeof(prefix) + sizeof(topic->code)];
    json_t *ev = json_array(), *item = json_object();
    /* the code is at most eight bytes (its field's size): prefix and code copied, no format */
    size_t clen = strnlen(topic->code, sizeof(topic->code));
    if (!item || !ev) {
        json_decref(ev);
        json_decref(item);
        return NULL;
    }
    memcpy(uri, prefix, sizeof(prefix) - 1);
    memcpy(uri + sizeof(prefix) - 1, topic->code, clen);
    uri[sizeof(prefix) - 1 + clen] = '\0';
    if (topic->level == 1 && cls) {
        int c = main_class(topics, sc, t);
        if (c >= 0)
            append_evidence(ev, &cls[c]);
    }
    append_evidence(ev, &sc->ev[t]);
    json_object_set_new_nocheck(item, "uri", json_string_nocheck(uri));
    if (topic->name_ok)
        json_object_set_new_nocheck(item, "name", json_string_nocheck(topic->name));
    json_object_set_new_nocheck(item, "confidence",
                                json_real(floor(sc->conf[t] * 1000.0 + 0.5) / 1000.0));
    json_object_set_new_nocheck(item, "evidence", ev);
    return item;
}

/* The best top-level topic (index), or -1. */
static int best_top(const struct nd_topics *topics, const struct scoring *sc)
{
    int best = -1;
    for (size_t t = 0; t < topics->ntopics; t++)
        if (topics->topics[t].level == 1 && sc->conf[t] > 0 &&
            (best < 0 || sc->conf[t] > sc->conf[best]))
            best = (int)t;
    return best;
}

static int listed(const struct nd_topics *topics, const struct scoring *sc, int t, int best)
{
    if (t == best)
        return 1;
    if (topics->topics[t].level == 1)
        return sc->conf[t] >= TOP_MIN;
    return sc->carried[t] >= TERM_MIN && sc->conf[t] >= SUB_MIN;
}

json_t *nd_topics_assign(const struct nd_topics *topics, const char *headline, const char *text,
                         size_t len, const struct nd_event_list *events)
{
    struct nd_evtok *toks = NULL;
    struct nd_doc doc;
    size_t ntok;
    json_t *out;

    if (!topics || !text || !len)
        return json_array();
    ntok = text_tokens(text, len, MAX_TOKENS, &doc, &toks);
    out = nd_topics_assign_tokens(topics, headline, text, len, toks, ntok, events);
    free(toks);
    nd_doc_free(&doc);
    return out;
}

json_t *nd_topics_assign_tokens(const struct nd_topics *topics, const char *headline,
                                const char *text, size_t len, const struct nd_evtok *toks,
                                size_t ntok, const struct nd_event_list *events)
{
    json_t *out = json_array();
    struct scoring *sc;
    size_t order[ND_TOPICS_MAX], nitems = 0;
    struct evidence cls[ND_TOPICS_MAX_CLASS];
    unsigned mask = 0;
    int best;

    if (!topics || !text || !len || !toks)
        return out;
    if (!(sc = score_story(topics, headline, text, len, toks, ntok, events)))
        return out;
    best = best_top(topics, sc);
    /* Ranked by confidence before any JSON is made, so only the topics kept get built; topics of
     * equal confidence stay in model order. */
    for (size_t t = 0; t < topics->ntopics; t++) {
        size_t k;
        if (sc->conf[t] <= 0 || !listed(topics, sc, (int)t, best))
            continue;
        for (k = nitems; k > 0 && sc->conf[order[k - 1]] < sc->conf[t]; k--)
            order[k] = order[k - 1];
        order[k] = t;
        nitems++;
    }
    if (nitems > MAX_OUT)
        nitems = MAX_OUT;
    for (size_t k = 0; k < nitems; k++) /* the classes whose evidence the topics show */
        if (topics->topics[order[k]].level == 1 && topics->nclass) {
            int c = main_class(topics, sc, (int)order[k]);
            mask |= c >= 0 ? 1u << c : 0;
        }
    if (mask)
        class_evidence(topics, sc, mask, cls);
    for (size_t k = 0; k < nitems; k++) {
        json_t *item = topic_json(topics, sc, mask ? cls : NULL, (int)order[k]);
        if (item)
            json_array_append_new(out, item);
    }
    free(sc);
    return out;
}

const char *nd_topics_top_class(const struct nd_topics *topics, const char *headline,
                                const char *text, size_t len)
{
    struct nd_evtok *toks = NULL;
    struct nd_doc doc;
    struct scoring *sc = NULL;
    const char *code = NULL;
    size_t ntok;
    int best;
    if (!topics || !topics->nclass || !text)
        return NULL;
    ntok = text_tokens(text, len, MAX_TOKENS, &doc, &toks);
    if (toks && (sc = score_story(topics, headline, text, len, toks, ntok, NULL)) &&
        (best = best_top(topics, sc)) >= 0)
        code = topics->topics[best].code;
    free(toks);
    nd_doc_free(&doc);
    free(sc);
    return code;
}
