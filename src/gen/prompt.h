/* SPDX-License-Identifier: MIT */
/*
 * The words sent to models: the task prompt (instruction and numbered requirements), the
 * topic-tree and input-generation requests, and the prompt methods for generating outputs.
 * Every builder appends to a bounded buffer and returns 0 or HE_TOO_LARGE/HE_NOMEM.
 */
#ifndef HETU_GEN_PROMPT_H
#define HETU_GEN_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "store/store.h"
#include "util/buf.h"

#define PROMPT_MAX (8u * 1024 * 1024)

enum prompt_method {
    PM_SIMPLE,
    PM_FEW_SHOT,
    PM_MULTI_SHOT,
    PM_REPAIRS,
    PM_SIMPLE_COT,
    PM_FEW_SHOT_COT,
    PM_MULTI_SHOT_COT,
    PM_COUNT
};

/* The prompt id for a name ("default" is simple); -1 when unknown. */
int prompt_method_parse(const char *name);
const char *prompt_method_name(enum prompt_method m);
/* "simple_prompt_builder, few_shot_prompt_builder, ..." for error messages. */
const char *prompt_method_list(void);
/* How many saved examples the method shows (0 for none). */
size_t prompt_method_examples(enum prompt_method m);
bool prompt_method_cot(enum prompt_method m);

/* The instruction, then the requirements as a numbered list. */
int prompt_task(const struct task *t, struct buf *out);

/* The human-guidance block: marked as additional instructions that win on conflict. */
int prompt_guidance(const char *guidance, struct buf *out);

/* A node path "a > b > c", or the root. */
int prompt_topic_path(struct json_object *path, struct buf *out);

/* System and user messages asking for `count` subtopics of `path`, none of `exclude`. */
int prompt_categories(const struct task *t, struct json_object *path, size_t count,
                      const char *guidance, char *const *exclude, size_t n_exclude,
                      struct buf *system, struct buf *user);

/* System and user messages asking for `count` task inputs about topic `path`. */
int prompt_samples(const struct task *t, struct json_object *path, size_t count,
                   const char *guidance, char *const *exclude, size_t n_exclude, struct buf *system,
                   struct buf *user);

/* A saved example for few-shot prompts: its input and the output to show. */
struct prompt_example {
    char *input;
    char *output;
    char *repair_instructions; /* repairs method: the instructions, when the output was repaired */
    char *original_output;     /* repairs method: the output before the repair */
};

/* The system prompt for generating an output with method m. */
int prompt_output_system(const struct task *t, enum prompt_method m,
                         const struct prompt_example *examples, size_t n_examples,
                         const char *guidance, struct buf *out);
/* The chain-of-thought instruction (the task's thinking_instruction or the default). */
const char *prompt_thinking_instruction(const struct task *t);
/* The follow-up turn asking for the final answer after the thinking. */
extern const char prompt_cot_final[];

#endif
