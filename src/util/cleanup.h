/* SPDX-License-Identifier: MIT */
/*
 * Scope-bound cleanup: a variable declared with _cleanup_free_ (or _cleanup_(fn)) is released
 * when it goes out of scope; take_ptr() hands ownership out and leaves NULL behind.
 */
#ifndef HETU_UTIL_CLEANUP_H
#define HETU_UTIL_CLEANUP_H

#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

#define take_ptr(p)              \
    ({                           \
        __typeof__(p) _tp = (p); \
        (p) = NULL;              \
        _tp;                     \
    })

/* Declares name##p(type **) that calls fn on a non-NULL pointer, for use with _cleanup_. */
#define DEFINE_FREEP(type, fn)         \
    static inline void fn##p(type **p) \
    {                                  \
        if (*p)                        \
            fn(*p);                    \
    }

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
