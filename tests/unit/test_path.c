/* pkg/core/path.c: paths in capped buffers, and newsd's data found beside the executable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void test_join(void **state)
{
    struct nd_buf path;
    (void)state;
    assert_int_equal(nd_path_join(&path, "/usr/share/newsd/models", "ner.bin"), ND_OK);
    assert_string_equal(path.data, "/usr/share/newsd/models/ner.bin");
    nd_buf_free(&path);
}

/* A folder name that leaves no room for "/ner.bin" is an error, never a cut path. */
static void test_join_too_long(void **state)
{
    struct nd_buf path;
    char *dir = malloc(ND_PATH_MAX);
    (void)state;
    memset(dir, 'a', ND_PATH_MAX - 5);
    dir[0] = '/';
    dir[ND_PATH_MAX - 5] = '\0';
    assert_int_equal(nd_path_join(&path, dir, "ner.bin"), ND_ERR_TOOBIG);
    nd_buf_free(&path);
    dir[ND_PATH_MAX - 8] = '\0'; /* exactly at the cap: "/ner.bin" is 8 bytes */
    assert_int_equal(nd_path_join(&path, dir, "ner.bin"), ND_OK);
    assert_int_equal(path.len, ND_PATH_MAX);
    nd_buf_free(&path);
    free(dir);
}

/* This test runs from <build>/tests/, so bin/../share/newsd is <build>/share/newsd: the links CMake
 * makes there into the source tree, found as an installed binary finds its prefix's share folder. */
static void test_data_beside_the_executable(void **state)
{
    struct nd_buf path;
    char real[PATH_MAX], want[PATH_MAX];
    (void)state;
    assert_int_equal(nd_path_data(&path, "models"), ND_OK);
    assert_non_null(strstr(path.data, "/share/newsd/models"));
    assert_null(strstr(path.data, "/../")); /* the "../" of the layout taken off the folder */
    assert_non_null(realpath(path.data, real));
    assert_non_null(realpath(NEWSD_SOURCE_DIR "/models", want));
    assert_string_equal(real, want);
    nd_buf_free(&path);
}

static void test_data_missing_names_the_installed_place(void **state)
{
    struct nd_buf path;
    (void)state;
    assert_int_equal(nd_path_data(&path, "no-such-file"), ND_ERR_NOTFOUND);
    assert_non_null(path.data);
    assert_non_null(strstr(path.data, "/share/newsd/no-such-file"));
    assert_null(strstr(path.data, "/tests/share/")); /* the install layout's place, not the build's */
    nd_buf_free(&path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_join_too_long),
        cmocka_unit_test(test_data_beside_the_executable),
        cmocka_unit_test(test_data_missing_names_the_installed_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
