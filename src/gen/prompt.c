/* SPDX-License-Identifier: MIT */
/*
 * Prompt text. The wording is ours; what matters is that each request carries the task prompt,
 * exactly what is wanted (the count, the topic path, the names not to repeat), and the human
 * guidance in a marked block that takes precedence.
 */
#include "gen/prompt.h"

#include <string.h>

#include "util/json.h"
#include "util/banned.h"

static const char *const method_names[PM_COUNT] = {
    [PM_SIMPLE] = "simple_prompt_builder",
    [PM_FEW_SHOT] = "few_shot_prompt_builder",
    [PM_MULTI_SHOT] = "multi_shot_prompt_builder",
    [PM_REPAIRS] = "repairs_prompt_builder",
    [PM_SIMPLE_COT] = "simple_chain_of_thought_prompt_builder",
    [PM_FEW_SHOT_COT] = "few_shot_chain_of_thought_prompt_builder",
    [PM_MULTI_SHOT_COT] = "multi_shot_chain_of_thought_prompt_builder",
};

const char prompt_cot_final[] =
    "Considering the reasoning above, give your final answer to the task now.";

int prompt_method_parse(const char *name)
{
    if (!name || !*name || strcmp(name, "default") == 0)
        return PM_SIMPLE;
    for (int i = 0; i < PM_COUNT; i++)
        if (strcmp(name, method_names[i]) == 0)
            return i;
    return -1;
}

const char *prompt_method_name(enum prompt_method m)
{
    return method_names[m];
}

const char *prompt_method_list(void)
{
    return "default, simple_prompt_builder, few_shot_prompt_builder, multi_shot_prompt_builder, "
           "repairs_prompt_builder, simple_chain_of_thought_prompt_builder, "
           "few_shot_chain_of_thought_prompt_builder, multi_shot_chain_of_thought_prompt_builder";
}

size_t prompt_method_examples(enum prompt_method m)
{
    switch (m) {
    case PM_FEW_SHOT:
    case PM_FEW_SHOT_COT: return 4;
    case PM_MULTI_SHOT:
    case PM_MULTI_SHOT_COT: return 25;
    case PM_REPAIRS: return 25;
    default: return 0;
    }
}

bool prompt_method_cot(enum prompt_method m)
{
    return m == PM_SIMPLE_COT || m == PM_FEW_SHOT_COT || m == PM_MULTI_SHOT_COT;
}

int prompt_task(const struct task *t, struct buf *out)
{
    struct json_object *reqs = NULL;
    struct err e;
    int r;

    err_clear(&e);
    if ((r = buf_adds(out, t->instruction)) < 0)
        return r;
    if (t->requirements && json_parse(t->requirements, strlen(t->requirements), &reqs, &e) == 0 &&
        json_object_is_type(reqs, json_type_array) && json_object_array_length(reqs) > 0) {
        size_t n = json_object_array_length(reqs);
        r = buf_adds(out, "\n\nYour response should respect the following requirements:\n");
        for (size_t i = 0; i < n && r == 0; i++) {
            struct json_object *q = json_object_array_get_idx(reqs, i), *ins;
            if (json_object_object_get_ex(q, "instruction", &ins))
                r = buf_addf(out, "%zu) %s\n", i + 1, json_object_get_string(ins));
        }
    }
    json_object_put(reqs);
    return r;
}

int prompt_guidance(const char *guidance, struct buf *out)
{
    if (!guidance || !*guidance)
        return 0;
    return buf_addf(out,
                    "\n\n# Additional instructions\n"
                    "The user gave these additional instructions. Follow them; where they "
                    "conflict with anything above, they take precedence.\n"
                    "<additional_instructions>\n%s\n</additional_instructions>\n",
                    guidance);
}

int prompt_topic_path(struct json_object *path, struct buf *out)
{
    size_t n = path ? json_object_array_length(path) : 0;
    int r = 0;

    if (n == 0)
        return buf_adds(out, "(the root: the task as a whole)");
    for (size_t i = 0; i < n && r == 0; i++)
        r = buf_addf(out, "%s%s", i ? " > " : "",
                     json_object_get_string(json_object_array_get_idx(path, i)));
    return r;
}

static int dataset_system(const struct task *t, struct buf *system)
{
    int r = buf_adds(system,
                     "You help build a synthetic dataset for training and evaluating a language "
                     "model on a task. The dataset is organised as a tree of topics, from "
                     "general to specific, so that it covers the task broadly and evenly.\n\n"
                     "The task the data is for:\n<task>\n");
    if (r == 0)
        r = prompt_task(t, system);
    if (r == 0)
        r = buf_adds(system, "\n</task>\n");
    return r;
}

static int exclusions(const char *intro, char *const *exclude, size_t n, struct buf *out)
{
    int r = 0;
    if (n == 0)
        return 0;
    r = buf_addf(out, "\n%s\n", intro);
    for (size_t i = 0; i < n && r == 0; i++)
        r = buf_addf(out, "- %s\n", exclude[i]);
    return r;
}

/* What tells a prompt for subtopics from one for sample inputs; the steps are the same. */
struct list_words {
    const char *path_intro; /* before the topic path */
    const char *what;       /* after "Generate exactly N " */
    const char *exists;     /* before the list of what exists already */
    const char *key;        /* the answer object's one key */
    const char *items;      /* what the answer's list holds */
};

static int list_prompt(const struct task *t, const struct list_words *w, struct json_object *path,
                       size_t count, const char *guidance, char *const *exclude, size_t n_exclude,
                       bool with_schema, struct buf *system, struct buf *user)
{
    int r = dataset_system(t, system);

    if (r == 0)
        r = buf_adds(user, w->path_intro);
    if (r == 0)
        r = prompt_topic_path(path, user);
    if (r == 0)
        r = buf_addf(user, "\n\nGenerate exactly %zu %s\n", count, w->what);
    if (r == 0 && with_schema && t->input_json_schema)
        r = buf_addf(user, "Each input is a JSON object that matches this JSON schema:\n%s\n",
                     t->input_json_schema);
    if (r == 0)
        r = exclusions(w->exists, exclude, n_exclude, user);
    if (r == 0)
        r = prompt_guidance(guidance, user);
    if (r == 0)
        r = buf_addf(user, "\nAnswer with a JSON object {\"%s\": [...]} holding exactly %zu %s.",
                     w->key, count, w->items);
    return r;
}

int prompt_categories(const struct task *t, struct json_object *path, size_t count,
                      const char *guidance, char *const *exclude, size_t n_exclude,
                      struct buf *system, struct buf *user)
{
    static const struct list_words words = {
        "Current topic path, from general to specific: ",
        "subtopics of the current topic. Each subtopic is a short name (a few words), more "
        "specific than the current topic, relevant to the task, and clearly different from the "
        "others.",
        "These subtopics already exist; do not repeat any of them or a close variant:",
        "subtopics",
        "strings",
    };
    return list_prompt(t, &words, path, count, guidance, exclude, n_exclude, false, system, user);
}

int prompt_samples(const struct task *t, struct json_object *path, size_t count,
                   const char *guidance, char *const *exclude, size_t n_exclude, struct buf *system,
                   struct buf *user)
{
    static const struct list_words words = {
        "Topic path, from general to specific: ",
        "diverse inputs for the task about this topic. They are the inputs a user would give to "
        "a model performing the task, not answers to the task and not solutions: do not answer "
        "them. Vary their style, length and difficulty, and make each one different from the "
        "others.",
        "These inputs already exist; do not repeat them:",
        "generated_samples",
        "items",
    };
    return list_prompt(t, &words, path, count, guidance, exclude, n_exclude, true, system, user);
}

int prompt_output_system(const struct task *t, enum prompt_method m,
                         const struct prompt_example *examples, size_t n_examples,
                         const char *guidance, struct buf *out)
{
    int r = prompt_task(t, out);

    if (r == 0 && n_examples > 0) {
        r = buf_adds(out, m == PM_REPAIRS
                              ? "\n\nHere are examples of inputs, with earlier outputs, the "
                                "corrections asked for, and the corrected outputs. Learn from "
                                "the corrections:\n"
                              : "\n\nHere are examples of inputs and their ideal outputs:\n");
        for (size_t i = 0; i < n_examples && r == 0; i++) {
            const struct prompt_example *x = &examples[i];
            size_t mark = out->len;
            r = buf_addf(out, "\n## Example %zu\n\nInput: %s\n", i + 1, x->input);
            if (r == 0 && m == PM_REPAIRS && x->repair_instructions && x->original_output)
                r = buf_addf(out, "\nEarlier output: %s\n\nCorrection asked for: %s\n",
                             x->original_output, x->repair_instructions);
            if (r == 0)
                r = buf_addf(out, "\n%s: %s\n",
                             m == PM_REPAIRS && x->repair_instructions ? "Corrected output"
                                                                       : "Output",
                             x->output);
            if (r == HE_TOO_LARGE) { /* the examples that fit are enough: drop this one */
                out->len = mark;
                out->data[mark] = '\0';
                r = 0;
                break;
            }
        }
    }
    if (r == 0)
        r = prompt_guidance(guidance, out);
    return r;
}

const char *prompt_thinking_instruction(const struct task *t)
{
    if (t->thinking_instruction && *t->thinking_instruction)
        return t->thinking_instruction;
    return "Think step by step, explaining your reasoning.";
}
