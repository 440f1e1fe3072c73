/* SPDX-License-Identifier: MIT */
/*
 * What a running pipeline keeps in memory (driver_int.h: struct memo), driver thread only:
 * the task's tree (children per node, samples per node), read once when the job is taken up
 * and then kept up by the job's own steps; the hashes of the inputs the job accepted (rebuilt
 * from its outputs items at adoption); and, when near duplicates are asked for, the signatures
 * of the task's inputs and the accepted ones. Tables grow by doubling; a hash table of nodes by
 * key, an open-addressing table of input hashes.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/driver_int.h"
#include "util/grow.h"
#include "util/text.h"
#include "util/textnorm.h"
#include "util/banned.h"

static uint64_t key_hash(const char *s)
{
    return text_hash64(s, strlen(s));
}

void memo_done(struct memo *m)
{
    for (size_t i = 0; i < m->cap_nodes; i++) {
        for (struct memo_node *n = m->nodes[i], *next; n; n = next) {
            next = n->next;
            for (size_t k = 0; k < n->n_kids; k++)
                free(n->kids[k]);
            free(n->kids);
            free(n->key);
            free(n);
        }
    }
    free(m->nodes);
    free(m->hashes);
    free(m->owners);
    free(m->sigs);
    free(m->sig_owners);
    memset(m, 0, sizeof(*m));
}

static int nodes_grow(struct memo *m)
{
    size_t cap = m->cap_nodes ? m->cap_nodes * 2 : 256;
    struct memo_node **t = calloc(cap, sizeof(*t));

    if (!t)
        return -1;
    for (size_t i = 0; i < m->cap_nodes; i++) {
        for (struct memo_node *n = m->nodes[i], *next; n; n = next) {
            size_t b = key_hash(n->key) & (cap - 1);
            next = n->next;
            n->next = t[b];
            t[b] = n;
        }
    }
    free(m->nodes);
    m->nodes = t;
    m->cap_nodes = cap;
    return 0;
}

struct memo_node *memo_node(struct memo *m, const char *key, bool make)
{
    struct memo_node *n;
    size_t b;

    if (m->cap_nodes) {
        for (n = m->nodes[key_hash(key) & (m->cap_nodes - 1)]; n; n = n->next)
            if (strcmp(n->key, key) == 0)
                return n;
    }
    if (!make || (m->n_nodes * 2 >= m->cap_nodes && nodes_grow(m) < 0))
        return NULL;
    if (!(n = calloc(1, sizeof(*n))) || !(n->key = strdup(key))) {
        free(n);
        return NULL;
    }
    b = key_hash(key) & (m->cap_nodes - 1);
    n->next = m->nodes[b];
    m->nodes[b] = n;
    m->n_nodes++;
    return n;
}

int memo_add_kid(struct memo *m, const char *parent_key, const char *name)
{
    struct memo_node *n = memo_node(m, parent_key, true);
    char *k = text_norm_key(name), **kids;

    if (!n || !k) {
        free(k);
        return -1;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        char *o = text_norm_key(n->kids[i]);
        bool same = o && strcmp(o, k) == 0;
        free(o);
        if (same) {
            free(k);
            return 0;
        }
    }
    free(k);
    if (!(kids = grow_array(n->kids, &n->cap_kids, n->n_kids, sizeof(*kids), 8)))
        return -1;
    n->kids = kids;
    if (!(n->kids[n->n_kids] = strdup(name)))
        return -1;
    n->n_kids++;
    return 0;
}

/* ---- input hashes ---- */

static size_t slot_of(const int64_t *t, size_t cap, int64_t h)
{
    size_t i = (size_t)((uint64_t)h * 0x9E3779B97F4A7C15ULL) & (cap - 1);
    while (t[i] != 0 && t[i] != h)
        i = (i + 1) & (cap - 1);
    return i;
}

int64_t memo_hash_owner(const struct memo *m, int64_t hash)
{
    size_t i;

    if (!m->cap_hashes)
        return -2;
    i = slot_of(m->hashes, m->cap_hashes, hash);
    return m->hashes[i] == hash && m->owners[i] != MEMO_FORGOTTEN ? m->owners[i] : -2;
}

static int hashes_grow(struct memo *m)
{
    size_t cap = m->cap_hashes ? m->cap_hashes * 2 : 1024;
    int64_t *t = calloc(cap, sizeof(*t)), *o = calloc(cap, sizeof(*o));

    if (!t || !o) {
        free(t);
        free(o);
        return -1;
    }
    for (size_t i = 0; i < m->cap_hashes; i++) {
        if (m->hashes[i]) {
            size_t s = slot_of(t, cap, m->hashes[i]);
            t[s] = m->hashes[i];
            o[s] = m->owners[i];
        }
    }
    free(m->hashes);
    free(m->owners);
    m->hashes = t;
    m->owners = o;
    m->cap_hashes = cap;
    return 0;
}

int memo_hash_add(struct memo *m, int64_t hash, int64_t owner)
{
    size_t i;

    if (hash == 0)
        return 0;
    if ((m->n_hashes + 1) * 2 > m->cap_hashes && hashes_grow(m) < 0)
        return -1;
    i = slot_of(m->hashes, m->cap_hashes, hash);
    if (m->hashes[i] == 0)
        m->n_hashes++;
    m->hashes[i] = hash;
    m->owners[i] = owner;
    return 0;
}

/* ---- near duplicates ---- */

bool memo_near(const struct memo *m, const struct minhash_sig *sig, double threshold)
{
    for (size_t i = 0; i < m->n_sigs; i++)
        if (minhash_similarity(&m->sigs[i], sig) >= threshold)
            return true;
    return false;
}

void memo_forget(struct memo *m, int64_t owner)
{
    size_t k = 0;

    for (size_t i = 0; i < m->cap_hashes; i++)
        if (m->hashes[i] && m->owners[i] == owner)
            m->owners[i] = MEMO_FORGOTTEN;
    for (size_t i = 0; i < m->n_sigs; i++) {
        if (m->sig_owners[i] == owner)
            continue;
        m->sigs[k] = m->sigs[i];
        m->sig_owners[k++] = m->sig_owners[i];
    }
    m->n_sigs = k;
}

int memo_sig_add(struct memo *m, const struct minhash_sig *sig, int64_t owner)
{
    if (m->n_sigs == m->cap_sigs) {
        size_t cap = m->cap_sigs ? m->cap_sigs * 2 : 256;
        struct minhash_sig *s = realloc(m->sigs, cap * sizeof(*s));
        int64_t *o;
        if (!s)
            return -1;
        m->sigs = s;
        if (!(o = realloc(m->sig_owners, cap * sizeof(*o))))
            return -1;
        m->sig_owners = o;
        m->cap_sigs = cap;
    }
    m->sigs[m->n_sigs] = *sig;
    m->sig_owners[m->n_sigs++] = owner;
    return 0;
}
