/* SPDX-License-Identifier: MIT */
/*
 * `hetu runs list|show|rate|tag|delete`: the stored samples (TaskRuns) of a task. `list` pages
 * with the server's cursor: one page by default, every page with --all.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/table.h"
#include "gen/limits.h"
#include "util/buf.h"
#include "util/json.h"

#include "util/banned.h"

#define MAX_TAGS TAG_MAX_COUNT

static const char usage[] =
    "Usage: hetu runs ACTION --project ID --task ID [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  list                 the task's samples in the server's order, as a table (one page; "
    "--all)\n"
    "  show ID              one sample: input, output, sources, rating, tags\n"
    "  rate ID RATING       rate a sample: 1-5 stars, pass, fail, or none (clears it)\n"
    "  tag ID TAG...        replace a sample's tags\n"
    "  delete ID            delete a sample\n"
    "\n"
    "List filters:\n"
    "  --topic PATH         samples under this topic path ('a/b')\n"
    "  --session ID         samples saved with this session id\n"
    "  --tag TAG            samples carrying this tag\n"
    "  --rating N           samples rated at least N (0-5; pass counts 5, fail 1)\n"
    "  --source TYPE        human, synthetic or file_import\n"
    "  --limit N            samples per page (server default 100)\n"
    "  --cursor ID          start after this sample (a next_cursor value)\n"
    "  --all                follow next_cursor to the end (with --json: one page a line)\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu runs list -p 123456789012 -t 234567890123 --topic 旅行\n"
                              "  hetu runs list --json --all | jq -c '.runs[]'\n"
                              "  hetu runs rate 345678901234 4\n"
                              "  hetu runs rate 345678901234 pass\n";

enum {
    OPT_TOPIC = CLI_OPT_FIRST_OWN,
    OPT_SESSION,
    OPT_TAG,
    OPT_RATING,
    OPT_SOURCE,
    OPT_LIMIT,
    OPT_CURSOR,
    OPT_ALL,
};

static void rating_text(struct json_object *rating, char *out, size_t size)
{
    const char *type = cli_cell(cli_get(rating, "type"));
    struct json_object *v = cli_get(rating, "value");

    out[0] = '\0';
    if (!rating || !v)
        return;
    if (strcmp(type, "five_star") == 0)
        snprintf(out, size, "%g/5", json_object_get_double(v));
    else
        snprintf(out, size, "%s", json_object_get_double(v) >= 1 ? "pass" : "fail");
}

int cli_runs_table(struct json_object *runs)
{
    static const char *const heads[] = {"ID", "CREATED", "TOPIC", "RATING", "INPUT", "OUTPUT"};
    struct table t;
    int r;

    if ((r = table_init(&t, 6, heads)) < 0)
        return r;
    table_max_width(&t, 1, 19); /* the date and time, without the fraction */
    table_max_width(&t, 2, 30);
    table_max_width(&t, 4, 40);
    table_max_width(&t, 5, 40);
    for (size_t i = 0; runs && r == 0 && i < json_object_array_length(runs); i++) {
        struct json_object *run = json_object_array_get_idx(runs, i);
        struct json_object *out = cli_get(run, "output");
        const char *topic =
            cli_cell(cli_get(cli_get(cli_get(run, "input_source"), "properties"), "topic_path"));
        char created[20] = "", rating[16];
        const char *cells[6];
        struct buf tp;

        snprintf(created, sizeof(created), "%s", cli_cell(cli_get(run, "created_at")));
        if (strlen(created) > 10)
            created[10] = ' ';
        rating_text(cli_get(out, "rating"), rating, sizeof(rating));
        buf_init(&tp, 4096); /* topic paths are stored as a>>>>>b; show a/b */
        for (const char *p = topic; *p && r == 0;) {
            const char *sep = strstr(p, ">>>>>");
            size_t n = sep ? (size_t)(sep - p) : strlen(p);
            r = buf_add(&tp, p, n);
            if (sep && r == 0)
                r = buf_add(&tp, "/", 1);
            p += n + (sep ? 5 : 0);
        }
        if (r == HE_TOO_LARGE)
            r = 0;
        cells[0] = cli_cell(cli_get(run, "id"));
        cells[1] = created;
        cells[2] = tp.data ? tp.data : "";
        cells[3] = rating;
        cells[4] = cli_cell(cli_get(run, "input"));
        cells[5] = cli_cell(cli_get(out, "output"));
        if (r == 0)
            r = table_add(&t, cells);
        buf_done(&tp);
    }
    if (r == 0)
        table_print(&t, stdout);
    table_done(&t);
    return r;
}

static int show_run(struct cli *cli, struct json_object *run)
{
    static const char *const keys[] = {
        "id",   "created_at",   "created_by",    "input",        "output", "rating",
        "tags", "input_source", "output_source", "intermediate", "usage",  NULL};
    struct json_object *out = cli_get(run, "output"), *view = json_object_new_object();
    struct json_object *inter = cli_get(run, "intermediate_outputs");
    char rating[16];

    (void)cli;
    for (size_t i = 0; i < 4; i++)
        json_object_object_add(view, keys[i], json_object_get(cli_get(run, keys[i])));
    json_object_object_add(view, "output", json_object_get(cli_get(out, "output")));
    rating_text(cli_get(out, "rating"), rating, sizeof(rating));
    json_object_object_add(view, "rating", json_object_new_string(rating));
    json_object_object_add(view, "tags", json_object_get(cli_get(run, "tags")));
    json_object_object_add(view, "input_source", json_object_get(cli_get(run, "input_source")));
    json_object_object_add(view, "output_source", json_object_get(cli_get(out, "source")));
    if (inter && json_object_is_type(inter, json_type_object) &&
        json_object_object_length(inter) > 0)
        json_object_object_add(view, "intermediate", json_object_get(inter));
    json_object_object_add(view, "usage", json_object_get(cli_get(run, "usage")));
    cli_print_fields(view, keys);
    json_object_put(view);
    return CLI_EXIT_OK;
}

struct filters {
    const char *topic, *session, *tag, *rating, *source, *limit, *cursor;
    bool all;
};

static int add_query(struct cli *cli, struct buf *q, const char *key, const char *value)
{
    char *esc;
    int r;

    if (!value)
        return 0;
    if (!(esc = client_escape(&cli->client, value)))
        return HE_NOMEM;
    r = buf_addf(q, "%c%s=%s", q->len ? '&' : '?', key, esc);
    free(esc);
    return r;
}

static int list_runs(struct cli *cli, const struct filters *f)
{
    char *cursor = f->cursor ? strdup(f->cursor) : NULL;
    struct client_resp resp;
    struct json_object *page = NULL, *all = json_object_new_array();
    int code = CLI_EXIT_OK, rc = 0;

    client_resp_init(&resp);
    for (;;) {
        char *base = cli_path(cli, "/api/projects/%P/tasks/%T/runs");
        struct buf q;
        buf_init(&q, 1 << 16);
        if (!base || add_query(cli, &q, "topic_path", f->topic) < 0 ||
            add_query(cli, &q, "session_id", f->session) < 0 ||
            add_query(cli, &q, "tag", f->tag) < 0 || add_query(cli, &q, "rating", f->rating) < 0 ||
            add_query(cli, &q, "source", f->source) < 0 ||
            add_query(cli, &q, "limit", f->limit) < 0 || add_query(cli, &q, "cursor", cursor) < 0 ||
            buf_adds(&q, "") < 0) {
            free(base);
            buf_done(&q);
            fprintf(stderr, "hetu runs: out of memory\n");
            code = CLI_EXIT_FAILED;
            break;
        }
        {
            size_t n = strlen(base) + q.len + 1;
            char *path = malloc(n);
            if (path)
                snprintf(path, n, "%s%s", base, q.data);
            rc = path ? client_json(&cli->client, "GET", path, NULL, &resp,
                                    cli->json ? NULL : &page, &cli->err)
                      : err_set(&cli->err, HE_NOMEM, NULL, "out of memory");
            free(path);
        }
        free(base);
        buf_done(&q);
        if (rc < 0) {
            code = cli_fail(cli, rc);
            break;
        }
        free(cursor);
        cursor = NULL;
        if (cli->json) {
            struct json_object *parsed = NULL;
            struct err e;
            cli_print_raw(&resp);
            if (!f->all)
                break;
            err_clear(&e);
            if (json_parse(resp.body.data, resp.body.len, &parsed, &e) == 0 &&
                json_object_is_type(cli_get(parsed, "next_cursor"), json_type_string))
                cursor = strdup(json_object_get_string(cli_get(parsed, "next_cursor")));
            json_object_put(parsed);
        } else {
            struct json_object *runs = cli_get(page, "runs");
            for (size_t i = 0; runs && i < json_object_array_length(runs); i++)
                json_object_array_add(all, json_object_get(json_object_array_get_idx(runs, i)));
            if (f->all && json_object_is_type(cli_get(page, "next_cursor"), json_type_string))
                cursor = strdup(json_object_get_string(cli_get(page, "next_cursor")));
            else if (json_object_is_type(cli_get(page, "next_cursor"), json_type_string))
                fprintf(stderr, "more: --cursor %s (or --all)\n",
                        json_object_get_string(cli_get(page, "next_cursor")));
            json_object_put(page);
            page = NULL;
        }
        if (!cursor)
            break;
    }
    if (code == CLI_EXIT_OK && !cli->json && cli_runs_table(all) < 0) {
        fprintf(stderr, "hetu runs: out of memory\n");
        code = CLI_EXIT_FAILED;
    }
    free(cursor);
    json_object_put(all);
    client_resp_done(&resp);
    return cli_finish(cli, code);
}

static struct json_object *rating_body(struct cli *cli, const char *s)
{
    struct json_object *body = json_object_new_object(), *rating = NULL;

    if (strcmp(s, "none") == 0 || strcmp(s, "clear") == 0) {
        json_object_object_add(body, "rating", NULL);
        return body;
    }
    rating = json_object_new_object();
    if (strcmp(s, "pass") == 0 || strcmp(s, "fail") == 0) {
        json_object_object_add(rating, "type", json_object_new_string("pass_fail"));
        json_object_object_add(rating, "value", json_object_new_boolean(s[0] == 'p'));
    } else if (s[0] >= '1' && s[0] <= '5' && s[1] == '\0') {
        json_object_object_add(rating, "type", json_object_new_string("five_star"));
        json_object_object_add(rating, "value", json_object_new_int(s[0] - '0'));
    } else {
        json_object_put(rating);
        json_object_put(body);
        cli_usage_error(cli, "RATING is 1-5, pass, fail or none, not '%s'", s);
        return NULL;
    }
    json_object_object_add(body, "rating", rating);
    return body;
}

int cmd_runs(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"session", required_argument, NULL, OPT_SESSION},
                                         {"tag", required_argument, NULL, OPT_TAG},
                                         {"rating", required_argument, NULL, OPT_RATING},
                                         {"source", required_argument, NULL, OPT_SOURCE},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {"cursor", required_argument, NULL, OPT_CURSOR},
                                         {"all", no_argument, NULL, OPT_ALL},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"runs", usage, example, opts, CLI_COMMON_SHORT};
    struct filters f = {0};
    const char *action, *id = NULL;
    struct json_object *body;
    struct cli cli;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        switch (c) {
        case OPT_TOPIC: f.topic = optarg; break;
        case OPT_SESSION: f.session = optarg; break;
        case OPT_TAG: f.tag = optarg; break;
        case OPT_RATING: f.rating = optarg; break;
        case OPT_SOURCE: f.source = optarg; break;
        case OPT_LIMIT: f.limit = optarg; break;
        case OPT_CURSOR: f.cursor = optarg; break;
        case OPT_ALL: f.all = true; break;
        }
    }
    if (c < 0)
        return cli.exit;
    if (optind >= argc)
        return cli_usage_error(&cli, "missing ACTION (list, show, rate, tag, delete)");
    action = argv[optind++];
    if (strcmp(action, "list") == 0) {
        if ((r = cli_no_more_args(&cli, argc, argv)) != 0)
            return r;
    } else if (strcmp(action, "show") == 0 || strcmp(action, "delete") == 0 ||
               strcmp(action, "rate") == 0 || strcmp(action, "tag") == 0) {
        if (optind >= argc)
            return cli_usage_error(&cli, "%s needs a sample ID", action);
        id = argv[optind++];
        if (strcmp(action, "rate") == 0 && argc - optind != 1)
            return cli_usage_error(&cli, "rate takes ID RATING");
        if ((action[0] == 's' || action[0] == 'd') && optind < argc)
            return cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
        if (strcmp(action, "tag") == 0 && argc - optind > MAX_TAGS)
            return cli_usage_error(&cli, "at most %d tags", MAX_TAGS);
    } else {
        return cli_usage_error(&cli, "unknown action '%s' (list, show, rate, tag, delete)", action);
    }
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    if (strcmp(action, "list") == 0)
        return list_runs(&cli, &f);
    if (strcmp(action, "show") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/projects/%P/tasks/%T/runs/%s", id), NULL,
                        show_run);
    if (strcmp(action, "delete") == 0)
        return cli_call(&cli, "DELETE", cli_path(&cli, "/api/projects/%P/tasks/%T/runs/%s", id),
                        NULL, cli_show_message);
    if (strcmp(action, "rate") == 0) {
        if (!(body = rating_body(&cli, argv[optind])))
            return cli_finish(&cli, CLI_EXIT_USAGE);
    } else {
        struct json_object *tags = json_object_new_array();
        for (int i = optind; i < argc; i++)
            json_object_array_add(tags, json_object_new_string(argv[i]));
        body = json_object_new_object();
        json_object_object_add(body, "tags", tags);
    }
    return cli_call(&cli, "PATCH", cli_path(&cli, "/api/projects/%P/tasks/%T/runs/%s", id), body,
                    show_run);
}
