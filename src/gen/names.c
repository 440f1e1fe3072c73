/* SPDX-License-Identifier: MIT */
/*
 * The rules of names, in one place. A topic name is one line (no control character: the unit
 * separator ends each name of a stored topic key) and stays one name when a topic path is written
 * as text, "a>>>>>b": it holds no ">>>>>" and neither begins nor ends with '>', so the separator
 * is always a run of exactly five '>' and the text splits back into the same names. A model or
 * provider name is one line too (it is sent to providers and kept in provenance). Everything
 * that takes such a name checks it here: save_sample and its batch and import forms, the
 * generate endpoints, the runs filter, file imports and the names a model proposes.
 */
#include "gen/gen.h"

#include <string.h>

#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

const char *gen_topic_name_fault(const char *s, size_t len)
{
    if (text_has_control(s, len))
        return "must be one line without control characters";
    for (size_t i = 0; i + GEN_TOPIC_SEP_LEN <= len; i++)
        if (memcmp(s + i, GEN_TOPIC_SEP, GEN_TOPIC_SEP_LEN) == 0)
            return "must not hold \"" GEN_TOPIC_SEP "\", the separator of topic paths";
    if (len > 0 && (s[0] == '>' || s[len - 1] == '>'))
        return "must not begin or end with '>', which would run into the separator "
               "\"" GEN_TOPIC_SEP "\"";
    return NULL;
}

int gen_check_model_name(const char *field, const char *s, struct err *e)
{
    size_t len;

    if (!s)
        return 0;
    len = strlen(s);
    if (utf8_length(s, len) > MODEL_MAX_CHARS)
        return err_set(e, HE_INVALID, field, "%s must be at most %d characters", field,
                       MODEL_MAX_CHARS);
    if (text_has_control(s, len))
        return err_set(e, HE_INVALID, field, "%s must be one line without control characters",
                       field);
    return 0;
}

int gen_get_model_name(struct json_object *obj, const char *where, const char *key, unsigned flags,
                       const char **ret, struct err *e)
{
    char field[ERR_FIELD_MAX];
    const char *s = NULL;
    int r;

    if ((r = json_get_str(obj, where, key, flags, flags & JF_REQUIRED ? 1 : 0, MODEL_MAX_CHARS, &s,
                          e)) < 0)
        return r;
    json_field_name(field, sizeof(field), where, key);
    if ((r = gen_check_model_name(field, s, e)) < 0)
        return r;
    if (s)
        *ret = s;
    return 0;
}
