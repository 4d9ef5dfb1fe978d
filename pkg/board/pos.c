/* Positions in the alerts topic, and their text form, the SSE event id a page sends back as
 * Last-Event-ID. The id comes from outside: parsing is strict and bounded. */
#include "board/board_int.h"

#include <stdio.h>
#include <string.h>

void nd_board_pos_init(struct nd_board_pos *pos)
{
    for (int p = 0; p < ND_BOARD_MAX_PARTS; p++)
        pos->off[p] = -1;
}

void nd_board_pos_format(const struct nd_board_pos *pos, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (int p = 0; p < ND_BOARD_MAX_PARTS; p++) {
        int w;
        if (pos->off[p] < 0)
            continue;
        w = snprintf(out + n, outsz - n, "%s%d:%lld", n ? "," : "", p, (long long)pos->off[p]);
        if (w < 0 || (size_t)w >= outsz - n) {
            out[n] = '\0';
            return;
        }
        n += (size_t)w;
    }
}

/* A decimal number of at most maxdigits digits, without sign or leading junk. */
static int number(const char **s, int maxdigits, int64_t *v)
{
    int n = 0;
    *v = 0;
    while (**s >= '0' && **s <= '9') {
        if (++n > maxdigits)
            return -1;
        *v = *v * 10 + (**s - '0');
        (*s)++;
    }
    return n ? 0 : -1;
}

int nd_board_pos_parse(const char *text, struct nd_board_pos *pos)
{
    const char *s = text;
    nd_board_pos_init(pos);
    if (!text || !*text || strlen(text) >= ND_BOARD_POS_TEXT)
        return -1;
    for (;;) {
        int64_t part, off;
        if (number(&s, 3, &part) || part >= ND_BOARD_MAX_PARTS || *s++ != ':' ||
            number(&s, 18, &off) || pos->off[part] >= 0)
            goto bad;
        pos->off[part] = off;
        if (!*s)
            return 0;
        if (*s++ != ',')
            goto bad;
    }
bad:
    nd_board_pos_init(pos);
    return -1;
}
