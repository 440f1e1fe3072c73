/* SPDX-License-Identifier: MIT */
/*
 * API keys and the request check on an in-memory store: the key's form and its hash, the open
 * server, loopback-only routes by address, project scope, revocation seen through the cache,
 * and the failed-attempt table (blocking, and still working when more addresses fail than it
 * holds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/keys.h"
#include "store/store.h"
#include "util/clock.h"

struct fixture {
    struct store *store;
    struct auth *auth;
    char admin[AUTH_KEY_SIZE], user[AUTH_KEY_SIZE], scoped[AUTH_KEY_SIZE];
    char header[AUTH_KEY_SIZE + 16];
    char project[ID_LEN];
    struct sockaddr_storage peer;
};

static int setup(void **state)
{
    static struct fixture f;
    struct err e = ERR_INIT;

    memset(&f, 0, sizeof(f));
    assert_int_equal(store_open(":memory:", &f.store, &e), 0);
    assert_int_equal(auth_new(f.store, &f.auth, &e), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    auth_free(f->auth);
    store_close(f->store);
    return 0;
}

static void make_key(struct fixture *f, const char *name, const char *project, bool admin,
                     char out[AUTH_KEY_SIZE])
{
    struct auth_key_spec spec = {name, project, admin};
    struct err e = ERR_INIT;
    struct api_key k;

    assert_int_equal(auth_key_create(f->store, &spec, &k, out, &e), 0);
    auth_changed(f->auth);
}

static const struct sockaddr *addr(struct fixture *f, const char *text)
{
    memset(&f->peer, 0, sizeof(f->peer));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&f->peer;
        a6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a6->sin6_addr), 1);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&f->peer;
        a4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a4->sin_addr), 1);
    }
    return (const struct sockaddr *)&f->peer;
}

/* auth_check of a request from `from` with key (NULL: no header). */
static int check(struct fixture *f, const char *from, const char *key, struct auth_request q,
                 struct auth_grant *g, int64_t *retry)
{
    struct err e = ERR_INIT;
    struct auth_grant ignore;
    int64_t r;

    if (key) {
        snprintf(f->header, sizeof(f->header), "Bearer %s", key);
        q.authorization = f->header;
    }
    q.peer = addr(f, from);
    return auth_check(f->auth, &q, g ? g : &ignore, retry ? retry : &r, &e);
}

static void key_form_and_hash(void **state)
{
    struct fixture *f = *state;
    struct auth_key_spec spec = {"k", NULL, true};
    struct err e = ERR_INIT;
    char key[AUTH_KEY_SIZE], id[ID_LEN], bad[AUTH_KEY_SIZE];
    const char *secret;
    struct api_key k, stored = {0};

    assert_int_equal(auth_key_create(f->store, &spec, &k, key, &e), 0);
    assert_int_equal(strlen(key), AUTH_KEY_LEN);
    assert_memory_equal(key, "hetu_", 5);
    assert_true(auth_key_parse(key, strlen(key), id, &secret));
    assert_string_equal(id, k.id);
    assert_int_equal(store_api_key_get(f->store, id, &stored, &e), 0);
    assert_true(auth_key_matches(&stored, secret));
    assert_memory_not_equal(stored.hash, secret, API_KEY_HASH_LEN); /* a hash, not the secret */

    memcpy(bad, key, sizeof(bad));
    bad[AUTH_KEY_LEN - 1] = bad[AUTH_KEY_LEN - 1] == 'a' ? 'b' : 'a';
    assert_true(auth_key_parse(bad, strlen(bad), id, &secret));
    assert_false(auth_key_matches(&stored, secret));
    bad[AUTH_KEY_LEN - 1] = 'A'; /* not lower-case hex */
    assert_false(auth_key_parse(bad, strlen(bad), id, &secret));
    assert_false(auth_key_parse(key, strlen(key) - 1, id, &secret));
    memcpy(bad, key, sizeof(bad));
    bad[5] = '0'; /* an id never starts with 0 */
    assert_false(auth_key_parse(bad, strlen(bad), id, &secret));
    memcpy(bad, key, sizeof(bad));
    bad[0] = 'H';
    assert_false(auth_key_parse(bad, strlen(bad), id, &secret));
    api_key_done(&stored);
}

static void open_until_a_key_exists(void **state)
{
    struct fixture *f = *state;
    struct auth_grant g;
    bool open = false;
    struct err e = ERR_INIT;

    assert_int_equal(auth_is_open(f->auth, &open, &e), 0);
    assert_true(open);
    assert_int_equal(
        check(f, "10.0.0.1", NULL, (struct auth_request){.admin_only = true}, &g, NULL), 0);
    assert_false(g.checked);
    make_key(f, "admin", NULL, true, f->admin);
    assert_int_equal(auth_is_open(f->auth, &open, &e), 0);
    assert_false(open);
    assert_int_equal(check(f, "10.0.0.1", NULL, (struct auth_request){0}, NULL, NULL),
                     HE_UNAUTHORIZED);
    assert_int_equal(
        check(f, "10.0.0.1", NULL, (struct auth_request){.public_route = true}, NULL, NULL), 0);
    assert_int_equal(
        check(f, "10.0.0.1", f->admin, (struct auth_request){.admin_only = true}, &g, NULL), 0);
    assert_true(g.checked && g.admin);
}

static void local_routes_by_address(void **state)
{
    struct fixture *f = *state;
    struct auth_request local = {.local_only = true};

    make_key(f, "admin", NULL, true, f->admin);
    make_key(f, "user", NULL, false, f->user);
    for (const char *const *a =
             (const char *const[]){"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1", NULL};
         *a; a++)
        assert_int_equal(check(f, *a, NULL, local, NULL, NULL), 0);
    for (const char *const *a =
             (const char *const[]){"10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", NULL};
         *a; a++) {
        assert_int_equal(check(f, *a, NULL, local, NULL, NULL), HE_UNAUTHORIZED);
        assert_int_equal(check(f, *a, f->user, local, NULL, NULL), HE_FORBIDDEN);
        assert_int_equal(check(f, *a, f->admin, local, NULL, NULL), 0);
    }
}

static void project_keys_stay_in_their_project(void **state)
{
    struct fixture *f = *state;
    struct project p = {.name = "p", .created_by = "t", .description = ""};
    struct err e = ERR_INIT;
    struct auth_grant g;

    assert_int_equal(store_new_id(f->store, p.id, &e), 0);
    assert_int_equal(store_project_insert(f->store, &p, &e), 0);
    make_key(f, "scoped", p.id, false, f->scoped);
    assert_int_equal(
        check(f, "10.0.0.1", f->scoped, (struct auth_request){.project_id = p.id}, &g, NULL), 0);
    assert_string_equal(g.project_id, p.id);
    assert_int_equal(check(f, "10.0.0.1", f->scoped,
                           (struct auth_request){.project_id = "999999999999"}, NULL, NULL),
                     HE_FORBIDDEN);
    assert_int_equal(check(f, "10.0.0.1", f->scoped, (struct auth_request){0}, NULL, NULL),
                     HE_FORBIDDEN);
    assert_int_equal(
        check(f, "10.0.0.1", f->scoped, (struct auth_request){.lists_projects = true}, NULL, NULL),
        0);
}

/* A revocation made elsewhere (another process: straight into the store) is seen once the
 * cached row is AUTH_CACHE_TTL_S old; one made through this process (auth_changed) at once. */
static void revocation_through_the_cache(void **state)
{
    struct fixture *f = *state;
    struct err e = ERR_INIT;
    char id[ID_LEN];
    const char *secret;

    make_key(f, "user", NULL, false, f->user);
    assert_true(auth_key_parse(f->user, strlen(f->user), id, &secret));
    assert_int_equal(check(f, "10.0.0.1", f->user, (struct auth_request){0}, NULL, NULL), 0);
    assert_int_equal(store_api_key_revoke(f->store, id, clock_wall_us(), &e), 0);
    assert_int_equal(check(f, "10.0.0.1", f->user, (struct auth_request){0}, NULL, NULL), 0);
    auth_changed(f->auth);
    assert_int_equal(check(f, "10.0.0.1", f->user, (struct auth_request){0}, NULL, NULL),
                     HE_UNAUTHORIZED);
}

static void failed_attempts_block_an_address(void **state)
{
    struct fixture *f = *state;
    char wrong[AUTH_KEY_SIZE], from[64];
    int64_t retry = 0;

    make_key(f, "admin", NULL, true, f->admin);
    memcpy(wrong, f->admin, sizeof(wrong));
    wrong[AUTH_KEY_LEN - 1] = wrong[AUTH_KEY_LEN - 1] == 'a' ? 'b' : 'a';
    /* more addresses fail than the table holds: it stays bounded and keeps working */
    for (int i = 0; i < 3 * AUTH_FAIL_SLOTS; i++) {
        snprintf(from, sizeof(from), "10.%d.%d.1", i / 250, i % 250);
        assert_int_equal(check(f, from, wrong, (struct auth_request){0}, NULL, NULL),
                         HE_UNAUTHORIZED);
    }
    for (int i = 0; i < AUTH_FAIL_LIMIT; i++)
        assert_int_equal(check(f, "192.0.2.7", wrong, (struct auth_request){0}, NULL, NULL),
                         HE_UNAUTHORIZED);
    assert_int_equal(check(f, "192.0.2.7", f->admin, (struct auth_request){0}, NULL, &retry),
                     HE_TOO_MANY);
    assert_true(retry >= AUTH_BLOCK_S - 1 && retry <= AUTH_BLOCK_S);
    assert_int_equal(check(f, "192.0.2.8", f->admin, (struct auth_request){0}, NULL, NULL), 0);
    /* one short of the limit, then a good key: the count starts again */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < AUTH_FAIL_LIMIT - 1; i++)
            assert_int_equal(check(f, "192.0.2.9", wrong, (struct auth_request){0}, NULL, NULL),
                             HE_UNAUTHORIZED);
        assert_int_equal(check(f, "192.0.2.9", f->admin, (struct auth_request){0}, NULL, NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_form_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(open_until_a_key_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(local_routes_by_address, setup, teardown),
        cmocka_unit_test_setup_teardown(project_keys_stay_in_their_project, setup, teardown),
        cmocka_unit_test_setup_teardown(revocation_through_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_attempts_block_an_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
