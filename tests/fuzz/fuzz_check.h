/* Shared by the parse harnesses: the invariants every parsed story must keep, checked on each run. */
#ifndef ND_FUZZ_CHECK_H
#define ND_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

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

#endif
