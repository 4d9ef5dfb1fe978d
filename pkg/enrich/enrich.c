#include "enrich/enrich.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/doc.h"
#include "enrich/enrich_int.h"
#include "enrich/entities.h"
#include "enrich/events.h"
#include "enrich/events_lex.h"
#include "enrich/topics.h"

/* <models_dir>/<name> into path (initialised here); an error names the folder. */
static enum nd_err model_path(struct nd_buf *path, const char *models_dir, const char *name,
                              char *errstr, size_t errsz)
{
    enum nd_err err = nd_path_join(path, models_dir, name);
    if (err != ND_OK)
        snprintf(errstr, errsz, "models folder %.200s...: %s", models_dir, nd_err_str(err));
    return err;
}

struct nd_enrich *nd_enrich_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_enrich *enrich = nd_xcalloc(1, sizeof(*enrich)), *ret = NULL;
    struct nd_buf path;

    enrich->models_dir = nd_strdup(models_dir);
    enrich->min_confidence = ND_EVENTS_MIN_CONFIDENCE;
    if (model_path(&path, models_dir, "kb.tsv", errstr, errsz) != ND_OK ||
        !(enrich->kb = nd_kb_load(path.data, errstr, errsz)))
        goto out;
    nd_buf_free(&path);
    if (model_path(&path, models_dir, "ner.bin", errstr, errsz) != ND_OK ||
        !(enrich->tagger = nd_tagger_load(path.data, errstr, errsz)))
        goto out;
    if (!(enrich->events = nd_events_new(enrich->models_dir, errstr, errsz)))
        goto out;
    if (!(enrich->topics = nd_topics_new(enrich->models_dir, errstr, errsz)))
        goto out;
    nd_buf_free(&path);
    if (model_path(&path, models_dir, "syntax.bin", errstr, errsz) != ND_OK ||
        !(enrich->syntax = nd_syntax_load(path.data, errstr, errsz)))
        goto out;
    ret = enrich;
    enrich = NULL;
out:
    nd_buf_free(&path);
    nd_enrich_destroy(enrich);
    return ret;
}

void nd_enrich_destroy(struct nd_enrich *enrich)
{
    if (!enrich)
        return;
    nd_tagger_destroy(enrich->tagger);
    nd_kb_destroy(enrich->kb);
    nd_events_destroy(enrich->events);
    nd_topics_destroy(enrich->topics);
    nd_syntax_destroy(enrich->syntax);
    free(enrich->models_dir);
    free(enrich);
}

/* The entities' body mentions as the event coder's actors: who each mention is (country code, or
 * IGO for international bodies) and whether it is a government actor. Caller frees the array. */
static struct nd_events_mention *entity_mentions(const struct nd_entities *ents, size_t *n)
{
    size_t total = 0, k = 0;
    struct nd_events_mention *out;

    for (size_t i = 0; i < ents->nentities; i++)
        total += ents->entities[i].nmentions;
    out = nd_xcalloc(total ? total : 1, sizeof(*out));
    for (size_t i = 0; i < ents->nentities; i++) {
        const struct nd_entity *e = &ents->entities[i];
        const char *kind = e->kind ? e->kind : "";
        for (size_t m = 0; m < e->nmentions; m++) {
            const struct nd_mention *mo = &e->mentions[m];
            if (mo->field != ND_FIELD_BODY)
                continue;
            out[k].start = mo->start;
            out[k].end = mo->end;
            out[k].type = nd_ent_type_name(e->type);
            out[k].country = !strcmp(kind, "igo") ? "IGO" : e->country[0] ? e->country : NULL;
            out[k].name = e->name;
            out[k].role = (!strcmp(kind, "official") || !strcmp(kind, "leader") || mo->metonym)
                              ? "GOV"
                              : NULL;
            k++;
        }
    }
    *n = k;
    return out;
}

/* The stages, in order. Each later stage (topics, events) reads `ents` and adds its own member to
 * story->annotations beside "entities". */
/* A story that arrives already annotated (a ninjs item from an upstream newsd or a partner carrying
 * entities, events or subject) keeps what it has: those came from a source that knew better. */
static void keep_or_set(json_t *annotations, const char *key, json_t *value)
{
    if (json_object_get(annotations, key))
        json_decref(value);
    else
        json_object_set_new(annotations, key, value);
}

/* Sentences that can hold an event: those with mentions of two different actors (entities with a
 * country code, or international organisations) and a word the event coder could make a trigger
 * of (nd_events_trigger_sentences; triggers NULL when it could not be made: actors alone decide).
 * Only these are parsed: a parse costs several times as much per sentence as all the rest of
 * enrichment (docs/enrich.md). */
struct want_arg {
    const struct nd_events_mention *mentions;
    size_t nmentions;
    const uint8_t *triggers; /* per doc sentence */
};

static int want_sentence(const struct nd_doc *doc, size_t s, void *arg)
{
    const struct want_arg *w = arg;
    const struct nd_doc_sent *ds = &doc->sents[s];
    const struct nd_events_mention *first = NULL;
    if (w->triggers && !w->triggers[s])
        return 0;
    for (size_t i = 0; i < w->nmentions; i++) {
        const struct nd_events_mention *m = &w->mentions[i];
        if (!m->country || m->start < ds->start || m->start >= ds->end)
            continue;
        if (!first)
            first = m;
        else if (m->name != first->name) /* one canonical name string per entity */
            return 1;
    }
    return 0;
}

/* The capitalised words of names (people, organisations, places) are proper nouns to the tagger:
 * the entities stage, with its gazetteers and document evidence, knows them better than a tagger
 * trained on web text, where a capitalised word opening a sentence is as often an imperative. */
static void mark_names(struct nd_doc *doc, const struct nd_entities *ents)
{
    for (size_t i = 0; i < ents->nentities; i++) {
        const struct nd_entity *e = &ents->entities[i];
        if (e->type == ND_ENT_NORP)
            continue;
        for (size_t m = 0; m < e->nmentions; m++) {
            const struct nd_mention *mo = &e->mentions[m];
            if (mo->field != ND_FIELD_BODY)
                continue;
            for (uint32_t k = mo->tok_first; k < mo->tok_first + mo->tok_count && k < doc->ntoks;
                 k++)
                doc->toks[k].name = 1;
        }
    }
}

enum nd_err nd_enrich_parse(const struct nd_enrich *enrich, const char *text, size_t len,
                            struct nd_doc *doc)
{
    struct nd_story *story;
    struct nd_entities ents;
    enum nd_err err;

    if ((err = nd_doc_build(doc, text, len)) != ND_OK)
        return err;
    story = nd_story_new();
    story->body_text = nd_strndup(text, len);
    err = nd_entities_find_doc(enrich, story, doc, &ents);
    if (err == ND_OK)
        mark_names(doc, &ents);
    nd_entities_free(&ents);
    nd_story_destroy(story);
    if (err == ND_ERR_NOMEM) {
        nd_doc_free(doc);
        return err;
    }
    return nd_doc_parse(doc, enrich->syntax, NULL, NULL);
}

enum nd_err nd_enrich_story(const struct nd_enrich *enrich, struct nd_story *story)
{
    struct nd_entities ents;
    struct nd_events_mention *mentions = NULL;
    struct nd_evtok *toks = NULL;
    struct nd_doc doc;
    size_t nmentions = 0;
    enum nd_err err;
    const char *body = story->body_text;

    nd_enrich_text(story);
    body = story->body_text;
    /* the body's one token stream: entities, the parser, the event coder and topics read it */
    err = nd_doc_build(&doc, body ? body : "", body ? strlen(body) : 0);
    if (err == ND_ERR_NOMEM) {
        memset(&ents, 0, sizeof(ents));
        goto out;
    }
    if (err == ND_OK)
        err = nd_entities_find_doc(enrich, story, &doc, &ents);
    else
        memset(&ents, 0, sizeof(ents));
    keep_or_set(story->annotations, "entities", nd_entities_to_json(&ents, story));
    if (story->body_text) {
        size_t len = strlen(story->body_text);
        /* the event coder and topics read the doc's tokens too, through one lexical view */
        size_t ntok = nd_evlex_tokens(&doc, ND_EVLEX_MAX_TOKENS, &toks);
        /* a story that came with events keeps them (see keep_or_set) */
        int upstream = story->events.set;
        struct nd_event_list coded = {0};
        mentions = entity_mentions(&ents, &nmentions);
        if (enrich->syntax) {
            uint8_t *triggers = doc.nsents ? malloc(doc.nsents) : NULL;
            struct want_arg wa = {mentions, nmentions, triggers};
            if (triggers)
                nd_events_trigger_sentences(enrich->events, toks, ntok, &doc, triggers);
            mark_names(&doc, &ents);
            nd_doc_parse(&doc, enrich->syntax, want_sentence, &wa);
            free(triggers);
        }
        nd_events_code_tokens(enrich->events, &doc, toks, ntok, mentions, nmentions, &coded);
        /* events under the threshold stay in the story, marked: neither published nor alerted */
        nd_event_list_mark(&coded, enrich->min_confidence);
        keep_or_set(story->annotations, "subject",
                    nd_topics_assign_tokens(enrich->topics, story->headline, story->body_text, len,
                                            toks, ntok, &coded));
        if (upstream) {
            nd_event_list_clear(&coded);
        } else {
            nd_event_list_clear(&story->events);
            story->events = coded;
        }
    }
out:
    free(mentions);
    free(toks);
    nd_entities_free(&ents);
    nd_doc_free(&doc);
    story->enriched_at_ms = nd_now_ms();
    /* odd text (too big for the tokeniser) still goes on, with no entities */
    return err == ND_ERR_NOMEM ? err : ND_OK;
}

void nd_enrich_set_min_confidence(struct nd_enrich *enrich, double min_confidence)
{
    enrich->min_confidence = min_confidence;
}

static int emit(const struct nd_enrich *enrich, struct nd_story *story, FILE *out)
{
    json_t *doc;
    char *line;
    if (!story->id[0])
        nd_story_assign_id(story);
    if (nd_enrich_story(enrich, story) != ND_OK)
        return -1;
    doc = nd_story_to_json(story);
    line = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!line)
        return -1;
    fputs(line, out);
    fputc('\n', out);
    free(line);
    return 0;
}

int nd_enrich_file(const struct nd_enrich *enrich, const char *path, FILE *out, FILE *errout)
{
    char *data = NULL, errstr[512];
    size_t len, p = 0, lineno = 0;
    const char *name = strcmp(path, "-") ? path : "stdin";
    int nerr = 0;
    enum nd_err err;

    if ((err = nd_file_read(path, ND_ENRICH_FILE_MAX, &data, &len)) != ND_OK) {
        fprintf(errout, "newsd enrich: %s: %s\n", name, nd_err_str(err));
        return 1;
    }
    while (p < len && (data[p] == ' ' || data[p] == '\t' || data[p] == '\n' || data[p] == '\r'))
        p++;
    if (p >= len) {
        /* nothing to enrich is no story, not an empty one; and not an error either */
        fprintf(errout, "newsd enrich: %s: %s, no story in it\n", name, len ? "only whitespace" : "empty");
        free(data);
        return 0;
    }
    if (data[p] != '{') {
        /* plain text: the whole file is one story's body */
        struct nd_story *story = nd_story_new();
        if (memchr(data, '\0', len)) {
            fprintf(errout, "newsd enrich: %s: binary data (NUL bytes), not a story\n", name);
            nerr++;
        } else {
            nd_story_set(&story->body_text, data);
            if (emit(enrich, story, out)) {
                fprintf(errout, "newsd enrich: %s: out of memory\n", name);
                nerr++;
            }
        }
        nd_story_destroy(story);
        free(data);
        return nerr;
    }
    for (p = 0; p < len;) {
        char *nl = memchr(data + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - data) : len;
        json_error_t jerr;
        json_t *obj;
        struct nd_story *story;
        lineno++;
        if (e > p && strspn(data + p, " \t\r") < e - p) {
            if (!(obj = json_loadb(data + p, e - p, JSON_REJECT_DUPLICATES, &jerr))) {
                fprintf(errout, "newsd enrich: %s:%zu: invalid JSON: %s (column %d)\n", name, lineno,
                        jerr.text, jerr.column);
                nerr++;
            } else if (!(story = nd_story_from_json(obj, errstr, sizeof(errstr)))) {
                fprintf(errout, "newsd enrich: %s:%zu: %s\n", name, lineno, errstr);
                nerr++;
                json_decref(obj);
            } else {
                json_decref(obj);
                if (emit(enrich, story, out)) {
                    fprintf(errout, "newsd enrich: %s:%zu: out of memory\n", name, lineno);
                    nerr++;
                }
                nd_story_destroy(story);
            }
        }
        p = e + 1;
    }
    free(data);
    return nerr;
}
