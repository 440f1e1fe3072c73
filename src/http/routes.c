/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API as data: every route with its method, path pattern, handler, flags, body limit
 * and a one-line summary. The paths are the gateway's (see API.md), odd singular/plural forms
 * included, so existing clients work unchanged.
 */
#include "http/routes.h"

#include "http/bodies.h"
#include "http/openapi.h"

#include "util/cleanup.h"
#include "util/banned.h"

#define P "/api/projects/{project_id}"
#define D "/api/dataset/projects/{project_id}/tasks/{task_id}"
#define F "/api/finetune/projects/{project_id}/tasks/{task_id}"

/* The dataset split routes under a task path. */
/* clang-format off */
#define SPLIT_ROUTES(task)                                                                   \
    {"POST", task "/dataset_splits", h_split_create, ROUTE_JSON | ROUTE_GATEWAY, 0,          \
     "Freeze a filtered, shuffled split of the task's samples", .body = split_create_body},  \
    {"GET", task "/dataset_splits", h_split_list, ROUTE_GATEWAY, 0,                          \
     "List a task's dataset splits"},                                                        \
    {"GET", task "/dataset_splits/{dataset_id}", h_split_get, ROUTE_GATEWAY, 0,              \
     "Get a dataset split"}
/* clang-format on */

const struct route http_routes[] = {
    {"GET", "/healthz", h_health, ROUTE_PUBLIC, 0, "Server and store health"},

    {"POST", "/api/project", h_project_create, ROUTE_JSON | ROUTE_GATEWAY, 0, "Create a project",
     .body = project_create_body},
    {"GET", "/api/projects", h_project_list, ROUTE_GATEWAY, 0, "List projects"},
    {"GET", P, h_project_get, ROUTE_GATEWAY, 0, "Get a project"},
    {"PATCH", P, h_project_update, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Update a project's name or description", .body = project_update_body},
    {"DELETE", P, h_project_delete, ROUTE_GATEWAY, 0,
     "Delete a project with its tasks and samples"},

    {"POST", P "/task", h_task_create, ROUTE_JSON | ROUTE_GATEWAY, 0, "Create a task",
     .body = task_create_body},
    {"GET", P "/tasks", h_task_list, ROUTE_GATEWAY, 0, "List a project's tasks"},
    {"GET", P "/tasks/{task_id}", h_task_get, ROUTE_GATEWAY, 0, "Get a task"},
    {"PATCH", P "/task/{task_id}", h_task_update, ROUTE_JSON | ROUTE_GATEWAY, 0, "Update a task",
     .body = task_update_body},
    {"DELETE", P "/task/{task_id}", h_task_delete, ROUTE_GATEWAY, 0,
     "Delete a task with its samples"},

    {"POST", D "/generate_categories", h_generate_categories, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Generate subtopics of a topic-tree node", .body = generate_categories_body},
    {"POST", D "/generate_samples", h_generate_samples, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Generate task inputs for a topic", .body = generate_samples_body},
    {"POST", D "/save_sample", h_save_sample, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Save one sample, generating its output when it has none", .body = save_sample_body},
    {"POST", D "/save_samples_batch", h_save_samples_batch, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Save many samples concurrently", .body = save_samples_batch_body},
    {"GET", D "/topics", h_topics, 0, 0, "The topic tree with sample counts"},
    {"POST", D "/import_samples_async", h_import_samples_async, ROUTE_JSON | ROUTE_GATEWAY, 0,
     "Import samples as a background job", .body = save_samples_batch_body},
    {"POST", D "/import_samples_from_file", h_import_samples_from_file,
     ROUTE_MULTIPART | ROUTE_GATEWAY, 0, "Import a CSV or JSONL file", h_import_file_part},
    {"GET", D "/jobs", h_job_list, 0, 0, "List a task's jobs"},
    {"GET", D "/jobs/{job_id}", h_job_get, 0, 0, "Get a job's progress"},
    {"POST", D "/jobs/{job_id}/cancel", h_job_cancel, 0, 0, "Cancel a job"},
    {"POST", D "/jobs/{job_id}/resume", h_job_resume, ROUTE_JSON | ROUTE_JSON_OPTIONAL, 0,
     "Resume a paused, failed or cancelled job", .body = job_resume_body},
    {"GET", D "/jobs/{job_id}/events", h_job_events, 0, 0,
     "Follow a job's progress (text/event-stream)"},
    {"POST", D "/duplicates", h_dedup_start, ROUTE_JSON, 0,
     "Start a job finding near-duplicate inputs", .body = dedup_start_body},
    {"GET", D "/duplicates", h_dedup_list, 0, 0, "List a near-duplicate job's clusters"},
    {"POST", D "/duplicates/resolve", h_dedup_resolve, ROUTE_JSON, 0,
     "Keep one sample per near-duplicate cluster, delete or tag the others",
     .body = dedup_resolve_body},

    {"GET", P "/tasks/{task_id}/runs", h_run_list, 0, 0, "List samples with filters"},
    {"GET", P "/tasks/{task_id}/runs/{run_id}", h_run_get, 0, 0, "Get a sample"},
    {"PATCH", P "/tasks/{task_id}/runs/{run_id}", h_run_update, ROUTE_JSON, 0,
     "Rate, tag or repair a sample", .body = run_update_body},
    {"DELETE", P "/tasks/{task_id}/runs/{run_id}", h_run_delete, 0, 0, "Delete a sample"},

    /* Dataset splits: on the gateway's finetune paths, and without /finetune as its API
     * document lists them. */
    SPLIT_ROUTES(F),
    SPLIT_ROUTES(P "/tasks/{task_id}"),
    {"GET", P "/tasks/{task_id}/export", h_export, 0, 0,
     "Stream the samples a filter selects in a trainer's format"},
    {"GET", "/api/download_dataset_jsonl", h_download_dataset_jsonl, ROUTE_GATEWAY, 0,
     "Download a dataset split's part in a Kiln format (JSONL attachment)"},
    {"GET", "/api/finetune/download_dataset_jsonl", h_download_dataset_jsonl, ROUTE_GATEWAY, 0,
     "Download a dataset split's part in a Kiln format (JSONL attachment)"},
    {"GET", P "/tasks/{task_id}/stats", h_stats, 0, 0,
     "Statistics of a task's samples: counts by topic, session, source, model, rating, tag"},

    /* Metrics */
    {"GET", "/metrics", h_metrics, ROUTE_LOCAL, 0, "Metrics in Prometheus text format"},
    /* API keys */
    {"POST", "/api/keys", h_key_create, ROUTE_JSON | ROUTE_ADMIN, 0,
     "Create an API key (the answer is the only place the key appears)", .body = key_create_body},
    {"GET", "/api/keys", h_key_list, ROUTE_ADMIN, 0, "List API keys (never the keys themselves)"},
    {"DELETE", "/api/keys/{key_id}", h_key_revoke, ROUTE_ADMIN, 0, "Revoke an API key"},
    /* The API's own description: /openapi.json and the /docs page that renders it. */
    {"GET", "/openapi.json", h_openapi, ROUTE_PUBLIC, 0, "The OpenAPI 3.1 document of this API"},
    {"GET", "/docs", h_docs, ROUTE_PUBLIC, 0, "The API's documentation as a web page"},
    /* Kiln project folders */
    {"POST", "/api/import-project", h_kiln_import, ROUTE_JSON | ROUTE_GATEWAY | ROUTE_ADMIN, 0,
     "Import a Kiln project folder from the server's disk (under --import-root)",
     .body = kiln_import_body},
    /* Model providers: what is configured, and a test call */
    {"GET", "/api/providers", h_provider_list, 0, 0,
     "List the model providers, whether each is configured, its limits and Kiln models"},
    {"POST", "/api/providers/{provider}/ping", h_provider_ping, ROUTE_JSON, 0,
     "Send one short prompt to a provider's model", .body = provider_ping_body},
    /* Topic deletion */
    {"DELETE", D "/topics", h_topic_delete, 0, 0,
     "Delete a topic and its subtree (with samples=delete, the samples under it too)"},
    /* Pipelines */
    {"POST", D "/pipelines", h_pipeline_start, ROUTE_JSON, 0,
     "Estimate a pipeline (dry_run) or start it as a job: topics, inputs, dedup, outputs, judge",
     .body = pipeline_body},
    /* The LLM judge: a job rating samples, and its agreement with people */
    {"POST", D "/judge", h_judge_start, ROUTE_JSON, 0,
     "Start a job in which a model rates the samples a filter selects", .body = judge_body},
    {"GET", D "/judge/agreement", h_judge_agreement, 0, 0,
     "How far the judge's ratings agree with people's (Kendall's tau, Spearman, MAE, kappa)"},
};

const size_t http_routes_count = ARRAY_SIZE(http_routes);
