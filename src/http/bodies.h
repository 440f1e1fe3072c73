/* SPDX-License-Identifier: MIT */
/*
 * The body of every JSON route, as field tables (http/schema.h): what each handler accepts,
 * with a line on each field. The route table points at them; the server reads gateway bodies
 * against them (http/body_read.h) and /openapi.json documents them.
 */
#ifndef HETU_HTTP_BODIES_H
#define HETU_HTTP_BODIES_H

#include "http/schema.h"

extern const struct field project_create_body[];
extern const struct field project_update_body[];
extern const struct field task_create_body[];
extern const struct field task_update_body[];
extern const struct field generate_categories_body[];
extern const struct field generate_samples_body[];
extern const struct field save_sample_body[];
extern const struct field save_samples_batch_body[]; /* also import_samples_async */
extern const struct field dedup_start_body[];
extern const struct field job_resume_body[];
extern const struct field dedup_resolve_body[];
extern const struct field run_update_body[];
extern const struct field split_create_body[];
extern const struct field key_create_body[];
extern const struct field kiln_import_body[];
extern const struct field provider_ping_body[];
extern const struct field pipeline_body[];
extern const struct field judge_body[];

#endif
