#include "enrich/enrich.h"

#include <stdlib.h>
#include <string.h>

#include "enrich/events.h"
#include "enrich/topics.h"

struct nd_enrich {
    char *models_dir;
    struct nd_events *events;
    struct nd_topics *topics;
};

struct nd_enrich *nd_enrich_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_enrich *enrich = nd_xcalloc(1, sizeof(*enrich));
    enrich->models_dir = nd_strdup(models_dir);
    enrich->events = nd_events_new(models_dir, errstr, errsz);
    enrich->topics = enrich->events ? nd_topics_new(models_dir, errstr, errsz) : NULL;
    if (!enrich->topics) {
        nd_enrich_destroy(enrich);
        return NULL;
    }
    return enrich;
}

void nd_enrich_destroy(struct nd_enrich *enrich)
{
    if (!enrich)
        return;
    nd_events_destroy(enrich->events);
    nd_topics_destroy(enrich->topics);
    free(enrich->models_dir);
    free(enrich);
}

enum nd_err nd_enrich_story(const struct nd_enrich *enrich, struct nd_story *story)
{
    nd_enrich_text(story);
    if (story->body_text) {
        size_t len = strlen(story->body_text);
        json_t *events = nd_events_code(enrich->events, story->body_text, len, NULL, 0);
        if (!story->annotations)
            story->annotations = json_object();
        json_object_set_new(story->annotations, "subject",
                            nd_topics_assign(enrich->topics, story->body_text, len, events));
        json_object_set_new(story->annotations, "events", events);
    }
    story->enriched_at_ms = nd_now_ms();
    return ND_OK;
}
