/* SPDX-License-Identifier: MIT */
/*
 * The error table. Every fallible function returns 0 or a negative HE_* code, and fills the
 * struct err passed last with the first one-line message (and the field it concerns). Later
 * failures never overwrite the first cause. Only the HTTP router and the CLI render errors.
 */
#ifndef HETU_UTIL_ERR_H
#define HETU_UTIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* X(name, http status, slug, default text) */
#define HETU_ERRORS(X)                                                            \
    X(NOMEM, 500, "out_of_memory", "out of memory")                               \
    X(INTERNAL, 500, "internal", "internal error")                                \
    X(BAD_JSON, 400, "bad_json", "malformed JSON")                                \
    X(BAD_REQUEST, 400, "bad_request", "bad request")                             \
    X(INVALID, 422, "invalid", "invalid value")                                   \
    X(NOT_FOUND, 404, "not_found", "not found")                                   \
    X(METHOD, 405, "method_not_allowed", "method not allowed")                    \
    X(CONFLICT, 409, "conflict", "conflict")                                      \
    X(TOO_LARGE, 413, "too_large", "request body too large")                      \
    X(URI_TOO_LONG, 414, "uri_too_long", "request line too long")                 \
    X(HEADERS_TOO_LARGE, 431, "headers_too_large", "request headers too large")   \
    X(UNSUPPORTED_MEDIA, 415, "unsupported_media_type", "unsupported media type") \
    X(UNAUTHORIZED, 401, "unauthorized", "unauthorized")                          \
    X(FORBIDDEN, 403, "forbidden", "forbidden")                                   \
    X(TOO_MANY, 429, "too_many_requests", "too many requests")                    \
    X(UNAVAILABLE, 503, "unavailable", "service unavailable")                     \
    X(STORE, 500, "store", "storage error")                                       \
    X(PROVIDER, 502, "provider_error", "model provider error")                    \
    X(TIMEOUT, 504, "timeout", "timed out")                                       \
    X(CANCELLED, 499, "cancelled", "cancelled")                                   \
    X(IO, 500, "io", "input/output error")

enum he_index {
    HE_IDX_OK = 0,
#define X(name, status, slug, text) HE_IDX_##name,
    HETU_ERRORS(X)
#undef X
        HE_IDX_COUNT
};

/* The codes functions return: 0, or the negated index (HE_NOMEM == -1, ...). */
enum he_code {
    HE_OK = 0,
#define X(name, status, slug, text) HE_##name = -HE_IDX_##name,
    HETU_ERRORS(X)
#undef X
};

#define ERR_MSG_MAX   512
#define ERR_FIELD_MAX 128

struct err {
    int code;                  /* 0 while unset; a negative HE code once set */
    char field[ERR_FIELD_MAX]; /* the request field or location, or "" */
    char msg[ERR_MSG_MAX];     /* one line, no trailing newline */
};

/* "No error", for a declaration: struct err e = ERR_INIT; */
#define ERR_INIT  \
    {             \
        .code = 0 \
    }

/* Resets e to "no error". */
void err_clear(struct err *e);

/*
 * Records the first error and returns its code (negative). `field` may be NULL. If e already
 * holds an error, nothing changes and the earlier code is returned.
 */
int err_set(struct err *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int err_setv(struct err *e, int code, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Prefixes an existing message ("while X: <msg>"); no-op when e holds no error. */
void err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int err_http_status(int code);
const char *err_slug(int code);
const char *err_text(int code);

#endif
