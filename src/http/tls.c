/* SPDX-License-Identifier: MIT */
/*
 * TLS settings (see tls.h). The files are read on the starting thread, before libmicrohttpd
 * starts; libmicrohttpd keeps pointers to the PEM texts, so they live until the server stops.
 * Only the shape of the files is checked here (a PEM block of the right kind); GnuTLS parses
 * them when the daemon starts, and the server reports what it says if it refuses them.
 */
#include "http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define TLS_FILE_MAX (1 << 20) /* a certificate chain or key larger than this is not one */

/* The whole of a small file as a string into *ret; an error names the setting. */
static int read_pem(const char *setting, const char *path, char **ret, struct err *e)
{
    FILE *f = fopen(path, "rb");
    char *data;
    size_t n;

    if (!f)
        return err_set(e, HE_INVALID, setting, "--%s %s: cannot read it: %s", setting, path,
                       strerror(errno));
    data = malloc(TLS_FILE_MAX + 1);
    if (!data) {
        fclose(f);
        return err_set(e, HE_NOMEM, setting, NULL);
    }
    n = fread(data, 1, TLS_FILE_MAX + 1, f);
    if (ferror(f) || n > TLS_FILE_MAX) {
        int err_no = errno;
        fclose(f);
        free(data);
        return err_set(e, HE_INVALID, setting, "--%s %s: %s", setting, path,
                       n > TLS_FILE_MAX ? "larger than 1 MiB" : strerror(err_no));
    }
    fclose(f);
    data[n] = '\0';
    *ret = data;
    return 0;
}

/* A PEM block whose label ends with what (e.g. "PRIVATE KEY"): "-----BEGIN ... what-----". */
static bool has_pem(const char *text, const char *what)
{
    for (const char *p = strstr(text, "-----BEGIN "); p; p = strstr(p + 1, "-----BEGIN ")) {
        const char *end = strstr(p + 11, "-----");
        size_t n = strlen(what);
        if (end && (size_t)(end - p) >= 11 + n && memcmp(end - n, what, n) == 0)
            return true;
    }
    return false;
}

int http_tls_load(struct http_tls *t, const char *cert_path, const char *key_path, struct err *e)
{
    memset(t, 0, sizeof(*t));
    t->options[0].option = MHD_OPTION_END;
    if (!cert_path && !key_path)
        return 0;
    if (!cert_path || !key_path)
        return err_set(e, HE_INVALID, cert_path ? "tls-key" : "tls-cert",
                       "--%s is needed with --%s: TLS takes a certificate and its key",
                       cert_path ? "tls-key" : "tls-cert", cert_path ? "tls-cert" : "tls-key");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return err_set(e, HE_INVALID, "tls-cert",
                       "--tls-cert: this build's libmicrohttpd has no TLS support (GnuTLS)");
    if (read_pem("tls-cert", cert_path, &t->cert_pem, e) < 0 ||
        read_pem("tls-key", key_path, &t->key_pem, e) < 0)
        return e->code;
    if (!has_pem(t->cert_pem, "CERTIFICATE"))
        return err_set(e, HE_INVALID, "tls-cert",
                       "--tls-cert %s: no PEM certificate in it (-----BEGIN CERTIFICATE-----)",
                       cert_path);
    if (!has_pem(t->key_pem, "PRIVATE KEY"))
        return err_set(e, HE_INVALID, "tls-key",
                       "--tls-key %s: no PEM private key in it (-----BEGIN PRIVATE KEY-----)",
                       key_path);
    t->options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, t->cert_pem};
    t->options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, t->key_pem};
    t->options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

bool http_tls_on(const struct http_tls *t)
{
    return t->cert_pem != NULL;
}

void http_tls_done(struct http_tls *t)
{
    free(t->cert_pem);
    free(t->key_pem);
    t->cert_pem = t->key_pem = NULL;
    t->options[0].option = MHD_OPTION_END;
}
