/*
 * stats.c - the scan statistics phi(a, n_a, n) of SPEC "Scan statistics".
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
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

const char *ah_stat_name(int stat)
{
    switch (stat) {
    case AH_STAT_BJ: return "bj";
    case AH_STAT_HC: return "hc";
    case AH_STAT_KS: return "ks";
    default: return "unknown";
    }
}

int ah_stat_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "bj") == 0)
        return AH_STAT_BJ;
    if (strcmp(s, "hc") == 0)
        return AH_STAT_HC;
    if (strcmp(s, "ks") == 0)
        return AH_STAT_KS;
    return -1;
}

/* n KL(n_a/n || a) for 0 < a < 1 and n a < n_a <= n. */
static double bj_score(double a, double na, double n)
{
    double q = na / n;
    double s;
    if (q > 1.0)
        q = 1.0;
    s = na * (log(q) - log(a));
    if (na < n && q < 1.0)
        s += (n - na) * (log1p(-q) - log1p(-a));
    /* Exact arithmetic gives s > 0 here; rounding near q == a may not. */
    return s > 0.0 ? s : 0.0;
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
    if (!(excess > 0.0))
        return 0.0;
    switch (stat) {
    case AH_STAT_BJ:
        s = bj_score(alpha, n_alpha, n);
        break;
    case AH_STAT_HC: {
        double v = n * alpha * (1.0 - alpha);
        /* A denormal alpha would make v lose digits or underflow to 0. */
        s = v >= DBL_MIN ? excess / sqrt(v)
                         : excess / (sqrt(n) * sqrt(alpha) * sqrt(1.0 - alpha));
        break;
    }
    case AH_STAT_KS:
        s = excess / sqrt(n);
        break;
    default:
        return 0.0;
    }
    /* Only absurd counts (beyond 1e300) can overflow; saturate rather than
     * return infinity. */
    if (isnan(s))
        return 0.0;
    return s < DBL_MAX ? s : DBL_MAX;
}
