/*
 * test_score.c - the fused ah_score against its two halves.
 *
 * ah_score computes p_max only, in blocks of rows, and scans each row; the
 * reference is ah_pvalues followed by ah_scan_individual on each row's
 * p_max.  Every method, tail and statistic, pooled and conditional, one and
 * two threads, with enough rows for several blocks; a NaN in a later block
 * is reported at its row in the whole input; options out of their ranges
 * refused before any row is read.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { D = 1100, NB = 300, NQ = 2000 };

static void fill(double *x, int64_t *lab, size_t n, uint64_t *rng, double shift)
{
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(check_rand_u64(rng) % 3);
        for (size_t j = 0; j < D; j++) {
            double u = check_rand_unit(rng);
            x[i * D + j] = u < 0.4 ? 0.0
                                   : -log(1e-12 + check_rand_unit(rng)) *
                                             (1.0 + (double)(j % 7)) +
                                         shift * (double)(i % 5 == 0);
        }
    }
}

/* ah_score and ah_pvalues check their options against the library's one
 * table (ah_option_check) before reading a row: alpha_max in [1e-12, 1],
 * threads in 0..256, a known statistic, even with no rows to score. */
static void test_option_checks(void)
{
    double bg[40], x[4] = {0.1, 0.2, 0.3, 0.4}, out[16];
    float xf[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    for (int i = 0; i < 40; i++)
        bg[i] = (double)(i % 7);
    ah_model *m = NULL;
    ah_diag d;
    if (ah_model_fit(&m, bg, 20, 2, 2, NULL, NULL, &d) != AH_OK) {
        CHECK(0, "fit: %s", d.message);
        return;
    }
    static const double bad_alpha[] = {0.0, -1.0, 2.0, 1e-13, NAN, INFINITY};
    ah_scan_result r[2];
    for (size_t k = 0; k < sizeof bad_alpha / sizeof *bad_alpha; k++)
        for (size_t rows = 0; rows <= 2; rows += 2) {
            CHECK(ah_score(m, x, rows, 2, 2, NULL, -1, AH_STAT_BJ,
                           bad_alpha[k], r, NULL, 1, &d) == AH_ERR_ARG &&
                      strstr(d.message, "alpha_max must be in [1e-12, 1]"),
                  "score alpha_max %g, %zu rows: %s", bad_alpha[k], rows,
                  d.message);
            CHECK(ah_score_f32(m, xf, rows, 2, 2, NULL, -1, AH_STAT_HC,
                               bad_alpha[k], r, NULL, 1, &d) == AH_ERR_ARG &&
                      strstr(d.message, "alpha_max must be in [1e-12, 1]"),
                  "score_f32 alpha_max %g: %s", bad_alpha[k], d.message);
        }
    static const int bad_threads[] = {-1, -5, 257, 1 << 30};
    for (size_t k = 0; k < sizeof bad_threads / sizeof *bad_threads; k++) {
        int t = bad_threads[k];
        CHECK(ah_score(m, x, 2, 2, 2, NULL, -1, AH_STAT_BJ, 0.5, r, NULL, t,
                       &d) == AH_ERR_ARG &&
                  strstr(d.message, "threads must be in 0..256"),
              "score threads %d: %s", t, d.message);
        CHECK(ah_pvalues(m, x, 2, 2, 2, NULL, -1, out, NULL, t, &d) ==
                      AH_ERR_ARG &&
                  strstr(d.message, "threads must be in 0..256"),
              "pvalues threads %d: %s", t, d.message);
        CHECK(ah_pvalues_f32(m, xf, 0, 2, 2, NULL, -1, out, NULL, t, &d) ==
                      AH_ERR_ARG,
              "pvalues_f32 threads %d, no rows: %s", t, d.message);
    }
    CHECK(ah_score(m, x, 0, 2, 2, NULL, -1, 7, 0.5, r, NULL, 1, &d) ==
                  AH_ERR_ARG && strstr(d.message, "unknown statistic"),
          "score: unknown statistic, no rows: %s", d.message);
    CHECK(ah_score(m, x, 2, 2, 2, NULL, -1, AH_STAT_KS, 1e-12, r, NULL, 256,
                   &d) == AH_OK &&
              ah_score(m, x, 2, 2, 2, NULL, -1, AH_STAT_KS, 1.0, r, NULL, 0,
                       &d) == AH_OK &&
              ah_pvalues(m, x, 2, 2, 2, NULL, -1, out, NULL, 256, &d) == AH_OK,
          "the ends of the ranges: %s", d.message);
    ah_model_free(m);
}

int main(void)
{
    check_init();
    test_option_checks();
    uint64_t rng = check_seed;
    double *bg = malloc(sizeof(double) * NB * D);
    double *q = malloc(sizeof(double) * NQ * D);
    double *p = malloc(sizeof(double) * NQ * D * 4);
    double *pmax = malloc(sizeof(double) * D * 2);
    int64_t *lb = malloc(sizeof(int64_t) * NB), *lq = malloc(sizeof(int64_t) * NQ);
    ah_scan_result *r1 = malloc(sizeof *r1 * NQ), *r2 = malloc(sizeof *r2 * NQ);
    if (!bg || !q || !p || !pmax || !lb || !lq || !r1 || !r2)
        return 2;
    fill(bg, lb, NB, &rng, 0.0);
    fill(q, lq, NQ, &rng, 3.0);
    static const int methods[] = {AH_METHOD_HIST, AH_METHOD_EMPIRICAL};
    for (int mi = 0; mi < 2; mi++)
        for (int cond = 0; cond < 2; cond++) {
            ah_fit_options o;
            ah_fit_options_default(&o);
            o.method = methods[mi];
            ah_model *m = NULL;
            ah_diag dg;
            int st = ah_model_fit(&m, bg, NB, D, D, cond ? lb : NULL, &o, &dg);
            CHECK(st == AH_OK, "fit: %s", dg.message);
            if (st != AH_OK)
                continue;
            for (int tail = 0; tail <= AH_TAIL_BOTH; tail++) {
                size_t w = ah_pvalue_width(m, tail);
                st = ah_pvalues(m, q, NQ, D, D, cond ? lq : NULL, tail, p,
                                NULL, 1, &dg);
                CHECK(st == AH_OK, "pvalues: %s", dg.message);
                /* every statistic on the tail with two blocks of rows;
                 * one thread only once: the scans are the slow part */
                for (int stat = 0; stat <= AH_STAT_KS; stat++) {
                    size_t bad = 0;
                    if (stat != AH_STAT_BJ && tail != AH_TAIL_BOTH)
                        continue;
                    for (int th = 2; th >= 1; th--) {
                        if (th == 1 && stat != AH_STAT_BJ)
                            continue;
                        st = ah_score(m, q, NQ, D, D, cond ? lq : NULL, tail,
                                      stat, 0.5, r2, NULL, th, &dg);
                        CHECK(st == AH_OK, "score: %s", dg.message);
                        for (size_t i = 0; i < NQ && th == 2; i++) {
                            for (size_t j = 0; j < w; j++)
                                pmax[j] = p[(i * w + j) * 2 + 1];
                            ah_scan_individual(pmax, w, stat, 0.5, &r1[i],
                                               NULL, &dg);
                        }
                        for (size_t i = 0; i < NQ; i++)
                            bad += r1[i].score != r2[i].score ||
                                   r1[i].alpha != r2[i].alpha ||
                                   r1[i].size != r2[i].size;
                    }
                    CHECK(bad == 0,
                          "method %d cond %d tail %d stat %d: %zu rows differ",
                          methods[mi], cond, tail, stat, bad);
                }
            }
            /* a NaN in the second block of rows */
            double keep = q[1950 * D + 7];
            q[1950 * D + 7] = NAN;
            st = ah_score(m, q, NQ, D, D, NULL, AH_TAIL_BOTH, AH_STAT_BJ, 0.5,
                          r2, NULL, 2, &dg);
            CHECK(st == AH_ERR_VALUE && dg.row == 1950 && dg.col == 7 &&
                      strstr(dg.message, "row 1950, column 7"),
                  "NaN: status %d row %lld col %lld '%s'", st,
                  (long long)dg.row, (long long)dg.col, dg.message);
            q[1950 * D + 7] = keep;
            ah_model_free(m);
        }
    free(bg);
    free(q);
    free(p);
    free(pmax);
    free(lb);
    free(lq);
    free(r1);
    free(r2);
    return check_done("test_score");
}
