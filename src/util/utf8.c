/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation for every text Hetu accepts (JSON bodies, CSV fields, JSONL lines).
 *
 * DESIGN
 * - utf8_valid() is the common path: ASCII is skipped eight bytes at a time, and anything else
 *   goes through a shift-based DFA: each state is a bit offset (a multiple of 6) into a 64-bit
 *   row per byte value that holds the next state for every state, so a byte costs one load and
 *   one shift, with no branch. The error state is 0 and absorbing. The table is built once, on
 *   first use, by whichever thread gets there first (pthread_once).
 * - utf8_check() is the rare path, run on text already found invalid, to name the offending
 *   byte: the same DFA a byte at a time, remembering where the sequence it is in began.
 */
#include "util/utf8.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "util/banned.h"

enum {
    U8_ERR = 0,
    U8_ACC = 6,
    U8_C1 = 12,
    U8_C2 = 18,
    U8_C3 = 24,
    U8_E0 = 30,
    U8_ED = 36,
    U8_F0 = 42,
    U8_F4 = 48
};

static uint64_t dfa[256];
static pthread_once_t dfa_once = PTHREAD_ONCE_INIT;

static void dfa_set(int from, int lo, int hi, int to)
{
    for (int b = lo; b <= hi; b++)
        dfa[b] |= (uint64_t)to << from;
}

static void dfa_init(void)
{
    dfa_set(U8_ACC, 0x01, 0x7F, U8_ACC);
    dfa_set(U8_ACC, 0xC2, 0xDF, U8_C1);
    dfa_set(U8_ACC, 0xE0, 0xE0, U8_E0);
    dfa_set(U8_ACC, 0xE1, 0xEC, U8_C2);
    dfa_set(U8_ACC, 0xED, 0xED, U8_ED);
    dfa_set(U8_ACC, 0xEE, 0xEF, U8_C2);
    dfa_set(U8_ACC, 0xF0, 0xF0, U8_F0);
    dfa_set(U8_ACC, 0xF1, 0xF3, U8_C3);
    dfa_set(U8_ACC, 0xF4, 0xF4, U8_F4);
    dfa_set(U8_C1, 0x80, 0xBF, U8_ACC);
    dfa_set(U8_C2, 0x80, 0xBF, U8_C1);
    dfa_set(U8_C3, 0x80, 0xBF, U8_C2);
    dfa_set(U8_E0, 0xA0, 0xBF, U8_C1);
    dfa_set(U8_ED, 0x80, 0x9F, U8_C1);
    dfa_set(U8_F0, 0x90, 0xBF, U8_C2);
    dfa_set(U8_F4, 0x80, 0x8F, U8_C2);
}

/* True when the eight bytes at p are ASCII and none is NUL. */
static bool ascii8(const unsigned char *p)
{
    const uint64_t high = 0x8080808080808080ULL, ones = 0x0101010101010101ULL;
    uint64_t w;

    memcpy(&w, p, 8);
    return !(w & high) && !((w - ones) & ~w & high);
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t st = U8_ACC;
    size_t i = 0;

    pthread_once(&dfa_once, dfa_init);
    while (i < len) {
        if ((st & 63) == U8_ACC)
            while (i + 8 <= len && ascii8(p + i))
                i += 8;
        size_t stop = i + 64 < len ? i + 64 : len;
        for (; i < stop; i++)
            st = dfa[p[i]] >> (st & 63);
        if ((st & 63) == U8_ERR)
            return false;
    }
    return (st & 63) == U8_ACC;
}

size_t utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t st = U8_ACC;
    size_t start = 0; /* where the sequence being read began */

    pthread_once(&dfa_once, dfa_init);
    for (size_t i = 0; i < len; i++) {
        if ((st & 63) == U8_ACC)
            start = i;
        st = dfa[p[i]] >> (st & 63);
        if ((st & 63) == U8_ERR)
            return start;
    }
    return (st & 63) == U8_ACC ? len : start;
}
