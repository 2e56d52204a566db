/*
 * test_score.c - the fused ah_score against its two halves.
 *
 * ah_score computes p_max only, in blocks of rows, and scans each row; the
 * reference is ah_pvalues followed by ah_scan_individual on each row's
 * p_max.  Every method, tail and statistic, pooled and conditional, one and
 * two threads, with enough rows for several blocks; a NaN in a later block
 * is reported at its row in the whole input.
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

int main(void)
{
    check_init();
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
