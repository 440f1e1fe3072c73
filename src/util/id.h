/* SPDX-License-Identifier: MIT */
/*
 * Identifiers: 12 decimal digits, first digit non-zero (values 100000000000..999999999999).
 * A generator hands out ids from blocks it reserves through a callback (the store keeps the
 * high-water mark), so ids stay unique across restarts and across servers sharing a store,
 * and taking one costs an uncontended mutex, not a storage round trip.
 */
#ifndef HETU_UTIL_ID_H
#define HETU_UTIL_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define ID_DIGITS 12
#define ID_LEN    (ID_DIGITS + 1)
#define ID_MIN    100000000000ULL
#define ID_MAX    999999999999ULL

/* Reserves n consecutive ids; writes the first to *ret_first. */
typedef int (*id_reserve_cb)(void *ud, uint64_t n, uint64_t *ret_first, struct err *e);

struct id_gen;

struct id_gen *id_gen_new(id_reserve_cb reserve, void *ud, uint64_t block);
void id_gen_free(struct id_gen *g);
int id_gen_next(struct id_gen *g, uint64_t *ret_id, struct err *e);

void id_format(uint64_t id, char out[ID_LEN]);
/* True when s is exactly 12 digits with a non-zero first digit. */
bool id_valid(const char *s);

#endif
