/* IPTC ninjs 1.x and 2.x as wire APIs deliver it: one item object, an array of items, or a wrapper
 * object holding the array ("items", "data", "results", "stories", "hits"...).
 *
 * 1.x has flat strings (headline, body_text, body_html, byline, description_text, located);
 * 2.x has arrays of role-tagged objects (headlines, bodies, bylines, descriptions). Both map onto
 * the same story fields; where both are present the flat 1.x field wins (it is the simpler reading
 * and producers that send both keep them equal). */
#include "parse/parse_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *html_text(const char *html)
{
    return html ? nd_html_to_text(html, strlen(html)) : NULL;
}

static int looks_like_item(const json_t *obj)
{
    static const char *keys[] = {"uri",      "headline",    "headlines",      "body_text",
                                 "body_html", "bodies",     "versioncreated", "firstcreated",
                                 "guid",      "description_text", NULL};
    if (!json_is_object(obj))
        return 0;
    for (int i = 0; keys[i]; i++)
        if (json_object_get(obj, keys[i]))
            return 1;
    return 0;
}

/* ninjs 2.x: [{"value": ..., "role": ..., "contenttype": ...}]. Pick the entry with the preferred
 * role (else the first); *html is set when its content type is HTML. */
static const char *pick_value(const json_t *arr, const char *role, int *html)
{
    size_t i;
    json_t *e;
    const json_t *best = NULL;
    *html = 0;
    if (!json_is_array(arr))
        return NULL;
    json_array_foreach(arr, i, e) {
        if (!json_is_object(e) || !str(e, "value"))
            continue;
        if (!best)
            best = e;
        if (role && str(e, "role") && !strcasecmp(str(e, "role"), role)) {
            best = e;
            break;
        }
    }
    if (!best)
        return NULL;
    if (str(best, "contenttype") && strstr(str(best, "contenttype"), "html"))
        *html = 1;
    return str(best, "value");
}

static char *value_text(const json_t *arr, const char *role)
{
    int html;
    const char *v = pick_value(arr, role, &html);
    if (!v)
        return NULL;
    return html ? html_text(v) : nd_text_collapse(v);
}

static void append(char **out, const char *s)
{
    size_t a, b;
    if (!s || !*s)
        return;
    if (!*out) {
        *out = nd_strdup(s);
        return;
    }
    a = strlen(*out);
    b = strlen(s);
    if (a + b > 4096)
        return;
    *out = realloc(*out, a + b + 3);
    if (!*out)
        abort();
    memcpy(*out + a, ", ", 2);
    memcpy(*out + a + 2, s, b + 1);
}

static char *located_of(const json_t *v)
{
    if (json_is_string(v))
        return nd_strdup(json_string_value(v));
    if (json_is_object(v))
        return nd_strdup(str(v, "name"));
    return NULL;
}

/* Items that already carry enrichment in newsd's own shape (stories of another newsd re-ingested,
 * a partner's enriched wire, test feeds) keep it: ninjs `subject`, and `entities` and `events`,
 * when they are arrays of objects. Capped like every input. */
#define ENRICHMENT_MAX_ITEMS 1000

static void keep_enrichment(struct nd_story *story, const json_t *item)
{
    static const char *const keys[] = {"subject", "entities", "events", NULL};
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(item, keys[i]), *e;
        size_t k;
        int ok = json_is_array(v) && json_array_size(v) <= ENRICHMENT_MAX_ITEMS;
        json_array_foreach(v, k, e)
            ok &= json_is_object(e);
        if (ok)
            nd_story_keep_annotation(story, keys[i], v);
    }
}

static struct nd_story *parse_item(const json_t *item)
{
    struct nd_story *story = nd_story_new();
    json_t *v;
    const char *s;
    size_t i;
    json_t *e;

    nd_story_set(&story->guid, str(item, "uri") ? str(item, "uri") : str(item, "guid"));
    v = json_object_get(item, "version");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000)
        story->version = (int)json_integer_value(v);
    else if (json_is_string(v)) {
        long n = strtol(json_string_value(v), NULL, 10);
        if (n > 0 && n < 1000000)
            story->version = (int)n;
    }
    if ((s = str(item, "pubstatus"))) {
        if (!strcasecmp(s, "withheld"))
            story->pubstatus = ND_PUBSTATUS_WITHHELD;
        else if (!strcasecmp(s, "canceled") || !strcasecmp(s, "cancelled"))
            story->pubstatus = ND_PUBSTATUS_CANCELED;
    }
    /* headline */
    if ((s = str(item, "headline")))
        story->headline = html_text(s);
    else
        story->headline = value_text(json_object_get(item, "headlines"), "main");
    for (char *p = story->headline; p && *p; p++)
        if (*p == '\n')
            *p = ' ';
    /* body */
    if ((s = str(item, "body_text")))
        story->body_text = nd_text_collapse(s);
    else if ((s = str(item, "body_html")))
        story->body_text = html_text(s);
    else
        story->body_text = value_text(json_object_get(item, "bodies"), "main");
    /* summary */
    if ((s = str(item, "description_text")))
        story->summary = nd_text_collapse(s);
    else if ((s = str(item, "description_html")))
        story->summary = html_text(s);
    else
        story->summary = value_text(json_object_get(item, "descriptions"), "summary");
    /* byline */
    if ((s = str(item, "byline"))) {
        story->byline = nd_strdup(s);
    } else {
        json_array_foreach(json_object_get(item, "bylines"), i, e) {
            if (i >= 16)
                break;
            if (json_is_object(e))
                append(&story->byline, str(e, "byline") ? str(e, "byline") : str(e, "name"));
            else if (json_is_string(e))
                append(&story->byline, json_string_value(e));
        }
    }
    story->located = located_of(json_object_get(item, "located"));
    nd_story_set(&story->language, str(item, "language"));
    /* dates: firstcreated is publication; versioncreated the last change */
    nd_story_set_date(story, str(item, "firstcreated") ? str(item, "firstcreated")
                                                        : str(item, "contentcreated"), 0);
    nd_story_set_date(story, str(item, "versioncreated"), 1);
    /* links: the canonical (else self/alternate, else first) web address of the item */
    {
        const char *best = NULL;
        int rank = 0;
        json_array_foreach(json_object_get(item, "links"), i, e) {
            const char *href = json_is_object(e) ? str(e, "href") : NULL;
            const char *rel = json_is_object(e) ? str(e, "rel") : NULL;
            int r = 1;
            if (!href)
                continue;
            if (rel && (strstr(rel, "canonical") || strstr(rel, "alternate")))
                r = 3;
            else if (rel && strstr(rel, "self"))
                r = 2;
            if (r > rank) {
                best = href;
                rank = r;
            }
        }
        if (!best)
            best = str(item, "url");
        nd_story_set(&story->url, best);
    }
    keep_enrichment(story, item);
    return story;
}

/* The array of items in a wire-API response, or the item itself. */
static const json_t *find_items(const json_t *root, int *single)
{
    static const char *wrappers[] = {"items", "data", "results", "stories", "hits", "docs",
                                     "content", NULL};
    *single = 0;
    if (json_is_array(root))
        return root;
    if (looks_like_item(root)) {
        *single = 1;
        return root;
    }
    for (int i = 0; wrappers[i]; i++) {
        json_t *v = json_object_get(root, wrappers[i]);
        if (json_is_array(v))
            return v;
        /* {"data": {"items": [...]}} */
        if (json_is_object(v)) {
            const json_t *inner = find_items(v, single);
            if (inner)
                return inner;
        }
    }
    return NULL;
}

enum nd_err nd_parse_ninjs(const char *data, size_t len, const struct nd_parse_opts *opts,
                           struct nd_parse_result *res, char *errstr, size_t errsz)
{
    json_t *root = nd_json_load_capped(data, len, errstr, errsz);
    const json_t *items;
    json_t *item;
    enum nd_err err = ND_OK;
    int single;
    size_t i;

    if (!root)
        return ND_ERR_INVALID;
    res->format = ND_FORMAT_NINJS;
    items = find_items(root, &single);
    if (!items) {
        snprintf(errstr, errsz,
                 "JSON document is neither a JSON Feed nor ninjs: no item with uri, headline or "
                 "body (line 1, column 1)");
        err = ND_ERR_INVALID;
        goto out;
    }
    if (single) {
        nd_parse_add_story(res, opts, parse_item(items));
        goto out;
    }
    json_array_foreach(items, i, item) {
        if (!looks_like_item(item)) {
            nd_parse_repair(res, "element %zu is not a ninjs item; skipped", i);
            continue;
        }
        if (nd_parse_add_story(res, opts, parse_item(item)) < 0)
            break;
    }
out:
    json_decref(root);
    return err;
}
