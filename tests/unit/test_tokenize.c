/* Tokeniser and sentence splitter on newswire cases, with offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/enrich.h"
#include "enrich/tokenize.h"
#include "story/story.h"

/* The tokens joined by '|', sentences separated by " || ". */
static char *render(const char *text)
{
    struct nd_tokens toks;
    size_t cap = strlen(text) * 4 + 16, n = 0;
    char *out = malloc(cap);
    assert_int_equal(nd_tokenize(text, strlen(text), &toks), ND_OK);
    out[0] = '\0';
    for (size_t i = 0; i < toks.ntokens; i++) {
        const struct nd_token *t = &toks.tokens[i];
        assert_true(t->start < t->end);
        assert_true(t->end <= strlen(text));
        if (i)
            n += (size_t)snprintf(out + n, cap - n, "%s",
                                  (t->flags & ND_TOK_SENT_START) ? " || " : "|");
        n += (size_t)snprintf(out + n, cap - n, "%.*s", (int)(t->end - t->start), text + t->start);
    }
    nd_tokens_free(&toks);
    return out;
}

static void check(const char *text, const char *want)
{
    char *got = render(text);
    if (strcmp(got, want))
        fprintf(stderr, "text: %s\n got: %s\nwant: %s\n", text, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_abbreviations_and_initials(void **state)
{
    (void)state;
    check("U.S. Secretary of State Antony Blinken met U.N. officials.",
          "U.S.|Secretary|of|State|Antony|Blinken|met|U.N.|officials|.");
    check("Gov. Gavin Newsom spoke on Jan. 5 with John F. Kennedy Jr. about it.",
          "Gov.|Gavin|Newsom|spoke|on|Jan.|5|with|John|F.|Kennedy|Jr.|about|it|.");
    check("Mr. Smith left. He came back.", "Mr.|Smith|left|. || He|came|back|.");
    check("Talks moved to the U.S. The envoy left.", "Talks|moved|to|the|U.S. || The|envoy|left|.");
}

static void test_numbers(void **state)
{
    (void)state;
    check("Growth was 3.5% or 1,200.75 units, up 40 percent.",
          "Growth|was|3.5%|or|1,200.75|units|,|up|40|percent|.");
    check("It rose 2.5. Then it fell.", "It|rose|2.5|. || Then|it|fell|.");
}

static void test_quotes_ellipses_dashes(void **state)
{
    (void)state;
    check("\xE2\x80\x9CIt doesn\xE2\x80\x99t add up,\xE2\x80\x9D he said.",
          "\xE2\x80\x9C|It|does|n\xE2\x80\x99t|add|up|,|\xE2\x80\x9D|he|said|.");
    check("China\xE2\x80\x99s plan and Russia's aims.",
          "China|\xE2\x80\x99s|plan|and|Russia|'s|aims|.");
    check("Iran, North Korea and China \xE2\x80\xA6 to stop. Wait... What?",
          "Iran|,|North|Korea|and|China|\xE2\x80\xA6|to|stop|. || Wait|... || What|?");
    check("\"We will win.\" The crowd cheered.", "\"|We|will|win|.|\" || The|crowd|cheered|.");
    check("Peace \xE2\x80\x94 for now -- holds.", "Peace|\xE2\x80\x94|for|now|--|holds|.");
}

static void test_hyphens_and_names(void **state)
{
    (void)state;
    /* hyphens in compounds split as UD EWT has them; names, prefixes and numbers stay whole */
    check("Ban Ki-moon visited Saint-Denis, al-Assad and a 12-year-old long-range pro-Kremlin.",
          "Ban|Ki-moon|visited|Saint-Denis|,|al-Assad|and|a|12|-|year|-|old|long|-|range|"
          "pro-Kremlin|.");
    check("Send e-mail to co-workers post-war, call 713-853-3989.",
          "Send|e-mail|to|co-workers|post-war|,|call|713-853-3989|.");
    check("See http://www.example.com/a-b?x=1. Or mail jo.doe@example.org! Wow!! Really?!",
          "See|http://www.example.com/a-b?x=1|. || Or|mail|jo.doe@example.org|! || "
          "Wow|!! || Really|?!");
    check("O'Brien met AT&T staff.", "O'Brien|met|AT&T|staff|.");
    check("They don't know.", "They|do|n't|know|.");
    /* UD EWT clitics: 'm 're 've 'll 'd split like 's; ca|n't, wo|n't */
    check("I'm sure they're here; we'll see, I'd say they've gone. Can't, won't.",
          "I|'m|sure|they|'re|here|;|we|'ll|see|,|I|'d|say|they|'ve|gone|. || Ca|n't|,|wo|n't|.");
    check("We’re in Rock'n'roll.", "We|’re|in|Rock'n'roll|.");
    /* UD EWT's two-word forms */
    check("I cannot go, we're gonna stay.", "I|can|not|go|,|we|'re|gon|na|stay|.");
}

/* Web-text tokens UD EWT keeps whole: dates and one-letter abbreviations with slashes, file and
 * host names, runs of one symbol, emoticons; and/or still splits. */
static void test_web_tokens(void **state)
{
    (void)state;
    check("On 11/28/2000 b/c of rain and/or snow", "On|11/28/2000|b/c|of|rain|and|/|or|snow");
    check("Open enron.xls at alt.animals.cat or Example.com.",
          "Open|enron.xls|at|alt.animals.cat|or|Example.com|.");
    check("Great food *** ==== $$$ :) ok :-( fine", "Great|food|***|====|$$$|:)|ok|:-(|fine");
    check("Time: 10:30 Note:Do it", "Time|:|10:30|Note|:|Do|it");
}

static void test_paragraphs_split_sentences(void **state)
{
    struct nd_tokens toks;
    const char *text = "First line without stop\nSecond line.";
    (void)state;
    check(text, "First|line|without|stop || Second|line|.");
    assert_int_equal(nd_tokenize(text, strlen(text), &toks), ND_OK);
    assert_int_equal(toks.nsentences, 2);
    assert_int_equal(toks.sentences[1].first, 4);
    assert_int_equal(toks.sentences[1].count, 3);
    assert_int_equal(toks.sentences[1].start, 24);
    assert_true(toks.tokens[4].flags & ND_TOK_NEWLINE);
    nd_tokens_free(&toks);
}

static void test_odd_input(void **state)
{
    struct nd_tokens toks;
    char *big;
    size_t n = 300000;
    (void)state;
    assert_int_equal(nd_tokenize("", 0, &toks), ND_OK);
    assert_int_equal(toks.ntokens, 0);
    nd_tokens_free(&toks);
    /* invalid UTF-8 and NULs: tokens stay in bounds */
    assert_int_equal(nd_tokenize("\xff\xfe a\x00b \xe2\x80", 9, &toks), ND_OK);
    for (size_t i = 0; i < toks.ntokens; i++)
        assert_true(toks.tokens[i].end <= 9);
    nd_tokens_free(&toks);
    /* one huge token is cut into capped pieces */
    big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    assert_int_equal(nd_tokenize(big, n, &toks), ND_OK);
    assert_int_equal(toks.ntokens, (n + ND_TOKEN_MAX_BYTES - 1) / ND_TOKEN_MAX_BYTES);
    for (size_t i = 0; i < toks.ntokens; i++)
        assert_true(toks.tokens[i].end - toks.tokens[i].start <= ND_TOKEN_MAX_BYTES);
    nd_tokens_free(&toks);
    free(big);
    assert_int_equal(nd_utf8_chars("a\xC3\xA9\xE2\x80\x9C", 6), 3);
    /* the eight-bytes-at-a-time path and its tail: ASCII, two-, three- and four-byte characters
     * across word boundaries, every length checked against a byte-by-byte count */
    {
        const char *mix = "Zelenskiy \xE2\x80\x9Cpeace\xE2\x80\x9D in Kyiv \xC3\xA9t\xC3\xA9 "
                          "\xF0\x9F\x98\x80 \xE5\x8C\x97\xE4\xBA\xAC, \x7F\xC2\xA0" "end";
        size_t mlen = strlen(mix);
        for (size_t off = 0; off < 8; off++)
            for (size_t len = 0; off + len <= mlen; len++) {
                size_t want = 0;
                for (size_t i = off; i < off + len; i++)
                    want += ((unsigned char)mix[i] & 0xC0) != 0x80;
                assert_int_equal(nd_utf8_chars(mix + off, len), want);
            }
    }
}

static void test_normalize(void **state)
{
    char *s;
    (void)state;
    s = nd_text_normalize(
        "<p>Caf\x65\xCC\x81 &amp; <b>bar</b></p><p>Line&nbsp;two&#8230;\r\n\r\n\r\nend"
        "\xE2\x80\x8B \xff</p>",
        0);
    /* NFC composes e + combining acute; tags become breaks; references decoded; bad byte U+FFFD */
    assert_string_equal(s, "Caf\xC3\xA9 & bar\nLine two\xE2\x80\xA6\n\nend \xEF\xBF\xBD");
    free(s);
    s = nd_text_normalize("Two\nlines  \t here", 1);
    assert_string_equal(s, "Two lines here");
    free(s);
    s = nd_text_normalize("", 0);
    assert_string_equal(s, "");
    free(s);
    /* a reference, a tag and a non-ASCII letter at every offset of the eight-byte scan */
    for (size_t off = 0; off < 20; off++) {
        char in[64], want[64];
        memset(in, 'x', off);
        memcpy(in + off, "&amp;<b>\xC3\xA9y", 12);
        memset(want, 'x', off);
        memcpy(want + off, "&\xC3\xA9y", 5);
        s = nd_text_normalize(in, 0);
        assert_non_null(s);
        assert_int_equal(strlen(s), off + 4);
        assert_memory_equal(s, want, off + 4);
        free(s);
    }
}

static void test_wire_structure_variants(void **state)
{
    struct nd_story *story = nd_story_new();
    (void)state;
    nd_story_set(&story->body_text, "<p>BEIJING \xE2\x80\x94 China&#8217;s envoy said.</p>"
                                    "<p>Reporting by Joe Bloggs; Editing by Sam Smith</p>");
    nd_enrich_text(story);
    assert_string_equal(story->located, "BEIJING");
    assert_string_equal(story->credit, "Reporting by Joe Bloggs; Editing by Sam Smith");
    assert_string_equal(story->body_text, "China\xE2\x80\x99s envoy said.");
    nd_story_destroy(story);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abbreviations_and_initials),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_quotes_ellipses_dashes),
        cmocka_unit_test(test_hyphens_and_names),
        cmocka_unit_test(test_web_tokens),
        cmocka_unit_test(test_paragraphs_split_sentences),
        cmocka_unit_test(test_odd_input),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_wire_structure_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
