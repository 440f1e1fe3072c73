/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. What an ended HTTP attempt means for its call, on the engine thread: a 2xx is decoded,
 * stripped of <think> blocks and, with a schema, parsed and validated (an invalid answer is
 * re-asked with the problem, up to schema_retries times); a 429, 5xx, 408, timeout, dropped
 * connection or garbled 2xx backs off and retries (RUNNING -> DELAYED), waiting as long as a
 * Retry-After header says when there is one, until max_attempts; a 400 that names a parameter
 * may drop it or step down the structured-output ladder and retry at once; anything else fails.
 * An exhausted x-ratelimit-remaining-* of any answer holds the whole lane until its reset, as
 * does a 429's Retry-After; a 5xx's Retry-After delays its own call only. A 429 also shrinks the
 * lane's AIMD window, once per burst.
 *
 * Invariants: each function here leaves the call in exactly one place: finished (answered or
 * failed, and freed), back in its lane's FIFO, or in the timers; the tokens reserved for the
 * attempt are settled first.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/engine_int.h"
#include "llm/extract.h"
#include "llm/schema.h"
#include "util/clock.h"
#include "util/json.h"

#include "util/banned.h"

#define MAX_STEP_DOWNS 6
#define FEEDBACK_MAX   2000 /* bytes of the bad reply echoed back in a schema re-ask */

/* ---- retry decisions ---- */

static void retry_later(struct llm_engine *eng, struct call *c, int64_t delay_us)
{
    xfer_release(eng, c);
    if (delay_heap_push(&eng->timers, &c->delay, clock_mono_us() + delay_us) < 0) {
        call_fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return;
    }
    call_set_state(eng, c, CS_DELAYED);
}

/* A transient failure (429, 5xx, timeout, dropped connection, malformed reply): back off and
 * retry, or report `code` with the message when attempts are used up. */
static void transient(struct llm_engine *eng, struct call *c, int code, const char *msg)
{
    const struct llm_limits *lim = &c->lane->lim;
    int64_t d;

    if (c->attempts >= lim->max_attempts) {
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
    const struct llm_limits *lim = &c->lane->lim;
    struct llm_usage *u = &c->usage;

    if (r->input_tokens >= 0)
        u->input_tokens = (u->input_tokens > 0 ? u->input_tokens : 0) + r->input_tokens;
    if (r->output_tokens >= 0)
        u->output_tokens = (u->output_tokens > 0 ? u->output_tokens : 0) + r->output_tokens;
    if (r->total_tokens >= 0)
        u->total_tokens = (u->total_tokens > 0 ? u->total_tokens : 0) + r->total_tokens;
    if (lim->price_in >= 0 && lim->price_out >= 0 && u->input_tokens >= 0 && u->output_tokens >= 0)
        u->cost =
            ((double)u->input_tokens * lim->price_in + (double)u->output_tokens * lim->price_out) /
            1e6;
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

/* A 2xx reply. */
static void on_reply(struct llm_engine *eng, struct call *c)
{
    struct llm_reply r;
    struct llm_result res;
    struct err e = {0};
    char *think = NULL, *rest = NULL, *reasoning;
    struct json_object *value = NULL;
    const char *text;
    size_t text_len;

    if (llm_decode_reply(c->prov->info->flavour, c->x->resp.data, c->x->resp.len, &r, &e) < 0) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "HTTP %d: %s", c->http_status, e.msg);
        transient(eng, c, HE_PROVIDER, msg);
        return;
    }
    add_usage(c, &r);
    memset(&res, 0, sizeof(res));
    res.method = c->schema ? c->method : LLM_SO_NONE;
    if (r.content && extract_think(r.content, r.content_len, &think, &rest, &e) < 0) {
        call_fail(eng, c, e.code, "provider %s model %s: %s", c->provider, c->model, e.msg);
        goto out;
    }
    reasoning = join_reasoning(r.reasoning, think);
    r.reasoning = reasoning;
    think = NULL;
    text = rest ? rest : "";
    text_len = rest ? strlen(rest) : 0;

    if (c->schema) {
        if (r.tool_input) {
            value = json_object_get(r.tool_input);
        } else if (text_len == 0) {
            schema_retry(eng, c, text, text_len,
                         r.finish_reason && (strcmp(r.finish_reason, "length") == 0 ||
                                             strcmp(r.finish_reason, "max_tokens") == 0)
                             ? "the answer was cut off (max tokens) before any JSON"
                             : "the answer contains no JSON");
            goto out;
        } else if (extract_json(text, text_len, &value, &e) < 0) {
            char why[ERR_MSG_MAX];
            snprintf(why, sizeof(why), "%s%s", e.msg,
                     r.finish_reason && (strcmp(r.finish_reason, "length") == 0 ||
                                         strcmp(r.finish_reason, "max_tokens") == 0)
                         ? " (the answer was cut off at max tokens)"
                         : "");
            schema_retry(eng, c, text, text_len, why);
            goto out;
        }
        err_clear(&e);
        if (schema_validate(c->schema, value, &e) < 0) {
            const char *shown = r.tool_input ? json_text(value, &text_len) : text;
            schema_retry(eng, c, shown, text_len, e.msg);
            goto out;
        }
        res.json = value;
        if (r.tool_input) {
            text = json_text(value, &text_len);
        }
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
            transient(eng, c, HE_TIMEOUT, msg);
        } else if (rc == CURLE_WRITE_ERROR &&
                   c->x->resp.len + CURL_MAX_WRITE_SIZE > c->x->resp.max) {
            call_fail(eng, c, HE_PROVIDER, "provider %s model %s: reply larger than %u bytes",
                      c->provider, c->model, RESP_BODY_MAX);
        } else {
            snprintf(msg, sizeof(msg), "connection failed: %s", curl_easy_strerror(rc));
            transient(eng, c, HE_PROVIDER, msg);
        }
        return;
    }
    c->http_status = (int)status;
    honour_headers(c, (int)status, now);
    if (status >= 200 && status < 300) {
        on_reply(eng, c);
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
        if (llm_window_on_429(&l->win, c->epoch)) {
            engine_count(&eng->st_shrinks, 1);
            lane_window_changed(l);
        }
        transient(eng, c, HE_PROVIDER, msg);
    } else if (status >= 500 || status == 408) {
        transient(eng, c, HE_PROVIDER, msg);
    } else if (status == 400 && step_down(eng, c)) {
        return;
    } else {
        call_fail(eng, c, HE_PROVIDER, "provider %s model %s: %s", c->provider, c->model, msg);
    }
}
