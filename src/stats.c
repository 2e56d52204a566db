/*
 * stats.c - the scan statistics phi(a, n_a, n) of docs/METHOD.md section 5.
 *
 * Workload: called once per candidate (threshold, subset) by the scans, so
 * up to millions of times per group-scan restart.  Each call is a handful of
 * flops and at most three logarithms, with no allocation and no state.
 *
 * Numerics.  Berk-Jones is evaluated as
 *     n KL(q || a) = n_a ln(q / a) + (n - n_a) ln((1 - q) / (1 - a)),
 * with q = n_a / n, taking the logarithms of each ratio as differences of
 * logarithms (q / a would overflow for a denormal a) and ln(1 - x) through
 * log1p so that a tiny a or q close to a loses no digits.  At q = 1 the
 * second term is exactly 0 (its limit), not 0 * -inf.  Every statistic is 0
 * whenever n_a <= n a, n <= 0, a <= 0 or a >= 1, and a NaN argument also
 * gives 0, so no valid input produces NaN or infinity.
 *
 * Each statistic is one row of ah__stats below: its name, its phi, and
 * the two facts the individual scan's bounds rely on (internal.h).
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* n KL(n_a/n || a) for 0 < a < 1 and n a < n_a <= n. */
static double bj_score(double a, double na, double n, double excess)
{
    double q = na / n;
    double s;
    (void)excess;
    if (q > 1.0)
        q = 1.0;
    s = na * (log(q) - log(a));
    if (na < n && q < 1.0)
        s += (n - na) * (log1p(-q) - log1p(-a));
    /* Exact arithmetic gives s > 0 here; rounding near q == a may not. */
    return s > 0.0 ? s : 0.0;
}

/* (n_a - n a) / sqrt(n a (1 - a)) */
static double hc_score(double a, double na, double n, double excess)
{
    double v = n * a * (1.0 - a);
    (void)na;
    /* A denormal a would make v lose digits or underflow to 0. */
    return v >= DBL_MIN ? excess / sqrt(v)
                        : excess / (sqrt(n) * sqrt(a) * sqrt(1.0 - a));
}

/* (n_a - n a) / sqrt(n) */
static double ks_score(double a, double na, double n, double excess)
{
    (void)a;
    (void)na;
    return excess / sqrt(n);
}

/* One row per statistic, in the order of enum ah_stat (internal.h says
 * what each field means and who reads it). */
const ah__stat_def ah__stats[AH__STAT_COUNT] = {
    [AH_STAT_BJ] = {"bj", bj_score, 0, 1},
    [AH_STAT_HC] = {"hc", hc_score, 1, 0},
    [AH_STAT_KS] = {"ks", ks_score, 1, 0},
};
_Static_assert(sizeof ah__stats / sizeof ah__stats[0] == AH__STAT_COUNT,
               "one row per statistic");

/* The count against the enum: a case per enumerator and no default, so
 * -Wswitch sends a new statistic here, to the assertion that wants
 * AH__STAT_COUNT one past the last one (and the table a row for it). */
__attribute__((unused)) static void stat_enum_guard(enum ah_stat s)
{
    switch (s) {
    case AH_STAT_BJ:
    case AH_STAT_HC:
    case AH_STAT_KS:
        break;
    }
}
_Static_assert(AH_STAT_KS + 1 == AH__STAT_COUNT,
               "AH__STAT_COUNT is one past the last enum ah_stat");

const char *ah_stat_name(int stat)
{
    return ah__stat_known(stat) ? ah__stats[stat].name : "unknown";
}

int ah_stat_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < AH__STAT_COUNT; i++)
        if (strcmp(s, ah__stats[i].name) == 0)
            return i;
    return -1;
}

double ah_stat_score(int stat, double alpha, double n_alpha, double n)
{
    double excess, s;
    /* The negated comparisons are also true for NaN arguments. */
    if (!(n > 0.0) || !(alpha > 0.0) || !(alpha < 1.0) || !(n_alpha >= 0.0))
        return 0.0;
    if (n_alpha > n)
        n_alpha = n; /* more hits than tries: cap at the whole subset */
    excess = n_alpha - n * alpha;
    if (!(excess > 0.0) || !ah__stat_known(stat))
        return 0.0;
    s = ah__stats[stat].score(alpha, n_alpha, n, excess);
    /* Only absurd counts (beyond 1e300) can overflow; saturate rather than
     * return infinity. */
    if (isnan(s))
        return 0.0;
    return s < DBL_MAX ? s : DBL_MAX;
}
