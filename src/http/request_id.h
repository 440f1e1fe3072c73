/* SPDX-License-Identifier: MIT */
/*
 * Request ids: every request has one, returned as X-Request-Id and carried by every log line the
 * server writes on the request's behalf. A client's own X-Request-Id is kept when it is sane (1
 * to 64 characters of letters, digits and ._:/+=-); otherwise 16 random hex digits.
 */
#ifndef HETU_HTTP_REQUEST_ID_H
#define HETU_HTTP_REQUEST_ID_H

#include <microhttpd.h>

#define REQUEST_ID_MAX 64

/* The id of the request on conn, into out (REQUEST_ID_MAX + 1 bytes). */
void request_id_pick(struct MHD_Connection *conn, char out[REQUEST_ID_MAX + 1]);

#endif
