/* SPDX-License-Identifier: MIT */
/*
 * What Kiln's fine-tune export needs besides its format table (export/format.h): the JSON
 * re-rendering its structured formats apply. (The system message when the caller gives none is
 * gen/prompt.h's prompt_task, which renders Kiln's simple prompt builder.)
 */
#ifndef HETU_EXPORT_KILN_H
#define HETU_EXPORT_KILN_H

#include <json-c/json.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Appends v as Python's json.dumps(v, ensure_ascii=False) writes it: ", " and ": " between
 * items, non-ASCII raw, floats as Python's repr. HE_TOO_LARGE/HE_NOMEM from the buffer. */
int export_py_json(struct json_object *v, struct buf *out);

/* Appends s as a JSON string the way json.dumps(ensure_ascii=False) quotes it. */
int export_py_str(struct buf *out, const char *s);

#endif
