/* SPDX-License-Identifier: MIT */
/* Fuzz target: the web interface's request parsing (web/assets.h): a path resolved to a file,
 * an If-None-Match list and an Accept-Encoding header, all from the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/assets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct web_file *f = NULL;
    char *s = malloc(size + 1);
    size_t n = strlen(web_assets_prefix);

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    switch (web_resolve(s, &f)) {
    case WEB_ASSET:
        if (strncmp(s, web_assets_prefix, n) != 0 || strcmp(s + n + 1, f->path) != 0)
            abort();
        break;
    case WEB_INDEX:
        if (strcmp(f->path, "index.html") != 0 ||
            (strncmp(s, "/api", 4) == 0 && (!s[4] || s[4] == '/')))
            abort();
        break;
    default: break;
    }
    /* a list holding the tag matches it, whatever came before */
    if (web_etag_matches(s, web_files[0].etag) && !strchr(s, '"') && !strchr(s, '*'))
        abort();
    (void)web_accepts_gzip(s);
    free(s);
    return 0;
}
