/* Helpers shared by the alert unit tests: enriched stories from tests/fixtures/alerts/ and desks
 * from YAML through the real config loader. */
#ifndef ND_TEST_ALERT_HELPERS_H
#define ND_TEST_ALERT_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"
#include "config/config.h"

/* A story as the enrich stage will hand it over: the fixture's entities, events and subject become
 * its annotations. */
static inline struct nd_story *fixture_story(const char *name)
{
    char path[1024], errstr[256];
    json_error_t jerr;
    json_t *doc;
    struct nd_story *story;
    static const char *const keys[] = {"entities", "events", "subject", NULL};

    snprintf(path, sizeof(path), "%s/alerts/%s.json", NEWSD_FIXTURES, name);
    doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        abort();
    }
    story = nd_story_from_json(doc, errstr, sizeof(errstr));
    if (!story)
        abort();
    for (int i = 0; keys[i]; i++)
        if (json_object_get(doc, keys[i]))
            nd_story_keep_annotation(story, keys[i], json_object_get(doc, keys[i]));
    json_decref(doc);
    return story;
}

/* Desks from a YAML text; NULL when it has errors (written to errors, may be NULL). */
static inline struct nd_desks *desks_from_yaml(const char *yaml, FILE *errors, int *nerr)
{
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks = NULL;
    *nerr = nd_config_load_string(conf, yaml, strlen(yaml), "test.yaml", errors);
    if (!*nerr)
        desks = nd_desks_load(conf->desks, NULL, errors, nerr);
    nd_config_destroy(conf);
    return desks;
}

static inline struct nd_desks *fixture_desks(void)
{
    char path[1024], *data;
    size_t len;
    int nerr = 0;
    struct nd_desks *desks;
    snprintf(path, sizeof(path), "%s/alerts/desks.yaml", NEWSD_FIXTURES);
    if (nd_file_read(path, 1 << 20, &data, &len) != ND_OK)
        abort();
    desks = desks_from_yaml(data, stderr, &nerr);
    free(data);
    if (!desks)
        abort();
    return desks;
}

/* The desks an alert array went to, sorted, as "a,b,c". */
static inline void alert_desks(const json_t *alerts, char *out, size_t outsz)
{
    const char *names[64];
    size_t n = 0, i;
    json_t *a;
    out[0] = '\0';
    json_array_foreach(alerts, i, a)
    {
        if (n < 64)
            names[n++] = json_string_value(json_object_get(a, "desk"));
    }
    for (i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (i = 0; i < n; i++)
        snprintf(out + strlen(out), outsz - strlen(out), "%s%s", i ? "," : "", names[i]);
}

#endif
