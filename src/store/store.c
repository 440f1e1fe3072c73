/* SPDX-License-Identifier: MIT */
/*
 * Store front: picks the backend from the URL (postgresql:// or postgres://: PostgreSQL;
 * anything else, optionally prefixed sqlite:, a SQLite path), owns the id generator (which reserves
 * blocks of ids through the backend), and the record destructors and copies shared by all backends.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Ids reserved at a time: a bulk load of a million samples takes two million. */
#define ID_BLOCK 65536

static int reserve_cb(void *ud, uint64_t n, uint64_t *ret_first, struct err *e)
{
    struct store *s = ud;
    return s->ops->reserve_ids(s, n, ret_first, e);
}

/* host:pid:random, so a restarted server (same host and perhaps the same pid) is a new owner
 * whose predecessor's claims run out rather than being taken for its own. */
static void owner_name(char *buf, size_t size)
{
    char host[32] = "";
    uint32_t nonce = 0;

    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "host");
    if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        nonce = (uint32_t)getpid() * 2654435761u;
    snprintf(buf, size, "%s:%ld:%08x", host, (long)getpid(), nonce);
}

void store_base_init(struct store *s, const struct store_ops *ops)
{
    s->ops = ops;
    s->lease_ms = STORE_LEASE_MS_DEFAULT;
    pthread_mutex_init(&s->watch_lock, NULL);
    owner_name(s->owner, sizeof(s->owner));
}

int store_watch(struct store *s, store_wake_cb cb, void *ud, struct err *e)
{
    pthread_mutex_lock(&s->watch_lock);
    if (s->nwatchers >= STORE_WATCHERS) {
        pthread_mutex_unlock(&s->watch_lock);
        return err_set(e, HE_INTERNAL, NULL, "the store takes at most %d watchers", STORE_WATCHERS);
    }
    s->watchers[s->nwatchers] = cb;
    s->watcher_ud[s->nwatchers] = ud;
    s->nwatchers++;
    pthread_mutex_unlock(&s->watch_lock);
    return 0;
}

void store_wake_watchers(struct store *s)
{
    pthread_mutex_lock(&s->watch_lock);
    for (int i = 0; i < s->nwatchers; i++)
        s->watchers[i](s->watcher_ud[i]);
    pthread_mutex_unlock(&s->watch_lock);
}

int store_open(const char *url, struct store **ret, struct err *e)
{
    struct store *s = NULL;
    int r;

    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        r = store_pg_open(url, &s, e);
    } else {
        if (strncmp(url, "sqlite:", 7) == 0)
            url += 7;
        if (!*url)
            return err_set(e, HE_BAD_REQUEST, "db", "the database path is empty");
        r = store_sqlite_open(url, &s, e);
    }
    if (r)
        return r;
    s->ids = id_gen_new(reserve_cb, s, ID_BLOCK);
    if (!s->ids) {
        s->ops->close(s);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    *ret = s;
    return 0;
}

void store_url_for_log(const char *url, char *buf, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    const char *param = scheme ? strstr(url, "password=") : NULL;

    if (colon)
        snprintf(buf, size, "%.*s:***%s", (int)(colon - url), url, at);
    else if (param) /* ?password=secret&... */
        snprintf(buf, size, "%.*s***%s", (int)(param + 9 - url), url,
                 param + 9 + strcspn(param + 9, "&"));
    else
        snprintf(buf, size, "%s", url);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    id_gen_free(s->ids);
    /* The backend's threads stop in its close; a wake arriving before that calls no one. (The
     * lock holds no resources: it is freed with the backend's struct.) */
    pthread_mutex_lock(&s->watch_lock);
    s->nwatchers = 0;
    pthread_mutex_unlock(&s->watch_lock);
    s->ops->close(s);
}

int store_new_id(struct store *s, char out[ID_LEN], struct err *e)
{
    uint64_t id;
    int r = id_gen_next(s->ids, &id, e);
    if (r)
        return r;
    id_format(id, out);
    return 0;
}

void project_done(struct project *p)
{
    if (!p)
        return;
    arena_done(&p->mem);
    memset(p, 0, sizeof(*p));
}

void task_done(struct task *t)
{
    if (!t)
        return;
    arena_done(&t->mem);
    memset(t, 0, sizeof(*t));
}

void run_done(struct run *r)
{
    if (!r)
        return;
    arena_done(&r->mem);
    memset(r, 0, sizeof(*r));
}

void dataset_split_done(struct dataset_split *d)
{
    if (!d)
        return;
    arena_done(&d->mem);
    memset(d, 0, sizeof(*d));
}

void api_key_done(struct api_key *k)
{
    if (!k)
        return;
    arena_done(&k->mem);
    memset(k, 0, sizeof(*k));
}

int task_copy(struct task *dst, const struct task *src)
{
    struct task t = *src;
    const char **fields[] = {&t.created_by,        &t.name,
                             &t.description,       &t.instruction,
                             &t.requirements,      &t.output_json_schema,
                             &t.input_json_schema, &t.thinking_instruction};
    size_t need = 0;

    memset(&t.mem, 0, sizeof(t.mem));
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        need += *fields[i] ? ARENA_ROUND(strlen(*fields[i]) + 1) : 0;
    if (arena_reserve(&t.mem, need) < 0)
        return HE_NOMEM;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        *fields[i] = arena_strdup(&t.mem, *fields[i]); /* reserved: cannot fail */
    *dst = t;
    return 0;
}

void job_done(struct job *j)
{
    if (!j)
        return;
    free(j->kind);
    free(j->params);
    free(j->error);
    memset(j, 0, sizeof(*j));
}
