/* Priority of a development for a desk: FLASH / URGENT / ROUTINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert_helpers.h"

static struct nd_prio_rules *rules_of(struct nd_desks **desks, const char *prio_yaml)
{
    char yaml[1024];
    int nerr = 0;
    snprintf(yaml, sizeof(yaml), "desks:\n - name: d\n%s", prio_yaml);
    *desks = desks_from_yaml(yaml, stderr, &nerr);
    assert_non_null(*desks);
    return &(*desks)->desks[0].prio;
}

static struct nd_dev *dev_with(const char *types, double intensity, int hos, int fm, int sources)
{
    struct nd_dev *dev = nd_xcalloc(1, sizeof(*dev));
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", types);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        nd_strs_add(&dev->st.types, t);
    dev->st.max_intensity = intensity;
    dev->st.max_mag = intensity < 0 ? -intensity : intensity;
    dev->st.heads_of_state = hos;
    dev->st.foreign_ministers = fm;
    for (int i = 0; i < sources; i++) {
        snprintf(buf, sizeof(buf), "feed-%d", i);
        nd_strs_add(&dev->st.sources, buf);
    }
    return dev;
}

static void dev_free(struct nd_dev *dev)
{
    nd_dev_state_free(&dev->st);
    free(dev);
}

static enum nd_priority prio(const struct nd_prio_rules *r, const char *types, double intensity,
                             int hos, int fm, int sources)
{
    struct nd_dev *dev = dev_with(types, intensity, hos, fm, sources);
    enum nd_priority p = nd_dev_priority(dev, r);
    dev_free(dev);
    return p;
}

static void test_default_rules(void **state)
{
    struct nd_desks *desks;
    struct nd_prio_rules *r = rules_of(&desks, "");
    (void)state;
    /* routine talks, one source */
    assert_int_equal(prio(r, "CONSULT", 1, 0, 0, 1), ND_PRIO_ROUTINE);
    /* who is involved */
    assert_int_equal(prio(r, "CONSULT", 1, 0, 1, 1), ND_PRIO_URGENT);
    assert_int_equal(prio(r, "CONSULT", 1, 1, 0, 1), ND_PRIO_URGENT);
    /* corroboration */
    assert_int_equal(prio(r, "CONSULT", 1, 0, 0, 2), ND_PRIO_ROUTINE);
    assert_int_equal(prio(r, "CONSULT", 1, 0, 0, 3), ND_PRIO_URGENT);
    /* event type and intensity */
    assert_int_equal(prio(r, "SANCTION", -4, 0, 0, 1), ND_PRIO_URGENT);
    assert_int_equal(prio(r, "ACCUSE", -5, 0, 0, 1), ND_PRIO_URGENT);
    assert_int_equal(prio(r, "ACCUSE", -4, 0, 0, 1), ND_PRIO_ROUTINE);
    /* violence: FLASH once leaders are in it or it is corroborated, URGENT before */
    assert_int_equal(prio(r, "ASSAULT", -10, 0, 0, 1), ND_PRIO_URGENT);
    assert_int_equal(prio(r, "ASSAULT", -10, 0, 0, 2), ND_PRIO_FLASH);
    assert_int_equal(prio(r, "CONSULT,COERCE", -7, 1, 0, 1), ND_PRIO_FLASH);
    /* extreme intensity alone, corroborated */
    assert_int_equal(prio(r, "THREATEN", -8, 0, 0, 2), ND_PRIO_FLASH);
    nd_desks_destroy(desks);
}

static void test_desk_rules(void **state)
{
    struct nd_desks *desks;
    struct nd_prio_rules *r =
        rules_of(&desks, "   priority:\n     min: URGENT\n     flash_types: [SANCTION]\n"
                         "     flash_sources: 1\n     urgent_intensity: 2\n");
    (void)state;
    assert_int_equal(r->min, ND_PRIO_URGENT);
    assert_int_equal(prio(r, "SANCTION", -4, 0, 0, 1), ND_PRIO_FLASH);
    assert_int_equal(prio(r, "ASSAULT", -7, 0, 0, 1), ND_PRIO_URGENT); /* not a flash type here */
    assert_int_equal(prio(r, "ACCUSE", -2, 0, 0, 1), ND_PRIO_URGENT);
    assert_int_equal(prio(r, "CONSULT", 1, 0, 0, 1), ND_PRIO_ROUTINE);
    nd_desks_destroy(desks);
}

/* A desk with min: URGENT hears nothing of routine talks, then the development as new once it
 * becomes urgent. */
static void test_minimum_priority_defers_the_first_alert(void **state)
{
    struct nd_alert_opts opts = {.window_ms = 3600000,
                                 .dedup_distance = 6,
                                 .dedup_capacity = 100,
                                 .developments_max = 100,
                                 .corroboration = 3,
                                 .escalate_intensity = 2};
    struct nd_alert *alert = nd_alert_new(&opts);
    int nerr = 0;
    struct nd_story *story;
    json_t *alerts;
    (void)state;
    nd_alert_set_desks(alert, desks_from_yaml("desks:\n - name: hot\n   match: {any: "
                                              "[{countries: [DEU]}]}\n   priority: {min: "
                                              "URGENT}\n",
                                              stderr, &nerr));
    story = fixture_story("unrelated"); /* Germany-France agreement: ROUTINE */
    alerts = nd_alert_story(alert, story, 1000);
    assert_int_equal(json_array_size(alerts), 0);
    json_decref(alerts);
    nd_story_destroy(story);
    /* a follow-up in the same development with the chancellor in it: now URGENT, and new to the
     * desk because it was never told */
    story = fixture_story("unrelated");
    nd_story_set(&story->body_text, "Chancellor Friedrich Merz welcomed the deal with Paris.");
    story->id[0] = 'f';
    json_array_append_new(json_object_get(story->annotations, "entities"),
                          json_pack("{s:s, s:s, s:s, s:s}", "type", "PERSON", "name",
                                    "Friedrich Merz", "role", "Chancellor", "country", "DEU"));
    alerts = nd_alert_story(alert, story, 2000);
    assert_int_equal(json_array_size(alerts), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "kind")),
                        "new_development");
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "priority")),
                        "URGENT");
    json_decref(alerts);
    nd_story_destroy(story);
    nd_alert_destroy(alert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_rules),
        cmocka_unit_test(test_desk_rules),
        cmocka_unit_test(test_minimum_priority_defers_the_first_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
