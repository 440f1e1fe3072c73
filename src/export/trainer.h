/* SPDX-License-Identifier: MIT */
/* What trainers other than Kiln need besides the samples themselves (see trainer_format.c). */
#ifndef HETU_EXPORT_TRAINER_H
#define HETU_EXPORT_TRAINER_H

#include "util/buf.h"
#include "util/err.h"

/*
 * The dataset_info.json of LLaMA-Factory registering one exported file: a JSON object with the
 * single key dataset_name, indented as LLaMA-Factory's own file is, to merge into an existing
 * dataset_info.json or to use as it is. format_name is the export format of the file (sharegpt,
 * alpaca, alpaca_json or trl_messages); any other is HE_BAD_REQUEST naming "format".
 */
int export_llamafactory_entry(const char *format_name, const char *dataset_name,
                              const char *file_name, struct buf *out, struct err *e);

#endif
