/*
 * kde.c - Gaussian kernel density baseline (the paper's comparison).
 *
 * p = (1/N) sum_k Phi_bar((x - b_k) / h) for the upper tail and
 * (1/N) sum_k Phi((x - b_k) / h) for the lower one, h = s N^(-1/5), s the
 * sample standard deviation (N - 1).  Nodes with zero variance (or N = 1)
 * use the empirical rule.
 *
 * Workload: every (input, node) pair of an evaluation is a query - millions
 * of them - against N of 10^4 to 10^5.  With Scott's bandwidth almost the
 * whole background lies where a kernel is neither 0 nor 1 in double
 * precision (z in [-9, 39]), so evaluating every kernel, as
 * ah__kde_pvalue_exact still does for reference, costs O(N) erfc per query
 * and tail: 1.5 hours for N = 50,000 and D = 128.
 *
 * The fast path cuts each sorted column, at fit and load time, into
 * clusters of width <= h/2 and keeps the moments M_m = sum_k d_k^m of the
 * offsets d_k = (b_k - c) / h from each cluster's centre c.  With
 * z = (x - c) / h and He the probabilists' Hermite polynomials,
 *
 *   sum_k Phi_bar(z - d_k) = n Phi_bar(z) + phi(z) sum_m M_m/m! He_(m-1)(z),
 *   sum_k Phi(z - d_k)     = n Phi(z)     - (the same series),
 *
 * so a cluster costs one erfc, one exp and ~25 series terms whatever its
 * size.  Clusters more than ~10h away are counted whole (their kernels are
 * 1) or dropped (their mass is below 1e-17 of a lower bound on the tail).
 * Each tail is summed for its own relative precision, never as 1 - the
 * other.  The series is cut with rigorous truncation bounds: within a
 * radius |z| <= arel it is within 1e-17 of the cluster's own share of
 * either tail; beyond, its absolute error bound must fit a share of 1e-15
 * of a lower bound on the tail, or the cluster is split.  Near the ends
 * of the column, where tiny tails (far outside the data) need relative
 * accuracy at large |z|, clusters are also cut into fine ones of width
 * h/16 (radius 41); what is left is evaluated kernel by kernel, as are
 * clusters too small to gain.  Kernel arguments carry the rounding of
 * (x - b)/h as a correction, so tiny tails are not off by the ~z^2 ulps
 * that rounding z alone costs.  Everything derived is recomputed from the
 * stored sorted columns by the same code, so a loaded model gives
 * bit-identical p-values; the file format is the empirical one.
 *
 * Query cost: O(log N + clusters within ~10h of x), typically a few dozen.
 * Fit/load: O(N x 25) for the moments; memory ~10% over the columns.
 * Accuracy (tests/test_kde.c): within ~1e-15 relative of an extended-
 * precision sum for both tails, tiny ones included; a plain double loop
 * over all kernels is itself off by up to ~5e-13 far out in a tail
 * (rounding its erfc argument), which bounds their agreement.
 */
#include "bytes.h"
#include "model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

const double *ah__empirical_column(const void *rep, size_t j, size_t *n);

/* The straightforward O(N) evaluation, for tests and benchmarks. */
void ah__kde_pvalue_exact(const void *rep, size_t j, double x, double out[4]);

#define KDE_WIDTH 0.5   /* coarse cluster width, in bandwidths */
#define KDE_FINE 0.0625 /* fine cluster width: relative accuracy to |z| 41 */
#define KDE_EDGE 12.0   /* fine clusters only here: tiny tails (x outside
                         * the data) reach no deeper into it */
#define KDE_NMIN 6      /* smaller clusters are cheaper kernel by kernel */
#define KDE_PMAX 32     /* longest series (t <= 1/4 needs at most 26 terms) */
#define KDE_UMAX 1.5    /* |z| t limit: rounding grows as e^(2|z|t) */
#define KDE_ACAP 41.0   /* |z| of a cluster centre in a query window */
#define KDE_REL 1e-17   /* truncation, relative to a cluster's tail share */
#define KDE_KPT 1e-25   /* truncation per kernel, for any z */
#define KDE_ABS 1e-15   /* sum of absolute error bounds, relative to a tail */
#define KDE_DROP 1e-17  /* dropped kernels, relative to a tail */
#define KDE_ONE 9.0     /* Phi_bar(z) rounds to 1 for z < -9 */
#define KDE_ZMAX 40.0   /* and to 0 for z > 40 */

#define KDE_RSQRT2PI 0.39894228040143267794   /* 1/sqrt(2 pi) */
#define KDE_SQRT2_LO (-9.667293313452913e-17) /* sqrt(2) - M_SQRT2 */

typedef struct kde_clu {
    size_t start, n;  /* members b[start .. start + n) */
    size_t moff;      /* mom[moff .. moff + P): M_m / m!, m = 1..P */
    size_t sub, nsub; /* fine clusters fine[sub .. sub + nsub) (coarse) */
    int P;            /* series length; -1: kernel by kernel */
    double c;         /* centre */
    double arel;      /* |z| <= arel: truncation <= KDE_REL of either share */
    double tabs;      /* error bound for |z| > arel */
} kde_clu;

/* Coarse clusters cover the column; near its ends they are also cut into
 * fine ones (those with >= KDE_NMIN members; the rest of a coarse cluster
 * is then evaluated kernel by kernel). */
typedef struct kde_node {
    size_t nc, nf, nmom;
    kde_clu *clu, *fine;
    double *mom;
} kde_node;

typedef struct kde {
    void *emp;      /* sorted columns */
    size_t D;
    double *h;      /* bandwidth per node; 0 = empirical fallback */
    kde_node *node; /* clusters per node (none when h = 0) */
} kde;

static void kde_free(void *rep)
{
    kde *k = rep;
    if (!k)
        return;
    ah__empirical_ops.free(k->emp);
    if (k->node)
        for (size_t j = 0; j < k->D; j++) {
            free(k->node[j].clu);
            free(k->node[j].fine);
            free(k->node[j].mom);
        }
    free(k->node);
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
    k->h = calloc(D ? D : 1, sizeof *k->h);
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

/*
 * Truncation bounds.  |He_m(z)| <= G_m(|z|), the polynomial with the
 * absolute values of He_m's coefficients, and sum_m G_m(a) s^m/m! =
 * e^(a s + s^2/2).  So for one kernel (|d| <= t) and any rho >= 1 the
 * terms after the P-th sum to at most
 *   phi(a) sum_(m>=P) t^(m+1)/(m+1)! G_m(a)
 *     <= t/(P+1) rho^-P e^(-(a - rho t)^2/2 + rho^2 t^2) / sqrt(2 pi),
 * whatever a = |z| is; rho^2 = P/(2t^2) gives kde_trunc_abs.
 */
static double kde_trunc_abs(int P, double t)
{
    double r2 = (double)P / (2 * t * t);
    double e = r2 > 1 ? 0.5 * P * (1 - log(r2)) : t * t;
    return t / (P + 1) * exp(e) * KDE_RSQRT2PI;
}

/* Relative to the cluster's smaller tail share, which is at least
 * n Phi_bar(a + t) >= n phi(a) e^(-a t - t^2/2) / (a + t + 1) (Birnbaum's
 * bound on Mills' ratio), the same sum is at most
 *   t (a + t + 1)/(P+1) rho^-P e^(a t (rho + 1) + t^2 (rho^2 + 1)/2),
 * increasing in a; rho minimises the exponent.  The larger share is at
 * least n Phi(-t) > 0.4 n, which kde_trunc_abs covers. */
static double kde_trunc_rel(int P, double t, double a)
{
    double rho = (sqrt(a * a + 4.0 * P) - a) / (2 * t);
    if (rho < 1)
        rho = 1;
    return t * (a + t + 1) / (P + 1) *
           exp(-P * log(rho) + a * t * (rho + 1) +
               t * t * (rho * rho + 1) / 2);
}

/* What a series may be off by per kernel when |z| > arel, where its error
 * is only bounded absolutely: truncation, plus rounding of ~2P ulps of
 * the size of its terms, phi(a) sum_m t^m/m! G_(m-1)(a) <= phi(a) t
 * e^(a t + t^2/2), which falls for a > t. */
static double kde_error_abs(int P, double t, double arel)
{
    double a = arel, e = -0.5 * a * a + a * t + 0.5 * t * t;
    return kde_trunc_abs(P, t) +
           2.0 * P * DBL_EPSILON * t * exp(e) * KDE_RSQRT2PI;
}

/* Shortest series for half-width t meeting KDE_KPT for any z and KDE_REL
 * up to |z| = *arel; -1 when none does (not for t <= 1/4). */
static int kde_series_len(double t, double *arel)
{
    double a = fmin(KDE_UMAX / t, KDE_ACAP);
    for (int P = 1; P <= KDE_PMAX; P++)
        if (kde_trunc_abs(P, t) <= KDE_KPT &&
            kde_trunc_rel(P, t, a) <= KDE_REL) {
            *arel = a;
            return P;
        }
    *arel = 0;
    return kde_trunc_abs(KDE_PMAX, t) <= KDE_KPT ? KDE_PMAX : -1;
}

/* mom[m-1] = sum_k d_k^m / m!, m = 1..P, compensated (Neumaier) so that
 * cancelling odd moments stay accurate to the size of their terms; ties
 * are added once with their multiplicity. */
static void kde_moments(const double *b, size_t n, double c, double h, int P,
                        double *mom)
{
    double s[KDE_PMAX] = {0}, e[KDE_PMAX] = {0};
    for (size_t i = 0; i < n;) {
        size_t r = i + 1;
        while (r < n && b[r] == b[i])
            r++;
        double d = (b[i] - c) / h, p = (double)(r - i);
        for (int m = 0; m < P; m++) {
            p *= d / (m + 1);
            double y = s[m] + p;
            e[m] += fabs(s[m]) >= fabs(p) ? (s[m] - y) + p : (p - y) + s[m];
            s[m] = y;
        }
        i = r;
    }
    for (int m = 0; m < P; m++)
        mom[m] = s[m] + e[m];
}

/* End of the cluster of width <= w that starts at b[i] (ties stay
 * together). */
static size_t kde_cluster_end(const double *b, size_t n, size_t i, double w)
{
    double lim = b[i] + w;
    size_t r = i + 1;
    while (r < n && b[r] <= lim)
        r++;
    return r;
}

/* Members [i, r) of a sorted column as one cluster (moments not yet). */
static void kde_set_clu(kde_clu *q, const double *b, size_t i, size_t r,
                        double h)
{
    q->start = i;
    q->n = r - i;
    q->c = b[i] + 0.5 * (b[r - 1] - b[i]);
    double t = fmax((q->c - b[i]) / h, (b[r - 1] - q->c) / h);
    q->moff = q->sub = q->nsub = 0;
    q->tabs = 0;
    if (q->n < KDE_NMIN) {
        q->P = -1;
        q->arel = 0;
    } else if (t == 0) {
        q->P = 0; /* all ties: n Phi_bar(z) is exact */
        q->arel = INFINITY;
    } else {
        q->P = kde_series_len(t, &q->arel);
        if (q->P > 0)
            q->tabs = (double)q->n * kde_error_abs(q->P, t, q->arel);
    }
}

/* Fine clusters of >= KDE_NMIN members within b[i, r): count them, and
 * set them when out is not NULL. */
static size_t kde_fine(const double *b, size_t i, size_t r, double h,
                       kde_clu *out)
{
    size_t k = 0;
    while (i < r) {
        size_t e = kde_cluster_end(b, r, i, KDE_FINE * h);
        if (e - i >= KDE_NMIN) {
            if (out)
                kde_set_clu(out + k, b, i, e, h);
            k++;
        }
        i = e;
    }
    return k;
}

static int kde_build_node(kde_node *nd, const double *b, size_t n, double h)
{
    size_t nc = 0, nf = 0, nmom = 0;
    for (size_t i = 0; i < n; nc++)
        i = kde_cluster_end(b, n, i, KDE_WIDTH * h);
    nd->clu = malloc(nc * sizeof *nd->clu);
    if (!nd->clu)
        return AH_ERR_NOMEM;
    nd->nc = nc;
    for (size_t c = 0, i = 0; c < nc; c++) {
        size_t r = kde_cluster_end(b, n, i, KDE_WIDTH * h);
        kde_clu *q = nd->clu + c;
        kde_set_clu(q, b, i, r, h);
        if (q->P > 0 && q->arel < KDE_ACAP &&
            (b[i] - b[0] <= KDE_EDGE * h ||
             b[n - 1] - b[r - 1] <= KDE_EDGE * h)) {
            q->sub = nf;
            q->nsub = kde_fine(b, i, r, h, NULL);
            nf += q->nsub;
        }
        i = r;
    }
    nd->fine = malloc((nf ? nf : 1) * sizeof *nd->fine);
    if (!nd->fine)
        return AH_ERR_NOMEM;
    nd->nf = nf;
    for (size_t c = 0; c < nc; c++) {
        const kde_clu *q = nd->clu + c;
        if (q->nsub)
            kde_fine(b, q->start, q->start + q->n, h, nd->fine + q->sub);
    }
    for (size_t c = 0; c < nc + nf; c++) {
        kde_clu *q = c < nc ? nd->clu + c : nd->fine + (c - nc);
        q->moff = nmom;
        nmom += q->P > 0 ? (size_t)q->P : 0;
    }
    nd->mom = malloc((nmom ? nmom : 1) * sizeof *nd->mom);
    if (!nd->mom)
        return AH_ERR_NOMEM;
    nd->nmom = nmom;
    for (size_t c = 0; c < nc + nf; c++) {
        const kde_clu *q = c < nc ? nd->clu + c : nd->fine + (c - nc);
        if (q->P > 0)
            kde_moments(b + q->start, q->n, q->c, h, q->P,
                        nd->mom + q->moff);
    }
    return AH_OK;
}

/* Bandwidths, then the clusters of every node. */
static int kde_prepare(kde *k, ah_diag *diag)
{
    kde_bandwidths(k);
    k->node = calloc(k->D ? k->D : 1, sizeof *k->node);
    if (!k->node)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    for (size_t j = 0; j < k->D; j++) {
        size_t n;
        const double *b = ah__empirical_column(k->emp, j, &n);
        if (k->h[j] > 0 &&
            kde_build_node(k->node + j, b, n, k->h[j]) != AH_OK)
            return ah__fail(diag, AH_ERR_NOMEM, -1, (int64_t)j,
                            "out of memory for the KDE clusters of node %zu",
                            j);
    }
    return AH_OK;
}

static int kde_end_pass(void *rep, int pass, ah_diag *diag)
{
    kde *k = rep;
    int st = ah__empirical_ops.end_pass(k->emp, pass, diag);
    return st == AH_OK ? kde_prepare(k, diag) : st;
}

static double kde_phibar(double z)
{
    return 0.5 * erfc(z / M_SQRT2);
}

/* A lower bound on sum_k Phi_bar((x - b_k)/h) when every b_k < x (upper)
 * or on sum_k Phi((x - b_k)/h) when every b_k > x (lower): the best of
 * m times the m-th nearest kernel, m = 1, 2, 4, ... */
static double kde_floor(const double *b, size_t n, double x, double h,
                        int upper)
{
    double best = 0;
    for (size_t m = 1; m <= n; m *= 2) {
        double z = upper ? (x - b[n - m]) / h : (b[m - 1] - x) / h;
        best = fmax(best, (double)m * kde_phibar(z));
        if (m > n / 2)
            break;
    }
    return best;
}

/* Kernels farther than z from x on the tail's small side sum to at most
 * n Phi_bar(z) <= n e^(-z^2/2)/2, which this z keeps below KDE_DROP lb. */
static double kde_drop_z(size_t n, double lb)
{
    if (!(lb > 0))
        return KDE_ZMAX;
    double z = sqrt(2 * log(0.5 * (double)n / (KDE_DROP * lb)));
    return z < KDE_ZMAX ? z : KDE_ZMAX;
}

/* First cluster whose last member is >= v, and first whose first is > v. */
static size_t kde_hi_ge(const kde_clu *cl, size_t nc, const double *b,
                        double v)
{
    size_t lo = 0, hi = nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[cl[mid].start + cl[mid].n - 1] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t kde_lo_gt(const kde_clu *cl, size_t nc, const double *b,
                        double v)
{
    size_t lo = 0, hi = nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[cl[mid].start] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* phi(z) sum_(m=1..P) mom[m-1] He_(m-1)(z).  z^2 is split exactly (fma)
 * so that phi keeps its relative precision far out. */
static double kde_series(const double *mom, int P, double z)
{
    double zz = z * z, err = fma(z, z, -zz);
    double phi = exp(-0.5 * zz) * (1 - 0.5 * err) * KDE_RSQRT2PI;
    double hp = 1, hc = z, s = mom[0];
    for (int m = 1; m < P; m++) {
        s += mom[m] * hc;
        double hn = z * hc - m * hp;
        hp = hc;
        hc = hn;
    }
    return phi * s;
}

/* z = (x - y) / h rounded, and in *lo what the roundings lost:
 * (x - y)/h = z + *lo to far below an ulp of z.  Far out in a tail the
 * kernel falls as e^(-z^2/2), so an ulp of z costs ~z^2 ulps of it. */
static double kde_z(double x, double y, double h, double hinv, double *lo)
{
    double d = x - y, bb = d - x;
    double e = (x - (d - bb)) + (-y - bb); /* x - y = d + e exactly */
    double z = d / h;
    *lo = isfinite(d) ? (fma(-z, h, d) + e) * hinv : 0;
    return z;
}

/* Phi_bar(a + alo), a >= 0, alo tiny.  erfc's argument a/sqrt(2) rounds
 * too; both losses are put back to first order with the hazard
 * phi/Phi_bar, which lies in [a, a + 1/a] (Mills' ratio bounds). */
static double kde_phibar_acc(double a, double alo)
{
    double y = a / M_SQRT2, v = 0.5 * erfc(y);
    if (a < 2 || !(v > 0))
        return v; /* sensitivity below 6 ulps, or 0 */
    double r = fma(-y, M_SQRT2, a) - y * KDE_SQRT2_LO; /* a - sqrt(2) y */
    return v * (1 - (a + 1 / a) * (r + alo));
}

/* Kernel by kernel, added to *up and *down: one erfc gives both tails,
 * the smaller share directly and the larger as 1 - it (>= 1/2, so no
 * cancellation). */
static void kde_direct(const double *b, size_t n, double x, double h,
                       double hinv, double *up, double *down)
{
    double u = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        double lo, z = kde_z(x, b[i], h, hinv, &lo);
        double v = kde_phibar_acc(fabs(z), z >= 0 ? lo : -lo);
        if (z >= 0) {
            u += v;
            d += 1 - v;
        } else {
            u += 1 - v;
            d += v;
        }
    }
    *up += u;
    *down += d;
}

/* Both tails' sums over cluster q, by its series when that is accurate
 * enough: within its relative radius, or when the small share (upper for
 * z >= 0) is not needed, or when its error bound fits that share's
 * budget (bu or bl).  Otherwise by its fine clusters and kernel by
 * kernel. */
static void kde_cluster(const kde_node *nd, const kde_clu *q, const double *b,
                        double x, double h, double hinv, int nu, int nl,
                        double bu, double bl, double *up, double *down)
{
    double zlo, z = kde_z(x, q->c, h, hinv, &zlo), a = fabs(z);
    int small = z >= 0 ? nu : nl;
    *up = *down = 0;
    if (q->P >= 0 &&
        (a <= q->arel || !small || q->tabs <= (z >= 0 ? bu : bl))) {
        double alo = z >= 0 ? zlo : -zlo, nn = (double)q->n;
        double v = kde_phibar_acc(a, alo), w = 1 - v, s = 0;
        if (q->P > 0) {
            /* the series, phi(z) times a slow polynomial, falls like the
             * kernel: the same first-order correction of z's rounding */
            s = kde_series(nd->mom + q->moff, q->P, z);
            if (a >= 2)
                s *= 1 - (a + 1 / a) * alo;
        }
        *up = nn * (z >= 0 ? v : w) + s;
        *down = nn * (z >= 0 ? w : v) - s;
        return;
    }
    size_t i = q->start, end = q->start + q->n;
    if (q->nsub) {
        /* the fine clusters share this cluster's budget */
        bu /= (double)q->nsub;
        bl /= (double)q->nsub;
        for (size_t f = q->sub; f < q->sub + q->nsub; f++) {
            const kde_clu *g = nd->fine + f;
            double u, d;
            kde_direct(b + i, g->start - i, x, h, hinv, up, down);
            kde_cluster(nd, g, b, x, h, hinv, nu, nl, bu, bl, &u, &d);
            *up += u;
            *down += d;
            i = g->start + g->n;
        }
    }
    kde_direct(b + i, end - i, x, h, hinv, up, down);
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
    const kde_node *nd = k->node + j;
    const kde_clu *cl = nd->clu;
    size_t nc = nd->nc;
    double hinv = 1 / h;
    /* Lower bounds on both tails: kernels of b >= x are >= 1/2 upper. */
    size_t ge = n - ah__lower_bound(b, n, x), le = ah__upper_bound(b, n, x);
    double ulb = ge ? 0.5 * (double)ge : kde_floor(b, n, x, h, 1);
    double llb = le ? 0.5 * (double)le : kde_floor(b, n, x, h, 0);
    double zu = kde_drop_z(n, ulb), zl = kde_drop_z(n, llb);
    /* Upper: clusters [u0, u1) are evaluated, those from u1 on are all 1,
     * those before u0 dropped.  Lower mirrors with [l0, l1).  The two
     * ranges overlap around x, so [c0, c1) is their union. */
    size_t u0 = kde_hi_ge(cl, nc, b, x - zu * h);
    size_t u1 = kde_lo_gt(cl, nc, b, x + KDE_ONE * h);
    size_t l0 = kde_hi_ge(cl, nc, b, x - KDE_ONE * h);
    size_t l1 = kde_lo_gt(cl, nc, b, x + zl * h);
    size_t c0 = u0 < l0 ? u0 : l0, c1 = u1 > l1 ? u1 : l1;
    double up = u1 < nc ? (double)(n - cl[u1].start) : 0;
    double down = l0 < nc ? (double)cl[l0].start : (double)n;
    /* Each cluster evaluated gets an equal share of KDE_ABS of the tail's
     * lower bound for series used beyond their relative radius. */
    double bu = c1 > c0 ? KDE_ABS * ulb / (double)(c1 - c0) : 0;
    double bl = c1 > c0 ? KDE_ABS * llb / (double)(c1 - c0) : 0;
    for (size_t c = c0; c < c1; c++) {
        int nu = c >= u0 && c < u1, nl = c >= l0 && c < l1;
        double cu, cd;
        kde_cluster(nd, cl + c, b, x, h, hinv, nu, nl, bu, bl, &cu, &cd);
        if (nu)
            up += cu;
        if (nl)
            down += cd;
    }
    out[0] = out[1] = up / (double)n;
    out[2] = out[3] = down / (double)n;
}

/* Kahan-Babuska-Neumaier: a plain sum of N = 50,000 kernels is itself off
 * by up to ~1e-12, the tolerance the fast path is held to. */
static void kde_add(double *s, double *e, double v)
{
    double t = *s + v;
    *e += fabs(*s) >= fabs(v) ? (*s - t) + v : (v - t) + *s;
    *s = t;
}

void ah__kde_pvalue_exact(const void *rep, size_t j, double x, double out[4])
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
    size_t lo = ah__lower_bound(b, n, x - 39.0 * h);
    size_t hi = ah__upper_bound(b, n, x + 9.0 * h);
    double up = (double)(n - hi), eu = 0;
    for (size_t i = lo; i < hi; i++)
        kde_add(&up, &eu, kde_phibar((x - b[i]) / h));
    lo = ah__lower_bound(b, n, x - 9.0 * h);
    hi = ah__upper_bound(b, n, x + 39.0 * h);
    double down = (double)lo, ed = 0;
    for (size_t i = lo; i < hi; i++)
        kde_add(&down, &ed, kde_phibar((b[i] - x) / h));
    out[0] = out[1] = (up + eu) / (double)n;
    out[2] = out[3] = (down + ed) / (double)n;
}

static size_t kde_payload_bytes(const void *rep)
{
    return ah__empirical_ops.payload_bytes(((const kde *)rep)->emp);
}

static void kde_write(const void *rep, unsigned char *buf)
{
    ah__empirical_ops.write(((const kde *)rep)->emp, buf);
}

/* The bandwidths and clusters are recomputed from the stored columns by
 * the same code, so a loaded model gives bit-identical p-values. */
static int kde_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                    int compact, int threads, const unsigned char *buf,
                    size_t len, size_t *used, ah_diag *diag)
{
    kde *k = calloc(1, sizeof *k);
    if (!k)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    k->D = D;
    k->h = calloc(D ? D : 1, sizeof *k->h);
    int st = k->h ? ah__empirical_ops.read(&k->emp, D, n, o, compact,
                                           threads, buf, len, used, diag)
                  : ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (st == AH_OK)
        st = kde_prepare(k, diag);
    if (st != AH_OK) {
        kde_free(k);
        return st;
    }
    *rep = k;
    return AH_OK;
}

static size_t kde_memory_bytes(const void *rep)
{
    const kde *k = rep;
    size_t bytes = sizeof *k + k->D * (sizeof(double) + sizeof(kde_node)) +
                   ah__empirical_ops.memory_bytes(k->emp);
    for (size_t j = 0; k->node && j < k->D; j++)
        bytes += (k->node[j].nc + k->node[j].nf) * sizeof(kde_clu) +
                 k->node[j].nmom * sizeof(double);
    return bytes;
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
