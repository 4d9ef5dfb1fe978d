/* JSON loading shared by the JSON Feed and ninjs parsers: jansson, behind a nesting cap checked first
 * (jansson's own limit is a compile-time constant of 2048, far deeper than any real feed needs and
 * deep enough to cost a lot of stack on hostile input). */
#include "parse/parse_int.h"

#include <string.h>

/* The deepest nesting of arrays/objects outside strings; stops counting past the cap. Also returns
 * the offset where the cap was passed. */
static int json_depth(const char *data, size_t len, size_t *where)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                max = depth;
                if (max > ND_PARSE_MAX_JSON_DEPTH) {
                    *where = i;
                    return max;
                }
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *nd_json_load_capped(const char *data, size_t len, char *errstr, size_t errsz)
{
    json_error_t jerr;
    json_t *root;
    size_t where = 0;

    if (json_depth(data, len, &where) > ND_PARSE_MAX_JSON_DEPTH) {
        int line = 1, col = 1;
        for (size_t i = 0; i < where; i++) {
            if (data[i] == '\n')
                line++, col = 1;
            else
                col++;
        }
        snprintf(errstr, errsz, "JSON nested deeper than %d levels at line %d, column %d",
                 ND_PARSE_MAX_JSON_DEPTH, line, col);
        return NULL;
    }
    root = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        snprintf(errstr, errsz, "JSON error at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        /* jansson quotes the offending token, raw newlines and all: the message is one line */
        for (char *p = errstr; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    return root;
}
