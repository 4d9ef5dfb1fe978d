/* newsd: argv, subcommands and signals. The work is done in pkg/. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "cluster/cluster.h"
#include "config/config.h"
#include "core/core.h"
#include "daemon/daemon.h"
#include "enrich/doc.h"
#include "enrich/enrich.h"
#include "enrich/kb.h"
#include "enrich/sentsplit.h"
#include "enrich/syntax.h"
#include "enrich/tagger.h"
#include "parse/parse.h"
#include "server/server.h"

/* Set by signal handlers; the loops poll them (Redis's shutdown_asap). */
static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* A data file or folder of newsd ("models", "desks.yaml", "demo/feeds"): $env when set, else found
 * beside the executable (nd_path_data: the install prefix's share/newsd, or a build tree's links),
 * never through a compiled-in source folder. One that does not exist is given anyway: the error of
 * whatever reads it names it. path is initialised here; free it with nd_buf_free. */
static int data_path(struct nd_buf *path, const char *env, const char *name)
{
    const char *set = getenv(env);
    enum nd_err err;
    if (set && *set) {
        nd_buf_init(path, ND_PATH_MAX);
        err = nd_buf_append(path, set, strlen(set));
    } else if ((err = nd_path_data(path, name)) == ND_ERR_NOTFOUND && path->len) {
        err = ND_OK;
    }
    if (err == ND_OK)
        return 0;
    fprintf(stderr, "newsd: cannot locate %s (%s); set %s\n", name, nd_err_str(err), env);
    nd_buf_free(path);
    return -1;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL;
    struct nd_config *conf;
    struct nd_daemon *daemon;
    char errstr[1024];
    enum nd_log_level level;
    int opt, status;

    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'}, {0}};
    while ((opt = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
        if (opt == 'c')
            path = optarg;
        else
            return 2;
    }
    if (!path) {
        fprintf(stderr, "usage: newsd run -c FILE\n");
        return 2;
    }
    nd_alloc_tune();
    conf = nd_config_new();
    if (nd_config_load(conf, path, stderr) != 0) {
        fprintf(stderr, "newsd: %s has errors; not starting\n", path);
        nd_config_destroy(conf);
        return 1;
    }
    if (nd_log_level_parse(conf->log_level, &level) == 0)
        nd_log_set_level(level);
    struct nd_buf models;
    if (data_path(&models, "NEWSD_MODELS", "models")) {
        nd_config_destroy(conf);
        return 1;
    }
    struct nd_daemon_opts opts = {.conf = conf,
                                  .config_path = path,
                                  .reload = &reload_flag,
                                  .models_dir = models.data};
    int nerr = 0;
    status = 1;
    opts.desks = nd_desks_load(conf->desks, opts.models_dir, stderr, &nerr);
    if (nerr) {
        fprintf(stderr, "newsd: %s: the desks have errors; not starting\n", path);
        goto out;
    }
    install_signals();
    if (!(daemon = nd_daemon_new(&opts, errstr, sizeof(errstr)))) {
        nd_error("main", "%s", errstr);
        goto out;
    }
    status = nd_daemon_run(daemon, &stop_flag);
    nd_daemon_destroy(daemon);
out:
    nd_buf_free(&models);
    nd_config_destroy(conf);
    return status;
}

static int cmd_demo(int argc, char **argv)
{
    const char *feeds = NULL, *desks = NULL;
    struct nd_buf feeds_found, desks_found, models;
    struct nd_demo_opts demo = {.port = 8088, .interval_s = 5};
    int opt, status = 1;
    static const struct option longopts[] = {{"feeds", required_argument, NULL, 'f'},
                                             {"desks", required_argument, NULL, 'd'},
                                             {"seconds", required_argument, NULL, 's'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"interval", required_argument, NULL, 'i'},
                                             {0}};
    while ((opt = getopt_long(argc, argv, "f:d:s:p:i:", longopts, NULL)) != -1) {
        if (opt == 'f')
            feeds = optarg;
        else if (opt == 'd')
            desks = optarg;
        else if (opt == 's')
            demo.seconds = atoi(optarg);
        else if (opt == 'p')
            demo.port = atoi(optarg);
        else if (opt == 'i')
            demo.interval_s = atoi(optarg);
        else
            return 2;
    }
    if (demo.port < 0 || demo.port > 65535 || demo.interval_s < 1) {
        fprintf(stderr, "newsd demo: --port 0..65535 (0: any free port), --interval 1 or more\n");
        return 2;
    }
    nd_buf_init(&feeds_found, 0);
    nd_buf_init(&desks_found, 0);
    nd_buf_init(&models, 0);
    if ((!feeds && data_path(&feeds_found, "NEWSD_DEMO_FEEDS", "demo/feeds")) ||
        (!desks && data_path(&desks_found, "NEWSD_DEMO_DESKS", "desks.yaml")) ||
        data_path(&models, "NEWSD_MODELS", "models"))
        goto out;
    install_signals();
    demo.feeds_dir = feeds ? feeds : feeds_found.data;
    demo.desks_path = desks ? desks : desks_found.data;
    demo.models_dir = models.data;
    status = nd_demo_main(&demo, &stop_flag);
out:
    nd_buf_free(&feeds_found);
    nd_buf_free(&desks_found);
    nd_buf_free(&models);
    return status;
}

static int cmd_parse(int argc, char **argv)
{
    const char *path = "-";
    char *data;
    size_t len;
    char errstr[1024];
    struct nd_parse_result res;
    struct nd_parse_opts opts = {.feed_id = "cli"};
    enum nd_err err;
    int opt;

    static const struct option longopts[] = {{"base", required_argument, NULL, 'b'},
                                             {"content-type", required_argument, NULL, 't'},
                                             {"feed-id", required_argument, NULL, 'f'},
                                             {0}};
    while ((opt = getopt_long(argc, argv, "b:t:f:", longopts, NULL)) != -1) {
        if (opt == 'b')
            opts.base_url = optarg;
        else if (opt == 't')
            opts.content_type = optarg;
        else if (opt == 'f')
            opts.feed_id = optarg;
        else {
            fprintf(stderr, "usage: newsd parse [--base URL] [--content-type CT] FILE|-\n");
            return 2;
        }
    }
    if (optind < argc)
        path = argv[optind];
    if ((err = nd_file_read(path, 256u << 20, &data, &len)) != ND_OK) {
        fprintf(stderr, "newsd parse: %s: %s\n", path, nd_err_str(err));
        return 1;
    }
    if (nd_parse_feed(data, len, &opts, &res, errstr, sizeof(errstr)) != ND_OK) {
        fprintf(stderr, "newsd parse: %s: %s\n", path, errstr);
        nd_parse_result_free(&res);
        free(data);
        return 1;
    }
    for (size_t i = 0; i < res.nstories; i++) {
        json_t *doc = nd_story_to_json(res.stories[i]);
        char *line = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(line);
        free(line);
        json_decref(doc);
    }
    if (res.repairs)
        fprintf(stderr, "newsd parse: %s: %d repairs%s%s\n", path, res.repairs,
                res.notes ? ": " : "", res.notes ? res.notes : "");
    nd_parse_result_free(&res);
    free(data);
    return 0;
}

static int cmd_extract(int argc, char **argv)
{
    const char *path = "-";
    int as_json = 0, opt;
    char *data;
    size_t len;
    char errstr[1024];
    struct nd_article art;
    enum nd_err err;

    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
        if (opt == 'j')
            as_json = 1;
        else {
            fprintf(stderr, "usage: newsd extract [--json] PAGE.html|-\n");
            return 2;
        }
    }
    if (optind < argc)
        path = argv[optind];
    if ((err = nd_file_read(path, 256u << 20, &data, &len)) != ND_OK) {
        fprintf(stderr, "newsd extract: %s: %s\n", path, nd_err_str(err));
        return 1;
    }
    err = nd_html_extract(data, len, NULL, &art, errstr, sizeof(errstr));
    free(data);
    if (err != ND_OK) {
        fprintf(stderr, "newsd extract: %s: %s\n", path, errstr);
        nd_article_free(&art);
        return 1;
    }
    if (as_json) {
        json_t *doc = json_object();
        char *line;
        if (art.headline)
            json_object_set_new(doc, "headline", json_string(art.headline));
        if (art.byline)
            json_object_set_new(doc, "byline", json_string(art.byline));
        if (art.published_at) {
            char ts[40];
            nd_time_rfc3339(art.published_at, ts, sizeof(ts));
            json_object_set_new(doc, "published", json_string(ts));
        }
        json_object_set_new(doc, "text", json_string(art.text));
        line = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(line);
        free(line);
        json_decref(doc);
    } else {
        puts(art.text);
    }
    nd_article_free(&art);
    return 0;
}

static int cmd_check_config(int argc, char **argv)
{
    struct nd_config *conf;
    int nerr;
    if (argc < 2) {
        fprintf(stderr, "usage: newsd check-config FILE\n");
        return 2;
    }
    struct nd_desks *desks;
    struct nd_buf models;
    if (data_path(&models, "NEWSD_MODELS", "models"))
        return 1;
    conf = nd_config_new();
    nerr = nd_config_load(conf, argv[1], stdout);
    desks = nd_desks_load(conf->desks, models.data, stdout, &nerr);
    nd_buf_free(&models);
    if (nerr == 0 && *conf->cluster_feeds_topic)
        printf("%s: valid (cluster mode: feeds from %s; the file's %zu feeds are what `newsd feeds "
               "publish` writes there; %zu desks)\n",
               argv[1], conf->cluster_feeds_topic, conf->nfeeds, nd_desks_count(desks));
    else if (nerr == 0)
        printf("%s: valid (%zu feeds, %zu desks)\n", argv[1], conf->nfeeds,
               nd_desks_count(desks));
    else
        printf("%s: %d error%s\n", argv[1], nerr, nerr == 1 ? "" : "s");
    nd_desks_destroy(desks);
    nd_config_destroy(conf);
    return nerr == 0 ? 0 : 1;
}

/* The container's HEALTHCHECK (the runtime image has no curl binary): by default readiness, /readyz,
 * which answers 200 only once Kafka is reachable and the feed state restored, so Compose's
 * `service_healthy` means publishing; --live asks /healthz (the process answers) instead. With -c
 * the port and address come from the config file (and the environment), else from
 * NEWSD_SERVER_PORT or the default; a URL argument is probed as given. */
static int cmd_healthcheck(int argc, char **argv)
{
    const char *config = NULL, *page = "/readyz", *port = getenv("NEWSD_SERVER_PORT");
    char errstr[1024];
    struct nd_buf url;
    int opt, status = 1;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"live", no_argument, NULL, 'l'},
                                             {0}};
    while ((opt = getopt_long(argc, argv, "c:l", longopts, NULL)) != -1) {
        if (opt == 'c')
            config = optarg;
        else if (opt == 'l')
            page = "/healthz";
        else {
            fprintf(stderr, "usage: newsd healthcheck [--live] [-c FILE | URL]\n");
            return 2;
        }
    }
    nd_buf_init(&url, 2048);
    if (config) {
        struct nd_config *conf = nd_config_new();
        int nerr = nd_config_load(conf, config, stderr);
        const char *host = conf->server_bind;
        if (!strcmp(host, "0.0.0.0"))
            host = "127.0.0.1";
        else if (!strcmp(host, "::"))
            host = "::1";
        nd_buf_appendf(&url, strchr(host, ':') ? "http://[%s]:%d%s" : "http://%s:%d%s", host,
                       conf->server_port, page);
        nd_config_destroy(conf);
        if (nerr)
            goto out;
    } else if (optind < argc) {
        nd_buf_append(&url, argv[optind], strlen(argv[optind]));
    } else {
        nd_buf_appendf(&url, "http://127.0.0.1:%s%s", port && *port ? port : "8080", page);
    }
    if (!url.len)
        fprintf(stderr, "newsd healthcheck: URL too long\n");
    else if (nd_server_probe(url.data, 3000, errstr, sizeof(errstr)) != ND_OK)
        fprintf(stderr, "newsd healthcheck: %s\n", errstr);
    else
        status = 0;
out:
    nd_buf_free(&url);
    return status;
}

static int cmd_alerts(int argc, char **argv)
{
    install_signals();
    return nd_alert_view_main(argc, argv, &stop_flag);
}

/* newsd feeds publish|delete: the feed definitions of cluster mode, written to cluster.feeds_topic. */
static int cmd_feeds(int argc, char **argv)
{
    const char *path = NULL, *action = argc > 1 ? argv[1] : "";
    struct nd_config *conf;
    char errstr[1024];
    int opt, partitions = 12, n, status = 1;

    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"partitions", required_argument, NULL, 'p'},
                                             {0}};
    if (strcmp(action, "publish") && strcmp(action, "delete")) {
        fprintf(stderr, "usage: newsd feeds publish -c FILE [--partitions N]\n"
                        "       newsd feeds delete -c FILE ID...\n");
        return 2;
    }
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "c:p:", longopts, NULL)) != -1) {
        if (opt == 'c')
            path = optarg;
        else if (opt == 'p' && atoi(optarg) > 0)
            partitions = atoi(optarg);
        else
            return 2;
    }
    if (!path || (!strcmp(action, "delete") && optind + 1 >= argc)) {
        fprintf(stderr, "usage: newsd feeds %s -c FILE%s\n", action,
                strcmp(action, "delete") ? " [--partitions N]" : " ID...");
        return 2;
    }
    conf = nd_config_new();
    if (nd_config_load(conf, path, stderr) != 0) {
        fprintf(stderr, "newsd: %s has errors; nothing written\n", path);
        goto out;
    }
    if (!strcmp(action, "publish")) {
        n = nd_cluster_publish_feeds(conf, partitions, NULL, 0, errstr, sizeof(errstr));
    } else {
        /* only tombstones: the file gives the brokers and the topic, not the feeds */
        size_t nfeeds = conf->nfeeds;
        conf->nfeeds = 0;
        n = nd_cluster_publish_feeds(conf, partitions, (const char *const *)argv + optind + 1,
                                     (size_t)(argc - optind - 1), errstr, sizeof(errstr));
        conf->nfeeds = nfeeds;
    }
    if (n < 0) {
        fprintf(stderr, "newsd: %s\n", errstr);
        goto out;
    }
    printf("%s: %d record%s written\n", conf->cluster_feeds_topic, n, n == 1 ? "" : "s");
    status = 0;
out:
    nd_config_destroy(conf);
    return status;
}

static int cmd_config_doc(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    nd_config_print_doc(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("newsd %s (allocator %s)\n", NEWSD_VERSION, NEWSD_ALLOCATOR);
    return 0;
}

/* newsd train-ner [--data CONLL]... [--out FILE] [--epochs N] [--clusters TSV|none]: the tagger
 * shipped in models/ner.bin, with the word clusters of models/clusters.tsv. Without --data:
 * CoNLL-2003 train.txt and dev.txt in shared/data beside the source tree the models folder belongs
 * to (models/../../shared/data; a build tree's models link to the source tree's). */
static int cmd_train_ner(int argc, char **argv)
{
    const char *data[ND_TRAIN_MAX_FILES], *out = NULL, *clusters_arg = NULL;
    static const char *const defaults[] = {"../../shared/data/conll2003/train.txt",
                                           "../../shared/data/conll2003/dev.txt"};
    struct nd_buf models, found[2], out_found, kbpath, clpath;
    char errstr[1024];
    size_t ndata = 0;
    int epochs = 12, opt, status = 1;
    struct nd_kb *kb = NULL;
    struct nd_clusters *clusters = NULL;
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"epochs", required_argument, NULL, 'e'},
                                             {"clusters", required_argument, NULL, 'c'},
                                             {0}};
    while ((opt = getopt_long(argc, argv, "d:o:e:c:", longopts, NULL)) != -1) {
        if (opt == 'd' && ndata < ND_TRAIN_MAX_FILES)
            data[ndata++] = optarg;
        else if (opt == 'd')
            return fprintf(stderr, "newsd train-ner: at most %d --data files\n",
                           ND_TRAIN_MAX_FILES),
                   2;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'e')
            epochs = atoi(optarg);
        else if (opt == 'c')
            clusters_arg = optarg;
        else
            return 2;
    }
    if (data_path(&models, "NEWSD_MODELS", "models"))
        return 1;
    nd_buf_init(&found[0], 0);
    nd_buf_init(&found[1], 0);
    nd_buf_init(&out_found, 0);
    nd_buf_init(&kbpath, 0);
    nd_buf_init(&clpath, 0);
    if (nd_path_join(&found[0], models.data, defaults[0]) ||
        nd_path_join(&found[1], models.data, defaults[1]) ||
        nd_path_join(&out_found, models.data, "ner.bin") ||
        nd_path_join(&kbpath, models.data, "kb.tsv") ||
        nd_path_join(&clpath, models.data, "clusters.tsv")) {
        snprintf(errstr, sizeof(errstr), "models folder path too long");
        goto out;
    }
    if (!clusters_arg)
        clusters_arg = clpath.data;
    if (!(kb = nd_kb_load(kbpath.data, errstr, sizeof(errstr))) ||
        (strcmp(clusters_arg, "none") &&
         !(clusters = nd_clusters_load_tsv(clusters_arg, errstr, sizeof(errstr)))))
        goto out;
    if (!ndata) {
        data[ndata++] = found[0].data;
        data[ndata++] = found[1].data;
    }
    if (nd_tagger_train(data, ndata, kb, clusters, out ? out : out_found.data, epochs, stderr,
                        errstr, sizeof(errstr)) == ND_OK)
        status = 0;
out:
    if (status)
        fprintf(stderr, "newsd train-ner: %s\n", errstr);
    nd_clusters_destroy(clusters);
    nd_kb_destroy(kb);
    nd_buf_free(&clpath);
    nd_buf_free(&kbpath);
    nd_buf_free(&out_found);
    nd_buf_free(&found[1]);
    nd_buf_free(&found[0]);
    nd_buf_free(&models);
    return status;
}

/* newsd tag --conll: CoNLL tokens on stdin, token<TAB>IOB2 label on stdout. */
static int cmd_tag(int argc, char **argv)
{
    char errstr[1024] = "models folder path too long";
    struct nd_buf models, path;
    struct nd_kb *kb = NULL;
    struct nd_tagger *tagger = NULL;
    char *data = NULL;
    size_t len;
    int status = 1;
    enum nd_err err;

    if (argc < 2 || strcmp(argv[1], "--conll")) {
        fprintf(stderr, "usage: newsd tag --conll < FILE\n");
        return 2;
    }
    if (data_path(&models, "NEWSD_MODELS", "models"))
        return 1;
    if (nd_path_join(&path, models.data, "kb.tsv") ||
        !(kb = nd_kb_load(path.data, errstr, sizeof(errstr))))
        goto out;
    nd_buf_free(&path);
    if (nd_path_join(&path, models.data, "ner.bin") ||
        !(tagger = nd_tagger_load(path.data, errstr, sizeof(errstr))))
        goto out;
    if ((err = nd_file_read("-", 1u << 30, &data, &len)) != ND_OK) {
        snprintf(errstr, sizeof(errstr), "stdin: %s", nd_err_str(err));
        goto out;
    }
    if (nd_tagger_conll(tagger, kb, data, len, stdout, errstr, sizeof(errstr)) == ND_OK)
        status = 0;
out:
    if (status)
        fprintf(stderr, "newsd tag: %s\n", errstr);
    free(data);
    nd_tagger_destroy(tagger);
    nd_kb_destroy(kb);
    nd_buf_free(&path);
    nd_buf_free(&models);
    return status;
}

/* A trainer's options on UD English EWT: --train F --dev F --out F --epochs N --bits N --seed N
 * (each left as the caller set it when absent). Nonzero on an unknown option. */
struct train_args {
    const char *train, *dev, *out;
    int epochs;
    unsigned bits;
    unsigned long long seed;
};

static int train_args(int argc, char **argv, struct train_args *a)
{
    static const struct option longopts[] = {{"train", required_argument, NULL, 't'},
                                             {"dev", required_argument, NULL, 'd'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"epochs", required_argument, NULL, 'e'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"bits", required_argument, NULL, 'b'},
                                             {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "t:d:o:e:s:b:", longopts, NULL)) != -1) {
        if (opt == 't')
            a->train = optarg;
        else if (opt == 'd')
            a->dev = optarg;
        else if (opt == 'o')
            a->out = optarg;
        else if (opt == 'e')
            a->epochs = atoi(optarg);
        else if (opt == 's')
            a->seed = strtoull(optarg, NULL, 10);
        else if (opt == 'b')
            a->bits = (unsigned)atoi(optarg);
        else
            return 1;
    }
    return 0;
}

/* The default files of a trainer on UD English EWT: the models folder, EWT train and dev beside the
 * repository (../shared/data/ud-english-ewt) and models/<outname>. Each buffer is initialised
 * here (free them all whatever happens); nonzero when a path does not fit. */
static int ewt_paths(struct nd_buf *models, struct nd_buf *train, struct nd_buf *dev,
                     struct nd_buf *out, const char *outname)
{
    nd_buf_init(models, 0);
    nd_buf_init(train, 0);
    nd_buf_init(dev, 0);
    nd_buf_init(out, 0);
    return data_path(models, "NEWSD_MODELS", "models") ||
           nd_path_join(train, models->data,
                        "../../shared/data/ud-english-ewt/en_ewt-ud-train.conllu.gz") ||
           nd_path_join(dev, models->data,
                        "../../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu.gz") ||
           nd_path_join(out, models->data, outname);
}

/* newsd train-syntax [--train F] [--dev F] [--out F] [--epochs N] [--seed N] [--bits N]:
 * models/syntax.bin from UD English EWT (../shared/data/ud-english-ewt beside the repo). */
static int cmd_train_syntax(int argc, char **argv)
{
    struct train_args a = {NULL, NULL, NULL, 0, 0, 1};
    struct nd_buf models, train_found, dev_found, out_found;
    struct nd_syntax_train_opts o = {.epochs = 0, .seed = 1};
    char errstr[1024] = "models folder or EWT path not found or too long";
    int status = 1;
    if (train_args(argc, argv, &a))
        return 2;
    o.epochs = a.epochs;
    o.seed = a.seed;
    o.hbits = a.bits;
    if (ewt_paths(&models, &train_found, &dev_found, &out_found, "syntax.bin"))
        goto out;
    if (nd_syntax_train(a.train ? a.train : train_found.data, a.dev ? a.dev : dev_found.data,
                        a.out ? a.out : out_found.data, &o, stderr, errstr, sizeof(errstr)) == ND_OK)
        status = 0;
out:
    if (status)
        fprintf(stderr, "newsd train-syntax: %s\n", errstr);
    nd_buf_free(&out_found);
    nd_buf_free(&dev_found);
    nd_buf_free(&train_found);
    nd_buf_free(&models);
    return status;
}

/* newsd train-split [--train F] [--dev F] [--out F] [--epochs N] [--bits N]: models/sentsplit.bin,
 * the tokeniser's sentence boundary classifier, from UD English EWT train (epoch chosen on dev).
 * The build compiles the model into the binary: rebuild after training. */
static int cmd_train_split(int argc, char **argv)
{
    struct train_args a = {NULL, NULL, NULL, 10, 16, 0};
    struct nd_buf models, train_found, dev_found, out_found;
    char errstr[1024] = "models folder or EWT path not found or too long";
    int status = 1;
    if (train_args(argc, argv, &a))
        return 2;
    if (ewt_paths(&models, &train_found, &dev_found, &out_found, "sentsplit.bin"))
        goto out;
    if (nd_sentsplit_train(a.train ? a.train : train_found.data, a.dev ? a.dev : dev_found.data,
                           a.out ? a.out : out_found.data, a.epochs, a.bits, stderr, errstr,
                           sizeof(errstr)) == ND_OK)
        status = 0;
out:
    if (status)
        fprintf(stderr, "newsd train-split: %s\n", errstr);
    nd_buf_free(&out_found);
    nd_buf_free(&dev_found);
    nd_buf_free(&train_found);
    nd_buf_free(&models);
    return status;
}

/* newsd syntax --conllu < FILE | newsd syntax FILE.txt|-: CoNLL-U with UPOS, XPOS, HEAD, DEPREL. */
static int cmd_syntax(int argc, char **argv)
{
    char errstr[1024] = "models folder path too long";
    struct nd_buf models, path;
    struct nd_syntax *syntax = NULL;
    struct nd_enrich *enrich = NULL;
    int conllu = argc >= 2 && !strcmp(argv[1], "--conllu"), status = 1;
    const char *in = conllu ? (argc >= 3 ? argv[2] : "-") : (argc >= 2 ? argv[1] : "-");
    char *data = NULL;
    size_t len;
    enum nd_err err = ND_OK;

    if (data_path(&models, "NEWSD_MODELS", "models"))
        return 1;
    nd_buf_init(&path, 0);
    if ((err = nd_file_read(in, 1u << 30, &data, &len)) != ND_OK) {
        snprintf(errstr, sizeof(errstr), "%s: %s", in, nd_err_str(err));
        goto out;
    }
    if (conllu) {
        /* gold words: the tagger and parser alone */
        if (nd_path_join(&path, models.data, "syntax.bin"))
            goto out;
        if ((syntax = nd_syntax_load(path.data, errstr, sizeof(errstr))))
            err = nd_syntax_conllu(syntax, data, len, stdout, errstr, sizeof(errstr));
    } else if ((enrich = nd_enrich_new(models.data, errstr, sizeof(errstr)))) {
        /* raw text: the daemon's path, tokeniser and entities included */
        struct nd_doc doc;
        if ((err = nd_enrich_parse(enrich, data, len, &doc)) == ND_OK)
            err = nd_syntax_write_doc(&doc, stdout);
        snprintf(errstr, sizeof(errstr), "%s", nd_err_str(err));
        nd_doc_free(&doc);
    }
    if ((syntax || enrich) && err == ND_OK)
        status = 0;
out:
    if (status)
        fprintf(stderr, "newsd syntax: %s\n", errstr);
    free(data);
    nd_syntax_destroy(syntax);
    nd_enrich_destroy(enrich);
    nd_buf_free(&path);
    nd_buf_free(&models);
    return status;
}

/* newsd enrich [FILE...]: enriched story JSON per line; no FILE or "-" reads stdin. */
static int cmd_enrich(int argc, char **argv)
{
    char errstr[1024];
    struct nd_buf models;
    struct nd_enrich *enrich;
    int nerr = 0;
    if (data_path(&models, "NEWSD_MODELS", "models"))
        return 1;
    enrich = nd_enrich_new(models.data, errstr, sizeof(errstr));
    nd_buf_free(&models);
    if (!enrich) {
        fprintf(stderr, "newsd enrich: %s\n", errstr);
        return 1;
    }
    if (argc < 2)
        nerr += nd_enrich_file(enrich, "-", stdout, stderr);
    for (int i = 1; i < argc; i++)
        nerr += nd_enrich_file(enrich, argv[i], stdout, stderr);
    nd_enrich_destroy(enrich);
    return nerr ? 1 : 0;
}

static int cmd_help(int argc, char **argv);

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"run", cmd_run, "run -c FILE            the daemon"},
    {"demo", cmd_demo, "demo [--seconds N] [--feeds DIR] [--desks FILE] [--port N] [--interval S]  embedded broker, sample feeds, desks, terminal view, desk board"},
    {"parse", cmd_parse, "parse FILE|-           print a feed's items as story JSON, one per line"},
    {"extract", cmd_extract, "extract [--json] PAGE  print the main text of an article page"},
    {"enrich", cmd_enrich, "enrich [FILE...]       enrich stories (JSON lines or one text file; an empty file is no story)"},
    {"tag", cmd_tag, "tag --conll            tag CoNLL tokens on stdin: token<TAB>IOB2 label"},
    {"syntax", cmd_syntax, "syntax [--conllu] [F]  tag and parse: CoNLL-U in (--conllu) or raw text, CoNLL-U out"},
    {"train-syntax", cmd_train_syntax, "train-syntax           train models/syntax.bin on UD English EWT"},
    {"train-split", cmd_train_split, "train-split            train models/sentsplit.bin (sentence boundaries) on UD English EWT"},
    {"train-ner", cmd_train_ner, "train-ner [--data F]... [--out F]  train models/ner.bin on CoNLL-2003 train+dev"},
    {"alerts", cmd_alerts, "alerts --desk NAME     tail a desk's alerts [--brokers B] [--from-beginning]"},
    {"feeds", cmd_feeds, "feeds publish -c FILE   write the file's feeds to cluster.feeds_topic (delete -c FILE ID... removes)"},
    {"check-config", cmd_check_config, "check-config FILE      validate a config file"},
    {"healthcheck", cmd_healthcheck, "healthcheck [--live] [-c FILE|URL]  exit 0 when /readyz (--live: /healthz) answers 200 (default port $NEWSD_SERVER_PORT or 8080)"},
    {"config-doc", cmd_config_doc, "config-doc             print the configuration reference"},
    {"version", cmd_version, "version"},
    {"help", cmd_help, "help"},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: newsd COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  newsd %s\n", commands[i].usage);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_help(0, NULL);
        return 2;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name) ||
            (!strcmp(argv[1], "--help") && !strcmp(commands[i].name, "help")) ||
            (!strcmp(argv[1], "--version") && !strcmp(commands[i].name, "version")))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "newsd: unknown command \"%s\" (newsd help lists them)\n", argv[1]);
    return 2;
}
