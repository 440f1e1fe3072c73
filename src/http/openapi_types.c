/* SPDX-License-Identifier: MIT */
/*
 * The records Hetu answers, as field tables (http/schema.h), and each route's documentation:
 * tag, query parameters, answer. The shapes follow the renderers (http/render.c,
 * gen/taskrun.c, jobs/job_json.c, the handlers); tests/integration/test_openapi.py checks real
 * answers against them. Every key a record always carries is FIELD_REQUIRED. Read-only data,
 * no threads.
 */
#include "http/openapi_types.h"

#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

#define REQ FIELD_REQUIRED
#define NUL FIELD_NULLABLE
#define RN  (FIELD_REQUIRED | FIELD_NULLABLE)

/* ---- components ---- */

static const struct field string_item[] = {{"item", FT_STRING, 0, NULL}};

static const struct field error_fields[] = {
    {"detail", FT_STRING, REQ, "One line naming the problem"},
    {"code", FT_STRING, REQ, "The kind of error"},
    {"field", FT_STRING, 0, "The request field, parameter or location it concerns, when one"},
    {NULL}};

static const struct field message_fields[] = {
    {"message", FT_STRING, REQ, "What was done"},
    {"project_id", FT_STRING, 0, "A deleted project's id"},
    {NULL}};

static const struct field pool_fields[] = {{"open", FT_INTEGER, REQ, NULL},
                                           {"idle", FT_INTEGER, REQ, NULL},
                                           {"size", FT_INTEGER, REQ, NULL},
                                           {NULL}};

static const struct field store_health_fields[] = {
    {"backend", FT_STRING, REQ, "sqlite"},
    {"schema_version", FT_INTEGER, REQ, NULL},
    {"writable", FT_BOOLEAN, REQ, NULL},
    {"pending_writes", FT_INTEGER, REQ, "Writes queued for the store"},
    {"pool", FT_OBJECT, 0, "PostgreSQL: connections open, idle, and the most it opens (size)",
     pool_fields},
    {"reconnects", FT_INTEGER, 0, "PostgreSQL: connections made again after the database was lost"},
    {"last_error", FT_STRING, NUL, "PostgreSQL: the last connection error, or null"},
    {NULL}};

static const struct field health_fields[] = {
    {"status", FT_STRING, REQ, "ok"}, {"store", FT_OBJECT, REQ, NULL, store_health_fields}, {NULL}};

/* The head every stored record opens with. */
#define RECORD_HEAD                                                                             \
    {"v", FT_INTEGER, REQ, "Record format version (1)"}, {"id", FT_STRING, REQ, "12-digit id"}, \
        {"path", FT_STRING, RN, "Always null (Kiln's file path)"},                              \
        {"created_at", FT_STRING, REQ, "ISO 8601 time with microseconds and offset"},           \
    {                                                                                           \
        "created_by", FT_STRING, RN, "The server's user when it was created"                    \
    }

static const struct field project_fields[] = {RECORD_HEAD,
                                              {"name", FT_STRING, REQ, NULL},
                                              {"description", FT_STRING, RN, NULL},
                                              {"model_type", FT_STRING, REQ, "project"},
                                              {NULL}};

static const struct field project_item[] = {{"Project", FT_OBJECT, 0, NULL, project_fields}};

static const struct field project_list_fields[] = {
    {"projects", FT_ARRAY, REQ, "Every project, oldest first", NULL, project_item}, {NULL}};

static const struct field requirement_fields[] = {
    {"id", FT_STRING, REQ, NULL},
    {"name", FT_STRING, REQ, NULL},
    {"description", FT_STRING, REQ, NULL},
    {"instruction", FT_STRING, REQ, NULL},
    {"priority", FT_INTEGER, REQ, "0 (highest) to 3"},
    {"type", FT_STRING, REQ, "five_star, pass_fail or pass_fail_critical"},
    {NULL}};

static const struct field requirement_item[] = {
    {"TaskRequirement", FT_OBJECT, 0, NULL, requirement_fields}};

static const struct field task_fields[] = {
    RECORD_HEAD,
    {"name", FT_STRING, REQ, NULL},
    {"description", FT_STRING, RN, NULL},
    {"instruction", FT_STRING, REQ, "The prompt's instruction"},
    {"requirements", FT_ARRAY, REQ, NULL, NULL, requirement_item},
    {"output_json_schema", FT_STRING, RN, "A JSON Schema as text, or null: plain text"},
    {"input_json_schema", FT_STRING, RN, "A JSON Schema as text, or null: plain text"},
    {"thinking_instruction", FT_STRING, RN, "For chain-of-thought prompt methods"},
    {"model_type", FT_STRING, REQ, "task"},
    {NULL}};

static const struct field task_item[] = {{"Task", FT_OBJECT, 0, NULL, task_fields}};

static const struct field source_fields[] = {
    {"type", FT_STRING, REQ, "human, synthetic, file_import, ..."},
    {"properties", FT_OBJECT, REQ, "model_name, model_provider, prompt_id, created_by, ..."},
    {NULL}};

static const struct field rating_fields[] = {
    {"v", FT_INTEGER, 0, NULL},
    {"value", FT_NUMBER, NUL, "1 to 5 stars; pass_fail: 1 pass, 0 fail; -1 critical"},
    {"type", FT_STRING, REQ, "five_star, pass_fail or pass_fail_critical"},
    {"requirement_ratings", FT_OBJECT, 0, "Per-requirement ratings, by requirement id"},
    {NULL}};

static const struct field output_fields[] = {
    {"v", FT_INTEGER, REQ, NULL},
    {"id", FT_STRING, RN, NULL},
    {"path", FT_STRING, RN, NULL},
    {"created_at", FT_STRING, REQ, NULL},
    {"created_by", FT_STRING, RN, NULL},
    {"output", FT_STRING, REQ, "The output: plain text, or JSON text with an output schema"},
    {"source", FT_OBJECT, REQ, "Who or what wrote it", source_fields},
    {"rating", FT_OBJECT, RN, NULL, rating_fields},
    {"model_type", FT_STRING, REQ, "task_output"},
    {NULL}};

static const struct field usage_fields[] = {
    {"input_tokens", FT_INTEGER, RN, NULL},
    {"output_tokens", FT_INTEGER, RN, NULL},
    {"total_tokens", FT_INTEGER, RN, NULL},
    {"cost", FT_NUMBER, RN, "In US dollars, when the model's prices are known"},
    {NULL}};

static const struct field run_fields[] = {
    {"v", FT_INTEGER, REQ, NULL},
    {"id", FT_STRING, RN, "12-digit id"},
    {"path", FT_STRING, RN, NULL},
    {"created_at", FT_STRING, REQ, NULL},
    {"created_by", FT_STRING, RN, NULL},
    {"input", FT_STRING, REQ, "The task input: plain text, or JSON text with an input schema"},
    {"input_source", FT_OBJECT, REQ, NULL, source_fields},
    {"output", FT_OBJECT, REQ, NULL, output_fields},
    {"repair_instructions", FT_STRING, RN, NULL},
    {"repaired_output", FT_OBJECT, RN, NULL, output_fields},
    {"intermediate_outputs", FT_OBJECT, REQ, "chain_of_thought, reasoning: text by name"},
    {"tags", FT_ARRAY, REQ, NULL, NULL, string_item},
    {"judge_rating", FT_OBJECT, RN, "An LLM judge's rating, apart from a person's", rating_fields},
    {"usage", FT_OBJECT, REQ, NULL, usage_fields},
    {"model_type", FT_STRING, REQ, "task_run"},
    {NULL}};

static const struct field run_item[] = {{"TaskRun", FT_OBJECT, 0, NULL, run_fields}};

static const struct field run_page_fields[] = {
    {"next_cursor", FT_STRING, RN, "Pass it back as cursor for the next page; null on the last"},
    {"runs", FT_ARRAY, REQ, NULL, NULL, run_item},
    {NULL}};

static const struct field item_error_fields[] = {
    {"index", FT_INTEGER, REQ, "The sample's position as sent (a job: its item)"},
    {"detail", FT_STRING, REQ, NULL},
    {NULL}};

static const struct field item_error_item[] = {
    {"ItemError", FT_OBJECT, 0, NULL, item_error_fields}};

static const struct field batch_detailed_fields[] = {
    {"runs", FT_ARRAY, REQ, "The samples saved", NULL, run_item},
    {"errors", FT_ARRAY, REQ, "The samples that failed", NULL, item_error_item},
    {NULL}};

static const struct field job_fields[] = {
    {"id", FT_STRING, REQ, NULL},
    {"kind", FT_STRING, REQ, "import_samples, import_file, near_duplicates, ..."},
    {"status", FT_STRING, REQ, "queued, running, completed, failed or cancelled"},
    {"total", FT_INTEGER, REQ, "Items to do"},
    {"completed", FT_INTEGER, REQ, NULL},
    {"failed", FT_INTEGER, REQ, NULL},
    {"skipped", FT_INTEGER, REQ, "Duplicates left out when the job was made (dedup=skip)"},
    {"rate", FT_NUMBER, REQ, "Items a second"},
    {"created_at", FT_STRING, RN, NULL},
    {"started_at", FT_STRING, RN, NULL},
    {"finished_at", FT_STRING, RN, NULL},
    {"error", FT_STRING, RN, "Why the job failed or stopped"},
    {"errors", FT_ARRAY, REQ, "The first failed items", NULL, item_error_item},
    {"threshold", FT_NUMBER, 0, "near_duplicates jobs: the Jaccard threshold"},
    {"signatures_computed", FT_INTEGER, 0, "near_duplicates jobs: inputs signed so far"},
    {NULL}};

static const struct field job_item[] = {{"Job", FT_OBJECT, 0, NULL, job_fields}};

static const struct field job_list_fields[] = {{"jobs", FT_ARRAY, REQ, NULL, NULL, job_item},
                                               {NULL}};

static const struct field import_fields[] = {
    {"status", FT_STRING, REQ, "import_started (a job) or import_completed"},
    {"sample_count", FT_INTEGER, REQ, "Samples imported, or to import"},
    {"message", FT_STRING, REQ, NULL},
    {"job_id", FT_STRING, 0, "import_started: the job to follow"},
    {"failed_count", FT_INTEGER, 0, "import_completed: rows that failed"},
    {NULL}};

/* A topic node's children are topic nodes: the size lets the table name itself. */
static const struct field topic_node_fields[5];
static const struct field topic_node_item[] = {
    {"TopicNode", FT_OBJECT, 0, NULL, topic_node_fields}};
static const struct field topic_node_fields[5] = {
    {"name", FT_STRING, REQ, "root for the tree's root"},
    {"path", FT_ARRAY, REQ, "Topic names from the root", NULL, string_item},
    {"sample_count", FT_INTEGER, REQ, "Samples in this topic and below"},
    {"children", FT_ARRAY, REQ, NULL, NULL, topic_node_item},
    {NULL}};

static const struct field split_part_fields[] = {
    {"name", FT_STRING, REQ, "train, test, val or all"},
    {"description", FT_STRING, RN, NULL},
    {"percentage", FT_NUMBER, REQ, "Share of the runs, 0 to 1"},
    {NULL}};

static const struct field split_part_item[] = {{"part", FT_OBJECT, 0, NULL, split_part_fields}};

static const struct field split_fields[] = {
    RECORD_HEAD,
    {"name", FT_STRING, REQ, NULL},
    {"description", FT_STRING, RN, NULL},
    {"splits", FT_ARRAY, REQ, "The parts", NULL, split_part_item},
    {"split_contents", FT_OBJECT, REQ, "Each part's run ids in order, by part name"},
    {"filter", FT_STRING, REQ, "The filter_id the runs were chosen with"},
    {"model_type", FT_STRING, REQ, "dataset_split"},
    {NULL}};

static const struct field split_item[] = {{"DatasetSplit", FT_OBJECT, 0, NULL, split_fields}};

static const struct field key_count_fields[] = {
    {"key", FT_STRING, RN, "null counts the samples without one"},
    {"count", FT_INTEGER, REQ, NULL},
    {"input_tokens", FT_INTEGER, 0, "output_models only"},
    {"output_tokens", FT_INTEGER, 0, "output_models only"},
    {"total_tokens", FT_INTEGER, 0, "output_models only"},
    {"cost", FT_NUMBER, NUL, "output_models only"},
    {NULL}};

static const struct field key_count_item[] = {{"KeyCount", FT_OBJECT, 0, NULL, key_count_fields}};

static const struct field lengths_fields[] = {
    {"p50", FT_INTEGER, REQ, NULL}, {"p90", FT_INTEGER, REQ, NULL}, {"p99", FT_INTEGER, REQ, NULL},
    {"max", FT_INTEGER, REQ, NULL}, {"mean", FT_NUMBER, REQ, NULL}, {NULL}};

static const struct field pass_fail_fields[] = {{"pass", FT_INTEGER, REQ, NULL},
                                                {"fail", FT_INTEGER, REQ, NULL},
                                                {"critical", FT_INTEGER, REQ, NULL},
                                                {NULL}};

static const struct field ratings_fields[] = {
    {"five_star", FT_OBJECT, REQ, "Samples by stars, \"1\" to \"5\""},
    {"pass_fail", FT_OBJECT, REQ, NULL, pass_fail_fields},
    {"other", FT_INTEGER, REQ, NULL},
    {"unrated", FT_INTEGER, REQ, NULL},
    {NULL}};

static const struct field stats_usage_fields[] = {
    {"input_tokens", FT_INTEGER, REQ, NULL},
    {"output_tokens", FT_INTEGER, REQ, NULL},
    {"total_tokens", FT_INTEGER, REQ, NULL},
    {"cost", FT_NUMBER, RN, NULL},
    {"samples", FT_INTEGER, REQ, "Samples that know their tokens"},
    {NULL}};

#define KEY_COUNTS(name, text)                          \
    {                                                   \
        name, FT_ARRAY, REQ, text, NULL, key_count_item \
    }
static const struct field stats_fields[] = {
    {"total", FT_INTEGER, REQ, "Samples"},
    {"topics", FT_OBJECT, RN, "The topic tree with subtree counts; null when too large",
     topic_node_fields},
    KEY_COUNTS("sessions", NULL),
    KEY_COUNTS("sources", NULL),
    KEY_COUNTS("input_models", NULL),
    KEY_COUNTS("input_providers", NULL),
    KEY_COUNTS("output_models", "With token and cost sums"),
    KEY_COUNTS("output_providers", NULL),
    KEY_COUNTS("prompt_methods", NULL),
    {"ratings", FT_OBJECT, REQ, NULL, ratings_fields},
    KEY_COUNTS("tags", NULL),
    {"usage", FT_OBJECT, REQ, NULL, stats_usage_fields},
    {"input_chars", FT_OBJECT, RN, "Lengths in code points; null with no samples", lengths_fields},
    {"output_chars", FT_OBJECT, RN, NULL, lengths_fields},
    {"exact_duplicates", FT_INTEGER, REQ, NULL},
    {"exact_duplicate_share", FT_NUMBER, RN, NULL},
    {"near_duplicate_share", FT_NUMBER, RN, "From the newest completed near-duplicate job"},
    {"keys_left_out", FT_INTEGER, REQ, NULL},
    {NULL}};

static const struct field cluster_member_fields[] = {
    {"id", FT_STRING, REQ, "The sample's id"},
    {"input", FT_STRING, REQ, NULL},
    {"similarity", FT_NUMBER, REQ, "Jaccard similarity to the cluster's first sample"},
    {NULL}};

static const struct field cluster_member_item[] = {
    {"member", FT_OBJECT, 0, NULL, cluster_member_fields}};

static const struct field cluster_fields[] = {
    {"cluster", FT_INTEGER, REQ, "Numbered from 1"},
    {"samples", FT_ARRAY, REQ, NULL, NULL, cluster_member_item},
    {NULL}};

static const struct field cluster_item[] = {{"cluster", FT_OBJECT, 0, NULL, cluster_fields}};

static const struct field clusters_fields[] = {
    {"job_id", FT_STRING, REQ, NULL},
    {"threshold", FT_NUMBER, REQ, NULL},
    {"clusters", FT_ARRAY, REQ, NULL, NULL, cluster_item},
    {"next_cursor", FT_STRING, RN, "Pass it back as cursor; null on the last page"},
    {NULL}};

static const struct field resolve_fields[] = {
    {"job_id", FT_STRING, REQ, NULL},
    {"action", FT_STRING, REQ, "delete or tag"},
    {"clusters", FT_INTEGER, REQ, NULL},
    {"kept", FT_INTEGER, REQ, NULL},
    {"deleted", FT_INTEGER, 0, "action delete"},
    {"tagged", FT_INTEGER, 0, "action tag: samples that did not carry the tag yet"},
    {NULL}};

static const struct field key_fields[] = {
    {"id", FT_STRING, REQ, NULL},
    {"name", FT_STRING, REQ, NULL},
    {"project", FT_STRING, RN, "The one project it may use; null: every project"},
    {"admin", FT_BOOLEAN, REQ, "May manage keys"},
    {"prefix", FT_STRING, REQ, "The key's first characters, to recognise it"},
    {"created_at", FT_STRING, REQ, NULL},
    {"revoked", FT_BOOLEAN, REQ, NULL},
    {"revoked_at", FT_STRING, RN, NULL},
    {NULL}};

static const struct field key_item[] = {{"ApiKey", FT_OBJECT, 0, NULL, key_fields}};

static const struct field key_list_fields[] = {{"keys", FT_ARRAY, REQ, NULL, NULL, key_item},
                                               {NULL}};

static const struct field key_created_fields[] = {
    {"id", FT_STRING, REQ, NULL},
    {"key", FT_STRING, REQ, "The key itself: shown this once, stored only as a salted hash"},
    {"name", FT_STRING, REQ, NULL},
    {"project", FT_STRING, RN, NULL},
    {"admin", FT_BOOLEAN, REQ, NULL},
    {NULL}};

static const struct field topic_delete_fields[] = {
    {"deleted_topics", FT_INTEGER, REQ, "Stored nodes removed: the node and its descendants"},
    {"deleted_samples", FT_INTEGER, REQ, "Samples removed with them (samples=delete)"},
    {NULL}};

static const struct field provider_price_fields[] = {
    {"input_per_mtok", FT_NUMBER, REQ, "USD per million input tokens"},
    {"output_per_mtok", FT_NUMBER, REQ, "USD per million output tokens"},
    {"cached_input_per_mtok", FT_NUMBER, REQ, "Input read from the provider's prompt cache"},
    {"cache_write_per_mtok", FT_NUMBER, REQ, "Input written to the prompt cache"},
    {"source", FT_STRING, REQ, "config (the config file) or builtin (published prices)"},
    {NULL}};
static const struct field provider_model_fields[] = {
    {"name", FT_STRING, REQ, "Kiln's model name (model_name takes it)"},
    {"model_id", FT_STRING, REQ, "The provider's id for it"},
    {"price", FT_OBJECT, RN, "null: unknown", provider_price_fields},
    {NULL}};
static const struct field provider_model_item[] = {
    {"ProviderModel", FT_OBJECT, 0, NULL, provider_model_fields}};
static const struct field provider_window_fields[] = {
    {"model", FT_STRING, REQ, "A model called since the server started"},
    {"window", FT_INTEGER, REQ, "Calls to it the engine lets run at once now"},
    {NULL}};
static const struct field provider_window_item[] = {
    {"window", FT_OBJECT, 0, NULL, provider_window_fields}};
static const struct field provider_limit_fields[] = {
    {"concurrency", FT_INTEGER, RN, "The window's ceiling per model"},
    {"rpm", FT_INTEGER, RN, "Requests per minute per model; null: no limit"},
    {"tpm", FT_INTEGER, RN, "Tokens per minute per model; null: no limit"},
    {NULL}};
static const struct field provider_fields[] = {
    {"name", FT_STRING, REQ, "The name the generation endpoints take as provider"},
    {"type", FT_STRING, REQ, "Its row of the providers table (a named entry's type)"},
    {"configured", FT_BOOLEAN, REQ,
     "It could be called now: a base URL, and a key if it needs one"},
    {"key_present", FT_BOOLEAN, REQ, "A key was found (never the key itself)"},
    {"key_env", FT_ARRAY, REQ, "The environment variables the key is read from", NULL, string_item},
    {"base_url", FT_STRING, RN, "Without credentials; null: the default"},
    {"window", FT_INTEGER, REQ,
     "The narrowest current window of its models; the ceiling when none was called yet"},
    {"windows", FT_ARRAY, REQ, "Each model called so far and its window", NULL,
     provider_window_item},
    {"limits", FT_OBJECT, REQ, NULL, provider_limit_fields},
    {"models", FT_ARRAY, REQ, "The Kiln models it serves", NULL, provider_model_item},
    {NULL}};
static const struct field provider_item[] = {{"Provider", FT_OBJECT, 0, NULL, provider_fields}};
static const struct field provider_list_fields[] = {
    {"providers", FT_ARRAY, REQ, "Configured ones first, then by name", NULL, provider_item},
    {NULL}};
static const struct field ping_fields[] = {
    {"ok", FT_BOOLEAN, REQ, "true"},
    {"provider", FT_STRING, REQ, NULL},
    {"model_name", FT_STRING, REQ, "As asked for"},
    {"model_id", FT_STRING, REQ, "The model id sent to the provider"},
    {"answer", FT_STRING, REQ, "The answer's first 300 characters"},
    {"usage", FT_OBJECT, REQ, NULL, usage_fields},
    {"latency_ms", FT_INTEGER, REQ, "From the call's start to its answer, retries included"},
    {NULL}};

static const struct field judge_started_fields[] = {
    {"status", FT_STRING, REQ, "judge_started"},
    {"job_id", FT_STRING, REQ, "The job to follow at .../jobs/{job_id}"},
    {"samples", FT_INTEGER, REQ, "Samples it will rate"},
    {NULL}};

#define AGREEMENT_FIGURES                                                           \
    {"n", FT_INTEGER, REQ, "Samples with both ratings"},                            \
        {"kendall_tau", FT_NUMBER, RN, "Kendall's tau-b; null when undefined"},     \
        {"spearman", FT_NUMBER, RN, "Spearman's rho; null when undefined"},         \
        {"mae", FT_NUMBER, RN, "Mean absolute error; null when undefined"},         \
    {                                                                               \
        "reasons", FT_OBJECT, REQ, "Why each null figure is undefined, by its name" \
    }
static const struct field agreement_overall_fields[] = {AGREEMENT_FIGURES, {NULL}};
static const struct field agreement_requirement_fields[] = {
    {"id", FT_STRING, REQ, NULL},
    {"name", FT_STRING, REQ, NULL},
    {"type", FT_STRING, REQ, "five_star, pass_fail or pass_fail_critical"},
    AGREEMENT_FIGURES,
    {"agreement", FT_NUMBER, RN, "Pass/fail types: the share of equal ratings"},
    {"kappa", FT_NUMBER, RN, "Pass/fail types: Cohen's kappa; null when undefined"},
    {NULL}};
static const struct field agreement_requirement_item[] = {
    {"JudgeRequirementAgreement", FT_OBJECT, 0, NULL, agreement_requirement_fields}};
static const struct field agreement_fields[] = {
    {"samples", FT_INTEGER, REQ, "Samples rated by a person and by the judge"},
    {"overall", FT_OBJECT, REQ, "The overall ratings (scores 1 to 5)", agreement_overall_fields},
    {"requirements", FT_ARRAY, REQ, "Per requirement of the task, in its order", NULL,
     agreement_requirement_item},
    {NULL}};

const struct openapi_component openapi_components[] = {
    {"Error", "Every error answer", error_fields},
    {"Message", NULL, message_fields},
    {"Health", NULL, health_fields},
    {"Project", NULL, project_fields},
    {"ProjectList", NULL, project_list_fields},
    {"TaskRequirement", NULL, requirement_fields},
    {"Task", NULL, task_fields},
    {"DataSource", NULL, source_fields},
    {"Rating", NULL, rating_fields},
    {"TaskOutput", NULL, output_fields},
    {"Usage", NULL, usage_fields},
    {"TaskRun", "A sample: input, output and provenance (Kiln's TaskRun)", run_fields},
    {"TaskRunPage", NULL, run_page_fields},
    {"ItemError", NULL, item_error_fields},
    {"BatchResult", "save_samples_batch with ?detailed=true", batch_detailed_fields},
    {"Job", "A durable job and its progress", job_fields},
    {"JobList", NULL, job_list_fields},
    {"ImportResult", NULL, import_fields},
    {"TopicNode", NULL, topic_node_fields},
    {"DatasetSplitPart", NULL, split_part_fields},
    {"DatasetSplit", "A frozen partition of a task's runs (Kiln's DatasetSplit)", split_fields},
    {"KeyCount", NULL, key_count_fields},
    {"Stats", NULL, stats_fields},
    {"DuplicateClusters", NULL, clusters_fields},
    {"DuplicateResolution", NULL, resolve_fields},
    {"ApiKey", "An API key as listed (never the key itself)", key_fields},
    {"ApiKeyList", NULL, key_list_fields},
    {"ApiKeyCreated", NULL, key_created_fields},
    {"TopicDeletion", NULL, topic_delete_fields},
    {"Provider", "A model provider (never its key)", provider_fields},
    {"JudgeStarted", NULL, judge_started_fields},
    {"JudgeAgreement", "The judge's ratings against people's, on samples rated by both",
     agreement_fields},
    {"ProviderList", NULL, provider_list_fields},
    {"ProviderPing", "A provider's answer to one short prompt", ping_fields},
};

const size_t openapi_components_count = ARRAY_SIZE(openapi_components);

const struct openapi_component *openapi_component_of(const struct field *fields)
{
    for (size_t i = 0; fields && i < openapi_components_count; i++)
        if (openapi_components[i].fields == fields)
            return &openapi_components[i];
    return NULL;
}

/* ---- answers ---- */

static const struct field a_health[] = {{"Health", FT_OBJECT, 0, NULL, health_fields}};
static const struct field a_message[] = {{"Message", FT_OBJECT, 0, NULL, message_fields}};
static const struct field a_projects[] = {{"ProjectList", FT_OBJECT, 0, NULL, project_list_fields}};
static const struct field a_tasks[] = {{"tasks", FT_ARRAY, 0, NULL, NULL, task_item}};
static const struct field a_runs[] = {{"runs", FT_ARRAY, 0, NULL, NULL, run_item}};
static const struct field a_run_page[] = {{"TaskRunPage", FT_OBJECT, 0, NULL, run_page_fields}};
static const struct field a_batch_detailed[] = {
    {"BatchResult", FT_OBJECT, 0, NULL, batch_detailed_fields}};
static const struct field a_jobs[] = {{"JobList", FT_OBJECT, 0, NULL, job_list_fields}};
static const struct field a_import[] = {{"ImportResult", FT_OBJECT, 0, NULL, import_fields}};
static const struct field a_splits[] = {{"splits", FT_ARRAY, 0, NULL, NULL, split_item}};
static const struct field a_stats[] = {{"Stats", FT_OBJECT, 0, NULL, stats_fields}};
static const struct field a_clusters[] = {
    {"DuplicateClusters", FT_OBJECT, 0, NULL, clusters_fields}};
static const struct field a_resolve[] = {
    {"DuplicateResolution", FT_OBJECT, 0, NULL, resolve_fields}};
static const struct field a_keys[] = {{"ApiKeyList", FT_OBJECT, 0, NULL, key_list_fields}};
static const struct field a_key_created[] = {
    {"ApiKeyCreated", FT_OBJECT, 0, NULL, key_created_fields}};
static const struct field a_providers[] = {
    {"ProviderList", FT_OBJECT, 0, NULL, provider_list_fields}};
static const struct field a_topic_delete[] = {
    {"TopicDeletion", FT_OBJECT, 0, NULL, topic_delete_fields}};
static const struct field a_ping[] = {{"ProviderPing", FT_OBJECT, 0, NULL, ping_fields}};
static const struct field a_judge[] = {{"JudgeStarted", FT_OBJECT, 0, NULL, judge_started_fields}};
static const struct field a_agreement[] = {
    {"JudgeAgreement", FT_OBJECT, 0, NULL, agreement_fields}};
static const struct field a_object[] = {{"object", FT_OBJECT, 0, NULL}};
static const struct field a_export_json[] = {
    {"json", FT_ANY, 0,
     "llamafactory=true: the dataset_info.json entry (an object); format alpaca_json: the file, "
     "one JSON array"}};
#define a_project project_item
#define a_task    task_item
#define a_run     run_item
#define a_job     job_item
#define a_split   split_item
#define a_topics  topic_node_item
#define a_key     key_item

/* ---- query parameters ---- */

#define Q_SESSION                                                       \
    {                                                                   \
        "session_id", FT_STRING, 0, "The session the samples belong to" \
    }
static const char *const dedup_modes[] = {"keep", "skip", "fail", NULL};
static const char *const strategies[] = {"final_only", "final_and_intermediate", NULL};
static const char *const compressions[] = {"gzip", "none", NULL};

#define Q_DEDUP                                                                                    \
    {                                                                                              \
        "dedup", FT_STRING, 0, "What to do with inputs stored already (default keep)", dedup_modes \
    }
#define Q_FILTERS                                                                     \
    {"topic_path", FT_STRING, 0, "A topic and its subtree (names joined by >>>>>)"},  \
        {"session_id", FT_STRING, 0, "Samples of this session"},                      \
        {"tag", FT_STRING, 0, "Samples carrying this tag"},                           \
        {"rating", FT_NUMBER, 0, "Minimum rating, 0 to 5"},                           \
        {"judge_rating", FT_NUMBER, 0, "Minimum judge's rating, 0 to 5"},             \
        {"judged", FT_BOOLEAN, 0, "true: only samples a judge rated"},                \
        {"source", FT_STRING, 0, "The output source's type (human, synthetic, ...)"}, \
        {"dataset_id", FT_STRING, 0, "A dataset split's id"},                         \
    {                                                                                 \
        "split_name", FT_STRING, 0, "One part of that split (train, test, val, all)"  \
    }

static const struct openapi_param q_save_sample[] = {Q_SESSION, Q_DEDUP, {NULL}};
static const struct openapi_param q_save_batch[] = {
    Q_SESSION,
    {"detailed", FT_BOOLEAN, 0, "Answer {\"runs\", \"errors\"} instead of the list of runs"},
    Q_DEDUP,
    {NULL}};
static const struct openapi_param q_import_async[] = {Q_SESSION, Q_DEDUP, {NULL}};
static const struct openapi_param q_import_file[] = {
    Q_SESSION,
    {"prompt_method", FT_STRING, 0, "For rows without an output"},
    {"input_model_name", FT_STRING, 0, "Recorded as the inputs' model"},
    {"input_provider", FT_STRING, 0, "Recorded as the inputs' provider"},
    {"output_model_name", FT_STRING, 0, "Writes the outputs rows lack"},
    {"output_provider", FT_STRING, 0, "The provider of output_model_name"},
    {"allow_truncated", FT_BOOLEAN, 0, "Keep outputs cut at the output limit, tagged truncated"},
    Q_DEDUP,
    {NULL}};
static const struct openapi_param q_runs[] = {
    Q_FILTERS,
    {"limit", FT_INTEGER, 0, "Runs a page (default 100)"},
    {"cursor", FT_STRING, 0, "The next_cursor of the previous page"},
    {NULL}};
static const struct openapi_param q_export[] = {
    {"format", FT_STRING, REQ, "The export format", NULL, true},
    Q_FILTERS,
    {"data_strategy", FT_STRING, 0, "Default final_only", strategies},
    {"system_message", FT_STRING, 0, "Default: the task's prompt"},
    {"thinking_instructions", FT_STRING, 0, "For final_and_intermediate"},
    {"compress", FT_STRING, 0, "gzip: the body is gzip", compressions},
    {"llamafactory", FT_BOOLEAN, 0, "Answer the dataset_info.json entry instead of the data"},
    {NULL}};
static const struct openapi_param q_download[] = {
    {"project_id", FT_STRING, REQ, NULL},
    {"task_id", FT_STRING, REQ, NULL},
    {"dataset_id", FT_STRING, REQ, NULL},
    {"split_name", FT_STRING, REQ, NULL},
    {"format_type", FT_STRING, REQ, "The export format", NULL, true},
    {"data_strategy", FT_STRING, REQ, NULL, strategies},
    {"custom_system_message", FT_STRING, 0, NULL},
    {"system_message_generator", FT_STRING, 0, "A prompt method's id"},
    {"custom_thinking_instructions", FT_STRING, 0, NULL},
    {NULL}};
static const struct openapi_param q_duplicates[] = {
    {"job_id", FT_STRING, 0, "A near-duplicate job (default: the task's newest completed one)"},
    {"limit", FT_INTEGER, 0, "Clusters a page (default 100, at most 1000)"},
    {"cursor", FT_STRING, 0, "The next_cursor of the previous page"},
    {NULL}};

static const char *const samples_delete[] = {"delete", NULL};
static const struct openapi_param q_topic_delete[] = {
    {"node_path", FT_STRING, REQ, "The node: a JSON list of topic names (not the root)"},
    {"samples", FT_STRING, 0, "delete: delete the samples under the node too", samples_delete},
    {NULL}};

/* ---- streams ---- */

static const char *const s_events[] = {"text/event-stream", NULL};
static const char *const s_export[] = {"application/jsonl", "text/csv; charset=utf-8",
                                       "application/gzip", NULL};
static const char *const s_jsonl[] = {"application/jsonl", "application/gzip", NULL};
static const char *const s_metrics[] = {"text/plain; version=0.0.4; charset=utf-8", NULL};

/* ---- answer headers ---- */

static const struct {
    const char *name, *text;
} header_texts[] = {
    {"X-Request-Id", "The request's id, as its log lines carry it"},
    {"X-Hetu-Skipped", "dedup=skip: how many duplicates were left out"},
    {"X-Hetu-Failed", "How many samples failed"},
    {"X-Hetu-First-Error", "The first failure: [index] reason"},
    {"X-Hetu-Ignored-Fields", "The unknown keys of the body that were ignored"},
    {"Content-Disposition", "attachment, with the file's name"},
    {"Retry-After", "Seconds to wait before trying again"},
    {"WWW-Authenticate", "Bearer"},
};

const char *openapi_header_text(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(header_texts); i++)
        if (strcmp(header_texts[i].name, name) == 0)
            return header_texts[i].text;
    return NULL;
}

static const char *const h_skipped[] = {"X-Hetu-Skipped", NULL};
static const char *const h_batch[] = {"X-Hetu-Failed", "X-Hetu-First-Error", "X-Hetu-Skipped",
                                      NULL};
static const char *const h_file[] = {"Content-Disposition", NULL};

/* ---- operations ---- */

static const int e_conflict[] = {409, 0};
static const int e_model[] = {502, 504, 0};
static const int e_save[] = {409, 502, 504, 0};
static const int e_upload[] = {409, 503, 0};

#define P "/api/projects/{project_id}"
#define D "/api/dataset/projects/{project_id}/tasks/{task_id}"
#define F "/api/finetune/projects/{project_id}/tasks/{task_id}"

#define SPLIT_OPS(task, suffix)                                                                 \
    {                                                                                           \
        "POST", task "/dataset_splits", "split_create" suffix, "Dataset splits", NULL, NULL,    \
        a_split},                                                                               \
        {"GET",   task "/dataset_splits", "split_list" suffix, "Dataset splits", NULL, NULL,    \
         a_splits},                                                                             \
    {                                                                                           \
        "GET", task "/dataset_splits/{dataset_id}", "split_get" suffix, "Dataset splits", NULL, \
            NULL, a_split                                                                       \
    }

/* clang-format off */
const struct openapi_op openapi_ops[] = {
    {"GET", "/healthz", "health", "Server", NULL, NULL, a_health},
    {"GET", "/openapi.json", "openapi", "Server", "This document (OpenAPI 3.1)", NULL, a_object},
    {"GET", "/docs", "docs", "Server", "A page that renders this document", NULL, NULL, NULL,
     (const char *const[]){"text/html; charset=utf-8", NULL}, "The page"},

    {"POST", "/api/project", "project_create", "Projects", NULL, NULL, a_project},
    {"GET", "/api/projects", "project_list", "Projects", NULL, NULL, a_projects},
    {"GET", P, "project_get", "Projects", NULL, NULL, a_project},
    {"PATCH", P, "project_update", "Projects", NULL, NULL, a_project},
    {"DELETE", P, "project_delete", "Projects", NULL, NULL, a_message},

    {"POST", P "/task", "task_create", "Tasks", NULL, NULL, a_task},
    {"GET", P "/tasks", "task_list", "Tasks", NULL, NULL, a_tasks},
    {"GET", P "/tasks/{task_id}", "task_get", "Tasks", NULL, NULL, a_task},
    {"PATCH", P "/task/{task_id}", "task_update", "Tasks", NULL, NULL, a_task},
    {"DELETE", P "/task/{task_id}", "task_delete", "Tasks", NULL, NULL, a_message},

    {"POST", D "/generate_categories", "generate_categories", "Generation",
     "Answers a TaskRun whose output holds {\"subtopics\": [...]}", NULL, a_run, NULL, NULL,
     NULL, e_model},
    {"POST", D "/generate_samples", "generate_samples", "Generation",
     "Answers a TaskRun whose output holds {\"generated_samples\": [...]}", NULL, a_run, NULL,
     NULL, NULL, e_model},
    {"POST", D "/save_sample", "save_sample", "Generation", NULL, q_save_sample, a_run, NULL,
     NULL, NULL, e_save, h_skipped},
    {"POST", D "/save_samples_batch", "save_samples_batch", "Generation",
     "The saved runs; X-Hetu-Failed and X-Hetu-First-Error say what failed", q_save_batch,
     a_runs, a_batch_detailed, NULL, NULL, e_save, h_batch},
    {"GET", D "/topics", "topics", "Generation", NULL, NULL, a_topics},

    {"POST", D "/import_samples_async", "import_samples_async", "Imports and jobs", NULL,
     q_import_async, a_import, NULL, NULL, NULL, e_conflict, h_skipped},
    {"POST", D "/import_samples_from_file", "import_samples_from_file", "Imports and jobs",
     "A .csv or .jsonl file as the multipart part file; over 100 rows it becomes a job",
     q_import_file, a_import, NULL, NULL, NULL, e_upload, h_skipped},
    {"GET", D "/jobs", "job_list", "Imports and jobs", NULL, NULL, a_jobs},
    {"GET", D "/jobs/{job_id}", "job_get", "Imports and jobs", NULL, NULL, a_job},
    {"POST", D "/jobs/{job_id}/cancel", "job_cancel", "Imports and jobs", NULL, NULL, a_job},
    {"POST", D "/jobs/{job_id}/resume", "job_resume", "Imports and jobs", NULL, NULL, a_job,
     NULL, NULL, NULL, e_conflict},
    {"GET", D "/jobs/{job_id}/events", "job_events", "Imports and jobs", NULL, NULL, NULL, NULL,
     s_events, "Events progress (while it runs), end (its final state) and error, each with "
     "the Job JSON as data; a keep-alive comment every 15 s"},

    {"POST", D "/duplicates", "duplicates_start", "Duplicates",
     "Starts a near_duplicates job and answers it", NULL, a_job},
    {"GET", D "/duplicates", "duplicates_list", "Duplicates", NULL, q_duplicates, a_clusters,
     NULL, NULL, NULL, e_conflict},
    {"POST", D "/duplicates/resolve", "duplicates_resolve", "Duplicates", NULL, NULL, a_resolve,
     NULL, NULL, NULL, e_conflict},

    {"GET", P "/tasks/{task_id}/runs", "run_list", "Samples", NULL, q_runs, a_run_page},
    {"GET", P "/tasks/{task_id}/runs/{run_id}", "run_get", "Samples", NULL, NULL, a_run},
    {"PATCH", P "/tasks/{task_id}/runs/{run_id}", "run_update", "Samples", NULL, NULL, a_run},
    {"DELETE", P "/tasks/{task_id}/runs/{run_id}", "run_delete", "Samples", NULL, NULL,
     a_message},

    SPLIT_OPS(F, ""),
    SPLIT_OPS(P "/tasks/{task_id}", "_plain"),
    {"GET", P "/tasks/{task_id}/export", "export", "Export",
     "A file attachment in the format asked for; with llamafactory=true the JSON entry "
     "instead", q_export, a_export_json, NULL, s_export, "The file", NULL, h_file},
    {"GET", "/api/download_dataset_jsonl", "download_dataset_jsonl_plain", "Export", NULL,
     q_download, NULL, NULL, s_jsonl, "The part as Kiln writes it", NULL, h_file},
    {"GET", "/api/finetune/download_dataset_jsonl", "download_dataset_jsonl", "Export", NULL,
     q_download, NULL, NULL, s_jsonl, "The part as Kiln writes it", NULL, h_file},
    {"GET", P "/tasks/{task_id}/stats", "stats", "Samples", NULL, NULL, a_stats},

    {"POST", "/api/import-project", "import_project", "Projects",
     "Imports a Kiln project folder (or its project.kiln) from under --import-root, keeping "
     "Kiln's ids", NULL, a_project, NULL, NULL, NULL, e_conflict},
    {"POST", "/api/keys", "key_create", "Keys", "Needs an admin key once any key exists", NULL,
     a_key_created},
    {"GET", "/api/keys", "key_list", "Keys", NULL, NULL, a_keys},
    {"DELETE", "/api/keys/{key_id}", "key_revoke", "Keys", NULL, NULL, a_key},
    {"GET", "/metrics", "metrics", "Server",
     "Needs an admin key unless the request comes from loopback", NULL, NULL, NULL, s_metrics,
     "Prometheus text format; every metric is named hetu_..."},
    {"GET", "/api/providers", "provider_list", "Providers", NULL, NULL, a_providers},
    {"POST", "/api/providers/{provider}/ping", "provider_ping", "Providers",
     "A provider failure is the error answer naming the provider and its message", NULL, a_ping,
     NULL, NULL, NULL, e_model},
    {"DELETE", D "/topics", "topic_delete", "Generation",
     "Samples under the node without samples=delete: 409 saying how many", q_topic_delete,
     a_topic_delete, NULL, NULL, NULL, e_conflict},
    {"POST", D "/pipelines", "pipeline_start", "Imports and jobs",
     "Answers {\"status\": \"dry_run\", \"estimate\"} or {\"status\": \"pipeline_started\", "
     "\"job_id\", \"estimate\"}", NULL, a_object},
    /* the LLM judge */
    {"POST", D "/judge", "judge_start", "Judge",
     "Creates a judge job with one item per selected sample; none selected is a 422", NULL,
     a_judge},
    {"GET", D "/judge/agreement", "judge_agreement", "Judge", NULL, NULL, a_agreement},
};
/* clang-format on */

const size_t openapi_ops_count = ARRAY_SIZE(openapi_ops);

const struct openapi_tag openapi_tags[] = {
    {"Server", "Health, metrics and this documentation"},
    {"Projects", NULL},
    {"Tasks", NULL},
    {"Generation", "Topic trees, task inputs and outputs from a model"},
    {"Samples", "Saved samples (runs): read, rate, tag, delete, statistics"},
    {"Imports and jobs", "CSV and JSONL imports and the durable jobs that run them"},
    {"Duplicates", "Near-duplicate inputs"},
    {"Dataset splits", "Frozen train/test/val partitions"},
    {"Export", "Files for trainers"},
    {"Keys", "API keys (admin keys only): while no key exists the server is open"},
    {"Providers", "Model providers: configuration and a test call"},
    {"Judge", "A model rating samples against the task's requirements, and how far it agrees "
              "with people"},
    {"Other", NULL},
};

const size_t openapi_tags_count = ARRAY_SIZE(openapi_tags);

const struct openapi_op *openapi_op_find(const char *method, const char *pattern)
{
    for (size_t i = 0; i < openapi_ops_count; i++)
        if (strcmp(openapi_ops[i].method, method) == 0 &&
            strcmp(openapi_ops[i].pattern, pattern) == 0)
            return &openapi_ops[i];
    return NULL;
}

static const struct {
    const char *name, *text;
} path_params[] = {
    {"project_id", "A project's id"},
    {"task_id", "A task's id"},
    {"run_id", "A sample's id"},
    {"job_id", "A job's id"},
    {"dataset_id", "A dataset split's id"},
    {"key_id", "An API key's id"},
    {"provider", "A provider's name"},
};

const char *openapi_path_param_text(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(path_params); i++)
        if (strlen(path_params[i].name) == len && memcmp(path_params[i].name, name, len) == 0)
            return path_params[i].text;
    return "An id";
}
