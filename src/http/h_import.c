/* SPDX-License-Identifier: MIT */
/*
 * Imports: POST .../import_samples_async (a JSON batch) and .../import_samples_from_file (a
 * multipart upload of a CSV or JSONL file).
 *
 * A file is read as it arrives: the reader for its type (from the file name) turns bytes into
 * rows, each row is checked by gen_import_check_row (the checks save_sample makes: input and
 * output against the task's schemas, models when an output must be generated) and written,
 * normalized, to a spool file (jobs/spool.h). Memory stays bounded whatever the file size.
 * Only when the whole file has passed is anything stored: up to IMPORT_INLINE_MAX rows are saved
 * inside the request (each the sample gen_import_sample makes of it); larger files become a
 * durable job that loads the spool (rows with an output go straight into the store, the others
 * become items the output model fills).
 *
 * With ?dedup=skip or fail, each row's line and input hash travel before its spool record and
 * are kept in an index (24 bytes a row) with the record's place in the spool; once the file has
 * passed, dedup/exact.h finds the duplicates (reading back only the rows whose hash matched),
 * and fail answers 409 naming the line, skip copies the spool without them. Nothing is stored
 * before that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gen/gen.h"
#include "http/parse.h"
#include "http/render.h"
#include "http/request.h"
#include "http/routes.h"
#include "ingest/batches.h"
#include "ingest/csv_reader.h"
#include "ingest/jsonl_reader.h"
#include "jobs/jobs.h"
#include "jobs/spool.h"
#include "llm/engine.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define IMPORT_INLINE_MAX 100

static struct json_object *started(size_t n, const char *job_id)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("import_started"));
    json_object_object_add(o, "sample_count", json_object_new_int64((int64_t)n));
    json_object_object_add(o, "message",
                           json_object_new_string("the import runs in the background; follow "
                                                  "its job for progress"));
    json_object_object_add(o, "job_id", json_object_new_string(job_id));
    return o;
}

/* dedup=skip's header: how many duplicates were left out. */
static void set_skipped(struct http_req *req, bool report, size_t skipped)
{
    char count[32];

    if (!report)
        return;
    snprintf(count, sizeof(count), "%zu", skipped);
    http_req_set_header(req, "X-Hetu-Skipped", count);
}

int h_import_samples_async(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct gen_sample *samples = NULL;
    const char *session_id = NULL;
    const char **payloads = NULL;
    struct dedup_outcome dd = {0};
    struct json_object *list;
    struct job job = {0};
    struct task t = {0};
    size_t n = 0;
    int r;

    if ((r = load_task(req, &t, e)) < 0 ||
        (r = parse_samples(req, &t, &samples, &n, &session_id, e)) < 0)
        goto out;
    r = dedup_samples(req, &t, samples, &n, false, &dd, e);
    for (size_t i = 0; i < n; i++)
        gen_sample_free(&samples[i]);
    if (r < 0)
        goto out;
    /* The items are the samples as sent; the runner parses each again when it runs it. */
    list = json_object_object_get(http_req_body(req), "samples");
    payloads = calloc(n, sizeof(*payloads));
    if (!payloads) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(list, dd.orig ? dd.orig[i] : i);
        /* the body's allow_truncated travels with every item */
        if (json_object_get_boolean(json_object_object_get(http_req_body(req), "allow_truncated")))
            json_object_object_add(item, "allow_truncated", json_object_new_boolean(1));
        payloads[i] = json_text(item, NULL);
    }
    if ((r = store_new_id(app->store, job.id, e)) < 0)
        goto out;
    memcpy(job.task_id, t.id, ID_LEN);
    job.kind = JOBS_KIND_SAMPLES;
    job.params = job_params_encode(&(struct job_params){
        .project_id = t.project_id, .session_id = session_id, .skipped = (int64_t)dd.skipped});
    job.total = (int64_t)n;
    job.created_at = clock_wall_us();
    if (!job.params) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = store_job_create(app->store, &job, payloads, n, e)) < 0)
        goto out;
    jobs_notify(app->jobs);
    set_skipped(req, dd.report, dd.skipped);
    *ret_body = started(n, job.id);
out:
    free(dd.orig);
    free(job.params);
    free(payloads);
    free(samples);
    task_done(&t);
    return r;
}

/* ---- file uploads ---- */

enum file_kind { FILE_NONE, FILE_CSV, FILE_JSONL };

struct upload {
    struct http_req *req;
    struct gen_env env;
    struct task task;
    bool task_loaded;
    enum file_kind kind;
    struct batches *batches; /* the file read on workers as it arrives */
    struct reader {
        struct csv_reader *csv;
        struct jsonl_reader *jsonl;
        struct batch_out *out;      /* of the batch being read */
        struct gen_row_check check; /* of this worker's rows */
        struct arena mem;           /* what the check of a row rewrote */
        bool dedup;                 /* each record follows its row's line and input hash */
    } readers[BATCH_WORKERS];
    char *file_name;
    char *spool_path;
    FILE *spool;
    size_t rows;
    const char *prompt_method, *input_model, *input_provider, *output_model, *output_provider;
    const char *session_id;
    bool allow_truncated; /* ?allow_truncated=true: outputs cut at the limit kept, tagged */
    enum dedup_mode dedup;
    /* With dedup skip or fail, every row's line, input hash and place in the spool (the
     * records start at records_at), and how many rows were left out as duplicates. */
    struct row_index {
        int64_t *line, *hash, *offset;
        size_t cap;
    } index;
    int64_t records_at, spool_size;
    size_t skipped;
};

static void upload_free(void *p)
{
    struct upload *u = p;
    if (!u)
        return;
    batches_free(u->batches);
    for (size_t i = 0; i < BATCH_WORKERS; i++) {
        csv_reader_free(u->readers[i].csv);
        jsonl_reader_free(u->readers[i].jsonl);
        arena_done(&u->readers[i].mem);
    }
    if (u->spool)
        fclose(u->spool);
    if (u->spool_path)
        unlink(u->spool_path);
    free(u->spool_path);
    free(u->file_name);
    free(u->index.line);
    free(u->index.hash);
    free(u->index.offset);
    task_done(&u->task);
    free(u);
}

static const char *query(struct http_req *req, const char *name)
{
    const char *v = http_req_query(req, name);
    return v && *v ? v : NULL;
}

/* A boolean query parameter: absent, "true" or "false" (as pydantic reads a query). */
static int query_bool(struct http_req *req, const char *name, bool *ret, struct err *e)
{
    const char *v = query(req, name);

    *ret = false;
    if (!v || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "true") == 0) {
        *ret = true;
        return 0;
    }
    return err_set(e, HE_INVALID, name, "%s must be true or false", name);
}

/* With dedup: the row's line and input hash, before its record. */
static int add_row_key(struct reader *rd, size_t line, const struct gen_checked_row *k,
                       struct err *e)
{
    int64_t key[2] = {(int64_t)line, 0};
    uint64_t h;
    int r;

    if ((r = text_norm_hash(k->input, k->input_len, &h, e)) < 0)
        return r;
    key[1] = (int64_t)h;
    if ((r = buf_add(&rd->out->bytes, key, sizeof(key))) < 0)
        return err_set(e, r, NULL, "line %zu: the row is too large", line);
    return 0;
}

/* A batch's row: checked (gen_import_check_row), then into the output of its batch, written
 * to the spool in file order. */
static int on_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct reader *rd = ud;
    struct gen_checked_row k;
    int r;

    if ((r = gen_import_check_row(&rd->check, row, &rd->mem, &k, e)) == 0 && rd->dedup)
        r = add_row_key(rd, row->line, &k, e);
    if (r == 0 && (r = spool_encode_row(&rd->out->bytes, &k)) < 0)
        r = err_set(e, r, NULL, "line %zu: %s", row->line,
                    r == HE_NOMEM ? "out of memory" : "the row is too large");
    else if (r == 0)
        rd->out->rows++;
    arena_done(&rd->mem); /* (what the check rewrote, now in the spool record) */
    return r;
}

/* Reads a batch of the file on a worker: its rows go to out. */
static int read_batch(void *ud, const char *data, size_t len, size_t first_line, bool last,
                      struct batch_out *out, struct err *e)
{
    struct reader *rd = ud;
    int r;

    rd->out = out;
    if (rd->jsonl) { /* batches of whole lines, read apart */
        jsonl_reader_restart(rd->jsonl, first_line);
        return jsonl_reader_feed(rd->jsonl, data, len, e);
    }
    if ((r = csv_reader_feed(rd->csv, data, len, e)) < 0)
        return r;
    return last ? csv_reader_finish(rd->csv, e) : 0;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* With dedup: each row's key into the index, its record (the bytes after the key) into the
 * spool. */
static int take_keyed_batch(struct upload *u, struct batch_out *out, struct err *e)
{
    struct row_index *x = &u->index;
    const unsigned char *p = (const unsigned char *)out->bytes.data;

    for (size_t at = 0, i = 0; i < out->rows; i++) {
        int64_t key[2];
        size_t rec;
        if (u->rows == x->cap) {
            size_t cap = x->cap ? x->cap * 2 : 1024;
            int64_t *l = realloc(x->line, cap * sizeof(*l));
            int64_t *h = l ? realloc(x->hash, cap * sizeof(*h)) : NULL;
            int64_t *o = h ? realloc(x->offset, cap * sizeof(*o)) : NULL;
            x->line = l ? l : x->line;
            x->hash = h ? h : x->hash;
            x->offset = o ? o : x->offset;
            if (!o)
                return err_set(e, HE_NOMEM, NULL, NULL);
            x->cap = cap;
        }
        memcpy(key, p + at, sizeof(key));
        at += sizeof(key);
        rec = 4 + get_u32(p + at);
        x->line[u->rows] = key[0];
        x->hash[u->rows] = key[1];
        x->offset[u->rows] = u->spool_size;
        if (fwrite(p + at, 1, rec, u->spool) != rec)
            return err_set(e, HE_IO, NULL, "cannot write the import's spool file: %s",
                           strerror(errno));
        at += rec;
        u->spool_size += (int64_t)rec;
        u->rows++;
    }
    return 0;
}

/* A read batch, in file order: its rows into the spool. */
static int take_batch(void *ud, struct batch_out *out, struct err *e)
{
    struct upload *u = ud;

    if (u->dedup != DEDUP_KEEP)
        return take_keyed_batch(u, out, e);
    if (out->bytes.len && fwrite(out->bytes.data, 1, out->bytes.len, u->spool) != out->bytes.len)
        return err_set(e, HE_IO, NULL, "cannot write the import's spool file: %s", strerror(errno));
    u->rows += out->rows;
    return 0;
}

/* JSON Lines are read by two workers at once (a row is a line); CSV by one, in order. */
static int start_batches(struct upload *u, struct err *e)
{
    struct batches_cfg cfg = {
        .workers = u->kind == FILE_JSONL ? 2 : 1,
        .max_line = INGEST_MAX_ROW_DEFAULT,
        .out_max = (size_t)4 * (BATCH_BYTES + INGEST_MAX_ROW_DEFAULT) + SPOOL_RECORD_MAX,
        .read = read_batch,
        .take = take_batch,
        .ud = u,
    };

    for (size_t i = 0; i < cfg.workers; i++) {
        struct reader *rd = &u->readers[i];
        rd->check = (struct gen_row_check){.env = &u->env,
                                           .task = &u->task,
                                           .output_model = u->output_model,
                                           .output_provider = u->output_provider};
        arena_init(&rd->mem);
        rd->dedup = u->dedup != DEDUP_KEEP;
        if (u->kind == FILE_CSV)
            rd->csv = csv_reader_new(on_row, rd, NULL);
        else
            rd->jsonl = jsonl_reader_new(on_row, rd, NULL);
        if (!rd->csv && !rd->jsonl)
            return err_set(e, HE_NOMEM, NULL, NULL);
        cfg.worker_ud[i] = rd;
    }
    if (!(u->batches = batches_new(&cfg)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

static int start_file(struct http_req *req, struct upload *u, const char *filename, struct err *e)
{
    const char *dot = strrchr(filename, '.');
    const char *dir = jobs_spool_dir(http_req_app(req)->jobs);
    char path[4096];
    int fd;

    if (dot && strcasecmp(dot, ".csv") == 0)
        u->kind = FILE_CSV;
    else if (dot && strcasecmp(dot, ".jsonl") == 0)
        u->kind = FILE_JSONL;
    else
        return err_set(e, HE_BAD_REQUEST, "file",
                       "file %s: the file name must end in .csv or .jsonl", filename);
    if (!(u->file_name = strdup(filename)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    snprintf(path, sizeof(path), "%s/upload-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0)
        return err_set(e, HE_IO, NULL, "cannot create a spool file in %s: %s", dir,
                       strerror(errno));
    u->spool_path = strdup(path);
    u->spool = fdopen(fd, "w");
    if (u->spool)
        setvbuf(u->spool, NULL, _IOFBF, 1 << 20);
    if (!u->spool || !u->spool_path) {
        if (!u->spool)
            close(fd);
        return err_set(e, HE_IO, NULL, "cannot open the spool file");
    }
    if (spool_write_header(u->spool,
                           &(struct spool_header){u->input_model, u->input_provider,
                                                  u->output_model, u->output_provider,
                                                  u->prompt_method},
                           e) < 0)
        return e->code;
    u->records_at = u->spool_size = (int64_t)ftello(u->spool);
    return start_batches(u, e);
}

static int upload_ctx(struct http_req *req, struct upload **ret, struct err *e)
{
    struct upload *u = http_req_ctx(req);
    struct app *app = http_req_app(req);
    int r;

    if (u) {
        *ret = u;
        return 0;
    }
    u = calloc(1, sizeof(*u));
    if (!u)
        return err_set(e, HE_NOMEM, NULL, NULL);
    http_req_set_ctx(req, u, upload_free);
    u->req = req;
    u->env = (struct gen_env){app->store, app->engine, app->user};
    u->prompt_method = query(req, "prompt_method");
    u->input_model = query(req, "input_model_name");
    u->input_provider = query(req, "input_provider");
    u->output_model = query(req, "output_model_name");
    u->output_provider = query(req, "output_provider");
    u->session_id = query(req, "session_id");
    if ((r = query_bool(req, "allow_truncated", &u->allow_truncated, e)) < 0 ||
        (r = dedup_mode_parse(query(req, "dedup"), &u->dedup, e)) < 0)
        return r;
    if (u->session_id && strlen(u->session_id) > SESSION_MAX_CHARS)
        return err_set(e, HE_INVALID, "session_id", "session_id must be at most %d characters",
                       SESSION_MAX_CHARS);
    if ((r = gen_check_model_name("input_model_name", u->input_model, e)) < 0 ||
        (r = gen_check_model_name("input_provider", u->input_provider, e)) < 0 ||
        (r = gen_check_model_name("output_model_name", u->output_model, e)) < 0 ||
        (r = gen_check_model_name("output_provider", u->output_provider, e)) < 0)
        return r;
    if (prompt_method_parse(u->prompt_method) < 0)
        return err_set(e, HE_BAD_REQUEST, "prompt_method",
                       "unknown prompt method '%s'; valid ones: %s", u->prompt_method,
                       prompt_method_list());
    if ((r = load_task(req, &u->task, e)) < 0)
        return r;
    u->task_loaded = true;
    *ret = u;
    return 0;
}

int h_import_file_part(struct http_req *req, const char *name, const char *filename,
                       const char *data, size_t len, struct err *e)
{
    struct upload *u = NULL;
    int r;

    if (strcmp(name, "file") != 0)
        return 0; /* other form fields are not used */
    if ((r = upload_ctx(req, &u, e)) < 0)
        return r;
    if (u->kind == FILE_NONE && (r = start_file(req, u, filename ? filename : "", e)) < 0)
        return r;
    if (len == 0)
        return 0;
    return batches_feed(u->batches, data, len, e);
}

struct inline_ctx {
    struct http_req *req;
    size_t n;
};

static void on_inline_done(void *ud, struct run *const *runs, const struct err *errs, size_t n,
                           const struct err *store_err)
{
    struct inline_ctx *c = ud;
    size_t ok = 0, first = n;
    struct json_object *o;
    char msg[ERR_MSG_MAX + 128];

    for (size_t i = 0; i < n; i++) {
        if (runs[i])
            ok++;
        else if (first == n)
            first = i;
    }
    if (store_err) {
        http_req_complete(c->req, NULL, store_err);
    } else if (ok == 0) {
        struct err e;
        err_clear(&e);
        err_set(&e, errs[first].code, NULL, "all %zu rows failed: row %zu: %s", n, first + 1,
                errs[first].msg);
        http_req_complete(c->req, NULL, &e);
    } else {
        o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("import_completed"));
        json_object_object_add(o, "sample_count", json_object_new_int64((int64_t)ok));
        if (ok == n)
            snprintf(msg, sizeof(msg), "imported %zu samples", ok);
        else
            snprintf(msg, sizeof(msg), "imported %zu of %zu samples; %zu failed (row %zu: %s)", ok,
                     n, n - ok, first + 1, errs[first].msg);
        json_object_object_add(o, "message", json_object_new_string(msg));
        json_object_object_add(o, "failed_count", json_object_new_int64((int64_t)(n - ok)));
        http_req_complete(c->req, o, NULL);
    }
    free(c);
}

/* A spooled row as a sample of the upload (every field a copy). */
static int sample_of_row(const struct upload *u, const struct spool_row *row, struct gen_sample *s)
{
    int m = prompt_method_parse(u->prompt_method);
    struct gen_import_source src = {
        .file_name = u->file_name,
        .input_model = u->input_model,
        .input_provider = u->input_provider,
        .output_model = u->output_model,
        .output_provider = u->output_provider,
        .method = m < 0 ? PM_SIMPLE : (enum prompt_method)m, /* checked with the request */
    };

    int r = gen_import_sample(&src, &row->row, s);

    if (r == 0)
        s->allow_truncated = u->allow_truncated;
    return r;
}

/* Small files: every row saved inside the request, outputs generated concurrently. */
static int import_inline(struct http_req *req, struct upload *u, struct err *e)
{
    struct gen_sample *samples = calloc(u->rows ? u->rows : 1, sizeof(*samples));
    struct inline_ctx *c = calloc(1, sizeof(*c));
    FILE *f = fopen(u->spool_path, "r");
    struct spool_header h;
    struct arena a;
    size_t n = 0;
    int r = 0;

    arena_init(&a);
    if (!samples || !c || !f) {
        r = err_set(e, f ? HE_NOMEM : HE_IO, NULL, "cannot read the import's spool file");
        goto fail;
    }
    if ((r = spool_read_header(f, &a, &h, e)) < 0)
        goto fail;
    while (n < u->rows) {
        struct spool_row row;
        if ((r = spool_read_row(f, &a, &row, e)) != 0) {
            if (r > 0)
                r = err_set(e, HE_IO, NULL, "the import's spool file ends early");
            goto fail;
        }
        if ((r = sample_of_row(u, &row, &samples[n])) == 0)
            n++;
        if (r < 0) {
            r = err_set(e, r, NULL, NULL);
            goto fail;
        }
    }
    fclose(f);
    arena_done(&a);
    c->req = req;
    c->n = n;
    http_req_on_cancel(req, NULL, NULL);
    r = gen_save_batch(&u->env, &u->task, samples, n, u->session_id, http_req_serial(req),
                       on_inline_done, c, e);
    if (r < 0) {
        free(c);
        return r;
    }
    return HTTP_PENDING;
fail:
    if (f)
        fclose(f);
    arena_done(&a);
    for (size_t i = 0; i < n; i++)
        gen_sample_free(&samples[i]);
    free(samples);
    free(c);
    return r;
}

/* ---- dedup=skip|fail over an uploaded file ---- */

struct spool_reader {
    FILE *f;
    struct arena a; /* the row read last */
    const struct upload *u;
};

/* The input of row i, read back from the spool. */
static int spool_input(void *ud, size_t i, const char **ret, size_t *ret_len, struct err *e)
{
    struct spool_reader *sr = ud;
    struct spool_row row;
    int r;

    arena_done(&sr->a);
    arena_init(&sr->a);
    if (fseeko(sr->f, (off_t)sr->u->index.offset[i], SEEK_SET) != 0)
        return err_set(e, HE_IO, NULL, "cannot read the import's spool file: %s", strerror(errno));
    if ((r = spool_read_row(sr->f, &sr->a, &row, e)) != 0)
        return r < 0 ? r : err_set(e, HE_IO, NULL, "the import's spool file ends early");
    *ret = row.row.input;
    *ret_len = row.row.input_len;
    return 0;
}

/* Copies in's bytes [from, from + len) to the end of out. */
static bool copy_range(FILE *in, FILE *out, int64_t from, int64_t len)
{
    char chunk[1 << 16];

    if (fseeko(in, (off_t)from, SEEK_SET) != 0)
        return false;
    while (len > 0) {
        size_t n = len < (int64_t)sizeof(chunk) ? (size_t)len : sizeof(chunk);
        if (fread(chunk, 1, n, in) != n || fwrite(chunk, 1, n, out) != n)
            return false;
        len -= (int64_t)n;
    }
    return true;
}

/* dedup=skip: the spool again without the rows marked in dup; the new file replaces it. */
static int drop_rows(struct upload *u, FILE *in, const uint8_t *dup, struct err *e)
{
    const char *dir = jobs_spool_dir(http_req_app(u->req)->jobs);
    const struct row_index *x = &u->index;
    char path[4096], *kept_path;
    size_t kept = 0;
    bool ok;
    FILE *out = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/upload-XXXXXX", dir);
    if ((fd = mkstemp(path)) < 0 || !(out = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        return err_set(e, HE_IO, NULL, "cannot create a spool file in %s: %s", dir,
                       strerror(errno));
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    ok = copy_range(in, out, 0, u->records_at); /* the header */
    for (size_t i = 0; i < u->rows && ok; i++) {
        int64_t end = i + 1 < u->rows ? x->offset[i + 1] : u->spool_size;
        if (!dup[i]) {
            ok = copy_range(in, out, x->offset[i], end - x->offset[i]);
            kept++;
        }
    }
    if (!ok || fflush(out) != 0 || !(kept_path = strdup(path))) {
        fclose(out);
        unlink(path);
        return err_set(e, HE_IO, NULL, "cannot copy the import's spool file: %s", strerror(errno));
    }
    fclose(u->spool);
    unlink(u->spool_path);
    free(u->spool_path);
    u->spool = out;
    u->spool_path = kept_path;
    u->skipped = u->rows - kept;
    u->rows = kept;
    return 0;
}

/* Applies dedup=skip or fail to the uploaded rows before anything is stored. */
static int dedup_file(struct upload *u, struct err *e)
{
    struct spool_reader sr = {.u = u};
    struct dedup_first first;
    uint8_t *dup = NULL;
    size_t count = 0;
    int r;

    if (u->dedup == DEDUP_KEEP)
        return 0;
    arena_init(&sr.a);
    if (!(sr.f = fopen(u->spool_path, "r")) || !(dup = calloc(u->rows, 1))) {
        r = err_set(e, sr.f ? HE_NOMEM : HE_IO, NULL, "cannot read the import's spool file");
        goto out;
    }
    if ((r = dedup_exact_find(u->env.store, u->task.id, u->index.hash, u->rows, spool_input, &sr,
                              dup, &first, &count, e)) < 0 ||
        count == 0)
        goto out;
    if (u->dedup == DEDUP_FAIL) {
        long long line = (long long)u->index.line[first.index];
        if (first.existing_id[0])
            r = err_set(e, HE_CONFLICT, "input",
                        "line %lld: the input repeats sample %s of the task (equal once case, "
                        "width and white space are folded); nothing was stored",
                        line, first.existing_id);
        else
            r = err_set(e, HE_CONFLICT, "input",
                        "line %lld: the input repeats line %lld (equal once case, width and "
                        "white space are folded); nothing was stored",
                        line, (long long)u->index.line[first.of]);
        goto out;
    }
    r = drop_rows(u, sr.f, dup, e);
out:
    if (sr.f)
        fclose(sr.f);
    arena_done(&sr.a);
    free(dup);
    return r;
}

int h_import_samples_from_file(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct upload *u = http_req_ctx(req);
    struct job job = {0};
    char path[4096];
    int r;

    if (!u || u->kind == FILE_NONE)
        return err_set(e, HE_INVALID, "file",
                       "file is required: send the file as a multipart part named file");
    if ((r = batches_finish(u->batches, e)) < 0)
        return r;
    if (u->rows == 0) /* (a CSV reader says why itself) */
        return err_set(e, HE_BAD_REQUEST, "file", "the file has no rows");
    if (fflush(u->spool) != 0)
        return err_set(e, HE_IO, NULL, "cannot write the import's spool file: %s", strerror(errno));
    if ((r = dedup_file(u, e)) < 0)
        return r;
    set_skipped(req, u->dedup == DEDUP_SKIP, u->skipped);
    if (u->rows == 0) { /* every row repeated a sample or an earlier row */
        *ret_body = json_object_new_object();
        json_object_object_add(*ret_body, "status", json_object_new_string("import_completed"));
        json_object_object_add(*ret_body, "sample_count", json_object_new_int64(0));
        json_object_object_add(*ret_body, "message",
                               json_object_new_string("imported 0 samples: every row was a "
                                                      "duplicate"));
        json_object_object_add(*ret_body, "failed_count", json_object_new_int64(0));
        return 0;
    }
    if (u->rows <= IMPORT_INLINE_MAX)
        return import_inline(req, u, e);

    /* A job: the spool moves to its final name, the job records where it is. */
    if ((r = store_new_id(app->store, job.id, e)) < 0)
        return r;
    snprintf(path, sizeof(path), "%s/import-%s.spool", jobs_spool_dir(app->jobs), job.id);
    if (fsync(fileno(u->spool)) != 0 || rename(u->spool_path, path) != 0)
        return err_set(e, HE_IO, NULL, "cannot keep the import's spool file: %s", strerror(errno));
    {
        /* the rename must survive a crash as the job that names the file will */
        int dfd = open(jobs_spool_dir(app->jobs), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(u->spool_path);
    u->spool_path = NULL;
    memcpy(job.task_id, u->task.id, ID_LEN);
    job.kind = JOBS_KIND_FILE;
    job.params = job_params_encode(&(struct job_params){.project_id = u->task.project_id,
                                                        .session_id = u->session_id,
                                                        .file_name = u->file_name,
                                                        .source_type = "file_import",
                                                        .spool = path,
                                                        .allow_truncated = u->allow_truncated,
                                                        .skipped = (int64_t)u->skipped});
    job.total = (int64_t)u->rows;
    job.created_at = clock_wall_us();
    if (!job.params || (r = store_job_create(app->store, &job, NULL, 0, e)) < 0) {
        unlink(path);
        free(job.params);
        return r < 0 ? r : err_set(e, HE_NOMEM, NULL, NULL);
    }
    free(job.params);
    jobs_notify(app->jobs);
    *ret_body = started(u->rows, job.id);
    return 0;
}
