/*
 * metrics.c - detection metrics of docs/METHOD.md section 8: AUC, ROC points,
 * TPR at a fixed FPR, and quantiles.
 *
 * Workload: a few thousand scores per call, a handful of calls per
 * evaluation, so clarity wins over speed: each metric copies and sorts its
 * inputs (O((n + m) log(n + m))) and then walks them once.  Counts are kept
 * as integers and divided once at the end, so the results equal those of a
 * brute-force pair count exactly (up to 2^53 pairs).
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Check the arguments common to the two-sample metrics. */
static int check_two(const double *clean, size_t n_clean,
                     const double *anomalous, size_t n_anomalous,
                     const char *what, ah_diag *diag)
{
    if ((!clean && n_clean) || (!anomalous && n_anomalous))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "%s: NULL scores", what);
    if (n_clean == 0 || n_anomalous == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1,
                        "%s: %zu clean and %zu anomalous scores (need both)",
                        what, n_clean, n_anomalous);
    for (size_t i = 0; i < n_clean; i++)
        if (isnan(clean[i]))
            return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, -1,
                            "%s: clean score %zu is NaN", what, i);
    for (size_t i = 0; i < n_anomalous; i++)
        if (isnan(anomalous[i]))
            return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, -1,
                            "%s: anomalous score %zu is NaN", what, i);
    return AH_OK;
}

/* Sorted ascending copies of both samples in one allocation (*c, then *a);
 * the caller frees *c. */
static int sorted_copies(const double *clean, size_t n_clean,
                         const double *anomalous, size_t n_anomalous,
                         double **c, double **a, const char *what,
                         ah_diag *diag)
{
    size_t n, bytes;
    if (n_clean > SIZE_MAX - n_anomalous ||
        !ah__mul_ok(n = n_clean + n_anomalous, sizeof **c, &bytes))
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1, "%s: too many scores",
                        what);
    if (!(*c = malloc(bytes)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "%s: out of memory", what);
    *a = *c + n_clean;
    memcpy(*c, clean, n_clean * sizeof **c);
    memcpy(*a, anomalous, n_anomalous * sizeof **a);
    qsort(*c, n_clean, sizeof **c, cmp_double);
    qsort(*a, n_anomalous, sizeof **a, cmp_double);
    return AH_OK;
}

int ah_auc(const double *clean, size_t n_clean, const double *anomalous,
           size_t n_anomalous, double *auc, ah_diag *diag)
{
    double *c, *a, twice = 0.0;
    size_t i = 0, k = 0;
    int st;

    ah__diag_clear(diag);
    if (!auc)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "auc: NULL output");
    if ((st = check_two(clean, n_clean, anomalous, n_anomalous, "auc",
                        diag)) ||
        (st = sorted_copies(clean, n_clean, anomalous, n_anomalous, &c, &a,
                            "auc", diag)))
        return st;
    /* For each run of equal anomalous values: 2 x (clean below) + (clean
     * equal) counts twice the Mann-Whitney U, in exact integers. */
    while (k < n_anomalous) {
        double v = a[k];
        size_t run = 0, below, equal = 0;
        while (k < n_anomalous && a[k] == v) {
            k++;
            run++;
        }
        while (i < n_clean && c[i] < v)
            i++;
        below = i;
        while (i + equal < n_clean && c[i + equal] == v)
            equal++;
        twice += (double)run * (double)(2 * below + equal);
    }
    free(c);
    *auc = twice / (2.0 * (double)n_clean * (double)n_anomalous);
    return AH_OK;
}

int ah_roc(const double *clean, size_t n_clean, const double *anomalous,
           size_t n_anomalous, double *fpr, double *tpr, size_t *n,
           ah_diag *diag)
{
    double *c, *a;
    size_t ic, ia, k = 0;
    int st;

    ah__diag_clear(diag);
    if (!fpr || !tpr || !n)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "roc: NULL output");
    *n = 0;
    if ((st = check_two(clean, n_clean, anomalous, n_anomalous, "roc",
                        diag)) ||
        (st = sorted_copies(clean, n_clean, anomalous, n_anomalous, &c, &a,
                            "roc", diag)))
        return st;
    /* Thresholds from +inf (nothing flagged) down through every distinct
     * score; a score is flagged when >= the threshold.  ic/ia count the
     * unflagged scores from the bottom of each sorted array. */
    ic = n_clean;
    ia = n_anomalous;
    fpr[k] = tpr[k] = 0.0;
    k++;
    while (ic > 0 || ia > 0) {
        double v;
        if (ic == 0)
            v = a[ia - 1];
        else if (ia == 0)
            v = c[ic - 1];
        else
            v = c[ic - 1] > a[ia - 1] ? c[ic - 1] : a[ia - 1];
        while (ic > 0 && c[ic - 1] == v)
            ic--;
        while (ia > 0 && a[ia - 1] == v)
            ia--;
        fpr[k] = (double)(n_clean - ic) / (double)n_clean;
        tpr[k] = (double)(n_anomalous - ia) / (double)n_anomalous;
        k++;
    }
    free(c);
    *n = k; /* distinct scores + 1 <= n_clean + n_anomalous + 1 */
    return AH_OK;
}

/*
 * Flagging rule: a score is flagged when it is strictly greater than the
 * threshold t.  Candidate thresholds are +inf, every distinct clean score
 * and -inf; FPR(t) = #{clean > t} / n_clean, TPR(t) = #{anomalous > t} /
 * n_anomalous.  Both only fall as t rises, and between two consecutive
 * clean scores FPR is constant while TPR is largest at the lower one, so
 * these candidates reach the maximum over all real t.  The answer is the
 * TPR of the smallest candidate whose FPR is <= target_fpr (so target 0
 * flags only scores above every clean score, and target >= 1 flags every
 * score above -inf).
 */
int ah_tpr_at_fpr(const double *clean, size_t n_clean,
                  const double *anomalous, size_t n_anomalous,
                  double target_fpr, double *tpr, ah_diag *diag)
{
    double *c, *a, t = INFINITY;
    size_t k;
    int st;

    ah__diag_clear(diag);
    if (!tpr)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "tpr_at_fpr: NULL output");
    if (!(target_fpr >= 0.0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "tpr_at_fpr: target FPR %g is negative or NaN",
                        target_fpr);
    if ((st = check_two(clean, n_clean, anomalous, n_anomalous, "tpr_at_fpr",
                        diag)) ||
        (st = sorted_copies(clean, n_clean, anomalous, n_anomalous, &c, &a,
                            "tpr_at_fpr", diag)))
        return st;
    /* Lower t through the distinct clean scores from the top.  On entry
     * every c[k..] is above c[k - 1], so #{clean > c[k - 1]} = n_clean - k. */
    k = n_clean;
    while (k > 0) {
        double v = c[k - 1];
        if ((double)(n_clean - k) / (double)n_clean > target_fpr)
            break;
        t = v;
        while (k > 0 && c[k - 1] == v)
            k--;
    }
    if (k == 0 && target_fpr >= 1.0)
        t = -INFINITY; /* FPR 1 allowed: flag everything above -inf */
    k = n_anomalous;
    while (k > 0 && a[k - 1] > t)
        k--;
    *tpr = (double)(n_anomalous - k) / (double)n_anomalous;
    free(c);
    return AH_OK;
}

int ah_quantile(const double *v, size_t n, double q, double *out,
                ah_diag *diag)
{
    double *s, h, lo, hi, g, d, r;
    size_t i;

    ah__diag_clear(diag);
    if (!out || (!v && n))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "quantile: NULL argument");
    if (!(q >= 0.0 && q <= 1.0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "quantile: q = %g is not in [0, 1]", q);
    if (n == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1, "quantile: no values");
    for (i = 0; i < n; i++)
        if (isnan(v[i]))
            return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, -1,
                            "quantile: value %zu is NaN", i);
    if (n > SIZE_MAX / sizeof *s || !(s = malloc(n * sizeof *s)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "quantile: out of memory");
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    /* NumPy's "linear" method: virtual index h = (n - 1) q, then its _lerp,
     * which interpolates from the nearer end so that g = 1 returns hi. */
    h = (double)(n - 1) * q;
    i = (size_t)floor(h);
    if (i >= n - 1)
        i = n - 1;
    g = h - (double)i;
    lo = s[i];
    hi = s[i + 1 < n ? i + 1 : i];
    d = hi - lo;
    r = g >= 0.5 ? hi - d * (1.0 - g) : lo + d * g;
    if (lo == hi)
        r = lo; /* also keeps an infinite pair from giving inf - inf */
    free(s);
    *out = r;
    return AH_OK;
}
