/* SPDX-License-Identifier: MIT */
/*
 * CORS (see cors.h). The list of allowed origins is made once at start and only read after, by
 * every HTTP thread. Origins are compared whole and without regard to case, as browsers send them
 * serialised (scheme://host[:port], no path); an allowed origin is echoed, never "*", so that
 * caches keep answers apart by Origin (Vary). Nothing here allows credentials (cookies): clients
 * send their key in Authorization, which a preflight allows.
 */
#include "http/cors.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

#define CORS_MAX_ORIGINS    64
#define CORS_ALLOW_HEADERS  "Authorization, Content-Type, X-Request-Id"
#define CORS_EXPOSE_HEADERS "X-Request-Id, X-Hetu-Ignored-Fields, Content-Disposition"
#define CORS_MAX_AGE        "600" /* seconds a browser may keep a preflight's answer */

struct cors {
    bool any; /* "*" */
    size_t n;
    char *origins[CORS_MAX_ORIGINS];
};

/* scheme://host[:port]: a scheme of letters, then a host without path, query or spaces. */
static bool origin_shape(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    if (i == 0 || len < i + 4 || memcmp(s + i, "://", 3) != 0)
        return false;
    for (i += 3; i < len; i++)
        if (strchr("/?#@\\", s[i]) || (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Adds one listed origin (a trailing slash dropped); an error names it. */
static int add_origin(struct cors *c, const char *s, size_t len, struct err *e)
{
    if (len == 1 && s[0] == '*') {
        c->any = true;
        return 0;
    }
    if (len > 1 && s[len - 1] == '/' && s[len - 2] != '/')
        len--;
    if (!origin_shape(s, len))
        return err_set(e, HE_INVALID, "cors-origin",
                       "--cors-origin: '%.*s' is not an origin (scheme://host[:port], or *)",
                       (int)len, s);
    if (c->n == CORS_MAX_ORIGINS)
        return err_set(e, HE_INVALID, "cors-origin", "--cors-origin: at most %d origins",
                       CORS_MAX_ORIGINS);
    if (!(c->origins[c->n] = strndup(s, len)))
        return err_set(e, HE_NOMEM, "cors-origin", NULL);
    c->n++;
    return 0;
}

int cors_new(const char *origins, struct cors **ret, struct err *e)
{
    struct cors *c;
    const char *p = origins;

    *ret = NULL;
    if (!origins || !origins[strspn(origins, ", ")])
        return 0;
    if (!(c = calloc(1, sizeof(*c))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    while (*(p += strspn(p, ", "))) {
        size_t len = strcspn(p, ", ");
        if (add_origin(c, p, len, e) < 0) {
            cors_free(c);
            return e->code;
        }
        p += len;
    }
    *ret = c;
    return 0;
}

void cors_free(struct cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->origins[i]);
    free(c);
}

/* The request's Origin when it is allowed, else NULL. */
static const char *allowed_origin(const struct cors *c, struct MHD_Connection *conn)
{
    const char *origin;

    if (!c || !(origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin")) || !*origin)
        return NULL;
    if (c->any)
        return origin;
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->origins[i], origin) == 0)
            return origin;
    return NULL;
}

void cors_add_headers(const struct cors *c, struct MHD_Connection *conn, struct MHD_Response *resp)
{
    const char *origin = allowed_origin(c, conn);

    if (c) /* the answer depends on Origin, whatever it was: caches must keep them apart */
        MHD_add_response_header(resp, "Vary", "Origin");
    if (!origin)
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

struct MHD_Response *cors_preflight(const struct cors *c, struct MHD_Connection *conn,
                                    const char *method, const char *allow)
{
    struct MHD_Response *resp;

    if (strcmp(method, "OPTIONS") != 0 || !allowed_origin(c, conn) ||
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Method"))
        return NULL;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return NULL;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow);
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
    return resp;
}
