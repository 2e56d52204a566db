/*
 * test_float_input.c - ah_pvalues_f32 and ah_score_f32 against the double
 * paths on the same rows widened to double: the same bits, for every
 * method, tail, thread count and path (one row with the prefetch pass on
 * 2048+ nodes, blocks over 1024 rows, streamed output, conditional sets
 * with an unseen label, a row stride above the column count), and the
 * same errors for NaN and infinity (the first bad value in row order).
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The background is floats too, so atoms and edges are float values that
 * the queries hit exactly. */
static float value(uint64_t *rng, size_t j)
{
    double u = check_rand_unit(rng);
    switch (j % 4) {
    case 0: return u < 0.5 ? 0.0f : (float)-log(u);
    case 1: return u < 0.2 ? 0.5f : (float)u;
    case 2: return (float)(1e3 * u);
    default: return (float)((double)(j % 7) + u);
    }
}

/* Rows of floats with stride ld, their widened copy, and labels. */
typedef struct batch {
    size_t rows, cols, ld;
    float *f;
    double *d;
    int64_t *lab;
} batch;

static int batch_make(batch *b, size_t rows, size_t cols, size_t ld,
                      uint64_t *rng, const float *pool, size_t npool)
{
    b->rows = rows;
    b->cols = cols;
    b->ld = ld;
    b->f = malloc(sizeof *b->f * (rows * ld + 1));
    b->d = malloc(sizeof *b->d * (rows * ld + 1));
    b->lab = malloc(sizeof *b->lab * (rows + 1));
    if (!b->f || !b->d || !b->lab)
        return 0;
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < ld; j++) {
            float v = value(rng, j);
            uint64_t r = check_rand_u64(rng) % 8;
            if (r == 0) /* a background value exactly: an atom or an edge */
                v = pool[(check_rand_u64(rng) % npool / cols) * cols + j % cols];
            else if (r == 1)
                v = j % 2 ? 1e30f : -1e30f; /* beyond the range */
            b->f[i * ld + j] = v;
            b->d[i * ld + j] = (double)v;
        }
        b->lab[i] = (int64_t)(check_rand_u64(rng) % 4); /* label 3 unseen */
    }
    return 1;
}

static void batch_free(batch *b)
{
    free(b->f);
    free(b->d);
    free(b->lab);
}

/* Both paths on b, labels or not: every tail on one thread for small
 * batches (which use one thread whatever is asked); three tails on 1, 2
 * and 2 threads for large ones. */
static void compare(const ah_model *m, const batch *b, const char *what)
{
    const int tails[] = {AH_TAIL_UPPER, AH_TAIL_LOWER, AH_TAIL_TWO,
                         AH_TAIL_BOTH};
    const int big = b->rows * b->cols >= 65536;
    size_t n = b->rows * ah_pvalue_width(m, AH_TAIL_BOTH) * 2;
    double *p1 = malloc(sizeof *p1 * (n + 1)), *p2 = malloc(sizeof *p2 * (n + 1));
    ah_scan_result *s1 = malloc(sizeof *s1 * (b->rows + 1)),
                   *s2 = malloc(sizeof *s2 * (b->rows + 1));
    if (!p1 || !p2 || !s1 || !s2) {
        CHECK(0, "out of memory");
        goto out;
    }
    for (int ti = 0; ti < 4; ti++)
        for (int th = 1; th <= 2; th++)
            for (int wl = 0; wl < 2; wl++) {
                if (big ? ti == 1 || th != 1 + (ti > 0) : th == 2)
                    continue;
                const int64_t *lab = wl ? b->lab : NULL;
                size_t u1 = 9, u2 = 7, w = ah_pvalue_width(m, tails[ti]);
                ah_diag d1, d2;
                int a = ah_pvalues(m, b->d, b->rows, b->cols, b->ld, lab,
                                   tails[ti], p1, &u1, th, &d1);
                int c = ah_pvalues_f32(m, b->f, b->rows, b->cols, b->ld, lab,
                                       tails[ti], p2, &u2, th, &d2);
                CHECK(a == AH_OK && c == AH_OK && u1 == u2 &&
                          !memcmp(p1, p2, sizeof *p1 * b->rows * w * 2),
                      "%s: pvalues tail %d threads %d labels %d: %s / %s",
                      what, tails[ti], th, wl, d1.message, d2.message);
                a = ah_score(m, b->d, b->rows, b->cols, b->ld, lab, tails[ti],
                             AH_STAT_BJ, 0.5, s1, &u1, th, &d1);
                c = ah_score_f32(m, b->f, b->rows, b->cols, b->ld, lab,
                                 tails[ti], AH_STAT_BJ, 0.5, s2, &u2, th, &d2);
                CHECK(a == AH_OK && c == AH_OK && u1 == u2 &&
                          !memcmp(s1, s2, sizeof *s1 * b->rows),
                      "%s: score tail %d threads %d labels %d: %s / %s",
                      what, tails[ti], th, wl, d1.message, d2.message);
            }
out:
    free(p1);
    free(p2);
    free(s1);
    free(s2);
}

/* A NaN or infinity: the same status, row and column as the double path,
 * the first bad value in row order. */
static void bad_values(const ah_model *m, batch *b)
{
    const size_t at[][2] = {{7, 3}, {2, 9}, {7, 1}};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        size_t i = at[k][0], j = at[k][1];
        b->f[i * b->ld + j] = bad[k];
        b->d[i * b->ld + j] = (double)bad[k];
        double *p = malloc(sizeof *p * b->rows * b->cols * 2);
        ah_scan_result *s = malloc(sizeof *s * b->rows);
        ah_diag d1, d2, d3;
        int a = p && s ? ah_pvalues(m, b->d, b->rows, b->cols, b->ld, NULL, -1,
                                    p, NULL, 2, &d1)
                       : -1;
        int c = p && s ? ah_pvalues_f32(m, b->f, b->rows, b->cols, b->ld, NULL,
                                        -1, p, NULL, 2, &d2)
                       : -1;
        int e = p && s ? ah_score_f32(m, b->f, b->rows, b->cols, b->ld, NULL,
                                      -1, AH_STAT_BJ, 0.5, s, NULL, 1, &d3)
                       : -1;
        /* bad values so far: (7,3); (2,9) and (7,3); then (7,1) too */
        int64_t wr = k == 0 ? 7 : 2, wc = k == 0 ? 3 : 9;
        CHECK(a == AH_ERR_VALUE && c == AH_ERR_VALUE && e == AH_ERR_VALUE &&
                  d2.row == wr && d2.col == wc && d3.row == wr &&
                  d3.col == wc && d1.row == d2.row && d1.col == d2.col &&
                  !strcmp(d1.message, d2.message),
              "bad value %d: %d %d %d, at (%lld, %lld) / (%lld, %lld): %s", k,
              a, c, e, (long long)d2.row, (long long)d2.col,
              (long long)d3.row, (long long)d3.col, d2.message);
        free(p);
        free(s);
    }
}

static ah_model *fit(const float *bg, size_t n, size_t D, const int64_t *lab,
                     int method, int bins, int binning)
{
    double *d = malloc(sizeof *d * n * D);
    ah_model *m = NULL;
    ah_fit_options o;
    ah_diag dg;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n * D; i++)
        d[i] = bg[i];
    ah_fit_options_default(&o);
    o.method = method;
    o.bins = bins;
    o.binning = binning;
    int st = ah_model_fit(&m, d, n, D, D, lab, &o, &dg);
    CHECK(st == AH_OK, "fit method %d: %s", method, dg.message);
    free(d);
    return m;
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    enum { NB = 400 };
    const size_t Ds[] = {37, 2053};
    for (int di = 0; di < 2; di++) {
        size_t D = Ds[di];
        float *bg = malloc(sizeof *bg * NB * D);
        int64_t lab[NB];
        if (!bg)
            return 2;
        for (size_t i = 0; i < NB * D; i++)
            bg[i] = value(&rng, i % D);
        for (size_t i = 0; i < NB; i++)
            lab[i] = (int64_t)(i % 3);
        struct {
            int method, bins, binning, labels;
            const char *name;
        } cases[] = {
            {AH_METHOD_HIST, 0, AH_BINNING_WIDTH, 1, "hist default"},
            {AH_METHOD_HIST, 16, AH_BINNING_QUANTILE, 0, "hist quantile 16"},
            {AH_METHOD_EMPIRICAL, 0, AH_BINNING_WIDTH, 1, "empirical"},
            {AH_METHOD_KDE, 0, AH_BINNING_WIDTH, 0, "kde"},
        };
        for (int c = 0; c < 4; c++) {
            if (cases[c].method == AH_METHOD_KDE && D > 100)
                continue; /* microseconds a value: the small D is enough */
            ah_model *m = fit(bg, NB, D, cases[c].labels ? lab : NULL,
                              cases[c].method, cases[c].bins,
                              cases[c].binning);
            if (!m)
                continue;
            /* 1 row (the prefetch pass at D >= 2048), 3 rows with a
             * stride above D, and many: 1100 rows (two blocks of 1024)
             * for the default model, 70 (two threads) for the others */
            const size_t rows[] = {1, 3, D < 100 ? 300 : c == 0 ? 1100 : 70};
            const size_t extra[] = {0, 5, 0};
            for (int r = 0; r < 3; r++) {
                batch b;
                char what[96];
                if (!batch_make(&b, rows[r], D, D + extra[r], &rng, bg,
                                NB * D)) {
                    CHECK(0, "out of memory");
                    batch_free(&b);
                    continue;
                }
                snprintf(what, sizeof what, "%s, D %zu, %zu rows",
                         cases[c].name, D, rows[r]);
                compare(m, &b, what);
                batch_free(&b);
            }
            if (c == 0) {
                batch b;
                if (batch_make(&b, 10, D, D, &rng, bg, NB * D))
                    bad_values(m, &b);
                batch_free(&b);
            }
            ah_model_free(m);
        }
        free(bg);
    }
    return check_done("test_float_input");
}
