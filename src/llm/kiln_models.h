/* SPDX-License-Identifier: MIT */
/*
 * Kiln's own model ids (gpt_4o_mini, llama_3_1_8b, qwen_2p5_72b, ...) and, for each provider that
 * serves one, the provider's model id and what Kiln knows about calling it: a read-only table
 * (kiln_models.c, generated from Kiln 0.15's ml_model_list.py by scripts/gen-kiln-models),
 * shared by every thread. Provider names are Hetu's providers-table names.
 */
#ifndef HETU_LLM_KILN_MODELS_H
#define HETU_LLM_KILN_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#include "llm/provider.h"

/* Flags Kiln keeps per (model, provider). */
#define KILN_REASONING     0x01u /* reasoning_capable: thinks and answers in one call */
#define KILN_R1_PARSER     0x02u /* parser r1_thinking: the answer follows a <think> block */
#define KILN_NO_STRUCTURED 0x04u /* supports_structured_output false */
#define KILN_NO_DATA_GEN   0x08u /* supports_data_gen false */

struct kiln_model {
    const char *id;            /* Kiln's ModelName */
    const char *friendly_name; /* "GPT 4o Mini" */
    const char *provider;      /* a providers-table name */
    const char *model_id;      /* the provider's model id; NULL: listed for fine-tuning only */
    /* Kiln's structured_output_mode; its "default" as its adapter reads it: json_schema on
     * ollama, a forced tool call elsewhere */
    enum llm_so_method so;
    unsigned flags;             /* KILN_* */
    const char *thinking_level; /* reasoning effort Kiln sends ("low", ...), or NULL */
    /* The members Kiln adds to the request body (its build_extra_body): reasoning_effort,
     * OpenRouter's reasoning and provider options, Anthropic's extended thinking; or NULL */
    const char *extra_body;
};

struct kiln_provider {
    const char *name; /* Kiln's ModelProviderName */
    const char *hetu; /* the provider name Hetu takes for it (kiln_custom_registry is read by
                         llm_config_check), or NULL when Hetu has none */
};

/* Every row, for listing. */
const struct kiln_model *kiln_models_all(size_t *ret_n);
/* True when id is one of Kiln's model ids (on any provider). */
bool kiln_model_known(const char *id);
/* The row of Kiln model id on provider, or NULL when that provider does not serve it. */
const struct kiln_model *kiln_model_find(const char *id, const char *provider);

/* Kiln's provider called name, or NULL when Kiln has none by that name. */
const struct kiln_provider *kiln_provider_find(const char *name);

#endif
