/*
 * empirical.c - the exact reference: every background value, sorted per node.
 *
 * p-values are counts found by binary search, computed exactly as
 * docs/METHOD.md sections 1 and 2.1 state ((double)count / (double)(N+1)).
 * Memory is N x D doubles per set: this is what the histogram exists to
 * avoid, kept for fidelity checks.
 * Query cost: O(log N) per (input, node).
 */
#include "bytes.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>

typedef struct emp {
    size_t D, n, fill;
    double *v; /* node-major: node j holds v[j*n .. j*n+n), increasing */
} emp;

void ah__sorted_pvalue(const double *b, size_t n, double x, double out[4])
{
    size_t lt = ah__lower_bound(b, n, x); /* #{b < x}  */
    size_t le = ah__upper_bound(b, n, x); /* #{b <= x} */
    double n1 = (double)(n + 1);
    out[0] = (double)(n - le) / n1;       /* #{b > x}  / (N+1) */
    out[1] = (double)(n - lt + 1) / n1;   /* (#{b >= x} + 1) / (N+1) */
    out[2] = (double)lt / n1;
    out[3] = (double)(le + 1) / n1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void emp_free(void *rep)
{
    emp *e = rep;
    if (!e)
        return;
    free(e->v);
    free(e);
}

static emp *emp_new(size_t D, size_t n, ah_diag *diag)
{
    size_t cells, bytes;
    if (!ah__mul_ok(D, n, &cells) || !ah__mul_ok(cells, sizeof(double), &bytes)) {
        ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                 "%zu x %zu background values overflow", n, D);
        return NULL;
    }
    emp *e = calloc(1, sizeof *e);
    if (e)
        e->v = malloc(bytes ? bytes : 1);
    if (!e || !e->v) {
        emp_free(e);
        ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                 "out of memory for %zu background values", cells);
        return NULL;
    }
    e->D = D;
    e->n = n;
    return e;
}

static int emp_begin(void **rep, size_t D, const ah__pass1 *p1,
                     const ah_fit_options *o, ah_diag *diag)
{
    (void)o;
    emp *e = emp_new(D, p1->n, diag);
    if (!e)
        return diag ? diag->status : AH_ERR_NOMEM;
    *rep = e;
    return AH_OK;
}

static void emp_add_rows(void *rep, int pass, const double *const *rows,
                         size_t k)
{
    emp *e = rep;
    (void)pass;
    if (k > e->n - e->fill)
        k = e->n - e->fill; /* the fitter checks row counts between passes */
    for (size_t j = 0; j < e->D; j++) {
        double *col = e->v + j * e->n + e->fill;
        for (size_t i = 0; i < k; i++)
            col[i] = rows[i][j];
    }
    e->fill += k;
}

static int emp_end_pass(void *rep, int pass, ah_diag *diag)
{
    emp *e = rep;
    (void)pass;
    if (e->fill != e->n)
        return ah__fail(diag, AH_ERR_IO, -1, -1,
                        "background changed between passes");
    for (size_t j = 0; j < e->D; j++)
        qsort(e->v + j * e->n, e->n, sizeof(double), cmp_double);
    return AH_OK;
}

static void emp_pvalue(const void *rep, size_t j, double x, double out[4])
{
    const emp *e = rep;
    ah__sorted_pvalue(e->v + j * e->n, e->n, x, out);
}

static size_t emp_payload_bytes(const void *rep)
{
    const emp *e = rep;
    return e->D * e->n * sizeof(double);
}

static void emp_write(const void *rep, unsigned char *buf)
{
    const emp *e = rep;
    for (size_t i = 0; i < e->D * e->n; i++)
        buf = ah__put_f64(buf, e->v[i]);
}

static int emp_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                    int compact, int threads, const unsigned char *buf,
                    size_t len, size_t *used, ah_diag *diag)
{
    (void)threads; /* one pass over sorted values */
    (void)compact;
    (void)o;
    size_t cells, bytes;
    if (!ah__mul_ok(D, n, &cells) || !ah__mul_ok(cells, 8, &bytes) ||
        bytes > len)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "sorted columns of %zu x %zu values do not fit in "
                        "the file", n, D);
    emp *e = emp_new(D, n, diag);
    if (!e)
        return diag ? diag->status : AH_ERR_NOMEM;
    for (size_t i = 0; i < cells; i++) {
        e->v[i] = ah__get_f64(buf + 8 * i);
        if (!isfinite(e->v[i]) || (i % n != 0 && e->v[i] < e->v[i - 1])) {
            emp_free(e);
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)(i / n),
                            "column %zu is not sorted or not finite", i / n);
        }
    }
    e->fill = n;
    *used = bytes;
    *rep = e;
    return AH_OK;
}

static size_t emp_memory_bytes(const void *rep)
{
    const emp *e = rep;
    return sizeof *e + e->D * e->n * sizeof(double);
}

static size_t emp_zero(const void *rep, size_t j)
{
    (void)rep;
    (void)j;
    return 0;
}

/* Distinct values of node j as atom cells with their multiplicities. */
static int emp_node_cells(const void *rep, size_t j, ah_cell *cells,
                          size_t cap, size_t *n)
{
    const emp *e = rep;
    const double *b = e->v + j * e->n;
    size_t k = 0;
    for (size_t i = 0; i < e->n;) {
        size_t r = i;
        while (r < e->n && b[r] == b[i])
            r++;
        if (k < cap)
            cells[k] = (ah_cell){b[i], b[i], r - i, 1};
        k++;
        i = r;
    }
    *n = k;
    return k <= cap ? AH_OK : AH_ERR_ARG;
}

/* Shared with kde.c, which stores the same sorted columns. */
const double *ah__empirical_column(const void *rep, size_t j, size_t *n);
const double *ah__empirical_column(const void *rep, size_t j, size_t *n)
{
    const emp *e = rep;
    *n = e->n;
    return e->v + j * e->n;
}

const ah__rep_ops ah__empirical_ops = {
    .name = "empirical",
    .passes = 1,
    .begin = emp_begin,
    .add_rows = emp_add_rows,
    .end_pass = emp_end_pass,
    .pvalue = emp_pvalue,
    .payload_bytes = emp_payload_bytes,
    .write = emp_write,
    .read = emp_read,
    .memory_bytes = emp_memory_bytes,
    .node_bins = emp_zero,
    .node_atoms = emp_zero,
    .node_cells = emp_node_cells,
    .free = emp_free,
};
