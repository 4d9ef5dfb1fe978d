/* Developments and escalation through the whole alert stage: the same development from three feeds
 * (an original, a copy, a rewrite), then an escalation, then an unrelated story; each desk gets
 * exactly the alerts it should; the state survives a restart through the alerts themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert_helpers.h"

#define T0 1795900000000LL
#define MIN 60000LL
#define HOUR 3600000LL

static struct nd_alert *stage(void)
{
    struct nd_alert_opts opts = {.window_ms = 24 * HOUR,
                                 .dedup_distance = 6,
                                 .dedup_capacity = 1000,
                                 .developments_max = 1000,
                                 .corroboration = 3,
                                 .escalate_intensity = 2};
    struct nd_alert *alert = nd_alert_new(&opts);
    nd_alert_set_desks(alert, fixture_desks());
    return alert;
}

/* Run a fixture story; returns its alerts and (optionally) keeps its dedup annotation. */
static json_t *run(struct nd_alert *alert, const char *name, int64_t t, json_t **dedup)
{
    struct nd_story *story = fixture_story(name);
    json_t *alerts = nd_alert_story(alert, story, t);
    if (dedup)
        *dedup = json_incref(json_object_get(story->annotations, "dedup"));
    nd_story_destroy(story);
    return alerts;
}

static const char *sget(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const json_t *for_desk(const json_t *alerts, const char *desk)
{
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (!strcmp(sget(a, "desk"), desk))
            return a;
    }
    fail_msg("no alert for desk %s", desk);
    return NULL;
}

static void test_one_development_alerts_once_then_on_escalation(void **state)
{
    struct nd_alert *alert = stage();
    json_t *alerts, *dedup_a, *dedup, *all = json_array();
    char desks[256];
    const json_t *a;
    const char *dev;
    (void)state;

    /* 1: the original: a new development for the desks that cover China and the US-China pair */
    alerts = run(alert, "talks-a", T0, &dedup_a);
    alert_desks(alerts, desks, sizeof(desks));
    assert_string_equal(desks, "asia-pacific,us-china");
    assert_true(json_is_true(json_object_get(dedup_a, "is_new_development")));
    assert_true(json_is_null(json_object_get(dedup_a, "duplicate_of")));
    dev = sget(dedup_a, "development_id");
    a = for_desk(alerts, "asia-pacific");
    assert_string_equal(sget(a, "kind"), "new_development");
    assert_string_equal(sget(a, "priority"), "URGENT"); /* foreign ministers */
    assert_string_equal(sget(json_object_get(a, "development"), "id"), dev);
    /* the sentence says what the CAMEO code says, names both sides and quotes the story */
    assert_non_null(strstr(sget(a, "why"),
                           "Asia-Pacific: new development — United States consulted with China "
                           "(CONSULT, CAMEO 040): \"BEIJING (Reuters) - Secretary of State Antony "
                           "Blinken met Chinese Foreign Minist\"; foreign " /* the fixture's span */
                           "ministers involved; 1 source."));
    assert_non_null(strstr(sget(a, "why"), "Matched on China"));
    assert_int_equal(json_array_size(json_object_get(a, "events")), 1);
    assert_true(json_array_size(json_object_get(a, "entities")) >= 2); /* the two ministers */
    json_array_extend(all, alerts);
    json_decref(alerts);

    /* 2: a copy from another feed: linked, no alert anywhere */
    alerts = run(alert, "talks-b-copy", T0 + MIN, &dedup);
    assert_int_equal(json_array_size(alerts), 0);
    assert_string_equal(sget(dedup, "duplicate_of"), "a000000000000001");
    assert_string_equal(sget(dedup, "development_id"), dev);
    assert_false(json_is_true(json_object_get(dedup, "is_new_development")));
    json_decref(dedup);
    json_decref(alerts);

    /* 3: a rewrite from a third feed: not a copy, same development; the third source crosses the
     * corroboration threshold, which is news once */
    alerts = run(alert, "talks-c-rewrite", T0 + 2 * MIN, &dedup);
    assert_true(json_is_null(json_object_get(dedup, "duplicate_of")));
    assert_string_equal(sget(dedup, "development_id"), dev);
    json_decref(dedup);
    alert_desks(alerts, desks, sizeof(desks));
    assert_string_equal(desks, "asia-pacific,us-china");
    a = for_desk(alerts, "us-china");
    assert_string_equal(sget(a, "kind"), "escalation");
    assert_non_null(strstr(sget(a, "why"), "corroborated by 3 sources"));
    json_array_extend(all, alerts);
    json_decref(alerts);

    /* the same rewrite again: nothing new */
    alerts = run(alert, "talks-c-rewrite", T0 + 3 * MIN, NULL);
    assert_int_equal(json_array_size(alerts), 0);
    json_decref(alerts);

    /* 4: escalation: an accusation by a head of state, much stronger intensity */
    alerts = run(alert, "escalation", T0 + HOUR, &dedup);
    assert_string_equal(sget(dedup, "development_id"), dev);
    json_decref(dedup);
    alert_desks(alerts, desks, sizeof(desks));
    assert_string_equal(desks, "asia-pacific,conflict,us-china");
    a = for_desk(alerts, "asia-pacific");
    assert_string_equal(sget(a, "kind"), "escalation");
    assert_non_null(strstr(sget(a, "why"), "China accused United States (ACCUSE, CAMEO 112): \""));
    assert_non_null(strstr(sget(a, "why"), "new event type ACCUSE"));
    assert_non_null(strstr(sget(a, "why"), "intensity -5.0, was 1.0"));
    assert_non_null(strstr(sget(a, "why"), "heads of state now involved"));
    /* the conflict desk never heard of it: for that desk it is a new development */
    assert_string_equal(sget(for_desk(alerts, "conflict"), "kind"), "new_development");
    json_array_extend(all, alerts);
    json_decref(alerts);

    /* 5: unrelated: Europe only, a development of its own */
    alerts = run(alert, "unrelated", T0 + HOUR + MIN, &dedup);
    alert_desks(alerts, desks, sizeof(desks));
    assert_string_equal(desks, "europe");
    assert_string_not_equal(sget(dedup, "development_id"), dev);
    assert_true(json_is_true(json_object_get(dedup, "is_new_development")));
    json_decref(dedup);
    json_array_extend(all, alerts);
    json_decref(alerts);

    /* 6: past the window the same actors and kind open a new development */
    alerts = run(alert, "talks-c-rewrite", T0 + HOUR + 25 * HOUR, &dedup);
    alert_desks(alerts, desks, sizeof(desks));
    assert_string_equal(desks, "asia-pacific,us-china");
    assert_string_not_equal(sget(dedup, "development_id"), dev);
    json_decref(dedup);
    json_decref(alerts);

    /* restart: a new stage rebuilt from the alerts sent up to step 5 */
    {
        struct nd_alert *again = stage();
        size_t i;
        json_t *doc;
        struct nd_alert_stats stats;
        json_array_foreach(all, i, doc) nd_alert_restore_record(again, doc, T0 + 2 * HOUR);
        nd_alert_get_stats(again, &stats);
        assert_int_equal(stats.restored, json_array_size(all));
        /* the copy fetched again after the restart: still a copy, still silent */
        alerts = run(again, "talks-b-copy", T0 + 2 * HOUR, &dedup);
        assert_int_equal(json_array_size(alerts), 0);
        assert_string_equal(sget(dedup, "development_id"), dev);
        json_decref(dedup);
        json_decref(alerts);
        /* the escalation fetched again: every desk already heard of it */
        alerts = run(again, "escalation", T0 + 2 * HOUR, NULL);
        assert_int_equal(json_array_size(alerts), 0);
        json_decref(alerts);
        alerts = run(again, "unrelated", T0 + 2 * HOUR, NULL);
        assert_int_equal(json_array_size(alerts), 0);
        json_decref(alerts);
        nd_alert_destroy(again);
    }
    json_decref(all);
    json_decref(dedup_a);
    nd_alert_destroy(alert);
}

static void test_desk_swap_and_no_desks(void **state)
{
    struct nd_alert_opts opts = {.window_ms = HOUR,
                                 .dedup_distance = 6,
                                 .dedup_capacity = 100,
                                 .developments_max = 100,
                                 .corroboration = 3,
                                 .escalate_intensity = 2};
    struct nd_alert *alert = nd_alert_new(&opts);
    json_t *alerts, *dedup;
    (void)state;
    /* no desks: the story is still fingerprinted and filed under a development */
    alerts = run(alert, "talks-a", T0, &dedup);
    assert_int_equal(json_array_size(alerts), 0);
    assert_non_null(sget(dedup, "development_id"));
    assert_int_equal(strlen(sget(dedup, "fingerprint")), 16);
    json_decref(dedup);
    json_decref(alerts);
    /* desks arrive (a reload): a desk that never heard of the development gets it as new */
    nd_alert_set_desks(alert, fixture_desks());
    alerts = run(alert, "talks-c-rewrite", T0 + MIN, NULL);
    assert_int_equal(json_array_size(alerts), 2);
    json_decref(alerts);
    nd_alert_destroy(alert);
}

static void test_withheld_story_never_alerts(void **state)
{
    struct nd_alert *alert = stage();
    struct nd_story *story = fixture_story("talks-a");
    json_t *alerts;
    (void)state;
    story->pubstatus = ND_PUBSTATUS_CANCELED;
    alerts = nd_alert_story(alert, story, T0);
    assert_int_equal(json_array_size(alerts), 0);
    json_decref(alerts);
    nd_story_destroy(story);
    nd_alert_destroy(alert);
}

/* No coded event: the story and its copies are a development of their own; the sentence quotes the
 * headline, cut on a character boundary. */
static void test_story_without_events(void **state)
{
    struct nd_alert_opts opts = {.window_ms = HOUR,
                                 .dedup_distance = 6,
                                 .dedup_capacity = 100,
                                 .developments_max = 100,
                                 .corroboration = 3,
                                 .escalate_intensity = 2};
    struct nd_alert *alert = nd_alert_new(&opts);
    struct nd_story *story = nd_story_new();
    struct nd_buf headline;
    json_t *alerts;
    const char *why;
    int nerr = 0;
    (void)state;
    nd_alert_set_desks(alert, desks_from_yaml("desks:\n - name: trade\n   title: Trade\n"
                                              "   match: {any: [{keywords: [tariffs]}]}\n",
                                              stderr, &nerr));
    nd_buf_init(&headline, 4096);
    nd_buf_appendf(&headline, "Tariffs ");
    for (int i = 0; i < 150; i++)
        nd_buf_appendf(&headline, "\xc3\xa9"); /* é: 2 bytes each, the 200-byte cut falls inside */
    story->headline = nd_buf_steal(&headline, NULL);
    nd_story_set(&story->body_text, "New tariffs on steel were announced.");
    nd_story_set(&story->feed_id, "wire-x");
    nd_story_set(&story->guid, "no-events");
    nd_story_assign_id(story);
    alerts = nd_alert_story(alert, story, T0);
    assert_int_equal(json_array_size(alerts), 1);
    why = json_string_value(json_object_get(json_array_get(alerts, 0), "why"));
    assert_non_null(why); /* jansson refuses invalid UTF-8: a bad cut would leave no sentence */
    assert_non_null(strstr(why, "Trade: new development — \"Tariffs "));
    assert_non_null(strstr(why, "Matched on \"tariffs\"."));
    assert_true(json_is_true(
        json_object_get(json_object_get(story->annotations, "dedup"), "is_new_development")));
    json_decref(alerts);
    /* the same again: nothing */
    alerts = nd_alert_story(alert, story, T0 + MIN);
    assert_int_equal(json_array_size(alerts), 0);
    json_decref(alerts);
    nd_story_destroy(story);
    nd_alert_destroy(alert);
}

static void test_development_eviction_is_bounded(void **state)
{
    struct nd_devs *devs = nd_devs_new(20, HOUR);
    char key[32], id[32];
    (void)state;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "talks|A%03d", i);
        snprintf(id, sizeof(id), "s%d", i);
        nd_devs_create(devs, key, id, T0 + i);
        assert_true(nd_devs_count(devs) <= 20);
    }
    /* the most recent survive */
    assert_non_null(nd_devs_find_key(devs, "talks|A999", T0 + 1000));
    assert_null(nd_devs_find_key(devs, "talks|A001", T0 + 1000));
    nd_devs_destroy(devs);
}

/* The alert states the story's lead development: an event of its first sentence, even when a later
 * sentence holds a more confident one (both published). */
static void test_alert_states_the_lead_event(void **state)
{
    struct nd_alert *alert = stage();
    struct nd_story *story = fixture_story("talks-a");
    struct nd_event *later;
    json_t *alerts;
    const char *why;
    (void)state;
    assert_int_equal(story->events.n, 1); /* CONSULT USA -> CHN, sentence 1, confidence 0.8 */
    later = nd_event_list_add(&story->events);
    assert_non_null(later);
    snprintf(later->type, sizeof(later->type), "ACCUSE");
    snprintf(later->cameo, sizeof(later->cameo), "111");
    memcpy(later->source[0].code, "USA", 4);
    memcpy(later->target[0].code, "CHN", 4);
    later->nsource = later->ntarget = 1;
    later->sent_start = 260; /* "Blinken pressed Beijing over its support ..." */
    later->sent_end = 300;
    later->intensity = -2;
    later->confidence = 0.95;
    alerts = nd_alert_story(alert, story, T0);
    why = sget(for_desk(alerts, "asia-pacific"), "why");
    assert_non_null(strstr(why, "consulted with China (CONSULT, CAMEO 040)"));
    assert_null(strstr(why, "ACCUSE"));
    json_decref(alerts);
    nd_story_destroy(story);
    nd_alert_destroy(alert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_development_alerts_once_then_on_escalation),
        cmocka_unit_test(test_desk_swap_and_no_desks),
        cmocka_unit_test(test_withheld_story_never_alerts),
        cmocka_unit_test(test_story_without_events),
        cmocka_unit_test(test_alert_states_the_lead_event),
        cmocka_unit_test(test_development_eviction_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
