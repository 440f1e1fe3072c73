/* SPDX-License-Identifier: MIT */
/* The contract between store.c and its backends. */
#ifndef HETU_STORE_INT_H
#define HETU_STORE_INT_H

#include "store/store.h"

/* Each backend's opener; it fills in base->ops and returns its struct store. */
int store_sqlite_open(const char *path, struct store **ret, struct err *e);
/* url: a libpq connection URI; libpq's environment variables fill what it leaves out. */
int store_pg_open(const char *url, struct store **ret, struct err *e);

/* Sets up the part of struct store every backend shares (its ops, lease, owner, watchers):
 * first thing after allocating it, before starting any thread of its own. */
void store_base_init(struct store *s, const struct store_ops *ops);
/* Calls every store_watch callback (a backend's listener thread). */
void store_wake_watchers(struct store *s);

#endif
