/* SPDX-License-Identifier: MIT */
/*
 * The export formats of trainers other than Kiln, as pure functions over stored samples (see
 * format.h): ShareGPT (LLaMA-Factory, FastChat), Alpaca as JSON Lines or one JSON array, TRL's
 * conversational prompt-completion and messages, CSV, and hetu_jsonl (every stored field, which
 * the file import reads back).
 *
 * What every format shares:
 * - The output a trainer learns from is the repaired output when the sample has one (its
 *   TaskOutput's "output"), else the output. hetu_jsonl keeps both, as stored.
 * - A task with schemas has JSON text as input and output; chat content carries that text.
 * - The system turn is opts->system_message, left out when it is empty.
 * - JSON is compact, one sample per line ending in '\n', UTF-8 kept raw (util/jsonw.h).
 *
 * CSV (RFC 4180 through libcsv's writer: every field quoted, quotes doubled, lines ending in
 * CRLF) writes each field as the API and the CSV import read it: topic_path as the names joined
 * by ">>>>>", tags joined by ',' (the import splits on commas and trims, so a tag holding a comma
 * comes back as two), rating as the stars ("1".."5") or "pass", "fail", "critical" ("" unrated),
 * created_at as the API's ISO 8601 UTC with microseconds, the models as their sources'
 * model_name.
 */
#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/format.h"
#include "export/trainer.h"
#include "gen/taskrun.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/banned.h"

/* ---- what the formats share ---- */

/* The output to train on: *ret points into r or into *hold (put it when done). */
static int final_output(const struct run *r, struct json_object **hold, const char **ret,
                        struct err *e)
{
    struct json_object *o = NULL, *text = NULL;
    struct err pe = ERR_INIT;

    *hold = NULL;
    if (!r->repaired_output) {
        if (!r->output)
            return err_set(e, HE_BAD_REQUEST, NULL, "sample %s has no output", r->id);
        *ret = r->output;
        return 0;
    }
    if (json_parse(r->repaired_output, strlen(r->repaired_output), &o, &pe) < 0 ||
        !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "output", &text) ||
        !json_object_is_type(text, json_type_string)) {
        json_object_put(o);
        return err_set(e, HE_INTERNAL, NULL, "sample %s: its repaired output has no output text",
                       r->id);
    }
    *hold = o;
    *ret = json_object_get_string(text);
    return 0;
}

/* The end of a JSON line: the writer's error, or the newline. */
static int end_line(struct jsonw *w, struct buf *out, struct err *e)
{
    int r = w->err ? w->err : buf_add(out, "\n", 1);
    return r < 0 ? err_set(e, r, NULL, NULL) : 0;
}

static void message(struct jsonw *w, const char *role_key, const char *role,
                    const char *content_key, const char *content)
{
    jsonw_obj(w);
    jsonw_kstr(w, role_key, role);
    jsonw_kstr(w, content_key, content);
    jsonw_end_obj(w);
}

/* The names of each role in one chat dialect. */
struct dialect {
    const char *role_key, *content_key;
    const char *system, *user, *assistant;
};

static const struct dialect sharegpt = {"from", "value", "system", "human", "gpt"};
static const struct dialect openai = {"role", "content", "system", "user", "assistant"};

/* The system turn (none when the message is empty) and the user turn. */
static void prompt_turns(struct jsonw *w, const struct dialect *d, const struct export_opts *o,
                         const struct run *r)
{
    if (o->system_message && *o->system_message)
        message(w, d->role_key, d->system, d->content_key, o->system_message);
    message(w, d->role_key, d->user, d->content_key, r->input);
}

/* {"<key>": [system, user, assistant]} */
static int chat_row(const struct dialect *d, const char *key, const struct export_opts *o,
                    const struct run *r, struct buf *out, struct err *e)
{
    struct json_object *hold;
    const char *output;
    struct jsonw w;
    int rc;

    if ((rc = final_output(r, &hold, &output, e)) < 0)
        return rc;
    jsonw_init(&w, out);
    jsonw_obj(&w);
    jsonw_key(&w, key);
    jsonw_arr(&w);
    prompt_turns(&w, d, o, r);
    message(&w, d->role_key, d->assistant, d->content_key, output);
    jsonw_end_arr(&w);
    jsonw_end_obj(&w);
    json_object_put(hold);
    return end_line(&w, out, e);
}

/* ---- ShareGPT, TRL ---- */

static int sharegpt_row(const struct export_opts *o, const struct run *r, size_t nth,
                        struct buf *out, struct err *e)
{
    (void)nth;
    return chat_row(&sharegpt, "conversations", o, r, out, e);
}

static int trl_messages_row(const struct export_opts *o, const struct run *r, size_t nth,
                            struct buf *out, struct err *e)
{
    (void)nth;
    return chat_row(&openai, "messages", o, r, out, e);
}

/* {"prompt": [system, user], "completion": [assistant]} */
static int trl_prompt_completion_row(const struct export_opts *o, const struct run *r, size_t nth,
                                     struct buf *out, struct err *e)
{
    struct json_object *hold;
    const char *output;
    struct jsonw w;
    int rc;

    (void)nth;
    if ((rc = final_output(r, &hold, &output, e)) < 0)
        return rc;
    jsonw_init(&w, out);
    jsonw_obj(&w);
    jsonw_key(&w, "prompt");
    jsonw_arr(&w);
    prompt_turns(&w, &openai, o, r);
    jsonw_end_arr(&w);
    jsonw_key(&w, "completion");
    jsonw_arr(&w);
    message(&w, "role", "assistant", "content", output);
    jsonw_end_arr(&w);
    jsonw_end_obj(&w);
    json_object_put(hold);
    return end_line(&w, out, e);
}

/* ---- Alpaca ---- */

static int alpaca_object(const struct export_opts *o, const struct run *r, struct jsonw *w,
                         struct err *e)
{
    struct json_object *hold;
    const char *output;
    int rc;

    if ((rc = final_output(r, &hold, &output, e)) < 0)
        return rc;
    jsonw_obj(w);
    jsonw_kstr(w, "instruction", o->task && o->task->instruction ? o->task->instruction : "");
    jsonw_kstr(w, "input", r->input);
    jsonw_kstr(w, "output", output);
    jsonw_end_obj(w);
    json_object_put(hold);
    return 0;
}

static int alpaca_row(const struct export_opts *o, const struct run *r, size_t nth, struct buf *out,
                      struct err *e)
{
    struct jsonw w;
    int rc;

    (void)nth;
    jsonw_init(&w, out);
    if ((rc = alpaca_object(o, r, &w, e)) < 0)
        return rc;
    return end_line(&w, out, e);
}

static int add_text(struct buf *out, const char *s, struct err *e)
{
    int r = buf_adds(out, s);
    return r < 0 ? err_set(e, r, NULL, NULL) : 0;
}

/* One JSON array, a sample per line: "[\n{...},\n{...}\n]\n". */
static int alpaca_json_begin(const struct export_opts *o, struct buf *out, struct err *e)
{
    (void)o;
    return add_text(out, "[", e);
}

static int alpaca_json_row(const struct export_opts *o, const struct run *r, size_t nth,
                           struct buf *out, struct err *e)
{
    struct jsonw w;
    int rc;

    if ((rc = add_text(out, nth ? ",\n" : "\n", e)) < 0)
        return rc;
    jsonw_init(&w, out);
    if ((rc = alpaca_object(o, r, &w, e)) < 0)
        return rc;
    return w.err ? err_set(e, w.err, NULL, NULL) : 0;
}

static int alpaca_json_end(const struct export_opts *o, size_t nrows, struct buf *out,
                           struct err *e)
{
    (void)o;
    return add_text(out, nrows ? "\n]\n" : "]\n", e);
}

/* ---- CSV ---- */

static const char *const csv_columns[] = {
    "input",      "output",      "topic_path",   "tags",       "rating",
    "session_id", "input_model", "output_model", "created_at",
};
#define CSV_NCOLS (sizeof(csv_columns) / sizeof(csv_columns[0]))

/* One field, then ',' or the line end. A field holding a comma, a quote or a line break is
 * quoted by libcsv's writer; any other is written as it is (RFC 4180, as Python's csv module
 * writes with QUOTE_MINIMAL). */
static int csv_field(struct buf *out, const char *s, bool last)
{
    size_t n = strlen(s), need;
    char small[256], *p;
    int r;

    if (!s[strcspn(s, ",\"\r\n")]) {
        if ((r = buf_add(out, s, n)) == 0)
            r = buf_add(out, last ? "\r\n" : ",", last ? 2 : 1);
        return r;
    }
    need = csv_write(NULL, 0, s, n);
    p = need <= sizeof(small) ? small : malloc(need);
    if (!p)
        return HE_NOMEM;
    csv_write(p, need, s, n);
    if ((r = buf_add(out, p, need)) == 0)
        r = buf_add(out, last ? "\r\n" : ",", last ? 2 : 1);
    if (p != small)
        free(p);
    return r;
}

static int csv_begin(const struct export_opts *o, struct buf *out, struct err *e)
{
    int r = 0;

    (void)o;
    for (size_t i = 0; r == 0 && i < CSV_NCOLS; i++)
        r = csv_field(out, csv_columns[i], i + 1 == CSV_NCOLS);
    return r < 0 ? err_set(e, r, NULL, NULL) : 0;
}

/* The string at key of the JSON object text json, copied into ret (size bytes), or "". */
static void json_string_at(const char *json, const char *key, char *ret, size_t size)
{
    struct json_object *o = NULL, *v = NULL;
    struct err pe = ERR_INIT;

    ret[0] = '\0';
    if (json && json_parse(json, strlen(json), &o, &pe) == 0 &&
        json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        snprintf(ret, size, "%s", json_object_get_string(v));
    json_object_put(o);
}

/* A rating as one word: the stars, or pass, fail, critical; "" when unrated. */
static void rating_word(const char *rating, char ret[16])
{
    struct json_object *o = NULL, *type = NULL, *v = NULL;
    struct err pe = ERR_INIT;
    const char *t;
    double x;

    ret[0] = '\0';
    if (!rating || json_parse(rating, strlen(rating), &o, &pe) < 0 ||
        !json_object_object_get_ex(o, "type", &type) ||
        !json_object_is_type(type, json_type_string) ||
        !json_object_object_get_ex(o, "value", &v) || !v) {
        json_object_put(o);
        return;
    }
    t = json_object_get_string(type);
    x = json_object_is_type(v, json_type_boolean) ? (json_object_get_boolean(v) ? 1 : 0)
                                                  : json_object_get_double(v);
    if (strcmp(t, "five_star") == 0 && x >= 1 && x <= 5)
        snprintf(ret, 16, "%d", (int)x);
    else if (strcmp(t, "five_star") != 0)
        snprintf(ret, 16, "%s", x == 1 ? "pass" : x == 0 ? "fail" : "critical");
    json_object_put(o);
}

/* The tags' JSON list as "a,b". */
static char *tags_text(const char *tags)
{
    struct json_object *o = NULL;
    struct err pe = ERR_INIT;
    struct buf b;

    buf_init(&b, tags ? strlen(tags) + 1 : 1);
    buf_adds(&b, "");
    if (tags && json_parse(tags, strlen(tags), &o, &pe) == 0 &&
        json_object_is_type(o, json_type_array))
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            if (i)
                buf_adds(&b, ",");
            buf_adds(&b, json_object_get_string(json_object_array_get_idx(o, i)));
        }
    json_object_put(o);
    return buf_take(&b);
}

#define MODEL_TEXT_MAX 1024

static int csv_row(const struct export_opts *o, const struct run *r, size_t nth, struct buf *out,
                   struct err *e)
{
    char rating[16], ts[CLOCK_ISO_LEN], in_model[MODEL_TEXT_MAX], out_model[MODEL_TEXT_MAX];
    char *topic = taskrun_topic_string(r->topic_key ? r->topic_key : "");
    char *tags = tags_text(r->tags);
    struct json_object *hold = NULL;
    const char *output = NULL;
    int rc;

    (void)o;
    (void)nth;
    if (!topic || !tags) {
        rc = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((rc = final_output(r, &hold, &output, e)) < 0)
        goto out;
    rating_word(r->rating, rating);
    clock_iso8601(r->created_at, ts);
    json_string_at(r->input_source, "model_name", in_model, sizeof(in_model));
    json_string_at(r->output_source, "model_name", out_model, sizeof(out_model));
    const char *fields[CSV_NCOLS] = {r->input, output,    topic,
                                     tags,     rating,    r->session_id ? r->session_id : "",
                                     in_model, out_model, ts};
    for (size_t i = 0; rc == 0 && i < CSV_NCOLS; i++)
        rc = csv_field(out, fields[i], i + 1 == CSV_NCOLS);
    if (rc < 0)
        err_set(e, rc, NULL, NULL);
out:
    json_object_put(hold);
    free(topic);
    free(tags);
    return rc;
}

/* ---- hetu_jsonl ---- */

static void source(struct jsonw *w, const char *key, const char *type, const char *props)
{
    jsonw_key(w, key);
    jsonw_obj(w);
    jsonw_kstr(w, "type", type);
    jsonw_kraw(w, "properties", props && *props ? props : "{}");
    jsonw_end_obj(w);
}

static void opt_int(struct jsonw *w, const char *key, int64_t v)
{
    if (v < 0)
        jsonw_kraw(w, key, "null");
    else
        jsonw_kint(w, key, v);
}

static void usage(struct jsonw *w, const struct run *r)
{
    char cost[32];

    jsonw_key(w, "usage");
    jsonw_obj(w);
    opt_int(w, "input_tokens", r->input_tokens);
    opt_int(w, "output_tokens", r->output_tokens);
    opt_int(w, "total_tokens", r->total_tokens);
    if (isnan(r->cost) || isinf(r->cost))
        snprintf(cost, sizeof(cost), "null");
    else
        snprintf(cost, sizeof(cost), "%.17g", r->cost);
    jsonw_kraw(w, "cost", cost);
    jsonw_end_obj(w);
}

static void topic_list(struct jsonw *w, const char *key)
{
    const char *start = key;
    struct buf name;

    jsonw_key(w, "topic_path");
    jsonw_arr(w);
    buf_init(&name, strlen(key) + 1);
    for (const char *p = key; *p; p++)
        if (*p == STORE_TOPIC_SEP[0]) {
            buf_reset(&name);
            if (buf_add(&name, start, (size_t)(p - start)) < 0)
                w->err = HE_NOMEM;
            jsonw_str(w, name.data ? name.data : "");
            start = p + 1;
        }
    buf_done(&name);
    jsonw_end_arr(w);
}

/* Stored JSON text, or null. */
static void opt_raw(struct jsonw *w, const char *key, const char *json)
{
    jsonw_kraw(w, key, json && *json ? json : "null");
}

static int hetu_row(const struct export_opts *o, const struct run *r, size_t nth, struct buf *out,
                    struct err *e)
{
    char ts[CLOCK_ISO_LEN];
    struct jsonw w;

    (void)o;
    (void)nth;
    clock_iso8601(r->created_at, ts);
    jsonw_init(&w, out);
    jsonw_obj(&w);
    jsonw_kstr(&w, "input", r->input);
    jsonw_kstr(&w, "output", r->output);
    topic_list(&w, r->topic_key ? r->topic_key : "");
    opt_raw(&w, "tags", r->tags ? r->tags : "[]");
    opt_raw(&w, "rating", r->rating);
    if (r->judge_rating) /* a judge's rating, apart from the person's; only when judged */
        opt_raw(&w, "judge_rating", r->judge_rating);
    jsonw_kstr(&w, "repair_instructions", r->repair_instructions);
    opt_raw(&w, "repaired_output", r->repaired_output);
    opt_raw(&w, "intermediate_outputs", r->intermediate_outputs ? r->intermediate_outputs : "{}");
    jsonw_kstr(&w, "session_id", r->session_id);
    source(&w, "input_source", r->input_source_type, r->input_source);
    source(&w, "output_source", r->output_source_type, r->output_source);
    usage(&w, r);
    jsonw_kstr(&w, "id", r->id);
    jsonw_kstr(&w, "created_at", ts);
    jsonw_kstr(&w, "created_by", r->created_by);
    jsonw_end_obj(&w);
    return end_line(&w, out, e);
}

/* ---- the table ---- */

#define JSONL "application/jsonl"

const struct export_format export_trainer_formats[] = {
    {"sharegpt", JSONL, "jsonl", NULL, NULL, sharegpt_row, NULL},
    {"alpaca", JSONL, "jsonl", NULL, NULL, alpaca_row, NULL},
    {"alpaca_json", "application/json", "json", NULL, alpaca_json_begin, alpaca_json_row,
     alpaca_json_end},
    {"trl_prompt_completion", JSONL, "jsonl", NULL, NULL, trl_prompt_completion_row, NULL},
    {"trl_messages", JSONL, "jsonl", NULL, NULL, trl_messages_row, NULL},
    {"csv", "text/csv; charset=utf-8", "csv", NULL, csv_begin, csv_row, NULL},
    {"hetu_jsonl", JSONL, "jsonl", NULL, NULL, hetu_row, NULL},
    {0},
};

/* ---- LLaMA-Factory's dataset_info.json ---- */

static struct json_object *str_map(const char *const *pairs)
{
    struct json_object *o = json_object_new_object();
    for (; pairs[0]; pairs += 2)
        json_object_object_add(o, pairs[0], json_object_new_string(pairs[1]));
    return o;
}

int export_llamafactory_entry(const char *format_name, const char *dataset_name,
                              const char *file_name, struct buf *out, struct err *e)
{
    static const char *const alpaca_columns[] = {"prompt",   "instruction", "query", "input",
                                                 "response", "output",      NULL};
    static const char *const sharegpt_columns[] = {"messages", "conversations", NULL};
    static const char *const sharegpt_tags[] = {
        "role_tag",      "from", "content_tag", "value",  "user_tag", "human",
        "assistant_tag", "gpt",  "system_tag",  "system", NULL};
    static const char *const messages_columns[] = {"messages", "messages", NULL};
    static const char *const messages_tags[] = {
        "role_tag",      "role",      "content_tag", "content", "user_tag", "user",
        "assistant_tag", "assistant", "system_tag",  "system",  NULL};
    const char *const *columns, *const *tags = NULL;
    struct json_object *root, *entry;
    bool alpaca = false;
    int r;

    if (strcmp(format_name, "sharegpt") == 0) {
        columns = sharegpt_columns;
        tags = sharegpt_tags;
    } else if (strcmp(format_name, "trl_messages") == 0) {
        columns = messages_columns;
        tags = messages_tags;
    } else if (strcmp(format_name, "alpaca") == 0 || strcmp(format_name, "alpaca_json") == 0) {
        columns = alpaca_columns;
        alpaca = true;
    } else {
        return err_set(e, HE_BAD_REQUEST, "format",
                       "LLaMA-Factory reads the formats sharegpt, alpaca, alpaca_json and "
                       "trl_messages, not %s",
                       format_name);
    }
    root = json_object_new_object();
    entry = json_object_new_object();
    json_object_object_add(root, dataset_name, entry);
    json_object_object_add(entry, "file_name", json_object_new_string(file_name));
    json_object_object_add(entry, "formatting",
                           json_object_new_string(alpaca ? "alpaca" : "sharegpt"));
    json_object_object_add(entry, "columns", str_map(columns));
    if (tags)
        json_object_object_add(entry, "tags", str_map(tags));
    r = buf_adds(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    if (r == 0)
        r = buf_add(out, "\n", 1);
    json_object_put(root);
    return r < 0 ? err_set(e, r, NULL, NULL) : 0;
}
