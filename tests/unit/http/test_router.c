/* SPDX-License-Identifier: MIT */
/* Router matching over the real route table: params, 404, 405 with Allow, HEAD, slashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/routes.h"

static void matches_with_params(void **state)
{
    struct route_match m;
    (void)state;
    assert_int_equal(router_match(http_routes, http_routes_count, "GET",
                                  "/api/projects/123456789012/tasks/223456789012", &m),
                     0);
    assert_ptr_equal(m.route->handler, h_task_get);
    assert_string_equal(route_param(&m, "project_id"), "123456789012");
    assert_string_equal(route_param(&m, "task_id"), "223456789012");
    assert_null(route_param(&m, "run_id"));

    assert_int_equal(
        router_match(http_routes, http_routes_count, "PATCH", "/api/projects/1/task/2", &m), 0);
    assert_ptr_equal(m.route->handler, h_task_update);
}

static void unknown_path_is_404(void **state)
{
    struct route_match m;
    (void)state;
    assert_int_equal(router_match(http_routes, http_routes_count, "GET", "/api/nothing", &m),
                     HE_NOT_FOUND);
    assert_int_equal(router_match(http_routes, http_routes_count, "GET", "", &m), HE_NOT_FOUND);
    assert_int_equal(
        router_match(http_routes, http_routes_count, "GET", "/api/projects/1/tasks/2/x", &m),
        HE_NOT_FOUND);
}

static void wrong_method_is_405_with_allow(void **state)
{
    struct route_match m;
    (void)state;
    assert_int_equal(router_match(http_routes, http_routes_count, "PUT", "/api/projects/1", &m),
                     HE_METHOD);
    assert_string_equal(m.allow, "GET, PATCH, DELETE");
    assert_int_equal(router_match(http_routes, http_routes_count, "GET", "/api/project", &m),
                     HE_METHOD);
    assert_string_equal(m.allow, "POST");
}

static void head_and_trailing_slash(void **state)
{
    struct route_match m;
    (void)state;
    assert_int_equal(router_match(http_routes, http_routes_count, "HEAD", "/api/projects", &m), 0);
    assert_int_equal(router_match(http_routes, http_routes_count, "GET", "/api/projects/", &m), 0);
    assert_ptr_equal(m.route->handler, h_project_list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_with_params),
        cmocka_unit_test(unknown_path_is_404),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(head_and_trailing_slash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
