/* libFuzzer harness: feed dates. An accepted date must lie in the window the parser promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795910400 /* 2026-11-29T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = nd_strndup((const char *)data, size);
    const char *why = NULL;
    int64_t t = nd_parse_date_at(text, NOW, &why);
    /* accepted: from 1980 (local time, so up to 14 h earlier in UTC) to a day ahead; rejected: always
     * with a reason */
    if (t && (t < 315532800 - 14 * 3600 || t > NOW + 86400))
        abort();
    if (!t && !why)
        abort();
    free(text);
    return 0;
}
