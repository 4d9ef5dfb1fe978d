/* Desks: loading and validating the `desks:` section, the facts of a story, and rule matching.
 *
 * The config module hands the section over as JSON whose objects carry "@file", "@line" and
 * "@lines" (the line of each key), so every error here names FILE:LINE like the rest of the
 * config. */
#include "alert/alert_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX (64u << 10) /* keywords look at the first 64 KiB of headline + body */

struct loader {
    FILE *errors;
    int nerr;
    const char *file;
    struct nd_alert_topics *topics;
};

static void report(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct loader *ld, int line, const char *fmt, ...)
{
    va_list ap;
    ld->nerr++;
    if (!ld->errors)
        return;
    fprintf(ld->errors, "%s:%d: ", ld->file ? ld->file : "desks", line);
    va_start(ap, fmt);
    vfprintf(ld->errors, fmt, ap);
    va_end(ap);
    fputc('\n', ld->errors);
}

static int line_of(const json_t *obj)
{
    json_t *v = json_object_get(obj, "@line");
    return json_is_integer(v) ? (int)json_integer_value(v) : 0;
}

/* The line of a key of a mapping, else the mapping's. */
static int key_line(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(obj, "@lines"), key);
    return json_is_integer(v) ? (int)json_integer_value(v) : line_of(obj);
}

static int is_meta(const char *key)
{
    return key[0] == '@';
}

/* A scalar or a list of scalars, as strings. */
static int get_list(struct loader *ld, const json_t *obj, const char *key, struct nd_strs *out)
{
    json_t *v = json_object_get(obj, key), *item;
    size_t i;
    if (json_is_string(v)) {
        nd_strs_add(out, json_string_value(v));
        return 0;
    }
    if (!json_is_array(v)) {
        report(ld, key_line(obj, key), "%s: expected a value or a list of values", key);
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            report(ld, key_line(obj, key), "%s: item %zu is not a plain value", key, i + 1);
            return -1;
        }
        nd_strs_add(out, json_string_value(item));
    }
    return 0;
}

static int get_number(struct loader *ld, const json_t *obj, const char *key, double min, double max,
                      double *out)
{
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    char *end;
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (s) {
        d = strtod(s, &end);
        if (end == s || *end) {
            report(ld, key_line(obj, key), "%s: expected a number, got \"%s\"", key, s);
            return -1;
        }
    } else {
        report(ld, key_line(obj, key), "%s: expected a number", key);
        return -1;
    }
    if (!(d >= min && d <= max)) {
        report(ld, key_line(obj, key), "%s: %g is out of range [%g, %g]", key, d, min, max);
        return -1;
    }
    *out = d;
    return 0;
}

static void check_countries(struct loader *ld, const json_t *obj, const char *key,
                            struct nd_strs *codes)
{
    for (size_t i = 0; i < codes->n; i++) {
        const char *c = codes->v[i];
        int wellformed = strlen(c) == 3 && isupper((unsigned char)c[0]) &&
                         isupper((unsigned char)c[1]) && isupper((unsigned char)c[2]);
        if (!wellformed)
            report(ld, key_line(obj, key),
                   "%s: \"%s\" is not an ISO 3166-1 alpha-3 code (three capital letters, e.g. USA)",
                   key, c);
        else if (!nd_country_known(c))
            report(ld, key_line(obj, key), "%s: \"%s\" is not an assigned ISO 3166-1 alpha-3 code",
                   key, c);
    }
}

static void load_cond(struct loader *ld, const json_t *obj, struct nd_cond *cond)
{
    const char *key;
    json_t *v;
    struct nd_strs raw = {0};

    cond->line = line_of(obj);
    cond->min_confidence = ND_TOPIC_CONFIDENCE;
    if (!json_is_object(obj)) {
        report(ld, cond->line, "a condition must be a mapping (countries, entities, topics, ...)");
        return;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (is_meta(key))
            continue;
        if (!strcmp(key, "countries")) {
            if (!get_list(ld, obj, key, &cond->countries))
                check_countries(ld, obj, key, &cond->countries);
        } else if (!strcmp(key, "countries_all")) {
            if (!get_list(ld, obj, key, &cond->countries_all))
                check_countries(ld, obj, key, &cond->countries_all);
        } else if (!strcmp(key, "entities")) {
            get_list(ld, obj, key, &cond->entities);
        } else if (!strcmp(key, "feeds")) {
            get_list(ld, obj, key, &cond->feeds);
        } else if (!strcmp(key, "keywords")) {
            if (!get_list(ld, obj, key, &cond->keywords))
                for (size_t i = 0; i < cond->keywords.n; i++)
                    for (char *p = cond->keywords.v[i]; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
        } else if (!strcmp(key, "topics")) {
            nd_strs_free(&raw);
            if (!get_list(ld, obj, key, &raw)) {
                for (size_t i = 0; i < raw.n; i++) {
                    const char *uri = nd_alert_topics_resolve(ld->topics, raw.v[i]);
                    if (uri)
                        nd_strs_add(&cond->topics, uri);
                    else
                        report(ld, key_line(obj, key),
                               "topics: \"%s\" is not a known IPTC Media Topic (give its name, "
                               "code or http://cv.iptc.org/newscodes/mediatopic/ URI)",
                               raw.v[i]);
                }
            }
        } else if (!strcmp(key, "events")) {
            nd_strs_free(&raw);
            if (!get_list(ld, obj, key, &raw)) {
                for (size_t i = 0; i < raw.n; i++) {
                    const char *e = raw.v[i];
                    if (isdigit((unsigned char)e[0])) {
                        size_t n = strspn(e, "0123456789");
                        if (e[n] || n > 4)
                            report(ld, key_line(obj, key),
                                   "events: \"%s\" is not a CAMEO code prefix (digits, e.g. 04 or "
                                   "042)",
                                   e);
                        else
                            nd_strs_add(&cond->cameo, e);
                    } else if (nd_plover_known(e)) {
                        nd_strs_add(&cond->plover, e);
                    } else {
                        report(ld, key_line(obj, key),
                               "events: unknown PLOVER event type \"%s\" (AGREE, CONSULT, SUPPORT, "
                               "CONCEDE, COOPERATE, AID, RETREAT, REQUEST, DEMAND, ACCUSE, "
                               "DISAPPROVE, REJECT, THREATEN, SANCTION, PROTEST, MOBILIZE, COERCE, "
                               "ASSAULT) or CAMEO code prefix",
                               e);
                    }
                }
            }
        } else if (!strcmp(key, "min_intensity")) {
            if (!get_number(ld, obj, key, 0, 10, &cond->min_intensity))
                cond->has_min_intensity = 1;
        } else if (!strcmp(key, "min_confidence")) {
            get_number(ld, obj, key, 0, 1, &cond->min_confidence);
        } else {
            report(ld, key_line(obj, key),
                   "unknown condition \"%s\" (countries, countries_all, entities, topics, "
                   "min_confidence, events, min_intensity, feeds, keywords)",
                   key);
        }
    }
    if (json_object_get(obj, "min_confidence") && !json_object_get(obj, "topics"))
        report(ld, key_line(obj, "min_confidence"),
               "min_confidence: needs topics in the same condition");
    nd_strs_free(&raw);
}

static void load_conds(struct loader *ld, const json_t *match, const char *key,
                       struct nd_cond **conds, size_t *n)
{
    json_t *list = json_object_get(match, key), *item;
    size_t i;
    if (json_is_object(list)) {
        /* a single condition needs no list around it */
        *conds = nd_xcalloc(1, sizeof(**conds));
        *n = 1;
        load_cond(ld, list, *conds);
        return;
    }
    if (!json_is_array(list)) {
        report(ld, key_line(match, key), "match.%s: expected a list of conditions", key);
        return;
    }
    *conds = nd_xcalloc(json_array_size(list) + 1, sizeof(**conds));
    json_array_foreach(list, i, item)
    {
        load_cond(ld, item, &(*conds)[i]);
        (*n)++;
    }
}

static int parse_priority(const char *s, enum nd_priority *prio)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "ROUTINE"))
        *prio = ND_PRIO_ROUTINE;
    else if (!strcasecmp(s, "URGENT"))
        *prio = ND_PRIO_URGENT;
    else if (!strcasecmp(s, "FLASH"))
        *prio = ND_PRIO_FLASH;
    else
        return -1;
    return 0;
}

static void prio_defaults(struct nd_prio_rules *p)
{
    p->min = ND_PRIO_ROUTINE;
    nd_strs_add(&p->flash_types, "ASSAULT");
    nd_strs_add(&p->flash_types, "COERCE");
    nd_strs_add(&p->urgent_types, "SANCTION");
    nd_strs_add(&p->urgent_types, "THREATEN");
    nd_strs_add(&p->urgent_types, "MOBILIZE");
    p->flash_intensity = 8;
    p->urgent_intensity = 5;
    p->flash_sources = 2;
    p->urgent_sources = 3;
}

static void load_types(struct loader *ld, const json_t *obj, const char *key, struct nd_strs *out)
{
    nd_strs_free(out);
    if (get_list(ld, obj, key, out))
        return;
    for (size_t i = 0; i < out->n; i++)
        if (!nd_plover_known(out->v[i]))
            report(ld, key_line(obj, key), "priority.%s: unknown PLOVER event type \"%s\"", key,
                   out->v[i]);
}

static void load_priority(struct loader *ld, const json_t *obj, struct nd_prio_rules *p)
{
    const char *key;
    json_t *v;
    double d;
    if (!json_is_object(obj)) {
        report(ld, line_of(obj), "priority: expected a mapping");
        return;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (is_meta(key))
            continue;
        if (!strcmp(key, "min")) {
            if (parse_priority(json_string_value(v), &p->min))
                report(ld, key_line(obj, key), "priority.min: expected FLASH, URGENT or ROUTINE");
        } else if (!strcmp(key, "flash_types")) {
            load_types(ld, obj, key, &p->flash_types);
        } else if (!strcmp(key, "urgent_types")) {
            load_types(ld, obj, key, &p->urgent_types);
        } else if (!strcmp(key, "flash_intensity")) {
            get_number(ld, obj, key, 0, 10, &p->flash_intensity);
        } else if (!strcmp(key, "urgent_intensity")) {
            get_number(ld, obj, key, 0, 10, &p->urgent_intensity);
        } else if (!strcmp(key, "flash_sources")) {
            if (!get_number(ld, obj, key, 1, 1000, &d))
                p->flash_sources = (int)d;
        } else if (!strcmp(key, "urgent_sources")) {
            if (!get_number(ld, obj, key, 1, 1000, &d))
                p->urgent_sources = (int)d;
        } else {
            report(ld, key_line(obj, key),
                   "priority: unknown key \"%s\" (min, flash_types, urgent_types, flash_intensity, "
                   "urgent_intensity, flash_sources, urgent_sources)",
                   key);
        }
    }
}

static void load_hook(struct loader *ld, const json_t *obj, struct nd_hook_conf *hook)
{
    const char *key;
    json_t *v;
    double d;
    hook->rate_per_min = 6;
    hook->burst = 3;
    if (!json_is_object(obj)) {
        report(ld, line_of(obj), "webhooks: each webhook must be a mapping with a url");
        return;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (is_meta(key))
            continue;
        if (!strcmp(key, "url") && json_is_string(v)) {
            hook->url = nd_strdup(json_string_value(v));
        } else if (!strcmp(key, "format")) {
            const char *f = json_string_value(v);
            if (f && !strcmp(f, "slack"))
                hook->slack = 1;
            else if (!f || strcmp(f, "json"))
                report(ld, key_line(obj, key), "webhooks.format: expected json or slack");
        } else if (!strcmp(key, "rate_per_min")) {
            if (!get_number(ld, obj, key, 1, 6000, &d))
                hook->rate_per_min = (int)d;
        } else if (!strcmp(key, "burst")) {
            if (!get_number(ld, obj, key, 1, 1000, &d))
                hook->burst = (int)d;
        } else {
            report(ld, key_line(obj, key),
                   "webhooks: unknown key \"%s\" (url, format, rate_per_min, burst)", key);
        }
    }
    if (!hook->url)
        report(ld, line_of(obj), "webhooks: a webhook needs a url");
    else if (strncmp(hook->url, "http://", 7) && strncmp(hook->url, "https://", 8))
        report(ld, key_line(obj, "url"), "webhooks: url \"%s\" is not http(s)://", hook->url);
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

static void load_desk(struct loader *ld, const json_t *obj, struct nd_desk *desk)
{
    const char *key;
    json_t *v;
    json_t *file = json_object_get(obj, "@file");

    if (json_is_string(file))
        ld->file = json_string_value(file);
    desk->line = line_of(obj);
    prio_defaults(&desk->prio);
    if (!json_is_object(obj)) {
        report(ld, desk->line, "desks: each desk must be a mapping with a name and match rules");
        return;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (is_meta(key))
            continue;
        if (!strcmp(key, "name")) {
            if (!json_is_string(v) || !valid_name(json_string_value(v)))
                report(ld, key_line(obj, key),
                       "desks: name must be letters, digits, '-', '_' or '.' (it keys the alerts)");
            else
                desk->name = nd_strdup(json_string_value(v));
        } else if (!strcmp(key, "title")) {
            if (json_is_string(v))
                desk->title = nd_strdup(json_string_value(v));
            else
                report(ld, key_line(obj, key), "desks: title must be a string");
        } else if (!strcmp(key, "match")) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                report(ld, key_line(obj, key), "match: expected a mapping of any, all, none");
                continue;
            }
            json_object_foreach(v, mk, mv)
            {
                if (is_meta(mk))
                    continue;
                if (!strcmp(mk, "any"))
                    load_conds(ld, v, mk, &desk->any, &desk->nany);
                else if (!strcmp(mk, "all"))
                    load_conds(ld, v, mk, &desk->all, &desk->nall);
                else if (!strcmp(mk, "none"))
                    load_conds(ld, v, mk, &desk->none, &desk->nnone);
                else
                    report(ld, key_line(v, mk), "match: unknown key \"%s\" (any, all, none)", mk);
            }
        } else if (!strcmp(key, "priority")) {
            load_priority(ld, v, &desk->prio);
        } else if (!strcmp(key, "webhooks")) {
            json_t *item;
            size_t i;
            if (!json_is_array(v)) {
                report(ld, key_line(obj, key), "webhooks: expected a list");
                continue;
            }
            desk->hooks = nd_xcalloc(json_array_size(v) + 1, sizeof(*desk->hooks));
            json_array_foreach(v, i, item)
            {
                load_hook(ld, item, &desk->hooks[i]);
                desk->nhooks++;
            }
        } else {
            report(ld, key_line(obj, key),
                   "desks: unknown key \"%s\" (name, title, match, priority, webhooks)", key);
        }
    }
    if (!desk->name)
        report(ld, desk->line, "desks: a desk needs a name");
    if (!desk->title && desk->name)
        desk->title = nd_strdup(desk->name);
}

static void cond_free(struct nd_cond *cond)
{
    nd_strs_free(&cond->countries);
    nd_strs_free(&cond->countries_all);
    nd_strs_free(&cond->entities);
    nd_strs_free(&cond->topics);
    nd_strs_free(&cond->plover);
    nd_strs_free(&cond->cameo);
    nd_strs_free(&cond->feeds);
    nd_strs_free(&cond->keywords);
}

static void conds_free(struct nd_cond *conds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cond_free(&conds[i]);
    free(conds);
}

static void desk_free(struct nd_desk *desk)
{
    free(desk->name);
    free(desk->title);
    conds_free(desk->any, desk->nany);
    conds_free(desk->all, desk->nall);
    conds_free(desk->none, desk->nnone);
    nd_strs_free(&desk->prio.flash_types);
    nd_strs_free(&desk->prio.urgent_types);
    for (size_t i = 0; i < desk->nhooks; i++)
        free(desk->hooks[i].url);
    free(desk->hooks);
}

struct nd_desks *nd_desks_load(const json_t *conf, const char *models_dir, FILE *errors, int *nerr)
{
    struct loader ld = {.errors = errors};
    struct nd_desks *desks = nd_xcalloc(1, sizeof(*desks));
    json_t *item;
    size_t i;

    atomic_init(&desks->refs, 1);
    if (conf && !json_is_array(conf)) {
        report(&ld, line_of(conf), "desks: expected a list of desks");
        goto out;
    }
    if (!conf || !json_array_size(conf))
        goto out;
    ld.topics = nd_alert_topics_load(models_dir);
    desks->desks = nd_xcalloc(json_array_size(conf), sizeof(*desks->desks));
    json_array_foreach(conf, i, item)
    {
        struct nd_desk *desk = &desks->desks[desks->n++];
        load_desk(&ld, item, desk);
        for (size_t j = 0; desk->name && j + 1 < desks->n; j++)
            if (desks->desks[j].name && !strcmp(desks->desks[j].name, desk->name))
                report(&ld, desk->line, "desks: duplicate desk name \"%s\" (first at line %d)",
                       desk->name, desks->desks[j].line);
    }
out:
    nd_alert_topics_destroy(ld.topics);
    if (nerr)
        *nerr += ld.nerr;
    if (ld.nerr) {
        nd_desks_destroy(desks);
        return NULL;
    }
    return desks;
}

struct nd_desks *nd_desks_ref(struct nd_desks *desks)
{
    if (desks)
        atomic_fetch_add(&desks->refs, 1);
    return desks;
}

void nd_desks_destroy(struct nd_desks *desks)
{
    if (!desks || atomic_fetch_sub(&desks->refs, 1) != 1)
        return;
    for (size_t i = 0; i < desks->n; i++)
        desk_free(&desks->desks[i]);
    free(desks->desks);
    free(desks);
}

size_t nd_desks_count(const struct nd_desks *desks)
{
    return desks ? desks->n : 0;
}

const char *nd_desks_name(const struct nd_desks *desks, size_t i)
{
    return desks && i < desks->n ? desks->desks[i].name : NULL;
}

const char *nd_desks_title(const struct nd_desks *desks, size_t i)
{
    return desks && i < desks->n ? desks->desks[i].title : NULL;
}

int nd_desks_have_webhooks(const struct nd_desks *desks)
{
    for (size_t i = 0; desks && i < desks->n; i++)
        if (desks->desks[i].nhooks)
            return 1;
    return 0;
}

/* --- facts of a story ------------------------------------------------------------------------- */

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The country part of an actor code: "USA", "USAGOV" -> "USA". */
static int actor_country(const char *code, char out[4])
{
    if (!code || strlen(code) < 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (!isupper((unsigned char)code[i]))
            return 0;
        out[i] = code[i];
    }
    out[3] = '\0';
    return nd_country_known(out);
}

static int role_has(const char *role, const char *const *words)
{
    if (!role)
        return 0;
    for (int i = 0; words[i]; i++)
        if (strcasestr(role, words[i]))
            return 1;
    return 0;
}

int nd_entity_is_foreign_minister(const json_t *entity)
{
    static const char *const roles[] = {"foreign minister",
                                        "foreign secretary",
                                        "secretary of state",
                                        "minister of foreign affairs",
                                        "minister for foreign affairs",
                                        "external affairs minister",
                                        "minister of external affairs",
                                        NULL};
    const char *kind = str(entity, "kind");
    if (kind && (!strcmp(kind, "foreign_minister") || !strcmp(kind, "foreign-minister")))
        return 1;
    return role_has(str(entity, "role"), roles);
}

int nd_entity_is_leader(const json_t *entity)
{
    static const char *const roles[] = {
        "president", "prime minister", "king", "queen",  "emperor",       "chancellor",
        "premier",   "supreme leader", "emir", "sultan", "head of state", "head of government",
        NULL};
    static const char *const not_roles[] = {"vice president", "vice-president", "deputy",
                                            "vice premier",   "former",         NULL};
    const char *kind = str(entity, "kind"), *role = str(entity, "role");
    if (kind && (!strcmp(kind, "leader") || !strcmp(kind, "head_of_state")))
        return 1;
    if (role_has(role, not_roles) || nd_entity_is_foreign_minister(entity))
        return 0;
    return role_has(role, roles);
}

void nd_facts_init(struct nd_facts *facts, const json_t *doc, const struct nd_event_list *events)
{
    json_t *e;
    size_t i, j;
    struct nd_buf text;
    const char *headline = str(doc, "headline"), *body = str(doc, "body_text");
    char code[4];

    memset(facts, 0, sizeof(*facts));
    facts->doc = doc;
    facts->entities = json_object_get(doc, "entities");
    if (events && events->n) {
        facts->events = nd_xcalloc(events->n, sizeof(*facts->events));
        for (i = 0; i < events->n; i++)
            if (!events->v[i].below_threshold)
                facts->events[facts->nevents++] = &events->v[i];
    }
    facts->subject = json_object_get(doc, "subject");
    facts->feed = str(json_object_get(doc, "provenance"), "feed");
    json_array_foreach(facts->entities, i, e)
    {
        if (actor_country(str(json_object_get(e, "ids"), "iso3166"), code))
            nd_strs_add_unique(&facts->countries, code);
        if (actor_country(str(e, "country"), code))
            nd_strs_add_unique(&facts->countries, code);
        if (nd_entity_is_leader(e))
            facts->heads_of_state = 1;
        if (nd_entity_is_foreign_minister(e))
            facts->foreign_ministers = 1;
    }
    for (i = 0; i < facts->nevents; i++) {
        const struct nd_event *ev = facts->events[i];
        /* only known types: the set lives on in developments, so it must stay small */
        if (nd_plover_known(ev->type))
            nd_strs_add_unique(&facts->types, ev->type);
        if (fabs(ev->intensity) > facts->max_mag) {
            facts->max_mag = fabs(ev->intensity);
            facts->max_intensity = ev->intensity;
        }
        for (int side = 0; side < 2; side++) {
            const struct nd_event_actor *actors = side ? ev->target : ev->source;
            for (j = 0; j < (size_t)(side ? ev->ntarget : ev->nsource); j++) {
                if (actor_country(actors[j].code, code)) {
                    nd_strs_add_unique(&facts->countries, code);
                    nd_strs_add_unique(&facts->event_countries, code);
                }
            }
        }
    }
    nd_buf_init(&text, TEXT_MAX);
    nd_buf_append(&text, " ", 1);
    if (headline)
        nd_buf_append(&text, headline, strnlen(headline, TEXT_MAX / 2));
    nd_buf_append(&text, " \n ", 3);
    if (body)
        nd_buf_append(&text, body, strnlen(body, TEXT_MAX - text.len - 2));
    nd_buf_append(&text, " ", 1);
    for (size_t k = 0; k < text.len; k++)
        text.data[k] = (char)tolower((unsigned char)text.data[k]);
    facts->text = text.len ? nd_buf_steal(&text, NULL) : nd_strdup("");
    nd_buf_free(&text);
}

void nd_facts_free(struct nd_facts *facts)
{
    free(facts->events);
    nd_strs_free(&facts->countries);
    nd_strs_free(&facts->event_countries);
    nd_strs_free(&facts->types);
    free(facts->text);
    memset(facts, 0, sizeof(*facts));
}

/* --- matching --------------------------------------------------------------------------------- */

static void note(json_t *matched, const char *what, json_t *value)
{
    json_t *arr = json_object_get(matched, what);
    size_t i;
    json_t *v;
    if (!arr) {
        arr = json_array();
        json_object_set_new(matched, what, arr);
    }
    json_array_foreach(arr, i, v)
    {
        if (json_equal(v, value)) {
            json_decref(value);
            return;
        }
    }
    json_array_append_new(arr, value);
}

static int word_char(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

static int has_keyword(const char *text, const char *kw)
{
    size_t n = strlen(kw);
    for (const char *p = text; n && (p = strstr(p, kw)); p++) {
        if ((p == text || !word_char(p[-1])) && !word_char(p[n]))
            return 1;
    }
    return 0;
}

static int entity_is(const json_t *entity, const char *want)
{
    json_t *ids = json_object_get(entity, "ids");
    const char *key;
    json_t *v;
    json_object_foreach(ids, key, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), want))
            return 1;
    }
    return str(entity, "name") && !strcasecmp(str(entity, "name"), want);
}

json_t *nd_entity_brief(const json_t *entity)
{
    json_t *out = json_object();
    static const char *const keys[] = {"type", "name",    "ids",      "kind",
                                       "role", "country", "salience", NULL};
    for (int i = 0; keys[i]; i++)
        if (json_object_get(entity, keys[i]))
            json_object_set(out, keys[i], json_object_get(entity, keys[i]));
    return out;
}

static int event_type_matches(const struct nd_cond *cond, const struct nd_event *event)
{
    const char *type = event->type, *cameo = event->cameo;
    if (nd_strs_has(&cond->plover, type))
        return 1;
    for (size_t i = 0; i < cond->cameo.n; i++)
        if (!strncmp(cameo, cond->cameo.v[i], strlen(cond->cameo.v[i])))
            return 1;
    return 0;
}

/* Every key of a condition must hold; evidence goes into `matched`. */
static int cond_holds(const struct nd_cond *cond, const struct nd_facts *facts, json_t *matched)
{
    json_t *e;
    size_t i;
    int found;

    if (cond->countries.n) {
        found = 0;
        for (i = 0; i < cond->countries.n; i++) {
            if (nd_strs_has(&facts->countries, cond->countries.v[i])) {
                note(matched, "countries", json_string(cond->countries.v[i]));
                found = 1;
            }
        }
        if (!found)
            return 0;
    }
    for (i = 0; i < cond->countries_all.n; i++)
        if (!nd_strs_has(&facts->countries, cond->countries_all.v[i]))
            return 0;
    for (i = 0; i < cond->countries_all.n; i++)
        note(matched, "countries", json_string(cond->countries_all.v[i]));
    if (cond->entities.n) {
        found = 0;
        json_array_foreach(facts->entities, i, e)
        {
            for (size_t k = 0; k < cond->entities.n; k++) {
                if (entity_is(e, cond->entities.v[k])) {
                    note(matched, "entities", nd_entity_brief(e));
                    found = 1;
                }
            }
        }
        if (!found)
            return 0;
    }
    if (cond->topics.n) {
        found = 0;
        json_array_foreach(facts->subject, i, e)
        {
            const char *uri = str(e, "uri");
            /* a story without confidences (from elsewhere) has its topics for sure */
            const json_t *conf = json_object_get(e, "confidence");
            if (uri && nd_strs_has(&cond->topics, uri) &&
                (!json_is_number(conf) || json_number_value(conf) >= cond->min_confidence)) {
                note(matched, "topics", json_string(uri));
                found = 1;
            }
        }
        if (!found)
            return 0;
    }
    if (cond->plover.n || cond->cameo.n || cond->has_min_intensity) {
        found = 0;
        for (i = 0; i < facts->nevents; i++) {
            const struct nd_event *ev = facts->events[i];
            if ((cond->plover.n || cond->cameo.n) && !event_type_matches(cond, ev))
                continue;
            if (cond->has_min_intensity && fabs(ev->intensity) < cond->min_intensity)
                continue;
            note(matched, "events", nd_event_to_json(ev));
            note(matched, "event_index", json_integer((json_int_t)i));
            found = 1;
        }
        if (!found)
            return 0;
    }
    if (cond->feeds.n) {
        if (!facts->feed || !nd_strs_has(&cond->feeds, facts->feed))
            return 0;
        note(matched, "feeds", json_string(facts->feed));
    }
    if (cond->keywords.n) {
        found = 0;
        for (i = 0; i < cond->keywords.n; i++) {
            if (has_keyword(facts->text, cond->keywords.v[i])) {
                note(matched, "keywords", json_string(cond->keywords.v[i]));
                found = 1;
            }
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* Merge the evidence of a condition that held. */
static void merge(json_t *into, json_t *from)
{
    const char *key;
    json_t *arr, *v;
    size_t i;
    json_object_foreach(from, key, arr)
    {
        json_array_foreach(arr, i, v) note(into, key, json_incref(v));
    }
}

int nd_desk_match(const struct nd_desk *desk, const struct nd_facts *facts, json_t **matched)
{
    json_t *evidence = json_object();
    int any = desk->nany == 0;

    for (size_t i = 0; i < desk->nnone; i++) {
        json_t *scratch = json_object();
        int holds = cond_holds(&desk->none[i], facts, scratch);
        json_decref(scratch);
        if (holds)
            goto no;
    }
    for (size_t i = 0; i < desk->nall; i++) {
        json_t *scratch = json_object();
        if (!cond_holds(&desk->all[i], facts, scratch)) {
            json_decref(scratch);
            goto no;
        }
        merge(evidence, scratch);
        json_decref(scratch);
    }
    for (size_t i = 0; i < desk->nany; i++) {
        json_t *scratch = json_object();
        if (cond_holds(&desk->any[i], facts, scratch)) {
            any = 1;
            merge(evidence, scratch);
        }
        json_decref(scratch);
    }
    if (!any)
        goto no;
    *matched = evidence;
    return 1;
no:
    json_decref(evidence);
    *matched = NULL;
    return 0;
}
