/* SPDX-License-Identifier: MIT */
/* hetu: one executable, like git: `hetu serve` runs the server, other subcommands are clients. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/llm_ping.h"
#include "util/cleanup.h"

static const char usage_head[] =
    "Usage: hetu COMMAND [OPTIONS]\n"
    "\n"
    "Hetu turns a task description into a large, varied, well-labelled dataset with LLMs.\n"
    "\n"
    "Commands:\n";

static const char usage_clients[] =
    "\n"
    "Client commands (each speaks the HTTP API of a running server; hetu COMMAND --help):\n";

static const char usage_tail[] =
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

/* Each command takes argv starting at its own name and returns the exit code. The first
 * row is the server; the others are listed as client commands. */
static const struct {
    const char *name, *shown, *summary; /* shown: the name as the help lists it */
    int (*run)(int argc, char **argv);
} commands[] = {
    {"serve", "serve", "run the server (hetu serve --help)", cli_serve},
    {"projects", "projects", "list, create, show, update, delete projects", cmd_projects},
    {"tasks", "tasks", "list, create, show, update, delete a project's tasks", cmd_tasks},
    {"gen", "gen", "gen categories: subtopics of a topic; gen samples: inputs for a topic",
     cmd_gen},
    {"save", "save", "save one sample, or a JSON array / JSONL batch from a file or stdin",
     cmd_save},
    {"import", "import", "upload a CSV or JSONL file and follow the import with a progress bar",
     cmd_import},
    {"import-kiln", "import-kiln", "import a Kiln project folder on the server's disk",
     cmd_import_kiln},
    {"jobs", "jobs", "list, show, watch, cancel a task's jobs", cmd_jobs},
    {"pipeline", "pipeline",
     "run a pipeline from a JSON file (estimate, then a bar per stage); resume one", cmd_pipeline},
    {"runs", "runs", "list (with filters), show, rate, tag, delete samples", cmd_runs},
    {"topics", "topics", "print the topic tree with sample counts", cmd_topics},
    {"export", "export", "stream samples in a trainer's format to a file, with filters",
     cmd_export},
    {"stats", "stats", "statistics of a task's samples: counts, ratings, lengths, tokens",
     cmd_stats},
    {"keys", "keys", "create, list, revoke API keys (keys create --db PATH: without a server)",
     cmd_keys},
    {"judge", "judge", "judge run: a model rates samples (a job); judge agreement: vs people",
     cmd_judge},
    {"llm", "llm ping",
     "send one short prompt to a provider and print the answer and usage\n"
     "              (hetu llm ping --provider P --model M [--config FILE]); checks a setup",
     cmd_llm},
};

static void print_usage(FILE *f)
{
    fputs(usage_head, f);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (i == 1)
            fputs(usage_clients, f);
        fprintf(f, "  %-10s  %s\n", commands[i].shown, commands[i].summary);
    }
    fputs(usage_tail, f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("hetu " HETU_VERSION);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hetu: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return 2;
}
