/* SPDX-License-Identifier: MIT */
/*
 * Tasks: create, list, get, update, delete. Requirements are normalized to the full shape
 * {id, name, description, instruction, priority, type} and stored as JSON text; input and output
 * schemas are JSON text that must hold a JSON Schema object with "type": "object". Schemas cannot
 * change once the task has samples (the store checks this in the same write).
 */
#include <stdio.h>
#include <string.h>

#include "http/parse.h"
#include "http/render.h"
#include "http/request.h"
#include "http/routes.h"
#include "llm/schema.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

#define NAME_MAX_CHARS        120
#define DESCRIPTION_MAX_CHARS 10000
#define INSTRUCTION_MAX_CHARS 100000
#define SCHEMA_MAX_CHARS      (1024 * 1024)
#define REQUIREMENTS_MAX      100

static const char *const task_fields[] = {"name",
                                          "description",
                                          "instruction",
                                          "requirements",
                                          "input_json_schema",
                                          "output_json_schema",
                                          "thinking_instruction",
                                          NULL};
static const char *const requirement_fields[] = {"id",       "name", "description", "instruction",
                                                 "priority", "type", NULL};
static const char *const requirement_types[] = {"five_star", "pass_fail", "pass_fail_critical",
                                                NULL};

/* Builds the canonical requirements list; *ret is owned JSON text. */
static int parse_requirements(struct store *store, struct json_object *list, char **ret,
                              struct err *e)
{
    struct json_object *out = json_object_new_array();
    size_t n = json_object_array_length(list);
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        struct json_object *in = json_object_array_get_idx(list, i), *o;
        const char *id = NULL, *name = NULL, *description = "", *instruction = NULL;
        const char *type = "five_star";
        int64_t priority = 2;
        char where[32], new_id[ID_LEN], field[ERR_FIELD_MAX];
        size_t t;

        snprintf(where, sizeof(where), "requirements[%zu]", i);
        if (!json_object_is_type(in, json_type_object)) {
            r = err_set(e, HE_INVALID, where, "%s must be an object, not %s", where,
                        json_type_label(in));
            break;
        }
        if ((r = json_check_keys(in, where, requirement_fields, e)) < 0 ||
            (r = json_get_str(in, where, "id", JF_NULLABLE, 1, 64, &id, e)) < 0 ||
            (r = json_get_str(in, where, "name", JF_REQUIRED, 1, NAME_MAX_CHARS, &name, e)) < 0 ||
            (r = json_get_str(in, where, "description", JF_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
                              &description, e)) < 0 ||
            (r = json_get_str(in, where, "instruction", JF_REQUIRED, 1, INSTRUCTION_MAX_CHARS,
                              &instruction, e)) < 0 ||
            (r = json_get_int(in, where, "priority", JF_NULLABLE, 0, 3, &priority, e)) < 0 ||
            (r = json_get_str(in, where, "type", JF_NULLABLE, 1, 32, &type, e)) < 0)
            break;
        for (t = 0; requirement_types[t]; t++)
            if (strcmp(type, requirement_types[t]) == 0)
                break;
        if (!requirement_types[t]) {
            json_field_name(field, sizeof(field), where, "type");
            r = err_set(e, HE_INVALID, field,
                        "%s must be one of five_star, pass_fail, pass_fail_critical", field);
            break;
        }
        if (!id) {
            if ((r = store_new_id(store, new_id, e)) < 0)
                break;
            id = new_id;
        }
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "description", json_object_new_string(description));
        json_object_object_add(o, "instruction", json_object_new_string(instruction));
        json_object_object_add(o, "priority", json_object_new_int((int)priority));
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_array_add(out, o);
    }
    if (r == 0 && !(*ret = strdup(json_text(out, NULL))))
        r = err_set(e, HE_NOMEM, NULL, NULL);
    json_object_put(out);
    return r;
}

/* Reads an optional schema field: absent leaves *ret alone; null sets it to NULL. */
static int parse_schema(struct json_object *body, const char *key, bool *ret_present,
                        const char **ret, struct err *e)
{
    struct json_object *v, *schema = NULL;
    const char *text = NULL;
    struct err perr;
    int r;

    if (!json_object_object_get_ex(body, key, &v))
        return 0;
    *ret_present = true;
    if (!v) {
        *ret = NULL;
        return 0;
    }
    if ((r = json_get_str(body, NULL, key, 0, 0, SCHEMA_MAX_CHARS, &text, e)) < 0)
        return r;
    if (!*text)
        return err_set(e, HE_BAD_REQUEST, key,
                       "%s must be JSON text holding a JSON Schema object, not empty text", key);
    err_clear(&perr);
    if (json_parse(text, strlen(text), &schema, &perr) < 0)
        return err_set(e, HE_BAD_REQUEST, key, "%s must be JSON text holding a JSON Schema: %s",
                       key, perr.msg);
    r = schema_check(schema, true, key, e);
    json_object_put(schema);
    if (r < 0)
        return r;
    *ret = text;
    return 0;
}

struct task_input {
    const char *name, *description, *instruction, *thinking_instruction;
    const char *input_schema, *output_schema;
    bool has_thinking, has_input_schema, has_output_schema;
    char *requirements; /* owned */
};

static int parse_task(struct store *store, struct json_object *body, bool create,
                      struct task_input *in, struct err *e)
{
    struct json_object *reqs = NULL;
    unsigned req_flag = create ? JF_REQUIRED : 0;
    int r;

    if ((r = json_check_keys(body, NULL, task_fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "name", req_flag, 1, NAME_MAX_CHARS, &in->name, e)) < 0 ||
        (r = json_get_str(body, NULL, "description", JF_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
                          &in->description, e)) < 0 ||
        (r = json_get_str(body, NULL, "instruction", req_flag, 1, INSTRUCTION_MAX_CHARS,
                          &in->instruction, e)) < 0 ||
        (r = json_get_array(body, NULL, "requirements", JF_NULLABLE, REQUIREMENTS_MAX, &reqs, e)) <
            0)
        return r;
    if (json_object_object_get_ex(body, "thinking_instruction", NULL)) {
        in->has_thinking = true;
        if ((r = json_get_str(body, NULL, "thinking_instruction", JF_NULLABLE, 0,
                              INSTRUCTION_MAX_CHARS, &in->thinking_instruction, e)) < 0)
            return r;
    }
    if ((r = parse_schema(body, "input_json_schema", &in->has_input_schema, &in->input_schema, e)) <
            0 ||
        (r = parse_schema(body, "output_json_schema", &in->has_output_schema, &in->output_schema,
                          e)) < 0)
        return r;
    if (reqs && (r = parse_requirements(store, reqs, &in->requirements, e)) < 0)
        return r;
    return 0;
}

int h_task_create(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *project_id = http_req_param(req, "project_id");
    struct task_input in = {.description = ""};
    struct project p = {0};
    struct task t = {0};
    int r;

    if ((r = store_project_get(app->store, project_id, &p, e)) < 0)
        return r;
    project_done(&p);
    if ((r = parse_task(app->store, http_req_body(req), true, &in, e)) < 0)
        goto out;
    if ((r = store_new_id(app->store, t.id, e)) < 0)
        goto out;
    snprintf(t.project_id, sizeof(t.project_id), "%s", project_id);
    t.created_at = clock_wall_us();
    t.created_by = app->user;
    t.name = in.name;
    t.description = in.description;
    t.instruction = in.instruction;
    t.requirements = in.requirements ? in.requirements : "[]";
    t.input_json_schema = in.input_schema;
    t.output_json_schema = in.output_schema;
    t.thinking_instruction = in.thinking_instruction;
    if ((r = store_task_insert(app->store, &t, e)) < 0)
        goto out;
    *ret_body = render_task(&t);
out:
    free(in.requirements);
    return r;
}

static int add_task(void *ud, const struct task *t, struct err *e)
{
    (void)e;
    json_object_array_add(ud, render_task(t));
    return 0;
}

int h_task_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *project_id = http_req_param(req, "project_id");
    struct json_object *list;
    struct project p = {0};
    int r;

    if ((r = store_project_get(app->store, project_id, &p, e)) < 0)
        return r;
    project_done(&p);
    list = json_object_new_array();
    if ((r = store_task_list(app->store, project_id, add_task, list, e)) < 0) {
        json_object_put(list);
        return r;
    }
    *ret_body = list;
    return 0;
}

int h_task_get(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct task t = {0};
    int r = load_task(req, &t, e);

    if (r < 0)
        return r;
    *ret_body = render_task(&t);
    task_done(&t);
    return 0;
}

/* Two schema texts differ when their JSON does (spacing and escapes aside). */
static bool text_differs(const char *a, const char *b)
{
    struct json_object *x = NULL, *y = NULL;
    struct err e;
    bool differs;

    if ((a == NULL) != (b == NULL))
        return true;
    if (!a || strcmp(a, b) == 0)
        return false;
    err_clear(&e);
    if (json_parse(a, strlen(a), &x, &e) < 0 || json_parse(b, strlen(b), &y, &e) < 0) {
        json_object_put(x);
        return true;
    }
    differs = strcmp(json_text(x, NULL), json_text(y, NULL)) != 0;
    json_object_put(x);
    json_object_put(y);
    return differs;
}

int h_task_update(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct task_input in = {0};
    struct task t = {0}, orig;
    bool schema_changed;
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    orig = t;
    if ((r = parse_task(app->store, http_req_body(req), false, &in, e)) < 0)
        goto out;
    if (in.name)
        t.name = in.name;
    if (in.description)
        t.description = in.description;
    if (in.instruction)
        t.instruction = in.instruction;
    if (in.requirements)
        t.requirements = in.requirements;
    if (in.has_thinking)
        t.thinking_instruction = in.thinking_instruction;
    if (in.has_input_schema)
        t.input_json_schema = in.input_schema;
    if (in.has_output_schema)
        t.output_json_schema = in.output_schema;
    schema_changed = text_differs(t.input_json_schema, orig.input_json_schema) ||
                     text_differs(t.output_json_schema, orig.output_json_schema);
    if ((r = store_task_update(app->store, &t, schema_changed, e)) < 0)
        goto out;
    *ret_body = render_task(&t);
out:
    task_done(&orig);
    free(in.requirements);
    return r;
}

int h_task_delete(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *project_id = http_req_param(req, "project_id");
    const char *task_id = http_req_param(req, "task_id");
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = store_task_delete(app->store, project_id, task_id, e)) < 0)
        return r;
    *ret_body = render_message("task %s deleted", task_id);
    return 0;
}
