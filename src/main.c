/* SPDX-License-Identifier: MIT */
/* hetu: one executable, like git: `hetu serve` runs the server, other subcommands are clients. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/llm_ping.h"

static const char usage[] =
    "Usage: hetu COMMAND [OPTIONS]\n"
    "\n"
    "Hetu turns a task description into a large, varied, well-labelled dataset with LLMs.\n"
    "\n"
    "Commands:\n"
    "  serve       run the server (hetu serve --help)\n"
    "\n"
    "Client commands (each speaks the HTTP API of a running server; hetu COMMAND --help):\n"
    "  projects    list, create, show, update, delete projects\n"
    "  tasks       list, create, show, update, delete a project's tasks\n"
    "  gen         gen categories: subtopics of a topic; gen samples: inputs for a topic\n"
    "  save        save one sample, or a JSON array / JSONL batch from a file or stdin\n"
    "  import      upload a CSV or JSONL file and follow the import with a progress bar\n"
    "  jobs        list, show, watch, cancel a task's jobs\n"
    "  runs        list (with filters), show, rate, tag, delete samples\n"
    "  topics      print the topic tree with sample counts\n"
    "  llm ping    send one short prompt to a provider and print the answer and usage\n"
    "              (hetu llm ping --provider P --model M [--config FILE]); checks a setup\n"
    "\n"
    "Options:\n"
    "  -h, --help  this help\n"
    "  --version   print the version\n"
    "\n"
    "Client options (every client command):\n"
    "  --server URL      the server (HETU_URL) [" CLIENT_DEFAULT_URL "]\n"
    "  --api-key KEY     sent as Authorization: Bearer KEY (HETU_API_KEY)\n"
    "  -p, --project ID  the project (HETU_PROJECT); -t, --task ID the task (HETU_TASK)\n"
    "  --json            print the server's JSON unchanged instead of a table\n"
    "  -q, --quiet       no progress output\n"
    "\n"
    "Exit status of client commands: 0 success, 1 the work failed (a local file, a failed\n"
    "job or sample), 2 usage error, 3 the server answered with an error (4xx/5xx), 4 the\n"
    "server is unreachable.\n"
    "\n"
    "Examples:\n"
    "  hetu serve --port 8000\n"
    "  hetu projects create demo\n"
    "  hetu import samples.csv --project 123456789012 --task 234567890123\n";

static int cmd_llm(int argc, char **argv)
{
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);

    if (argc >= 2 && strcmp(argv[1], "ping") == 0)
        return cli_llm_ping(argc - 1, argv + 1);
    fputs("Usage: hetu llm ping --provider P --model M [--config FILE] [--prompt TEXT]\n",
          help ? stdout : stderr);
    return help ? 0 : 2;
}

/* Each command takes argv starting at its own name and returns the exit code. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"serve", cli_serve}, {"llm", cmd_llm},       {"projects", cmd_projects}, {"tasks", cmd_tasks},
    {"gen", cmd_gen},     {"save", cmd_save},     {"import", cmd_import},     {"jobs", cmd_jobs},
    {"runs", cmd_runs},   {"topics", cmd_topics},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("hetu " HETU_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hetu: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
