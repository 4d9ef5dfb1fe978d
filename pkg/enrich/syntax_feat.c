/* Feature extraction for the syntax module: what each word is (syn_words), and the feature hashes
 * of the XPOS tagger, the UPOS tagger, the parser's moves and its arc labels. Templates are
 * numbered; a template's number goes into its hash, so two templates never share a feature. */
#include <string.h>

#include "enrich/syntax_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Hash of template t over up to three values: three multiply-xorshift rounds. Rows are picked by
 * the top bits, which the last multiply mixes from every input. */
static inline uint64_t F3(uint64_t t, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = (a ^ (t * 0xD6E8FEB86659FD93ull)) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 32) ^ c) * 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}
#define F1(t, a) F3(t, a, 0, 0)
#define F2(t, a, b) F3(t, a, b, 0)

static uint64_t bytes_hash(const char *s, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(s, n, seed);
}

/* Shape class of one byte: X x d or the byte itself (punctuation); multibyte letters as x. */
static char shape_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return 'X';
    if ((c >= 'a' && c <= 'z') || c >= 0x80)
        return 'x';
    if (c >= '0' && c <= '9')
        return 'd';
    return (char)c;
}

static void word_of(struct syn_word *w, const char *form, size_t len)
{
    char low[64], shape[16];
    size_t n = len < sizeof(low) ? len : sizeof(low), ns = 0;
    int letters = 0, uppers = 0;

    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)form[i];
        char s = shape_of(c);
        if (i < n)
            low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c >= '1' && c <= '9' ? '0' : c);
        if (c >= 'A' && c <= 'Z')
            uppers++;
        if (s == 'X' || s == 'x')
            letters++;
        if (s == 'd')
            w->flags |= SYN_W_DIGIT;
        if (c == '-')
            w->flags |= SYN_W_HYPHEN;
        /* a run of one character class keeps two of it ("Washington": a capital, two small) */
        if (ns < sizeof(shape) &&
            !(ns >= 2 && shape[ns - 1] == s && shape[ns - 2] == s))
            shape[ns++] = s;
    }
    if (len && form[0] >= 'A' && form[0] <= 'Z')
        w->flags |= SYN_W_UPPER;
    if (letters >= 2 && uppers == letters)
        w->flags |= SYN_W_ALLCAP;
    w->lw = bytes_hash(low, n, 1);
    w->shape = bytes_hash(shape, ns, 2);
    w->suf2 = bytes_hash(low + (n > 2 ? n - 2 : 0), n > 2 ? 2 : n, 3);
    w->suf3 = bytes_hash(low + (n > 3 ? n - 3 : 0), n > 3 ? 3 : n, 4);
    w->suf4 = bytes_hash(low + (n > 4 ? n - 4 : 0), n > 4 ? 4 : n, 5);
    w->pre1 = bytes_hash(form, len ? 1 : 0, 6); /* with its case */
    w->pre3 = bytes_hash(low, n > 3 ? 3 : n, 7);
    w->form = bytes_hash(form, len, 8);
}

static int lex_has(const struct syn_lex *lex, uint64_t h)
{
    size_t lo = 0, hi = lex ? lex->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lex->h[mid] == h)
            return 1;
        if (lex->h[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

uint64_t syn_lower_hash(const char *form, size_t len)
{
    struct syn_word w;
    word_of(&w, form, len);
    return w.lw;
}

uint64_t syn_form_hash(const char *form, size_t len)
{
    return bytes_hash(form, len, 8);
}

void syn_words(struct syn_sent *sent, const struct nd_syntax_word *words, size_t n,
               const struct syn_lex *lex)
{
    sent->n = n;
    word_of(&sent->w[0], "<ROOT>", 6);
    for (size_t i = 0; i < n; i++) {
        struct syn_word *w = &sent->w[i + 1];
        word_of(w, words[i].form, words[i].len);
        sent->hint[i + 1] = words[i].xpos_hint < ND_XPOS_COUNT ? words[i].xpos_hint : 0;
        if ((w->flags & SYN_W_UPPER) && !lex_has(lex, w->lw))
            w->flags |= SYN_W_NAMEISH;
    }
    word_of(&sent->w[n + 1], "<END>", 5);
    sent->xpos[0] = SYN_TAG_ROOT;
    sent->xpos[n + 1] = SYN_TAG_NONE;
    sent->upos[0] = sent->upos[n + 1] = 0;
    sent->hint[0] = sent->hint[n + 1] = 0;
}

/* ---- taggers ---------------------------------------------------------------------------------- */

size_t syn_xpos_feats(const struct syn_sent *sent, size_t i, uint64_t *f)
{
    const struct syn_word *w = sent->w;
    size_t n = sent->n, k = 0;
    uint64_t p1 = i >= 1 ? sent->xpos[i - 1] : SYN_TAG_NONE;
    uint64_t p2 = i >= 2 ? sent->xpos[i - 2] : SYN_TAG_NONE;
    uint64_t wm1 = w[i - 1].lw, wm2 = i >= 2 ? w[i - 2].lw : w[0].lw;
    uint64_t wp1 = w[i + 1].lw, wp2 = i + 2 <= n + 1 ? w[i + 2].lw : w[n + 1].lw;

    f[k++] = F1(1, 0);
    f[k++] = F1(2, w[i].lw);
    f[k++] = F1(3, w[i].suf2);
    f[k++] = F1(4, w[i].suf3);
    f[k++] = F1(5, w[i].suf4);
    f[k++] = F1(6, w[i].pre1);
    f[k++] = F1(7, w[i].pre3);
    f[k++] = F1(8, w[i].shape);
    f[k++] = F1(9, p1);
    f[k++] = F2(10, p1, p2);
    f[k++] = F2(11, p1, w[i].lw);
    f[k++] = F1(12, wm1);
    f[k++] = F1(13, w[i - 1].suf3);
    f[k++] = F1(14, wm2);
    f[k++] = F1(15, wp1);
    f[k++] = F1(16, w[i + 1].suf3);
    f[k++] = F1(17, wp2);
    f[k++] = F2(18, w[i].lw, wp1);
    f[k++] = F2(19, wm1, w[i].lw);
    f[k++] = F2(20, w[i].flags, i == 1);
    f[k++] = F1(21, w[i + 1].shape);
    f[k++] = F1(22, w[i - 1].shape);
    f[k++] = F2(23, p1, w[i].suf3);
    f[k++] = F2(24, w[i].shape, i == 1);
    f[k++] = F2(25, p1, wp1);
    f[k++] = F2(26, w[i].lw, w[i + 1].suf3);
    f[k++] = F3(27, w[i].flags & SYN_W_NAMEISH, i == 1, w[i + 1].flags & SYN_W_NAMEISH);
    f[k++] = F3(28, w[i].flags & SYN_W_NAMEISH, p1, w[i].suf3);
    return k;
}

size_t syn_upos_feats(const struct syn_sent *sent, size_t i, uint64_t *f)
{
    const struct syn_word *w = sent->w;
    const uint8_t *p = sent->xpos;
    size_t k = 0;

    f[k++] = F1(1, p[i]);
    f[k++] = F2(2, p[i], w[i].lw);
    f[k++] = F2(3, p[i], w[i].suf3);
    f[k++] = F2(4, p[i], p[i - 1]);
    f[k++] = F2(5, p[i], p[i + 1]);
    f[k++] = F2(6, p[i], w[i + 1].lw);
    f[k++] = F2(7, p[i], w[i - 1].lw);
    f[k++] = F3(8, p[i], p[i - 1], p[i + 1]);
    f[k++] = F1(9, w[i].lw);
    f[k++] = F2(10, p[i], w[i].shape);
    f[k++] = F2(11, p[i], w[i].pre1);
    f[k++] = F3(12, p[i], w[i].lw, w[i + 1].lw);
    f[k++] = F3(13, p[i], w[i - 1].lw, w[i].lw);
    f[k++] = F3(14, p[i], w[i].flags & SYN_W_NAMEISH, i == 1);
    return k;
}

/* ---- parser ----------------------------------------------------------------------------------- */

#define NONE_W 0x5bd1e995ull

void syn_prep(struct syn_sent *s)
{
    s->vw[0] = NONE_W;
    s->vp[0] = SYN_TAG_NONE;
    s->vwp[0] = NONE_W * 131 + SYN_TAG_NONE;
    for (size_t x = 0; x <= s->n + 1; x++) {
        s->vw[x + 1] = s->w[x].lw;
        s->vp[x + 1] = s->xpos[x];
        s->vwp[x + 1] = s->w[x].lw * 131 + s->xpos[x];
    }
}

/* word x (-1: none) as the parser's features see it (syn_prep): no branch for a missing word */
static inline uint64_t W(const struct syn_sent *s, int x)
{
    return s->vw[x + 1];
}
static inline uint64_t P(const struct syn_sent *s, int x)
{
    return s->vp[x + 1];
}
static inline uint64_t WP(const struct syn_sent *s, int x)
{
    return s->vwp[x + 1];
}
static inline uint64_t L(const struct syn_state *st, int x)
{
    return x <= 0 ? 0 : st->label[x];
}
static inline int child(const int16_t *c, int x)
{
    return x < 0 || c[x] <= 0 ? -1 : c[x];
}

size_t syn_move_feats(const struct syn_sent *s, const struct syn_state *st, uint64_t *f)
{
    int n = (int)s->n, sp = st->sp;
    int s0 = sp >= 1 ? st->stack[sp - 1] : -1, s1 = sp >= 2 ? st->stack[sp - 2] : -1;
    int s2 = sp >= 3 ? st->stack[sp - 3] : -1;
    int b0 = st->b <= n ? st->b : -1, b1 = st->b + 1 <= n ? st->b + 1 : -1;
    int b2 = st->b + 2 <= n ? st->b + 2 : -1;
    int s0l = child(st->lc1, s0), s0r = child(st->rc1, s0), s0l2 = child(st->lc2, s0);
    int s0r2 = child(st->rc2, s0), b0l = child(st->lc1, b0), b0l2 = child(st->lc2, b0);
    int s1l = child(st->lc1, s1), s1r = child(st->rc1, s1);
    uint64_t s0w = W(s, s0), s0p = P(s, s0), s0wp = WP(s, s0), b0w = W(s, b0), b0p = P(s, b0);
    uint64_t b0wp = WP(s, b0), s1w = W(s, s1), s1p = P(s, s1), s1wp = WP(s, s1);
    uint64_t d = s0 >= 0 && b0 >= 0 ? (uint64_t)(b0 - s0 < 8 ? b0 - s0 : 8 + (b0 - s0 >= 15)) : 0;
    uint64_t d2 = s1 >= 0 ? (uint64_t)(s0 - s1 < 8 ? s0 - s1 : 8 + (s0 - s1 >= 15)) : 0;
    uint64_t vr0 = s0 >= 0 ? st->nr[s0] : 0, vl0 = s0 >= 0 ? st->nl[s0] : 0;
    uint64_t vlb = b0 >= 0 ? st->nl[b0] : 0;
    size_t k = 0;

    /* one word */
    f[k++] = F1(1, s0wp);
    f[k++] = F1(2, s0w);
    f[k++] = F1(3, s0p);
    f[k++] = F1(4, b0wp);
    f[k++] = F1(5, b0w);
    f[k++] = F1(6, b0p);
    f[k++] = F1(7, WP(s, b1));
    f[k++] = F1(8, W(s, b1));
    f[k++] = F1(9, P(s, b1));
    f[k++] = F1(10, WP(s, b2));
    f[k++] = F1(11, s1wp);
    f[k++] = F1(12, s1w);
    f[k++] = F1(13, s1p);
    f[k++] = F1(14, P(s, s2));
    /* two words */
    f[k++] = F2(15, s0wp, b0wp);
    f[k++] = F2(16, s0wp, b0w);
    f[k++] = F2(17, s0w, b0wp);
    f[k++] = F2(18, s0wp, b0p);
    f[k++] = F2(19, s0p, b0wp);
    f[k++] = F2(20, s0w, b0w);
    f[k++] = F2(21, s0p, b0p);
    f[k++] = F2(22, b0p, P(s, b1));
    f[k++] = F2(23, s1wp, s0wp);
    f[k++] = F2(24, s1w, s0w);
    f[k++] = F2(25, s1p, s0p);
    f[k++] = F2(26, s1p, s0w);
    f[k++] = F2(27, s1w, s0p);
    f[k++] = F2(28, s1p, b0p);
    /* three words */
    f[k++] = F3(29, b0p, P(s, b1), P(s, b2));
    f[k++] = F3(30, s0p, b0p, P(s, b1));
    f[k++] = F3(31, s1p, s0p, b0p);
    f[k++] = F3(32, s0p, P(s, s0l), b0p);
    f[k++] = F3(33, s0p, P(s, s0r), b0p);
    f[k++] = F3(34, s0p, b0p, P(s, b0l));
    f[k++] = F3(35, s1p, s0p, P(s, s0l));
    f[k++] = F3(36, s1p, s0p, P(s, s0r));
    f[k++] = F3(37, s1p, P(s, s1r), s0p);
    f[k++] = F3(38, P(s, s2), s1p, s0p);
    f[k++] = F3(39, s1p, P(s, s1l), s0p);
    /* distance */
    f[k++] = F2(40, s0w, d);
    f[k++] = F2(41, s0p, d);
    f[k++] = F2(42, b0w, d);
    f[k++] = F2(43, b0p, d);
    f[k++] = F3(44, s0w, b0w, d);
    f[k++] = F3(45, s0p, b0p, d);
    f[k++] = F3(46, s1p, s0p, d2);
    f[k++] = F3(47, s1w, s0w, d2);
    /* valency */
    f[k++] = F2(48, s0w, vr0);
    f[k++] = F2(49, s0p, vr0);
    f[k++] = F2(50, s0w, vl0);
    f[k++] = F2(51, s0p, vl0);
    f[k++] = F2(52, b0w, vlb);
    f[k++] = F2(53, b0p, vlb);
    f[k++] = F3(54, s1p, s1 >= 0 ? st->nr[s1] : 0, s1 >= 0 ? st->nl[s1] : 0);
    /* children */
    f[k++] = F1(55, W(s, s0l));
    f[k++] = F2(56, P(s, s0l), L(st, s0l));
    f[k++] = F1(57, W(s, s0r));
    f[k++] = F2(58, P(s, s0r), L(st, s0r));
    f[k++] = F1(59, W(s, b0l));
    f[k++] = F2(60, P(s, b0l), L(st, b0l));
    f[k++] = F2(61, P(s, s1r), L(st, s1r));
    f[k++] = F2(62, P(s, s1l), L(st, s1l));
    f[k++] = F2(63, P(s, s0l2), L(st, s0l2));
    f[k++] = F2(64, P(s, s0r2), L(st, s0r2));
    f[k++] = F2(65, P(s, b0l2), L(st, b0l2));
    f[k++] = F3(66, s0p, P(s, s0l), P(s, s0l2));
    f[k++] = F3(67, s0p, P(s, s0r), P(s, s0r2));
    f[k++] = F3(68, b0p, P(s, b0l), P(s, b0l2));
    f[k++] = F3(69, s0p, L(st, s0l), L(st, s0r));
    f[k++] = F3(70, b0p, s0p, L(st, b0l));
    /* label sets */
    f[k++] = F2(71, s0w, s0 >= 0 ? st->rset[s0] : 0);
    f[k++] = F2(72, s0p, s0 >= 0 ? st->rset[s0] : 0);
    f[k++] = F2(73, s0w, s0 >= 0 ? st->lset[s0] : 0);
    f[k++] = F2(74, s0p, s0 >= 0 ? st->lset[s0] : 0);
    f[k++] = F2(75, b0w, b0 >= 0 ? st->lset[b0] : 0);
    f[k++] = F2(76, b0p, b0 >= 0 ? st->lset[b0] : 0);
    f[k++] = F3(77, s1p, s1 >= 0 ? st->rset[s1] : 0, s0p);
    /* punctuation and sentence end ahead */
    f[k++] = F3(78, s0p, b0p, b0 < 0 ? 0 : (uint64_t)(n - b0 < 4 ? n - b0 : 4));
    return k;
}

size_t syn_label_feats(const struct syn_sent *s, const struct syn_state *st, int h, int d,
                       uint64_t *f)
{
    uint64_t dir = h > d ? 1 : 2, dist = (uint64_t)(h > d ? h - d : d - h);
    uint64_t hw = W(s, h), hp = P(s, h), dw = W(s, d), dp = P(s, d);
    int dl = child(st->lc1, d), dr = child(st->rc1, d), dl2 = child(st->lc2, d);
    uint64_t hset = h > d ? st->lset[h] : st->rset[h];
    size_t k = 0;

    if (dist > 6)
        dist = 6 + (dist > 12);
    f[k++] = F2(1, hw, dir);
    f[k++] = F2(2, hp, dir);
    f[k++] = F2(3, dw, dir);
    f[k++] = F2(4, dp, dir);
    f[k++] = F3(5, hp, dp, dir);
    f[k++] = F3(6, hw, dp, dir);
    f[k++] = F3(7, hp, dw, dir);
    f[k++] = F3(8, hw, dw, dir);
    f[k++] = F3(9, hp * 131 + dp, dist, dir);
    f[k++] = F3(10, dp, st->lset[d], st->rset[d]);
    f[k++] = F3(11, dp, L(st, dl), L(st, dr));
    f[k++] = F3(12, dp, P(s, dl), hp);
    f[k++] = F3(13, dp, P(s, dr), hp);
    f[k++] = F3(14, hp, hset, dir);
    f[k++] = F3(15, dp, P(s, d - 1), P(s, d + 1 <= (int)s->n ? d + 1 : -1));
    f[k++] = F3(16, hp, P(s, h - 1), P(s, h + 1 <= (int)s->n ? h + 1 : -1));
    f[k++] = F3(17, W(s, dl), dp, hp);
    f[k++] = F2(18, W(s, dl), hp * 3 + dir);
    f[k++] = F3(19, W(s, dl2), dp, hp);
    f[k++] = F3(20, dw, hp, dir);
    f[k++] = F3(21, W(s, dl), dw, dir);
    f[k++] = F3(22, dp, s->upos[d], s->upos[h]);
    f[k++] = F3(23, hw, W(s, dl), dir);
    f[k++] = F3(24, dp, hp, (uint64_t)st->nl[h] * 16 + st->nr[h]);
    return k;
}
