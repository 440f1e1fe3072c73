/* SPDX-License-Identifier: MIT */
/* The API's JSON shapes: exact key order, null path, timestamps, raw requirements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/render.h"
#include "util/json.h"

static void project_shape(void **state)
{
    struct project p = {.id = "123456789012",
                        .created_at = 1795515330123456LL,
                        .created_by = "alice",
                        .name = "数据",
                        .description = ""};
    struct json_object *o = render_project(&p);
    (void)state;
    assert_string_equal(json_text(o, NULL),
                        "{\"v\":1,\"id\":\"123456789012\",\"path\":null,"
                        "\"created_at\":\"2026-11-24T10:15:30.123456+00:00\","
                        "\"created_by\":\"alice\",\"name\":\"数据\",\"description\":\"\","
                        "\"model_type\":\"project\"}");
    json_object_put(o);
}

static void task_shape(void **state)
{
    struct task t = {.id = "223456789012",
                     .project_id = "123456789012",
                     .created_at = 1795515330123456LL,
                     .created_by = "alice",
                     .name = "t",
                     .description = "d",
                     .instruction = "i",
                     .requirements = "[{\"id\":\"1\",\"name\":\"n\"}]",
                     .output_json_schema = "{\"type\":\"object\"}"};
    struct json_object *o = render_task(&t);
    (void)state;
    assert_string_equal(json_text(o, NULL),
                        "{\"v\":1,\"id\":\"223456789012\",\"path\":null,"
                        "\"created_at\":\"2026-11-24T10:15:30.123456+00:00\","
                        "\"created_by\":\"alice\",\"name\":\"t\",\"description\":\"d\","
                        "\"instruction\":\"i\",\"requirements\":[{\"id\":\"1\",\"name\":\"n\"}],"
                        "\"output_json_schema\":\"{\\\"type\\\":\\\"object\\\"}\","
                        "\"input_json_schema\":null,\"thinking_instruction\":null,"
                        "\"model_type\":\"task\"}");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(project_shape),
        cmocka_unit_test(task_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
