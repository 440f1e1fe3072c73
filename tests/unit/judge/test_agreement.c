/* SPDX-License-Identifier: MIT */
/*
 * Agreement figures against values from documented references and by hand:
 * - Kendall's tau-b: SciPy's scipy.stats.kendalltau documentation example, x = [12, 2, 1, 12, 2],
 *   y = [1, 4, 7, 1, 0] gives tau = -0.47140452079103173 (by hand: 2 concordant, 6 discordant,
 *   2 pairs tied in x, 1 in y: -4 / sqrt(8 * 9));
 * - Spearman's rho: SciPy's scipy.stats.spearmanr documentation example, [1, 2, 3, 4, 5] and
 *   [5, 6, 7, 8, 7] gives 0.8207826816681233 (ties at 7 ranked 3.5: 8 / sqrt(10 * 9.5));
 * - Cohen's kappa: scikit-learn's cohen_kappa_score documentation example,
 *   ["negative", "positive", "negative", "neutral", "positive"] against
 *   ["negative", "positive", "negative", "neutral", "negative"] gives 0.6875
 *   (p_o = 0.8, p_e = 9/25: 0.44 / 0.64);
 * and tau-b checked against its definition counted pair by pair on a larger set with ties.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "judge/agreement.h"

#define EPS 1e-12

static void test_kendall_scipy_example(void **state)
{
    const double x[] = {12, 2, 1, 12, 2}, y[] = {1, 4, 7, 1, 0};
    const char *why;
    double tau;
    (void)state;

    assert_int_equal(agreement_kendall_tau(x, y, 5, &tau, &why), 0);
    assert_null(why);
    assert_true(fabs(tau - -0.47140452079103173) < EPS);
    assert_true(fabs(tau - -4 / sqrt(72)) < EPS);
    /* symmetric in its two sides */
    assert_int_equal(agreement_kendall_tau(y, x, 5, &tau, &why), 0);
    assert_true(fabs(tau - -0.47140452079103173) < EPS);
}

static void test_spearman_scipy_example(void **state)
{
    const double x[] = {1, 2, 3, 4, 5}, y[] = {5, 6, 7, 8, 7};
    const char *why;
    double rho;
    (void)state;

    assert_int_equal(agreement_spearman(x, y, 5, &rho, &why), 0);
    assert_null(why);
    assert_true(fabs(rho - 0.8207826816681233) < EPS);
    assert_true(fabs(rho - 8 / sqrt(95)) < EPS);
}

static void test_kappa_sklearn_example(void **state)
{
    /* negative 0, positive 1, neutral 2 */
    const double a[] = {0, 1, 0, 2, 1}, b[] = {0, 1, 0, 2, 0};
    const char *why;
    double rate, kappa;
    (void)state;

    assert_int_equal(agreement_kappa(a, b, 5, &rate, &kappa, &why), 0);
    assert_null(why);
    assert_true(fabs(rate - 0.8) < EPS);
    assert_true(fabs(kappa - 0.6875) < EPS);
}

static void test_pass_fail_by_hand(void **state)
{
    /* 6 of 8 agree; each side passes 5 of 8: p_e = (25 + 9) / 64, kappa = 7 / 15 */
    const double person[] = {1, 1, 0, 0, 1, 0, 1, 1}, judge[] = {1, 0, 0, 0, 1, 1, 1, 1};
    struct agreement a;
    (void)state;

    assert_int_equal(agreement_compute(person, judge, 8, true, &a), 0);
    assert_int_equal(a.n, 8);
    assert_true(fabs(a.agreement - 0.75) < EPS);
    assert_true(fabs(a.kappa - 7.0 / 15.0) < EPS);
    assert_true(fabs(a.mae - 0.25) < EPS);
    assert_null(a.kappa_reason);
    /* tau-b of two binary ratings is the phi coefficient: (ad - bc) / sqrt(product of margins)
     * with a = 4 (1,1), b = 1 (1,0), c = 1 (0,1), d = 2 (0,0): 7 / 15 */
    assert_true(fabs(a.kendall_tau - 7.0 / 15.0) < EPS);
    assert_true(fabs(a.spearman - 7.0 / 15.0) < EPS);
}

static void test_perfect_and_negative(void **state)
{
    const double x[] = {1, 2, 3, 4, 5}, down[] = {5, 4, 3, 2, 1};
    struct agreement a;
    (void)state;

    assert_int_equal(agreement_compute(x, x, 5, true, &a), 0);
    assert_true(fabs(a.kendall_tau - 1) < EPS);
    assert_true(fabs(a.spearman - 1) < EPS);
    assert_true(a.mae == 0);
    assert_true(a.agreement == 1);
    assert_true(fabs(a.kappa - 1) < EPS);

    assert_int_equal(agreement_compute(x, down, 5, false, &a), 0);
    assert_true(fabs(a.kendall_tau - -1) < EPS);
    assert_true(fabs(a.spearman - -1) < EPS);
    assert_true(fabs(a.mae - 2.4) < EPS);
    assert_true(isnan(a.agreement) && isnan(a.kappa)); /* not categorical */
}

static void test_undefined(void **state)
{
    const double one[] = {4}, same[] = {3, 3, 3}, vary[] = {1, 2, 5};
    struct agreement a;
    (void)state;

    assert_int_equal(agreement_compute(one, one, 1, true, &a), 0);
    assert_true(isnan(a.kendall_tau) && isnan(a.spearman));
    assert_string_equal(a.kendall_tau_reason, "fewer than 2 samples have both ratings");
    assert_string_equal(a.spearman_reason, "fewer than 2 samples have both ratings");
    assert_true(a.mae == 0 && a.mae_reason == NULL);

    assert_int_equal(agreement_compute(same, vary, 3, false, &a), 0);
    assert_true(isnan(a.kendall_tau) && isnan(a.spearman));
    assert_string_equal(a.kendall_tau_reason, "people's ratings do not vary");
    assert_string_equal(a.spearman_reason, "people's ratings do not vary");

    assert_int_equal(agreement_compute(vary, same, 3, true, &a), 0);
    assert_string_equal(a.kendall_tau_reason, "the judge's ratings do not vary");
    assert_string_equal(a.spearman_reason, "the judge's ratings do not vary");
    /* the judge always says 3, people never do: no agreement, and none expected by chance */
    assert_true(a.agreement == 0 && a.kappa == 0);

    assert_int_equal(agreement_compute(same, same, 3, true, &a), 0);
    assert_true(a.agreement == 1 && isnan(a.kappa));
    assert_string_equal(a.kappa_reason, "both sides gave one and the same rating to every sample");

    assert_int_equal(agreement_compute(NULL, NULL, 0, true, &a), 0);
    assert_true(isnan(a.mae) && isnan(a.agreement));
    assert_string_equal(a.mae_reason, "no sample has both ratings");
}

/* tau-b from its definition, pair by pair */
static double tau_b_naive(const double *x, const double *y, size_t n)
{
    double c = 0, d = 0, tx = 0, ty = 0, n0 = (double)n * (double)(n - 1) / 2;

    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double s = (x[i] - x[j]) * (y[i] - y[j]);
            c += s > 0;
            d += s < 0;
            tx += x[i] == x[j];
            ty += y[i] == y[j];
        }
    return (c - d) / sqrt((n0 - tx) * (n0 - ty));
}

static void test_kendall_against_definition(void **state)
{
    enum { N = 1003 }; /* not a power of two: the merge passes end in odd runs */
    static double x[N], y[N];
    uint32_t seed = 12345;
    const char *why;
    double tau;
    (void)state;

    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = 1 + (seed >> 16) % 5; /* five stars: many ties */
        seed = seed * 1103515245u + 12345u;
        y[i] = (seed >> 16) % 3 == 0 ? x[i] : 1 + (seed >> 16) % 5;
    }
    assert_int_equal(agreement_kendall_tau(x, y, N, &tau, &why), 0);
    assert_null(why);
    assert_true(fabs(tau - tau_b_naive(x, y, N)) < 1e-9);
    assert_true(tau > 0.1); /* a third of the pairs copy the person's rating */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kendall_scipy_example),
        cmocka_unit_test(test_spearman_scipy_example),
        cmocka_unit_test(test_kappa_sklearn_example),
        cmocka_unit_test(test_pass_fail_by_hand),
        cmocka_unit_test(test_perfect_and_negative),
        cmocka_unit_test(test_undefined),
        cmocka_unit_test(test_kendall_against_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
