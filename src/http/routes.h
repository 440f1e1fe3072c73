/* SPDX-License-Identifier: MIT */
/* The route table and the handlers it names (one handler file per resource). */
#ifndef HETU_HTTP_ROUTES_H
#define HETU_HTTP_ROUTES_H

#include <stdint.h>

#include "http/router.h"

extern const struct route http_routes[];
extern const size_t http_routes_count;

/* h_health.c */
int h_health(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_projects.c */
int h_project_create(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_project_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_project_get(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_project_update(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_project_delete(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_tasks.c */
int h_task_create(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_task_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_task_get(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_task_update(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_task_delete(struct http_req *req, struct json_object **ret_body, struct err *e);

/* h_generate.c */
int h_generate_categories(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_generate_samples(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_samples.c */
int h_save_sample(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_save_samples_batch(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_runs.c */
int h_run_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_run_get(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_run_update(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_run_delete(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_import.c */
int h_import_samples_async(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_import_samples_from_file(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_import_file_part(struct http_req *req, const char *name, const char *filename,
                       const char *data, size_t len, struct err *e);
/* h_jobs.c */
int h_job_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_job_get(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_job_cancel(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_job_resume(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_job_events(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_splits.c */
int h_split_create(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_split_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_split_get(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_export.c */
int h_export(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_download_dataset_jsonl(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_dedup.c */
int h_dedup_start(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_dedup_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_dedup_resolve(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_topics.c */
int h_topics(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_topic_delete(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_stats.c */
int h_stats(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_keys.c */
int h_key_create(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_key_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_key_revoke(struct http_req *req, struct json_object **ret_body, struct err *e);

/* h_metrics.c */
int h_metrics(struct http_req *req, struct json_object **ret_body, struct err *e);
/* Counts an ended request for /metrics: its route (NULL: none answered it), status (0: none
 * sent) and duration. */
void http_metrics_request(const struct route *route, unsigned status, int64_t duration_us);
/* h_kiln_import.c */
int h_kiln_import(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_providers.c */
int h_provider_list(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_provider_ping(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_pipelines.c */
int h_pipeline_start(struct http_req *req, struct json_object **ret_body, struct err *e);
/* h_judge.c */
int h_judge_start(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_judge_agreement(struct http_req *req, struct json_object **ret_body, struct err *e);

#endif
