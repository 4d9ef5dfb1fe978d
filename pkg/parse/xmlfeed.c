/* RSS 0.9x / 2.0, RSS 1.0 (RDF) and Atom 1.0 / 0.3 through libxml2's tree API.
 *
 * Safety: the input is rewritten before libxml2 sees it (see sanitize()): the DOCTYPE is removed, so
 * no DTD is read and no entity is declared; network access is off (XML_PARSE_NONET), entities are
 * never substituted (no XML_PARSE_NOENT) and DTD loading is off (no XML_PARSE_DTDLOAD). That rules
 * out XXE and billion laughs whatever the document says. The same pass repairs what browsers and
 * feed readers forgive: bare '&', HTML named entities, stray '<', control characters. */
#include "parse/parse_int.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_CONTENT "purl.org/rss/1.0/modules/content"
#define NS_DC "purl.org/dc/"
#define NS_MEDIA "search.yahoo.com/mrss"
#define NS_ATOM "www.w3.org/2005/Atom"

struct fixes {
    size_t amp, entity, badref, lt, ctrl, doctype_entities;
};

static int xml_char_ok(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Length of "&...;" at p when it is a reference XML understands; 0 otherwise. *bad is set when it is
 * a numeric reference to a character XML forbids. */
static size_t xml_ref_len(const char *p, const char *end, int *bad)
{
    const char *q = p + 1;
    *bad = 0;
    if (q < end && *q == '#') {
        unsigned long v = 0;
        int hex = 0, n = 0;
        q++;
        if (q < end && (*q == 'x' || *q == 'X'))
            hex = 1, q++;
        while (q < end && (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) && n < 8) {
            v = v * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)*q) ? *q - '0'
                                                      : tolower((unsigned char)*q) - 'a' + 10);
            q++;
            n++;
        }
        if (!n || q >= end || *q != ';')
            return 0;
        if (!xml_char_ok(v))
            *bad = 1;
        return (size_t)(q - p) + 1;
    }
    static const char *predefined[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(predefined[i]);
        if ((size_t)(end - q) >= n && !memcmp(q, predefined[i], n))
            return n + 1;
    }
    return 0;
}

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* Skip a DOCTYPE declaration starting at p (at "<!DOCTYPE"); returns the end. */
static const char *skip_doctype(const char *p, const char *end, struct fixes *fx)
{
    int in_subset = 0;
    char quote = 0;
    for (p += 9; p < end; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '[') {
            in_subset = 1;
        } else if (*p == ']') {
            in_subset = 0;
        } else if (in_subset && *p == '<' && end - p > 8 && !memcmp(p, "<!ENTITY", 8)) {
            fx->doctype_entities++;
        } else if (*p == '>' && !in_subset) {
            return p + 1;
        }
    }
    return end;
}

/* Rewrite the UTF-8 document into out (see the file comment). */
static void sanitize(const char *data, size_t len, struct nd_buf *out, struct fixes *fx)
{
    const char *p = data, *end = data + len, *run = data;
    char tmp[32];

#define FLUSH()                                                                                    \
    do {                                                                                           \
        nd_buf_append(out, run, (size_t)(p - run));                                                \
    } while (0)

    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '<') {
            const char *skip_to = NULL;
            if (end - p >= 4 && !memcmp(p, "<!--", 4)) {
                const char *e = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
                skip_to = e ? e + 3 : end;
            } else if (end - p >= 9 && !memcmp(p, "<![CDATA[", 9)) {
                const char *e = memmem(p + 9, (size_t)(end - p - 9), "]]>", 3);
                skip_to = e ? e + 3 : end;
            } else if (end - p >= 2 && p[1] == '?') {
                const char *e = memmem(p + 2, (size_t)(end - p - 2), "?>", 2);
                skip_to = e ? e + 2 : end;
            } else if (end - p >= 9 && !strncasecmp(p, "<!DOCTYPE", 9)) {
                FLUSH();
                p = skip_doctype(p, end, fx);
                run = p;
                continue;
            } else if (end - p < 2 || !(isalpha((unsigned char)p[1]) || p[1] == '/' ||
                                        p[1] == '!' || p[1] == '_' || p[1] == ':' ||
                                        (unsigned char)p[1] >= 0x80)) {
                FLUSH();
                nd_buf_append(out, "&lt;", 4);
                fx->lt++;
                run = ++p;
                continue;
            }
            if (skip_to) {
                /* Comments, CDATA and PIs pass through, minus control characters. */
                for (; p < skip_to; p++) {
                    unsigned char d = (unsigned char)*p;
                    if (d < 0x20 && d != '\t' && d != '\n' && d != '\r') {
                        FLUSH();
                        fx->ctrl++;
                        run = p + 1;
                    }
                }
                continue;
            }
            p++;
            continue;
        }
        if (c == '&') {
            int bad;
            size_t n = xml_ref_len(p, end, &bad);
            if (n && !bad) {
                p += n;
                continue;
            }
            FLUSH();
            if (bad) {
                fx->badref++;
                p += n;
                run = p;
                continue;
            }
            /* An HTML named entity becomes a numeric reference; anything else was a bare '&'. */
            {
                const char *q = p + 1;
                size_t nl = 0;
                while (q + nl < end && nl < 31 && name_char(q[nl]))
                    nl++;
                if (nl && q + nl < end && q[nl] == ';') {
                    char name[32];
                    const htmlEntityDesc *ent;
                    memcpy(name, q, nl);
                    name[nl] = '\0';
                    if ((ent = htmlEntityLookup((const xmlChar *)name))) {
                        snprintf(tmp, sizeof(tmp), "&#%u;", ent->value);
                        nd_buf_append(out, tmp, strlen(tmp));
                        fx->entity++;
                        p = q + nl + 1;
                        run = p;
                        continue;
                    }
                }
            }
            nd_buf_append(out, "&amp;", 5);
            fx->amp++;
            run = ++p;
            continue;
        }
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
            (c == 0xEF && end - p >= 3 && (unsigned char)p[1] == 0xBF &&
             ((unsigned char)p[2] == 0xBE || (unsigned char)p[2] == 0xBF))) {
            FLUSH();
            fx->ctrl++;
            p += c == 0xEF ? 3 : 1;
            run = p;
            continue;
        }
        p++;
    }
    FLUSH();
#undef FLUSH
}

/* --- tree helpers ------------------------------------------------------------------------------ */

static int name_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && !strcasecmp((const char *)node->name, name);
}

static int ns_is(const xmlNode *node, const char *needle)
{
    return node->ns && node->ns->href && strstr((const char *)node->ns->href, needle);
}

static void text_walk(const xmlNode *node, struct nd_buf *out)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            if (node->content)
                nd_buf_append(out, node->content, strlen((const char *)node->content));
        } else if (node->type == XML_ELEMENT_NODE) {
            text_walk(node->children, out);
        }
        /* entity references are never expanded */
    }
}

/* Trimmed text content of an element, or NULL when empty. */
static char *node_text(const xmlNode *node)
{
    struct nd_buf buf;
    nd_buf_init(&buf, ND_PARSE_MAX_DOC);
    text_walk(node->children, &buf);
    return nd_text_clean(nd_buf_steal(&buf, NULL));
}

static char *prop(const xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    char *s = v ? nd_strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static char *resolve(const xmlNode *node, const char *href)
{
    xmlChar *base, *abs;
    char *out;
    if (!href || !*href)
        return NULL;
    base = xmlNodeGetBase(node->doc, node);
    abs = base ? xmlBuildURI((const xmlChar *)href, base) : NULL;
    out = nd_strdup(abs ? (const char *)abs : href);
    xmlFree(abs);
    xmlFree(base);
    return out;
}

static void take(char **field, char *value)
{
    if (!value)
        return;
    free(*field);
    *field = value;
}

/* Headlines and bylines are one line. */
static char *one_line(char *s)
{
    if (s)
        for (char *p = s; *p; p++)
            if (*p == '\n' || *p == '\t')
                *p = ' ';
    return s;
}

static void take_if_empty(char **field, char *value)
{
    if (*field || !value) {
        free(value);
        return;
    }
    *field = value;
}

/* HTML to text, for fields that may hold markup (RSS titles and descriptions, Atom type="html"). */
static char *html_text(char *raw)
{
    char *text;
    if (!raw)
        return NULL;
    text = nd_html_to_text(raw, strlen(raw));
    free(raw);
    return nd_text_clean(text);
}

/* Atom text constructs: type text (literal), html (escaped markup), xhtml (inline markup). Atom 0.3
 * also had mode="escaped"/"xml"; base64 content is not text and is skipped. */
static char *atom_text(const xmlNode *node)
{
    char *type = prop(node, "type"), *mode = prop(node, "mode");
    char *out = NULL;
    if (mode && !strcasecmp(mode, "base64")) {
        out = NULL;
    } else if (type && (!strcasecmp(type, "xhtml") || !strcasecmp(type, "application/xhtml+xml"))) {
        /* the markup is real XML elements: text_walk already drops the tags, but block breaks need
         * the HTML converter, so serialise and convert */
        xmlBufferPtr xb = xmlBufferCreate();
        for (xmlNode *c = node->children; c; c = c->next)
            xmlNodeDump(xb, node->doc, c, 0, 0);
        out = html_text(nd_strdup((const char *)xmlBufferContent(xb)));
        xmlBufferFree(xb);
    } else if (!type || !strcasecmp(type, "text") || !strcasecmp(type, "text/plain")) {
        out = node_text(node);
        if (out && mode && !strcasecmp(mode, "escaped"))
            out = html_text(out);
        else if (out) {
            char *c = nd_text_collapse(out);
            free(out);
            out = nd_text_clean(c);
        }
    } else {
        out = html_text(node_text(node));
    }
    free(type);
    free(mode);
    return out;
}

/* "jane@example.org (Jane Roe)" -> "Jane Roe"; "Jane Roe <jane@...>" -> "Jane Roe". */
static char *author_name(char *s)
{
    char *open, *close, *lt;
    if (!s)
        return NULL;
    if ((open = strchr(s, '(')) && (close = strrchr(s, ')')) && close > open + 1 &&
        memchr(s, '@', (size_t)(open - s))) {
        char *name = nd_strndup(open + 1, (size_t)(close - open - 1));
        free(s);
        return nd_text_clean(name);
    }
    if ((lt = strchr(s, '<')) && lt > s && strchr(lt, '@')) {
        char *name = nd_strndup(s, (size_t)(lt - s));
        free(s);
        return nd_text_clean(name);
    }
    return s;
}

static void append_author(char **byline, char *who)
{
    if (!who)
        return;
    if (!*byline) {
        *byline = who;
        return;
    }
    size_t a = strlen(*byline), b = strlen(who);
    /* a byline is a few names: past the cap the rest are dropped (and a feed with thousands of
     * dc:creator elements costs nothing quadratic) */
    if (a + b > 1024 || strstr(*byline, who)) {
        free(who);
        return;
    }
    *byline = realloc(*byline, a + b + 3);
    if (!*byline)
        abort();
    memcpy(*byline + a, ", ", 2);
    memcpy(*byline + a + 2, who, b + 1);
    free(who);
}

static void add_media(json_t **media, const xmlNode *node, const char *attr, const char *kind)
{
    char *url = prop(node, attr);
    json_t *m;
    if (!url)
        return;
    m = json_object();
    {
        char *abs = resolve(node, url);
        char *t = nd_text_clean(abs);
        if (t)
            json_object_set_new(m, "href", json_string(t));
        free(t);
    }
    json_object_set_new(m, "rel", json_string(kind));
    {
        static const char *attrs[] = {"type", "medium", "width", "height", NULL};
        for (int i = 0; attrs[i]; i++) {
            char *v = nd_text_clean(prop(node, attrs[i]));
            if (v)
                json_object_set_new(m, attrs[i], json_string(v));
            free(v);
        }
    }
    if (!json_object_get(m, "href")) {
        json_decref(m);
    } else {
        if (!*media)
            *media = json_array();
        if (json_array_size(*media) < 32)
            json_array_append_new(*media, m);
        else
            json_decref(m);
    }
    free(url);
}

struct item_acc {
    char *content, *description, *media_desc, *media_title, *media_credit;
    json_t *media;
};

static void parse_media(const xmlNode *c, struct nd_story *story, struct item_acc *acc)
{
    if (name_is(c, "content") || name_is(c, "thumbnail")) {
        add_media(&acc->media, c, "url", name_is(c, "content") ? "enclosure" : "thumbnail");
        for (const xmlNode *g = c->children; g; g = g->next)
            if (g->type == XML_ELEMENT_NODE && ns_is(g, NS_MEDIA))
                parse_media(g, story, acc);
    } else if (name_is(c, "group")) {
        for (const xmlNode *g = c->children; g; g = g->next)
            if (g->type == XML_ELEMENT_NODE && ns_is(g, NS_MEDIA))
                parse_media(g, story, acc);
    } else if (name_is(c, "description")) {
        take_if_empty(&acc->media_desc, html_text(node_text(c)));
    } else if (name_is(c, "title")) {
        take_if_empty(&acc->media_title, one_line(html_text(node_text(c))));
    } else if (name_is(c, "credit")) {
        char *role = prop(c, "role");
        if (!role || !strcasecmp(role, "author"))
            take_if_empty(&acc->media_credit, node_text(c));
        free(role);
    }
}

static struct nd_story *parse_item(const xmlNode *item, int atom, const char *channel_lang)
{
    struct nd_story *story = nd_story_new();
    struct item_acc acc = {0};
    char *guid_link = NULL;
    xmlChar *lang;

    for (const xmlNode *c = item->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (ns_is(c, NS_MEDIA)) {
            parse_media(c, story, &acc);
        } else if (ns_is(c, NS_DC)) {
            if (name_is(c, "creator") || name_is(c, "contributor"))
                append_author(&story->byline, author_name(node_text(c)));
            else if (name_is(c, "date") || name_is(c, "issued") || name_is(c, "created")) {
                char *t = node_text(c);
                if (!story->published_at)
                    nd_story_set_date(story, t, 0);
                free(t);
            } else if (name_is(c, "modified")) {
                char *t = node_text(c);
                nd_story_set_date(story, t, 1);
                free(t);
            } else if (name_is(c, "language"))
                take_if_empty(&story->language, node_text(c));
            else if (name_is(c, "title"))
                take_if_empty(&story->headline, one_line(html_text(node_text(c))));
            else if (name_is(c, "description"))
                take_if_empty(&acc.description, html_text(node_text(c)));
            else if (name_is(c, "identifier"))
                take_if_empty(&story->guid, node_text(c));
        } else if (name_is(c, "encoded") && ns_is(c, NS_CONTENT)) {
            take(&acc.content, html_text(node_text(c)));
        } else if (name_is(c, "title")) {
            take(&story->headline, one_line(atom ? atom_text(c) : html_text(node_text(c))));
        } else if (name_is(c, "link")) {
            char *href = prop(c, "href");
            if (href) {
                char *rel = prop(c, "rel");
                if (!rel || !strcasecmp(rel, "alternate"))
                    take(&story->url, resolve(c, href));
                else if (!strcasecmp(rel, "enclosure"))
                    add_media(&acc.media, c, "href", "enclosure");
                free(rel);
                free(href);
            } else if (!atom && !ns_is(c, NS_ATOM)) {
                char *text = node_text(c);
                take(&story->url, resolve(c, text));
                free(text);
            }
        } else if (name_is(c, "guid") || (atom && name_is(c, "id"))) {
            take(&story->guid, node_text(c));
            if (!atom && story->guid) {
                char *perma = prop(c, "isPermaLink");
                if ((!perma || strcasecmp(perma, "false")) &&
                    (!strncmp(story->guid, "http://", 7) || !strncmp(story->guid, "https://", 8)))
                    take(&guid_link, nd_strdup(story->guid));
                free(perma);
            }
        } else if (name_is(c, "description") || name_is(c, "summary") ||
                   (atom && name_is(c, "subtitle"))) {
            take(&acc.description, atom ? atom_text(c) : html_text(node_text(c)));
        } else if (atom && name_is(c, "content")) {
            char *src = prop(c, "src");
            if (src && !story->url)
                story->url = resolve(c, src);
            else if (!src)
                take(&acc.content, atom_text(c));
            free(src);
        } else if (name_is(c, "pubDate") || name_is(c, "published") || name_is(c, "issued") ||
                   name_is(c, "created")) {
            char *t = node_text(c);
            nd_story_set_date(story, t, 0);
            free(t);
        } else if (name_is(c, "updated") || name_is(c, "modified")) {
            char *t = node_text(c);
            nd_story_set_date(story, t, 1);
            free(t);
        } else if (name_is(c, "author") || name_is(c, "creator")) {
            if (atom || (c->children && c->children->type == XML_ELEMENT_NODE)) {
                for (const xmlNode *a = c->children; a; a = a->next)
                    if (name_is(a, "name"))
                        append_author(&story->byline, node_text(a));
            } else {
                append_author(&story->byline, author_name(node_text(c)));
            }
        } else if (name_is(c, "enclosure")) {
            add_media(&acc.media, c, "url", "enclosure");
        } else if (name_is(c, "language")) {
            take_if_empty(&story->language, node_text(c));
        }
    }
    if (!story->url && guid_link)
        story->url = nd_strdup(guid_link);
    free(guid_link);
    /* RSS 1.0: rdf:about is the item's URI. */
    if (!story->url) {
        char *about = prop(item, "about");
        if (about)
            story->url = resolve(item, about);
        free(about);
    }
    if (!story->guid && !atom) {
        char *about = prop(item, "about");
        story->guid = nd_text_clean(about);
    }
    take_if_empty(&story->headline, acc.media_title);
    take_if_empty(&acc.description, acc.media_desc);
    take_if_empty(&story->byline, acc.media_credit);
    if (!story->language) {
        lang = xmlNodeGetLang(item);
        if (lang)
            story->language = nd_text_clean(nd_strdup((const char *)lang));
        else if (channel_lang)
            story->language = nd_strdup(channel_lang);
        xmlFree(lang);
    }
    if (acc.content) {
        story->body_text = acc.content;
        story->summary = acc.description;
    } else {
        story->body_text = acc.description ? nd_strdup(acc.description) : NULL;
        story->summary = acc.description;
    }
    if (acc.media)
        json_object_set_new(story->annotations, "renditions", acc.media);
    return story;
}

/* libxml2's structured errors for this parse: the first one is what we report. */
struct xml_errs {
    int count;
    int line, col;
    char msg[256];
};

static void on_xml_error(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct xml_errs *e = ctxt ? ctxt->_private : NULL;
    if (!e || !err)
        return;
    if (e->count++ == 0) {
        e->line = err->line;
        e->col = err->int2;
        snprintf(e->msg, sizeof(e->msg), "%s", err->message ? err->message : "malformed XML");
        e->msg[strcspn(e->msg, "\n")] = '\0';
    }
}

static void parse_channel_meta(xmlNode *channel, struct nd_parse_result *res, char **lang)
{
    for (xmlNode *c = channel->children; c; c = c->next) {
        if (name_is(c, "title") && !res->title) {
            res->title = html_text(node_text(c));
        } else if (name_is(c, "ttl")) {
            char *t = node_text(c);
            long v = t ? strtol(t, NULL, 10) : 0;
            if (v > 0 && v < 100000)
                res->ttl_s = (int)v * 60;
            free(t);
        } else if (name_is(c, "language") && !*lang) {
            *lang = node_text(c);
        }
    }
    if (!*lang) {
        xmlChar *l = xmlNodeGetLang(channel);
        if (l)
            *lang = nd_text_clean(nd_strdup((const char *)l));
        xmlFree(l);
    }
}

enum nd_err nd_parse_xml_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root, *channel = NULL;
    enum nd_err err = ND_OK;
    int atom = 0, rdf = 0;
    struct nd_buf clean;
    struct fixes fx = {0};
    struct xml_errs xerr = {0};
    char *lang = NULL;

    nd_buf_init(&clean, ND_PARSE_MAX_DOC * 2);
    if (len > ND_PARSE_MAX_DOC) {
        snprintf(errstr, errsz, "document too large (%zu bytes)", len);
        err = ND_ERR_TOOBIG;
        goto out;
    }
    sanitize(data, len, &clean, &fx);
    if (fx.doctype_entities)
        nd_parse_repair(res, "DOCTYPE with %zu entity declarations removed; entities are not expanded",
                        fx.doctype_entities);
    if (fx.amp)
        nd_parse_repair(res, "%zu unescaped '&' escaped", fx.amp);
    if (fx.entity)
        nd_parse_repair(res, "%zu HTML entities converted", fx.entity);
    if (fx.badref)
        nd_parse_repair(res, "%zu references to characters XML forbids removed", fx.badref);
    if (fx.lt)
        nd_parse_repair(res, "%zu stray '<' escaped", fx.lt);
    if (fx.ctrl)
        nd_parse_repair(res, "%zu control characters removed", fx.ctrl);

    if (!(ctxt = xmlNewParserCtxt())) {
        err = ND_ERR_NOMEM;
        goto out;
    }
    ctxt->_private = &xerr;
    ctxt->sax->serror = on_xml_error;
    doc = xmlCtxtReadMemory(ctxt, clean.data ? clean.data : "", (int)clean.len, opts->base_url,
                            "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_COMPACT |
                                XML_PARSE_IGNORE_ENC | XML_PARSE_BIG_LINES);
    if (!doc || !(root = xmlDocGetRootElement(doc))) {
        snprintf(errstr, errsz, "XML error at line %d, column %d: %s", xerr.count ? xerr.line : 1,
                 xerr.count ? xerr.col : 1, xerr.count ? xerr.msg : "no document element");
        err = ND_ERR_INVALID;
        goto out;
    }
    if (xerr.count)
        nd_parse_repair(res, "recovered from %d XML error%s, first at line %d, column %d: %s",
                        xerr.count, xerr.count == 1 ? "" : "s", xerr.line, xerr.col, xerr.msg);
    if (name_is(root, "rss") || name_is(root, "rss:rss")) {
        for (xmlNode *c = root->children; c; c = c->next)
            if (name_is(c, "channel"))
                channel = c;
        /* Items outside <channel> (RSS 0.9x style breakage) are still items. */
        if (!channel)
            channel = root;
    } else if (name_is(root, "RDF")) {
        channel = root; /* items are siblings of <channel> in RSS 1.0 */
        rdf = 1;
    } else if (name_is(root, "feed")) {
        channel = root;
        atom = 1;
    }
    if (!channel) {
        snprintf(errstr, errsz, "XML document is not a feed (root element <%s>) at line %d, column 1",
                 root->name, root->line);
        err = ND_ERR_INVALID;
        goto out;
    }
    res->format = atom ? ND_FORMAT_ATOM : rdf ? ND_FORMAT_RDF : ND_FORMAT_RSS;
    /* Without the feed's URL, relative links resolve against the site the channel names. */
    if (!opts->base_url && !doc->URL && !atom) {
        xmlNode *ch = channel;
        if (rdf)
            for (xmlNode *c = root->children; c; c = c->next)
                if (name_is(c, "channel"))
                    ch = c;
        for (xmlNode *c = ch->children; c; c = c->next) {
            if (name_is(c, "link") && !c->ns) {
                char *link = node_text(c);
                if (link && (!strncmp(link, "http://", 7) || !strncmp(link, "https://", 8)))
                    doc->URL = xmlStrdup((const xmlChar *)link);
                free(link);
                break;
            }
        }
    }
    parse_channel_meta(channel, res, &lang);
    if (rdf && !res->title)
        for (xmlNode *c = root->children; c; c = c->next)
            if (name_is(c, "channel"))
                parse_channel_meta(c, res, &lang);

    for (xmlNode *c = channel->children; c; c = c->next) {
        int is_item = name_is(c, atom ? "entry" : "item");
        /* some RDF feeds nest the items inside <channel> */
        if (rdf && name_is(c, "channel")) {
            for (xmlNode *cc = c->children; cc; cc = cc->next)
                if (name_is(cc, "item") &&
                    nd_parse_add_story(res, opts, parse_item(cc, 0, lang)) < 0)
                    goto out;
        }
        if (is_item && nd_parse_add_story(res, opts, parse_item(c, atom, lang)) < 0)
            break;
    }
out:
    free(lang);
    nd_buf_free(&clean);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return err;
}
