#include "parse/parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_ITEMS 10000

/* Implemented by the format modules. */
enum nd_err nd_parse_xml_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz);

const char *nd_format_name(enum nd_format format)
{
    switch (format) {
    case ND_FORMAT_RSS: return "rss";
    case ND_FORMAT_RDF: return "rdf";
    case ND_FORMAT_ATOM: return "atom";
    case ND_FORMAT_JSONFEED: return "jsonfeed";
    case ND_FORMAT_NINJS: return "ninjs";
    case ND_FORMAT_HTML: return "html";
    default: return "unknown";
    }
}

static const char *skip_bom_ws(const char *p, const char *end)
{
    if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

static int contains(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (strncasecmp(p + i, needle, n) == 0)
            return 1;
    return 0;
}

enum nd_format nd_parse_probe(const char *data, size_t len)
{
    const char *end = data + len;
    const char *p = skip_bom_ws(data, end);
    size_t head = (size_t)(end - p) < 4096 ? (size_t)(end - p) : 4096;

    if (p >= end)
        return ND_FORMAT_UNKNOWN;
    if (*p == '{') {
        if (contains(p, head, "jsonfeed.org/version"))
            return ND_FORMAT_JSONFEED;
        return ND_FORMAT_NINJS;
    }
    if (*p != '<')
        return ND_FORMAT_UNKNOWN;
    if (contains(p, head, "<rss"))
        return ND_FORMAT_RSS;
    if (contains(p, head, "<rdf:RDF") || contains(p, head, "purl.org/rss/1.0"))
        return ND_FORMAT_RDF;
    if (contains(p, head, "<feed"))
        return ND_FORMAT_ATOM;
    if (contains(p, head, "<html") || contains(p, head, "<!doctype html"))
        return ND_FORMAT_HTML;
    return ND_FORMAT_UNKNOWN;
}

enum nd_err nd_parse_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                          struct nd_parse_result *res, char *errstr, size_t errsz)
{
    struct nd_parse_opts o = *opts;
    memset(res, 0, sizeof(*res));
    if (!o.max_items)
        o.max_items = DEFAULT_MAX_ITEMS;
    res->format = nd_parse_probe(data, len);
    switch (res->format) {
    case ND_FORMAT_RSS:
    case ND_FORMAT_RDF:
    case ND_FORMAT_ATOM:
        return nd_parse_xml_feed(data, len, &o, res, errstr, errsz);
    case ND_FORMAT_HTML:
        snprintf(errstr, errsz, "document is an HTML page, not a feed");
        return ND_ERR_INVALID;
    case ND_FORMAT_JSONFEED:
    case ND_FORMAT_NINJS:
        snprintf(errstr, errsz, "format %s is not supported yet", nd_format_name(res->format));
        return ND_ERR_INVALID;
    default:
        snprintf(errstr, errsz, "not a feed: no RSS, Atom or JSON document found at line 1");
        return ND_ERR_INVALID;
    }
}

void nd_parse_result_free(struct nd_parse_result *res)
{
    for (size_t i = 0; i < res->nstories; i++)
        nd_story_destroy(res->stories[i]);
    free(res->stories);
    free(res->title);
    free(res->notes);
    memset(res, 0, sizeof(*res));
}
