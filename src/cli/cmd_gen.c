/* SPDX-License-Identifier: MIT */
/*
 * `hetu gen categories` and `hetu gen samples`: the two generation calls. For people the
 * answer's output (JSON text inside the TaskRun) is unpacked into one line per subtopic or per
 * sample; --json prints the TaskRun as the server sent it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "util/json.h"

#include "util/banned.h"

#define MAX_EXISTING 1000

static const char usage[] =
    "Usage: hetu gen categories|samples --project ID --task ID --model M --provider P [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  categories   generate subtopics of a node of the topic tree (they join the tree);\n"
    "               prints one subtopic a line\n"
    "  samples      generate task inputs for a topic; prints one input a line (structured\n"
    "               inputs as JSON)\n"
    "\n"
    "Options:\n"
    "  --model M            model name (HETU_MODEL)\n"
    "  --provider P         provider: openai, anthropic, together_ai, ... (HETU_PROVIDER)\n"
    "  --topic PATH         the topic path, 'a/b' (or 'a>>>>>b' when names hold '/');\n"
    "                       empty or absent: the root [also --node]\n"
    "  -n, --num N          how many subtopics [6] or samples [8], 1-100\n"
    "  --guidance TEXT      human guidance for the model\n"
    "  --existing NAME      a subtopic the model must not repeat (categories; repeatable)\n"
    "  --drop-unsupported   drop request parameters the model does not support\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  export HETU_PROJECT=123456789012 HETU_TASK=234567890123\n"
    "  hetu gen categories --provider together_ai --model meta-llama/Llama-3-8b -n 5\n"
    "  hetu gen samples --topic '旅行/酒店' --provider openai --model gpt-4o-mini -n 10\n";

enum {
    OPT_MODEL = CLI_OPT_FIRST_OWN,
    OPT_PROVIDER,
    OPT_TOPIC,
    OPT_GUIDANCE,
    OPT_EXISTING,
    OPT_DROP,
};

struct gen_ctx {
    const char *list_key; /* "subtopics" or "generated_samples" */
};

static struct gen_ctx gen_ctx;

static int show_items(struct cli *cli, struct json_object *run)
{
    struct json_object *out = NULL, *text = NULL, *parsed = NULL, *list = NULL;
    struct err e;

    err_clear(&e);
    if (!json_object_object_get_ex(run, "output", &out) ||
        !json_object_object_get_ex(out, "output", &text) ||
        !json_object_is_type(text, json_type_string) ||
        json_parse(json_object_get_string(text), (size_t)json_object_get_string_len(text), &parsed,
                   &e) < 0 ||
        !json_object_object_get_ex(parsed, gen_ctx.list_key, &list) ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(parsed);
        fprintf(stderr, "hetu %s: the answer has no %s list (try --json)\n", cli->cmd,
                gen_ctx.list_key);
        return CLI_EXIT_FAILED;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++)
        puts(cli_cell(json_object_array_get_idx(list, i)));
    json_object_put(parsed);
    return CLI_EXIT_OK;
}

int cmd_gen(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"model", required_argument, NULL, OPT_MODEL},
                                         {"provider", required_argument, NULL, OPT_PROVIDER},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"node", required_argument, NULL, OPT_TOPIC},
                                         {"num", required_argument, NULL, 'n'},
                                         {"guidance", required_argument, NULL, OPT_GUIDANCE},
                                         {"existing", required_argument, NULL, OPT_EXISTING},
                                         {"drop-unsupported", no_argument, NULL, OPT_DROP},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"gen", usage, example, opts, CLI_COMMON_SHORT "n:"};
    const char *model = NULL, *provider = NULL, *topic = "", *guidance = NULL, *action;
    const char *existing[MAX_EXISTING];
    size_t nexisting = 0;
    long num = 0;
    bool drop = false, categories;
    struct json_object *body;
    struct cli cli;
    char *end;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        switch (c) {
        case OPT_MODEL: model = optarg; break;
        case OPT_PROVIDER: provider = optarg; break;
        case OPT_TOPIC: topic = optarg; break;
        case 'n':
            num = strtol(optarg, &end, 10);
            if (*end || end == optarg || num < 1 || num > 100)
                return cli_usage_error(&cli, "--num must be a number from 1 to 100, not '%s'",
                                       optarg);
            break;
        case OPT_GUIDANCE: guidance = optarg; break;
        case OPT_EXISTING:
            if (nexisting == MAX_EXISTING)
                return cli_usage_error(&cli, "at most %d --existing", MAX_EXISTING);
            existing[nexisting++] = optarg;
            break;
        case OPT_DROP: drop = true; break;
        }
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_operands(&cli, argc, argv, 1, 1, "ACTION (categories or samples)", &action)) != 0)
        return r;
    if (strcmp(action, "categories") != 0 && strcmp(action, "samples") != 0)
        return cli_usage_error(&cli, "unknown action '%s' (categories or samples)", action);
    categories = action[0] == 'c';
    if (!model && getenv("HETU_MODEL") && *getenv("HETU_MODEL"))
        model = getenv("HETU_MODEL");
    if (!provider && getenv("HETU_PROVIDER") && *getenv("HETU_PROVIDER"))
        provider = getenv("HETU_PROVIDER");
    if (!model || !provider)
        return cli_usage_error(&cli, "--model and --provider are required");
    if (nexisting && !categories)
        return cli_usage_error(&cli, "--existing is for categories");
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);

    body = json_object_new_object();
    json_object_object_add(body, categories ? "node_path" : "topic", cli_topic_list(topic));
    if (num)
        json_object_object_add(body, categories ? "num_subtopics" : "num_samples",
                               json_object_new_int64(num));
    json_object_object_add(body, "model_name", json_object_new_string(model));
    json_object_object_add(body, "provider", json_object_new_string(provider));
    if (guidance)
        json_object_object_add(body, "human_guidance", json_object_new_string(guidance));
    if (nexisting) {
        struct json_object *list = json_object_new_array();
        for (size_t i = 0; i < nexisting; i++)
            json_object_array_add(list, json_object_new_string(existing[i]));
        json_object_object_add(body, "existing_topics", list);
    }
    if (drop)
        json_object_object_add(body, "drop_unsupported_params", json_object_new_boolean(1));
    gen_ctx.list_key = categories ? "subtopics" : "generated_samples";
    return cli_call(&cli, "POST",
                    cli_path(&cli, categories
                                       ? "/api/dataset/projects/%P/tasks/%T/generate_categories"
                                       : "/api/dataset/projects/%P/tasks/%T/generate_samples"),
                    body, show_items);
}
