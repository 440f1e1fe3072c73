/* SPDX-License-Identifier: MIT */
/*
 * What every client command shares: the options --server, --api-key, --project, --task,
 * --json, --quiet and --help with their environment fallbacks, error reporting with the exit
 * codes, escaped API paths, and reading files or stdin within a bound.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/table.h"
#include "util/cleanup.h"
#include "util/json.h"

#include "util/banned.h"

const char cli_common_help[] =
    "Common options:\n"
    "  --server URL      the server (HETU_URL) [" CLIENT_DEFAULT_URL "]\n"
    "  --api-key KEY     sent as Authorization: Bearer KEY (HETU_API_KEY)\n"
    "  -p, --project ID  the project (HETU_PROJECT)\n"
    "  -t, --task ID     the task (HETU_TASK)\n"
    "  --json            print the server's JSON answer unchanged instead of a table\n"
    "  -q, --quiet       no progress output\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 success, 1 the work failed (a local file, a failed job or sample),\n"
    "2 usage error, 3 the server answered with an error, 4 the server is unreachable.\n";

void cli_init(struct cli *cli, const struct cli_cmd *spec)
{
    memset(cli, 0, sizeof(*cli));
    cli->cmd = spec->name;
    cli->spec = spec;
    err_clear(&cli->err);
    opterr = 0; /* cli_bad_option reports, with the command's name */
}

int cli_getopt(struct cli *cli, int argc, char **argv)
{
    int c;

    while ((c = getopt_long(argc, argv, cli->spec->shortopts, cli->spec->opts, NULL)) != -1) {
        if (cli_common_opt(cli, c, optarg))
            continue;
        if (c == 'h') {
            printf("%s%s%s", cli->spec->usage, cli_common_help, cli->spec->example);
            cli->exit = CLI_EXIT_OK;
            return -1;
        }
        if (c == '?' || c == ':') {
            cli->exit = cli_bad_option(cli, c, argv);
            return -1;
        }
        return c;
    }
    return 0;
}

int cli_no_more_args(struct cli *cli, int argc, char **argv)
{
    if (optind < argc)
        return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    return 0;
}

int cli_operands(struct cli *cli, int argc, char **argv, size_t min, size_t max, const char *what,
                 const char **ret)
{
    for (size_t i = 0; i < max; i++) {
        if (i >= min || optind < argc)
            ret[i] = optind < argc ? argv[optind++] : NULL;
        else
            return cli_usage_error(cli, "missing %s", what);
    }
    return cli_no_more_args(cli, argc, argv);
}

int cli_crud_operands(struct cli *cli, int argc, char **argv, const char **ret_action,
                      const char **ret_id)
{
    static const char *const actions[] = {"list", "create", "show", "update", "delete"};
    const char *ops[2];
    int r = cli_operands(cli, argc, argv, 1, 2, "ACTION (list, create, show, update, delete)", ops);

    if (r)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
        if (strcmp(ops[0], actions[i]) == 0) {
            *ret_action = ops[0];
            *ret_id = ops[1];
            return 0;
        }
    }
    return cli_usage_error(cli, "unknown action '%s' (list, create, show, update, delete)", ops[0]);
}

struct json_object *cli_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    if (o && json_object_is_type(o, json_type_object))
        json_object_object_get_ex(o, key, &v);
    return v;
}

int cli_show_message(struct cli *cli, struct json_object *answer)
{
    struct json_object *m = cli_get(answer, "message");

    (void)cli;
    if (m)
        puts(cli_cell(m));
    return CLI_EXIT_OK;
}

int cli_show_table(struct cli *cli, struct json_object *array, const char *const *keys,
                   const char *const *headers)
{
    if (cli_print_table(array, keys, headers) < 0) {
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

bool cli_common_opt(struct cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_SERVER: cli->server = arg; return true;
    case CLI_OPT_API_KEY: cli->api_key = arg; return true;
    case 'p': cli->project = arg; return true;
    case 't': cli->task = arg; return true;
    case CLI_OPT_JSON: cli->json = true; return true;
    case 'q': cli->quiet = true; return true;
    default: return false;
    }
}

static const char *env_or(const char *value, const char *name)
{
    const char *v;

    if (value)
        return value;
    v = getenv(name);
    return v && *v ? v : NULL;
}

int cli_connect(struct cli *cli)
{
    cli->server = env_or(cli->server, "HETU_URL");
    if (!cli->server)
        cli->server = CLIENT_DEFAULT_URL;
    cli->api_key = env_or(cli->api_key, "HETU_API_KEY");
    cli->project = env_or(cli->project, "HETU_PROJECT");
    cli->task = env_or(cli->task, "HETU_TASK");
    if (strncmp(cli->server, "http://", 7) != 0 && strncmp(cli->server, "https://", 8) != 0)
        return cli_usage_error(cli, "--server must be an http:// or https:// URL, not '%s'",
                               cli->server);
    if (client_init(&cli->client, cli->server, cli->api_key, &cli->err) < 0) {
        fprintf(stderr, "hetu %s: %s\n", cli->cmd, cli->err.msg);
        return CLI_EXIT_FAILED;
    }
    return 0;
}

int cli_need_project(struct cli *cli)
{
    if (!cli->project)
        return cli_usage_error(cli, "no project: give --project ID or set HETU_PROJECT");
    return 0;
}

int cli_need_task(struct cli *cli)
{
    int r = cli_need_project(cli);

    if (r)
        return r;
    if (!cli->task)
        return cli_usage_error(cli, "no task: give --task ID or set HETU_TASK");
    return 0;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "hetu %s: ", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hetu %s --help'.\n", cli->cmd);
    return CLI_EXIT_USAGE;
}

int cli_fail(struct cli *cli, int rc)
{
    const char *msg = cli->err.code ? cli->err.msg : err_text(rc);

    fprintf(stderr, "hetu %s: %s\n", cli->cmd, msg);
    switch (cli->client.fail) {
    case CLIENT_FAIL_HTTP: return CLI_EXIT_SERVER;
    case CLIENT_FAIL_TRANSPORT: return CLI_EXIT_UNREACHABLE;
    default: return CLI_EXIT_FAILED;
    }
}

void cli_print_raw(const struct client_resp *r)
{
    if (r->body.len)
        fwrite(r->body.data, 1, r->body.len, stdout);
    if (!r->body.len || r->body.data[r->body.len - 1] != '\n')
        fputc('\n', stdout);
}

int cli_finish(struct cli *cli, int code)
{
    client_done(&cli->client);
    if (fflush(stdout) != 0 && code == 0) {
        fprintf(stderr, "hetu %s: cannot write the output: %s\n", cli->cmd, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    return code;
}

char *cli_path(struct cli *cli, const char *fmt, ...)
{
    /* ids go into the path escaped; fmt uses %P for the project, %T for the task, %s for
     * escaped arguments (each ordinary %s argument is escaped as well) */
    struct buf b;
    va_list ap;
    const char *p;
    int r = 0;

    buf_init(&b, 1 << 16);
    va_start(ap, fmt);
    for (p = fmt; *p && r == 0; p++) {
        const char *raw = NULL;
        if (*p != '%') {
            r = buf_add(&b, p, 1);
            continue;
        }
        p++;
        if (*p == 'P')
            raw = cli->project;
        else if (*p == 'T')
            raw = cli->task;
        else if (*p == 's')
            raw = va_arg(ap, const char *);
        else
            r = buf_add(&b, p, 1);
        if (raw) {
            char *esc = client_escape(&cli->client, raw);
            r = esc ? buf_adds(&b, esc) : HE_NOMEM;
            free(esc);
        }
    }
    va_end(ap);
    if (r < 0) {
        buf_done(&b);
        return NULL;
    }
    return buf_take(&b);
}

int cli_read_file(const char *path, char **ret, size_t *ret_len, struct err *e)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    struct buf b;
    char chunk[65536];
    size_t n;
    int r = 0;

    if (!f)
        return err_set(e, HE_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    buf_init(&b, CLIENT_INPUT_MAX);
    r = buf_add(&b, "", 0);
    while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        r = buf_add(&b, chunk, n);
    if (r == 0 && ferror(f))
        r = err_set(e, HE_IO, NULL, "cannot read %s: %s", is_stdin ? "stdin" : path,
                    strerror(errno));
    else if (r == HE_TOO_LARGE)
        r = err_set(e, r, NULL, "%s is larger than %u MiB", is_stdin ? "stdin" : path,
                    CLIENT_INPUT_MAX >> 20);
    else if (r < 0)
        r = err_set(e, r, NULL, "out of memory");
    if (!is_stdin)
        fclose(f);
    if (r < 0) {
        buf_done(&b);
        return r;
    }
    if (ret_len)
        *ret_len = b.len;
    *ret = buf_take(&b);
    return 0;
}

int cli_arg_text(const char *arg, char **ret, struct err *e)
{
    if (arg[0] == '@')
        return cli_read_file(arg + 1, ret, NULL, e);
    *ret = strdup(arg);
    return *ret ? 0 : err_set(e, HE_NOMEM, NULL, "out of memory");
}

struct json_object *cli_topic_list(const char *path)
{
    struct json_object *list = json_object_new_array();
    const char *sep = strstr(path, ">>>>>") ? ">>>>>" : "/";
    size_t seplen = strlen(sep);
    const char *p = path;

    if (!list)
        return NULL;
    while (*p) {
        const char *end = strstr(p, sep);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0)
            json_object_array_add(list, json_object_new_string_len(p, (int)n));
        p += n;
        if (end)
            p += seplen;
    }
    return list;
}

int cli_bad_option(struct cli *cli, int opt, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    char shortopt[3] = {'-', (char)optopt, '\0'};

    /* getopt leaves optopt 0 for an unknown long option; the argument is then argv[optind-1] */
    if (optopt && strncmp(arg, "--", 2) != 0)
        arg = shortopt;
    if (opt == ':')
        return cli_usage_error(cli, "option '%s' needs a value", arg);
    return cli_usage_error(cli, "unknown option '%s'", arg);
}

const char *cli_cell(struct json_object *v)
{
    if (!v)
        return "";
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return json_text(v, NULL);
}

void cli_print_fields(struct json_object *obj, const char *const *keys)
{
    size_t w = 0;

    for (size_t i = 0; keys[i]; i++)
        if (strlen(keys[i]) > w)
            w = strlen(keys[i]);
    for (size_t i = 0; keys[i]; i++) {
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(obj, keys[i], &v))
            continue;
        if (*cli_cell(v))
            printf("%-*s  %s\n", (int)w + 1, keys[i], cli_cell(v));
        else
            printf("%s\n", keys[i]);
    }
}

int cli_print_table(struct json_object *array, const char *const *keys, const char *const *headers)
{
    struct table t;
    const char *cells[TABLE_MAX_COLS];
    size_t n = 0;
    int r;

    while (keys[n])
        n++;
    if ((r = table_init(&t, n, headers)) < 0)
        return r;
    for (size_t i = 0; array && r == 0 && i < json_object_array_length(array); i++) {
        struct json_object *o = json_object_array_get_idx(array, i);
        for (size_t k = 0; k < n; k++) {
            struct json_object *v = NULL;
            json_object_object_get_ex(o, keys[k], &v);
            cells[k] = cli_cell(v);
        }
        r = table_add(&t, cells);
    }
    if (r == 0)
        table_print(&t, stdout);
    table_done(&t);
    return r;
}

int cli_call(struct cli *cli, const char *method, char *path, struct json_object *body,
             cli_show_cb show)
{
    struct client_resp resp;
    struct json_object *answer = NULL;
    int rc, code;

    client_resp_init(&resp);
    if (!path) {
        json_object_put(body);
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return cli_finish(cli, CLI_EXIT_FAILED);
    }
    rc =
        client_json(&cli->client, method, path, body, &resp, cli->json ? NULL : &answer, &cli->err);
    free(path);
    json_object_put(body);
    if (rc < 0)
        code = cli_fail(cli, rc);
    else if (cli->json)
        cli_print_raw(&resp), code = CLI_EXIT_OK;
    else
        code = show(cli, answer);
    json_object_put(answer);
    client_resp_done(&resp);
    return cli_finish(cli, code);
}

int cli_task_get(const struct cli_cmd *spec, int argc, char **argv, const char *path,
                 cli_show_cb show)
{
    struct cli cli;
    int r;

    cli_init(&cli, spec);
    if (cli_getopt(&cli, argc, argv) != 0)
        return cli.exit;
    if ((r = cli_no_more_args(&cli, argc, argv)) != 0)
        return r;
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    return cli_call(&cli, "GET", cli_path(&cli, path), NULL, show);
}
