/* SPDX-License-Identifier: MIT */
/*
 * Dataset splits, made the way Kiln 0.15 makes them (DatasetSplit.build_split_contents): the ids
 * of the runs a filter keeps, shuffled, then each part but the last takes round(n * percentage)
 * of them in turn (Python's round: half to even) and the last part takes what is left.
 *
 * Kiln shuffles with Python's random.shuffle; here a seed drives xoshiro256** through an
 * unbiased Fisher-Yates, so the same seed on the same runs gives the same split. Runs are
 * gathered in id order from one store cursor, keeping only their ids: memory is 13 bytes a
 * run, bounded by SPLIT_MAX_RUNS.
 */
#include "export/split.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/jsonw.h"
#include "util/banned.h"

/* ---- split types (Kiln's split definitions, by the names the API gives them) ---- */

static const struct split_part_def train80_test20[] = {{"train", 0.8, "0.8"}, {"test", 0.2, "0.2"}};
static const struct split_part_def train80_val20[] = {{"train", 0.8, "0.8"}, {"val", 0.2, "0.2"}};
static const struct split_part_def train60_test20_val20[] = {
    {"train", 0.6, "0.6"}, {"test", 0.2, "0.2"}, {"val", 0.2, "0.2"}};
static const struct split_part_def train80_test10_val10[] = {
    {"train", 0.8, "0.8"}, {"test", 0.1, "0.1"}, {"val", 0.1, "0.1"}};
static const struct split_part_def all_runs[] = {{"all", 1.0, "1.0"}};

#define TYPE(name, parts)              \
    {                                  \
        name, parts, ARRAY_SIZE(parts) \
    }
static const struct split_type split_types[] = {
    TYPE("train_test", train80_test20),
    TYPE("train_val", train80_val20),
    TYPE("train_test_val", train60_test20_val20),
    TYPE("train_test_val_80", train80_test10_val10),
    TYPE("all", all_runs),
};
#undef TYPE

const char split_type_names[] = "train_test, train_val, train_test_val, train_test_val_80, all";

const struct split_type *split_type_find(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(split_types); i++)
        if (strcmp(split_types[i].name, name) == 0)
            return &split_types[i];
    return NULL;
}

/* ---- filters (Kiln's dataset_filters.py) ---- */

static const struct {
    const char *id;
    enum split_filter_kind kind;
} static_filters[] = {
    {"all", SPLIT_FILTER_ALL},
    {"high_rating", SPLIT_FILTER_HIGH_RATING},
    {"thinking_model", SPLIT_FILTER_THINKING},
    {"thinking_model_high_rated", SPLIT_FILTER_THINKING_HIGH_RATED},
};

int split_filter_parse(const char *id, struct split_filter *ret, struct err *e)
{
    for (size_t i = 0; id && i < ARRAY_SIZE(static_filters); i++)
        if (strcmp(static_filters[i].id, id) == 0) {
            *ret = (struct split_filter){static_filters[i].kind, NULL};
            return 0;
        }
    if (id && strncmp(id, "tag::", 5) == 0 && id[5]) {
        *ret = (struct split_filter){SPLIT_FILTER_TAG, id + 5};
        return 0;
    }
    return err_set(e, HE_INVALID, "filter_id",
                   "filter_id must be all, high_rating, thinking_model, "
                   "thinking_model_high_rated or tag::NAME, not '%s'",
                   id ? id : "");
}

DEFINE_FREEP(json_object, json_object_put)

static struct json_object *parse(const char *text)
{
    return text ? json_tokener_parse(text) : NULL;
}

bool split_high_rating(const struct run *r)
{
    _cleanup_(json_object_putp) struct json_object *o = NULL;
    struct json_object *type, *value;
    const char *t = "five_star"; /* Kiln's default rating type */
    double v;

    if (r->repaired_output) /* repairs always count as high quality */
        return true;
    if (!(o = parse(r->rating)) || !json_object_is_type(o, json_type_object))
        return false;
    if (json_object_object_get_ex(o, "type", &type) && json_object_is_type(type, json_type_string))
        t = json_object_get_string(type);
    if (!json_object_object_get_ex(o, "value", &value) ||
        !(json_object_is_type(value, json_type_int) ||
          json_object_is_type(value, json_type_double)))
        return false; /* no overall rating */
    v = json_object_get_double(value);
    if (strcmp(t, "five_star") == 0)
        return v >= 4;
    if (strcmp(t, "pass_fail") == 0 || strcmp(t, "pass_fail_critical") == 0)
        return v == 1.0;
    return false;
}

bool split_has_thinking(const struct run *r)
{
    _cleanup_(json_object_putp) struct json_object *o = NULL;
    const char *t = r->intermediate_outputs;

    /* most runs have neither word anywhere: no parse for them */
    if (!t || (!strstr(t, "chain_of_thought") && !strstr(t, "reasoning")))
        return false;
    if (!(o = parse(t)) || !json_object_is_type(o, json_type_object))
        return false;
    return json_object_object_get_ex(o, "chain_of_thought", NULL) ||
           json_object_object_get_ex(o, "reasoning", NULL);
}

static bool has_tag(const struct run *r, const char *tag)
{
    _cleanup_(json_object_putp) struct json_object *o = parse(r->tags);
    size_t n;

    if (!o || !json_object_is_type(o, json_type_array))
        return false;
    n = json_object_array_length(o);
    for (size_t i = 0; i < n; i++) {
        struct json_object *x = json_object_array_get_idx(o, i);
        if (json_object_is_type(x, json_type_string) && strcmp(json_object_get_string(x), tag) == 0)
            return true;
    }
    return false;
}

bool split_filter_match(const struct split_filter *f, const struct run *r)
{
    switch (f->kind) {
    case SPLIT_FILTER_ALL: return true;
    case SPLIT_FILTER_HIGH_RATING: return split_high_rating(r);
    case SPLIT_FILTER_THINKING: return split_has_thinking(r);
    case SPLIT_FILTER_THINKING_HIGH_RATED: return split_has_thinking(r) && split_high_rating(r);
    case SPLIT_FILTER_TAG: return has_tag(r, f->tag);
    }
    return false;
}

/* ---- sizes ---- */

void split_sizes(const struct split_type *t, size_t n, size_t sizes[SPLIT_MAX_PARTS])
{
    size_t start = 0;

    for (size_t i = 0; i + 1 < t->nparts; i++) {
        /* Python: round(len(ids) * percentage), an int times a float, rounded half to even
         * (nearbyint in the default rounding mode) */
        double want = nearbyint((double)n * t->parts[i].percentage);
        size_t size = want <= 0 ? 0 : (size_t)want;
        /* a slice past the end is cut short */
        sizes[i] = size < n - start ? size : n - start;
        start += sizes[i];
    }
    sizes[t->nparts - 1] = n - start;
}

/* ---- shuffling ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void split_rng_seed(struct split_rng *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t split_rng_next(struct split_rng *g)
{
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t split_rng_below(struct split_rng *g, uint64_t bound)
{
    /* values below 2^64 mod bound would make the low results likelier: draw again */
    uint64_t threshold = -bound % bound, x;

    do
        x = split_rng_next(g);
    while (x < threshold);
    return x % bound;
}

void split_shuffle(char (*ids)[ID_LEN], size_t n, uint64_t seed)
{
    struct split_rng g;
    char tmp[ID_LEN];

    split_rng_seed(&g, seed);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)split_rng_below(&g, i);
        memcpy(tmp, ids[i - 1], ID_LEN);
        memcpy(ids[i - 1], ids[j], ID_LEN);
        memcpy(ids[j], tmp, ID_LEN);
    }
}

uint64_t split_random_seed(void)
{
    uint64_t seed;
    struct timespec ts;

    if (getrandom(&seed, sizeof(seed), 0) == (ssize_t)sizeof(seed))
        return seed;
    clock_gettime(CLOCK_REALTIME, &ts); /* no random source: the clock, mixed */
    seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return splitmix64(&seed);
}

/* ---- names and definitions ---- */

static const char *const adjectives[] = {
    "Amber",  "Bold",    "Bright", "Calm",   "Crimson",  "Daring", "Eager",   "Fleet",
    "Golden", "Hazel",   "Ivory",  "Keen",   "Lively",   "Lunar",  "Mellow",  "Nimble",
    "Noble",  "Quiet",   "Rapid",  "Silver", "Solar",    "Steady", "Swift",   "Vivid",
    "Wise",   "Zealous", "Azure",  "Brisk",  "Cheerful", "Gentle", "Radiant", "Sunny",
};
static const char *const nouns[] = {
    "Badger", "Beacon", "Cedar",   "Comet",  "Falcon", "Fjord",   "Garden", "Harbor",
    "Heron",  "Island", "Lantern", "Maple",  "Meadow", "Nebula",  "Oak",    "Orchid",
    "Otter",  "Panda",  "Pebble",  "Quartz", "River",  "Sparrow", "Summit", "Tiger",
    "Valley", "Willow", "Canyon",  "Delta",  "Ember",  "Glacier", "Lotus",  "Prairie",
};

void split_default_name(uint64_t r, char *out, size_t size)
{
    snprintf(out, size, "%s %s", adjectives[r % ARRAY_SIZE(adjectives)],
             nouns[(r >> 32) % ARRAY_SIZE(nouns)]);
}

char *split_defs_json(const struct split_type *t)
{
    struct buf b;
    struct jsonw w;

    buf_init(&b, 4096);
    jsonw_init(&w, &b);
    jsonw_arr(&w);
    for (size_t i = 0; i < t->nparts; i++) {
        jsonw_obj(&w);
        jsonw_kstr(&w, "name", t->parts[i].name);
        jsonw_kstr(&w, "description", NULL);
        jsonw_kraw(&w, "percentage", t->parts[i].percentage_text);
        jsonw_end_obj(&w);
    }
    jsonw_end_arr(&w);
    if (w.err) {
        buf_done(&b);
        return NULL;
    }
    return buf_take(&b);
}

bool split_has_part(const struct dataset_split *d, const char *name)
{
    _cleanup_(json_object_putp) struct json_object *o = parse(d->splits);
    size_t n;

    if (!name || !o || !json_object_is_type(o, json_type_array))
        return false;
    n = json_object_array_length(o);
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(o, i), *v;
        if (json_object_object_get_ex(part, "name", &v) &&
            strcmp(json_object_get_string(v), name) == 0)
            return true;
    }
    return false;
}

/* ---- building ---- */

struct gather {
    const struct split_filter *f;
    char (*ids)[ID_LEN];
    size_t n, cap;
};

static int gather_run(void *ud, const struct run *r, struct err *e)
{
    struct gather *g = ud;

    if (!split_filter_match(g->f, r))
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        void *p;
        if (g->n >= SPLIT_MAX_RUNS)
            return err_set(e, HE_BAD_REQUEST, "filter_id",
                           "a split holds at most %d runs; this filter selects more",
                           SPLIT_MAX_RUNS);
        if (cap > SPLIT_MAX_RUNS)
            cap = SPLIT_MAX_RUNS;
        if (!(p = realloc(g->ids, cap * sizeof(*g->ids))))
            return err_set(e, HE_NOMEM, NULL, NULL);
        g->ids = p;
        g->cap = cap;
    }
    memcpy(g->ids[g->n++], r->id, ID_LEN);
    return 0;
}

int split_build(struct store *s, const char *task_id, const struct split_type *t,
                const struct split_filter *f, uint64_t seed, struct split_result *ret,
                struct err *e)
{
    struct run_filter rf = {.task_id = task_id, .min_rating = NAN};
    struct gather g = {.f = f};
    size_t sizes[SPLIT_MAX_PARTS], start = 0;
    int r;

    if (f->kind == SPLIT_FILTER_TAG)
        rf.tag = f->tag; /* the store's tag index narrows the scan; the match confirms it */
    if ((r = store_run_list(s, &rf, gather_run, &g, e)) < 0) {
        free(g.ids);
        return r;
    }
    split_shuffle(g.ids, g.n, seed);
    split_sizes(t, g.n, sizes);
    memset(ret, 0, sizeof(*ret));
    ret->ids = g.ids;
    ret->n = g.n;
    ret->nparts = t->nparts;
    for (size_t i = 0; i < t->nparts; i++) {
        ret->parts[i] = (struct dataset_split_part){t->parts[i].name, g.ids + start, sizes[i]};
        start += sizes[i];
    }
    return 0;
}

void split_result_done(struct split_result *r)
{
    if (!r)
        return;
    free(r->ids);
    memset(r, 0, sizeof(*r));
}
