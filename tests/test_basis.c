/*
 * test_basis.c - the decorrelated basis (src/basis.c) and a model that
 * scans in it.
 *
 * Mechanics: the components are orthonormal (V^T V = I within 1e-6: they
 * are stored as floats), the transform round-trips (x = mu + V z for all
 * components; |x - mu|^2 = |z|^2 + residual^2 for fewer), the pooled set
 * derived from the labels' scatters is the basis of all rows fitted
 * without labels, and the scatter is the naive one.  Model: p-values in
 * [0, 1] and, for the exact (empirical) method, equal to counting the
 * transformed background; histogram ranges contain those; scores equal
 * the scan of the p-values; save/load bit for bit; a model without a
 * basis keeps format 1.1; refusals (too many nodes, shards, NaN rows).
 */
#include "acthist.h"
#include "basis.h"
#include "check.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Correlated rows: a few latent factors mixed into d nodes, a ReLU-like
 * node, a constant node; labels shift the mean. */
static void make_rows(double *x, int64_t *lab, size_t n, size_t d,
                      uint64_t *st)
{
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(check_rand_u64(st) % 3) * 5 - 2; /* -2, 3, 8 */
        double f[3];
        for (int k = 0; k < 3; k++)
            f[k] = check_rand_unit(st) * 2 - 1;
        for (size_t j = 0; j < d; j++) {
            double v = f[j % 3] * (1.0 + (double)j) + 0.1 * check_rand_unit(st);
            if (j == 1)
                v = v > 0 ? v : 0;
            if (j == 2)
                v = 4.0;
            x[i * d + j] = v + (double)lab[i] * 0.3;
        }
    }
}

static ah__basis *fit_basis(const double *x, const int64_t *lab, size_t n,
                            size_t d, size_t r)
{
    ah__basis_acc *a = NULL;
    ah__basis *b = NULL;
    ah_diag dg;
    CHECK(ah__basis_acc_new(&a, d, &dg) == AH_OK, "%s", dg.message);
    for (size_t i = 0; i < n; i += 7) { /* odd chunks: blocks straddle */
        size_t k = n - i < 7 ? n - i : 7;
        CHECK(ah__basis_acc_add(a, x + i * d, lab ? lab + i : NULL, k, &dg) ==
                  AH_OK, "%s", dg.message);
    }
    CHECK(ah__basis_acc_finish(&b, a, r, &dg) == AH_OK, "%s", dg.message);
    ah__basis_acc_free(a);
    return b;
}

static void check_orthonormal(const ah__basis *b)
{
    size_t d = b->d, r = b->r;
    for (size_t s = 0; s < b->nsets; s++) {
        const float *v = b->v + s * d * r;
        double worst = 0;
        for (size_t k = 0; k < r; k++)
            for (size_t l = 0; l < r; l++) {
                double dot = 0;
                for (size_t i = 0; i < d; i++)
                    dot += (double)v[i * r + k] * (double)v[i * r + l];
                worst = fmax(worst, fabs(dot - (k == l)));
            }
        CHECK(worst <= 1e-6, "set %zu: |V^T V - I| = %g", s, worst);
    }
}

/* Full rank: x = mu + V z; fewer: the residual completes the norm. */
static void check_round_trip(const ah__basis *b, const double *x, size_t n)
{
    size_t d = b->d, r = b->r, w = ah__basis_width(b);
    double *t = malloc(w * sizeof *t), worst = 0, worst_norm = 0;
    for (size_t i = 0; i < n; i++) {
        size_t s = i % b->nsets;
        const double *row = x + i * d, *mu = b->mu + s * d;
        const float *v = b->v + s * d * r;
        ah__basis_apply(b, s, row, t);
        CHECK(memcmp(t, row, d * sizeof *t) == 0, "row %zu: the raw nodes", i);
        double n2 = 0, z2 = 0;
        for (size_t j = 0; j < d; j++) {
            double rec = mu[j];
            for (size_t k = 0; k < r; k++)
                rec += (double)v[j * r + k] * t[d + k];
            if (r == d)
                worst = fmax(worst, fabs(rec - row[j]) /
                                        (1.0 + fabs(row[j])));
            n2 += (row[j] - mu[j]) * (row[j] - mu[j]);
        }
        for (size_t k = 0; k < r; k++)
            z2 += t[d + k] * t[d + k];
        if (b->resid)
            z2 += t[d + r] * t[d + r];
        worst_norm = fmax(worst_norm, fabs(z2 - n2) / (1.0 + n2));
    }
    CHECK(worst <= 1e-5, "reconstruction error %g", worst);
    CHECK(worst_norm <= 1e-5, "|x - mu|^2 against |z|^2 + resid^2: %g",
          worst_norm);
    free(t);
}

/* The pooled set of a labelled fit is the basis of all rows together:
 * the same mean, the same components up to float rounding and sign. */
static void check_pooled(const ah__basis *lab, const ah__basis *all)
{
    size_t d = lab->d, r = lab->r;
    double dm = 0, dv = 0;
    for (size_t i = 0; i < d; i++)
        dm = fmax(dm, fabs(lab->mu[i] - all->mu[i]));
    for (size_t k = 0; k < r; k++) {
        double dot = 0;
        for (size_t i = 0; i < d; i++)
            dot += (double)lab->v[i * r + k] * (double)all->v[i * r + k];
        dv = fmax(dv, fabs(fabs(dot) - 1));
    }
    CHECK(dm <= 1e-12, "pooled mean differs by %g", dm);
    CHECK(dv <= 1e-5, "pooled components differ: |dot| off 1 by %g", dv);
}

static void test_basis_mechanics(uint64_t *st)
{
    size_t n = 500, d = 6;
    double *x = malloc(n * d * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    make_rows(x, lab, n, d, st);
    for (size_t r = 1; r <= d; r += 5) {
        ah__basis *b = fit_basis(x, lab, n, d, r), *p = fit_basis(x, NULL, n,
                                                                 d, r);
        if (!b || !p)
            return;
        CHECK(b->nsets == 4 && p->nsets == 1 && b->r == r &&
                  b->resid == (r < d) && ah__basis_width(b) == d + r + (r < d),
              "r %zu: %zu sets, width %zu", r, b->nsets, ah__basis_width(b));
        CHECK(b->labels[0] == -2 && b->labels[1] == 3 && b->labels[2] == 8,
              "labels sorted");
        CHECK(ah__basis_set_for(b, 3) == 2 && ah__basis_set_for(b, 4) == 0,
              "set_for");
        check_orthonormal(b);
        check_round_trip(b, x, n);
        check_pooled(b, p);
        ah__basis_free(b);
        ah__basis_free(p);
    }
    free(x);
    free(lab);
}

/* The exact p-value ranges of t against the transformed background rows
 * of one set, all tails' ingredients (upper only is enough here). */
static void naive_upper(const double *tb, size_t n, size_t w, size_t j,
                        double t, double out[2])
{
    size_t gt = 0, ge = 0;
    for (size_t i = 0; i < n; i++) {
        gt += tb[i * w + j] > t;
        ge += tb[i * w + j] >= t;
    }
    out[0] = (double)gt / (double)(n + 1);
    out[1] = (double)(ge + 1) / (double)(n + 1);
}

/* Fit with a basis; check p-values against counting the model's own
 * transform of the background (pooled set: every row). */
static void test_model_pvalues(uint64_t *st, int method)
{
    size_t n = 300, d = 5, q = 40;
    double *x = malloc((n + q) * d * sizeof *x);
    int64_t *lab = malloc((n + q) * sizeof *lab);
    make_rows(x, lab, n + q, d, st);
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.method = method;
    o.basis = AH_BASIS_PCA;
    o.basis_components = 3;
    o.tail = AH_TAIL_UPPER;
    o.chunk_rows = 13;
    ah_model *m = NULL;
    ah_diag dg;
    CHECK(ah_model_fit(&m, x, n, d, d, lab, &o, &dg) == AH_OK, "%s",
          dg.message);
    if (!m)
        return;
    size_t w = ah_pvalue_width(m, AH_TAIL_UPPER);
    CHECK(w == d + 3 + 1 && ah_model_nodes(m) == d, "width %zu", w);
    double *tb = malloc(n * w * sizeof *tb), *tq = malloc(q * w * sizeof *tq);
    double *p = malloc(q * w * 2 * sizeof *p);
    CHECK(ah_model_transform(m, x, n, d, d, NULL, tb, &dg) == AH_OK, "%s",
          dg.message);
    CHECK(ah_model_transform(m, x + n * d, q, d, d, NULL, tq, &dg) == AH_OK,
          "%s", dg.message);
    CHECK(ah_pvalues(m, x + n * d, q, d, d, NULL, AH_TAIL_UPPER, p, NULL, 1,
                     &dg) == AH_OK, "%s", dg.message);
    size_t bad = 0, outside = 0;
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < w; j++) {
            double e[2], lo = p[(i * w + j) * 2], hi = p[(i * w + j) * 2 + 1];
            naive_upper(tb, n, w, j, tq[i * w + j], e);
            outside += !(lo >= 0 && hi <= 1 && lo <= hi);
            if (method == AH_METHOD_EMPIRICAL)
                bad += lo != e[0] || hi != e[1];
            else
                bad += !(lo <= e[0] && hi >= e[1]);
        }
    CHECK(outside == 0, "%zu ranges outside [0, 1]", outside);
    CHECK(bad == 0, "method %d: %zu ranges against the exact counts of the "
          "transformed background", method, bad);
    free(tb);
    free(tq);
    free(p);
    ah_model_free(m);
    free(x);
    free(lab);
}

/* Conditional: each row through its label's basis, against its label's
 * background; an unseen label through the pooled set. */
static void test_conditional(uint64_t *st)
{
    size_t n = 400, d = 4, q = 30;
    double *x = malloc((n + q) * d * sizeof *x);
    int64_t *lab = malloc((n + q) * sizeof *lab);
    make_rows(x, lab, n + q, d, st);
    lab[n] = 99; /* unseen */
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.method = AH_METHOD_EMPIRICAL;
    o.basis = AH_BASIS_PCA;
    o.basis_components = 2;
    ah_model *m = NULL;
    ah_diag dg;
    CHECK(ah_model_fit(&m, x, n, d, d, lab, &o, &dg) == AH_OK, "%s",
          dg.message);
    if (!m)
        return;
    CHECK(ah_model_tail(m) == AH_TAIL_TWO, "the default tail with labels");
    size_t w = ah_pvalue_width(m, AH_TAIL_UPPER), unseen = 0, bad = 0;
    double *tb = malloc(n * w * sizeof *tb), *tq = malloc(q * w * sizeof *tq);
    double *p = malloc(q * w * 2 * sizeof *p), *pf = malloc(q * w * 2 * sizeof *pf);
    float *xf = malloc(q * d * sizeof *xf);
    ah_model_transform(m, x, n, d, d, lab, tb, NULL);
    ah_model_transform(m, x + n * d, q, d, d, lab + n, tq, NULL);
    CHECK(ah_pvalues(m, x + n * d, q, d, d, lab + n, AH_TAIL_UPPER, p,
                     &unseen, 1, &dg) == AH_OK, "%s", dg.message);
    CHECK(unseen == 1, "unseen %zu", unseen);
    for (size_t i = 0; i < q; i++) {
        double *rows = malloc(n * w * sizeof *rows);
        size_t k = 0;
        for (size_t r = 0; r < n; r++)
            if (i == 0 || lab[r] == lab[n + i]) /* row 0: pooled */
                memcpy(rows + k++ * w, tb + r * w, w * sizeof *rows);
        if (i == 0) /* the pooled set sees rows through the pooled basis */
            ah_model_transform(m, x, n, d, d, NULL, rows, NULL);
        for (size_t j = 0; j < w; j++) {
            double e[2];
            naive_upper(rows, k, w, j, tq[i * w + j], e);
            bad += p[(i * w + j) * 2] != e[0] ||
                   p[(i * w + j) * 2 + 1] != e[1];
        }
        free(rows);
    }
    CHECK(bad == 0, "%zu conditional ranges differ from exact counts", bad);
    for (size_t i = 0; i < q * d; i++)
        xf[i] = (float)x[n * d + i];
    double *pd = malloc(q * w * 2 * sizeof *pd);
    double *xd = malloc(q * d * sizeof *xd);
    for (size_t i = 0; i < q * d; i++)
        xd[i] = xf[i];
    ah_pvalues(m, xd, q, d, d, lab + n, -1, pd, NULL, 1, NULL);
    CHECK(ah_pvalues_f32(m, xf, q, d, d, lab + n, -1, pf, NULL, 2, &dg) ==
                  AH_OK &&
              memcmp(pf, pd, q * w * 2 * sizeof *pf) == 0,
          "float input, two threads: the same bits");
    /* the fused score is the scan of the p-values */
    ah_scan_result res[30], one;
    CHECK(ah_score(m, x + n * d, q, d, d, lab + n, -1, AH_STAT_BJ, 0.5, res,
                   NULL, 1, &dg) == AH_OK, "%s", dg.message);
    ah_pvalues(m, x + n * d, q, d, d, lab + n, -1, pd, NULL, 1, NULL);
    size_t diff = 0;
    for (size_t i = 0; i < q; i++) {
        double pm[64];
        for (size_t j = 0; j < w; j++)
            pm[j] = pd[(i * w + j) * 2 + 1];
        ah_scan_individual(pm, w, AH_STAT_BJ, 0.5, &one, NULL, NULL);
        diff += one.score != res[i].score || one.size != res[i].size;
    }
    CHECK(diff == 0, "%zu scores differ from the scan of the p-values", diff);
    free(pd);
    free(xd);
    free(xf);
    free(tb);
    free(tq);
    free(p);
    free(pf);
    ah_model_free(m);
    free(x);
    free(lab);
}

/* Save, load, save: the same bytes; the same p-values; format 1.3 with a
 * basis, 1.1 without. */
static void test_round_trip(uint64_t *st)
{
    size_t n = 200, d = 5;
    double *x = malloc(n * d * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    make_rows(x, lab, n, d, st);
    for (int basis = AH_BASIS_DEFAULT; basis <= AH_BASIS_PCA; basis++) {
        if (basis == -1)
            continue;
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.basis = basis;
        o.basis_components = 2;
        ah_model *m = NULL, *m2 = NULL;
        ah_diag dg;
        CHECK(ah_model_fit(&m, x, n, d, d, lab, &o, &dg) == AH_OK, "%s",
              dg.message);
        size_t len = 0, len2 = 0;
        ah_model_save_memory(m, NULL, &len, NULL);
        unsigned char *a = malloc(len), *b = malloc(len);
        ah_model_save_memory(m, a, &len, NULL);
        CHECK(a[10] == (basis == AH_BASIS_PCA ? 3 : 1), "basis %d: minor %u",
              basis, a[10]);
        CHECK(ah_model_load_memory(&m2, a, len, "rt", &dg) == AH_OK, "%s",
              dg.message);
        len2 = len;
        CHECK(m2 && ah_model_save_memory(m2, b, &len2, NULL) == AH_OK &&
                  len2 == len && memcmp(a, b, len) == 0,
              "basis %d: saved again, other bytes", basis);
        ah_model_info i1, i2;
        ah_model_get_info(m, &i1);
        ah_model_get_info(m2, &i2);
        CHECK(i1.basis == (basis == AH_BASIS_PCA ? AH_BASIS_PCA
                                                  : AH_BASIS_NONE) &&
                  i2.basis == i1.basis && i1.file_bytes == len &&
                  i2.scanned_nodes == i1.scanned_nodes &&
                  i1.basis_bytes == i2.basis_bytes,
              "info: basis %d/%d, file %zu of %zu", i1.basis, i2.basis,
              i1.file_bytes, len);
        size_t w = ah_pvalue_width(m, -1);
        double *p1 = malloc(n * w * 2 * sizeof *p1),
               *p2 = malloc(n * w * 2 * sizeof *p2);
        ah_pvalues(m, x, n, d, d, lab, -1, p1, NULL, 1, NULL);
        ah_pvalues(m2, x, n, d, d, lab, -1, p2, NULL, 1, NULL);
        CHECK(memcmp(p1, p2, n * w * 2 * sizeof *p1) == 0,
              "basis %d: loaded model, other p-values", basis);
        free(p1);
        free(p2);
        free(a);
        free(b);
        ah_model_free(m);
        ah_model_free(m2);
    }
    free(x);
    free(lab);
}

static int one_row(void *ctx, double *rows, size_t ld, int64_t *labels,
                   size_t max_rows, size_t *got, ah_diag *diag)
{
    (void)ld, (void)labels, (void)diag;
    int *left = ctx;
    *got = *left && max_rows ? 1 : 0;
    if (*got) {
        rows[0] = 1.0;
        rows[1] = 2.0;
        (*left)--;
    }
    return AH_OK;
}

static int no_rewind(void *ctx, ah_diag *diag)
{
    (void)ctx, (void)diag;
    return AH_OK;
}

/* What a basis refuses, each with its message. */
static void test_refusals(void)
{
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.basis = AH_BASIS_PCA;
    ah_model *m = NULL;
    ah_diag dg;
    size_t big = AH_BASIS_MAX_NODES + 1;
    double *x = calloc(2 * big, sizeof *x);
    CHECK(ah_model_fit(&m, x, 2, big, big, NULL, &o, &dg) == AH_ERR_ARG &&
              strstr(dg.message, "above its limit of 2048") && !m,
          "too many nodes: %s", dg.message);
    free(x);
    o.basis = 7;
    double y[4] = {1, 2, 3, 4};
    CHECK(ah_model_fit(&m, y, 2, 2, 2, NULL, &o, &dg) == AH_ERR_ARG &&
              strcmp(dg.message, "unknown basis 7") == 0,
          "%s", dg.message);
    o.basis = AH_BASIS_PCA;
    o.basis_components = 0;
    CHECK(ah_model_fit(&m, y, 2, 2, 2, NULL, &o, &dg) == AH_ERR_ARG &&
              strstr(dg.message, "basis_components must be in 1..2048"),
          "%s", dg.message);
    o.basis_components = 256;
    int left = 3;
    ah_row_source src = {&left, 2, 0, one_row, no_rewind};
    ah_shard *s = NULL;
    CHECK(ah_shard_plan(&s, &src, &o, &dg) == AH_ERR_ARG &&
              strstr(dg.message, "fitting in shards learns no basis") && !s,
          "%s", dg.message);
    double z[6] = {1, 2, 2, 1, 3, 5};
    CHECK(ah_model_fit(&m, z, 3, 2, 2, NULL, &o, &dg) == AH_OK, "%s",
          dg.message);
    double q[6] = {1, 2, 3, NAN, 0, 0}, out[64];
    CHECK(ah_pvalues(m, q, 3, 2, 2, NULL, -1, out, NULL, 1, &dg) ==
                  AH_ERR_VALUE && dg.row == 1 && dg.col == 1,
          "NaN: row %lld col %lld: %s", (long long)dg.row, (long long)dg.col,
          dg.message);
    CHECK(ah_pvalues(m, q, 1, 3, 3, NULL, -1, out, NULL, 1, &dg) ==
              AH_ERR_SHAPE, "%s", dg.message);
    CHECK(ah_pvalue_width(m, -1) == 4 && ah_model_nodes(m) == 2,
          "two nodes, two components: width %zu", ah_pvalue_width(m, -1));
    ah_model_free(m);
}

int main(void)
{
    check_init();
    uint64_t st = check_seed;
    test_basis_mechanics(&st);
    test_model_pvalues(&st, AH_METHOD_EMPIRICAL);
    test_model_pvalues(&st, AH_METHOD_HIST);
    test_conditional(&st);
    test_round_trip(&st);
    test_refusals();
    return check_done("basis");
}
