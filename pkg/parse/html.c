/* Article pages: the main text of an HTML page, with its headline, byline and publish date.
 *
 * The approach is readability's, with trafilatura's boilerplate lists: parse with libxml2's HTML
 * parser (network off), take the metadata from <meta>, JSON-LD and microdata first, then remove what
 * is never article text (scripts, navigation, asides, footers, forms, comments, cookie banners, share
 * and related-links blocks, hidden elements), score paragraphs by their text and commas and give the
 * score to their ancestors, weight by class/id hints and link density, pick the best container plus
 * the siblings that look like continuations, clean that once more, and print it as text. */
#include "parse/parse_int.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the scoring keeps per element (the element's _private points here). */
struct info {
    double score;
    int scored;        /* a candidate: got score from a paragraph */
    size_t text;       /* characters of text below */
    size_t link;       /* of which inside <a> */
    int commas;
    int p, img, li, input, embed, heads;
    int removed;
};

#define F_STRIP_UNLIKELY 1
#define F_WEIGHT_CLASSES 2
#define F_CLEAN_COND 4

struct extract {
    htmlDocPtr doc;
    int flags;
    size_t body_text; /* text of the whole body before cleaning */
    struct info *infos;
    size_t ninfos, cap;
};

static const char *lower_attr(const xmlNode *node, const char *name, char *buf, size_t bufsz)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    size_t i = 0;
    if (!v) {
        buf[0] = '\0';
        return buf;
    }
    for (; v[i] && i + 1 < bufsz; i++)
        buf[i] = (char)tolower(v[i]);
    buf[i] = '\0';
    xmlFree(v);
    return buf;
}

static int tag_is(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && !strcasecmp((const char *)node->name, name);
}

static int tag_in(const xmlNode *node, const char *const *names)
{
    if (node->type != XML_ELEMENT_NODE)
        return 0;
    for (int i = 0; names[i]; i++)
        if (!strcasecmp((const char *)node->name, names[i]))
            return 1;
    return 0;
}

static int any_of(const char *s, const char *const *needles)
{
    for (int i = 0; needles[i]; i++)
        if (strstr(s, needles[i]))
            return 1;
    return 0;
}

/* class + " " + id, lower case */
static void class_id(const xmlNode *node, char *buf, size_t bufsz)
{
    char cls[256], id[128];
    lower_attr(node, "class", cls, sizeof(cls));
    lower_attr(node, "id", id, sizeof(id));
    snprintf(buf, bufsz, "%s %s", cls, id);
}

static const char *const NEVER_TEXT[] = {
    "script", "style",  "noscript", "iframe", "svg",    "form",   "button", "input", "select",
    "textarea", "nav",  "aside",    "footer", "menu",   "template", "object", "embed", "canvas",
    "map",    "audio",  "video",    "dialog", "link",   "meta",   "head",   "label", "option",
    "fieldset", "figcaption", NULL};

/* Elements whose class/id says they are not the article (readability's unlikelyCandidates, with
 * trafilatura's boilerplate names), unless a hint says they may be (OK_MAYBE). */
static const char *const UNLIKELY[] = {
    "-ad-",       "ai2html",    "banner",     "breadcrumb", "combx",       "comment",
    "community",  "cover-wrap", "disqus",     "extra",      "footer",      "gdpr",
    "header",     "legends",    "menu",       "related",    "remark",      "replies",
    "rss",        "shoutbox",   "sidebar",    "skyscraper", "social",      "sponsor",
    "supplemental", "ad-break", "agegate",    "pagination", "pager",       "popup",
    "yom-remote", "cookie",     "consent",    "share",      "sharing",     "newsletter",
    "subscribe",  "signup",     "promo",      "navigation", "navbar",      "widget",
    "author-bio", "authorbox",  "author-box", "tagcloud",   "postmeta",    "post-meta",
    "entry-meta", "entry-footer", "post-footer", "byline",  "teaser",      "recommend",
    "newsletter", "login",      "modal",      "overlay",    "skip-link",   "sr-only",
    "screen-reader", "print-only", "caption",  "copyright", "akismet",    "jp-relatedposts",
    "sharedaddy", "wpcnt",      "post-tags",  "tags-links", "cat-links",   "nav-links",
    "post-navigation", "author-info", "about-author", "infobox", "toc",    "rating",
    "follow",     "donate",     "paywall",    "trending",   "most-read",   "mostread",
    "more-stories", "read-more", "readmore",  "outbrain",   "taboola",     "dateline-meta",
    NULL};
static const char *const OK_MAYBE[] = {"and", "article", "body", "column", "content", "main",
                                       "shadow", NULL};
static const char *const POSITIVE[] = {"article", "body",  "content", "entry", "hentry", "h-entry",
                                       "main",    "page",  "post",    "text",  "blog",   "story",
                                       NULL};
static const char *const NEGATIVE[] = {
    "-ad-",   "hidden",  "banner", "combx",   "comment", "com-",       "contact", "foot",
    "footnote", "gdpr",  "masthead", "media", "meta",    "outbrain",   "promo",   "related",
    "scroll", "share",   "shoutbox", "sidebar", "skyscraper", "sponsor", "shopping", "tags",
    "tool",   "widget",  "date",   "author",  "login",   NULL};

static int class_weight(const xmlNode *node, int flags)
{
    char ci[400];
    int w = 0;
    if (!(flags & F_WEIGHT_CLASSES))
        return 0;
    class_id(node, ci, sizeof(ci));
    if (ci[0] == ' ' && !ci[1])
        return 0;
    if (any_of(ci, NEGATIVE))
        w -= 25;
    if (any_of(ci, POSITIVE))
        w += 25;
    return w;
}

static int hidden(const xmlNode *node)
{
    char buf[256];
    if (xmlHasProp(node, (const xmlChar *)"hidden"))
        return 1;
    if (!strcmp(lower_attr(node, "aria-hidden", buf, sizeof(buf)), "true"))
        return 1;
    lower_attr(node, "style", buf, sizeof(buf));
    if (strstr(buf, "display:none") || strstr(buf, "display: none") ||
        strstr(buf, "visibility:hidden") || strstr(buf, "visibility: hidden"))
        return 1;
    lower_attr(node, "role", buf, sizeof(buf));
    return !strcmp(buf, "navigation") || !strcmp(buf, "complementary") ||
           !strcmp(buf, "contentinfo") || !strcmp(buf, "banner") || !strcmp(buf, "dialog") ||
           !strcmp(buf, "alertdialog") || !strcmp(buf, "menu") || !strcmp(buf, "menubar") ||
           !strcmp(buf, "search");
}

static struct info *info_of(const xmlNode *node)
{
    return node ? (struct info *)node->_private : NULL;
}

static void drop(xmlNode *node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

/* Remove what is never article text. */
static void clean_tree(const struct extract *ex, xmlNode *node, int depth)
{
    xmlNode *next;
    int big;
    for (; node; node = next) {
        next = node->next;
        if (node->type == XML_COMMENT_NODE || node->type == XML_PI_NODE) {
            drop(node);
            continue;
        }
        if (node->type != XML_ELEMENT_NODE)
            continue;
        /* A wrapper holding most of the text of a page that has some is not boilerplate whatever
         * it is called: an ASP.NET <form> around the page, a <header> or <nav> left unclosed that
         * swallowed the body. */
        big = info_of(node) && ex->body_text > 500 && info_of(node)->text * 2 > ex->body_text;
        if (depth > 200 || (!big && hidden(node)) ||
            (tag_in(node, NEVER_TEXT) && !(big && !tag_is(node, "script") && !tag_is(node, "style")))) {
            drop(node);
            continue;
        }
        if (!tag_is(node, "body") && !tag_is(node, "html") && !tag_is(node, "article") &&
            !tag_is(node, "main") && !tag_is(node, "a")) {
            char ci[400];
            class_id(node, ci, sizeof(ci));
            /* a container holding most of the page's text is not a sidebar, whatever its class */
            if ((ex->flags & F_STRIP_UNLIKELY) && any_of(ci, UNLIKELY) && !any_of(ci, OK_MAYBE) &&
                !big) {
                drop(node);
                continue;
            }
            /* header elements inside the page chrome; an <h1> inside an article header is kept */
            if (tag_is(node, "header") && !big &&
                !xmlStrcasecmp(node->parent->name, (const xmlChar *)"body")) {
                drop(node);
                continue;
            }
        }
        clean_tree(ex, node->children, depth + 1);
    }
}

static size_t text_len(const xmlChar *s, int *commas)
{
    size_t n = 0;
    int space = 1;
    for (const unsigned char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            if (!space)
                n++;
            space = 1;
            continue;
        }
        space = 0;
        if ((*p & 0xC0) != 0x80)
            n++;
        if (*p == ',')
            (*commas)++;
        /* U+FF0C fullwidth comma, U+3001 ideographic comma */
        if (p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x8C)
            (*commas)++;
        if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x81)
            (*commas)++;
    }
    return n;
}

/* Post-order: text and link lengths, commas, counts of child kinds. */
static void measure(struct extract *ex, xmlNode *node, int in_link)
{
    struct info *in;
    if (ex->ninfos == ex->cap) {
        /* beyond the cap, elements stay unmeasured and score nothing */
        node->_private = NULL;
        for (xmlNode *c = node->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                measure(ex, c, in_link);
        return;
    }
    in = &ex->infos[ex->ninfos++];
    memset(in, 0, sizeof(*in));
    node->_private = in;
    in_link = in_link || tag_is(node, "a");
    for (xmlNode *c = node->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content && !tag_is(node, "script") &&
            !tag_is(node, "style")) {
            size_t n = text_len(c->content, &in->commas);
            in->text += n;
            if (in_link)
                in->link += n;
        } else if (c->type == XML_ELEMENT_NODE) {
            struct info *ci;
            measure(ex, c, in_link);
            if (!(ci = info_of(c)))
                continue;
            in->text += ci->text;
            in->link += ci->link;
            in->commas += ci->commas;
            in->p += ci->p + tag_is(c, "p");
            in->img += ci->img + tag_is(c, "img");
            in->li += ci->li + tag_is(c, "li");
            in->input += ci->input + tag_is(c, "input");
            in->embed += ci->embed + (tag_is(c, "embed") || tag_is(c, "object") || tag_is(c, "iframe"));
            in->heads += ci->heads + (c->name[0] == 'h' && c->name[1] >= '1' && c->name[1] <= '6' && !c->name[2]);
        }
    }
}

#define MAX_ELEMENTS 200000

static size_t count_elements(const xmlNode *node, size_t n)
{
    if (node->type == XML_ELEMENT_NODE && ++n >= MAX_ELEMENTS)
        return MAX_ELEMENTS;
    for (const xmlNode *c = node->children; c && n < MAX_ELEMENTS; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            n = count_elements(c, n);
    return n;
}

static double link_density(const struct info *in)
{
    return in && in->text ? (double)in->link / (double)in->text : 0;
}

static const char *const BLOCKS[] = {"p",  "div", "section", "article", "main", "table", "ul",
                                     "ol", "dl",  "pre",     "blockquote", "h1", "h2",  "h3",
                                     "h4", "h5",  "h6",      "li",      "tr",   "td",  "header",
                                     "figure", "address", "dd", "dt", "hr", "center", NULL};

static int has_block_child(const xmlNode *node)
{
    for (const xmlNode *c = node->children; c; c = c->next)
        if (tag_in(c, BLOCKS))
            return 1;
    return 0;
}

static void init_candidate(xmlNode *node, int flags)
{
    struct info *in = info_of(node);
    if (!in || in->scored)
        return;
    in->scored = 1;
    in->score = class_weight(node, flags);
    if (tag_is(node, "div") || tag_is(node, "article") || tag_is(node, "main"))
        in->score += 5;
    else if (tag_is(node, "pre") || tag_is(node, "td") || tag_is(node, "blockquote"))
        in->score += 3;
    else if (tag_is(node, "address") || tag_is(node, "ol") || tag_is(node, "ul") ||
             tag_is(node, "dl") || tag_is(node, "dd") || tag_is(node, "dt") || tag_is(node, "li") ||
             tag_is(node, "form"))
        in->score -= 3;
    else if (tag_is(node, "th") || (node->name[0] == 'h' && isdigit(node->name[1])))
        in->score -= 5;
    if (tag_is(node, "article"))
        in->score += 10;
}

/* Paragraph-like elements give their score to up to five ancestors. */
static void score_paragraphs(xmlNode *node, int flags)
{
    for (; node; node = node->next) {
        struct info *in;
        if (node->type != XML_ELEMENT_NODE)
            continue;
        in = info_of(node);
        if (in && (tag_is(node, "p") || tag_is(node, "pre") || tag_is(node, "td") ||
                   ((tag_is(node, "div") || tag_is(node, "section")) && !has_block_child(node)))) {
            if (in->text >= 25) {
                double s = 1 + in->commas + (in->text / 100 < 3 ? (double)(in->text / 100) : 3);
                s *= 1 - link_density(in);
                xmlNode *a = node->parent;
                for (int level = 0; a && a->type == XML_ELEMENT_NODE && level < 5;
                     level++, a = a->parent) {
                    if (!info_of(a))
                        break;
                    init_candidate(a, flags);
                    info_of(a)->score += s / (level == 0 ? 1 : level == 1 ? 2 : level * 3);
                }
            }
            /* a text-only div is a paragraph: do not descend */
            if (!tag_is(node, "td"))
                continue;
        }
        score_paragraphs(node->children, flags);
    }
}

static void best_candidate(xmlNode *node, xmlNode **best, double *best_score)
{
    for (; node; node = node->next) {
        struct info *in;
        if (node->type != XML_ELEMENT_NODE)
            continue;
        in = info_of(node);
        if (in && in->scored) {
            double s = in->score * (1 - link_density(in));
            if (!*best || s > *best_score) {
                *best = node;
                *best_score = s;
            }
        }
        best_candidate(node->children, best, best_score);
    }
}

static double final_score(const xmlNode *node)
{
    struct info *in = info_of(node);
    return in && in->scored ? in->score * (1 - link_density(in)) : 0;
}

/* readability's _cleanConditionally: containers inside the article that look like boilerplate. */
static int looks_like_boilerplate(xmlNode *node, int flags)
{
    struct info *in = info_of(node);
    int weight, is_list, li;
    double ld;
    if (!in)
        return 0;
    weight = class_weight(node, flags);
    if (weight + (in->scored ? in->score : 0) < 0)
        return 1;
    if (in->commas >= 10)
        return 0;
    is_list = tag_is(node, "ul") || tag_is(node, "ol");
    li = in->li - 100;
    ld = link_density(in);
    if (in->img > 1 && (double)in->p / in->img < 0.5)
        return 1;
    if (!is_list && li > in->p)
        return 1;
    if (in->input > in->p / 3)
        return 1;
    if (!is_list && in->text < 25 && (in->img == 0 || in->img > 2) && !tag_is(node, "table"))
        return 1;
    if (!is_list && weight < 25 && ld > 0.2)
        return 1;
    if (weight >= 25 && ld > 0.5)
        return 1;
    if (is_list && ld > 0.5)
        return 1;
    if ((in->embed == 1 && in->text < 75) || in->embed > 1)
        return 1;
    return 0;
}

static void clean_conditionally(xmlNode *node, int flags)
{
    xmlNode *next;
    for (; node; node = next) {
        next = node->next;
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if ((tag_is(node, "div") || tag_is(node, "section") || tag_is(node, "ul") ||
             tag_is(node, "ol") || tag_is(node, "table") || tag_is(node, "dl")) &&
            has_block_child(node) && looks_like_boilerplate(node, flags)) {
            info_of(node)->removed = 1;
            continue;
        }
        if ((tag_is(node, "ul") || tag_is(node, "ol")) && link_density(info_of(node)) > 0.5) {
            info_of(node)->removed = 1;
            continue;
        }
        if (node->name[0] == 'h' && isdigit(node->name[1]) &&
            (class_weight(node, flags) < 0 || link_density(info_of(node)) > 0.33)) {
            info_of(node)->removed = 1;
            continue;
        }
        clean_conditionally(node->children, flags);
    }
}

/* --- text output ------------------------------------------------------------------------------- */

static void emit(const xmlNode *node, struct nd_buf *out)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            if (node->content)
                nd_buf_append(out, node->content, strlen((const char *)node->content));
        } else if (node->type == XML_ELEMENT_NODE) {
            struct info *in = info_of(node);
            int block;
            if (in && in->removed)
                continue;
            block = tag_in(node, BLOCKS) || tag_is(node, "br");
            if (block)
                nd_buf_append(out, "\n", 1);
            else if (tag_is(node, "td") || tag_is(node, "th"))
                nd_buf_append(out, " ", 1);
            emit(node->children, out);
            if (block)
                nd_buf_append(out, "\n", 1);
        }
    }
}

static void emit_one(const xmlNode *node, struct nd_buf *out)
{
    struct info *in = info_of(node);
    if (in && in->removed)
        return;
    nd_buf_append(out, "\n", 1);
    if (node->type == XML_ELEMENT_NODE)
        emit(node->children, out);
    else if (node->content)
        nd_buf_append(out, node->content, strlen((const char *)node->content));
    nd_buf_append(out, "\n", 1);
}

/* --- metadata ---------------------------------------------------------------------------------- */

struct meta {
    char *headline, *byline, *date, *title, *h1;
};

static char *attr(const xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    char *s = v ? nd_strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static char *node_plain_text(const xmlNode *node)
{
    struct nd_buf b;
    nd_buf_init(&b, 1 << 20);
    emit(node->children, &b);
    char *t = nd_text_collapse(b.data ? b.data : "");
    nd_buf_free(&b);
    for (char *p = t; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return nd_text_clean(t);
}

static void set_once(char **field, char *value)
{
    if (*field || !value || !*value) {
        free(value);
        return;
    }
    *field = value;
}

/* "datePublished": "..." and "author": {"name": "..."} in JSON-LD. */
static void json_ld(const char *text, struct meta *m)
{
    char errstr[128];
    json_t *root = nd_json_load_capped(text, strlen(text), errstr, sizeof(errstr));
    json_t *stack[16];
    int n = 0;
    if (!root)
        return;
    stack[n++] = root;
    while (n) {
        json_t *v = stack[--n], *e;
        const char *key;
        size_t i;
        if (json_is_object(v)) {
            json_t *d = json_object_get(v, "datePublished");
            json_t *a = json_object_get(v, "author");
            json_t *h = json_object_get(v, "headline");
            if (json_is_string(d))
                set_once(&m->date, nd_strdup(json_string_value(d)));
            if (json_is_string(h))
                set_once(&m->headline, nd_strdup(json_string_value(h)));
            if (json_is_array(a))
                a = json_array_get(a, 0);
            if (json_is_object(a) && json_is_string(json_object_get(a, "name")))
                set_once(&m->byline, nd_strdup(json_string_value(json_object_get(a, "name"))));
            else if (json_is_string(a))
                set_once(&m->byline, nd_strdup(json_string_value(a)));
            json_object_foreach(v, key, e) {
                if ((json_is_object(e) || json_is_array(e)) && n < 16)
                    stack[n++] = e;
            }
        } else if (json_is_array(v)) {
            json_array_foreach(v, i, e) {
                if ((json_is_object(e) || json_is_array(e)) && n < 16)
                    stack[n++] = e;
            }
        }
    }
    json_decref(root);
}

static void collect_meta(const xmlNode *node, struct meta *m, int depth)
{
    for (; node && depth < 200; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (tag_is(node, "meta")) {
            char key[128], *content = attr(node, "content");
            lower_attr(node, "property", key, sizeof(key));
            if (!key[0])
                lower_attr(node, "name", key, sizeof(key));
            if (!key[0])
                lower_attr(node, "itemprop", key, sizeof(key));
            if (!strcmp(key, "og:title") || !strcmp(key, "twitter:title"))
                set_once(&m->headline, content);
            else if (!strcmp(key, "author") || !strcmp(key, "article:author") ||
                     !strcmp(key, "dc.creator") || !strcmp(key, "sailthru.author") ||
                     !strcmp(key, "parsely-author"))
                set_once(&m->byline, content);
            else if (!strcmp(key, "article:published_time") || !strcmp(key, "datepublished") ||
                     !strcmp(key, "dc.date") || !strcmp(key, "dc.date.issued") ||
                     !strcmp(key, "date") || !strcmp(key, "pubdate") ||
                     !strcmp(key, "og:published_time") || !strcmp(key, "sailthru.date") ||
                     !strcmp(key, "parsely-pub-date"))
                set_once(&m->date, content);
            else
                free(content);
        } else if (tag_is(node, "script")) {
            char type[64];
            lower_attr(node, "type", type, sizeof(type));
            if (!strcmp(type, "application/ld+json") && node->children && node->children->content)
                json_ld((const char *)node->children->content, m);
        } else if (tag_is(node, "title")) {
            if (!m->title)
                m->title = node_plain_text(node);
        } else if (tag_is(node, "h1")) {
            if (!m->h1)
                m->h1 = node_plain_text(node);
        } else if (tag_is(node, "time")) {
            set_once(&m->date, attr(node, "datetime"));
        } else {
            char ip[64], rel[64];
            lower_attr(node, "itemprop", ip, sizeof(ip));
            lower_attr(node, "rel", rel, sizeof(rel));
            if (!strcmp(ip, "datepublished")) {
                char *dt = attr(node, "datetime");
                if (!dt)
                    dt = attr(node, "content");
                set_once(&m->date, dt ? dt : node_plain_text(node));
            }
            else if ((!strcmp(ip, "author") || !strcmp(rel, "author")) && !m->byline)
                m->byline = node_plain_text(node);
        }
        collect_meta(node->children, m, depth + 1);
    }
}

/* Metadata values are sometimes HTML-escaped twice ("O&#039;Donnell"). */
static char *html_field(const char *v)
{
    if (!v)
        return NULL;
    if (strchr(v, '&') || strchr(v, '<'))
        return nd_text_clean(nd_html_to_text(v, strlen(v)));
    return nd_text_clean(nd_strdup(v));
}

void nd_article_free(struct nd_article *art)
{
    if (!art)
        return;
    free(art->headline);
    free(art->byline);
    free(art->text);
    memset(art, 0, sizeof(*art));
}

/* Short lines that are the page talking about itself (share, tags, "read more", ads), in the
 * languages of the news we take in. Matched case-insensitively at the start of a line. */
static const char *const BOILERPLATE_LINES[] = {
    "share",        "teilen",        "compartir",     "partager",      "condividi",
    "tags:",        "tagged",        "schlagw",       "etiquetas:",    "posted in",
    "filed under",  "categories:",   "kategorie",     "print recipe",  "advertisement",
    "reklama",      "anzeige",       "werbung",       "publicidad",    "publicité",
    "read more",    "weiterlesen",   "mehr lesen",    "mehr zum thema", "leer más",
    "lire aussi",   "lea también",   "le puede interesar", "related",  "you might also like",
    "das könnte sie auch", "siguenos", "síguenos",    "follow us",     "subscribe",
    "newsletter",   "leave a reply", "leave a comment", "kommentar",   "comments",
    "bewerten:",    "like this:",    "gefällt mir",   "wird geladen",  "loading...",
    "sign up",      "anmelden",      "click here",    "hier klicken",  "print",
    "drucken",      "e-mail",        "email",         "copyright",     "©",
    NULL};

static int boilerplate_line(const char *line, size_t len)
{
    if (len > 60)
        return 0;
    for (int i = 0; BOILERPLATE_LINES[i]; i++) {
        size_t n = strlen(BOILERPLATE_LINES[i]);
        if (n <= len && !strncasecmp(line, BOILERPLATE_LINES[i], n))
            return 1;
    }
    return 0;
}

/* Drop boilerplate lines from the extracted text, in place. */
static void drop_boilerplate_lines(char *text)
{
    char *r = text, *w = text;
    while (*r) {
        char *nl = strchr(r, '\n');
        size_t len = nl ? (size_t)(nl - r) : strlen(r);
        if (!boilerplate_line(r, len)) {
            if (w != text)
                *w++ = '\n';
            memmove(w, r, len);
            w += len;
        }
        r += len + (nl ? 1 : 0);
    }
    *w = '\0';
}

/* One attempt at the main text with the given flags, on a fresh parse of the page. Returns the text
 * (caller frees) or NULL. */
static char *extract_text(const char *utf8, size_t ulen, int flags, struct meta *m)
{
    struct extract ex = {0};
    xmlNode *root, *body = NULL, *top = NULL;
    double top_score = 0;
    struct nd_buf out;
    char *text = NULL;

    nd_buf_init(&out, ND_PARSE_MAX_DOC);
    ex.flags = flags;
    ex.doc = htmlReadMemory(utf8, (int)ulen, NULL, "UTF-8",
                            HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                HTML_PARSE_RECOVER | HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC);
    if (!ex.doc || !(root = xmlDocGetRootElement(ex.doc)))
        goto out;
    if (m)
        collect_meta(root, m, 0);
    for (xmlNode *c = root->children; c; c = c->next)
        if (tag_is(c, "body"))
            body = c;
    if (!body)
        body = root;

    /* one info per element, up to a cap: a hostile page cannot make us allocate without bound */
    ex.cap = count_elements(body, 0);
    ex.infos = nd_xcalloc(ex.cap, sizeof(*ex.infos));
    measure(&ex, body, 0);
    ex.body_text = info_of(body) ? info_of(body)->text : 0;
    clean_tree(&ex, body->children, 0);
    /* measure again: the infos of removed elements are gone with them */
    ex.ninfos = 0;
    measure(&ex, body, 0);
    score_paragraphs(body->children, flags);
    best_candidate(body->children, &top, &top_score);
    if (!top) {
        top = body;
    } else {
        /* Climb while the parent scores at least as well: the article is often split across
         * sibling containers that each collected part of the paragraphs' score. */
        xmlNode *p = top->parent;
        double last = top_score;
        while (p && p != body && p->type == XML_ELEMENT_NODE) {
            double ps = final_score(p);
            if (!info_of(p) || !info_of(p)->scored) {
                p = p->parent;
                continue;
            }
            if (ps < last / 3)
                break;
            if (ps > last) {
                top = p;
                top_score = ps;
            }
            last = ps;
            p = p->parent;
        }
        /* a lone child adds nothing: its parent is the same content with more context */
        while (top->parent && top->parent != body && top->parent->type == XML_ELEMENT_NODE) {
            int kids = 0, dummy = 0;
            for (xmlNode *c = top->parent->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE ||
                    (c->type == XML_TEXT_NODE && c->content && text_len(c->content, &dummy) > 0))
                    kids++;
            if (kids != 1)
                break;
            top = top->parent;
        }
    }
    if (flags & F_CLEAN_COND)
        clean_conditionally(top->children, flags);
    if (top == body) {
        emit_one(top, &out);
    } else {
        /* the top candidate and the siblings that look like more of the same article */
        double threshold = top_score * 0.2 > 10 ? top_score * 0.2 : 10;
        char top_class[256];
        lower_attr(top, "class", top_class, sizeof(top_class));
        for (xmlNode *s = top->parent->children; s; s = s->next) {
            int keep = s == top;
            struct info *in = info_of(s);
            if (!keep && s->type == XML_ELEMENT_NODE && in) {
                double bonus = 0;
                char cls[256];
                lower_attr(s, "class", cls, sizeof(cls));
                if (top_class[0] && !strcmp(cls, top_class))
                    bonus = top_score * 0.2;
                if (in->scored && final_score(s) + bonus >= threshold)
                    keep = 1;
                else if (tag_is(s, "p") || (tag_is(s, "div") && !has_block_child(s))) {
                    double ld = link_density(in);
                    if (in->text > 80 && ld < 0.25)
                        keep = 1;
                    else if (in->text > 0 && in->text <= 80 && ld == 0) {
                        char *t = node_plain_text(s);
                        size_t tl = t ? strlen(t) : 0;
                        keep = tl && (t[tl - 1] == '.' || strstr(t, ". "));
                        free(t);
                    }
                }
                if (keep && s != top && (flags & F_CLEAN_COND))
                    clean_conditionally(s->children, flags);
            }
            if (keep)
                emit_one(s, &out);
        }
    }
    text = nd_text_collapse(out.data ? out.data : "");
    drop_boilerplate_lines(text);
    text = nd_text_clean(text);
out:
    nd_buf_free(&out);
    free(ex.infos);
    xmlFreeDoc(ex.doc);
    return text;
}

/* Below this many characters an attempt probably threw the article away with the boilerplate. */
#define MIN_ARTICLE_CHARS 500

enum nd_err nd_html_extract(const char *html, size_t len, const char *content_type,
                            struct nd_article *art, char *errstr, size_t errsz)
{
    static const int attempts[] = {F_STRIP_UNLIKELY | F_WEIGHT_CLASSES | F_CLEAN_COND,
                                   F_WEIGHT_CLASSES | F_CLEAN_COND, F_CLEAN_COND, 0};
    struct meta m = {0};
    char *utf8 = NULL, *best = NULL;
    size_t ulen, best_len = 0;
    enum nd_err err = ND_OK;

    memset(art, 0, sizeof(*art));
    nd_parse_once();
    if (len > ND_PARSE_MAX_DOC) {
        snprintf(errstr, errsz, "page too large (%zu bytes)", len);
        err = ND_ERR_TOOBIG;
        goto out;
    }
    utf8 = nd_charset_to_utf8(html, len, content_type, &ulen, NULL);
    /* libxml2's HTML parser takes a NUL for the end of the page (real pages have them) */
    for (size_t i = 0; i < ulen; i++)
        if (utf8[i] == '\0')
            utf8[i] = ' ';
    if (!memchr(utf8, '<', ulen)) {
        snprintf(errstr, errsz, "not an HTML page: no markup (line 1, column 1)");
        err = ND_ERR_INVALID;
        goto out;
    }
    /* readability's retry: each attempt gives up one of the boilerplate rules, and the longest
     * result wins once one is long enough */
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        char *text = extract_text(utf8, ulen, attempts[i], i == 0 ? &m : NULL);
        size_t tl = text ? strlen(text) : 0;
        /* a later, laxer attempt must find clearly more text to beat a stricter one: a few more
         * characters are the boilerplate it let through */
        if (tl > best_len + best_len / 2 + 100 || (!best && text)) {
            free(best);
            best = text;
            best_len = tl;
        } else {
            free(text);
        }
        if (best_len >= MIN_ARTICLE_CHARS)
            break;
    }
    art->text = best ? best : nd_strdup("");
    /* headline: og:title / JSON-LD, else <h1>, else <title> */
    art->headline = html_field(m.headline ? m.headline : m.h1 ? m.h1 : m.title);
    art->byline = html_field(m.byline);
    /* a URL or an author box is not a byline */
    if (art->byline && (!strncmp(art->byline, "http://", 7) || !strncmp(art->byline, "https://", 8) ||
                        strlen(art->byline) > 200)) {
        free(art->byline);
        art->byline = NULL;
    }
    if (m.date) {
        const char *why;
        art->published_at = nd_parse_date(m.date, &why);
    }
out:
    free(m.headline);
    free(m.byline);
    free(m.date);
    free(m.title);
    free(m.h1);
    free(utf8);
    return err;
}
