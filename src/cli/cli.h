/* SPDX-License-Identifier: MIT */
/* The hetu subcommands. Each takes argv starting at its own name and returns the exit code. */
#ifndef HETU_CLI_CLI_H
#define HETU_CLI_CLI_H

int cli_serve(int argc, char **argv);

#endif
