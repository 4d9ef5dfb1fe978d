/* The sentence boundary classifier: candidate gaps, their features, the decision (sentsplit.h). */
#include "enrich/sentsplit.h"

#include <string.h>

/* What a token is, for the features: its kind of word or punctuation. */
enum tok_class {
    TC_LOWER,   /* a word in lower case */
    TC_CAP,     /* capitalised */
    TC_ALLCAPS, /* two or more letters, all capitals */
    TC_NUMBER,
    TC_ABBREV, /* a word with its period (U.S., etc.) */
    TC_TITLE,  /* an abbreviation that never ends a sentence (Mr., J.) */
    TC_PERIOD,
    TC_BANG, /* ! ? and runs of them */
    TC_ELLIPSIS,
    TC_COLON,
    TC_SEMI,
    TC_COMMA,
    TC_CLOSE, /* ) ] } */
    TC_OPEN,
    TC_QUOTE,
    TC_DASH,
    TC_OTHER, /* other punctuation and symbols */
    TC_NONE,  /* past either end */
};

static enum tok_class tok_class(const char *text, const struct nd_token *t)
{
    const unsigned char *p = (const unsigned char *)text + t->start;
    size_t n = t->end - t->start;
    if (t->flags & ND_TOK_TITLE)
        return TC_TITLE;
    if (t->flags & ND_TOK_ABBREV)
        return TC_ABBREV;
    if (!(t->flags & ND_TOK_PUNCT)) {
        if (t->flags & ND_TOK_NUMBER)
            return TC_NUMBER;
        if (t->flags & ND_TOK_ALLCAPS)
            return TC_ALLCAPS;
        return t->flags & ND_TOK_UPPER ? TC_CAP : TC_LOWER;
    }
    if (t->flags & ND_TOK_QUOTE)
        return TC_QUOTE;
    if (p[0] == '.')
        return n == 1 ? TC_PERIOD : TC_ELLIPSIS;
    if (n == 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xA6)
        return TC_ELLIPSIS;
    if (p[0] == '!' || p[0] == '?')
        return TC_BANG;
    switch (p[0]) {
    case ':':
        return n == 1 ? TC_COLON : TC_OTHER; /* ":)" is an emoticon */
    case ';':
        return n == 1 ? TC_SEMI : TC_OTHER;
    case ',':
        return TC_COMMA;
    case ')':
    case ']':
    case '}':
        return TC_CLOSE;
    case '(':
    case '[':
    case '{':
        return TC_OPEN;
    case '-':
        return TC_DASH;
    default:
        return (n == 3 && p[0] == 0xE2 && p[1] == 0x80) ? TC_DASH : TC_OTHER;
    }
}

int nd_sentsplit_candidate(const char *text, const struct nd_token *tokens, size_t n, size_t i)
{
    (void)n;
    if (tokens[i].flags & ND_TOK_RULE_START)
        return 1;
    /* no boundary the rules missed after a word, a comma, a dash or an opening bracket: web text
     * has those ("... Graae *** Bush", e-mail signatures), news copy has names and asides there
     * ("American IT giant", "Milburn - a key ally") */
    switch (tok_class(text, &tokens[i - 1])) {
    case TC_PERIOD:
    case TC_BANG:
    case TC_ELLIPSIS:
    case TC_COLON:
    case TC_SEMI:
    case TC_QUOTE:
    case TC_CLOSE:
    case TC_OTHER:
    case TC_ABBREV:
        return 1;
    default:
        return 0;
    }
}

/* 64-bit mixing (splitmix64's finaliser) */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* The token's form for the features: its first 24 bytes, ASCII lowered (FNV-1a). */
static uint64_t form(const char *text, const struct nd_token *t)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t n = t->end - t->start;
    if (n > 24)
        n = 24;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)text[t->start + k];
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 0x100000001b3ull;
    }
    return h;
}

/* A token's length in bytes, bucketed: 1, 2, 3, 4-7, 8 or more. */
static int length_bucket(const struct nd_token *t)
{
    size_t n = t->end - t->start;
    return n < 4 ? (int)n : n < 8 ? 4 : 5;
}

#define FEAT(tmpl, a, b) (f[k++] = (uint32_t)(mix(mix((uint64_t)(tmpl) << 56 ^ (a)) ^ (b)) & mask))

size_t nd_sentsplit_features(const char *text, const struct nd_token *tokens, size_t n, size_t i,
                             uint32_t mask, uint32_t *f)
{
    const struct nd_token *l = &tokens[i - 1], *r = &tokens[i];
    const struct nd_token *ll = i >= 2 ? &tokens[i - 2] : NULL, *rr = i + 1 < n ? &tokens[i + 1] : NULL;
    uint64_t lc = tok_class(text, l), rc = tok_class(text, r);
    uint64_t llc = ll ? tok_class(text, ll) : TC_NONE, rrc = rr ? tok_class(text, rr) : TC_NONE;
    uint64_t lf = form(text, l), rf = form(text, r), llf = ll ? form(text, ll) : 0;
    uint64_t rule = (r->flags & ND_TOK_RULE_START) != 0, glued = l->end == r->start;
    size_t k = 0;

    FEAT(1, 0, 0); /* bias */
    FEAT(2, rule, 0);
    FEAT(3, lc, rc);
    FEAT(4, lf, 0);
    FEAT(5, rf, 0);
    FEAT(6, lf, rc);
    FEAT(7, lc, rf);
    FEAT(8, llc, lc);
    FEAT(9, llc << 8 | lc, rc);
    FEAT(10, rc, rrc);
    FEAT(11, lc << 8 | rc, rrc);
    FEAT(12, rule, lc << 8 | rc);
    FEAT(13, glued, lc << 8 | rc);
    FEAT(14, llf, lf);
    FEAT(15, lf, rf);
    FEAT(16, lc, (uint64_t)length_bucket(l));
    FEAT(17, llf, lc << 8 | rc);
    /* which side a quote or bracket is glued to tells opening from closing */
    FEAT(19, lc, (uint64_t)(ll && ll->end == l->start) << 1 | glued);
    FEAT(20, rc, glued << 1 | (uint64_t)(rr && r->end == rr->start));
    if (ll && (lc == TC_QUOTE || lc == TC_CLOSE))
        FEAT(18, llc, rc); /* the terminator before a closing quote or bracket */
    return k;
}

const unsigned char *nd_sentsplit_weights(const struct nd_sentsplit *model, uint32_t *mask)
{
    uint32_t v[3];
    if (!model || model->len < 12)
        return NULL;
    memcpy(v, model->data, sizeof(v));
    if (memcmp(model->data, "NDSS", 4) || v[1] != 1 || v[2] < 4 || v[2] > 24 ||
        model->len != 12 + ((size_t)4 << v[2]))
        return NULL;
    *mask = (1u << v[2]) - 1;
    return model->data + 12;
}

void nd_sentsplit_apply(const struct nd_sentsplit *model, const char *text, struct nd_token *tokens,
                        size_t n)
{
    uint32_t mask = 0, f[ND_SENTSPLIT_MAXFEAT];
    const unsigned char *w = nd_sentsplit_weights(model, &mask);

    for (size_t i = 0; i < n; i++) {
        struct nd_token *r = &tokens[i];
        float score = 0;
        size_t nf;
        if (i == 0 || (r->flags & ND_TOK_NEWLINE)) {
            r->flags |= ND_TOK_SENT_START;
            continue;
        }
        r->flags &= ~ND_TOK_SENT_START;
        if (tokens[i - 1].flags & ND_TOK_TITLE)
            continue;
        if (!w) {
            r->flags |= r->flags & ND_TOK_RULE_START ? ND_TOK_SENT_START : 0;
            continue;
        }
        if (!nd_sentsplit_candidate(text, tokens, n, i))
            continue;
        nf = nd_sentsplit_features(text, tokens, n, i, mask, f);
        for (size_t k = 0; k < nf; k++) {
            float x; /* the file's little-endian float32 as the host's: x86-64 and arm64 */
            memcpy(&x, w + 4 * (size_t)f[k], sizeof(x));
            score += x;
        }
        if (score > 0)
            r->flags |= ND_TOK_SENT_START;
    }
    /* a quote or bracket alone between two boundaries closes the sentence before it */
    for (size_t i = 1; i + 1 < n; i++)
        if ((tokens[i].flags & ND_TOK_SENT_START) && (tokens[i + 1].flags & ND_TOK_SENT_START) &&
            !(tokens[i].flags & ND_TOK_NEWLINE) &&
            (tokens[i].flags & (ND_TOK_QUOTE | ND_TOK_PUNCT)) &&
            (tok_class(text, &tokens[i]) == TC_QUOTE || tok_class(text, &tokens[i]) == TC_CLOSE))
            tokens[i].flags &= ~ND_TOK_SENT_START;
}
