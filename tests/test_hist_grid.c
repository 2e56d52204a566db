/*
 * test_hist_grid.c - the O(1) equal-width lookup against the cell list.
 *
 * Equal-width nodes find a value's bin by arithmetic and only fall back to
 * comparing with the computed edges within a rounding margin of an edge.
 * This holds every answer of ah_pvalues (batches and single rows) against a
 * reference that only reads ah_model_node_cells: the cell whose half-open
 * interval holds the value, atoms first.  Queries sit on every edge, one
 * ulp either side, inside bins and outside the range, on nodes whose ranges
 * stress the margin (offsets far larger than the spread, tiny and huge
 * scales), with atoms at neither, one or both ends, and with atoms inside
 * the range (inside a grid bin, and on a grid edge).
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D = 10, N = 3000, BINS = 64 };

/* Node j: value of background row i (u uniform). */
static double background(size_t j, double u, double v)
{
    static const double base[D] = {0, -3, 1e6, -1e6, 1e-300, 0, -1e300, 7,
                                   0, 0};
    static const double span[D] = {1, 8, 1e-3, 0.5, 9e-300, 1e-9, 2e300, 1,
                                   1, 1};
    double x = base[j] + span[j] * u;
    if (j == 0 || j == 2) /* ReLU-like: an atom at the minimum */
        x = v < 0.4 ? base[j] : x;
    if (j == 3 || j == 7) /* clipped: an atom at the maximum, 7 at both */
        x = v < 0.3 ? base[j] + span[j] : x;
    if (j == 7 && v > 0.8)
        x = base[j];
    if (j == 8 && v < 0.2) /* an atom inside a grid bin */
        x = 0.3;
    if (j == 9) /* atoms at both ends and on the grid edge 16/64 */
        x = v < 0.1 ? 0.0 : v < 0.2 ? 1.0 : v < 0.4 ? 0.25 : x;
    return x;
}

/* Reference bounds {#{b > x} lower bound, #{b >= x} upper bound} from the
 * cells: an atom equal to x, else the bin [lo, hi) holding x (the last one
 * closed). */
static void ref_counts(const ah_cell *c, size_t nc, double x, uint64_t out[2])
{
    uint64_t above = 0;
    size_t hit = nc;
    for (size_t k = 0; k < nc; k++)
        if (c[k].atom && c[k].lo == x)
            hit = k;
    size_t last = nc; /* the last bin, closed at its top */
    for (size_t k = 0; k < nc; k++)
        last = c[k].atom ? last : k;
    for (size_t k = 0; k < nc && hit == nc; k++)
        if (!c[k].atom && c[k].lo <= x &&
            (x < c[k].hi || (k == last && x == c[k].hi)))
            hit = k;
    for (size_t k = 0; k < nc; k++) {
        if (k == hit)
            continue;
        /* a cell is above x if all its values are: atoms above x, bins
         * starting above x, or starting at x when x is an atom */
        if (c[k].atom ? c[k].lo > x
                      : (c[k].lo > x || (hit < nc && c[hit].atom &&
                                         c[k].lo >= x)))
            above += c[k].count;
    }
    out[0] = above;
    out[1] = above + (hit < nc ? c[hit].count : 0);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *bg = malloc(sizeof(double) * N * D);
    size_t nq_max = 8 * (4 * (BINS + 8) + 200);
    double *q = malloc(sizeof(double) * nq_max * D);
    double *p = malloc(sizeof(double) * nq_max * D * 2);
    double *p1 = malloc(sizeof(double) * D * 2);
    ah_cell *cells = malloc(sizeof(ah_cell) * (BINS + 8));
    if (!bg || !q || !p || !p1 || !cells)
        return 2;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++)
            bg[i * D + j] = background(j, check_rand_unit(&rng),
                                       check_rand_unit(&rng));
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.bins = BINS;
    ah_model *m = NULL;
    ah_diag dg;
    int st = ah_model_fit(&m, bg, N, D, D, NULL, &o, &dg);
    CHECK(st == AH_OK, "fit: %s", dg.message);
    if (st != AH_OK)
        return check_done("test_hist_grid");

    /* Queries per node, column by column: each edge and its neighbours,
     * bin middles, random values, and points outside the range. */
    size_t nq = 0;
    for (size_t j = 0; j < D; j++) {
        size_t nc = 0, k = 0;
        st = ah_model_node_cells(m, AH_POOLED, j, cells, BINS + 8, &nc, &dg);
        CHECK(st == AH_OK, "cells of node %zu: %s", j, dg.message);
        if (st != AH_OK)
            continue;
        CHECK(nc >= (size_t)BINS, "node %zu has %zu cells", j, nc);
        double lo = cells[0].lo, hi = cells[nc - 1].hi;
        for (size_t c = 0; c < nc; c++) {
            double e[] = {cells[c].lo, cells[c].hi,
                          0.5 * cells[c].lo + 0.5 * cells[c].hi};
            for (int t = 0; t < 3; t++) {
                q[(k++) * D + j] = e[t];
                q[(k++) * D + j] = nextafter(e[t], -INFINITY);
                q[(k++) * D + j] = nextafter(e[t], INFINITY);
            }
        }
        for (int r = 0; r < 200; r++) {
            double u = check_rand_unit(&rng);
            q[(k++) * D + j] = r < 4 ? (r < 2 ? lo - (1 + r) * fabs(lo) - 1
                                              : hi + (r - 1) * fabs(hi) + 1)
                                     : lo + (hi - lo) * u;
        }
        if (k > nq)
            nq = k;
        for (; k < nq_max; k++)
            q[k * D + j] = lo;
    }
    /* Columns are filled to nq_max; use the longest. */
    st = ah_pvalues(m, q, nq, D, D, NULL, AH_TAIL_UPPER, p, NULL, 1, &dg);
    CHECK(st == AH_OK, "pvalues: %s", dg.message);
    size_t bad = 0, checked = 0;
    for (size_t j = 0; j < D && st == AH_OK; j++) {
        size_t nc = 0;
        ah_model_node_cells(m, AH_POOLED, j, cells, BINS + 8, &nc, &dg);
        for (size_t i = 0; i < nq; i++) {
            uint64_t r[2];
            double x = q[i * D + j];
            ref_counts(cells, nc, x, r);
            double want0 = (double)r[0] / (double)(N + 1);
            double want1 = (double)(r[1] + 1) / (double)(N + 1);
            const double *got = p + (i * D + j) * 2;
            checked++;
            if (got[0] != want0 || got[1] != want1) {
                if (bad++ < 5)
                    CHECK(0, "node %zu x=%.17g: got [%.17g, %.17g], cells "
                          "say [%.17g, %.17g]", j, x, got[0], got[1], want0,
                          want1);
            }
        }
    }
    CHECK(bad == 0, "%zu of %zu batch answers differ from the cells", bad,
          checked);
    /* Single rows take the same path as a batch row. */
    bad = 0;
    for (size_t i = 0; i < nq && st == AH_OK; i += 7) {
        st = ah_pvalues(m, q + i * D, 1, D, D, NULL, AH_TAIL_UPPER, p1, NULL,
                        1, &dg);
        bad += st != AH_OK || memcmp(p1, p + i * D * 2, sizeof *p1 * D * 2);
    }
    CHECK(bad == 0, "%zu single rows differ from the batch", bad);
    ah_model_free(m);
    free(bg);
    free(q);
    free(p);
    free(p1);
    free(cells);
    return check_done("test_hist_grid");
}
