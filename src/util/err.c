/* SPDX-License-Identifier: MIT */
/*
 * The error table and struct err. Messages are kept to one line: any newline or control
 * character in a formatted message becomes a space, so a message can go into a log line or a
 * JSON "detail" as it is.
 */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

static const struct {
    int status;
    const char *slug;
    const char *text;
} table[] = {[0] = {200, "ok", "ok"},
#define X(name, status, slug, text) [HE_IDX_##name] = {status, slug, text},
             HETU_ERRORS(X)
#undef X
};

static unsigned idx(int code)
{
    unsigned i = code < 0 ? (unsigned)-code : (unsigned)code;
    return i < sizeof(table) / sizeof(table[0]) ? i : (unsigned)-HE_INTERNAL;
}

int err_http_status(int code)
{
    return table[idx(code)].status;
}

const char *err_slug(int code)
{
    return table[idx(code)].slug;
}

const char *err_text(int code)
{
    return table[idx(code)].text;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->field[0] = '\0';
    e->msg[0] = '\0';
}

static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
}

int err_setv(struct err *e, int code, const char *field, const char *fmt, va_list ap)
{
    if (code >= 0)
        code = HE_INTERNAL;
    if (!e)
        return code;
    if (e->code)
        return e->code;
    e->code = code;
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    if (fmt)
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    else
        snprintf(e->msg, sizeof(e->msg), "%s", err_text(code));
    one_line(e->msg);
    return code;
}

int err_set(struct err *e, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = err_setv(e, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
    char pre[ERR_MSG_MAX], out[ERR_MSG_MAX];
    va_list ap;

    if (!e || !e->code)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    snprintf(out, sizeof(out), "%s: %s", pre, e->msg);
    memcpy(e->msg, out, sizeof(e->msg));
    one_line(e->msg);
}
