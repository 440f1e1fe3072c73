/* SPDX-License-Identifier: MIT */
/*
 * Checks of a request's head, run once on the HTTP thread that reads it, before routing.
 *
 * DESIGN
 * - libmicrohttpd unescapes the request target before the application sees it, so an encoded
 *   NUL ("%00") would cut the path short and a malformed escape ("%zz") would pass unchanged.
 *   The target as sent is kept (the server takes it from libmicrohttpd's URI callback) and its
 *   path is checked here: every '%' must start two hex digits that are not "00".
 * - libmicrohttpd keeps every header it reads, even a repeated Content-Length, and prefers
 *   Transfer-Encoding over Content-Length when both are sent; a proxy in front may choose the
 *   other way. Both shapes are refused (400), as RFC 9112 §6.3 asks, and so is a
 *   Transfer-Encoding other than one "chunked" (§6.1), which libmicrohttpd would wait on.
 * - Size limits: the connection memory is large enough for 64 KiB of head, so the router sees
 *   heads over its own limits and answers them in JSON (414, 431) rather than libmicrohttpd's HTML.
 */
#include "http/conn_guard.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

struct head_scan {
    size_t bytes;       /* "name: value\r\n" of every header */
    const char *length; /* the first Content-Length */
    size_t length_size;
    bool lengths_differ;
    bool transfer_encoding;
    bool not_chunked; /* a Transfer-Encoding other than chunked alone */
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct head_scan *h = cls;
    (void)kind;

    h->bytes += key_size + value_size + 4;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        h->not_chunked |= h->transfer_encoding || !value || strcasecmp(value, "chunked") != 0;
        h->transfer_encoding = true;
    }
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (!h->length) {
        h->length = value ? value : "";
        h->length_size = value_size;
    } else if (value_size != h->length_size || memcmp(value, h->length, value_size) != 0) {
        h->lengths_differ = true;
    }
    return MHD_YES;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The first bad escape in the path part of a request target, or NULL. */
static const char *bad_escape(const char *uri)
{
    for (const char *p = uri; *p && *p != '?' && *p != '#'; p++) {
        if (*p != '%')
            continue;
        if (!is_hex(p[1]) || !is_hex(p[2]) || (p[1] == '0' && p[2] == '0'))
            return p;
        p += 2;
    }
    return NULL;
}

int conn_guard_check(struct MHD_Connection *conn, const char *method, const char *raw_uri,
                     const char *version, struct err *e)
{
    struct head_scan h = {0};
    size_t line = strlen(method) + strlen(raw_uri) + strlen(version) + 2;
    const char *bad;

    if (line > CONN_GUARD_MAX_LINE)
        return err_set(e, HE_URI_TOO_LONG, NULL,
                       "request line too long: %zu bytes, the limit is %u bytes", line,
                       CONN_GUARD_MAX_LINE);
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &h);
    if (h.bytes > CONN_GUARD_MAX_HEADERS)
        return err_set(e, HE_HEADERS_TOO_LARGE, NULL,
                       "request headers too large: %zu bytes, the limit is %u bytes", h.bytes,
                       CONN_GUARD_MAX_HEADERS);
    if (h.lengths_differ)
        return err_set(e, HE_BAD_REQUEST, NULL, "the request has differing Content-Length headers");
    if (h.length && h.transfer_encoding)
        return err_set(e, HE_BAD_REQUEST, NULL,
                       "the request has both Content-Length and Transfer-Encoding");
    if (h.not_chunked)
        return err_set(e, HE_BAD_REQUEST, NULL,
                       "the only Transfer-Encoding taken is chunked, sent once");
    if ((bad = bad_escape(raw_uri)))
        return err_set(e, HE_BAD_REQUEST, NULL,
                       "the path has an invalid or NUL percent-escape at byte %zu",
                       (size_t)(bad - raw_uri) + 1);
    return 0;
}
