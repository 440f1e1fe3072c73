/* SPDX-License-Identifier: MIT */
/*
 * The web interface's files and the rules that map a request path onto them.
 *
 * DESIGN
 * - The files are a constant table generated at build time (scripts/embed-web), sorted by
 *   path, so a lookup is a binary search and nothing is allocated or locked: any HTTP thread
 *   may call in at any time.
 * - Paths of the API and of the server's own pages (/api, /healthz, /metrics, /openapi.json,
 *   /docs and everything under them) are never the app's, so their 404s stay JSON. Under
 *   /assets/ only the current prefix's files exist; everything else is the app's index.html,
 *   whose client-side router reads the path.
 * - A lookup is exact: a path with "..", "//" or a trailing "/" names no file in the table.
 */
#include "web/assets.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

#define INDEX_PATH "index.html"

static int cmp_path(const void *key, const void *elem)
{
    const struct web_file *f = elem;
    return strcmp(key, f->path);
}

const struct web_file *web_find(const char *path)
{
    return bsearch(path, web_files, web_files_count, sizeof(web_files[0]), cmp_path);
}

/* Whether url is dir itself or a path under it. */
static bool is_under(const char *url, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(url, dir, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

enum web_kind web_resolve(const char *url, const struct web_file **ret_file)
{
    static const char *const not_app[] = {"/api", "/healthz", "/metrics", "/openapi.json", "/docs"};
    size_t n = strlen(web_assets_prefix);
    const struct web_file *f;

    for (size_t i = 0; i < sizeof(not_app) / sizeof(not_app[0]); i++)
        if (is_under(url, not_app[i]))
            return WEB_NONE;
    if (is_under(url, "/assets")) {
        if (strncmp(url, web_assets_prefix, n) != 0 || url[n] != '/')
            return WEB_MISSING;
        f = web_find(url + n + 1);
        /* index.html is not an asset: the hash does not cover it */
        if (!f || strcmp(f->path, INDEX_PATH) == 0)
            return WEB_MISSING;
        *ret_file = f;
        return WEB_ASSET;
    }
    f = web_find(INDEX_PATH);
    if (!f)
        return WEB_MISSING;
    *ret_file = f;
    return WEB_INDEX;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool web_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t n = strlen(etag);

    while (p && *p) {
        const char *end;

        p = skip_space(p);
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '"' && (end = strchr(p + 1, '"')) && (size_t)(end + 1 - p) == n &&
            memcmp(p, etag, n) == 0)
            return true;
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return false;
}

/* Whether the parameters of one Accept-Encoding element (from its first ';' to its end) hold
 * a q of zero: "q=0", "q=0.0", "q=0.000". */
static bool q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        p = skip_space(p + 1); /* past ';' */
        if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
            p += 2;
            if (*p != '0')
                return false;
            for (p++; p < end && (*p == '.' || *p == '0'); p++)
                ;
            p = skip_space(p);
            return p >= end || *p == ';';
        }
        while (p < end && *p != ';')
            p++;
    }
    return false;
}

bool web_accepts_gzip(const char *accept_encoding)
{
    const char *p = accept_encoding;
    int gzip = -1, star = -1; /* -1: not named; else whether accepted */

    while (p && *p) {
        const char *end = strchr(p, ','), *tok, *params;
        size_t len;

        if (!end)
            end = p + strlen(p);
        tok = skip_space(p);
        for (params = tok; params < end && *params != ';' && *params != ' ' && *params != '\t';)
            params++;
        len = (size_t)(params - tok);
        while (params < end && *params != ';')
            params++;
        if ((len == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (len == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
            gzip = !q_is_zero(params, end);
        else if (len == 1 && *tok == '*')
            star = !q_is_zero(params, end);
        p = *end ? end + 1 : end;
    }
    return gzip >= 0 ? gzip : star > 0;
}
