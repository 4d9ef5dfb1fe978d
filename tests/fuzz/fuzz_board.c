/* libFuzzer harness: what a board page sends (Last-Event-ID, Authorization, Cookie) and the story
 * records the board quotes from. The first byte picks the target. A position that parses formats
 * back to text that parses to the same position; decoded base64 fits its buffer; a story summary's
 * quoted sentences are valid JSON strings cut inside the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "board/board_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void position(const char *text)
{
    struct nd_board_pos pos, back;
    char out[ND_BOARD_POS_TEXT];
    if (nd_board_pos_parse(text, &pos))
        return;
    nd_board_pos_format(&pos, out, sizeof(out));
    if (strlen(out) >= sizeof(out) - 1 || nd_board_pos_parse(out, &back) ||
        memcmp(&pos, &back, sizeof(pos)))
        abort();
}

static void credentials(const char *text)
{
    char out[64], *cookie = NULL;
    int n = nd_board_base64_decode(text, out, sizeof(out));
    struct nd_board_creds creds = {text, text, text};
    if (n >= (int)sizeof(out) || (n >= 0 && (size_t)n != strlen(out) && !memchr(out, 0, (size_t)n)))
        abort();
    /* let in only by one of the ways in: the token as argument, header or cookie, or basic auth */
    if (nd_board_auth("token", "password", &creds, &cookie) && strcmp(text, "token") &&
        strncasecmp(text, "Bearer token", 12) && !strstr(text, "newsd_board=token") &&
        strncasecmp(text, "Basic ", 6))
        abort();
    free(cookie);
}

static void summary(const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, 0, NULL), *sum, *s;
    size_t i;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return;
    }
    sum = nd_board_story_summary(doc);
    json_array_foreach(json_object_get(sum, "evidence"), i, s)
    {
        if (!json_is_string(json_object_get(s, "text")))
            abort();
    }
    json_decref(sum);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    if (!size)
        return 0;
    text = nd_strndup((const char *)data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        position(text);
        break;
    case 1:
        credentials(text);
        break;
    default:
        summary(text, strlen(text));
        break;
    }
    free(text);
    return 0;
}
