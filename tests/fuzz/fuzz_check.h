/* Shared by the parse harnesses: the invariants every parsed story must keep, checked on each run. */
#ifndef ND_FUZZ_CHECK_H
#define ND_FUZZ_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

/* Every text field is valid UTF-8 (jansson refuses anything else) without NULs. */
static inline void check_utf8(const char *s)
{
    json_t *j;
    if (!s)
        return;
    j = json_string(s);
    if (!j)
        abort();
    json_decref(j);
}

static inline void check_result(const struct nd_parse_result *res)
{
    for (size_t i = 0; i < res->nstories; i++) {
        const struct nd_story *story = res->stories[i];
        const char *fields[] = {story->guid,     story->url,    story->headline, story->summary,
                                story->body_text, story->byline, story->located, story->language,
                                story->date_note};
        json_t *doc;
        char *text;
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
            check_utf8(fields[f]);
        if (!story->body_text || story->id[16] != '\0' || strlen(story->id) != 16)
            abort();
        doc = nd_story_to_json(story);
        text = json_dumps(doc, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
        json_decref(doc);
    }
    check_utf8(res->title);
}

/* One format module through charset decoding as nd_parse_feed does it (so inputs that probe as
 * another format still reach it), then the whole front door, probe included. */
typedef enum nd_err (*fuzz_format_fn)(const char *data, size_t len, const struct nd_parse_opts *opts,
                                      struct nd_parse_result *res, char *errstr, size_t errsz);

static inline int fuzz_format(const uint8_t *data, size_t size, fuzz_format_fn parse)
{
    struct nd_parse_opts opts = {
        .feed_id = "fuzz", .base_url = "http://fuzz.example/feed/", .max_items = 200};
    struct nd_parse_result res;
    char errstr[512];
    size_t ulen;
    char *utf8;

    memset(&res, 0, sizeof(res));
    utf8 = nd_charset_to_utf8((const char *)data, size, NULL, &ulen, &res);
    if (parse(utf8, ulen, &opts, &res, errstr, sizeof(errstr)) == ND_OK)
        check_result(&res);
    else if (!memchr(errstr, '\0', sizeof(errstr)) || strchr(errstr, '\n'))
        abort(); /* an error message is one terminated line */
    nd_parse_result_free(&res);
    free(utf8);

    if (nd_parse_feed((const char *)data, size, &opts, &res, errstr, sizeof(errstr)) == ND_OK)
        check_result(&res);
    nd_parse_result_free(&res);
    return 0;
}

#endif
