/* SPDX-License-Identifier: MIT */
/* Fuzz target: the router's path matching over the real route table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"};
    struct route_match m;
    char *path;

    if (size == 0)
        return 0;
    path = malloc(size);
    if (!path)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    if (router_match(http_routes, http_routes_count, methods[data[0] % 6], path, &m) == 0) {
        for (size_t i = 0; i < m.nparams; i++)
            if (strlen(m.values[i]) >= ROUTER_PARAM_MAX || strchr(m.values[i], '/'))
                abort();
    }
    free(path);
    return 0;
}
