/* SPDX-License-Identifier: MIT */
/*
 * HTTP server.
 *
 * DESIGN
 * - libmicrohttpd runs a pool of threads, each with its own epoll loop. A request's first call
 *   into on_access routes it (404/405 are decided here) and checks Content-Length against the
 *   route's body limit; body chunks are gathered into a bounded buffer; the last call parses a
 *   JSON body and runs the handler. Answers are queued on a later call than the first, so that
 *   keep-alive is kept (libmicrohttpd closes a connection answered on the first call).
 * - Errors become {"detail", "code", "field"} here and only here.
 * - A handler that waits on other work returns HTTP_PENDING; the connection is then suspended
 *   (it costs no thread) until http_req_complete() stores the answer and resumes it. The two may
 *   race: whichever comes second queues the answer, under the request's lock.
 * - One log line per request, written when libmicrohttpd reports the request complete.
 * - Each request is made when libmicrohttpd has read its target (on_uri), so that the target is
 *   kept as sent; its head is checked (http/conn_guard.c) before it is routed.
 * - A body over its limit is read and dropped up to a bound, then answered 413 with the
 *   connection closed, so that a client that writes before it reads gets the answer.
 * - A watcher thread looks every 200 ms at suspended requests whose client may leave (their
 *   work is cancelled) and at file uploads still arriving (http/uploads.c: idle or abandoned
 *   ones are shut down). Once nothing has run for a second, it gives freed memory back to the
 *   system (malloc_trim). It lives in http/watch.c.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/body_read.h"
#include "http/access.h"
#include "http/conn_guard.h"
#include "http/cors.h"
#include "http/h_web.h"
#include "http/request.h"
#include "http/server_int.h"
#include "http/tls.h"
#include "http/uploads.h"
#include "metrics/metrics.h"
#include "http/routes.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

/* ---- answers ---- */

/* The request's own headers on an answer: its id and what the handler set. */
static void add_headers(struct http_req *req, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    for (size_t i = 0; i < req->answer.nheaders; i++)
        MHD_add_response_header(resp, req->answer.header_names[i], req->answer.header_values[i]);
    cors_add_headers(req->srv->cors, req->conn, resp);
}

/* Queues resp with the request's own headers, and lets it go. */
static enum MHD_Result queue_answer(struct http_req *req, unsigned status,
                                    struct MHD_Response *resp)
{
    enum MHD_Result ret;

    add_headers(req, resp);
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    req->answer.status = status;
    req->answer.responded = true;
    return ret;
}

static enum MHD_Result send_text(struct http_req *req, unsigned status, const char *text,
                                 size_t len, const char *allow)
{
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (req->answer.close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return queue_answer(req, status, resp);
}

static enum MHD_Result send_json(struct http_req *req, struct json_object *body)
{
    size_t len;
    const char *text = json_text(body, &len);
    enum MHD_Result ret = send_text(req, MHD_HTTP_OK, text, len, NULL);
    json_object_put(body);
    return ret;
}

static enum MHD_Result send_error(struct http_req *req, const struct err *e)
{
    struct json_object *o = json_object_new_object();
    int code = e->code ? e->code : HE_INTERNAL;
    const char *msg = e->msg[0] ? e->msg : err_text(code);
    enum MHD_Result ret;
    size_t len;
    const char *text;

    if (!o)
        return MHD_NO;
    json_object_object_add(o, "detail", json_object_new_string(msg));
    json_object_object_add(o, "code", json_object_new_string(err_slug(code)));
    if (e->field[0])
        json_object_object_add(o, "field", json_object_new_string(e->field));
    text = json_text(o, &len);
    snprintf(req->answer.error, sizeof(req->answer.error), "%s", msg);
    ret = send_text(req, (unsigned)err_http_status(code), text, len,
                    code == HE_METHOD ? req->route.match.allow : NULL);
    json_object_put(o);
    return ret;
}

/* An error answer with its message in a single call. */
static enum MHD_Result send_error_code(struct http_req *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result send_error_code(struct http_req *req, int code, const char *fmt, ...)
{
    struct err e;
    va_list ap;

    err_clear(&e);
    va_start(ap, fmt);
    err_setv(&e, code, NULL, fmt, ap);
    va_end(ap);
    return send_error(req, &e);
}

/* ---- requests ---- */

/* A request, made when libmicrohttpd has read its target (raw_uri); method and path are set at
 * the first call into on_access. */
static struct http_req *req_new(struct http_server *srv, struct MHD_Connection *conn,
                                const char *raw_uri)
{
    struct http_req *req = calloc(1, sizeof(*req));

    if (!req)
        return NULL;
    req->route.raw_uri = strdup(raw_uri);
    if (!req->route.raw_uri) {
        free(req);
        return NULL;
    }
    req->srv = srv;
    req->conn = conn;
    req->start_us = clock_mono_us();
    pthread_mutex_init(&req->susp.lock, NULL);
    err_clear(&req->susp.err);
    err_clear(&req->upload.err);
    err_clear(&req->denied);
    buf_init(&req->body.buf, srv->max_body);
    req->serial = atomic_fetch_add(&srv->serial, 1) + 1;
    atomic_fetch_add(&srv->inflight, 1);
    return req;
}

static void req_free(struct http_req *req)
{
    if (!req)
        return;
    http_watch_remove(req->srv, req); /* a no-op unless it ended while suspended */
    json_object_put(req->body.json);
    json_object_put(req->susp.body);
    for (size_t i = 0; i < req->answer.nheaders; i++) {
        free(req->answer.header_names[i]);
        free(req->answer.header_values[i]);
    }
    if (req->upload.pp)
        MHD_destroy_post_processor(req->upload.pp);
    if (req->ctx_free)
        req->ctx_free(req->ctx);
    if (req->stream.free_fn)
        req->stream.free_fn(req->stream.ud);
    buf_done(&req->body.buf);
    uploads_release(req);
    /* http_req_complete resumes the connection before it unlocks: wait until it has let go, so
     * the lock is not destroyed (and freed) while its unlock is still running. */
    pthread_mutex_lock(&req->susp.lock);
    pthread_mutex_unlock(&req->susp.lock);
    pthread_mutex_destroy(&req->susp.lock);
    free(req->route.path);
    free(req->route.raw_uri);
    free(req);
}

struct app *http_req_app(struct http_req *req)
{
    return req->srv->app;
}

const char *http_req_param(struct http_req *req, const char *name)
{
    return route_param(&req->route.match, name);
}

const char *http_req_query(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct json_object *http_req_body(struct http_req *req)
{
    return req->body.json;
}

void http_req_set_header(struct http_req *req, const char *name, const char *value)
{
    if (req->answer.nheaders == HTTP_REQ_MAX_HEADERS)
        return;
    req->answer.header_names[req->answer.nheaders] = strdup(name);
    req->answer.header_values[req->answer.nheaders] = strdup(value);
    if (req->answer.header_names[req->answer.nheaders] &&
        req->answer.header_values[req->answer.nheaders]) {
        req->answer.nheaders++;
    } else {
        free(req->answer.header_names[req->answer.nheaders]);
        free(req->answer.header_values[req->answer.nheaders]);
    }
}

void http_req_set_ctx(struct http_req *req, void *ctx, void (*free_fn)(void *))
{
    req->ctx = ctx;
    req->ctx_free = free_fn;
}

void *http_req_ctx(struct http_req *req)
{
    return req->ctx;
}

void http_req_set_stream(struct http_req *req, http_stream_fn read, void *ud,
                         void (*free_fn)(void *))
{
    req->stream.read = read;
    req->stream.ud = ud;
    req->stream.free_fn = free_fn;
}

void http_req_set_stream_type(struct http_req *req, const char *content_type, size_t block)
{
    req->stream.content_type = content_type;
    req->stream.block = block;
}

void http_req_on_cancel(struct http_req *req, http_cancel_cb cb, void *ud)
{
    req->susp.cancel_cb = cb;
    req->susp.cancel_ud = ud;
}

const atomic_bool *http_req_cancelled(struct http_req *req)
{
    return &req->susp.cancelled;
}

uint64_t http_req_serial(struct http_req *req)
{
    return req->serial;
}

void http_req_complete(struct http_req *req, struct json_object *body, const struct err *e)
{
    pthread_mutex_lock(&req->susp.lock);
    /* Under the request's lock, so dispatch cannot add it to the watch list afterwards. */
    http_watch_remove(req->srv, req);
    if (e && e->code) {
        req->susp.err = *e;
        json_object_put(body);
    } else {
        req->susp.body = body;
    }
    req->susp.completed = true;
    if (req->susp.suspended) {
        MHD_resume_connection(req->conn);
        metrics_parked(-1);
    }
    pthread_mutex_unlock(&req->susp.lock);
}

static enum MHD_Result send_completed(struct http_req *req)
{
    if (req->susp.err.code)
        return send_error(req, &req->susp.err);
    if (!req->susp.body)
        return send_error_code(req, HE_INTERNAL, "the request finished without an answer");
    return send_json(req, take_ptr(req->susp.body));
}

/* ---- streamed answers ---- */

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    struct http_server *srv = st->srv;
    long n;
    (void)pos;

    if (atomic_load(&srv->draining)) /* a file ended here would look complete */
        return st->file ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    n = st->read(st->ud, buf, max);
    if (n == HTTP_STREAM_FAILED)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0) {
        /* Nothing yet: park the connection; the watch thread resumes it shortly. */
        pthread_mutex_lock(&srv->watch_lock);
        if (!st->idle) {
            MHD_suspend_connection(st->conn);
            st->idle = true;
            st->idle_next = srv->idle_streams;
            srv->idle_streams = st;
        }
        pthread_mutex_unlock(&srv->watch_lock);
        return 0;
    }
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    if (st->free_fn) {
        log_set_request(st->request_id); /* what the stream logs at its end carries the id */
        st->free_fn(st->ud);
        log_set_request(NULL);
    }
    free(st);
}

static enum MHD_Result send_stream(struct http_req *req)
{
    struct stream *st = calloc(1, sizeof(*st));
    struct MHD_Response *resp;

    if (!st)
        return MHD_NO;
    st->srv = req->srv;
    st->conn = req->conn;
    st->read = req->stream.read;
    st->ud = req->stream.ud;
    st->free_fn = req->stream.free_fn;
    memcpy(st->request_id, req->request_id, sizeof(st->request_id));
    st->file = req->stream.content_type != NULL;
    req->stream.free_fn = NULL; /* the stream owns ud now */
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
                                             req->stream.block ? req->stream.block : 4096,
                                             stream_reader, st, stream_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            req->stream.content_type ? req->stream.content_type
                                                     : "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return queue_answer(req, MHD_HTTP_OK, resp);
}

static enum MHD_Result dispatch(struct http_req *req)
{
    const struct route *route = req->route.match.route;
    struct json_object *out = NULL;
    struct MHD_Response *preflight, *web;
    unsigned web_status;
    struct err e;
    int r;

    err_clear(&e);
    if (req->route.rc == HE_METHOD &&
        (preflight =
             cors_preflight(req->srv->cors, req->conn, req->route.method, req->route.match.allow)))
        return queue_answer(req, MHD_HTTP_NO_CONTENT, preflight);
    if (req->route.rc == HE_NOT_FOUND && http_web_answer(req, &web, &web_status))
        return web ? queue_answer(req, web_status, web) : MHD_NO;
    if (req->route.rc == HE_NOT_FOUND)
        return send_error_code(req, HE_NOT_FOUND, "no such path: %s %s", req->route.method,
                               req->route.path);
    if (req->route.rc == HE_METHOD)
        return send_error_code(req, HE_METHOD, "method %s is not allowed on %s (allowed: %s)",
                               req->route.method, req->route.path, req->route.match.allow);
    if (req->denied.code)
        return send_error(req, &req->denied);
    if ((route->flags & ROUTE_JSON) &&
        !(req->body.buf.len == 0 && (route->flags & ROUTE_JSON_OPTIONAL))) {
        if (json_parse(req->body.buf.data ? req->body.buf.data : "", req->body.buf.len,
                       &req->body.json, &e) < 0)
            return send_error(req, &e);
        buf_done(&req->body.buf);
        body_read(req, route);
    }
    if (route->flags & ROUTE_MULTIPART) {
        if (!req->upload.pp && !req->upload.err.code)
            err_set(&req->upload.err, HE_BAD_REQUEST, NULL,
                    "the body must be multipart/form-data with a part named file");
        if (req->upload.err.code)
            return send_error(req, &req->upload.err);
    }
    r = route->handler(req, &out, &e);
    if (r == HTTP_STREAM)
        return send_stream(req);
    if (r == HTTP_PENDING) {
        enum MHD_Result ret = MHD_YES;
        pthread_mutex_lock(&req->susp.lock);
        req->susp.pending = true;
        if (req->susp.completed) {
            ret = send_completed(req);
        } else {
            MHD_suspend_connection(req->conn);
            req->susp.suspended = true;
            metrics_parked(1);
            if (req->susp.cancel_cb)
                http_watch_add(req->srv, req);
        }
        pthread_mutex_unlock(&req->susp.lock);
        return ret;
    }
    if (r < 0) {
        json_object_put(out);
        if (!e.code)
            err_set(&e, r, NULL, NULL);
        return send_error(req, &e);
    }
    if (!out)
        return send_error_code(req, HE_INTERNAL, "the handler gave no answer");
    return send_json(req, out);
}

/* The most body bytes read and dropped before answering 413, so that a client that writes its
 * whole body before reading gets the answer rather than a reset (nginx's lingering close): four
 * times the limit, at most 64 MiB. Past it the connection is closed. */
static uint64_t drop_bound(size_t limit)
{
    uint64_t cap = (uint64_t)64 << 20;
    return limit < cap / 4 ? (uint64_t)limit * 4 : cap;
}

/* A body announced over its limit: read and dropped up to the bound, then 413; past the bound,
 * 413 at once. Either way the connection is closed after the answer. */
static enum MHD_Result refuse_too_large(struct http_req *req, const char *cl)
{
    req->answer.close = true;
    if (strtoull(cl, NULL, 10) > drop_bound(req->body.buf.max))
        return send_error_code(req, HE_TOO_LARGE,
                               "request body too large: %s bytes, the limit is %zu bytes", cl,
                               req->body.buf.max);
    req->body.too_large = true;
    req->body.length = cl;
    buf_done(&req->body.buf);
    return MHD_YES;
}

/* First call: checks the request's head, routes it, sets its body limit and turns away what is
 * refused early (503 while draining or with too many uploads, 400 for a malformed head, 414,
 * 431, 413 by Content-Length). 404 and 405 are answered at the end. */
static enum MHD_Result on_request_start(struct http_server *srv, struct http_req *req,
                                        const char *version)
{
    const char *cl;
    bool multipart;
    struct err e;

    err_clear(&e);
    if (atomic_load(&srv->draining))
        return send_error_code(req, HE_UNAVAILABLE, "the server is shutting down");
    if (conn_guard_check(req->conn, req->route.method, req->route.raw_uri, version, &e) < 0) {
        req->answer.close = true;
        return send_error(req, &e);
    }
    req->route.rc = router_match(http_routes, http_routes_count, req->route.method, req->route.path,
                                 &req->route.match);
    if (req->route.rc != 0 || http_access_check(req, &req->denied) < 0)
        return MHD_YES; /* answered at the end (a refused request's body is dropped) */
    multipart = req->route.match.route->flags & ROUTE_MULTIPART;
    if (req->route.match.route->body_limit)
        req->body.buf.max = req->route.match.route->body_limit;
    else if (multipart)
        req->body.buf.max = srv->max_upload;
    cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > req->body.buf.max)
        return refuse_too_large(req, cl);
    if (!multipart)
        return MHD_YES;
    req->upload.expected = cl ? strtoull(cl, NULL, 10) : 0;
    if (uploads_admit(req) < 0)
        return send_error_code(req, HE_UNAVAILABLE,
                               "too many uploads arriving at once (the limit is %zu): retry later",
                               srv->max_uploads);
    return MHD_YES;
}

/* A piece of a body over its limit: dropped, up to the bound. */
static enum MHD_Result drop_body(struct http_req *req, size_t size)
{
    req->body.dropped += size;
    return req->body.dropped > drop_bound(req->body.buf.max) ? MHD_NO : MHD_YES;
}

/* A piece of a multipart upload: watched until complete, parsed as it comes. An upload that
 * passes its limit without announcing it is dropped up to the bound, then 413. */
static enum MHD_Result on_upload_data(struct http_req *req, const char *data, size_t size)
{
    uploads_chunk(req, data, size);
    if (req->upload.received > req->body.buf.max &&
        req->upload.received - req->body.buf.max > drop_bound(req->body.buf.max))
        return MHD_NO;
    return MHD_YES;
}

/* A piece of a JSON body. A body without Content-Length (chunked) is only known to be too
 * large once it is: the rest is dropped (up to the bound) and 413 answered when it ends, since
 * libmicrohttpd cannot answer in the middle of an upload. Memory stays bounded by the limit. */
static enum MHD_Result on_body_data(struct http_req *req, const char *data, size_t size)
{
    int r;

    if (req->route.rc != 0)
        return MHD_YES;
    r = buf_add(&req->body.buf, data, size);
    if (r == HE_TOO_LARGE) {
        req->body.too_large = true;
        req->answer.close = true;
        buf_done(&req->body.buf);
        return drop_body(req, size);
    } else if (r < 0) {
        return send_error_code(req, r, NULL);
    }
    return MHD_YES;
}

/* The body has ended: answer 413 for one over its limit, else run the route. */
static enum MHD_Result on_request_end(struct http_req *req)
{
    uploads_ended(req);
    if (req->body.too_large && req->body.length)
        return send_error_code(req, HE_TOO_LARGE,
                               "request body too large: %s bytes, the limit is %zu bytes",
                               req->body.length, req->body.buf.max);
    if (req->body.too_large)
        return send_error_code(req, HE_TOO_LARGE, "request body too large: the limit is %zu bytes",
                               req->body.buf.max);
    return dispatch(req);
}

/* libmicrohttpd calls this first with the headers, then once per piece of body, then once
 * with none at its end, and again after a suspended request is resumed. */
static enum MHD_Result on_access_req(struct http_server *srv, struct http_req *req, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size);

/* Every call for a request runs with its id in the thread's log lines. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_req *req = *con_cls;
    enum MHD_Result ret;

    if (!req)
        return MHD_NO; /* on_uri could not make it */
    if (!req->route.started)
        request_id_pick(conn, req->request_id);
    log_set_request(req->request_id);
    ret = on_access_req(cls, req, url, method, version, upload_data, upload_data_size);
    log_set_request(NULL);
    return ret;
}

static enum MHD_Result on_access_req(struct http_server *srv, struct http_req *req, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size)
{
    size_t size = *upload_data_size;
    enum MHD_Result ret;

    if (!req->route.started) {
        req->route.started = true;
        snprintf(req->route.method, sizeof(req->route.method), "%s", method);
        if (!(req->route.path = strdup(url)))
            return MHD_NO;
        return on_request_start(srv, req, version);
    }
    *upload_data_size = 0; /* every piece is taken whole, or dropped */
    if (req->answer.responded)
        return MHD_YES;
    if (size && (req->body.too_large || req->denied.code))
        return drop_body(req, size);
    if (req->susp.pending) {
        pthread_mutex_lock(&req->susp.lock);
        ret = send_completed(req);
        pthread_mutex_unlock(&req->susp.lock);
        return ret;
    }
    if (size && req->route.rc == 0 && (req->route.match.route->flags & ROUTE_MULTIPART))
        return on_upload_data(req, upload_data, size);
    if (size)
        return on_body_data(req, upload_data, size);
    return on_request_end(req);
}

/* libmicrohttpd has read a request's target: the request starts here, with the target as sent. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    return req_new(cls, conn, uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_req *req = *con_cls;
    (void)conn;

    if (!req)
        return;
    log_set_request(req->request_id);
    if (log_enabled(LOG_INFO) || (req->answer.status >= 500 && log_enabled(LOG_ERROR))) {
        char status[16], dur[32];
        snprintf(status, sizeof(status), "%u", req->answer.status);
        snprintf(dur, sizeof(dur), "%.3f", (double)(clock_mono_us() - req->start_us) / 1000.0);
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->answer.status)
            snprintf(status, sizeof(status), "%s", "aborted");
        log_event(req->answer.status >= 500 ? LOG_ERROR : LOG_INFO, "request", "method",
                  req->route.method, "path", req->route.path ? req->route.path : req->route.raw_uri,
                  "status", status, "duration_ms", dur, req->answer.error[0] ? "error" : NULL,
                  req->answer.error, NULL);
    }
    http_metrics_request(req->answer.web ? &http_web_route
                         : req->route.rc ? NULL
                                         : req->route.match.route,
                         req->answer.status, clock_mono_us() - req->start_us);
    req_free(req); /* (a stream's end is logged here, still with the id) */
    log_set_request(NULL);
    *con_cls = NULL;
    atomic_fetch_add(&srv->ended, 1);
    atomic_fetch_sub(&srv->inflight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* While the daemon starts, its first complaint (why it would not start) is kept here. */
static _Thread_local char *start_complaint;

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (start_complaint && !start_complaint[0])
        snprintf(start_complaint, ERR_MSG_MAX, "%s", msg);
    log_event(LOG_DEBUG, "http", "detail", msg, NULL);
}

/* Frees a server that did not start; returns the error e holds. */
static int start_failed(struct http_server *srv, struct err *e)
{
    http_tls_done(&srv->tls);
    cors_free(srv->cors);
    free(srv);
    return e->code;
}

int http_server_start(const struct http_server_config *cfg, struct app *app,
                      struct http_server **ret, struct err *e)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    struct sockaddr *addr;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO;
    const union MHD_DaemonInfo *info;
    char complaint[ERR_MSG_MAX] = "";

    if (!srv)
        return err_set(e, HE_NOMEM, NULL, NULL);
    pthread_mutex_init(&srv->watch_lock, NULL);
    pthread_cond_init(&srv->watch_cond, NULL);
    srv->app = app;
    srv->max_body = cfg->max_body;
    srv->max_upload = cfg->max_upload ? cfg->max_upload : (size_t)1 << 30;
    srv->max_uploads = cfg->max_uploads ? cfg->max_uploads : uploads_default_max();
    srv->upload_idle_us =
        (int64_t)(cfg->upload_idle_timeout ? cfg->upload_idle_timeout : 30) * 1000000;
    if (inet_pton(AF_INET, cfg->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else if (strcmp(cfg->host, "localhost") == 0) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr = (struct sockaddr *)&a4;
    } else {
        err_set(e, HE_BAD_REQUEST, "host",
                "host must be an IPv4 or IPv6 address or localhost, not %s", cfg->host);
        return start_failed(srv, e);
    }
    if (http_tls_load(&srv->tls, cfg->tls_cert, cfg->tls_key, e) < 0 ||
        cors_new(cfg->cors_origins, &srv->cors, e) < 0)
        return start_failed(srv, e);
    if (http_tls_on(&srv->tls))
        flags |= MHD_USE_TLS;
    start_complaint = complaint;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(cfg->threads ? cfg->threads : 2), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        CONN_GUARD_MEMORY_LIMIT, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16384,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned int)1024, MHD_OPTION_ARRAY, srv->tls.options, MHD_OPTION_END);
    start_complaint = NULL;
    if (!srv->daemon && http_tls_on(&srv->tls)) {
        err_set(e, HE_INVALID, "tls-cert",
                "cannot start TLS with --tls-cert %s and --tls-key %s: %s", cfg->tls_cert,
                cfg->tls_key, complaint[0] ? complaint : "refused");
        return start_failed(srv, e);
    }
    if (!srv->daemon) {
        err_set(e, HE_IO, "port", "cannot listen on %s port %u (in use, or not allowed)", cfg->host,
                cfg->port);
        return start_failed(srv, e);
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    if (pthread_create(&srv->watcher, NULL, http_watch_main, srv) != 0) {
        MHD_stop_daemon(srv->daemon);
        err_set(e, HE_INTERNAL, NULL, "cannot start the HTTP watch thread");
        return start_failed(srv, e);
    }
    pthread_setname_np(srv->watcher, "hetu-watch");
    *ret = srv;
    return 0;
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

static void wait_inflight(struct http_server *srv, int64_t grace_us)
{
    int64_t deadline = clock_mono_us() + grace_us;
    while (atomic_load(&srv->inflight) > 0 && clock_mono_us() < deadline)
        usleep(5000);
}

void http_server_drain(struct http_server *srv, int64_t grace_us)
{
    if (!srv)
        return;
    /* libmicrohttpd's MHD_quiesce_daemon races with its epoll thread pool (it can abort the
     * process), so the listening socket stays open while draining and new requests are turned
     * away with 503 instead. */
    atomic_store(&srv->draining, true);
    wait_inflight(srv, grace_us);
}

void http_server_stop(struct http_server *srv, int64_t grace_us)
{
    if (!srv)
        return;
    http_server_drain(srv, grace_us);
    if (atomic_load(&srv->inflight) > 0)
        log_event(LOG_WARN, "stopping with requests still in flight", NULL);
    MHD_stop_daemon(srv->daemon);
    pthread_mutex_lock(&srv->watch_lock);
    srv->watch_stop = true;
    pthread_cond_signal(&srv->watch_cond);
    pthread_mutex_unlock(&srv->watch_lock);
    pthread_join(srv->watcher, NULL);
    pthread_mutex_destroy(&srv->watch_lock);
    pthread_cond_destroy(&srv->watch_cond);
    http_tls_done(&srv->tls);
    cors_free(srv->cors);
    free(srv);
}
