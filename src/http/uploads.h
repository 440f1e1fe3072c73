/* SPDX-License-Identifier: MIT */
#ifndef HETU_HTTP_UPLOADS_H
#define HETU_HTTP_UPLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;

/* Seconds a client is asked to wait (Retry-After) when the uploads are at their cap. */
#define UPLOADS_RETRY_AFTER "5"

/* The default cap on uploads arriving at once: a quarter of the descriptor limit (each holds a
 * socket and a spool file), at most 8192. */
size_t uploads_default_max(void);

/* Counts a multipart upload in and watches it until it has arrived; HE_UNAVAILABLE (with the
 * answer's Retry-After set) when the server's uploads are at their cap. */
int uploads_admit(struct http_req *req);
/* Counts an admitted upload out; a no-op for any other request. */
void uploads_release(struct http_req *req);
/* A piece of the body of an admitted upload: counted, then handed to the multipart parser. */
void uploads_chunk(struct http_req *req, const char *data, size_t size);
/* The upload has ended (its last call): no longer watched. */
void uploads_ended(struct http_req *req);
/*
 * From the watch thread, under watch_lock, for a watched request: shuts down the socket of an
 * upload whose client closed with nothing left to read, or that sent nothing for the idle
 * timeout, which wakes libmicrohttpd to abort it. True when the request is such an upload.
 */
bool uploads_watch(struct http_req *req, int64_t now_us);

#endif
