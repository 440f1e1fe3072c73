/* SPDX-License-Identifier: MIT */
/*
 * Agreement figures (agreement.h), each in O(n log n) so a task's every rated sample can be
 * compared in one request: Kendall's tau-b by Knight's algorithm (sort by one rating, count
 * the swaps a merge sort by the other needs: those are the discordant pairs), Spearman's rho
 * from average ranks, kappa from the two sides' sorted ratings.
 */
#include "judge/agreement.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/banned.h"

#define TOO_FEW          "fewer than 2 samples have both ratings"
#define NONE             "no sample has both ratings"
#define PERSON_CONSTANT  "people's ratings do not vary"
#define JUDGE_CONSTANT   "the judge's ratings do not vary"
#define CHANCE_AGREEMENT "both sides gave one and the same rating to every sample"

struct pair {
    double x, y;
};

static int by_x_then_y(const void *a, const void *b)
{
    const struct pair *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    return p->y < q->y ? -1 : p->y > q->y;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Merge sort of p[0..n) by y (stable, tmp as large), returning the pairs it swapped: those
 * with i < j and y_i > y_j strictly. */
static int64_t sort_y_count_swaps(struct pair *p, struct pair *tmp, size_t n)
{
    int64_t swaps = 0;

    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (p[i].y <= p[j].y) {
                    tmp[k++] = p[i++];
                } else {
                    swaps += (int64_t)(mid - i);
                    tmp[k++] = p[j++];
                }
            }
            while (i < mid)
                tmp[k++] = p[i++];
            while (j < hi)
                tmp[k++] = p[j++];
        }
        memcpy(p, tmp, n * sizeof(*p));
    }
    return swaps;
}

/* Pairs tied within runs of equal keys: sum of t(t-1)/2 over the runs. */
static int64_t tied_pairs(const struct pair *p, size_t n, bool x, bool y)
{
    int64_t sum = 0, run = 1;

    for (size_t i = 1; i <= n; i++) {
        bool same = i < n && (!x || p[i].x == p[i - 1].x) && (!y || p[i].y == p[i - 1].y);
        if (same) {
            run++;
        } else {
            sum += run * (run - 1) / 2;
            run = 1;
        }
    }
    return sum;
}

int agreement_kendall_tau(const double *person, const double *judge, size_t n, double *ret,
                          const char **ret_reason)
{
    struct pair *p, *tmp;
    int64_t n0, n1, n2, n3, swaps;

    *ret = NAN;
    *ret_reason = NULL;
    if (n < 2) {
        *ret_reason = TOO_FEW;
        return 0;
    }
    p = malloc(n * sizeof(*p));
    tmp = malloc(n * sizeof(*tmp));
    if (!p || !tmp) {
        free(p);
        free(tmp);
        return HE_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){person[i], judge[i]};
    qsort(p, n, sizeof(*p), by_x_then_y);
    n0 = (int64_t)n * (int64_t)(n - 1) / 2;
    n1 = tied_pairs(p, n, true, false);
    n3 = tied_pairs(p, n, true, true);
    swaps = sort_y_count_swaps(p, tmp, n);
    n2 = tied_pairs(p, n, false, true);
    free(p);
    free(tmp);
    if (n0 == n1)
        *ret_reason = PERSON_CONSTANT;
    else if (n0 == n2)
        *ret_reason = JUDGE_CONSTANT;
    else
        *ret =
            (double)(n0 - n1 - n2 + n3 - 2 * swaps) / sqrt((double)(n0 - n1) * (double)(n0 - n2));
    return 0;
}

struct ranked {
    double v;
    size_t i;
};

static int by_ranked_value(const void *a, const void *b)
{
    const struct ranked *p = a, *q = b;
    return p->v < q->v ? -1 : p->v > q->v;
}

/* ranks[i]: the rank of v[i] from 1, ties given the average of the ranks they span. */
static int average_ranks(const double *v, size_t n, double *ranks)
{
    struct ranked *s = malloc(n * sizeof(*s));
    size_t i = 0;

    if (!s)
        return HE_NOMEM;
    for (size_t k = 0; k < n; k++)
        s[k] = (struct ranked){v[k], k};
    qsort(s, n, sizeof(*s), by_ranked_value);
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && s[j + 1].v == s[i].v)
            j++;
        for (size_t k = i; k <= j; k++)
            ranks[s[k].i] = (double)(i + j) / 2.0 + 1.0;
        i = j + 1;
    }
    free(s);
    return 0;
}

int agreement_spearman(const double *person, const double *judge, size_t n, double *ret,
                       const char **ret_reason)
{
    double *rx, *ry, mean = ((double)n + 1) / 2, sxy = 0, sxx = 0, syy = 0;
    int r;

    *ret = NAN;
    *ret_reason = NULL;
    if (n < 2) {
        *ret_reason = TOO_FEW;
        return 0;
    }
    rx = malloc(n * sizeof(*rx));
    ry = malloc(n * sizeof(*ry));
    if (!rx || !ry || (r = average_ranks(person, n, rx)) < 0 ||
        (r = average_ranks(judge, n, ry)) < 0) {
        free(rx);
        free(ry);
        return HE_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        double dx = rx[i] - mean, dy = ry[i] - mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    free(rx);
    free(ry);
    if (sxx == 0)
        *ret_reason = PERSON_CONSTANT;
    else if (syy == 0)
        *ret_reason = JUDGE_CONSTANT;
    else
        *ret = sxy / sqrt(sxx * syy);
    return 0;
}

int agreement_mae(const double *person, const double *judge, size_t n, double *ret,
                  const char **ret_reason)
{
    double sum = 0;

    *ret = NAN;
    *ret_reason = NULL;
    if (n == 0) {
        *ret_reason = NONE;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        sum += fabs(person[i] - judge[i]);
    *ret = sum / (double)n;
    return 0;
}

int agreement_kappa(const double *person, const double *judge, size_t n, double *ret_rate,
                    double *ret_kappa, const char **ret_reason)
{
    double *a, *b, po, pe = 0;
    size_t same = 0, i = 0, j = 0;

    *ret_rate = *ret_kappa = NAN;
    *ret_reason = NULL;
    if (n == 0) {
        *ret_reason = NONE;
        return 0;
    }
    a = malloc(n * sizeof(*a));
    b = malloc(n * sizeof(*b));
    if (!a || !b) {
        free(a);
        free(b);
        return HE_NOMEM;
    }
    for (size_t k = 0; k < n; k++)
        same += person[k] == judge[k];
    memcpy(a, person, n * sizeof(*a));
    memcpy(b, judge, n * sizeof(*b));
    qsort(a, n, sizeof(*a), by_value);
    qsort(b, n, sizeof(*b), by_value);
    /* chance agreement: sum over categories of the product of the two sides' shares */
    while (i < n && j < n) {
        if (a[i] < b[j]) {
            i++;
        } else if (b[j] < a[i]) {
            j++;
        } else {
            double v = a[i];
            size_t ca = 0, cb = 0;
            for (; i < n && a[i] == v; i++)
                ca++;
            for (; j < n && b[j] == v; j++)
                cb++;
            pe += ((double)ca / (double)n) * ((double)cb / (double)n);
        }
    }
    free(a);
    free(b);
    po = (double)same / (double)n;
    *ret_rate = po;
    if (pe >= 1.0)
        *ret_reason = CHANCE_AGREEMENT;
    else
        *ret_kappa = (po - pe) / (1.0 - pe);
    return 0;
}

int agreement_compute(const double *person, const double *judge, size_t n, bool categorical,
                      struct agreement *ret)
{
    struct agreement a = {.n = n, .agreement = NAN, .kappa = NAN};
    int r;

    if ((r = agreement_kendall_tau(person, judge, n, &a.kendall_tau, &a.kendall_tau_reason)) < 0 ||
        (r = agreement_spearman(person, judge, n, &a.spearman, &a.spearman_reason)) < 0 ||
        (r = agreement_mae(person, judge, n, &a.mae, &a.mae_reason)) < 0 ||
        (categorical &&
         (r = agreement_kappa(person, judge, n, &a.agreement, &a.kappa, &a.kappa_reason)) < 0))
        return r;
    *ret = a;
    return 0;
}
