/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: import_samples_from_file as the server runs it, from the bytes on the socket to
 * the store. The target starts the real server once (store in a temporary directory, provider
 * engine, job runner, HTTP server on a loopback port) and sends each input to it over TCP, so
 * the route table, the multipart streaming of server.c, the upload handler (h_import.c), the
 * batches, the CSV and JSONL readers, the row check (gen_import_check_row) and the spool are
 * all the product's own code.
 *
 * The first byte picks a mode. Structured inputs: the rest is a file's content, which the target
 * wraps in a multipart body (a boundary absent from the content, sometimes a form field before
 * the file part, a preamble) and writes to the socket in pieces whose sizes come from the input.
 * The answer must then be exactly what the same content read straight by the reader and checked
 * row by row with gen_import_check_row predicts: the first bad row's status and message, "no
 * rows", or every row imported (inside the request up to 100 rows, as a job above). Raw inputs:
 * the rest is the whole body after the headers (framing, part headers, file names all fuzzed);
 * that request only has to be answered, never with a server error. Bit 4 of the mode picks a
 * task with an input schema.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gen/gen.h"
#include "http/server.h"
#include "ingest/csv_reader.h"
#include "ingest/jsonl_reader.h"
#include "jobs/jobs.h"
#include "llm/config.h"
#include "llm/engine.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONTENT (48 * 1024)
#define INLINE_MAX  100 /* rows an upload saves inside the request (h_import.c) */
#define SCHEMA \
    "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}"

/* The server, started at the first input and stopped at exit. */
static struct {
    char dir[64];
    struct store *store;
    struct llm_config *cfg;
    struct llm_engine *engine;
    struct jobs *jobs;
    struct http_server *srv;
    struct app app; /* the server keeps a pointer to it */
    unsigned port;
    char project[ID_LEN + 1];
    char task[2][ID_LEN + 1]; /* without schemas, with an input schema */
} hetu;

/* A request's answer: its status and its JSON body (NULL when the body is not JSON). */
struct answer {
    int status;
    struct json_object *body;
};

/* Writes head+body to a new connection in pieces whose sizes come from seed; reads the answer. */
static struct answer exchange(const char *head, size_t head_len, const void *body, size_t body_len,
                              const uint8_t *seed, size_t seed_len)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hetu.port)};
    struct answer a = {0};
    struct buf in;
    size_t at = 0, total = head_len + body_len, k = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    const char *text;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        abort();
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    while (at < total) {
        size_t left = at < head_len ? head_len - at : total - at;
        size_t step = seed_len ? 1 + (size_t)seed[k++ % seed_len] * 61 % left : left;
        const char *p = at < head_len ? head + at : (const char *)body + (at - head_len);
        ssize_t w = send(fd, p, step, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server answered before the end of the body */
        at += (size_t)w;
    }
    buf_init(&in, 1 << 20);
    for (;;) {
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || buf_add(&in, chunk, (size_t)n) < 0)
            break;
    }
    close(fd);
    if (buf_add(&in, "", 1) < 0 || sscanf(in.data, "HTTP/1.1 %d", &a.status) != 1)
        abort(); /* the server always answers */
    if ((text = strstr(in.data, "\r\n\r\n")))
        a.body = json_tokener_parse(text + 4);
    buf_done(&in);
    return a;
}

static struct answer request(const char *method, const char *path, const char *content_type,
                             const void *body, size_t body_len, const uint8_t *seed,
                             size_t seed_len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, content_type, body_len);
    if (n < 0 || (size_t)n >= sizeof(head))
        abort();
    return exchange(head, (size_t)n, body, body_len, seed, seed_len);
}

/* POSTs a JSON body that must succeed; copies the answer's id. */
static void create(const char *path, const char *json, char *ret_id)
{
    struct answer a = request("POST", path, "application/json", json, strlen(json), NULL, 0);
    struct json_object *id;
    if (a.status != 200 || !json_object_object_get_ex(a.body, "id", &id)) {
        fprintf(stderr, "POST %s answered %d %s\n", path, a.status,
                a.body ? json_text(a.body, NULL) : "(not JSON)");
        abort();
    }
    snprintf(ret_id, ID_LEN + 1, "%s", json_object_get_string(id));
    json_object_put(a.body);
}

static void stop(void)
{
    DIR *d;

    http_server_stop(hetu.srv, 0);
    jobs_stop(hetu.jobs);
    llm_engine_free(hetu.engine);
    store_close(hetu.store);
    llm_config_free(hetu.cfg);
    if ((d = opendir(hetu.dir))) { /* the database and the spools left by jobs */
        for (struct dirent *f; (f = readdir(d));) {
            char path[sizeof(hetu.dir) + 256];
            snprintf(path, sizeof(path), "%s/%s", hetu.dir, f->d_name);
            if (f->d_name[0] != '.')
                unlink(path);
        }
        closedir(d);
    }
    rmdir(hetu.dir);
}

static void start(void)
{
    struct http_server_config hc = {.host = "127.0.0.1", .threads = 2, .max_body = 1 << 20};
    struct jobs_config jc = {.window = 8};
    char db[128], path[128];
    struct gen_env env;
    struct err e;

    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_OFF, LOG_TEXT);
    err_clear(&e);
    snprintf(hetu.dir, sizeof(hetu.dir), "/tmp/hetu-fuzz-XXXXXX");
    if (!mkdtemp(hetu.dir))
        abort();
    snprintf(db, sizeof(db), "%s/hetu.db", hetu.dir);
    jc.spool_dir = hetu.dir;
    if (store_open(db, &hetu.store, &e) < 0 || llm_config_load(NULL, &hetu.cfg, &e) < 0 ||
        llm_engine_new(hetu.cfg, &hetu.engine, &e) < 0)
        abort();
    env = (struct gen_env){hetu.store, hetu.engine, "fuzz"};
    if (jobs_start(&env, &jc, &hetu.jobs, &e) < 0)
        abort();
    hetu.app = (struct app){hetu.store, hetu.engine, hetu.jobs, "fuzz"};
    if (http_server_start(&hc, &hetu.app, &hetu.srv, &e) < 0)
        abort();
    hetu.port = http_server_port(hetu.srv);
    atexit(stop);
    create("/api/project", "{\"name\":\"fuzz\"}", hetu.project);
    snprintf(path, sizeof(path), "/api/projects/%s/task", hetu.project);
    create(path, "{\"name\":\"plain\",\"instruction\":\"fuzz\"}", hetu.task[0]);
    create(path,
           "{\"name\":\"schema\",\"instruction\":\"fuzz\",\"input_json_schema\":"
           "\"{\\\"type\\\":\\\"object\\\",\\\"properties\\\":{\\\"q\\\":{\\\"type\\\":"
           "\\\"string\\\"}},\\\"required\\\":[\\\"q\\\"]}\"}",
           hetu.task[1]);
}

/* ---- what the server must answer: the content read straight and checked row by row ---- */

struct expect {
    struct gen_row_check check;
    struct arena mem;
    size_t rows;
};

static int on_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct expect *x = ud;
    struct gen_checked_row k;
    int r;

    if (!row->input || row->input_len == 0 || strlen(row->input) != row->input_len)
        abort();
    r = gen_import_check_row(&x->check, row, &x->mem, &k, e);
    if (r == 0 &&
        (strlen(k.input) != k.input_len || (k.output && strlen(k.output) != k.output_len)))
        abort();
    if (r < 0 && (!e->code || !e->msg[0]))
        abort();
    arena_done(&x->mem);
    x->rows += r == 0;
    return r;
}

/* The answer the server must give to the upload of content under a name of this kind. */
static void expected(bool jsonl, bool schema, const char *content, size_t len, int *ret_status,
                     char *ret_detail, size_t *ret_rows)
{
    struct gen_env env = {hetu.store, hetu.engine, "fuzz"};
    struct task task = {.input_json_schema = schema ? (char *)SCHEMA : NULL};
    struct expect x = {.check = {.env = &env, .task = &task}};
    struct csv_reader *csv = jsonl ? NULL : csv_reader_new(on_row, &x, NULL);
    struct jsonl_reader *jl = jsonl ? jsonl_reader_new(on_row, &x, NULL) : NULL;
    struct err e;
    int r;

    if (!csv && !jl)
        abort();
    err_clear(&e);
    arena_init(&x.mem);
    r = jsonl ? jsonl_reader_feed(jl, content, len, &e) : csv_reader_feed(csv, content, len, &e);
    if (r == 0)
        r = jsonl ? jsonl_reader_finish(jl, &e) : csv_reader_finish(csv, &e);
    if (r == 0 && x.rows == 0)
        r = err_set(&e, HE_BAD_REQUEST, "file", "the file has no rows");
    *ret_status = r < 0 ? err_http_status(r) : 200;
    snprintf(ret_detail, ERR_MSG_MAX, "%s", r < 0 ? e.msg : "");
    *ret_rows = x.rows;
    csv_reader_free(csv);
    jsonl_reader_free(jl);
    arena_done(&x.mem);
}

static void mismatch(const struct answer *a, int status, const char *detail, size_t rows)
{
    fprintf(stderr, "the server answered %d %s\nexpected %d \"%s\" (%zu rows)\n", a->status,
            a->body ? json_text(a->body, NULL) : "(not JSON)", status, detail, rows);
    abort();
}

static void check_answer(const struct answer *a, int status, const char *detail, size_t rows)
{
    struct json_object *v;

    if (a->status != status || !a->body)
        mismatch(a, status, detail, rows);
    if (status != 200) {
        if (!json_object_object_get_ex(a->body, "detail", &v) ||
            strcmp(json_object_get_string(v), detail) != 0)
            mismatch(a, status, detail, rows);
        return;
    }
    if (!json_object_object_get_ex(a->body, "sample_count", &v) ||
        json_object_get_int64(v) != (int64_t)rows ||
        !json_object_object_get_ex(a->body, "status", &v) ||
        strcmp(json_object_get_string(v),
               rows > INLINE_MAX ? "import_started" : "import_completed"))
        mismatch(a, status, detail, rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *content = data + 4, *seed = data + 1;
    size_t clen = size - 4;
    bool schema;
    char path[256];
    struct answer a;

    if (size < 4 || size > MAX_CONTENT)
        return 0;
    if (!hetu.srv)
        start();
    schema = data[0] & 4;
    snprintf(path, sizeof(path), "/api/dataset/projects/%s/tasks/%s/import_samples_from_file",
             hetu.project, hetu.task[schema]);

    if (data[0] & 1) {
        /* Raw: the fuzzer writes the whole body, framing included. */
        a = request("POST", path, "multipart/form-data; boundary=fzB", content, clen, seed, 3);
        if (a.status < 200 || a.status >= 500)
            abort();
        json_object_put(a.body);
        return 0;
    }

    /* Structured: the content is a file's; upload it and compare with a straight read. */
    {
        bool jsonl = data[0] & 2;
        char boundary[40], type[80], detail[ERR_MSG_MAX];
        size_t blen = 0, cap = clen + 512, rows;
        unsigned salt = 0;
        uint8_t *body;
        int status;

        do
            snprintf(boundary, sizeof(boundary), "----hetufuzz%08x", salt++);
        while (memmem(content, clen, boundary, strlen(boundary)));
        if (!(body = malloc(cap)))
            abort();
        if (data[0] & 8)
            blen += (size_t)snprintf((char *)body + blen, cap - blen, "preamble text\r\n");
        if (data[0] & 16)
            blen += (size_t)snprintf((char *)body + blen, cap - blen,
                                     "--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n"
                                     "\r\nnot the file\r\n",
                                     boundary);
        blen +=
            (size_t)snprintf((char *)body + blen, cap - blen,
                             "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                             boundary, jsonl ? "data.jsonl" : "data.csv");
        memcpy(body + blen, content, clen);
        blen += clen;
        blen += (size_t)snprintf((char *)body + blen, cap - blen, "\r\n--%s--\r\n", boundary);
        snprintf(type, sizeof(type), "multipart/form-data; boundary=%s", boundary);

        a = request("POST", path, type, body, blen, seed, 3);
        free(body);
        expected(jsonl, schema, (const char *)content, clen, &status, detail, &rows);
        check_answer(&a, status, detail, rows);
        json_object_put(a.body);
    }
    return 0;
}
