/*
 * test_scan_individual.c - ah_scan_individual against two references: a
 * brute-force scan that tries every node's p_max as a threshold (small
 * inputs), and the previous implementation, which sorts every value <=
 * alpha_max and scores every distinct one (any size).  The library prunes
 * with bounds on buckets of values, so it is checked bit for bit (score,
 * alpha, size, nodes, and errors) on inputs that stress those bounds:
 * uniform and quantized p-values, many tiny values, heavy ties, exact score
 * ties, values on bucket boundaries, 0, -0.0, subnormals, negative values,
 * infinities, 1.0 and above, for every statistic, alpha_max from -1 to
 * infinity (0, 5e-324, 1e-300, 0.05, 0.5, 1, 2 among others) and n from 0
 * to over 10,000.  Those odd values go to the scan itself
 * (ah__scan_individual); the public call refuses them (alpha_max outside
 * [1e-12, 1], p-values outside [0, 1]) and is otherwise the same scan,
 * which test_public checks.  Seeds come from AH_TEST_SEED (check.h).
 */
#include "acthist.h"
#include "bytes.h"
#include "check.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reference 1: brute force, O(n^2)                                         */
/* ------------------------------------------------------------------------ */

/* For each candidate threshold count the nodes at or below it.  Ties in
 * score keep the smallest threshold, whatever the visiting order. */
static void reference(const double *p, size_t n, int stat, double amax,
                      ah_scan_result *res, size_t *nodes)
{
    res->score = 0.0;
    res->alpha = 0.0;
    res->size = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i], s;
        size_t cnt = 0;
        if (!(a <= amax))
            continue;
        for (size_t j = 0; j < n; j++)
            cnt += p[j] <= a;
        s = ah_stat_score(stat, a, (double)cnt, (double)cnt);
        if (s > res->score || (s == res->score && s > 0 && a < res->alpha)) {
            res->score = s;
            res->alpha = a;
            res->size = cnt;
        }
    }
    if (res->score > 0) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (p[j] <= res->alpha)
                nodes[k++] = j;
    }
}

/* ------------------------------------------------------------------------ */
/* Reference 2: the previous implementation, verbatim but for names: sort    */
/* every value <= alpha_max, score every distinct one (its radix sort is the */
/* library's, which has not changed).                                        */
/* ------------------------------------------------------------------------ */

/* Insertion sort that gives up (returning 0) after budget element moves;
 * keys are then a permutation of the input, still to be sorted. */
static int old_insertion_sort(uint64_t *keys, size_t n, size_t budget)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t k = keys[i];
        size_t j = i;
        for (; j > 0 && keys[j - 1] > k; j--)
            keys[j] = keys[j - 1];
        keys[j] = k;
        if (i - j > budget)
            return 0;
        budget -= i - j;
    }
    return 1;
}

/*
 * Sort keys[0..n) ascending; scratch holds 2n + 1 words.  P-values spread
 * fairly evenly over [min, max], so one counting pass into n buckets of
 * equal width in value leaves only a few inversions (equal values, the
 * common ties, are no inversions at all) for an insertion sort to remove.
 * Values clustered inside a few buckets exceed the insertion budget and go
 * to the radix sort, so the cost stays O(n) either way.
 */
static void old_sort_keys(uint64_t *keys, uint64_t *scratch, size_t n)
{
    uint64_t kmin = UINT64_MAX, kmax = 0;
    double lo, hi, scale;
    size_t *start = (size_t *)(void *)(scratch + n);
    if (n < 48) {
        old_insertion_sort(keys, n, SIZE_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kmin = keys[i] < kmin ? keys[i] : kmin;
        kmax = keys[i] > kmax ? keys[i] : kmax;
    }
    lo = ah__key_value(kmin);
    hi = ah__key_value(kmax);
    scale = (double)n / (hi - lo);
    if (kmin == kmax)
        return;
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(scale)) {
        ah__radix_sort_u64(keys, scratch, n); /* unchanged since */
        return;
    }
    /* Monotone bucket index: subtraction, product and truncation all
     * preserve order, so the buckets are ordered. */
#define BUCKET(k) (size_t)((ah__key_value(k) - lo) * scale)
    memset(start, 0, (n + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(keys[i]);
        start[(b < n ? b : n - 1) + 1]++;
    }
    for (size_t b = 0; b < n; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(keys[i]);
        scratch[start[b < n ? b : n - 1]++] = keys[i];
    }
#undef BUCKET
    memcpy(keys, scratch, n * sizeof *keys);
    if (!old_insertion_sort(keys, n, 4 * n))
        ah__radix_sort_u64(keys, scratch, n); /* unchanged since */
}

/* phi(a, n, n): for Berk-Jones with n_a = n, q = 1 and ah_stat_score
 * reduces to n (0 - ln a); computing that directly costs one logarithm and
 * gives the same bits. */
static inline double old_score_full(int stat, double a, double n)
{
    if (stat == AH_STAT_BJ)
        return a > 0.0 && a < 1.0 ? n * -log(a) : 0.0;
    return ah_stat_score(stat, a, n, n);
}

static int old_scan(const double *pmax, size_t n, int stat,
                       double alpha_max, ah_scan_result *res, size_t *nodes,
                       ah_diag *diag)
{
    uint64_t *keys;
    size_t m = 0, nan = 0, bytes;
    double best = 0.0, best_alpha = 0.0;
    size_t best_size = 0;

    ah__diag_clear(diag);
    if (!res || (!pmax && n > 0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: NULL argument");
    res->score = 0.0;
    res->alpha = 0.0;
    res->size = 0;
    if (stat != AH_STAT_BJ && stat != AH_STAT_HC && stat != AH_STAT_KS)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: unknown statistic %d", stat);
    if (isnan(alpha_max))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: alpha_max is NaN");
    /* Branch-free counting: about half the values pass on clean inputs,
     * which a branch would mispredict. */
    for (size_t i = 0; i < n; i++) {
        m += pmax[i] <= alpha_max;
        nan += isnan(pmax[i]) != 0;
    }
    if (nan) {
        size_t i = 0;
        while (!isnan(pmax[i]))
            i++;
        return ah__fail(diag, AH_ERR_VALUE, -1, (int64_t)i,
                        "scan_individual: p-value of node %zu is NaN", i);
    }
    if (m == 0)
        return AH_OK;
    /* m + 1 keys (the branch-free fill writes one past the last), 2m + 1
     * more as sorting scratch. */
    if (!ah__mul_ok(3 * m + 2, sizeof *keys, &bytes) ||
        !(keys = malloc(bytes)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "scan_individual: out of memory for %zu values", m);
    m = 0;
    for (size_t i = 0; i < n; i++) {
        keys[m] = ah__key_of(pmax[i]);
        m += pmax[i] <= alpha_max;
    }
    old_sort_keys(keys, keys + m + 1, m);

    /* keys[i] is the (i+1)-th smallest value: a threshold at the last copy
     * of each distinct value, where the subset size is i + 1.  Strictly
     * greater keeps the smallest threshold on ties.  (Equal keys are equal
     * values; -0.0 and +0.0 differ but both score 0.) */
    for (size_t i = 0; i < m; i++) {
        double a, s;
        if (i + 1 < m && keys[i + 1] == keys[i])
            continue;
        a = ah__key_value(keys[i]);
        s = old_score_full(stat, a, (double)(i + 1));
        if (s > best) {
            best = s;
            best_alpha = a;
            best_size = i + 1;
        }
    }
    free(keys);
    if (best > 0.0) {
        res->score = best;
        res->alpha = best_alpha;
        res->size = best_size;
        if (nodes) {
            /* Branch-free again; the write at k never passes n - 1, since
             * k < best_size until the last member is written. */
            size_t k = 0;
            for (size_t i = 0; i < n && k < best_size; i++) {
                nodes[k] = i;
                k += pmax[i] <= best_alpha;
            }
        }
    }
    return AH_OK;
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */
/* ------------------------------------------------------------------------ */

static double urand(uint64_t *rng)
{
    return check_rand_unit(rng);
}

static size_t irand(uint64_t *rng, size_t n)
{
    return n ? (size_t)(check_rand_u64(rng) % n) : 0;
}

/* A value on a grid of 2^r steps per octave near scale s, or one ulp
 * beside it: the edges of the scan's buckets and blocks. */
static double grid_value(uint64_t *rng, double s)
{
    int r = (int)irand(rng, 11), e;
    double m = 1.0 + (double)irand(rng, (size_t)1 << r) / (double)(1 << r);
    double x;
    frexp(s, &e);
    x = ldexp(m, e - 1 - (int)irand(rng, 6));
    switch (irand(rng, 3)) {
    case 0: return nextafter(x, 0.0);
    case 1: return nextafter(x, 2.0);
    default: return x;
    }
}

/* Odd values that no p-value should be, but that the scan accepts. */
static double odd_value(uint64_t *rng, double s)
{
    switch (irand(rng, 14)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return -urand(rng);
    case 3: return -INFINITY;
    case 4: return INFINITY;
    case 5: return 1.0;
    case 6: return 1.0 + urand(rng);
    case 7: return nextafter(1.0, 0.0);
    case 8: return 1.0 - 0x1p-16 * urand(rng); /* where hc, ks lose digits */
    case 9: return 5e-324 * (double)(1 + irand(rng, 1000)); /* subnormal */
    case 10: return nextafter(DBL_MIN, 0.0);
    case 11: return DBL_MIN;
    case 12: return s;
    default: return nextafter(s, irand(rng, 2) ? 0.0 : 2.0);
    }
}

enum { KINDS = 15 };

/* n random p_max values of one of KINDS kinds, at the scale s of
 * alpha_max (values in (0, s] are the ones that matter). */
static void fill(double *p, size_t n, int kind, double s, uint64_t *rng)
{
    uint64_t N = 1 + check_rand_u64(rng) % 60; /* background size */
    double tiny = ldexp(s, -(int)(3 + irand(rng, 40)));
    for (size_t i = 0; i < n; i++) {
        double u = urand(rng);
        switch (kind) {
        case 0: /* empirical p-values (k + 1) / (N + 1): heavy ties */
            p[i] = (double)(1 + check_rand_u64(rng) % (N + 1)) / (double)(N + 1);
            break;
        case 1: /* hist p-values, as in the benchmark */
            p[i] = (double)(1 + check_rand_u64(rng) % 50001) / 50001.0;
            break;
        case 2: /* continuous, at the scale */
            p[i] = 2.0 * s * (1.0 - u);
            break;
        case 3: /* anomalous: 5% tiny, quantized */
            p[i] = (double)(u < 0.05 ? 1 + irand(rng, 5)
                                     : 1 + check_rand_u64(rng) % 50001) /
                   50001.0;
            break;
        case 4: /* anomalous: 30% tiny, continuous */
            p[i] = u < 0.3 ? tiny * urand(rng) : 2.0 * s * urand(rng);
            break;
        case 5: /* mostly tiny, many octaves deep */
            p[i] = u < 0.9 ? ldexp(s * (1.0 - urand(rng)), -(int)irand(rng, 60))
                           : urand(rng);
            break;
        case 6: /* bucket and block edges */
            p[i] = u < 0.8 ? grid_value(rng, s) : 2.0 * s * urand(rng);
            break;
        case 7: /* odd values among continuous ones */
            p[i] = u < 0.2 ? odd_value(rng, s) : 2.0 * s * (1.0 - urand(rng));
            break;
        case 8: /* many exactly at alpha_max */
            p[i] = u < 0.5   ? s
                   : u < 0.7 ? 2.0 * s * urand(rng)
                             : s * urand(rng);
            break;
        case 9: /* a few distinct values, possibly all equal */
            p[i] = s * (double)(check_rand_u64(rng) % 3 + 1) / 3.0;
            break;
        case 10: /* a tight cluster and two outliers */
            p[i] = i == 0 ? s * 1e-6 : i == 1 ? s : s / 2 * (1.0 + 1e-9 * u);
            break;
        case 11: /* nothing at or below alpha_max */
            p[i] = s + (1.0 + s) * (0.5 + 0.5 * u) + 1e-9;
            break;
        case 12: /* near 1, where hc and ks round badly */
            p[i] = u < 0.5 ? 1.0 - ldexp(urand(rng), -(int)irand(rng, 53))
                           : urand(rng);
            break;
        case 13: /* only near 1: rounding decides hc and ks */
            p[i] = 1.0 - ldexp(1.0 + u, -(int)(20 + irand(rng, 4)));
            break;
        default: /* all kinds of odd values, densely */
            p[i] = u < 0.7 ? odd_value(rng, s) : grid_value(rng, s);
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* Run both and compare bit for bit; returns 1 when they agree. */
static int agree(const double *p, size_t n, int stat, double amax,
                 size_t *got, size_t *want, const char *what, int *reported)
{
    ah_scan_result r, e;
    ah_diag d, de;
    int st = ah__scan_individual(p, n, stat, amax, &r, got, &d);
    int se = old_scan(p, n, stat, amax, &e, want, &de);
    int ok = st == se && memcmp(&r.score, &e.score, sizeof r.score) == 0 &&
             memcmp(&r.alpha, &e.alpha, sizeof r.alpha) == 0 &&
             r.size == e.size && d.status == de.status && d.col == de.col &&
             strcmp(d.message, de.message) == 0 &&
             (st != AH_OK || memcmp(got, want, e.size * sizeof *got) == 0);
    if (ok && st == AH_OK) { /* and without a node buffer or diag */
        ah_scan_result r2;
        ok = ah__scan_individual(p, n, stat, amax, &r2, NULL, NULL) == AH_OK &&
             memcmp(&r2, &r, sizeof r) == 0;
    }
    if (!ok && (*reported)++ < 5)
        CHECK(0, "%s n %zu stat %d amax %.17g: got %d %.17g a=%.17g size %zu, "
              "want %d %.17g a=%.17g size %zu", what, n, stat, amax, st,
              r.score, r.alpha, r.size, se, e.score, e.alpha, e.size);
    return ok;
}

static const double amaxes[] = {0.5,  0.05,    1.0,   2.0,       0.0,
                                1e-300, 0.25, 0.1,   0.999, 0.3,      1e-310,
                                0x1p-1022, -1.0, -0.0, INFINITY, 5e-324};

/* Small inputs against brute force too. */
static void test_small(void)
{
    uint64_t rng = check_seed;
    int mismatches = 0, cases = 0, reported = 0;
    for (int rep = 0; rep < 3000; rep++) {
        size_t n = irand(&rng, rep < 1000 ? 40 : 200);
        int kind = (int)irand(&rng, KINDS);
        double amax = amaxes[irand(&rng, sizeof amaxes / sizeof *amaxes)];
        double s = amax > 0.0 && amax < 1.0 ? amax : 0.5;
        double *p = malloc((n + 1) * sizeof *p);
        size_t *got = malloc((n + 1) * sizeof *got),
               *want = malloc((n + 1) * sizeof *want);
        fill(p, n, kind, s, &rng);
        for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
            ah_scan_result r, e;
            cases++;
            if (!agree(p, n, stat, amax, got, want, "small", &reported)) {
                mismatches++;
                continue;
            }
            ah__scan_individual(p, n, stat, amax, &r, got, NULL);
            reference(p, n, stat, amax, &e, want);
            if (r.score != e.score || r.alpha != e.alpha || r.size != e.size ||
                memcmp(got, want, e.size * sizeof *got) != 0) {
                mismatches++;
                if (reported++ < 5)
                    CHECK(0, "brute force n %zu kind %d stat %d amax %g: "
                          "got %.17g a=%.17g size %zu, want %.17g a=%.17g "
                          "size %zu", n, kind, stat, amax, r.score, r.alpha,
                          r.size, e.score, e.alpha, e.size);
            }
        }
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d of %d small cases differ", mismatches, cases);
}

/* Every kind and alpha_max at sizes up to 10,000, against the previous
 * implementation. */
static void test_large(void)
{
    static const size_t sizes[] = {64, 65, 100, 500, 1000, 2048, 4095, 4096,
                                   4097, 10000};
    uint64_t rng = check_seed ^ 0x1a2b3c4dULL;
    int mismatches = 0, cases = 0, reported = 0;
    for (int rep = 0; rep < 900; rep++) {
        size_t n = rep < 300 ? sizes[irand(&rng, sizeof sizes / sizeof *sizes)]
                             : 1 + irand(&rng, rep < 800 ? 5000 : 10000);
        int kind = rep % KINDS;
        double amax = amaxes[irand(&rng, sizeof amaxes / sizeof *amaxes)];
        double s = amax > 0.0 && amax < 1.0 ? amax : 0.5;
        double *p = malloc(n * sizeof *p);
        size_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        if (irand(&rng, 4) == 0) /* any alpha_max, not just round ones */
            amax = irand(&rng, 2) ? urand(&rng) : 2.0 * urand(&rng);
        fill(p, n, kind, s, &rng);
        for (int stat = 0; stat < AH__STAT_COUNT; stat++) {
            cases++;
            mismatches += !agree(p, n, stat, amax, got, want, "large",
                                 &reported);
        }
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d of %d large cases differ", mismatches, cases);
}

/*
 * Exact ties in score between thresholds far apart, each the best, so the
 * smaller must win.  bj: A values at 2^-2k and 2^-k each score A 2k ln 2 =
 * 2A k ln 2 exactly, since log(2^-2k) is exactly twice log(2^-k); A/4
 * values just below 2^-k score less, and the rest lie above alpha_max.
 * ks: sqrt(r) (1 - a) ties for c values at 1/2 and 3c at 3/4 (c a power
 * of 4).  The first is pruned path only when there are enough values.
 */
static void test_ties(void)
{
    uint64_t rng = check_seed ^ 0x7135ULL;
    int mismatches = 0, cases = 0, reported = 0;
    for (int rep = 0; rep < 200; rep++) {
        size_t A = 20 + irand(&rng, 300);
        size_t n = 2 * A + A / 4 + irand(&rng, 3000);
        size_t i = 0, c = (size_t)1 << (2 * irand(&rng, 5));
        int k = 1 + (int)irand(&rng, 4);
        double lo = ldexp(1.0, -2 * k), hi = ldexp(1.0, -k);
        double *p = malloc(n * sizeof *p);
        size_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        ah_scan_result res;
        for (; i < A; i++)
            p[i] = lo;
        for (; i < A + A / 4; i++)
            p[i] = hi * (1.0 - 0.05 * urand(&rng));
        for (; i < 2 * A; i++)
            p[i] = hi;
        for (; i < n; i++)
            p[i] = hi + (1.0 - hi) * urand(&rng) + 1e-9;
        for (i = n; i > 1; i--) { /* shuffle */
            size_t j = irand(&rng, i);
            double t = p[i - 1];
            p[i - 1] = p[j];
            p[j] = t;
        }
        cases++;
        mismatches += !agree(p, n, AH_STAT_BJ, hi, got, want, "bj tie",
                             &reported);
        ah__scan_individual(p, n, AH_STAT_BJ, hi, &res, NULL, NULL);
        if ((res.alpha != lo || res.size != A) && reported++ < 5)
            CHECK(0, "bj tie kept alpha %g size %zu", res.alpha, res.size);
        for (i = 0; i < n; i++)
            p[i] = i < c ? 0.5 : i < 4 * c ? 0.75 : 0.9 + 0.1 * urand(&rng);
        cases++;
        mismatches += !agree(p, n, AH_STAT_KS, 0.8, got, want, "ks tie",
                             &reported);
        ah__scan_individual(p, n, AH_STAT_KS, 0.8, &res, NULL, NULL);
        if (n >= 4 * c && (res.alpha != 0.5 || res.size != c) &&
            reported++ < 5)
            CHECK(0, "ks tie kept alpha %g size %zu", res.alpha, res.size);
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d of %d tie cases differ", mismatches, cases);
}

/*
 * More candidate ranges than the scan pulls out separately: ks scores
 * sqrt(r) (1 - a) tie exactly (at sqrt(c) = 4) for 4^k c values at or below
 * 1 - 2^-k, k = 1..5, and 80 values between each pair of those thresholds,
 * scoring less, keep the five ranges apart.  The smallest threshold wins.
 */
static void test_many_ranges(void)
{
    static const double at[5] = {0.5, 0.75, 0.875, 0.9375, 0.96875};
    static const double mid[4] = {0.7, 0.85, 0.92, 0.96};
    uint64_t rng = check_seed ^ 0x5150ULL;
    size_t c = 16, n = (1024 * c) + 100, i = 0, below = 0;
    double *p = malloc(n * sizeof *p);
    size_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    int reported = 0, ok = 1;
    ah_scan_result res;
    for (int k = 0; k < 5; k++) {
        size_t r = ((size_t)4 << (2 * k)) * c; /* values <= at[k] */
        if (k > 0)
            for (int f = 0; f < 80; f++)
                p[i++] = mid[k - 1] + 0.001 * urand(&rng), below++;
        while (below < r)
            p[i++] = at[k], below++;
    }
    while (i < n)
        p[i++] = 0.99;
    for (i = n; i > 1; i--) {
        size_t j = irand(&rng, i);
        double t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    for (int stat = 0; stat < AH__STAT_COUNT; stat++)
        ok &= agree(p, n, stat, 0.97, got, want, "ranges", &reported);
    ah__scan_individual(p, n, AH_STAT_KS, 0.97, &res, NULL, NULL);
    CHECK(ok && res.score == 4.0 && res.alpha == 0.5 && res.size == 4 * c,
          "many ranges: score %.17g alpha %g size %zu", res.score, res.alpha,
          res.size);
    free(p);
    free(got);
    free(want);
}

/* NaN anywhere: the same error naming the same node, for any alpha_max. */
static void test_nan(void)
{
    uint64_t rng = check_seed ^ 0xaa55ULL;
    int mismatches = 0, cases = 0, reported = 0;
    for (int rep = 0; rep < 300; rep++) {
        size_t n = 1 + irand(&rng, rep < 200 ? 100 : 9000);
        double amax = amaxes[irand(&rng, sizeof amaxes / sizeof *amaxes)];
        double *p = malloc(n * sizeof *p);
        size_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        fill(p, n, (int)irand(&rng, KINDS), 0.5, &rng);
        for (int k = (int)irand(&rng, 3); k >= 0; k--)
            p[irand(&rng, n)] = irand(&rng, 2) ? NAN : -NAN;
        if (irand(&rng, 3) == 0) { /* infinities of both signs as well */
            p[irand(&rng, n)] = INFINITY;
            p[irand(&rng, n)] = -INFINITY;
        }
        cases++;
        mismatches += !agree(p, n, (int)irand(&rng, 3), amax, got, want,
                             "nan", &reported);
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d of %d NaN cases differ", mismatches, cases);
}

static void test_hand(void)
{
    /* Nodes at 0.1, 0.1, 0.2, 0.6: thresholds 0.1 (2 nodes, 2 ln 10 = 4.61)
     * and 0.2 (3 nodes, 3 ln 5 = 4.83); 0.6 is above alpha_max. */
    const double p[] = {0.6, 0.1, 0.2, 0.1};
    ah_scan_result r;
    size_t nodes[4];
    double s1 = ah_stat_score(AH_STAT_BJ, 0.1, 2, 2);
    double s2 = ah_stat_score(AH_STAT_BJ, 0.2, 3, 3);
    CHECK(ah_scan_individual(p, 4, AH_STAT_BJ, 0.5, &r, nodes, NULL) == AH_OK,
          "hand scan");
    CHECK(r.score == (s1 > s2 ? s1 : s2), "hand score %g", r.score);
    CHECK(s2 > s1 && r.alpha == 0.2 && r.size == 3 && nodes[0] == 1 &&
              nodes[1] == 2 && nodes[2] == 3, "hand subset alpha %g size %zu",
          r.alpha, r.size);
    /* Equal scores keep the smaller threshold: with ks, n_a = n scores
     * sqrt(n) (1 - a), exactly 0.5 both for 1 node at 0.5 and 4 at 0.75. */
    {
        const double q[] = {0.75, 0.5, 0.75, 0.75};
        CHECK(ah_scan_individual(q, 4, AH_STAT_KS, 0.9, &r, nodes, NULL) ==
                      AH_OK && r.score == 0.5 && r.alpha == 0.5 &&
                  r.size == 1 && nodes[0] == 1,
              "tie keeps the smaller threshold: a %g size %zu", r.alpha,
              r.size);
    }
    /* Nothing qualifies: zero score, alpha and size. */
    CHECK(ah_scan_individual(p, 4, AH_STAT_HC, 0.05, &r, nodes, NULL) == AH_OK &&
              r.score == 0 && r.alpha == 0 && r.size == 0, "nothing below");
    CHECK(ah_scan_individual(p, 0, AH_STAT_KS, 0.5, &r, NULL, NULL) == AH_OK &&
              r.score == 0 && r.size == 0, "no nodes");
}

static void test_errors(void)
{
    double p[5] = {0.1, 0.2, NAN, 0.3, 0.9};
    ah_scan_result r;
    ah_diag d;
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, 0.5, &r, NULL, &d) ==
                  AH_ERR_VALUE && d.col == 2, "NaN p-value names node 2");
    CHECK(ah__scan_individual(p, 5, AH_STAT_BJ, 0.0, &r, NULL, &d) ==
                  AH_ERR_VALUE && d.col == 2, "NaN found with alpha_max 0");
    p[2] = 0.4;
    CHECK(ah_scan_individual(p, 5, 3, 0.5, &r, NULL, &d) == AH_ERR_ARG,
          "unknown statistic");
    CHECK(ah_scan_individual(p, 5, -1, 0.5, &r, NULL, &d) == AH_ERR_ARG,
          "negative statistic");
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, NAN, &r, NULL, &d) == AH_ERR_ARG,
          "NaN alpha_max");
    CHECK(ah_scan_individual(NULL, 5, AH_STAT_BJ, 0.5, &r, NULL, &d) ==
              AH_ERR_ARG, "NULL p-values");
    CHECK(ah_scan_individual(NULL, 0, AH_STAT_BJ, 0.5, &r, NULL, &d) == AH_OK &&
              r.size == 0, "no p-values, none needed");
    CHECK(ah_scan_individual(p, 5, AH_STAT_BJ, 0.5, NULL, NULL, &d) ==
              AH_ERR_ARG, "NULL result");
}

/* alpha_max values the public calls take ([1e-12, 1]). */
static const double valid_amaxes[] = {0.5, 0.05, 1.0, 0.25, 0.1, 0.999, 0.3,
                                      1e-12};

/* fill's values moved into [0, 1], as the public calls take them: below 0
 * (and NaN) to 0, above 1 to 1. */
static void fill_valid(double *p, size_t n, int kind, double s, uint64_t *rng)
{
    fill(p, n, kind, s, rng);
    for (size_t i = 0; i < n; i++)
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            p[i] = p[i] > 1.0 ? 1.0 : 0.0;
}

/* The public call: the scan itself on p-values in [0, 1] and alpha_max in
 * [1e-12, 1], bit for bit; anything else refused, naming the option and
 * its range or the first bad node. */
static void test_public(void)
{
    uint64_t rng = check_seed ^ 0x9b1cULL;
    int mismatches = 0;
    for (int rep = 0; rep < 400; rep++) {
        size_t n = irand(&rng, rep < 300 ? 200 : 9000);
        double amax = valid_amaxes[irand(&rng, sizeof valid_amaxes /
                                                   sizeof *valid_amaxes)];
        int stat = (int)irand(&rng, 3);
        double *p = malloc((n + 1) * sizeof *p);
        size_t *got = malloc((n + 1) * sizeof *got),
               *want = malloc((n + 1) * sizeof *want);
        ah_scan_result r, e;
        fill_valid(p, n, (int)irand(&rng, KINDS), amax < 1 ? amax : 0.5, &rng);
        int st = ah_scan_individual(p, n, stat, amax, &r, got, NULL);
        int se = ah__scan_individual(p, n, stat, amax, &e, want, NULL);
        mismatches += st != AH_OK || se != AH_OK ||
                      memcmp(&r, &e, sizeof r) != 0 ||
                      memcmp(got, want, e.size * sizeof *got) != 0;
        if (n > 0) { /* one value out of [0, 1]: refused, naming it */
            static const double bad[] = {-0.25, 1.0000000000000002, 2.0,
                                         INFINITY, -INFINITY, -5e-324};
            size_t at = irand(&rng, n);
            double v = bad[irand(&rng, sizeof bad / sizeof *bad)];
            ah_diag d;
            p[at] = v;
            st = ah_scan_individual(p, n, stat, amax, &r, NULL, &d);
            mismatches += st != AH_ERR_VALUE || d.col != (int64_t)at ||
                          !strstr(d.message, "not in [0, 1]") ||
                          r.score != 0 || r.size != 0;
        }
        free(p);
        free(got);
        free(want);
    }
    CHECK(mismatches == 0, "%d public scans differ from the scan or take "
          "p-values outside [0, 1]", mismatches);

    /* alpha_max out of [1e-12, 1], even with nothing to scan */
    static const double bad_amax[] = {0.0, -0.0, -1.0, 2.0, 1e-13,
                                      1.0000000000000002, INFINITY,
                                      -INFINITY, NAN, 5e-324};
    const double p[3] = {0.1, 0.5, 1.0};
    for (size_t k = 0; k < sizeof bad_amax / sizeof *bad_amax; k++) {
        ah_scan_result r = {1, 1, 1};
        ah_diag d;
        for (size_t n = 0; n <= 3; n += 3) {
            CHECK(ah_scan_individual(p, n, AH_STAT_BJ, bad_amax[k], &r, NULL,
                                     &d) == AH_ERR_ARG &&
                      strstr(d.message,
                             "alpha_max must be in [1e-12, 1], not") &&
                      r.score == 0 && r.size == 0,
                  "alpha_max %g, %zu p-values: %s", bad_amax[k], n, d.message);
            ah_scan_result rr[2];
            CHECK(ah_scan_individual_rows(p, n ? 1 : 0, 3, 3, 1, AH_STAT_BJ,
                                          bad_amax[k], rr, 1, &d) ==
                          AH_ERR_ARG &&
                      strstr(d.message, "alpha_max must be in [1e-12, 1]"),
                  "rows: alpha_max %g: %s", bad_amax[k], d.message);
        }
    }
    ah_scan_result r;
    ah_diag d;
    CHECK(ah_scan_individual(p, 3, AH_STAT_BJ, 1e-12, &r, NULL, &d) == AH_OK &&
              ah_scan_individual(p, 3, AH_STAT_BJ, 1.0, &r, NULL, &d) == AH_OK,
          "the ends of alpha_max's range");
    /* the first bad value is reported: NaN as NaN, others with the value */
    const double q[5] = {0.1, 1.5, NAN, -1.0, 0.2};
    CHECK(ah_scan_individual(q, 5, AH_STAT_HC, 0.5, &r, NULL, &d) ==
                  AH_ERR_VALUE && d.col == 1 &&
              strcmp(d.message, "scan_individual: p-value of node 1 is 1.5, "
                                "not in [0, 1]") == 0,
          "p-value 1.5: %s", d.message);
    CHECK(ah_scan_individual(q + 2, 3, AH_STAT_HC, 0.5, &r, NULL, &d) ==
                  AH_ERR_VALUE && d.col == 0 && strstr(d.message, "is NaN"),
          "NaN before -1: %s", d.message);
    /* rows: the threads' range, and a bad value's row and column */
    ah_scan_result rr[2];
    const double m[6] = {0.1, 0.2, 0.3, 0.4, -0.5, 0.6};
    for (int t = -1; t <= 257; t += 258)
        CHECK(ah_scan_individual_rows(m, 2, 3, 3, 1, AH_STAT_BJ, 0.5, rr, t,
                                      &d) == AH_ERR_ARG &&
                  strstr(d.message, "threads must be in 0..256"),
              "rows: threads %d: %s", t, d.message);
    CHECK(ah_scan_individual_rows(m, 2, 3, 3, 1, AH_STAT_BJ, 0.5, rr, 2, &d) ==
                  AH_ERR_VALUE && d.row == 1 && d.col == 1 &&
              strstr(d.message, "row 1, column 1: p-value -0.5 is not in"),
          "rows: p-value -0.5: %s", d.message);
}

/* ah_scan_individual_rows against ah_scan_individual row by row, bit for
 * bit: p_max matrices and (rows, cols, 2) ranges, padded rows, 1 to 3
 * threads and all cores; the first NaN's row and column; bad strides. */
static void test_rows(void)
{
    uint64_t rng = check_seed ^ 0x505eULL;
    int mismatches = 0, cases = 0;
    for (int rep = 0; rep < 120; rep++) {
        size_t rows = irand(&rng, 300), cols = irand(&rng, 120);
        size_t step = 1 + irand(&rng, 2), ld = cols * step + irand(&rng, 3);
        double amax = valid_amaxes[irand(&rng, sizeof valid_amaxes /
                                                   sizeof *valid_amaxes)];
        int stat = (int)irand(&rng, 3), threads = (int)irand(&rng, 4);
        double *p = malloc((rows * ld + 1) * sizeof *p);
        double *row = malloc((cols + 1) * sizeof *row);
        ah_scan_result *got = malloc((rows + 1) * sizeof *got);
        for (size_t i = 0; i < rows; i++) {
            fill_valid(row, cols, (int)irand(&rng, KINDS), 0.5, &rng);
            for (size_t k = 0; k < ld; k++)
                p[i * ld + k] = -1.0; /* padding and p_min: never read */
            for (size_t j = 0; j < cols; j++)
                p[i * ld + j * step + (step - 1)] = row[j];
        }
        ah_diag d;
        int st = ah_scan_individual_rows(p + (step - 1), rows, cols, ld, step,
                                         stat, amax, got, threads, &d);
        int bad = st != AH_OK;
        for (size_t i = 0; !bad && i < rows; i++) {
            for (size_t j = 0; j < cols; j++)
                row[j] = p[i * ld + j * step + (step - 1)];
            ah_scan_result want;
            ah_scan_individual(row, cols, stat, amax, &want, NULL, NULL);
            bad = memcmp(&want.score, &got[i].score, sizeof want.score) ||
                  memcmp(&want.alpha, &got[i].alpha, sizeof want.alpha) ||
                  want.size != got[i].size;
        }
        mismatches += bad;
        cases++;
        if (rows > 5 && cols > 2) { /* NaNs: the first row's is reported */
            size_t r1 = 2 + irand(&rng, rows - 2), r2 = irand(&rng, r1);
            size_t c1 = irand(&rng, cols), c2 = irand(&rng, cols);
            p[r1 * ld + c1 * step + (step - 1)] = NAN;
            p[r2 * ld + c2 * step + (step - 1)] = NAN;
            st = ah_scan_individual_rows(p + (step - 1), rows, cols, ld, step,
                                         stat, amax, got, threads, &d);
            CHECK(st == AH_ERR_VALUE && d.row == (int64_t)r2 &&
                      d.col == (int64_t)c2,
                  "NaNs at rows %zu and %zu: status %d row %lld col %lld",
                  r2, r1, st, (long long)d.row, (long long)d.col);
        }
        free(p);
        free(row);
        free(got);
    }
    CHECK(mismatches == 0, "%d of %d row batches differ from one-row scans",
          mismatches, cases);
    double q[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    ah_scan_result r[2];
    ah_diag d;
    CHECK(ah_scan_individual_rows(q, 2, 3, 3, 0, AH_STAT_BJ, 0.5, r, 1, &d) ==
              AH_ERR_ARG, "step 0");
    CHECK(ah_scan_individual_rows(q, 2, 3, 2, 1, AH_STAT_BJ, 0.5, r, 1, &d) ==
              AH_ERR_ARG && strstr(d.message, "stride"), "ld below a row");
    CHECK(ah_scan_individual_rows(NULL, 2, 3, 3, 1, AH_STAT_BJ, 0.5, r, 1,
                                  &d) == AH_ERR_ARG, "NULL p-values");
    CHECK(ah_scan_individual_rows(q, 2, 3, 3, 1, 7, 0.5, r, 1, &d) ==
              AH_ERR_ARG, "unknown statistic");
    CHECK(ah_scan_individual_rows(NULL, 0, 3, 3, 1, AH_STAT_BJ, 0.5, NULL, 1,
                                  &d) == AH_OK, "no rows");
}

int main(void)
{
    check_init();
    test_rows();
    test_public();
    test_hand();
    test_errors();
    test_small();
    test_large();
    test_ties();
    test_many_ranges();
    test_nan();
    return check_done("scan_individual");
}
