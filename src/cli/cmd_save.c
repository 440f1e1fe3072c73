/* SPDX-License-Identifier: MIT */
/*
 * `hetu save`: one sample from options (save_sample), or many from a JSON array or JSONL file
 * or stdin (save_samples_batch). Options given beside a file fill the keys each sample lacks,
 * so a file of bare inputs can share one model and topic. A batch where some samples failed
 * says so on stderr (from the X-Hetu-Failed and X-Hetu-First-Error headers) and exits 1.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "util/cleanup.h"
#include "util/json.h"

#include "util/banned.h"

#define BATCH_MAX 100000

static const char usage[] =
    "Usage: hetu save --project ID --task ID --input TEXT [OPTIONS]\n"
    "       hetu save --project ID --task ID [OPTIONS] FILE|-\n"
    "\n"
    "Saves one sample built from the options, or every sample of FILE (- is stdin): a JSON\n"
    "array of sample objects, {\"samples\": [...]}, or JSONL (one object a line). A sample\n"
    "with an output is stored as given; without one the task is run on its input with the\n"
    "output model. Prints the saved samples.\n"
    "\n"
    "Sample options (with FILE they fill the keys a sample lacks; @FILE reads a value):\n"
    "  --input TEXT             the input (a JSON object for structured tasks is sent as JSON)\n"
    "  --output TEXT            the output; no model is called\n"
    "  --topic PATH             topic path 'a/b'\n"
    "  --input-model M          input_model_name     --input-provider P   input_provider\n"
    "  --output-model M         output_model_name    --output-provider P  output_provider\n"
    "  --prompt-method NAME     prompt_method [simple_prompt_builder]\n"
    "  --guidance TEXT          human_guidance\n"
    "  --session ID             session id: tags the samples synthetic_session_ID\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu save -p 123456789012 -t 234567890123 --input '你好' --output 'Hello'\n"
    "  hetu save --output-model gpt-4o-mini --output-provider openai samples.jsonl\n"
    "  jq -c '.[]' samples.json | hetu save --session s1 -\n";

enum {
    OPT_INPUT = CLI_OPT_FIRST_OWN,
    OPT_OUTPUT,
    OPT_TOPIC,
    OPT_INPUT_MODEL,
    OPT_INPUT_PROVIDER,
    OPT_OUTPUT_MODEL,
    OPT_OUTPUT_PROVIDER,
    OPT_PROMPT_METHOD,
    OPT_GUIDANCE,
    OPT_SESSION,
    OPT_COUNT,
};

/* JSON keys of the sample options, by option value - OPT_INPUT (topic_path handled apart). */
static const char *const keys[] = {"input",           "output",
                                   "topic_path",      "input_model_name",
                                   "input_provider",  "output_model_name",
                                   "output_provider", "prompt_method",
                                   "human_guidance"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* A text value as JSON: an object/array when it parses as one (structured data), else a string. */
static struct json_object *value_of(const char *key, const char *text)
{
    struct json_object *v = NULL;
    struct err e;

    if (strcmp(key, "topic_path") == 0)
        return cli_topic_list(text);
    err_clear(&e);
    if ((strcmp(key, "input") == 0 || strcmp(key, "output") == 0) && (text[0] == '{') &&
        json_parse(text, strlen(text), &v, &e) == 0 && json_object_is_type(v, json_type_object))
        return v;
    json_object_put(v);
    return json_object_new_string(text);
}

/* Fills the keys the sample lacks from the options. */
static int fill(struct json_object *sample, char **vals)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (vals[i] && !json_object_object_get_ex(sample, keys[i], NULL))
            json_object_object_add(sample, keys[i], value_of(keys[i], vals[i]));
    return 0;
}

/* Parses FILE's text into an array of sample objects; NULL with e set. */
static struct json_object *parse_batch(const char *text, size_t len, struct err *e)
{
    struct json_object *all = NULL, *list;
    const char *p = text;

    while (p < text + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p < text + len && (*p == '[' || *p == '{')) {
        /* a whole-document array or {"samples": [...]}; else JSONL starting with '{' */
        if (json_parse(text, len, &all, e) == 0) {
            if (json_object_is_type(all, json_type_array))
                return all;
            if (json_object_is_type(all, json_type_object) &&
                json_object_object_get_ex(all, "samples", &list) &&
                json_object_is_type(list, json_type_array)) {
                json_object_get(list);
                json_object_put(all);
                return list;
            }
            if (json_object_is_type(all, json_type_object) &&
                !json_object_object_get_ex(all, "samples", NULL)) {
                list = json_object_new_array();
                json_object_array_add(list, all);
                return list;
            }
            json_object_put(all);
            err_set(e, HE_INVALID, NULL, "expected a JSON array of samples");
            return NULL;
        }
        if (*p == '[')
            return NULL;
        err_clear(e);
    }
    list = json_object_new_array();
    for (size_t line = 1; p < text + len; line++) {
        const char *end = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = end ? (size_t)(end - p) : (size_t)(text + len - p);
        struct json_object *o = NULL;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k < n) {
            if (json_parse(p, n, &o, e) < 0) {
                err_prefix(e, "line %zu", line);
                json_object_put(list);
                return NULL;
            }
            if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                json_object_put(list);
                err_set(e, HE_INVALID, NULL, "line %zu: a sample must be a JSON object", line);
                return NULL;
            }
            json_object_array_add(list, o);
        }
        p += n + (end ? 1 : 0);
    }
    return list;
}

static int show_one(struct cli *cli, struct json_object *run)
{
    struct json_object *list = json_object_new_array();
    int r;

    json_object_array_add(list, json_object_get(run));
    r = cli_runs_table(list);
    json_object_put(list);
    if (r < 0) {
        fprintf(stderr, "hetu %s: out of memory\n", cli->cmd);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

static int save_batch(struct cli *cli, const char *file, char **vals, const char *session)
{
    _cleanup_free_ char *text = NULL;
    struct json_object *list, *body, *answer = NULL;
    struct client_resp resp;
    size_t len = 0, n;
    char *path;
    int rc, code = CLI_EXIT_OK;

    if (cli_read_file(file, &text, &len, &cli->err) < 0 ||
        !(list = parse_batch(text, len, &cli->err))) {
        fprintf(stderr, "hetu save: %s: %s\n", file, cli->err.msg);
        return cli_finish(cli, CLI_EXIT_FAILED);
    }
    n = json_object_array_length(list);
    if (n == 0 || n > BATCH_MAX) {
        json_object_put(list);
        fprintf(stderr, "hetu save: %s: %s\n", file, n ? "more than 100000 samples" : "no samples");
        return cli_finish(cli, CLI_EXIT_FAILED);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(list, i);
        if (!json_object_is_type(s, json_type_object)) {
            json_object_put(list);
            fprintf(stderr, "hetu save: %s: sample %zu is not a JSON object\n", file, i);
            return cli_finish(cli, CLI_EXIT_FAILED);
        }
        fill(s, vals);
    }
    body = json_object_new_object();
    json_object_object_add(body, "samples", list);
    if (session)
        json_object_object_add(body, "session_id", json_object_new_string(session));
    path = cli_path(cli, "/api/dataset/projects/%P/tasks/%T/save_samples_batch");
    client_resp_init(&resp);
    rc = path ? client_json(&cli->client, "POST", path, body, &resp, cli->json ? NULL : &answer,
                            &cli->err)
              : err_set(&cli->err, HE_NOMEM, NULL, "out of memory");
    free(path);
    json_object_put(body);
    if (rc < 0) {
        code = cli_fail(cli, rc);
    } else {
        if (cli->json)
            cli_print_raw(&resp);
        else if (cli_runs_table(answer) < 0)
            code = CLI_EXIT_FAILED;
        if (resp.failed[0] && strcmp(resp.failed, "0") != 0) {
            fprintf(stderr, "hetu save: %s of %zu samples failed; first: %s\n", resp.failed, n,
                    resp.first_error[0] ? resp.first_error : "(no reason given)");
            code = CLI_EXIT_FAILED;
        } else if (!cli->json && !cli->quiet) {
            fprintf(stderr, "saved %zu samples\n", n);
        }
    }
    json_object_put(answer);
    client_resp_done(&resp);
    return cli_finish(cli, code);
}

int cmd_save(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"input", required_argument, NULL, OPT_INPUT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"input-model", required_argument, NULL, OPT_INPUT_MODEL},
        {"input-provider", required_argument, NULL, OPT_INPUT_PROVIDER},
        {"output-model", required_argument, NULL, OPT_OUTPUT_MODEL},
        {"output-provider", required_argument, NULL, OPT_OUTPUT_PROVIDER},
        {"prompt-method", required_argument, NULL, OPT_PROMPT_METHOD},
        {"guidance", required_argument, NULL, OPT_GUIDANCE},
        {"session", required_argument, NULL, OPT_SESSION},
        {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"save", usage, example, opts, CLI_COMMON_SHORT};
    const char *args[NKEYS] = {0}, *session = NULL, *file = NULL;
    char *vals[NKEYS] = {0};
    struct json_object *body;
    struct cli cli;
    int c, r = 0;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c >= OPT_INPUT && c < OPT_SESSION)
            args[c - OPT_INPUT] = optarg;
        else if (c == OPT_SESSION)
            session = optarg;
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_operands(&cli, argc, argv, 0, 1, "FILE", &file)) != 0)
        return r;
    if (!file && !args[0])
        return cli_usage_error(&cli, "give --input TEXT, or a FILE (- for stdin)");
    if (file && (args[0] || args[1]))
        return cli_usage_error(&cli, "--input and --output are for one sample, not with FILE");
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    for (size_t i = 0; i < NKEYS; i++)
        if (args[i] && (r = cli_arg_text(args[i], &vals[i], &cli.err)) < 0)
            break;
    if (r < 0) {
        fprintf(stderr, "hetu save: %s\n", cli.err.msg);
        r = cli_finish(&cli, CLI_EXIT_FAILED);
    } else if (file) {
        r = save_batch(&cli, file, vals, session);
    } else {
        body = json_object_new_object();
        fill(body, vals);
        r = cli_call(&cli, "POST",
                     session ? cli_path(&cli,
                                        "/api/dataset/projects/%P/tasks/%T/save_sample"
                                        "?session_id=%s",
                                        session)
                             : cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/save_sample"),
                     body, show_one);
    }
    for (size_t i = 0; i < NKEYS; i++)
        free(vals[i]);
    return r;
}
