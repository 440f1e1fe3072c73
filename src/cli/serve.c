/* SPDX-License-Identifier: MIT */
/*
 * `hetu serve`: settings from flags, then environment, then the config file (flags win), the
 * store, the provider engine and the HTTP server; runs until SIGINT or SIGTERM, then stops
 * accepting, lets requests in flight finish (bounded), closes the store and exits 0.
 *
 * Signals are blocked in every thread (the mask is set before any thread starts) and taken by
 * the main thread with sigwait, so no handler runs in signal context.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "llm/config.h"
#include "llm/engine.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

#define DEFAULT_DB        "./hetu-data/hetu.db"
#define DEFAULT_MAX_BODY  (16u * 1024 * 1024)
#define SHUTDOWN_GRACE_US (10 * 1000000LL)

struct serve_opts {
    const char *host, *port, *db, *config, *log_level, *log_format, *max_body, *threads, *user;
    const char *max_upload, *spool_dir, *job_window;
};

static const char usage[] =
    "Usage: hetu serve [OPTIONS]\n"
    "\n"
    "Runs the Hetu server: the HTTP API on HOST:PORT, data in the store at DB.\n"
    "\n"
    "Options (each also set by the environment variable shown, or the config file key):\n"
    "  --host ADDR            address to listen on (HETU_HOST, host) [127.0.0.1]\n"
    "  --port N               port; 0 picks a free one (HETU_PORT, port) [8000]\n"
    "  --db URL               store: a SQLite path or sqlite:PATH (HETU_DB, db)\n"
    "                         [" DEFAULT_DB "]\n"
    "  --config FILE          JSON config file (HETU_CONFIG)\n"
    "  --log-level LEVEL      debug, info, warn or error (HETU_LOG_LEVEL, log_level) [info]\n"
    "  --log-format FORMAT    text or json (HETU_LOG_FORMAT, log_format) [text]\n"
    "  --max-body-size BYTES  limit of JSON request bodies (HETU_MAX_BODY_SIZE, max_body_size)\n"
    "                         [16777216]\n"
    "  --max-upload-size BYTES  limit of uploaded files (HETU_MAX_UPLOAD_SIZE, max_upload_size)\n"
    "                         [1073741824]\n"
    "  --spool-dir DIR        where file imports keep rows until loaded (HETU_SPOOL_DIR,\n"
    "                         spool_dir) [a spool/ folder beside the database]\n"
    "  --job-window N         items of a job in flight at once (HETU_JOB_WINDOW, job_window)\n"
    "                         [1000]\n"
    "  --threads N            HTTP threads (HETU_THREADS, threads) [number of CPUs, at least 2]\n"
    "  --user NAME            created_by of what this server creates (HETU_USER, user)\n"
    "                         [$USER]\n"
    "  -h, --help             this help\n"
    "\n"
    "Flags win over the environment, the environment over the config file.\n"
    "Example:\n"
    "  hetu serve --port 8080 --db sqlite:/var/lib/hetu/hetu.db --log-format json\n";

/* The value of a setting: flag, else environment, else config file key, else default. */
static const char *pick(const char *flag, const char *env, struct json_object *cfg, const char *key,
                        const char *def, char *scratch, size_t size)
{
    struct json_object *v;

    if (flag)
        return flag;
    if (getenv(env) && *getenv(env))
        return getenv(env);
    if (cfg && json_object_object_get_ex(cfg, key, &v) && v) {
        if (json_object_is_type(v, json_type_string))
            return json_object_get_string(v);
        if (json_object_is_type(v, json_type_int)) {
            snprintf(scratch, size, "%lld", (long long)json_object_get_int64(v));
            return scratch;
        }
    }
    return def;
}

static int parse_uint(const char *name, const char *s, unsigned long long max,
                      unsigned long long *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        fprintf(stderr, "hetu serve: %s must be a whole number up to %llu, not '%s'\n", name, max,
                s);
        return -1;
    }
    *ret = v;
    return 0;
}

static int load_config_file(const char *path, struct json_object **ret)
{
    struct json_object *o = NULL;
    struct err e;
    FILE *f;
    char *data;
    long n;

    err_clear(&e);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "hetu serve: cannot read the config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > 16 * 1024 * 1024) {
        fclose(f);
        fprintf(stderr, "hetu serve: the config file %s is too large\n", path);
        return -1;
    }
    data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(data);
        fprintf(stderr, "hetu serve: cannot read the config file %s\n", path);
        return -1;
    }
    fclose(f);
    if (json_parse(data, (size_t)n, &o, &e) < 0 || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr, "hetu serve: config file %s: %s\n", path,
                e.code ? e.msg : "must hold a JSON object");
        json_object_put(o);
        free(data);
        return -1;
    }
    free(data);
    *ret = o;
    return 0;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cli_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"max-body-size", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"max-upload-size", required_argument, NULL, 'U'},
        {"spool-dir", required_argument, NULL, 'S'},
        {"job-window", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct serve_opts o = {0};
    struct json_object *cfg = NULL;
    char s1[32], s2[32], s3[32], s4[32], s5[32], spool_default[4096];
    const char *host, *port_s, *db, *level_s, *format_s, *body_s, *threads_s, *user;
    const char *upload_s, *spool_dir, *window_s;
    unsigned long long port, max_body, threads, max_upload, window;
    struct jobs *jobs = NULL;
    enum log_level level;
    enum log_format format;
    struct store *store = NULL;
    struct llm_config *llm_cfg = NULL;
    struct llm_engine *engine = NULL;
    struct http_server *srv = NULL;
    struct app app = {0};
    struct err e;
    sigset_t sigs;
    int c, sig, rc = 1;
    long ncpu;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H': o.host = optarg; break;
        case 'p': o.port = optarg; break;
        case 'd': o.db = optarg; break;
        case 'c': o.config = optarg; break;
        case 'l': o.log_level = optarg; break;
        case 'f': o.log_format = optarg; break;
        case 'm': o.max_body = optarg; break;
        case 't': o.threads = optarg; break;
        case 'u': o.user = optarg; break;
        case 'U': o.max_upload = optarg; break;
        case 'S': o.spool_dir = optarg; break;
        case 'w': o.job_window = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hetu serve: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (!o.config && getenv("HETU_CONFIG") && *getenv("HETU_CONFIG"))
        o.config = getenv("HETU_CONFIG");
    if (o.config && load_config_file(o.config, &cfg) < 0)
        return 2;

    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(s3, sizeof(s3), "%ld", ncpu > 2 ? ncpu : 2);
    host = pick(o.host, "HETU_HOST", cfg, "host", "127.0.0.1", NULL, 0);
    port_s = pick(o.port, "HETU_PORT", cfg, "port", "8000", s1, sizeof(s1));
    db = pick(o.db, "HETU_DB", cfg, "db", DEFAULT_DB, NULL, 0);
    level_s = pick(o.log_level, "HETU_LOG_LEVEL", cfg, "log_level", "info", NULL, 0);
    format_s = pick(o.log_format, "HETU_LOG_FORMAT", cfg, "log_format", "text", NULL, 0);
    body_s =
        pick(o.max_body, "HETU_MAX_BODY_SIZE", cfg, "max_body_size", "16777216", s2, sizeof(s2));
    threads_s = pick(o.threads, "HETU_THREADS", cfg, "threads", s3, s3, sizeof(s3));
    user = pick(o.user, "HETU_USER", cfg, "user",
                getenv("USER") && *getenv("USER") ? getenv("USER") : "hetu", NULL, 0);
    upload_s = pick(o.max_upload, "HETU_MAX_UPLOAD_SIZE", cfg, "max_upload_size", "1073741824", s4,
                    sizeof(s4));
    window_s = pick(o.job_window, "HETU_JOB_WINDOW", cfg, "job_window", "1000", s5, sizeof(s5));
    {
        const char *path = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
        const char *slash = strrchr(path, '/');
        if (strcmp(path, ":memory:") == 0)
            snprintf(spool_default, sizeof(spool_default), "/tmp");
        else if (slash)
            snprintf(spool_default, sizeof(spool_default), "%.*s/spool", (int)(slash - path), path);
        else
            snprintf(spool_default, sizeof(spool_default), "spool");
    }
    spool_dir = pick(o.spool_dir, "HETU_SPOOL_DIR", cfg, "spool_dir", spool_default, NULL, 0);
    if (!host || !port_s || !db || !level_s || !format_s || !body_s || !threads_s || !user ||
        !upload_s || !spool_dir || !window_s) {
        fprintf(stderr, "hetu serve: config file values must be strings or integers\n");
        goto out;
    }
    if (parse_uint("port", port_s, 65535, &port) < 0 ||
        parse_uint("max-body-size", body_s, 1ULL << 40, &max_body) < 0 ||
        parse_uint("threads", threads_s, 256, &threads) < 0 ||
        parse_uint("max-upload-size", upload_s, 1ULL << 44, &max_upload) < 0 ||
        parse_uint("job-window", window_s, 100000, &window) < 0)
        goto out;
    if (log_level_parse(level_s, &level) < 0) {
        fprintf(stderr, "hetu serve: log level must be debug, info, warn or error, not '%s'\n",
                level_s);
        goto out;
    }
    if (log_format_parse(format_s, &format) < 0) {
        fprintf(stderr, "hetu serve: log format must be text or json, not '%s'\n", format_s);
        goto out;
    }
    if (threads == 0)
        threads = 1;
    log_setup(level, format);
    raise_fd_limit();

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    err_clear(&e);
    if (store_open(db, &store, &e) < 0) {
        log_event(LOG_ERROR, "cannot open the store", "db", db, "error", e.msg, NULL);
        goto out;
    }
    {
        struct json_object *providers = NULL;
        if (cfg)
            json_object_object_get_ex(cfg, "providers", &providers);
        if (llm_config_load(providers, &llm_cfg, &e) < 0 ||
            llm_engine_new(llm_cfg, &engine, &e) < 0) {
            log_event(LOG_ERROR, "cannot start the provider engine", "error", e.msg, NULL);
            goto out;
        }
    }
    if (mkdir(spool_dir, 0755) < 0 && errno != EEXIST) {
        log_event(LOG_ERROR, "cannot create the spool directory", "dir", spool_dir, "error",
                  strerror(errno), NULL);
        goto out;
    }
    {
        struct gen_env env = {store, engine, user};
        struct jobs_config jc = {.window = (size_t)window, .spool_dir = spool_dir};
        if (jobs_start(&env, &jc, &jobs, &e) < 0) {
            log_event(LOG_ERROR, "cannot start the job runner", "error", e.msg, NULL);
            goto out;
        }
    }
    app.store = store;
    app.engine = engine;
    app.jobs = jobs;
    app.user = user;
    {
        struct http_server_config hc = {
            .host = host,
            .port = (unsigned)port,
            .threads = (unsigned)threads,
            .max_body = (size_t)max_body,
            .max_upload = (size_t)max_upload,
        };
        if (http_server_start(&hc, &app, &srv, &e) < 0) {
            log_event(LOG_ERROR, "cannot start the HTTP server", "error", e.msg, NULL);
            goto out;
        }
    }
    printf("hetu: listening on http://%s%s%s:%u\n", strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "", http_server_port(srv));
    fflush(stdout);
    log_event(LOG_INFO, "server started", "db", db, NULL);

    while (sigwait(&sigs, &sig) != 0)
        ;
    log_event(LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    /* Let requests finish, then cancel model calls still running (their requests answer with
     * an error), then stop. */
    http_server_drain(srv, SHUTDOWN_GRACE_US);
    jobs_stop(take_ptr(jobs));
    llm_engine_free(take_ptr(engine));
    http_server_stop(take_ptr(srv), SHUTDOWN_GRACE_US / 2);
    rc = 0;
out:
    http_server_stop(srv, 0);
    jobs_stop(jobs);
    llm_engine_free(engine);
    store_close(store);
    llm_config_free(llm_cfg);
    json_object_put(cfg);
    if (rc == 0)
        log_event(LOG_INFO, "stopped", NULL);
    return rc;
}
