/* Small text helpers of the parsers: HTML fragments to text, feed dates. */
#include "parse/parse_int.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_block(const char *name)
{
    static const char *blocks[] = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4",
                                   "h5", "h6", "tr", "table", "blockquote", "section", "article",
                                   "header", "footer", "pre", "hr", "dd", "dt", NULL};
    for (int i = 0; blocks[i]; i++)
        if (!strcasecmp(name, blocks[i]))
            return 1;
    return 0;
}

static void walk(const xmlNode *node, struct nd_buf *out)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            nd_buf_append(out, node->content, strlen((const char *)node->content));
        } else if (node->type == XML_ELEMENT_NODE) {
            const char *name = (const char *)node->name;
            if (!strcasecmp(name, "script") || !strcasecmp(name, "style"))
                continue;
            if (is_block(name))
                nd_buf_append(out, "\n", 1);
            walk(node->children, out);
            if (is_block(name))
                nd_buf_append(out, "\n", 1);
        }
    }
}

char *nd_text_collapse(const char *s)
{
    size_t n = strlen(s), o = 0;
    int space = 0, nl = 0;
    char *out = nd_xmalloc(n + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* U+00A0 no-break space as a space */
        if (p[0] == 0xC2 && p[1] == 0xA0) {
            space = 1;
            p++;
            continue;
        }
        if (*p == '\n' || *p == '\r') {
            nl = 1;
            continue;
        }
        if (isspace(*p)) {
            space = 1;
            continue;
        }
        if (o && nl)
            out[o++] = '\n';
        else if (o && space)
            out[o++] = ' ';
        space = nl = 0;
        out[o++] = (char)*p;
    }
    out[o] = '\0';
    return out;
}

char *nd_html_to_text(const char *html, size_t len)
{
    htmlDocPtr doc;
    struct nd_buf raw;
    char *text, *wrapped;

    nd_parse_once();
    /* Plain text needs no parser, and the parser would eat a literal "<" in it anyway. */
    if (!memchr(html, '<', len) && !memchr(html, '&', len)) {
        char *copy = nd_strndup(html, len);
        text = nd_text_collapse(copy);
        free(copy);
        return text;
    }
    if (len > INT32_MAX - 16)
        len = INT32_MAX - 16;
    /* Inside a <div>, loose text is not wrapped in an implied <p> (which would break a headline
     * like "<em>Rates</em> rise" into two lines). */
    wrapped = nd_xmalloc(len + 12);
    memcpy(wrapped, "<div>", 5);
    memcpy(wrapped + 5, html, len);
    memcpy(wrapped + 5 + len, "</div>", 7);
    doc = htmlReadMemory(wrapped, (int)len + 11, NULL, "UTF-8",
                         HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                             HTML_PARSE_RECOVER | HTML_PARSE_NOIMPLIED | HTML_PARSE_IGNORE_ENC);
    free(wrapped);
    nd_buf_init(&raw, len * 2 + 16);
    if (doc)
        walk(xmlDocGetRootElement(doc) ? doc->children : NULL, &raw);
    xmlFreeDoc(doc);
    text = nd_text_collapse(raw.data ? raw.data : "");
    nd_buf_free(&raw);
    return text;
}
