/* Tokeniser, normaliser and KB token hashing on arbitrary bytes: tokens must lie inside the input,
 * in order, non-empty, capped in length; sentences must cover the tokens exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/enrich.h"
#include "enrich/kb.h"
#include "enrich/tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_tokens toks;
    char *text = malloc(size + 1), *norm;
    size_t covered = 0;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (nd_tokenize(text, size, &toks) == ND_OK) {
        for (size_t i = 0; i < toks.ntokens; i++) {
            const struct nd_token *t = &toks.tokens[i];
            if (t->start >= t->end || t->end > size || t->end - t->start > ND_TOKEN_MAX_BYTES + 4 ||
                (i && t->start < toks.tokens[i - 1].end))
                abort();
            (void)nd_kb_tokhash(text + t->start, t->end - t->start);
        }
        for (size_t s = 0; s < toks.nsentences; s++) {
            if (toks.sentences[s].first != covered || !toks.sentences[s].count)
                abort();
            covered += toks.sentences[s].count;
        }
        if (covered != toks.ntokens)
            abort();
        nd_tokens_free(&toks);
    }
    norm = nd_text_normalize(text, (int)(size & 1));
    if (!norm)
        abort();
    /* normalised text is valid UTF-8 and tokenises */
    if (nd_tokenize(norm, strlen(norm), &toks) == ND_OK)
        nd_tokens_free(&toks);
    free(norm);
    free(text);
    return 0;
}
