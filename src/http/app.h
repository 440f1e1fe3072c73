/* SPDX-License-Identifier: MIT */
/*
 * What handlers share: the store, the provider engine and the server's settings. Built once by
 * `hetu serve` before the HTTP server starts, read-only afterwards.
 */
#ifndef HETU_HTTP_APP_H
#define HETU_HTTP_APP_H

#include <stddef.h>

struct store;
struct llm_engine;
struct jobs;
struct near_worker;
struct pipeline_driver;
struct auth;

struct app {
    struct store *store;
    struct llm_engine *engine; /* NULL when no engine runs (tests of the store API alone) */
    struct jobs *jobs;
    const char *user;         /* created_by of what this server creates */
    struct near_worker *near; /* runs near-duplicate jobs; NULL when none runs */
    const char *import_root;  /* Kiln folders may be imported from under it; NULL: none */
    struct auth *auth;        /* API keys (auth/auth.h); NULL: every request passes */
    /* runs pipeline and judge jobs (pipeline/driver.c); NULL when none runs */
    struct pipeline_driver *pipeline;
};

#endif
