/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of the hetu client commands: JSON requests, a streamed multipart upload, and the
 * job event stream, on one libcurl easy handle. Also the state every client command shares (the
 * server, key, project and task, --json and --quiet) and the exit codes.
 */
#ifndef HETU_CLI_CLIENT_H
#define HETU_CLI_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "util/buf.h"
#include "util/err.h"

/* Exit codes of every client command (hetu --help lists them). */
#define CLI_EXIT_OK          0
#define CLI_EXIT_FAILED      1 /* the work failed: a local file, a failed job, failed samples */
#define CLI_EXIT_USAGE       2 /* bad command line */
#define CLI_EXIT_SERVER      3 /* the server answered with an error (4xx/5xx) */
#define CLI_EXIT_UNREACHABLE 4 /* no answer: connection refused, timeout, broken stream */

#define CLIENT_DEFAULT_URL  "http://127.0.0.1:8000"
#define CLIENT_RESPONSE_MAX (256u << 20) /* bytes of one response body */
#define CLIENT_INPUT_MAX    (256u << 20) /* bytes of a file or stdin the client reads */

/* What went wrong in the last call: decides the exit code. */
enum client_fail { CLIENT_FAIL_NONE, CLIENT_FAIL_LOCAL, CLIENT_FAIL_HTTP, CLIENT_FAIL_TRANSPORT };

struct client {
    void *curl; /* CURL * */
    char *base; /* server URL without a trailing '/' */
    char *auth; /* "Authorization: Bearer KEY", or NULL */
    enum client_fail fail;
    long status; /* HTTP status of the last answer, 0 when none */
};

/* One answer: status, body (bounded) and the X-Hetu-* headers the commands read. */
struct client_resp {
    long status;
    struct buf body;
    char failed[32];       /* X-Hetu-Failed, or "" */
    char first_error[512]; /* X-Hetu-First-Error, or "" */
};

void client_resp_init(struct client_resp *r);
void client_resp_done(struct client_resp *r);

int client_init(struct client *c, const char *base_url, const char *api_key, struct err *e);
void client_done(struct client *c);

/*
 * method + base + path (path already escaped, see client_escape). body_json may be NULL (no
 * body) or JSON text. Returns 0 on a 2xx answer. On a 4xx/5xx answer, fills e with the server's
 * detail and returns HE_BAD_REQUEST (c->fail = CLIENT_FAIL_HTTP, ret->status set); without an
 * answer, HE_UNAVAILABLE (CLIENT_FAIL_TRANSPORT). ret may be NULL when the body is not needed.
 */
int client_request(struct client *c, const char *method, const char *path, const char *body_json,
                   struct client_resp *ret, struct err *e);

/* Like client_request with a JSON object body and the parsed JSON answer in *ret_json. */
int client_json(struct client *c, const char *method, const char *path, struct json_object *body,
                struct client_resp *ret, struct json_object **ret_json, struct err *e);

/* Called after each piece of a download is written: the piece, and the bytes so far. */
typedef void (*client_download_cb)(const char *data, size_t n, int64_t bytes, void *ud);

/* GETs path and writes a 2xx answer's body to out as it arrives (never held in memory); an
 * error answer is read into ret->body and reported as client_request does. A write to out that
 * fails is HE_IO (CLIENT_FAIL_LOCAL). */
int client_download(struct client *c, const char *path, FILE *out, client_download_cb cb, void *ud,
                    struct client_resp *ret, struct err *e);

/* Called with bytes sent and bytes to send while an upload runs. */
typedef void (*client_upload_cb)(int64_t sent, int64_t total, void *ud);

/* POSTs the file as the multipart part `field`, streamed from disk (not read into memory). */
int client_upload(struct client *c, const char *path, const char *field, const char *file,
                  client_upload_cb cb, void *ud, struct client_resp *ret, struct err *e);

/*
 * Reads a text/event-stream: calls cb(event, data, ud) for each complete event (event "message"
 * when the frame names none). cb returns 0 to go on, 1 to stop reading (success), or a negative
 * code to stop with that error.
 */
typedef int (*client_event_cb)(const char *event, const char *data, void *ud);
int client_events(struct client *c, const char *path, client_event_cb cb, void *ud, struct err *e);

/* URL-escapes s into a new string (caller frees), or NULL when out of memory. */
char *client_escape(struct client *c, const char *s);

/* ---- shared by the client commands ---- */

/* A client command as cli_getopt reads its command line. */
struct cli_cmd {
    const char *name;            /* "projects", "jobs", ... */
    const char *usage, *example; /* --help prints usage, cli_common_help, then example */
    const struct option *opts;   /* CLI_COMMON_OPTS first, then the command's own */
    const char *shortopts;       /* CLI_COMMON_SHORT, then the command's own */
};

struct cli {
    const char *cmd; /* "projects", "jobs", ... for messages */
    const struct cli_cmd *spec;
    int exit; /* what the command returns after cli_getopt returned -1 */
    const char *server, *api_key, *project, *task;
    bool json, quiet;
    struct client client;
    struct err err;
};

/* Long-only option values of the shared options. */
enum {
    CLI_OPT_SERVER = 0x1000,
    CLI_OPT_API_KEY,
    CLI_OPT_JSON,
    CLI_OPT_FIRST_OWN, /* commands number their own long-only options from here */
};

/* The shared long options; put CLI_COMMON_OPTS first in a command's table. */
#define CLI_COMMON_OPTS                                                                    \
    {"server", required_argument, NULL, CLI_OPT_SERVER},                                   \
        {"api-key", required_argument, NULL, CLI_OPT_API_KEY},                             \
        {"project", required_argument, NULL, 'p'}, {"task", required_argument, NULL, 't'}, \
        {"json", no_argument, NULL, CLI_OPT_JSON}, {"quiet", no_argument, NULL, 'q'},      \
    {                                                                                      \
        "help", no_argument, NULL, 'h'                                                     \
    }
#define CLI_COMMON_SHORT ":hqp:t:" /* leading ':': missing values are reported as ':' */

/* Help text of the shared options, for the commands' --help. */
extern const char cli_common_help[];

/* Resets cli for the command spec. */
void cli_init(struct cli *cli, const struct cli_cmd *spec);

/*
 * The next of the command's own options (optarg holds its value), after taking the shared ones
 * into cli. Returns 0 when the options end (optind is then at the first operand), or -1 when the
 * command is to return cli->exit: --help was printed (0), or a bad option reported (usage).
 */
int cli_getopt(struct cli *cli, int argc, char **argv);

/* 0 when no operand is left in argv, else reports the first one: CLI_EXIT_USAGE. */
int cli_no_more_args(struct cli *cli, int argc, char **argv);

/*
 * Takes the operands left in argv into ret[0..max): at least min of them (else reports "missing
 * what"), at most max (else reports the first one too many); ret[i] is NULL for those not given.
 * Returns 0 or CLI_EXIT_USAGE.
 */
int cli_operands(struct cli *cli, int argc, char **argv, size_t min, size_t max, const char *what,
                 const char **ret);

/* "ACTION [ID]" of a command whose actions are list, create, show, update and delete; returns 0
 * or CLI_EXIT_USAGE (reported: missing, unknown action, one argument too many). */
int cli_crud_operands(struct cli *cli, int argc, char **argv, const char **ret_action,
                      const char **ret_id);

/* o[key] of a JSON object, or NULL. */
struct json_object *cli_get(struct json_object *o, const char *key);

/* A cli_call show callback: prints the answer's "message". */
int cli_show_message(struct cli *cli, struct json_object *answer);

/* cli_print_table on stdout; returns CLI_EXIT_OK, or CLI_EXIT_FAILED (reported). */
int cli_show_table(struct cli *cli, struct json_object *array, const char *const *keys,
                   const char *const *headers);

/* Takes a shared option; returns true when opt was one. */
bool cli_common_opt(struct cli *cli, int opt, const char *arg);

/* Environment fallbacks and the HTTP client; returns 0 or an exit code (reported). */
int cli_connect(struct cli *cli);
/* Checks --project / --task are set; returns 0 or CLI_EXIT_USAGE (reported). */
int cli_need_project(struct cli *cli);
int cli_need_task(struct cli *cli);

/* Prints "hetu CMD: message" and "Try 'hetu CMD --help'." on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports cli->err on stderr and returns the exit code for a call that returned rc. */
int cli_fail(struct cli *cli, int rc);

/* Prints a response body unchanged on stdout (adds a final newline when it lacks one). */
void cli_print_raw(const struct client_resp *r);

/* Releases the client and returns code. */
int cli_finish(struct cli *cli, int code);

/*
 * An API path with escaped parts: in fmt, %P is the project, %T the task and %s the next
 * argument, each URL-escaped. Returns a malloc'd string, or NULL when out of memory.
 */
char *cli_path(struct cli *cli, const char *fmt, ...);

/* After getopt_long returned '?' or ':' (opt): says which option and why; CLI_EXIT_USAGE. */
int cli_bad_option(struct cli *cli, int opt, char **argv);

/* Prints "key: value" lines of obj for the keys given (NULL-terminated), aligned. */
void cli_print_fields(struct json_object *obj, const char *const *keys);

/* A cell's text for a JSON value: strings as is, null as "", anything else as JSON. */
const char *cli_cell(struct json_object *v);

/* Prints a table of the objects of array, one column per key (NULL-terminated keys/headers). */
int cli_print_table(struct json_object *array, const char *const *keys, const char *const *headers);

/* GET/POST... path with an optional body; --json prints the answer unchanged, otherwise
 * show(cli, parsed) prints it for people. Returns the exit code. */
typedef int (*cli_show_cb)(struct cli *cli, struct json_object *answer);
int cli_call(struct cli *cli, const char *method, char *path, struct json_object *body,
             cli_show_cb show);
/* A whole command that takes the common options alone and GETs one resource of the task
 * (path with %P and %T, see cli_path), shown by show. Returns the exit code. */
int cli_task_get(const struct cli_cmd *spec, int argc, char **argv, const char *path,
                 cli_show_cb show);

/*
 * Reads a whole file ("-" is stdin) into a NUL-terminated malloc'd string, at most
 * CLIENT_INPUT_MAX bytes. "@FILE" arguments go through cli_arg_text.
 */
int cli_read_file(const char *path, char **ret, size_t *ret_len, struct err *e);
/* An option value: "@FILE" is the file's contents ("@-" stdin), anything else itself. */
int cli_arg_text(const char *arg, char **ret, struct err *e);

/* Splits a topic path ("a/b", or "a>>>>>b" when it holds ">>>>>") into a JSON string array. */
struct json_object *cli_topic_list(const char *path);

/* The client commands: argv[0] is the command name. Each returns an exit code. */
int cmd_projects(int argc, char **argv);
int cmd_tasks(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_topics(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_import_kiln(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_pipeline(int argc, char **argv);
int cmd_judge(int argc, char **argv);

/* Prints TaskRuns (a JSON array) as a table: ID, CREATED, TOPIC, RATING, INPUT, OUTPUT. */
int cli_runs_table(struct json_object *runs);

/* Follows a job to its end with progress on stderr; shared by `import` and `jobs watch`. */
int cli_watch_job(struct cli *cli, const char *job_id);

#endif
