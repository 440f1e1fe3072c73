/* SPDX-License-Identifier: MIT */
/*
 * Groups of near duplicates: samples that share an LSH band key (a bucket) are compared, and
 * each pair whose Jaccard similarity is at or above the threshold joins one group (union-find).
 * A pair is first compared by the signatures' estimate, which rules out those far below the
 * threshold (more than NEAR_PREFILTER under it: over five standard deviations of the estimate
 * at K = 128), then by the exact Jaccard similarity of the two shingle sets, which decides. A
 * group is the transitive closure of such pairs.
 *
 * One thread at a time; memory grows with the samples added (a signature and a shingle set
 * each), which are only those that share a bucket with another.
 */
#ifndef HETU_DEDUP_NEAR_GROUPS_H
#define HETU_DEDUP_NEAR_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/minhash.h"

#define NEAR_PREFILTER 0.2

/* A compared pair at or above the threshold (a < b), with its exact Jaccard similarity; a pair
 * may be reported more than once. */
typedef void (*near_pair_cb)(void *ud, int64_t a, int64_t b, double similarity);
/* A member of cluster `cluster` (numbered from 1 in the order of their oldest, smallest id,
 * members in id order); similarity is its Jaccard similarity to the cluster's first member. */
typedef int (*near_member_cb)(void *ud, int64_t cluster, int64_t id, double similarity);

struct near_groups;

/* pair_cb may be NULL. NULL when out of memory. */
struct near_groups *near_groups_new(double threshold, near_pair_cb pair_cb, void *ud);
void near_groups_free(struct near_groups *g);

/* The slot of a sample added already, or -1. */
int64_t near_groups_slot(const struct near_groups *g, int64_t id);

/* The sample's slot (added with its signature and the shingles of its normalised text on first
 * sight); negative when out of memory. */
int64_t near_groups_add(struct near_groups *g, int64_t id, const struct minhash_sig *sig,
                        const char *text, size_t len);
/* One bucket: the slots of samples that share a band key. Buckets of up to 64 compare every
 * pair; larger ones (many copies of one text) compare each member with the first and with
 * the previous one, which joins copies as well at a linear cost. */
void near_groups_bucket(struct near_groups *g, const int64_t *slots, size_t n);
/* Every group of two or more, member by member; stops at cb's first negative return. */
int near_groups_clusters(struct near_groups *g, near_member_cb cb, void *ud);

#endif
