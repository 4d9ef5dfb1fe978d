/* libFuzzer harness: the xmlfeed parser, through charset decoding as nd_parse_feed does it, then the
 * format module directly (so inputs that probe as another format still reach it). */
#include <stdint.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_format(data, size, nd_parse_xml_feed);
}
