/* tokenize: newswire tokeniser and sentence splitter over UTF-8 text, with byte offsets.
 *
 * Handles abbreviations (U.S., U.N., Gov., Jan.), initials ("J. R. Smith"), decimals and
 * percentages
 * ("3.5%", "1,200"), quotes (straight and typographic), ellipses ("..." and "…"), dashes,
 * hyphenated names ("Saint-Denis"). Invalid UTF-8 bytes are kept inside tokens, never read past the
 * end. Pure functions: no state, safe from any thread. */
#ifndef ND_TOKENIZE_H
#define ND_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Token flags. */
#define ND_TOK_SENT_START 0x01u /* first token of a sentence */
#define ND_TOK_PUNCT 0x02u      /* punctuation only (quotes, dashes, ellipsis, brackets) */
#define ND_TOK_NUMBER 0x04u     /* starts with a digit: 12, 3.5, 1,200, 40% */
#define ND_TOK_ABBREV 0x08u     /* ends with a period that belongs to it (U.S., Gov., J.) */
#define ND_TOK_QUOTE 0x10u      /* a quotation mark, opening or closing */
#define ND_TOK_UPPER 0x20u      /* first letter upper case */
#define ND_TOK_ALLCAPS 0x40u    /* all letters upper case (at least two letters) */
#define ND_TOK_NEWLINE 0x80u    /* a line break precedes this token (paragraph boundary) */
#define ND_TOK_TITLE 0x100u     /* an abbreviation that never ends a sentence: Mr., Gov., J. */
/* the splitter's rules would start a sentence here; ND_TOK_SENT_START is the learned classifier's
 * decision, which weighs this among its evidence (sentsplit.h) */
#define ND_TOK_RULE_START 0x200u

struct nd_token {
    uint32_t start, end; /* byte offsets into the text: [start, end) */
    uint32_t flags;
};

struct nd_sentence {
    uint32_t first, count; /* token range: tokens[first .. first+count) */
    uint32_t start, end;   /* byte offsets of the sentence's first and past-last token */
};

struct nd_tokens {
    struct nd_token *tokens;
    size_t ntokens;
    struct nd_sentence *sentences;
    size_t nsentences;
};

/* Caps: text longer than ND_TOKENIZE_MAX_BYTES is refused with ND_ERR_TOOBIG, a token is cut at
 * ND_TOKEN_MAX_BYTES (the rest starts a new token) so one giant "word" cannot blow feature buffers.
 */
#define ND_TOKENIZE_MAX_BYTES (64u << 20)
#define ND_TOKEN_MAX_BYTES 256u

/* Tokenise text[0..len) into *out (zeroed first; caller frees with nd_tokens_free). */
enum nd_err nd_tokenize(const char *text, size_t len, struct nd_tokens *out);
void nd_tokens_free(struct nd_tokens *toks);

/* Count UTF-8 characters (code points: bytes that are not continuation bytes) in text[0..len). Used
 * to turn byte offsets into the character offsets published in JSON; exact for valid UTF-8, which
 * the text stage guarantees for body_text and headline. */
size_t nd_utf8_chars(const char *text, size_t len);

#endif
