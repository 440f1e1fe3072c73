/* SPDX-License-Identifier: MIT */
/*
 * bench-hello: the ceiling for the http benchmark. A libmicrohttpd server configured the way
 * hetu's is (internal epoll thread pool, keep-alive) that answers every request with the same
 * ~200-byte JSON object and does nothing else. It queues the response on the second call of the
 * access handler: queuing on the first call (headers only) makes libmicrohttpd close the
 * connection. Usage: bench-hello [PORT [THREADS]]; port 0 picks a free one. It prints
 * "bench-hello: listening on http://127.0.0.1:PORT" and runs until SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/banned.h"

static const char body[] =
    "{\"v\":1,\"id\":\"123456789012\",\"path\":null,"
    "\"created_at\":\"2026-11-24T10:15:30.123456+00:00\",\"created_by\":\"bench\","
    "\"name\":\"hello\",\"description\":\"the ceiling of the http benchmark, a fixed answer\","
    "\"model_type\":\"project\"}";

static struct MHD_Response *hello_response;
static int first_call_marker;

static enum MHD_Result hello_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* discard request bodies */
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, hello_response);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max)
        return -1;
    *ret = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long port = 0, threads = 2;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig;

    if ((argc > 1 && parse_uint(argv[1], 65535, &port) < 0) ||
        (argc > 2 && (parse_uint(argv[2], 64, &threads) < 0 || threads == 0))) {
        fprintf(stderr, "usage: bench-hello [PORT [THREADS]]\n");
        return 2;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the daemon's threads inherit the mask */

    hello_response =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!hello_response)
        return 1;
    MHD_add_response_header(hello_response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                         NULL, hello_access_cb, NULL, MHD_OPTION_SOCK_ADDR, &addr,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                         MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench-hello: cannot start the daemon\n");
        MHD_destroy_response(hello_response);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("bench-hello: listening on http://127.0.0.1:%u\n", info ? (unsigned)info->port : 0U);
    fflush(stdout);

    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(hello_response);
    return 0;
}
