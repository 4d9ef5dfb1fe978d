/* Data-driven parser tests: every folder under tests/fixtures/feeds/ is a case.
 *   feeds/<case>/input.<ext> + expected.json   {"options": {base_url, content_type}, "repairs": N,
 *                                               "stories": [story JSON without id, uri,
 *                                               provenance.fetched_at, provenance.newsd_version]}
 *   feeds/invalid/<case>/input + error          nd_parse_feed fails; errstr contains the error line
 *   html/<case>/input.html + expected.json      {"headline", "byline", "published", "with": [...],
 *                                               "without": [...]}
 * Adding a case is adding a folder. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "parse/parse.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Sorted sub-folders of dir (caller frees each and the array). */
static char **list_dirs(const char *dir, size_t *n)
{
    struct dirent **ents;
    int count = scandir(dir, &ents, NULL, alphasort);
    char **out = calloc((size_t)(count > 0 ? count : 1), sizeof(char *));
    *n = 0;
    for (int i = 0; i < count; i++) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if (ents[i]->d_name[0] != '.' && is_dir(path))
            out[(*n)++] = strdup(ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return out;
}

static char *find_input(const char *casedir)
{
    DIR *d = opendir(casedir);
    struct dirent *e;
    char *found = NULL;
    while (d && (e = readdir(d))) {
        if (!strncmp(e->d_name, "input", 5) && !found) {
            char path[4400];
            snprintf(path, sizeof(path), "%s/%s", casedir, e->d_name);
            found = strdup(path);
        }
    }
    if (d)
        closedir(d);
    return found;
}

static json_t *story_json(const struct nd_story *story)
{
    json_t *j = nd_story_to_json(story);
    json_t *prov = json_object_get(j, "provenance");
    json_object_del(j, "id");
    json_object_del(j, "uri");
    json_object_del(prov, "fetched_at");
    json_object_del(prov, "newsd_version");
    return j;
}

static int run_feed_case(const char *dir, const char *name)
{
    char casedir[4096], path[4200], errstr[1024];
    char *input, *data = NULL;
    size_t len;
    json_error_t jerr;
    json_t *exp, *opts, *stories;
    struct nd_parse_result res;
    struct nd_parse_opts po = {.feed_id = "fixture"};
    int ok = 1;

    snprintf(casedir, sizeof(casedir), "%s/%s", dir, name);
    snprintf(path, sizeof(path), "%s/expected.json", casedir);
    input = find_input(casedir);
    exp = json_load_file(path, 0, &jerr);
    if (!input || !exp || nd_file_read(input, 64u << 20, &data, &len) != ND_OK) {
        fprintf(stderr, "%s: missing input or expected.json (%s)\n", name, jerr.text);
        free(input);
        json_decref(exp);
        return 0;
    }
    opts = json_object_get(exp, "options");
    po.base_url = json_string_value(json_object_get(opts, "base_url"));
    po.content_type = json_string_value(json_object_get(opts, "content_type"));
    stories = json_object_get(exp, "stories");
    if (nd_parse_feed(data, len, &po, &res, errstr, sizeof(errstr)) != ND_OK) {
        fprintf(stderr, "%s: parse failed: %s\n", name, errstr);
        ok = 0;
        goto out;
    }
    if (res.repairs != (int)json_integer_value(json_object_get(exp, "repairs"))) {
        fprintf(stderr, "%s: %d repairs (%s), expected %lld\n", name, res.repairs,
                res.notes ? res.notes : "", (long long)json_integer_value(json_object_get(exp, "repairs")));
        ok = 0;
    }
    if (res.nstories != json_array_size(stories)) {
        fprintf(stderr, "%s: %zu stories, expected %zu\n", name, res.nstories, json_array_size(stories));
        ok = 0;
        goto out;
    }
    for (size_t i = 0; i < res.nstories; i++) {
        json_t *got = story_json(res.stories[i]);
        json_t *want = json_array_get(stories, i);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
            char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
            fprintf(stderr, "%s: story %zu differs\n  got:  %s\n  want: %s\n", name, i, g, w);
            free(g);
            free(w);
            ok = 0;
        }
        json_decref(got);
    }
out:
    nd_parse_result_free(&res);
    json_decref(exp);
    free(data);
    free(input);
    return ok;
}

static int run_invalid_case(const char *dir, const char *name)
{
    char path[4200], errstr[1024];
    char *data = NULL, *want = NULL;
    size_t len, wlen;
    struct nd_parse_result res;
    struct nd_parse_opts po = {.feed_id = "fixture"};
    int ok = 1;

    snprintf(path, sizeof(path), "%s/%s/input", dir, name);
    if (nd_file_read(path, 64u << 20, &data, &len) != ND_OK)
        return 0;
    snprintf(path, sizeof(path), "%s/%s/error", dir, name);
    if (nd_file_read(path, 4096, &want, &wlen) != ND_OK) {
        free(data);
        return 0;
    }
    want[strcspn(want, "\n")] = '\0';
    if (nd_parse_feed(data, len, &po, &res, errstr, sizeof(errstr)) == ND_OK) {
        fprintf(stderr, "invalid/%s: parsed (%zu stories), expected an error\n", name, res.nstories);
        ok = 0;
    } else if (!strstr(errstr, want)) {
        fprintf(stderr, "invalid/%s: error \"%s\" does not contain \"%s\"\n", name, errstr, want);
        ok = 0;
    } else if (strchr(errstr, '\n')) {
        fprintf(stderr, "invalid/%s: error is not one line\n", name);
        ok = 0;
    }
    nd_parse_result_free(&res);
    free(data);
    free(want);
    return ok;
}

static int field_ok(const char *name, const char *field, const json_t *exp, const char *got)
{
    json_t *want = json_object_get(exp, field);
    if (!want)
        return 1;
    if (!got || strcmp(got, json_string_value(want))) {
        fprintf(stderr, "html/%s: %s is \"%s\", expected \"%s\"\n", name, field, got ? got : "(none)",
                json_string_value(want));
        return 0;
    }
    return 1;
}

static int run_html_case(const char *dir, const char *name)
{
    char path[4200], errstr[1024], ts[40] = "";
    char *data = NULL;
    size_t len, i;
    json_error_t jerr;
    json_t *exp, *snip;
    struct nd_article art;
    int ok = 1;

    snprintf(path, sizeof(path), "%s/%s/expected.json", dir, name);
    if (!(exp = json_load_file(path, 0, &jerr)))
        return 0;
    snprintf(path, sizeof(path), "%s/%s/input.html", dir, name);
    if (nd_file_read(path, 64u << 20, &data, &len) != ND_OK) {
        json_decref(exp);
        return 0;
    }
    if (nd_html_extract(data, len, NULL, &art, errstr, sizeof(errstr)) != ND_OK) {
        fprintf(stderr, "html/%s: %s\n", name, errstr);
        ok = 0;
        goto out;
    }
    if (art.published_at)
        nd_time_rfc3339(art.published_at, ts, sizeof(ts));
    ok &= field_ok(name, "headline", exp, art.headline);
    ok &= field_ok(name, "byline", exp, art.byline);
    ok &= field_ok(name, "published", exp, art.published_at ? ts : NULL);
    json_array_foreach(json_object_get(exp, "with"), i, snip) {
        if (!strstr(art.text, json_string_value(snip))) {
            fprintf(stderr, "html/%s: text lacks \"%s\"\n", name, json_string_value(snip));
            ok = 0;
        }
    }
    json_array_foreach(json_object_get(exp, "without"), i, snip) {
        if (strstr(art.text, json_string_value(snip))) {
            fprintf(stderr, "html/%s: text contains boilerplate \"%s\"\n", name, json_string_value(snip));
            ok = 0;
        }
    }
out:
    nd_article_free(&art);
    json_decref(exp);
    free(data);
    return ok;
}

static void run_all(const char *dir, int (*fn)(const char *, const char *), size_t min_cases)
{
    size_t n, failed = 0, ran = 0;
    char **cases = list_dirs(dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cases[i], "invalid") != 0) {
            ran++;
            if (!fn(dir, cases[i])) {
                fprintf(stderr, "FAILED case %s/%s\n", dir, cases[i]);
                failed++;
            }
        }
        free(cases[i]);
    }
    free(cases);
    fprintf(stderr, "%s: %zu cases, %zu failed\n", dir, ran, failed);
    assert_true(ran >= min_cases);
    assert_int_equal(failed, 0);
}

static void test_feed_fixtures(void **state)
{
    (void)state;
    run_all(NEWSD_FIXTURES "/feeds", run_feed_case, 20);
}

static void test_invalid_fixtures(void **state)
{
    (void)state;
    run_all(NEWSD_FIXTURES "/feeds/invalid", run_invalid_case, 8);
}

static void test_html_fixtures(void **state)
{
    (void)state;
    run_all(NEWSD_FIXTURES "/html", run_html_case, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_fixtures),
        cmocka_unit_test(test_invalid_fixtures),
        cmocka_unit_test(test_html_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
