/* SPDX-License-Identifier: MIT */
/* `hetu tasks list|create|show|update|delete`: the task API of one project. */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "util/cleanup.h"
#include "util/json.h"

#include "util/banned.h"

#define MAX_REQUIREMENTS 64

static const char usage[] =
    "Usage: hetu tasks ACTION --project ID [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  list                         the project's tasks\n"
    "  create --name NAME --instruction TEXT [TASK OPTIONS]\n"
    "                               create a task and print it\n"
    "  show [ID]                    one task (ID, or --task, or HETU_TASK)\n"
    "  update [ID] [TASK OPTIONS]   change a task (schemas cannot change once it has samples)\n"
    "  delete [ID]                  delete a task with its samples\n"
    "\n"
    "Task options (a value starting with @ is read from that file, @- from stdin):\n"
    "  --name NAME                  1-120 characters\n"
    "  --instruction TEXT           what the model is asked to do\n"
    "  --description TEXT\n"
    "  --thinking-instruction TEXT\n"
    "  --input-schema JSON          JSON schema of structured inputs (text or @file.json)\n"
    "  --output-schema JSON         JSON schema of structured outputs\n"
    "  --requirement NAME=TEXT      a requirement (repeatable; replaces the list on update)\n"
    "  --data JSON                  a whole task body; the options above override its keys\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu tasks create -p 123456789012 --name 翻译 --instruction '把句子翻译成英文' \\\n"
    "      --requirement 'fluent=The English reads naturally'\n"
    "  hetu tasks create -p 123456789012 --name extract --instruction 'Extract the fields' \\\n"
    "      --output-schema @schema.json\n"
    "  hetu tasks list -p 123456789012\n";

enum {
    OPT_NAME = CLI_OPT_FIRST_OWN,
    OPT_INSTRUCTION,
    OPT_DESCRIPTION,
    OPT_THINKING,
    OPT_INPUT_SCHEMA,
    OPT_OUTPUT_SCHEMA,
    OPT_REQUIREMENT,
    OPT_DATA,
};

static int show_task(struct cli *cli, struct json_object *t)
{
    static const char *const keys[] = {"id",
                                       "name",
                                       "description",
                                       "instruction",
                                       "thinking_instruction",
                                       "input_json_schema",
                                       "output_json_schema",
                                       "created_at",
                                       "created_by",
                                       NULL};
    struct json_object *reqs = NULL;

    (void)cli;
    cli_print_fields(t, keys);
    if (json_object_object_get_ex(t, "requirements", &reqs) &&
        json_object_is_type(reqs, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(reqs); i++) {
            struct json_object *q = json_object_array_get_idx(reqs, i), *n = NULL, *in = NULL;
            json_object_object_get_ex(q, "name", &n);
            json_object_object_get_ex(q, "instruction", &in);
            /* aligned with the fields above: the widest key is thinking_instruction */
            printf("%-*s  %s: %s\n", (int)sizeof("thinking_instruction"),
                   i == 0 ? "requirements" : "", cli_cell(n), cli_cell(in));
        }
    }
    return CLI_EXIT_OK;
}

static int show_list(struct cli *cli, struct json_object *list)
{
    static const char *const keys[] = {"id", "name", "instruction", "created_at", NULL};
    static const char *const heads[] = {"ID", "NAME", "INSTRUCTION", "CREATED"};

    return cli_show_table(cli, list, keys, heads);
}

struct task_args {
    const char *text[6]; /* name, instruction, description, thinking, input, output schema */
    const char *req[MAX_REQUIREMENTS];
    size_t nreq;
    const char *data;
};

static const char *const text_keys[] = {"name",
                                        "instruction",
                                        "description",
                                        "thinking_instruction",
                                        "input_json_schema",
                                        "output_json_schema"};

/* The request body from --data and the options; NULL with cli->err set on failure. */
static struct json_object *task_body(struct cli *cli, const struct task_args *a)
{
    struct json_object *body = NULL;
    _cleanup_free_ char *data = NULL;

    if (a->data) {
        if (cli_arg_text(a->data, &data, &cli->err) < 0)
            return NULL;
        if (json_parse(data, strlen(data), &body, &cli->err) < 0) {
            err_prefix(&cli->err, "--data");
            return NULL;
        }
        if (!json_object_is_type(body, json_type_object)) {
            json_object_put(body);
            err_set(&cli->err, HE_INVALID, "data", "--data must be a JSON object");
            return NULL;
        }
    } else {
        body = json_object_new_object();
    }
    for (size_t i = 0; i < 6; i++) {
        char *v = NULL;
        if (!a->text[i])
            continue;
        if (cli_arg_text(a->text[i], &v, &cli->err) < 0) {
            json_object_put(body);
            return NULL;
        }
        json_object_object_add(body, text_keys[i], json_object_new_string(v));
        free(v);
    }
    if (a->nreq) {
        struct json_object *reqs = json_object_new_array();
        for (size_t i = 0; i < a->nreq; i++) {
            const char *eq = strchr(a->req[i], '=');
            struct json_object *q = json_object_new_object();
            json_object_object_add(q, "name",
                                   json_object_new_string_len(a->req[i], (int)(eq - a->req[i])));
            json_object_object_add(q, "instruction", json_object_new_string(eq + 1));
            json_object_array_add(reqs, q);
        }
        json_object_object_add(body, "requirements", reqs);
    }
    return body;
}

int cmd_tasks(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"name", required_argument, NULL, OPT_NAME},
        {"instruction", required_argument, NULL, OPT_INSTRUCTION},
        {"description", required_argument, NULL, OPT_DESCRIPTION},
        {"thinking-instruction", required_argument, NULL, OPT_THINKING},
        {"input-schema", required_argument, NULL, OPT_INPUT_SCHEMA},
        {"output-schema", required_argument, NULL, OPT_OUTPUT_SCHEMA},
        {"requirement", required_argument, NULL, OPT_REQUIREMENT},
        {"data", required_argument, NULL, OPT_DATA},
        {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"tasks", usage, example, opts, CLI_COMMON_SHORT};
    struct task_args a = {0};
    const char *action, *id;
    struct json_object *body;
    struct cli cli;
    bool edits;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c >= OPT_NAME && c <= OPT_OUTPUT_SCHEMA) {
            a.text[c - OPT_NAME] = optarg;
            continue;
        }
        switch (c) {
        case OPT_REQUIREMENT:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return cli_usage_error(&cli, "--requirement takes NAME=INSTRUCTION, not '%s'",
                                       optarg);
            if (a.nreq == MAX_REQUIREMENTS)
                return cli_usage_error(&cli, "at most %d requirements", MAX_REQUIREMENTS);
            a.req[a.nreq++] = optarg;
            break;
        case OPT_DATA: a.data = optarg; break;
        }
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_crud_operands(&cli, argc, argv, &action, &id)) != 0)
        return r;
    edits = a.data || a.nreq;
    for (size_t i = 0; i < 6; i++)
        edits = edits || a.text[i];
    if (strcmp(action, "list") == 0 || strcmp(action, "create") == 0) {
        if (id)
            return cli_usage_error(&cli, "%s takes no argument", action);
        if (strcmp(action, "create") == 0 && !a.data && (!a.text[0] || !a.text[1]))
            return cli_usage_error(&cli, "create needs --name and --instruction (or --data)");
    } else if (strcmp(action, "update") == 0) {
        if (!edits)
            return cli_usage_error(&cli, "update needs something to change");
    }
    if ((r = cli_connect(&cli)) != 0)
        return cli_finish(&cli, r);
    if (id)
        cli.task = id;
    if ((r = cli_need_project(&cli)) != 0)
        return cli_finish(&cli, r);

    if (strcmp(action, "list") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/projects/%P/tasks"), NULL, show_list);
    if (strcmp(action, "create") == 0 || strcmp(action, "update") == 0) {
        if (action[0] == 'u' && (r = cli_need_task(&cli)) != 0)
            return cli_finish(&cli, r);
        if (!(body = task_body(&cli, &a))) {
            fprintf(stderr, "hetu tasks: %s\n", cli.err.msg);
            return cli_finish(&cli, CLI_EXIT_FAILED);
        }
        if (action[0] == 'c')
            return cli_call(&cli, "POST", cli_path(&cli, "/api/projects/%P/task"), body, show_task);
        return cli_call(&cli, "PATCH", cli_path(&cli, "/api/projects/%P/task/%T"), body, show_task);
    }
    if ((r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    if (strcmp(action, "show") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/projects/%P/tasks/%T"), NULL, show_task);
    return cli_call(&cli, "DELETE", cli_path(&cli, "/api/projects/%P/task/%T"), NULL,
                    cli_show_message);
}
