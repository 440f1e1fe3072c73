/* SPDX-License-Identifier: MIT */
/*
 * For store tests (include after cmocka.h and store/store.h): an in-memory store holding one
 * project and one task, with Chinese names, as jobs and samples need them.
 */
#ifndef HETU_TESTS_STORE_TASK_FIXTURE_H
#define HETU_TESTS_STORE_TASK_FIXTURE_H

#include <string.h>

static inline void open_task_store(struct store **s, struct project *p, struct task *t)
{
    struct err e;

    err_clear(&e);
    if (store_open(":memory:", s, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    *p = (struct project){.created_at = 1, .created_by = "tester", .name = "项目"};
    p->description = "";
    assert_int_equal(store_new_id(*s, p->id, &e), 0);
    assert_int_equal(store_project_insert(*s, p, &e), 0);
    *t = (struct task){.created_at = 1, .name = "任务", .instruction = "写一首诗"};
    t->created_by = p->created_by;
    t->description = p->description;
    t->requirements = "[]";
    memcpy(t->project_id, p->id, ID_LEN);
    assert_int_equal(store_new_id(*s, t->id, &e), 0);
    assert_int_equal(store_task_insert(*s, t, &e), 0);
}

#endif
