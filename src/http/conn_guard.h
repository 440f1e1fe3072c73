/* SPDX-License-Identifier: MIT */
#ifndef HETU_HTTP_CONN_GUARD_H
#define HETU_HTTP_CONN_GUARD_H

#include <microhttpd.h>

#include "util/err.h"

/* The longest request line (method, target, version) the router takes: longer is a 414. */
#define CONN_GUARD_MAX_LINE (8u * 1024)
/* The most header bytes (names, values and their separators) the router takes: more is a 431. */
#define CONN_GUARD_MAX_HEADERS (32u * 1024)
/* libmicrohttpd's memory per connection: request lines and headers up to 64 KiB reach the router
 * (which answers the over-long ones in JSON); past this, libmicrohttpd answers by itself. */
#define CONN_GUARD_MEMORY_LIMIT ((size_t)160 * 1024)

/*
 * Checks a request's head before it is routed: the request target as sent (raw_uri, not yet
 * unescaped), its size and its headers' size, and the framing headers (RFC 9112 §6.3: differing
 * Content-Length headers, or Content-Length with Transfer-Encoding, is an attempt to smuggle a
 * request and is refused). Returns 0, or a negative code with e set; every refusal must close
 * the connection.
 */
int conn_guard_check(struct MHD_Connection *conn, const char *method, const char *raw_uri,
                     const char *version, struct err *e);

#endif
