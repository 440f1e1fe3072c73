/* SPDX-License-Identifier: MIT */
/*
 * The API key check (see auth.h for the rules).
 *
 * DESIGN
 * - The HTTP threads call auth_check for every request; everything here is under one mutex,
 *   held for a table lookup or a copy, never across a store read or a hash.
 * - Verified keys are cached by id (one slot per id modulo AUTH_CACHE_SLOTS), each with the
 *   generation it was read at and when. A key created or revoked through this process bumps
 *   the generation (auth_changed), which retires every cached row at once; a row is also read
 *   again once it is AUTH_CACHE_TTL_S old, the bound on how long a change made by another
 *   process goes unseen. Whether any key exists is cached the same way. A wrong secret never
 *   enters the cache: the secret is hashed with the stored salt on every request (a SHA-256 of
 *   80 bytes) and compared in constant time.
 * - Failed attempts are counted per client address in a fixed table of AUTH_FAIL_SLOTS slots
 *   (open addressing, AUTH_FAIL_PROBES probes; when all are taken the least recently failing
 *   address is forgotten), so no stream of addresses grows memory. Only a presented key that
 *   is wrong counts; a request without one does not. A blocked address gets 429 for every
 *   request that needs a key, the right key included, so that the block cannot be used to
 *   test keys. A request that passes forgets its address's failures.
 */
#include "auth/auth.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/keys.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/banned.h"

#define AUTH_CACHE_SLOTS 64
#define AUTH_FAIL_PROBES 8
#define US               1000000

struct cached_key {
    uint64_t gen; /* 0: empty */
    int64_t loaded_us;
    struct api_key rec; /* without its name (rec.name NULL, rec.mem empty) */
};

struct fail_slot {
    unsigned char addr[16]; /* IPv6, or IPv4 mapped into it */
    bool used;
    int count;                 /* failures since first_us */
    int64_t first_us, last_us; /* of the current window */
    int64_t blocked_until_us;  /* 0: not blocked */
};

struct auth {
    struct store *store;
    atomic_uint_fast64_t gen; /* starts at 1; bumped by auth_changed */
    atomic_int failing;       /* used slots of fails: 0 lets a request skip the table */

    pthread_mutex_t lock; /* guards what follows */
    struct cached_key keys[AUTH_CACHE_SLOTS];
    uint64_t count_gen; /* the key count below was read at this generation (0: never) */
    int64_t count_us;
    int64_t count;
    struct fail_slot fails[AUTH_FAIL_SLOTS];
};

int auth_new(struct store *store, struct auth **ret, struct err *e)
{
    struct auth *a = calloc(1, sizeof(*a));

    if (!a)
        return err_set(e, HE_NOMEM, NULL, NULL);
    a->store = store;
    atomic_store(&a->gen, 1);
    pthread_mutex_init(&a->lock, NULL);
    *ret = a;
    return 0;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void auth_changed(struct auth *a)
{
    if (a)
        atomic_fetch_add(&a->gen, 1);
}

/* ---- addresses ---- */

static bool addr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
    memset(out, 0, 16);
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

bool auth_addr_loopback(const struct sockaddr *sa)
{
    static const unsigned char v6_loop[16] = {[15] = 1};
    static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    unsigned char b[16];

    if (!addr_bytes(sa, b))
        return false;
    return memcmp(b, v6_loop, 16) == 0 || (memcmp(b, v4_mapped, 12) == 0 && b[12] == 127);
}

/* ---- failed attempts (under a->lock) ---- */

static size_t addr_hash(const unsigned char b[16])
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return (size_t)(h % AUTH_FAIL_SLOTS);
}

/* A slot whose address has nothing left to remember: no block, no failure in the window. */
static bool slot_stale(const struct fail_slot *f, int64_t now)
{
    return f->blocked_until_us <= now && now - f->last_us >= (int64_t)AUTH_FAIL_WINDOW_S * US;
}

static struct fail_slot *fail_find(struct auth *a, const unsigned char b[16])
{
    size_t h = addr_hash(b);
    for (size_t i = 0; i < AUTH_FAIL_PROBES; i++) {
        struct fail_slot *f = &a->fails[(h + i) % AUTH_FAIL_SLOTS];
        if (f->used && memcmp(f->addr, b, 16) == 0)
            return f;
    }
    return NULL;
}

/* The address's slot, taking a free, stale or (all else failing) the least recent one. */
static struct fail_slot *fail_claim(struct auth *a, const unsigned char b[16], int64_t now)
{
    struct fail_slot *f = fail_find(a, b), *pick = NULL;
    size_t h = addr_hash(b);

    if (f)
        return f;
    for (size_t i = 0; i < AUTH_FAIL_PROBES; i++) {
        f = &a->fails[(h + i) % AUTH_FAIL_SLOTS];
        if (!f->used || slot_stale(f, now)) {
            pick = f;
            break;
        }
        if (!pick || f->last_us < pick->last_us)
            pick = f;
    }
    if (!pick->used)
        atomic_fetch_add(&a->failing, 1);
    memset(pick, 0, sizeof(*pick));
    memcpy(pick->addr, b, 16);
    pick->used = true;
    return pick;
}

/* Seconds the address stays blocked, 0 when it is not. */
static int64_t blocked_for(struct auth *a, const unsigned char b[16], int64_t now)
{
    struct fail_slot *f;
    int64_t left = 0;

    if (atomic_load(&a->failing) == 0)
        return 0;
    pthread_mutex_lock(&a->lock);
    if ((f = fail_find(a, b)) && f->blocked_until_us > now)
        left = (f->blocked_until_us - now + US - 1) / US;
    pthread_mutex_unlock(&a->lock);
    return left;
}

static void note_failure(struct auth *a, const unsigned char b[16], int64_t now)
{
    struct fail_slot *f;

    pthread_mutex_lock(&a->lock);
    f = fail_claim(a, b, now);
    if (now - f->first_us >= (int64_t)AUTH_FAIL_WINDOW_S * US) {
        f->first_us = now;
        f->count = 0;
    }
    f->last_us = now;
    if (++f->count >= AUTH_FAIL_LIMIT) {
        f->blocked_until_us = now + (int64_t)AUTH_BLOCK_S * US;
        f->count = 0;
        f->first_us = now;
    }
    pthread_mutex_unlock(&a->lock);
}

static void forget_failures(struct auth *a, const unsigned char b[16], int64_t now)
{
    struct fail_slot *f;

    if (atomic_load(&a->failing) == 0)
        return;
    pthread_mutex_lock(&a->lock);
    if ((f = fail_find(a, b)) && f->blocked_until_us <= now) {
        memset(f, 0, sizeof(*f));
        atomic_fetch_sub(&a->failing, 1);
    }
    pthread_mutex_unlock(&a->lock);
}

/* ---- keys ---- */

static int key_count(struct auth *a, int64_t now, int64_t *ret, struct err *e)
{
    uint64_t gen = atomic_load(&a->gen);
    int64_t n;
    int r;

    pthread_mutex_lock(&a->lock);
    if (a->count_gen == gen && now - a->count_us < (int64_t)AUTH_CACHE_TTL_S * US) {
        *ret = a->count;
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    pthread_mutex_unlock(&a->lock);
    if ((r = store_api_key_count(a->store, &n, e)) < 0)
        return r;
    pthread_mutex_lock(&a->lock);
    a->count_gen = gen; /* read before the store: a change since retires it */
    a->count_us = now;
    a->count = n;
    pthread_mutex_unlock(&a->lock);
    *ret = n;
    return 0;
}

int auth_is_open(struct auth *a, bool *ret, struct err *e)
{
    int64_t n;
    int r;

    auth_changed(a);
    if ((r = key_count(a, clock_mono_us(), &n, e)) < 0)
        return r;
    *ret = n == 0;
    return 0;
}

/* The row of key id: from the cache when it is fresh, else from the store (then cached).
 * HE_NOT_FOUND when there is none. */
static int key_row(struct auth *a, const char *id, int64_t now, struct api_key *ret, struct err *e)
{
    uint64_t gen = atomic_load(&a->gen);
    struct cached_key *c = &a->keys[strtoull(id, NULL, 10) % AUTH_CACHE_SLOTS];
    struct api_key k = {0};
    int r;

    pthread_mutex_lock(&a->lock);
    if (c->gen == gen && strcmp(c->rec.id, id) == 0 &&
        now - c->loaded_us < (int64_t)AUTH_CACHE_TTL_S * US) {
        *ret = c->rec;
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    pthread_mutex_unlock(&a->lock);
    if ((r = store_api_key_get(a->store, id, &k, e)) < 0)
        return r;
    arena_done(&k.mem); /* the name is not needed */
    k.name = NULL;
    pthread_mutex_lock(&a->lock);
    c->gen = gen;
    c->loaded_us = now;
    c->rec = k;
    pthread_mutex_unlock(&a->lock);
    *ret = k;
    return 0;
}

/* The key of "Bearer KEY" in the header; NULL when the header is not of that form. */
static const char *bearer_token(const char *h, size_t *ret_len)
{
    size_t n;

    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    *ret_len = n;
    return n ? h : NULL;
}

/* Verifies the presented key into *ret: 0, HE_UNAUTHORIZED (e says why) or a store error. */
static int verify(struct auth *a, const char *header, int64_t now, struct api_key *ret,
                  struct err *e)
{
    char id[ID_LEN];
    const char *token, *secret;
    size_t len;
    struct err se = ERR_INIT;
    int r;

    if (!(token = bearer_token(header, &len)))
        return err_set(e, HE_UNAUTHORIZED, NULL,
                       "the Authorization header must be \"Bearer KEY\" with a Hetu API key");
    if (!auth_key_parse(token, len, id, &secret))
        return err_set(e, HE_UNAUTHORIZED, NULL, "the API key is not valid");
    if ((r = key_row(a, id, now, ret, &se)) == HE_NOT_FOUND ||
        (r == 0 && !auth_key_matches(ret, secret)))
        return err_set(e, HE_UNAUTHORIZED, NULL, "the API key is not valid");
    if (r < 0) {
        *e = se;
        return r;
    }
    if (ret->revoked_at)
        return err_set(e, HE_UNAUTHORIZED, NULL, "the API key %s was revoked", ret->id);
    return 0;
}

/* What a verified key k may do with request q: 0 or HE_FORBIDDEN. */
static int allowed(const struct api_key *k, const struct auth_request *q, struct err *e)
{
    if (k->admin)
        return 0;
    if (q->admin_only || q->local_only)
        return err_set(e, HE_FORBIDDEN, NULL, "this request needs an admin key; key %s is not one",
                       k->id);
    if (!k->project_id[0])
        return 0;
    if (q->project_id ? strcmp(q->project_id, k->project_id) == 0 : q->lists_projects)
        return 0;
    if (q->project_id)
        return err_set(e, HE_FORBIDDEN, "project_id",
                       "key %s reaches project %s only, not project_id %s", k->id, k->project_id,
                       q->project_id);
    return err_set(e, HE_FORBIDDEN, NULL,
                   "key %s reaches project %s only: this request is not within a project", k->id,
                   k->project_id);
}

int auth_check(struct auth *a, const struct auth_request *q, struct auth_grant *ret,
               int64_t *ret_retry_s, struct err *e)
{
    int64_t now = clock_mono_us(), n, left;
    unsigned char addr[16];
    struct api_key k;
    int r;

    memset(ret, 0, sizeof(*ret));
    if (q->public_route)
        return 0;
    if ((r = key_count(a, now, &n, e)) < 0)
        return r;
    if (n == 0 || (q->local_only && auth_addr_loopback(q->peer)))
        return 0;
    addr_bytes(q->peer, addr);
    if ((left = blocked_for(a, addr, now)) > 0) {
        *ret_retry_s = left;
        return err_set(e, HE_TOO_MANY, NULL,
                       "too many requests with a wrong API key from this address: retry in %lld s",
                       (long long)left);
    }
    if (!q->authorization || !*q->authorization)
        return err_set(e, HE_UNAUTHORIZED, NULL,
                       "an API key is required: send \"Authorization: Bearer KEY\"%s",
                       q->missing_hint ? q->missing_hint : "");
    if ((r = verify(a, q->authorization, now, &k, e)) < 0) {
        if (r == HE_UNAUTHORIZED)
            note_failure(a, addr, now);
        return r;
    }
    forget_failures(a, addr, now);
    if ((r = allowed(&k, q, e)) < 0)
        return r;
    ret->checked = true;
    ret->admin = k.admin;
    memcpy(ret->project_id, k.project_id, ID_LEN);
    memcpy(ret->key_id, k.id, ID_LEN);
    return 0;
}
