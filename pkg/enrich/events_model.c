/* events_model: loading models/events.model (built by scripts/build_events_model.py) into the
 * read-only struct nd_events, and the word lists that give a token its function-word classes.
 * Each line of the model is one record, tab-separated, kind first:
 *   M code plover goldstein | S &synset members(|) | D lemma code | V form lemma
 *   P lemma code words...   | A key country phoenix-code kind name | G key sector
 *   N key code role         | W name words (a word list of models/src/events_words.tsv) */
#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* English plural of a pattern noun into buf: "border" -> "borders", "crisis" -> none. Returns 1
 * when made. */
static int plural_key(const char *word, char *buf, size_t bufsz)
{
    size_t n = strlen(word);
    if (n < 3 || n + 3 > bufsz || word[0] == '&' || strchr(word, ' '))
        return 0;
    memcpy(buf, word, n + 1);
    if (word[n - 1] == 's' || word[n - 1] == 'x' || (n > 2 && !strcmp(word + n - 2, "ch")) ||
        (n > 2 && !strcmp(word + n - 2, "sh")))
        memcpy(buf + n, "es", 3);
    else if (word[n - 1] == 'y' && !strchr("aeiou", word[n - 2]))
        memcpy(buf + n - 1, "ies", 4);
    else
        memcpy(buf + n, "s", 2);
    return 1;
}

/* Does token key k (length kl) equal word w or its plural? */
int nd_ev_word_or_plural(const char *w, const char *k, size_t kl)
{
    char pl[ND_EVTOK_KEYMAX + 4];
    size_t wl = strlen(w);
    if (wl == kl)
        return !memcmp(w, k, kl);
    if (kl < wl + 1 || kl > wl + 2 || !plural_key(w, pl, sizeof(pl)))
        return 0;
    return strlen(pl) == kl && !memcmp(pl, k, kl);
}
/* ---------- loading ---------- */

static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static void *grow_array(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(arr, ncap * elem);
    if (!p)
        return NULL;
    *cap = ncap;
    return p;
}

static struct first_info *first_info_of(struct nd_events *events, const char *key, size_t klen)
{
    uint32_t idx;
    if (nd_evmap_get(events->first_len, key, klen, &idx))
        return &events->finfo[idx];
    events->finfo =
        grow_array(events->finfo, &events->finfo_cap, events->nfinfo, sizeof(*events->finfo));
    if (!events->finfo || nd_evmap_put(events->first_len, key, klen, (uint32_t)events->nfinfo))
        return NULL;
    memset(&events->finfo[events->nfinfo], 0, sizeof(events->finfo[0]));
    return &events->finfo[events->nfinfo++];
}
static int note_first(struct nd_events *events, char kind, const char *key, uint32_t value)
{
    const char *sp = strchr(key, ' ');
    size_t flen = sp ? (size_t)(sp - key) : strlen(key);
    uint32_t ntok = 1;
    struct first_info *fi;
    if (flen >= ND_EVTOK_KEYMAX)
        return 0;
    for (const char *p = key; *p; p++)
        ntok += *p == ' ';
    if (ntok > MAX_PHRASE)
        return 0;
    if (!(fi = first_info_of(events, key, flen)))
        return -1;
    fi->masks |= (1u << (ntok - 1)) << kind_shift(kind);
    if (ntok == 1)
        fi->single[kind_index(kind)] = value; /* a later record replaces it, as in the maps */
    return 0;
}
static int index_pattern(struct nd_events *events, size_t *lcap, const char *lemma,
                         const char *word)
{
    char key[256];
    uint32_t head = UINT32_MAX;
    int n = snprintf(key, sizeof(key), "%s\x01%s", lemma, word);
    if (n <= 0 || (size_t)n >= sizeof(key))
        return 0;
    nd_evmap_get(events->pat_index, key, (size_t)n, &head);
    struct first_info *fi = first_info_of(events, word, strlen(word));
    if (!fi)
        return -1;
    fi->cls |= PATTERN_START; /* most words start no pattern: they skip the pattern lookup */
    char plural[ND_EVTOK_KEYMAX + 4];
    if (plural_key(word, plural, sizeof(plural))) {
        /* "opened its borders" matches "open border": the plural finds the singular's chain */
        if (!(fi = first_info_of(events, plural, strlen(plural))))
            return -1;
        fi->cls |= PATTERN_PLURAL;
    }
    events->links = grow_array(events->links, lcap, events->nlinks, sizeof(*events->links));
    if (!events->links)
        return -1;
    events->links[events->nlinks] =
        (struct link){.pattern = (uint32_t)events->npatterns, .next = head};
    if (nd_evmap_put(events->pat_index, key, (size_t)n, (uint32_t)events->nlinks))
        return -1;
    events->nlinks++;
    return 0;
}

static int add_pattern(struct nd_events *events, size_t *pcap, size_t *wcap, size_t *lcap,
                       char *lemma, const char *code, char *words)
{
    struct pattern *pat;
    uint32_t first_word = (uint32_t)events->nwords;
    char *save = NULL;
    events->patterns =
        grow_array(events->patterns, pcap, events->npatterns, sizeof(*events->patterns));
    if (!events->patterns)
        return -1;
    pat = &events->patterns[events->npatterns];
    copy_code(pat->code, code, sizeof(pat->code));
    pat->words = first_word;
    pat->nwords = 0;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        events->words = grow_array(events->words, wcap, events->nwords, sizeof(*events->words));
        if (!events->words)
            return -1;
        events->words[events->nwords++] = w;
        pat->nwords++;
    }
    if (!pat->nwords)
        return 0;
    /* a bare preposition ("meet at") needs a parse to mean anything: such patterns are not used */
    pat->content = 0;
    for (uint16_t x = 0; x < pat->nwords && !pat->content; x++) {
        const char *word = events->words[pat->words + x];
        int prep = 0;
        prep = nd_ev_in_list(events, WL_PREPS, word);
        pat->content = !prep;
    }
    /* index the pattern under (lemma, first word); a synset first word is indexed under each member
     */
    const char *w0 = events->words[first_word];
    uint32_t syn;
    if (w0[0] == '&' && nd_evmap_get(events->syn_names, w0, strlen(w0), &syn)) {
        const char *m = events->syns[syn].first;
        for (uint32_t k = 0; k < events->syns[syn].n; k++, m += strlen(m) + 1)
            if (index_pattern(events, lcap, lemma, m))
                return -1;
    } else if (index_pattern(events, lcap, lemma, w0)) {
        return -1;
    }
    events->npatterns++;
    return 0;
}

static uint32_t sector_index(struct nd_events *events, size_t *cap, const char *sector)
{
    for (size_t i = 0; i < events->nsectors; i++)
        if (!strncmp(events->sectors[i], sector, 3))
            return (uint32_t)i;
    events->sectors = grow_array(events->sectors, cap, events->nsectors, sizeof(*events->sectors));
    if (!events->sectors)
        return UINT32_MAX;
    snprintf(events->sectors[events->nsectors], 4, "%.3s", sector);
    return (uint32_t)events->nsectors++;
}

/* The W records' names, by enum word_list. */
static const char *const list_names[WL_COUNT] = {
    "preps",       "dets",          "quantities", "collectives",    "pronouns",
    "be_forms",    "negators",      "modals",     "plan_words",     "clause_stops",
    "auxiliaries", "meeting_nouns", "places",     "oblique_places", "days",
    "time_words",  "participles",   "commitments", "refusals",      "obligations",
    "have_forms",  "conditionals",  "readiness",  "exercises",      "possessives",
    "sidelines",   "aspectuals",    "peacekeeping", "ethnic_words", "speech_lemmas",
    "commands",    "plan_lemmas",   "regions"};

int nd_ev_in_list(const struct nd_events *events, enum word_list wl, const char *word)
{
    for (size_t i = 0; i < events->nlists[wl]; i++)
        if (!strcmp(events->lists[wl][i], word))
            return 1;
    return 0;
}

/* The growing arrays' capacities while a model loads. */
struct loader {
    struct nd_events *events;
    size_t sycap, vcap, pcap, wcap, lcap, acap, scap, ncap, mcap;
};

/* W name words: one of the coder's word lists (models/src/events_words.tsv). */
static enum nd_err load_words(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    int wl = 0;
    char *save = NULL;
    if (nf < 3)
        return ND_ERR_INVALID;
    while (wl < WL_COUNT && strcmp(list_names[wl], f[1]))
        wl++;
    if (wl == WL_COUNT)
        return ND_ERR_INVALID;
    for (char *w = strtok_r(f[2], " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        events->lists[wl] = grow_array(events->lists[wl], &events->list_cap[wl], events->nlists[wl],
                                       sizeof(*events->lists[wl]));
        if (!events->lists[wl])
            return ND_ERR_NOMEM;
        events->lists[wl][events->nlists[wl]++] = w;
    }
    return ND_OK;
}

/* M code plover goldstein: a CAMEO code's PLOVER type and intensity. */
static enum nd_err load_plover(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    if (nf < 4)
        return ND_ERR_INVALID;
    events->plovers =
        grow_array(events->plovers, &ld->mcap, events->nplovers, sizeof(*events->plovers));
    if (!events->plovers)
        return ND_ERR_NOMEM;
    copy_code(events->plovers[events->nplovers].code, f[1], 6);
    events->plovers[events->nplovers].type = f[2];
    events->plovers[events->nplovers].goldstein = strtof(f[3], NULL);
    if (nd_evmap_put(events->plover_map, f[1], strlen(f[1]), (uint32_t)events->nplovers++))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* S &synset members(|): a synonym set used in patterns. */
static enum nd_err load_synset(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    char key[128];
    uint32_t count = 0;
    if (nf < 3)
        return ND_ERR_INVALID;
    events->syns = grow_array(events->syns, &ld->sycap, events->nsyns, sizeof(*events->syns));
    if (!events->syns)
        return ND_ERR_NOMEM;
    for (char *m = f[2], *bar; m; m = bar) {
        bar = strchr(m, '|');
        if (bar)
            *bar++ = '\0';
        int n = snprintf(key, sizeof(key), "%s\x01%s", f[1], m);
        if (n > 0 && (size_t)n < sizeof(key) &&
            nd_evmap_put(events->syn_members, key, (size_t)n, 1))
            return ND_ERR_NOMEM;
        count++;
    }
    events->syns[events->nsyns] = (struct synset){.first = f[2], .n = count};
    if (nd_evmap_put(events->syn_names, f[1], strlen(f[1]), (uint32_t)events->nsyns++))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* D lemma code: a verb lemma and its default CAMEO code. */
static enum nd_err load_verb(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    struct verb *verb;
    if (nf < 3)
        return ND_ERR_INVALID;
    events->verbs = grow_array(events->verbs, &ld->vcap, events->nverbs, sizeof(*events->verbs));
    if (!events->verbs)
        return ND_ERR_NOMEM;
    verb = &events->verbs[events->nverbs];
    verb->lemma = f[1];
    copy_code(verb->code, f[2], sizeof(verb->code));
    verb->speech = (uint8_t)nd_ev_in_list(events, WL_SPEECH, f[1]);
    verb->command = (uint8_t)nd_ev_in_list(events, WL_COMMANDS, f[1]);
    verb->plan = (uint8_t)nd_ev_in_list(events, WL_PLAN_LEMMAS, f[1]);
    if (nd_evmap_put(events->verb_lemmas, f[1], strlen(f[1]), (uint32_t)events->nverbs++))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* V form lemma: an inflected form of a verb. */
static enum nd_err load_verb_form(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    uint32_t idx;
    if (nf < 3 || !nd_evmap_get(events->verb_lemmas, f[2], strlen(f[2]), &idx))
        return ND_ERR_INVALID;
    if (nd_evmap_put(events->verb_forms, f[1], strlen(f[1]), idx) ||
        note_first(events, 'V', f[1], idx))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* P lemma code words: a post-verb pattern. */
static enum nd_err load_pattern(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    if (nf < 4)
        return ND_ERR_INVALID;
    if (add_pattern(events, &ld->pcap, &ld->wcap, &ld->lcap, f[1], f[2], f[3]))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* A key country phoenix-code kind name: an actor phrase. */
static enum nd_err load_actor(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    struct actor *actor;
    if (nf < 6)
        return ND_ERR_INVALID;
    events->actors =
        grow_array(events->actors, &ld->acap, events->nactors, sizeof(*events->actors));
    if (!events->actors)
        return ND_ERR_NOMEM;
    actor = &events->actors[events->nactors];
    memset(actor, 0, sizeof(*actor));
    actor->name = f[5];
    actor->code = f[3];
    actor->kind = f[4][0];
    if (strcmp(f[3], "---"))
        snprintf(actor->cc, sizeof(actor->cc), "%.3s", f[2]);
    if (strlen(f[3]) >= 6)
        snprintf(actor->sector, sizeof(actor->sector), "%.3s", f[3] + 3);
    if (nd_evmap_put(events->actor_map, f[1], strlen(f[1]), (uint32_t)events->nactors++) ||
        note_first(events, 'A', f[1], (uint32_t)events->nactors - 1))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* G key sector: an agent (title or body) and its sector. */
static enum nd_err load_agent(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    uint32_t idx;
    if (nf < 3)
        return ND_ERR_INVALID;
    idx = sector_index(events, &ld->scap, f[2]);
    if (idx == UINT32_MAX || nd_evmap_put(events->agent_map, f[1], strlen(f[1]), idx) ||
        note_first(events, 'G', f[1], idx))
        return ND_ERR_NOMEM;
    return ND_OK;
}

/* N key code role: a nominal trigger. */
static enum nd_err load_nominal(struct loader *ld, char **f, int nf)
{
    struct nd_events *events = ld->events;
    if (nf < 4)
        return ND_ERR_INVALID;
    events->nominals =
        grow_array(events->nominals, &ld->ncap, events->nnominals, sizeof(*events->nominals));
    if (!events->nominals)
        return ND_ERR_NOMEM;
    copy_code(events->nominals[events->nnominals].code, f[2], 6);
    events->nominals[events->nnominals].role = f[3][0] == 'p' ? 'p' : 'o';
    if (nd_evmap_put(events->nominal_map, f[1], strlen(f[1]), (uint32_t)events->nnominals++) ||
        note_first(events, 'N', f[1], (uint32_t)events->nnominals - 1))
        return ND_ERR_NOMEM;
    return ND_OK;
}

static enum nd_err model_load(struct nd_events *events, char *errstr, size_t errsz)
{
    static const struct {
        char kind;
        enum nd_err (*load)(struct loader *ld, char **f, int nf);
    } kinds[] = {{'M', load_plover}, {'W', load_words},     {'S', load_synset},
                 {'D', load_verb},   {'V', load_verb_form}, {'P', load_pattern},
                 {'A', load_actor},  {'G', load_agent},     {'N', load_nominal}};
    struct loader ld = {.events = events};
    enum nd_err err = ND_OK;
    size_t lineno = 0;
    char *line = events->buf, *next;

    for (; line && *line && err == ND_OK; line = next) {
        char *f[8];
        int nf;
        size_t k = 0;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        nf = split_fields(line, f, 8);
        while (k < sizeof(kinds) / sizeof(kinds[0]) && kinds[k].kind != line[0])
            k++;
        err = k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].load(&ld, f, nf) : ND_ERR_INVALID;
    }
    if (err == ND_ERR_INVALID) {
        snprintf(errstr, errsz, "events model: line %zu: malformed record", lineno);
        return err;
    }
    if (err) {
        snprintf(errstr, errsz, "events model: out of memory at line %zu", lineno);
        return err;
    }
    if (!events->nverbs || !events->nactors || !events->nplovers) {
        snprintf(errstr, errsz, "events model: no verbs, actors or PLOVER table");
        return ND_ERR_INVALID;
    }
    for (int k = 0; k < WL_COUNT; k++)
        if (!events->nlists[k]) {
            snprintf(errstr, errsz, "events model: no word list %s (W record)", list_names[k]);
            return ND_ERR_INVALID;
        }
    return ND_OK;
}

/* <models_dir>/events_calib.tsv, written by scripts/fit_event_confidence.py: one "feature weight"
 * line per feature of enum ev_feature, '#' comments. A missing file leaves the coder uncalibrated;
 * a malformed one is an error. */
static enum nd_err load_calibration(struct nd_events *events, const char *models_dir, char *errstr,
                                    size_t errsz)
{
    struct nd_buf path;
    char *data = NULL, *line, *next;
    size_t len = 0, lineno = 0;
    enum nd_err err;
    if ((err = nd_path_join(&path, models_dir, "events_calib.tsv")) == ND_OK)
        err = nd_file_read(path.data, 1u << 20, &data, &len);
    if (err != ND_OK) {
        nd_buf_free(&path);
        return err == ND_ERR_NOTFOUND ? ND_OK : err;
    }
    for (line = data; line && *line; line = next) {
        char *f[3], *end;
        int nf, k;
        lineno++;
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        nf = split_fields(line, f, 3);
        if (nf >= 2 && !strcmp(f[0], "no_source")) {
            events->calib_no_source = strtod(f[1], &end);
            if (end == f[1] || events->calib_no_source < 0 || events->calib_no_source > 1)
                nf = 0; /* reported below */
            else
                continue;
        }
        for (k = 0; k < EVF_COUNT && strcmp(nd_ev_feature_names[k], f[0]); k++)
            ;
        if (nf < 2 || k == EVF_COUNT || (events->calib[k] = strtod(f[1], &end), end == f[1])) {
            snprintf(errstr, errsz, "%s:%zu: expected a feature name and a weight", path.data,
                     lineno);
            free(data);
            nd_buf_free(&path);
            return ND_ERR_INVALID;
        }
        events->has_calib = 1;
    }
    free(data);
    nd_buf_free(&path);
    return ND_OK;
}

struct nd_events *nd_events_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_events *events = NULL;
    struct nd_buf path;
    size_t len = 0;
    enum nd_err err;

    events = calloc(1, sizeof(*events));
    if (!events) {
        snprintf(errstr, errsz, "events model: out of memory");
        return NULL;
    }
    if ((err = nd_path_join(&path, models_dir, "events.model")) == ND_OK)
        err = nd_file_read(path.data, MODEL_CAP, &events->buf, &len);
    nd_buf_free(&path);
    if (err) {
        snprintf(errstr, errsz, "events model %s/events.model: %s", models_dir, nd_err_str(err));
        goto out;
    }
    events->syn_names = nd_evmap_new(256);
    events->verb_forms = nd_evmap_new(16384);
    events->verb_lemmas = nd_evmap_new(4096);
    events->pat_index = nd_evmap_new(32768);
    events->syn_members = nd_evmap_new(4096);
    events->actor_map = nd_evmap_new(40000);
    events->agent_map = nd_evmap_new(4096);
    events->nominal_map = nd_evmap_new(64);
    events->plover_map = nd_evmap_new(512);
    events->first_len = nd_evmap_new(40000);
    if (!events->syn_names || !events->verb_forms || !events->verb_lemmas || !events->pat_index ||
        !events->syn_members || !events->actor_map || !events->agent_map || !events->nominal_map ||
        !events->plover_map || !events->first_len) {
        snprintf(errstr, errsz, "events model: out of memory");
        goto out;
    }
    if (model_load(events, errstr, errsz) != ND_OK)
        goto out;
    events->roles = ND_EVENTS_ROLES_PARSE | ND_EVENTS_ROLES_FALLBACK;
    err = load_calibration(events, models_dir, errstr, errsz);
    if (err == ND_ERR_INVALID)
        goto out;
    if (err) {
        snprintf(errstr, errsz, "events calibration: %s", nd_err_str(err));
        goto out;
    }
    /* function-word classes share the per-token lookup with the phrase lengths */
    for (uint32_t k = 0; k < WL_TOKEN_LISTS; k++)
        for (size_t w = 0; w < events->nlists[k]; w++) {
            const char *word = events->lists[k][w];
            struct first_info *fi = first_info_of(events, word, strlen(word));
            if (fi)
                fi->cls |= 1u << k;
            else {
                snprintf(errstr, errsz, "events model: out of memory");
                goto out;
            }
        }
    return events;
out:
    nd_events_destroy(events);
    return NULL;
}

void nd_events_destroy(struct nd_events *events)
{
    if (!events)
        return;
    nd_evmap_destroy(events->syn_names);
    nd_evmap_destroy(events->verb_forms);
    nd_evmap_destroy(events->verb_lemmas);
    nd_evmap_destroy(events->pat_index);
    nd_evmap_destroy(events->syn_members);
    nd_evmap_destroy(events->actor_map);
    nd_evmap_destroy(events->agent_map);
    nd_evmap_destroy(events->nominal_map);
    nd_evmap_destroy(events->plover_map);
    nd_evmap_destroy(events->first_len);
    free(events->verbs);
    free(events->patterns);
    free(events->words);
    free(events->links);
    free(events->actors);
    free(events->sectors);
    free(events->nominals);
    free(events->plovers);
    free(events->syns);
    free(events->finfo);
    for (int k = 0; k < WL_COUNT; k++)
        free(events->lists[k]);
    free(events->buf);
    free(events);
}

size_t nd_events_model_size(const struct nd_events *events)
{
    return events->nverbs + events->npatterns + events->nactors +
           nd_evmap_count(events->agent_map) + events->nnominals;
}

const struct plover *nd_ev_plover_of(const struct nd_events *events, const char *code)
{
    uint32_t v;
    char c[6];
    copy_code(c, code, sizeof(c));
    for (size_t len = strlen(c); len >= 2; len--)
        if (nd_evmap_get(events->plover_map, c, len, &v))
            return &events->plovers[v];
    return NULL;
}
