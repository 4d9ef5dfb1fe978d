/* parse: the probe, charset decoding, text cleaning, caps and the safety rules, tested directly
 * (the per-format behaviour is in the fixtures, test_parse_fixtures.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/parse_int.h"

#define PROBE(lit) nd_parse_probe(lit, sizeof(lit) - 1)

static void test_probe(void **state)
{
    (void)state;
    assert_int_equal(PROBE("<rss version=\"2.0\">"), ND_FORMAT_RSS);
    assert_int_equal(PROBE("\xEF\xBB\xBF <?xml version=\"1.0\"?><!-- c --><rss>"),
                     ND_FORMAT_RSS);
    assert_int_equal(PROBE("<rdf:RDF xmlns:rdf=\"x\">"), ND_FORMAT_RDF);
    assert_int_equal(PROBE("<feed xmlns=\"http://www.w3.org/2005/Atom\">"),
                     ND_FORMAT_ATOM);
    assert_int_equal(PROBE("<!DOCTYPE html><html>"), ND_FORMAT_HTML);
    assert_int_equal(PROBE("{\"version\": \"https://jsonfeed.org/version/1.1\"}"),
                     ND_FORMAT_JSONFEED);
    assert_int_equal(PROBE("[{\"uri\": \"x\"}]"), ND_FORMAT_NINJS);
    assert_int_equal(PROBE("hello"), ND_FORMAT_UNKNOWN);
    assert_int_equal(nd_parse_probe("", 0), ND_FORMAT_UNKNOWN);
    /* the Content-Type is not what decides: an RSS body probes as RSS whatever the header says */
    assert_int_equal(PROBE("<?xml version=\"1.0\"?>\n<rss>"), ND_FORMAT_RSS);
}

static char *decode(const char *data, size_t len, const char *ct, int *repairs)
{
    struct nd_parse_result res;
    size_t n;
    char *out;
    memset(&res, 0, sizeof(res));
    out = nd_charset_to_utf8(data, len, ct, &n, &res);
    assert_int_equal(strlen(out), n);
    *repairs = res.repairs;
    nd_parse_result_free(&res);
    return out;
}

#define DECODE(lit, ct, rep) decode(lit, sizeof(lit) - 1, ct, rep)

static void test_charsets(void **state)
{
    int repairs;
    char *s;
    (void)state;
    /* UTF-8 BOM stripped */
    s = DECODE("\xEF\xBB\xBFhi", NULL, &repairs);
    assert_string_equal(s, "hi");
    free(s);
    /* UTF-16BE BOM */
    s = DECODE("\xFE\xFF\x00h\x00\xE9", NULL, &repairs);
    assert_string_equal(s, "h\xC3\xA9");
    free(s);
    /* Content-Type charset */
    s = DECODE("caf\xE9", "text/xml; charset=ISO-8859-15", &repairs);
    assert_string_equal(s, "caf\xC3\xA9");
    free(s);
    /* a lying meta charset: the bytes are UTF-8 */
    s = DECODE("<meta charset=\"windows-1252\">caf\xC3\xA9", NULL, &repairs);
    assert_non_null(strstr(s, "caf\xC3\xA9"));
    assert_int_equal(repairs, 1);
    free(s);
    /* nothing declared, not UTF-8: windows-1252 (0x93/0x94 are curly quotes) */
    s = DECODE("\x93quoted\x94", NULL, &repairs);
    assert_string_equal(s, "\xE2\x80\x9Cquoted\xE2\x80\x9D");
    free(s);
    /* declared UTF-8 but broken: replaced, never passed on */
    s = DECODE("<?xml version=\"1.0\" encoding=\"utf-8\"?>a\xFF" "b", NULL, &repairs);
    assert_non_null(strstr(s, "a\xEF\xBF\xBD" "b"));
    assert_int_equal(repairs, 1);
    free(s);
    /* an unknown charset name does not stop us */
    s = DECODE("<?xml version=\"1.0\" encoding=\"x-no-such\"?>ok\xFF", NULL, &repairs);
    assert_non_null(strstr(s, "ok\xEF\xBF\xBD"));
    free(s);
}

static void test_text_clean(void **state)
{
    char *s;
    (void)state;
    /* NFC: e + combining acute -> é */
    s = nd_text_clean(nd_strdup("  Cafe\xCC\x81 \x01\x7F\xC2\x85ok \n"));
    assert_string_equal(s, "Caf\xC3\xA9 ok");
    free(s);
    /* invalid bytes -> U+FFFD; overlong and surrogates are invalid */
    s = nd_text_clean(nd_strdup("a\xC0\xAF" "b\xED\xA0\x80" "c"));
    assert_string_equal(s, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "c");
    free(s);
    assert_null(nd_text_clean(nd_strdup(" \t\n ")));
    assert_null(nd_text_clean(NULL));
}

static char *to_text(const char *html)
{
    return nd_html_to_text(html, strlen(html));
}

static void test_html_to_text(void **state)
{
    char *s;
    (void)state;
    s = to_text("<p>One <b>two</b></p><script>x()</script><p>three &amp; four</p>");
    assert_string_equal(s, "One two\nthree & four");
    free(s);
    s = to_text("<em>Rates</em> rise");
    assert_string_equal(s, "Rates rise");
    free(s);
    s = to_text("1 < 2 and 3 > 2");
    assert_string_equal(s, "1 < 2 and 3 > 2");
    free(s);
}

static void test_max_items(void **state)
{
    struct nd_buf doc;
    struct nd_parse_opts opts = {.feed_id = "t", .max_items = 5};
    struct nd_parse_result res;
    char errstr[256];
    (void)state;
    nd_buf_init(&doc, 1 << 20);
    nd_buf_appendf(&doc, "<rss><channel>");
    for (int i = 0; i < 20; i++)
        nd_buf_appendf(&doc, "<item><title>%d</title></item>", i);
    nd_buf_appendf(&doc, "</channel></rss>");
    assert_int_equal(nd_parse_feed(doc.data, doc.len, &opts, &res, errstr, sizeof(errstr)), ND_OK);
    assert_int_equal(res.nstories, 5);
    assert_true(res.repairs >= 1);
    assert_non_null(strstr(res.notes, "more than 5 items"));
    nd_parse_result_free(&res);
    nd_buf_free(&doc);
}

/* The XXE and billion-laughs documents parse quickly, to the literal reference, never its value. */
static void test_entities_not_expanded(void **state)
{
    static const char xxe[] =
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<rss><channel><item><title>a&x;b</title><description>&x;</description></item>"
        "</channel></rss>";
    struct nd_buf lol;
    struct nd_parse_opts opts = {.feed_id = "t"};
    struct nd_parse_result res;
    char errstr[256];
    int64_t t0;
    (void)state;
    assert_int_equal(nd_parse_feed(xxe, sizeof(xxe) - 1, &opts, &res, errstr, sizeof(errstr)), ND_OK);
    assert_int_equal(res.nstories, 1);
    assert_string_equal(res.stories[0]->headline, "a&x;b");
    assert_null(strstr(res.stories[0]->body_text, "root:"));
    nd_parse_result_free(&res);

    nd_buf_init(&lol, 1 << 20);
    nd_buf_appendf(&lol, "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"%s\">",
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    for (char c = 'b'; c <= 'z'; c++)
        nd_buf_appendf(&lol, "<!ENTITY %c \"&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;\">", c, c - 1,
                       c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
    nd_buf_appendf(&lol, "]><rss><channel><item><title>&z;</title></item></channel></rss>");
    t0 = nd_mono_ms();
    assert_int_equal(nd_parse_feed(lol.data, lol.len, &opts, &res, errstr, sizeof(errstr)), ND_OK);
    assert_true(nd_mono_ms() - t0 < 2000);
    assert_string_equal(res.stories[0]->headline, "&z;");
    nd_parse_result_free(&res);
    nd_buf_free(&lol);
}

static void test_error_has_position(void **state)
{
    struct nd_parse_opts opts = {.feed_id = "t"};
    struct nd_parse_result res;
    char errstr[256];
    (void)state;
    assert_int_equal(nd_parse_feed("{\n  \"items\": [1,\n", 17, &opts, &res, errstr, sizeof(errstr)),
                     ND_ERR_INVALID);
    assert_non_null(strstr(errstr, "line"));
    assert_non_null(strstr(errstr, "column"));
    assert_null(strchr(errstr, '\n'));
    nd_parse_result_free(&res);
}

static void test_extract(void **state)
{
    static const char page[] =
        "<html><head><title>T</title></head><body><nav><a href=/>Home</a></nav>"
        "<div class=\"content\"><p>Paragraph one is long enough to count, with commas, and words "
        "enough to be scored as article text by the extractor.</p><p>Paragraph two is long enough "
        "to count, with commas, and words enough to be scored as article text.</p></div>"
        "<div class=\"share\">Share this</div><footer>Footer text</footer></body></html>";
    struct nd_article art;
    char errstr[256];
    (void)state;
    assert_int_equal(nd_html_extract(page, sizeof(page) - 1, NULL, &art, errstr, sizeof(errstr)),
                     ND_OK);
    assert_non_null(strstr(art.text, "Paragraph one"));
    assert_non_null(strstr(art.text, "Paragraph two"));
    assert_null(strstr(art.text, "Home"));
    assert_null(strstr(art.text, "Share this"));
    assert_null(strstr(art.text, "Footer text"));
    assert_string_equal(art.headline, "T");
    nd_article_free(&art);
    assert_int_equal(nd_html_extract("plain", 5, NULL, &art, errstr, sizeof(errstr)),
                     ND_ERR_INVALID);
    nd_article_free(&art);
    nd_article_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),          cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_text_clean),     cmocka_unit_test(test_html_to_text),
        cmocka_unit_test(test_max_items),      cmocka_unit_test(test_entities_not_expanded),
        cmocka_unit_test(test_error_has_position), cmocka_unit_test(test_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
