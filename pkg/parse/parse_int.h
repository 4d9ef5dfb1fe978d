/* parse: what the format modules of pkg/parse share with each other (not part of the public API). */
#ifndef ND_PARSE_INT_H
#define ND_PARSE_INT_H

#include "parse/parse.h"

/* Caps on what outside input can make us build. */
#define ND_PARSE_MAX_DOC (64u << 20)  /* bytes of one document */
#define ND_PARSE_MAX_NOTES 2048       /* bytes of repair notes kept per document */
#define ND_PARSE_MAX_JSON_DEPTH 64    /* nesting of JSON arrays/objects */

/* Initialise libxml2 once per process: its lazy initialisation is not safe when the first two
 * parses race on different threads (fetch and enrich workers both parse). Cheap after the first call. */
void nd_parse_once(void);

/* Record one repair: res->repairs++ and a "; "-separated note (capped). */
void nd_parse_repair(struct nd_parse_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes in any supported charset to UTF-8 (valid, invalid sequences replaced by U+FFFD). The charset
 * comes from, in order: a BOM, the Content-Type charset, the XML declaration, an HTML meta charset;
 * a declared single-byte charset loses to content that is valid multi-byte UTF-8 (lying meta), and
 * undeclared non-UTF-8 is read as windows-1252. Returns a malloc'd NUL-terminated buffer (caller
 * frees) with its length in *outlen; res (may be NULL) gets a repair note for each fix. */
char *nd_charset_to_utf8(const char *data, size_t len, const char *content_type, size_t *outlen,
                         struct nd_parse_result *res);

/* Replace invalid UTF-8 with U+FFFD; returns the number of replacements. *out is malloc'd. */
size_t nd_utf8_fix(const char *data, size_t len, char **out, size_t *outlen);

/* A field value made clean for output: valid UTF-8, control characters dropped (tab and newline
 * kept), NFC, whitespace trimmed. Takes ownership of s, returns the new string (NULL when empty). */
char *nd_text_clean(char *s);

/* Collapse whitespace of plain text (no HTML decoding). Caller frees. */
char *nd_text_collapse(const char *s);

/* Like nd_parse_date with an explicit "now" (tests, fuzzing). */
int64_t nd_parse_date_at(const char *text, int64_t now, const char **why);

/* Set story->published_at (or updated_at) from a date string; an unreadable published date leaves
 * a date_note with the reason and the text. */
void nd_story_set_date(struct nd_story *story, const char *text, int updated);

/* The format modules. */
enum nd_err nd_parse_xml_feed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz);
enum nd_err nd_parse_jsonfeed(const char *data, size_t len, const struct nd_parse_opts *opts,
                              struct nd_parse_result *res, char *errstr, size_t errsz);
enum nd_err nd_parse_ninjs(const char *data, size_t len, const struct nd_parse_opts *opts,
                           struct nd_parse_result *res, char *errstr, size_t errsz);

/* Shared by the JSON parsers: load with a nesting cap; NULL with "line L, column C" in errstr. */
#include <jansson.h>
json_t *nd_json_load_capped(const char *data, size_t len, char *errstr, size_t errsz);

/* Append a story to res (growing res->stories); returns 0, or -1 when max_items is reached (the story
 * is destroyed and a repair recorded). Takes ownership of story. */
int nd_parse_add_story(struct nd_parse_result *res, const struct nd_parse_opts *opts,
                       struct nd_story *story);

#endif
