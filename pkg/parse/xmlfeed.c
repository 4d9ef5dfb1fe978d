/* RSS 2.0 / 0.9x, RSS 1.0 (RDF) and Atom through libxml2's tree API.
 * Network access and DTD loading are off and entities are not substituted (no XXE, no billion laughs). */
#include "parse/parse.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>

enum nd_err nd_parse_xml_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz);

static int name_is(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && !strcmp((const char *)node->name, name);
}

static int ns_is(const xmlNode *node, const char *needle)
{
    return node->ns && node->ns->href && strstr((const char *)node->ns->href, needle);
}

static char *node_text(const xmlNode *node)
{
    xmlChar *t = xmlNodeGetContent(node);
    char *s = nd_strdup(t ? (const char *)t : "");
    xmlFree(t);
    return s;
}

/* Trimmed text content, or NULL when empty. */
static char *node_text_trim(const xmlNode *node)
{
    char *s = node_text(node);
    char *b = s, *e;
    while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
        b++;
    e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    if (e == b) {
        free(s);
        return NULL;
    }
    memmove(s, b, (size_t)(e - b));
    s[e - b] = '\0';
    return s;
}

static char *resolve(const char *href, const char *base)
{
    xmlChar *abs;
    char *out;
    if (!href)
        return NULL;
    if (!base)
        return nd_strdup(href);
    abs = xmlBuildURI((const xmlChar *)href, (const xmlChar *)base);
    out = nd_strdup(abs ? (const char *)abs : href);
    xmlFree(abs);
    return out;
}

static void take(char **field, char *value)
{
    if (!value)
        return;
    free(*field);
    *field = value;
}

static char *html_text_of(const xmlNode *node)
{
    char *raw = node_text_trim(node);
    char *text;
    if (!raw)
        return NULL;
    text = nd_html_to_text(raw, strlen(raw));
    free(raw);
    if (text && !*text) {
        free(text);
        return NULL;
    }
    return text;
}

static void set_date(struct nd_story *story, const xmlNode *node, int updated)
{
    char *text = node_text_trim(node);
    const char *why = NULL;
    int64_t t;
    if (!text)
        return;
    t = nd_parse_date(text, &why);
    if (t > 0) {
        if (updated)
            story->updated_at = t;
        else
            story->published_at = t;
    } else if (!updated) {
        char note[256];
        snprintf(note, sizeof(note), "%s: \"%.100s\"", why ? why : "unreadable date", text);
        nd_story_set(&story->date_note, note);
    }
    free(text);
}

static struct nd_story *parse_item(const xmlNode *item, int atom, const char *base)
{
    struct nd_story *story = nd_story_new();
    char *content = NULL, *description = NULL;

    for (const xmlNode *c = item->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(c, "title")) {
            take(&story->headline, html_text_of(c));
        } else if (name_is(c, "link")) {
            xmlChar *href = xmlGetProp(c, (const xmlChar *)"href");
            xmlChar *rel = xmlGetProp(c, (const xmlChar *)"rel");
            if (href && (!rel || !strcmp((const char *)rel, "alternate")))
                take(&story->url, resolve((const char *)href, base));
            else if (!href && !atom) {
                char *text = node_text_trim(c);
                take(&story->url, resolve(text, base));
                free(text);
            }
            xmlFree(href);
            xmlFree(rel);
        } else if (name_is(c, "guid") || (atom && name_is(c, "id"))) {
            take(&story->guid, node_text_trim(c));
        } else if (name_is(c, "description") || name_is(c, "summary")) {
            take(&description, html_text_of(c));
        } else if ((name_is(c, "encoded") && ns_is(c, "purl.org/rss/1.0/modules/content")) ||
                   (atom && name_is(c, "content"))) {
            take(&content, html_text_of(c));
        } else if (name_is(c, "pubDate") || name_is(c, "published") || name_is(c, "issued") ||
                   (name_is(c, "date") && ns_is(c, "purl.org/dc"))) {
            set_date(story, c, 0);
        } else if (name_is(c, "updated") || name_is(c, "modified")) {
            set_date(story, c, 1);
        } else if ((name_is(c, "creator") && ns_is(c, "purl.org/dc")) || name_is(c, "author")) {
            char *who = NULL;
            if (atom) {
                for (const xmlNode *a = c->children; a; a = a->next)
                    if (name_is(a, "name"))
                        who = node_text_trim(a);
            } else {
                who = node_text_trim(c);
            }
            take(&story->byline, who);
        }
    }
    /* The link is the fallback when rdf:about is the only identity. */
    if (!story->url) {
        xmlChar *about = xmlGetProp(item, (const xmlChar *)"about");
        if (about)
            story->url = resolve((const char *)about, base);
        xmlFree(about);
    }
    /* A guid that is a relative permalink still identifies the item; keep as given. */
    if (content) {
        story->body_text = content;
        story->summary = description;
    } else {
        story->body_text = description ? nd_strdup(description) : nd_strdup("");
        story->summary = description;
    }
    if (!story->published_at && story->updated_at)
        story->published_at = story->updated_at;
    if (!story->published_at && !story->date_note)
        nd_story_set(&story->date_note, "the item has no date");
    return story;
}

static void collect_errors(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

enum nd_err nd_parse_xml_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root, *channel = NULL;
    enum nd_err err = ND_OK;
    size_t cap = 16;
    int atom = 0;
    const char *base = opts->base_url;
    xmlChar *xbase = NULL;

    if (len > INT32_MAX) {
        snprintf(errstr, errsz, "document too large");
        return ND_ERR_TOOBIG;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return ND_ERR_NOMEM;
    xmlSetGenericErrorFunc(NULL, collect_errors);
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, opts->base_url, NULL,
                            XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
    if (!doc || !(root = xmlDocGetRootElement(doc))) {
        const xmlError *xe = xmlCtxtGetLastError(ctxt);
        snprintf(errstr, errsz, "XML error at line %d, column %d: %s", xe ? xe->line : 0,
                 xe ? xe->int2 : 0, xe && xe->message ? xe->message : "no document element\n");
        errstr[strcspn(errstr, "\n")] = '\0';
        err = ND_ERR_INVALID;
        goto out;
    }
    if (ctxt->wellFormed == 0) {
        const xmlError *xe = xmlCtxtGetLastError(ctxt);
        res->repairs++;
        if (xe && xe->message) {
            char note[512];
            snprintf(note, sizeof(note), "recovered from: line %d: %s", xe->line, xe->message);
            note[strcspn(note, "\n")] = '\0';
            res->notes = nd_strdup(note);
        }
    }
    if (name_is(root, "rss")) {
        for (xmlNode *c = root->children; c; c = c->next)
            if (name_is(c, "channel"))
                channel = c;
    } else if (name_is(root, "RDF")) {
        channel = root; /* items are siblings of <channel> in RSS 1.0 */
    } else if (name_is(root, "feed")) {
        channel = root;
        atom = 1;
    }
    if (!channel) {
        snprintf(errstr, errsz, "XML document is not a feed (root element <%s>)", root->name);
        err = ND_ERR_INVALID;
        goto out;
    }
    res->format = atom ? ND_FORMAT_ATOM : name_is(root, "RDF") ? ND_FORMAT_RDF : ND_FORMAT_RSS;
    if ((xbase = xmlNodeGetBase(doc, channel)))
        base = (const char *)xbase;

    res->stories = nd_xcalloc(cap, sizeof(*res->stories));
    for (xmlNode *c = channel->children; c; c = c->next) {
        if (name_is(c, "title") && !res->title) {
            res->title = node_text_trim(c);
        } else if (name_is(c, "ttl")) {
            char *t = node_text_trim(c);
            if (t && atoi(t) > 0 && atoi(t) < 100000)
                res->ttl_s = atoi(t) * 60;
            free(t);
        } else if (name_is(c, "channel") && !atom) {
            for (xmlNode *cc = c->children; cc; cc = cc->next)
                if (name_is(cc, "title") && !res->title)
                    res->title = node_text_trim(cc);
        } else if (name_is(c, atom ? "entry" : "item")) {
            if (res->nstories >= opts->max_items) {
                res->repairs++;
                continue;
            }
            if (res->nstories == cap) {
                cap *= 2;
                res->stories = realloc(res->stories, cap * sizeof(*res->stories));
                if (!res->stories)
                    abort();
            }
            struct nd_story *story = parse_item(c, atom, base);
            nd_story_set(&story->feed_id, opts->feed_id);
            nd_story_set(&story->feed_url, opts->base_url);
            nd_story_assign_id(story);
            res->stories[res->nstories++] = story;
        }
    }
out:
    xmlFree(xbase);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return err;
}
