/* SPDX-License-Identifier: MIT */
/*
 * The server's and a request's state, shared by server.c and uploads.c (file uploads, their
 * cap and idle timeout) and by nothing else.
 */
#ifndef HETU_HTTP_SERVER_INT_H
#define HETU_HTTP_SERVER_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "http/cors.h"
#include "http/request.h"
#include "http/request_id.h"
#include "http/router.h"
#include "http/tls.h"
#include "util/buf.h"

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    size_t max_body, max_upload;
    size_t max_uploads;         /* file uploads arriving at once; past it, 503 */
    int64_t upload_idle_us;     /* an upload that sends nothing for this long is dropped */
    atomic_size_t uploads;      /* file uploads arriving now */
    atomic_uint_fast64_t ended; /* requests ended so far: the watcher trims memory once idle */
    unsigned port;
    atomic_int inflight;
    atomic_bool draining; /* stopping: new requests get 503, streamed answers end */
    atomic_uint_fast64_t serial;
    struct http_tls tls; /* the certificate and key, or none */
    struct cors *cors;   /* allowed origins; NULL: no CORS headers (http/cors.h) */

    /* Suspended requests, watched for clients that go away. */
    pthread_mutex_t watch_lock;
    pthread_cond_t watch_cond;
    struct http_req *watched;
    struct stream *idle_streams; /* suspended until they have more to say */
    bool watch_stop;
    pthread_t watcher;
};

/*
 * One request. The HTTP thread that libmicrohttpd calls for the connection owns it, except
 * where a group says otherwise.
 */
struct http_req {
    struct http_server *srv;
    struct MHD_Connection *conn;
    int64_t start_us;
    uint64_t serial;
    char request_id[REQUEST_ID_MAX + 1]; /* X-Request-Id (http/request_id.h) */

    /* Routing: what was asked and which route answers it (rc 0, HE_NOT_FOUND or HE_METHOD). */
    struct {
        char method[16];
        char *path;
        char *raw_uri; /* the target as sent, before libmicrohttpd unescapes it */
        bool started;  /* the first call into on_access has been made */
        int rc;
        struct route_match match;
    } route;

    /* Body of a JSON route, gathered up to its limit and parsed before the handler runs. */
    struct {
        struct buf buf;
        struct json_object *json;
        bool too_large;     /* the body passed its limit: the rest is read and dropped, then 413 */
        const char *length; /* Content-Length as sent, or NULL */
        uint64_t dropped;   /* bytes read and dropped since it passed its limit */
    } body;

    /* The answer as queued, and what the request log line says of it. */
    struct {
        unsigned status;
        char error[ERR_MSG_MAX];
        bool responded;
        bool close; /* the connection is closed after the answer */
        bool web;   /* answered by the web interface (http/h_web.c) */
        size_t nheaders;
        char *header_names[HTTP_REQ_MAX_HEADERS], *header_values[HTTP_REQ_MAX_HEADERS];
    } answer;

    /* Suspension of a handler that returned HTTP_PENDING; the flags and the answer are under
     * lock, since http_req_complete may run on any thread. */
    struct {
        pthread_mutex_t lock;
        bool pending, suspended, completed;
        struct json_object *body;
        struct err err;
        http_cancel_cb cancel_cb;
        void *cancel_ud;
        atomic_bool cancelled; /* the client went away while the request waited */
    } susp;

    /* In srv->watched (under watch_lock): suspended, or an upload still arriving. */
    struct {
        struct http_req *prev, *next;
        bool on;
    } watch;

    /* A multipart file upload. Its Content-Length (0: not given) and the bytes handed over so
     * far are under watch_lock: fewer seen than expected is an upload still arriving. */
    struct {
        struct MHD_PostProcessor *pp;
        size_t received;
        struct err err;
        uint64_t expected, seen;
        int64_t last_us; /* when the last bytes came (under watch_lock) */
        bool arriving;   /* watched for idleness (under watch_lock) */
        bool busy;       /* a piece is being parsed (under watch_lock) */
        bool counted;    /* in srv->uploads */
    } upload;

    /* A streamed answer's source, handed to the stream when the answer is queued. */
    struct {
        http_stream_fn read;
        void *ud;
        void (*free_fn)(void *);
        const char *content_type; /* NULL: text/event-stream */
        size_t block;             /* 0: 4096 */
    } stream;

    void *ctx;
    void (*ctx_free)(void *);

    /* The API key check (http/access.c), made when the request is routed: what it may do, or
     * why it is refused (answered once its body has been read and dropped). */
    struct auth_grant grant;
    struct err denied;
};

/* A streamed answer. It belongs to the libmicrohttpd response, which outlives the request. */
struct stream {
    struct http_server *srv;
    struct MHD_Connection *conn;
    http_stream_fn read;
    void *ud;
    void (*free_fn)(void *);
    struct stream *idle_next;
    bool idle;
    bool file; /* a download (its own Content-Type): cut short when the server stops */
    char request_id[REQUEST_ID_MAX + 1]; /* the request's, for what its end logs */
};

/* Adds to / removes from srv->watched (a no-op when already so); each takes watch_lock. */
void http_watch_add(struct http_server *srv, struct http_req *req);
void http_watch_remove(struct http_server *srv, struct http_req *req);
/* The watch thread's body (http/watch.c); arg is the server. */
void *http_watch_main(void *arg);
/* The request's socket, or -1. */
int http_req_fd(struct http_req *req);
/* The client closed its side of the connection. */
bool http_client_gone(struct http_req *req);

#endif
