/* Feed definitions come from a Kafka topic (cluster.feeds_topic) that anything with write access
 * can fill: any key and value must be rejected with a reason or accepted, never crash, and an
 * accepted feed must encode to a record that parses to the same feed. The first byte of the input
 * sets the key's length (0: the key "f"). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static int same(const struct nd_feed_conf *a, const struct nd_feed_conf *b)
{
    if (strcmp(a->id, b->id) || strcmp(a->url, b->url) || strcmp(a->format, b->format) ||
        a->interval_s != b->interval_s || a->fulltext != b->fulltext || a->nheaders != b->nheaders)
        return 0;
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i].key, b->headers[i].key) ||
            strcmp(a->headers[i].value, b->headers[i].value))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nd_feed_conf feed, again, copy;
    const char *key = "f";
    size_t keylen = 1;
    char errstr[512] = "";

    if (size < 1)
        return 0;
    if (data[0] && (size_t)data[0] < size) {
        key = (const char *)data + 1;
        keylen = data[0];
        data += keylen;
        size -= keylen;
    }
    data++;
    size--;
    if (nd_config_feed_from_json(key, keylen, (const char *)data, size, &feed, errstr,
                                 sizeof(errstr)) != ND_OK) {
        if (!errstr[0])
            __builtin_trap(); /* a rejection always says why */
        return 0;
    }
    {
        json_t *doc = nd_config_feed_to_json(&feed);
        char *text = json_dumps(doc, JSON_COMPACT);
        if (nd_config_feed_from_json(feed.id, strlen(feed.id), text, strlen(text), &again, errstr,
                                     sizeof(errstr)) != ND_OK ||
            !same(&feed, &again))
            __builtin_trap();
        free(text);
        json_decref(doc);
    }
    nd_config_feed_copy(&copy, &feed);
    if (!same(&feed, &copy))
        __builtin_trap();
    nd_config_feed_clear(&copy);
    nd_config_feed_clear(&again);
    nd_config_feed_clear(&feed);
    return 0;
}
