/*
 * test_grid_count.c - the vector kernels of src/grid_count.c against the
 * scalar one, bit for bit.
 *
 * Every kernel this CPU runs answers the same runs of values as the scalar
 * kernel: through ah__grid_count (counts and the list of values left to the
 * exact path, in the same order) and through ah__hist_count_isa (the final
 * counts of every kind of node).  Runs have every length from 0 to 40, so
 * the vector loops' remainders are covered, and values sit on grid edges,
 * one ulp either side, at the range ends, outside the range, on atoms
 * (inside the range too) and at random.  Models come from random
 * backgrounds of several shapes and from the bundled real activations
 * (data/background.npy, a ReLU layer with 62% zeros); the real queries are
 * the clean and attacked rows of data/.
 */
#include "acthist.h"
#include "check.h"
#include "grid_count.h"
#include "hist.h"
#include "model.h"
#include "read_npy.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 2000, DB = 8, Q = 4000 };

/* Background of shape s for node j: ReLU-like, atoms inside, huge offsets,
 * tiny spreads, clipped at both ends. */
static double shape(int s, size_t j, uint64_t *rng)
{
    double u = check_rand_unit(rng), v = check_rand_unit(rng);
    double base = (double)j - 3.0;
    switch (s) {
    case 0: return v < 0.5 ? 0.0 : -log(u + 1e-12);
    case 1: return v < 0.2 ? 0.3 : v < 0.3 ? 0.0 : u;
    case 2: return 1e6 + 1e-3 * u;
    case 3: return base * 1e-300 + 1e-300 * u;
    case 4: return v < 0.3 ? -1.0 : v < 0.6 ? 1.0 : 2.0 * u - 1.0;
    default: return base + u * (1 + j);
    }
}

/* Queries for node j of m: its cells' edges and neighbours, atoms, the
 * range ends and beyond, random values; q has room for Q. */
static size_t queries(const ah_model *m, int64_t label, size_t j, double *q,
                      uint64_t *rng)
{
    ah_cell cells[600];
    size_t nc = 0, k = 0;
    ah_diag dg;
    if (ah_model_node_cells(m, label, j, cells, 600, &nc, &dg) != AH_OK ||
        nc == 0)
        return 0;
    double lo = cells[0].lo, hi = cells[nc - 1].hi;
    for (size_t c = 0; c < nc && k + 6 < Q; c++) {
        q[k++] = cells[c].lo;
        q[k++] = nextafter(cells[c].lo, -INFINITY);
        q[k++] = nextafter(cells[c].lo, INFINITY);
        q[k++] = cells[c].hi;
        q[k++] = nextafter(cells[c].hi, INFINITY);
        q[k++] = 0.5 * cells[c].lo + 0.5 * cells[c].hi;
    }
    double far[] = {lo - 1.0 - fabs(lo), hi + 1.0 + fabs(hi), -DBL_MAX,
                    DBL_MAX, 0.0, -0.0, lo, hi};
    for (size_t a = 0; a < sizeof far / sizeof *far && k < Q; a++)
        q[k++] = far[a];
    while (k < Q) {
        double u = check_rand_unit(rng);
        q[k++] = u < 0.3 ? lo : lo + (hi - lo) * (1.1 * u - 0.05);
    }
    /* shuffle, so atoms and edges fall in every lane */
    for (size_t a = k; a > 1; a--) {
        size_t b = (size_t)(check_rand_u64(rng) % a);
        double t = q[a - 1];
        q[a - 1] = q[b];
        q[b] = t;
    }
    return k;
}

static size_t runs_checked, isa_checked[3], packed_checked;

/* Every kernel against the scalar one on q[0..nq) at node j. */
static void check_node(const ah_model *m, size_t set, size_t j,
                       const double *q, size_t nq, const char *what)
{
    const void *rep = m->sets[set].rep;
    uint32_t *gt0 = malloc(nq * 4), *ge0 = malloc(nq * 4),
             *gt1 = malloc(nq * 4), *ge1 = malloc(nq * 4);
    if (!gt0 || !ge0 || !gt1 || !ge1) {
        CHECK(0, "out of memory");
        goto out;
    }
    ah__hist_count_isa(rep, j, q, nq, gt0, ge0, AH__ISA_SCALAR);
    packed_checked += ((const hist *)rep)->grids[j].packed != 0;
    for (int isa = 1; isa <= ah__isa_best(); isa++) {
        /* whole runs, then short runs at every offset and length */
        memset(gt1, 0xab, nq * 4);
        memset(ge1, 0xab, nq * 4);
        ah__hist_count_isa(rep, j, q, nq, gt1, ge1, isa);
        int same = !memcmp(gt0, gt1, nq * 4) && !memcmp(ge0, ge1, nq * 4);
        for (size_t len = 0, at = 0; len <= 40 && same; len++) {
            at = (at + 37) % (nq > len ? nq - len : 1);
            ah__hist_count_isa(rep, j, q + at, len, gt1, ge1, isa);
            same = !memcmp(gt0 + at, gt1, len * 4) &&
                   !memcmp(ge0 + at, ge1, len * 4);
        }
        CHECK(same, "%s node %zu: kernel %d differs from the scalar one",
              what, j, isa);
        isa_checked[isa]++;
    }
    runs_checked++;
out:
    free(gt0);
    free(ge0);
    free(gt1);
    free(ge1);
}

/* ah__grid_count itself on a made-up table: same counts and the same
 * near list as the scalar kernel; every cell index stays in the table. */
static void check_raw_grid(uint64_t *rng)
{
    enum { B = 50, M = 203 };
    uint32_t pair[2 * (B + 4)], cum[B + 5];
    uint16_t pair16[2 * (B + 4)], cum16[B + 5];
    for (size_t c = 0; c < B + 5; c++)
        cum16[c] = (uint16_t)(cum[c] = (uint32_t)(1000 - 10 * c));
    for (size_t c = 0; c < 2 * (B + 4); c++) /* some t > e */
        pair16[c] = (uint16_t)(pair[c] = (uint32_t)check_rand_u64(rng));
    double x[M];
    for (size_t i = 0; i < M; i++) {
        double u = check_rand_unit(rng);
        x[i] = i % 5 == 0 ? -2.0 : i % 7 == 0 ? 3.0 : -2.5 + 6.0 * u;
        if (i % 11 == 0)
            x[i] = -2.0 + 5.0 * (double)(i % B) / B; /* on an edge */
    }
    /* kind 4: the cumulative counts bit-packed (packed_cum.h) */
    uint32_t packed[(B + 5) + 16];
    CHECK(ah__packed_bytes(cum, B + 5) <= sizeof packed, "packed size");
    ah__packed_write(cum, B + 5, packed, ah__packed_bytes(cum, B + 5));
    for (int kind = 0; kind < 5; kind++) {
        int stride = 1 + kind % 2, narrow = kind / 2 == 1;
        const void *t[5] = {cum, pair, cum16, pair16, packed};
        ah__grid g = {-2.0, 3.0, B / 5.0, 1e-9, B, 1, B + 2,
                      (uint32_t)(kind == 4 ? 1 : stride), (uint32_t)narrow,
                      (uint32_t)(kind == 4), t[kind]};
        uint32_t gt0[M], ge0[M], n0[M], gt1[M], ge1[M], n1[M];
        size_t k0 = ah__grid_count(&g, x, M, gt0, ge0, n0, AH__ISA_SCALAR);
        CHECK(k0 > 0 && k0 < M, "table %d: %zu values left to the exact path",
              kind, k0);
        for (int isa = 1; isa <= ah__isa_best(); isa++) {
            size_t k1 = ah__grid_count(&g, x, M, gt1, ge1, n1, isa);
            CHECK(k1 == k0 && !memcmp(n0, n1, k0 * 4) &&
                      !memcmp(gt0, gt1, sizeof gt0) &&
                      !memcmp(ge0, ge1, sizeof ge0),
                  "table %d kernel %d: %zu near vs %zu, or counts differ",
                  kind, isa, k1, k0);
        }
    }
}

/* One input's lookups (count_row, the batch-1 path, which a set with
 * bit-packed tables takes apart) against the scalar kernel node by node,
 * on rows rows of x (DB values each). */
static void check_rows(const void *rep, const double *x, size_t rows)
{
    size_t bad = 0;
    for (size_t i = 0; i < rows; i++) {
        uint32_t gt[DB], ge[DB];
        ah__hist_ops.count_row(rep, 0, DB, x + i * DB, gt, ge);
        for (size_t j = 0; j < DB; j++) {
            uint32_t t, e;
            ah__hist_count_isa(rep, j, x + i * DB + j, 1, &t, &e,
                               AH__ISA_SCALAR);
            bad += t != gt[j] || e != ge[j];
        }
    }
    CHECK(bad == 0, "count_row: %zu lookups differ from the scalar kernel",
          bad);
}

static ah_model *fit_labels(const double *bg, size_t n, size_t d, int bins,
                            int binning, const int64_t *labels)
{
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.bins = bins;
    o.binning = binning;
    ah_model *m = NULL;
    ah_diag dg;
    int st = ah_model_fit(&m, bg, n, d, d, labels, &o, &dg);
    CHECK(st == AH_OK, "fit: %s", dg.message);
    return st == AH_OK ? m : NULL;
}

static ah_model *fit(const double *bg, size_t n, size_t d, int bins,
                     int binning)
{
    return fit_labels(bg, n, d, bins, binning, NULL);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    printf("kernels here: scalar through %d (0 scalar, 1 AVX2, 2 AVX-512)\n",
           ah__isa_best());
    check_raw_grid(&rng);
    double *bg = malloc(sizeof(double) * NB * DB), *q = malloc(sizeof *q * Q);
    if (!bg || !q)
        return 2;
    int bins[] = {1, 7, 64, 512};
    for (int s = 0; s < 6; s++)
        for (size_t b = 0; b < sizeof bins / sizeof *bins; b++) {
            for (size_t i = 0; i < NB; i++)
                for (size_t j = 0; j < DB; j++)
                    bg[i * DB + j] = shape(s, j, &rng);
            ah_model *m = fit(bg, NB, DB, bins[b], AH_BINNING_WIDTH);
            for (size_t j = 0; m && j < DB; j++) {
                size_t nq = queries(m, AH_POOLED, j, q, &rng);
                char what[64];
                snprintf(what, sizeof what, "shape %d, %d bins", s, bins[b]);
                check_node(m, 0, j, q, nq, what);
            }
            ah_model_free(m);
        }

    CHECK(packed_checked == 0, "a pooled model's tables were bit-packed: "
                               "its lookups would be slower than they need");
    /* A conditional model's sets are compact: their sparse tables are
     * bit-packed (model.h), read by the same kernels. */
    {
        int64_t *lab = malloc(sizeof *lab * NB);
        for (size_t i = 0; lab && i < NB; i++)
            lab[i] = (int64_t)(i % 3);
        for (int s = 0; lab && s < 6; s++) {
            for (size_t i = 0; i < NB; i++)
                for (size_t j = 0; j < DB; j++)
                    bg[i * DB + j] = shape(s, j, &rng);
            ah_model *m = fit_labels(bg, NB, DB, 3072, AH_BINNING_WIDTH, lab);
            for (size_t set = 1; m && set < m->nsets; set++)
                check_rows(m->sets[set].rep, bg, 64);
            for (size_t set = 1; m && set < m->nsets; set++)
                for (size_t j = 0; j < DB; j++) {
                    size_t nq = queries(m, m->sets[set].label, j, q, &rng);
                    char what[64];
                    snprintf(what, sizeof what, "shape %d, label set %zu", s,
                             set);
                    check_node(m, set, j, q, nq, what);
                }
            ah_model_free(m);
        }
        free(lab);
    }

    /* 70,000 rows: counts above 65535 need 4-byte tables. */
    {
        enum { NW = 70000, DW = 3 };
        double *w = malloc(sizeof *w * NW * DW);
        for (size_t i = 0; w && i < NW; i++)
            for (size_t j = 0; j < DW; j++)
                w[i * DW + j] = shape(j == 0 ? 0 : j == 1 ? 1 : 4, j, &rng);
        ah_model *m = w ? fit(w, NW, DW, 256, AH_BINNING_WIDTH) : NULL;
        for (size_t j = 0; m && j < DW; j++) {
            const ah__set *set = &m->sets[0];
            (void)set;
            size_t nq = queries(m, AH_POOLED, j, q, &rng);
            check_node(m, 0, j, q, nq, "70000 rows");
        }
        ah_model_free(m);
        free(w);
    }

    /* Real activations: the default model and an explicit-edge one. */
    size_t rows = 0, cols = 0, qr = 0, qc = 0;
    double *real = read_npy("data/background.npy", &rows, &cols);
    CHECK(real != NULL, "data/background.npy cannot be read (run from the "
                        "repository root)");
    const char *qfiles[] = {"data/clean.npy", "data/cw_l2.npy"};
    for (int kind = 0; real && kind < 2; kind++) {
        ah_model *m = fit(real, rows, cols, kind ? 256 : 3072,
                          kind ? AH_BINNING_QUANTILE : AH_BINNING_WIDTH);
        for (int f = 0; m && f < 2; f++) {
            double *x = read_npy(qfiles[f], &qr, &qc);
            CHECK(x && qc == cols, "%s cannot be read", qfiles[f]);
            double *col = x ? malloc(qr * sizeof *col) : NULL;
            for (size_t j = 0; col && j < cols; j++) {
                for (size_t i = 0; i < qr; i++)
                    col[i] = x[i * cols + j];
                check_node(m, 0, j, col, qr, qfiles[f]);
            }
            free(col);
            free(x);
        }
        ah_model_free(m);
    }
    printf("runs checked: %zu; AVX2 %zu, AVX-512 %zu; bit-packed tables "
           "%zu\n", runs_checked, isa_checked[1], isa_checked[2],
           packed_checked);
    CHECK(packed_checked > 0, "no bit-packed table was checked");
    free(real);
    free(bg);
    free(q);
    return check_done("test_grid_count");
}
