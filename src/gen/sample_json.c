/* SPDX-License-Identifier: MIT */
/*
 * Samples as JSON: the body of save_sample, an item of a batch or of an import job. Every error
 * names the field, with its index inside lists.
 */
#include "gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/schema.h"
#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

int gen_parse_string_list(struct json_object *body, const char *where, const char *key,
                          size_t max_items, size_t max_chars, struct json_object **ret,
                          struct err *e)
{
    struct json_object *arr = NULL, *out;
    char field[ERR_FIELD_MAX];
    int r;

    if ((r = json_get_array(body, where, key, JF_NULLABLE, max_items, &arr, e)) < 0)
        return r;
    out = json_object_new_array();
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        const char *s;
        size_t len;

        json_field_name(field, sizeof(field), where, key);
        snprintf(field + strlen(field), sizeof(field) - strlen(field), "[%zu]", i);
        if (!json_object_is_type(v, json_type_string)) {
            json_object_put(out);
            return err_set(e, HE_INVALID, field, "%s must be a string, not %s", field,
                           json_type_label(v));
        }
        s = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (len == 0 || strlen(s) != len || utf8_length(s, len) > max_chars) {
            json_object_put(out);
            return err_set(e, HE_INVALID, field,
                           len == 0 ? "%s must not be empty"
                                    : "%s must be at most %zu characters without NUL",
                           field, max_chars);
        }
        if (text_has_control(s, len)) {
            json_object_put(out);
            return err_set(e, HE_INVALID, field, "%s must be one line without control characters",
                           field);
        }
        json_object_array_add(out, json_object_get(v));
    }
    *ret = out;
    return 0;
}

/* Splits s on sep into out. Empty names are skipped, or refused when strict. */
static int split_into(struct json_object *out, const char *s, const char *sep, bool strict,
                      const char *field, struct err *e)
{
    size_t seplen = strlen(sep);

    for (size_t i = 1;; i++) {
        const char *next = strstr(s, sep), *fault;
        size_t len = next ? (size_t)(next - s) : strlen(s);
        if (len == 0 && strict)
            return err_set(e, HE_INVALID, field,
                           "%s: topic name %zu is empty (a separator at either end, or two in a "
                           "row)",
                           field, i);
        if (len > 0) {
            if ((fault = gen_topic_name_fault(s, len)))
                return err_set(e, HE_INVALID, field, "%s: topic name %zu %s", field, i, fault);
            if (utf8_length(s, len) > TOPIC_MAX_CHARS)
                return err_set(e, HE_INVALID, field,
                               "%s: a topic name is longer than %d characters", field,
                               TOPIC_MAX_CHARS);
            json_object_array_add(out, json_object_new_string_len(s, (int)len));
        }
        if (!next)
            return 0;
        s = next + seplen;
    }
}

/* Each name of a topic path given as a list passes gen_topic_name_fault. */
static int check_names(struct json_object *names, const char *field, struct err *e)
{
    for (size_t i = 0; i < json_object_array_length(names); i++) {
        struct json_object *v = json_object_array_get_idx(names, i);
        const char *fault =
            gen_topic_name_fault(json_object_get_string(v), (size_t)json_object_get_string_len(v));
        if (fault) {
            char name[ERR_FIELD_MAX];
            snprintf(name, sizeof(name), "%s[%zu]", field, i);
            return err_set(e, HE_INVALID, name, "%s %s", name, fault);
        }
    }
    return 0;
}

int gen_parse_topic_path(struct json_object *body, const char *where, const char *key,
                         bool drop_root, struct json_object **ret, struct err *e)
{
    struct json_object *v = NULL, *out = NULL;
    char field[ERR_FIELD_MAX];
    int r;

    json_field_name(field, sizeof(field), where, key);
    if (json_object_object_get_ex(body, key, &v) && json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if ((size_t)json_object_get_string_len(v) != strlen(s))
            return err_set(e, HE_INVALID, field, "%s must not contain NUL characters", field);
        bool long_sep = strstr(s, GEN_TOPIC_SEP) != NULL;
        out = json_object_new_array();
        r = split_into(out, s, long_sep ? GEN_TOPIC_SEP : "/", long_sep, field, e);
    } else if ((r = gen_parse_string_list(body, where, key, TOPIC_MAX_DEPTH, TOPIC_MAX_CHARS, &out,
                                          e)) == 0) {
        r = check_names(out, field, e);
    }
    if (r < 0) {
        json_object_put(out);
        return r;
    }
    if (json_object_array_length(out) > TOPIC_MAX_DEPTH) {
        json_object_put(out);
        return err_set(e, HE_INVALID, field, "%s is deeper than %d levels", field, TOPIC_MAX_DEPTH);
    }
    if (drop_root && json_object_array_length(out) > 0 &&
        strcmp(json_object_get_string(json_object_array_get_idx(out, 0)), "root") == 0)
        json_object_array_del_idx(out, 0, 1);
    *ret = out;
    return 0;
}

static const char *const sample_fields[] = {"input",
                                            "topic_path",
                                            "input_model_name",
                                            "input_provider",
                                            "output_model_name",
                                            "output_provider",
                                            "prompt_method",
                                            "human_guidance",
                                            "output",
                                            "drop_unsupported_params",
                                            "allow_truncated",
                                            "tags",
                                            NULL};

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int gen_check_object(struct json_object *obj, const char *field, const char *schema_text,
                     char **ret, struct err *e)
{
    struct schema *schema;
    struct err perr;
    int r = 0;

    err_clear(&perr);
    if ((schema = schema_from_text(schema_text, &perr)) && schema_validate(schema, obj, &perr) < 0)
        r = err_set(e, HE_INVALID, field, "%s does not match the task's schema: %s", field,
                    perr.msg);
    if (r == 0 && !(*ret = strdup(json_text(obj, NULL))))
        r = err_set(e, HE_NOMEM, NULL, NULL);
    schema_unref(schema);
    return r;
}

/* A text-or-object field: objects become compact JSON text; checked against schema_text. */
static int text_or_object(struct json_object *obj, const char *where, const char *key,
                          const char *schema_text, bool required, char **ret, struct err *e)
{
    char field[ERR_FIELD_MAX];
    struct json_object *v = NULL, *parsed = NULL;
    struct err perr;
    int r = 0;

    json_field_name(field, sizeof(field), where, key);
    if (!json_object_object_get_ex(obj, key, &v) || !v) {
        if (required)
            return err_set(e, HE_INVALID, field, "%s is required", field);
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = NULL;
        if ((r = json_get_str(obj, where, key, 0, required ? 1 : 0, TEXT_MAX_CHARS, &s, e)) < 0)
            return r;
        if (!schema_text) {
            *ret = strdup(s);
            return *ret ? 0 : err_set(e, HE_NOMEM, NULL, NULL);
        }
        err_clear(&perr);
        if (json_parse(s, strlen(s), &parsed, &perr) < 0 ||
            !json_object_is_type(parsed, json_type_object)) {
            json_object_put(parsed);
            return err_set(e, HE_INVALID, field,
                           "%s must be a JSON object matching the task's schema", field);
        }
    } else if (json_object_is_type(v, json_type_object)) {
        if (!schema_text)
            return err_set(e, HE_INVALID, field,
                           "%s must be a string: the task has no schema for it", field);
        parsed = json_object_get(v);
    } else {
        return err_set(e, HE_INVALID, field, "%s must be a string or an object, not %s", field,
                       json_type_label(v));
    }
    if (json_object_is_type(v, json_type_object) &&
        strlen(json_text(parsed, NULL)) > (size_t)TEXT_MAX_CHARS * 4) {
        json_object_put(parsed);
        return err_set(e, HE_INVALID, field, "%s is larger than the limit of %d bytes", field,
                       TEXT_MAX_CHARS * 4);
    }
    r = gen_check_object(parsed, field, schema_text, ret, e);
    json_object_put(parsed);
    return r;
}

int gen_get_output(struct json_object *obj, const char *where, const char *key,
                   const char *schema_text, char **ret, struct err *e)
{
    struct json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return 0;
    return text_or_object(obj, where, key, schema_text, true, ret, e);
}

int gen_parse_sample(const struct gen_env *env, const struct task *t, struct json_object *obj,
                     const char *where, struct gen_sample *ret, struct err *e)
{
    const char *input_model = NULL, *input_provider = NULL, *output_model = NULL;
    const char *output_provider = NULL, *method = NULL, *guidance = NULL;
    struct json_object *topic = NULL, *tags = NULL;
    char field[ERR_FIELD_MAX];
    bool drop = false;
    int m, r;

    memset(ret, 0, sizeof(*ret));
    if (!json_object_is_type(obj, json_type_object))
        return err_set(e, HE_INVALID, where, "%s must be an object, not %s",
                       where && *where ? where : "the body", json_type_label(obj));
    if ((r = json_check_keys(obj, where, sample_fields, e)) < 0 ||
        (r = gen_get_model_name(obj, where, "input_model_name", JF_NULLABLE, &input_model, e)) <
            0 ||
        (r = gen_get_model_name(obj, where, "input_provider", JF_NULLABLE, &input_provider, e)) <
            0 ||
        (r = gen_get_model_name(obj, where, "output_model_name", JF_NULLABLE, &output_model, e)) <
            0 ||
        (r = gen_get_model_name(obj, where, "output_provider", JF_NULLABLE, &output_provider, e)) <
            0 ||
        (r = json_get_str(obj, where, "prompt_method", JF_NULLABLE, 0, PROMPT_METHOD_MAX_CHARS,
                          &method, e)) < 0 ||
        (r = json_get_str(obj, where, "human_guidance", JF_NULLABLE, 0, GUIDANCE_MAX_CHARS,
                          &guidance, e)) < 0 ||
        (r = json_get_bool(obj, where, "drop_unsupported_params", JF_NULLABLE, &drop, e)) < 0 ||
        (r = json_get_bool(obj, where, "allow_truncated", JF_NULLABLE, &ret->allow_truncated, e)) <
            0)
        return r;
    m = prompt_method_parse(method);
    if (m < 0) {
        json_field_name(field, sizeof(field), where, "prompt_method");
        return err_set(e, HE_BAD_REQUEST, field, "unknown prompt method '%s'; valid ones: %s",
                       method, prompt_method_list());
    }
    ret->method = (enum prompt_method)m;
    ret->drop_unsupported = drop;
    if ((r = text_or_object(obj, where, "input", t->input_json_schema, true, &ret->input, e)) < 0 ||
        (r = text_or_object(obj, where, "output", t->output_json_schema, false, &ret->output, e)) <
            0 ||
        (r = gen_parse_topic_path(obj, where, "topic_path", true, &topic, e)) < 0 ||
        (r = gen_parse_string_list(obj, where, "tags", TAG_MAX_COUNT, TAG_MAX_CHARS, &tags, e)) < 0)
        goto fail;
    ret->n_topic = json_object_array_length(topic);
    ret->topic = calloc(ret->n_topic + 1, sizeof(char *));
    ret->ntags = json_object_array_length(tags);
    ret->tags = calloc(ret->ntags + 1, sizeof(char *));
    if (!ret->topic || !ret->tags) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto fail;
    }
    for (size_t i = 0; i < ret->n_topic; i++)
        ret->topic[i] = strdup(json_object_get_string(json_object_array_get_idx(topic, i)));
    for (size_t i = 0; i < ret->ntags; i++)
        ret->tags[i] = strdup(json_object_get_string(json_object_array_get_idx(tags, i)));
    ret->input_model = dup_opt(input_model);
    ret->input_provider = dup_opt(input_provider);
    ret->output_model = dup_opt(output_model);
    ret->output_provider = dup_opt(output_provider);
    ret->guidance = dup_opt(guidance);
    json_object_put(topic);
    json_object_put(tags);
    topic = tags = NULL;
    if ((r = gen_sample_check(env, ret, where, e)) < 0)
        goto fail;
    return 0;
fail:
    json_object_put(topic);
    json_object_put(tags);
    gen_sample_free(ret);
    return r;
}
