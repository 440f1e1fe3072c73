/* SPDX-License-Identifier: MIT */
/* `hetu llm ping`: one short call to a provider, to check a configuration. */
#ifndef HETU_CLI_LLM_PING_H
#define HETU_CLI_LLM_PING_H

/*
 * argv[0] is the subcommand's own name ("ping"); options follow:
 *   --provider P --model M [--config FILE] [--prompt TEXT] [--schema FILE]
 * Prints the answer, then the usage, on stdout; errors on stderr. Returns the exit status
 * (0 ok, 1 the call failed, 2 bad usage).
 */
int cli_llm_ping(int argc, char **argv);

#endif
