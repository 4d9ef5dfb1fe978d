/* Wire-copy structure: byline ("By A, B and C"), dateline ("NEW YORK (Reuters) -"), and the credit
 * line at the end ("(Reporting by ...; Editing by ...)"). They are kept as fields and removed from the
 * body so their names are not taken for actors of the story. */
#include "enrich/enrich.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *trim_dup(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    return nd_strndup(b, (size_t)(e - b));
}

/* "By Humeyra Pamuk, Simon Lewis and David Brunnstrom\n" at the start. */
static const char *split_byline(struct nd_story *story, const char *p)
{
    const char *nl;
    if (strncmp(p, "By ", 3) && strncmp(p, "BY ", 3))
        return p;
    nl = strchr(p, '\n');
    if (!nl || nl - p > 200)
        return p;
    if (!story->byline)
        story->byline = trim_dup(p + 3, nl);
    return nl + 1;
}

/* A dateline is a run of upper-case place words, an optional "(Agency)", then a dash:
 * "NEW YORK (Reuters) -", "WASHINGTON, Sept 27 (Reuters) -", "BEIJING —". */
static const char *split_dateline(struct nd_story *story, const char *p)
{
    const char *q = p, *place_end, *dash;
    int upper = 0;

    while (*q && (isupper((unsigned char)*q) || *q == ' ' || *q == '.' || *q == '\'' || *q == '-')) {
        if (isupper((unsigned char)*q))
            upper++;
        if (*q == '-' && (q[1] == ' ' || q[1] == '\0' || q[-1] == ' '))
            break;
        q++;
    }
    place_end = q;
    while (place_end > p && place_end[-1] == ' ')
        place_end--;
    if (upper < 2 || place_end - p > 60)
        return p;
    /* optional ", date" part */
    if (*q == ',') {
        const char *paren = strchr(q, '(');
        const char *d = strstr(q, " - ");
        if (paren && (!d || paren < d) && paren - q < 40)
            q = paren;
    }
    while (*q == ' ')
        q++;
    if (*q == '(') {
        const char *close = strchr(q, ')');
        if (!close || close - q > 40)
            return p;
        q = close + 1;
        while (*q == ' ')
            q++;
    }
    dash = q;
    if (*dash == '-')
        q = dash + 1;
    else if (!strncmp(dash, "\xE2\x80\x94", 3) || !strncmp(dash, "\xE2\x80\x93", 3))
        q = dash + 3; /* em/en dash */
    else
        return p;
    if (!story->located)
        story->located = trim_dup(p, place_end);
    if (!story->dateline)
        story->dateline = trim_dup(p, q);
    while (*q == ' ')
        q++;
    return q;
}

/* "(Reporting by ...; Editing by ...)" as the last paragraph. */
static void split_credit(struct nd_story *story, char *body)
{
    char *end = body + strlen(body), *open;
    while (end > body && isspace((unsigned char)end[-1]))
        end--;
    if (end == body || end[-1] != ')')
        return;
    open = end - 1;
    while (open > body && *open != '(' && *open != '\n')
        open--;
    if (*open != '(' || (open > body && open[-1] != '\n'))
        return;
    if (strncmp(open, "(Reporting", 10) && strncmp(open, "(Writing", 8) &&
        strncmp(open, "(Additional reporting", 21) && strncmp(open, "(Editing", 8))
        return;
    if (!story->credit)
        story->credit = trim_dup(open, end);
    *open = '\0';
    end = open;
    while (end > body && isspace((unsigned char)end[-1]))
        *--end = '\0';
}

void nd_enrich_text(struct nd_story *story)
{
    const char *p;
    char *body;

    if (!story->body_text)
        return;
    p = story->body_text;
    while (isspace((unsigned char)*p))
        p++;
    p = split_byline(story, p);
    while (isspace((unsigned char)*p))
        p++;
    p = split_dateline(story, p);
    body = nd_strdup(p);
    split_credit(story, body);
    free(story->body_text);
    story->body_text = body;
}
