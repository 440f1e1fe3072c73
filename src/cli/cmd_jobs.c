/* SPDX-License-Identifier: MIT */
/*
 * `hetu jobs list|show|watch|cancel|resume`, and the job follower `import` shares. Following reads
 * the job's event stream (event: progress / end frames carrying the Job JSON) and draws progress
 * from each frame; when the stream is not available or closes early it polls the job instead,
 * so a watch ends only when the job has.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "store/job_status.h"
#include "util/clock.h"
#include "util/json.h"

#include "util/banned.h"

#define POLL_US        500000L
#define STREAM_RETRIES 5
#define SHOW_ERRORS    5

static const char usage[] =
    "Usage: hetu jobs ACTION --project ID --task ID [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  list          the task's jobs: id, kind, status, progress, rate, created\n"
    "  show ID       one job, with its first errors\n"
    "  watch ID      follow a job to its end with a progress bar (done/total, percentage, rate,\n"
    "                time left) on a terminal, a progress line every few seconds otherwise\n"
    "                (HETU_PROGRESS_INTERVAL seconds, default 3); then a summary. Exits 0 when\n"
    "                the job completed, 1 when it ended failed, cancelled or with errors\n"
    "  cancel ID     ask a running job to stop\n"
    "  resume ID     run a failed or cancelled job again from where it stopped\n"
    "\n"
    "With --json, watch prints the job's final JSON as the server sent it.\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu jobs list -p 123456789012 -t 234567890123\n"
                              "  hetu jobs watch 345678901234\n"
                              "  hetu jobs watch 345678901234 --quiet --json | jq .status\n";

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    if (o && json_object_is_type(o, json_type_object))
        json_object_object_get_ex(o, key, &v);
    return v;
}

static int64_t num(struct json_object *o, const char *key)
{
    return json_object_get_int64(get(o, key));
}

/* The state a status text from the server names, or -1. */
static int status_of(const char *s)
{
    enum job_status st;
    return job_status_parse(s, &st) == 0 ? (int)st : -1;
}

static bool final_status(const char *s)
{
    int st = status_of(s);
    return st >= 0 && job_status_is_stopped((enum job_status)st);
}

static int show_job(struct cli *cli, struct json_object *job)
{
    static const char *const keys[] = {"id",         "kind",        "status", "total",
                                       "completed",  "failed",      "rate",   "created_at",
                                       "started_at", "finished_at", "error",  NULL};
    struct json_object *errors = get(job, "errors");

    (void)cli;
    cli_print_fields(job, keys);
    for (size_t i = 0; errors && i < json_object_array_length(errors); i++) {
        struct json_object *x = json_object_array_get_idx(errors, i);
        printf("%s sample %lld: %s\n", i ? "            " : "errors      ",
               (long long)num(x, "index"), cli_cell(get(x, "detail")));
    }
    return CLI_EXIT_OK;
}

static int show_list(struct cli *cli, struct json_object *answer)
{
    static const char *const heads[] = {"ID",     "KIND", "STATUS", "DONE",
                                        "FAILED", "RATE", "CREATED"};
    struct json_object *jobs = get(answer, "jobs");
    struct table t;
    int r = table_init(&t, 7, heads);

    for (size_t i = 0; jobs && r == 0 && i < json_object_array_length(jobs); i++) {
        struct json_object *j = json_object_array_get_idx(jobs, i);
        char done[48], failed[24], rate[24];
        const char *cells[7];
        snprintf(done, sizeof(done), "%lld/%lld", (long long)num(j, "completed"),
                 (long long)num(j, "total"));
        snprintf(failed, sizeof(failed), "%lld", (long long)num(j, "failed"));
        snprintf(rate, sizeof(rate), "%.1f/s", json_object_get_double(get(j, "rate")));
        cells[0] = cli_cell(get(j, "id"));
        cells[1] = cli_cell(get(j, "kind"));
        cells[2] = cli_cell(get(j, "status"));
        cells[3] = done;
        cells[4] = failed;
        cells[5] = rate;
        cells[6] = cli_cell(get(j, "created_at"));
        r = table_add(&t, cells);
    }
    if (r == 0)
        table_print(&t, stdout);
    table_done(&t);
    if (r < 0) {
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

/* ---- following a job ---- */

struct watch {
    struct cli *cli;
    struct progress prog;
    struct json_object *last; /* the latest Job JSON */
    char *last_text;          /* and its text as the server sent it */
    bool ended;
    char error[512]; /* an `event: error` frame's detail */
};

static void take(struct watch *w, struct json_object *job, const char *text)
{
    double rate = json_object_get_double(get(job, "rate"));

    json_object_put(w->last);
    w->last = job;
    free(w->last_text);
    w->last_text = strdup(text);
    progress_update(&w->prog, num(job, "completed") + num(job, "failed"), num(job, "total"),
                    rate > 0 ? rate : -1);
    if (final_status(cli_cell(get(job, "status"))))
        w->ended = true;
}

static int event_cb(const char *event, const char *data, void *ud)
{
    struct watch *w = ud;
    struct json_object *job = NULL;
    struct err e;

    err_clear(&e);
    if (json_parse(data, strlen(data), &job, &e) < 0 ||
        !json_object_is_type(job, json_type_object)) {
        json_object_put(job);
        return 0; /* not a frame of ours: skip it */
    }
    if (strcmp(event, "error") == 0) {
        snprintf(w->error, sizeof(w->error), "%s", cli_cell(get(job, "detail")));
        json_object_put(job);
        return 1;
    }
    take(w, job, data);
    return w->ended || strcmp(event, "end") == 0 ? (w->ended = true, 1) : 0;
}

/* GET the job once; 0 or the client's error. */
static int poll_once(struct watch *w, const char *path)
{
    struct client_resp resp;
    struct json_object *job = NULL;
    int rc;

    client_resp_init(&resp);
    rc = client_json(&w->cli->client, "GET", path, NULL, &resp, &job, &w->cli->err);
    if (rc == 0)
        take(w, job, resp.body.data);
    client_resp_done(&resp);
    return rc;
}

static void pause_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int summary(struct watch *w)
{
    const char *status = cli_cell(get(w->last, "status"));
    struct json_object *errors = get(w->last, "errors");
    struct json_object *error = get(w->last, "error");
    int64_t t0, t1;
    char took[32] = "";

    if (w->cli->json) {
        fputs(w->last_text, stdout);
        fputc('\n', stdout);
    } else {
        if (clock_parse_iso8601(cli_cell(get(w->last, "started_at")), &t0) == 0 &&
            clock_parse_iso8601(cli_cell(get(w->last, "finished_at")), &t1) == 0)
            snprintf(took, sizeof(took), " in %.1fs", (double)(t1 - t0) / 1e6);
        printf("job %s %s: %lld of %lld done, %lld failed%s\n", cli_cell(get(w->last, "id")),
               status, (long long)num(w->last, "completed"), (long long)num(w->last, "total"),
               (long long)num(w->last, "failed"), took);
    }
    if (error && !json_object_is_type(error, json_type_null))
        fprintf(stderr, "hetu %s: job %s: %s\n", w->cli->cmd, status, cli_cell(error));
    for (size_t i = 0; errors && i < json_object_array_length(errors) && i < SHOW_ERRORS; i++) {
        struct json_object *x = json_object_array_get_idx(errors, i);
        fprintf(stderr, "  sample %lld: %s\n", (long long)num(x, "index"),
                cli_cell(get(x, "detail")));
    }
    return status_of(status) == JOB_COMPLETED ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int cli_watch_job(struct cli *cli, const char *job_id)
{
    struct watch w = {.cli = cli};
    char *events = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s/events", job_id);
    char *job = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s", job_id);
    int rc = 0, code, tries = 0;
    bool polling = false;

    if (!events || !job) {
        free(events);
        free(job);
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return CLI_EXIT_FAILED;
    }
    progress_init(&w.prog, stderr, cli->quiet, cli->cmd);
    while (!w.ended && !w.error[0]) {
        if (!polling) {
            rc = client_events(&cli->client, events, event_cb, &w, &cli->err);
            if (rc == 0 && (w.ended || w.error[0]))
                break;
            if (rc < 0 && cli->client.fail != CLIENT_FAIL_HTTP)
                break; /* unreachable, or a local failure */
            /* no stream here (an error answer), or it closed before the end: poll */
            err_clear(&cli->err);
            polling = rc < 0 || ++tries >= STREAM_RETRIES;
        }
        if ((rc = poll_once(&w, job)) < 0)
            break;
        if (!w.ended)
            pause_us(POLL_US);
    }
    if (w.last)
        progress_finish(&w.prog);
    if (rc < 0) {
        code = cli_fail(cli, rc);
    } else if (w.error[0]) {
        fprintf(stderr, "hetu %s: %s\n", cli->cmd, w.error);
        code = CLI_EXIT_SERVER;
    } else {
        code = summary(&w);
    }
    json_object_put(w.last);
    free(w.last_text);
    free(events);
    free(job);
    return code;
}

int cmd_jobs(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"jobs", usage, example, opts, CLI_COMMON_SHORT};
    const char *action, *id = NULL;
    struct cli cli;
    int r;

    cli_init(&cli, &spec);
    if (cli_getopt(&cli, argc, argv) != 0)
        return cli.exit;
    if (optind >= argc)
        return cli_usage_error(&cli, "missing ACTION (list, show, watch, cancel, resume)");
    action = argv[optind++];
    if (strcmp(action, "list") != 0) {
        if (strcmp(action, "show") != 0 && strcmp(action, "watch") != 0 &&
            strcmp(action, "cancel") != 0 && strcmp(action, "resume") != 0)
            return cli_usage_error(&cli, "unknown action '%s' (list, show, watch, cancel, resume)",
                                   action);
        if (optind >= argc)
            return cli_usage_error(&cli, "%s needs a job ID", action);
        id = argv[optind++];
    }
    if ((r = cli_no_more_args(&cli, argc, argv)) != 0)
        return r;
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    if (strcmp(action, "list") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/jobs"), NULL,
                        show_list);
    if (strcmp(action, "show") == 0)
        return cli_call(&cli, "GET",
                        cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s", id), NULL,
                        show_job);
    if (strcmp(action, "cancel") == 0 || strcmp(action, "resume") == 0)
        return cli_call(&cli, "POST",
                        cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s/%s", id, action),
                        NULL, show_job);
    return cli_finish(&cli, cli_watch_job(&cli, id));
}
