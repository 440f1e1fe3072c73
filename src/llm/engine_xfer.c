/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. One HTTP attempt of a call, on the engine thread: a pooled easy handle with its
 * request and response buffers (struct xfer), the request built from the call and handed to its
 * shard's multi handle, the response headers read as they arrive (Retry-After, Retry-After-Ms,
 * x-ratelimit-* and anthropic-ratelimit-*) into the call, and the provider API keys: the header
 * lines that carry them (built once, wiped before they are freed) and the redaction of a key
 * from any message a provider sends back.
 *
 * Invariants: a call holds at most one xfer (call.x), from xfer_start until xfer_release; an
 * easy handle stays in the shard it was created for; the pool holds at most EASY_POOL_MAX
 * transfers, and none with a buffer over XFER_KEEP.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm/engine_int.h"
#include "util/clock.h"

#include "util/banned.h"

#define XFER_KEEP          (256u << 10) /* pooled buffers larger than this are freed */
#define CONNECT_TIMEOUT_MS 15000

/* ---- key redaction ---- */

/*
 * Replaces every occurrence of key in s (a string in a buffer of size bytes) with "[redacted]",
 * and a start of the key (4 characters or more) that ends s: where a longer message was cut to
 * fit its buffer, the cut may fall inside a copy of the key. Run it on provider text right where
 * it was cut, before anything is appended.
 */
void xfer_redact(char *s, size_t size, const char *key)
{
    static const char mark[] = "[redacted]";
    size_t klen, mlen = sizeof(mark) - 1, len;
    char *p, *from = s;

    if (!key || (klen = strlen(key)) < 4 || size == 0)
        return;
    while ((p = strstr(from, key))) {
        /* the mark, then what followed the key, cut to the buffer (the mark may be longer) */
        size_t room = size - 1 - (size_t)(p - s), tail = strlen(p + klen);
        size_t m = mlen < room ? mlen : room;
        if (m + tail > room)
            tail = room - m;
        memmove(p + m, p + klen, tail);
        memcpy(p, mark, m);
        p[m + tail] = '\0';
        from = p + m; /* never look inside a mark: a key could be part of it */
    }
    len = strlen(s);
    for (size_t n = klen - 1 < len ? klen - 1 : len; n >= 4; n--) {
        if (memcmp(s + len - n, key, n) == 0) {
            size_t at = len - n, room = size - 1 - at;
            memcpy(s + at, mark, mlen < room ? mlen : room);
            s[at + (mlen < room ? mlen : room)] = '\0';
            break;
        }
    }
}

/* ---- the pool ---- */

static void xfer_free(struct xfer *x)
{
    curl_easy_cleanup(x->easy);
    buf_done(&x->body);
    buf_done(&x->resp);
    free(x);
}

static void xfer_put(struct llm_engine *eng, struct xfer *x)
{
    if (eng->n_pool >= EASY_POOL_MAX) {
        xfer_free(x);
        return;
    }
    /* keep ordinary buffers for the next attempt, drop unusually large ones */
    if (x->body.cap > XFER_KEEP)
        buf_done(&x->body);
    if (x->resp.cap > XFER_KEEP)
        buf_done(&x->resp);
    eng->pool[eng->n_pool++] = x;
}

void xfer_pool_free(struct llm_engine *eng)
{
    for (size_t i = 0; i < eng->n_pool; i++)
        xfer_free(eng->pool[i]);
    free(eng->pool);
    eng->pool = NULL;
    eng->n_pool = 0;
}

/* Gives c's finished attempt back to the pool. */
void xfer_release(struct llm_engine *eng, struct call *c)
{
    if (c->x) {
        xfer_put(eng, c->x);
        c->x = NULL;
    }
}

/* Takes a running call out of curl and its lane's window. */
void xfer_detach(struct llm_engine *eng, struct call *c)
{
    if (!c->x || c->state != CS_RUNNING)
        return;
    curl_multi_remove_handle(c->x->sh->multi, c->x->easy);
    call_set_state(eng, c, CS_WAITING); /* no longer in curl; the caller decides what is next */
    c->lane->win.in_flight--;
    engine_count(&eng->st_in_flight, (uint64_t)-1);
}

/* ---- response callbacks ---- */

static size_t write_cb(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    if (buf_add(&c->x->resp, ptr, size * n))
        return 0; /* too large: curl aborts with CURLE_WRITE_ERROR */
    return size * n;
}

static bool hdr_is(const char *line, size_t len, const char *name, const char **ret_v,
                   size_t *ret_vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    *ret_v = line + n + 1;
    *ret_vlen = len - n - 1;
    while (*ret_vlen > 0 && (**ret_v == ' ' || **ret_v == '\t')) {
        (*ret_v)++;
        (*ret_vlen)--;
    }
    while (*ret_vlen > 0 && ((*ret_v)[*ret_vlen - 1] == '\r' || (*ret_v)[*ret_vlen - 1] == '\n' ||
                             (*ret_v)[*ret_vlen - 1] == ' '))
        (*ret_vlen)--;
    return true;
}

static int small_int(const char *v, size_t n)
{
    long x = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        if (x < 100000000)
            x = x * 10 + (v[i] - '0');
    }
    return (int)x;
}

static void headers_clear(struct call *c)
{
    c->retry_after_us = c->reset_req_us = c->reset_tok_us = -1;
    c->remaining_req = c->remaining_tok = -1;
}

static size_t header_cb(char *line, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n, vlen;
    const char *v;
    int64_t d;

    if (len > 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
        headers_clear(c);
        return len;
    }
    switch (line[0] | 0x20) {
    case 'r':
        if (hdr_is(line, len, "retry-after-ms", &v, &vlen)) {
            if ((d = llm_parse_duration(v, vlen)) >= 0)
                c->retry_after_us = d / 1000000 * 1000 + (d % 1000000) / 1000; /* ms -> us */
        } else if (hdr_is(line, len, "retry-after", &v, &vlen) && c->retry_after_us < 0) {
            c->retry_after_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        }
        break;
    case 'x':
        if (hdr_is(line, len, "x-ratelimit-remaining-requests", &v, &vlen))
            c->remaining_req = small_int(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-remaining-tokens", &v, &vlen))
            c->remaining_tok = small_int(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-reset-requests", &v, &vlen))
            c->reset_req_us = llm_parse_duration(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-reset-tokens", &v, &vlen))
            c->reset_tok_us = llm_parse_duration(v, vlen);
        break;
    case 'a':
        if (hdr_is(line, len, "anthropic-ratelimit-requests-remaining", &v, &vlen))
            c->remaining_req = small_int(v, vlen);
        else if (hdr_is(line, len, "anthropic-ratelimit-tokens-remaining", &v, &vlen))
            c->remaining_tok = small_int(v, vlen);
        else if (hdr_is(line, len, "anthropic-ratelimit-requests-reset", &v, &vlen))
            c->reset_req_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        else if (hdr_is(line, len, "anthropic-ratelimit-tokens-reset", &v, &vlen))
            c->reset_tok_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        break;
    default: break;
    }
    return len;
}

/* ---- starting an attempt ---- */

static struct xfer *xfer_get(struct llm_engine *eng)
{
    struct xfer *x;
    CURL *h;
    if (eng->n_pool > 0) {
        x = eng->pool[--eng->n_pool];
        buf_reset(&x->body);
        buf_reset(&x->resp);
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    buf_init(&x->body, REQ_BODY_MAX);
    buf_init(&x->resp, RESP_BODY_MAX);
    x->sh = &eng->shards[eng->next_shard++ % eng->n_shards];
    x->easy = h = curl_easy_init();
    if (!h) {
        free(x);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_SHARE, eng->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hetu/0.1");
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, engine_close_cb);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, eng);
    return x;
}

static double estimate_tokens(const struct call *c)
{
    double out = c->max_tokens > 0 ? (c->max_tokens < 1024 ? c->max_tokens : 1024) : 256;
    return (double)c->body_len / 4 + out;
}

/* Sets the options of c's attempt on its easy handle. */
static void xfer_setup(struct llm_engine *eng, struct call *c, enum llm_flavour flavour)
{
    CURL *h = c->x->easy;
    size_t prov_idx = (size_t)(c->prov - eng->cfg->providers);
    char url[2200];

    snprintf(url, sizeof(url), "%s%s", c->prov->base_url,
             flavour == LLM_ANTHROPIC_MESSAGES ? "/messages" : "/chat/completions");
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* over TLS, wait for a connection being set up that may turn out to multiplex (HTTP/2)
     * rather than open one more; plain http is HTTP/1.1, where waiting would serialise calls */
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, (long)(strncmp(url, "https:", 6) == 0));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->x->body.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->x->body.len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, eng->headers[prov_idx]);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_PRIVATE, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->lane->lim.timeout_s * 1000L);
}

/* Encodes the current attempt of c and hands it to curl. Returns 0 or a failure already
 * reported to the caller (c is gone then). */
int xfer_start(struct llm_engine *eng, struct call *c)
{
    struct lane *l = c->lane;
    struct llm_encode q = {
        .flavour = c->prov->info->flavour,
        .model = c->model,
        .messages = c->msgs,
        .n_messages = c->n_msgs,
        .extra = c->extra,
        .n_extra = c->n_extra,
        .schema_text = c->schema ? schema_text(c->schema) : NULL,
        .schema_name = c->schema_name,
        .method = c->schema ? c->method : LLM_SO_NONE,
        .send_temperature = c->has_temperature && !(c->dropped & LLM_PARAM_TEMPERATURE),
        .temperature = c->temperature,
        .max_tokens = (c->dropped & LLM_PARAM_MAX_TOKENS) ? 0 : c->max_tokens,
        .max_tokens_name = c->prov->info->max_tokens_name,
        .extra_body = c->extra_body,
        .cache_prefix = c->cache_prefix,
    };
    struct err e = {0};
    CURLMcode mrc;

    xfer_release(eng, c);
    if (!(c->x = xfer_get(eng))) {
        call_fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return -1;
    }
    if (llm_encode_request(&q, &c->x->body, &e) < 0) {
        xfer_release(eng, c);
        call_fail(eng, c, e.code, "provider %s model %s: %s", c->provider, c->model, e.msg);
        return -1;
    }
    c->body_len = c->x->body.len;
    xfer_setup(eng, c, q.flavour);
    headers_clear(c);
    c->epoch = l->win.epoch;
    c->tokens_reserved = l->tpm.enabled ? estimate_tokens(c) : 0;
    llm_bucket_take(&l->rpm, 1);
    llm_bucket_take(&l->tpm, c->tokens_reserved);
    mrc = curl_multi_add_handle(c->x->sh->multi, c->x->easy);
    if (mrc != CURLM_OK) {
        xfer_release(eng, c);
        call_fail(eng, c, HE_INTERNAL, "provider %s model %s: %s", c->provider, c->model,
                  curl_multi_strerror(mrc));
        return -1;
    }
    l->win.in_flight++;
    c->attempts++;
    if (c->attempts > 1) {
        engine_count(&eng->st_retries, 1);
        metrics_llm_retry(l->metrics);
    }
    engine_count(&eng->st_http, 1);
    engine_count(&eng->st_in_flight, 1);
    call_set_state(eng, c, CS_RUNNING);
    return 0;
}

/* ---- request headers, with the keys ---- */

/* The header lines of provider p: content type, and the key the way its API wants it. */
static int headers_of(const struct llm_provider_cfg *p, struct curl_slist **ret)
{
    struct curl_slist *h = NULL, *t;
    char *line = NULL;
    bool ok = true;

#define ADD(s)                                      \
    do {                                            \
        if (ok && !(t = curl_slist_append(h, (s)))) \
            ok = false;                             \
        else if (ok)                                \
            h = t;                                  \
    } while (0)
    ADD("Content-Type: application/json");
    ADD("Accept: application/json");
    ADD("Expect:");
    if (p->info->flavour == LLM_ANTHROPIC_MESSAGES) {
        if (asprintf(&line, "anthropic-version: %s", p->anthropic_version) < 0)
            line = NULL, ok = false;
        ADD(line);
        free(line);
        line = NULL;
        if (p->api_key) {
            if (asprintf(&line, "x-api-key: %s", p->api_key) < 0)
                line = NULL, ok = false;
            ADD(line);
        }
    } else if (p->api_key && p->info->key_policy != LLM_KEY_NONE) {
        if (asprintf(&line, "Authorization: Bearer %s", p->api_key) < 0)
            line = NULL, ok = false;
        ADD(line);
    }
#undef ADD
    if (line) {
        explicit_bzero(line, strlen(line));
        free(line);
    }
    *ret = h; /* what was made, even on failure: the caller frees it */
    return ok ? 0 : HE_NOMEM;
}

int xfer_headers_build(struct llm_engine *eng, struct err *e)
{
    const struct llm_config *cfg = eng->cfg;

    eng->headers = calloc(cfg->n_providers ? cfg->n_providers : 1, sizeof(*eng->headers));
    if (!eng->headers)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (headers_of(&cfg->providers[i], &eng->headers[i]) < 0)
            return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

void xfer_headers_free(struct llm_engine *eng)
{
    if (!eng->headers)
        return;
    for (size_t i = 0; i < eng->cfg->n_providers; i++) {
        /* wipe the key lines before freeing */
        for (struct curl_slist *s = eng->headers[i]; s; s = s->next)
            explicit_bzero(s->data, strlen(s->data));
        curl_slist_free_all(eng->headers[i]);
    }
    free(eng->headers);
    eng->headers = NULL;
}
