/*
 * test_kde.c - fast KDE p-values against every-kernel references.
 *
 * kde.c answers a query from per-cluster Hermite series, fine clusters near
 * the ends of a column and kernel-by-kernel fallbacks.  Both tails must
 * agree within 1e-12 relative with ah__kde_pvalue_exact (the library's
 * straightforward loop) and with a naive loop written here.  The naive
 * loop sums compensated: a plain double sum of 50,000 kernels is itself
 * off by up to ~1e-12.  Columns: heavy ties, spikes at 0, heavy tails,
 * gaps, constant nodes, tiny and offset scales, N from 2 to 50,000.
 * Queries: inside, at and between background values, at the edges, up to
 * 45 bandwidths outside (tiny tails, where relative precision is the
 * point) and 1e9 away.  Below 1e-290 (subnormal kernels, which the naive
 * loop rounds absolutely) the check is absolute.  A sweep out of the data
 * also holds the tiny tail within 1e-14 of an extended-precision sum.
 */
#include "acthist.h"
#include "bytes.h"
#include "check.h"
#include "model.h"

#include <float.h>
#include <math.h>
#include <string.h>

void ah__kde_pvalue_exact(const void *rep, size_t j, double x, double out[4]);

#define TOL 1e-12

static double max_rel[2]; /* worst fast-vs-naive difference, per tail */

static double gauss(uint64_t *rng)
{
    double u = check_rand_unit(rng) + 1e-300, v = check_rand_unit(rng);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

enum { KINDS = 16 };

static double draw(int kind, uint64_t *rng)
{
    double u = check_rand_unit(rng);
    switch (kind) {
    case 0: return gauss(rng);
    case 1: return u < 0.4 ? 0.0 : -log(1e-300 + check_rand_unit(rng));
    case 2: return exp(2 * gauss(rng));                 /* lognormal */
    case 3: return check_rand_unit(rng);                /* dense ends */
    case 4: return (double)(check_rand_u64(rng) % 7);   /* heavy ties */
    case 5: return u < 0.5 ? gauss(rng) : 20 + gauss(rng); /* a gap */
    case 6: return 1.0 / (1e-3 + check_rand_unit(rng)); /* Pareto-like */
    case 7: /* ReLU6: spikes at both ends */
        return u < 0.3 ? 0.0 : u < 0.4 ? 6.0 : 6 * check_rand_unit(rng);
    case 8: return 3.25;                                /* constant */
    case 9: return u < 0.9 ? 0.0 : 1.0;                 /* two values */
    case 10: return 1e-3 + 1e-9 * gauss(rng);           /* tiny scale */
    case 11: return 1e6 + gauss(rng);                   /* offset */
    case 12: return u < 0.999 ? 0.0 : 50 * check_rand_unit(rng);
    case 13: return tan(3.14159 * (check_rand_unit(rng) - 0.5)); /* Cauchy */
    case 14: /* a dense clump inside a spread */
        return u < 0.5 ? 1e-7 * check_rand_unit(rng) : 10 * gauss(rng);
    default: return 1e150 * gauss(rng);                /* huge scale */
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Scott's bandwidth from the sorted column, as the library computes it,
 * so that the comparison sees only the summation. */
static double bandwidth(const double *b, size_t n)
{
    if (n < 2 || b[0] == b[n - 1])
        return 0;
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += b[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (b[i] - mean) * (b[i] - mean);
    double h = sqrt(ss / (double)(n - 1)) * pow((double)n, -0.2);
    return h > 0 && isfinite(h) ? h : 0;
}

static void add(double *s, double *e, double v)
{
    double t = *s + v;
    *e += fabs(*s) >= fabs(v) ? (*s - t) + v : (v - t) + *s;
    *s = t;
}

/* Every kernel, both tails, as docs/METHOD.md section 2.5 states them:
 * {upper, lower}; when h = 0 the empirical ranges {up_min, up_max, lo_min,
 * lo_max}. */
static void naive(const double *b, size_t n, double h, double x,
                  double out[4])
{
    if (h == 0) {
        size_t gt = 0, ge = 0, lt = 0, le = 0;
        for (size_t i = 0; i < n; i++) {
            gt += b[i] > x;
            ge += b[i] >= x;
            lt += b[i] < x;
            le += b[i] <= x;
        }
        out[0] = (double)gt / (double)(n + 1);
        out[1] = (double)(ge + 1) / (double)(n + 1);
        out[2] = (double)lt / (double)(n + 1);
        out[3] = (double)(le + 1) / (double)(n + 1);
        return;
    }
    double up = 0, eu = 0, lo = 0, el = 0;
    for (size_t i = 0; i < n; i++) {
        double z = (x - b[i]) / h;
        add(&up, &eu, 0.5 * erfc(z / sqrt(2.0)));
        add(&lo, &el, 0.5 * erfc(-z / sqrt(2.0)));
    }
    out[0] = (up + eu) / (double)n;
    out[1] = (lo + el) / (double)n;
}

/* One tail in extended precision, where the platform has it: the naive
 * loop's own error far out (~3 z^2 ulps from rounding its erfc argument)
 * hides how close the fast path is. */
static long double extended(const double *b, size_t n, double h, double x,
                            int upper)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++) {
        long double z = ((long double)x - b[i]) / h;
        s += 0.5L * erfcl((upper ? z : -z) / sqrtl(2.0L));
    }
    return s / n;
}

static int close_enough(double got, double ref, double *rel)
{
    *rel = 0;
    if (got == ref)
        return 1;
    if (fmax(fabs(got), fabs(ref)) < 1e-290)
        return fabs(got - ref) <= 1e-300;
    *rel = fabs(got - ref) / fmax(fabs(got), fabs(ref));
    return *rel <= TOL;
}

/* The rep for one sorted column, through the model-file path (read). */
static void *make_rep(const double *b, size_t n)
{
    unsigned char *buf = malloc(n * 8);
    for (size_t i = 0; i < n; i++)
        ah__put_f64(buf + 8 * i, b[i]);
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.method = AH_METHOD_KDE;
    void *rep = NULL;
    size_t used = 0;
    ah_diag d;
    int st = ah__kde_ops.read(&rep, 1, n, &o, 0, 1, buf, n * 8, &used, &d);
    CHECK(st == AH_OK && used == n * 8, "read: %s", d.message);
    free(buf);
    return st == AH_OK ? rep : NULL;
}

/* Queries for a column: draws, background values and midpoints, the ends
 * and points up to 45 bandwidths and 1e9 beyond them. */
static size_t make_queries(const double *b, size_t n, double h, int kind,
                           size_t ndraw, uint64_t *rng, double *q)
{
    static const double far[] = {1e-3, 0.3, 1,  2,  3.5, 5,  7,    9,
                                 12,   16,  20, 25, 30,  35, 37.5, 39, 45};
    size_t k = 0;
    double step = h > 0 ? h : 1;
    for (size_t i = 0; i < ndraw; i++) {
        q[k++] = draw(kind, rng);
        size_t r = (size_t)(check_rand_u64(rng) % n);
        q[k++] = b[r];
        if (r + 1 < n)
            q[k++] = b[r] + 0.5 * (b[r + 1] - b[r]);
    }
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        q[k++] = b[n - 1] + far[i] * step;
        q[k++] = b[0] - far[i] * step;
    }
    q[k++] = b[0];
    q[k++] = b[n - 1];
    q[k++] = nextafter(b[n - 1], INFINITY);
    q[k++] = nextafter(b[0], -INFINITY);
    q[k++] = 1e9;
    q[k++] = -1e9;
    q[k++] = DBL_MAX;
    q[k++] = -DBL_MAX;
    q[k++] = 0;
    return k;
}

static void check_column(int kind, size_t n, size_t ndraw, uint64_t *rng)
{
    double *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = draw(kind, rng);
    qsort(b, n, sizeof *b, cmp_double);
    void *rep = make_rep(b, n);
    if (!rep) {
        free(b);
        return;
    }
    double h = bandwidth(b, n);
    double *q = malloc((3 * ndraw + 64) * sizeof *q);
    size_t nq = make_queries(b, n, h, kind, ndraw, rng, q);
    int bad = 0;
    for (size_t i = 0; i < nq && !bad; i++) {
        double fast[4], exact[4], ref[4];
        ah__kde_ops.pvalue(rep, 0, q[i], fast);
        ah__kde_pvalue_exact(rep, 0, q[i], exact);
        naive(b, n, h, q[i], ref);
        if (h == 0) { /* the empirical rule, exactly */
            bad = memcmp(fast, ref, sizeof fast) != 0 ||
                  memcmp(exact, ref, sizeof exact) != 0;
            if (bad)
                CHECK(0, "kind %d n %zu constant x=%.17g: [%g %g %g %g]",
                      kind, n, q[i], fast[0], fast[1], fast[2], fast[3]);
            continue;
        }
        for (int t = 0; t < 2 && !bad; t++) {
            double rn = 0, re = 0;
            int ok = fast[2 * t] == fast[2 * t + 1] &&
                     close_enough(fast[2 * t], ref[t], &rn) &&
                     close_enough(fast[2 * t], exact[2 * t], &re) &&
                     close_enough(exact[2 * t], ref[t], &re);
            max_rel[t] = fmax(max_rel[t], rn);
            if (!ok) {
                bad = 1;
                CHECK(ok,
                      "kind %d n %zu h %.17g %s tail x=%.17g: fast %.17g "
                      "exact %.17g naive %.17g",
                      kind, n, h, t ? "lower" : "upper", q[i], fast[2 * t],
                      exact[2 * t], ref[t]);
            }
        }
    }
    if (!bad)
        CHECK(1, "ok");
    free(q);
    ah__kde_ops.free(rep);
    free(b);
}

static void test_against_naive(void)
{
    static const size_t sizes[] = {2, 3, 4, 5, 6, 7, 10, 31, 100, 1000, 5000};
    uint64_t rng = check_seed;
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            check_column(kind, sizes[s], sizes[s] < 1000 ? 12 : 25, &rng);
    /* the size the fast path exists for, on the shapes that stress it */
    static const int big[] = {1, 3, 7, 14};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        check_column(big[i], 50000, 6, &rng);
}

/* Far above dense data the tail is a few kernels' worth of e^-(z^2/2);
 * a sweep in small steps crosses every switch between series, fine
 * clusters and single kernels.  With 64-bit long doubles the tiny tail
 * must also be within 1e-14 of an extended-precision sum. */
static void test_tail_sweep(void)
{
    static const int kinds[] = {3, 1, 7, 14};
    uint64_t rng = check_seed + 1;
    size_t n = 4000;
    double worst = 0;
    for (size_t s = 0; s < sizeof kinds / sizeof kinds[0]; s++) {
        int kind = kinds[s];
        double *b = malloc(n * sizeof *b);
        for (size_t i = 0; i < n; i++)
            b[i] = draw(kind, &rng);
        qsort(b, n, sizeof *b, cmp_double);
        void *rep = make_rep(b, n);
        double h = bandwidth(b, n);
        int bad = 0;
        for (double g = -3; g <= 40 && rep && !bad; g += 0.37) {
            for (int side = 0; side < 2 && !bad; side++) {
                double x = side ? b[n - 1] + g * h : b[0] - g * h;
                double fast[4], ref[4], r;
                ah__kde_ops.pvalue(rep, 0, x, fast);
                naive(b, n, h, x, ref);
                int t = side ? 0 : 1; /* the tiny tail */
                if (!close_enough(fast[2 * t], ref[t], &r) ||
                    !close_enough(fast[2 - 2 * t], ref[1 - t], &r)) {
                    bad = 1;
                    CHECK(0, "sweep kind %d x=%.17g: fast %.17g/%.17g naive "
                          "%.17g/%.17g", kind, x, fast[0], fast[2], ref[0],
                          ref[1]);
                }
                long double e = extended(b, n, h, x, !t);
                if (LDBL_MANT_DIG >= 64 && e >= 1e-290L) {
                    r = (double)(fabsl(fast[2 * t] - e) / e);
                    worst = fmax(worst, r);
                    if (r > 1e-14) {
                        bad = 1;
                        CHECK(0, "sweep kind %d x=%.17g: fast %.17g extended "
                              "%.17Lg", kind, x, fast[2 * t], e);
                    }
                }
            }
        }
        if (!bad)
            CHECK(1, "ok");
        ah__kde_ops.free(rep);
        free(b);
    }
    printf("test_kde: largest tiny-tail difference from extended precision "
           "%.1e\n", worst);
}

/* Built twice from the same columns (fit and load both build this way),
 * the p-values are bit-identical. */
static void test_deterministic(void)
{
    uint64_t rng = check_seed + 2;
    size_t n = 3000;
    double *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = draw(1, &rng);
    qsort(b, n, sizeof *b, cmp_double);
    void *r1 = make_rep(b, n), *r2 = make_rep(b, n);
    int same = r1 && r2;
    for (int i = 0; i < 500 && same; i++) {
        double x = 12 * check_rand_unit(&rng) - 2, p1[4], p2[4];
        ah__kde_ops.pvalue(r1, 0, x, p1);
        ah__kde_ops.pvalue(r2, 0, x, p2);
        same = memcmp(p1, p2, sizeof p1) == 0;
    }
    CHECK(same, "p-values differ between two builds");
    ah__kde_ops.free(r1);
    ah__kde_ops.free(r2);
    free(b);
}

int main(void)
{
    check_init();
    test_against_naive();
    test_tail_sweep();
    test_deterministic();
    printf("test_kde: largest difference from the naive loop %.1e (upper), "
           "%.1e (lower)\n", max_rel[0], max_rel[1]);
    return check_done("test_kde");
}
