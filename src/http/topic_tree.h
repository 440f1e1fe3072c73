/* SPDX-License-Identifier: MIT */
/* The topic tree with sample counts (see topic_tree.c). */
#ifndef HETU_HTTP_TOPIC_TREE_H
#define HETU_HTTP_TOPIC_TREE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define TREE_MAX_NODES 200000

struct topic_tree;

/* An empty tree (its root only), or NULL when out of memory. */
struct topic_tree *topic_tree_new(void);
void topic_tree_free(struct topic_tree *t);
/* A node of the stored tree (a store_topic_cb; ud is the tree). */
int topic_tree_add_topic(void *ud, const char *parent_key, const char *name, struct err *e);
/* The samples of one topic key, added to its node and every node above (a
 * store_topic_count_cb). */
int topic_tree_add_count(void *ud, const char *key, int64_t count, struct err *e);
/* Whether a node was left out for the TREE_MAX_NODES limit. */
bool topic_tree_too_big(const struct topic_tree *t);
/* {"name": "root", "path": [], "sample_count": N, "children": [...]} */
struct json_object *topic_tree_render(const struct topic_tree *t);

#endif
