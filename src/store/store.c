/* SPDX-License-Identifier: MIT */
/*
 * Store front: picks the backend from the URL, owns the id generator (which reserves blocks of
 * ids through the backend), and the record destructors shared by all backends.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/banned.h"

/* Ids reserved at a time: a bulk load of a million samples takes two million. */
#define ID_BLOCK 65536

static int reserve_cb(void *ud, uint64_t n, uint64_t *ret_first, struct err *e)
{
    struct store *s = ud;
    return s->ops->reserve_ids(s, n, ret_first, e);
}

int store_open(const char *url, struct store **ret, struct err *e)
{
    struct store *s = NULL;
    int r;

    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return err_set(e, HE_BAD_REQUEST, "db",
                       "the PostgreSQL backend is not available in this build; use a SQLite "
                       "path");
    if (strncmp(url, "sqlite:", 7) == 0)
        url += 7;
    if (!*url)
        return err_set(e, HE_BAD_REQUEST, "db", "the database path is empty");
    r = store_sqlite_open(url, &s, e);
    if (r)
        return r;
    s->ids = id_gen_new(reserve_cb, s, ID_BLOCK);
    if (!s->ids) {
        s->ops->close(s);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    *ret = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    id_gen_free(s->ids);
    s->ops->close(s);
}

int store_new_id(struct store *s, char out[ID_LEN], struct err *e)
{
    uint64_t id;
    int r = id_gen_next(s->ids, &id, e);
    if (r)
        return r;
    id_format(id, out);
    return 0;
}

void project_done(struct project *p)
{
    if (!p)
        return;
    free(p->created_by);
    free(p->name);
    free(p->description);
    memset(p, 0, sizeof(*p));
}

void task_done(struct task *t)
{
    if (!t)
        return;
    free(t->created_by);
    free(t->name);
    free(t->description);
    free(t->instruction);
    free(t->requirements);
    free(t->output_json_schema);
    free(t->input_json_schema);
    free(t->thinking_instruction);
    memset(t, 0, sizeof(*t));
}

void run_done(struct run *r)
{
    if (!r)
        return;
    free(r->created_by);
    free(r->input);
    free(r->input_source_type);
    free(r->input_source);
    free(r->output);
    free(r->output_source_type);
    free(r->output_source);
    free(r->rating);
    free(r->repair_instructions);
    free(r->repaired_output);
    free(r->intermediate_outputs);
    free(r->tags);
    for (size_t i = 0; i < r->ntags; i++)
        free(r->tag_list[i]);
    free(r->tag_list);
    free(r->session_id);
    free(r->topic_key);
    memset(r, 0, sizeof(*r));
}

void job_done(struct job *j)
{
    if (!j)
        return;
    free(j->kind);
    free(j->params);
    free(j->error);
    memset(j, 0, sizeof(*j));
}
