/* `newsd enrich` input: arbitrary bytes as JSON story lines or plain text go through the whole
 * enrich stage with the shipped models. Output must be one JSON object per story with an entities
 * array; nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/enrich.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nd_enrich *enrich;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/newsd-fuzz-enrich-XXXXXX", *out = NULL;
    size_t outlen = 0;
    FILE *os, *es;
    int fd;

    if (!enrich) {
        char errstr[512];
        if (!(enrich = nd_enrich_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr)))) {
            fprintf(stderr, "fuzz_enrich_json: %s\n", errstr);
            abort();
        }
    }
    if ((fd = mkstemp(path)) < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    os = open_memstream(&out, &outlen);
    es = fopen("/dev/null", "w");
    nd_enrich_file(enrich, path, os, es);
    fclose(os);
    fclose(es);
    /* every output line is a story object with an entities array */
    for (char *line = out, *nl; line && *line; line = nl + 1) {
        json_error_t jerr;
        json_t *obj;
        if (!(nl = strchr(line, '\n')))
            abort();
        if (!(obj = json_loadb(line, (size_t)(nl - line), 0, &jerr)) ||
            !json_is_array(json_object_get(obj, "entities")))
            abort();
        json_decref(obj);
    }
    free(out);
    unlink(path);
    return 0;
}
