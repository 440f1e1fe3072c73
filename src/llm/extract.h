/* SPDX-License-Identifier: MIT */
/*
 * Reading a model's reply: split off reasoning (<think>...</think> blocks, which some models put
 * at the start of the content), and find the JSON value in a reply that may wrap it in Markdown
 * code fences or surround it with prose.
 */
#ifndef HETU_LLM_EXTRACT_H
#define HETU_LLM_EXTRACT_H

#include <stddef.h>

#include <json-c/json.h>

#include "util/err.h"

/*
 * Splits content into the reasoning inside <think>...</think> blocks (concatenated, trimmed; NULL
 * when there is none) and the rest (trimmed). An unterminated <think> at the start means the
 * whole content is reasoning and the rest is empty. Both outputs are malloc'd; caller frees.
 */
int extract_think(const char *content, size_t len, char **ret_reasoning, char **ret_rest,
                  struct err *e);

/*
 * Parses the JSON value in text: the whole text when it is JSON; else the body of the first
 * ```json (or bare ```) fence that parses; else the first balanced {...} or [...] span that
 * parses. HE_INVALID with a clear message (no JSON found / where it fails to parse) otherwise.
 */
int extract_json(const char *text, size_t len, struct json_object **ret, struct err *e);

#endif
