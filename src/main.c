/* SPDX-License-Identifier: MIT */
/* hetu: one executable, like git: `hetu serve` runs the server, other subcommands are clients. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "Usage: hetu COMMAND [OPTIONS]\n"
    "\n"
    "Hetu turns a task description into a large, varied, well-labelled dataset with LLMs.\n"
    "\n"
    "Commands:\n"
    "  serve       run the server (hetu serve --help)\n"
    "\n"
    "Options:\n"
    "  -h, --help  this help\n"
    "  --version   print the version\n"
    "\n"
    "Example:\n"
    "  hetu serve --port 8000\n";

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
    if (strcmp(argv[1], "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    fprintf(stderr, "hetu: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
