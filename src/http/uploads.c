/* SPDX-License-Identifier: MIT */
/*
 * Multipart file uploads as they arrive: their cap, their idle timeout, their parsing.
 *
 * DESIGN
 * - Each upload arriving holds a socket and a spool file. At most srv->max_uploads arrive at
 *   once; the next is answered 503 with Retry-After before its body is read. The count is
 *   atomic: it is taken on the HTTP thread of the request and given back when it is freed.
 * - An upload is watched (srv->watched, under watch_lock) from its headers until all its
 *   Content-Length has been handed over, or until its end when it has none. The watch thread
 *   shuts down the socket of one that sent nothing for srv->upload_idle_us (counted from the
 *   end of the server's work on its last bytes, with nothing unread in the socket), and of one
 * whose client closed its side with nothing left to read: libmicrohttpd (0.9.75, epoll) misses a
 *   client that closes while the rest of its upload is still queued in the socket, since after
 *   the short read that drains it no new event comes for the end of stream. The shutdown wakes
 *   libmicrohttpd, which aborts the request; freeing it removes the spool file. A client that
 *   half-closes after a complete body is not touched.
 * - Parsing runs on the request's HTTP thread (the file readers never start a thread of their
 *   own), so a stalled upload costs a socket, a spool file and its buffers, never a thread.
 */
#include "http/uploads.h"

#include <microhttpd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "http/server_int.h"
#include "metrics/metrics.h"
#include "util/clock.h"
#include "util/banned.h"

size_t uploads_default_max(void)
{
    struct rlimit rl;
    size_t n = 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = (size_t)rl.rlim_cur / 4;
    if (n > 8192)
        n = 8192;
    return n ? n : 1;
}

int uploads_admit(struct http_req *req)
{
    struct http_server *srv = req->srv;

    if (atomic_fetch_add(&srv->uploads, 1) >= srv->max_uploads) {
        atomic_fetch_sub(&srv->uploads, 1);
        http_req_set_header(req, MHD_HTTP_HEADER_RETRY_AFTER, UPLOADS_RETRY_AFTER);
        return HE_UNAVAILABLE;
    }
    req->upload.counted = true;
    metrics_uploads(1);
    pthread_mutex_lock(&srv->watch_lock);
    req->upload.last_us = clock_mono_us();
    req->upload.arriving = true;
    pthread_mutex_unlock(&srv->watch_lock);
    http_watch_add(srv, req);
    return 0;
}

void uploads_release(struct http_req *req)
{
    if (req->upload.counted) {
        atomic_fetch_sub(&req->srv->uploads, 1);
        metrics_uploads(-1);
    }
    req->upload.counted = false;
}

void uploads_ended(struct http_req *req)
{
    pthread_mutex_lock(&req->srv->watch_lock);
    req->upload.arriving = false;
    pthread_mutex_unlock(&req->srv->watch_lock);
    if (req->watch.on)
        http_watch_remove(req->srv, req);
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    struct http_req *req = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    (void)off;

    if (req->upload.err.code)
        return MHD_YES;
    if (req->route.match.route->part(req, key ? key : "", filename, data, size, &req->upload.err) <
            0 &&
        !req->upload.err.code)
        err_set(&req->upload.err, HE_INTERNAL, NULL, NULL);
    return MHD_YES;
}

/* Counts body bytes handed over; the upload is watched until they are all there. While a piece
 * is parsed the upload is busy: the time the server spends is not the client's silence. */
static void count_chunk(struct http_req *req, size_t size)
{
    bool complete;

    pthread_mutex_lock(&req->srv->watch_lock);
    req->upload.seen += size;
    req->upload.busy = true;
    complete = req->upload.expected && req->upload.seen >= req->upload.expected;
    if (complete)
        req->upload.arriving = false;
    pthread_mutex_unlock(&req->srv->watch_lock);
    if (complete && req->watch.on)
        http_watch_remove(req->srv, req);
}

static void parse_chunk(struct http_req *req, const char *data, size_t size);

void uploads_chunk(struct http_req *req, const char *data, size_t size)
{
    count_chunk(req, size);
    parse_chunk(req, data, size);
    pthread_mutex_lock(&req->srv->watch_lock);
    req->upload.busy = false;
    req->upload.last_us = clock_mono_us();
    pthread_mutex_unlock(&req->srv->watch_lock);
}

static void parse_chunk(struct http_req *req, const char *data, size_t size)
{
    req->upload.received += size;
    if (req->upload.err.code)
        return;
    if (req->upload.received > req->body.buf.max) {
        err_set(&req->upload.err, HE_TOO_LARGE, NULL, "upload too large: the limit is %zu bytes",
                req->body.buf.max);
        return;
    }
    if (!req->upload.pp) {
        req->upload.pp = MHD_create_post_processor(req->conn, 64 * 1024, on_part, req);
        if (!req->upload.pp) {
            err_set(&req->upload.err, HE_UNSUPPORTED_MEDIA, NULL,
                    "the body must be multipart/form-data with a part named file");
            return;
        }
    }
    if (MHD_post_process(req->upload.pp, data, size) != MHD_YES && !req->upload.err.code)
        err_set(&req->upload.err, HE_BAD_REQUEST, NULL, "malformed multipart body");
}

bool uploads_watch(struct http_req *req, int64_t now_us)
{
    int fd, pending = 0;
    bool idle, abandoned;

    if (!req->upload.arriving)
        return false;
    if ((fd = http_req_fd(req)) < 0)
        return true;
    if (req->upload.busy || ioctl(fd, FIONREAD, &pending) != 0 || pending > 0)
        return true; /* the server has yet to read what the client sent */
    idle = now_us - req->upload.last_us > req->srv->upload_idle_us;
    abandoned = req->upload.seen < req->upload.expected && http_client_gone(req);
    if (idle || abandoned)
        shutdown(fd, SHUT_RDWR);
    return true;
}
