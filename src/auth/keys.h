/* SPDX-License-Identifier: MIT */
/*
 * API keys: making one, checking one, and how one is shown. A key reads
 * "hetu_<id>_<secret>": the prefix makes a leaked key recognisable (secret scanners), the id
 * (12 digits) finds its row without a scan, the secret is 32 random bytes in hex. Only the
 * secret's SHA-256 with a random 16-byte salt is stored; the key itself exists once, in the
 * answer that creates it.
 */
#ifndef HETU_AUTH_KEYS_H
#define HETU_AUTH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "store/store.h"
#include "util/err.h"
#include "util/id.h"

#define AUTH_KEY_PREFIX     "hetu_"
#define AUTH_KEY_PREFIX_LEN 5
#define AUTH_SECRET_BYTES   32
#define AUTH_SECRET_HEX     (AUTH_SECRET_BYTES * 2)
#define AUTH_KEY_LEN        (AUTH_KEY_PREFIX_LEN + ID_DIGITS + 1 + AUTH_SECRET_HEX)
#define AUTH_KEY_SIZE       (AUTH_KEY_LEN + 1)
#define AUTH_KEY_NAME_MAX   120 /* characters of a key's name */

/* What a new key is made for. */
struct auth_key_spec {
    const char *name;
    const char *project_id; /* NULL or "": every project */
    bool admin;             /* may manage keys (and reach /metrics from anywhere) */
};

/*
 * Makes a key for spec and stores its hash: the name must be 1..AUTH_KEY_NAME_MAX characters,
 * the project must exist, and an admin key names no project. On success *ret is the stored
 * record and ret_key the key (NUL-terminated): the only place the key ever is.
 */
int auth_key_create(struct store *s, const struct auth_key_spec *spec, struct api_key *ret,
                    char ret_key[AUTH_KEY_SIZE], struct err *e);

/* Splits a presented key: true with the id in ret_id and *ret_secret pointing at its
 * AUTH_SECRET_HEX secret characters when key (len bytes) has the form above. */
bool auth_key_parse(const char *key, size_t len, char ret_id[ID_LEN], const char **ret_secret);

/* The secret (AUTH_SECRET_HEX characters) is k's: its salted hash is k's hash, compared in
 * constant time. */
bool auth_key_matches(const struct api_key *k, const char *secret);

/* A key as listed: id, name, project, admin, prefix (the key's first characters, up to its
 * id), created_at, revoked, revoked_at. Never the key or its hash. */
struct json_object *auth_key_json(const struct api_key *k);

/* A key just created: {"id", "key", "name", "project", "admin"}. */
struct json_object *auth_key_created_json(const struct api_key *k, const char *key);

#endif
