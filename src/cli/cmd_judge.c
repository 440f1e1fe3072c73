/* SPDX-License-Identifier: MIT */
/*
 * `hetu judge run` starts a judge job over the samples the filters select (POST .../judge) and,
 * with --watch, follows it as `jobs watch` does; `hetu judge agreement` prints how far the
 * judge's ratings agree with people's (GET .../judge/agreement) as a table, overall and per
 * requirement, with the reason beside each figure that is undefined. --json prints the server's
 * answers as they came.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/table.h"
#include "util/json.h"

#include "util/banned.h"

#define COLUMNS 8

static const char usage[] =
    "Usage: hetu judge run --provider P --model M --project ID --task ID [OPTIONS]\n"
    "       hetu judge agreement --project ID --task ID\n"
    "\n"
    "run starts a job in which the model rates the task's samples against its requirements\n"
    "(Kiln's rating types, and an overall five-star rating), kept apart from people's ratings;\n"
    "samples the judge rated already are left out unless --rejudge. agreement compares the\n"
    "judge's ratings with people's on the samples rated by both: Kendall's tau-b, Spearman's\n"
    "rho, mean absolute error, and for pass/fail requirements the agreement rate and Cohen's\n"
    "kappa.\n"
    "\n"
    "Options of run:\n"
    "  --provider P         the judge model's provider\n"
    "  --model M            the judge model\n"
    "  --guidance TEXT      instructions added to the judge's (@FILE reads a file)\n"
    "  --keep N             tag the samples rated below N (1 to 5) \"rejected\"\n"
    "  --rejudge            rate samples the judge rated already too\n"
    "  --drop-unsupported   drop parameters the model does not support instead of failing\n"
    "  --topic PATH         samples under this topic (a/b, or a>>>>>b)\n"
    "  --session ID         samples of this session\n"
    "  --tag TAG            samples carrying this tag\n"
    "  --rating N           samples a person rated at least N\n"
    "  --source TYPE        samples whose input source is of this type\n"
    "  --max-cost-usd X, --max-calls N, --max-tokens N\n"
    "                       the job's budget: it pauses before passing one\n"
    "  --watch              follow the job to its end with a progress bar\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu judge run -p 123456789012 -t 234567890123 --provider openai --model gpt-4o-mini \\\n"
    "      --keep 3 --watch\n"
    "  hetu judge agreement -p 123456789012 -t 234567890123\n";

enum {
    OPT_PROVIDER = CLI_OPT_FIRST_OWN,
    OPT_MODEL,
    OPT_GUIDANCE,
    OPT_KEEP,
    OPT_REJUDGE,
    OPT_DROP,
    OPT_TOPIC,
    OPT_SESSION,
    OPT_TAG,
    OPT_RATING,
    OPT_SOURCE,
    OPT_MAX_COST,
    OPT_MAX_CALLS,
    OPT_MAX_TOKENS,
    OPT_WATCH,
};

static const struct option opts[] = {
    CLI_COMMON_OPTS,
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"model", required_argument, NULL, OPT_MODEL},
    {"guidance", required_argument, NULL, OPT_GUIDANCE},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"rejudge", no_argument, NULL, OPT_REJUDGE},
    {"drop-unsupported", no_argument, NULL, OPT_DROP},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"session", required_argument, NULL, OPT_SESSION},
    {"tag", required_argument, NULL, OPT_TAG},
    {"rating", required_argument, NULL, OPT_RATING},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"max-cost-usd", required_argument, NULL, OPT_MAX_COST},
    {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
    {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
    {"watch", no_argument, NULL, OPT_WATCH},
    {NULL, 0, NULL, 0},
};

/* A number option into body[key] (budget numbers into budget); false when it is not one. */
static bool put_number(struct json_object *o, const char *key, const char *arg, bool whole)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end || !isfinite(v) || (whole && v != floor(v)))
        return false;
    json_object_object_add(o, key,
                           whole ? json_object_new_int64((int64_t)v) : json_object_new_double(v));
    return true;
}

static const char *opt_name(int opt)
{
    for (size_t i = 0; opts[i].name; i++)
        if (opts[i].val == opt)
            return opts[i].name;
    return "?";
}

/* The run's options into body (the first of them in *ret_run_opt, for agreement to refuse);
 * 0, or the exit code (reported). */
static int read_opts(struct cli *cli, int argc, char **argv, struct json_object *body,
                     bool *ret_watch, const char **ret_run_opt)
{
    struct json_object *budget = json_object_new_object();
    char *text;
    int opt;

    json_object_object_add(body, "budget", budget);
    while ((opt = cli_getopt(cli, argc, argv)) > 0) {
        bool ok = true;
        if (!*ret_run_opt)
            *ret_run_opt = opt_name(opt);
        switch (opt) {
        case OPT_PROVIDER:
            json_object_object_add(body, "provider", json_object_new_string(optarg));
            break;
        case OPT_MODEL:
            json_object_object_add(body, "model_name", json_object_new_string(optarg));
            break;
        case OPT_GUIDANCE:
            if (cli_arg_text(optarg, &text, &cli->err) < 0)
                return cli_fail(cli, HE_IO);
            json_object_object_add(body, "human_guidance", json_object_new_string(text));
            free(text);
            break;
        case OPT_KEEP: ok = put_number(body, "keep", optarg, false); break;
        case OPT_REJUDGE:
            json_object_object_add(body, "rejudge", json_object_new_boolean(1));
            break;
        case OPT_DROP:
            json_object_object_add(body, "drop_unsupported_params", json_object_new_boolean(1));
            break;
        case OPT_TOPIC: json_object_object_add(body, "topic_path", cli_topic_list(optarg)); break;
        case OPT_SESSION:
            json_object_object_add(body, "session_id", json_object_new_string(optarg));
            break;
        case OPT_TAG: json_object_object_add(body, "tag", json_object_new_string(optarg)); break;
        case OPT_RATING: ok = put_number(body, "rating", optarg, false); break;
        case OPT_SOURCE:
            json_object_object_add(body, "source", json_object_new_string(optarg));
            break;
        case OPT_MAX_COST: ok = put_number(budget, "max_cost_usd", optarg, false); break;
        case OPT_MAX_CALLS: ok = put_number(budget, "max_calls", optarg, true); break;
        case OPT_MAX_TOKENS: ok = put_number(budget, "max_tokens", optarg, true); break;
        case OPT_WATCH: *ret_watch = true; break;
        default: return cli_bad_option(cli, opt, argv);
        }
        if (!ok)
            return cli_usage_error(cli, "--%s needs a number, not '%s'", opt_name(opt), optarg);
    }
    return opt < 0 ? (cli->exit ? cli->exit : -1) : 0;
}

static int show_started(struct cli *cli, struct json_object *answer)
{
    (void)cli;
    printf("judge job %s started: %lld samples to rate\n", cli_cell(cli_get(answer, "job_id")),
           (long long)json_object_get_int64(cli_get(answer, "samples")));
    return CLI_EXIT_OK;
}

/* POST .../judge, then with --watch follow the job. */
static int judge_run_cmd(struct cli *cli, struct json_object *body, bool watch)
{
    struct json_object *answer = NULL;
    struct client_resp resp;
    char *path = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/judge");
    int r;

    if (!watch)
        return cli_call(cli, "POST", path, body, show_started);
    client_resp_init(&resp);
    r = path ? client_json(&cli->client, "POST", path, body, &resp, &answer, &cli->err)
             : err_set(&cli->err, HE_NOMEM, NULL, NULL);
    free(path);
    json_object_put(body);
    client_resp_done(&resp);
    if (r < 0)
        return cli_finish(cli, cli_fail(cli, r));
    if (!cli->json)
        show_started(cli, answer);
    r = cli_watch_job(cli, cli_cell(cli_get(answer, "job_id")));
    json_object_put(answer);
    return cli_finish(cli, r);
}

/* A figure's cell: the number, or "-" for null. */
static void figure(struct json_object *o, const char *key, char *out, size_t size)
{
    struct json_object *v = cli_get(o, key);

    if (!v || json_object_is_type(v, json_type_null))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.3f", json_object_get_double(v));
}

static int add_row(struct table *t, const char *name, const char *type, struct json_object *o)
{
    static const char *const keys[] = {"kendall_tau", "spearman", "mae", "agreement", "kappa"};
    char n[24], cells_text[5][32];
    const char *cells[COLUMNS] = {name, type, n};

    snprintf(n, sizeof(n), "%lld", (long long)json_object_get_int64(cli_get(o, "n")));
    for (int i = 0; i < 5; i++) {
        figure(o, keys[i], cells_text[i], sizeof(cells_text[i]));
        cells[3 + i] = cells_text[i];
    }
    return table_add(t, cells);
}

static void print_reasons(const char *name, struct json_object *o)
{
    struct json_object *reasons = cli_get(o, "reasons");

    if (!reasons || !json_object_is_type(reasons, json_type_object))
        return;
    json_object_object_foreach(reasons, key, why)
    {
        printf("  %s %s: %s\n", name, key, cli_cell(why));
    }
}

static int show_agreement(struct cli *cli, struct json_object *a)
{
    static const char *const heads[COLUMNS] = {"RATING",   "TYPE", "N",         "KENDALL TAU",
                                               "SPEARMAN", "MAE",  "AGREEMENT", "KAPPA"};
    struct json_object *reqs = cli_get(a, "requirements");
    size_t n = reqs ? json_object_array_length(reqs) : 0;
    struct table t;
    int r = table_init(&t, COLUMNS, heads);

    printf("samples rated by a person and by the judge: %lld\n\n",
           (long long)json_object_get_int64(cli_get(a, "samples")));
    if (r == 0)
        r = add_row(&t, "overall", "five_star", cli_get(a, "overall"));
    for (size_t i = 0; i < n && r == 0; i++) {
        struct json_object *q = json_object_array_get_idx(reqs, i);
        r = add_row(&t, cli_cell(cli_get(q, "name")), cli_cell(cli_get(q, "type")), q);
    }
    if (r < 0) {
        table_done(&t);
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return CLI_EXIT_FAILED;
    }
    table_print(&t, stdout);
    table_done(&t);
    print_reasons("overall", cli_get(a, "overall"));
    for (size_t i = 0; i < n; i++) {
        struct json_object *q = json_object_array_get_idx(reqs, i);
        print_reasons(cli_cell(cli_get(q, "name")), q);
    }
    return CLI_EXIT_OK;
}

int cmd_judge(int argc, char **argv)
{
    static const struct cli_cmd spec = {"judge", usage, example, opts, CLI_COMMON_SHORT};
    struct json_object *body = json_object_new_object();
    const char *action, *run_opt = NULL;
    bool watch = false, run;
    struct cli cli;
    int r;

    cli_init(&cli, &spec);
    if ((r = read_opts(&cli, argc, argv, body, &watch, &run_opt)) != 0)
        goto out;
    if (optind >= argc) {
        r = cli_usage_error(&cli, "missing ACTION (run, agreement)");
        goto out;
    }
    action = argv[optind++];
    run = strcmp(action, "run") == 0;
    if (!run && strcmp(action, "agreement") != 0)
        r = cli_usage_error(&cli, "unknown action '%s' (run, agreement)", action);
    else if (!run && run_opt)
        r = cli_usage_error(&cli, "--%s is an option of run", run_opt);
    else if (run && (!cli_get(body, "provider") || !cli_get(body, "model_name")))
        r = cli_usage_error(&cli, "run needs --provider and --model");
    if (r != 0 || (r = cli_no_more_args(&cli, argc, argv)) != 0)
        goto out;
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0) {
        json_object_put(body);
        return cli_finish(&cli, r);
    }
    if (run)
        return judge_run_cmd(&cli, body, watch);
    json_object_put(body);
    return cli_call(&cli, "GET",
                    cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/judge/agreement"), NULL,
                    show_agreement);
out:
    json_object_put(body);
    return r < 0 ? cli.exit : r;
}
