/* parse: bytes of a feed or wire-API document into story items, behind one probe + parse interface.
 *
 * Parsers never abort and never trust the input: every failure returns an error with a message
 * (line and column where known) and the caller's other feeds are unaffected. */
#ifndef ND_PARSE_H
#define ND_PARSE_H

#include <stddef.h>

#include "core/core.h"
#include "story/story.h"

enum nd_format {
    ND_FORMAT_UNKNOWN = 0,
    ND_FORMAT_RSS,      /* RSS 0.9x / 2.0 */
    ND_FORMAT_RDF,      /* RSS 1.0 */
    ND_FORMAT_ATOM,
    ND_FORMAT_JSONFEED,
    ND_FORMAT_NINJS,
    ND_FORMAT_HTML,
};
const char *nd_format_name(enum nd_format format);

/* Detect the format from the content (never from the Content-Type alone). */
enum nd_format nd_parse_probe(const char *data, size_t len);

struct nd_parse_result {
    enum nd_format format;
    struct nd_story **stories; /* owned; nd_parse_result_free frees what the caller did not take */
    size_t nstories;
    char *title;               /* the feed's title */
    int ttl_s;                 /* RSS <ttl> as seconds, 0 if absent */
    int repairs;               /* recoverable errors fixed while parsing (see nd_parse_result.notes) */
    char *notes;               /* what was repaired, human-readable, or NULL */
};

struct nd_parse_opts {
    const char *base_url;     /* to resolve relative links; may be NULL */
    const char *content_type; /* HTTP Content-Type (charset hint); may be NULL */
    const char *feed_id;      /* set on every story (identity) */
    size_t max_items;         /* 0 = default cap (10,000) */
};

/* Parse a feed document (RSS 0.9x/1.0/2.0, Atom 1.0/0.3, JSON Feed 1.x, ninjs 1.x/2.x; the format is
 * probed from the content). The bytes are decoded to UTF-8 first (BOM, opts->content_type charset,
 * XML declaration, meta charset); every string in the stories is valid UTF-8 in NFC. On success res
 * holds the items in document order, res->repairs/notes what was fixed on the way. On failure errstr
 * holds one line with the reason and the line and column. Either way the caller releases res with
 * nd_parse_result_free. Thread-safe (no shared state). */
enum nd_err nd_parse_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                          struct nd_parse_result *res, char *errstr, size_t errsz);
void nd_parse_result_free(struct nd_parse_result *res);

/* Helpers shared by the parsers and enrich. */
/* HTML fragment to plain text: tags dropped, block elements to newlines, entities decoded, whitespace
 * collapsed. Caller frees. */
char *nd_html_to_text(const char *html, size_t len);
/* Dates in RSS (RFC 822/1123, named zones, military letters, common broken variants) or RFC 3339 /
 * ISO 8601 form to epoch seconds (UTC). 0 when the date cannot be read or is not trusted (no zone,
 * impossible day, before 1980, more than a day in the future), with the reason in why (static
 * string). Never a guessed date. Thread-safe. */
int64_t nd_parse_date(const char *text, const char **why);

/* Article pages. */
struct nd_article {
    char *headline;       /* owned; NULL when not found */
    char *byline;         /* owned; NULL when not found */
    int64_t published_at; /* epoch seconds; 0 when not found or not trusted */
    char *text;           /* owned; the main text, paragraphs separated by "\n" ("" when none) */
};
/* The main text of an HTML page, boilerplate removed, with headline, byline and date when the page
 * states them. content_type (may be NULL) gives a charset hint. art is filled on ND_OK and must be
 * released with nd_article_free either way. */
enum nd_err nd_html_extract(const char *html, size_t len, const char *content_type,
                            struct nd_article *art, char *errstr, size_t errsz);
void nd_article_free(struct nd_article *art);

#endif
