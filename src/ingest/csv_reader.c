/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. A push parser over libcsv (strict RFC 4180: CSV_STRICT | CSV_STRICT_FINI |
 * CSV_APPEND_NULL, spaces kept). The caller's thread runs it; a reader is not shared.
 *
 * libcsv reports neither line nor column, so feed() hands it the input one segment at a time: a
 * segment ends after a line end ('\n', '\r'), at the end of the chunk, or after SEG_MAX bytes.
 * Between segments the reader knows the line (and the column, in characters) of the next byte, so:
 * - a row starts on the line of the segment in which libcsv leaves its "row not begun" state
 *   (pstate 0 in libcsv 3.0) or delivers the row's first field (libcsv skips blank lines);
 * - a quoting error is at the byte where csv_parse() stopped, inside the current segment;
 * - a field cannot outgrow max_field by more than one segment before the check after it.
 * Fields of the current row are copied into one bounded buffer (rowbuf, reused for every row), so
 * memory is bounded by max_row + max_field + SEG_MAX whatever the file size, with no allocation
 * per row once the buffers have grown. A UTF-8 BOM at the start is dropped, even when it arrives
 * split across chunks.
 *
 * Lines end at '\n', '\r\n' and a lone '\r' (old Mac files), inside quoted fields too; a '\n'
 * right after a '\r' is part of the same line end, even when a chunk boundary falls between.
 *
 * Invariants: `line` is the line of the next byte handed to libcsv; once `failed` is set, every
 * call returns it and nothing more is parsed.
 */
#include "ingest/csv_reader.h"

#include <csv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/utf8.h"
#include "ingest/reader.h"
#include "util/banned.h"

#define CSV_FIELD_STEP (64u << 10)

#define SEG_MAX (64 * 1024)

/* The columns after tags are those of a CSV export: rating and session_id are read (as the
 * row's provenance), the models and created_at are accepted and not used. */
enum col_kind {
    COL_INPUT,
    COL_OUTPUT,
    COL_TOPIC_PATH,
    COL_HUMAN_GUIDANCE,
    COL_TAGS,
    COL_RATING,
    COL_SESSION_ID,
    COL_INPUT_MODEL,
    COL_OUTPUT_MODEL,
    COL_CREATED_AT,
    COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "input",  "output",     "topic_path",  "human_guidance", "tags",
    "rating", "session_id", "input_model", "output_model",   "created_at"};
#define KNOWN_COLUMNS                                                                    \
    "input, output, topic_path, human_guidance, tags, rating, session_id, input_model, " \
    "output_model, created_at"

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

struct csv_reader {
    struct csv_parser csv;
    struct ingest_reader b; /* callback, limits, sticky error, lists, row count */
    unsigned bom_len;       /* bytes of a possible BOM held back (0..2); 3 once decided */

    size_t line;       /* line of the next byte handed to libcsv */
    size_t col;        /* characters of that line before it */
    size_t row_line;   /* line where the current row starts */
    size_t field_line; /* line where the current field starts */
    bool row_pending;  /* between rows: the next content starts one */
    bool after_cr;     /* the last byte handed to libcsv was a '\r' */

    bool header_done;
    size_t ncols;           /* header columns (all known, each once) */
    int kind_of[COL_COUNT]; /* column index -> enum col_kind */
    int col_of[COL_COUNT];  /* enum col_kind -> column index, or -1 */
    struct buf unknown;     /* unknown header names, for the message */
    size_t unknown_count;

    size_t nfields;        /* fields of the current row so far */
    size_t off[COL_COUNT]; /* per column: offset of its text in rowbuf */
    size_t len[COL_COUNT]; /* per column: its length */
    struct buf rowbuf;     /* the current row's fields, each NUL-terminated */
    struct buf prov;       /* the current row's rating and session as JSON */
};

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* Line ends in s[0..len), counted as parse() counts them (for an error inside a field). */
static size_t count_lines(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') {
            n++;
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else if (s[i] == '\n') {
            n++;
        }
    }
    return n;
}

static const char *column_label(struct csv_reader *r, size_t idx, char *out, size_t size)
{
    if (!r->header_done)
        snprintf(out, size, "header column %zu", idx + 1);
    else if (idx < r->ncols)
        snprintf(out, size, "column \"%s\"", col_names[r->kind_of[idx]]);
    else
        snprintf(out, size, "column %zu", idx + 1);
    return out;
}

static int check_text(struct csv_reader *r, size_t idx, const char *s, size_t len)
{
    char label[64];
    size_t bad;

    if (utf8_valid(s, len))
        return 0;
    bad = utf8_check(s, len);
    if (bad == len)
        return 0; /* the two checks agree; never reached */
    return ingest_reader_fail(
        &r->b, HE_BAD_REQUEST, "line %zu, %s: %s", r->field_line + count_lines(s, bad),
        column_label(r, idx, label, sizeof(label)),
        s[bad] ? "invalid UTF-8 (the file must be UTF-8 encoded)" : "NUL byte in text");
}

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static void header_field(struct csv_reader *r, const char *s, size_t len)
{
    size_t idx = r->nfields - 1;
    int kind;

    if (r->nfields > r->b.lim.max_columns) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: the header has more than %zu columns",
                           r->row_line, r->b.lim.max_columns);
        return;
    }
    trim(&s, &len);
    if (len == 0) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                           "line %zu: header column %zu has no name; the known columns are %s",
                           r->row_line, idx + 1, KNOWN_COLUMNS);
        return;
    }
    for (kind = 0; kind < COL_COUNT; kind++)
        if (strlen(col_names[kind]) == len && strncasecmp(s, col_names[kind], len) == 0)
            break;
    if (kind == COL_COUNT) {
        /* Collected and reported at the end of the header, all at once. */
        if (r->unknown_count++ < 8) {
            if (r->unknown.len)
                buf_adds(&r->unknown, ", ");
            buf_addf(&r->unknown, "\"%.*s\"", len > 40 ? 40 : (int)len, s);
        }
        return;
    }
    if (r->col_of[kind] >= 0) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: the header names column \"%s\" twice",
                           r->row_line, col_names[kind]);
        return;
    }
    r->col_of[kind] = (int)idx;
    /* Past COL_COUNT columns some name is unknown or repeated: the header fails anyway. */
    if (idx < COL_COUNT)
        r->kind_of[idx] = kind;
}

static void field_cb(void *data, size_t len, void *ud)
{
    struct csv_reader *r = ud;
    const char *s = data;
    size_t idx;
    char label[64];
    int rc;

    if (r->b.failed)
        return;
    if (r->row_pending) {
        /* The row's first field, complete in the segment where the row began. */
        r->row_pending = false;
        r->row_line = r->field_line = r->line;
    }
    idx = r->nfields++;
    if (len > r->b.lim.max_field) {
        ingest_reader_fail(
            &r->b, HE_BAD_REQUEST, "line %zu, %s: the field is larger than the limit of %zu bytes",
            r->field_line, column_label(r, idx, label, sizeof(label)), r->b.lim.max_field);
        return;
    }
    if (!data) {
        s = "";
        len = 0;
    }
    if (check_text(r, idx, s, len))
        return;
    if (!r->header_done) {
        header_field(r, s, len);
    } else if (idx < r->ncols) {
        r->off[idx] = r->rowbuf.len;
        r->len[idx] = len;
        rc = buf_add(&r->rowbuf, s, len + 1);
        if (rc == HE_TOO_LARGE)
            ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                               "line %zu: the row is larger than the limit of %zu bytes",
                               r->row_line, r->b.lim.max_row);
        else if (rc)
            ingest_reader_fail(&r->b, rc, "out of memory");
    }
    r->field_line = r->line;
}

static void end_header(struct csv_reader *r)
{
    if (r->unknown_count) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                           "line %zu: unknown column%s %s%s; the known columns are %s", r->row_line,
                           r->unknown_count > 1 ? "s" : "", r->unknown.data,
                           r->unknown_count > 8 ? ", ..." : "", KNOWN_COLUMNS);
        return;
    }
    if (r->col_of[COL_INPUT] < 0) {
        ingest_reader_fail(
            &r->b, HE_BAD_REQUEST,
            "line %zu: the header has no \"input\" column (the first row must name the columns: "
            "%s)",
            r->row_line, KNOWN_COLUMNS);
        return;
    }
    r->ncols = r->nfields;
    r->header_done = true;
    buf_done(&r->unknown);
}

/* Splits s in place on commas into trimmed, non-empty tags. */
static int split_tags(struct csv_reader *r, char *s)
{
    r->b.tags.count = 0;
    while (*s) {
        char *comma = strchr(s, ',');
        char *end = comma ? comma : s + strlen(s);
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > s) {
            *end = '\0';
            if (ingest_list_push(&r->b.tags, s))
                return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                          "line %zu: tags has more than %zu tags", r->row_line,
                                          r->b.lim.max_items);
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    return 0;
}

static char *col_text(struct csv_reader *r, int kind, size_t *ret_len)
{
    int idx = r->col_of[kind];

    if (idx < 0) {
        *ret_len = 0;
        return NULL;
    }
    *ret_len = r->len[idx];
    return r->rowbuf.data + r->off[idx];
}

/* A rating as a CSV export writes it ("1".."5", pass, fail, critical): the stored rating's type
 * and value, or -1. */
static int rating_of(const char *s, const char **type, const char **value)
{
    static const char *const stars[] = {"1.0", "2.0", "3.0", "4.0", "5.0"};

    if (s[0] >= '1' && s[0] <= '5' && !s[1]) {
        *type = "five_star";
        *value = stars[s[0] - '1'];
    } else if (strcasecmp(s, "pass") == 0 || strcasecmp(s, "fail") == 0) {
        *type = "pass_fail";
        *value = strcasecmp(s, "pass") == 0 ? "1.0" : "0.0";
    } else if (strcasecmp(s, "critical") == 0) {
        *type = "pass_fail_critical";
        *value = "-1.0";
    } else {
        return -1;
    }
    return 0;
}

/* The rating and session_id columns as the row's provenance (none when both are empty). */
static int row_provenance(struct csv_reader *r, struct ingest_row *row)
{
    size_t rlen, slen;
    const char *rating = col_text(r, COL_RATING, &rlen);
    const char *session = col_text(r, COL_SESSION_ID, &slen);
    const char *type, *value;
    struct jsonw w;

    if (!rlen && !slen)
        return 0;
    if (rlen && rating_of(rating, &type, &value) < 0)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                                  "line %zu: rating must be 1 to 5, pass, fail or critical, not "
                                  "\"%.40s\"",
                                  r->row_line, rating);
    buf_reset(&r->prov);
    jsonw_init(&w, &r->prov);
    jsonw_obj(&w);
    if (rlen) {
        jsonw_key(&w, "rating");
        jsonw_obj(&w);
        jsonw_kint(&w, "v", 1);
        jsonw_kraw(&w, "value", value);
        jsonw_kstr(&w, "type", type);
        jsonw_kraw(&w, "requirement_ratings", "{}");
        jsonw_end_obj(&w);
    }
    if (slen)
        jsonw_kstr(&w, "session_id", session);
    jsonw_end_obj(&w);
    if (w.err)
        return ingest_reader_fail(&r->b, w.err, "out of memory");
    row->provenance = r->prov.data;
    row->provenance_len = r->prov.len;
    return 0;
}

static void deliver_row(struct csv_reader *r)
{
    struct ingest_row row = {.line = r->row_line};
    char *s;
    size_t len;

    if (r->nfields != r->ncols) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST,
                           "line %zu: the row has %zu field%s but the header has %zu", r->row_line,
                           r->nfields, r->nfields == 1 ? "" : "s", r->ncols);
        return;
    }
    row.input = col_text(r, COL_INPUT, &row.input_len);
    if (row.input_len == 0) {
        ingest_reader_fail(&r->b, HE_BAD_REQUEST, "line %zu: input is empty", r->row_line);
        return;
    }
    s = col_text(r, COL_OUTPUT, &len);
    if (len) {
        row.output = s;
        row.output_len = len;
    }
    s = col_text(r, COL_HUMAN_GUIDANCE, &len);
    if (len)
        row.human_guidance = s;
    s = col_text(r, COL_TOPIC_PATH, &len);
    r->b.topics.count = 0;
    if (len && ingest_reader_topics(&r->b, s, r->row_line))
        return;
    s = col_text(r, COL_TAGS, &len);
    r->b.tags.count = 0;
    if (len && split_tags(r, s))
        return;
    if (row_provenance(r, &row))
        return;
    ingest_reader_deliver(&r->b, &row, r->row_line);
}

static void row_end_cb(int c, void *ud)
{
    struct csv_reader *r = ud;

    (void)c;
    if (r->b.failed)
        return;
    if (!r->header_done)
        end_header(r);
    else
        deliver_row(r);
    r->nfields = 0;
    buf_reset(&r->rowbuf);
    r->row_pending = true;
}

struct csv_reader *csv_reader_new(ingest_row_cb row_cb, void *ud,
                                  const struct ingest_limits *limits)
{
    struct csv_reader *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        free(r);
        return NULL;
    }
    csv_set_space_func(&r->csv, no_space);
    /* libcsv grows a field's buffer by this much at a time (128 bytes by default): a 1 MB field
       took 8,000 reallocs, each copying the field so far */
    csv_set_blk_size(&r->csv, CSV_FIELD_STEP);
    ingest_reader_init(&r->b, row_cb, ud, limits);
    r->line = 1;
    r->row_line = r->field_line = 1;
    r->row_pending = true;
    for (int k = 0; k < COL_COUNT; k++)
        r->col_of[k] = -1;
    buf_init(&r->unknown, 512);
    buf_init(&r->rowbuf, r->b.lim.max_row);
    buf_init(&r->prov, r->b.lim.max_row + 256);
    return r;
}

void csv_reader_free(struct csv_reader *r)
{
    if (!r)
        return;
    csv_free(&r->csv);
    buf_done(&r->unknown);
    buf_done(&r->rowbuf);
    buf_done(&r->prov);
    ingest_reader_done(&r->b);
    free(r);
}

size_t csv_reader_rows(const struct csv_reader *r)
{
    return r->b.rows;
}

static int parse_error(struct csv_reader *r, const char *seg, size_t at)
{
    size_t col = r->col + utf8_length(seg, at) + 1;

    if (csv_error(&r->csv) != CSV_EPARSE)
        return ingest_reader_fail(&r->b, HE_NOMEM, "out of memory");
    if (seg[at] == '"')
        return ingest_reader_fail(
            &r->b, HE_BAD_REQUEST,
            "line %zu column %zu: a quote inside an unquoted field (quote the whole "
            "field and double the quotes inside it)",
            r->line, col);
    return ingest_reader_fail(
        &r->b, HE_BAD_REQUEST,
        "line %zu column %zu: text after the closing quote of a quoted field (a quote "
        "inside a quoted field must be doubled)",
        r->line, col);
}

/* The last byte of the first line end in p[0..n): a '\n', the '\n' of a "\r\n", or a lone
 * '\r' (also one that ends p, whose '\n' may come next); NULL when there is none. */
static const char *line_end(const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n), *cr;

    if (nl)
        n = (size_t)(nl - p) + 1;
    if ((cr = memchr(p, '\r', n)))
        return cr + 1 < p + n && cr[1] == '\n' ? cr + 1 : cr;
    return nl;
}

/* Hands data to libcsv segment by segment (see DESIGN). */
static int parse(struct csv_reader *r, const char *p, size_t len)
{
    while (len) {
        size_t n = len < SEG_MAX ? len : SEG_MAX, done;
        bool crlf_tail = r->after_cr && *p == '\n'; /* the '\n' of a '\r\n' split in two */
        const char *nl = crlf_tail ? p : line_end(p, n);

        if (nl)
            n = (size_t)(nl - p) + 1;
        done = csv_parse(&r->csv, p, n, field_cb, row_end_cb, r);
        if (r->b.failed)
            return r->b.failed;
        if (r->row_pending && r->csv.pstate != 0) {
            /* A row began in this segment (its first field is not complete yet). */
            r->row_pending = false;
            r->row_line = r->field_line = r->line;
        }
        if (done < n)
            return parse_error(r, p, done);
        if (r->csv.entry_pos > r->b.lim.max_field) {
            char label[64];
            return ingest_reader_fail(
                &r->b, HE_BAD_REQUEST,
                "line %zu, %s: the field is larger than the limit of %zu bytes", r->field_line,
                column_label(r, r->nfields, label, sizeof(label)), r->b.lim.max_field);
        }
        if (nl) {
            if (!crlf_tail)
                r->line++;
            r->col = 0;
        } else {
            r->col += utf8_length(p, n);
        }
        r->after_cr = p[n - 1] == '\r';
        p += n;
        len -= n;
    }
    return 0;
}

int csv_reader_feed(struct csv_reader *r, const void *data, size_t len, struct err *e)
{
    const char *p = data;
    int rc;

    if ((rc = ingest_reader_enter(&r->b, e)))
        return rc;
    /* Drop a UTF-8 BOM at the start; hold back a prefix of one until it is decided. */
    while (r->bom_len < 3 && len) {
        if ((unsigned char)*p != bom[r->bom_len]) {
            size_t held = r->bom_len;
            r->bom_len = 3;
            if (held && (rc = parse(r, (const char *)bom, held)))
                return rc;
            break;
        }
        r->bom_len++;
        p++;
        len--;
    }
    rc = parse(r, p, len);
    r->b.e = NULL;
    return rc;
}

int csv_reader_finish(struct csv_reader *r, struct err *e)
{
    int rc;

    if ((rc = ingest_reader_enter(&r->b, e)))
        return rc;
    r->b.finished = true;
    if (r->bom_len < 3) {
        size_t held = r->bom_len;
        r->bom_len = 3;
        if (held && (rc = parse(r, (const char *)bom, held)))
            return rc;
    }
    if (csv_fini(&r->csv, field_cb, row_end_cb, r) != 0 && !r->b.failed) {
        if (csv_error(&r->csv) == CSV_EPARSE)
            return ingest_reader_fail(
                &r->b, HE_BAD_REQUEST,
                "line %zu column %zu: a quoted field is never closed (the file ends "
                "inside it)",
                r->field_line, r->nfields + 1);
        return ingest_reader_fail(&r->b, HE_NOMEM, "out of memory");
    }
    if (r->b.failed)
        return r->b.failed;
    if (r->b.rows == 0)
        return ingest_reader_fail(&r->b, HE_BAD_REQUEST, "the file has no rows%s",
                                  r->header_done ? " (only a header)" : "");
    r->b.e = NULL;
    return 0;
}
