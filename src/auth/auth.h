/* SPDX-License-Identifier: MIT */
/*
 * Who may make a request: the API key check the server runs before every handler, with a cache
 * of verified keys and a table that slows down addresses that keep sending wrong keys.
 *
 * While no key has been created the server is open: every request passes. Once one exists,
 * every route but the public ones needs "Authorization: Bearer KEY" with a key in force;
 * admin routes need an admin key; a project key reaches routes that name its project and the
 * project list (filtered by the handler) only. Loopback-only routes (/metrics) pass without
 * a key from a loopback address, and need an admin key from anywhere else.
 */
#ifndef HETU_AUTH_AUTH_H
#define HETU_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "store/store.h"
#include "util/err.h"
#include "util/id.h"

/* Failed attempts: AUTH_FAIL_LIMIT wrong keys from one address within AUTH_FAIL_WINDOW_S
 * seconds block it for AUTH_BLOCK_S seconds (429 with Retry-After). At most AUTH_FAIL_SLOTS
 * addresses are remembered; past that the oldest is forgotten. */
#define AUTH_FAIL_LIMIT    10
#define AUTH_FAIL_WINDOW_S 60
#define AUTH_BLOCK_S       60
#define AUTH_FAIL_SLOTS    1024

/* A verified key's row is trusted from the cache for at most this long, so a key created or
 * revoked by another process (hetu keys create --db, another server on the same database)
 * takes effect here within this bound. Changes made through this process (auth_changed) take
 * effect at once. */
#define AUTH_CACHE_TTL_S 2

/* What the check needs to know of a request. */
struct auth_request {
    const char *authorization;   /* the Authorization header as sent, or NULL */
    const struct sockaddr *peer; /* the client's address, or NULL when unknown */
    bool public_route;           /* never needs a key */
    bool admin_only;             /* needs an admin key */
    bool local_only;             /* needs an admin key unless the peer is on loopback */
    const char *project_id;      /* the project the request names (path or query), or NULL */
    bool lists_projects;         /* the project list: a project key sees its own project */
    const char *missing_hint;    /* added to the 401 detail when no Authorization header came */
};

/* What a request that passed may do. */
struct auth_grant {
    bool checked;            /* a key was verified (false: open server, public or local route) */
    bool admin;              /* an admin key */
    char project_id[ID_LEN]; /* a project key's project, "" otherwise */
    char key_id[ID_LEN];     /* the verified key's id, "" when none */
};

struct auth;

int auth_new(struct store *store, struct auth **ret, struct err *e);
void auth_free(struct auth *a);

/*
 * Decides on a request: 0 with *ret filled; HE_UNAUTHORIZED (no key, or a wrong, malformed or
 * revoked one), HE_FORBIDDEN (a key that may not make this request), HE_TOO_MANY with
 * *ret_retry_s the seconds the address stays blocked, or a store error. May be called from any
 * thread.
 */
int auth_check(struct auth *a, const struct auth_request *q, struct auth_grant *ret,
               int64_t *ret_retry_s, struct err *e);

/* A key was created or revoked through this process: what is cached is read again. */
void auth_changed(struct auth *a);

/* True while no key has been created (read from the store now). */
int auth_is_open(struct auth *a, bool *ret, struct err *e);

/* The address is a loopback one (127.0.0.0/8, ::1, or ::ffff:127.x.y.z). */
bool auth_addr_loopback(const struct sockaddr *sa);

#endif
