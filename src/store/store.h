/* SPDX-License-Identifier: MIT */
/*
 * The storage interface. A backend (store/sqlite.c now, PostgreSQL later) fills a const struct
 * store_ops once; everything above store/ calls the store_* wrappers below and never sees SQL or
 * a backend type. Records are plain structs: those returned by *_get are owned by the caller
 * (release with *_done); those passed to list callbacks are valid during the callback only.
 *
 * Thread-safety: every function may be called from any thread. Writes are applied by the
 * backend's writer in group commits and have committed when the call returns.
 */
#ifndef HETU_STORE_STORE_H
#define HETU_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/id.h"

struct project {
    char id[ID_LEN];
    int64_t created_at; /* wall-clock microseconds */
    char *created_by;
    char *name;
    char *description;
};

struct task {
    char id[ID_LEN];
    char project_id[ID_LEN];
    int64_t created_at;
    char *created_by;
    char *name;
    char *description;
    char *instruction;
    char *requirements;       /* JSON text: a list of requirement objects ("[]" when none) */
    char *output_json_schema; /* JSON text or NULL */
    char *input_json_schema;  /* JSON text or NULL */
    char *thinking_instruction; /* or NULL */
};

struct store_health {
    const char *backend;   /* static string */
    int schema_version;
    bool writable;
    uint64_t pending_writes;
};

typedef int (*store_project_cb)(void *ud, const struct project *p, struct err *e);
typedef int (*store_task_cb)(void *ud, const struct task *t, struct err *e);

struct store;

struct store_ops {
    const char *name;
    void (*close)(struct store *s);
    int (*health)(struct store *s, struct store_health *ret, struct err *e);
    int (*reserve_ids)(struct store *s, uint64_t n, uint64_t *ret_first, struct err *e);

    int (*project_insert)(struct store *s, const struct project *p, struct err *e);
    int (*project_update)(struct store *s, const struct project *p, struct err *e);
    int (*project_get)(struct store *s, const char *id, struct project *ret, struct err *e);
    int (*project_list)(struct store *s, store_project_cb cb, void *ud, struct err *e);
    int (*project_delete)(struct store *s, const char *id, struct err *e);

    int (*task_insert)(struct store *s, const struct task *t, struct err *e);
    /* With schema_changed, fails with HE_CONFLICT when the task has samples. */
    int (*task_update)(struct store *s, const struct task *t, bool schema_changed,
                       struct err *e);
    int (*task_get)(struct store *s, const char *project_id, const char *task_id,
                    struct task *ret, struct err *e);
    int (*task_list)(struct store *s, const char *project_id, store_task_cb cb, void *ud,
                     struct err *e);
    int (*task_delete)(struct store *s, const char *project_id, const char *task_id,
                       struct err *e);
};

struct store {
    const struct store_ops *ops;
    struct id_gen *ids;
};

/*
 * Opens the store named by url: "sqlite:PATH", a plain PATH, or ":memory:" (a private in-memory
 * database, for tests). Creates the parent directory of PATH when missing, and applies schema
 * migrations.
 */
int store_open(const char *url, struct store **ret, struct err *e);
void store_close(struct store *s);

/* A new unique id (12 digits). */
int store_new_id(struct store *s, char out[ID_LEN], struct err *e);

void project_done(struct project *p);
void task_done(struct task *t);

static inline int store_health(struct store *s, struct store_health *ret, struct err *e)
{
    return s->ops->health(s, ret, e);
}
static inline int store_project_insert(struct store *s, const struct project *p, struct err *e)
{
    return s->ops->project_insert(s, p, e);
}
static inline int store_project_update(struct store *s, const struct project *p, struct err *e)
{
    return s->ops->project_update(s, p, e);
}
static inline int store_project_get(struct store *s, const char *id, struct project *ret,
                                    struct err *e)
{
    return s->ops->project_get(s, id, ret, e);
}
static inline int store_project_list(struct store *s, store_project_cb cb, void *ud,
                                     struct err *e)
{
    return s->ops->project_list(s, cb, ud, e);
}
static inline int store_project_delete(struct store *s, const char *id, struct err *e)
{
    return s->ops->project_delete(s, id, e);
}
static inline int store_task_insert(struct store *s, const struct task *t, struct err *e)
{
    return s->ops->task_insert(s, t, e);
}
static inline int store_task_update(struct store *s, const struct task *t, bool schema_changed,
                                    struct err *e)
{
    return s->ops->task_update(s, t, schema_changed, e);
}
static inline int store_task_get(struct store *s, const char *project_id, const char *task_id,
                                 struct task *ret, struct err *e)
{
    return s->ops->task_get(s, project_id, task_id, ret, e);
}
static inline int store_task_list(struct store *s, const char *project_id, store_task_cb cb,
                                  void *ud, struct err *e)
{
    return s->ops->task_list(s, project_id, cb, ud, e);
}
static inline int store_task_delete(struct store *s, const char *project_id, const char *task_id,
                                    struct err *e)
{
    return s->ops->task_delete(s, project_id, task_id, e);
}

#endif
