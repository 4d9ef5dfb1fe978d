/* libFuzzer harness of the config loader: any bytes as a YAML config file. The loader must report
 * errors, never crash, leak or run for ever (aliases), and leave a config that can be compared and
 * freed. Seeds: tests/fuzz/corpus/config/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_config *conf = nd_config_new();
    struct nd_config *defaults = nd_config_new();
    FILE *sink = fopen("/dev/null", "w");
    char key[128];

    nd_config_load_string(conf, (const char *)data, size, "fuzz.yaml", sink);
    nd_config_restart_needed(defaults, conf, key, sizeof(key));
    if (sink)
        fclose(sink);
    nd_config_destroy(defaults);
    nd_config_destroy(conf);
    return 0;
}
