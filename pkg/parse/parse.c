/* parse: the probe + parse interface in front of the format modules, and what every format shares:
 * charset decoding before, and the clean-up of every story after. */
#include "parse/parse_int.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_ITEMS 10000

static pthread_once_t libxml_once = PTHREAD_ONCE_INIT;

void nd_parse_once(void)
{
    pthread_once(&libxml_once, xmlInitParser);
}

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
    for (size_t i = 0; n <= len && i + n <= len; i++)
        if (strncasecmp(p + i, needle, n) == 0)
            return 1;
    return 0;
}

/* The name of the first element, skipping the prolog (declaration, comments, PIs, DOCTYPE). */
static size_t first_element(const char *p, const char *end, const char **name)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        size_t n = 0;
        if (!lt || end - lt < 2)
            return 0;
        if (lt[1] == '?' || lt[1] == '!') {
            const char *close;
            if (end - lt >= 4 && !memcmp(lt, "<!--", 4))
                close = memmem(lt, (size_t)(end - lt), "-->", 3);
            else
                close = memchr(lt, '>', (size_t)(end - lt));
            if (!close)
                return 0;
            p = close + 1;
            continue;
        }
        lt++;
        while (lt + n < end && (isalnum((unsigned char)lt[n]) || lt[n] == ':' || lt[n] == '-' ||
                                lt[n] == '_'))
            n++;
        *name = lt;
        return n;
    }
    return 0;
}

static int local_name_is(const char *name, size_t n, const char *want)
{
    const char *colon = memchr(name, ':', n);
    if (colon) {
        n -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    return strlen(want) == n && !strncasecmp(name, want, n);
}

enum nd_format nd_parse_probe(const char *data, size_t len)
{
    const char *end = data + len;
    const char *p = skip_bom_ws(data, end);
    size_t head = (size_t)(end - p) < 4096 ? (size_t)(end - p) : 4096;
    const char *name = NULL;
    size_t n;

    if (p >= end)
        return ND_FORMAT_UNKNOWN;
    if (*p == '{' || *p == '[') {
        if (contains(p, head, "jsonfeed.org/version"))
            return ND_FORMAT_JSONFEED;
        return ND_FORMAT_NINJS;
    }
    if (*p != '<')
        return ND_FORMAT_UNKNOWN;
    n = first_element(p, end, &name);
    if (n) {
        if (local_name_is(name, n, "rss"))
            return ND_FORMAT_RSS;
        if (local_name_is(name, n, "RDF"))
            return ND_FORMAT_RDF;
        if (local_name_is(name, n, "feed"))
            return ND_FORMAT_ATOM;
        if (local_name_is(name, n, "html") || local_name_is(name, n, "head") ||
            local_name_is(name, n, "body"))
            return ND_FORMAT_HTML;
    }
    if (contains(p, head, "<!doctype html") || contains(p, head, "<html"))
        return ND_FORMAT_HTML;
    return ND_FORMAT_UNKNOWN;
}

int nd_parse_add_story(struct nd_parse_result *res, const struct nd_parse_opts *opts,
                       struct nd_story *story)
{
    size_t max = opts->max_items ? opts->max_items : DEFAULT_MAX_ITEMS;
    char **fields[] = {&story->guid,   &story->url,      &story->headline, &story->summary,
                       &story->body_text, &story->byline, &story->located, &story->dateline,
                       &story->credit, &story->language, &story->date_note};

    if (res->nstories >= max) {
        nd_story_destroy(story);
        nd_parse_repair(res, "more than %zu items; the rest were skipped", max);
        return -1;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char *v = *fields[i];
        *fields[i] = NULL;
        *fields[i] = nd_text_clean(v);
    }
    if (!story->body_text)
        story->body_text = nd_strdup(story->summary ? story->summary : "");
    nd_story_set(&story->feed_id, opts->feed_id);
    nd_story_set(&story->feed_url, opts->base_url);
    if (!story->published_at && story->updated_at)
        story->published_at = story->updated_at;
    if (story->published_at) {
        free(story->date_note);
        story->date_note = NULL;
    } else if (!story->date_note) {
        nd_story_set(&story->date_note, "the item has no date");
    }
    nd_story_assign_id(story);
    /* capacity doubles at 16, 32, 64...: it is always the next power of two (minimum 16) */
    if (res->nstories == 0 || (res->nstories >= 16 && !(res->nstories & (res->nstories - 1)))) {
        size_t cap = res->nstories < 16 ? 16 : res->nstories * 2;
        res->stories = realloc(res->stories, cap * sizeof(*res->stories));
        if (!res->stories)
            abort();
    }
    res->stories[res->nstories++] = story;
    return 0;
}

/* Line and column (1-based) of byte offset off. */
static void line_col(const char *data, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

enum nd_err nd_parse_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                          struct nd_parse_result *res, char *errstr, size_t errsz)
{
    struct nd_parse_opts o = *opts;
    char *utf8 = NULL;
    size_t ulen = 0;
    enum nd_err err;

    memset(res, 0, sizeof(*res));
    nd_parse_once();
    if (errsz)
        errstr[0] = '\0';
    if (!o.max_items)
        o.max_items = DEFAULT_MAX_ITEMS;
    if (len > ND_PARSE_MAX_DOC) {
        snprintf(errstr, errsz, "document too large (%zu bytes, limit %u)", len, ND_PARSE_MAX_DOC);
        return ND_ERR_TOOBIG;
    }
    utf8 = nd_charset_to_utf8(data, len, o.content_type, &ulen, res);
    res->format = nd_parse_probe(utf8, ulen);
    switch (res->format) {
    case ND_FORMAT_RSS:
    case ND_FORMAT_RDF:
    case ND_FORMAT_ATOM:
        err = nd_parse_xml_feed(utf8, ulen, &o, res, errstr, errsz);
        break;
    case ND_FORMAT_JSONFEED:
        err = nd_parse_jsonfeed(utf8, ulen, &o, res, errstr, errsz);
        break;
    case ND_FORMAT_NINJS:
        err = nd_parse_ninjs(utf8, ulen, &o, res, errstr, errsz);
        break;
    case ND_FORMAT_HTML:
        snprintf(errstr, errsz, "document is an HTML page, not a feed (line 1, column 1)");
        err = ND_ERR_INVALID;
        break;
    default: {
        const char *p = skip_bom_ws(utf8, utf8 + ulen);
        int line, col;
        if (p < utf8 + ulen && *p == '<') {
            /* some other XML: the XML parser says precisely what is wrong (syntax or root) */
            err = nd_parse_xml_feed(utf8, ulen, &o, res, errstr, errsz);
            if (err == ND_OK) {
                snprintf(errstr, errsz, "not a feed (line 1, column 1)");
                err = ND_ERR_INVALID;
            }
            break;
        }
        line_col(utf8, (size_t)(p - utf8), &line, &col);
        if (p >= utf8 + ulen)
            snprintf(errstr, errsz, "empty document (line %d, column %d)", line, col);
        else
            snprintf(errstr, errsz,
                     "not a feed: no RSS, Atom, JSON Feed or ninjs document at line %d, column %d",
                     line, col);
        err = ND_ERR_INVALID;
    }
    }
    free(utf8);
    /* one line, whatever a library put in it */
    if (err != ND_OK)
        for (char *p = errstr; errsz && *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    return err;
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
