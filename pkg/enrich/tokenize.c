/* Newswire tokeniser and sentence splitter.
 *
 * One left-to-right pass over bytes. ASCII takes a fast path; other code points are classified with
 * utf8proc (letters and digits make words, Unicode punctuation is split off). A byte that is not
 * valid UTF-8 is treated as a letter of its own, so junk still yields tokens and offsets stay in
 * bounds.
 *
 * Periods are the hard part: "U.S." and "Gov." keep their period, "3.5" is one number, "..." and
 * "…" are one token, and a sentence ends at . ! ? or an ellipsis when what follows looks like a new
 * sentence (capital letter, digit, opening quote) and the period was not a title's ("Mr. Smith").
 */
#include "enrich/tokenize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum cls { C_SPACE, C_NEWLINE, C_ALPHA, C_DIGIT, C_PUNCT, C_QUOTE, C_DASH, C_ELLIPSIS };

struct cp {
    enum cls cls;
    int len;   /* bytes */
    int upper; /* an upper-case letter */
};

static struct cp classify_utf8(const unsigned char *s, size_t n);

/* ASCII inline, the rest out of line: the tokeniser classifies several characters per token and
 * nearly all are ASCII. */
static inline struct cp classify(const unsigned char *s, size_t n)
{
    struct cp c = {C_ALPHA, 1, 0};

    if (s[0] < 0x80) {
        unsigned char b = s[0];
        if (b == '\n' || b == '\r' || b == '\v' || b == '\f')
            c.cls = C_NEWLINE;
        else if (b == ' ' || b == '\t' || b < 0x20 || b == 0x7f)
            c.cls = C_SPACE;
        else if (b >= '0' && b <= '9')
            c.cls = C_DIGIT;
        else if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
            c.upper = b <= 'Z';
        } else if (b == '"' || b == '\'' || b == '`')
            c.cls = C_QUOTE;
        else if (b == '-')
            c.cls = C_DASH;
        else
            c.cls = C_PUNCT;
        return c;
    }
    return classify_utf8(s, n);
}

static struct cp classify_utf8(const unsigned char *s, size_t n)
{
    struct cp c = {C_ALPHA, 1, 0};
    utf8proc_int32_t code;
    utf8proc_ssize_t l;

    l = utf8proc_iterate(s, (utf8proc_ssize_t)(n < 4 ? n : 4), &code);
    if (l <= 0)
        return c; /* invalid byte: a one-byte letter */
    c.len = (int)l;
    if (code == 0x2026) {
        c.cls = C_ELLIPSIS;
        return c;
    }
    switch (utf8proc_category(code)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
        c.upper = 1;
        break;
    case UTF8PROC_CATEGORY_ND:
        c.cls = C_DIGIT;
        break;
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
        c.cls = C_QUOTE;
        break;
    case UTF8PROC_CATEGORY_PD:
        c.cls = C_DASH;
        break;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_CF: /* zero-width joiners, soft hyphens, BOM */
    case UTF8PROC_CATEGORY_CC:
        c.cls = C_SPACE;
        break;
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        c.cls = C_NEWLINE;
        break;
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        c.cls = C_PUNCT;
        break;
    default:
        break;
    }
    return c;
}

/* Words whose trailing period is part of them. `title` ones never end a sentence ("Gov. Newsom").
 * A("word", title) also keeps the word's length, compared first: most entries cost one compare. */
#define A(w, t) {w, sizeof(w) - 1, t}
static const struct abbrev {
    const char *word;
    size_t len;
    int title;
} abbrevs[] = {
    A("Mr", 1), A("Mrs", 1), A("Ms", 1), A("Dr", 1), A("Prof", 1), A("Gov", 1), A("Sen", 1),
    A("Rep", 1), A("Gen", 1), A("Lt", 1), A("Col", 1), A("Maj", 1), A("Capt", 1), A("Cmdr", 1),
    A("Adm", 1), A("Sgt", 1), A("Cpl", 1), A("Pres", 1), A("Amb", 1), A("Rev", 1), A("Fr", 1),
    A("Hon", 1), A("Sr", 0), A("Jr", 0), A("St", 1), A("Mt", 1), A("Ft", 1), A("No", 1),
    A("Nos", 1), A("vs", 1), A("v", 1), A("etc", 0), A("approx", 1), A("Inc", 0), A("Corp", 0),
    A("Ltd", 0), A("Co", 0), A("Cos", 0), A("Bros", 0), A("Plc", 0), A("Dept", 1), A("Univ", 1),
    A("Assn", 1), A("Jan", 0), A("Feb", 0), A("Mar", 0), A("Apr", 0), A("Jun", 0), A("Jul", 0),
    A("Aug", 0), A("Sep", 0), A("Sept", 0), A("Oct", 0), A("Nov", 0), A("Dec", 0), A("Mon", 0),
    A("Tue", 0), A("Tues", 0), A("Wed", 0), A("Thu", 0), A("Thur", 0), A("Thurs", 0), A("Fri", 0),
    A("Sat", 0), A("Sun", 0), A("Ala", 0), A("Ariz", 0), A("Ark", 0), A("Calif", 0), A("Colo", 0),
    A("Conn", 0), A("Del", 0), A("Fla", 0), A("Ga", 0), A("Ill", 0), A("Ind", 0), A("Kan", 0),
    A("Ky", 0), A("La", 0), A("Md", 0), A("Mass", 0), A("Mich", 0), A("Minn", 0), A("Miss", 0),
    A("Mo", 0), A("Mont", 0), A("Neb", 0), A("Nev", 0), A("Okla", 0), A("Ore", 0), A("Pa", 0),
    A("Tenn", 0), A("Tex", 0), A("Va", 0), A("Vt", 0), A("Wash", 0), A("Wis", 0), A("Wyo", 0),
    A("a.m", 0), A("p.m", 0), A("e.g", 1), A("i.e", 1), A("cf", 1), A("est", 0), A("fig", 1),
    A("Fig", 1), A("Ave", 0), A("Blvd", 0), A("Rd", 0), A("approx", 1), A("Ph.D", 0), A("Nos", 1),
};
#undef A

/* 0: not an abbreviation; 1: abbreviation that may end a sentence; 2: title (never ends one). */
static int abbrev_kind(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(abbrevs) / sizeof(abbrevs[0]); i++)
        if (abbrevs[i].len == n && abbrevs[i].word[0] == s[0] && !memcmp(abbrevs[i].word, s, n))
            return abbrevs[i].title ? 2 : 1;
    /* A single capital letter is an initial: "John F. Kennedy". */
    if (n == 1 && s[0] >= 'A' && s[0] <= 'Z')
        return 2;
    /* Dotted acronyms "U.S", "U.N", "e.g" (the scan already took the inner periods); not a host
     * or file name ("Example.com"), whose last part is longer. */
    if (n >= 3 && s[n - 2] == '.' && !(s[0] >= '0' && s[0] <= '9'))
        return 1;
    return 0;
}

/* Words that start sentences: after "U.S." a capitalised common word ends the sentence, a
 * capitalised name ("U.S. Senate") does not. */
static int sentence_starter(const char *s, size_t n)
{
    static const char *const words[] = {
        "The",       "A",       "An",        "He",    "She",     "It",    "They",  "We",
        "I",         "This",    "That",      "These", "Those",   "But",   "And",   "In",
        "On",        "At",      "For",       "If",    "When",    "While", "After", "Before",
        "Asked",     "His",     "Her",       "Their", "Its",     "There", "Some",  "Many",
        "Officials", "However", "Meanwhile", "Last",  "Earlier", "Later", "Also",  "As",
        "So",        "Yet",     "Since",     "Still", "Now",     "Both",  "Such",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && !memcmp(words[i], s, n))
            return 1;
    return 0;
}

static int is_wordish(enum cls c)
{
    return c == C_ALPHA || c == C_DIGIT;
}

/* Length of an English clitic after an apostrophe at q ("s", "m", "d", "re", "ve", "ll", any case)
 * when no letter or digit follows it, else 0: "China's", "I'm", "they're", "we'll" split there as
 * UD EWT and CoNLL do. */
static size_t clitic_len(const unsigned char *s, size_t n, size_t q)
{
    static const char *const clitics[] = {"s", "m", "d", "re", "ve", "ll"};
    for (size_t i = 0; i < sizeof(clitics) / sizeof(clitics[0]); i++) {
        size_t k = strlen(clitics[i]), j;
        if (q + k > n)
            continue;
        for (j = 0; j < k && (s[q + j] | 0x20) == clitics[i][j]; j++)
            ;
        if (j == k && (q + k >= n || !is_wordish(classify(s + q + k, n - q - k).cls)))
            return k;
    }
    return 0;
}

/* The index in words[0..nwords) of the one s[0..n) equals, ASCII case ignored, or -1. */
static int word_index(const unsigned char *s, size_t n, const char *const *words, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++) {
        size_t k = strlen(words[i]), j;
        if (k != n)
            continue;
        for (j = 0; j < k && (s[j] | 0x20) == words[i][j]; j++)
            ;
        if (j == k)
            return (int)i;
    }
    return -1;
}

/* Length n when s[0..n) is a prefix UD EWT writes joined to its word with a hyphen, else 0. */
static size_t prefix_len(const unsigned char *s, size_t n)
{
    static const char *const prefixes[] = {"e",    "co",  "pre",   "post", "non", "re",
                                           "anti", "mid", "multi", "ex",   "semi", "pro",
                                           "over", "sub", "inter", "un",   "bi",  "vice"};
    return word_index(s, n, prefixes, sizeof(prefixes) / sizeof(prefixes[0])) >= 0 ? n : 0;
}

/* Length of a web address or e-mail address at s (http://, https://, www., or word@word.word), up to
 * the next space and without trailing punctuation; 0 when there is none. Kept as one token, as UD
 * EWT does. */
static size_t web_len(const unsigned char *s, size_t n)
{
    size_t e = 0, at = 0;
    int web = (n > 7 && !memcmp(s, "http://", 7)) || (n > 8 && !memcmp(s, "https://", 8)) ||
              (n > 4 && !memcmp(s, "www.", 4));
    while (e < n && e < ND_TOKEN_MAX_BYTES && s[e] > ' ' && s[e] < 0x7f && s[e] != '"' &&
           s[e] != '<' && s[e] != '>' && s[e] != '(' && s[e] != ')') {
        if (s[e] == '@' && e > 0 && !at)
            at = e;
        e++;
    }
    while (e > 0 && (s[e - 1] == '.' || s[e - 1] == ',' || s[e - 1] == ';' || s[e - 1] == ':' ||
                     s[e - 1] == '!' || s[e - 1] == '?' || s[e - 1] == '\''))
        e--;
    if (!web && at) {
        /* an e-mail address: letters after the @ and a dot among them */
        int dot = 0;
        for (size_t i = at + 1; i < e; i++)
            dot |= s[i] == '.';
        web = dot && at + 1 < e && s[at + 1] != '.';
    }
    return web ? e : 0;
}

/* Past a run of two or more of one symbol at p ("***", "====", "$$$", "<<"), one token in UD EWT;
 * p when there is none. */
static size_t symbol_run(const unsigned char *s, size_t n, size_t p)
{
    size_t e = p + 1;
    if (!memchr("*=_+~#$<>^|", s[p], 11) || e >= n || s[e] != s[p])
        return p;
    while (e < n && s[e] == s[p] && e - p < ND_TOKEN_MAX_BYTES)
        e++;
    return e;
}

/* Past an emoticon at p (":)", ":-(", ";)", ":D", ":P") that no letter or digit follows; p when
 * there is none. */
static size_t emoticon(const unsigned char *s, size_t n, size_t p)
{
    size_t e = p + 1;
    if (s[p] != ':' && s[p] != ';')
        return p;
    if (e < n && s[e] == '-')
        e++;
    if (e >= n || !memchr(")(DP", s[e], 4))
        return p;
    e++;
    if (e < n && ((s[e] | 0x20) >= 'a' && (s[e] | 0x20) <= 'z'))
        return p;
    if (e < n && s[e] >= '0' && s[e] <= '9')
        return p;
    return e;
}

struct out {
    struct nd_tokens *toks;
    size_t tcap, scap;
};

static enum nd_err push_token(struct out *o, uint32_t start, uint32_t end, uint32_t flags)
{
    struct nd_tokens *t = o->toks;
    if (t->ntokens == o->tcap) {
        size_t ncap = o->tcap ? o->tcap * 2 : 256;
        struct nd_token *n = realloc(t->tokens, ncap * sizeof(*n));
        if (!n)
            return ND_ERR_NOMEM;
        t->tokens = n;
        o->tcap = ncap;
    }
    t->tokens[t->ntokens++] = (struct nd_token){start, end, flags};
    return ND_OK;
}

/* Length of the lower-case ASCII words joined by single periods at q ("com", "animals.cat") when
 * no letter or digit follows (a period may: it ends the sentence), else 0. */
static size_t lower_run(const unsigned char *s, size_t n, size_t q)
{
    size_t e = q;
    for (;;) {
        while (e < n && s[e] >= 'a' && s[e] <= 'z')
            e++;
        if (e + 1 < n && e > q && s[e] == '.' && s[e + 1] >= 'a' && s[e + 1] <= 'z') {
            e++;
            continue;
        }
        break;
    }
    if (e < n && ((s[e] >= '0' && s[e] <= '9') || (s[e] >= 'A' && s[e] <= 'Z') || s[e] >= 0x80))
        return 0;
    return e - q;
}

/* Words UD EWT writes as two: cannot -> can|not, gonna -> gon|na, wanna -> wan|na,
 * gotta -> got|ta. The length of the first part (3 for each) when s[0..n) is one, any case;
 * else 0. */
static size_t fused_len(const unsigned char *s, size_t n)
{
    static const char *const fused[] = {"cannot", "gonna", "wanna", "gotta"};
    return word_index(s, n, fused, sizeof(fused) / sizeof(fused[0])) >= 0 ? 3 : 0; /* all 3 */
}

/* Scan one word from p: letters, digits and the joiners that stay inside words. Returns its end. */
static size_t scan_word(const unsigned char *s, size_t n, size_t p, uint32_t *flags)
{
    size_t start = p, seg_start = p;
    int dotted = 0, digits_only = 1, letters = 0, upper_letters = 0;

    while (p < n && p - start < ND_TOKEN_MAX_BYTES) {
        struct cp c;
        unsigned char b0 = s[p];
        /* ASCII letters and digits without a call: most bytes of most text */
        if ((b0 | 0x20) >= 'a' && (b0 | 0x20) <= 'z') {
            digits_only = 0;
            letters++;
            upper_letters += b0 <= 'Z';
            p++;
            continue;
        }
        if (b0 >= '0' && b0 <= '9') {
            p++;
            continue;
        }
        c = classify(s + p, n - p);
        if (is_wordish(c.cls)) {
            if (c.cls == C_ALPHA) {
                digits_only = 0;
                letters++;
                upper_letters += c.upper;
            }
            p += (size_t)c.len;
            continue;
        }
        if (p + 1 >= n)
            break;
        /* only these join what follows to the word: anything else (mostly a space) ends it
         * without classifying the next character */
        if (b0 != '.' && b0 != ',' && b0 != ':' && b0 != '-' && b0 != '&' && b0 != '\'' &&
            b0 != '/' && b0 != 0xE2)
            break;
        {
            struct cp next = classify(s + p + 1, n - p - 1);
            unsigned char b = s[p];
            size_t clen = (size_t)c.len;
            if (clen > 1)
                next = classify(s + p + clen, n - p - clen);
            if (p + clen >= n)
                break;
            /* 3.5, 1,200, 10:30, 11/28/2000 between digits */
            if ((b == '.' || b == ',' || b == ':' || b == '/') && digits_only && p > start &&
                next.cls == C_DIGIT) {
                p += 1;
                continue;
            }
            /* b/c, w/o, I/C: one letter and a slash stay one word, as UD EWT has them (and/or,
             * he/she split) */
            if (b == '/' && p == start + 1 && !digits_only && next.cls == C_ALPHA) {
                p += 1;
                continue;
            }
            /* file and host names: a word, a period and a lower-case word of two or more letters
             * with no space (enron.xls, whitehouse.gov), one token in UD EWT */
            if (b == '.' && !digits_only && p - seg_start >= 2 && lower_run(s, n, p + 1) >= 2) {
                p += 1 + lower_run(s, n, p + 1);
                seg_start = p;
                continue;
            }
            /* U.S. / U.N. / e.g.: one letter, a period, one more letter followed by a period */
            if (b == '.' && next.cls == C_ALPHA && p - seg_start == 1 && !digits_only &&
                p + 2 < n && (s[p + 2] == '.' || (dotted && 0))) {
                dotted = 1;
                p += 1;
                seg_start = p;
                continue;
            }
            if (b == '.' && dotted && next.cls == C_ALPHA && p - seg_start == 1) {
                p += 1;
                seg_start = p;
                continue;
            }
            /* hyphens in compounds split as UD EWT splits them (long|-|range, 12|-|year|-|old),
             * but for the prefixes EWT keeps whole (e-mail, co-workers, post-war) and numbers
             * joined by hyphens (713-853-3989). Names stay whole (Saint-Denis, al-Assad,
             * Ki-moon: a capital on either side), as the CoNLL-2003 text the entity tagger
             * learnt from has them; EWT would split those too. */
            if (b == '-' && is_wordish(next.cls) &&
                ((digits_only && next.cls == C_DIGIT) || next.upper ||
                 (classify(s + start, n - start).upper) ||
                 (p == seg_start + prefix_len(s + seg_start, p - seg_start) && p > seg_start &&
                  seg_start == start))) {
                p += 1;
                seg_start = p;
                continue;
            }
            /* AT&T */
            if (b == '&' && next.cls == C_ALPHA && next.upper && p > start) {
                p += 1;
                continue;
            }
            /* O'Brien stays whole; "China's" and "doesn't" split as CoNLL (Penn) text does:
             * China|'s, does|n't */
            if ((b == '\'' ||
                 (clen == 3 && s[p] == 0xE2 && s[p + 1] == 0x80 && s[p + 2] == 0x99)) &&
                next.cls == C_ALPHA && !digits_only) {
                size_t q = p + clen;
                int possessive = clitic_len(s, n, q) > 0;
                if ((s[q] == 't' || s[q] == 'T') && (s[p - 1] == 'n' || s[p - 1] == 'N') &&
                    p - 1 > start &&
                    (q + 1 >= n || !is_wordish(classify(s + q + 1, n - q - 1).cls))) {
                    p--; /* the word ends before "n't", which the next scan takes whole */
                    break;
                }
                if (!possessive) {
                    p += clen;
                    continue;
                }
            }
        }
        break;
    }
    /* percent sign sticks to its number */
    if (p < n && s[p] == '%' && digits_only && p > start)
        p++;
    if (p - start >= 5 && p - start <= 6 && fused_len(s + start, p - start))
        p = start + fused_len(s + start, p - start);
    if (digits_only && p > start) {
        *flags |= ND_TOK_NUMBER;
    } else if (p > start) {
        struct cp first = classify(s + start, n - start);
        if (first.cls == C_DIGIT)
            *flags |= ND_TOK_NUMBER;
        if (letters && first.upper)
            *flags |= ND_TOK_UPPER;
    }
    if (letters >= 2 && upper_letters == letters)
        *flags |= ND_TOK_ALLCAPS;
    return p;
}

enum nd_err nd_tokenize(const char *text, size_t len, struct nd_tokens *toks)
{
    const unsigned char *s = (const unsigned char *)text;
    struct out o = {toks, 0, 0};
    enum nd_err err = ND_OK;
    size_t p = 0;
    uint32_t pending = ND_TOK_SENT_START;
    int break_next = 0; /* a sentence end was seen; the next real token may start a sentence */
    int abbrev_break;   /* this token is an abbreviation whose period also ends the sentence */

    memset(toks, 0, sizeof(*toks));
    if (len > ND_TOKENIZE_MAX_BYTES)
        return ND_ERR_TOOBIG;
    if (!text)
        return ND_OK;
    /* newswire runs about five bytes a token: one allocation usually holds them all */
    o.tcap = len / 4 < 65536 ? len / 4 + 16 : 65536;
    if (!(toks->tokens = malloc(o.tcap * sizeof(*toks->tokens))))
        return ND_ERR_NOMEM;

    while (p < len) {
        struct cp c = classify(s + p, len - p);
        uint32_t flags = 0;
        size_t start = p, end;

        abbrev_break = 0;
        if (c.cls == C_SPACE) {
            p += (size_t)c.len;
            continue;
        }
        if (c.cls == C_NEWLINE) {
            pending |= ND_TOK_NEWLINE | ND_TOK_SENT_START;
            break_next = 0;
            p += (size_t)c.len;
            continue;
        }
        if (is_wordish(c.cls) && (end = web_len(s + p, len - p)) > 0) {
            end += p;
        } else if (is_wordish(c.cls)) {
            end = scan_word(s, len, p, &flags);
            /* A trailing period: part of an abbreviation, or a sentence end. */
            if (end < len && s[end] == '.' &&
                !(end + 2 < len && s[end + 1] == '.' && s[end + 2] == '.')) {
                int kind = abbrev_kind(text + start, end - start);
                if (kind) {
                    flags |= ND_TOK_ABBREV;
                    end++;
                    if (kind == 1) {
                        /* "in the U.S. The talks": the period also ends the sentence when a common
                         * sentence-opening word follows. */
                        size_t q = end;
                        while (q < len && (s[q] == ' ' || s[q] == '\t'))
                            q++;
                        if (q < len && s[q] >= 'A' && s[q] <= 'Z') {
                            size_t e = q;
                            while (e < len &&
                                   ((s[e] >= 'a' && s[e] <= 'z') || (s[e] >= 'A' && s[e] <= 'Z')))
                                e++;
                            if (sentence_starter(text + q, e - q))
                                abbrev_break = 1;
                        } else if (q >= len || s[q] == '\n') {
                            abbrev_break = 1;
                        }
                    }
                }
            }
        } else if (c.cls == C_QUOTE && (s[p] == '\'' || c.len == 3) && toks->ntokens &&
                   toks->tokens[toks->ntokens - 1].end == p && p + (size_t)c.len < len &&
                   clitic_len(s, len, p + (size_t)c.len) &&
                   (s[p] == '\'' || (s[p + 1] == 0x80 && s[p + 2] == 0x99))) {
            /* the clitics "'s", "'m", "'re", "'ve", "'ll", "'d" (and with "’"), split off as UD
             * EWT and CoNLL do */
            end = p + (size_t)c.len + clitic_len(s, len, p + (size_t)c.len);
        } else if (c.cls == C_ELLIPSIS) {
            end = p + (size_t)c.len;
            flags |= ND_TOK_PUNCT;
        } else if (s[p] == '.') {
            end = p + 1;
            while (end < len && s[end] == '.' && end - start < ND_TOKEN_MAX_BYTES)
                end++;
            flags |= ND_TOK_PUNCT;
        } else if (s[p] == '!' || s[p] == '?') {
            /* "!!", "?!" are one token, as UD EWT has them */
            end = p + 1;
            while (end < len && (s[end] == '!' || s[end] == '?') && end - start < ND_TOKEN_MAX_BYTES)
                end++;
            flags |= ND_TOK_PUNCT;
        } else if ((end = symbol_run(s, len, p)) > p || (end = emoticon(s, len, p)) > p) {
            flags |= ND_TOK_PUNCT;
        } else if (c.cls == C_DASH && s[p] == '-') {
            end = p + 1;
            while (end < len && s[end] == '-' && end - start < ND_TOKEN_MAX_BYTES)
                end++;
            flags |= ND_TOK_PUNCT;
        } else {
            end = p + (size_t)c.len;
            flags |= ND_TOK_PUNCT;
            if (c.cls == C_QUOTE)
                flags |= ND_TOK_QUOTE;
        }

        /* Sentence boundary: decided at the first token after a terminator. Closing quotes and
         * brackets right after the terminator stay in the sentence they close. */
        if (break_next &&
            !(flags & ND_TOK_QUOTE && toks->ntokens &&
              toks->tokens[toks->ntokens - 1].end == start) &&
            !(s[start] == ')' || s[start] == ']')) {
            if ((flags & (ND_TOK_UPPER | ND_TOK_NUMBER)) || (flags & ND_TOK_QUOTE) ||
                s[start] == '(' || s[start] == '[')
                pending |= ND_TOK_SENT_START;
            break_next = 0;
        }
        if ((err = push_token(&o, (uint32_t)start, (uint32_t)end, flags | pending)) != ND_OK)
            goto out;
        pending = 0;
        if (abbrev_break)
            break_next = 1;
        if (flags & ND_TOK_PUNCT) {
            unsigned char b = s[start];
            if (b == '!' || b == '?' || c.cls == C_ELLIPSIS || (b == '.'))
                break_next = 1;
        }
        p = end;
    }

    /* Sentences from the start flags. */
    for (size_t i = 0; i < toks->ntokens; i++) {
        struct nd_token *t = &toks->tokens[i];
        if (i == 0)
            t->flags |= ND_TOK_SENT_START;
        if (t->flags & ND_TOK_SENT_START) {
            if (toks->nsentences == o.scap) {
                size_t ncap = o.scap ? o.scap * 2 : 32;
                struct nd_sentence *n = realloc(toks->sentences, ncap * sizeof(*n));
                if (!n) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
                toks->sentences = n;
                o.scap = ncap;
            }
            toks->sentences[toks->nsentences++] =
                (struct nd_sentence){(uint32_t)i, 0, t->start, t->end};
        }
        toks->sentences[toks->nsentences - 1].count++;
        toks->sentences[toks->nsentences - 1].end = t->end;
    }
out:
    if (err != ND_OK)
        nd_tokens_free(toks);
    return err;
}

void nd_tokens_free(struct nd_tokens *toks)
{
    if (!toks)
        return;
    free(toks->tokens);
    free(toks->sentences);
    memset(toks, 0, sizeof(*toks));
}

size_t nd_utf8_chars(const char *text, size_t len)
{
    size_t cont = 0, i = 0;
    const unsigned char *s = (const unsigned char *)text;
    /* eight bytes at a time: a continuation byte is 10xxxxxx, top bit set and the next one clear;
     * the eight flags (one per byte, 0 or 1) are summed by a multiply into the top byte, which the
     * build's baseline x86-64 does faster than __builtin_popcountll (a libgcc call without POPCNT) */
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        x = (x & ~(x << 1) & 0x8080808080808080ull) >> 7;
        cont += (size_t)((x * 0x0101010101010101ull) >> 56);
    }
    for (; i < len; i++)
        cont += (s[i] & 0xC0) == 0x80;
    return len - cont;
}
