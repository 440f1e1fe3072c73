/* SPDX-License-Identifier: MIT */
/* A providers config for unit tests: the "providers" section as JSON text (NULL: the environment
 * and defaults only); the test fails when it does not load. Include after cmocka.h. */
#ifndef HETU_TESTS_LLM_CONFIG_FIXTURE_H
#define HETU_TESTS_LLM_CONFIG_FIXTURE_H

#include <string.h>

#include "llm/config.h"
#include "util/json.h"

static inline struct llm_config *load(const char *json)
{
    struct llm_config *cfg = NULL;
    struct json_object *o = NULL;
    struct err e = {0};
    if (json)
        assert_int_equal(json_parse(json, strlen(json), &o, &e), 0);
    if (llm_config_load(o, &cfg, &e))
        fail_msg("config: %s", e.msg);
    json_object_put(o);
    return cfg;
}

#endif
