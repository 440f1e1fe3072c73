/* SPDX-License-Identifier: MIT */
/*
 * API keys (see keys.h for their form). Random bytes come from OpenSSL's RAND_bytes (a CSPRNG
 * seeded from the kernel), the hash is OpenSSL's SHA-256 of salt || secret, and comparisons
 * go through CRYPTO_memcmp so their time does not depend on where the bytes differ. Nothing
 * here logs; the key is never copied anywhere but the caller's buffer.
 */
#include "auth/keys.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[b[i] >> 4];
        out[2 * i + 1] = hexdigits[b[i] & 15];
    }
}

static void hash_secret(const unsigned char salt[API_KEY_SALT_LEN], const char *secret,
                        unsigned char out[API_KEY_HASH_LEN])
{
    unsigned char in[API_KEY_SALT_LEN + AUTH_SECRET_HEX];

    memcpy(in, salt, API_KEY_SALT_LEN);
    memcpy(in + API_KEY_SALT_LEN, secret, AUTH_SECRET_HEX);
    SHA256(in, sizeof(in), out);
    OPENSSL_cleanse(in, sizeof(in));
}

static int check_spec(struct store *s, const struct auth_key_spec *spec, struct err *e)
{
    struct project p = {0};
    size_t chars = spec->name ? utf8_length(spec->name, strlen(spec->name)) : 0;
    int r;

    if (chars == 0 || chars > AUTH_KEY_NAME_MAX)
        return err_set(e, HE_INVALID, "name", "name must be 1 to %d characters", AUTH_KEY_NAME_MAX);
    if (!spec->project_id || !spec->project_id[0])
        return 0;
    if (spec->admin)
        return err_set(e, HE_INVALID, "project",
                       "an admin key reaches every project: give admin or project, not both");
    if (!id_valid(spec->project_id))
        return err_set(e, HE_NOT_FOUND, "project", "project %s not found", spec->project_id);
    if ((r = store_project_get(s, spec->project_id, &p, e)) < 0) {
        snprintf(e->field, sizeof(e->field), "%s", "project");
        return r;
    }
    project_done(&p);
    return 0;
}

int auth_key_create(struct store *s, const struct auth_key_spec *spec, struct api_key *ret,
                    char ret_key[AUTH_KEY_SIZE], struct err *e)
{
    unsigned char secret[AUTH_SECRET_BYTES];
    char hex[AUTH_SECRET_HEX];
    struct api_key k = {0};
    int r;

    if ((r = check_spec(s, spec, e)) < 0 || (r = store_new_id(s, k.id, e)) < 0)
        return r;
    if (RAND_bytes(secret, sizeof(secret)) != 1 || RAND_bytes(k.salt, sizeof(k.salt)) != 1)
        return err_set(e, HE_INTERNAL, NULL, "no random bytes for a new key");
    to_hex(secret, sizeof(secret), hex);
    OPENSSL_cleanse(secret, sizeof(secret));
    hash_secret(k.salt, hex, k.hash);
    k.name = spec->name;
    k.admin = spec->admin;
    if (spec->project_id)
        snprintf(k.project_id, sizeof(k.project_id), "%s", spec->project_id);
    k.created_at = clock_wall_us();
    if ((r = store_api_key_insert(s, &k, e)) == 0) {
        snprintf(ret_key, AUTH_KEY_SIZE, AUTH_KEY_PREFIX "%s_%.*s", k.id, AUTH_SECRET_HEX, hex);
        *ret = k;
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    return r;
}

bool auth_key_parse(const char *key, size_t len, char ret_id[ID_LEN], const char **ret_secret)
{
    const char *id = key + AUTH_KEY_PREFIX_LEN, *secret = id + ID_DIGITS + 1;

    if (len != AUTH_KEY_LEN || memcmp(key, AUTH_KEY_PREFIX, AUTH_KEY_PREFIX_LEN) != 0 ||
        id[ID_DIGITS] != '_')
        return false;
    for (size_t i = 0; i < AUTH_SECRET_HEX; i++)
        if (!secret[i] || !strchr(hexdigits, secret[i]))
            return false;
    memcpy(ret_id, id, ID_DIGITS);
    ret_id[ID_DIGITS] = '\0';
    if (!id_valid(ret_id))
        return false;
    *ret_secret = secret;
    return true;
}

bool auth_key_matches(const struct api_key *k, const char *secret)
{
    unsigned char h[API_KEY_HASH_LEN];
    bool same;

    hash_secret(k->salt, secret, h);
    same = CRYPTO_memcmp(h, k->hash, sizeof(h)) == 0;
    OPENSSL_cleanse(h, sizeof(h));
    return same;
}

static struct json_object *project_or_null(const struct api_key *k)
{
    return k->project_id[0] ? json_object_new_string(k->project_id) : NULL;
}

struct json_object *auth_key_json(const struct api_key *k)
{
    struct json_object *o = json_object_new_object();
    char prefix[AUTH_KEY_PREFIX_LEN + ID_LEN + 1], ts[CLOCK_ISO_LEN];

    snprintf(prefix, sizeof(prefix), AUTH_KEY_PREFIX "%s_", k->id);
    clock_iso8601(k->created_at, ts);
    json_object_object_add(o, "id", json_object_new_string(k->id));
    json_object_object_add(o, "name", json_object_new_string(k->name ? k->name : ""));
    json_object_object_add(o, "project", project_or_null(k));
    json_object_object_add(o, "admin", json_object_new_boolean(k->admin));
    json_object_object_add(o, "prefix", json_object_new_string(prefix));
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "revoked", json_object_new_boolean(k->revoked_at != 0));
    if (k->revoked_at) {
        clock_iso8601(k->revoked_at, ts);
        json_object_object_add(o, "revoked_at", json_object_new_string(ts));
    } else {
        json_object_object_add(o, "revoked_at", NULL);
    }
    return o;
}

struct json_object *auth_key_created_json(const struct api_key *k, const char *key)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(k->id));
    json_object_object_add(o, "key", json_object_new_string(key));
    json_object_object_add(o, "name", json_object_new_string(k->name ? k->name : ""));
    json_object_object_add(o, "project", project_or_null(k));
    json_object_object_add(o, "admin", json_object_new_boolean(k->admin));
    return o;
}
