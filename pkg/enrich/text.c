/* Text stage: normalisation, then wire-copy structure.
 *
 * Normalisation makes every later offset meaningful and every later stage simpler: bytes that are
 * not UTF-8 become U+FFFD, HTML remnants (tags, character references) become text, the text is put
 * in Unicode NFC, line ends become \n, spaces (NBSP, thin spaces, tabs) become one ASCII space,
 * zero-width characters and soft hyphens go, and blank-line runs shrink to one blank line.
 * Typographic quotes, apostrophes and dashes are kept as written; the tokeniser understands them.
 *
 * Structure: byline ("By A, B and C"), dateline ("NEW YORK (Reuters) -"), and the credit line at
 * the end ("(Reporting by ...; Editing by ...)") are kept as fields and removed from the body so
 * their names are not taken for actors of the story. */
#include "enrich/enrich.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Named references that survive in feed text; the numeric ones are decoded generally. */
static const struct {
    const char *name;
    const char *utf8;
} html_refs[] = {
    {"amp", "&"},         {"lt", "<"},          {"gt", ">"},          {"quot", "\""},
    {"apos", "'"},        {"nbsp", " "},        {"mdash", "\u2014"},  {"ndash", "\u2013"},
    {"hellip", "\u2026"}, {"lsquo", "\u2018"},  {"rsquo", "\u2019"},  {"ldquo", "\u201c"},
    {"rdquo", "\u201d"},  {"laquo", "\u00ab"},  {"raquo", "\u00bb"},  {"eacute", "\u00e9"},
    {"egrave", "\u00e8"}, {"aacute", "\u00e1"}, {"oacute", "\u00f3"}, {"uuml", "\u00fc"},
    {"ouml", "\u00f6"},   {"auml", "\u00e4"},   {"ccedil", "\u00e7"}, {"ntilde", "\u00f1"},
    {"iacute", "\u00ed"}, {"uacute", "\u00fa"}, {"euro", "\u20ac"},   {"pound", "\u00a3"},
    {"copy", "\u00a9"},   {"reg", "\u00ae"},    {"deg", "\u00b0"},    {"shy", ""},
    {"zwj", ""},          {"zwnj", ""},         {"thinsp", " "},      {"ensp", " "},
    {"emsp", " "},
};

/* Tags whose end is a paragraph break. */
static int block_tag(const char *name, size_t n)
{
    static const char *const tags[] = {"p",  "br", "div",   "li",      "h1",     "h2",
                                       "h3", "h4", "h5",    "h6",      "tr",     "blockquote",
                                       "ul", "ol", "table", "section", "article"};
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (strlen(tags[i]) == n && !strncasecmp(tags[i], name, n))
            return 1;
    return 0;
}

static void put_cp(struct nd_buf *b, utf8proc_int32_t cp)
{
    utf8proc_uint8_t tmp[4];
    utf8proc_ssize_t n;
    if (cp <= 0 || !utf8proc_codepoint_valid(cp))
        cp = 0xFFFD;
    n = utf8proc_encode_char(cp, tmp);
    nd_buf_append(b, tmp, (size_t)n);
}

/* Does any of the eight bytes at p stop a plain ASCII run: a non-ASCII byte (high bit), '<' or
 * '&' (a byte equal to c is a zero byte of x ^ c, which the borrow test finds)? Eight bytes at a
 * time over the text; the byte loop after it finds where the run stops. */
static int plain_stop8(const char *p)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t x, lt, amp;
    memcpy(&x, p, 8);
    lt = x ^ (ones * '<');
    amp = x ^ (ones * '&');
    return ((x | ((lt - ones) & ~lt) | ((amp - ones) & ~amp)) & highs) != 0;
}

/* Pass 1: valid UTF-8, HTML tags and references out. */
static char *decode_html(const char *s, size_t len)
{
    struct nd_buf b;
    size_t i = 0;
    nd_buf_init(&b, len * 3 + 16);
    /* the output is about as long as the input: one allocation instead of a doubling series (a
     * failure here only means appends grow the buffer as usual) */
    (void)nd_buf_reserve(&b, len + 16);
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<' && i + 1 < len &&
            (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!')) {
            const char *gt = memchr(s + i, '>', len - i < 512 ? len - i : 512);
            if (gt) {
                const char *name = s + i + 1 + (s[i + 1] == '/');
                size_t nlen = 0;
                while (name + nlen < gt && isalnum((unsigned char)name[nlen]))
                    nlen++;
                if (block_tag(name, nlen) && b.len && b.data[b.len - 1] != '\n')
                    nd_buf_append(&b, "\n", 1);
                i = (size_t)(gt - s) + 1;
                continue;
            }
        }
        if (c == '&') {
            const char *semi = memchr(s + i, ';', len - i < 12 ? len - i : 12);
            if (semi) {
                const char *name = s + i + 1;
                size_t nlen = (size_t)(semi - name);
                int done = 0;
                if (nlen >= 2 && name[0] == '#') {
                    char *end;
                    long v = (name[1] == 'x' || name[1] == 'X') ? strtol(name + 2, &end, 16)
                                                                : strtol(name + 1, &end, 10);
                    if (end == semi && v > 0 && v < 0x110000) {
                        put_cp(&b, (utf8proc_int32_t)v);
                        done = 1;
                    }
                } else {
                    for (size_t k = 0; k < sizeof(html_refs) / sizeof(html_refs[0]); k++)
                        if (strlen(html_refs[k].name) == nlen &&
                            !strncmp(html_refs[k].name, name, nlen)) {
                            nd_buf_append(&b, html_refs[k].utf8, strlen(html_refs[k].utf8));
                            done = 1;
                            break;
                        }
                }
                if (done) {
                    i = (size_t)(semi - s) + 1;
                    continue;
                }
            }
        }
        if (c < 0x80) {
            /* a run of plain ASCII in one append: most text is this */
            size_t j = i + 1;
            while (j + 8 <= len && !plain_stop8(s + j))
                j += 8;
            while (j < len && (unsigned char)s[j] < 0x80 && s[j] != '<' && s[j] != '&')
                j++;
            nd_buf_append(&b, s + i, j - i);
            i = j;
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n =
                utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0) {
                put_cp(&b, 0xFFFD);
                i++;
            } else {
                nd_buf_append(&b, s + i, (size_t)n);
                i += (size_t)n;
            }
        }
    }
    return nd_buf_steal(&b, NULL);
}

/* Pass 3 (after NFC): spaces, line ends, invisible characters. `oneline` turns line breaks into
 * spaces (headlines). */
/* What stood between the last text and the next: a paragraph break, a line break or a space. */
static inline size_t put_separator(char *out, size_t o, int newlines, int pending_space)
{
    if (newlines) {
        out[o++] = '\n';
        if (newlines > 1)
            out[o++] = '\n';
    } else if (pending_space) {
        out[o++] = ' ';
    }
    return o;
}

static char *squeeze(const char *s, int oneline)
{
    /* The output is never longer than the input (runs of spaces and line breaks shrink to at most
     * two bytes, everything else is copied), so it is written straight into one allocation. */
    size_t len = strlen(s), i = 0, o = 0;
    int pending_space = 0, newlines = 0, at_start = 1;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;
        utf8proc_category_t cat;
        unsigned char c = (unsigned char)s[i];
        if (c > ' ' && c < 0x7f) {
            /* a run of visible ASCII: no classification needed */
            size_t j = i + 1;
            while (j < len && (unsigned char)s[j] > ' ' && (unsigned char)s[j] < 0x7f)
                j++;
            if (!at_start)
                o = put_separator(out, o, newlines, pending_space);
            newlines = pending_space = at_start = 0;
            memcpy(out + o, s + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        if (c == ' ' || c == '\t') {
            pending_space = 1;
            i++;
            continue;
        }
        n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) { /* cannot happen after pass 1; keep going */
            i++;
            continue;
        }
        i += (size_t)n;
        if (cp == '\r' || cp == '\n' || cp == 0x2028 || cp == 0x2029 || cp == '\v' || cp == '\f') {
            if (cp == '\r' && i < len && s[i] == '\n')
                i++;
            if (oneline)
                pending_space = 1;
            else
                newlines++;
            continue;
        }
        cat = utf8proc_category(cp);
        if (cp == 0xAD || cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0xFEFF ||
            cp == 0x2060)
            continue;
        if (cat == UTF8PROC_CATEGORY_ZS) {
            pending_space = 1;
            continue;
        }
        if (cat == UTF8PROC_CATEGORY_CC) /* other control characters */
            continue;
        if (!at_start)
            o = put_separator(out, o, newlines, pending_space);
        newlines = 0;
        pending_space = 0;
        at_start = 0;
        memcpy(out + o, s + i - n, (size_t)n);
        o += (size_t)n;
    }
    out[o] = '\0';
    return out;
}

/* NFC can only change text that has a code point from U+0300 up, other than the general punctuation
 * and currency blocks newswire is full of (typographic quotes, dashes, ellipsis, euro); skipping
 * utf8proc for the rest saves most of the stage's time. */
static int needs_nfc(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p < 0xCC)
            continue;
        if (*p == 0xE2 && (p[1] == 0x80 || p[1] == 0x81 || p[1] == 0x82)) {
            /* U+2000..U+20BF: only U+2000/U+2001 decompose, and they are spaces squeezed later */
            p += 2;
            continue;
        }
        return 1;
    }
    return 0;
}

char *nd_text_normalize(const char *s, int oneline)
{
    char *html, *out;
    utf8proc_uint8_t *nfc;
    if (!s)
        return NULL;
    html = decode_html(s, strlen(s));
    if (!html)
        return nd_strdup("");
    nfc = needs_nfc(html) ? utf8proc_NFC((const utf8proc_uint8_t *)html) : NULL;
    out = squeeze(nfc ? (const char *)nfc : html, oneline);
    free(nfc);
    free(html);
    return out ? out : nd_strdup("");
}

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

    while (*q &&
           (isupper((unsigned char)*q) || *q == ' ' || *q == '.' || *q == '\'' || *q == '-')) {
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

/* The credit line without brackets, "Reporting by A; Editing by B", as the whole last line. */
static int bare_credit(const char *line)
{
    static const char *const starts[] = {"Reporting by ", "Additional reporting by ",
                                         "Writing by ",   "Editing by ",
                                         "Compiled by ",  "Reporting and writing by "};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        if (!strncasecmp(line, starts[i], strlen(starts[i])))
            return 1;
    return 0;
}

/* "(Reporting by ...; Editing by ...)" as the last paragraph. */
static void split_credit(struct nd_story *story, char *body)
{
    char *end = body + strlen(body), *open;
    while (end > body && isspace((unsigned char)end[-1]))
        end--;
    {
        char *line = end;
        while (line > body && line[-1] != '\n')
            line--;
        if (line > body && end - line < 400 && bare_credit(line)) {
            if (!story->credit)
                story->credit = trim_dup(line, end);
            *line = '\0';
            while (line > body && isspace((unsigned char)line[-1]))
                *--line = '\0';
            return;
        }
    }
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
    char *body, *norm;

    if (story->headline) {
        norm = nd_text_normalize(story->headline, 1);
        free(story->headline);
        story->headline = norm;
    }
    if (!story->body_text)
        return;
    norm = nd_text_normalize(story->body_text, 0);
    free(story->body_text);
    story->body_text = norm;
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
