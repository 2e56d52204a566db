/*
 * scan_individual.c - the individual scan of SPEC "Individual scan".
 *
 * Workload: one call per input, D (hundreds to tens of thousands) p_max
 * values, called for every row of a batch, so the constant matters.  Only
 * values <= alpha_max can be thresholds or subset members, and on clean
 * inputs that is about alpha_max of them; those are copied out as order-
 * preserving integer keys and sorted by an LSD radix sort whose passes are
 * skipped when every key has the same byte there (p-values in (0, 1] share
 * their top bits, so usually 5-6 of the 8 passes run).  One walk over the
 * sorted keys then evaluates every distinct threshold with n_a = n = its
 * rank.  Cost O(D + m) time and 2m keys of memory for m values <= alpha_max.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Map a non-NaN double to a uint64 whose unsigned order is the double's
 * order (-0.0 sorts just below +0.0; callers compare values with ==). */
static inline uint64_t key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x8000000000000000ULL) ? ~u : u | 0x8000000000000000ULL;
}

static inline double value_of(uint64_t k)
{
    uint64_t u = (k & 0x8000000000000000ULL) ? k & ~0x8000000000000000ULL
                                             : ~k;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Sort keys[0..n) ascending, using tmp[0..n) as scratch. */
static void radix_sort(uint64_t *keys, uint64_t *tmp, size_t n)
{
    size_t count[8][256];
    uint64_t *src = keys, *dst = tmp;
    if (n < 32) {
        for (size_t i = 1; i < n; i++) {
            uint64_t k = keys[i];
            size_t j = i;
            for (; j > 0 && keys[j - 1] > k; j--)
                keys[j] = keys[j - 1];
            keys[j] = k;
        }
        return;
    }
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

int ah_scan_individual(const double *pmax, size_t n, int stat,
                       double alpha_max, ah_scan_result *res, size_t *nodes,
                       ah_diag *diag)
{
    uint64_t *keys;
    size_t m = 0, bytes;
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
    for (size_t i = 0; i < n; i++) {
        if (isnan(pmax[i]))
            return ah__fail(diag, AH_ERR_VALUE, -1, (int64_t)i,
                            "scan_individual: p-value of node %zu is NaN", i);
        m += pmax[i] <= alpha_max;
    }
    if (m == 0)
        return AH_OK;
    if (!ah__mul_ok(m, 2 * sizeof *keys, &bytes) ||
        !(keys = malloc(bytes)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "scan_individual: out of memory for %zu values", m);
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (pmax[i] <= alpha_max)
            keys[m++] = key_of(pmax[i]);
    radix_sort(keys, keys + m, m);

    /* keys[i] is the (i+1)-th smallest value: a threshold at the last copy
     * of each distinct value, where the subset size is i + 1.  Strictly
     * greater keeps the smallest threshold on ties. */
    for (size_t i = 0; i < m; i++) {
        double a = value_of(keys[i]), s;
        if (i + 1 < m && value_of(keys[i + 1]) == a)
            continue;
        s = ah_stat_score(stat, a, (double)(i + 1), (double)(i + 1));
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
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (pmax[i] <= best_alpha)
                    nodes[k++] = i;
        }
    }
    return AH_OK;
}
