/* SPDX-License-Identifier: MIT */
/*
 * Dataset splits as Kiln 0.15 makes them (kiln_ai/datamodel/dataset_split.py and
 * dataset_filters.py): the runs a filter selects, shuffled, cut into named parts by percentage.
 * Everything here but split_build is pure.
 */
#ifndef HETU_EXPORT_SPLIT_H
#define HETU_EXPORT_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define SPLIT_MAX_PARTS 3
/* A split holds at most this many runs (13 bytes each while it is built). */
#define SPLIT_MAX_RUNS 10000000

struct split_part_def {
    const char *name;
    double percentage;
    const char *percentage_text; /* as Python prints the float ("0.8", "1.0") */
};

/* A split type of the API: its name and its parts, in order. */
struct split_type {
    const char *name; /* "train_test", ... */
    const struct split_part_def *parts;
    size_t nparts;
};

/* The type named name, or NULL. */
const struct split_type *split_type_find(const char *name);
/* The names of every type, comma-separated, for messages. */
extern const char split_type_names[];

enum split_filter_kind {
    SPLIT_FILTER_ALL,
    SPLIT_FILTER_HIGH_RATING,
    SPLIT_FILTER_THINKING,
    SPLIT_FILTER_THINKING_HIGH_RATED,
    SPLIT_FILTER_TAG,
};

struct split_filter {
    enum split_filter_kind kind;
    const char *tag; /* SPLIT_FILTER_TAG: the tag (inside the id it was parsed from) */
};

/* Parses a filter id ("all", "high_rating", "thinking_model", "thinking_model_high_rated",
 * "tag::NAME" with a non-empty NAME): 0, or HE_INVALID naming `filter_id`. */
int split_filter_parse(const char *id, struct split_filter *ret, struct err *e);
/* Whether run r passes the filter, as Kiln decides it. */
bool split_filter_match(const struct split_filter *f, const struct run *r);
/* Kiln's HighRatingDatasetFilter: a repaired output, or a rating that is high quality
 * (five_star >= 4; pass_fail or pass_fail_critical == 1). */
bool split_high_rating(const struct run *r);
/* Kiln's has_thinking_training_data: intermediate outputs with a "chain_of_thought" or a
 * "reasoning" key. */
bool split_has_thinking(const struct run *r);

/* The size of each part for n runs: each but the last is n * percentage rounded half to even
 * (Python's round), cut short when fewer runs are left; the last part takes the rest. */
void split_sizes(const struct split_type *t, size_t n, size_t sizes[SPLIT_MAX_PARTS]);

/* A reproducible generator (xoshiro256**, seeded through splitmix64). */
struct split_rng {
    uint64_t s[4];
};
void split_rng_seed(struct split_rng *g, uint64_t seed);
uint64_t split_rng_next(struct split_rng *g);
/* A uniform value in [0, bound), bound > 0, without modulo bias. */
uint64_t split_rng_below(struct split_rng *g, uint64_t bound);
/* Fisher-Yates: the same seed on the same ids gives the same order. */
void split_shuffle(char (*ids)[ID_LEN], size_t n, uint64_t seed);
/* A seed from the system's random source. */
uint64_t split_random_seed(void);

/* A memorable two-word default name ("Adjective Noun") chosen by r. */
void split_default_name(uint64_t r, char *out, size_t size);

/* The JSON list of t's part definitions, [{"name", "description", "percentage"}, ...] (Kiln's
 * DatasetSplitDefinition); malloc'd, NULL when out of memory. */
char *split_defs_json(const struct split_type *t);
/* Whether name is a part of d (a name in d->splits). */
bool split_has_part(const struct dataset_split *d, const char *name);

/* A split made from a task's runs: its ids (all parts, in order) and each part over them. */
struct split_result {
    char (*ids)[ID_LEN];
    size_t n;
    struct dataset_split_part parts[SPLIT_MAX_PARTS];
    size_t nparts;
};
/* Gathers the ids of the task's runs that pass filter f (ids only, in id order), shuffles them
 * with seed and cuts them into t's parts. */
int split_build(struct store *s, const char *task_id, const struct split_type *t,
                const struct split_filter *f, uint64_t seed, struct split_result *ret,
                struct err *e);
void split_result_done(struct split_result *r);

#endif
