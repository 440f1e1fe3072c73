/* SPDX-License-Identifier: MIT */
/* The web interface's table and path rules over the files built from web/: lookups, which
 * paths are the app's, If-None-Match and Accept-Encoding parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web/assets.h"

static void table_is_sorted_and_found(void **state)
{
    (void)state;
    assert_true(web_files_count >= 2);
    for (size_t i = 0; i < web_files_count; i++) {
        if (i)
            assert_true(strcmp(web_files[i - 1].path, web_files[i].path) < 0);
        assert_ptr_equal(web_find(web_files[i].path), &web_files[i]);
        assert_int_equal(web_files[i].etag[0], '"');
        assert_int_equal(web_files[i].etag[strlen(web_files[i].etag) - 1], '"');
    }
    assert_non_null(web_find("index.html"));
    assert_null(web_find("/index.html"));
    assert_null(web_find("src/../index.html"));
    assert_null(web_find("nope.js"));
    assert_null(web_find(""));
}

static void index_names_the_prefix(void **state)
{
    const struct web_file *f = web_find("index.html");
    (void)state;
    assert_int_equal(strlen(web_assets_prefix), strlen("/assets/") + 12);
    assert_memory_equal(web_assets_prefix, "/assets/", 8);
    assert_non_null(memmem(f->data, f->len, web_assets_prefix, strlen(web_assets_prefix)));
    assert_null(memmem(f->data, f->len, "%HETU_ASSETS%", 13));
    assert_string_equal(f->content_type, "text/html; charset=utf-8");
}

static void resolves_paths(void **state)
{
    const struct web_file *f = NULL, *index = web_find("index.html");
    const char *asset = NULL;
    char path[256];
    (void)state;

    for (size_t i = 0; i < web_files_count && !asset; i++)
        if (strcmp(web_files[i].path, "index.html") != 0)
            asset = web_files[i].path;
    assert_non_null(asset);
    snprintf(path, sizeof(path), "%s/%s", web_assets_prefix, asset);
    assert_int_equal(web_resolve(path, &f), WEB_ASSET);
    assert_string_equal(f->path, asset);

    f = NULL;
    assert_int_equal(web_resolve("/", &f), WEB_INDEX);
    assert_ptr_equal(f, index);
    assert_int_equal(web_resolve("/projects/1/tasks/2/samples", &f), WEB_INDEX);
    assert_int_equal(web_resolve("/apiary", &f), WEB_INDEX);
    assert_int_equal(web_resolve("/docsearch", &f), WEB_INDEX);

    for (const char *const *p =
             (const char *const[]){"/api", "/api/", "/api/nope", "/healthz", "/healthz/x",
                                   "/metrics", "/openapi.json", "/docs", "/docs/x", NULL};
         *p; p++)
        assert_int_equal(web_resolve(*p, &f), WEB_NONE);

    snprintf(path, sizeof(path), "%s/index.html", web_assets_prefix);
    assert_int_equal(web_resolve(path, &f), WEB_MISSING);
    snprintf(path, sizeof(path), "%s/nope.js", web_assets_prefix);
    assert_int_equal(web_resolve(path, &f), WEB_MISSING);
    snprintf(path, sizeof(path), "/assets/000000000000/%s", asset);
    assert_int_equal(web_resolve(path, &f), WEB_MISSING);
    snprintf(path, sizeof(path), "%s%s", web_assets_prefix, asset); /* no '/' after the hash */
    assert_int_equal(web_resolve(path, &f), WEB_MISSING);
    assert_int_equal(web_resolve("/assets", &f), WEB_MISSING);
    assert_int_equal(web_resolve(web_assets_prefix, &f), WEB_MISSING);
}

static void etag_lists(void **state)
{
    const char *tag = "\"abc\"";
    (void)state;
    assert_true(web_etag_matches("\"abc\"", tag));
    assert_true(web_etag_matches("W/\"abc\"", tag));
    assert_true(web_etag_matches("\"x\", W/\"y\",\"abc\"", tag));
    assert_true(web_etag_matches("  \"x\" ,  \"abc\"  ", tag));
    assert_true(web_etag_matches("*", tag));
    assert_false(web_etag_matches("\"abd\"", tag));
    assert_false(web_etag_matches("\"abcd\"", tag));
    assert_false(web_etag_matches("\"ab\"", tag));
    assert_false(web_etag_matches("abc", tag));
    assert_false(web_etag_matches("\"x\", \"y\"", tag));
    assert_false(web_etag_matches("", tag));
    assert_false(web_etag_matches("\"abc", tag));
}

static void gzip_accepted(void **state)
{
    (void)state;
    assert_true(web_accepts_gzip("gzip"));
    assert_true(web_accepts_gzip("gzip, deflate, br"));
    assert_true(web_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(web_accepts_gzip("x-gzip"));
    assert_true(web_accepts_gzip("*"));
    assert_true(web_accepts_gzip("gzip;q=0.01"));
    assert_false(web_accepts_gzip(NULL));
    assert_false(web_accepts_gzip(""));
    assert_false(web_accepts_gzip("identity"));
    assert_false(web_accepts_gzip("deflate, br"));
    assert_false(web_accepts_gzip("gzip;q=0"));
    assert_false(web_accepts_gzip("gzip; q=0.000"));
    assert_false(web_accepts_gzip("*, gzip;q=0"));
    assert_false(web_accepts_gzip("*;q=0"));
    assert_false(web_accepts_gzip("gzipx"));
    assert_true(web_accepts_gzip("gzip;q=0.5, *;q=0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_sorted_and_found),
        cmocka_unit_test(index_names_the_prefix),
        cmocka_unit_test(resolves_paths),
        cmocka_unit_test(etag_lists),
        cmocka_unit_test(gzip_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
