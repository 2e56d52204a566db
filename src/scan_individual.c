/*
 * scan_individual.c - the individual scan of SPEC "Individual scan".
 *
 * Workload: one call per input, D (hundreds to tens of thousands) p_max
 * values, called for every row of a batch, so the constant matters.  Only
 * values <= alpha_max can be thresholds or subset members, and on clean
 * inputs that is about alpha_max of them; those are copied out (branch-free:
 * the test is a coin flip on clean inputs) as order-preserving integer keys
 * and sorted in O(m): a counting pass into m buckets of equal width in value,
 * then an insertion sort with a budget, then a radix sort only if the values
 * were too clustered for the budget.  One walk over the sorted keys then
 * evaluates every distinct threshold with n_a = n = its rank, one logarithm
 * each for Berk-Jones.  Cost O(D + m) time and 3m words of memory for the m
 * values <= alpha_max.
 */
#include "bytes.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LSD radix sort of keys[0..n) ascending, tmp[0..n) as scratch; bytes
 * that every key shares are skipped. */
static void radix_sort(uint64_t *keys, uint64_t *tmp, size_t n)
{
    size_t count[8][256];
    uint64_t *src = keys, *dst = tmp;
    if (n < 2)
        return;
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(keys[i] >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 8; b++) {
        size_t sum = 0, *c = count[b];
        uint64_t *t;
        if (c[(keys[0] >> (8 * b)) & 0xff] == n)
            continue; /* every key has the same byte here */
        for (int d = 0; d < 256; d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
}

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
 * Sort keys[0..n) ascending; scratch holds 2n + 1 words.  P-values spread
 * fairly evenly over [min, max], so one counting pass into n buckets of
 * equal width in value leaves only a few inversions (equal values, the
 * common ties, are no inversions at all) for an insertion sort to remove.
 * Values clustered inside a few buckets exceed the insertion budget and go
 * to the radix sort, so the cost stays O(n) either way.
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
    lo = ah__key_value(kmin);
    hi = ah__key_value(kmax);
    scale = (double)n / (hi - lo);
    if (kmin == kmax)
        return;
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(scale)) {
        radix_sort(keys, scratch, n);
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
    if (!insertion_sort(keys, n, 4 * n))
        radix_sort(keys, scratch, n);
}

/* phi(a, n, n): for Berk-Jones with n_a = n, q = 1 and ah_stat_score
 * reduces to n (0 - ln a); computing that directly costs one logarithm and
 * gives the same bits. */
static inline double score_full(int stat, double a, double n)
{
    if (stat == AH_STAT_BJ)
        return a > 0.0 && a < 1.0 ? n * -log(a) : 0.0;
    return ah_stat_score(stat, a, n, n);
}

int ah_scan_individual(const double *pmax, size_t n, int stat,
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
    sort_keys(keys, keys + m + 1, m);

    /* keys[i] is the (i+1)-th smallest value: a threshold at the last copy
     * of each distinct value, where the subset size is i + 1.  Strictly
     * greater keeps the smallest threshold on ties.  (Equal keys are equal
     * values; -0.0 and +0.0 differ but both score 0.) */
    for (size_t i = 0; i < m; i++) {
        double a, s;
        if (i + 1 < m && keys[i + 1] == keys[i])
            continue;
        a = ah__key_value(keys[i]);
        s = score_full(stat, a, (double)(i + 1));
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
