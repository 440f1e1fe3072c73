/* SPDX-License-Identifier: MIT */
/*
 * `hetu pipeline run FILE.json` and `hetu pipeline resume JOB_ID`: a pipeline job from the
 * command line. run sends the file as the request of POST .../pipelines, prints the estimate as
 * a table per stage, then follows the job's event stream with one bar per stage (the job JSON's
 * "stages") and ends with the estimate and the actual spend side by side. resume sends a new
 * budget to POST .../jobs/{id}/resume and follows the job the same way.
 *
 * Exit status: 0 completed; 1 failed, cancelled or completed with errors; 5 paused (the reason
 * and the resume command are printed); 2-4 as every client command.
 */
#include <math.h>
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

#define EXIT_PAUSED   5
#define N_STAGES      5
#define POLL_US       500000L
#define TABLE_COLUMNS 5

static const char *const stages[N_STAGES] = {"topics", "inputs", "dedup", "outputs", "judge"};

static const char usage[] =
    "Usage: hetu pipeline run FILE.json --project ID --task ID [--dry-run] [--no-watch]\n"
    "       hetu pipeline resume JOB_ID --project ID --task ID [--max-cost-usd X]\n"
    "                            [--max-calls N] [--max-tokens N] [--no-watch]\n"
    "\n"
    "run sends FILE.json (\"-\": stdin) as a pipeline request (topics, inputs, outputs, dedup,\n"
    "judge, budget), prints the estimate per stage (calls, tokens in and out, cost or \"unknown\n"
    "price\"), starts the job and follows it with a bar per stage; at the end it prints the\n"
    "estimate beside what the job spent. resume continues a paused, failed or cancelled job,\n"
    "with a new budget when one is given.\n"
    "\n"
    "Options:\n"
    "  --dry-run          print the estimate only; nothing is stored\n"
    "  --no-watch         start the job and print its id without following it\n"
    "  --max-cost-usd X   resume: the new budget's cap in US dollars\n"
    "  --max-calls N      resume: the new budget's cap of model calls\n"
    "  --max-tokens N     resume: the new budget's cap of tokens\n"
    "\n"
    "Exit status: 0 completed, 1 failed, cancelled or completed with errors, 5 paused (the\n"
    "budget was reached: the reason and the resume command are printed).\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu pipeline run pipeline.json -p 123456789012 -t 234567890123 --dry-run\n"
    "  hetu pipeline run pipeline.json -p 123456789012 -t 234567890123\n"
    "  hetu pipeline resume 345678901234 -p 123456789012 -t 234567890123 --max-cost-usd 5\n";

enum { OPT_DRY_RUN = CLI_OPT_FIRST_OWN, OPT_NO_WATCH, OPT_MAX_COST, OPT_MAX_CALLS, OPT_MAX_TOKENS };

struct pipeline_cli {
    struct cli cli;
    bool dry_run, no_watch;
    struct json_object *budget; /* resume: the new budget, or NULL */
    struct json_object *estimate;
};

static int64_t num(struct json_object *o, const char *key)
{
    return json_object_get_int64(cli_get(o, key));
}

/* "$0.0123", or "unknown price" for a null cost of a stage that makes calls. */
static void fmt_cost(struct json_object *stage, struct json_object *cost, char *out, size_t size)
{
    if (num(stage, "calls") == 0)
        snprintf(out, size, "$%.4f", 0.0);
    else if (!cost || json_object_is_type(cost, json_type_null))
        snprintf(out, size, "unknown price");
    else
        snprintf(out, size, "$%.4f", json_object_get_double(cost));
}

/* Tokens of a stage object: input_tokens + output_tokens, or "tokens". */
static int64_t tokens_of(struct json_object *st)
{
    if (cli_get(st, "input_tokens") || cli_get(st, "output_tokens"))
        return num(st, "input_tokens") + num(st, "output_tokens");
    return num(st, "tokens");
}

static int print_table(struct table *t)
{
    table_print(t, stdout);
    table_done(t);
    return CLI_EXIT_OK;
}

/* The estimate: one row a stage and the total. */
static int show_estimate(struct json_object *est)
{
    static const char *const heads[TABLE_COLUMNS] = {"STAGE", "CALLS", "TOKENS IN", "TOKENS OUT",
                                                     "COST"};
    struct json_object *st = cli_get(est, "stages");
    struct table t;

    if (table_init(&t, TABLE_COLUMNS, heads) < 0)
        return CLI_EXIT_FAILED;
    for (int i = 0; i <= N_STAGES; i++) {
        struct json_object *s = i < N_STAGES ? cli_get(st, stages[i]) : cli_get(est, "total");
        char calls[24], in[24], out[24], cost[32];
        const char *cells[TABLE_COLUMNS] = {i < N_STAGES ? stages[i] : "total", calls, in, out,
                                            cost};
        snprintf(calls, sizeof(calls), "%lld", (long long)num(s, "calls"));
        snprintf(in, sizeof(in), "%lld", (long long)num(s, "input_tokens"));
        snprintf(out, sizeof(out), "%lld", (long long)num(s, "output_tokens"));
        fmt_cost(s, cli_get(s, "cost_usd"), cost, sizeof(cost));
        if (table_add(&t, cells) < 0) {
            table_done(&t);
            return CLI_EXIT_FAILED;
        }
    }
    print_table(&t);
    printf("%lld new samples, %lld new leaves\n", (long long)num(est, "samples"),
           (long long)num(est, "leaves"));
    if (cli_get(est, "note"))
        printf("%s\n", cli_cell(cli_get(est, "note")));
    return CLI_EXIT_OK;
}

/* ---- following the job: a bar a stage ---- */

struct follow {
    struct pipeline_cli *pc;
    struct progress bars[N_STAGES];
    struct json_object *last;
    int64_t last_draw;
    int lines; /* lines of bars on the terminal */
    bool ended;
    char error[512];
};

static void draw_bars(struct follow *f, bool force)
{
    struct progress *p0 = &f->bars[0];
    int64_t now = clock_mono_us();
    char counts[160];

    if (f->pc->cli.quiet || (!force && now - f->last_draw < p0->interval_us))
        return;
    f->last_draw = now;
    if (!p0->tty) {
        fputs("progress:", stderr);
        for (int i = 0; i < N_STAGES; i++)
            fprintf(stderr, " %s %s;", stages[i],
                    progress_format(&f->bars[i], counts, sizeof(counts)));
        fputc('\n', stderr);
        return;
    }
    if (f->lines)
        fprintf(stderr, "\x1b[%dA", f->lines);
    for (int i = 0; i < N_STAGES; i++) {
        const struct progress *p = &f->bars[i];
        char bar[31];
        int fill = p->total > 0 ? (int)(30.0 * (double)p->done / (double)p->total) : 0;
        for (int k = 0; k < 30; k++)
            bar[k] = k < fill ? '#' : '-';
        bar[30] = '\0';
        fprintf(stderr, "%-8s [%s] %s\x1b[K\n", stages[i], bar,
                progress_format(p, counts, sizeof(counts)));
    }
    f->lines = N_STAGES;
    fflush(stderr);
}

static void take(struct follow *f, struct json_object *job)
{
    struct json_object *st = cli_get(job, "stages");
    enum job_status s;

    json_object_put(f->last);
    f->last = job;
    for (int i = 0; i < N_STAGES; i++) {
        struct json_object *x = cli_get(st, stages[i]);
        int64_t done = num(x, "done") + num(x, "failed");
        progress_update(&f->bars[i], done, cli_get(x, "items") ? num(x, "items") : num(x, "total"),
                        -1);
    }
    draw_bars(f, false);
    if (job_status_parse(cli_cell(cli_get(job, "status")), &s) == 0 && job_status_is_stopped(s))
        f->ended = true;
}

static int on_event(const char *event, const char *data, void *ud)
{
    struct follow *f = ud;
    struct json_object *job = json_tokener_parse(data); /* NULL: not a frame of ours */

    if (!json_object_is_type(job, json_type_object)) {
        json_object_put(job);
        return 0;
    }
    if (strcmp(event, "error") == 0) {
        snprintf(f->error, sizeof(f->error), "%s", cli_cell(cli_get(job, "detail")));
        json_object_put(job);
        return 1;
    }
    take(f, job);
    if (strcmp(event, "end") == 0)
        f->ended = true;
    return f->ended ? 1 : 0;
}

/* The estimate beside what the job spent, per stage. */
static void show_actual(struct follow *f)
{
    static const char *const heads[TABLE_COLUMNS] = {
        "STAGE", "CALLS est/actual", "TOKENS est/actual", "COST est", "COST actual"};
    struct json_object *st = cli_get(f->last, "stages"), *est = cli_get(f->pc->estimate, "stages");
    struct table t;

    if (table_init(&t, TABLE_COLUMNS, heads) < 0)
        return;
    for (int i = 0; i < N_STAGES; i++) {
        struct json_object *a = cli_get(st, stages[i]), *e = cli_get(est, stages[i]);
        char calls[48], tokens[64], ecost[32], acost[32];
        const char *cells[TABLE_COLUMNS] = {stages[i], calls, tokens, ecost, acost};
        if (!e)
            e = cli_get(a, "estimate");
        snprintf(calls, sizeof(calls), "%lld/%lld", (long long)num(e, "calls"),
                 (long long)num(a, "calls"));
        snprintf(tokens, sizeof(tokens), "%lld/%lld", (long long)tokens_of(e),
                 (long long)tokens_of(a));
        fmt_cost(e, cli_get(e, "cost_usd"), ecost, sizeof(ecost));
        fmt_cost(a, cli_get(a, "cost_usd") ? cli_get(a, "cost_usd") : cli_get(a, "cost"), acost,
                 sizeof(acost));
        if (table_add(&t, cells) < 0)
            break;
    }
    print_table(&t);
}

/* Why a paused job stopped: the first of the keys the job JSON may carry it in. */
static const char *pause_reason(struct json_object *job)
{
    static const char *const keys[] = {"paused_reason", "pause_reason", "reason", "error", NULL};

    for (size_t i = 0; keys[i]; i++)
        if (cli_get(job, keys[i]) && !json_object_is_type(cli_get(job, keys[i]), json_type_null))
            return cli_cell(cli_get(job, keys[i]));
    return "the budget was reached";
}

static int finish_follow(struct follow *f)
{
    struct cli *cli = &f->pc->cli;
    const char *status = cli_cell(cli_get(f->last, "status")),
               *id = cli_cell(cli_get(f->last, "id"));
    enum job_status s;

    draw_bars(f, true);
    if (cli->json) {
        printf("%s\n", json_object_to_json_string_ext(f->last, JSON_C_TO_STRING_PLAIN));
    } else {
        printf("job %s %s\n", id, status);
        show_actual(f);
    }
    if (job_status_parse(status, &s) < 0)
        return CLI_EXIT_FAILED;
    if (s == JOB_PAUSED) {
        const char *why = pause_reason(f->last);
        fprintf(stderr,
                "hetu pipeline: job %s paused: %s\n"
                "  resume it with: hetu pipeline resume %s -p %s -t %s %s\n",
                id, why, id, cli->project, cli->task,
                strstr(why, "max_calls")    ? "--max-calls N"
                : strstr(why, "max_tokens") ? "--max-tokens N"
                                            : "--max-cost-usd X");
        return EXIT_PAUSED;
    }
    if (s != JOB_COMPLETED && cli_get(f->last, "error") &&
        !json_object_is_type(cli_get(f->last, "error"), json_type_null))
        fprintf(stderr, "hetu pipeline: job %s %s: %s\n", id, status,
                cli_cell(cli_get(f->last, "error")));
    return s == JOB_COMPLETED ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

static void pause_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Follows job_id to a stopped state: the event stream, then polling when it closes early. */
static int follow(struct pipeline_cli *pc, const char *job_id)
{
    struct cli *cli = &pc->cli;
    struct follow f = {.pc = pc};
    char *events = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s/events", job_id);
    char *path = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s", job_id);
    int rc = 0, code;

    for (int i = 0; i < N_STAGES; i++)
        progress_init(&f.bars[i], stderr, true, stages[i]);
    if (events && path)
        rc = client_events(&cli->client, events, on_event, &f, &cli->err);
    while (rc == 0 && events && path && !f.ended && !f.error[0]) {
        struct client_resp resp;
        struct json_object *job = NULL;
        client_resp_init(&resp);
        if ((rc = client_json(&cli->client, "GET", path, NULL, &resp, &job, &cli->err)) == 0)
            take(&f, job);
        client_resp_done(&resp);
        if (rc == 0 && !f.ended)
            pause_us(POLL_US);
    }
    if (!events || !path)
        code = CLI_EXIT_FAILED;
    else if (rc < 0)
        code = cli_fail(cli, rc);
    else if (f.error[0])
        code = (fprintf(stderr, "hetu pipeline: %s\n", f.error), CLI_EXIT_SERVER);
    else
        code = finish_follow(&f);
    json_object_put(f.last);
    free(events);
    free(path);
    return code;
}

/* ---- the actions ---- */

static int run(struct pipeline_cli *pc, const char *file)
{
    struct cli *cli = &pc->cli;
    struct json_object *body = NULL, *answer = NULL;
    struct client_resp resp;
    char *text = NULL, *path;
    size_t len;
    int rc, code;

    if (cli_read_file(file, &text, &len, &cli->err) < 0 ||
        json_parse(text, len, &body, &cli->err) < 0) {
        free(text);
        fprintf(stderr, "hetu pipeline: %s: %s\n", file, cli->err.msg);
        return CLI_EXIT_FAILED;
    }
    free(text);
    if (!json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        fprintf(stderr, "hetu pipeline: %s: the request must be a JSON object\n", file);
        return CLI_EXIT_FAILED;
    }
    if (pc->dry_run)
        json_object_object_add(body, "dry_run", json_object_new_boolean(1));
    path = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/pipelines");
    client_resp_init(&resp);
    rc = path ? client_json(&cli->client, "POST", path, body, &resp, &answer, &cli->err) : HE_NOMEM;
    json_object_put(body);
    free(path);
    if (rc < 0) {
        client_resp_done(&resp);
        return cli_fail(cli, rc);
    }
    pc->estimate = json_object_get(cli_get(answer, "estimate"));
    if (cli->json && (pc->dry_run || pc->no_watch))
        cli_print_raw(&resp);
    else if (!cli->json)
        show_estimate(pc->estimate);
    client_resp_done(&resp);
    code = CLI_EXIT_OK;
    if (!pc->dry_run && pc->no_watch && !cli->json)
        printf("job %s started; follow it with: hetu jobs watch %s -p %s -t %s\n",
               cli_cell(cli_get(answer, "job_id")), cli_cell(cli_get(answer, "job_id")),
               cli->project, cli->task);
    else if (!pc->dry_run && !pc->no_watch)
        code = follow(pc, cli_cell(cli_get(answer, "job_id")));
    json_object_put(answer);
    return code;
}

static int resume(struct pipeline_cli *pc, const char *job_id)
{
    struct cli *cli = &pc->cli;
    struct json_object *body = NULL, *answer = NULL;
    struct client_resp resp;
    char *path = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/jobs/%s/resume", job_id);
    int rc;

    if (pc->budget) {
        body = json_object_new_object();
        json_object_object_add(body, "budget", json_object_get(pc->budget));
    }
    client_resp_init(&resp);
    rc = path ? client_json(&cli->client, "POST", path, body, &resp, &answer, &cli->err) : HE_NOMEM;
    json_object_put(body);
    free(path);
    if (rc == 0 && pc->no_watch)
        printf("job %s %s\n", job_id, cli_cell(cli_get(answer, "status")));
    client_resp_done(&resp);
    json_object_put(answer);
    if (rc < 0)
        return cli_fail(cli, rc);
    return pc->no_watch ? CLI_EXIT_OK : follow(pc, job_id);
}

/* --max-cost-usd / --max-calls / --max-tokens into pc->budget. */
static int budget_opt(struct pipeline_cli *pc, int opt, const char *arg)
{
    static const char *const keys[] = {"max_cost_usd", "max_calls", "max_tokens"};
    const char *key = keys[opt - OPT_MAX_COST];
    char *end;
    double v = strtod(arg, &end);

    if (!*arg || *end || !(v >= 0) || (opt != OPT_MAX_COST && v != floor(v)))
        return cli_usage_error(&pc->cli, "--%s needs a number of at least 0, not '%s'",
                               opt == OPT_MAX_COST    ? "max-cost-usd"
                               : opt == OPT_MAX_CALLS ? "max-calls"
                                                      : "max-tokens",
                               arg);
    if (!pc->budget)
        pc->budget = json_object_new_object();
    json_object_object_add(pc->budget, key,
                           opt == OPT_MAX_COST ? json_object_new_double(v)
                                               : json_object_new_int64((int64_t)v));
    return 0;
}

int cmd_pipeline(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                         {"no-watch", no_argument, NULL, OPT_NO_WATCH},
                                         {"max-cost-usd", required_argument, NULL, OPT_MAX_COST},
                                         {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
                                         {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"pipeline", usage, example, opts, CLI_COMMON_SHORT};
    struct pipeline_cli pc = {0};
    const char *args[2];
    int opt, r;

    cli_init(&pc.cli, &spec);
    while ((opt = cli_getopt(&pc.cli, argc, argv)) > 0) {
        if (opt == OPT_DRY_RUN)
            pc.dry_run = true;
        else if (opt == OPT_NO_WATCH)
            pc.no_watch = true;
        else if ((r = budget_opt(&pc, opt, optarg)) != 0)
            goto out;
    }
    if (opt < 0)
        return pc.cli.exit;
    if ((r = cli_operands(&pc.cli, argc, argv, 2, 2, "ACTION (run FILE.json, resume JOB_ID)",
                          args)) != 0)
        goto out;
    if (strcmp(args[0], "run") != 0 && strcmp(args[0], "resume") != 0) {
        r = cli_usage_error(&pc.cli, "unknown action '%s' (run, resume)", args[0]);
        goto out;
    }
    if ((strcmp(args[0], "run") == 0 && pc.budget) ||
        (strcmp(args[0], "resume") == 0 && pc.dry_run)) {
        r = cli_usage_error(&pc.cli, "%s does not take this option",
                            args[0][0] == 'r' && args[0][1] == 'u' ? "run" : "resume");
        goto out;
    }
    if ((r = cli_connect(&pc.cli)) != 0 || (r = cli_need_task(&pc.cli)) != 0) {
        r = cli_finish(&pc.cli, r);
        goto out;
    }
    r = cli_finish(&pc.cli, strcmp(args[0], "run") == 0 ? run(&pc, args[1]) : resume(&pc, args[1]));
out:
    json_object_put(pc.budget);
    json_object_put(pc.estimate);
    return r;
}
