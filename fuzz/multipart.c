/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the upload path of import_samples_from_file, from the bytes on the socket to the
 * per-row checks. A file upload is a multipart body that libmicrohttpd's post processor splits
 * into parts; the server hands the `file` part, chunk by chunk, to the CSV or JSONL reader (by the
 * file name), whose rows are checked as samples exactly as h_import.c does. The post processor
 * needs a real connection, so the target runs a libmicrohttpd daemon without a listening socket
 * in this thread (external polling) and gives it one end of a socket pair per input.
 *
 * The first byte picks a mode. Structured inputs: the rest is a file's content, which the target
 * wraps in a multipart body (a boundary absent from the content, sometimes a form field before
 * the file part, a preamble) and writes to the socket in pieces whose sizes come from the
 * input; the handler feeds MHD_post_process in pieces again. The rows and the final error must
 * then be exactly those of the same content fed straight to the reader: the upload path must
 * deliver the file's bytes unchanged however they were chunked. Raw inputs: the rest is the
 * whole body after the headers (framing, part headers, file names all fuzzed); that run only has
 * to end cleanly. Either way the row callback reads every byte and runs gen_parse_sample.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gen/gen.h"
#include "ingest/csv_reader.h"
#include "ingest/jsonl_reader.h"
#include "store/store.h"
#include "util/json.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONTENT (48 * 1024)

struct outcome {
    uint64_t hash;
    size_t rows, accepted;
    int code;
    struct err e;
};

/* One upload as the server sees it. */
struct upload {
    const uint8_t *seed; /* bytes that drive the split points */
    size_t seed_len, seed_at;
    struct task *task;
    int kind; /* 0: not started, 1: csv, 2: jsonl, -1: refused file name */
    struct csv_reader *csv;
    struct jsonl_reader *jsonl;
    struct outcome out;
    size_t pp_buffer;
    struct MHD_PostProcessor *pp;
    int done, status;
};

static size_t next_cut(struct upload *u, size_t max)
{
    size_t v;
    if (max <= 1)
        return max;
    v = u->seed_len ? u->seed[u->seed_at++ % u->seed_len] : 7;
    return 1 + v % max;
}

static void mix(struct outcome *o, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        o->hash = (o->hash ^ s[i]) * 1099511628211ULL;
}

static void mix_str(struct outcome *o, const char *s)
{
    if (s)
        mix(o, s, strlen(s) + 1);
    else
        mix(o, "\xff", 1);
}

/* The row as h_import.c's on_row builds it, checked by gen_parse_sample. */
static int on_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct upload *u = ud;
    struct outcome *o = &u->out;
    struct gen_env env = {NULL, NULL, "fuzz"};
    struct json_object *obj = json_object_new_object(), *topic;
    struct gen_sample s;
    struct err se;

    if (!row->input || row->input_len == 0 || strlen(row->input) != row->input_len)
        abort();
    mix(o, &row->line, sizeof(row->line));
    mix_str(o, row->input);
    mix_str(o, row->output);
    mix_str(o, row->human_guidance);
    for (size_t i = 0; i < row->topic_path_count; i++)
        mix_str(o, row->topic_path[i]);
    for (size_t i = 0; i < row->tags_count; i++)
        mix_str(o, row->tags[i]);
    o->rows++;

    err_clear(&se);
    if (row->input_is_json) {
        struct json_object *in = NULL;
        json_parse(row->input, row->input_len, &in, &se);
        json_object_object_add(obj, "input", in);
    } else {
        json_object_object_add(obj, "input",
                               json_object_new_string_len(row->input, (int)row->input_len));
    }
    if (row->output) {
        struct json_object *out = NULL;
        if (row->output_is_json)
            json_parse(row->output, row->output_len, &out, &se);
        else
            out = json_object_new_string_len(row->output, (int)row->output_len);
        json_object_object_add(obj, "output", out);
    }
    topic = json_object_new_array();
    for (size_t i = 0; i < row->topic_path_count; i++)
        json_object_array_add(topic, json_object_new_string(row->topic_path[i]));
    json_object_object_add(obj, "topic_path", topic);
    if (row->human_guidance)
        json_object_object_add(obj, "human_guidance", json_object_new_string(row->human_guidance));
    if (row->tags_count) {
        struct json_object *tags = json_object_new_array();
        for (size_t i = 0; i < row->tags_count; i++)
            json_object_array_add(tags, json_object_new_string(row->tags[i]));
        json_object_object_add(obj, "tags", tags);
    }
    err_clear(&se);
    /* No output model is given, so a row without an output fails before any provider check. */
    if (gen_parse_sample(&env, u->task, obj, NULL, &s, &se) < 0) {
        json_object_put(obj);
        if (!se.code || !se.msg[0])
            abort();
        if (!row->output && se.code != HE_INVALID)
            abort();
        return err_set(e, se.code, se.field, "line %zu: %s", row->line, se.msg);
    }
    if (!s.input || (row->output && !s.output))
        abort();
    gen_sample_free(&s);
    json_object_put(obj);
    o->accepted++;
    return 0;
}

static int feed(struct upload *u, const char *data, size_t len)
{
    struct err *e = &u->out.e;
    if (u->out.code)
        return u->out.code;
    u->out.code = u->kind == 1 ? csv_reader_feed(u->csv, data, len, e)
                               : jsonl_reader_feed(u->jsonl, data, len, e);
    return u->out.code;
}

static int finish(struct upload *u)
{
    if (!u->out.code)
        u->out.code = u->kind == 1 ? csv_reader_finish(u->csv, &u->out.e)
                                   : jsonl_reader_finish(u->jsonl, &u->out.e);
    if (u->out.code && (!u->out.e.code || !u->out.e.msg[0]))
        abort();
    return u->out.code;
}

static void start(struct upload *u, int kind)
{
    u->kind = kind;
    err_clear(&u->out.e);
    u->out.hash = 14695981039346656037ULL;
    if (kind == 1)
        u->csv = csv_reader_new(on_row, u, NULL);
    else if (kind == 2)
        u->jsonl = jsonl_reader_new(on_row, u, NULL);
    if (kind > 0 && !u->csv && !u->jsonl)
        abort();
}

static int kind_of(const char *filename)
{
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    if (dot && strcasecmp(dot, ".csv") == 0)
        return 1;
    if (dot && strcasecmp(dot, ".jsonl") == 0)
        return 2;
    return -1;
}

/* The post processor's part callback: only the part named file goes to a reader. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    struct upload *u = cls;
    (void)kind, (void)content_type, (void)transfer_encoding, (void)off;
    if (!key || strcmp(key, "file") != 0)
        return MHD_YES;
    if (u->kind == 0)
        start(u, kind_of(filename));
    if (u->kind < 0)
        return MHD_NO;
    if (size && feed(u, data, size) != 0)
        return MHD_NO;
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    struct upload *u = cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    (void)url, (void)method, (void)version;

    if (!*req_cls) {
        *req_cls = u;
        u->pp = MHD_create_post_processor(conn, u->pp_buffer, on_part, u);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t at = 0, n = *upload_data_size;
        while (u->pp && at < n) {
            size_t step = next_cut(u, n - at);
            if (MHD_post_process(u->pp, upload_data + at, step) != MHD_YES)
                break; /* the server stops feeding and answers 400 at the end */
            at += step;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (u->kind > 0)
        finish(u);
    u->status = u->kind > 0 && u->out.code == 0 ? 200 : 400;
    u->done = 1;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(conn, (unsigned)u->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *u = cls;
    (void)conn, (void)req_cls, (void)toe;
    if (u->pp) {
        MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
    }
}

static void upload_free(struct upload *u)
{
    csv_reader_free(u->csv);
    jsonl_reader_free(u->jsonl);
    u->csv = NULL;
    u->jsonl = NULL;
}

/* Sends head+body over a socket pair to a fresh daemon, in pieces; runs it to the answer. */
static void serve_one(struct upload *u, const char *head, size_t head_len, const uint8_t *body,
                      size_t body_len)
{
    struct MHD_Daemon *d;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int fds[2], buf = 1 << 20;
    size_t at = 0, total = head_len + body_len;
    char sink[4096];

    d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_access, u,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, u,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!d)
        abort();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        abort();
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    if (MHD_add_connection(d, fds[1], (struct sockaddr *)&addr, sizeof(addr)) != MHD_YES)
        abort();
    for (int spins = 0; !u->done && spins < 100000; spins++) {
        if (at < total) {
            size_t step = next_cut(u, total - at);
            const void *p = at < head_len ? (const void *)(head + at) : body + (at - head_len);
            ssize_t w;
            if (at < head_len && at + step > head_len)
                step = head_len - at;
            w = write(fds[0], p, step);
            if (w > 0)
                at += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                break;
        }
        MHD_run(d);
        while (read(fds[0], sink, sizeof(sink)) > 0) {
        }
        if (at >= total && spins > 1000 && !u->done)
            break; /* the daemon refused the request before its end (bad headers) */
    }
    close(fds[0]);
    for (int i = 0; i < 4; i++)
        MHD_run(d);
    MHD_stop_daemon(d);
}

static char *build_head(const char *boundary, size_t body_len, size_t *len)
{
    static char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST /import HTTP/1.1\r\nHost: fuzz\r\nContent-Type: multipart/form-data; "
                     "boundary=%s\r\nContent-Length: %zu\r\n\r\n",
                     boundary, body_len);
    *len = (size_t)n;
    return head;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *schema = "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},"
                                "\"required\":[\"q\"]}";
    struct task task = {.instruction = (char *)"fuzz", .requirements = (char *)"[]"};
    struct upload u = {0};
    const uint8_t *content;
    size_t clen, head_len;
    char *head;
    uint8_t mode;

    if (size < 4 || size > MAX_CONTENT)
        return 0;
    mode = data[0];
    task.input_json_schema = mode & 4 ? (char *)schema : NULL;
    u.task = &task;
    u.seed = data + 1;
    u.seed_len = 3;
    u.pp_buffer = 256 + (size_t)data[3] * 64;
    content = data + 4;
    clen = size - 4;

    if (mode & 1) {
        /* Raw: the fuzzer writes the whole body, framing included. */
        head = build_head("fzB", clen, &head_len);
        serve_one(&u, head, head_len, content, clen);
        upload_free(&u);
        return 0;
    }

    /* Structured: the content is a file's; build its upload and compare with a direct read. */
    {
        const char *name = mode & 2 ? "data.jsonl" : "data.csv";
        char boundary[40];
        uint8_t *body;
        size_t blen = 0, cap = clen + 512;
        struct upload ref = {0};
        unsigned salt = 0;

        do
            snprintf(boundary, sizeof(boundary), "----hetufuzz%08x", salt++);
        while (memmem(content, clen, boundary, strlen(boundary)));
        body = malloc(cap);
        if (!body)
            abort();
        if (mode & 8)
            blen += (size_t)snprintf((char *)body + blen, cap - blen, "preamble text\r\n");
        if (mode & 16)
            blen += (size_t)snprintf((char *)body + blen, cap - blen,
                                     "--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n"
                                     "\r\nnot the file\r\n",
                                     boundary);
        blen +=
            (size_t)snprintf((char *)body + blen, cap - blen,
                             "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                             boundary, name);
        memcpy(body + blen, content, clen);
        blen += clen;
        blen += (size_t)snprintf((char *)body + blen, cap - blen, "\r\n--%s--\r\n", boundary);

        head = build_head(boundary, blen, &head_len);
        serve_one(&u, head, head_len, body, blen);
        free(body);

        ref.task = &task;
        start(&ref, mode & 2 ? 2 : 1);
        feed(&ref, (const char *)content, clen);
        finish(&ref);
        if (!u.done || u.kind != ref.kind)
            abort(); /* the request never reached its end, or the file part was lost */
        if (u.out.code != ref.out.code || u.out.rows != ref.out.rows ||
            u.out.accepted != ref.out.accepted || u.out.hash != ref.out.hash ||
            strcmp(u.out.e.msg, ref.out.e.msg) != 0)
            abort(); /* the upload path changed the file's bytes */
        upload_free(&ref);
    }
    upload_free(&u);
    return 0;
}
