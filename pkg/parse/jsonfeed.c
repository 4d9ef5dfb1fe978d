/* JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1). */
#include "parse/parse_int.h"

#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *resolve(const char *href, const char *base)
{
    xmlChar *abs;
    char *out;
    if (!href || !*href)
        return NULL;
    if (!base)
        return nd_strdup(href);
    abs = xmlBuildURI((const xmlChar *)href, (const xmlChar *)base);
    out = nd_strdup(abs ? (const char *)abs : href);
    xmlFree(abs);
    return out;
}

static char *html_text(const char *html)
{
    return html ? nd_html_to_text(html, strlen(html)) : NULL;
}

static void add_author(char **byline, const json_t *author)
{
    const char *name = json_is_object(author) ? str(author, "name") : NULL;
    size_t a, b;
    if (!name || !*name)
        return;
    if (!*byline) {
        *byline = nd_strdup(name);
        return;
    }
    a = strlen(*byline);
    b = strlen(name);
    if (a + b > 4096)
        return;
    *byline = realloc(*byline, a + b + 3);
    if (!*byline)
        abort();
    memcpy(*byline + a, ", ", 2);
    memcpy(*byline + a + 2, name, b + 1);
}

static struct nd_story *parse_item(const json_t *item, const char *base, const json_t *feed)
{
    struct nd_story *story = nd_story_new();
    json_t *id = json_object_get(item, "id"), *authors;
    const char *content_text = str(item, "content_text");
    const char *lang = str(item, "language") ? str(item, "language") : str(feed, "language");
    size_t i;
    json_t *a;

    if (json_is_string(id)) {
        nd_story_set(&story->guid, json_string_value(id));
    } else if (json_is_integer(id)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
        nd_story_set(&story->guid, buf);
    }
    story->url = resolve(str(item, "url") ? str(item, "url") : str(item, "external_url"), base);
    story->headline = html_text(str(item, "title"));
    for (char *p = story->headline; p && *p; p++)
        if (*p == '\n')
            *p = ' ';
    story->summary = html_text(str(item, "summary"));
    if (content_text)
        story->body_text = nd_text_collapse(content_text);
    else
        story->body_text = html_text(str(item, "content_html"));
    nd_story_set_date(story, str(item, "date_published"), 0);
    nd_story_set_date(story, str(item, "date_modified"), 1);
    /* 1.1 "authors" replaces 1.0 "author"; either may sit on the feed instead of the item */
    authors = json_object_get(item, "authors");
    if (!json_is_array(authors) || !json_array_size(authors))
        authors = json_object_get(feed, "authors");
    json_array_foreach(authors, i, a) {
        if (i >= 16)
            break;
        add_author(&story->byline, a);
    }
    if (!story->byline)
        add_author(&story->byline, json_object_get(item, "author"));
    if (!story->byline)
        add_author(&story->byline, json_object_get(feed, "author"));
    nd_story_set(&story->language, lang);
    {
        const char *image = str(item, "image");
        if (image) {
            json_t *r = json_array(), *m = json_object();
            char *href = resolve(image, base);
            json_t *h = json_string(href);
            json_object_set_new(m, "href", h ? h : json_string("\xEF\xBF\xBD"));
            json_object_set_new(m, "rel", json_string("thumbnail"));
            json_array_append_new(r, m);
            json_object_set_new(story->annotations, "renditions", r);
            free(href);
        }
    }
    return story;
}

enum nd_err nd_parse_jsonfeed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz)
{
    json_t *root = nd_json_load_capped(data, len, errstr, errsz), *items, *item;
    const char *base;
    enum nd_err err = ND_OK;
    size_t i;

    if (!root)
        return ND_ERR_INVALID;
    res->format = ND_FORMAT_JSONFEED;
    if (!json_is_object(root) || !(items = json_object_get(root, "items")) ||
        !json_is_array(items)) {
        snprintf(errstr, errsz, "JSON Feed without an \"items\" array (line 1, column 1)");
        err = ND_ERR_INVALID;
        goto out;
    }
    res->title = html_text(str(root, "title"));
    /* relative item URLs: against where the feed came from, else where it says it lives */
    base = opts->base_url ? opts->base_url
                          : str(root, "feed_url") ? str(root, "feed_url") : str(root, "home_page_url");
    json_array_foreach(items, i, item) {
        if (!json_is_object(item)) {
            nd_parse_repair(res, "item %zu is not an object; skipped", i);
            continue;
        }
        if (nd_parse_add_story(res, opts, parse_item(item, base, root)) < 0)
            break;
    }
out:
    json_decref(root);
    return err;
}
