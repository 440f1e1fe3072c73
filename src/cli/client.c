/* SPDX-License-Identifier: MIT */
/*
 * The HTTP client of the hetu commands, on one libcurl easy handle reused (and reset) for each
 * call, so one connection serves a whole command. Single-threaded: the calling thread runs every
 * transfer to its end.
 *
 * Invariants: every answer body is read into a buffer bounded by CLIENT_RESPONSE_MAX; an upload
 * streams from the file (curl_mime_filedata), never from memory; the event stream is parsed
 * line by line as it arrives, with bounded line and event sizes. A call sets c->fail to say what
 * kind of failure it met (local, an HTTP error answer, or no answer), which decides the exit code.
 */
#include "cli/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "util/cleanup.h"
#include "util/json.h"

#include "util/banned.h"

#define EVENT_LINE_MAX  (1u << 20)
#define EVENT_DATA_MAX  (16u << 20)
#define CONNECT_TIMEOUT 10L

void client_resp_init(struct client_resp *r)
{
    r->status = 0;
    buf_init(&r->body, CLIENT_RESPONSE_MAX);
    r->failed[0] = r->first_error[0] = '\0';
}

void client_resp_done(struct client_resp *r)
{
    buf_done(&r->body);
}

int client_init(struct client *c, const char *base_url, const char *api_key, struct err *e)
{
    static bool global_done;
    size_t n = strlen(base_url);

    memset(c, 0, sizeof(*c));
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return err_set(e, HE_INTERNAL, NULL, "libcurl failed to initialise");
        global_done = true;
    }
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    c->base = strndup(base_url, n);
    if (api_key && *api_key) {
        size_t len = strlen(api_key) + 32;
        c->auth = malloc(len);
        if (c->auth)
            snprintf(c->auth, len, "Authorization: Bearer %s", api_key);
    }
    c->curl = curl_easy_init();
    if (!c->base || !c->curl || (api_key && *api_key && !c->auth)) {
        client_done(c);
        return err_set(e, HE_NOMEM, NULL, "out of memory");
    }
    return 0;
}

void client_done(struct client *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->base);
    free(c->auth);
    c->curl = NULL;
    c->base = c->auth = NULL;
}

char *client_escape(struct client *c, const char *s)
{
    char *t = curl_easy_escape(c->curl, s, 0), *out;

    if (!t)
        return NULL;
    out = strdup(t);
    curl_free(t);
    return out;
}

/* ---- answers ---- */

struct sink {
    struct client_resp *resp;
    bool too_large;
};

static size_t body_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;

    if (buf_add(&s->resp->body, data, n) < 0) {
        s->too_large = true;
        return 0;
    }
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);

    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, line, n);
    out[n] = '\0';
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct client_resp *r = ud;
    size_t n = size * nmemb;

    header_value(data, n, "X-Hetu-Failed", r->failed, sizeof(r->failed));
    header_value(data, n, "X-Hetu-First-Error", r->first_error, sizeof(r->first_error));
    return n;
}

/* Fills e from an error answer: the server's detail when the body has one. */
static int http_error(struct client *c, const struct client_resp *r, struct err *e)
{
    struct json_object *obj = NULL, *v;
    struct err pe;
    int code = HE_BAD_REQUEST;

    c->fail = CLIENT_FAIL_HTTP;
    err_clear(&pe);
    if (r->body.len && json_parse(r->body.data, r->body.len, &obj, &pe) == 0 &&
        json_object_is_type(obj, json_type_object) &&
        json_object_object_get_ex(obj, "detail", &v) && json_object_is_type(v, json_type_string)) {
        const char *field = NULL;
        struct json_object *f;
        if (json_object_object_get_ex(obj, "field", &f) && json_object_is_type(f, json_type_string))
            field = json_object_get_string(f);
        err_set(e, code, field, "%s (HTTP %ld)", json_object_get_string(v), r->status);
    } else if (r->body.len) {
        int n = (int)(r->body.len > 200 ? 200 : r->body.len);
        err_set(e, code, NULL, "HTTP %ld: %.*s", r->status, n, r->body.data);
    } else {
        err_set(e, code, NULL, "HTTP %ld with an empty body", r->status);
    }
    json_object_put(obj);
    return code;
}

static int transport_error(struct client *c, CURLcode cc, const char *errbuf, struct err *e)
{
    c->fail = CLIENT_FAIL_TRANSPORT;
    return err_set(e, HE_UNAVAILABLE, NULL, "cannot reach the server at %s: %s", c->base,
                   *errbuf ? errbuf : curl_easy_strerror(cc));
}

static char *join_url(struct client *c, const char *path)
{
    size_t n = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(n);

    if (url)
        snprintf(url, n, "%s%s", c->base, path);
    return url;
}

static struct curl_slist *base_headers(struct client *c, const char *accept)
{
    struct curl_slist *h = NULL, *t;

    t = curl_slist_append(h, accept);
    if (!t)
        return NULL;
    h = t;
    if (c->auth) {
        if (!(t = curl_slist_append(h, c->auth)))
            goto fail;
        h = t;
    }
    if (!(t = curl_slist_append(h, "Expect:"))) /* no 100-continue round trip */
        goto fail;
    return t;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static void common_opts(struct client *c, const char *url, char *errbuf)
{
    CURL *h = c->curl;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hetu/" HETU_VERSION);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    errbuf[0] = '\0';
}

/* The options of a transfer whose body and headers land in the sink s. */
static void sink_opts(struct client *c, const char *url, char *errbuf, struct curl_slist *h,
                      struct sink *s)
{
    common_opts(c, url, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_PRIVATE, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, s->resp);
}

/* Sorts the outcome cc of the transfer just run. */
static int outcome(struct client *c, struct sink *s, CURLcode cc, struct err *e)
{
    char *errbuf = NULL;

    curl_easy_getinfo(c->curl, CURLINFO_PRIVATE, &errbuf);
    if (s->too_large) {
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_TOO_LARGE, NULL, "the answer is larger than %u MiB",
                       CLIENT_RESPONSE_MAX >> 20);
    }
    if (cc != CURLE_OK)
        return cc == CURLE_READ_ERROR || cc == CURLE_OUT_OF_MEMORY
                   ? (c->fail = CLIENT_FAIL_LOCAL,
                      err_set(e, HE_IO, NULL, "%s",
                              errbuf && *errbuf ? errbuf : curl_easy_strerror(cc)))
                   : transport_error(c, cc, errbuf ? errbuf : "", e);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &s->resp->status);
    c->status = s->resp->status;
    if (s->resp->status < 200 || s->resp->status >= 300)
        return http_error(c, s->resp, e);
    return 0;
}

/* Runs the prepared transfer and sorts the outcome. */
static int perform(struct client *c, struct sink *s, struct err *e)
{
    return outcome(c, s, curl_easy_perform(c->curl), e);
}

int client_request(struct client *c, const char *method, const char *path, const char *body_json,
                   struct client_resp *ret, struct err *e)
{
    struct client_resp local;
    struct client_resp *r = ret ? ret : &local;
    struct sink s = {.resp = r};
    struct curl_slist *h;
    char errbuf[CURL_ERROR_SIZE];
    _cleanup_free_ char *url = join_url(c, path);
    int rc;

    c->fail = CLIENT_FAIL_NONE;
    c->status = 0;
    if (!ret)
        client_resp_init(&local);
    else
        buf_reset(&r->body), r->failed[0] = r->first_error[0] = '\0';
    h = base_headers(c, "Accept: application/json");
    if (h && body_json) {
        struct curl_slist *t = curl_slist_append(h, "Content-Type: application/json");
        if (!t)
            curl_slist_free_all(h);
        h = t;
    }
    if (!url || !h) {
        curl_slist_free_all(h);
        c->fail = CLIENT_FAIL_LOCAL;
        if (!ret)
            client_resp_done(&local);
        return err_set(e, HE_NOMEM, NULL, "out of memory");
    }
    sink_opts(c, url, errbuf, h, &s);
    if (body_json || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body_json ? body_json : "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body_json ? strlen(body_json) : 0));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    rc = perform(c, &s, e);
    curl_slist_free_all(h);
    if (!ret)
        client_resp_done(&local);
    return rc;
}

int client_json(struct client *c, const char *method, const char *path, struct json_object *body,
                struct client_resp *ret, struct json_object **ret_json, struct err *e)
{
    const char *text = body ? json_text(body, NULL) : NULL;
    struct json_object *obj = NULL;
    int rc = client_request(c, method, path, text, ret, e);

    if (rc < 0 || !ret_json)
        return rc;
    if (json_parse(ret->body.data ? ret->body.data : "", ret->body.len, &obj, e) < 0) {
        c->fail = CLIENT_FAIL_HTTP;
        err_prefix(e, "the server's answer is not JSON");
        return HE_BAD_JSON;
    }
    *ret_json = obj;
    return 0;
}

/* ---- download ---- */

struct download {
    struct sink s;
    CURL *curl;
    FILE *out;
    client_download_cb cb;
    void *ud;
    int64_t bytes;
    int write_errno; /* writing the file failed */
};

static size_t download_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct download *d = ud;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return body_cb(data, size, nmemb, &d->s); /* an error answer: kept for its detail */
    if (fwrite(data, 1, n, d->out) != n) {
        d->write_errno = errno ? errno : EIO;
        return 0;
    }
    d->bytes += (int64_t)n;
    if (d->cb)
        d->cb(data, n, d->bytes, d->ud);
    return n;
}

int client_download(struct client *c, const char *path, FILE *out, client_download_cb cb, void *ud,
                    struct client_resp *ret, struct err *e)
{
    struct download d = {.s = {.resp = ret}, .curl = c->curl, .out = out, .cb = cb, .ud = ud};
    char errbuf[CURL_ERROR_SIZE];
    _cleanup_free_ char *url = join_url(c, path);
    struct curl_slist *h = base_headers(c, "Accept: */*");
    CURLcode cc;
    int rc;

    c->fail = CLIENT_FAIL_NONE;
    c->status = 0;
    buf_reset(&ret->body);
    ret->failed[0] = ret->first_error[0] = '\0';
    if (!url || !h) {
        curl_slist_free_all(h);
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_NOMEM, NULL, "out of memory");
    }
    sink_opts(c, url, errbuf, h, &d.s);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, download_cb);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &d);
    cc = curl_easy_perform(c->curl);
    if (d.write_errno) {
        c->fail = CLIENT_FAIL_LOCAL;
        rc = err_set(e, HE_IO, NULL, "cannot write the answer: %s", strerror(d.write_errno));
    } else {
        rc = outcome(c, &d.s, cc, e);
    }
    curl_slist_free_all(h);
    return rc;
}

/* ---- upload ---- */

struct upload_progress {
    client_upload_cb cb;
    void *ud;
};

static int xfer_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    struct upload_progress *p = ud;

    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0)
        p->cb((int64_t)ulnow, (int64_t)ultotal, p->ud);
    return 0;
}

int client_upload(struct client *c, const char *path, const char *field, const char *file,
                  client_upload_cb cb, void *ud, struct client_resp *ret, struct err *e)
{
    struct sink s = {.resp = ret};
    struct upload_progress up = {cb, ud};
    struct curl_slist *h;
    curl_mime *mime = NULL;
    curl_mimepart *part;
    char errbuf[CURL_ERROR_SIZE];
    _cleanup_free_ char *url = join_url(c, path);
    struct stat st;
    int rc;

    c->fail = CLIENT_FAIL_NONE;
    c->status = 0;
    buf_reset(&ret->body);
    ret->failed[0] = ret->first_error[0] = '\0';
    if (stat(file, &st) < 0) {
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_IO, "file", "cannot read %s: %s", file, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_IO, "file", "cannot read %s: not a regular file", file);
    }
    h = base_headers(c, "Accept: application/json");
    if (!url || !h || !(mime = curl_mime_init(c->curl)) || !(part = curl_mime_addpart(mime)) ||
        curl_mime_name(part, field) != CURLE_OK) {
        curl_slist_free_all(h);
        curl_mime_free(mime);
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_NOMEM, NULL, "out of memory");
    }
    if (curl_mime_filedata(part, file) != CURLE_OK) {
        curl_slist_free_all(h);
        curl_mime_free(mime);
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_IO, "file", "cannot read %s", file);
    }
    sink_opts(c, url, errbuf, h, &s);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
    if (cb) {
        curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, xfer_cb);
        curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, &up);
    }
    rc = perform(c, &s, e);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    curl_slist_free_all(h);
    return rc;
}

/* ---- event stream ---- */

struct sse {
    struct client *c;
    client_event_cb cb;
    void *ud;
    struct buf line, data;
    char event[64];
    bool is_error; /* the answer is an error status: collect the body instead */
    bool stopped;  /* the callback asked to stop */
    int cb_rc;     /* a negative code from the callback */
    bool too_large;
    struct client_resp err_body;
};

static int sse_line(struct sse *s, const char *l, size_t n)
{
    int r;

    if (n == 0) { /* end of an event */
        if (s->data.len || s->event[0]) {
            r = s->cb(s->event[0] ? s->event : "message", s->data.data ? s->data.data : "", s->ud);
            buf_reset(&s->data);
            s->event[0] = '\0';
            return r;
        }
        return 0;
    }
    if (l[0] == ':')
        return 0;
    if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        l += 5, n -= 5;
        if (n && *l == ' ')
            l++, n--;
        if ((s->data.len && buf_add(&s->data, "\n", 1) < 0) || buf_add(&s->data, l, n) < 0) {
            s->too_large = true;
            return HE_TOO_LARGE;
        }
    } else if (n >= 6 && memcmp(l, "event:", 6) == 0) {
        l += 6, n -= 6;
        if (n && *l == ' ')
            l++, n--;
        if (n >= sizeof(s->event))
            n = sizeof(s->event) - 1;
        memcpy(s->event, l, n);
        s->event[n] = '\0';
    }
    return 0;
}

static size_t sse_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sse *s = ud;
    size_t n = size * nmemb, start = 0;
    long status = 0;

    if (!s->is_error && s->line.len == 0 && s->data.len == 0) {
        curl_easy_getinfo(s->c->curl, CURLINFO_RESPONSE_CODE, &status);
        s->is_error = status >= 300;
    }
    if (s->is_error) {
        if (buf_add(&s->err_body.body, data, n) < 0) {
            s->too_large = true;
            return 0;
        }
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (data[i] != '\n')
            continue;
        if (buf_add(&s->line, data + start, i - start) < 0) {
            s->too_large = true;
            return 0;
        }
        size_t len = s->line.len;
        if (len && s->line.data[len - 1] == '\r')
            len--;
        int r = sse_line(s, s->line.data ? s->line.data : "", len);
        buf_reset(&s->line);
        start = i + 1;
        if (r != 0) {
            if (r > 0)
                s->stopped = true;
            else
                s->cb_rc = r;
            return 0;
        }
    }
    if (buf_add(&s->line, data + start, n - start) < 0) {
        s->too_large = true;
        return 0;
    }
    return n;
}

int client_events(struct client *c, const char *path, client_event_cb cb, void *ud, struct err *e)
{
    struct sse s = {.c = c, .cb = cb, .ud = ud};
    struct curl_slist *h;
    char errbuf[CURL_ERROR_SIZE];
    _cleanup_free_ char *url = join_url(c, path);
    CURLcode cc;
    int rc = 0;

    c->fail = CLIENT_FAIL_NONE;
    c->status = 0;
    buf_init(&s.line, EVENT_LINE_MAX);
    buf_init(&s.data, EVENT_DATA_MAX);
    client_resp_init(&s.err_body);
    h = base_headers(c, "Accept: text/event-stream");
    if (!url || !h) {
        curl_slist_free_all(h);
        c->fail = CLIENT_FAIL_LOCAL;
        return err_set(e, HE_NOMEM, NULL, "out of memory");
    }
    common_opts(c, url, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, sse_cb);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    cc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &s.err_body.status);
    c->status = s.err_body.status;
    if (s.stopped) {
        rc = 0;
    } else if (s.cb_rc < 0) {
        c->fail = CLIENT_FAIL_LOCAL;
        rc = err_set(e, s.cb_rc, NULL, "%s", err_text(s.cb_rc));
    } else if (s.too_large) {
        c->fail = CLIENT_FAIL_LOCAL;
        rc = err_set(e, HE_TOO_LARGE, NULL, "an event of the stream is too large");
    } else if (cc != CURLE_OK) {
        rc = transport_error(c, cc, errbuf, e);
    } else if (s.is_error || s.err_body.status >= 300) {
        rc = http_error(c, &s.err_body, e);
    } else {
        /* a last event without its blank line still counts */
        if (s.line.len)
            sse_line(&s, s.line.data, s.line.len);
        rc = sse_line(&s, "", 0);
        rc = rc < 0 ? (c->fail = CLIENT_FAIL_LOCAL, err_set(e, rc, NULL, "%s", err_text(rc))) : 0;
    }
    curl_slist_free_all(h);
    buf_done(&s.line);
    buf_done(&s.data);
    client_resp_done(&s.err_body);
    return rc;
}
