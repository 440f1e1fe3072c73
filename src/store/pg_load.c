/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: rows loaded through COPY (a file import's slices, a job's items), with the
 * SQLite backend's semantics and errors (sqlite_jobs.c, job_load_async).
 *
 * A slice of a file import is one write on a loader (pg_load_async): its samples, their tag
 * rows and its items go in as three COPY ... FROM STDIN in text format, then the job's cursor
 * and completed count move, all in the write's transaction, so the cursor never passes a row
 * that is not stored. The loaders load slices at once, each on its own connection, and commit
 * them in order: a slice moves the cursor only from where the slice before it left it (the
 * UPDATE waits on that slice's row lock, or finds the cursor short of it and tries again after
 * a pause), so the database spends more than one core on a large import. A slice whose
 * predecessor never commits (it failed) gives up after PG_WRITER_RETRY_MS.
 *
 * Rows are written into a buffer that is handed to libpq every COPY_FLUSH bytes, so a slice
 * never holds more than that much COPY text at once (plus one row). Text fields are escaped as
 * COPY's text format wants (backslash, tab, newline, carriage return); NULL is \N.
 *
 * Item payloads are BYTEA, sent in hex (pg_jobs.c writes an import's items, pg_copy_staged_items
 * a staged job's). Samples take their row from pg_run_params, the same values an INSERT of
 * pg_runs.c binds. Runs on the thread that runs the write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg_int.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/banned.h"

/* COPY text handed to libpq at a time; a row longer than COPY_MAX is refused. */
#define COPY_FLUSH (256 * 1024)
#define COPY_MAX   (512 * 1024 * 1024)
#define TAGS_MAX   (1024 * 1024)

static const char SQL_COPY_SAMPLES[] = "COPY samples (" PG_RUN_INSERT_COLUMNS ") FROM STDIN";
static const char SQL_COPY_TAGS[] = "COPY sample_tags (task_id, tag, sample_id) FROM STDIN";
static const char SQL_COPY_ITEMS[] =
    "COPY job_items (job_id, idx, state, stage, payload) FROM STDIN";
/* Only after the slice before this one ($4: where it ended) */
static const char SQL_JOB_LOADED[] =
    "UPDATE jobs SET cursor = $2, completed = completed + $3 WHERE id = $1 AND cursor = $4";
static const char SQL_JOB_CURSOR[] = "SELECT cursor FROM jobs WHERE id = $1";

/* One COPY FROM STDIN under way on c. */
struct copy {
    struct pg_conn *c;
    struct buf b;
    const char *what;
    int r; /* the first failure to build a row */
};

static int copy_begin(struct copy *cp, struct pg_conn *c, const char *sql, const char *what,
                      struct err *e)
{
    PGresult *res = PQexec(c->db, sql);
    int r = 0;

    if (!res || PQresultStatus(res) != PGRES_COPY_IN)
        r = pg_error(e, c, res, what);
    PQclear(res);
    *cp = (struct copy){.c = c, .what = what};
    buf_init(&cp->b, COPY_MAX);
    return r;
}

static void copy_add(struct copy *cp, const char *s, size_t n)
{
    if (cp->r == 0)
        cp->r = buf_add(&cp->b, s, n);
}

/* Text as COPY's text format reads it back exactly. */
static void copy_text(struct copy *cp, const char *s, size_t n)
{
    size_t from = 0;

    for (size_t i = 0; i < n; i++) {
        const char *esc;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        copy_add(cp, s + from, i - from);
        copy_add(cp, esc, 2);
        from = i + 1;
    }
    copy_add(cp, s + from, n - from);
}

static void copy_field(struct copy *cp, const char *v, bool first)
{
    if (!first)
        copy_add(cp, "\t", 1);
    if (v)
        copy_text(cp, v, strlen(v));
    else
        copy_add(cp, "\\N", 2);
}

/* Ends a row; hands the buffer to libpq once it holds COPY_FLUSH bytes. */
static int copy_row_end(struct copy *cp, struct err *e)
{
    copy_add(cp, "\n", 1);
    if (cp->r < 0)
        return err_set(e, cp->r, NULL, "%s: a row is too large", cp->what);
    if (cp->b.len < COPY_FLUSH)
        return 0;
    if (PQputCopyData(cp->c->db, cp->b.data, (int)cp->b.len) != 1)
        return pg_error(e, cp->c, NULL, cp->what);
    buf_reset(&cp->b);
    return 0;
}

static int copy_params(struct copy *cp, const struct pg_params *p, struct err *e)
{
    for (int i = 0; i < p->n; i++)
        copy_field(cp, p->v[i], i == 0);
    return copy_row_end(cp, e);
}

/* Sends what is left and ends the COPY: 0, or the error of the server (*ret_state its SQLSTATE,
 * *ret_detail its detail, both "" when there are none). A failed row (r < 0) aborts it. */
static int copy_end(struct copy *cp, int r, char ret_state[6], char ret_detail[128], struct err *e)
{
    PGconn *db = cp->c->db;
    PGresult *res;
    int rc = r;

    ret_state[0] = ret_detail[0] = '\0';
    if (r == 0 && cp->b.len && PQputCopyData(db, cp->b.data, (int)cp->b.len) != 1)
        rc = pg_error(e, cp->c, NULL, cp->what);
    buf_done(&cp->b);
    if (PQputCopyEnd(db, rc < 0 ? "the load stopped" : NULL) != 1 && rc == 0)
        rc = pg_error(e, cp->c, NULL, cp->what);
    while ((res = PQgetResult(db))) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
            snprintf(ret_state, 6, "%s", state ? state : "");
            snprintf(ret_detail, 128, "%s", detail ? detail : "");
            rc = pg_error(e, cp->c, res, cp->what);
        }
        PQclear(res);
    }
    return rc;
}

/* ---- job items ---- */

static void copy_hex(struct copy *cp, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char chunk[512];
    size_t k = 0;

    copy_add(cp, "\\\\x", 3); /* BYTEA's hex form, its backslash escaped */
    for (size_t i = 0; i < n; i++) {
        chunk[k++] = digits[b[i] >> 4];
        chunk[k++] = digits[b[i] & 15];
        if (k == sizeof(chunk)) {
            copy_add(cp, chunk, k);
            k = 0;
        }
    }
    copy_add(cp, chunk, k);
}

int pg_copy_staged_items(struct pg_conn *c, int64_t job, int64_t first, const char *const *stages,
                         const char *const *payloads, size_t n, struct err *e)
{
    struct copy cp;
    char state[6], detail[128];
    int r;

    if (n == 0)
        return 0;
    if ((r = copy_begin(&cp, c, SQL_COPY_ITEMS, "saving the job's items", e)) < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *payload = payloads[i] ? payloads[i] : "{}";
        struct pg_params p = {0};
        pg_param_int(&p, job);
        pg_param_int(&p, first + (int64_t)i);
        pg_param_int(&p, 0);
        pg_param_text(&p, stages[i]);
        for (int k = 0; k < p.n; k++)
            copy_field(&cp, p.v[k], k == 0);
        copy_add(&cp, "\t", 1);
        copy_hex(&cp, (const unsigned char *)payload, strlen(payload));
        r = copy_row_end(&cp, e);
    }
    return copy_end(&cp, r, state, detail, e);
}

/* ---- samples ---- */

/* A sample's tag rows: each distinct tag of its list once. */
static int copy_tag_rows(struct copy *cp, const struct run *run, struct err *e)
{
    int r = 0;

    for (size_t i = 0; i < run->ntags && r == 0; i++) {
        struct pg_params p = {0};
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(run->tag_list[k], run->tag_list[i]) == 0;
        if (seen)
            continue;
        pg_param_id(&p, run->task_id);
        pg_param_text(&p, run->tag_list[i]);
        pg_param_id(&p, run->id);
        r = copy_params(cp, &p, e);
    }
    return r;
}

/* The errors of pg_run_insert_rows for a COPY's failure. */
static int samples_error(const struct job_load *l, const char *state, const char *detail,
                         struct err *e)
{
    long long job, item;

    if (strcmp(state, "23503") == 0) {
        err_clear(e);
        return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", l->runs[0]->task_id);
    }
    if (strcmp(state, "23505") == 0 &&
        sscanf(detail, "Key (job_id, job_item)=(%lld, %lld)", &job, &item) == 2) {
        err_clear(e);
        return err_set(e, HE_CONFLICT, NULL, "job %lld item %lld already has a sample", job, item);
    }
    return e->code;
}

static int copy_samples(struct pg_conn *c, const struct job_load *l, struct err *e)
{
    struct copy cp;
    char state[6], detail[128];
    int r;

    if ((r = copy_begin(&cp, c, SQL_COPY_SAMPLES, "saving a sample", e)) < 0)
        return r;
    for (size_t i = 0; i < l->n_runs && r == 0; i++) {
        const struct run *run = l->runs[i];
        _cleanup_free_ char *made =
            run->tags ? NULL : jsonw_string_list(run->tag_list, run->ntags, TAGS_MAX);
        struct pg_params p = {0};
        struct pg_num_text t = {0};

        if (!run->tags && !made) {
            r = err_set(e, HE_NOMEM, NULL, NULL);
            break;
        }
        pg_run_params(&p, &t, run, run->tags ? run->tags : made);
        r = copy_params(&cp, &p, e);
    }
    if ((r = copy_end(&cp, r, state, detail, e)) < 0)
        return samples_error(l, state, detail, e);
    if ((r = copy_begin(&cp, c, SQL_COPY_TAGS, "saving tags", e)) < 0)
        return r;
    for (size_t i = 0; i < l->n_runs && r == 0; i++)
        r = copy_tag_rows(&cp, l->runs[i], e);
    return copy_end(&cp, r, state, detail, e);
}

int pg_copy_runs(struct pg_conn *c, struct run *const *runs, size_t n, struct err *e)
{
    struct job_load l = {.runs = runs, .n_runs = n};
    return n ? copy_samples(c, &l, e) : 0;
}

/* ---- a file import's slice ---- */

/* Moves the job's cursor past the slice once the slice before it has committed. */
static int move_cursor(struct pg_conn *c, const struct job_load *l, struct err *e)
{
    int64_t deadline = clock_mono_us() + PG_WRITER_RETRY_MS * 1000LL, pause_us = 500;

    for (;;) {
        _cleanup_result_ PGresult *res = NULL;
        _cleanup_result_ PGresult *now = NULL;
        struct pg_params p = {0};
        int64_t cursor;
        int r;

        pg_param_id(&p, l->job_id);
        pg_param_int(&p, l->cursor);
        pg_param_int(&p, (int64_t)l->n_runs);
        pg_param_int(&p, l->from);
        if ((r = pg_run(c, SQL_JOB_LOADED, &p, &res, "recording the import's progress", e)) < 0)
            return r;
        if (PQcmdTuples(res)[0] && strcmp(PQcmdTuples(res), "0") != 0)
            return 0;
        p.n = 1;
        if ((r = pg_run(c, SQL_JOB_CURSOR, &p, &now, "recording the import's progress", e)) < 0)
            return r;
        if (PQntuples(now) != 1)
            return err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", l->job_id);
        cursor = pg_col_int(now, 0, 0);
        if (cursor > l->from)
            return err_set(e, HE_CONFLICT, NULL,
                           "recording the import's progress: job %s is at row %lld, past this "
                           "slice's start (%lld)",
                           l->job_id, (long long)cursor, (long long)l->from);
        if (clock_mono_us() >= deadline)
            return err_set(e, HE_STORE, NULL,
                           "recording the import's progress: the rows before row %lld of job %s "
                           "were not stored",
                           (long long)l->from, l->job_id);
        usleep((useconds_t)pause_us);
        pause_us = pause_us < 20000 ? pause_us * 2 : 20000;
    }
}

static int load_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct job_load *l = arg;
    int r;

    if (l->n_runs && (r = copy_samples(c, l, e)) < 0)
        return r;
    if ((r = pg_job_items_copy(c, l->job_id, l->item_idx, l->item_payloads, l->item_lens,
                               l->n_items, e)) < 0)
        return r;
    return move_cursor(c, l, e);
}

int pg_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                      struct err *e)
{
    return pg_load_async(s, load_fn, (void *)l, "loading the import's rows", cb, ud, e);
}
