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
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "dedup/near_job.h"
#include "pipeline/pipeline.h"
#include "http/server.h"
#include "http/uploads.h"
#include "jobs/jobs.h"
#include "llm/config.h"
#include "llm/engine.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

#define DEFAULT_DB        "./hetu-data/hetu.db"
#define SHUTDOWN_GRACE_US (10 * 1000000LL)
#define HELP_COLUMN       25
#define HELP_WIDTH        90

/* The settings once read and checked. */
struct serve_settings {
    const char *host, *db, *config, *spool_dir, *user, *import_root;
    const char *tls_cert, *tls_key, *cors_origins;
    unsigned long long port, max_body, max_upload, job_window, threads;
    unsigned long long max_uploads, upload_idle_timeout, job_lease;
    enum log_level level;
    enum log_format format;
};

struct serve_opt;
/* Checks the text of a setting and stores its value at ret; reports on stderr, returns -1. */
typedef int (*serve_parse_fn)(const struct serve_opt *o, const char *s, void *ret);
/* Writes a default that depends on the machine or on earlier settings. */
typedef void (*serve_default_fn)(const struct serve_settings *s, char *buf, size_t size);

/* One setting of `hetu serve`: its flag, environment variable, config file key and default. */
struct serve_opt {
    const char *flag, *metavar, *env, *key; /* key NULL: not read from the config file */
    const char *def;                        /* NULL: computed by def_fn, or none */
    serve_parse_fn parse;
    unsigned long long max; /* the largest value a whole-number setting takes */
    size_t offset;          /* where parse stores the value in struct serve_settings */
    const char *help;
    serve_default_fn def_fn;
    const char *def_help; /* the computed default as --help describes it */
    const char *alt_env;  /* read when env and the config file key are unset (the gateway's) */
    bool repeat;          /* the flag may be given again: the values are joined with commas */
};

static int parse_text(const struct serve_opt *o, const char *s, void *ret)
{
    (void)o;
    *(const char **)ret = s;
    return 0;
}

static int parse_uint(const struct serve_opt *o, const char *s, void *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > o->max) {
        fprintf(stderr, "hetu serve: %s must be a whole number up to %llu, not '%s'\n", o->flag,
                o->max, s);
        return -1;
    }
    *(unsigned long long *)ret = v;
    return 0;
}

/* Reports a value outside a setting's choices, which its help text lists: -1. */
static int bad_choice(const struct serve_opt *o, const char *s)
{
    char noun[32];
    size_t i;

    for (i = 0; o->flag[i] && i + 1 < sizeof(noun); i++)
        noun[i] = o->flag[i] == '-' ? ' ' : o->flag[i];
    noun[i] = '\0';
    fprintf(stderr, "hetu serve: %s must be %s, not '%s'\n", noun, o->help, s);
    return -1;
}

static int parse_level(const struct serve_opt *o, const char *s, void *ret)
{
    return log_level_parse(s, ret) == 0 ? 0 : bad_choice(o, s);
}

static int parse_format(const struct serve_opt *o, const char *s, void *ret)
{
    return log_format_parse(s, ret) == 0 ? 0 : bad_choice(o, s);
}

static void default_spool_dir(const struct serve_settings *s, char *buf, size_t size)
{
    const char *path = strncmp(s->db, "sqlite:", 7) == 0 ? s->db + 7 : s->db;
    const char *slash = strrchr(path, '/');

    if (strcmp(path, ":memory:") == 0)
        snprintf(buf, size, "/tmp");
    else if (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0)
        snprintf(buf, size, "spool"); /* the database is elsewhere: the working directory */
    else if (slash)
        snprintf(buf, size, "%.*s/spool", (int)(slash - path), path);
    else
        snprintf(buf, size, "spool");
}

static void default_threads(const struct serve_settings *s, char *buf, size_t size)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    (void)s;
    snprintf(buf, size, "%ld", ncpu > 2 ? ncpu : 2);
}

static void default_max_uploads(const struct serve_settings *s, char *buf, size_t size)
{
    (void)s;
    snprintf(buf, size, "%zu", uploads_default_max());
}

static void default_user(const struct serve_settings *s, char *buf, size_t size)
{
    const char *user = getenv("USER");

    (void)s;
    snprintf(buf, size, "%s", user && *user ? user : "hetu");
}

#define AT(field) offsetof(struct serve_settings, field)

/* Every setting, in the order --help lists them and they are read (db before spool-dir). */
/* clang-format off */
static const struct serve_opt serve_opts[] = {
    /* flag, metavar, environment, config key, default,
     *     parser, largest value, field, help[, computed default, as help names it] */
    {"host", "ADDR", "HETU_HOST", "host", "127.0.0.1",
        parse_text, 0, AT(host), "address to listen on", .alt_env = "HOST"},
    {"port", "N", "HETU_PORT", "port", "8000",
        parse_uint, 65535, AT(port), "port; 0 picks a free one", .alt_env = "PORT"},
    {"db", "URL", "HETU_DB", "db", DEFAULT_DB,
        parse_text, 0, AT(db), "store: a SQLite path, sqlite:PATH, or a postgresql:// URL"},
    {"config", "FILE", "HETU_CONFIG", NULL, NULL,
        parse_text, 0, AT(config), "JSON config file"},
    {"log-level", "LEVEL", "HETU_LOG_LEVEL", "log_level", "info",
        parse_level, 0, AT(level), "debug, info, warn or error"},
    {"log-format", "FORMAT", "HETU_LOG_FORMAT", "log_format", "text",
        parse_format, 0, AT(format), "text or json"},
    {"max-body-size", "BYTES", "HETU_MAX_BODY_SIZE", "max_body_size", "16777216",
        parse_uint, 1ULL << 40, AT(max_body), "limit of JSON request bodies"},
    {"max-upload-size", "BYTES", "HETU_MAX_UPLOAD_SIZE", "max_upload_size", "1073741824",
        parse_uint, 1ULL << 44, AT(max_upload), "limit of uploaded files"},
    {"max-uploads", "N", "HETU_MAX_UPLOADS", "max_uploads", NULL,
        parse_uint, 1000000, AT(max_uploads), "file uploads arriving at once; more get 503",
        default_max_uploads, "a quarter of the open-file limit, at most 8192"},
    {"upload-idle-timeout", "SECONDS", "HETU_UPLOAD_IDLE_TIMEOUT", "upload_idle_timeout", "30",
        parse_uint, 86400, AT(upload_idle_timeout), "drop an upload that sends nothing this long"},
    {"spool-dir", "DIR", "HETU_SPOOL_DIR", "spool_dir", NULL,
        parse_text, 0, AT(spool_dir), "where file imports keep rows until loaded",
        default_spool_dir, "spool/ beside a SQLite database, else in the working directory"},
    {"job-window", "N", "HETU_JOB_WINDOW", "job_window", "1000",
        parse_uint, 100000, AT(job_window), "items of a job in flight at once"},
    {"job-lease", "SECONDS", "HETU_JOB_LEASE", "job_lease", "30",
        parse_uint, 3600, AT(job_lease), "on a shared database: how long a server's claim on "
        "job items lasts unless renewed (every third of it); then other servers take them"},
    {"threads", "N", "HETU_THREADS", "threads", NULL,
        parse_uint, 256, AT(threads), "HTTP threads",
        default_threads, "number of CPUs, at least 2"},
    {"user", "NAME", "HETU_USER", "user", NULL,
        parse_text, 0, AT(user), "created_by of what this server creates",
        default_user, "$USER"},
    {"import-root", "DIR", "HETU_IMPORT_ROOT", "import_root", NULL,
        parse_text, 0, AT(import_root),
        "Kiln project folders under DIR may be imported (POST /api/import-project); default: none"},
    {"tls-cert", "FILE", "HETU_TLS_CERT", "tls_cert", NULL,
        parse_text, 0, AT(tls_cert), "serve HTTPS with this PEM certificate; needs --tls-key"},
    {"tls-key", "FILE", "HETU_TLS_KEY", "tls_key", NULL,
        parse_text, 0, AT(tls_key), "the PEM private key of --tls-cert"},
    {"cors-origin", "ORIGIN", "HETU_CORS_ORIGIN", "cors_origin", NULL,
        parse_text, 0, AT(cors_origins), "let browser pages from ORIGIN call the API (repeat it, "
        "comma-separate it, or *); none by default", .repeat = true},
};
/* clang-format on */

#undef AT

#define NOPTS     ARRAY_SIZE(serve_opts)
#define OPT_FIRST 0x100 /* getopt value of serve_opts[0]; the others follow */

static const char usage_head[] =
    "Usage: hetu serve [OPTIONS]\n"
    "\n"
    "Runs the Hetu server: the HTTP API on HOST:PORT, data in the store at DB.\n"
    "\n"
    "Options (each also set by the environment variable shown, or the config file key):\n";

static const char usage_tail[] =
    "  -h, --help             this help\n"
    "\n"
    "Flags win over the environment, the environment over the config file.\n"
    "Example:\n"
    "  hetu serve --port 8080 --db sqlite:/var/lib/hetu/hetu.db --log-format json\n";

/* Prints unit at column *col, first on a new line at HELP_COLUMN if it would pass HELP_WIDTH. */
static void print_unit(FILE *f, const char *unit, size_t len, int *col)
{
    if (*col + 1 + (int)len > HELP_WIDTH) {
        fprintf(f, "\n%*s", HELP_COLUMN, "");
        *col = HELP_COLUMN;
    } else {
        fputc(' ', f);
        (*col)++;
    }
    fwrite(unit, 1, len, f);
    *col += (int)len;
}

/* One option's help: its words, then "(ENV, key)" and "[default]", each kept on one line. */
static void print_opt_help(FILE *f, const struct serve_opt *o)
{
    const char *def = o->def ? o->def : o->def_help, *p = o->help;
    char unit[256];
    int col = fprintf(f, "  --%s %s", o->flag, o->metavar);

    /* the first word starts at HELP_COLUMN, or two spaces after a long option */
    col += fprintf(f, "%*s", col < HELP_COLUMN - 2 ? HELP_COLUMN - col - 1 : 1, "");
    while (*p) {
        size_t n = strcspn(p, " ");
        print_unit(f, p, n, &col);
        p += n + strspn(p + n, " ");
    }
    snprintf(unit, sizeof(unit), "(%s%s%s%s%s)", o->env, o->key ? ", " : "", o->key ? o->key : "",
             o->alt_env ? ", then " : "", o->alt_env ? o->alt_env : "");
    print_unit(f, unit, strlen(unit), &col);
    if (def) {
        snprintf(unit, sizeof(unit), "[%s]", def);
        print_unit(f, unit, strlen(unit), &col);
    }
    fputc('\n', f);
}

static void print_usage(FILE *f)
{
    fputs(usage_head, f);
    for (size_t i = 0; i < NOPTS; i++)
        print_opt_help(f, &serve_opts[i]);
    fputs(usage_tail, f);
}

/* The text of a setting: flag, else environment, else config file key, else the gateway's
 * variable (HOST, PORT), else default. */
static const char *pick(const struct serve_opt *o, const char *flag, struct json_object *cfg,
                        const char *def, char *scratch, size_t size)
{
    const char *env = getenv(o->env);
    struct json_object *v;

    if (flag)
        return flag;
    if (env && *env)
        return env;
    if (cfg && o->key && json_object_object_get_ex(cfg, o->key, &v) && v) {
        if (json_object_is_type(v, json_type_string))
            return json_object_get_string(v);
        if (json_object_is_type(v, json_type_int)) {
            snprintf(scratch, size, "%lld", (long long)json_object_get_int64(v));
            return scratch;
        }
    }
    if (o->alt_env && (env = getenv(o->alt_env)) && *env)
        return env;
    return def;
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

/* What reading the settings keeps alive while the server runs. */
struct serve_input {
    const char *flags[NOPTS];
    struct json_object *cfg;
    char scratch[NOPTS][32];
    char defaults[NOPTS][4096];
    char joined[8192]; /* the values of a repeated flag */
};

/* The values of a flag given again, joined with commas (one flag repeats). */
static const char *join_flag(struct serve_input *in, const char *prev, const char *next)
{
    size_t len;

    if (prev != in->joined)
        snprintf(in->joined, sizeof(in->joined), "%s", prev);
    len = strlen(in->joined);
    snprintf(in->joined + len, sizeof(in->joined) - len, ",%s", next);
    return in->joined;
}

/* Reads the flags into in->flags; returns -1 to go on, or the exit code (help or misuse). */
static int read_flags(int argc, char **argv, struct serve_input *in)
{
    struct option longopts[NOPTS + 2] = {{0}};
    int c;

    for (size_t i = 0; i < NOPTS; i++)
        longopts[i] =
            (struct option){serve_opts[i].flag, required_argument, NULL, OPT_FIRST + (int)i};
    longopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c >= OPT_FIRST && c < OPT_FIRST + (int)NOPTS) {
            size_t i = (size_t)(c - OPT_FIRST);
            in->flags[i] =
                serve_opts[i].repeat && in->flags[i] ? join_flag(in, in->flags[i], optarg) : optarg;
        } else if (c == 'h') {
            print_usage(stdout);
            return 0;
        } else {
            print_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hetu serve: unexpected argument '%s'\n", argv[optind]);
        print_usage(stderr);
        return 2;
    }
    return -1;
}

/* Loads the config file the flag or environment names, then reads and checks every setting.
 * Returns 0, or the exit code: 2 for a config file that cannot be used, 1 for a bad value. */
static int read_settings(struct serve_input *in, struct serve_settings *s)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (serve_opts[i].offset == offsetof(struct serve_settings, config))
            s->config = pick(&serve_opts[i], in->flags[i], NULL, NULL, NULL, 0);
    if (s->config && load_config_file(s->config, &in->cfg) < 0)
        return 2;
    for (size_t i = 0; i < NOPTS; i++) {
        const struct serve_opt *o = &serve_opts[i];
        const char *def = o->def, *v;

        if (o->def_fn) {
            o->def_fn(s, in->defaults[i], sizeof(in->defaults[i]));
            def = in->defaults[i];
        }
        v = pick(o, in->flags[i], in->cfg, def, in->scratch[i], sizeof(in->scratch[i]));
        if (v && o->parse(o, v, (char *)s + o->offset) < 0)
            return 1;
    }
    if (s->threads == 0)
        s->threads = 1;
    return 0;
}

/* Threads besides the HTTP threads that may each wait on the store at once: the job runner, the
 * pipeline driver, the near-duplicate worker, the provider engine (its callbacks write), and
 * the store's own writer, its loaders (PostgreSQL) and its listener. */
#define STORE_WORKERS 8

/* What a running server holds; parts not started are NULL. */
struct serve_parts {
    struct store *store;
    struct llm_config *llm_cfg;
    struct llm_engine *engine;
    struct jobs *jobs;
    struct near_worker *near;
    struct pipeline_driver *pipeline;
    struct http_server *srv;
    struct auth *auth;
    struct app app;
};

/* Another server changed a job: the workers look at their jobs at once. */
static void wake_jobs(void *ud)
{
    jobs_notify(ud);
}
static void wake_near(void *ud)
{
    near_worker_notify(ud);
}
static void wake_pipeline(void *ud)
{
    pipeline_driver_notify(ud);
}

static int start_parts(const struct serve_settings *s, struct json_object *cfg,
                       struct serve_parts *p)
{
    struct json_object *providers = NULL;
    struct gen_env env;
    struct jobs_config jc = {.window = (size_t)s->job_window, .spool_dir = s->spool_dir};
    struct http_server_config hc = {.host = s->host,
                                    .port = (unsigned)s->port,
                                    .threads = (unsigned)s->threads,
                                    .max_body = (size_t)s->max_body,
                                    .max_upload = (size_t)s->max_upload,
                                    .max_uploads = (size_t)s->max_uploads,
                                    .upload_idle_timeout = (unsigned)s->upload_idle_timeout,
                                    .tls_cert = s->tls_cert,
                                    .tls_key = s->tls_key,
                                    .cors_origins = s->cors_origins};
    struct err e;

    err_clear(&e);
    if (store_open(s->db, &p->store, &e) < 0) {
        char db[512];
        store_url_for_log(s->db, db, sizeof(db));
        log_event(LOG_ERROR, "cannot open the store", "db", db, "error", e.msg, NULL);
        return -1;
    }
    p->store->lease_ms = s->job_lease > 0 ? (int64_t)s->job_lease * 1000 : 1000;
    p->store->pool_hint = (int)s->threads + STORE_WORKERS;
    if (cfg)
        json_object_object_get_ex(cfg, "providers", &providers);
    if (llm_config_load(providers, &p->llm_cfg, &e) < 0 ||
        llm_engine_new(p->llm_cfg, &p->engine, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the provider engine", "error", e.msg, NULL);
        return -1;
    }
    if (mkdir(s->spool_dir, 0755) < 0 && errno != EEXIST) {
        log_event(LOG_ERROR, "cannot create the spool directory", "dir", s->spool_dir, "error",
                  strerror(errno), NULL);
        return -1;
    }
    env = (struct gen_env){p->store, p->engine, s->user};
    if (jobs_start(&env, &jc, &p->jobs, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the job runner", "error", e.msg, NULL);
        return -1;
    }
    if (near_worker_start(p->store, &p->near, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the near-duplicate worker", "error", e.msg, NULL);
        return -1;
    }
    if (pipeline_driver_start(&env, (size_t)s->job_window, &p->pipeline, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the pipeline driver", "error", e.msg, NULL);
        return -1;
    }
    if (store_watch(p->store, wake_jobs, p->jobs, &e) < 0 ||
        store_watch(p->store, wake_near, p->near, &e) < 0 ||
        store_watch(p->store, wake_pipeline, p->pipeline, &e) < 0) {
        log_event(LOG_ERROR, "cannot watch the store", "error", e.msg, NULL);
        return -1;
    }
    if (auth_new(p->store, &p->auth, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the API key check", "error", e.msg, NULL);
        return -1;
    }
    p->app = (struct app){.store = p->store,
                          .engine = p->engine,
                          .jobs = p->jobs,
                          .near = p->near,
                          .pipeline = p->pipeline,
                          .user = s->user,
                          .auth = p->auth,
                          .import_root = s->import_root};
    if (http_server_start(&hc, &p->app, &p->srv, &e) < 0) {
        log_event(LOG_ERROR, "cannot start the HTTP server", "error", e.msg, NULL);
        return -1;
    }
    return 0;
}

/* Stops what is still running (an orderly stop has already taken what it stopped). */
static void stop_parts(struct serve_parts *p)
{
    http_server_stop(p->srv, 0);
    auth_free(p->auth);
    jobs_stop(p->jobs);
    near_worker_stop(p->near);
    pipeline_driver_stop(p->pipeline);
    llm_engine_free(p->engine);
    store_close(p->store);
    llm_config_free(p->llm_cfg);
}

/* Says at start whether requests need an API key. */
static void log_key_mode(struct auth *auth)
{
    struct err e = ERR_INIT;
    bool open;

    if (auth_is_open(auth, &open, &e) < 0)
        log_event(LOG_ERROR, "cannot read the API keys", "error", e.msg, NULL);
    else if (open)
        log_event(LOG_WARN,
                  "no API key exists: the server is open to every client that reaches it; "
                  "create an admin key with hetu keys create --admin",
                  NULL);
    else
        log_event(LOG_INFO, "API keys are required (Authorization: Bearer KEY)", NULL);
}

int cli_serve(int argc, char **argv)
{
    static struct serve_input in;
    struct serve_settings s = {0};
    struct serve_parts p = {0};
    sigset_t sigs;
    char db[512];
    int sig, rc;

    memset(&in, 0, sizeof(in));
    if ((rc = read_flags(argc, argv, &in)) >= 0)
        return rc;
    if ((rc = read_settings(&in, &s)) != 0) {
        json_object_put(in.cfg);
        return rc;
    }
    log_setup(s.level, s.format);
    raise_fd_limit();

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = 1;
    if (start_parts(&s, in.cfg, &p) < 0)
        goto out;
    log_key_mode(p.auth); /* before the listening line, which clients wait for */
    printf("hetu: listening on %s://%s%s%s:%u\n", s.tls_cert ? "https" : "http",
           strchr(s.host, ':') ? "[" : "", s.host, strchr(s.host, ':') ? "]" : "",
           http_server_port(p.srv));
    fflush(stdout);
    store_url_for_log(s.db, db, sizeof(db));
    log_event(LOG_INFO, "server started", "db", db, NULL);

    while (sigwait(&sigs, &sig) != 0)
        ;
    log_event(LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    /* Let requests finish, then cancel model calls still running (their requests answer with
     * an error), then stop. */
    http_server_drain(p.srv, SHUTDOWN_GRACE_US);
    jobs_stop(take_ptr(p.jobs));
    near_worker_stop(take_ptr(p.near));
    pipeline_driver_stop(take_ptr(p.pipeline));
    llm_engine_free(take_ptr(p.engine));
    http_server_stop(take_ptr(p.srv), SHUTDOWN_GRACE_US / 2);
    rc = 0;
out:
    stop_parts(&p);
    json_object_put(in.cfg);
    if (rc == 0)
        log_event(LOG_INFO, "stopped", NULL);
    return rc;
}
