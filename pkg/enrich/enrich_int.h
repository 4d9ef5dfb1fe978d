/* Inside the enrich module: what a loaded nd_enrich holds. Not for other modules. */
#ifndef ND_ENRICH_INT_H
#define ND_ENRICH_INT_H

#include "enrich/enrich.h"
#include "enrich/kb.h"
#include "enrich/syntax.h"
#include "enrich/tagger.h"

struct nd_enrich {
    char *models_dir;
    struct nd_kb *kb;           /* models/kb.tsv */
    struct nd_tagger *tagger;   /* models/ner.bin */
    struct nd_events *events;   /* models/events.model */
    struct nd_topics *topics;   /* models/topics.model, models/iptc_mediatopics.tsv */
    double min_confidence;      /* events.min_confidence */
    struct nd_syntax *syntax;   /* models/syntax.bin */
};

#endif
