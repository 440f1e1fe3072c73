/* SPDX-License-Identifier: MIT */
/* `hetu topics`: the task's topic tree with the number of samples under each node. */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "util/json.h"

#include "util/banned.h"

#define TREE_DEPTH_MAX 64

static const char usage[] =
    "Usage: hetu topics --project ID --task ID [OPTIONS]\n"
    "\n"
    "Prints the task's topic tree, each node with the number of samples under it (its own and\n"
    "its descendants'):\n"
    "  root (42)\n"
    "  ├── 旅行 (30)\n"
    "  │   └── 酒店 (10)\n"
    "  └── 美食 (12)\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu topics -p 123456789012 -t 234567890123\n"
                              "  hetu topics --json | jq '.children[].name'\n";

/* prefix holds, for each ancestor level, whether it was the last child. */
static void print_node(struct json_object *node, bool *last, int depth)
{
    struct json_object *children = cli_get(node, "children");
    size_t n = children && json_object_is_type(children, json_type_array)
                   ? json_object_array_length(children)
                   : 0;

    for (int i = 1; i < depth; i++)
        fputs(last[i] ? "    " : "\xe2\x94\x82   ", stdout); /* │ */
    if (depth > 0)
        fputs(last[depth] ? "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 "  /* └── */
                          : "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 ", /* ├── */
              stdout);
    printf("%s (%lld)\n", cli_cell(cli_get(node, "name")),
           (long long)json_object_get_int64(cli_get(node, "sample_count")));
    if (depth + 1 >= TREE_DEPTH_MAX) {
        if (n)
            printf("%*s...\n", 4 * depth + 4, "");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        last[depth + 1] = i + 1 == n;
        print_node(json_object_array_get_idx(children, i), last, depth + 1);
    }
}

static int show_tree(struct cli *cli, struct json_object *root)
{
    bool last[TREE_DEPTH_MAX + 1] = {false};

    (void)cli;
    print_node(root, last, 0);
    return CLI_EXIT_OK;
}

int cmd_topics(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"topics", usage, example, opts, CLI_COMMON_SHORT};

    return cli_task_get(&spec, argc, argv, "/api/dataset/projects/%P/tasks/%T/topics", show_tree);
}
