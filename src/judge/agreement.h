/* SPDX-License-Identifier: MIT */
/*
 * How far a judge agrees with people: figures over pairs (a person's rating, the judge's
 * rating) of the same samples. Pure functions; the only allocation is scratch space.
 *
 *   kendall_tau  Kendall's tau-b: (concordant - discordant) pairs over the geometric mean of the
 *                pairs untied in each rating, so ties on either side are accounted for
 *   spearman     Spearman's rho: Pearson's correlation of the ranks, ties given their average
 *   mae          mean absolute difference of the ratings
 *   agreement    share of pairs with the same rating (categories: pass/fail types)
 *   kappa        Cohen's kappa: agreement beyond what the two sides' own frequencies give by
 *                chance, (p_o - p_e) / (1 - p_e)
 *
 * A figure that is undefined is NaN, with the reason: fewer than two pairs (one for mae and
 * agreement), a side whose ratings do not vary (tau, rho), or chance agreement of 1 (kappa).
 */
#ifndef HETU_JUDGE_AGREEMENT_H
#define HETU_JUDGE_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>

/* Each returns 0 or HE_NOMEM; *ret is the figure, or NaN with *ret_reason set (else NULL). */
int agreement_kendall_tau(const double *person, const double *judge, size_t n, double *ret,
                          const char **ret_reason);
int agreement_spearman(const double *person, const double *judge, size_t n, double *ret,
                       const char **ret_reason);
int agreement_mae(const double *person, const double *judge, size_t n, double *ret,
                  const char **ret_reason);
/* Agreement rate and Cohen's kappa, the ratings taken as categories (equal values agree). */
int agreement_kappa(const double *person, const double *judge, size_t n, double *ret_rate,
                    double *ret_kappa, const char **ret_reason);

struct agreement {
    size_t n;
    double kendall_tau, spearman, mae;
    double agreement, kappa; /* NaN unless categorical */
    /* why a figure is NaN, else NULL */
    const char *kendall_tau_reason, *spearman_reason, *mae_reason, *kappa_reason;
};

/* Every figure; agreement and kappa with categorical (pass/fail types). */
int agreement_compute(const double *person, const double *judge, size_t n, bool categorical,
                      struct agreement *ret);

#endif
