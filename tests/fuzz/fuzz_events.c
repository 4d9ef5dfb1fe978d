/* libFuzzer harness: the event coder and topic assignment on arbitrary bytes must never crash, leak
 * or read out of bounds; what comes back must be a JSON array that encodes. Models load once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/events.h"
#include "enrich/topics.h"

static struct nd_events *events;
static struct nd_topics *topics;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char errstr[256];
    (void)argc;
    (void)argv;
    events = nd_events_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr));
    topics = nd_topics_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr));
    if (!events || !topics) {
        fprintf(stderr, "fuzz_events: %s\n", errstr);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the coder takes a length, not a C string: no NUL is added, so reads past `size` show up */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct nd_event_list list = {0};
    nd_events_code_list(events, text, size, NULL, 0, &list);
    json_t *evs = nd_event_list_to_json(&list);
    if (!json_is_array(evs) || json_array_size(evs) != list.n)
        abort();
    /* the encoded events must dump (json_dumps refuses invalid UTF-8) */
    char *dumped = json_dumps(evs, JSON_COMPACT);
    if (!dumped)
        abort();
    free(dumped);
    json_t *subject = nd_topics_assign(topics, NULL, text, size, &list);
    if (!json_is_array(subject))
        abort();
    json_decref(subject);
    json_decref(evs);
    nd_event_list_clear(&list);
    free(text);
    return 0;
}
