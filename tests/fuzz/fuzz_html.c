/* libFuzzer harness: article extraction and the HTML-fragment-to-text helper. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_article art;
    char errstr[512];
    char *text;

    if (nd_html_extract((const char *)data, size, NULL, &art, errstr, sizeof(errstr)) == ND_OK) {
        if (!art.text)
            abort();
        check_utf8(art.text);
        check_utf8(art.headline);
        check_utf8(art.byline);
    }
    nd_article_free(&art);

    text = nd_html_to_text((const char *)data, size);
    free(text);
    return 0;
}
