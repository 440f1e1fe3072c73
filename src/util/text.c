/* SPDX-License-Identifier: MIT */
/* Name keys for duplicate checks, control characters in names, and a fast non-cryptographic
 * hash. */
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

char *text_norm_key(const char *s)
{
    size_t n = strlen(s), j = 0;
    char *out = malloc(n + 1);

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            continue;
        if (c == 0xE3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x80) { /* U+3000 ideographic space */
            i += 2;
            continue;
        }
        out[j++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[j] = '\0';
    return out;
}

bool text_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f ||
            (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9f))
            return true;
    }
    return false;
}

uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}
