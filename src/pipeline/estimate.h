/* SPDX-License-Identifier: MIT */
/*
 * What the estimate counts with (estimate.c): the token rule and the lengths it expects when a
 * task has nothing stored to measure them on.
 *
 * The token rule: one token per CJK character (Han, kana, Hangul, CJK punctuation and full-width
 * forms), and one per four other characters (Unicode code points), rounded up per call over the
 * call's messages joined by newlines:
 *     tokens = cjk + ceil(other / 4)
 * Providers' tokenizers differ; this is what Latin text and Chinese text cost on most of them,
 * and exactly what the fake provider of the tests reports for text without CJK characters.
 */
#ifndef HETU_PIPELINE_ESTIMATE_H
#define HETU_PIPELINE_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

/* Expected lengths, in characters, when the task has no stored sample (or tree) to measure. */
#define EST_TOPIC_NAME_CHARS   20  /* a subtopic's name */
#define EST_INPUT_CHARS        300 /* a task input */
#define EST_OUTPUT_CHARS       800 /* an output; also a chain-of-thought's thinking */
#define EST_JUDGE_ANSWER_CHARS 600 /* the judge's answer: its ratings and reasons */

/* Tokens of s[0..len) by the rule above (invalid UTF-8 bytes count as other characters). */
int64_t pipeline_token_count(const char *s, size_t len);

/* The share of CJK characters among the code points of s (0 for an empty text). */
double pipeline_cjk_share(const char *s);

#endif
