/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd with its internal epoll thread pool, driven by the route table. */
#ifndef HETU_HTTP_SERVER_H
#define HETU_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http/app.h"
#include "util/err.h"

struct http_server_config {
    const char *host;
    unsigned port; /* 0: any free port */
    unsigned threads;
    size_t max_body;              /* limit of JSON bodies in bytes */
    size_t max_upload;            /* limit of file uploads in bytes; 0: 1 GiB */
    size_t max_uploads;           /* file uploads arriving at once; 0: from the descriptor limit */
    unsigned upload_idle_timeout; /* seconds an upload may send nothing; 0: 30 */
    const char *tls_cert, *tls_key; /* PEM files; both NULL: plain HTTP (http/tls.h) */
    const char *cors_origins;       /* comma-separated; NULL: no CORS (http/cors.h) */
};

struct http_server;

int http_server_start(const struct http_server_config *cfg, struct app *app,
                      struct http_server **ret, struct err *e);
unsigned http_server_port(const struct http_server *srv);
/* Stops accepting and waits up to grace_us for the requests in flight to finish. */
void http_server_drain(struct http_server *srv, int64_t grace_us);
/*
 * Waits up to grace_us more for requests in flight (cancel their work first), then stops the
 * threads and frees the server.
 */
void http_server_stop(struct http_server *srv, int64_t grace_us);

#endif
