/* SPDX-License-Identifier: MIT */
/*
 * Request bodies as data: for each JSON route, the keys its handler accepts, their types,
 * whether they are required or may be null, and a line on each. They must say exactly what the
 * handlers read (h_projects.c, h_tasks.c, h_generate.c, h_samples.c with gen/sample_json.c,
 * h_dedup.c, h_runs.c, h_splits.c): on the gateway's routes the server drops every key that is
 * not listed here before the handler runs. Limits and allowed values stay the handlers' to check;
 * the descriptions state them for readers of /openapi.json.
 */
#include "http/bodies.h"

#include <stddef.h>

#include "util/banned.h"

#define REQ     FIELD_REQUIRED
#define NULL_OK FIELD_NULLABLE

/* ---- projects ---- */

const struct field project_create_body[] = {
    {"name", FT_STRING, REQ, "The project's name, 1 to 120 characters"},
    {"description", FT_STRING, NULL_OK, "What the project is for, up to 10000 characters"},
    {0},
};

const struct field project_update_body[] = {
    {"name", FT_STRING, 0, "A new name, 1 to 120 characters"},
    {"description", FT_STRING, NULL_OK, "A new description, up to 10000 characters"},
    {0},
};

/* ---- tasks ---- */

static const struct field requirement_fields[] = {
    {"id", FT_STRING, NULL_OK, "The requirement's id; a new one is made when absent"},
    {"name", FT_STRING, REQ, "The requirement's name, 1 to 120 characters"},
    {"description", FT_STRING, NULL_OK, "What the requirement checks"},
    {"instruction", FT_STRING, REQ, "How to judge an output against the requirement"},
    {"priority", FT_INTEGER, NULL_OK, "0 (highest) to 3; 2 when absent"},
    {"type", FT_STRING, NULL_OK, "five_star (the default), pass_fail or pass_fail_critical"},
    {0},
};

static const struct field requirement_item = {
    NULL, FT_OBJECT, 0, "A requirement of the task's outputs", requirement_fields, NULL};

/* clang-format off */
#define TASK_FIELDS(flags)                                                                        \
    {"name", FT_STRING, flags, "The task's name, 1 to 120 characters"},                           \
    {"description", FT_STRING, NULL_OK, "What the task is, up to 10000 characters"},              \
    {"instruction", FT_STRING, flags, "The instruction the model follows to do the task"},        \
    {"requirements", FT_ARRAY, NULL_OK, "Up to 100 requirements the outputs are rated against",   \
     NULL, &requirement_item},                                                                    \
    {"input_json_schema", FT_STRING, NULL_OK,                                                     \
     "JSON text of a JSON Schema object with \"type\": \"object\" for structured inputs; null "   \
     "for plain text"},                                                                           \
    {"output_json_schema", FT_STRING, NULL_OK,                                                    \
     "JSON text of a JSON Schema object with \"type\": \"object\" for structured outputs; null "  \
     "for plain text"},                                                                           \
    {"thinking_instruction", FT_STRING, NULL_OK,                                                  \
     "How the model should think before answering (chain-of-thought prompts)"}
/* clang-format on */

const struct field task_create_body[] = {TASK_FIELDS(REQ), {0}};

/* Only the fields sent change; the schemas cannot change once the task has samples. */
const struct field task_update_body[] = {TASK_FIELDS(0), {0}};

/* ---- data generation ---- */

#define TOPIC_PATH_TEXT                                                                           \
    "a list of topic names from the root ([] or [\"root\"] is the task as a whole), or one text " \
    "\"a/b\" (split on >>>>> when it holds one, else on /)"

/* clang-format off */
#define MODEL_FIELDS                                                                              \
    {"model_name", FT_STRING, REQ, "The model to call: a provider's model id"},                   \
    {"provider", FT_STRING, REQ, "The provider of the model"},                                    \
    {"human_guidance", FT_STRING, NULL_OK, "Extra guidance added to the prompt"},                 \
    {"drop_unsupported_params", FT_BOOLEAN, NULL_OK,                                              \
     "Drop request parameters the provider or model does not support instead of failing"}
/* clang-format on */

static const struct field string_item = {NULL, FT_STRING, 0, "A name", NULL, NULL};

const struct field generate_categories_body[] = {
    {"node_path", FT_ANY, NULL_OK, "The node to add subtopics under: " TOPIC_PATH_TEXT},
    {"num_subtopics", FT_INTEGER, NULL_OK, "How many subtopics to make, 1 to 100; 6 when absent"},
    MODEL_FIELDS,
    {"existing_topics", FT_ARRAY, NULL_OK, "Topic names the model must not repeat", NULL,
     &string_item},
    {0},
};

const struct field generate_samples_body[] = {
    {"topic", FT_ANY, NULL_OK, "The topic of the inputs: " TOPIC_PATH_TEXT},
    {"num_samples", FT_INTEGER, NULL_OK, "How many inputs to make, 1 to 100; 8 when absent"},
    MODEL_FIELDS,
    {0},
};

/* ---- samples ---- */

static const struct field tag_item = {NULL, FT_STRING, 0, "A tag, one line", NULL, NULL};

/* A sample as save_sample, a batch item and an import item take it (gen/sample_json.c); the
 * session goes in the query (?session_id=) on save_sample, as on the gateway. */
const struct field save_sample_body[] = {
    {"input", FT_ANY, REQ,
     "The task input: text, or an object (or its JSON text) matching the task's input schema"},
    {"topic_path", FT_ANY, NULL_OK, "The sample's topic: " TOPIC_PATH_TEXT},
    {"input_model_name", FT_STRING, NULL_OK, "The model that wrote the input (provenance)"},
    {"input_provider", FT_STRING, NULL_OK, "The provider of that model (provenance)"},
    {"output_model_name", FT_STRING, NULL_OK,
     "The model that writes the output when none is given"},
    {"output_provider", FT_STRING, NULL_OK, "The provider of the output model"},
    {"prompt_method", FT_STRING, NULL_OK,
     "The prompt builder for the output (a prompt id; \"default\" is simple_prompt_builder)"},
    {"human_guidance", FT_STRING, NULL_OK, "Extra guidance added to the output prompt"},
    {"output", FT_ANY, NULL_OK,
     "The output, stored as given with no model call: text, or an object matching the task's "
     "output schema"},
    {"drop_unsupported_params", FT_BOOLEAN, NULL_OK,
     "Drop request parameters the provider or model does not support instead of failing"},
    {"allow_truncated", FT_BOOLEAN, NULL_OK,
     "Keep an output the model cut short at its token limit instead of failing"},
    {"tags", FT_ARRAY, NULL_OK, "Tags added to the sample", NULL, &tag_item},
    {0},
};

static const struct field sample_item = {
    NULL, FT_OBJECT, 0, "A sample, as save_sample takes it", save_sample_body, NULL};

const struct field save_samples_batch_body[] = {
    {"samples", FT_ARRAY, REQ, "The samples, 1 to 10000", NULL, &sample_item},
    {"session_id", FT_STRING, NULL_OK,
     "Tags every sample synthetic_session_<id>; the query's session_id when absent"},
    {"allow_truncated", FT_BOOLEAN, NULL_OK, "allow_truncated for every sample"},
    {0},
};

/* ---- near duplicates ---- */

const struct field dedup_start_body[] = {
    {"threshold", FT_NUMBER, NULL_OK,
     "The similarity above which two inputs are near duplicates, over 0 and at most 1"},
    {0},
};

/* A pipeline or judge job's hard caps (its request, and a resume). */
static const struct field budget_fields[] = {
    {"max_cost_usd", FT_NUMBER, NULL_OK, "Spend at most this many US dollars"},
    {"max_calls", FT_INTEGER, NULL_OK, "Make at most this many model calls"},
    {"max_tokens", FT_INTEGER, NULL_OK, "Use at most this many tokens, input and output"},
    {0},
};

const struct field job_resume_body[] = {
    {"budget", FT_OBJECT, NULL_OK, "A pipeline or judge job's new budget, replacing its own",
     budget_fields},
    {0},
};

const struct field dedup_resolve_body[] = {
    {"job_id", FT_STRING, REQ, "The completed near-duplicate job whose clusters to resolve"},
    {"action", FT_STRING, REQ, "delete or tag (tags the others \"duplicate\")"},
    {0},
};

/* ---- runs ---- */

static const struct field rating_fields[] = {
    {"type", FT_STRING, REQ, "five_star, pass_fail or pass_fail_critical"},
    {"value", FT_ANY, REQ,
     "1 to 5 (five_star); true/false or 1/0 (pass_fail); also -1 (pass_fail_critical)"},
    {"requirement_ratings", FT_OBJECT, NULL_OK,
     "By requirement id (one of the task's): {\"type\", \"value\"}, each checked as the "
     "overall rating"},
    {"v", FT_ANY, 0, "Accepted and not stored"},
    {0},
};

const struct field run_update_body[] = {
    {"rating", FT_OBJECT, NULL_OK, "The sample's rating; null removes it", rating_fields, NULL},
    {"tags", FT_ARRAY, NULL_OK, "The sample's tags, replacing the old ones", NULL, &tag_item},
    {"repaired_output", FT_ANY, NULL_OK,
     "The corrected output (text; with an output schema a matching object or its JSON text), "
     "kept as a human TaskOutput; null removes the repair"},
    {"repair_instructions", FT_STRING, NULL_OK, "What was wrong and how to fix it; null removes"},
    {0},
};

/* ---- dataset splits ---- */

const struct field split_create_body[] = {
    {"dataset_split_type", FT_STRING, REQ, "The split's parts and sizes (a Kiln split type)"},
    {"filter_id", FT_STRING, REQ, "Which samples go in (a Kiln filter id)"},
    {"name", FT_STRING, NULL_OK, "The split's name; a two-word name is made when absent"},
    {"description", FT_STRING, NULL_OK, "What the split is for"},
    {"seed", FT_INTEGER, NULL_OK, "The shuffle's seed, so that a split can be made again"},
    {0},
};

/* ---- API keys ---- */

const struct field key_create_body[] = {
    {"name", FT_STRING, REQ, "What the key is for, 1 to 120 characters"},
    {"project", FT_STRING, NULL_OK,
     "A project id: the key may use that project alone; absent for every project"},
    {"admin", FT_BOOLEAN, NULL_OK, "The key may manage keys (the first key must be an admin key)"},
    {0},
};

/* ---- Kiln project folders ---- */

const struct field kiln_import_body[] = {
    {"project_path", FT_STRING, REQ,
     "A Kiln project folder on the server's disk (or its project.kiln), under --import-root"},
    {0},
};

/* ---- model providers ---- */

const struct field provider_ping_body[] = {
    {"model_name", FT_STRING, REQ,
     "The model to call: the provider's model id, or a Kiln model name it serves"},
    {"prompt", FT_STRING, NULL_OK, "The prompt, 1 to 4000 characters; default: a greeting"},
    {0},
};

/* ---- pipelines ---- */

static const struct field pipeline_topics_fields[] = {
    {"node_path", FT_ANY, NULL_OK,
     "The node to grow from: a list of names or \"a>>>>>b\"; absent: the root"},
    {"depth", FT_INTEGER, REQ, "Levels below the start node, 0 to 8"},
    {"breadth", FT_ANY, NULL_OK,
     "Children per node: a number (1 to 100) for every level, or a list with one per level; "
     "existing children count"},
    {"human_guidance", FT_ANY, NULL_OK, "Guidance for every level, or a list with one per level"},
    {"provider", FT_STRING, NULL_OK, "Default: the inputs' provider"},
    {"model_name", FT_STRING, NULL_OK, "Default: the inputs' model"},
    {0},
};

static const struct field pipeline_inputs_fields[] = {
    {"per_leaf", FT_INTEGER, NULL_OK, "Inputs each leaf has in the end, 1 to 10000 (default 1)"},
    {"provider", FT_STRING, NULL_OK, "Default: the outputs' provider"},
    {"model_name", FT_STRING, NULL_OK, "Default: the outputs' model"},
    {"human_guidance", FT_STRING, NULL_OK, "Guidance for the inputs"},
    {0},
};

static const struct field pipeline_outputs_fields[] = {
    {"provider", FT_STRING, REQ, "The provider of the outputs' model"},
    {"model_name", FT_STRING, REQ, "The outputs' model"},
    {"prompt_method", FT_STRING, NULL_OK, "One of the seven prompt methods; default: simple"},
    {"human_guidance", FT_STRING, NULL_OK, "Guidance for the outputs"},
    {0},
};

static const struct field pipeline_dedup_fields[] = {
    {"exact", FT_BOOLEAN, NULL_OK, "Drop inputs equal to a stored one or to each other (default)"},
    {"near", FT_BOOLEAN, NULL_OK, "Drop near duplicates too"},
    {"threshold", FT_NUMBER, NULL_OK, "The near duplicates' similarity, 0.1 to 1 (default 0.8)"},
    {0},
};

static const struct field pipeline_judge_fields[] = {
    {"provider", FT_STRING, REQ, "The judge's provider"},
    {"model_name", FT_STRING, REQ, "The judge's model"},
    {"human_guidance", FT_STRING, NULL_OK, "Added to the judge's instructions"},
    {"keep", FT_NUMBER, NULL_OK, "The least overall rating (1 to 5) not tagged rejected"},
    {0},
};

const struct field pipeline_body[] = {
    {"topics", FT_OBJECT, NULL_OK, "Grow the topic tree; absent: the root is the only leaf",
     pipeline_topics_fields, NULL},
    {"inputs", FT_OBJECT, NULL_OK, "Inputs for each leaf", pipeline_inputs_fields, NULL},
    {"outputs", FT_OBJECT, REQ, "An output for each new input", pipeline_outputs_fields, NULL},
    {"dedup", FT_OBJECT, NULL_OK, "Duplicates dropped before outputs are paid for (default: exact)",
     pipeline_dedup_fields, NULL},
    {"judge", FT_OBJECT, NULL_OK, "Rate each new sample with an LLM judge", pipeline_judge_fields,
     NULL},
    {"budget", FT_OBJECT, NULL_OK, "Hard caps: the job pauses before a call would pass one",
     budget_fields, NULL},
    {"session_id", FT_STRING, NULL_OK, "Tags every sample synthetic_session_<id>"},
    {"drop_unsupported_params", FT_BOOLEAN, NULL_OK, "Drop parameters a model refuses"},
    {"dry_run", FT_BOOLEAN, NULL_OK, "Answer the estimate and start nothing"},
    {0},
};

/* ---- the LLM judge ---- */

const struct field judge_body[] = {
    {"provider", FT_STRING, REQ, "The judge model's provider"},
    {"model_name", FT_STRING, REQ, "The judge model"},
    {"human_guidance", FT_STRING, NULL_OK,
     "Instructions added to the judge's, winning on conflict"},
    {"keep", FT_NUMBER, NULL_OK,
     "1 to 5: samples whose overall judge rating is below it are tagged rejected (never deleted)"},
    {"drop_unsupported_params", FT_BOOLEAN, NULL_OK,
     "Drop what the model does not support instead of failing"},
    {"budget", FT_OBJECT, NULL_OK, "Hard caps: the job pauses before passing one", budget_fields},
    {"topic_path", FT_ANY, NULL_OK, "Samples under this topic (a list of names, or a>>>>>b)"},
    {"node_path", FT_ANY, NULL_OK, "The same as topic_path"},
    {"session_id", FT_STRING, NULL_OK, "Samples of this session"},
    {"tag", FT_STRING, NULL_OK, "Samples carrying this tag"},
    {"rating", FT_NUMBER, NULL_OK, "Samples a person rated at least this (0 to 5)"},
    {"source", FT_STRING, NULL_OK, "Samples whose input source is of this type"},
    {"rejudge", FT_BOOLEAN, NULL_OK, "Rate samples the judge rated already too (default false)"},
    {0},
};
