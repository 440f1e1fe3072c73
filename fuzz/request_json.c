/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: request-body decoding as the router does it (strict JSON with UTF-8 validation),
 * then the field accessors handlers use on whatever object comes out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const known[] = {"name", "description", "requirements", NULL};
    struct json_object *o = NULL, *arr = NULL, *obj = NULL;
    const char *s = NULL;
    int64_t n = 0;
    bool b = false;
    struct err e;

    err_clear(&e);
    if (json_parse((const char *)data, size, &o, &e) < 0) {
        if (!e.code || !strstr(e.msg, "JSON"))
            abort();
        return 0;
    }
    if (json_object_is_type(o, json_type_object)) {
        json_check_keys(o, NULL, known, &e);
        err_clear(&e);
        json_get_str(o, NULL, "name", JF_REQUIRED, 1, 120, &s, &e);
        err_clear(&e);
        json_get_int(o, "x", "n", JF_NULLABLE, 0, 100, &n, &e);
        err_clear(&e);
        json_get_bool(o, NULL, "b", 0, &b, &e);
        err_clear(&e);
        json_get_array(o, NULL, "requirements", 0, 100, &arr, &e);
        err_clear(&e);
        json_get_object(o, NULL, "o", 0, &obj, &e);
    }
    json_text(o, NULL);
    json_object_put(o);
    return 0;
}
