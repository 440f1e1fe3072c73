/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. A push parser for JSON Lines. The caller's thread runs it; a reader is not shared.
 *
 * feed() looks for '\n' with memchr. A line that lies whole inside the chunk is parsed where it
 * is, with no copy; only a line split across chunks is gathered in `part`, a buffer bounded by
 * max_row (plus one byte for a '\r'), so a line cut inside a multi-byte character is whole again
 * before anything looks at it. Each line goes to json_parse() (json-c, strict, UTF-8 validated),
 * is checked key by key, mapped to a struct ingest_row and handed to the callback; the parsed
 * object is freed right after, so memory is bounded by one line whatever the file size. Text that
 * must be built (chat content given as a list of parts, topic_path split on ">>>>>") goes to
 * `scratch`, reused from line to line.
 *
 * Invariants: `line` is the number of the line being gathered; once `failed` is set, every call
 * returns it and nothing more is parsed.
 */
#include "ingest/jsonl_reader.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "ingest/reader.h"
#include "util/banned.h"

#define KNOWN_FIELDS                                                                        \
    "input, output, topic_path, human_guidance, tags, messages and the stored fields of a " \
    "hetu_jsonl export"

/* The stored fields of a sample exported as hetu_jsonl, handed over as the row's provenance
 * (gen/provenance.c checks them). */
static const char *const provenance_keys[] = {
    "rating",     "repair_instructions", "repaired_output", "intermediate_outputs",
    "session_id", "input_source",        "output_source",   "usage",
    "id",         "created_at",          "created_by",      "judge_rating",
    NULL};

static const char *const message_keys[] = {"role", "content", "name", "weight", NULL};

struct jsonl_reader {
    struct ingest_reader b; /* callback, limits, sticky error, lists, row count */
    size_t line;            /* number of the line being gathered */
    struct buf part;        /* a line split across chunks */
    struct buf scratch;     /* built text of the current row */
};

/* Text of a row field: in the parsed JSON, or at an offset of scratch (which may move). */
struct text_ref {
    const char *ptr;
    size_t off, len;
    bool in_scratch, is_json;
};

static int too_large(struct jsonl_reader *r, const char *name)
{
    return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                              "line %zu: %s is larger than the limit of %zu bytes", r->line, name,
                              r->b.lim.max_field);
}

/* A JSON string as text: no NUL inside, at most max_field bytes. */
static int string_value(struct jsonl_reader *r, const char *name, struct json_object *v,
                        struct text_ref *ret)
{
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);

    if (memchr(s, '\0', len))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: %s contains a NUL character",
                                  r->line, name);
    if (len > r->b.lim.max_field)
        return too_large(r, name);
    *ret = (struct text_ref){.ptr = s, .len = len};
    return 0;
}

/* input and output: a string, or an object taken as compact JSON text. */
static int text_or_object(struct jsonl_reader *r, const char *name, struct json_object *v,
                          struct text_ref *ret)
{
    size_t len;
    const char *s;

    if (json_object_is_type(v, json_type_string))
        return string_value(r, name, v, ret);
    if (!json_object_is_type(v, json_type_object))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: %s must be a string or an object, not %s", r->line,
                                  name, json_type_label(v));
    s = json_text(v, &len);
    if (!s)
        return ingest_reader_fail(&r->b, HE_NOMEM, "out of memory");
    if (len > r->b.lim.max_field)
        return too_large(r, name);
    *ret = (struct text_ref){.ptr = s, .len = len, .is_json = true};
    return 0;
}

static int scratch_add(struct jsonl_reader *r, const char *s, size_t len)
{
    int rc = buf_add(&r->scratch, s, len);
    if (rc == HE_TOO_LARGE)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: the row is larger than the limit of %zu bytes",
                                  r->line, r->b.lim.max_row);
    if (rc)
        return ingest_reader_fail(&r->b, rc, "out of memory");
    return 0;
}

/* A chat message's content: a string, or a list of text parts joined by newlines. */
static int content_value(struct jsonl_reader *r, size_t idx, struct json_object *v,
                         struct text_ref *ret)
{
    char name[64];
    size_t n, off, start;

    snprintf(name, sizeof(name), "messages[%zu].content", idx);
    if (json_object_is_type(v, json_type_string))
        return string_value(r, name, v, ret);
    if (!json_object_is_type(v, json_type_array))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: %s must be a string or a list of text parts, "
                                  "not %s",
                                  r->line, name, json_type_label(v));
    n = json_object_array_length(v);
    start = r->scratch.len;
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(v, i), *type = NULL, *text = NULL;
        struct text_ref t;
        if (!json_object_is_type(part, json_type_object) ||
            !json_object_object_get_ex(part, "type", &type) ||
            !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), "text") != 0 ||
            !json_object_object_get_ex(part, "text", &text) ||
            !json_object_is_type(text, json_type_string))
            return ingest_reader_fail(
                &r->b, HE_BAD_REQUEST,
                "line %zu: %s[%zu] must be a text part {\"type\": \"text\", \"text\": "
                "\"...\"}",
                r->line, name, i);
        if (string_value(r, name, text, &t))
            return r->b.failed;
        if ((i && scratch_add(r, "\n", 1)) || scratch_add(r, t.ptr, t.len))
            return r->b.failed;
    }
    off = start;
    if (r->scratch.len - start > r->b.lim.max_field)
        return too_large(r, name);
    /* NUL-terminate within scratch: the next text starts after it. */
    if (scratch_add(r, "", 1))
        return r->b.failed;
    *ret = (struct text_ref){.off = off, .len = r->scratch.len - 1 - start, .in_scratch = true};
    return 0;
}

static int role_of(struct jsonl_reader *r, size_t idx, struct json_object *m, const char **ret)
{
    struct json_object *role = NULL;
    const char *s, *k;
    char where[48];

    snprintf(where, sizeof(where), "messages[%zu]", idx);
    if (!json_object_is_type(m, json_type_object))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: %s must be an object, not %s",
                                  r->line, where, json_type_label(m));
    if ((k = json_unknown_key(m, message_keys)))
        return ingest_reader_fail(
            &r->b, HE_BAD_REQUEST,
            "line %zu: unknown field %s.%.40s (a message has role and content)", r->line, where, k);
    if (!json_object_object_get_ex(m, "role", &role) ||
        !json_object_is_type(role, json_type_string))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: %s.role must be a string",
                                  r->line, where);
    s = json_object_get_string(role);
    if (strcmp(s, "system") && strcmp(s, "developer") && strcmp(s, "user") &&
        strcmp(s, "assistant"))
        return ingest_reader_fail(
            &r->b, HE_BAD_REQUEST,
            "line %zu: %s.role must be system, user or assistant, not \"%.40s\"", r->line, where,
            s);
    *ret = s;
    return 0;
}

static int message_content(struct jsonl_reader *r, struct json_object *msgs, size_t idx,
                           struct text_ref *ret)
{
    struct json_object *c = NULL;

    json_object_object_get_ex(json_object_array_get_idx(msgs, idx), "content", &c);
    if (!c) {
        *ret = (struct text_ref){0};
        return 0;
    }
    return content_value(r, idx, c, ret);
}

/* An OpenAI chat record: input = last user turn, output = last assistant turn after it. */
static int chat_record(struct jsonl_reader *r, struct json_object *msgs, struct text_ref *input,
                       struct text_ref *output, struct text_ref *system)
{
    size_t n, user = SIZE_MAX, sys = SIZE_MAX, sys_seen = SIZE_MAX, asst = SIZE_MAX;
    const char *role = NULL;

    if (!json_object_is_type(msgs, json_type_array))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: messages must be a list, not %s", r->line,
                                  json_type_label(msgs));
    n = json_object_array_length(msgs);
    for (size_t i = 0; i < n; i++) {
        if (role_of(r, i, json_object_array_get_idx(msgs, i), &role))
            return r->b.failed;
        if (strcmp(role, "user") == 0) {
            /* The system prompt is the last one before the last user turn. */
            user = i;
            sys = sys_seen;
            asst = SIZE_MAX;
        } else if (strcmp(role, "assistant") == 0) {
            asst = i;
        } else {
            sys_seen = i;
        }
    }
    if (user == SIZE_MAX)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: the chat record has no user message", r->line);
    if (message_content(r, msgs, user, input))
        return r->b.failed;
    if (!input->ptr && !input->in_scratch)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: messages[%zu].content is missing", r->line, user);
    if (input->len == 0)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: messages[%zu].content (the input) is empty", r->line,
                                  user);
    if (asst != SIZE_MAX && message_content(r, msgs, asst, output))
        return r->b.failed;
    if (sys != SIZE_MAX && message_content(r, msgs, sys, system))
        return r->b.failed;
    return 0;
}

static int string_list(struct jsonl_reader *r, const char *name, struct json_object *v,
                       struct ingest_list *l, bool drop_empty)
{
    size_t n = json_object_array_length(v);

    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        const char *s;
        size_t len;

        if (!json_object_is_type(item, json_type_string))
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: %s[%zu] must be a string, not %s", r->line, name,
                                      i, json_type_label(item));
        s = json_object_get_string(item);
        len = (size_t)json_object_get_string_len(item);
        if (memchr(s, '\0', len))
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: %s[%zu] contains a NUL character", r->line, name,
                                      i);
        if (len > r->b.lim.max_field)
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: %s[%zu] is larger than the limit of %zu "
                                      "bytes",
                                      r->line, name, i, r->b.lim.max_field);
        if (len == 0) {
            if (drop_empty)
                continue;
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: %s[%zu] is empty", r->line,
                                      name, i);
        }
        if (ingest_list_push(l, s))
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: %s has more than %zu items",
                                      r->line, name, r->b.lim.max_items);
    }
    return 0;
}

static const char *resolve(struct jsonl_reader *r, const struct text_ref *t)
{
    return t->in_scratch ? r->scratch.data + t->off : t->ptr;
}

/* The known fields of one line, and the texts made of them. */
struct line_fields {
    struct json_object *input, *output, *topics, *guidance, *tags, *msgs;
    struct json_object *provenance; /* a new object of the provenance keys, or NULL */
    bool has_input, has_output, has_msgs;
    struct text_ref in, out, sys, hg, tp;
    size_t tp_off; /* where a topic_path string was copied in scratch */
};

static bool is_provenance_key(const char *k)
{
    for (size_t i = 0; provenance_keys[i]; i++)
        if (strcmp(k, provenance_keys[i]) == 0)
            return true;
    return false;
}

/* One pass over the keys: each known one is picked up, any other is an error. */
static int pick_fields(struct jsonl_reader *r, struct json_object *obj, struct line_fields *f)
{
    if (!json_object_is_type(obj, json_type_object))
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: each line must be a JSON object, not %s", r->line,
                                  json_type_label(obj));
    json_object_object_foreach(obj, k, v)
    {
        if (strcmp(k, "input") == 0) {
            f->has_input = true;
            f->input = v;
        } else if (strcmp(k, "output") == 0) {
            f->has_output = true;
            f->output = v;
        } else if (strcmp(k, "topic_path") == 0) {
            f->topics = v;
        } else if (strcmp(k, "human_guidance") == 0) {
            f->guidance = v;
        } else if (strcmp(k, "tags") == 0) {
            f->tags = v;
        } else if (strcmp(k, "messages") == 0) {
            f->has_msgs = true;
            f->msgs = v;
        } else if (is_provenance_key(k)) {
            if (!f->provenance && !(f->provenance = json_object_new_object()))
                return ingest_reader_fail(&r->b, HE_NOMEM, "out of memory");
            json_object_object_add(f->provenance, k, json_object_get(v));
        } else {
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: unknown field \"%.40s\"; the known fields are %s",
                                      r->line, k, KNOWN_FIELDS);
        }
    }
    return 0;
}

/* The input and output: from messages, or from input and output. */
static int read_texts(struct jsonl_reader *r, struct line_fields *f)
{
    if (f->has_msgs) {
        if (f->has_input || f->has_output)
            return ingest_reader_fail(
                &r->b, HE_BAD_REQUEST,
                "line %zu: a line has either input (and output) or messages, not both", r->line);
        if (chat_record(r, f->msgs, &f->in, &f->out, &f->sys))
            return r->b.failed;
    } else {
        if (!f->has_input || !f->input)
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: input is missing (each line needs \"input\" "
                                      "or \"messages\")",
                                      r->line);
        if (text_or_object(r, "input", f->input, &f->in))
            return r->b.failed;
        if (f->in.len == 0)
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: input is empty", r->line);
        if (f->output && text_or_object(r, "output", f->output, &f->out))
            return r->b.failed;
    }
    if (f->guidance) {
        if (!json_object_is_type(f->guidance, json_type_string))
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: human_guidance must be a string, not %s", r->line,
                                      json_type_label(f->guidance));
        if (string_value(r, "human_guidance", f->guidance, &f->hg))
            return r->b.failed;
    }
    return 0;
}

/* topic_path (a list, or a string split on ">>>>>") and tags. */
static int read_lists(struct jsonl_reader *r, struct line_fields *f)
{
    r->b.topics.count = 0;
    if (f->topics) {
        if (json_object_is_type(f->topics, json_type_string)) {
            if (string_value(r, "topic_path", f->topics, &f->tp))
                return r->b.failed;
            /* Copied to scratch and split there, after every other scratch text. */
            f->tp_off = r->scratch.len;
            if (scratch_add(r, f->tp.ptr, f->tp.len) || scratch_add(r, "", 1))
                return r->b.failed;
        } else if (json_object_is_type(f->topics, json_type_array)) {
            if (string_list(r, "topic_path", f->topics, &r->b.topics, false))
                return r->b.failed;
        } else {
            return ingest_reader_fail(
                &r->b, HE_BAD_REQUEST,
                "line %zu: topic_path must be a list of strings or a string, not %s", r->line,
                json_type_label(f->topics));
        }
    }
    r->b.tags.count = 0;
    if (f->tags) {
        if (!json_object_is_type(f->tags, json_type_array))
            return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                      "line %zu: tags must be a list of strings, not %s", r->line,
                                      json_type_label(f->tags));
        if (string_list(r, "tags", f->tags, &r->b.tags, true))
            return r->b.failed;
    }
    if (f->tp.len)
        return ingest_reader_topics(&r->b, r->scratch.data + f->tp_off, r->line);
    return 0;
}

/* Hands the row made of f to the callback. */
static int hand_over(struct jsonl_reader *r, const struct line_fields *f)
{
    struct ingest_row row = {.line = r->line};

    row.input = resolve(r, &f->in);
    row.input_len = f->in.len;
    row.input_is_json = f->in.is_json;
    if (f->out.len) {
        row.output = resolve(r, &f->out);
        row.output_len = f->out.len;
        row.output_is_json = f->out.is_json;
    }
    if (f->sys.len)
        row.system = resolve(r, &f->sys);
    if (f->hg.len)
        row.human_guidance = f->hg.ptr;
    if (f->provenance) {
        row.provenance = json_text(f->provenance, &row.provenance_len);
        if (!row.provenance)
            return ingest_reader_fail(&r->b, HE_NOMEM, "out of memory");
    }
    return ingest_reader_deliver(&r->b, &row, r->line);
}

/* Maps one parsed line to a row and delivers it. */
static int deliver(struct jsonl_reader *r, struct json_object *obj)
{
    struct line_fields f = {0};
    int rc;

    buf_reset(&r->scratch);
    if (pick_fields(r, obj, &f) || read_texts(r, &f) || read_lists(r, &f))
        rc = r->b.failed;
    else
        rc = hand_over(r, &f);
    json_object_put(f.provenance);
    return rc;
}

static int bad_json(struct jsonl_reader *r, const struct err *pe)
{
    static const char prefix[] = "malformed JSON at line 1 column ";
    const char *rest;
    char *end;
    unsigned long long col;

    if (pe->code != HE_BAD_JSON)
        return ingest_reader_fail(&r->b, pe->code, "line %zu: %s", r->line, pe->msg);
    if (strncmp(pe->msg, prefix, sizeof(prefix) - 1) == 0) {
        col = strtoull(pe->msg + sizeof(prefix) - 1, &end, 10);
        if (end[0] == ':' && end[1] == ' ') {
            rest = end + 2;
            return ingest_reader_fail(
                &r->b, HE_BAD_JSON, "line %zu column %llu: malformed JSON: %s", r->line, col, rest);
        }
    }
    return ingest_reader_fail(&r->b, HE_BAD_JSON, "line %zu: %s", r->line, pe->msg);
}

static int parse_line(struct jsonl_reader *r, const char *s, size_t n)
{
    struct json_object *obj = NULL;
    struct err pe;
    size_t i;
    int rc;

    if (r->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    if (n && s[n - 1] == '\r')
        n--;
    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            break;
    if (i == n)
        return 0; /* blank */
    if (n > r->b.lim.max_row)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu is longer than the limit of %zu bytes", r->line,
                                  r->b.lim.max_row);
    err_clear(&pe);
    if (json_parse(s, n, &obj, &pe))
        return bad_json(r, &pe);
    rc = deliver(r, obj);
    json_object_put(obj);
    return rc;
}

struct jsonl_reader *jsonl_reader_new(ingest_row_cb row_cb, void *ud,
                                      const struct ingest_limits *limits)
{
    struct jsonl_reader *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    ingest_reader_init(&r->b, row_cb, ud, limits);
    r->line = 1;
    buf_init(&r->part, r->b.lim.max_row + 1);
    buf_init(&r->scratch, r->b.lim.max_row + 16);
    return r;
}

void jsonl_reader_free(struct jsonl_reader *r)
{
    if (!r)
        return;
    buf_done(&r->part);
    buf_done(&r->scratch);
    ingest_reader_done(&r->b);
    free(r);
}

void jsonl_reader_restart(struct jsonl_reader *r, size_t first_line)
{
    r->b.failed = 0;
    r->b.finished = false;
    r->line = first_line;
    r->b.rows = 0;
    buf_reset(&r->part);
}

size_t jsonl_reader_rows(const struct jsonl_reader *r)
{
    return r->b.rows;
}

static int gather(struct jsonl_reader *r, const char *p, size_t n)
{
    int rc = buf_add(&r->part, p, n);
    if (rc == HE_TOO_LARGE)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu is longer than the limit of %zu bytes", r->line,
                                  r->b.lim.max_row);
    if (rc)
        return ingest_reader_fail(&r->b, rc, "out of memory");
    return 0;
}

int jsonl_reader_feed(struct jsonl_reader *r, const void *data, size_t len, struct err *e)
{
    const char *p = data;
    int rc;

    if ((rc = ingest_reader_enter(&r->b, e)))
        return rc;
    while (len) {
        const char *nl = memchr(p, '\n', len);
        size_t n;

        if (!nl)
            return gather(r, p, len);
        n = (size_t)(nl - p);
        if (r->part.len) {
            if (gather(r, p, n))
                return r->b.failed;
            rc = parse_line(r, r->part.data, r->part.len);
            buf_reset(&r->part);
        } else {
            rc = parse_line(r, p, n);
        }
        if (rc)
            return rc;
        r->line++;
        p += n + 1;
        len -= n + 1;
    }
    return 0;
}

int jsonl_reader_finish(struct jsonl_reader *r, struct err *e)
{
    int rc;

    if ((rc = ingest_reader_enter(&r->b, e)))
        return rc;
    r->b.finished = true;
    if (r->part.len) {
        if (parse_line(r, r->part.data, r->part.len))
            return r->b.failed;
        buf_reset(&r->part);
    }
    if (r->b.rows == 0)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "the file has no rows");
    return 0;
}
