/*
 * scan_group.c - the group scan of docs/METHOD.md section 7: the fast
 * generalized subset scan of McFowland, Speakman and Neill (JMLR 2013).
 * This file is the ascent (half steps, restarts, the call); the problem it
 * reads is built by scan_group_setup.c (scan_group.h).
 *
 * Problem.  p holds rows (inputs) x cols (nodes) p-value ranges.  Maximise
 * F(S) = max_a phi(a, N_a(S), N(S)) over S = S_I x S_N, where N(S) =
 * |S_I||S_N| and N_a(S) counts the pairs of S with p_max <= a (fractional
 * mode: sums each pair's share of [p_min, p_max] at or below a).  The
 * thresholds a are the distinct p_max values <= alpha_max in the batch; when
 * there are more than GS_MAX_THRESHOLDS of them (continuous p-values, or
 * empirical ones with a large N), the smallest half of that many and the
 * other half at evenly spaced ranks, the largest included.  Scores at them
 * are exact; only the choice of threshold is coarser, as in the NumPy
 * implementations, which keep about 50.
 *
 * Method.  Iterative ascent from several starts.  With one side fixed (say
 * the inputs, m of them), every node j has a count c_j(a) of hits among the
 * fixed inputs, and for each a the best node subset is a prefix of the nodes
 * sorted by c_j (the linear-time subset scanning property), so a half step
 * is an exact optimisation over (a, the free side).  The sides alternate
 * while each half step strictly improves the score, at most 2 max_iter
 * half steps; the state kept is always the best so far, and a half step
 * only looks for candidates above it, which lets most of them be pruned.
 * Restarts often meet the same subsets (on the benchmark batch every one
 * ends at the same fixed point), so with two or more restarts the answers
 * of half steps are kept and reused (group_memo.h): the result is the same
 * bits, as test_scan_group checks against the scan without them.
 *
 * Cost of a half step.  Once per call the pairs with p_max <= alpha_max get
 * their threshold's rank and are stored per input, per node and by rank
 * ("Setup" in scan_group_setup.c).  A half step gathers the pairs of the
 * fixed side (P_S of them) and buckets them by threshold (a counting sort of
 * their lists, or a filter of all pairs by rank when P_S > P / 3), then
 * sweeps the thresholds upwards, incrementing only the counts that change,
 * with a histogram of how many items have each count (an increment moves one
 * item up one count, O(1)); the items sorted by count are blocks of equal
 * count, walked from the largest count present down to the expected count m
 * a.  A threshold is evaluated only when some count changed since the last
 * one evaluated (an unchanged count at a larger a scores lower for every
 * statistic; a <= 0 is never evaluated), and only at block boundaries: along
 * a run of equal counts the statistic is convex in the run length (bj is the
 * perspective of a convex function; hc and ks are (u + v x) / sqrt(w + z x),
 * which can peak inside a run only where they are negative), so its maximum
 * is at an end.  A half step costs O(P_S + T B) for T thresholds and B
 * counts between the largest and the expected one, instead of O(T rows
 * cols).
 *
 * Fractional mode keeps, per item, the full count plus the sums of 1/w and
 * p_min/w over the pairs whose range straddles a (w = p_max - p_min), so
 * its count at a is full + a S1 - S0; the items are re-sorted by that count
 * at every threshold (nearly sorted already: an insertion sort) and every
 * prefix is a candidate, O(P + T U) per half step for U items.  The running
 * sums lose the small ranges when an item's ranges differ in width by 16
 * decades or more (the rounding residue of 1/w for the narrow ones swamps
 * the others); our models' ranges are at least 1/(N + 1) wide.
 *
 * Threads and reproducibility.  Restart r draws its start from its own
 * splitmix64 stream derived from (seed, r); restart 0 starts from all
 * inputs.  Restarts are handed to threads from a shared counter, each thread
 * keeps its best (the lowest restart index among equal scores, since a
 * thread takes its restarts in increasing order) and the threads are
 * combined by score, then restart index: the result does not depend on the
 * number of threads.
 */
#include "scan_group.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A half step sweeps the thresholds in groups of GROUP, and a group whose
 * bound shows it cannot beat the best so far only counts its pairs (one
 * memory write each, instead of three with the histogram), when it has at
 * least as many pairs as it costs to bound it (items + counts). */
enum { GROUP = 16 };

typedef struct {
    double c;
    uint32_t idx;
} gs_item;

/* Per-thread workspace and that thread's best result. */
typedef struct {
    uint32_t *cnt;       /* n_max: the items' counts                        */
    int32_t *h0, *h1;    /* n_max + 2: how many items have each count, in
                            two halves (half_step_count)                   */
    uint32_t *ev;        /* P items of the gathered pairs, by rank         */
    size_t *ev_start;    /* T + 2                                          */
    unsigned char *in_I, *in_N;          /* current subsets                */
    unsigned char *tb_I, *tb_N;          /* best of this thread            */
    double tb_score, tb_alpha;
    long tb_restart;
    /* fractional mode */
    double *s1, *s0;
    uint32_t *active;
    unsigned char *is_touched;
    gs_item *items, *items2;
    size_t *bcnt;        /* n_max + 1 bucket counts for sort_items        */
} gs_work;

typedef struct {
    const gs_problem *pb;
    gs_work *work;
    atomic_long next;
} gs_shared;

/* ---- one half step ------------------------------------------------------ */

/* Pair e of bucket list: the member on the fixed side and the free item. */
#define FIXED(side, pr) ((side) == 0 ? (pr).i : (pr).j)
#define ITEM(side, pr) ((side) == 0 ? (pr).j : (pr).i)

/*
 * Scoring at one threshold.  Most candidates of a half step score well
 * below the best found so far, so each is first held against a bound that
 * needs no logarithm or square root: with excess = n_a - n a and
 * v = a (1 - a), hc > best iff excess^2 > best^2 n v, ks > best iff
 * excess^2 > best^2 n, and bj = n KL <= n chi^2 = excess^2 / (n v).  The
 * margin 1e-9 keeps rounding from pruning a candidate that would win.
 */
typedef struct {
    int stat, have_logs;
    double a, v, la, l1a; /* a, a (1 - a), log a, log1p(-a) */
} gs_thr;

static inline void thr_init(gs_thr *z, int stat, double a)
{
    z->stat = stat;
    z->have_logs = 0;
    z->a = a;
    z->v = a * (1.0 - a);
    z->la = z->l1a = 0.0;
}

/* Berk-Jones with log a and log1p(-a) computed once per threshold: the same
 * operations in the same order as stats.c, hence the same bits as
 * ah_stat_score (test_scan_group compares with it exactly).  Requires
 * 0 < a < 1 and n a < A <= n. */
static inline double bj_fast(const gs_thr *z, double A, double n)
{
    double q = A / n, s;
    if (q > 1.0)
        q = 1.0;
    s = A * (log(q) - z->la);
    if (A < n && q < 1.0)
        s += (n - A) * (log1p(-q) - z->l1a);
    return s > 0.0 ? s : 0.0;
}

/* phi(a, A, n) when it may exceed best, else 0 (no more than phi).  Each
 * statistic's limit L is such that phi > best implies ex^2 > L. */
static inline double score_if_better(gs_thr *z, double A, double n,
                                     double best)
{
    double ex = A - n * z->a, lim = 0.0;
    if (!(ex > 0.0))
        return 0.0;
    AH__ASSUME(ah__stat_known(z->stat));
    switch ((enum ah_stat)z->stat) {
    case AH_STAT_BJ: lim = best * n * z->v; break;        /* bj: n chi^2 */
    case AH_STAT_HC: lim = best * best * n * z->v; break;
    case AH_STAT_KS: lim = best * best * n; break;
    }
    if (ex * ex <= lim * (1.0 - 1e-9))
        return 0.0;
    if (z->stat != AH_STAT_BJ) /* the others through their row */
        return ah_stat_score(z->stat, z->a, A, n);
    if (!z->have_logs) {
        z->la = log(z->a);
        z->l1a = log1p(-z->a);
        z->have_logs = 1;
    }
    return bj_fast(z, A, n);
}

/*
 * Bucket the pairs of the fixed side by threshold rank into w->ev (the free
 * items) and w->ev_start (bucket t is ev[ev_start[t] .. ev_start[t+1])).
 * The order inside a bucket does not matter (a half step only uses the
 * counts it reaches at each threshold).  When the fixed members hold more
 * than a third of all pairs, one sequential pass over every pair by rank
 * (pb->full) keeping those of fixed members is cheaper than a counting
 * sort of their lists, whose scatter writes to T places at once; so is it
 * for fixed nodes until their lists are worth building (gs_lazy).
 */
static void gather(const gs_problem *pb, gs_work *w, int side,
                   const unsigned char *fixed)
{
    const size_t nf = side == 0 ? pb->rows : pb->cols, T = pb->T;
    const gs_event *ev = side == 0 ? pb->row_ev : pb->col_ev;
    const size_t *st = side == 0 ? pb->row_start : pb->col_start;
    size_t *bs = w->ev_start, PS = 0;
    for (size_t f = 0; f < nf; f++)
        PS += fixed[f] ? st[f + 1] - st[f] : 0;
    int filter = 3 * PS > pb->P;
    if (!filter && side == 1 &&
        !atomic_load_explicit(&pb->lazy->ready, memory_order_acquire))
        filter = atomic_fetch_add(&pb->lazy->asked, 1) + 1 < LISTS_AFTER;
    if (filter) {
        /* Branch-free: the write at ev[g] stays below P, since a pair not
         * kept means g < PS <= P - 1 from then on. */
        const uint32_t *f = pb->full;
        const int cb = pb->cbits;
        const uint32_t cm = (uint32_t)(((uint64_t)1 << cb) - 1);
        size_t g = 0;
        for (size_t t = 0; t < T; t++) {
            const size_t e1 = pb->full_start[t + 1];
            bs[t] = g;
            if (side == 0)
                for (size_t e = pb->full_start[t]; e < e1; e++) {
                    w->ev[g] = f[e] & cm;
                    g += fixed[(uint64_t)f[e] >> cb] != 0;
                }
            else
                for (size_t e = pb->full_start[t]; e < e1; e++) {
                    w->ev[g] = (uint32_t)((uint64_t)f[e] >> cb);
                    g += fixed[f[e] & cm] != 0;
                }
        }
        bs[T] = g;
        return;
    }
    if (side == 1)
        ah__gs_need_col_lists(pb);
    memset(bs, 0, (T + 2) * sizeof *bs);
    for (size_t f = 0; f < nf; f++)
        if (fixed[f])
            for (size_t e = st[f]; e < st[f + 1]; e++)
                bs[ev[e].rank + 2]++;
    for (size_t t = 0; t < T; t++)
        bs[t + 2] += bs[t + 1];
    for (size_t f = 0; f < nf; f++)
        if (fixed[f])
            for (size_t e = st[f]; e < st[f + 1]; e++)
                w->ev[bs[ev[e].rank + 1]++] = ev[e].other;
}

/*
 * Whether no threshold of a group [a0, a1] (0 < a0 <= a1 < 1) can score
 * above best, from the items' counts at its last threshold (w->cnt).  At
 * any threshold a of the group a subset has at most those counts and a >=
 * a0, and phi grows with the count and falls with a (hc: its numerator
 * does, and its denominator is at least sqrt(n v) with v the smaller of
 * a0 (1 - a0) and a1 (1 - a1)).  So the largest phi(a0, ...) (hc: over
 * sqrt(n v)) over prefixes of the items sorted by those counts bounds the
 * group, and as in the sweep only prefixes ending at a block of equal
 * counts above m a0 need trying.  A bound within 1e-9 of best is not
 * trusted.  Uses w->h1 as scratch.
 */
static int group_below(gs_work *w, uint32_t n, uint32_t m, int stat,
                       double a0, double a1, double best)
{
    const double dm = (double)m, ma = dm * a0,
                 v0 = a0 * (1.0 - a0), v1 = a1 * (1.0 - a1),
                 vmin = v0 < v1 ? v0 : v1;
    int32_t *h = w->h1;
    uint32_t cmax = 0;
    double A = 0.0, K = 0.0;
    gs_thr z;
    memset(h, 0, (m + 2) * sizeof *h);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t c = w->cnt[k];
        h[c]++;
        cmax = c > cmax ? c : cmax;
    }
    thr_init(&z, stat, a0);
    for (uint32_t c = cmax; (double)c > ma; c--) {
        double s, nn, ex;
        if (h[c] == 0)
            continue;
        K += (double)h[c];
        A += (double)h[c] * (double)c;
        nn = K * dm;
        s = INFINITY; /* no bound: the group is scanned */
        AH__ASSUME(ah__stat_known(stat));
        switch ((enum ah_stat)stat) {
        case AH_STAT_HC:
            ex = A - nn * a0;
            s = ex > 0.0 ? ex / sqrt(nn * vmin) : 0.0;
            break;
        case AH_STAT_BJ: /* fall with a at fixed counts: phi itself at */
        case AH_STAT_KS: /* a0, or 0 if surely below best */
            s = score_if_better(&z, A, nn, best);
            break;
        }
        if (s * (1.0 + 1e-9) >= best)
            return 0;
    }
    return 1;
}

/*
 * Integer counts.  side 0: the inputs in fixed (m of them) are fixed and
 * the items are nodes; side 1: the reverse.  When some subset scores above
 * floor, writes the best items into out and returns its score; else returns
 * 0 and leaves out alone.
 *
 * The walk down the blocks stops at the first count c <= m a: an item with
 * c / m <= a lowers every statistic when added to a prefix whose rate
 * exceeds a (for bj the derivative along the addition is m times
 * r ln(q/a) + (1-r) ln((1-q)/(1-a)), which is -KL(a||q) < 0 at r = a and
 * rises with r), and every later block has a smaller count.
 */
/* The histogram of the n counts (h0; h1 cleared), from them; returns
 * the largest count. */
static inline uint32_t counts_histogram(gs_work *w, uint32_t n, uint32_t m)
{
    uint32_t cmax = 0;
    memset(w->h0, 0, (m + 2) * sizeof *w->h0);
    memset(w->h1, 0, (m + 2) * sizeof *w->h1);
    for (uint32_t k = 0; k < n; k++) {
        w->h0[w->cnt[k]]++;
        cmax = w->cnt[k] > cmax ? w->cnt[k] : cmax;
    }
    return cmax;
}

/* Add the pairs e0..e1 of one threshold to the counts and to the two
 * histograms of the counts, taking alternate pairs, so two increments of
 * one count do not wait on each other.  Returns the new largest count. */
static inline uint32_t counts_add(gs_work *w, size_t e0, size_t e1,
                                  uint32_t cmax)
{
    size_t e = e0;
    for (; e + 2 <= e1; e += 2) {
        uint32_t c0 = w->cnt[w->ev[e]]++;
        w->h0[c0]--;
        w->h0[c0 + 1]++;
        uint32_t c1 = w->cnt[w->ev[e + 1]]++;
        w->h1[c1]--;
        w->h1[c1 + 1]++;
        c0 = c0 > c1 ? c0 : c1;
        cmax = c0 + 1 > cmax ? c0 + 1 : cmax;
    }
    if (e < e1) {
        uint32_t c0 = w->cnt[w->ev[e]]++;
        w->h0[c0]--;
        w->h0[c0 + 1]++;
        cmax = c0 + 1 > cmax ? c0 + 1 : cmax;
    }
    return cmax;
}

/* Walk the counts present at threshold z from the highest (cmax) down to
 * above m a: each is a block of items of equal count, and a prefix of the
 * items sorted by count ends at a block's end.  A score above *best sets
 * it and *best_c (the count the prefix ends at); returns whether one
 * did. */
static inline int counts_walk(const gs_work *w, gs_thr *z,
                              uint32_t cmax, double ma, double dm,
                              double *best, uint32_t *best_c)
{
    double A = 0.0, K = 0.0;
    int better = 0;
    for (uint32_t c = cmax; (double)c > ma; c--) {
        int32_t k = w->h0[c] + w->h1[c];
        double s;
        if (k == 0)
            continue;
        K += (double)k;
        A += (double)k * (double)c;
        s = score_if_better(z, A, K * dm, *best);
        if (s > *best) {
            *best = s;
            *best_c = c;
            better = 1;
        }
    }
    return better;
}

static double half_step_count(const gs_problem *pb, gs_work *w, int side,
                              const unsigned char *fixed, uint32_t m,
                              double floor, unsigned char *out,
                              double *alpha)
{
    const uint32_t n = (uint32_t)(side == 0 ? pb->cols : pb->rows);
    const int stat = pb->o->stat;
    const double dm = (double)m;
    const size_t *bs = w->ev_start;
    double best = floor;
    size_t best_t = SIZE_MAX;
    uint32_t best_c = 0, cmax = 0;
    int changed = 0, hist_valid = 0;

    gather(pb, w, side, fixed);
    memset(w->cnt, 0, n * sizeof *w->cnt);

    for (size_t g0 = 0; g0 < pb->T; g0 += GROUP) {
        const size_t g1 = pb->T - g0 < GROUP ? pb->T : g0 + GROUP;
        const double a0 = pb->thr[g0], a1 = pb->thr[g1 - 1];
        /* A group of thresholds skipped whole: its pairs only raise the
         * counts, and its bound shows none of its thresholds can beat
         * best.  Only groups inside (0, 1), where every threshold with
         * new pairs is evaluated, so none is left "changed". */
        if (pb->prune && best > 0.0 && a0 > 0.0 && a1 < 1.0 &&
            bs[g1] - bs[g0] >= (size_t)n + m) {
            for (size_t e = bs[g0]; e < bs[g1]; e++)
                w->cnt[w->ev[e]]++;
            hist_valid = 0;
            if (group_below(w, n, m, stat, a0, a1, best)) {
                changed = 0;
                continue;
            }
            for (size_t e = bs[g0]; e < bs[g1]; e++)
                w->cnt[w->ev[e]]--;
        }
        if (!hist_valid) {
            cmax = counts_histogram(w, n, m);
            hist_valid = 1;
        }
        for (size_t t = g0; t < g1; t++) {
            const double a = pb->thr[t];
            gs_thr z;
            cmax = counts_add(w, bs[t], bs[t + 1], cmax);
            /* An unchanged count at a larger a scores lower than at the
             * last threshold evaluated, unless that was skipped as a <= 0
             * (p-values of 0, which a KDE far in the tail gives): counts
             * that changed there are first scored at the first a > 0. */
            changed |= bs[t] != bs[t + 1];
            if (!changed || !(a > 0.0 && a < 1.0))
                continue;
            changed = 0;
            thr_init(&z, stat, a);
            if (counts_walk(w, &z, cmax, dm * a, dm, &best, &best_c))
                best_t = t;
        }
    }
    if (best_t == SIZE_MAX)
        return 0.0;

    /* Replay up to the best threshold: the subset is every item whose count
     * there is at least best_c. */
    memset(w->cnt, 0, n * sizeof *w->cnt);
    for (size_t e = 0; e < bs[best_t + 1]; e++)
        w->cnt[w->ev[e]]++;
    for (uint32_t k = 0; k < n; k++)
        out[k] = w->cnt[k] >= best_c;
    *alpha = pb->thr[best_t];
    return best;
}

/* Descending count, then ascending index: a total order, so the sorted
 * sequence does not depend on how it was reached. */
static inline int item_before(const gs_item *x, const gs_item *y)
{
    return x->c > y->c || (x->c == y->c && x->idx < y->idx);
}

static int item_cmp(const void *x, const void *y)
{
    return item_before(x, y) ? -1 : item_before(y, x) ? 1 : 0;
}

/*
 * Sort it[0..n) (given in increasing idx) by item_before; tmp holds n
 * items, cnt n + 1 words.  Buckets of equal width in count, filled in idx
 * order so that ties are already in order, then an insertion sort for what
 * is left within buckets, and qsort if that exceeds its budget.
 */
static void sort_items(gs_item *it, gs_item *tmp, size_t *cnt, size_t n)
{
    double lo = INFINITY, hi = -INFINITY, scale;
    size_t budget = 4 * n;
    if (n < 2)
        return;
    for (size_t i = 0; i < n; i++) {
        lo = it[i].c < lo ? it[i].c : lo;
        hi = it[i].c > hi ? it[i].c : hi;
    }
    if (lo == hi)
        return; /* all equal: idx order is the order */
    scale = (double)n / (hi - lo);
    /* Descending count: bucket 0 holds the largest. */
#define BUCKET(c) (size_t)((hi - (c)) * scale)
    memset(cnt, 0, (n + 1) * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(it[i].c);
        cnt[(b < n ? b : n - 1) + 1]++;
    }
    for (size_t b = 0; b < n; b++)
        cnt[b + 1] += cnt[b];
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(it[i].c);
        tmp[cnt[b < n ? b : n - 1]++] = it[i];
    }
#undef BUCKET
    memcpy(it, tmp, n * sizeof *it);
    for (size_t i = 1; i < n; i++) {
        gs_item x = it[i];
        size_t j = i;
        for (; j > 0 && item_before(&x, &it[j - 1]); j--)
            it[j] = it[j - 1];
        it[j] = x;
        if (i - j > budget) {
            qsort(it, n, sizeof *it, item_cmp);
            return;
        }
        budget -= i - j;
    }
}

/* Threshold t's pairs of the fixed side's items into the items' counts:
 * pairs whose range starts at or below it become active (a share of
 * each counts, kept as sums s1, s0), pairs whose range ends at or below
 * it count whole.  *total_active follows the active pairs.  Returns
 * whether any count changed. */
static inline int frac_add(const gs_problem *pb, gs_work *w, int side,
                           const unsigned char *fixed, size_t t,
                           size_t *total_active)
{
    const size_t C = pb->cols;
    const double *p = pb->p;
    int dirty = 0;
    for (size_t e = pb->act_start[t]; e < pb->act_start[t + 1]; e++) {
        const gs_pair pr = pb->act[e];
        uint32_t x;
        double lo, wd;
        if (!fixed[FIXED(side, pr)])
            continue;
        x = ITEM(side, pr);
        lo = p[((size_t)pr.i * C + pr.j) * 2];
        wd = p[((size_t)pr.i * C + pr.j) * 2 + 1] - lo;
        w->active[x]++;
        w->s1[x] += 1.0 / wd;
        w->s0[x] += lo / wd;
        (*total_active)++;
        w->is_touched[x] = 1;
        dirty = 1;
    }
    for (size_t e = pb->full_start[t]; e < pb->full_start[t + 1]; e++) {
        const gs_pair pr = {full_i(pb, e), full_j(pb, e)};
        uint32_t x;
        if (!fixed[FIXED(side, pr)])
            continue;
        x = ITEM(side, pr);
        w->cnt[x]++;
        if (pb->was_active[e]) {
            double lo = p[((size_t)pr.i * C + pr.j) * 2];
            double wd = p[((size_t)pr.i * C + pr.j) * 2 + 1] - lo;
            (*total_active)--;
            if (--w->active[x] == 0) {
                w->s1[x] = w->s0[x] = 0.0; /* drop rounding residue */
            } else {
                w->s1[x] -= 1.0 / wd;
                w->s0[x] -= lo / wd;
            }
        }
        w->is_touched[x] = 1;
        dirty = 1;
    }
    return dirty;
}

/* The items with a fractional count above the expected m a at threshold
 * a, sorted by count into w->items.  Only those can be in a best prefix
 * (see half_step_count); they are collected in idx order.  Returns how
 * many. */
static inline size_t frac_items(gs_work *w, uint32_t n, double a, double ma)
{
    size_t nitems = 0;
    for (uint32_t x = 0; x < n; x++) {
        double c;
        if (!w->is_touched[x])
            continue;
        c = (double)w->cnt[x];
        if (w->active[x]) {
            double part = a * w->s1[x] - w->s0[x];
            if (part < 0.0)
                part = 0.0;
            if (part > (double)w->active[x])
                part = (double)w->active[x];
            c += part;
        }
        if (c > ma)
            w->items[nitems++] = (gs_item){c, x};
    }
    sort_items(w->items, w->items2, w->bcnt, nitems);
    return nitems;
}

/*
 * Fractional counts: sweep the thresholds, evaluating each prefix of the
 * items sorted by count against floor (*best_t is set when one beats
 * it).  With replay != 0, stop at rank stop (the best threshold of an
 * earlier sweep), skipping the evaluations, and leave the sorted items
 * there in w->items (*nu of them).
 */
static double sweep_fractional(const gs_problem *pb, gs_work *w, int side,
                               const unsigned char *fixed, uint32_t m,
                               double floor, int replay, size_t stop,
                               size_t *best_t, size_t *best_k, size_t *nu)
{
    const uint32_t n = (uint32_t)(side == 0 ? pb->cols : pb->rows);
    const double dm = (double)m;
    double best = floor;
    size_t nitems = 0, total_active = 0;
    size_t last = replay ? stop + 1 : pb->T;

    for (uint32_t k = 0; k < n; k++) {
        w->cnt[k] = 0;
        w->active[k] = 0;
        w->s1[k] = w->s0[k] = 0.0;
        w->is_touched[k] = 0;
    }
    int dirty = 0; /* counts changed since the last threshold scored */
    for (size_t t = 0; t < last; t++) {
        const double a = pb->thr[t], ma = dm * a;
        double A = 0.0;
        gs_thr z;
        dirty |= frac_add(pb, w, side, fixed, t, &total_active);
        if (replay ? t != stop
                   : (!dirty && total_active == 0) || !(a > 0.0 && a < 1.0))
            continue;
        dirty = 0;
        nitems = frac_items(w, n, a, ma);
        if (replay) {
            *nu = nitems;
            return best;
        }
        thr_init(&z, pb->o->stat, a);
        for (size_t u = 0; u < nitems; u++) {
            double s;
            A += w->items[u].c;
            s = score_if_better(&z, A, (double)(u + 1) * dm, best);
            if (s > best) {
                best = s;
                *best_t = t;
                *best_k = u + 1;
            }
        }
    }
    *nu = nitems;
    return best;
}

static double half_step_fractional(const gs_problem *pb, gs_work *w, int side,
                                   const unsigned char *fixed, uint32_t m,
                                   double floor, unsigned char *out,
                                   double *alpha)
{
    const size_t n = side == 0 ? pb->cols : pb->rows;
    size_t best_t = SIZE_MAX, best_k = 0, nu = 0;
    double best = sweep_fractional(pb, w, side, fixed, m, floor, 0, 0,
                                   &best_t, &best_k, &nu);
    if (best_t == SIZE_MAX)
        return 0.0;
    /* The counts at best_t come from the same operations in the same order,
     * and their sorted order is unique, so the prefix is the one scored. */
    sweep_fractional(pb, w, side, fixed, m, 0.0, 1, best_t, NULL, NULL, &nu);
    memset(out, 0, n);
    for (size_t u = 0; u < best_k && u < nu; u++)
        out[w->items[u].idx] = 1;
    *alpha = pb->thr[best_t];
    return best;
}

static double half_step(const gs_problem *pb, gs_work *w, int side,
                        const unsigned char *fixed, double floor,
                        unsigned char *out, double *alpha)
{
    size_t nf = side == 0 ? pb->rows : pb->cols;
    uint32_t m = 0;
    for (size_t k = 0; k < nf; k++)
        m += fixed[k] != 0;
    double s;
    if (m == 0)
        return 0.0;
    if (ah__group_memo_get(pb->memo, side, fixed, floor, &s, out, alpha))
        return s;
    s = pb->o->fractional
            ? half_step_fractional(pb, w, side, fixed, m, floor, out, alpha)
            : half_step_count(pb, w, side, fixed, m, floor, out, alpha);
    ah__group_memo_put(pb->memo, side, fixed, floor, s, out,
                       s > 0.0 ? *alpha : 0.0);
    return s;
}

/* ---- restarts ----------------------------------------------------------- */

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double unit(uint64_t *s)
{
    return (double)(splitmix64(s) >> 11) * 0x1.0p-53;
}

/*
 * Run restart r; fold its result into the thread's best.  in_I and in_N
 * always hold the best pair so far (a half step that does not beat it
 * changes nothing), and the ascent stops at the first half step that does
 * not improve: the pair is then a fixed point of both half steps, since
 * the other side was chosen as the best response one step earlier.
 */
static void run_restart(const gs_problem *pb, gs_work *w, long r)
{
    const size_t R = pb->rows, C = pb->cols;
    double best = 0.0, best_alpha = 0.0;
    uint64_t st = pb->o->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(r + 1));
    long steps = 2L * pb->o->max_iter;

    splitmix64(&st);
    if (r == 0) {
        memset(w->in_I, 1, R);
    } else {
        /* A random inclusion rate per restart gives starts of all sizes. */
        double rate = unit(&st);
        size_t m = 0;
        for (size_t i = 0; i < R; i++) {
            w->in_I[i] = unit(&st) < rate;
            m += w->in_I[i];
        }
        if (m == 0)
            w->in_I[splitmix64(&st) % R] = 1;
    }
    for (long k = 0; k < steps; k++) {
        int side = (int)(k & 1); /* 0: choose nodes, 1: choose inputs */
        double a = 0.0;
        double s = side == 0 ? half_step(pb, w, 0, w->in_I, best, w->in_N, &a)
                             : half_step(pb, w, 1, w->in_N, best, w->in_I, &a);
        if (!(s > best))
            break;
        best = s;
        best_alpha = a;
    }
    /* Restarts reach a thread in increasing order: strict > keeps the
     * lowest index among equal scores. */
    if (best > w->tb_score) {
        w->tb_score = best;
        w->tb_alpha = best_alpha;
        w->tb_restart = r;
        memcpy(w->tb_I, w->in_I, R);
        memcpy(w->tb_N, w->in_N, C);
    }
}

static void worker(void *ctx, int index)
{
    gs_shared *sh = ctx;
    gs_work *w = &sh->work[index];
    for (;;) {
        long r = atomic_fetch_add(&sh->next, 1);
        if (r >= sh->pb->o->restarts)
            break;
        run_restart(sh->pb, w, r);
    }
}

static void work_free(gs_work *w)
{
    free(w->cnt);
    free(w->h0);
    free(w->h1);
    free(w->in_I);
    free(w->ev);
    free(w->ev_start);
    free(w->s1);
    free(w->s0);
    free(w->active);
    free(w->is_touched);
    free(w->items);
    free(w->items2);
    free(w->bcnt);
}

static int work_alloc(gs_work *w, const gs_problem *pb)
{
    const size_t R = pb->rows, C = pb->cols, n = R > C ? R : C;
    memset(w, 0, sizeof *w);
    w->tb_restart = -1;
    w->cnt = malloc(n * sizeof *w->cnt);
    w->h0 = malloc((n + 2) * sizeof *w->h0);
    w->h1 = malloc((n + 2) * sizeof *w->h1);
    w->ev = malloc(pb->P * sizeof *w->ev);
    w->ev_start = malloc((pb->T + 2) * sizeof *w->ev_start);
    /* One block for the four flag arrays. */
    w->in_I = malloc(2 * (R + C));
    if (!w->cnt || !w->h0 || !w->h1 || !w->ev ||
        !w->ev_start || !w->in_I)
        return 0;
    w->in_N = w->in_I + R;
    w->tb_I = w->in_N + C;
    w->tb_N = w->tb_I + R;
    if (pb->o->fractional) {
        w->s1 = malloc(n * sizeof *w->s1);
        w->s0 = malloc(n * sizeof *w->s0);
        w->active = malloc(n * sizeof *w->active);
        w->is_touched = malloc(n);
        w->items = malloc(n * sizeof *w->items);
        w->items2 = malloc(n * sizeof *w->items2);
        w->bcnt = malloc((n + 1) * sizeof *w->bcnt);
        if (!w->s1 || !w->s0 || !w->active || !w->is_touched || !w->items ||
            !w->items2 || !w->bcnt)
            return 0;
    }
    return 1;
}

void ah_group_options_default(ah_group_options *o)
{
    if (!o)
        return;
    o->stat = AH_STAT_BJ;
    o->alpha_max = 0.5;
    o->restarts = 10;
    o->seed = 0;
    o->max_iter = 50;
    o->fractional = 0;
    o->threads = 0;
}

/* The arguments of a group scan, checked; *cbits the bits of a node in
 * a pair (res cleared).  AH_OK, or the status with the diagnostic. */
static int group_check(const double *p, size_t rows, size_t cols,
                       const ah_group_options *o, ah_group_result *res,
                       ah_diag *diag, int *cbits)
{
    size_t total;
    int st, cb = 0;
    ah__diag_clear(diag);
    if (!p || !o || !res)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "scan_group: NULL argument");
    memset(res, 0, sizeof *res);
    if (rows == 0 || cols == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1,
                        "scan_group: empty batch (%zu inputs x %zu nodes)",
                        rows, cols);
    if (!ah__stat_known(o->stat))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_group: unknown statistic %d", o->stat);
    st = ah_option_check(AH_OPTION_ALPHA_MAX, o->alpha_max, diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_RESTARTS, o->restarts, diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_MAX_ITER, o->max_iter, diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_THREADS, o->threads, diag);
    if (st != AH_OK)
        return st;
    /* A pair is input << cbits | node in 32 bits (gs_problem.full), which
     * also keeps counts exact in a double; the histograms of a half step
     * count up to rows or cols items in an int32_t. */
    while (cb < 32 && ((size_t)1 << cb) < cols)
        cb++;
    if (rows > ((size_t)1 << (32 - cb)) || ((size_t)1 << cb) < cols ||
        rows > INT32_MAX || cols > INT32_MAX ||
        !ah__mul_ok(rows, cols, &total) ||
        !ah__mul_ok(total, 2 * sizeof(double), &total))
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                        "scan_group: batch of %zu x %zu is too large (inputs "
                        "x the node count rounded up to a power of 2 must "
                        "not exceed 2^32; split the batch)", rows, cols);
    *cbits = cb;
    return AH_OK;
}

/* The best of the threads' bests (the earliest restart among equal
 * scores) into res, inputs and nodes (each may be NULL). */
static void group_best(const gs_work *work, int nth, size_t rows,
                       size_t cols, ah_group_result *res,
                       unsigned char *inputs, unsigned char *nodes)
{
    int best = -1;
    for (int t = 0; t < nth; t++) {
        const gs_work *w = &work[t];
        if (w->tb_restart < 0)
            continue;
        if (best < 0 || w->tb_score > work[best].tb_score ||
            (w->tb_score == work[best].tb_score &&
             w->tb_restart < work[best].tb_restart))
            best = t;
    }
    if (best >= 0) {
        const gs_work *w = &work[best];
        res->score = w->tb_score;
        res->alpha = w->tb_alpha;
        for (size_t i = 0; i < rows; i++)
            res->n_inputs += w->tb_I[i];
        for (size_t j = 0; j < cols; j++)
            res->n_nodes += w->tb_N[j];
        if (inputs)
            memcpy(inputs, w->tb_I, rows);
        if (nodes)
            memcpy(nodes, w->tb_N, cols);
    }
}

static int scan_group(const double *p, size_t rows, size_t cols,
                      const ah_group_options *o, ah_group_result *res,
                      unsigned char *inputs, unsigned char *nodes,
                      ah_diag *diag, int shortcuts)
{
    gs_problem pb;
    gs_shared sh;
    gs_work *work = NULL;
    int nth, st, cbits = 0;

    if ((st = group_check(p, rows, cols, o, res, diag, &cbits)) != AH_OK)
        return st;
    if (inputs)
        memset(inputs, 0, rows);
    if (nodes)
        memset(nodes, 0, cols);

    memset(&pb, 0, sizeof pb);
    pb.p = p;
    pb.rows = rows;
    pb.cols = cols;
    pb.o = o;
    pb.cbits = cbits;
    st = ah__gs_problem_build(&pb, diag);
    if (st != AH_OK || pb.T == 0) {
        ah__gs_problem_free(&pb);
        return st;
    }

    /* Within a restart scores strictly rise, so only its last half step
     * can repeat an earlier one: one restart has little use for the memo.
     * Without memory for it, none is used. */
    if (shortcuts && o->restarts > 1)
        pb.memo = ah__group_memo_new(rows, cols);
    pb.prune = shortcuts;
    nth = ah__thread_count(o->threads, (size_t)o->restarts);
    work = calloc((size_t)nth, sizeof *work);
    if (!work) {
        ah__gs_problem_free(&pb);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "scan_group: out of memory");
    }
    for (int t = 0; t < nth; t++) {
        if (!work_alloc(&work[t], &pb)) {
            for (int u = 0; u <= t; u++)
                work_free(&work[u]);
            free(work);
            ah__gs_problem_free(&pb);
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                            "scan_group: out of memory");
        }
    }
    sh.pb = &pb;
    sh.work = work;
    atomic_init(&sh.next, 0);
    /* If some threads cannot start, ah__parallel runs their share here. */
    ah__parallel(nth, worker, &sh);

    group_best(work, nth, rows, cols, res, inputs, nodes);
    for (int t = 0; t < nth; t++)
        work_free(&work[t]);
    free(work);
    ah__gs_problem_free(&pb);
    return AH_OK;
}

int ah_scan_group(const double *p, size_t rows, size_t cols,
                  const ah_group_options *o, ah_group_result *res,
                  unsigned char *inputs, unsigned char *nodes, ah_diag *diag)
{
    return scan_group(p, rows, cols, o, res, inputs, nodes, diag, 1);
}

int ah__scan_group_plain(const double *p, size_t rows, size_t cols,
                         const ah_group_options *o, ah_group_result *res,
                         unsigned char *inputs, unsigned char *nodes,
                         ah_diag *diag)
{
    return scan_group(p, rows, cols, o, res, inputs, nodes, diag, 0);
}
