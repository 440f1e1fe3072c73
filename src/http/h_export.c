/* SPDX-License-Identifier: MIT */
/*
 * Exports: the samples of a task written in a trainer's format and streamed as a file.
 *
 * GET .../tasks/{task_id}/export?format=F with the runs list's filters (topic_path, session_id,
 * tag, rating, source), dataset_id + split_name (a part of a dataset split), data_strategy
 * (final_only | final_and_intermediate), system_message (default: the task's prompt),
 * thinking_instructions and compress=gzip. With llamafactory=true the answer is instead the
 * LLaMA-Factory dataset_info.json entry that registers the file the same query downloads.
 *
 * GET /api/download_dataset_jsonl (also under /api/finetune/) is the gateway's download: query
 * project_id, task_id, dataset_id, split_name, format_type, data_strategy and optionally
 * system_message_generator, custom_system_message, custom_thinking_instructions. Without a
 * system message or a generator the task's prompt is used (the gateway answered 400 there).
 *
 * Everything that can fail is checked here, before the first byte; after it, the stream runs
 * on the server's threads (export/stream.c reads one page of the store per call) and a failure
 * can only cut the answer short. Its end (complete, client gone, or failed) is logged once with
 * its rows and pages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/stream.h"
#include "export/trainer.h"
#include "gen/prompt.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include "util/banned.h"

#define NAMES_MAX   4096
#define STREAM_READ (64u << 10) /* bytes the server asks a stream for at once */
#define FILE_NAME   256

/* What an export answer needs, gathered from the request before the stream starts. */
struct plan {
    struct task task;
    struct dataset_split split; /* id "" when no split was asked for */
    struct run_filter filter;
    char *prefix;
    const struct export_format *fmt;
    struct export_opts opts;
    struct buf system;
    bool gzip;
    bool download; /* the gateway's route: its names and answers */
};

/* The stream handed to the server. */
struct export_http {
    struct export_stream *x;
    int64_t start_us;
    char task_id[ID_LEN];
    char format[64];
};

static void plan_done(struct plan *p)
{
    task_done(&p->task);
    dataset_split_done(&p->split);
    free(p->prefix);
    buf_done(&p->system);
}

static void add_name(void *ud, const struct export_format *f)
{
    struct buf *b = ud;
    (void)buf_addf(b, "%s%s", b->len ? ", " : "", f->name);
}

static int pick_format(struct http_req *req, const char *field, struct plan *p, struct err *e)
{
    const char *name = http_req_query(req, field);
    struct buf names;
    int r;

    if (name && *name && (p->fmt = export_format_find(name)))
        return 0;
    buf_init(&names, NAMES_MAX);
    export_format_each(add_name, &names);
    if (name && *name)
        r = err_set(e, HE_BAD_REQUEST, field, "%s '%s' is not a format; the formats: %s", field,
                    name, names.len ? names.data : "(none)");
    else
        r = err_set(e, HE_BAD_REQUEST, field, "%s is required: one of %s", field,
                    names.len ? names.data : "(none)");
    buf_done(&names);
    return r;
}

static int pick_strategy(struct http_req *req, struct plan *p, struct err *e)
{
    const char *s = http_req_query(req, "data_strategy");

    if (!s || !*s || strcmp(s, "final_only") == 0)
        p->opts.strategy = EXPORT_FINAL_ONLY;
    else if (strcmp(s, "final_and_intermediate") == 0)
        p->opts.strategy = EXPORT_FINAL_AND_INTERMEDIATE;
    else
        return err_set(e, HE_BAD_REQUEST, "data_strategy",
                       "data_strategy '%s' is not one of final_only, final_and_intermediate", s);
    return 0;
}

/* Whether the split's parts (a JSON list of {"name", ...}) include name. */
static bool split_has_part(const struct dataset_split *d, const char *name)
{
    struct json_object *list = NULL;
    struct err pe;
    bool found = false;

    err_clear(&pe);
    if (!d->splits || json_parse(d->splits, strlen(d->splits), &list, &pe) < 0)
        return false;
    for (size_t i = 0;
         json_object_is_type(list, json_type_array) && i < json_object_array_length(list) && !found;
         i++) {
        struct json_object *n;
        if (json_object_object_get_ex(json_object_array_get_idx(list, i), "name", &n))
            found = strcmp(json_object_get_string(n), name) == 0;
    }
    json_object_put(list);
    return found;
}

/* dataset_id and split_name: both or neither (the gateway's route needs both). */
static int pick_split(struct http_req *req, struct plan *p, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *id = http_req_query(req, "dataset_id");
    const char *part = http_req_query(req, "split_name");
    int r;

    if ((!id || !*id) && (!part || !*part))
        return 0;
    if (!id || !*id)
        return err_set(e, HE_BAD_REQUEST, "dataset_id",
                       "split_name '%s' needs the dataset_id of its dataset split", part);
    if (!part || !*part)
        return err_set(e, HE_BAD_REQUEST, "split_name",
                       "split_name is required with dataset_id (e.g. train)");
    if ((r = store_split_get(app->store, p->task.id, id, &p->split, e)) < 0)
        return r;
    if (!split_has_part(&p->split, part))
        return err_set(e, p->download ? HE_NOT_FOUND : HE_BAD_REQUEST, "split_name",
                       "split_name '%s' is not a part of dataset split %s", part, id);
    p->filter.split_id = p->split.id;
    p->filter.split_name = part;
    return 0;
}

/* A system message from a Kiln prompt builder id: the simple builders render the task's prompt
 * (instruction and requirements), the short one the instruction alone. */
static int generated_system(const char *gen, struct plan *p, struct err *e)
{
    int m = strcmp(gen, "short_prompt_builder") == 0 ? -2 : prompt_method_parse(gen);

    if (m == -2)
        return buf_adds(&p->system, p->task.instruction);
    if (m == PM_SIMPLE || m == PM_SIMPLE_COT)
        return prompt_task(&p->task, &p->system);
    return err_set(e, HE_BAD_REQUEST, "system_message_generator",
                   "system_message_generator '%s' is not supported here; use "
                   "simple_prompt_builder, simple_chain_of_thought_prompt_builder, "
                   "short_prompt_builder or default, or give custom_system_message",
                   gen);
}

static int pick_system(struct http_req *req, struct plan *p, struct err *e)
{
    const char *given =
        http_req_query(req, p->download ? "custom_system_message" : "system_message");
    const char *gen = p->download ? http_req_query(req, "system_message_generator") : NULL;
    const char *think =
        http_req_query(req, p->download ? "custom_thinking_instructions" : "thinking_instructions");
    int r;

    buf_init(&p->system, PROMPT_MAX);
    if (given && *given)
        r = buf_adds(&p->system, given);
    else if (gen && *gen)
        r = generated_system(gen, p, e);
    else
        r = prompt_task(&p->task, &p->system); /* Kiln's simple prompt builder */
    if (r < 0)
        return e->code ? r : err_set(e, r, "system_message", "the system message is too long");
    p->opts.system_message = p->system.data ? p->system.data : "";
    if (p->opts.strategy == EXPORT_FINAL_AND_INTERMEDIATE && think && *think)
        p->opts.thinking_instructions = think;
    return 0;
}

static int pick_filters(struct http_req *req, struct plan *p, struct err *e)
{
    const char *topic = http_req_query(req, "topic_path");
    const char *compress = http_req_query(req, "compress");
    int r;

    p->filter.min_rating = NAN;
    if ((r = parse_query_number(req, "rating", 0, 5, &p->filter.min_rating, e)) < 0 ||
        (r = parse_judge_filter(req, &p->filter, e)) < 0)
        return r;
    if (topic && *topic && !(p->prefix = parse_topic_prefix(topic)))
        return err_set(e, HE_INVALID, "topic_path", "topic_path is not a valid topic path");
    p->filter.topic_prefix = p->prefix;
    p->filter.session_id = http_req_query(req, "session_id");
    p->filter.tag = http_req_query(req, "tag");
    p->filter.source_type = http_req_query(req, "source");
    if (compress && *compress && strcmp(compress, "gzip") != 0 && strcmp(compress, "none") != 0)
        return err_set(e, HE_BAD_REQUEST, "compress", "compress '%s' is not one of gzip, none",
                       compress);
    p->gzip = compress && strcmp(compress, "gzip") == 0;
    return 0;
}

/* ---- the stream ---- */

static long export_read(void *ud, char *buf, size_t max)
{
    struct export_http *h = ud;
    long n = export_stream_read(h->x, buf, max);
    return n == -2 ? HTTP_STREAM_FAILED : n;
}

static void export_end(void *ud)
{
    struct export_http *h = ud;
    const struct export_stats *st = export_stream_stats(h->x);
    char rows[32], pages[32], bytes[32], ms[32];

    snprintf(rows, sizeof(rows), "%llu", (unsigned long long)st->rows);
    snprintf(pages, sizeof(pages), "%llu", (unsigned long long)st->pages);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)st->bytes);
    snprintf(ms, sizeof(ms), "%lld", (long long)((clock_mono_us() - h->start_us) / 1000));
    log_event(st->failed ? LOG_ERROR : LOG_INFO, "export", "task_id", h->task_id, "format",
              h->format, "end",
              st->finished ? "complete"
              : st->failed ? "failed"
                           : "client_gone",
              "rows", rows, "pages", pages, "bytes", bytes, "ms", ms, "error",
              st->failed ? export_stream_error(h->x)->msg : "", NULL);
    export_stream_free(h->x);
    free(h);
}

/* A file name safe inside a quoted header value: quotes, backslashes, controls and non-ASCII
 * characters become '_' (the UTF-8 name goes in filename*, RFC 6266). */
static void set_disposition(struct http_req *req, const char *name)
{
    char plain[FILE_NAME], value[3 * FILE_NAME + 2 * FILE_NAME + 64];
    size_t n = 0, k;

    for (k = 0; name[k] && n + 1 < sizeof(plain); k++) {
        unsigned char c = (unsigned char)name[k];
        if ((c & 0xc0) == 0x80)
            continue; /* one '_' per character */
        plain[n++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
    }
    plain[n] = '\0';
    n = (size_t)snprintf(value, sizeof(value), "attachment; filename=\"%s\"; filename*=UTF-8''",
                         plain);
    for (k = 0; name[k] && n + 4 < sizeof(value); k++) {
        unsigned char c = (unsigned char)name[k];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            value[n++] = (char)c;
        else
            n += (size_t)snprintf(value + n, sizeof(value) - n, "%%%02X", c);
    }
    value[n] = '\0';
    http_req_set_header(req, "Content-Disposition", value);
}

static int start_stream(struct http_req *req, struct plan *p, const char *file, struct err *e)
{
    struct app *app = http_req_app(req);
    struct export_http *h = calloc(1, sizeof(*h));
    char name[FILE_NAME];
    int r;

    if (!h)
        return err_set(e, HE_NOMEM, NULL, NULL);
    p->filter.task_id = p->task.id;
    p->opts.task = &p->task;
    if ((r = export_stream_new(app->store, &p->filter, p->fmt, &p->opts, p->gzip, &h->x, e)) < 0) {
        free(h);
        return r;
    }
    h->start_us = clock_mono_us();
    memcpy(h->task_id, p->task.id, ID_LEN);
    snprintf(h->format, sizeof(h->format), "%s", p->fmt->name);
    snprintf(name, sizeof(name), "%s%s", file, p->gzip ? ".gz" : "");
    set_disposition(req, name);
    http_req_set_stream(req, export_read, h, export_end);
    http_req_set_stream_type(req,
                             p->gzip       ? "application/gzip"
                             : p->download ? "application/jsonl"
                                           : p->fmt->content_type,
                             STREAM_READ);
    return HTTP_STREAM;
}

/* The LLaMA-Factory entry registering the file this export would send (named as the task,
 * and its split part when there is one). */
static int answer_llamafactory(struct plan *p, const char *file, struct json_object **ret_body,
                               struct err *e)
{
    const char *part = p->filter.split_name;
    char dataset[FILE_NAME], name[FILE_NAME];
    struct buf out;
    int r;

    snprintf(dataset, sizeof(dataset), "%s%s%s", p->task.name, part ? "_" : "", part ? part : "");
    snprintf(name, sizeof(name), "%s%s", file, p->gzip ? ".gz" : "");
    buf_init(&out, 1u << 20);
    if ((r = export_llamafactory_entry(p->fmt->name, dataset, name, &out, e)) == 0 &&
        !(*ret_body = json_tokener_parse(out.data)))
        r = err_set(e, HE_INTERNAL, NULL, "the LLaMA-Factory entry is not JSON");
    buf_done(&out);
    return r;
}

int h_export(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct plan p = {0};
    char file[FILE_NAME];
    int r;

    if ((r = load_task(req, &p.task, e)) < 0)
        return r;
    if ((r = pick_format(req, "format", &p, e)) == 0 && (r = pick_strategy(req, &p, e)) == 0 &&
        (r = pick_filters(req, &p, e)) == 0 && (r = pick_split(req, &p, e)) == 0 &&
        (r = pick_system(req, &p, e)) == 0) {
        const char *part = p.filter.split_name;
        snprintf(file, sizeof(file), "%s%s%s.%s.%s", p.task.name, part ? "." : "", part ? part : "",
                 p.fmt->name, p.fmt->extension);
        const char *lf = http_req_query(req, "llamafactory");
        if (lf && strcmp(lf, "true") != 0 && strcmp(lf, "false") != 0)
            r = err_set(e, HE_BAD_REQUEST, "llamafactory", "llamafactory is true or false");
        else if (lf && strcmp(lf, "true") == 0)
            r = answer_llamafactory(&p, file, ret_body, e);
        else
            r = start_stream(req, &p, file, e);
    }
    plan_done(&p);
    return r;
}

static int need_query(struct http_req *req, const char *name, const char **ret, struct err *e)
{
    *ret = http_req_query(req, name);
    if (!*ret || !**ret)
        return err_set(e, HE_INVALID, name, "%s is required", name);
    return 0;
}

int h_download_dataset_jsonl(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    static const char *const required[] = {"project_id", "task_id",     "dataset_id",
                                           "split_name", "format_type", "data_strategy"};
    const char *v[6];
    struct plan p = {.download = true};
    char file[FILE_NAME];
    int r = 0;
    (void)ret_body;

    for (size_t i = 0; i < 6 && r == 0; i++)
        r = need_query(req, required[i], &v[i], e);
    if (r < 0)
        return r;
    /* the gateway's order: format, strategy, task, dataset, split */
    if ((r = pick_format(req, "format_type", &p, e)) < 0 || (r = pick_strategy(req, &p, e)) < 0)
        return r;
    p.filter.min_rating = NAN;
    if ((r = load_task_ids(req, v[0], v[1], &p.task, e)) == 0 &&
        (r = pick_split(req, &p, e)) == 0 && (r = pick_system(req, &p, e)) == 0) {
        /* Kiln's file name for a dumped split */
        snprintf(file, sizeof(file), "%s -- split-%s -- format-%s -- %s.jsonl",
                 p.split.name ? p.split.name : "", v[3], p.fmt->name,
                 p.opts.strategy == EXPORT_FINAL_AND_INTERMEDIATE ? "cot" : "no-cot");
        r = start_stream(req, &p, file, e);
    }
    plan_done(&p);
    return r;
}
