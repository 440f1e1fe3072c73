/* SPDX-License-Identifier: MIT */
/*
 * The web interface's answers: a file of web/ (web/assets.h) as a libmicrohttpd response.
 *
 * DESIGN
 * - Runs on the request's HTTP thread, from the router's "no such path" branch, for GET and
 *   HEAD only: other methods keep their JSON 404. No API key is asked for: the files hold no
 *   data, and the app itself signs in against the API.
 * - Assets (under the current /assets/<hash>/) are cached for good, since a change of any file
 *   changes the hash; index.html, served for every other path so that the app routes it in the
 *   browser, is revalidated each time (no-cache) against its ETag.
 * - Every answer forbids inline scripts and foreign origins (Content-Security-Policy) and
 *   content sniffing. The bodies are the binary's own constant bytes, never copied.
 * - A text file with a gzip'd copy is sent compressed when the client accepts gzip, under its
 *   own ETag, with Vary: Accept-Encoding on both forms.
 */
#include "http/h_web.h"

#include <stdio.h>
#include <string.h>

#include "http/server_int.h"
#include "web/assets.h"
#include "util/banned.h"

#define CSP                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "             \
    "frame-ancestors 'none'; form-action 'self'"
#define CACHE_ASSET "public, max-age=31536000, immutable"
#define CACHE_INDEX "no-cache"
#define NOT_FOUND   "no such file\n"

const struct route http_web_route = {"GET", "web", NULL, 0, 0, "The web interface", NULL, NULL};

static void add_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
}

static struct MHD_Response *not_found(struct http_req *req, unsigned *ret_status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(NOT_FOUND), (void *)NOT_FOUND, MHD_RESPMEM_PERSISTENT);

    snprintf(req->answer.error, sizeof(req->answer.error), "no such file: %s", req->route.path);
    if (!resp)
        return NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, CACHE_INDEX);
    add_security_headers(resp);
    *ret_status = MHD_HTTP_NOT_FOUND;
    return resp;
}

/* f as the answer: 304 when the client holds it already, else 200 with its bytes. */
static struct MHD_Response *file_answer(struct http_req *req, const struct web_file *f,
                                        const char *cache, unsigned *ret_status)
{
    const char *inm =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool gz = f->gzip && web_accepts_gzip(MHD_lookup_connection_value(
                             req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    const char *etag = gz ? f->gzip_etag : f->etag;
    bool fresh = inm && web_etag_matches(inm, etag);
    struct MHD_Response *resp;

    if (fresh)
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(
            gz ? f->gzip_len : f->len, (void *)(gz ? f->gzip : f->data), MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return NULL;
    if (!fresh)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    if (!fresh && gz)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (f->gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    add_security_headers(resp);
    *ret_status = fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    return resp;
}

bool http_web_answer(struct http_req *req, struct MHD_Response **ret_resp, unsigned *ret_status)
{
    const struct web_file *f = NULL;
    enum web_kind kind;

    if (strcmp(req->route.method, "GET") != 0 && strcmp(req->route.method, "HEAD") != 0)
        return false;
    kind = web_resolve(req->route.path, &f);
    if (kind == WEB_NONE)
        return false;
    req->answer.web = true;
    if (kind == WEB_MISSING)
        *ret_resp = not_found(req, ret_status);
    else
        *ret_resp = file_answer(req, f, kind == WEB_ASSET ? CACHE_ASSET : CACHE_INDEX, ret_status);
    return true;
}
