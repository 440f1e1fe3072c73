/* SPDX-License-Identifier: MIT */
/*
 * What a handler may ask of its request. A handler answers by returning (see router.h), or, for
 * work that waits on something else, returns HTTP_PENDING and later calls http_req_complete()
 * exactly once from any thread; the connection is suspended in between and no HTTP thread waits.
 */
#ifndef HETU_HTTP_REQUEST_H
#define HETU_HTTP_REQUEST_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include <json-c/json.h>

#include "http/app.h"
#include "util/err.h"

#define HTTP_PENDING 1
#define HTTP_STREAM  2

struct http_req;

struct app *http_req_app(struct http_req *req);
const char *http_req_param(struct http_req *req, const char *name);
/* A query-string argument (decoded), or NULL when absent. */
const char *http_req_query(struct http_req *req, const char *name);
/* The parsed body of a ROUTE_JSON route (never NULL there). */
struct json_object *http_req_body(struct http_req *req);

/* Answers a pending request: 200 with body (taken over), or the error in e when e->code. */
void http_req_complete(struct http_req *req, struct json_object *body, const struct err *e);

/* Adds a header to the answer (at most HTTP_REQ_MAX_HEADERS; values are copied). */
#define HTTP_REQ_MAX_HEADERS 8
void http_req_set_header(struct http_req *req, const char *name, const char *value);

/*
 * A pending request's cancel hook: called at most once, from the server's watch thread, when
 * the client disconnects while the request waits. The work should stop and still complete the
 * request (its answer is then dropped). Set it before returning HTTP_PENDING.
 */
typedef void (*http_cancel_cb)(void *ud);
void http_req_on_cancel(struct http_req *req, http_cancel_cb cb, void *ud);

/* Per-request state of a handler across calls (multipart parts, then the handler); freed
 * with free_fn when the request ends. */
void http_req_set_ctx(struct http_req *req, void *ctx, void (*free_fn)(void *));
void *http_req_ctx(struct http_req *req);

/*
 * A streamed answer (text/event-stream unless http_req_set_stream_type says otherwise): set it
 * and return HTTP_STREAM. read is called on the server's threads to fill buf: it returns the
 * bytes written, 0 when it has nothing yet (it is asked again about 250 ms later), -1 when the
 * stream is over, or -2 when it failed (the connection is closed without the final chunk, so
 * the client sees a broken answer). free_fn(ud) runs at the end, also when the client went away.
 * Headers set with http_req_set_header go out with the stream.
 */
typedef long (*http_stream_fn)(void *ud, char *buf, size_t max);
#define HTTP_STREAM_FAILED (-2)
void http_req_set_stream(struct http_req *req, http_stream_fn read, void *ud,
                         void (*free_fn)(void *));
/* The stream's Content-Type (a static string) and the most bytes read is asked for at once.
 * Such a stream is a file: when the server stops before its end, the answer is cut short
 * (no final chunk) rather than ended as if complete. */
void http_req_set_stream_type(struct http_req *req, const char *content_type, size_t block);

/* Set (by the watch thread) when the client disconnected while the request waited; valid
 * until the request is completed. Work that starts later checks it. */
const atomic_bool *http_req_cancelled(struct http_req *req);

/* A number unique to this request among all requests of the process (an engine cancel group). */
uint64_t http_req_serial(struct http_req *req);

#endif
