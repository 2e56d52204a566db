/*
 * test_symeig.c - the symmetric eigensolver (src/symeig.c) against cyclic
 * Jacobi rotations, a slow and obviously correct twin, on random
 * symmetric matrices (distinct and repeated eigenvalues, rank-deficient
 * covariances), and its defining properties: A v = lambda v, V
 * orthonormal, eigenvalues decreasing.
 */
#include "check.h"
#include "symeig.h"

#include <math.h>
#include <string.h>

/* Cyclic Jacobi: rotate away each off-diagonal a[p][q] in turn until the
 * off-diagonal mass is negligible.  Eigenvalues on a's diagonal,
 * eigenvectors in the columns of v. */
static void jacobi(double *a, size_t n, double *v)
{
    memset(v, 0, n * n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i * n + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, tot = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                *(i == j ? &tot : &off) += a[i * n + j] * a[i * n + j];
        if (off <= 1e-30 * (tot + off))
            return;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) /
                           (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) { /* A J */
                    double x = a[k * n + p], y = a[k * n + q];
                    a[k * n + p] = c * x - s * y;
                    a[k * n + q] = s * x + c * y;
                }
                for (size_t k = 0; k < n; k++) { /* J^T A J */
                    double x = a[p * n + k], y = a[q * n + k];
                    a[p * n + k] = c * x - s * y;
                    a[q * n + k] = s * x + c * y;
                }
                for (size_t k = 0; k < n; k++) {
                    double x = v[k * n + p], y = v[k * n + q];
                    v[k * n + p] = c * x - s * y;
                    v[k * n + q] = s * x + c * y;
                }
            }
    }
}

/* A random symmetric matrix: kind 0 plain, 1 a covariance of n/2 random
 * rows (rank deficient, many zero eigenvalues), 2 with eigenvalues
 * repeated in threes. */
static void random_sym(double *a, size_t n, int kind, uint64_t *st)
{
    if (kind == 1) {
        size_t k = n / 2 + 1;
        double *x = malloc(k * n * sizeof *x);
        for (size_t i = 0; i < k * n; i++)
            x[i] = check_rand_unit(st) - 0.5;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t r = 0; r < k; r++)
                    s += x[r * n + i] * x[r * n + j];
                a[i * n + j] = s;
            }
        free(x);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            a[i * n + j] = a[j * n + i] = 2 * check_rand_unit(st) - 1;
    if (kind == 2) { /* Q diag(lambda) Q^T with lambda in triples */
        double *q = malloc(n * n * sizeof *q), *w = malloc(n * sizeof *w);
        double *b = malloc(n * n * sizeof *b);
        memcpy(b, a, n * n * sizeof *b);
        ah__symeig(b, n, w, q);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += q[k * n + i] * (double)(k / 3) * q[k * n + j];
                a[i * n + j] = s;
            }
        for (size_t i = 0; i < n; i++) /* exactly symmetric */
            for (size_t j = i + 1; j < n; j++)
                a[j * n + i] = a[i * n + j];
        free(q);
        free(w);
        free(b);
    }
}

static int cmp_desc(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* One matrix: properties, then agreement with Jacobi. */
static void check_one(size_t n, int kind, uint64_t *st)
{
    double *a = malloc(n * n * sizeof *a), *a0 = malloc(n * n * sizeof *a0);
    double *vt = malloc(n * n * sizeof *vt), *w = malloc(n * sizeof *w);
    double *vj = malloc(n * n * sizeof *vj), *wj = malloc(n * sizeof *wj);
    random_sym(a0, n, kind, st);
    memcpy(a, a0, n * n * sizeof *a);
    for (size_t i = 0; i < n; i++) /* only the upper triangle is read */
        for (size_t j = 0; j < i; j++)
            a[i * n + j] = NAN;
    CHECK(ah__symeig(a, n, w, vt) == 0, "n %zu kind %d", n, kind);
    double scale = 0, res = 0, orth = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(w[i]));
    scale = fmax(scale, 1e-300);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < n; i++) { /* A v - lambda v */
            double s = 0;
            for (size_t j = 0; j < n; j++)
                s += a0[i * n + j] * vt[k * n + j];
            res = fmax(res, fabs(s - w[k] * vt[k * n + i]));
        }
        for (size_t l = 0; l < n; l++) {
            double s = 0;
            for (size_t j = 0; j < n; j++)
                s += vt[k * n + j] * vt[l * n + j];
            orth = fmax(orth, fabs(s - (k == l)));
        }
        if (k > 0)
            CHECK(w[k] <= w[k - 1], "n %zu: w[%zu] %g > w[%zu] %g", n, k,
                  w[k], k - 1, w[k - 1]);
    }
    CHECK(res <= 1e-12 * n * scale, "n %zu kind %d: |Av - wv| %g", n, kind,
          res);
    CHECK(orth <= 1e-12 * n, "n %zu kind %d: |V^T V - I| %g", n, kind, orth);
    memcpy(a, a0, n * n * sizeof *a);
    jacobi(a, n, vj);
    for (size_t i = 0; i < n; i++)
        wj[i] = a[i * n + i];
    qsort(wj, n, sizeof *wj, cmp_desc);
    double dw = 0;
    for (size_t i = 0; i < n; i++)
        dw = fmax(dw, fabs(w[i] - wj[i]));
    CHECK(dw <= 1e-11 * n * scale, "n %zu kind %d: eigenvalues differ from "
          "Jacobi's by %g", n, kind, dw);
    free(a);
    free(a0);
    free(vt);
    free(w);
    free(vj);
    free(wj);
}

/* Matrices that stress the edges: 1 x 1, zero, diagonal, already
 * tridiagonal with a zero off-diagonal. */
static void check_edges(void)
{
    double a1 = 3, w1, v1;
    CHECK(ah__symeig(&a1, 1, &w1, &v1) == 0 && w1 == 3 && v1 == 1, "1x1");
    double z[9] = {0}, w[3], vt[9];
    CHECK(ah__symeig(z, 3, w, vt) == 0 && w[0] == 0 && w[2] == 0, "zero");
    double d[9] = {1, 0, 0, 0, 5, 0, 0, 0, 2};
    CHECK(ah__symeig(d, 3, w, vt) == 0 && w[0] == 5 && w[1] == 2 &&
              w[2] == 1 && vt[1] == 1 && vt[5] == 1 && vt[6] == 1,
          "diagonal: %g %g %g", w[0], w[1], w[2]);
    double t[9] = {2, 1, 0, 1, 2, 0, 0, 0, 7};
    CHECK(ah__symeig(t, 3, w, vt) == 0 && w[0] == 7 &&
              fabs(w[1] - 3) < 1e-15 && fabs(w[2] - 1) < 1e-15,
          "split: %g %g %g", w[0], w[1], w[2]);
}

int main(void)
{
    check_init();
    uint64_t st = check_seed;
    check_edges();
    static const size_t sizes[] = {2, 3, 4, 5, 8, 17, 40, 64};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int kind = 0; kind < 3; kind++)
            check_one(sizes[s], kind, &st);
    return check_done("symeig");
}
