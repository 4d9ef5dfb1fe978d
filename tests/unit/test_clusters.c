/* Word clusters: the TSV loader (and its errors), the case fallbacks of a lookup, and the model
 * file section written and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/clusters.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    int fd;
    snprintf(path, sizeof(path), "/tmp/test_clusters_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char *const tsv = "# header\n"
                               "# word\tc64\tc256\tc1024\trow\n"
                               "Zidane\t4\t40\t178\t12122\n"
                               "zidane\t4\t40\t178\t12123\n"
                               "paris\t3\t30\t300\t3000\n"
                               "U.S.\t1\t10\t100\t1000\n";

static void test_lookup_fallbacks(void **state)
{
    char errstr[256], *path = write_tmp(tsv);
    uint16_t ids[ND_CL_LEVELS] = {0};
    struct nd_clusters *cl = nd_clusters_load_tsv(path, errstr, sizeof(errstr));
    (void)state;
    unlink(path);
    assert_non_null(cl);
    assert_int_equal(nd_clusters_size(cl), 4);
    /* exact */
    assert_true(nd_clusters_get(cl, "zidane", 6, ids));
    assert_int_equal(ids[3], 12123);
    assert_true(nd_clusters_get(cl, "Zidane", 6, ids));
    assert_int_equal(ids[3], 12122);
    /* an all-caps headline word takes its title case first, then its lower case */
    assert_true(nd_clusters_get(cl, "ZIDANE", 6, ids));
    assert_int_equal(ids[3], 12122);
    assert_true(nd_clusters_get(cl, "PARIS", 5, ids));
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 30);
    assert_int_equal(ids[2], 300);
    assert_int_equal(ids[3], 3000);
    assert_true(nd_clusters_get(cl, "Paris", 5, ids));
    assert_true(nd_clusters_get(cl, "U.S.", 4, ids));
    assert_int_equal(ids[3], 1000);
    /* a lower-case word never borrows a capitalised form's ids; unknown words have none */
    ids[3] = 7;
    assert_false(nd_clusters_get(cl, "u.s.", 4, ids));
    assert_false(nd_clusters_get(cl, "Lyon", 4, ids));
    assert_false(nd_clusters_get(cl, "", 0, ids));
    assert_false(nd_clusters_get(NULL, "paris", 5, ids));
    assert_int_equal(ids[3], 7);
    nd_clusters_destroy(cl);
    nd_clusters_destroy(NULL);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {"paris\t1\t2\t3\n", "paris\t1\t2\t3\t4\t5\n",
                                      "\t1\t2\t3\t4\n", "paris\t1\tx\t3\t4\n",
                                      "paris\t1\t2\t3\t70000\n"};
    char errstr[256];
    (void)state;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char text[128], *path;
        snprintf(text, sizeof(text), "ok\t1\t2\t3\t4\n%s", bad[k]);
        path = write_tmp(text);
        assert_null(nd_clusters_load_tsv(path, errstr, sizeof(errstr)));
        unlink(path);
        assert_non_null(strstr(errstr, ":2: expected word and 4 cluster ids"));
    }
    assert_null(nd_clusters_load_tsv("/nonexistent/clusters.tsv", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "/nonexistent/clusters.tsv"));
}

static void test_section_roundtrip(void **state)
{
    char errstr[256], *path = write_tmp(tsv), *buf = NULL;
    size_t len = 0, used = 0;
    uint16_t ids[ND_CL_LEVELS];
    struct nd_clusters *cl = nd_clusters_load_tsv(path, errstr, sizeof(errstr)), *back;
    FILE *fp = open_memstream(&buf, &len);
    (void)state;
    unlink(path);
    assert_non_null(cl);
    nd_clusters_write(cl, fp);
    fclose(fp);
    assert_int_equal(len, 4 + 4 * 16);
    assert_non_null(back = nd_clusters_read(buf, len, &used, errstr, sizeof(errstr)));
    assert_int_equal(used, len);
    assert_int_equal(nd_clusters_size(back), 4);
    assert_true(nd_clusters_get(back, "ZIDANE", 6, ids));
    assert_int_equal(ids[3], 12122);
    nd_clusters_destroy(back);
    /* truncated, or a zero key */
    assert_null(nd_clusters_read(buf, len - 1, &used, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "truncated"));
    memset(buf + 4, 0, 8);
    assert_null(nd_clusters_read(buf, len, &used, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "corrupt"));
    free(buf);
    /* no clusters: an empty section */
    fp = open_memstream(&buf, &len);
    nd_clusters_write(NULL, fp);
    fclose(fp);
    assert_int_equal(len, 4);
    assert_non_null(back = nd_clusters_read(buf, len, &used, errstr, sizeof(errstr)));
    assert_int_equal(nd_clusters_size(back), 0);
    assert_false(nd_clusters_get(back, "paris", 5, ids));
    nd_clusters_destroy(back);
    free(buf);
    nd_clusters_destroy(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_fallbacks),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_section_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
