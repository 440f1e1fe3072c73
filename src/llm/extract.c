/* SPDX-License-Identifier: MIT */
/*
 * Reading a model's reply. Everything here works on {ptr,len} slices of the reply and looks only
 * for ASCII delimiters, which never occur inside a multi-byte UTF-8 sequence, so any text
 * (Chinese included) passes through byte-exact; UTF-8 validity is left to the JSON parser.
 *
 * The work is bounded, whatever the input: think blocks are found in one forward pass, and the
 * JSON search tries the whole reply, at most MAX_FENCES code fences and at most MAX_STARTS
 * candidate {...} / [...] spans (MAX_SPAN_PARSES of them parsed), so a reply of n bytes costs
 * O(n) time with a small constant, and adversarial input (thousands of unclosed braces or
 * fences) cannot make it quadratic.
 */
#include "llm/extract.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

#define MAX_FENCES      8
#define MAX_STARTS      16
#define MAX_SPAN_PARSES 8

static const char THINK_OPEN[] = "<think>";
static const char THINK_CLOSE[] = "</think>";
#define THINK_OPEN_LEN  (sizeof(THINK_OPEN) - 1)
#define THINK_CLOSE_LEN (sizeof(THINK_CLOSE) - 1)

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Narrows [*p, *p + *n) to drop leading and trailing ASCII whitespace. */
static void trim(const char **p, size_t *n)
{
    while (*n && is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
}

static const char *find(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    return memmem(hay, hay_len, needle, needle_len);
}

/* ---- think blocks --------------------------------------------------------------------------- */

/* Appends one trimmed piece of reasoning, separated from the previous one by a blank line. */
static int add_reasoning(struct buf *b, const char *p, size_t n)
{
    int r;

    trim(&p, &n);
    if (n == 0)
        return 0;
    if (b->len && (r = buf_add(b, "\n\n", 2)))
        return r;
    return buf_add(b, p, n);
}

static bool all_space(const char *p, size_t n)
{
    trim(&p, &n);
    return n == 0;
}

int extract_think(const char *content, size_t len, char **ret_reasoning, char **ret_rest,
                  struct err *e)
{
    struct buf reasoning, rest;
    const char *open, *close, *end = content + len, *pos = content;
    char *rest_text, *reasoning_text = NULL;
    bool has_reasoning;
    const char *p;
    size_t n;
    int r = 0;

    buf_init(&reasoning, len + 2 * (len / 2 + 1));
    buf_init(&rest, len);

    /*
     * A chat template may open the block in the prompt, so the reply starts inside it and
     * only closes it: "reasoning</think>answer".
     */
    close = find(content, len, THINK_CLOSE, THINK_CLOSE_LEN);
    open = find(content, len, THINK_OPEN, THINK_OPEN_LEN);
    if (close && (!open || close < open)) {
        r = add_reasoning(&reasoning, content, (size_t)(close - content));
        pos = close + THINK_CLOSE_LEN;
    }
    while (r == 0 && pos < end) {
        open = find(pos, (size_t)(end - pos), THINK_OPEN, THINK_OPEN_LEN);
        if (!open) {
            r = buf_add(&rest, pos, (size_t)(end - pos));
            break;
        }
        if ((r = buf_add(&rest, pos, (size_t)(open - pos))))
            break;
        p = open + THINK_OPEN_LEN;
        close = find(p, (size_t)(end - p), THINK_CLOSE, THINK_CLOSE_LEN);
        if (close) {
            r = add_reasoning(&reasoning, p, (size_t)(close - p));
            pos = close + THINK_CLOSE_LEN;
            continue;
        }
        /*
         * Unterminated: at the start (nothing but blocks and blanks before it) the model was
         * cut off while thinking; anywhere else the tag is ordinary text of the answer.
         */
        if (all_space(rest.data ? rest.data : "", rest.len))
            r = add_reasoning(&reasoning, p, (size_t)(end - p));
        else
            r = buf_add(&rest, open, (size_t)(end - open));
        break;
    }
    if (r) {
        buf_done(&reasoning);
        buf_done(&rest);
        return err_set(e, r, NULL, "reading the reply: %s", err_text(r));
    }

    p = rest.data ? rest.data : "";
    n = rest.len;
    trim(&p, &n);
    rest_text = strndup(p, n);
    has_reasoning = reasoning.len > 0;
    if (has_reasoning)
        reasoning_text = buf_take(&reasoning);
    buf_done(&reasoning);
    buf_done(&rest);
    if (!rest_text || (has_reasoning && !reasoning_text)) {
        free(rest_text);
        free(reasoning_text);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    *ret_reasoning = reasoning_text;
    *ret_rest = rest_text;
    return 0;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* One search over a reply: the text, and the first parse failure met (the likeliest cause). */
struct search {
    const char *text;
    size_t len;
    struct err first;
    size_t unclosed; /* offset of the first bracket never closed, or SIZE_MAX */
};

/* 1-based line and column (in code points) of offset off. */
static void position(const struct search *s, size_t off, size_t *ret_line, size_t *ret_col)
{
    size_t line = 1, col = 1;

    for (size_t i = 0; i < off; i++) {
        if (s->text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)s->text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

/*
 * Parses text[off, off + n). On failure, with record, remembers the first error prefixed with
 * `what` (and, with where, the position of the candidate in the reply).
 */
static bool try_parse(struct search *s, size_t off, size_t n, const char *what, bool where,
                      bool record, struct json_object **ret)
{
    struct err pe;
    size_t line, col;

    err_clear(&pe);
    if (json_parse(s->text + off, n, ret, &pe) == 0)
        return true;
    if (record && !s->first.code) {
        if (!where) {
            err_set(&s->first, HE_INVALID, NULL, "%s does not parse: %s", what, pe.msg);
            return false;
        }
        position(s, off, &line, &col);
        err_set(&s->first, HE_INVALID, NULL, "%s at line %zu column %zu does not parse: %s", what,
                line, col, pe.msg);
    }
    return false;
}

static bool fence_tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '+' || c == '.';
}

/* The closing fence after body: preferably ``` at the start of a line, else the next ```. */
static const char *fence_close(const char *body, const char *end)
{
    const char *first = NULL, *p = body;

    while (p < end) {
        const char *hit = find(p, (size_t)(end - p), "```", 3), *q;
        if (!hit)
            break;
        if (!first)
            first = hit;
        for (q = hit; q > body && (q[-1] == ' ' || q[-1] == '\t'); q--)
            ;
        if (q > body && q[-1] == '\n')
            return hit;
        p = hit + 3;
    }
    return first;
}

/* Tries the bodies of ```json and bare ``` fences in order (an unclosed one runs to the end). */
static bool from_fences(struct search *s, struct json_object **ret)
{
    const char *end = s->text + s->len, *p = s->text;

    for (int i = 0; i < MAX_FENCES && p < end; i++) {
        const char *open = find(p, (size_t)(end - p), "```", 3), *tag, *body, *close;
        size_t tag_len, n;

        if (!open)
            return false;
        tag = open + 3;
        while (tag < end && *tag == '`')
            tag++;
        while (tag < end && (*tag == ' ' || *tag == '\t'))
            tag++;
        for (body = tag; body < end && fence_tag_char(*body); body++)
            ;
        tag_len = (size_t)(body - tag);
        close = fence_close(body, end);
        p = close ? close + 3 : end;
        while (p < end && *p == '`')
            p++;
        if (tag_len != 0 && !(tag_len == 4 && strncasecmp(tag, "json", 4) == 0))
            continue;
        n = (size_t)((close ? close : end) - body);
        const char *b = body;
        trim(&b, &n);
        if (n == 0)
            continue;
        if (try_parse(s, (size_t)(b - s->text), n, tag_len ? "the ```json block" : "the ``` block",
                      true, true, ret))
            return true;
    }
    return false;
}

/*
 * The end (exclusive) of the balanced {...} or [...] span opening at text[start], skipping
 * brackets inside strings; 0 when it is never closed.
 */
static size_t span_end(const struct search *s, size_t start)
{
    size_t depth = 0;
    bool in_string = false;

    for (size_t i = start; i < s->len; i++) {
        char c = s->text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/*
 * Tries balanced spans from the first '{' or '[' on. A span that is balanced but does not parse
 * is skipped whole (a fragment of broken JSON is not the answer); after a bracket that is never
 * closed the search goes on from the next bracket.
 */
static bool from_spans(struct search *s, struct json_object **ret)
{
    size_t pos = 0, parses = 0;
    const char *w = s->text;

    for (int i = 0; i < MAX_STARTS && parses < MAX_SPAN_PARSES; i++) {
        const char *a = memchr(w + pos, '{', s->len - pos), *b = memchr(w + pos, '[', s->len - pos);
        size_t start, end;

        if (!a && !b)
            return false;
        start = (size_t)((a && (!b || a < b) ? a : b) - w);
        end = span_end(s, start);
        if (!end) {
            if (s->unclosed == SIZE_MAX)
                s->unclosed = start;
            pos = start + 1;
            continue;
        }
        parses++;
        if (try_parse(s, start, end - start, w[start] == '{' ? "the {...} span" : "the [...] span",
                      true, true, ret))
            return true;
        pos = end;
    }
    return false;
}

int extract_json(const char *text, size_t len, struct json_object **ret, struct err *e)
{
    struct search s = {.text = text, .len = len, .unclosed = SIZE_MAX};
    struct json_object *obj = NULL;
    const char *p = text;
    size_t n = len, line, col;

    err_clear(&s.first);
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        n -= 3;
    }
    trim(&p, &n);
    if (n == 0)
        return err_set(e, HE_INVALID, NULL, "no JSON found in the reply: it is empty");
    /* The whole reply; its failure is worth reporting only when it looks like JSON. */
    if (try_parse(&s, (size_t)(p - text), n, "the reply", false, *p == '{' || *p == '[', &obj) ||
        from_fences(&s, &obj) || from_spans(&s, &obj)) {
        *ret = obj;
        return 0;
    }
    if (s.first.code)
        return err_set(e, HE_INVALID, NULL, "no valid JSON in the reply: %s", s.first.msg);
    if (s.unclosed != SIZE_MAX) {
        position(&s, s.unclosed, &line, &col);
        return err_set(e, HE_INVALID, NULL,
                       "no JSON found in the reply: the '%c' at line %zu column %zu is never "
                       "closed",
                       text[s.unclosed], line, col);
    }
    return err_set(e, HE_INVALID, NULL, "no JSON found in the reply");
}
