/* SPDX-License-Identifier: MIT */
/*
 * bench-dedup DOCS PAIRS [THRESHOLD] [SIGN_N]: the quality and speed of near-duplicate detection
 * on the labelled set bench/dedup_gen.py writes.
 *
 * Quality: every text is signed as the server signs an input (near_sign_input), its band keys
 * made for the threshold's banding (lsh_params_for), the (band, key) rows sorted so that each
 * bucket is a run, and the buckets compared by near_groups as the near-duplicate job does. The
 * pairs it reports (estimated similarity at or above the threshold) are the predictions; the
 * truth is PAIRS (exact Jaccard of every pair inside a family; pairs across families are taken
 * as below the threshold). Precision = predicted pairs truly at or above / predicted pairs;
 * recall = true pairs predicted / true pairs.
 *
 * Speed: SIGN_N inputs (default 1,000,000: the texts of DOCS over and over) signed on one
 * thread, normalisation included: documents per second per core, from the thread's CPU time (on
 * a shared machine the wall time also counts the time other processes hold the core).
 *
 * Prints "dedup: name = value unit" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dedup/minhash.h"
#include "dedup/near_groups.h"
#include "dedup/near_job.h"

struct doc {
    int64_t id, family;
    char *text;
    size_t len;
};

struct row {
    int band;
    int64_t key, slot;
};

struct pair {
    int64_t a, b;
};

struct pairs {
    struct pair *p;
    size_t n, cap;
};

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "dedup: out of memory\n");
        exit(1);
    }
    return q;
}

static struct doc *read_docs(const char *path, size_t *ret_n)
{
    FILE *f = fopen(path, "r");
    struct doc *d = NULL;
    size_t n = 0, cap = 0, linecap = 0;
    char *line = NULL;
    ssize_t len;

    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &linecap, f)) > 0) {
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
        if (!t3)
            continue;
        if (n == cap)
            d = xrealloc(d, (cap = cap ? cap * 2 : 1024) * sizeof(*d));
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        d[n].id = strtoll(line, NULL, 10);
        d[n].family = strtoll(t1 + 1, NULL, 10);
        d[n].text = strdup(t3 + 1);
        d[n].len = strlen(d[n].text);
        n++;
    }
    free(line);
    fclose(f);
    *ret_n = n;
    return d;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->band != y->band)
        return x->band < y->band ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}

static void on_pair(void *ud, int64_t a, int64_t b, double similarity)
{
    struct pairs *ps = ud;
    (void)similarity;
    if (ps->n == ps->cap)
        ps->p = xrealloc(ps->p, (ps->cap = ps->cap ? ps->cap * 2 : 1024) * sizeof(*ps->p));
    ps->p[ps->n++] = (struct pair){a, b};
}

/* The predicted pairs, sorted and without repeats. */
static struct pairs predict(struct doc *d, size_t n, double threshold, struct lsh_params lsh)
{
    struct pairs ps = {0};
    struct near_groups *g = near_groups_new(threshold, on_pair, &ps);
    struct row *rows = xrealloc(NULL, n * (size_t)lsh.bands * sizeof(*rows));
    int64_t *slots = xrealloc(NULL, n * sizeof(*slots));
    struct buf scratch;
    size_t nr = 0, k = 0;
    struct err e = ERR_INIT;

    buf_init(&scratch, (size_t)1 << 24);
    for (size_t i = 0; i < n; i++) {
        struct minhash_sig sig;
        near_sign_input(d[i].text, d[i].len, &scratch, &sig, &e);
        slots[i] = near_groups_add(g, d[i].id, &sig, scratch.data, scratch.len);
        for (int b = 0; b < lsh.bands; b++)
            rows[nr++] = (struct row){b, lsh_band_key(&sig, b, lsh.rows), slots[i]};
    }
    qsort(rows, nr, sizeof(*rows), row_cmp);
    for (size_t i = 0, j; i < nr; i = j) {
        for (j = i; j < nr && rows[j].band == rows[i].band && rows[j].key == rows[i].key; j++)
            slots[j - i] = rows[j].slot;
        if (j - i > 1)
            near_groups_bucket(g, slots, j - i);
    }
    qsort(ps.p, ps.n, sizeof(*ps.p), pair_cmp);
    for (size_t i = 0; i < ps.n; i++)
        if (k == 0 || pair_cmp(&ps.p[k - 1], &ps.p[i]) != 0)
            ps.p[k++] = ps.p[i];
    ps.n = k;
    buf_done(&scratch);
    free(rows);
    free(slots);
    near_groups_free(g);
    return ps;
}

static void quality(const char *docs_path, const char *pairs_path, double threshold)
{
    size_t n, positives = 0, tp = 0;
    struct doc *d = read_docs(docs_path, &n);
    struct lsh_params lsh = lsh_params_for(threshold, LSH_FN_WEIGHT);
    struct pairs ps = predict(d, n, threshold, lsh);
    char *hit = calloc(ps.n ? ps.n : 1, 1);
    FILE *f = fopen(pairs_path, "r");
    long long a, b;
    double j;

    if (!f || !hit) {
        perror(pairs_path);
        exit(1);
    }
    while (fscanf(f, "%lld\t%lld\t%lf\n", &a, &b, &j) == 3) {
        struct pair key = {a < b ? a : b, a < b ? b : a};
        struct pair *p = bsearch(&key, ps.p, ps.n, sizeof(*ps.p), pair_cmp);
        if (j >= threshold) {
            positives++;
            if (p) {
                tp++;
                hit[p - ps.p] = 1;
            }
        }
    }
    fclose(f);
    printf("dedup: texts = %zu\n", n);
    printf("dedup: lsh bands = %d x %d rows\n", lsh.bands, lsh.rows);
    printf("dedup: true pairs at jaccard %.2f = %zu\n", threshold, positives);
    printf("dedup: predicted pairs = %zu\n", ps.n);
    printf("dedup: precision = %.4f\n", ps.n ? (double)tp / (double)ps.n : 1.0);
    printf("dedup: recall = %.4f\n", positives ? (double)tp / (double)positives : 1.0);
    fflush(stdout);
    free(hit);
    free(ps.p);
    for (size_t i = 0; i < n; i++)
        free(d[i].text);
    free(d);
}

static void speed(const char *docs_path, long sign_n)
{
    size_t n;
    struct doc *d = read_docs(docs_path, &n);
    struct buf scratch;
    struct err e = ERR_INIT;
    uint64_t sink = 0;
    size_t bytes = 0;
    double t0, c0, secs, cpu;

    buf_init(&scratch, (size_t)1 << 24);
    t0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < sign_n; i++) {
        struct minhash_sig sig;
        const struct doc *x = &d[(size_t)i % n];
        near_sign_input(x->text, x->len, &scratch, &sig, &e);
        sink += sig.v[i % MINHASH_K];
        bytes += x->len;
    }
    secs = now_s(CLOCK_MONOTONIC) - t0;
    cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("dedup: signed = %ld inputs (%.0f bytes each on average)\n", sign_n,
           (double)bytes / (double)sign_n);
    printf("dedup: signing = %.0f documents/s/core\n", (double)sign_n / cpu);
    printf("dedup: signing cpu time = %.2f s\n", cpu);
    printf("dedup: signing wall time = %.2f s\n", secs);
    if (sink == 42)
        printf("\n");
    buf_done(&scratch);
    for (size_t i = 0; i < n; i++)
        free(d[i].text);
    free(d);
}

int main(int argc, char **argv)
{
    double threshold = argc > 3 ? strtod(argv[3], NULL) : 0.8;
    long sign_n = argc > 4 ? strtol(argv[4], NULL, 10) : 1000000;

    if (argc < 3) {
        fprintf(stderr, "usage: bench-dedup DOCS PAIRS [THRESHOLD] [SIGN_N]\n");
        return 2;
    }
    quality(argv[1], argv[2], threshold);
    if (sign_n > 0)
        speed(argv[1], sign_n);
    return 0;
}
