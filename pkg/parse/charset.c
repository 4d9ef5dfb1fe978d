/* Charsets: every document is turned into valid UTF-8 before a parser sees it, so the XML, JSON and
 * HTML parsers only ever deal with one encoding, and a declaration inside the document cannot make
 * them decode it differently from what we decided here. */
#include "parse/parse_int.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid (overlong, surrogate, too big,
 * truncated). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

size_t nd_utf8_fix(const char *data, size_t len, char **out, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0, o = 0, bad = 0;
    /* Worst case every byte becomes a 3-byte U+FFFD. */
    char *buf = nd_xmalloc(len * 3 + 1);
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n) {
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(buf + o, REPLACEMENT, 3);
            o += 3;
            i++;
            bad++;
        }
    }
    buf[o] = '\0';
    *out = buf;
    if (outlen)
        *outlen = o;
    return bad;
}

/* 1 when valid UTF-8; *multibyte counts sequences above ASCII. */
static int utf8_valid(const char *data, size_t len, size_t *multibyte, size_t *invalid)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    *multibyte = *invalid = 0;
    while (i < len) {
        size_t n;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        n = utf8_seq(p + i, len - i);
        if (!n) {
            (*invalid)++;
            i++;
            continue;
        }
        if (n > 1)
            (*multibyte)++;
        i += n;
    }
    return *invalid == 0;
}

/* Copy a charset name that follows `key` (charset=, encoding=) in s[0..n), quotes stripped. */
static int find_label(const char *s, size_t n, const char *key, char *label, size_t labelsz)
{
    size_t k = strlen(key);
    for (size_t i = 0; k <= n && i + k <= n; i++) {
        if (strncasecmp(s + i, key, k) != 0)
            continue;
        size_t j = i + k, o = 0;
        while (j < n && (s[j] == ' ' || s[j] == '=' || s[j] == '"' || s[j] == '\''))
            j++;
        while (j < n && o + 1 < labelsz &&
               (isalnum((unsigned char)s[j]) || s[j] == '-' || s[j] == '_' || s[j] == ':' ||
                s[j] == '.'))
            label[o++] = s[j++];
        label[o] = '\0';
        if (o)
            return 1;
    }
    return 0;
}

static int is_utf8_label(const char *l)
{
    return !strcasecmp(l, "utf-8") || !strcasecmp(l, "utf8") || !strcasecmp(l, "unicode-1-1-utf-8");
}

/* WHATWG maps these labels to windows-1252 because that is what such pages really contain. */
static const char *iconv_name(const char *label)
{
    if (!strcasecmp(label, "iso-8859-1") || !strcasecmp(label, "iso8859-1") ||
        !strcasecmp(label, "latin1") || !strcasecmp(label, "latin-1") ||
        !strcasecmp(label, "us-ascii") || !strcasecmp(label, "ascii") ||
        !strcasecmp(label, "iso_8859-1"))
        return "WINDOWS-1252";
    if (!strcasecmp(label, "x-sjis") || !strcasecmp(label, "sjis"))
        return "SHIFT_JIS";
    return label;
}

/* Decode with iconv; undecodable bytes become U+FFFD and decoding goes on. NULL when iconv does not
 * know the charset. */
static char *iconv_decode(const char *data, size_t len, const char *charset, size_t *outlen,
                          size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    char *out, *op;
    char *ip = (char *)data;
    size_t in_left = len, out_alloc = len * 4 + 16, out_left;

    *bad = 0;
    if (cd == (iconv_t)-1)
        return NULL;
    out = nd_xmalloc(out_alloc);
    op = out;
    out_left = out_alloc - 1;
    while (in_left > 0) {
        size_t r = iconv(cd, &ip, &in_left, &op, &out_left);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG) {
            size_t used = (size_t)(op - out);
            out_alloc *= 2;
            out = realloc(out, out_alloc);
            if (!out)
                abort();
            op = out + used;
            out_left = out_alloc - used - 1;
            continue;
        }
        /* EILSEQ or EINVAL (truncated at the end): one replacement, skip a byte. */
        if (out_left < 4) {
            size_t used = (size_t)(op - out);
            out_alloc *= 2;
            out = realloc(out, out_alloc);
            if (!out)
                abort();
            op = out + used;
            out_left = out_alloc - used - 1;
        }
        memcpy(op, REPLACEMENT, 3);
        op += 3;
        out_left -= 3;
        ip++;
        in_left--;
        (*bad)++;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    iconv_close(cd);
    *op = '\0';
    *outlen = (size_t)(op - out);
    return out;
}

/* The charset declared inside the document: XML declaration, then HTML meta. */
static int declared_in_doc(const char *data, size_t len, char *label, size_t labelsz,
                           const char **where)
{
    size_t head = len < 1024 ? len : 1024;
    if (head >= 5 && !strncmp(data, "<?xml", 5)) {
        const char *end = memchr(data, '>', head);
        if (end && find_label(data, (size_t)(end - data), "encoding", label, labelsz)) {
            *where = "XML declaration";
            return 1;
        }
    }
    head = len < 8192 ? len : 8192;
    for (size_t i = 0; i + 5 < head; i++) {
        if (data[i] == '<' && !strncasecmp(data + i + 1, "meta", 4)) {
            const char *end = memchr(data + i, '>', head - i);
            size_t n = end ? (size_t)(end - (data + i)) : head - i;
            if (find_label(data + i, n, "charset", label, labelsz)) {
                *where = "meta charset";
                return 1;
            }
        }
    }
    return 0;
}

char *nd_charset_to_utf8(const char *data, size_t len, const char *content_type, size_t *outlen,
                         struct nd_parse_result *res)
{
    const unsigned char *u = (const unsigned char *)data;
    char label[64] = "";
    const char *where = NULL;
    size_t multibyte, invalid, bad = 0;
    char *out = NULL;

    /* 1. A byte order mark decides. */
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        data += 3;
        len -= 3;
        where = "BOM";
        strcpy(label, "UTF-8");
    } else if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        const char *cs = u[0] == 0xFF ? "UTF-16LE" : "UTF-16BE";
        out = iconv_decode(data + 2, len - 2, cs, outlen, &bad);
        if (bad && res)
            nd_parse_repair(res, "%zu undecodable %s sequences replaced with U+FFFD", bad, cs);
        return out;
    } else if (len >= 4 && u[0] == '<' && u[1] == 0 && u[2] == '?' && u[3] == 0) {
        out = iconv_decode(data, len, "UTF-16LE", outlen, &bad);
        return out;
    } else if (len >= 4 && u[0] == 0 && u[1] == '<' && u[2] == 0 && u[3] == '?') {
        out = iconv_decode(data, len, "UTF-16BE", outlen, &bad);
        return out;
    }

    /* 2. Content-Type, then what the document says about itself. */
    if (!where && content_type && find_label(content_type, strlen(content_type), "charset", label,
                                             sizeof(label)))
        where = "Content-Type";
    if (!where && declared_in_doc(data, len, label, sizeof(label), &where) == 0)
        label[0] = '\0';

    utf8_valid(data, len, &multibyte, &invalid);
    if (!invalid) {
        /* Valid multi-byte UTF-8 does not happen by chance in text of another charset (their high
         * bytes do not form UTF-8 sequences): a declaration that says otherwise lies. */
        if (multibyte && where && !is_utf8_label(label) && res)
            nd_parse_repair(res, "%s says %s but the content is UTF-8; read as UTF-8", where,
                            label);
        *outlen = len;
        return nd_strndup(data, len);
    }
    if (!where) {
        /* Nothing declared and not UTF-8: what such documents almost always are. */
        out = iconv_decode(data, len, "WINDOWS-1252", outlen, &bad);
        if (res)
            nd_parse_repair(res, "no charset declared and not UTF-8; read as windows-1252");
    } else if (!is_utf8_label(label) && strncasecmp(label, "utf-16", 6) != 0) {
        out = iconv_decode(data, len, iconv_name(label), outlen, &bad);
        if (!out && res)
            nd_parse_repair(res, "unknown charset \"%s\" (%s); read as UTF-8", label, where);
    }
    if (!out) {
        bad = nd_utf8_fix(data, len, &out, outlen);
    }
    if (bad && res)
        nd_parse_repair(res, "%zu invalid byte%s replaced with U+FFFD", bad, bad == 1 ? "" : "s");
    return out;
}

/* --- clean output text ----------------------------------------------------------------------- */

char *nd_text_clean(char *s)
{
    size_t len, multibyte, invalid, o = 0;
    unsigned char *p;
    int maybe_not_nfc = 0;
    char *b, *e;

    if (!s)
        return NULL;
    len = strlen(s);
    utf8_valid(s, len, &multibyte, &invalid);
    if (invalid) {
        char *fixed;
        nd_utf8_fix(s, len, &fixed, &len);
        free(s);
        s = fixed;
    }
    /* Drop C0 controls other than tab/newline, DEL, C1 controls and noncharacters: they are never
     * text, and downstream JSON/Kafka consumers choke on some of them. In place. */
    p = (unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n;
        int drop = 0;
        if (p[i] >= 0x20 && p[i] < 0x7F) {
            p[o++] = p[i++];
            continue;
        }
        n = utf8_seq(p + i, len - i);
        if (n == 1 && ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7F))
            drop = 1;
        else if (n == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)
            drop = 1;
        else if (n == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && (p[i + 2] == 0xBE || p[i + 2] == 0xBF))
            drop = 1;
        /* below U+0300 nothing composes: such text is NFC already (ICU's quick check) */
        if (p[i] >= 0xCC)
            maybe_not_nfc = 1;
        if (!drop) {
            if (o != i)
                memmove(p + o, p + i, n);
            o += n;
        }
        i += n;
    }
    p[o] = '\0';
    if (maybe_not_nfc) {
        utf8proc_uint8_t *nfc = NULL;
        if (utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)o, &nfc,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE) >= 0) {
            free(s);
            s = (char *)nfc;
            o = strlen(s);
        }
    }
    b = s;
    e = s + o;
    while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    if (e == b) {
        free(s);
        return NULL;
    }
    if (b != s)
        memmove(s, b, (size_t)(e - b));
    s[e - b] = '\0';
    return s;
}

void nd_parse_repair(struct nd_parse_result *res, const char *fmt, ...)
{
    char note[512];
    size_t have = res->notes ? strlen(res->notes) : 0, n;
    va_list ap;

    res->repairs++;
    va_start(ap, fmt);
    vsnprintf(note, sizeof(note), fmt, ap);
    va_end(ap);
    n = strlen(note);
    if (have + n + 3 > ND_PARSE_MAX_NOTES)
        return;
    res->notes = realloc(res->notes, have + n + 3);
    if (!res->notes)
        abort();
    if (have)
        memcpy(res->notes + have, "; ", 2), have += 2;
    memcpy(res->notes + have, note, n + 1);
}
