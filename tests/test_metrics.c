/*
 * test_metrics.c - AUC against a brute-force pair count, ROC shape and its
 * area, TPR at a fixed FPR against a brute force over every threshold, and
 * quantiles against values worked out by hand with NumPy's linear rule.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double auc_ref(const double *c, size_t nc, const double *a, size_t na)
{
    uint64_t twice = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nc; j++)
            twice += a[i] > c[j] ? 2 : a[i] == c[j];
    return (double)twice / (2.0 * (double)nc * (double)na);
}

/* Every score, +inf and -inf as thresholds; flag score > t. */
static double tpr_ref(const double *c, size_t nc, const double *a, size_t na,
                      double target)
{
    double best = 0.0;
    for (size_t k = 0; k < nc + na + 2; k++) {
        double t = k < nc ? c[k] : k < nc + na ? a[k - nc]
                                 : k == nc + na ? INFINITY : -INFINITY;
        size_t fc = 0, fa = 0;
        for (size_t j = 0; j < nc; j++)
            fc += c[j] > t;
        for (size_t j = 0; j < na; j++)
            fa += a[j] > t;
        if ((double)fc / (double)nc <= target &&
            (double)fa / (double)na > best)
            best = (double)fa / (double)na;
    }
    return best;
}

static size_t distinct(const double *c, size_t nc, const double *a, size_t na)
{
    size_t d = 0;
    for (size_t k = 0; k < nc + na; k++) {
        double v = k < nc ? c[k] : a[k - nc];
        int seen = 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = (j < nc ? c[j] : a[j - nc]) == v;
        d += !seen;
    }
    return d;
}

static void draw(double *v, size_t n, int ties, double shift, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        double u = check_rand_unit(rng) + shift;
        v[i] = ties ? floor(u * 5) : u;
        if (ties && check_rand_u64(rng) % 17 == 0)
            v[i] = check_rand_u64(rng) % 2 ? INFINITY : -INFINITY;
    }
}

static void test_random(void)
{
    static const double targets[] = {0.0, 0.01, 0.05, 0.1, 1.0 / 3, 0.5,
                                     0.999, 1.0, 2.0};
    uint64_t rng = check_seed;
    int bad_auc = 0, bad_roc = 0, bad_tpr = 0;
    for (int rep = 0; rep < 300; rep++) {
        size_t nc = 1 + check_rand_u64(&rng) % 60;
        size_t na = 1 + check_rand_u64(&rng) % 60;
        int ties = rep % 2;
        double *c = malloc(nc * sizeof *c), *a = malloc(na * sizeof *a);
        double *fpr = malloc((nc + na + 2) * sizeof *fpr);
        double *tpr = malloc((nc + na + 2) * sizeof *tpr);
        double auc, area = 0.0;
        size_t n = 0;
        draw(c, nc, ties, 0.0, &rng);
        draw(a, na, ties, check_rand_unit(&rng) * 0.5, &rng);

        if (ah_auc(c, nc, a, na, &auc, NULL) != AH_OK ||
            auc != auc_ref(c, nc, a, na))
            bad_auc++;

        if (ah_roc(c, nc, a, na, fpr, tpr, &n, NULL) != AH_OK ||
            n != distinct(c, nc, a, na) + 1 || fpr[0] != 0 || tpr[0] != 0 ||
            fpr[n - 1] != 1 || tpr[n - 1] != 1) {
            bad_roc++;
        } else {
            for (size_t k = 1; k < n; k++) {
                if (fpr[k] < fpr[k - 1] || tpr[k] < tpr[k - 1] ||
                    (fpr[k] == fpr[k - 1] && tpr[k] == tpr[k - 1]))
                    bad_roc++;
                area += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2;
            }
            /* The trapezoid area of the ROC is the Mann-Whitney AUC. */
            if (fabs(area - auc) > 1e-12)
                bad_roc++;
        }

        for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
            double got;
            if (ah_tpr_at_fpr(c, nc, a, na, targets[k], &got, NULL) != AH_OK ||
                got != tpr_ref(c, nc, a, na, targets[k]))
                bad_tpr++;
        }
        free(c);
        free(a);
        free(fpr);
        free(tpr);
    }
    CHECK(bad_auc == 0, "%d AUCs differ from the pair count", bad_auc);
    CHECK(bad_roc == 0, "%d ROC curves malformed", bad_roc);
    CHECK(bad_tpr == 0, "%d TPRs differ from the brute force", bad_tpr);
}

static void test_hand(void)
{
    const double c[] = {0.1, 0.4, 0.35, 0.8};
    const double a[] = {0.4, 0.9, 0.85, 0.1};
    double auc, t, fpr[10], tpr[10];
    size_t n;
    /* Pairs: 0.4 beats 0.1, 0.35, ties 0.4 -> 2.5; 0.9 and 0.85 beat all
     * -> 8; 0.1 ties 0.1 -> 0.5.  11 / 16. */
    CHECK(ah_auc(c, 4, a, 4, &auc, NULL) == AH_OK && auc == 11.0 / 16,
          "hand AUC %g", auc);
    CHECK(ah_roc(c, 4, a, 4, fpr, tpr, &n, NULL) == AH_OK && n == 7 &&
              fpr[1] == 0 && tpr[1] == 0.25 && fpr[3] == 0.25 &&
              tpr[3] == 0.5 && fpr[4] == 0.5 && tpr[4] == 0.75,
          "hand ROC n %zu", n);
    /* FPR 0: flag > 0.8 -> 2 of 4.  FPR 0.25: flag > 0.4 -> 2 of 4.
     * FPR 0.5: > 0.35 -> 3 of 4.  FPR 0.75: > 0.1 -> 3 of 4.  FPR 1: 4. */
    CHECK(ah_tpr_at_fpr(c, 4, a, 4, 0.0, &t, NULL) == AH_OK && t == 0.5,
          "tpr at 0: %g", t);
    CHECK(ah_tpr_at_fpr(c, 4, a, 4, 0.3, &t, NULL) == AH_OK && t == 0.5,
          "tpr at 0.3: %g", t);
    CHECK(ah_tpr_at_fpr(c, 4, a, 4, 0.5, &t, NULL) == AH_OK && t == 0.75,
          "tpr at 0.5: %g", t);
    CHECK(ah_tpr_at_fpr(c, 4, a, 4, 0.99, &t, NULL) == AH_OK && t == 0.75,
          "tpr at 0.99: %g", t);
    CHECK(ah_tpr_at_fpr(c, 4, a, 4, 1.0, &t, NULL) == AH_OK && t == 1.0,
          "tpr at 1: %g", t);
    /* Perfect separation and its reverse. */
    {
        const double lo[] = {1, 2, 3}, hi[] = {4, 5};
        CHECK(ah_auc(lo, 3, hi, 2, &auc, NULL) == AH_OK && auc == 1.0, "AUC 1");
        CHECK(ah_auc(hi, 2, lo, 3, &auc, NULL) == AH_OK && auc == 0.0, "AUC 0");
        CHECK(ah_auc(lo, 1, lo, 1, &auc, NULL) == AH_OK && auc == 0.5,
              "AUC of a tie");
    }
}

static void test_quantile(void)
{
    /* Values from NumPy's default method ("linear"): h = (n - 1) q,
     * lerp from the nearer end. */
    static const struct {
        double v[6];
        size_t n;
        double q, want;
    } cases[] = {
        {{1, 2, 3, 4}, 4, 0.5, 2.5},     /* np.quantile([1,2,3,4], .5)   */
        {{1, 2, 3, 4}, 4, 0.25, 1.75},   /* h = 0.75                     */
        {{4, 3, 2, 1}, 4, 0.0, 1},       /* unsorted input               */
        {{4, 3, 2, 1}, 4, 1.0, 4},
        {{3, 1, 2}, 3, 0.1, 1.2},        /* h = 0.2: 1 + 0.2             */
        {{10, 0}, 2, 0.75, 7.5},         /* 10 - 10 * 0.25               */
        {{-1, -1, 5}, 3, 0.5, -1},
        {{-1, -1, 5}, 3, 0.75, 2},       /* h = 1.5: 5 - 6 * 0.5         */
        {{7}, 1, 0.3, 7},
        {{0, 1, 2, 3, 4, 5}, 6, 0.9, 4.5},
        {{2, 2, 2}, 3, 0.37, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double got = -99;
        int st = ah_quantile(cases[k].v, cases[k].n, cases[k].q, &got, NULL);
        CHECK(st == AH_OK && got == cases[k].want, "quantile case %zu: %.17g "
              "want %.17g", k, got, cases[k].want);
    }
    {
        /* NumPy's _lerp at t >= 0.5 computes b - (b - a)(1 - t):
         * np.quantile([0.7, 0.1], 0.5) is 0.39999999999999997, where
         * a + (b - a) t would give 0.4. */
        const double v[] = {0.7, 0.1};
        double got;
        CHECK(ah_quantile(v, 2, 0.5, &got, NULL) == AH_OK &&
                  got == 0.39999999999999997,
              "NumPy lerp from the upper end: %.17g", got);
    }
    {
        const double v[] = {1, INFINITY, INFINITY};
        double got;
        CHECK(ah_quantile(v, 3, 0.9, &got, NULL) == AH_OK && got == INFINITY,
              "infinite pair");
    }
}

static void test_errors(void)
{
    const double c[] = {0.1, 0.2}, bad[] = {0.3, NAN};
    double x, fpr[8], tpr[8];
    size_t n;
    ah_diag d;
    CHECK(ah_auc(c, 2, bad, 2, &x, &d) == AH_ERR_VALUE && d.row == 1,
          "NaN anomalous score");
    CHECK(ah_auc(bad, 2, c, 2, &x, &d) == AH_ERR_VALUE, "NaN clean score");
    CHECK(ah_auc(c, 0, c, 2, &x, &d) == AH_ERR_EMPTY, "no clean scores");
    CHECK(ah_auc(c, 2, c, 0, &x, &d) == AH_ERR_EMPTY, "no anomalous scores");
    CHECK(ah_roc(c, 2, bad, 2, fpr, tpr, &n, &d) == AH_ERR_VALUE, "ROC NaN");
    CHECK(ah_roc(c, 0, c, 2, fpr, tpr, &n, &d) == AH_ERR_EMPTY, "ROC empty");
    CHECK(ah_tpr_at_fpr(c, 2, bad, 2, 0.1, &x, &d) == AH_ERR_VALUE, "TPR NaN");
    CHECK(ah_tpr_at_fpr(c, 2, c, 0, 0.1, &x, &d) == AH_ERR_EMPTY, "TPR empty");
    CHECK(ah_tpr_at_fpr(c, 2, c, 2, NAN, &x, &d) == AH_ERR_ARG, "TPR NaN target");
    CHECK(ah_tpr_at_fpr(c, 2, c, 2, -0.1, &x, &d) == AH_ERR_ARG,
          "TPR negative target");
    CHECK(ah_quantile(bad, 2, 0.5, &x, &d) == AH_ERR_VALUE && d.row == 1,
          "quantile NaN");
    CHECK(ah_quantile(c, 0, 0.5, &x, &d) == AH_ERR_EMPTY, "quantile empty");
    CHECK(ah_quantile(c, 2, 1.5, &x, &d) == AH_ERR_ARG, "quantile q > 1");
    CHECK(ah_quantile(c, 2, NAN, &x, &d) == AH_ERR_ARG, "quantile q NaN");
}

int main(void)
{
    check_init();
    test_hand();
    test_random();
    test_quantile();
    test_errors();
    return check_done("metrics");
}
