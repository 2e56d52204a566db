/*
 * symeig.c - symmetric eigendecomposition (symeig.h).
 *
 * Two classical steps, written for row-major storage so that every inner
 * loop runs along a row:
 *   1. Householder reflections H_k = I - beta v v^T reduce A to a
 *      tridiagonal T = Q^T A Q, Q = H_0 H_1 ... ; Q^T is built in vt by
 *      applying each H_k to it from the left.
 *   2. The implicit QL iteration with Wilkinson shifts diagonalises T by
 *      plane rotations; a rotation of columns i, i+1 of the eigenvector
 *      matrix Q U is a rotation of rows i, i+1 of its transpose, vt.
 * The workload is the basis of a model fit: one call per label on a
 * covariance of at most a few thousand nodes, O(n^3) each.
 */
#include "symeig.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One reflection of step k: zeroes row (and column) k beyond k+1 in the
 * trailing block of a, returns T's off-diagonal entry there.  v and p are
 * scratch of n - k - 1 doubles; *beta_out receives beta (0: no
 * reflection, the row was already zero). */
static double reflect(double *a, size_t n, size_t k, double *v, double *p,
                      double *beta_out)
{
    size_t m = n - k - 1, o = k + 1;
    const double *x = a + k * n + o;
    double scale = 0;
    for (size_t i = 0; i < m; i++)
        scale = fmax(scale, fabs(x[i]));
    *beta_out = 0;
    if (scale == 0)
        return 0;
    double norm2 = 0;
    for (size_t i = 0; i < m; i++) {
        v[i] = x[i] / scale;
        norm2 += v[i] * v[i];
    }
    double norm = sqrt(norm2), alpha = v[0] > 0 ? -norm : norm;
    v[0] -= alpha; /* no cancellation: alpha has v[0]'s opposite sign */
    double vtv = 0;
    for (size_t i = 0; i < m; i++)
        vtv += v[i] * v[i];
    double beta = 2.0 / vtv, vp = 0;
    /* p = beta A22 v, then w = p - (beta/2)(v.p) v overwrites p */
    for (size_t i = 0; i < m; i++) {
        const double *row = a + (o + i) * n + o;
        double s = 0;
        for (size_t j = 0; j < m; j++)
            s += row[j] * v[j];
        p[i] = beta * s;
        vp += v[i] * p[i];
    }
    for (size_t i = 0; i < m; i++)
        p[i] -= 0.5 * beta * vp * v[i];
    /* A22 -= v w^T + w v^T */
    for (size_t i = 0; i < m; i++) {
        double *row = a + (o + i) * n + o, vi = v[i], wi = p[i];
        for (size_t j = 0; j < m; j++)
            row[j] -= vi * p[j] + wi * v[j];
    }
    *beta_out = beta;
    return alpha * scale;
}

/* vt's rows o.. = H vt's rows o.., H = I - beta v v^T; s is n scratch. */
static void apply_left(double *vt, size_t n, size_t o, const double *v,
                       double beta, double *s)
{
    size_t m = n - o;
    memset(s, 0, n * sizeof *s);
    for (size_t i = 0; i < m; i++) {
        const double *row = vt + (o + i) * n;
        for (size_t c = 0; c < n; c++)
            s[c] += v[i] * row[c];
    }
    for (size_t i = 0; i < m; i++) {
        double *row = vt + (o + i) * n, f = beta * v[i];
        for (size_t c = 0; c < n; c++)
            row[c] -= f * s[c];
    }
}

/* Step 1: d, e (e[i] couples i and i+1; e[n-1] = 0) and vt = Q^T. */
static void tridiagonalise(double *a, size_t n, double *d, double *e,
                           double *vt, double *scratch)
{
    for (size_t i = 0; i < n; i++) /* the lower triangle from the upper */
        for (size_t j = i + 1; j < n; j++)
            a[j * n + i] = a[i * n + j];
    memset(vt, 0, n * n * sizeof *vt);
    for (size_t i = 0; i < n; i++)
        vt[i * n + i] = 1;
    double *v = scratch, *p = scratch + n, *s = scratch + 2 * n;
    for (size_t k = 0; k + 2 < n; k++) {
        double beta;
        e[k] = reflect(a, n, k, v, p, &beta);
        if (beta != 0)
            apply_left(vt, n, k + 1, v, beta, s);
    }
    for (size_t i = 0; i < n; i++)
        d[i] = a[i * n + i];
    if (n >= 2)
        e[n - 2] = a[(n - 2) * n + n - 1];
    e[n - 1] = 0;
}

/* Rows i and i+1 of vt turned by the rotation (c, s). */
static void rotate_rows(double *vt, size_t n, size_t i, double c, double s)
{
    double *x = vt + i * n, *y = x + n;
    for (size_t k = 0; k < n; k++) {
        double f = y[k];
        y[k] = s * x[k] + c * f;
        x[k] = c * x[k] - s * f;
    }
}

/* One QL sweep chasing the bulge from m up to l with the Wilkinson shift
 * of the leading 2 x 2 block.  Returns 0, or 1 when a rotation underflowed
 * (the matrix split: the caller looks for the new block). */
static int ql_sweep(double *d, double *e, double *vt, size_t n, size_t l,
                    size_t m)
{
    double g = (d[l + 1] - d[l]) / (2.0 * e[l]), r = hypot(g, 1.0);
    g = d[m] - d[l] + e[l] / (g + copysign(r, g));
    double s = 1, c = 1, p = 0;
    for (size_t i = m; i-- > l;) {
        double f = s * e[i], b = c * e[i];
        r = hypot(f, g);
        e[i + 1] = r;
        if (r == 0) {
            d[i + 1] -= p;
            e[m] = 0;
            return 1;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        rotate_rows(vt, n, i, c, s);
    }
    d[l] -= p;
    e[l] = g;
    e[m] = 0;
    return 0;
}

/* Step 2: diagonalise (d, e), rotating vt's rows along.  An off-diagonal
 * entry is negligible beside its two diagonal neighbours or beside the
 * whole matrix (eps |T|, the accuracy the reflections already had): the
 * second test ends the iteration on blocks of near-zero entries, as a
 * rank-deficient covariance has, where the first alone may never hold. */
static int ql(double *d, double *e, double *vt, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm = fmax(norm, fabs(d[i]) + fabs(e[i]) + (i ? fabs(e[i - 1]) : 0));
    double tiny = DBL_EPSILON * norm;
    for (size_t l = 0; l < n; l++) {
        for (int iter = 0;; iter++) {
            size_t m = l;
            for (; m + 1 < n; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= DBL_EPSILON * dd || fabs(e[m]) <= tiny)
                    break;
            }
            if (m == l)
                break;
            if (iter == AH__SYMEIG_MAX_ITER)
                return -1;
            ql_sweep(d, e, vt, n, l, m);
        }
    }
    return 0;
}

/* Decreasing eigenvalues (selection sort: n swaps of a row, O(n^2)), and
 * each vector's largest entry positive. */
static void sort_and_sign(double *w, double *vt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (w[j] > w[best])
                best = j;
        if (best != i) {
            double t = w[i];
            w[i] = w[best];
            w[best] = t;
            double *x = vt + i * n, *y = vt + best * n;
            for (size_t k = 0; k < n; k++) {
                t = x[k];
                x[k] = y[k];
                y[k] = t;
            }
        }
        double *x = vt + i * n, big = 0;
        for (size_t k = 0; k < n; k++)
            if (fabs(x[k]) > fabs(big))
                big = x[k];
        if (big < 0)
            for (size_t k = 0; k < n; k++)
                x[k] = -x[k];
    }
}

int ah__symeig(double *a, size_t n, double *w, double *vt)
{
    if (n == 0)
        return 0;
    double *scratch = malloc(4 * n * sizeof *scratch);
    if (!scratch)
        return -2;
    double *e = scratch + 3 * n;
    tridiagonalise(a, n, w, e, vt, scratch);
    int st = ql(w, e, vt, n);
    free(scratch);
    if (st == 0)
        sort_and_sign(w, vt, n);
    return st;
}
