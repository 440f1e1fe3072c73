/* SPDX-License-Identifier: MIT */
/*
 * Kiln 0.15's fine-tune dataset formats, byte for byte. Each line is what Kiln's dataset
 * formatter writes for the same run: a Python dict passed to json.dumps(ensure_ascii=False), so
 * items are separated by ", " and keys by ": ", non-ASCII text stays raw, '/' is not escaped and
 * control characters other than \b \f \n \r \t are \u00xx in lower case (the escaping of
 * util/jsonw.h). Key order follows Kiln's dict literals.
 *
 * A sample becomes Kiln's training data: the input and the final output (the repaired output's
 * text when there is one) as Kiln stores them, which for a task with a schema is the value
 * written by json.dumps(ensure_ascii=False) (Hetu stores it compact), and with the
 * final_and_intermediate strategy, for runs whose intermediate outputs hold "reasoning" or
 * "chain_of_thought", three more turns: the thinking instructions, the thinking (non-empty
 * "reasoning" wins over "chain_of_thought") and Kiln's final-answer prompt. The formats with a
 * JSON answer (json_schema and the tool calls) parse the output and write it again as Python
 * would, so it fits on one line with Python's separators.
 *
 * Where Hetu departs from Kiln, on purpose: the chat-template tool call id, nine random hex
 * digits in Kiln, is derived from the run id so that an export is reproducible; the three
 * JSON-answer formats refuse a task without an output schema before any byte (Kiln fails on
 * the first output that is not JSON); and an answer holding an integer past 64 bits is refused
 * rather than written clamped (json-c clamps it, Python keeps it whole).
 *
 * Pure functions: no store, no I/O, no state between rows. A row that fails leaves `out` as it
 * found it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "export/format.h"
#include "export/kiln.h"
#include "gen/prompt.h"
#include "util/json.h"
#include "util/jsonw.h"

#include "util/banned.h"

/* The turn that follows the thinking, as Kiln's adapters word it. */
static const char cot_final_answer_prompt[] = "Considering the above, return a final result.";

static int py_strn(struct buf *out, const char *s, size_t len)
{
    int r;
    if ((r = buf_add(out, "\"", 1)) < 0 || (r = jsonw_escape(out, s, len)) < 0)
        return r;
    return buf_add(out, "\"", 1);
}

int export_py_str(struct buf *out, const char *s)
{
    return py_strn(out, s, strlen(s));
}

/* Whether m * 10^e, m of 1 to 18 digits, reads back as x. */
static bool reads_back(uint64_t m, int e, double x)
{
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m, e);
    return strtod(tmp, NULL) == x;
}

/* The shortest digits that read back as x (finite, positive) and, of those, the closest to x,
 * as Python's repr picks them: digits[] without a point and trailing zeros, and decpt such that
 * x = 0.DIGITS * 10^decpt. At each length the correctly rounded digits are the closest; where
 * the interval reading back as x is lopsided (at powers of two) a neighbour may read back while
 * they do not. */
static void shortest_digits(double x, char digits[24], int *ret_decpt)
{
    char tmp[40], *p;
    uint64_t m = 0;
    int e = 0, n;

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
        m = 0;
        for (p = tmp; *p != 'e'; p++)
            if (*p != '.')
                m = m * 10 + (uint64_t)(*p - '0');
        e = (int)strtol(p + 1, NULL, 10) - (prec - 1); /* x ~ m * 10^e */
        if (reads_back(m, e, x) || prec == 17)
            break;
        if (reads_back(m + 1, e, x)) {
            m++;
            break;
        }
        if (m > 1 && reads_back(m - 1, e, x)) {
            m--;
            break;
        }
    }
    while (m % 10 == 0) {
        m /= 10;
        e++;
    }
    n = snprintf(digits, 24, "%" PRIu64, m);
    *ret_decpt = e + n;
}

static int add_zeros(struct buf *out, int n)
{
    int r = 0;
    while (r == 0 && n-- > 0)
        r = buf_add(out, "0", 1);
    return r;
}

/* repr(float): fixed notation for 1e-4 <= |x| < 1e16, else d.ddde[+-]XX. */
static int py_float(double x, struct buf *out)
{
    char digits[24];
    int decpt, nd, exp, r = 0;

    if (isnan(x))
        return buf_adds(out, "NaN");
    if (isinf(x))
        return buf_adds(out, x < 0 ? "-Infinity" : "Infinity");
    if (signbit(x) && (r = buf_add(out, "-", 1)) < 0)
        return r;
    x = fabs(x);
    if (x == 0)
        return buf_adds(out, "0.0");
    shortest_digits(x, digits, &decpt);
    nd = (int)strlen(digits);
    if (decpt <= -4 || decpt > 16) {
        exp = decpt - 1;
        return buf_addf(out, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "", digits + 1,
                        exp < 0 ? '-' : '+', abs(exp));
    }
    if (decpt <= 0) {
        if ((r = buf_adds(out, "0.")) < 0 || (r = add_zeros(out, -decpt)) < 0)
            return r;
        return buf_adds(out, digits);
    }
    if (decpt >= nd) {
        if ((r = buf_adds(out, digits)) < 0 || (r = add_zeros(out, decpt - nd)) < 0)
            return r;
        return buf_adds(out, ".0");
    }
    return buf_addf(out, "%.*s.%s", decpt, digits, digits + decpt);
}

int export_py_json(struct json_object *v, struct buf *out)
{
    int r = 0;
    size_t i = 0;

    switch (json_object_get_type(v)) {
    case json_type_null: return buf_adds(out, "null");
    case json_type_boolean: return buf_adds(out, json_object_get_boolean(v) ? "true" : "false");
    case json_type_double: return py_float(json_object_get_double(v), out);
    case json_type_int:
        /* json-c clamps integers beyond 64 bits to the limits, which Python keeps whole */
        if (json_object_get_int64(v) == INT64_MIN || json_object_get_uint64(v) == UINT64_MAX)
            return HE_BAD_REQUEST;
        if (json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
            return buf_addf(out, "%" PRIu64, json_object_get_uint64(v));
        return buf_addf(out, "%" PRId64, json_object_get_int64(v));
    case json_type_string:
        return py_strn(out, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array:
        r = buf_add(out, "[", 1);
        for (i = 0; r == 0 && i < json_object_array_length(v); i++) {
            if (i && (r = buf_add(out, ", ", 2)) < 0)
                break;
            r = export_py_json(json_object_array_get_idx(v, i), out);
        }
        return r ? r : buf_add(out, "]", 1);
    case json_type_object:
        r = buf_add(out, "{", 1);
        json_object_object_foreach(v, key, val)
        {
            if (r == 0 && i++)
                r = buf_add(out, ", ", 2);
            if (r == 0)
                r = export_py_str(out, key);
            if (r == 0)
                r = buf_add(out, ": ", 2);
            if (r == 0)
                r = export_py_json(val, out);
        }
        return r ? r : buf_add(out, "}", 1);
    }
    return 0;
}

/* The most a structured input or output takes once rendered again. */
#define SAMPLE_TEXT_MAX (256u * 1024 * 1024)

static bool has_schema(const char *schema)
{
    return schema && *schema;
}

/* One run as Kiln's training data. The strings point into the run or into `keep`. */
struct sample {
    const char *input;
    const char *final_output;
    const char *thinking_instructions; /* with thinking: the turn asking for it */
    const char *thinking;              /* NULL: no chain-of-thought turns */
    struct json_object *answer;        /* the parsed output, for the formats that need it */
    struct json_object *keep[2];       /* parsed repaired and intermediate outputs */
    struct buf stored[2];              /* structured input and output as Kiln stores them */
};

static void sample_done(struct sample *s)
{
    json_object_put(s->answer);
    json_object_put(s->keep[0]);
    json_object_put(s->keep[1]);
    buf_done(&s->stored[0]);
    buf_done(&s->stored[1]);
}

/* A structured value as Kiln stores it, json.dumps(value, ensure_ascii=False), in b and *text.
 * Text that is not JSON, or that json-c cannot hold whole, stays as it is. */
static int as_kiln_stores(const char **text, struct buf *b)
{
    struct json_object *v = NULL;
    struct err pe = ERR_INIT;
    int r;

    if (json_parse(*text, strlen(*text), &v, &pe) < 0)
        return 0;
    r = export_py_json(v, b);
    json_object_put(v);
    if (r == 0)
        *text = b->data;
    return r == HE_BAD_REQUEST ? 0 : r;
}

/* The repaired output's text, as Kiln prefers it over the output. */
static int final_output(const struct run *r, struct sample *s, struct err *e)
{
    struct json_object *v;
    struct err pe = ERR_INIT;

    s->final_output = r->output;
    if (!r->repaired_output)
        return 0;
    if (json_parse(r->repaired_output, strlen(r->repaired_output), &s->keep[0], &pe) == 0 &&
        !s->keep[0])
        return 0; /* JSON null: no repair */
    if (pe.code || !json_object_object_get_ex(s->keep[0], "output", &v) ||
        !json_object_is_type(v, json_type_string))
        return err_set(e, HE_BAD_REQUEST, NULL, "sample %s: its repaired output has no text",
                       r->id);
    s->final_output = json_object_get_string(v);
    return 0;
}

/* The thinking: a non-empty "reasoning", else "chain_of_thought" (which may be empty). Kiln
 * adds the turns only when one of the keys is there and the chosen value is not null. */
static int thinking(const struct export_opts *o, const struct run *r, struct sample *s,
                    struct err *e)
{
    struct json_object *reasoning = NULL, *cot = NULL, *pick;
    struct err pe = ERR_INIT;
    const char *io = r->intermediate_outputs;

    if (o->strategy != EXPORT_FINAL_AND_INTERMEDIATE || !io || strcmp(io, "{}") == 0)
        return 0;
    if (json_parse(io, strlen(io), &s->keep[1], &pe) < 0 ||
        !json_object_is_type(s->keep[1], json_type_object))
        return err_set(e, HE_BAD_REQUEST, NULL,
                       "sample %s: its intermediate outputs are not a JSON object", r->id);
    json_object_object_get_ex(s->keep[1], "reasoning", &reasoning);
    json_object_object_get_ex(s->keep[1], "chain_of_thought", &cot);
    pick = reasoning && json_object_is_type(reasoning, json_type_string) &&
                   json_object_get_string_len(reasoning) > 0
               ? reasoning
               : cot;
    if (!pick || json_object_is_type(pick, json_type_null))
        return 0;
    if (!json_object_is_type(pick, json_type_string))
        return err_set(e, HE_BAD_REQUEST, NULL, "sample %s: its thinking is not text", r->id);
    s->thinking = json_object_get_string(pick);
    s->thinking_instructions = o->thinking_instructions && *o->thinking_instructions
                                   ? o->thinking_instructions
                                   : prompt_thinking_instruction(o->task);
    return 0;
}

static int sample_init(const struct export_opts *o, const struct run *r, bool json_answer,
                       struct sample *s, struct err *e)
{
    struct err pe = ERR_INIT;
    int rc;

    memset(s, 0, sizeof(*s));
    buf_init(&s->stored[0], SAMPLE_TEXT_MAX);
    buf_init(&s->stored[1], SAMPLE_TEXT_MAX);
    s->input = r->input;
    if ((rc = final_output(r, s, e)) < 0 || (rc = thinking(o, r, s, e)) < 0)
        return rc;
    if (has_schema(o->task->input_json_schema) && (rc = as_kiln_stores(&s->input, &s->stored[0])))
        return err_set(e, rc, NULL, "sample %s: its input does not fit in memory", r->id);
    if (!json_answer && has_schema(o->task->output_json_schema) &&
        (rc = as_kiln_stores(&s->final_output, &s->stored[1])))
        return err_set(e, rc, NULL, "sample %s: its output does not fit in memory", r->id);
    if (json_answer && json_parse(s->final_output, strlen(s->final_output), &s->answer, &pe) < 0)
        return err_set(e, HE_BAD_REQUEST, NULL,
                       "sample %s: its output is not valid JSON, which this format needs (%s)",
                       r->id, pe.msg);
    return 0;
}

/* Drops what a failed row appended. */
static void undo(struct buf *out, size_t start)
{
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
}

/* Drops what the failed row appended and says why (an earlier message, set where the sample
 * was read, wins). */
static int row_failed(struct buf *out, size_t start, const struct run *run, int r, struct err *e)
{
    undo(out, start);
    if (r == HE_BAD_REQUEST)
        return err_set(e, r, NULL,
                       "sample %s: its output holds an integer beyond 64 bits, which this export "
                       "cannot write",
                       run->id);
    return err_set(e, r, NULL, "sample %s: its line does not fit in the export buffer", run->id);
}

/* {"role": ROLE, "content": TEXT}, after ", " unless first */
static int chat_turn(struct buf *out, bool first, const char *role, const char *text)
{
    int r;
    if ((!first && (r = buf_adds(out, ", ")) < 0) || (r = buf_adds(out, "{\"role\": ")) < 0 ||
        (r = export_py_str(out, role)) < 0 || (r = buf_adds(out, ", \"content\": ")) < 0 ||
        (r = export_py_str(out, text)) < 0)
        return r;
    return buf_adds(out, "}");
}

/* {"role": ROLE, "parts": [{"text": TEXT}]}, after ", " unless first */
static int gemini_turn(struct buf *out, bool first, const char *role, const char *text)
{
    int r;
    if ((!first && (r = buf_adds(out, ", ")) < 0) || (r = buf_adds(out, "{\"role\": ")) < 0 ||
        (r = export_py_str(out, role)) < 0 ||
        (r = buf_adds(out, ", \"parts\": [{\"text\": ")) < 0 || (r = export_py_str(out, text)) < 0)
        return r;
    return buf_adds(out, "}]}");
}

typedef int (*turn_cb)(struct buf *out, bool first, const char *role, const char *text);

/* The three chain-of-thought turns, when the sample has thinking. */
static int cot_turns(const struct sample *s, turn_cb turn, const char *model_role, struct buf *out)
{
    int r;
    if (!s->thinking)
        return 0;
    if ((r = turn(out, false, "user", s->thinking_instructions)) < 0 ||
        (r = turn(out, false, model_role, s->thinking)) < 0)
        return r;
    return turn(out, false, "user", cot_final_answer_prompt);
}

/* How the assistant's last turn carries the answer. */
enum answer_kind {
    ANSWER_TEXT,        /* the output text as it is */
    ANSWER_JSON_TEXT,   /* the output re-rendered as JSON text */
    ANSWER_OPENAI_TOOL, /* an OpenAI tool call whose arguments are the JSON text */
    ANSWER_HF_TOOL,     /* a chat-template tool call whose arguments are the JSON value */
};

/* Nine lower-case hex digits standing for the call id Kiln draws at random, derived from the
 * run id so that the same run exports the same bytes. */
static void hf_call_id(const struct run *r, char id[10])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = r->id; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    snprintf(id, 10, "%09" PRIx64, (uint64_t)(h & 0xfffffffffULL));
}

static int answer_turn(const struct run *run, const struct sample *s, enum answer_kind kind,
                       struct buf *out)
{
    struct buf json;
    char id[10];
    int r;

    if (kind == ANSWER_TEXT)
        return chat_turn(out, false, "assistant", s->final_output);
    if (kind == ANSWER_HF_TOOL) {
        hf_call_id(run, id);
        if ((r = buf_addf(out,
                          ", {\"role\": \"assistant\", \"tool_calls\": [{\"type\": \"function\", "
                          "\"function\": {\"name\": \"task_response\", \"id\": \"%s\", "
                          "\"arguments\": ",
                          id)) < 0 ||
            (r = export_py_json(s->answer, out)) < 0)
            return r;
        return buf_adds(out, "}}]}");
    }
    buf_init(&json, out->max);
    r = export_py_json(s->answer, &json);
    if (r == 0 && kind == ANSWER_JSON_TEXT)
        r = chat_turn(out, false, "assistant", json.data);
    else if (r == 0) {
        if ((r = buf_adds(out, ", {\"role\": \"assistant\", \"content\": null, \"tool_calls\": "
                               "[{\"id\": \"call_1\", \"type\": \"function\", \"function\": "
                               "{\"name\": \"task_response\", \"arguments\": ")) == 0 &&
            (r = export_py_str(out, json.data)) == 0)
            r = buf_adds(out, "}}]}");
    }
    buf_done(&json);
    return r;
}

/* A chat line: {"KEY": [system, user, (thinking turns), answer]} */
static int chat_line(const struct export_opts *o, const struct run *run, const char *key,
                     enum answer_kind kind, struct buf *out, struct err *e)
{
    struct sample s;
    size_t start = out->len;
    int r;

    if ((r = sample_init(o, run, kind != ANSWER_TEXT, &s, e)) == 0 &&
        (r = buf_addf(out, "{\"%s\": [", key)) == 0 &&
        (r = chat_turn(out, true, "system", o->system_message)) == 0 &&
        (r = chat_turn(out, false, "user", s.input)) == 0 &&
        (r = cot_turns(&s, chat_turn, "assistant", out)) == 0 &&
        (r = answer_turn(run, &s, kind, out)) == 0)
        r = buf_adds(out, "]}\n");
    sample_done(&s);
    return r < 0 ? row_failed(out, start, run, r, e) : 0;
}

static int openai_chat_row(const struct export_opts *o, const struct run *r, size_t nth,
                           struct buf *out, struct err *e)
{
    (void)nth;
    return chat_line(o, r, "messages", ANSWER_TEXT, out, e);
}

static int openai_json_schema_row(const struct export_opts *o, const struct run *r, size_t nth,
                                  struct buf *out, struct err *e)
{
    (void)nth;
    return chat_line(o, r, "messages", ANSWER_JSON_TEXT, out, e);
}

static int openai_toolcall_row(const struct export_opts *o, const struct run *r, size_t nth,
                               struct buf *out, struct err *e)
{
    (void)nth;
    return chat_line(o, r, "messages", ANSWER_OPENAI_TOOL, out, e);
}

static int hf_chat_row(const struct export_opts *o, const struct run *r, size_t nth,
                       struct buf *out, struct err *e)
{
    (void)nth;
    return chat_line(o, r, "conversations", ANSWER_TEXT, out, e);
}

static int hf_toolcall_row(const struct export_opts *o, const struct run *r, size_t nth,
                           struct buf *out, struct err *e)
{
    (void)nth;
    return chat_line(o, r, "conversations", ANSWER_HF_TOOL, out, e);
}

/* {"systemInstruction": {...}, "contents": [user, (thinking turns), model]} */
static int vertex_gemini_row(const struct export_opts *o, const struct run *run, size_t nth,
                             struct buf *out, struct err *e)
{
    struct sample s;
    size_t start = out->len;
    int r;

    (void)nth;
    if ((r = sample_init(o, run, false, &s, e)) == 0 &&
        (r = buf_adds(out, "{\"systemInstruction\": ")) == 0 &&
        (r = gemini_turn(out, true, "system", o->system_message)) == 0 &&
        (r = buf_adds(out, ", \"contents\": [")) == 0 &&
        (r = gemini_turn(out, true, "user", s.input)) == 0 &&
        (r = cot_turns(&s, gemini_turn, "model", out)) == 0 &&
        (r = gemini_turn(out, false, "model", s.final_output)) == 0)
        r = buf_adds(out, "]}\n");
    sample_done(&s);
    return r < 0 ? row_failed(out, start, run, r, e) : 0;
}

/* The formats whose answer is JSON need a task whose outputs are JSON. */
static int needs_output_schema(const struct export_opts *o, const char *what, struct err *e)
{
    if (has_schema(o->task->output_json_schema))
        return 0;
    return err_set(e, HE_BAD_REQUEST, NULL,
                   "this format writes the output as %s, which needs a task with an output "
                   "schema; task %s has none (use openai_chat_jsonl, "
                   "huggingface_chat_template_jsonl or vertex_gemini)",
                   what, o->task->id);
}

static int json_schema_check(const struct export_opts *o, struct err *e)
{
    return needs_output_schema(o, "JSON", e);
}

static int toolcall_check(const struct export_opts *o, struct err *e)
{
    return needs_output_schema(o, "the arguments of a tool call", e);
}

#define KILN_JSONL(fname, fcheck, frow)                                                            \
    {                                                                                              \
        .name = fname, .content_type = "application/jsonl", .extension = "jsonl", .check = fcheck, \
        .row = frow,                                                                               \
    }

const struct export_format export_kiln_formats[] = {
    KILN_JSONL("openai_chat_jsonl", NULL, openai_chat_row),
    KILN_JSONL("openai_chat_json_schema_jsonl", json_schema_check, openai_json_schema_row),
    KILN_JSONL("openai_chat_toolcall_jsonl", toolcall_check, openai_toolcall_row),
    KILN_JSONL("huggingface_chat_template_jsonl", NULL, hf_chat_row),
    KILN_JSONL("huggingface_chat_template_toolcall_jsonl", toolcall_check, hf_toolcall_row),
    KILN_JSONL("vertex_gemini", NULL, vertex_gemini_row),
    {0},
};
