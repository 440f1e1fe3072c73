/* SPDX-License-Identifier: MIT */
/*
 * The limits of a sample's fields, in one place: save_sample, the batch and async imports, file
 * imports (their row check), the runs API and the fuzzers and benches all take them from here.
 * Characters are Unicode code points unless a limit says bytes.
 */
#ifndef HETU_GEN_LIMITS_H
#define HETU_GEN_LIMITS_H

#define TEXT_MAX_CHARS          1000000 /* an input or an output */
#define GUIDANCE_MAX_CHARS      20000   /* human guidance */
#define MODEL_MAX_CHARS         200     /* a model or provider name */
#define PROMPT_METHOD_MAX_CHARS 100     /* a prompt method's name */
#define SESSION_MAX_CHARS       200     /* a session id (bytes) */
#define TOPIC_MAX_CHARS         200     /* one name of a topic path */
#define TOPIC_MAX_DEPTH         32      /* names in a topic path */
#define TAG_MAX_CHARS           200     /* one tag */
#define TAG_MAX_COUNT           100     /* tags of one sample */

#endif
