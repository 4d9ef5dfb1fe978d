/* Feed state comes back from a Kafka topic at start: whatever bytes are there must be rejected or
 * imported, never crash, and an imported state must export again. */
#include <stddef.h>
#include <stdint.h>

#include "fetch/fetch.h"

static struct nd_config *conf;
static struct nd_fetch *fetch;

static enum nd_err emit(void *opaque, struct nd_story *story)
{
    (void)opaque;
    nd_story_destroy(story);
    return ND_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *state;
    if (!fetch) {
        nd_log_set_level(ND_LOG_OFF);
        conf = nd_config_new();
        conf->fetch_recent_ids = 64;
        nd_config_add_feed(conf, "f", "http://127.0.0.1:9/feed.xml", 60);
        fetch = nd_fetch_new(conf, emit, NULL);
    }
    state = json_loadb((const char *)data, size, 0, NULL);
    if (state && nd_fetch_state_import(fetch, "f", state) == ND_OK) {
        json_t *again = nd_fetch_state_export(fetch, 0);
        if (nd_fetch_state_import(fetch, "f", again) != ND_OK)
            __builtin_trap();
        json_decref(again);
    }
    json_decref(state);
    return 0;
}
