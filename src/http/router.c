/* SPDX-License-Identifier: MIT */
/*
 * Router: a linear scan of the route table comparing path segments. With a few dozen routes
 * this costs well under a microsecond and needs no precompiled structure. A trailing slash is
 * not significant ("/api/projects/" is "/api/projects").
 */
#include "http/router.h"

#include <string.h>

#include "util/banned.h"

struct seg {
    const char *p;
    size_t len;
};

static int split(const char *path, struct seg *segs, size_t *ret_n)
{
    size_t n = 0;

    if (*path != '/')
        return -1;
    while (*path) {
        const char *start;
        while (*path == '/')
            path++;
        if (!*path)
            break;
        start = path;
        while (*path && *path != '/')
            path++;
        if (n == ROUTER_MAX_SEGMENTS)
            return -1;
        segs[n].p = start;
        segs[n].len = (size_t)(path - start);
        n++;
    }
    *ret_n = n;
    return 0;
}

/* Matches path segments against a pattern; fills params when m is not NULL. */
static int match_pattern(const char *pattern, const struct seg *segs, size_t n,
                         struct route_match *m)
{
    struct seg pat[ROUTER_MAX_SEGMENTS];
    size_t np, nparams = 0;

    if (split(pattern, pat, &np) < 0 || np != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (pat[i].len >= 2 && pat[i].p[0] == '{' && pat[i].p[pat[i].len - 1] == '}') {
            if (segs[i].len >= ROUTER_PARAM_MAX || nparams == ROUTER_MAX_PARAMS)
                return 0;
            if (m) {
                m->names[nparams] = pat[i].p + 1;
                m->name_lens[nparams] = pat[i].len - 2;
                memcpy(m->values[nparams], segs[i].p, segs[i].len);
                m->values[nparams][segs[i].len] = '\0';
            }
            nparams++;
        } else if (pat[i].len != segs[i].len || memcmp(pat[i].p, segs[i].p, segs[i].len) != 0) {
            return 0;
        }
    }
    if (m)
        m->nparams = nparams;
    return 1;
}

static void allow_add(char *allow, size_t size, const char *method)
{
    size_t len = strlen(allow);
    if (strstr(allow, method))
        return;
    if (len + strlen(method) + 3 >= size)
        return;
    if (len) {
        memcpy(allow + len, ", ", 2);
        len += 2;
    }
    memcpy(allow + len, method, strlen(method) + 1);
}

int router_match(const struct route *routes, size_t n, const char *method, const char *path,
                 struct route_match *ret)
{
    struct seg segs[ROUTER_MAX_SEGMENTS];
    size_t nsegs;
    int path_known = 0;
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;

    memset(ret, 0, sizeof(*ret));
    if (split(path, segs, &nsegs) < 0)
        return HE_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(routes[i].pattern, segs, nsegs, NULL))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, want) == 0) {
            match_pattern(routes[i].pattern, segs, nsegs, ret);
            ret->route = &routes[i];
            ret->allow[0] = '\0';
            return 0;
        }
        allow_add(ret->allow, sizeof(ret->allow), routes[i].method);
    }
    return path_known ? HE_METHOD : HE_NOT_FOUND;
}

const char *route_param(const struct route_match *m, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < m->nparams; i++)
        if (m->name_lens[i] == len && memcmp(m->names[i], name, len) == 0)
            return m->values[i];
    return NULL;
}
