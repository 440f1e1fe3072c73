/* SPDX-License-Identifier: MIT */
/*
 * Imports: POST .../import_samples_async (a JSON batch) and .../import_samples_from_file (a
 * multipart upload of a CSV or JSONL file).
 *
 * A file is read as it arrives: the reader for its type (from the file name) turns bytes into
 * rows, each row is checked as a sample (input, output against the task's schemas, models when
 * an output must be generated) and written, normalized, to a spool file (jobs/spool.h). Memory
 * stays bounded whatever the file size. Only when the whole file has passed is anything stored:
 * up to IMPORT_INLINE_MAX rows are saved inside the request; larger files become a durable job
 * that loads the spool (rows with an output go straight into the store, the others become
 * items the output model fills).
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
#include "util/clock.h"
#include "util/json.h"
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

static char *job_params(const char *project_id, const char *session_id, const char *file_name,
                        const char *spool)
{
    struct json_object *o = json_object_new_object();
    char *text;

    json_object_object_add(o, "project_id", json_object_new_string(project_id));
    if (session_id)
        json_object_object_add(o, "session_id", json_object_new_string(session_id));
    if (file_name) {
        json_object_object_add(o, "file_name", json_object_new_string(file_name));
        json_object_object_add(o, "source_type", json_object_new_string("file_import"));
    }
    if (spool)
        json_object_object_add(o, "spool", json_object_new_string(spool));
    text = strdup(json_text(o, NULL));
    json_object_put(o);
    return text;
}

int h_import_samples_async(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct gen_sample *samples = NULL;
    const char *session_id = NULL;
    const char **payloads = NULL;
    struct json_object *list;
    struct job job = {0};
    struct task t = {0};
    size_t n = 0;
    int r;

    if ((r = load_task(req, &t, e)) < 0 ||
        (r = parse_samples(req, &t, &samples, &n, &session_id, e)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        gen_sample_free(&samples[i]);
    /* The items are the samples as sent; the runner parses each again when it runs it. */
    list = json_object_object_get(http_req_body(req), "samples");
    payloads = calloc(n, sizeof(*payloads));
    if (!payloads) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(list, i);
        /* the body's allow_truncated travels with every item */
        if (json_object_get_boolean(json_object_object_get(http_req_body(req), "allow_truncated")))
            json_object_object_add(item, "allow_truncated", json_object_new_boolean(1));
        payloads[i] = json_text(item, NULL);
    }
    if ((r = store_new_id(app->store, job.id, e)) < 0)
        goto out;
    memcpy(job.task_id, t.id, ID_LEN);
    job.kind = "import_samples";
    job.status = "queued";
    job.params = job_params(t.project_id, session_id, NULL, NULL);
    job.total = (int64_t)n;
    job.created_at = clock_wall_us();
    if (!job.params) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = store_job_create(app->store, &job, payloads, n, e)) < 0)
        goto out;
    jobs_notify(app->jobs);
    *ret_body = started(n, job.id);
out:
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
        struct upload *u;
        struct csv_reader *csv;
        struct jsonl_reader *jsonl;
        struct batch_out *out; /* of the batch being read */
        bool models_checked;   /* the output model, once, at the first row without an output */
    } readers[BATCH_WORKERS];
    char *file_name;
    char *spool_path;
    FILE *spool;
    size_t rows;
    const char *prompt_method, *input_model, *input_provider, *output_model, *output_provider;
    const char *session_id;
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
    }
    if (u->spool)
        fclose(u->spool);
    if (u->spool_path)
        unlink(u->spool_path);
    free(u->spool_path);
    free(u->file_name);
    task_done(&u->task);
    free(u);
}

static const char *query(struct http_req *req, const char *name)
{
    const char *v = http_req_query(req, name);
    return v && *v ? v : NULL;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
    if (v)
        json_object_object_add(o, key, json_object_new_string(v));
}

static int row_list_check(const char *const *items, size_t n, size_t max_items, size_t max_chars,
                          const char *what, size_t line, struct err *e)
{
    if (n > max_items)
        return err_set(e, HE_INVALID, what, "line %zu: %s has more than %zu items", line, what,
                       max_items);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (utf8_length(items[i], len) > max_chars)
            return err_set(e, HE_INVALID, what, "line %zu: %s[%zu] is longer than %zu characters",
                           line, what, i, max_chars);
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)items[i][k] < 0x20)
                return err_set(e, HE_INVALID, what,
                               "line %zu: %s[%zu] must be one line without control characters",
                               line, what, i);
    }
    return 0;
}

/* A checked row into the output of its batch (written to the spool in file order). */
static int spool_row(struct batch_out *out, const struct spool_row *row, size_t line, struct err *e)
{
    int r = spool_encode_row(&out->bytes, row);
    if (r < 0)
        return err_set(e, r, NULL, "line %zu: %s", line,
                       r == HE_NOMEM ? "out of memory" : "the row is too large");
    out->rows++;
    return 0;
}

/*
 * The common row, for a task without schemas: the same checks gen_parse_sample makes, done on
 * the row as the reader delivers it, and the spool record written straight from it.
 */
static int on_plain_row(struct reader *rd, const struct ingest_row *row, struct err *e)
{
    struct upload *u = rd->u;
    const char *const *topic = row->topic_path;
    size_t n_topic = row->topic_path_count;
    int r;

    if (row->input_is_json || row->output_is_json)
        return err_set(e, HE_INVALID, row->input_is_json ? "input" : "output",
                       "line %zu: %s must be a string: the task has no schema for it", row->line,
                       row->input_is_json ? "input" : "output");
    /* (bytes bound characters: only a long text is counted) */
    if (row->input_len > TEXT_MAX_CHARS && utf8_length(row->input, row->input_len) > TEXT_MAX_CHARS)
        return err_set(e, HE_INVALID, "input", "line %zu: input is longer than %d characters",
                       row->line, TEXT_MAX_CHARS);
    if (row->output && row->output_len > TEXT_MAX_CHARS &&
        utf8_length(row->output, row->output_len) > TEXT_MAX_CHARS)
        return err_set(e, HE_INVALID, "output", "line %zu: output is longer than %d characters",
                       row->line, TEXT_MAX_CHARS);
    if ((r = row_list_check(topic, n_topic, TOPIC_MAX_DEPTH, TOPIC_MAX_CHARS, "topic_path",
                            row->line, e)) < 0 ||
        (r = row_list_check(row->tags, row->tags_count, 100, 200, "tags", row->line, e)) < 0)
        return r;
    if (row->human_guidance &&
        utf8_length(row->human_guidance, strlen(row->human_guidance)) > GUIDANCE_MAX_CHARS)
        return err_set(e, HE_INVALID, "human_guidance",
                       "line %zu: human_guidance is longer than %d characters", row->line,
                       GUIDANCE_MAX_CHARS);
    if (!row->output && !rd->models_checked) {
        struct gen_sample probe = {.output_model = (char *)u->output_model,
                                   .output_provider = (char *)u->output_provider};
        struct err se;
        err_clear(&se);
        if (gen_sample_check(&u->env, &probe, NULL, &se) < 0)
            return err_set(e, se.code, se.field, "line %zu: %s", row->line, se.msg);
        rd->models_checked = true;
    }
    if (n_topic > 0 && strcmp(topic[0], "root") == 0) { /* as gen_parse_topic_path drops it */
        topic++;
        n_topic--;
    }
    return spool_row(rd->out,
                     &(struct spool_row){.input = row->input,
                                         .input_len = row->input_len,
                                         .output = row->output,
                                         .output_len = row->output_len,
                                         .guidance = row->human_guidance,
                                         .topic = topic,
                                         .n_topic = n_topic,
                                         .tags = row->tags,
                                         .n_tags = row->tags_count},
                     row->line, e);
}

/* A row of a task with a schema: checked as save_sample checks a sample (which also turns an
 * object input or output into its compact text), then spooled. */
static int on_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct reader *rd = ud;
    struct upload *u = rd->u;
    struct json_object *o, *topic, *tags;
    struct gen_sample s;
    struct err se;
    int r;

    if (!u->task.input_json_schema && !u->task.output_json_schema)
        return on_plain_row(rd, row, e);
    o = json_object_new_object();
    err_clear(&se);
    if (row->input_is_json) {
        struct json_object *in = NULL;
        json_parse(row->input, row->input_len, &in, &se);
        json_object_object_add(o, "input", in);
    } else {
        json_object_object_add(o, "input",
                               json_object_new_string_len(row->input, (int)row->input_len));
    }
    if (row->output) {
        if (row->output_is_json) {
            struct json_object *out = NULL;
            json_parse(row->output, row->output_len, &out, &se);
            json_object_object_add(o, "output", out);
        } else {
            json_object_object_add(o, "output",
                                   json_object_new_string_len(row->output, (int)row->output_len));
        }
    }
    topic = json_object_new_array();
    for (size_t i = 0; i < row->topic_path_count; i++)
        json_object_array_add(topic, json_object_new_string(row->topic_path[i]));
    json_object_object_add(o, "topic_path", topic);
    add_str(o, "human_guidance", row->human_guidance);
    if (row->tags_count) {
        tags = json_object_new_array();
        for (size_t i = 0; i < row->tags_count; i++)
            json_object_array_add(tags, json_object_new_string(row->tags[i]));
        json_object_object_add(o, "tags", tags);
    }
    add_str(o, "input_model_name", u->input_model);
    add_str(o, "input_provider", u->input_provider);
    add_str(o, "output_model_name", u->output_model);
    add_str(o, "output_provider", u->output_provider);
    add_str(o, "prompt_method", u->prompt_method);

    r = gen_parse_sample(&u->env, &u->task, o, NULL, &s, &se);
    json_object_put(o);
    if (r < 0)
        return err_set(e, r == HE_BAD_REQUEST ? HE_BAD_REQUEST : HE_INVALID, se.field,
                       "line %zu: %s", row->line, se.msg);
    r = spool_row(rd->out,
                  &(struct spool_row){.input = s.input,
                                      .input_len = strlen(s.input),
                                      .output = s.output,
                                      .output_len = s.output ? strlen(s.output) : 0,
                                      .guidance = s.guidance,
                                      .topic = (const char *const *)s.topic,
                                      .n_topic = s.n_topic,
                                      .tags = (const char *const *)s.tags,
                                      .n_tags = s.ntags},
                  row->line, e);
    gen_sample_free(&s);
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

/* A read batch, in file order: its rows into the spool. */
static int take_batch(void *ud, struct batch_out *out, struct err *e)
{
    struct upload *u = ud;

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
        rd->u = u;
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
    if (u->session_id && strlen(u->session_id) > 200)
        return err_set(e, HE_INVALID, "session_id", "session_id must be at most 200 characters");
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

    memset(s, 0, sizeof(*s));
    s->method = m < 0 ? PM_SIMPLE : (enum prompt_method)m; /* checked with the request */
    s->input = strdup(row->input);
    s->output = row->output ? strdup(row->output) : NULL;
    s->guidance = row->guidance ? strdup(row->guidance) : NULL;
    s->topic = calloc(row->n_topic + 1, sizeof(char *));
    s->n_topic = row->n_topic;
    s->tags = calloc(row->n_tags + 1, sizeof(char *));
    s->ntags = row->n_tags;
    s->input_model = u->input_model ? strdup(u->input_model) : NULL;
    s->input_provider = u->input_provider ? strdup(u->input_provider) : NULL;
    s->output_model = u->output_model ? strdup(u->output_model) : NULL;
    s->output_provider = u->output_provider ? strdup(u->output_provider) : NULL;
    s->source_type = strdup("file_import");
    s->file_name = strdup(u->file_name);
    if (!s->input || (row->output && !s->output) || (row->guidance && !s->guidance) || !s->topic ||
        !s->tags || !s->source_type || !s->file_name)
        return HE_NOMEM;
    for (size_t i = 0; i < row->n_topic; i++)
        if (!(s->topic[i] = strdup(row->topic[i])))
            return HE_NOMEM;
    for (size_t i = 0; i < row->n_tags; i++)
        if (!(s->tags[i] = strdup(row->tags[i])))
            return HE_NOMEM;
    return 0;
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
        r = sample_of_row(u, &row, &samples[n++]);
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
    job.kind = "import_file";
    job.status = "queued";
    job.params = job_params(u->task.project_id, u->session_id, u->file_name, path);
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
