/* bench_syntax: tagging and parsing speed and the model's memory.
 *
 *   bench_syntax [MODEL] [CONLLU]   defaults: models/syntax.bin, EWT dev (../shared/data)
 *
 * Loads the model (resident memory before and after), reads the sentences' words, then tags and
 * parses all of them five times on one thread; prints the median tokens per second for tag+parse
 * together and for tagging alone. One thread: the figure is per core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"
#include "enrich/conllu.h"
#include "enrich/syntax.h"
#include "enrich/syntax_int.h"

#define RUNS 5

struct words {
    struct nd_syntax_word *w;
    size_t n, cap;
    size_t *sent; /* start of each sentence in w */
    size_t nsent, scap;
};

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum nd_err add(const struct nd_conllu_sent *sent, void *arg)
{
    struct words *ws = arg;
    if (ws->nsent + 1 >= ws->scap) {
        ws->scap = ws->scap ? ws->scap * 2 : 1024;
        ws->sent = realloc(ws->sent, ws->scap * sizeof(*ws->sent));
    }
    ws->sent[ws->nsent++] = ws->n;
    for (size_t i = 0; i < sent->nlines; i++) {
        const struct nd_conllu_line *l = &sent->lines[i];
        if (l->kind != ND_CONLLU_WORD)
            continue;
        if (ws->n == ws->cap) {
            ws->cap = ws->cap ? ws->cap * 2 : 65536;
            ws->w = realloc(ws->w, ws->cap * sizeof(*ws->w));
        }
        ws->w[ws->n].form = l->col[ND_CU_FORM];
        ws->w[ws->n].xpos_hint = 0;
        ws->w[ws->n++].len = l->collen[ND_CU_FORM];
    }
    ws->sent[ws->nsent] = ws->n;
    return ws->w && ws->sent ? ND_OK : ND_ERR_NOMEM;
}

static double run(const struct nd_syntax *syntax, const struct words *ws, int parse)
{
    uint8_t upos[4096], xpos[4096], deprel[4096];
    uint32_t head[4096];
    struct nd_syntax_out out = {upos, xpos, deprel, head};
    double t0 = now_s();
    for (size_t s = 0; s < ws->nsent; s++) {
        size_t a = ws->sent[s], n = ws->sent[s + 1] - a;
        if (parse)
            nd_syntax_parse(syntax, ws->w + a, n, &out);
        else
            nd_syntax_tag(syntax, ws->w + a, n, &out);
    }
    return (double)ws->n / (now_s() - t0);
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : NEWSD_SOURCE_DIR "/models/syntax.bin";
    const char *data = argc > 2 ? argv[2]
                                : NEWSD_SOURCE_DIR
        "/../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu.gz";
    char errstr[512], *text = NULL;
    struct words ws = {0};
    struct nd_syntax *syntax;
    double both[RUNS], tag[RUNS];
    long rss0, rss1;
    size_t len;

    rss0 = rss_kb();
    if (!(syntax = nd_syntax_load(model, errstr, sizeof(errstr)))) {
        fprintf(stderr, "bench_syntax: %s\n", errstr);
        return 1;
    }
    rss1 = rss_kb();
    if (nd_conllu_file_read(data, 64u << 20, &text, &len) != ND_OK ||
        nd_conllu_read(text, len, add, &ws, errstr, sizeof(errstr)) != ND_OK) {
        fprintf(stderr, "bench_syntax: %s: cannot read\n", data);
        return 1;
    }
    for (int r = 0; r < RUNS; r++) {
        both[r] = run(syntax, &ws, 1);
        tag[r] = run(syntax, &ws, 0);
    }
    printf("bench_syntax: %zu sentences, %zu tokens (%s)\n", ws.nsent, ws.n, data);
    printf("bench_syntax: tag+parse %.0f tokens/s per core (median of %d)\n", median(both, RUNS),
           RUNS);
    printf("bench_syntax: tag only  %.0f tokens/s per core (median of %d)\n", median(tag, RUNS),
           RUNS);
    printf("bench_syntax: model resident memory %.1f MB (RSS %.1f MB before load, %.1f after)\n",
           (double)(rss1 - rss0) / 1024, (double)rss0 / 1024, (double)rss1 / 1024);
    for (int t = 0; t < SYN_NTABS; t++) {
        static const char *const names[SYN_NTABS] = {"xpos", "upos", "move", "label"};
        const struct syn_table *tab = &syntax->tabs[t];
        printf("bench_syntax: table %-5s 2^%u rows, %u classes, %u weights\n", names[t], tab->bits,
               tab->k, tab->nent);
    }
    nd_syntax_destroy(syntax);
    free(ws.w);
    free(ws.sent);
    free(text);
    return 0;
}
