/*
 * kde.c - Gaussian kernel density baseline (the paper's comparison).
 *
 * p = (1/N) sum_k Phi_bar((x - b_k) / h), h = s N^(-1/5), s the sample
 * standard deviation (N - 1).  The background is kept sorted (the empirical
 * representation), so a query only evaluates the kernels that are neither
 * exactly 0 nor exactly 1 in double precision: Phi_bar(z) is 0.0 for
 * z > 39 and 1.0 for z < -9.  Cost per query: O(log N + window), where the
 * window is the background within [x - 9h, x + 39h]; with the default
 * bandwidth that is typically most of the background, so KDE stays the slow
 * baseline it is in the paper.  Nodes with zero variance (or N = 1) use the
 * empirical rule.
 */
#include "bytes.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>

const double *ah__empirical_column(const void *rep, size_t j, size_t *n);

typedef struct kde {
    void *emp;  /* sorted columns */
    size_t D;
    double *h;  /* bandwidth per node; 0 = empirical fallback */
} kde;

static void kde_free(void *rep)
{
    kde *k = rep;
    if (!k)
        return;
    ah__empirical_ops.free(k->emp);
    free(k->h);
    free(k);
}

static int kde_begin(void **rep, size_t D, const ah__pass1 *p1,
                     const ah_fit_options *o, ah_diag *diag)
{
    kde *k = calloc(1, sizeof *k);
    if (!k)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    k->D = D;
    k->h = calloc(D, sizeof *k->h);
    int st = k->h ? ah__empirical_ops.begin(&k->emp, D, p1, o, diag)
                  : ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (st != AH_OK) {
        kde_free(k);
        return st;
    }
    *rep = k;
    return AH_OK;
}

static void kde_add_rows(void *rep, int pass, const double *const *rows,
                         size_t k)
{
    ah__empirical_ops.add_rows(((kde *)rep)->emp, pass, rows, k);
}

/* Scott's rule from the sorted column (two-pass mean and variance). */
static void kde_bandwidths(kde *k)
{
    for (size_t j = 0; j < k->D; j++) {
        size_t n;
        const double *b = ah__empirical_column(k->emp, j, &n);
        if (n < 2) {
            k->h[j] = 0;
            continue;
        }
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += b[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (b[i] - mean) * (b[i] - mean);
        double s = sqrt(ss / (double)(n - 1));
        double h = s * pow((double)n, -0.2);
        k->h[j] = (b[0] == b[n - 1] || !(h > 0) || !isfinite(h)) ? 0 : h;
    }
}

static int kde_end_pass(void *rep, int pass, ah_diag *diag)
{
    kde *k = rep;
    int st = ah__empirical_ops.end_pass(k->emp, pass, diag);
    if (st == AH_OK)
        kde_bandwidths(k);
    return st;
}

static void kde_pvalue(const void *rep, size_t j, double x, double out[4])
{
    const kde *k = rep;
    size_t n;
    const double *b = ah__empirical_column(k->emp, j, &n);
    double h = k->h[j];
    if (h == 0) {
        ah__sorted_pvalue(b, n, x, out);
        return;
    }
    /* Upper tail: kernels of b < x - 39h contribute 0, of b > x + 9h
     * exactly 1.  Lower tail mirrors (Phi(z) = Phi_bar(-z)). */
    const double r2 = 0.70710678118654752440; /* 1/sqrt(2) */
    size_t lo = ah__lower_bound(b, n, x - 39.0 * h);
    size_t hi = ah__upper_bound(b, n, x + 9.0 * h);
    double up = (double)(n - hi);
    for (size_t i = lo; i < hi; i++)
        up += 0.5 * erfc((x - b[i]) / h * r2);
    lo = ah__lower_bound(b, n, x - 9.0 * h);
    hi = ah__upper_bound(b, n, x + 39.0 * h);
    double down = (double)lo;
    for (size_t i = lo; i < hi; i++)
        down += 0.5 * erfc((b[i] - x) / h * r2);
    out[0] = out[1] = up / (double)n;
    out[2] = out[3] = down / (double)n;
}

static size_t kde_payload_bytes(const void *rep)
{
    return ah__empirical_ops.payload_bytes(((const kde *)rep)->emp);
}

static void kde_write(const void *rep, unsigned char *buf)
{
    ah__empirical_ops.write(((const kde *)rep)->emp, buf);
}

/* The bandwidths are recomputed from the stored columns by the same code,
 * so a loaded model gives bit-identical p-values. */
static int kde_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                    const unsigned char *buf, size_t len, size_t *used,
                    ah_diag *diag)
{
    kde *k = calloc(1, sizeof *k);
    if (!k)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    k->D = D;
    k->h = calloc(D ? D : 1, sizeof *k->h);
    int st = k->h ? ah__empirical_ops.read(&k->emp, D, n, o, buf, len, used,
                                           diag)
                  : ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (st != AH_OK) {
        kde_free(k);
        return st;
    }
    kde_bandwidths(k);
    *rep = k;
    return AH_OK;
}

static size_t kde_memory_bytes(const void *rep)
{
    const kde *k = rep;
    return sizeof *k + k->D * sizeof(double) +
           ah__empirical_ops.memory_bytes(k->emp);
}

static size_t kde_node_bins(const void *rep, size_t j)
{
    return ah__empirical_ops.node_bins(((const kde *)rep)->emp, j);
}

static int kde_node_cells(const void *rep, size_t j, ah_cell *cells,
                          size_t cap, size_t *n)
{
    return ah__empirical_ops.node_cells(((const kde *)rep)->emp, j, cells,
                                        cap, n);
}

const ah__rep_ops ah__kde_ops = {
    .name = "kde",
    .passes = 1,
    .begin = kde_begin,
    .add_rows = kde_add_rows,
    .end_pass = kde_end_pass,
    .pvalue = kde_pvalue,
    .payload_bytes = kde_payload_bytes,
    .write = kde_write,
    .read = kde_read,
    .memory_bytes = kde_memory_bytes,
    .node_bins = kde_node_bins,
    .node_atoms = kde_node_bins,
    .node_cells = kde_node_cells,
    .free = kde_free,
};
