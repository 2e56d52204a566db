/*
 * test_backends.c - every query backend against the reference, bit for bit.
 *
 * The loop runs over every row of ah__backends (backend.c), so a backend
 * added there is held here with no change to this file.  Each is asked
 * for the count bounds of whole tiles (one input, a few, up to 1,024) and
 * must return the reference's integers; then the public calls with the
 * backend chosen (ah_pvalues_in, ah_score_in) must write the reference's
 * bytes, for float64 and float32 inputs, batches and single rows, one and
 * two threads, every tail.  Queries sit on every cell edge and one ulp
 * either side, at cell middles, on atoms, outside the range and at
 * random.  Models: equal-width, quantile and tails binnings on nodes with
 * atoms at the ends, inside a bin and on an edge, tiny and huge ranges and
 * a constant node; the same conditional (one set per label, whose tables
 * are bit-packed); each again after a save and load; and the bundled real
 * activations (data/, run from the repository root), pooled and by label.
 * A NaN or infinity is refused at the same row and column by every
 * backend.  Empirical and KDE models, which answer without counts, give
 * the same bits whichever backend is asked for.
 */
#include "acthist.h"
#include "backend.h"
#include "check.h"
#include "read_npy.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D = 12, N = 3000, TILE_NODES = 16, MAX_K = 1024 };

/* Node j's value for background uniforms u, v. */
static double synth(size_t j, double u, double v)
{
    static const double base[D] = {0, -3, 1e6, -1e6, 1e-300, 0, -1e300, 7,
                                   0, 0, 5, -2};
    static const double span[D] = {1, 8, 1e-3, 0.5, 9e-300, 1e-9, 2e300, 1,
                                   1, 1, 0, 3};
    double x = base[j] + span[j] * u * u;
    switch (j) {
    case 0: /* ReLU: an atom at the minimum */
    case 2:
        return v < 0.45 ? base[j] : x;
    case 3: /* clipped at the top */
        return v < 0.3 ? base[j] + span[j] : x;
    case 7: /* atoms at both ends */
        return v < 0.2 ? base[j] : v > 0.75 ? base[j] + span[j] : x;
    case 8: /* an atom inside a bin */
        return v < 0.25 ? 0.3 : x;
    case 9: /* atoms at both ends and on the equal-width edge 1/4 */
        return v < 0.1 ? 0.0 : v < 0.2 ? 1.0 : v < 0.4 ? 0.25 : x;
    case 11: /* few distinct values */
        return floor(x * 4.0) / 4.0;
    default:
        return x;
    }
}

/* The cells of node j of set s (malloc'd), *nc of them. */
static ah_cell *cells_of(const ah_model *m, size_t s, size_t j, size_t *nc)
{
    ah_diag dg;
    ah_model_node_cells(m, m->sets[s].label, j, NULL, 0, nc, &dg);
    ah_cell *c = malloc((*nc + 1) * sizeof *c);
    if (c && ah_model_node_cells(m, m->sets[s].label, j, c, *nc, nc, &dg) !=
                 AH_OK) {
        free(c);
        c = NULL;
    }
    return c;
}

/* Queries for node j of set s into q[0..cap): every cell's ends and
 * middle with one ulp either side, points outside the range, and random
 * values inside it; the count. */
static size_t node_queries(const ah_model *m, size_t s, size_t j, double *q,
                           size_t cap, uint64_t *rng)
{
    size_t nc = 0, k = 0;
    ah_cell *c = cells_of(m, s, j, &nc);
    CHECK(c && nc > 0, "set %zu node %zu: no cells", s, j);
    if (!c || nc == 0) {
        free(c);
        return 0;
    }
    double lo = c[0].lo, hi = c[nc - 1].hi;
    for (size_t i = 0; i < nc && k + 9 <= cap; i++) {
        double e[3] = {c[i].lo, c[i].hi, 0.5 * c[i].lo + 0.5 * c[i].hi};
        for (int t = 0; t < 3; t++) {
            q[k++] = e[t];
            q[k++] = nextafter(e[t], -INFINITY);
            q[k++] = nextafter(e[t], INFINITY);
        }
    }
    double out[4] = {lo - 1.0 - fabs(lo), hi + 1.0 + fabs(hi), -DBL_MAX,
                     DBL_MAX};
    for (int t = 0; t < 4 && k < cap; t++)
        q[k++] = out[t];
    for (int r = 0; r < 100 && k < cap; r++)
        q[k++] = lo + (hi - lo) * check_rand_unit(rng);
    free(c);
    return k;
}

/* Every backend's counts of set s against the reference's, tile by tile,
 * in runs of k = 1, 3 and up to MAX_K inputs. */
static void hold_counts(const char *what, const ah_model *m, size_t s,
                        uint64_t *rng)
{
    const ah__backend *ref = ah__backends[AH_BACKEND_REFERENCE];
    size_t cap = 64 * 1024, bad[AH__BACKEND_COUNT] = {0}, checked = 0;
    double *q = malloc(TILE_NODES * cap * sizeof *q);
    double *x = malloc(TILE_NODES * MAX_K * sizeof *x);
    size_t *nq = malloc(TILE_NODES * sizeof *nq);
    uint32_t *g[4];
    for (int i = 0; i < 4; i++)
        g[i] = malloc(TILE_NODES * MAX_K * sizeof *g[i]);
    CHECK(ref->serves(m), "%s: the reference does not serve it", what);
    for (size_t j0 = 0; j0 < m->D && q && x && nq && g[3]; j0 += TILE_NODES) {
        size_t nj = m->D - j0 < TILE_NODES ? m->D - j0 : TILE_NODES, most = 0;
        for (size_t j = 0; j < nj; j++) {
            nq[j] = node_queries(m, s, j0 + j, q + j * cap, cap, rng);
            most = nq[j] > most ? nq[j] : most;
        }
        const size_t ks[] = {1, 3, MAX_K};
        for (size_t ki = 0; ki < 3; ki++) {
            /* every query in runs of MAX_K; about 100 runs of the few */
            size_t k = ks[ki], step = k < 8 ? most / 100 + 1 : k;
            for (size_t i0 = 0; i0 < most; i0 += step) {
                /* node j's queries i0.., cycled where it has fewer */
                for (size_t j = 0; j < nj; j++)
                    for (size_t i = 0; i < k; i++)
                        x[j * k + i] = nq[j] ? q[j * cap + (i0 + i) % nq[j]]
                                             : 0.0;
                int st = ref->count_tile(m, s, j0, nj, x, k, g[0], g[1]);
                CHECK(st == AH_OK, "%s: reference status %d", what, st);
                checked += nj * k;
                for (int b = 0; b < AH__BACKEND_COUNT; b++) {
                    const ah__backend *bk = ah__backends[b];
                    if (!bk->serves(m) ||
                        bk->count_tile(m, s, j0, nj, x, k, g[2], g[3]) !=
                            AH_OK) {
                        bad[b] += nj * k;
                        continue;
                    }
                    for (size_t i = 0; i < nj * k; i++) {
                        if (g[2][i] == g[0][i] && g[3][i] == g[1][i])
                            continue;
                        if (bad[b]++ < 3)
                            CHECK(0, "%s set %zu node %zu x=%.17g k=%zu: %s "
                                  "gives gt %u ge %u, the reference %u %u",
                                  what, s, j0 + i / k, x[i], k, bk->name,
                                  g[2][i], g[3][i], g[0][i], g[1][i]);
                    }
                }
            }
        }
    }
    for (int b = 0; b < AH__BACKEND_COUNT; b++)
        CHECK(bad[b] == 0, "%s set %zu: backend %s differs on %zu of %zu "
              "counts", what, s, ah__backends[b]->name, bad[b], checked);
    free(q);
    free(x);
    free(nq);
    for (int i = 0; i < 4; i++)
        free(g[i]);
}

/* ah_pvalues_in and ah_score_in with backend b against the reference:
 * the same bytes, for x as float64 and as float32. */
static void hold_public(const char *what, const ah_model *m, const double *x,
                        size_t rows, const int64_t *lab)
{
    size_t D_in = ah_model_nodes(m), w = ah_pvalue_width(m, AH_TAIL_BOTH);
    float *xf = malloc(rows * D_in * sizeof *xf);
    double *ref = malloc(rows * w * 2 * sizeof *ref);
    double *got = malloc(rows * w * 2 * sizeof *got);
    ah_scan_result *sr = malloc(rows * sizeof *sr);
    ah_scan_result *sg = malloc(rows * sizeof *sg);
    if (!xf || !ref || !got || !sr || !sg)
        goto done;
    for (size_t i = 0; i < rows * D_in; i++) /* float's range: finite */
        xf[i] = fabs(x[i]) > FLT_MAX ? copysignf(FLT_MAX, (float)x[i])
                                     : (float)x[i];
    const int tails[] = {AH_TAIL_UPPER, AH_TAIL_LOWER, AH_TAIL_TWO,
                         AH_TAIL_BOTH};
    for (int f32 = 0; f32 < 2; f32++)
        for (int ti = 0; ti < 4; ti++) {
            ah_input in = {f32 ? (const void *)xf : (const void *)x,
                           f32 ? AH_DTYPE_F32 : AH_DTYPE_F64, rows, D_in,
                           D_in, lab};
            ah_query_options o;
            ah_query_options_init(&o);
            o.tail = tails[ti];
            o.threads = 1;
            o.backend = AH_BACKEND_REFERENCE;
            ah_diag dg;
            size_t bytes = rows * ah_pvalue_width(m, o.tail) * 2 * sizeof *ref;
            int st = ah_pvalues_in(m, &in, &o, ref, NULL, &dg);
            CHECK(st == AH_OK, "%s: reference pvalues: %s", what, dg.message);
            int s2 = ah_score_in(m, &in, &o, sr, NULL, &dg);
            CHECK(s2 == AH_OK, "%s: reference score: %s", what, dg.message);
            for (int b = 0; b < AH__BACKEND_COUNT && st == AH_OK; b++)
                for (int threads = 1; threads <= 2; threads++) {
                    o.backend = b;
                    o.threads = threads;
                    st = ah_pvalues_in(m, &in, &o, got, NULL, &dg);
                    CHECK(st == AH_OK && !memcmp(got, ref, bytes),
                          "%s: %s pvalues (f32 %d, tail %d, %d threads) "
                          "differ from the reference: %s", what,
                          ah_backend_name(b), f32, o.tail, threads,
                          dg.message);
                    s2 = ah_score_in(m, &in, &o, sg, NULL, &dg);
                    CHECK(s2 == AH_OK && !memcmp(sg, sr, rows * sizeof *sr),
                          "%s: %s scores (f32 %d, tail %d, %d threads) "
                          "differ from the reference: %s", what,
                          ah_backend_name(b), f32, o.tail, threads,
                          dg.message);
                    /* single rows take count_row and the prefetch hints */
                    size_t diff = 0, row = bytes / rows;
                    for (size_t i = 0; i < rows; i += 1 + rows / 40) {
                        ah_input one = in;
                        one.data = f32 ? (const void *)(xf + i * D_in)
                                       : (const void *)(x + i * D_in);
                        one.rows = 1;
                        one.labels = lab ? lab + i : NULL;
                        diff += ah_pvalues_in(m, &one, &o, got, NULL, &dg) !=
                                    AH_OK ||
                                memcmp(got, (char *)ref + i * row, row);
                    }
                    CHECK(diff == 0, "%s: %s: %zu single rows differ from "
                          "the reference", what, ah_backend_name(b), diff);
                }
        }
done:
    free(xf);
    free(ref);
    free(got);
    free(sr);
    free(sg);
}

/* A NaN and an infinity: every backend names the first, by row. */
static void hold_refusal(const ah_model *m, const double *x, size_t rows)
{
    size_t D_in = ah_model_nodes(m);
    double *y = malloc(rows * D_in * sizeof *y);
    double *p = malloc(rows * ah_pvalue_width(m, -1) * 2 * sizeof *p);
    if (!y || !p || rows < 10 || D_in < 4)
        goto done;
    memcpy(y, x, rows * D_in * sizeof *y);
    y[9 * D_in + 1] = INFINITY;
    y[5 * D_in + 3] = NAN;
    y[5 * D_in + 2 + D_in / 2] = -INFINITY;
    for (int b = 0; b < AH__BACKEND_COUNT; b++) {
        ah_input in = {y, AH_DTYPE_F64, rows, D_in, D_in, NULL};
        ah_query_options o;
        ah_query_options_init(&o);
        o.backend = b;
        ah_diag dg;
        int st = ah_pvalues_in(m, &in, &o, p, NULL, &dg);
        CHECK(st == AH_ERR_VALUE && dg.row == 5 && dg.col == 3,
              "%s: a NaN at row 5, column 3: status %d, row %lld col %lld",
              ah_backend_name(b), st, (long long)dg.row, (long long)dg.col);
    }
done:
    free(y);
    free(p);
}

/* Rows of queries for m: row i's column j from the cells of node j of
 * the set of label lab[i] (the pooled one without labels). */
static double *query_rows(const ah_model *m, size_t rows, const int64_t *lab,
                          uint64_t *rng)
{
    size_t cap = 32768;
    double *x = malloc(rows * m->D * sizeof *x), *q = malloc(cap * sizeof *q);
    for (size_t j = 0; j < m->D && x && q; j++)
        for (size_t s = 0; s < m->nsets; s++) {
            size_t n = node_queries(m, s, j, q, cap, rng), at = 0;
            for (size_t i = 0; i < rows && n; i++) {
                int seen;
                if ((lab ? ah__model_set_for(m, lab[i], &seen) : 0) == s)
                    x[i * m->D + j] = q[(at++ * 7919) % n];
            }
        }
    free(q);
    return x;
}

/* Everything above for one model (m freed), then once more after a save
 * and a load (the tables as read, not as fitted). */
static void hold_model(const char *what, ah_model *m, size_t rows,
                       const int64_t *lab, uint64_t *rng)
{
    for (int round = 0; round < 2 && m; round++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", what, round ? " (loaded)" : "");
        for (size_t s = 0; s < m->nsets; s++)
            hold_counts(name, m, s, rng);
        double *x = query_rows(m, rows, lab, rng);
        CHECK(x != NULL, "%s: out of memory", name);
        if (x) {
            hold_public(name, m, x, rows, lab);
            if (round == 0)
                hold_refusal(m, x, rows);
        }
        free(x);
        size_t len = 0;
        void *buf = NULL;
        ah_diag dg;
        ah_model *back = NULL;
        if (round == 0) {
            ah_model_save_memory(m, NULL, &len, &dg);
            buf = malloc(len);
            int st = buf ? ah_model_save_memory(m, buf, &len, &dg) : -1;
            if (st == AH_OK)
                st = ah_model_load_memory(&back, buf, len, name, &dg);
            CHECK(st == AH_OK, "%s: save and load: %s", name, dg.message);
        }
        free(buf);
        ah_model_free(m);
        m = back;
    }
}

static ah_model *fit(const double *bg, size_t rows, size_t cols,
                     const int64_t *lab, int method, int bins, int binning)
{
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.method = method;
    o.bins = bins;
    o.binning = binning;
    ah_model *m = NULL;
    ah_diag dg;
    int st = ah_model_fit(&m, bg, rows, cols, cols, lab, &o, &dg);
    CHECK(st == AH_OK, "fit %s %d %s: %s", ah_method_name(method), bins,
          ah_binning_name(binning), dg.message);
    return st == AH_OK ? m : NULL;
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    enum { Q = 6000 }; /* rows x D >= 65,536: two threads are used */
    double *bg = malloc(sizeof(double) * N * D);
    int64_t *lab = malloc(sizeof(int64_t) * N), *qlab = malloc(8 * Q);
    if (!bg || !lab || !qlab)
        return 2;
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int64_t)(i % 3);
        for (size_t j = 0; j < D; j++)
            bg[i * D + j] = synth(j, check_rand_unit(&rng),
                                  check_rand_unit(&rng));
    }
    for (size_t i = 0; i < Q; i++)
        qlab[i] = (int64_t)(i % 4); /* label 3 is unseen: the pooled set */

    const int binnings[] = {AH_BINNING_WIDTH, AH_BINNING_QUANTILE,
                            AH_BINNING_TAILS};
    for (int b = 0; b < 3; b++) {
        char what[64];
        snprintf(what, sizeof what, "pooled %s", ah_binning_name(binnings[b]));
        hold_model(what, fit(bg, N, D, NULL, AH_METHOD_HIST, 64, binnings[b]),
                   Q, NULL, &rng);
        snprintf(what, sizeof what, "conditional %s",
                 ah_binning_name(binnings[b]));
        hold_model(what, fit(bg, N, D, lab, AH_METHOD_HIST, 64, binnings[b]),
                   Q, qlab, &rng);
    }
    /* methods without counts: the choice of backend changes nothing */
    for (int method = AH_METHOD_EMPIRICAL; method <= AH_METHOD_KDE; method++) {
        ah_model *m = fit(bg, 400, D, NULL, method, 64, AH_BINNING_WIDTH);
        double *x = m ? query_rows(m, 300, NULL, &rng) : NULL;
        if (x)
            hold_public(ah_method_name(method), m, x, 300, NULL);
        free(x);
        ah_model_free(m);
    }

    /* the bundled real activations: a ReLU layer, 62% zeros */
    size_t rows = 0, cols = 0, lr = 0, lc = 0;
    double *real = read_npy("data/background.npy", &rows, &cols);
    double *rl = read_npy("data/background_labels.npy", &lr, &lc);
    CHECK(real && rl && lr == rows, "data/background.npy or its labels "
          "cannot be read (run from the repository root)");
    if (real && rl && lr == rows) {
        int64_t *rlab = malloc(rows * sizeof *rlab);
        for (size_t i = 0; rlab && i < rows; i++)
            rlab[i] = (int64_t)rl[i];
        hold_model("real pooled",
                   fit(real, rows, cols, NULL, AH_METHOD_HIST, 3072,
                       AH_BINNING_WIDTH),
                   1000, NULL, &rng);
        if (rlab)
            hold_model("real conditional",
                       fit(real, rows, cols, rlab, AH_METHOD_HIST, 256,
                           AH_BINNING_WIDTH),
                       1000, rlab, &rng);
        free(rlab);
    }
    free(real);
    free(rl);
    free(bg);
    free(lab);
    free(qlab);
    return check_done("test_backends");
}
