/* bench_parse: feed parsing (MB/s and items/s) per format and article extraction (pages/s), one
 * thread, so every figure is per core. The corpus is generated here (deterministic), plus the
 * trafilatura evaluation pages when ../shared/data/html-extraction is present. Each figure is the
 * median of RUNS runs, printed beside a baseline measured in the same run: libxml2 / jansson parsing
 * the same bytes into a tree and nothing else, so the ratio is what our work on top costs.
 *
 *   bench_parse [RUNS]          (default 7) */
#include <dirent.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"
#include "bench_stats.h"

#define ITEMS 200
#define MIN_RUN_MS 300

static const char *WORDS[] = {"minister", "talks",  "Geneva", "trade",   "agreement", "said",
                              "on",       "Monday", "the",    "officials", "would",   "meet",
                              "again",    "after",  "a",      "week",    "of",        "strikes",
                              "and",      "sanctions", "café", "Zürich", "rates",     "rise"};

static unsigned rng_state = 12345;
static unsigned rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) & 0x7fff;
}

static void sentence(struct nd_buf *b, int words)
{
    for (int i = 0; i < words; i++)
        nd_buf_appendf(b, "%s%s", i ? " " : "", WORDS[rng() % (sizeof(WORDS) / sizeof(WORDS[0]))]);
    nd_buf_append(b, ", and more.", 11);
}

static char *gen_rss(size_t *len)
{
    struct nd_buf b;
    nd_buf_init(&b, 64u << 20);
    nd_buf_appendf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" "
                       "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
                       "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">"
                       "<channel><title>Bench</title><link>http://bench.example/</link>\n");
    for (int i = 0; i < ITEMS; i++) {
        nd_buf_appendf(&b, "<item><title>Item %d: ", i);
        sentence(&b, 8);
        nd_buf_appendf(&b, "</title><link>http://bench.example/news/%d?utm_source=rss</link>"
                           "<guid isPermaLink=\"false\">bench-%d</guid>"
                           "<pubDate>Sat, 28 Nov 2024 %02d:%02d:00 +0100</pubDate>"
                           "<dc:creator>Jane Roe</dc:creator><description>&lt;p&gt;",
                       i, i, i % 24, i % 60);
        sentence(&b, 40);
        nd_buf_appendf(&b, "&lt;/p&gt;</description><content:encoded><![CDATA[");
        for (int p = 0; p < 6; p++) {
            nd_buf_append(&b, "<p>", 3);
            sentence(&b, 50);
            nd_buf_append(&b, " <a href=\"/x\">link</a></p>", 26);
        }
        nd_buf_appendf(&b, "]]></content:encoded></item>\n");
    }
    nd_buf_appendf(&b, "</channel></rss>\n");
    return nd_buf_steal(&b, len);
}

static char *gen_atom(size_t *len)
{
    struct nd_buf b;
    nd_buf_init(&b, 64u << 20);
    nd_buf_appendf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed "
                       "xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"http://bench.example/\">"
                       "<title>Bench</title><id>urn:bench</id>\n");
    for (int i = 0; i < ITEMS; i++) {
        nd_buf_appendf(&b, "<entry><title type=\"html\">Entry %d &amp;amp; ", i);
        sentence(&b, 8);
        nd_buf_appendf(&b, "</title><id>tag:bench,2024:%d</id><link href=\"e/%d\"/>"
                           "<published>2024-11-28T%02d:%02d:00Z</published>"
                           "<author><name>Ann One</name></author><summary>",
                       i, i, i % 24, i % 60);
        sentence(&b, 40);
        nd_buf_appendf(&b, "</summary><content type=\"html\">");
        for (int p = 0; p < 6; p++) {
            nd_buf_append(&b, "&lt;p&gt;", 9);
            sentence(&b, 50);
            nd_buf_append(&b, "&lt;/p&gt;", 10);
        }
        nd_buf_appendf(&b, "</content></entry>\n");
    }
    nd_buf_appendf(&b, "</feed>\n");
    return nd_buf_steal(&b, len);
}

static char *gen_json(size_t *len, int ninjs)
{
    json_t *items = json_array(), *root;
    char *out;
    for (int i = 0; i < ITEMS; i++) {
        struct nd_buf t, body;
        char id[64], date[64];
        json_t *it = json_object();
        nd_buf_init(&t, 1 << 20);
        nd_buf_init(&body, 1 << 20);
        sentence(&t, 8);
        for (int p = 0; p < 6; p++) {
            nd_buf_append(&body, "<p>", 3);
            sentence(&body, 50);
            nd_buf_append(&body, "</p>", 4);
        }
        snprintf(id, sizeof(id), "urn:bench:%d", i);
        snprintf(date, sizeof(date), "2024-11-28T%02d:%02d:00Z", i % 24, i % 60);
        if (ninjs) {
            json_object_set_new(it, "uri", json_string(id));
            json_object_set_new(it, "versioncreated", json_string(date));
            json_object_set_new(it, "pubstatus", json_string("usable"));
            json_object_set_new(it, "headline", json_string(t.data));
            json_object_set_new(it, "body_html", json_string(body.data));
            json_object_set_new(it, "byline", json_string("Jane Roe"));
            json_object_set_new(it, "language", json_string("en"));
        } else {
            json_object_set_new(it, "id", json_string(id));
            json_object_set_new(it, "url", json_string("https://bench.example/x"));
            json_object_set_new(it, "title", json_string(t.data));
            json_object_set_new(it, "content_html", json_string(body.data));
            json_object_set_new(it, "date_published", json_string(date));
        }
        json_array_append_new(items, it);
        nd_buf_free(&t);
        nd_buf_free(&body);
    }
    if (ninjs) {
        root = json_pack("{s:o}", "data", items);
    } else {
        root = json_pack("{s:s,s:s,s:o}", "version", "https://jsonfeed.org/version/1.1", "title",
                         "Bench", "items", items);
    }
    out = json_dumps(root, JSON_INDENT(1));
    *len = strlen(out);
    json_decref(root);
    return out;
}

static char *gen_page(size_t *len)
{
    struct nd_buf b;
    nd_buf_init(&b, 64u << 20);
    nd_buf_appendf(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bench page</title>"
                       "<script>var x = 1;</script></head><body><header><nav>");
    for (int i = 0; i < 30; i++)
        nd_buf_appendf(&b, "<a href=\"/s%d\">Section %d</a> ", i, i);
    nd_buf_appendf(&b, "</nav></header><div class=\"layout\"><article class=\"post\"><h1>Headline</h1>"
                       "<div class=\"entry-content\">");
    for (int p = 0; p < 25; p++) {
        nd_buf_append(&b, "<p>", 3);
        sentence(&b, 60);
        nd_buf_append(&b, "</p>", 4);
    }
    nd_buf_appendf(&b, "</div></article><aside class=\"sidebar\"><ul>");
    for (int i = 0; i < 40; i++)
        nd_buf_appendf(&b, "<li><a href=\"/r%d\">Related story number %d</a></li>", i, i);
    nd_buf_appendf(&b, "</ul></aside></div><div id=\"comments\">");
    for (int i = 0; i < 20; i++) {
        nd_buf_append(&b, "<div class=\"comment\"><p>", 24);
        sentence(&b, 20);
        nd_buf_append(&b, "</p></div>", 10);
    }
    nd_buf_appendf(&b, "</div><footer>Copyright</footer></body></html>");
    return nd_buf_steal(&b, len);
}

/* One timed run: repeat until MIN_RUN_MS has passed; returns seconds per iteration. */
typedef size_t (*work_fn)(const char *data, size_t len, void *arg);

static double time_one(work_fn fn, const char *data, size_t len, void *arg, size_t *items)
{
    int64_t t0 = nd_mono_ms(), t1;
    size_t iters = 0;
    do {
        *items = fn(data, len, arg);
        iters++;
        t1 = nd_mono_ms();
    } while (t1 - t0 < MIN_RUN_MS);
    return (double)(t1 - t0) / 1000.0 / (double)iters;
}

static double median_secs(int runs, work_fn fn, const char *data, size_t len, void *arg,
                          size_t *items)
{
    double *v = calloc((size_t)runs, sizeof(double)), m;
    for (int r = 0; r < runs; r++)
        v[r] = time_one(fn, data, len, arg, items);
    qsort(v, (size_t)runs, sizeof(double), cmp_double);
    m = v[runs / 2];
    free(v);
    return m;
}

static size_t work_feed(const char *data, size_t len, void *arg)
{
    struct nd_parse_opts opts = {.feed_id = "bench", .base_url = "http://bench.example/feed"};
    struct nd_parse_result res;
    char errstr[256];
    size_t n = 0;
    (void)arg;
    if (nd_parse_feed(data, len, &opts, &res, errstr, sizeof(errstr)) == ND_OK)
        n = res.nstories;
    else
        fprintf(stderr, "bench_parse: %s\n", errstr);
    nd_parse_result_free(&res);
    return n;
}

static size_t work_libxml2(const char *data, size_t len, void *arg)
{
    xmlDocPtr doc = xmlReadMemory(data, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
    (void)arg;
    xmlFreeDoc(doc);
    return 0;
}

static size_t work_jansson(const char *data, size_t len, void *arg)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    (void)arg;
    json_decref(root);
    return 0;
}

static size_t work_extract(const char *data, size_t len, void *arg)
{
    struct nd_article art;
    char errstr[256];
    (void)arg;
    nd_html_extract(data, len, NULL, &art, errstr, sizeof(errstr));
    nd_article_free(&art);
    return 1;
}

static size_t work_htmlparse(const char *data, size_t len, void *arg)
{
    htmlDocPtr doc = htmlReadMemory(data, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_RECOVER);
    (void)arg;
    xmlFreeDoc(doc);
    return 1;
}

/* The shared evaluation pages as one batch: work over all of them per iteration. */
struct pages {
    char **data;
    size_t *len, n, bytes;
};

static size_t work_pages(const char *unused, size_t unused_len, void *arg)
{
    struct pages *pg = arg;
    (void)unused;
    (void)unused_len;
    for (size_t i = 0; i < pg->n; i++)
        work_extract(pg->data[i], pg->len[i], NULL);
    return pg->n;
}

static size_t work_pages_baseline(const char *unused, size_t unused_len, void *arg)
{
    struct pages *pg = arg;
    (void)unused;
    (void)unused_len;
    for (size_t i = 0; i < pg->n; i++)
        work_htmlparse(pg->data[i], pg->len[i], NULL);
    return pg->n;
}

static void load_pages(struct pages *pg, const char *dir, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    memset(pg, 0, sizeof(*pg));
    if (!d)
        return;
    pg->data = calloc(max, sizeof(char *));
    pg->len = calloc(max, sizeof(size_t));
    while ((e = readdir(d)) && pg->n < max) {
        char path[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (nd_file_read(path, 16u << 20, &pg->data[pg->n], &pg->len[pg->n]) == ND_OK) {
            pg->bytes += pg->len[pg->n];
            pg->n++;
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    struct {
        const char *name;
        char *data;
        size_t len;
        work_fn baseline;
        const char *baseline_name;
    } feeds[4];
    struct pages pg;
    size_t items;

    if (runs < 1)
        runs = 7;
    xmlInitParser();
    feeds[0].name = "rss2";
    feeds[0].data = gen_rss(&feeds[0].len);
    feeds[1].name = "atom";
    feeds[1].data = gen_atom(&feeds[1].len);
    feeds[2].name = "jsonfeed";
    feeds[2].data = gen_json(&feeds[2].len, 0);
    feeds[3].name = "ninjs";
    feeds[3].data = gen_json(&feeds[3].len, 1);
    for (int i = 0; i < 4; i++) {
        feeds[i].baseline = i < 2 ? work_libxml2 : work_jansson;
        feeds[i].baseline_name = i < 2 ? "libxml2 tree" : "jansson load";
    }

    printf("bench_parse: median of %d runs, one thread (figures are per core)\n", runs);
    printf("%-10s %9s %6s %10s %12s %14s %8s\n", "feed", "bytes", "items", "MB/s", "items/s",
           "baseline MB/s", "ratio");
    for (int i = 0; i < 4; i++) {
        double s = median_secs(runs, work_feed, feeds[i].data, feeds[i].len, NULL, &items);
        double b = median_secs(runs, feeds[i].baseline, feeds[i].data, feeds[i].len, NULL,
                               &(size_t){0});
        double mbs = (double)feeds[i].len / 1e6 / s, bmbs = (double)feeds[i].len / 1e6 / b;
        printf("%-10s %9zu %6zu %10.1f %12.0f %14.1f %7.2fx  (baseline: %s)\n", feeds[i].name,
               feeds[i].len, items, mbs, (double)items / s, bmbs, bmbs / mbs,
               feeds[i].baseline_name);
    }

    {
        size_t len;
        char *page = gen_page(&len);
        double s = median_secs(runs, work_extract, page, len, NULL, &items);
        double b = median_secs(runs, work_htmlparse, page, len, NULL, &items);
        printf("\n%-22s %9s %10s %10s %18s %8s\n", "extract", "bytes", "pages/s", "MB/s",
               "baseline pages/s", "ratio");
        printf("%-22s %9zu %10.0f %10.1f %18.0f %7.2fx  (baseline: libxml2 HTML tree)\n",
               "generated page", len, 1 / s, (double)len / 1e6 / s, 1 / b, s / b);
        free(page);
    }
    load_pages(&pg, NEWSD_SOURCE_DIR "/../shared/data/html-extraction/pages", 100);
    if (pg.n) {
        int r = runs < 3 ? runs : 3;
        double s = median_secs(r, work_pages, NULL, 0, &pg, &items);
        double b = median_secs(r, work_pages_baseline, NULL, 0, &pg, &items);
        printf("%-22s %9zu %10.0f %10.1f %18.0f %7.2fx  (%zu real pages, median of %d)\n",
               "shared eval pages", pg.bytes / pg.n, (double)pg.n / s, (double)pg.bytes / 1e6 / s,
               (double)pg.n / b, s / b, pg.n, r);
        for (size_t i = 0; i < pg.n; i++)
            free(pg.data[i]);
        free(pg.data);
        free(pg.len);
    } else {
        printf("shared eval pages: skipped (../shared/data/html-extraction absent)\n");
    }
    for (int i = 0; i < 4; i++)
        free(feeds[i].data);
    return 0;
}
