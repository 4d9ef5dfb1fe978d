/* Reference tables of the alert module: countries, PLOVER event types, IPTC Media Topics, and the
 * small string set every table here is built on. */
#include "alert/alert_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOPICS_MAX 20000
#define TOPICS_FILE_MAX (8u << 20)
#define IPTC_PREFIX "http://cv.iptc.org/newscodes/mediatopic/"

/* --- string sets ------------------------------------------------------------------------------ */

void nd_strs_add(struct nd_strs *s, const char *value)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = nd_strdup(value);
}

int nd_strs_has(const struct nd_strs *s, const char *value)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], value))
            return 1;
    return 0;
}

int nd_strs_add_unique(struct nd_strs *s, const char *value)
{
    if (nd_strs_has(s, value))
        return 0;
    nd_strs_add(s, value);
    return 1;
}

void nd_strs_copy(struct nd_strs *dst, const struct nd_strs *src)
{
    for (size_t i = 0; i < src->n; i++)
        nd_strs_add(dst, src->v[i]);
}

void nd_strs_free(struct nd_strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

json_t *nd_strs_json(const struct nd_strs *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(arr, json_string(s->v[i]));
    return arr;
}

/* --- countries -------------------------------------------------------------------------------- */

static int country_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct nd_country *)elem)->code);
}

const char *nd_country_name(const char *code)
{
    const struct nd_country *c;
    if (!code)
        return "?";
    c = bsearch(code, nd_countries, nd_ncountries, sizeof(*nd_countries), country_cmp);
    return c ? c->name : code;
}

int nd_country_known(const char *code)
{
    if (!code || strlen(code) != 3)
        return 0;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return 0;
    if (code[0] == 'X')
        return 1;
    return bsearch(code, nd_countries, nd_ncountries, sizeof(*nd_countries), country_cmp) != NULL;
}

/* --- PLOVER ----------------------------------------------------------------------------------- */

static const struct plover {
    const char *type, *kind;
} plover[] = {
    {"AGREE", "talks"},
    {"CONSULT", "talks"},
    {"SUPPORT", "talks"},
    {"CONCEDE", "talks"},
    {"COOPERATE", "talks"},
    {"AID", "talks"},
    {"RETREAT", "talks"},
    {"REQUEST", "talks"},
    {"DEMAND", "talks"},
    {"ACCUSE", "talks"},
    {"DISAPPROVE", "talks"},
    {"REJECT", "talks"},
    {"THREATEN", "talks"},
    {"SANCTION", "talks"},
    {"PROTEST", "protest"},
    {"MOBILIZE", "force"},
    {"COERCE", "force"},
    {"ASSAULT", "force"},
};

static const struct plover *plover_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof(plover) / sizeof(plover[0]); i++)
        if (!strcmp(plover[i].type, type))
            return &plover[i];
    return NULL;
}

int nd_plover_known(const char *type)
{
    return plover_find(type) != NULL;
}

const char *nd_plover_kind(const char *type)
{
    const struct plover *p = plover_find(type);
    return p ? p->kind : "other";
}

static int cameo_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct nd_cameo_phrase *)elem)->code);
}

const struct nd_cameo_phrase *nd_cameo_phrase(const char *cameo)
{
    char code[6];
    size_t n = cameo ? strnlen(cameo, sizeof(code) - 1) : 0;
    memcpy(code, cameo ? cameo : "", n);
    code[n] = '\0';
    /* a code the table lacks (a fifth digit, a custom one) takes its parent's phrase */
    for (; n >= 3; code[--n] = '\0') {
        const struct nd_cameo_phrase *p =
            bsearch(code, nd_cameo_phrases, nd_ncameo_phrases, sizeof(*nd_cameo_phrases), cameo_cmp);
        if (p)
            return p;
    }
    return NULL;
}

/* --- IPTC Media Topics ------------------------------------------------------------------------ */

struct topic {
    char *uri, *code, *name;
};

struct nd_alert_topics {
    struct topic *v;
    size_t n;
    int from_file; /* the full table was loaded: it is authoritative */
};

/* The 17 top-level Media Topics: enough to validate desks when models/ has no table. */
static const char *const toplevel[][2] = {
    {"01000000", "arts, culture, entertainment and media"},
    {"16000000", "conflict, war and peace"},
    {"02000000", "crime, law and justice"},
    {"03000000", "disaster, accident and emergency incident"},
    {"04000000", "economy, business and finance"},
    {"05000000", "education"},
    {"06000000", "environment"},
    {"07000000", "health"},
    {"08000000", "human interest"},
    {"09000000", "labour"},
    {"10000000", "lifestyle and leisure"},
    {"11000000", "politics"},
    {"12000000", "religion"},
    {"13000000", "science and technology"},
    {"14000000", "society"},
    {"15000000", "sport"},
    {"17000000", "weather"},
};

static void topic_add(struct nd_alert_topics *topics, const char *uri, const char *name)
{
    struct topic *t;
    const char *slash;
    if (topics->n >= TOPICS_MAX)
        return;
    topics->v = realloc(topics->v, (topics->n + 1) * sizeof(*topics->v));
    if (!topics->v)
        abort();
    t = &topics->v[topics->n++];
    t->uri = nd_strdup(uri);
    slash = strrchr(uri, '/');
    t->code = nd_strdup(slash ? slash + 1 : uri);
    t->name = nd_strdup(name);
}

struct nd_alert_topics *nd_alert_topics_load(const char *models_dir)
{
    struct nd_alert_topics *topics = nd_xcalloc(1, sizeof(*topics));
    struct nd_buf path;
    char *data = NULL, *line, *save = NULL;
    size_t len;

    if (models_dir) {
        if (nd_path_join(&path, models_dir, "iptc_mediatopics.tsv") != ND_OK ||
            nd_file_read(path.data, TOPICS_FILE_MAX, &data, &len) != ND_OK)
            data = NULL; /* no file: the top-level topics below */
        nd_buf_free(&path);
        if (data) {
            /* uri<TAB>name[<TAB>...]; lines that do not start with a URI are headers or comments */
            for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(line, '\t'), *end;
                if (!tab || strncmp(line, "http", 4))
                    continue;
                *tab = '\0';
                if ((end = strchr(tab + 1, '\t')))
                    *end = '\0';
                if ((end = strchr(tab + 1, '\r')))
                    *end = '\0';
                topic_add(topics, line, tab + 1);
                topics->from_file = 1;
            }
            free(data);
        }
    }
    for (size_t i = 0; i < sizeof(toplevel) / sizeof(toplevel[0]); i++) {
        char uri[128];
        snprintf(uri, sizeof(uri), IPTC_PREFIX "%s", toplevel[i][0]);
        int have = 0;
        for (size_t k = 0; k < topics->n && !have; k++)
            have = !strcmp(topics->v[k].uri, uri);
        if (!have)
            topic_add(topics, uri, toplevel[i][1]);
    }
    return topics;
}

void nd_alert_topics_destroy(struct nd_alert_topics *topics)
{
    if (!topics)
        return;
    for (size_t i = 0; i < topics->n; i++) {
        free(topics->v[i].uri);
        free(topics->v[i].code);
        free(topics->v[i].name);
    }
    free(topics->v);
    free(topics);
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

const char *nd_alert_topics_resolve(const struct nd_alert_topics *topics, const char *value)
{
    for (size_t i = 0; i < topics->n; i++) {
        const struct topic *t = &topics->v[i];
        if (!strcmp(t->uri, value) || !strcmp(t->code, value) || !strcasecmp(t->name, value))
            return t->uri;
    }
    /* Without the full table any well-formed Media Topic URI is accepted: the table only ships
     * with the topics model, and a desk written for it must still load. */
    if (!topics->from_file && !strncmp(value, IPTC_PREFIX, strlen(IPTC_PREFIX)) &&
        all_digits(value + strlen(IPTC_PREFIX)) && strlen(value + strlen(IPTC_PREFIX)) == 8)
        return value;
    return NULL;
}
