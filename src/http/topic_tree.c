/* SPDX-License-Identifier: MIT */
/*
 * The topic tree with sample counts, as GET .../topics and the statistics show it: nodes from
 * the stored tree and from the topic keys samples carry, each counting the samples under it
 * and under its descendants. At most TREE_MAX_NODES nodes.
 */
#include <stdlib.h>
#include <string.h>

#include "gen/taskrun.h"
#include "http/topic_tree.h"
#include "store/store.h"
#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

struct node {
    char *key; /* topic key of this node ("" for the root) */
    size_t key_len;
    const char *name;
    int64_t count;
    struct node *children, *last, *next;
    struct node *hash_next; /* in the tree's hash of keys */
};

/* Nodes are found by their whole key through a hash, so a node with many children costs no
 * more to fill than one with few. */
struct topic_tree {
    struct node root;
    size_t nodes;
    bool too_big;
    struct node **buckets;
    size_t nbuckets; /* a power of two */
};

static size_t key_hash(const char *key, size_t len)
{
    return (size_t)text_hash(key, len);
}

static int grow(struct topic_tree *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 1024;
    struct node **b = calloc(n, sizeof(*b));

    if (!b)
        return HE_NOMEM;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct node *x = t->buckets[i], *next; x; x = next) {
            size_t h = key_hash(x->key, x->key_len) & (n - 1);
            next = x->hash_next;
            x->hash_next = b[h];
            b[h] = x;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static struct node *child(struct topic_tree *t, struct node *parent, const char *name, size_t len,
                          bool create)
{
    size_t plen = parent->key_len, klen = plen + len + 1;
    struct node *n;
    char *key;
    size_t h;

    if (t->nodes >= t->nbuckets && grow(t) < 0)
        return NULL;
    if (!(key = malloc(klen + 1)))
        return NULL;
    memcpy(key, parent->key, plen);
    memcpy(key + plen, name, len);
    key[plen + len] = STORE_TOPIC_SEP[0];
    key[klen] = '\0';
    h = key_hash(key, klen) & (t->nbuckets - 1);
    for (n = t->buckets[h]; n; n = n->hash_next)
        if (n->key_len == klen && memcmp(n->key, key, klen) == 0) {
            free(key);
            return n;
        }
    if (!create || t->nodes >= TREE_MAX_NODES || !(n = calloc(1, sizeof(*n)))) {
        t->too_big = create && t->nodes >= TREE_MAX_NODES;
        free(key);
        return NULL;
    }
    n->key = key;
    n->key_len = klen;
    n->name = n->key + plen;
    n->hash_next = t->buckets[h];
    t->buckets[h] = n;
    if (parent->last)
        parent->last->next = n;
    else
        parent->children = n;
    parent->last = n;
    t->nodes++;
    return n;
}

/* Walks (creating) the nodes of a topic key; adds count to each on the way. */
static struct node *walk(struct topic_tree *t, const char *key, int64_t count)
{
    struct node *n = &t->root;
    const char *seg = key;

    n->count += count;
    for (const char *p = key; *p && n; p++) {
        if (*p != STORE_TOPIC_SEP[0])
            continue;
        n = child(t, n, seg, (size_t)(p - seg), true);
        if (n)
            n->count += count;
        seg = p + 1;
    }
    return n;
}

int topic_tree_add_topic(void *ud, const char *parent_key, const char *name, struct err *e)
{
    struct topic_tree *t = ud;
    struct node *parent = walk(t, parent_key, 0);
    (void)e;
    if (parent)
        child(t, parent, name, strlen(name), true);
    return 0;
}

int topic_tree_add_count(void *ud, const char *key, int64_t count, struct err *e)
{
    (void)e;
    walk(ud, key, count);
    return 0;
}

static struct json_object *render(const struct node *n)
{
    struct json_object *o = json_object_new_object(), *kids = json_object_new_array();
    size_t len = strlen(n->name);

    json_object_object_add(o, "name",
                           n->key[0] ? json_object_new_string_len(n->name, (int)len - 1)
                                     : json_object_new_string("root"));
    json_object_object_add(o, "path", taskrun_topic_list(n->key));
    json_object_object_add(o, "sample_count", json_object_new_int64(n->count));
    for (const struct node *c = n->children; c; c = c->next)
        json_object_array_add(kids, render(c));
    json_object_object_add(o, "children", kids);
    return o;
}

static void free_nodes(struct node *n)
{
    for (struct node *c = n->children, *next; c; c = next) {
        next = c->next;
        free_nodes(c);
        free(c->key);
        free(c);
    }
}

struct topic_tree *topic_tree_new(void)
{
    struct topic_tree *t = calloc(1, sizeof(*t));

    if (t) {
        t->root.key = "";
        t->root.name = "";
    }
    return t;
}

bool topic_tree_too_big(const struct topic_tree *t)
{
    return t->too_big;
}

struct json_object *topic_tree_render(const struct topic_tree *t)
{
    return render(&t->root);
}

void topic_tree_free(struct topic_tree *t)
{
    if (!t)
        return;
    free_nodes(&t->root);
    free(t->buckets);
    free(t);
}
