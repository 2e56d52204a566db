/*
 * test_scan_individual.c - ah_scan_individual against a brute-force
 * reference that tries every node's p_max as a threshold, with ties, values
 * exactly at alpha_max, nothing below alpha_max, and bad input.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* O(n^2): for each candidate threshold count the nodes at or below it.
 * Ties in score keep the smallest threshold, whatever the visiting order. */
static void reference(const double *p, size_t n, int stat, double amax,
                      ah_scan_result *res, size_t *nodes)
{
    res->score = 0.0;
    res->alpha = 0.0;
    res->size = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i], s;
        size_t cnt = 0;
        if (!(a <= amax))
            continue;
        for (size_t j = 0; j < n; j++)
            cnt += p[j] <= a;
        s = ah_stat_score(stat, a, (double)cnt, (double)cnt);
        if (s > res->score || (s == res->score && s > 0 && a < res->alpha)) {
            res->score = s;
            res->alpha = a;
            res->size = cnt;
        }
    }
    if (res->score > 0) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (p[j] <= res->alpha)
                nodes[k++] = j;
    }
}

/* Random p_max values of one of several kinds, chosen by kind. */
static void fill(double *p, size_t n, int kind, double amax, uint64_t *rng)
{
    uint64_t N = 1 + check_rand_u64(rng) % 60; /* background size */
    for (size_t i = 0; i < n; i++) {
        double u = check_rand_unit(rng);
        switch (kind) {
        case 0: /* empirical p-values (k + 1) / (N + 1): heavy ties */
            p[i] = (double)(1 + check_rand_u64(rng) % (N + 1)) / (double)(N + 1);
            break;
        case 1: /* continuous */
            p[i] = u;
            break;
        case 2: /* an anomalous input: many small p-values */
            p[i] = u < 0.3 ? u * 0.01 : u;
            break;
        case 3: /* many exactly at alpha_max */
            p[i] = u < 0.5 ? amax : (u < 0.7 ? u : amax * u);
            break;
        case 4: /* nothing at or below alpha_max */
            p[i] = amax + (1.0 - amax) * (0.5 + 0.5 * u) + 1e-9;
            break;
        case 5: /* a few distinct values, possibly all equal */
            p[i] = (double)(check_rand_u64(rng) % 3 + 1) / 8.0;
            break;
        case 6: /* a tight cluster and two outliers: the sort's fallback */
            p[i] = i == 0 ? 1e-6 : i == 1 ? amax : amax / 2 + 1e-9 * u;
            break;
        default: /* not p-values, but no reason to fail: signed zeros and
                  * infinities (which score 0) among continuous values */
            p[i] = u < 0.05 ? -INFINITY : u < 0.1 ? INFINITY
                   : u < 0.15 ? -0.0 : u < 0.2 ? 0.0 : u;
            break;
        }
    }
}

static void test_random(void)
{
    static const double amaxes[] = {0.5, 0.1, 0.25, 1.0, 0.05};
    uint64_t rng = check_seed;
    int mismatches = 0, cases = 0;
    for (int rep = 0; rep < 800; rep++) {
        size_t n = 1 + check_rand_u64(&rng) % (rep < 300 ? 40 : 3000);
        int kind = (int)(check_rand_u64(&rng) % 8);
        double amax = amaxes[check_rand_u64(&rng) % 5];
        double *p = malloc(n * sizeof *p);
        size_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        fill(p, n, kind, amax, &rng);
        for (int stat = 0; stat < 3; stat++) {
            ah_scan_result r, e;
            ah_diag d;
            int st = ah_scan_individual(p, n, stat, amax, &r, got, &d);
            reference(p, n, stat, amax, &e, want);
            cases++;
            if (st != AH_OK || r.score != e.score || r.alpha != e.alpha ||
                r.size != e.size ||
                memcmp(got, want, e.size * sizeof *got) != 0) {
                if (mismatches++ < 5)
                    CHECK(0, "rep %d n %zu kind %d stat %d: got %.17g a=%.17g "
                          "size %zu, want %.17g a=%.17g size %zu", rep, n,
                          kind, stat, r.score, r.alpha, r.size, e.score,
                          e.alpha, e.size);
            }
            /* Without a node buffer the summary is the same. */
            {
                ah_scan_result r2;
                st = ah_scan_individual(p, n, stat, amax, &r2, NULL, NULL);
                if (st != AH_OK || r2.score != r.score || r2.alpha != r.alpha ||
                    r2.size != r.size)
                    mismatches++;
            }
        }
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d of %d random cases differ", mismatches, cases);
}

static void test_hand(void)
{
    /* Nodes at 0.1, 0.1, 0.2, 0.6: thresholds 0.1 (2 nodes, 2 ln 10 = 4.61)
     * and 0.2 (3 nodes, 3 ln 5 = 4.83); 0.6 is above alpha_max. */
    const double p[] = {0.6, 0.1, 0.2, 0.1};
    ah_scan_result r;
    size_t nodes[4];
    double s1 = ah_stat_score(AH_STAT_BJ, 0.1, 2, 2);
    double s2 = ah_stat_score(AH_STAT_BJ, 0.2, 3, 3);
    CHECK(ah_scan_individual(p, 4, AH_STAT_BJ, 0.5, &r, nodes, NULL) == AH_OK,
          "hand scan");
    CHECK(r.score == (s1 > s2 ? s1 : s2), "hand score %g", r.score);
    CHECK(s2 > s1 && r.alpha == 0.2 && r.size == 3 && nodes[0] == 1 &&
              nodes[1] == 2 && nodes[2] == 3, "hand subset alpha %g size %zu",
          r.alpha, r.size);
    /* Equal scores keep the smaller threshold: with ks, n_a = n scores
     * sqrt(n) (1 - a), exactly 0.5 both for 1 node at 0.5 and 4 at 0.75. */
    {
        const double q[] = {0.75, 0.5, 0.75, 0.75};
        CHECK(ah_scan_individual(q, 4, AH_STAT_KS, 0.9, &r, nodes, NULL) ==
                      AH_OK && r.score == 0.5 && r.alpha == 0.5 &&
                  r.size == 1 && nodes[0] == 1,
              "tie keeps the smaller threshold: a %g size %zu", r.alpha,
              r.size);
    }
    /* Nothing qualifies: zero score, alpha and size. */
    CHECK(ah_scan_individual(p, 4, AH_STAT_HC, 0.05, &r, nodes, NULL) == AH_OK &&
              r.score == 0 && r.alpha == 0 && r.size == 0, "nothing below");
    CHECK(ah_scan_individual(p, 0, AH_STAT_KS, 0.5, &r, NULL, NULL) == AH_OK &&
              r.score == 0 && r.size == 0, "no nodes");
}

static void test_errors(void)
{
    double p[5] = {0.1, 0.2, NAN, 0.3, 0.9};
    ah_scan_result r;
    ah_diag d;
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, 0.5, &r, NULL, &d) ==
                  AH_ERR_VALUE && d.col == 2, "NaN p-value names node 2");
    p[2] = 0.4;
    CHECK(ah_scan_individual(p, 5, 3, 0.5, &r, NULL, &d) == AH_ERR_ARG,
          "unknown statistic");
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, NAN, &r, NULL, &d) == AH_ERR_ARG,
          "NaN alpha_max");
    CHECK(ah_scan_individual(NULL, 5, AH_STAT_BJ, 0.5, &r, NULL, &d) ==
              AH_ERR_ARG, "NULL p-values");
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, 0.5, NULL, NULL, &d) ==
              AH_ERR_ARG, "NULL result");
}

int main(void)
{
    check_init();
    test_hand();
    test_random();
    test_errors();
    return check_done("scan_individual");
}
