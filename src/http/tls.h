/* SPDX-License-Identifier: MIT */
/*
 * TLS for the HTTP server: the certificate and key files read once at start and handed to
 * libmicrohttpd (its GnuTLS support) as options.
 */
#ifndef HETU_HTTP_TLS_H
#define HETU_HTTP_TLS_H

#include <microhttpd.h>
#include <stdbool.h>

#include "util/err.h"

struct http_tls {
    char *cert_pem, *key_pem; /* NULL: plain HTTP */
    /* For MHD_OPTION_ARRAY: the certificate and key, or nothing at all. */
    struct MHD_OptionItem options[3];
};

/*
 * Reads the PEM certificate (chain) at cert_path and the PEM private key at key_path into t; both
 * NULL leaves t for plain HTTP. An error names the setting (--tls-cert or --tls-key): one without
 * the other, a file that cannot be read or holds no PEM of its kind, or a libmicrohttpd built
 * without TLS. Call http_tls_done on t either way.
 */
int http_tls_load(struct http_tls *t, const char *cert_path, const char *key_path, struct err *e);
bool http_tls_on(const struct http_tls *t);
void http_tls_done(struct http_tls *t);

#endif
