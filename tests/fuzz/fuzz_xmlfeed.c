/* libFuzzer harness: the xmlfeed parser, through charset decoding as nd_parse_feed does it, then the
 * format module directly (so inputs that probe as another format still reach it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "parse/parse_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_parse_opts opts = {.feed_id = "fuzz", .base_url = "http://fuzz.example/feed/", .max_items = 200};
    struct nd_parse_result res;
    char errstr[512];
    size_t ulen;
    char *utf8;

    memset(&res, 0, sizeof(res));
    utf8 = nd_charset_to_utf8((const char *)data, size, NULL, &ulen, &res);
    if (nd_parse_xml_feed(utf8, ulen, &opts, &res, errstr, sizeof(errstr)) == ND_OK)
        check_result(&res);
    else if (!memchr(errstr, '\0', sizeof(errstr)) || strchr(errstr, '\n'))
        abort();
    nd_parse_result_free(&res);
    free(utf8);

    /* and the whole front door, probe included */
    if (nd_parse_feed((const char *)data, size, &opts, &res, errstr, sizeof(errstr)) == ND_OK)
        check_result(&res);
    nd_parse_result_free(&res);
    return 0;
}
