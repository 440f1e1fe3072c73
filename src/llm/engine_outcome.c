/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. What an ended HTTP attempt means for its call, on the engine thread: a 2xx is decoded,
 * stripped of <think> blocks and, with a schema, parsed and validated (an invalid answer is
 * re-asked with the problem, up to schema_retries times); a 5xx, 408, timeout, dropped
 * connection or garbled 2xx backs off and retries (RUNNING -> DELAYED), waiting as long as a
 * Retry-After header says when there is one, until max_attempts; a 429 does the same but never
 * counts towards max_attempts (rate limiting is back-pressure), bounded instead by
 * rate_limit_wait_s from the call's first 429; a 400 that names a parameter may drop it or step
 * down the structured-output ladder and retry at once; anything else fails.
 * An answer cut off at the output limit (finish_reason "length", stop_reason "max_tokens") is
 * asked again once, at once, with a larger limit where one is possible (larger_limit); if that
 * answer is cut too, or the provider refuses the larger limit (then the first answer is kept),
 * the result says `truncated` and the caller decides whether a cut answer will do.
 * An exhausted x-ratelimit-remaining-* of any answer holds the whole lane until its reset, as
 * does a 429's Retry-After; a 5xx's Retry-After delays its own call only. A 429 also shrinks the
 * lane's AIMD window, once per burst.
 *
 * Invariants: each function here leaves the call in exactly one place: finished (answered or
 * failed, and freed), back in its lane's FIFO, or in the timers; the tokens reserved for the
 * attempt are settled first.
 */
#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/engine_int.h"
#include "llm/extract.h"
#include "llm/schema.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include "util/banned.h"

#define MAX_STEP_DOWNS 6
#define FEEDBACK_MAX   2000 /* bytes of the bad reply echoed back in a schema re-ask */

/* ---- retry decisions ---- */

/* One line for a retry after a failure (a 429 only with debug), with the call's request id. */
static void log_retry(const struct call *c, const char *msg, bool rate_limited, int64_t delay_us)
{
    char why[ERR_MSG_MAX], attempt[16], delay[24];
    enum log_level level = rate_limited ? LOG_DEBUG : LOG_INFO;

    if (!log_enabled(level))
        return;
    snprintf(why, sizeof(why), "%s", msg);
    xfer_redact(why, sizeof(why), c->prov->api_key);
    snprintf(attempt, sizeof(attempt), "%d", c->attempts);
    snprintf(delay, sizeof(delay), "%lld", (long long)(delay_us / 1000));
    log_set_request(c->request_id[0] ? c->request_id : NULL);
    log_event(level, "model call retried", "provider", c->provider, "model", c->model, "attempt",
              attempt, "error", why, "delay_ms", delay, NULL);
    log_set_request(NULL);
}

static void retry_later(struct llm_engine *eng, struct call *c, int64_t delay_us)
{
    xfer_release(eng, c);
    if (delay_heap_push(&eng->timers, &c->delay, clock_mono_us() + delay_us) < 0) {
        call_fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return;
    }
    call_set_state(eng, c, CS_DELAYED);
}

/*
 * A transient failure (429, 5xx, timeout, dropped connection, malformed reply): back off and
 * retry, or report `code` with the message when the call may not go on. A 429 is back-pressure,
 * not a failure of the call: it never uses up max_attempts; a call keeps waiting out 429s for
 * rate_limit_wait_s after its first one, then fails.
 */
static void transient(struct llm_engine *eng, struct call *c, int code, const char *msg,
                      bool rate_limited)
{
    const struct llm_limits *lim = &c->lane->lim;
    int64_t d, now = clock_mono_us();

    if (rate_limited) {
        c->rate_limited++;
        if (!c->first_429_us)
            c->first_429_us = now;
        if (now - c->first_429_us >= (int64_t)lim->rate_limit_wait_s * 1000000) {
            call_fail(eng, c, code,
                      "provider %s model %s: %s (still rate limited after %d s, %d attempts)",
                      c->provider, c->model, msg, lim->rate_limit_wait_s, c->attempts);
            return;
        }
    } else if (c->attempts - c->rate_limited >= lim->max_attempts) {
        call_fail(eng, c, code, "provider %s model %s: %s (after %d attempt%s)", c->provider,
                  c->model, msg, c->attempts, c->attempts == 1 ? "" : "s");
        return;
    }
    c->failures++;
    d = llm_backoff_us(c->failures, lim->backoff_base_ms, lim->backoff_max_ms, engine_rnd(eng));
    if (c->retry_after_us >= 0) {
        int64_t ra = c->retry_after_us < HOLD_MAX_US ? c->retry_after_us : HOLD_MAX_US;
        d = ra + (int64_t)(engine_rnd(eng) * 0.1 * (double)ra); /* honour it, spread a little */
        if (ra == 0)
            d = 0;
    }
    log_retry(c, msg, rate_limited, d);
    retry_later(eng, c, d);
}

/* Applies rate-limit headers of a finished attempt to its lane. */
static void honour_headers(struct call *c, int status, int64_t now)
{
    struct lane *l = c->lane;
    int64_t hold = 0;

    if (c->remaining_req == 0 && c->reset_req_us > 0)
        hold = c->reset_req_us;
    if (c->remaining_tok == 0 && c->reset_tok_us > hold)
        hold = c->reset_tok_us;
    if (status == 429 && c->retry_after_us > hold)
        hold = c->retry_after_us;
    if (hold > HOLD_MAX_US)
        hold = HOLD_MAX_US;
    if (hold > 0 && now + hold > l->hold_until)
        l->hold_until = now + hold;
}

static void add_usage(struct call *c, const struct llm_reply *r)
{
    struct llm_usage *u = &c->usage;
    double cost;

    if (r->input_tokens >= 0)
        u->input_tokens = (u->input_tokens > 0 ? u->input_tokens : 0) + r->input_tokens;
    if (r->output_tokens >= 0)
        u->output_tokens = (u->output_tokens > 0 ? u->output_tokens : 0) + r->output_tokens;
    if (r->total_tokens >= 0)
        u->total_tokens = (u->total_tokens > 0 ? u->total_tokens : 0) + r->total_tokens;
    u->cached_tokens += r->cached_tokens;
    u->cache_write_tokens += r->cache_write_tokens;
    if ((cost = llm_price_cost(&c->lane->price, u)) >= 0)
        u->cost = cost;
    if (c->tokens_reserved > 0 && r->total_tokens >= 0)
        llm_bucket_take(&c->lane->tpm, (double)r->total_tokens - c->tokens_reserved);
    c->tokens_reserved = 0;
}

/* A 400: with drop_unsupported_params, drop what it names or step down the ladder and retry
 * at once. Returns true when the call was re-queued. */
static bool step_down(struct llm_engine *eng, struct call *c)
{
    unsigned named = llm_error_params(c->x->resp.data, c->x->resp.len);
    struct lane *l = c->lane;
    bool changed = false;

    if (!c->drop || !named || c->step_downs >= MAX_STEP_DOWNS)
        return false;
    if ((named & LLM_PARAM_TEMPERATURE) && c->has_temperature &&
        !(c->dropped & LLM_PARAM_TEMPERATURE)) {
        c->dropped |= LLM_PARAM_TEMPERATURE;
        changed = true;
    }
    if ((named & LLM_PARAM_MAX_TOKENS) && c->max_tokens > 0 &&
        !(c->dropped & LLM_PARAM_MAX_TOKENS) && c->prov->info->flavour != LLM_ANTHROPIC_MESSAGES) {
        c->dropped |= LLM_PARAM_MAX_TOKENS;
        changed = true;
    }
    if (c->schema && (((named & LLM_PARAM_RESPONSE_FORMAT) &&
                       (c->method == LLM_SO_JSON_SCHEMA || c->method == LLM_SO_JSON_MODE)) ||
                      ((named & LLM_PARAM_TOOLS) && c->method == LLM_SO_TOOL))) {
        enum llm_so_method next = llm_so_next(c->prov->info->flavour, c->method);
        if (next != LLM_SO_NONE) {
            c->method = next;
            if (next > l->learned)
                l->learned = next;
            changed = true;
        }
    }
    if (!changed)
        return false;
    l->learned_drop |= c->dropped;
    c->step_downs++;
    xfer_release(eng, c);
    lane_push_front(eng, l, c);
    return true;
}

static char *feedback_text(const char *why)
{
    char *s = NULL;
    if (asprintf(&s,
                 "Your previous answer did not match the required JSON schema: %s\nAnswer again "
                 "with only the corrected JSON.",
                 why) < 0)
        return NULL;
    return s;
}

/* The reply failed the schema: re-ask with the problem, or report it. */
static void schema_retry(struct llm_engine *eng, struct call *c, const char *answer, size_t len,
                         const char *why)
{
    char *a, *u;

    if (c->schema_tries >= c->lane->lim.schema_retries) {
        call_fail(
            eng, c, HE_INVALID,
            "provider %s model %s: the answer does not match the schema after %d attempt%s: %s",
            c->provider, c->model, c->schema_tries + 1, c->schema_tries ? "s" : "", why);
        return;
    }
    c->schema_tries++;
    /* keep only the latest exchange: the original messages, the bad answer, the correction */
    for (size_t i = 0; i < c->n_extra; i++)
        free((char *)c->extra[i].content);
    c->n_extra = 0;
    a = strndup(answer ? answer : "", len > FEEDBACK_MAX ? FEEDBACK_MAX : len);
    u = feedback_text(why);
    if (!a || !u) {
        free(a);
        free(u);
        call_fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return;
    }
    c->extra[0] = (struct llm_message){LLM_ROLE_ASSISTANT, a};
    c->extra[1] = (struct llm_message){LLM_ROLE_USER, u};
    c->n_extra = 2;
    xfer_release(eng, c);
    lane_push_front(eng, c->lane, c);
}

static char *join_reasoning(char *a, char *b)
{
    char *s;
    if (!a)
        return b;
    if (!b)
        return a;
    if (asprintf(&s, "%s\n\n%s", a, b) < 0)
        s = NULL;
    free(a);
    free(b);
    return s;
}

static bool cut_off(const struct llm_reply *r)
{
    return r->finish_reason &&
           (strcmp(r->finish_reason, "length") == 0 || strcmp(r->finish_reason, "max_tokens") == 0);
}

/* The output limit to ask again with after a cut-off answer: double the one sent, capped at the
 * model's max_output_tokens and at what the lane learned the provider accepts; the known maximum
 * when none was sent (the provider's default applied). 0: no larger limit is possible. */
static int larger_limit(const struct call *c)
{
    int cur = call_output_limit(c), cap = c->lane->lim.max_output_tokens, next;

    if (c->dropped & LLM_PARAM_MAX_TOKENS)
        return 0; /* the provider refused the parameter: no limit can be sent */
    if (c->lane->out_cap > 0 && (cap == 0 || c->lane->out_cap < cap))
        cap = c->lane->out_cap;
    if (cur == 0)
        return cap;
    next = cur > INT_MAX / 2 ? INT_MAX : cur * 2;
    if (cap > 0 && next > cap)
        next = cap;
    return next > cur ? next : 0;
}

/* A cut-off answer: ask once more with a larger output limit, keeping the cut reply. */
static void length_retry(struct llm_engine *eng, struct call *c, int limit)
{
    struct buf keep = c->x->resp;

    c->x->resp = c->cut;
    c->cut = keep;
    c->length_retried = true;
    c->length_from = call_output_limit(c);
    c->max_tokens = limit;
    xfer_release(eng, c);
    lane_push_front(eng, c->lane, c);
}

/* The value of a schema call's answer in *ret, or false when it was re-asked or failed. */
static bool schema_answer(struct llm_engine *eng, struct call *c, const struct llm_reply *r,
                          const char *text, size_t text_len, struct json_object **ret)
{
    struct json_object *value = NULL;
    struct err e = {0};

    if (r->tool_input) {
        value = json_object_get(r->tool_input);
    } else if (text_len == 0) {
        schema_retry(eng, c, text, text_len,
                     cut_off(r) ? "the answer was cut off (max tokens) before any JSON"
                                : "the answer contains no JSON");
        return false;
    } else if (extract_json(text, text_len, &value, &e) < 0) {
        char why[ERR_MSG_MAX];
        snprintf(why, sizeof(why), "%s%s", e.msg,
                 cut_off(r) ? " (the answer was cut off at max tokens)" : "");
        schema_retry(eng, c, text, text_len, why);
        return false;
    }
    err_clear(&e);
    if (schema_validate(c->schema, value, &e) < 0) {
        const char *shown = r->tool_input ? json_text(value, &text_len) : text;
        schema_retry(eng, c, shown, text_len, e.msg);
        json_object_put(value);
        return false;
    }
    *ret = value;
    return true;
}

/* A 2xx reply; `replay`: the cut reply kept by length_retry, its usage already counted. */
static void on_reply(struct llm_engine *eng, struct call *c, bool replay)
{
    struct llm_reply r;
    struct llm_result res;
    struct err e = {0};
    char *think = NULL, *rest = NULL;
    struct json_object *value = NULL;
    const char *text;
    size_t text_len;
    int limit;

    if (llm_decode_reply(c->prov->info->flavour, c->x->resp.data, c->x->resp.len, &r, &e) < 0) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "HTTP %d: %s", c->http_status, e.msg);
        transient(eng, c, HE_PROVIDER, msg, false);
        return;
    }
    if (!replay)
        add_usage(c, &r);
    if (cut_off(&r) && !c->length_retried && (limit = larger_limit(c)) > 0) {
        length_retry(eng, c, limit);
        goto out;
    }
    memset(&res, 0, sizeof(res));
    res.method = c->schema ? c->method : LLM_SO_NONE;
    res.truncated = cut_off(&r);
    if (r.content && extract_think(r.content, r.content_len, &think, &rest, &e) < 0) {
        call_fail(eng, c, e.code, "provider %s model %s: %s", c->provider, c->model, e.msg);
        goto out;
    }
    r.reasoning = join_reasoning(r.reasoning, think);
    think = NULL;
    text = rest ? rest : "";
    text_len = rest ? strlen(rest) : 0;
    if (c->schema) {
        if (!schema_answer(eng, c, &r, text, text_len, &value))
            goto out;
        res.json = value;
        if (r.tool_input)
            text = json_text(value, &text_len);
    }
    llm_window_on_success(&c->lane->win);
    lane_window_changed(c->lane);
    res.content = text;
    res.content_len = text_len;
    res.reasoning = r.reasoning;
    call_finish(eng, c, &res);
out:
    json_object_put(value);
    free(think);
    free(rest);
    llm_reply_done(&r);
}

/* A 400 refusing the larger output limit of a length retry: the provider allows no more, so
 * the cut reply kept from before is the answer, and the lane remembers the limit it took. */
static bool limit_refused(struct llm_engine *eng, struct call *c)
{
    struct buf refused = c->x->resp;

    if (!c->length_retried || c->cut.len == 0 ||
        !(llm_error_params(c->x->resp.data, c->x->resp.len) & LLM_PARAM_MAX_TOKENS))
        return false;
    if (c->length_from > 0)
        c->lane->out_cap = c->length_from;
    c->max_tokens = c->length_from;
    c->x->resp = c->cut;
    c->cut = refused;
    buf_reset(&c->cut);
    c->http_status = 200;
    on_reply(eng, c, true);
    return true;
}

/* One HTTP attempt ended. */
void outcome_on_done(struct llm_engine *eng, struct call *c, CURLcode rc)
{
    struct lane *l = c->lane;
    char pmsg[300], msg[ERR_MSG_MAX];
    long status = 0;
    int64_t now = clock_mono_us();

    curl_easy_getinfo(c->x->easy, CURLINFO_RESPONSE_CODE, &status);
    xfer_detach(eng, c);
    if (rc != CURLE_OK) {
        if (c->tokens_reserved > 0)
            llm_bucket_take(&l->tpm, -c->tokens_reserved);
        c->tokens_reserved = 0;
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(msg, sizeof(msg), "timed out after %d s", l->lim.timeout_s);
            transient(eng, c, HE_TIMEOUT, msg, false);
        } else if (rc == CURLE_WRITE_ERROR &&
                   c->x->resp.len + CURL_MAX_WRITE_SIZE > c->x->resp.max) {
            call_fail(eng, c, HE_PROVIDER, "provider %s model %s: reply larger than %u bytes",
                      c->provider, c->model, RESP_BODY_MAX);
        } else {
            snprintf(msg, sizeof(msg), "connection failed: %s", curl_easy_strerror(rc));
            transient(eng, c, HE_PROVIDER, msg, false);
        }
        return;
    }
    c->http_status = (int)status;
    honour_headers(c, (int)status, now);
    if (status >= 200 && status < 300) {
        on_reply(eng, c, false);
        return;
    }
    if (c->tokens_reserved > 0)
        llm_bucket_take(&l->tpm, -c->tokens_reserved);
    c->tokens_reserved = 0;
    llm_decode_error(c->x->resp.data, c->x->resp.len, pmsg, sizeof(pmsg));
    /* the message may have been cut inside a copy of the key: scrub it before it is quoted */
    xfer_redact(pmsg, sizeof(pmsg), c->prov->api_key);
    if (!pmsg[0])
        snprintf(pmsg, sizeof(pmsg), "(empty body)");
    snprintf(msg, sizeof(msg), "HTTP %ld: %s", status, pmsg);
    if (status == 429) {
        engine_count(&eng->st_429, 1);
        metrics_llm_rate_limited(l->metrics);
        if (llm_window_on_429(&l->win, c->epoch)) {
            engine_count(&eng->st_shrinks, 1);
            lane_window_changed(l);
        }
        transient(eng, c, HE_PROVIDER, msg, true);
    } else if (status >= 500 || status == 408) {
        transient(eng, c, HE_PROVIDER, msg, false);
    } else if (status == 400 && (limit_refused(eng, c) || step_down(eng, c))) {
        return;
    } else {
        call_fail(eng, c, HE_PROVIDER, "provider %s model %s: %s", c->provider, c->model, msg);
    }
}
