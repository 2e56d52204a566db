/*
 * test_scan_group.c - ah_scan_group against the exhaustive optimum over
 * every pair of nonempty subsets and every threshold on tiny batches (count
 * and fractional modes), against naive best responses on larger batches
 * (the result must be a fixed point of both half steps), for independence
 * from the thread count, against itself without its shortcuts (bit for
 * bit), and on bad input.
 */
#include "acthist.h"
#include "check.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A pair's contribution at threshold a (docs/METHOD.md section 7; McFowland et
 * al. 2013). */
static double contrib(const double *p, size_t i, size_t j, size_t cols,
                      double a, int fractional)
{
    double lo = p[(i * cols + j) * 2], hi = p[(i * cols + j) * 2 + 1];
    if (hi <= a)
        return 1.0;
    if (!fractional || lo > a)
        return 0.0;
    return (a - lo) / (hi - lo);
}

/* The documented thinning: more than this many distinct values become the
 * smallest half of this many plus the other half at evenly spaced ranks,
 * the largest included. */
#define MAX_THRESHOLDS 1024

/* Distinct p_max values <= amax, ascending, thinned as the scan does;
 * returns their number. */
static size_t thresholds(const double *p, size_t rows, size_t cols,
                         double amax, double *thr)
{
    size_t T = 0;
    for (size_t k = 0; k < rows * cols; k++) {
        double v = p[2 * k + 1];
        size_t t = 0;
        if (!(v <= amax))
            continue;
        while (t < T && thr[t] < v)
            t++;
        if (t < T && thr[t] == v)
            continue;
        memmove(thr + t + 1, thr + t, (T - t) * sizeof *thr);
        thr[t] = v;
        T++;
    }
    if (T > MAX_THRESHOLDS) {
        size_t h = MAX_THRESHOLDS / 2, M = MAX_THRESHOLDS;
        for (size_t k = h; k < M; k++)
            thr[k] = thr[h - 1 + (k - h + 1) * (T - h) / (M - h)];
        T = MAX_THRESHOLDS;
    }
    return T;
}

/* F(S) = max_a phi(a, N_a(S), N(S)) for subsets given as flags. */
static double score_of(const double *p, size_t rows, size_t cols,
                       const ah_group_options *o, const unsigned char *in,
                       const unsigned char *nd)
{
    double *thr = malloc(rows * cols * sizeof *thr), best = 0.0;
    size_t T = thresholds(p, rows, cols, o->alpha_max, thr), ni = 0, nn = 0;
    for (size_t i = 0; i < rows; i++)
        ni += in[i];
    for (size_t j = 0; j < cols; j++)
        nn += nd[j];
    for (size_t t = 0; t < T; t++) {
        double na = 0.0, s;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                if (in[i] && nd[j])
                    na += contrib(p, i, j, cols, thr[t], o->fractional);
        s = ah_stat_score(o->stat, thr[t], na, (double)(ni * nn));
        if (s > best)
            best = s;
    }
    free(thr);
    return best;
}

/* Exhaustive optimum over all nonempty subset pairs (rows, cols <= 8). */
static double exhaustive(const double *p, size_t rows, size_t cols,
                         const ah_group_options *o)
{
    double thr[64], best = 0.0;
    size_t T = thresholds(p, rows, cols, o->alpha_max, thr);
    for (unsigned si = 1; si < (1u << rows); si++) {
        int ni = __builtin_popcount(si);
        for (size_t t = 0; t < T; t++) {
            double colsum[8] = {0};
            for (size_t j = 0; j < cols; j++)
                for (size_t i = 0; i < rows; i++)
                    if (si >> i & 1)
                        colsum[j] += contrib(p, i, j, cols, thr[t],
                                             o->fractional);
            for (unsigned sn = 1; sn < (1u << cols); sn++) {
                double na = 0.0, s;
                for (size_t j = 0; j < cols; j++)
                    if (sn >> j & 1)
                        na += colsum[j];
                s = ah_stat_score(o->stat, thr[t], na,
                                  (double)(ni * __builtin_popcount(sn)));
                if (s > best)
                    best = s;
            }
        }
    }
    return best;
}

/*
 * A batch of empirical-looking p-value ranges with ties: p_max = (k+1)/(N+1)
 * for a small N; p_min is p_max minus 0-3 steps (fractional ranges).  A
 * random block of inputs x nodes is shifted towards small p-values.
 */
static void make_batch(double *p, size_t rows, size_t cols, uint64_t *rng)
{
    uint64_t N = 3 + check_rand_u64(rng) % 30;
    double shift = check_rand_unit(rng);
    uint64_t mi = check_rand_u64(rng), mn = check_rand_u64(rng);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            uint64_t k = check_rand_u64(rng) % (N + 1), w;
            if ((mi >> (i % 64) & 1) && (mn >> (j % 64) & 1))
                k = (uint64_t)((double)k * (1.0 - shift));
            w = check_rand_u64(rng) % 4;
            if (w > k + 1)
                w = k + 1;
            p[(i * cols + j) * 2 + 1] = (double)(k + 1) / (double)(N + 1);
            p[(i * cols + j) * 2] = (double)(k + 1 - w) / (double)(N + 1);
        }
}

static int close_score(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1);
}

/* Check that the reported sizes and flags agree and score what is said. */
static int consistent(const double *p, size_t rows, size_t cols,
                      const ah_group_options *o, const ah_group_result *r,
                      const unsigned char *in, const unsigned char *nd,
                      double tol)
{
    size_t ni = 0, nn = 0;
    double na = 0.0;
    for (size_t i = 0; i < rows; i++)
        ni += in[i];
    for (size_t j = 0; j < cols; j++)
        nn += nd[j];
    if (ni != r->n_inputs || nn != r->n_nodes)
        return 0;
    if (r->score == 0)
        return ni == 0 && nn == 0 && r->alpha == 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (in[i] && nd[j])
                na += contrib(p, i, j, cols, r->alpha, o->fractional);
    return close_score(ah_stat_score(o->stat, r->alpha, na, (double)(ni * nn)),
                       r->score, tol) &&
           close_score(score_of(p, rows, cols, o, in, nd), r->score, tol);
}

static void test_exhaustive(int fractional)
{
    uint64_t rng = check_seed + 17 + (uint64_t)fractional;
    static const double amaxes[] = {0.5, 0.3, 1.0};
    /* Count mode compares exactly; fractional sums differ in rounding. */
    double tol = fractional ? 1e-9 : 0.0;
    int bad = 0, badc = 0, badt = 0, cases = 0;
    for (int rep = 0; rep < 12; rep++) {
        size_t rows = 2 + check_rand_u64(&rng) % 5;  /* 2..6 */
        size_t cols = 2 + check_rand_u64(&rng) % 7;  /* 2..8 */
        double p[6 * 8 * 2];
        make_batch(p, rows, cols, &rng);
        for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
            ah_group_options o;
            ah_group_result r1, r2;
            unsigned char in1[6], nd1[8], in2[6], nd2[8];
            double want;
            ah_group_options_default(&o);
            o.stat = stat;
            o.alpha_max = amaxes[rep % 3];
            o.restarts = 50;
            o.seed = check_seed + (uint64_t)rep;
            o.fractional = fractional;
            o.threads = 1;
            want = exhaustive(p, rows, cols, &o);
            cases++;
            if (ah_scan_group(p, rows, cols, &o, &r1, in1, nd1, NULL) != AH_OK ||
                !close_score(r1.score, want, tol)) {
                if (bad++ < 5)
                    CHECK(0, "%s rep %d %zux%zu stat %d: %.17g, exhaustive "
                          "%.17g", fractional ? "fractional" : "count", rep,
                          rows, cols, stat, r1.score, want);
            }
            if (!consistent(p, rows, cols, &o, &r1, in1, nd1,
                            fractional ? 1e-9 : 1e-12))
                badc++;
            o.threads = 2;
            if (ah_scan_group(p, rows, cols, &o, &r2, in2, nd2, NULL) != AH_OK ||
                r2.score != r1.score || r2.alpha != r1.alpha ||
                r2.n_inputs != r1.n_inputs || r2.n_nodes != r1.n_nodes ||
                memcmp(in1, in2, rows) || memcmp(nd1, nd2, cols))
                badt++;
        }
    }
    CHECK(bad == 0, "%d of %d differ from the exhaustive optimum", bad, cases);
    CHECK(badc == 0, "%d of %d results inconsistent", badc, cases);
    CHECK(badt == 0, "%d of %d differ between 1 and 2 threads", badt, cases);
}

/* Naive best response: fix one side, try every threshold and every prefix
 * of the other side sorted by its count.  side 0 fixes the inputs. */
static double best_response(const double *p, size_t rows, size_t cols,
                            const ah_group_options *o, int side,
                            const unsigned char *fixed)
{
    double *thr = malloc(rows * cols * sizeof *thr), best = 0.0;
    size_t T = thresholds(p, rows, cols, o->alpha_max, thr);
    size_t nitems = side == 0 ? cols : rows, nf = side == 0 ? rows : cols;
    size_t m = 0;
    double *c = malloc(nitems * sizeof *c);
    for (size_t k = 0; k < nf; k++)
        m += fixed[k];
    for (size_t t = 0; t < T; t++) {
        double na = 0.0;
        for (size_t x = 0; x < nitems; x++) {
            c[x] = 0.0;
            for (size_t f = 0; f < nf; f++)
                if (fixed[f])
                    c[x] += side == 0
                                ? contrib(p, f, x, cols, thr[t], o->fractional)
                                : contrib(p, x, f, cols, thr[t], o->fractional);
        }
        /* Selection by repeated maximum: small sizes only. */
        for (size_t k = 0; k < nitems; k++) {
            size_t arg = k;
            double tmp, s;
            for (size_t x = k + 1; x < nitems; x++)
                if (c[x] > c[arg])
                    arg = x;
            tmp = c[k];
            c[k] = c[arg];
            c[arg] = tmp;
            na += c[k];
            s = ah_stat_score(o->stat, thr[t], na, (double)((k + 1) * m));
            if (s > best)
                best = s;
        }
    }
    free(c);
    free(thr);
    return best;
}

static void test_fixed_point(int fractional)
{
    uint64_t rng = check_seed + 99 + (uint64_t)fractional;
    int bad = 0, badc = 0, badt = 0, cases = 0;
    for (int rep = 0; rep < 11; rep++) {
        /* The last batches have more than MAX_THRESHOLDS distinct values:
         * rep 9 spread over many decades (with zeros, -0.0 and, at the
         * lowest ranks where negative values were before they were
         * refused, values near 1e-300), rep 10 crowded into a few
         * ulps-wide cluster beside tiny outliers, so the setup's rank
         * table has crowded buckets. */
        int big = rep >= 8;
        size_t rows = big ? 40 : 5 + check_rand_u64(&rng) % 30;
        size_t cols = big ? 110 : 5 + check_rand_u64(&rng) % 60;
        double *p = malloc(rows * cols * 2 * sizeof *p);
        unsigned char *in = malloc(rows), *nd = malloc(cols);
        unsigned char *in2 = malloc(rows), *nd2 = malloc(cols);
        make_batch(p, rows, cols, &rng);
        if (rep % 2 || rep == 8) /* continuous: one threshold per pair */
            for (size_t k = 0; k < rows * cols; k++) {
                double u = check_rand_unit(&rng);
                p[2 * k + 1] = p[2 * k + 1] * (0.9 + 0.1 * u);
                p[2 * k] = p[2 * k] * (0.9 + 0.1 * u) * 0.95;
            }
        /* Fractional counts keep running sums of 1/(p_max - p_min), so
         * ranges 16 decades apart leave rounding residue far above the
         * small ones (a documented limit; our models' ranges are at least
         * 1/(N+1) wide); count mode takes 300 decades. */
        double decades = fractional ? 12.0 : 300.0;
        if (rep >= 9)
            for (size_t k = 0; k < rows * cols; k++) {
                double u = check_rand_unit(&rng), v;
                uint64_t pick = check_rand_u64(&rng) % 50;
                if (rep == 9)
                    v = pick == 0   ? 0.0
                        : pick == 1 ? -0.0
                        : pick == 2 ? 1e-300 * (1.0 + u)
                                    : pow(10.0, -decades * u);
                else
                    v = pick < 3 ? 1e-200 * (1.0 + u)
                                 : 0.3 + ldexp((double)(pick * 977 +
                                                        check_rand_u64(&rng) %
                                                            4096),
                                               -50);
                p[2 * k + 1] = v;
                p[2 * k] = v > 0.0 ? v * 0.9 : v;
            }
        for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
            ah_group_options o;
            ah_group_result r, r2;
            /* The scan prunes candidates less than 1e-9 above its best. */
            double tol = 1e-8;
            ah_group_options_default(&o);
            o.stat = stat;
            o.alpha_max = big ? 1.0 : 0.5;
            o.restarts = 4;
            o.max_iter = 1000; /* stop only at a fixed point */
            o.seed = (uint64_t)rep * 7 + 1;
            o.fractional = fractional;
            o.threads = 1;
            cases++;
            if (ah_scan_group(p, rows, cols, &o, &r, in, nd, NULL) != AH_OK) {
                bad++;
                continue;
            }
            if (!consistent(p, rows, cols, &o, &r, in, nd, tol))
                badc++;
            if (r.score > 0 &&
                (best_response(p, rows, cols, &o, 0, in) >
                     r.score * (1 + tol) ||
                 best_response(p, rows, cols, &o, 1, nd) >
                     r.score * (1 + tol))) {
                if (bad++ < 5)
                    CHECK(0, "%s rep %d %zux%zu stat %d: %.17g is not a fixed "
                          "point (%.17g, %.17g)", fractional ? "fractional"
                          : "count", rep, rows, cols, stat, r.score,
                          best_response(p, rows, cols, &o, 0, in),
                          best_response(p, rows, cols, &o, 1, nd));
            }
            o.threads = 3;
            if (ah_scan_group(p, rows, cols, &o, &r2, in2, nd2, NULL) != AH_OK ||
                r2.score != r.score || r2.alpha != r.alpha ||
                memcmp(in, in2, rows) || memcmp(nd, nd2, cols))
                badt++;
        }
        free(p);
        free(in);
        free(nd);
        free(in2);
        free(nd2);
    }
    CHECK(bad == 0, "%d of %d are not fixed points of the half steps", bad,
          cases);
    CHECK(badc == 0, "%d of %d results inconsistent", badc, cases);
    CHECK(badt == 0, "%d of %d differ between 1 and 3 threads", badt, cases);
}

static void test_hand(void)
{
    /* 3 inputs x 4 nodes; inputs 0-1 x nodes 0-1 hold p = 0.1, the rest
     * 0.9: the best subset is that block at a = 0.1 with 4 of 4 hits. */
    double p[3 * 4 * 2];
    ah_group_options o;
    ah_group_result r;
    unsigned char in[3], nd[4];
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            p[(i * 4 + j) * 2] = p[(i * 4 + j) * 2 + 1] =
                i < 2 && j < 2 ? 0.1 : 0.9;
    ah_group_options_default(&o);
    CHECK(o.stat == AH_STAT_BJ && o.alpha_max == 0.5 && o.restarts == 10 &&
              o.max_iter == 50 && o.fractional == 0 && o.threads == 0,
          "defaults");
    CHECK(ah_scan_group(p, 3, 4, &o, &r, in, nd, NULL) == AH_OK, "hand scan");
    CHECK(r.score == ah_stat_score(AH_STAT_BJ, 0.1, 4, 4) && r.alpha == 0.1 &&
              r.n_inputs == 2 && r.n_nodes == 2 && in[0] && in[1] && !in[2] &&
              nd[0] && nd[1] && !nd[2] && !nd[3],
          "hand result %g a %g %zux%zu", r.score, r.alpha, r.n_inputs,
          r.n_nodes);
    /* Nothing at or below alpha_max: score 0 and empty subsets. */
    o.alpha_max = 0.05;
    memset(in, 7, sizeof in);
    CHECK(ah_scan_group(p, 3, 4, &o, &r, in, nd, NULL) == AH_OK &&
              r.score == 0 && r.alpha == 0 && r.n_inputs == 0 &&
              r.n_nodes == 0 && !in[0] && !in[1] && !in[2] && !nd[0],
          "nothing below alpha_max");
}

static void test_errors(void)
{
    double p[2 * 2 * 2] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    ah_group_options o;
    ah_group_result r;
    ah_diag d;
    ah_group_options_default(&o);
    CHECK(ah_scan_group(p, 0, 2, &o, &r, NULL, NULL, &d) == AH_ERR_EMPTY,
          "no inputs");
    CHECK(ah_scan_group(p, 2, 0, &o, &r, NULL, NULL, &d) == AH_ERR_EMPTY,
          "no nodes");
    CHECK(ah_scan_group(NULL, 2, 2, &o, &r, NULL, NULL, &d) == AH_ERR_ARG,
          "NULL p");
    CHECK(ah_scan_group(p, 2, 2, NULL, &r, NULL, NULL, &d) == AH_ERR_ARG,
          "NULL options");
    o.restarts = 0;
    CHECK(ah_scan_group(p, 2, 2, &o, &r, NULL, NULL, &d) == AH_ERR_ARG,
          "zero restarts");
    ah_group_options_default(&o);
    /* a pair is input << 17 | node in 32 bits: at most 2^15 inputs of
     * 70,000 nodes (refused before p is read) */
    CHECK(ah_scan_group(p, 32769, 70000, &o, &r, NULL, NULL, &d) ==
                  AH_ERR_OVERFLOW &&
              strstr(d.message, "too large"),
          "a batch over 2^32 pair slots");
    CHECK(ah_scan_group(p, 3, (size_t)1 << 31 | 1, &o, &r, NULL, NULL, &d) ==
              AH_ERR_OVERFLOW,
          "3 inputs of over 2^31 nodes");
    CHECK(ah_scan_group(p, 1, (size_t)1 << 31, &o, &r, NULL, NULL, &d) ==
              AH_ERR_OVERFLOW,
          "1 input of 2^31 nodes");
    ah_group_options_default(&o);
    o.stat = 5;
    CHECK(ah_scan_group(p, 2, 2, &o, &r, NULL, NULL, &d) == AH_ERR_ARG,
          "bad statistic");
    ah_group_options_default(&o);
    p[5] = NAN; /* input 1, node 0, p_max */
    CHECK(ah_scan_group(p, 2, 2, &o, &r, NULL, NULL, &d) == AH_ERR_VALUE &&
              d.row == 1 && d.col == 0, "NaN names input 1 node 0");
    p[5] = 0.6;
    p[6] = 0.9; /* input 1, node 1: p_min > p_max */
    CHECK(ah_scan_group(p, 2, 2, &o, &r, NULL, NULL, &d) == AH_ERR_VALUE &&
              d.row == 1 && d.col == 1, "p_min > p_max");

    /* Two threads check half the rows each (from 65,536 pairs on): the
     * first bad pair in row order is the one reported, whichever half and
     * kind. */
    enum { R = 10, C = 6600 };
    double *q = malloc(sizeof *q * R * C * 2);
    if (!q) {
        CHECK(0, "out of memory");
        return;
    }
    for (size_t k = 0; k < R * C; k++) {
        q[2 * k] = 0.1;
        q[2 * k + 1] = 0.3;
    }
    q[2 * (7 * C + 2) + 1] = NAN; /* row 7 (second half) */
    q[2 * (3 * C + 6)] = 0.9;     /* row 3 (first half): p_min > p_max */
    for (int th = 1; th <= 2; th++) {
        o.threads = th;
        CHECK(ah_scan_group(q, R, C, &o, &r, NULL, NULL, &d) == AH_ERR_VALUE &&
                  d.row == 3 && d.col == 6,
              "%d threads: row 3 node 6 first, got %lld %lld", th,
              (long long)d.row, (long long)d.col);
    }
    q[2 * (3 * C + 6)] = 0.1;
    q[2 * (7 * C + 1)] = 0.9; /* row 7, before the NaN at node 2 */
    q[2 * (8 * C + 0)] = NAN; /* row 8 */
    for (int th = 1; th <= 2; th++) {
        o.threads = th;
        CHECK(ah_scan_group(q, R, C, &o, &r, NULL, NULL, &d) == AH_ERR_VALUE &&
                  d.row == 7 && d.col == 1 && strstr(d.message, "p_min"),
              "%d threads: row 7 node 1 first, got %lld %lld: %s", th,
              (long long)d.row, (long long)d.col, d.message);
    }
    q[2 * (7 * C + 1)] = 0.1;
    for (int th = 1; th <= 2; th++) {
        o.threads = th;
        CHECK(ah_scan_group(q, R, C, &o, &r, NULL, NULL, &d) == AH_ERR_VALUE &&
                  d.row == 7 && d.col == 2 && strstr(d.message, "NaN"),
              "%d threads: the NaN at row 7 node 2, got %lld %lld", th,
              (long long)d.row, (long long)d.col);
    }
    /* p-values outside [0, 1], in either half and at either end, with
     * the same error as ah_pvalue_ranges_check gives */
    static const struct {
        size_t at;
        double v;
        int64_t row, col;
    } out[] = {
        {2 * (2 * C + 9) + 1, 1.5, 2, 9},      /* p_max above 1       */
        {2 * (5 * C + 4), -0.25, 5, 4},        /* p_min below 0       */
        {2 * (6 * C + 6500) + 1, INFINITY, 6, 6500},
        {2 * (0 * C + 0), -INFINITY, 0, 0},
        {2 * (9 * C + 3) + 1, 1.0000000000000002, 9, 3},
    };
    q[2 * (7 * C + 2) + 1] = 0.3;
    q[2 * (8 * C + 0)] = 0.1;
    for (size_t k = 0; k < sizeof out / sizeof *out; k++) {
        double keep = q[out[k].at];
        q[out[k].at] = out[k].v;
        ah_diag d2;
        CHECK(ah_pvalue_ranges_check(q, R, C, &d2) == AH_ERR_VALUE &&
                  d2.row == out[k].row && d2.col == out[k].col &&
                  strstr(d2.message, "is not in [0, 1]"),
              "ranges check: %g at row %lld node %lld: %s", out[k].v,
              (long long)out[k].row, (long long)out[k].col, d2.message);
        for (int th = 1; th <= 2; th++) {
            o.threads = th;
            CHECK(ah_scan_group(q, R, C, &o, &r, NULL, NULL, &d) ==
                          AH_ERR_VALUE &&
                      d.row == out[k].row && d.col == out[k].col &&
                      strcmp(strchr(d.message, ':'),
                             strchr(d2.message, ':')) == 0,
                  "%d threads: %g at row %lld node %lld: %s", th, out[k].v,
                  (long long)out[k].row, (long long)out[k].col, d.message);
        }
        q[out[k].at] = keep;
    }
    CHECK(ah_pvalue_ranges_check(q, R, C, &d) == AH_OK &&
              ah_pvalue_ranges_check(NULL, 0, 5, &d) == AH_OK &&
              ah_pvalue_ranges_check(NULL, 2, 5, &d) == AH_ERR_ARG,
          "good ranges pass the check");
    q[1] = 0.0; /* [0.1, 0]: p_min > p_max, though both are in [0, 1] */
    CHECK(ah_pvalue_ranges_check(q, R, C, &d) == AH_ERR_VALUE && d.row == 0 &&
              d.col == 0 && strstr(d.message, "p_min > p_max"),
          "ranges check: p_min > p_max: %s", d.message);
    free(q);

    /* every option's range, with the message naming it; the ends taken */
    static const struct {
        double alpha_max;
        int restarts, max_iter, threads;
        const char *want;
    } opt[] = {
        {0.0, 10, 50, 0, "alpha_max must be in [1e-12, 1], not 0"},
        {2.0, 10, 50, 0, "alpha_max must be in [1e-12, 1], not 2"},
        {-1.0, 10, 50, 0, "alpha_max must be in [1e-12, 1], not -1"},
        {NAN, 10, 50, 0, "alpha_max must be in [1e-12, 1], not nan"},
        {0.5, 0, 50, 0, "restarts must be in 1..1000000, not 0"},
        {0.5, 1000001, 50, 0, "restarts must be in 1..1000000, not 1000001"},
        {0.5, 10, 0, 0, "max_iter must be in 1..1000000, not 0"},
        {0.5, 10, 1000001, 0, "max_iter must be in 1..1000000, not 1000001"},
        {0.5, 10, 50, -1, "threads must be in 0..256 (0: all cores), not -1"},
        {0.5, 10, 50, 257, "threads must be in 0..256 (0: all cores), not 257"},
        {1e-12, 1000000, 1000000, 256, NULL},
        {1.0, 1, 1, 0, NULL},
    };
    p[6] = 0.7;
    for (size_t k = 0; k < sizeof opt / sizeof *opt; k++) {
        ah_group_options_default(&o);
        o.alpha_max = opt[k].alpha_max;
        o.restarts = opt[k].restarts;
        o.max_iter = opt[k].max_iter;
        o.threads = opt[k].threads;
        int st = ah_scan_group(p, 2, 2, &o, &r, NULL, NULL, &d);
        CHECK(opt[k].want ? st == AH_ERR_ARG &&
                                strcmp(d.message, opt[k].want) == 0
                          : st == AH_OK,
              "options %zu: status %d: %s", k, st, d.message);
    }
}

/* A batch large enough for the setup's two-thread sort (over 65,536 pairs
 * at or below alpha_max), with heavy ties: every thread count must give
 * the one-thread result. */
static void test_large_threads(void)
{
    enum { R = 300, C = 600 };
    uint64_t rng = check_seed + 99;
    double *p = malloc(sizeof(double) * R * C * 2);
    unsigned char *in1 = malloc(R), *nd1 = malloc(C), *in2 = malloc(R),
                  *nd2 = malloc(C);
    if (!p || !in1 || !nd1 || !in2 || !nd2)
        return;
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) {
            /* quantised like histogram p-values; a block of small ones */
            double k = (double)(1 + check_rand_u64(&rng) % 5001);
            if (i < 20 && j < 40)
                k = (double)(1 + check_rand_u64(&rng) % 50);
            p[(i * C + j) * 2] = (k - 1) / 5002.0;
            p[(i * C + j) * 2 + 1] = k / 5002.0;
        }
    int badt = 0;
    for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
        ah_group_options o;
        ah_group_result r1, r2;
        ah_group_options_default(&o);
        o.stat = stat;
        o.restarts = 3;
        o.threads = 1;
        int st1 = ah_scan_group(p, R, C, &o, &r1, in1, nd1, NULL);
        for (int th = 2; th <= 3; th++) {
            o.threads = th;
            int st2 = ah_scan_group(p, R, C, &o, &r2, in2, nd2, NULL);
            badt += st1 != AH_OK || st2 != AH_OK || r1.score != r2.score ||
                    r1.alpha != r2.alpha || r1.n_inputs != r2.n_inputs ||
                    r1.n_nodes != r2.n_nodes || memcmp(in1, in2, R) ||
                    memcmp(nd1, nd2, C);
        }
        CHECK(r1.score > 0 && r1.n_inputs >= 1, "stat %d: no subset found",
              stat);
    }
    CHECK(badt == 0, "%d large batches differ between 1 and 2-3 threads",
          badt);
    free(p);
    free(in1);
    free(nd1);
    free(in2);
    free(nd2);
}

/*
 * A small anomalous block (10 inputs x 15 of 500 nodes) in a batch of
 * quantised p-values: restart 0 (all inputs) picks about 15 nodes, whose
 * pairs are few, so the next half step gathers them from the per-node
 * lists (which the scan builds only when a half step first needs them),
 * not by filtering all pairs.  The result must be a fixed point, score
 * what it says, contain the block and not depend on the thread count.
 */
static void test_sparse_nodes(void)
{
    enum { R = 60, C = 500 };
    uint64_t rng = check_seed + 5;
    double *p = malloc(sizeof(double) * R * C * 2);
    unsigned char *in = malloc(R), *nd = malloc(C), *in2 = malloc(R),
                  *nd2 = malloc(C);
    int bad = 0;
    if (!p || !in || !nd || !in2 || !nd2)
        return;
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) {
            double k = (double)(1 + check_rand_u64(&rng) % 1001);
            if (i < 10 && j < 15)
                k = (double)(1 + check_rand_u64(&rng) % 3);
            p[(i * C + j) * 2] = (k - 1) / 1002.0;
            p[(i * C + j) * 2 + 1] = k / 1002.0;
        }
    for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
        ah_group_options o;
        ah_group_result r, r2;
        ah_group_options_default(&o);
        o.stat = stat;
        o.restarts = 1; /* restart 0 alone: all inputs, then few nodes */
        o.max_iter = 1000;
        o.threads = 1;
        if (ah_scan_group(p, R, C, &o, &r, in, nd, NULL) != AH_OK) {
            bad++;
            continue;
        }
        size_t block = 0;
        for (size_t j = 0; j < 15; j++)
            block += nd[j];
        bad += !consistent(p, R, C, &o, &r, in, nd, 1e-8) ||
               best_response(p, R, C, &o, 0, in) > r.score * (1 + 1e-8) ||
               best_response(p, R, C, &o, 1, nd) > r.score * (1 + 1e-8) ||
               /* ks favours large subsets: it finds about 170 nodes */
               (stat != AH_STAT_KS && (block < 10 || r.n_nodes > 60));
        o.restarts = 6;
        for (int th = 1; th <= 3; th += 2) {
            o.threads = th;
            if (th == 1 && ah_scan_group(p, R, C, &o, &r, in, nd, NULL))
                bad++;
            if (th == 3 && (ah_scan_group(p, R, C, &o, &r2, in2, nd2, NULL) ||
                            r2.score != r.score || memcmp(in, in2, R) ||
                            memcmp(nd, nd2, C)))
                bad++;
        }
    }
    CHECK(bad == 0, "%d checks failed on a batch with a small node block",
          bad);
    free(p);
    free(in);
    free(nd);
    free(in2);
    free(nd2);
}

/*
 * More distinct p-values than the setup's table of distinct values takes
 * (65,535 a thread), over 1024 x 1024 pairs, enough for a two-thread
 * setup (scan_group.c, SETUP_THREADS_PAIRS): the first 512 inputs take
 * even multiples of 1/200002, the others odd ones, 50,000 distinct values
 * <= 0.5 each.  On one thread the table fills (100,000) and the setup
 * writes every kept key out and sorts them; on two, each half's table
 * holds its own, so the two paths must give the same result, which must
 * score what it says.
 */
static void test_many_distinct(void)
{
    enum { R = 1024, C = 1024 };
    uint64_t rng = check_seed + 11;
    double *p = malloc(sizeof(double) * R * C * 2);
    unsigned char *in = malloc(R), *nd = malloc(C), *in2 = malloc(R),
                  *nd2 = malloc(C);
    int bad = 0;
    if (!p || !in || !nd || !in2 || !nd2)
        return;
    for (size_t k = 0; k < (size_t)R * C; k++) {
        double u = (double)(2 * (1 + check_rand_u64(&rng) % 100000) +
                            (k / C >= R / 2)) / 200002.0;
        if (k / C < 12 && k % C < 30) /* a block of small p-values */
            u *= 1e-3;
        p[2 * k + 1] = u;
        p[2 * k] = u * 0.5;
    }
    for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
        ah_group_options o;
        ah_group_result r, r2;
        size_t ni = 0, nn = 0;
        double na = 0.0;
        ah_group_options_default(&o);
        o.stat = stat;
        o.restarts = 3;
        o.threads = 1;
        if (ah_scan_group(p, R, C, &o, &r, in, nd, NULL) != AH_OK) {
            bad++;
            continue;
        }
        for (size_t i = 0; i < R; i++)
            for (size_t j = 0; j < C; j++) {
                ni += j == 0 && in[i];
                nn += i == 0 && nd[j];
                na += in[i] && nd[j] && p[(i * C + j) * 2 + 1] <= r.alpha;
            }
        bad += r.score <= 0 || ni != r.n_inputs || nn != r.n_nodes ||
               !close_score(ah_stat_score(stat, r.alpha, na,
                                          (double)(ni * nn)),
                            r.score, 1e-12);
        for (int th = 2; th <= 3; th++) {
            o.threads = th;
            bad += ah_scan_group(p, R, C, &o, &r2, in2, nd2, NULL) != AH_OK ||
                   r2.score != r.score || r2.alpha != r.alpha ||
                   memcmp(in, in2, R) || memcmp(nd, nd2, C);
        }
    }
    CHECK(bad == 0, "%d checks failed with more distinct values than the "
                    "table takes", bad);
    free(p);
    free(in);
    free(nd);
    free(in2);
    free(nd2);
}

/*
 * The shortcuts must change nothing: the memo of half-step answers
 * (group_memo.c) and the groups of thresholds a half step skips on a
 * bound (scan_group.c, group_below).  On batches of every kind, both
 * modes, every statistic, alpha_max 0.2, 0.5, 0.95 and 0.999 (hc's bound
 * changes form above 0.5), p-values of 0, -0.0, negative and spread over
 * 300 decades, 2 to 12 restarts and 1 or 2 threads, the result is bit
 * for bit that of the scan with every half step computed in full.
 * Batches with a planted block lead restarts to the same fixed point, so
 * its answers are reused, and put the best threshold low, so later groups
 * are skipped.  A memo that returned a wrong subset, a bound taken at a
 * group's top threshold or trusted 10% too far, or counts not restored
 * after a group that is not skipped, fail this.
 */
static void test_shortcuts_exact(void)
{
    enum { R = 120, C = 90 };
    uint64_t rng = check_seed + 17;
    double *p = malloc(sizeof(double) * R * C * 2);
    unsigned char *in1 = malloc(R), *nd1 = malloc(C), *in2 = malloc(R),
                  *nd2 = malloc(C);
    int bad = 0, runs = 0;
    if (!p || !in1 || !nd1 || !in2 || !nd2)
        return;
    for (int trial = 0; trial < 60; trial++) {
        size_t rows = 2 + check_rand_u64(&rng) % (R - 1),
               cols = 2 + check_rand_u64(&rng) % (C - 1);
        make_batch(p, rows, cols, &rng);
        if (trial % 6 == 5) /* p_max in (0, 0.9]: hc's best is near 0.9 */
            for (size_t k = 0; k < rows * cols; k++) {
                double hi = 0.9 * (double)(1 + check_rand_u64(&rng) % 400) /
                            400.0;
                p[2 * k] = hi - 0.9 / 400.0;
                p[2 * k + 1] = hi;
            }
        if (trial % 6 == 4) /* 0, -0.0, near 1e-300, 300 decades */
            for (size_t k = 0; k < rows * cols; k++) {
                double u = check_rand_unit(&rng), v;
                uint64_t pick = check_rand_u64(&rng) % 50;
                v = pick == 0   ? 0.0
                    : pick == 1 ? -0.0
                    : pick == 2 ? 1e-300 * (1.0 + u)
                                : pow(10.0, -300.0 * u * u * u);
                p[2 * k + 1] = v;
                p[2 * k] = v > 0.0 ? v * 0.9 : v;
            }
        for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
            ah_group_options o;
            ah_group_result r1, r2;
            ah_group_options_default(&o);
            o.stat = stat;
            o.fractional = trial % 4 == 3;
            o.restarts = 2 + (int)(check_rand_u64(&rng) % 11);
            o.threads = 1 + (int)(check_rand_u64(&rng) % 2);
            o.seed = check_rand_u64(&rng);
            o.alpha_max = trial % 6 == 5   ? 0.999
                          : trial % 5 == 0 ? 0.2
                          : trial % 5 == 1 ? 0.95
                                           : 0.5;
            int st1 = ah__scan_group_plain(p, rows, cols, &o, &r1, in1, nd1,
                                           NULL);
            int st2 = ah_scan_group(p, rows, cols, &o, &r2, in2, nd2, NULL);
            runs++;
            if ((st1 != st2 || r1.score != r2.score || r1.alpha != r2.alpha ||
                 r1.n_inputs != r2.n_inputs || r1.n_nodes != r2.n_nodes ||
                 memcmp(in1, in2, rows) || memcmp(nd1, nd2, cols)) &&
                bad++ < 5)
                CHECK(0, "trial %d stat %d (%zu x %zu, %d restarts, %s): "
                         "%.17g vs %.17g without shortcuts", trial, stat, rows,
                      cols, o.restarts, o.fractional ? "fractional" : "count",
                      r2.score, r1.score);
        }
    }
    CHECK(bad == 0, "%d of %d scans differ with the shortcuts", bad, runs);
    free(p);
    free(in1);
    free(nd1);
    free(in2);
    free(nd2);
}

int main(void)
{
    check_init();
    test_hand();
    test_exhaustive(0);
    test_exhaustive(1);
    test_fixed_point(0);
    test_fixed_point(1);
    test_errors();
    test_large_threads();
    test_sparse_nodes();
    test_many_distinct();
    test_shortcuts_exact();
    return check_done("scan_group");
}
