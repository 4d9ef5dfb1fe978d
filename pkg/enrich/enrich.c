#include "enrich/enrich.h"

#include <stdlib.h>

struct nd_enrich {
    char *models_dir;
};

struct nd_enrich *nd_enrich_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_enrich *enrich = nd_xcalloc(1, sizeof(*enrich));
    (void)errstr;
    (void)errsz;
    enrich->models_dir = nd_strdup(models_dir);
    return enrich;
}

void nd_enrich_destroy(struct nd_enrich *enrich)
{
    if (!enrich)
        return;
    free(enrich->models_dir);
    free(enrich);
}

enum nd_err nd_enrich_story(const struct nd_enrich *enrich, struct nd_story *story)
{
    (void)enrich;
    nd_enrich_text(story);
    story->enriched_at_ms = nd_now_ms();
    return ND_OK;
}
