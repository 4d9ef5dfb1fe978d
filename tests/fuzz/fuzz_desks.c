/* libFuzzer harness: a config file's `desks:` section through the YAML loader and desk validation.
 * Whatever the input, loading ends with either desks or errors, never a crash or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert/alert.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks;
    FILE *sink = fopen("/dev/null", "w");
    int nerr = 0;

    nd_config_load_string(conf, (const char *)data, size, "fuzz.yaml", sink);
    desks = nd_desks_load(conf->desks, NULL, sink, &nerr);
    /* desks exactly when there was no error in them */
    if ((desks == NULL) != (nerr > 0))
        abort();
    nd_desks_destroy(desks);
    nd_config_destroy(conf);
    fclose(sink);
    return 0;
}
