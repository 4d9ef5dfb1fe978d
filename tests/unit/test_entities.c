/* Entities end to end with the shipped models: finding, typing, linking, roles, short forms,
 * metonymy, offsets, salience; wire structure kept out; odd input never crashes. The fixture is a
 * story written for this test (tests/fixtures/enrich/), not the seed story. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/enrich.h"
#include "enrich/doc.h"
#include "enrich/entities.h"
#include "enrich/kb.h"
#include "enrich/tagger.h"
#include "story/story.h"

static struct nd_enrich *enrich;

static int setup(void **state)
{
    char errstr[512];
    (void)state;
    enrich = nd_enrich_new(NEWSD_SOURCE_DIR "/models", errstr, sizeof(errstr));
    if (!enrich)
        fprintf(stderr, "models: %s\n", errstr);
    return enrich ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nd_enrich_destroy(enrich);
    return 0;
}

static struct nd_story *fixture_story(const char *headline)
{
    char *data;
    size_t len;
    struct nd_story *story = nd_story_new();
    assert_int_equal(
        nd_file_read(NEWSD_FIXTURES "/enrich/wire-lavrov-fidan.txt", 1 << 20, &data, &len), ND_OK);
    nd_story_set(&story->body_text, data);
    nd_story_set(&story->headline, headline);
    free(data);
    return story;
}

static json_t *entity_named(json_t *ents, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(
        ents, i, e) if (!strcmp(json_string_value(json_object_get(e, "name")), name)) return e;
    return NULL;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const char *id(json_t *e, const char *key)
{
    return str(json_object_get(e, "ids"), key);
}

/* Does some mention of e have this text (and metonym flag when want_metonym >= 0)? */
static int has_mention(json_t *e, const char *text, int want_metonym)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(e, "mentions"), i,
                       m) if (!strcmp(str(m, "text"), text) &&
                              (want_metonym < 0 || json_is_true(json_object_get(m, "metonym")) ==
                                                       want_metonym)) return 1;
    return 0;
}

/* Byte offset of a character offset. */
static size_t byte_at(const char *s, size_t chars)
{
    size_t b = 0;
    while (s[b] && chars) {
        b++;
        while ((s[b] & 0xC0) == 0x80)
            b++;
        chars--;
    }
    return b;
}

static void test_fixture_story(void **state)
{
    struct nd_story *story = fixture_story(NULL);
    json_t *ents, *e;
    size_t i, k;
    (void)state;

    assert_int_equal(nd_enrich_story(enrich, story), ND_OK);
    assert_string_equal(story->byline, "Jane Marlow and Peter Okafor");
    assert_string_equal(story->located, "ANKARA");
    assert_non_null(strstr(story->credit, "Editing by Tom Reed"));
    ents = json_object_get(story->annotations, "entities");
    assert_true(json_is_array(ents));

    /* reporters and editors are credits, not actors */
    assert_null(entity_named(ents, "Jane Marlow"));
    assert_null(entity_named(ents, "Peter Okafor"));
    assert_null(entity_named(ents, "Tom Reed"));

    /* the official: role and country from the text, short forms and "The minister" resolved */
    assert_non_null(e = entity_named(ents, "Sergei Lavrov"));
    assert_string_equal(str(e, "type"), "PERSON");
    assert_string_equal(str(e, "role"), "Foreign Minister");
    assert_string_equal(str(e, "country"), "RUS");
    assert_true(has_mention(e, "Lavrov", -1));
    assert_true(has_mention(e, "The minister", -1));
    assert_int_equal(json_array_size(json_object_get(e, "mentions")), 4);
    assert_non_null(e = entity_named(ents, "Hakan Fidan"));
    assert_string_equal(str(e, "country"), "TUR");
    assert_int_equal(json_array_size(json_object_get(e, "mentions")), 3);
    assert_non_null(e = entity_named(ents, "Volodymyr Zelensky"));
    assert_string_equal(str(e, "role"), "President");
    assert_string_equal(str(e, "country"), "UKR");
    assert_non_null(e = entity_named(ents, "Antonio Guterres"));

    /* capitals: actors when they act, places after "in" */
    assert_non_null(e = entity_named(ents, "Russia"));
    assert_string_equal(id(e, "iso3166"), "RUS");
    assert_string_equal(id(e, "wikidata"), "Q159");
    assert_true(has_mention(e, "Moscow", 1));
    assert_non_null(e = entity_named(ents, "Turkey"));
    assert_true(has_mention(e, "Ankara", 1));
    assert_non_null(e = entity_named(ents, "Ankara"));
    assert_string_equal(str(e, "type"), "GPE");
    assert_string_equal(str(e, "country"), "TUR");
    assert_true(has_mention(e, "Ankara", 0));
    assert_non_null(e = entity_named(ents, "United States"));
    assert_true(has_mention(e, "Washington", 1));
    assert_true(has_mention(e, "United States", 0));
    assert_non_null(e = entity_named(ents, "Ukraine"));
    assert_true(has_mention(e, "Kyiv", 1));
    assert_non_null(e = entity_named(ents, "Istanbul"));
    assert_string_equal(str(e, "type"), "GPE");

    /* organisations and nationalities */
    assert_non_null(e = entity_named(ents, "United Nations"));
    assert_string_equal(id(e, "wikidata"), "Q1065");
    assert_non_null(e = entity_named(ents, "NATO"));
    assert_string_equal(str(e, "type"), "ORG");
    assert_non_null(e = entity_named(ents, "European Union"));
    assert_non_null(e = entity_named(ents, "Syrian"));
    assert_string_equal(str(e, "type"), "NORP");
    assert_string_equal(id(e, "iso3166"), "SYR");
    assert_true(has_mention(e, "Syrians", -1));

    /* every mention's offsets are character offsets into body_text that spell its text */
    json_array_foreach(ents, i, e)
    {
        json_t *m;
        double sal = json_real_value(json_object_get(e, "salience"));
        assert_true(sal > 0 && sal <= 1.0);
        json_array_foreach(json_object_get(e, "mentions"), k, m)
        {
            size_t s =
                byte_at(story->body_text, (size_t)json_integer_value(json_object_get(m, "start")));
            size_t t =
                byte_at(story->body_text, (size_t)json_integer_value(json_object_get(m, "end")));
            assert_int_equal(t - s, strlen(str(m, "text")));
            assert_memory_equal(story->body_text + s, str(m, "text"), t - s);
        }
    }
    /* the story is about Lavrov: the most salient person */
    assert_true(json_real_value(json_object_get(entity_named(ents, "Sergei Lavrov"), "salience")) >
                json_real_value(json_object_get(entity_named(ents, "Hakan Fidan"), "salience")));
    nd_story_destroy(story);
}

static void test_headline_weighs_more(void **state)
{
    struct nd_story *story = fixture_story("Fidan hosts Lavrov as NATO watches");
    json_t *ents, *e, *m;
    size_t i;
    int in_headline = 0;
    (void)state;
    assert_int_equal(nd_enrich_story(enrich, story), ND_OK);
    ents = json_object_get(story->annotations, "entities");
    assert_non_null(e = entity_named(ents, "NATO"));
    json_array_foreach(json_object_get(e, "mentions"), i, m) in_headline +=
        !strcmp(str(m, "field"), "headline");
    assert_int_equal(in_headline, 1);
    /* NATO, once in the body, now outweighs Ukraine (twice in the body and once as Kyiv) */
    assert_true(json_real_value(json_object_get(e, "salience")) >
                json_real_value(json_object_get(entity_named(ents, "Ukraine"), "salience")));
    nd_story_destroy(story);
}

static void test_entities_api(void **state)
{
    struct nd_story *story = fixture_story(NULL);
    struct nd_entities ents;
    const struct nd_entity *e;
    const char *p;
    (void)state;
    nd_enrich_text(story);
    assert_int_equal(nd_entities_find(enrich, story, &ents), ND_OK);
    assert_true(ents.doc && ents.doc->nsents >= 8);
    p = strstr(story->body_text, "Moscow");
    e = nd_entities_at(&ents, (uint32_t)(p - story->body_text),
                       (uint32_t)(p - story->body_text + 6));
    assert_non_null(e);
    assert_string_equal(e->country, "RUS");
    assert_int_equal(e->type, ND_ENT_GPE);
    for (size_t i = 0; i < e->nmentions; i++)
        if (e->mentions[i].start == (uint32_t)(p - story->body_text))
            assert_true(e->mentions[i].metonym);
    nd_entities_free(&ents);
    nd_entities_free(NULL);
    nd_story_destroy(story);
}

/* Places named by a word that heads the KB's place names are places, KB entry or not: the demo's
 * "Senkaku Islands" (in the KB) and island chains and seas it lacks; never organisations. */
static void test_geo_heads(void **state)
{
    static const char *const heads[] = {"Islands", "islands", "Sea", "Strait", "River", "Gulf"};
    static const char *const not_heads[] = {"Bank", "Group", "Party", "City", "Ministry"};
    static const struct {
        const char *text, *name;
    } cases[] = {
        {"Four Chinese coast guard ships entered waters around the disputed Senkaku Islands on "
         "Saturday, the foreign ministry said.",
         "Senkaku Islands"},
        {"Indonesia sent warships to the Natuna Islands after fishing boats were seen there, the "
         "navy said on Monday.",
         "Natuna Islands"},
        {"The navy said three vessels had crossed the Sulu Sea overnight without incident.",
         "Sulu Sea"},
    };
    char errstr[256];
    struct nd_kb *kb = nd_kb_load(NEWSD_SOURCE_DIR "/models/kb.tsv", errstr, sizeof(errstr));
    (void)state;
    assert_non_null(kb);
    for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++)
        assert_true(nd_kb_is_geo_head(kb, nd_kb_tokhash(heads[k], strlen(heads[k]))));
    for (size_t k = 0; k < sizeof(not_heads) / sizeof(not_heads[0]); k++)
        assert_false(nd_kb_is_geo_head(kb, nd_kb_tokhash(not_heads[k], strlen(not_heads[k]))));
    assert_true(nd_kb_name_flags(kb, nd_kb_tokhash("Islands", 7)) & ND_KB_GEOHEAD);
    nd_kb_destroy(kb);
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct nd_story *story = nd_story_new();
        struct nd_entities ents;
        const struct nd_entity *e;
        const char *p;
        nd_story_set(&story->body_text, cases[k].text);
        nd_enrich_text(story);
        assert_int_equal(nd_entities_find(enrich, story, &ents), ND_OK);
        p = strstr(story->body_text, cases[k].name);
        e = nd_entities_at(&ents, (uint32_t)(p - story->body_text),
                           (uint32_t)(p - story->body_text + strlen(cases[k].name)));
        if (!e || e->type != ND_ENT_LOC)
            fprintf(stderr, "%s: %s\n", cases[k].name, e ? nd_ent_type_name(e->type) : "not found");
        assert_non_null(e);
        assert_int_equal(e->type, ND_ENT_LOC);
        nd_entities_free(&ents);
        nd_story_destroy(story);
    }
}

static void enrich_text(const char *body, size_t len)
{
    struct nd_story *story = nd_story_new();
    story->body_text = malloc(len + 1);
    memcpy(story->body_text, body, len);
    story->body_text[len] = '\0';
    assert_int_equal(nd_enrich_story(enrich, story), ND_OK);
    assert_true(json_is_array(json_object_get(story->annotations, "entities")));
    nd_story_destroy(story);
}

/* A 5 MB story of the same sentence: every count capped, salience still from all mentions. */
static void test_caps(void **state)
{
    size_t big = 5u << 20;
    struct nd_story *story = nd_story_new();
    struct nd_entities ents;
    (void)state;
    story->body_text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        story->body_text[i] = "Blinken met Wang Yi in Beijing. "[i % 32];
    story->body_text[big] = '\0';
    nd_enrich_text(story);
    assert_int_equal(nd_entities_find(enrich, story, &ents), ND_OK);
    assert_true(ents.nentities >= 2 && ents.nentities <= ND_ENT_MAX_ENTITIES);
    for (size_t i = 0; i < ents.nentities; i++) {
        assert_true(ents.entities[i].nmentions <= ND_ENT_MAX_MENTIONS);
        assert_true(ents.entities[i].mention_total >= ents.entities[i].nmentions);
    }
    assert_int_equal(ents.entities[0].mention_total, big / 32);
    nd_entities_free(&ents);
    nd_story_destroy(story);
}

static void test_odd_input(void **state)
{
    size_t big = 5u << 20;
    char *buf = malloc(big + 1);
    (void)state;
    enrich_text("", 0);
    enrich_text("\xff\xfe\xfd\x80\x80 China \xc3", 14);
    for (size_t i = 0; i < 4096; i++)
        buf[i] = (char)(i * 7919 % 251 + 1);
    enrich_text(buf, 4096);
    memset(buf, 'x', big);
    enrich_text(buf, big); /* one 5 MB token */
    for (size_t i = 0; i < big; i++)
        buf[i] = "Blinken met Wang Yi in Beijing. "[i % 32];
    enrich_text(buf, big); /* a 5 MB story */
    free(buf);
}

static void test_enrich_file_lines(void **state)
{
    char path[] = "/tmp/newsd-test-enrich-XXXXXX", *out = NULL;
    size_t outlen = 0;
    int fd = mkstemp(path);
    FILE *fp, *os, *es;
    char *errs = NULL;
    size_t errlen = 0;
    (void)state;
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    fputs("{\"headline\":\"One\",\"body_text\":\"Wang Yi met Sergei Lavrov in Beijing.\"}\n"
          "{\"headline\": broken\n"
          "{\"body_text\":\"Talks in Paris.\"}\n",
          fp);
    fclose(fp);
    os = open_memstream(&out, &outlen);
    es = open_memstream(&errs, &errlen);
    assert_int_equal(nd_enrich_file(enrich, path, os, es), 1);
    fclose(os);
    fclose(es);
    /* two stories out, in order; the bad line named */
    assert_non_null(strstr(out, "\"headline\":\"One\""));
    assert_non_null(strstr(out, "Paris"));
    assert_true(strstr(out, "One") < strstr(out, "Paris"));
    assert_int_equal(strchr(strchr(out, '\n') + 1, '\n') - out + 1, (long)outlen);
    assert_non_null(strstr(errs, ":2: invalid JSON"));
    free(out);
    free(errs);
    unlink(path);
}

/* An empty or all-whitespace file is no story (not one empty story), said on stderr, no error. */
static void test_enrich_file_empty(void **state)
{
    static const char *const inputs[] = {"", " \n\t\r\n"};
    static const char *const why[] = {": empty, no story in it\n", ": only whitespace, no story in it\n"};
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        char path[] = "/tmp/newsd-test-enrich-XXXXXX", *out = NULL, *errs = NULL;
        size_t outlen = 0, errlen = 0;
        int fd = mkstemp(path);
        FILE *fp, *os, *es;
        assert_true(fd >= 0);
        fp = fdopen(fd, "w");
        fputs(inputs[i], fp);
        fclose(fp);
        os = open_memstream(&out, &outlen);
        es = open_memstream(&errs, &errlen);
        assert_int_equal(nd_enrich_file(enrich, path, os, es), 0);
        fclose(os);
        fclose(es);
        assert_int_equal(outlen, 0);
        assert_non_null(strstr(errs, path));
        assert_non_null(strstr(errs, why[i]));
        free(out);
        free(errs);
        unlink(path);
    }
}

/* `newsd tag --conll`: one output line per input line, blank lines and -DOCSTART- kept, IOB2 valid,
 * and the obvious names tagged. */
static void test_tag_conll_layout(void **state)
{
    const char *in =
        "-DOCSTART- -X- -X- O\n\nGerman JJ B-NP B-MISC\nChancellor NNP I-NP O\n"
        "Helmut NNP I-NP B-PER\nKohl NNP I-NP I-PER\nvisited VBD B-VP O\n"
        "Paris NNP B-NP B-LOC\n. . O O\n\n-DOCSTART- -X- -X- O\n\nReuters NNP B-NP B-ORG\n";
    char errstr[256], path[4096], *out = NULL, *line, *save = NULL;
    size_t outlen = 0, nin = 0, nout = 0;
    struct nd_kb *kb;
    struct nd_tagger *tagger;
    FILE *os;
    int prev = 0;
    (void)state;
    snprintf(path, sizeof(path), "%s/models/kb.tsv", NEWSD_SOURCE_DIR);
    assert_non_null(kb = nd_kb_load(path, errstr, sizeof(errstr)));
    snprintf(path, sizeof(path), "%s/models/ner.bin", NEWSD_SOURCE_DIR);
    assert_non_null(tagger = nd_tagger_load(path, errstr, sizeof(errstr)));
    os = open_memstream(&out, &outlen);
    assert_int_equal(nd_tagger_conll(tagger, kb, in, strlen(in), os, errstr, sizeof(errstr)),
                     ND_OK);
    fclose(os);
    for (const char *p = in; *p; p++)
        nin += *p == '\n';
    for (const char *p = out; *p; p++)
        nout += *p == '\n';
    assert_int_equal(nin, nout);
    assert_non_null(strstr(out, "-DOCSTART-\tO\n\nGerman\tB-MISC\n"));
    assert_non_null(strstr(out, "Helmut\tB-PER\nKohl\tI-PER\n"));
    assert_non_null(strstr(out, "Paris\tB-LOC\n.\tO\n\n-DOCSTART-\tO\n\nReuters\tB-ORG\n"));
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *tab = strchr(line, '\t');
        int l;
        assert_non_null(tab);
        l = nd_ner_label(tab + 1);
        assert_true(l >= 0);
        /* I-X only after B-X or I-X */
        if (l && !(l & 1))
            assert_true(prev && (prev + 1) / 2 == (l + 1) / 2);
        prev = l;
    }
    free(out);
    nd_tagger_destroy(tagger);
    nd_kb_destroy(kb);
    /* not a model */
    assert_null(nd_tagger_load(NEWSD_SOURCE_DIR "/models/kb.tsv", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "not a newsd NER model"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_story),
        cmocka_unit_test(test_headline_weighs_more),
        cmocka_unit_test(test_entities_api),
        cmocka_unit_test(test_geo_heads),
        cmocka_unit_test(test_odd_input),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_enrich_file_lines),
        cmocka_unit_test(test_enrich_file_empty),
        cmocka_unit_test(test_tag_conll_layout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
