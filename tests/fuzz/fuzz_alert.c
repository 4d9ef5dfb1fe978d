/* libFuzzer harness: an enriched story (news.stories.v1 JSON with entities, events, subject)
 * through the alert stage, twice (the second time it is its own copy). Odd annotations must never
 * crash it, every alert must encode, and the story must come out with its dedup annotation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char desks_yaml[] =
    "desks:\n"
    " - name: asia\n   match: {any: [{countries: [CHN, JPN]}, {entities: [Q15031]}]}\n"
    " - name: pair\n   match: {all: [{countries_all: [USA, CHN]}]}\n"
    " - name: hot\n   match: {any: [{events: [ACCUSE, '17'], min_intensity: 4}]}\n"
    "   priority: {min: URGENT}\n"
    " - name: words\n   match: {any: [{keywords: [sanctions, trade war], feeds: [fuzz]}], "
    "none: [{topics: [sport]}]}\n";

static struct nd_alert *stage(void)
{
    static struct nd_alert *alert;
    if (!alert) {
        /* small bounds: state carries over between inputs, memory must not */
        struct nd_alert_opts opts = {.window_ms = 3600000,
                                     .dedup_distance = 6,
                                     .dedup_capacity = 256,
                                     .developments_max = 256,
                                     .corroboration = 3,
                                     .escalate_intensity = 2};
        struct nd_config *conf = nd_config_new();
        int nerr = nd_config_load_string(conf, desks_yaml, sizeof(desks_yaml) - 1, "fuzz", NULL);
        alert = nd_alert_new(&opts);
        nd_alert_set_desks(alert, nd_desks_load(conf->desks, NULL, NULL, &nerr));
        nd_config_destroy(conf);
        if (nerr)
            abort();
    }
    return alert;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int64_t now = 1795900000000LL;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr), *alerts, *a;
    static const char *const keys[] = {"entities", "events", "subject", NULL};
    char errstr[256];
    struct nd_story *story;
    size_t i;

    if (!doc)
        return 0;
    story = nd_story_from_json(doc, errstr, sizeof(errstr));
    if (story) {
        nd_story_set(&story->feed_id, "fuzz");
        for (int k = 0; keys[k]; k++)
            if (json_object_get(doc, keys[k]))
                nd_story_keep_annotation(story, keys[k], json_object_get(doc, keys[k]));
        for (int round = 0; round < 2; round++) {
            alerts = nd_alert_story(stage(), story, now += 1000);
            json_array_foreach(alerts, i, a)
            {
                char *text = json_dumps(a, JSON_COMPACT);
                if (!text || !json_string_value(json_object_get(a, "why")))
                    abort();
                free(text);
                text = nd_alert_text(a);
                free(text);
            }
            if (round == 1 && json_array_size(alerts))
                abort(); /* the same story again is never news */
            json_decref(alerts);
            if (!json_is_object(json_object_get(story->annotations, "dedup")))
                abort();
        }
        nd_story_destroy(story);
    }
    json_decref(doc);
    return 0;
}
