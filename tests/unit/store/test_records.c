/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend's shared record helpers (sqlite_records.c): keys and their "not found"
 * message, column copies that outlive their statement in one arena chunk, and get, list and
 * delete by key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/sqlite_int.h"

static const char SQL_GET[] =
    "SELECT id, created_at, created_by, name, description FROM projects WHERE id = ?1";
static const char SQL_LIST[] = "SELECT id FROM projects ORDER BY id";
static const char SQL_DELETE[] = "DELETE FROM projects WHERE id = ?1";

static struct store *open_memory(void)
{
    struct store *s = NULL;
    struct err e = ERR_INIT;
    if (store_open(":memory:", &s, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    return s;
}

static void add_project(struct store *s, const char *name, struct project *ret)
{
    struct err e = ERR_INIT;
    memset(ret, 0, sizeof(*ret));
    assert_int_equal(store_new_id(s, ret->id, &e), 0);
    ret->created_at = 42;
    ret->created_by = "tester";
    ret->name = name;
    ret->description = "";
    assert_int_equal(store_project_insert(s, ret, &e), 0);
}

static void not_found_names_kind_id_and_parent(void **state)
{
    struct sq_key top = {.kind = "project", .id = "123456789012", .field = "project_id"};
    struct sq_key inner = {.kind = "sample",
                           .id = "223456789012",
                           .parent_kind = "task",
                           .parent_id = "323456789012",
                           .field = "run_id"};
    struct sq_key nofield = {.kind = "project", .id = "1"};
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(sq_not_found(&e, &top), HE_NOT_FOUND);
    assert_string_equal(e.field, "project_id");
    assert_string_equal(e.msg, "project 123456789012 not found");
    err_clear(&e);
    assert_int_equal(sq_not_found(&e, &inner), HE_NOT_FOUND);
    assert_string_equal(e.field, "run_id");
    assert_string_equal(e.msg, "sample 223456789012 not found in task 323456789012");
    err_clear(&e);
    assert_int_equal(sq_not_found(&e, &nofield), HE_NOT_FOUND);
    assert_string_equal(e.field, "");
}

static void key_binds_id_then_parent(void **state)
{
    struct sq_key k = {.kind = "task", .id = "100000000007", .parent_id = "100000000009"};
    struct sq_key alone = {.kind = "project", .id = "../etc"};
    sqlite3 *db;
    sqlite3_stmt *s;
    (void)state;

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT ?1, ?2", -1, &s, NULL), SQLITE_OK);
    sq_bind_key(s, &k);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(s, 0), 100000000007);
    assert_int_equal(sqlite3_column_int64(s, 1), 100000000009);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    sq_bind_key(s, &alone); /* not an id the server issues: 0; no parent: ?2 stays NULL */
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(s, 0), 0);
    assert_int_equal(sqlite3_column_type(s, 1), SQLITE_NULL);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Copies of a row's text fit the one chunk sq_row_reserve makes, and outlive the statement;
 * without an arena the text is the statement's own. */
static void column_copies_outlive_the_statement(void **state)
{
    struct arena mem = {0};
    const char *a, *b, *c;
    size_t total;
    sqlite3 *db;
    sqlite3_stmt *s;
    (void)state;

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT 'abc', NULL, 'déjà vu', 12, printf('%.2000c', 'x')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_ptr_equal(sq_col_text(s, 0, NULL), (const char *)sqlite3_column_text(s, 0));
    assert_int_equal(sq_row_reserve(s, &mem), 0);
    total = mem.total;
    assert_true(total >= 2001 + 4 + 10);
    a = sq_col_text(s, 0, &mem);
    assert_null(sq_col_text(s, 1, &mem));
    b = sq_col_text(s, 2, &mem);
    c = sq_col_text(s, 4, &mem);
    assert_int_equal(mem.total, total); /* no chunk beyond the reserved one */
    assert_ptr_not_equal(a, (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    assert_string_equal(a, "abc");
    assert_string_equal(b, "déjà vu");
    assert_int_equal(strlen(c), 2000);
    assert_int_equal(c[1999], 'x');
    arena_done(&mem);
}

static void fill_project(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct project *p = rec;
    memset(p, 0, sizeof(*p));
    sq_col_id(s, 0, p->id);
    p->created_at = sqlite3_column_int64(s, 1);
    p->created_by = sq_col_text(s, 2, mem);
    p->name = sq_col_text(s, 3, mem);
    p->description = sq_col_text(s, 4, mem);
}

static void get_reads_one_record_by_key(void **state)
{
    struct store *s = open_memory();
    struct sq_store *st = (struct sq_store *)s;
    struct project p, got = {0};
    struct sq_key k = {.kind = "project", .field = "project_id"};
    struct arena before;
    struct err e = ERR_INIT;
    (void)state;

    add_project(s, "名前", &p);
    k.id = p.id;
    assert_int_equal(sq_get(st, SQL_GET, &k, fill_project, &got, &got.mem, &e), 0);
    assert_string_equal(got.id, p.id);
    assert_int_equal(got.created_at, 42);
    assert_string_equal(got.name, "名前");
    assert_string_equal(got.description, "");
    assert_non_null(got.mem.head);
    project_done(&got);

    k.id = "999999999999";
    before = got.mem;
    assert_int_equal(sq_get(st, SQL_GET, &k, fill_project, &got, &got.mem, &e), HE_NOT_FOUND);
    assert_string_equal(e.msg, "project 999999999999 not found");
    assert_memory_equal(&got.mem, &before, sizeof(before)); /* written only on success */
    store_close(s);
}

static int stop_at(void *ud, sqlite3_stmt *s, struct err *e)
{
    int *left = ud;
    (void)s;
    (void)e;
    return --*left == 0 ? -42 : 0;
}

static void list_stops_when_the_callback_fails(void **state)
{
    struct store *s = open_memory();
    struct sq_store *st = (struct sq_store *)s;
    struct project p;
    struct err e = ERR_INIT;
    int left = 100;
    (void)state;

    for (int i = 0; i < 3; i++)
        add_project(s, "p", &p);
    assert_int_equal(sq_list(st, SQL_LIST, NULL, stop_at, &left, "listing", &e), 0);
    assert_int_equal(left, 97); /* every row */
    left = 2;
    assert_int_equal(sq_list(st, SQL_LIST, NULL, stop_at, &left, "listing", &e), -42);
    assert_int_equal(left, 0); /* stopped at the second row */
    store_close(s);
}

static void delete_removes_once(void **state)
{
    struct store *s = open_memory();
    struct sq_store *st = (struct sq_store *)s;
    struct project p, other, got = {0};
    struct sq_key k = {.kind = "project", .field = "project_id"};
    struct err e = ERR_INIT;
    (void)state;

    add_project(s, "p", &p);
    add_project(s, "other", &other);
    k.id = p.id;
    assert_int_equal(sq_delete(st, SQL_DELETE, &k, &e), 0);
    assert_int_equal(sq_delete(st, SQL_DELETE, &k, &e), HE_NOT_FOUND);
    assert_string_equal(e.field, "project_id");
    assert_int_equal(store_project_get(s, other.id, &got, &e), 0); /* only that one */
    project_done(&got);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_found_names_kind_id_and_parent),
        cmocka_unit_test(key_binds_id_then_parent),
        cmocka_unit_test(column_copies_outlive_the_statement),
        cmocka_unit_test(get_reads_one_record_by_key),
        cmocka_unit_test(list_stops_when_the_callback_fails),
        cmocka_unit_test(delete_removes_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
