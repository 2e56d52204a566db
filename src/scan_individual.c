/*
 * scan_individual.c - the individual scan of docs/METHOD.md section 6.
 *
 * Workload: one call per input, D (hundreds to tens of thousands) p_max
 * values, called for every row of a batch, so the constant matters (the
 * benchmark has D = 4096).  Since n_a = n, the score at a threshold a with r
 * values <= a is g(r, a): r (-ln a) for bj, sqrt(r (1-a) / a) for hc and
 * sqrt(r) (1-a) for ks, each nondecreasing in r and nonincreasing in a.  A
 * histogram of the values therefore bounds every threshold in a bucket by
 * g(count up to the bucket's top, the bucket's bottom), and proves one at
 * least as good as g(count up to the bucket's top, the bucket's top); only
 * the few buckets whose upper bound reaches the best lower bound need their
 * values sorted and scored (branch and bound), with the arithmetic of
 * ah_stat_score, so the result is bit-identical to scoring every threshold.
 *
 * Passes, O(n) in all: (1) copy the values in (0, alpha_max] to a buffer as
 * integer keys (branch-free: the test is a coin flip on clean inputs),
 * spotting NaN, values <= 0 and values above 1 on the side (the public
 * call refuses p-values outside [0, 1] without a pass of its own); (2) count the keys by their
 * high bits, about one per bucket over the two octaves below alpha_max,
 * where clean inputs have their best threshold and bj and ks scores are
 * flat, and 16 buckets per octave below (the bucket indices come from a
 * vector kernel, so the scalar loop only increments); (3) walk the buckets
 * from the top, in blocks of 16 first where they are fine and octaves where
 * they are coarse, for the lower bound and the buckets that can reach it;
 * (4) pull those buckets' keys to the front of the buffer in one pass (a
 * compress), sort and score them.  The vector kernels of passes 1 to 4
 * are in scan_keys.c (pass 3's bounds on full blocks of 16 buckets).
 * Clean inputs leave a few dozen keys for (4), so passes (1) to (3) take
 * most of the time.  Up to 4096 values in (0, alpha_max] need no allocation
 * (about 48 KB of stack); more allocate as much as before.
 */
#include "bytes.h"
#include "internal.h"
#include "scan_bounds.h"
#include "scan_keys.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    KEYS_STACK = 4096,     /* keys held on the stack, without malloc       */
    SMALL = 64,            /* at most this many keys: score them all       */
    FINE_BITS = 10,        /* at most 2^10 buckets per octave at the top   */
    DEEP_BITS = 4,         /* 16 buckets per octave below                  */
    DEEP_MAX = 40 << DEEP_BITS, /* 40 octaves, then one bucket for the rest */
    BLOCK_BITS = 4,        /* top buckets are bounded 16 at a time first   */
    MAX_RUNS = 4,          /* key ranges pulled out (tested in one pass)   */
    RUN_GAP = 64,          /* join candidate ranges fewer keys apart       */
    IDX_CHUNK = 512        /* bucket indices computed at a time            */
};

#define MARGIN AH__SCAN_MARGIN
/* For hc and ks, r - r a loses digits as a nears 1 (relative error up to
 * 2^-53 / (1 - a)), so buckets reaching above this are never pruned nor
 * trusted for a lower bound; below it the error is under 2^-37.  (A defence
 * in depth: the top bucket is at least 2^-11 wide, so such values could
 * only compete among themselves, in one bucket.) */
#define NEAR_ONE (1.0 - 0x1p-16)
/* ln 2 rounded down; the bounds allow for the difference. */
#define LN2 0x1.62e42fefa39efp-1
/* The largest double below 1: thresholds at or above 1 score 0. */
#define ONE_BELOW (1.0 - 0x1p-53)

/* ln(1 + i/64) and 64 / (64 + i), i = 0..64.  Between grid points the
 * chord of the concave ln(1+f) lies below it by at most (1/64)^2 / 8 <
 * 3.1e-5, that of the convex 1/(1+f) above it by at most (1/64)^2 / 4 <
 * 6.2e-5. */
static const double ln_tab[65] = {
    0, 0.015504186535965254, 0.030771658666753687, 0.045809536031294201,
    0.06062462181643484, 0.075223421237587532, 0.089612158689687138,
    0.10379679368164356, 0.11778303565638346, 0.13157635778871926,
    0.14518200984449789, 0.15860503017663857, 0.17185025692665923,
    0.18492233849401199, 0.19782574332991987, 0.21056476910734964,
    0.22314355131420976, 0.23556607131276691, 0.24783616390458124,
    0.25995752443692605, 0.27193371548364176, 0.28376817313064462,
    0.2954642128938359, 0.30702503529491187, 0.31845373111853459,
    0.32975328637246798, 0.34092658697059319, 0.3519764231571782,
    0.36290549368936847, 0.37371640979358406, 0.38441169891033206,
    0.39499380824086899, 0.40546510810816438, 0.41582789514371099,
    0.42608439531090003, 0.43623676677491807, 0.44628710262841953,
    0.45623743348158763, 0.46608972992459924, 0.47584590486996392,
    0.48550781578170077, 0.49507726679785152, 0.50455601075239531,
    0.51394575110223428, 0.52324814376454787, 0.53246479886947184,
    0.54159728243274441, 0.5506471179526623, 0.55961578793542266,
    0.56850473535266866, 0.57731536503482361, 0.58604904500357824,
    0.59470710774669278, 0.60329085143808425, 0.61180154110599294,
    0.62024040975185757, 0.62860865942237409, 0.63690746223706918,
    0.6451379613735847, 0.65330127201274568, 0.66139848224536502,
    0.66943065394262924, 0.67739882359180614, 0.68530400309891937,
    0.69314718055994529};
static const double rc_tab[65] = {
    1, 0.98461538461538467, 0.96969696969696972, 0.95522388059701491,
    0.94117647058823528, 0.92753623188405798, 0.91428571428571426,
    0.90140845070422537, 0.88888888888888884, 0.87671232876712324,
    0.86486486486486491, 0.85333333333333339, 0.84210526315789469,
    0.83116883116883122, 0.82051282051282048, 0.810126582278481,
    0.80000000000000004, 0.79012345679012341, 0.78048780487804881,
    0.77108433734939763, 0.76190476190476186, 0.75294117647058822,
    0.7441860465116279, 0.73563218390804597, 0.72727272727272729,
    0.7191011235955056, 0.71111111111111114, 0.70329670329670335,
    0.69565217391304346, 0.68817204301075274, 0.68085106382978722,
    0.67368421052631577, 0.66666666666666663, 0.65979381443298968,
    0.65306122448979587, 0.64646464646464652, 0.64000000000000001,
    0.63366336633663367, 0.62745098039215685, 0.62135922330097082,
    0.61538461538461542, 0.60952380952380958, 0.60377358490566035,
    0.59813084112149528, 0.59259259259259256, 0.58715596330275233,
    0.58181818181818179, 0.57657657657657657, 0.5714285714285714,
    0.5663716814159292, 0.56140350877192979, 0.55652173913043479,
    0.55172413793103448, 0.54700854700854706, 0.5423728813559322,
    0.53781512605042014, 0.53333333333333333, 0.52892561983471076,
    0.52459016393442626, 0.52032520325203258, 0.5161290322580645,
    0.51200000000000001, 0.50793650793650791, 0.50393700787401574, 0.5};



/* Insertion sort that gives up (returning 0) after budget element moves;
 * keys are then a permutation of the input, still to be sorted. */
static int insertion_sort(uint64_t *keys, size_t n, size_t budget)
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
 * Sort keys[0..n) (of positive values) ascending; scratch holds 2n + 1
 * words (unused below 48 keys).  P-values spread fairly evenly over
 * [min, max], so one counting pass into n buckets of equal width in value
 * leaves only a few inversions (equal values, the common ties, are no
 * inversions at all) for an insertion sort to remove.  Values clustered
 * inside a few buckets exceed the insertion budget and go to the radix
 * sort, so the cost stays O(n).
 */
static void sort_keys(uint64_t *keys, uint64_t *scratch, size_t n)
{
    uint64_t kmin = UINT64_MAX, kmax = 0;
    double lo, hi, scale;
    size_t *start = (size_t *)(void *)(scratch + n);
    if (n < 48) {
        insertion_sort(keys, n, SIZE_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kmin = keys[i] < kmin ? keys[i] : kmin;
        kmax = keys[i] > kmax ? keys[i] : kmax;
    }
    lo = ah__value_of(kmin + 1);
    hi = ah__value_of(kmax + 1);
    scale = (double)n / (hi - lo);
    if (kmin == kmax)
        return;
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(scale)) {
        ah__radix_sort_u64(keys, scratch, n);
        return;
    }
    /* Monotone bucket index: subtraction, product and truncation all
     * preserve order, so the buckets are ordered. */
#define BUCKET(k) (size_t)((ah__value_of((k) + 1) - lo) * scale)
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
    if (!insertion_sort(keys, n, 4 * n))
        ah__radix_sort_u64(keys, scratch, n);
}

/* phi(a, n, n): for Berk-Jones with n_a = n, q = 1 and ah_stat_score
 * reduces to n (0 - ln a); computing that directly costs one logarithm and
 * gives the same bits. */
static inline double score_full(int stat, double a, double n)
{
    AH__ASSUME(ah__stat_known(stat));
    switch ((enum ah_stat)stat) {
    case AH_STAT_BJ:
        return a > 0.0 && a < 1.0 ? n * -log(a) : 0.0;
    case AH_STAT_HC:
    case AH_STAT_KS:
        break;
    }
    return ah_stat_score(stat, a, n, n);
}

/* No useful bound on F (at 0 or a subnormal x): none is needed there. */
static inline void unbounded(double *fu, double *fl)
{
    *fu = INFINITY;
    *fl = 0.0;
}

/* Normal x as 2^e (1 + (i + t) / 64), on the grid of the tables. */
static inline void grid_split(double x, int *e, int *i, double *t)
{
    uint64_t b = ah__bits_of(x);
    *e = (int)(b >> 52) - 1023;
    *i = (int)((b >> 46) & 63);
    *t = (double)(b & ((UINT64_C(1) << 46) - 1)) * 0x1p-46;
}

/* bj: F(x) = -ln x, the 1e-12 covering rounding. */
static inline void bound_neg_log(double x, double *fu, double *fl)
{
    int e, i;
    double t, c;
    if (!(x >= DBL_MIN)) {
        unbounded(fu, fl);
        return;
    }
    grid_split(x, &e, &i, &t);
    c = -e * LN2 - (ln_tab[i] + t * (ln_tab[i + 1] - ln_tab[i]));
    *fu = c + 1e-12;
    *fl = c - 3.1e-5 - 1e-12;
    *fl = *fl > 0.0 ? *fl : 0.0;
}

/* hc: F(x) = 1/x - 1, with 2^-e exact. */
static inline void bound_recip(double x, double *fu, double *fl)
{
    int e, i;
    double t, c, p;
    if (!(x >= DBL_MIN)) {
        unbounded(fu, fl);
        return;
    }
    grid_split(x, &e, &i, &t);
    c = rc_tab[i] + t * (rc_tab[i + 1] - rc_tab[i]);
    p = ah__value_of((uint64_t)(1023 - e) << 52);
    *fu = p * c - 1.0;
    *fl = x > NEAR_ONE ? 0.0 : p * (c - 6.2e-5) - 1.0;
    *fl = *fl > 0.0 ? *fl : 0.0;
}

/*
 * The bounds work on pot = g(r, a) for bj and g(r, a)^2 for hc and ks
 * (ah__stats[stat].pot_squared), which orders thresholds as the score
 * does and is r F(a), with F(a) = -ln a, 1/a - 1 or (1-a)^2, decreasing
 * in a.  So in a bucket of values in (x0, x1] with C values at or below
 * x1, every threshold has pot <= C F(x0), and the largest value, of rank
 * C, has pot >= C F(x1).  bound_f bounds F at a grid point x from above
 * (fu) and from below (fl), as exact bounds up to the rounding that
 * MARGIN absorbs: one case per statistic, no default.
 */
static inline void bound_f(int stat, double x, double *fu, double *fl)
{
    AH__ASSUME(ah__stat_known(stat));
    switch ((enum ah_stat)stat) {
    case AH_STAT_BJ:
        bound_neg_log(x, fu, fl);
        return;
    case AH_STAT_HC:
        bound_recip(x, fu, fl);
        return;
    case AH_STAT_KS: /* F(x) = (1 - x)^2 */
        *fu = (1.0 - x) * (1.0 - x);
        *fl = x > NEAR_ONE ? 0.0 : *fu;
        return;
    }
    unbounded(fu, fl); /* not reached: the statistic was checked */
}

/* Bounds on F at the grid point of key k (the value with bits k): fu for
 * the bucket above it, fl for the bucket below, whose values are <= amax. */
static inline void grid_f(int stat, uint64_t k, double amax, double *fu,
                          double *fl)
{
    double x = ah__value_of(k), unused;
    bound_f(stat, x, fu, fl);
    if (x > amax)
        bound_f(stat, amax, &unused, fl);
}

/* The best threshold so far; pot never falls below a proven lower bound.
 * The statistic's row of ah__stats is copied in once per scan. */
typedef struct best_t {
    int stat, pot_squared, exact_near_one;
    double score, alpha, pot;
    size_t size;
} best_t;

/* An upper bound on pot(r, a) for the single threshold a. */
static inline double pot_upper(const best_t *b, double r, double a)
{
    double fu, fl;
    if (a > NEAR_ONE && !b->exact_near_one)
        return INFINITY;
    bound_f(b->stat, a, &fu, &fl);
    return r * fu;
}

/*
 * Score the distinct values of keys[0..k), sorted ascending: every key of a
 * contiguous key range, with `below` values (keys and nonpositive values)
 * under the range, so the i-th key has rank below + i + 1.  A threshold
 * whose bound cannot reach the best is skipped without a logarithm.  Ties
 * keep the smallest threshold, whatever the order of ranges.
 */
static void score_run(best_t *b, const uint64_t *keys, size_t k, size_t below)
{
    for (size_t i = 0; i < k; i++) {
        double a, r, s;
        if (i + 1 < k && keys[i + 1] == keys[i])
            continue; /* the threshold is at the last copy */
        a = ah__value_of(keys[i] + 1);
        r = (double)(below + i + 1);
        if (pot_upper(b, r, a) * (1.0 + MARGIN) < b->pot)
            continue;
        s = score_full(b->stat, a, r);
        if (s > b->score || (s == b->score && s > 0.0 && a < b->alpha)) {
            double p = b->pot_squared ? s * s : s;
            b->score = s;
            b->alpha = a;
            b->size = below + i + 1;
            b->pot = p > b->pot ? p : b->pot;
        }
    }
}

/* Sort keys[0..k) with scratch[0..avail) if it is big enough, else with a
 * temporary buffer. */
static int sort_run(uint64_t *keys, size_t k, uint64_t *scratch,
                    size_t avail)
{
    uint64_t *tmp = scratch;
    size_t bytes;
    if (k >= 48 && avail < 2 * k + 1) {
        if (!ah__mul_ok(2 * k + 1, sizeof *tmp, &bytes) ||
            !(tmp = malloc(bytes)))
            return AH_ERR_NOMEM;
    }
    sort_keys(keys, tmp, k);
    if (tmp != scratch)
        free(tmp);
    return AH_OK;
}

/* A contiguous key range [klo, khi] to score: `top` values are <= its top
 * (nonpositive ones included) and `count` keys lie in it. */
typedef struct run_t {
    uint64_t klo, khi;
    size_t top, count;
} run_t;

/* Add the bucket of keys [k0, k1) with c keys and C values at or below its
 * top; buckets come in descending order.  Nearby ranges are joined (scoring
 * a few extra thresholds is harmless), and past MAX_RUNS everything joins
 * the last range. */
static void add_bucket(run_t *runs, int *nruns, uint64_t k0, uint64_t k1,
                       size_t C, size_t c)
{
    if (*nruns > 0) {
        run_t *r = &runs[*nruns - 1];
        if (r->top - r->count - C <= RUN_GAP || *nruns == MAX_RUNS) {
            r->klo = k0;
            r->count = r->top - (C - c);
            return;
        }
    }
    runs[*nruns].klo = k0;
    runs[*nruns].khi = k1 - 1;
    runs[*nruns].top = C;
    runs[*nruns].count = c;
    (*nruns)++;
}

/* Index of the first NaN in p[0..n) or, with unit, of the first value
 * that is NaN or outside [0, 1]; n when there is none. */
static size_t first_bad(const double *p, size_t n, int unit)
{
    size_t i = 0;
    if (unit)
        while (i < n && p[i] >= 0.0 && p[i] <= 1.0)
            i++;
    else
        while (i < n && !isnan(p[i]))
            i++;
    return i;
}

/* The error for p[i], which first_bad found. */
static int bad_fail(ah_diag *diag, const double *p, size_t i)
{
    if (isnan(p[i]))
        return ah__fail(diag, AH_ERR_VALUE, -1, (int64_t)i,
                        "scan_individual: p-value of node %zu is NaN", i);
    return ah__fail(diag, AH_ERR_VALUE, -1, (int64_t)i,
                    "scan_individual: p-value of node %zu is %.17g, not in "
                    "[0, 1]", i, p[i]);
}

/* The arguments every individual scan checks before reading a p-value. */
static int scan_options_check(const char *who, int stat, double alpha_max,
                              ah_diag *diag)
{
    if (!ah__stat_known(stat))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "%s: unknown statistic %d", who, stat);
    return ah_option_check(AH_OPTION_ALPHA_MAX, alpha_max, diag);
}

/* Bounds on F inside one block of nb top buckets, from those at its grid
 * points x0 < x1 (upper) and x0 < h1 = min(x1, amax) (lower): F is
 * convex, so the chord of upper bounds lies above it, and the chord of
 * lower bounds less the chord's largest gap, M (h1 - x0)^2 / 8 for
 * |F''| <= M on the block, below it.  With x0 in octave 2^e and buckets
 * 2^(e - rf) wide, (h1 - x0) / x0 <= q = BLK 2^-rf.  Positions along the
 * chords are counted in buckets (values may be too small for slopes or
 * reciprocals), and 1e-15 of the chord's top covers their rounding
 * (chord_t, chord_fu and chord_fl are in scan_bounds.h). */

static inline chord_t block_chord(int stat, double x0, double x1, double amax,
                                  double u0, double u1, double l0, double l1,
                                  size_t nb, double q)
{
    chord_t c;
    double gap = INFINITY; /* no lower bound: at 0 or a subnormal x0 */
    AH__ASSUME(ah__stat_known(stat));
    switch ((enum ah_stat)stat) {
    case AH_STAT_KS:
        gap = (x1 - x0) * (x1 - x0) / 4.0;
        break;
    case AH_STAT_BJ:
        if (x0 >= DBL_MIN)
            gap = q * q / 8.0;
        break;
    case AH_STAT_HC: /* 1 / x0 <= 2^-e, exactly a power of two */
        if (x0 >= DBL_MIN)
            gap = q * q / 4.0 *
                  ah__value_of((uint64_t)(2046 - (ah__bits_of(x0) >> 52)) << 52);
        break;
    }
    c.iu = nb == (size_t)1 << BLOCK_BITS ? 1.0 / (1 << BLOCK_BITS)
                                          : 1.0 / (double)nb;
    if (x1 <= amax) {
        c.h1w = (double)nb;
        c.il = c.iu;
    } else { /* the top block: w is exact, a power of two */
        double w = (x1 - x0) / (double)nb;
        c.h1w = (amax - x0) / w;
        c.il = 1.0 / c.h1w;
    }
    c.u0 = u0 + 1e-15 * u0;
    c.du = u1 - u0;
    c.l0 = l0 - gap - 1e-15 * l0;
    c.dl = l1 - l0;
    return c;
}

enum {
    BLK = 1 << BLOCK_BITS,
    OCT = 1 << DEEP_BITS,
    NCNT = (2 << FINE_BITS) + DEEP_MAX + 1,
    NBLK = (2 << FINE_BITS) >> BLOCK_BITS
};

/*
 * find_runs' working state for one input: the bucket grid of its keys,
 * the counts, the bounds of the blocks and the buckets still in play.
 *
 * Top tier: keys >= f0, the octaves (exponent fields of keys) of amax
 * and the one below, with 2^rf buckets per octave, about one key per
 * bucket: clean inputs put their best threshold there, and bj and ks
 * scores are flat near it.  Deep tier: 2^DEEP_BITS buckets per octave
 * below f0, the last one also holding everything deeper.  For hc and
 * ks, buckets reaching above NEAR_ONE (keys past knear) are kept.
 */
typedef struct run_scan {
    int stat, isa;
    double amax, qblk;
    size_t L;
    uint64_t top, f0, knear;
    int sf, sd;
    size_t nf, nd, nb;  /* top buckets, deep buckets, blocks of top ones */
    double lb;          /* the proven lower bound on pot so far */
    size_t bbest;       /* the block of the best lower bound */
    size_t cdeep;       /* keys at or below the top of the deep tier */
    size_t jlast;       /* deep buckets past the last candidate */
    uint32_t cnt[NCNT], blk[NBLK];
    size_t ctop[NBLK];  /* keys at or below the top of each block */
    uint64_t mark[(NCNT + 63) / 64]; /* the candidate buckets */
    double bx[NBLK + 1], bfu[NBLK + 1], bfl[NBLK + 1];
} run_scan;

/* Keys of the grid points: a top bucket j holds keys [k0, k1), values
 * in (value(k0), value(k1)] (a key is its value's bits minus one); deep
 * bucket j lies between grid points j + 1 and j, the last reaching 0.
 * Blocks of BLK top buckets never straddle an octave, so inside one the
 * grid points are evenly spaced in value.  PRUNED compares with the
 * local lb of the function that uses it. */
#define FINE_K(j) (s->f0 + ((uint64_t)(j) << s->sf))
#define BLOCK_J0(b) ((b) << BLOCK_BITS)
#define BLOCK_J1(b) ((b) + 1 < s->nb ? ((b) + 1) << BLOCK_BITS : s->nf)
#define DEEP_K(j) ((j) < s->nd ? s->f0 - ((uint64_t)(j) << s->sd) : 0)
#define PRUNED(ub) ((ub) * (1.0 + MARGIN) < lb)
#define MARK(j) (s->mark[(j) >> 6] |= UINT64_C(1) << ((j) & 63))
#define MARKED(j) (s->mark[(j) >> 6] >> ((j) & 63) & 1)
#define CHORD(b)                                                             \
    block_chord(s->stat, s->bx[b], s->bx[(b) + 1], s->amax, s->bfu[b],       \
                s->bfu[(b) + 1], s->bfl[b], s->bfl[(b) + 1],                 \
                BLOCK_J1(b) - BLOCK_J0(b), s->qblk)
#define FINE_FU(c, j, k)                                                     \
    (FINE_K((j) + 1) > s->knear ? INFINITY : chord_fu(&c, k))

/* The grid for m keys under amax. */
static inline void runs_grid(run_scan *s, size_t m, size_t L, int stat,
                             double amax)
{
    int bl = 0, rf;
    s->stat = stat;
    s->amax = amax;
    s->L = L;
    s->isa = ah__isa_best();
    s->top = ah__bits_of(amax) - 1;
    uint64_t et = s->top >> 52;
    s->f0 = et > 0 ? (et - 1) << 52 : 0;
    s->knear =
        ah__stats[stat].exact_near_one ? UINT64_MAX : ah__bits_of(NEAR_ONE);
    s->sd = 52 - DEEP_BITS;
    while (bl < 64 && (m >> bl) > 0)
        bl++;
    rf = bl - 2 < 3 ? 3 : bl - 2 > FINE_BITS ? FINE_BITS : bl - 2;
    s->sf = 52 - rf;
    s->nf = (size_t)((s->top - s->f0) >> s->sf) + 1;
    s->nd = (size_t)(s->f0 >> s->sd);
    s->nd = s->nd > DEEP_MAX ? DEEP_MAX + 1 : s->nd;
    s->nb = (s->nf + BLK - 1) >> BLOCK_BITS;
    s->qblk = (double)BLK / (double)(1 << rf);
}

/* cnt[0..nf) top tier ascending, cnt[nf..nf+nd) deep tier descending.
 * d = k - f0 wraps past 2^63 for deep keys, whose distance below f0
 * is then ~d.  So d >> sf is the top bucket of a top key and at least
 * 2^14 for a deep key, and ~d >> sd the deep bucket (clamped to dmax)
 * of a deep key and at least 2^15 for a top key: the smaller of the
 * two indices is the right one, without a branch (which would
 * mispredict) or a select. */
static inline void runs_count(run_scan *s, const uint64_t *keys, size_t m)
{
    uint32_t *cnt = s->cnt;
    uint64_t dmax = s->nd > 0 ? s->nd - 1 : 0;
    uint16_t idx[IDX_CHUNK];
    memset(cnt, 0, (s->nf + s->nd) * sizeof *cnt);
    for (size_t i = 0; i < m; i += IDX_CHUNK) {
        size_t k = m - i < IDX_CHUNK ? m - i : IDX_CHUNK, q = 0;
        ah__keys_bucket(keys + i, k, s->f0, s->sf, s->sd, s->nf, dmax, idx,
                        s->isa);
        for (; q + 4 <= k; q += 4) {
            cnt[idx[q]]++;
            cnt[idx[q + 1]]++;
            cnt[idx[q + 2]]++;
            cnt[idx[q + 3]]++;
        }
        for (; q < k; q++)
            cnt[idx[q]]++;
    }
}

/* Lower bound from blocks of top buckets, remembering the best; F at the
 * blocks' grid points.  Returns the keys below the top tier. */
static inline size_t runs_blocks(run_scan *s, size_t m)
{
    size_t nb = s->nb, C = s->L + m;
    double lb = 0.0;
    memset(s->mark, 0, ((s->nf + s->nd + 63) >> 6) * sizeof *s->mark);
    for (size_t b = 0; b <= nb; b++) {
        uint64_t k = FINE_K(b < nb ? BLOCK_J0(b) : s->nf);
        s->bx[b] = ah__value_of(k);
        grid_f(s->stat, k, s->amax, &s->bfu[b], &s->bfl[b]);
    }
    s->bbest = 0;
    for (size_t b = nb; b-- > 0;) {
        uint32_t sum = 0;
        if (b + 1 < nb) /* a full block: a fixed loop the compiler unrolls */
            for (size_t j = 0; j < BLK; j++)
                sum += s->cnt[BLOCK_J0(b) + j];
        else
            for (size_t j = BLOCK_J0(b); j < s->nf; j++)
                sum += s->cnt[j];
        s->blk[b] = sum;
        s->ctop[b] = C;
        if (sum && C * s->bfl[b + 1] > lb) {
            lb = C * s->bfl[b + 1];
            s->bbest = b;
        }
        C -= sum;
    }
    s->lb = lb;
    return C;
}

/* Deep buckets, an octave at a time: lower bounds, and candidates
 * against the bound so far (checked again at the end).  A whole octave
 * whose bound cannot reach it is passed over. */
static inline void runs_deep(run_scan *s, size_t C)
{
    const uint32_t *cnt = s->cnt;
    size_t nf = s->nf, nd = s->nd;
    double lb = s->lb, fu = 0.0, fl = 0.0;
    s->cdeep = C;
    s->jlast = 0;
    for (size_t o = 0; o < nd && C > s->L; o += OCT) {
        size_t end = o + OCT < nd ? o + OCT : nd, g = SIZE_MAX;
        uint32_t sum = 0;
        if (end - o == OCT)
            for (size_t j = 0; j < OCT; j++)
                sum += cnt[nf + o + j];
        else
            for (size_t j = o; j < end; j++)
                sum += cnt[nf + j];
        if (!sum)
            continue;
        grid_f(s->stat, DEEP_K(end), s->amax, &fu, &fl);
        if (PRUNED(C * fu)) {
            C -= sum;
            continue;
        }
        for (size_t j = o; j < end; j++) {
            double v;
            if (!cnt[nf + j])
                continue;
            if (g != j) /* grid point j, unless the bucket above had it */
                grid_f(s->stat, DEEP_K(j), s->amax, &fu, &fl);
            v = C * fl;
            lb = v > lb ? v : lb;
            grid_f(s->stat, DEEP_K(j + 1), s->amax, &fu, &fl);
            g = j + 1;
            if (!PRUNED(C * fu)) {
                MARK(nf + j);
                s->jlast = j + 1;
            }
            C -= cnt[nf + j];
        }
    }
    s->lb = lb;
}

/* Single top buckets of the blocks still in play, the best block first
 * for a sharp bound early.  Branch-free, as about half the buckets are
 * empty: an empty bucket's bound is still that of the largest value
 * below it, if any (else the block is the lowest, done with tests). */
static inline void runs_top(run_scan *s)
{
    const uint32_t *cnt = s->cnt;
    size_t nb = s->nb, bbest = s->bbest, L = s->L;
    double lb = s->lb;
    for (size_t q = 0; q <= nb; q++) {
        size_t b = q == 0 ? bbest : nb - q, J0 = BLOCK_J0(b);
        int64_t Cj = (int64_t)s->ctop[b];
        uint64_t keep = 0;
        double vmax = 0.0;
        chord_t c;
        if ((q > 0 && b == bbest) || !s->blk[b] ||
            (FINE_K(BLOCK_J1(b)) <= s->knear && PRUNED(Cj * s->bfu[b])))
            continue;
        c = CHORD(b);
        if (BLOCK_J1(b) - J0 == BLK) { /* a full block: a kernel */
            uint32_t nofu = 0;
            for (int k = 0; k < BLK; k++)
                nofu |= (uint32_t)(FINE_K(J0 + k + 1) > s->knear) << k;
            keep = ah__block_keep(&c, cnt + J0, (uint64_t)Cj, L, nofu, lb,
                                  &vmax, s->isa);
            lb = vmax > lb ? vmax : lb;
            s->mark[J0 >> 6] |= keep << (J0 & 63);
            continue;
        }
        /* Within the block, bounds go against lb as it was, so no chain of
         * dependent updates slows the loop. */
        for (size_t j = BLOCK_J1(b); j-- > J0;) {
            int k = (int)(j - J0);
            double Cd = (double)Cj, v = Cd * chord_fl(&c, k);
            double u = Cd * FINE_FU(c, j, k);
            if (Cj > (int64_t)L)
                vmax = v > vmax ? v : vmax;
            keep |= (uint64_t)((cnt[j] != 0) & !PRUNED(u)) << k;
            Cj -= cnt[j];
        }
        lb = vmax > lb ? vmax : lb;
        s->mark[J0 >> 6] |= keep << (J0 & 63);
    }
    s->lb = lb;
}

/* The candidates against the final bound, in descending order, as runs.
 * Returns how many runs. */
static inline int runs_collect(const run_scan *s, run_t *runs)
{
    const uint32_t *cnt = s->cnt;
    size_t nf = s->nf;
    double lb = s->lb, fu = 0.0, fl = 0.0;
    int nruns = 0;
    for (size_t b = s->nb; b-- > 0;) {
        size_t Cj = s->ctop[b];
        chord_t c;
        if (!(s->mark[BLOCK_J0(b) >> 6] >> (BLOCK_J0(b) & 63) &
              ((UINT64_C(1) << BLK) - 1)))
            continue;
        c = CHORD(b);
        for (size_t j = BLOCK_J1(b); j-- > BLOCK_J0(b);) {
            if (MARKED(j) &&
                !PRUNED(Cj * FINE_FU(c, j, (int)(j - BLOCK_J0(b)))))
                add_bucket(runs, &nruns, FINE_K(j), FINE_K(j + 1), Cj,
                           cnt[j]);
            Cj -= cnt[j];
        }
    }
    size_t C = s->cdeep;
    for (size_t j = 0; j < s->jlast; j++) {
        if (MARKED(nf + j)) {
            grid_f(s->stat, DEEP_K(j + 1), s->amax, &fu, &fl);
            if (!PRUNED(C * fu))
                add_bucket(runs, &nruns, DEEP_K(j + 1), DEEP_K(j), C,
                           cnt[nf + j]);
        }
        C -= cnt[nf + j];
    }
    return nruns;
}
#undef FINE_K
#undef BLOCK_J0
#undef BLOCK_J1
#undef DEEP_K
#undef PRUNED
#undef MARK
#undef MARKED
#undef CHORD
#undef FINE_FU

/*
 * Find the buckets that can hold the best threshold, for SMALL < m <=
 * UINT32_MAX keys of values <= amax, with L nonpositive values.  Fills runs
 * (in descending order) and the proven lower bound *lb_out on pot.
 */
static int find_runs(const uint64_t *keys, size_t m, size_t L, int stat,
                     double amax, run_t *runs, double *lb_out)
{
    run_scan s;
    runs_grid(&s, m, L, stat, amax);
    runs_count(&s, keys, m);
    runs_deep(&s, runs_blocks(&s, m));
    runs_top(&s);
    *lb_out = s.lb;
    return runs_collect(&s, runs);
}

/* The keys of the p-values in (0, amax] into *keys (at first the caller's
 * stack buffer of KEYS_STACK, whose address is stack), *m of them, in a
 * buffer of *cap; *L the values <= 0.  Keys go to the stack buffer while
 * it has room; should it fill up, they move to a heap buffer with room
 * for every value left and sorting scratch (of which only the pages the
 * keys use are touched: counting the keys left first cost a scalar pass,
 * 20% of the scan at 65,536 values).  NaN poisons the sums, and no key
 * is written past the room.  On failure nothing is left allocated, and a
 * bad p-value is reported before a lack of memory. */
static inline int collect_keys(const double *pmax, size_t n, int unit,
                               uint64_t ka, uint64_t *stack, uint64_t **keys,
                               size_t *cap, size_t *m, size_t *L,
                               ah_diag *diag)
{
    size_t i = 0, bytes;
    double sum[4] = {0.0, 0.0, 0.0, 0.0};
    uint64_t neg = 0;
    int above = 0;
    while (i < n) {
        size_t room = *cap - *m, end = n - i < room ? n : i + room;
        ah__keys_copy(pmax, i, end, ka, *keys, m, sum, &neg, &above,
                      ah__isa_best());
        i = end;
        if (i < n && *cap - *m < KEYS_STACK / 16 && *keys == stack) {
            size_t most = *m + (n - i);
            if (!ah__mul_ok(3 * most + 2, sizeof **keys, &bytes) ||
                !(*keys = malloc(bytes))) {
                size_t j = first_bad(pmax, n, unit);
                *keys = stack;
                if (j < n)
                    return bad_fail(diag, pmax, j);
                return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                                "scan_individual: out of memory for %zu "
                                "values", most);
            }
            memcpy(*keys, stack, *m * sizeof **keys);
            *cap = 3 * most + 2;
        }
    }
    /* a NaN (or infinities of both signs); with unit, also a value <= 0
     * (zeros are in, negative values not) or above 1 */
    if (isnan(sum[0] + sum[1] + sum[2] + sum[3]) ||
        (unit && (above || neg >> 63))) {
        i = first_bad(pmax, n, unit);
        if (i < n) {
            if (*keys != stack)
                free(*keys);
            *keys = stack;
            return bad_fail(diag, pmax, i);
        }
    }
    if (neg >> 63)
        for (i = 0; i < n; i++)
            *L += pmax[i] <= 0.0;
    return AH_OK;
}

/* Sort the m keys (buffer of cap, the rest sorting scratch) and score
 * them into best; with many keys only the ranges find_runs keeps.  AH_OK
 * or AH_ERR_NOMEM. */
static inline int score_keys(uint64_t *keys, size_t m, size_t cap, size_t L,
                             int stat, double amax, best_t *best)
{
    run_t runs[MAX_RUNS];
    int st;
    if (m > SMALL && m <= UINT32_MAX) {
        /* Pull the ranges' keys to the front of the buffer in one pass (in
         * place: the rest only moves within the buffer), sort them together
         * and score each range; the buffer after them is sorting scratch. */
        size_t g = 0, at = 0;
        uint64_t lo[MAX_RUNS], span[MAX_RUNS];
        int nruns = find_runs(keys, m, L, stat, amax, runs, &best->pot);
        for (int q = 0; q < MAX_RUNS; q++) {
            /* unused ranges repeat the first: no key is tested twice */
            lo[q] = runs[q < nruns ? q : 0].klo;
            span[q] = runs[q < nruns ? q : 0].khi - lo[q];
        }
        if (nruns > 0)
            g = ah__keys_gather(keys, m, lo, span, nruns > 2 ? MAX_RUNS : nruns,
                                ah__isa_best());
        st = sort_run(keys, g, keys + g, cap - g);
        /* Ranges come in descending order, so ascending keys meet the last
         * range first. */
        for (int q = nruns; q-- > 0 && st == AH_OK;) {
            score_run(best, keys + at, runs[q].count,
                      runs[q].top - runs[q].count);
            at += runs[q].count;
        }
        return st;
    }
    if (m == 0)
        return AH_OK;
    st = sort_run(keys, m, keys + m, cap - m);
    if (st == AH_OK)
        score_run(best, keys, m, L);
    return st;
}

/* The scan; with unit, a p-value outside [0, 1] fails as NaN does, found
 * from the flags of the pass that copies the keys (no pass of its own
 * unless a flag is up: an input with a value <= 0 or above 1). */
static int scan_one(const double *pmax, size_t n, int stat, double alpha_max,
                    ah_scan_result *res, size_t *nodes, ah_diag *diag,
                    int unit)
{
    uint64_t stack_keys[KEYS_STACK], *keys = stack_keys;
    size_t cap = KEYS_STACK, m = 0, L = 0;
    double amax;
    best_t best = {stat, 0, 0, 0.0, 0.0, 0.0, 0};
    int st;

    ah__diag_clear(diag);
    if (!res || (!pmax && n > 0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: NULL argument");
    res->score = 0.0;
    res->alpha = 0.0;
    res->size = 0;
    if (!ah__stat_known(stat))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: unknown statistic %d", stat);
    best.pot_squared = ah__stats[stat].pot_squared;
    best.exact_near_one = ah__stats[stat].exact_near_one;
    if (isnan(alpha_max))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: alpha_max is NaN");
    /* Thresholds at or above 1 and at or below 0 score 0, so only values
     * in (0, amax] can win; those below count towards every rank. */
    amax = alpha_max < ONE_BELOW ? alpha_max : ONE_BELOW;
    if (!(amax > 0.0)) {
        size_t i = first_bad(pmax, n, unit);
        return i < n ? bad_fail(diag, pmax, i) : AH_OK;
    }
    st = collect_keys(pmax, n, unit, ah__bits_of(amax), stack_keys, &keys, &cap,
                      &m, &L, diag);
    if (st != AH_OK)
        return st;
    st = score_keys(keys, m, cap, L, stat, amax, &best);
    if (keys != stack_keys)
        free(keys);
    if (st != AH_OK)
        return ah__fail(diag, st, -1, -1,
                        "scan_individual: out of memory for %zu values", m);

    if (best.score > 0.0) {
        res->score = best.score;
        res->alpha = best.alpha;
        res->size = best.size;
        if (nodes) {
            /* Branch-free again; the write at k never passes n - 1, since
             * k < best.size until the last member is written. */
            size_t k = 0;
            for (size_t i = 0; i < n && k < best.size; i++) {
                nodes[k] = i;
                k += pmax[i] <= best.alpha;
            }
        }
    }
    return AH_OK;
}

int ah__scan_individual(const double *pmax, size_t n, int stat,
                        double alpha_max, ah_scan_result *res, size_t *nodes,
                        ah_diag *diag)
{
    return scan_one(pmax, n, stat, alpha_max, res, nodes, diag, 0);
}

int ah_scan_individual(const double *pmax, size_t n, int stat,
                       double alpha_max, ah_scan_result *res, size_t *nodes,
                       ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!res || (!pmax && n > 0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual: NULL argument");
    memset(res, 0, sizeof *res);
    int st = scan_options_check("scan_individual", stat, alpha_max, diag);
    if (st != AH_OK)
        return st;
    return scan_one(pmax, n, stat, alpha_max, res, nodes, diag, 1);
}

/* ---- many rows: ah_scan_individual_rows ---- */

typedef struct rows_job {
    const double *p;
    size_t rows, cols, ld, step;
    int stat, nthreads;
    double alpha_max;
    ah_scan_result *res;
    int status[256];
    ah_diag diag[256];
    int64_t bad_row[256];
} rows_job;

/* Thread t scans rows t, t + nthreads, ...; strided rows are gathered
 * into a buffer of its own first. */
static void rows_thread(void *ctx, int t)
{
    rows_job *jb = ctx;
    double *buf = NULL;
    jb->status[t] = AH_OK;
    jb->bad_row[t] = -1;
    if (jb->step != 1 && jb->rows > (size_t)t &&
        !(buf = malloc((jb->cols ? jb->cols : 1) * sizeof *buf))) {
        jb->status[t] = ah__fail(&jb->diag[t], AH_ERR_NOMEM, -1, -1,
                                 "out of memory");
        return;
    }
    for (size_t i = (size_t)t; i < jb->rows; i += (size_t)jb->nthreads) {
        const double *row = jb->p + i * jb->ld;
        if (buf) {
            for (size_t j = 0; j < jb->cols; j++)
                buf[j] = row[j * jb->step];
            row = buf;
        }
        int st = ah_scan_individual(row, jb->cols, jb->stat, jb->alpha_max,
                                    &jb->res[i], NULL, &jb->diag[t]);
        if (st != AH_OK) {
            jb->status[t] = st;
            jb->bad_row[t] = (int64_t)i;
            break;
        }
    }
    free(buf);
}

int ah_scan_individual_rows(const double *p, size_t rows, size_t cols,
                            size_t ld, size_t step, int stat,
                            double alpha_max, ah_scan_result *res,
                            int threads, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (rows && (!p || !res))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual_rows: NULL argument");
    if (step == 0 || (rows > 1 && cols > 0 && ld < (cols - 1) * step + 1))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_individual_rows: step %zu and row stride %zu "
                        "do not fit rows of %zu values", step, ld, cols);
    int st = scan_options_check("scan_individual_rows", stat, alpha_max,
                                diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_THREADS, threads, diag);
    if (st != AH_OK)
        return st;
    rows_job *jb = calloc(1, sizeof *jb);
    if (!jb)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    jb->p = p;
    jb->rows = rows;
    jb->cols = cols;
    jb->ld = ld;
    jb->step = step;
    jb->stat = stat;
    jb->alpha_max = alpha_max;
    jb->res = res;
    jb->nthreads = ah__thread_count(threads, rows);
    ah__parallel(jb->nthreads, rows_thread, jb);
    /* the first failing row, whatever thread met it */
    int at = -1;
    for (int t = 0; t < jb->nthreads; t++)
        if (jb->status[t] != AH_OK &&
            (at < 0 || (jb->bad_row[t] >= 0 &&
                        (jb->bad_row[at] < 0 ||
                         jb->bad_row[t] < jb->bad_row[at]))))
            at = t;
    if (at >= 0) {
        const ah_diag *d = &jb->diag[at];
        st = jb->status[at];
        if (jb->bad_row[at] >= 0 && st == AH_ERR_VALUE) {
            double v = p[(size_t)jb->bad_row[at] * ld + (size_t)d->col * step];
            if (isnan(v))
                ah__fail(diag, st, jb->bad_row[at], d->col,
                         "scan_individual_rows: row %lld, column %lld: NaN",
                         (long long)jb->bad_row[at], (long long)d->col);
            else
                ah__fail(diag, st, jb->bad_row[at], d->col,
                         "scan_individual_rows: row %lld, column %lld: "
                         "p-value %.17g is not in [0, 1]",
                         (long long)jb->bad_row[at], (long long)d->col, v);
        } else if (diag)
            *diag = *d;
    }
    free(jb);
    return st;
}
