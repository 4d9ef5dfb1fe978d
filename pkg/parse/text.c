/* Small text helpers of the parsers: HTML fragments to text, feed dates. */
#include "parse/parse.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_block(const char *name)
{
    static const char *blocks[] = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4",
                                   "h5", "h6", "tr", "table", "blockquote", "section", "article",
                                   "header", "footer", "pre", "hr", "dd", "dt", NULL};
    for (int i = 0; blocks[i]; i++)
        if (!strcasecmp(name, blocks[i]))
            return 1;
    return 0;
}

static void walk(const xmlNode *node, struct nd_buf *out)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            nd_buf_append(out, node->content, strlen((const char *)node->content));
        } else if (node->type == XML_ELEMENT_NODE) {
            const char *name = (const char *)node->name;
            if (!strcasecmp(name, "script") || !strcasecmp(name, "style"))
                continue;
            if (is_block(name))
                nd_buf_append(out, "\n", 1);
            walk(node->children, out);
            if (is_block(name))
                nd_buf_append(out, "\n", 1);
        }
    }
}

/* Collapse runs of spaces; keep paragraph breaks as one "\n\n"... as a single "\n". */
static char *collapse(const char *s)
{
    struct nd_buf out;
    int space = 0, nl = 0;
    nd_buf_init(&out, strlen(s) + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* U+00A0 no-break space as a space */
        if (p[0] == 0xC2 && p[1] == 0xA0) {
            space = 1;
            p++;
            continue;
        }
        if (*p == '\n' || *p == '\r') {
            nl = 1;
            continue;
        }
        if (isspace(*p)) {
            space = 1;
            continue;
        }
        if (out.len && nl)
            nd_buf_append(&out, "\n", 1);
        else if (out.len && space)
            nd_buf_append(&out, " ", 1);
        space = nl = 0;
        nd_buf_append(&out, p, 1);
    }
    return nd_buf_steal(&out, NULL);
}

char *nd_html_to_text(const char *html, size_t len)
{
    htmlDocPtr doc;
    struct nd_buf raw;
    char *text;

    /* Plain text needs no parser, and the parser would eat a literal "<" in it anyway. */
    if (!memchr(html, '<', len) && !memchr(html, '&', len)) {
        char *copy = nd_strndup(html, len);
        text = collapse(copy);
        free(copy);
        return text;
    }
    if (len > INT32_MAX)
        len = INT32_MAX;
    doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                         HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                             HTML_PARSE_RECOVER | HTML_PARSE_NOIMPLIED);
    nd_buf_init(&raw, len * 2 + 16);
    if (doc)
        walk(xmlDocGetRootElement(doc) ? doc->children : NULL, &raw);
    xmlFreeDoc(doc);
    text = collapse(raw.data ? raw.data : "");
    nd_buf_free(&raw);
    return text;
}

/* --- dates ----------------------------------------------------------------------------------- */

static int month_index(const char *s)
{
    static const char *months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (!strncasecmp(s, months[i], 3))
            return i;
    return -1;
}

/* Zone to offset in minutes; 1 when known. */
static int zone_offset(const char *z, int *minutes)
{
    static const struct {
        const char *name;
        int off;
    } zones[] = {{"GMT", 0},    {"UT", 0},     {"UTC", 0},    {"Z", 0},      {"EST", -300},
                 {"EDT", -240}, {"CST", -360}, {"CDT", -300}, {"MST", -420}, {"MDT", -360},
                 {"PST", -480}, {"PDT", -420}, {"BST", 60},   {"CET", 60},   {"CEST", 120}};
    if (*z == '+' || *z == '-') {
        int sign = *z == '-' ? -1 : 1, hh, mm;
        if (isdigit((unsigned char)z[1]) && isdigit((unsigned char)z[2])) {
            hh = (z[1] - '0') * 10 + (z[2] - '0');
            const char *m = z + 3;
            if (*m == ':')
                m++;
            mm = isdigit((unsigned char)m[0]) && isdigit((unsigned char)m[1])
                     ? (m[0] - '0') * 10 + (m[1] - '0')
                     : 0;
            if (hh > 14 || mm > 59)
                return 0;
            *minutes = sign * (hh * 60 + mm);
            return 1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (!strcasecmp(z, zones[i].name)) {
            *minutes = zones[i].off;
            return 1;
        }
    }
    return 0;
}

static int64_t make_time(int y, int mo, int d, int h, int mi, int s, int off_min, const char **why)
{
    struct tm tm;
    if (y < 1970 || y > 2200 || mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        s > 60) {
        *why = "date fields out of range";
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s > 59 ? 59 : s;
    return (int64_t)timegm(&tm) - (int64_t)off_min * 60;
}

int64_t nd_parse_date(const char *text, const char **why)
{
    int y, mo, d, h = 0, mi = 0, s = 0, off = 0, n = 0;
    char mon[16], zone[16] = "";
    const char *p = text;
    const char *dummy;

    if (!why)
        why = &dummy;
    *why = NULL;
    while (isspace((unsigned char)*p))
        p++;
    /* RFC 3339 / ISO 8601 */
    if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3) {
        const char *q = p + n;
        if (*q == 'T' || *q == 't' || *q == ' ') {
            int m2 = 0;
            if (sscanf(q + 1, "%2d:%2d%n", &h, &mi, &m2) < 2) {
                *why = "unreadable time of day";
                return 0;
            }
            q += 1 + m2;
            if (*q == ':') {
                int m3 = 0;
                sscanf(q + 1, "%2d%n", &s, &m3);
                q += 1 + m3;
            }
            if (*q == '.')
                for (q++; isdigit((unsigned char)*q); q++)
                    ;
            if (*q && !zone_offset(q, &off)) {
                *why = "unknown time zone";
                return 0;
            }
        }
        return make_time(y, mo - 1, d, h, mi, s, off, why);
    }
    /* RFC 822/1123: [Day,] DD Mon YYYY HH:MM[:SS] ZONE */
    if (isalpha((unsigned char)*p)) {
        const char *comma = strchr(p, ',');
        p = comma ? comma + 1 : p;
        while (*p && !isdigit((unsigned char)*p) && !isspace((unsigned char)*p))
            p++;
    }
    n = sscanf(p, " %d %15s %d %d:%d:%d %15s", &d, mon, &y, &h, &mi, &s, zone);
    if (n < 3) {
        *why = "not an RFC 822 or RFC 3339 date";
        return 0;
    }
    if (n == 5) {
        /* no seconds: "HH:MM ZONE" */
        s = 0;
        sscanf(p, " %*d %*15s %*d %*d:%*d %15s", zone);
    }
    if ((mo = month_index(mon)) < 0) {
        *why = "unknown month name";
        return 0;
    }
    if (y < 100)
        y += y < 70 ? 2000 : 1900;
    if (*zone && !zone_offset(zone, &off)) {
        *why = "unknown time zone";
        return 0;
    }
    return make_time(y, mo, d, h, mi, s, off, why);
}
