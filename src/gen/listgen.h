/* SPDX-License-Identifier: MIT */
/*
 * The count contract of list generation (listgen.c) as plain functions: which entries of a
 * model's reply count as items, when two items are the same one, and what a short list leads to.
 */
#ifndef HETU_GEN_LISTGEN_H
#define HETU_GEN_LISTGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "gen/limits.h"

#define LISTGEN_NAME_MAX_CHARS TOPIC_MAX_CHARS /* a subtopic name is a name of a topic path */

/*
 * An entry of a reply as the item to keep (a new reference), or NULL when it counts for nothing.
 * A string is trimmed of surrounding spaces, tabs and newlines; a blank one counts for nothing,
 * and so does a name (`name`: a subtopic) over LISTGEN_NAME_MAX_CHARS characters or that cannot
 * be a name of a topic path (gen_topic_name_fault: a control character, the separator ">>>>>", a
 * '>' at either end). Any other entry is kept as it is.
 */
struct json_object *listgen_item(struct json_object *entry, bool name);

/* The comparison key of an item (malloc'd, NULL when out of memory): strings compare
 * case- and space-insensitively (text_norm_key), other items by their JSON text. */
char *listgen_item_key(struct json_object *item);

enum listgen_next {
    LISTGEN_DONE,      /* every item asked for is there */
    LISTGEN_FOLLOW_UP, /* short: one more call asks for the missing ones */
    LISTGEN_SHORT,     /* short after the first call and GEN_MAX_FOLLOWUPS follow-ups: fail */
};

/* What follows a reply that leaves `have` of the `count` items asked for, after `calls` calls. */
enum listgen_next listgen_next(size_t have, size_t count, int calls);

#endif
