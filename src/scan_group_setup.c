/*
 * scan_group_setup.c - the group scan's problem, built once per call
 * (scan_group.h): the thresholds, each kept pair's rank and the pair lists
 * by input, by node and by rank that every half step of scan_group.c
 * reads.  The method is scan_group.c's opening comment.
 */
#include "bytes.h"
#include "pair_keys.h"
#include "scan_group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* More distinct thresholds than this are thinned to this many.  On 100
 * inputs x 4096 nodes with N = 50,000 (25,000 distinct values <= 0.5),
 * 1024 costs 3.8 ms a restart and scores 0.04% below the exact maximum
 * (which costs 46 ms); 2048 costs 6 ms and 0.01%. */
#define GS_MAX_THRESHOLDS 1024
_Static_assert(GS_MAX_THRESHOLDS <= 65536, "ranks are kept in 16 bits");
/* The setup uses two threads from this many pairs (rows x cols) on.
 * Below, the second thread's own set of distinct values (1 MB to clear
 * and scan) and the thread starts cost more than it saves: with 4
 * restarts on two threads, 1000 x 256 took 4.0-4.1 ms with a two-thread
 * setup against 2.7-3.1 ms with one, 1000 x 1024 about the same either
 * way, 1000 x 2048 7.7 against 9.6-9.8 ms (bench_acthist scan MODEL
 * Q.npy --threads 2 --restarts 4 --group-rows 1000 --min-time 0). */
#define SETUP_THREADS_PAIRS ((size_t)1 << 20)

/* ---- the problem: thresholds, ranks and lists --------------------------- */

/*
 * Setup, O(P) and no sort of the pairs (only of the distinct values):
 *   1. check every pair, count the kept ones (p_max <= alpha_max) per
 *      input, collect their distinct keys in a hash set (p-values of a
 *      histogram or an empirical model take at most N + 1 values) and
 *      write each kept pair's node and the slot of its key;
 *   2. sort and deduplicate those keys, and thin them to the thresholds;
 *   3. each slot's key gets its rank (first threshold >= p_max) from a
 *      table over the keys' high bits, and each pair its slot's rank: the
 *      per-input lists.  Should a set fill up (continuous p-values), every
 *      kept key is written out for step 2 instead, and step 3 reads p
 *      again for the keys;
 *   4. the pairs by rank, by a counting sort; the per-node lists only
 *      when half steps need them (gs_lazy).
 * Steps 1, 3 and 4 split the inputs between two threads; every list comes
 * out in the same order at any thread count (inputs ascending, then
 * nodes).
 */

/*
 * Sort keys a[0..n) ascending; tmp holds n keys, cnt n + 1 words.  As in
 * scan_individual.c: one counting pass into n buckets of equal width in
 * value, an insertion sort with a budget for what is left out of order
 * (ties are not), and the radix sort when the values are too clustered.
 */
static void sort_u64(uint64_t *a, uint64_t *tmp, size_t *cnt, size_t n)
{
    uint64_t kmin = UINT64_MAX, kmax = 0;
    size_t budget = 4 * n;
    double lo, hi, scale;
    if (n < 2)
        return;
    for (size_t i = 0; i < n; i++) {
        kmin = a[i] < kmin ? a[i] : kmin;
        kmax = a[i] > kmax ? a[i] : kmax;
    }
    if (kmin == kmax)
        return;
    lo = ah__key_value(kmin);
    hi = ah__key_value(kmax);
    scale = (double)n / (hi - lo);
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(scale)) {
        ah__radix_sort_u64(a, tmp, n);
        return;
    }
#define BUCKET(k) (size_t)((ah__key_value(k) - lo) * scale)
    memset(cnt, 0, (n + 1) * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(a[i]);
        cnt[(b < n ? b : n - 1) + 1]++;
    }
    for (size_t b = 0; b < n; b++)
        cnt[b + 1] += cnt[b];
    for (size_t i = 0; i < n; i++) {
        size_t b = BUCKET(a[i]);
        tmp[cnt[b < n ? b : n - 1]++] = a[i];
    }
#undef BUCKET
    memcpy(a, tmp, n * sizeof *a);
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
        if (i - j > budget) {
            ah__radix_sort_u64(a, tmp, n);
            return;
        }
        budget -= i - j;
    }
}

/* First t with thr[t] > v (T when none). */
static size_t upper_rank(const double *thr, size_t T, double v)
{
    size_t lo = 0, hi = T;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (thr[mid] > v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First t with thr[t] >= v (T when none). */
static size_t lower_rank(const double *thr, size_t T, double v)
{
    size_t lo = 0, hi = T;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (thr[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void ah__gs_problem_free(gs_problem *pb)
{
    free(pb->thr);
    free(pb->row_ev);
    free(pb->col_ev);
    free(pb->row_start);
    free(pb->col_start);
    free(pb->full);
    free(pb->full_start);
    free(pb->was_active);
    free(pb->act);
    free(pb->act_start);
    ah__group_memo_free(pb->memo);
    if (pb->lazy) {
        pthread_mutex_destroy(&pb->lazy->lock);
        free(pb->lazy->pos);
        free(pb->lazy);
    }
}

/* Buckets of the rank table; 4 bytes each, so 256 KB. */
#define RANK_BUCKETS ((size_t)1 << 16)

/*
 * Rank of a key: thresholds' keys tk[0..T) ascending; bucket b holds the
 * keys from klo + (b << shift) on, and first[b] is the first threshold at
 * or above that (T past the last), so a key's rank lies in
 * [first[b], first[b + 1]].  Thresholds thinned from distinct values
 * spread over the octaves, and the keys' high bits are the exponent, so
 * buckets hold few of them; crowded ones are searched by halving.
 */
typedef struct {
    uint64_t klo;
    int shift;
    const uint64_t *tk;
    uint32_t *first; /* buckets + 1 */
} rank_map;

static inline uint32_t rank_of(const rank_map *rm, uint64_t key)
{
    size_t b = (size_t)((key - rm->klo) >> rm->shift);
    uint32_t t = rm->first[b], end = rm->first[b + 1];
    if (end - t > 8) { /* tk[end] > key when end < T; key <= tk[T - 1] */
        uint32_t hi = end;
        while (t < hi) {
            uint32_t mid = t + (hi - t) / 2;
            if (rm->tk[mid] >= key)
                hi = mid;
            else
                t = mid + 1;
        }
        return t;
    }
    while (rm->tk[t] < key)
        t++;
    return t;
}

/* klo = tk[0] and every key ranked is in [tk[0], tk[T - 1]]. */
static int rank_map_init(rank_map *rm, const uint64_t *tk, size_t T)
{
    uint64_t span = tk[T - 1] - tk[0];
    size_t nb, t = 0;
    rm->klo = tk[0];
    rm->tk = tk;
    rm->shift = 0;
    while ((span >> rm->shift) >= RANK_BUCKETS)
        rm->shift++;
    nb = (size_t)(span >> rm->shift) + 1;
    if (!(rm->first = malloc((nb + 1) * sizeof *rm->first)))
        return 0;
    for (size_t b = 0; b <= nb; b++) {
        if (b == nb || ((uint64_t)b << rm->shift) > span) {
            rm->first[b] = (uint32_t)T;
            continue;
        }
        uint64_t lo = rm->klo + ((uint64_t)b << rm->shift);
        while (t < T && tk[t] < lo)
            t++;
        rm->first[b] = (uint32_t)t;
    }
    return 1;
}

/* The distinct keys one thread has seen: a hash set with linear probing,
 * filled at most half (then marked full), and its keys in order. */
enum { SEEN_BITS = 17 }; /* 1 MB of slots a thread */
#define SEEN_SLOTS ((size_t)1 << SEEN_BITS)
#define SEEN_LIMIT (SEEN_SLOTS / 2)
typedef struct {
    uint64_t *slot; /* SEEN_SLOTS; UINT64_MAX, a NaN's key, when empty */
    uint64_t *list; /* SEEN_LIMIT */
    size_t n;
    int full;
} seen_set;

/* Add keys[0..k) to the set, writing each one's slot to slots[q], until
 * the set is full. */
static void seen_add(seen_set *ss, const uint64_t *keys, size_t k,
                     uint32_t *slots)
{
    for (size_t q = 0; q < k && !ss->full; q++) {
        uint64_t key = keys[q];
        size_t h = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >>
                            (64 - SEEN_BITS));
        for (;;) {
            uint64_t x = ss->slot[h];
            if (x == key)
                break;
            if (x == UINT64_MAX) {
                ss->slot[h] = key;
                ss->list[ss->n++] = key;
                ss->full = ss->n == SEEN_LIMIT;
                break;
            }
            h = (h + 1) & (SEEN_SLOTS - 1);
        }
        slots[q] = (uint32_t)h;
    }
}

/*
 * The setup's threaded passes, each thread over its own inputs [r0, r1),
 * each input's kept pairs first copied to the thread's buffers kb, jb
 * (pair_keys.c):
 *   pass 0 checks the pairs, counts the kept ones per input (into
 *   row_start[i + 1]), collects their distinct keys and writes each kept
 *   pair's (slot of its key in the thread's set, node) to the thread's
 *   event buffer, while the set is not full;
 *   pass 3 turns each slot into the rank of its key (in the thread's set
 *   by then), in place, counting the pairs per node and per rank.
 * When a set fills up (continuous p-values):
 *   pass 1 writes every kept key in row order to keys;
 *   pass 2 reads p again and writes each input's list of (rank, node),
 *   counting as pass 3.
 * Then pass 4 writes the thread's pairs into the pairs by rank.
 */
typedef struct setup_job {
    gs_problem *pb;
    int pass, nthreads;
    uint64_t *kb[2];     /* per thread: cols + 1 keys                  */
    uint32_t *jb[2];     /* per thread: cols + 1 nodes                 */
    uint32_t *sb[2];     /* per thread: cols + 1 slots                 */
    seen_set seen[2];
    gs_event *evb[2];    /* per thread: its inputs' events, pass 0     */
    size_t evn[2], evcap[2];
    int evfail[2];       /* no memory for more events                  */
    uint64_t *keys;      /* pass 1: P                                   */
    const rank_map *rm;
    uint16_t *rank16[2]; /* per thread: the rank of each slot's key       */
    size_t *col_cnt[2], *rank_cnt[2]; /* per thread: cols, T entries  */
    int64_t bad_row[2], bad_col[2]; /* first bad pair of each half    */
} setup_job;

/* Whether a p-value range is not one: NaN at either end, outside [0, 1],
 * or p_min > p_max (what the pair kernels flag). */
static inline int range_bad(double lo, double hi)
{
    return !(lo >= 0.0 && lo <= hi && hi <= 1.0);
}

/* The error for the bad range (lo, hi) of input i, node j. */
static int range_fail(ah_diag *diag, const char *who, size_t i, size_t j,
                      double lo, double hi)
{
    if (isnan(lo) || isnan(hi))
        return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, (int64_t)j,
                        "%s: p-value of input %zu node %zu is NaN", who, i,
                        j);
    if (lo > hi)
        return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, (int64_t)j,
                        "%s: p_min > p_max at input %zu node %zu (%.17g > "
                        "%.17g)", who, i, j, lo, hi);
    return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, (int64_t)j,
                    "%s: p-value range [%.17g, %.17g] of input %zu node %zu "
                    "is not in [0, 1]", who, lo, hi, i, j);
}

int ah_pvalue_ranges_check(const double *p, size_t rows, size_t cols,
                           ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!p && rows && cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "pvalue_ranges_check: NULL argument");
    for (size_t i = 0; i < rows; i++) {
        const double *row = p + i * cols * 2;
        int bad = 0;
        for (size_t j = 0; j < cols; j++)
            bad |= range_bad(row[2 * j], row[2 * j + 1]);
        for (size_t j = 0; bad && j < cols; j++)
            if (range_bad(row[2 * j], row[2 * j + 1]))
                return range_fail(diag, "p-value ranges", i, j, row[2 * j],
                                  row[2 * j + 1]);
    }
    return AH_OK;
}

/* Input i's kept pairs into kb, jb; returns their number.  *bad becomes
 * 1 if one of its ranges is bad. */
static inline size_t kept_of(const gs_problem *pb, size_t i, uint64_t *kb,
                             uint32_t *jb, int *bad)
{
    return ah__pairs_kept(pb->p + i * pb->cols * 2, pb->cols,
                          pb->o->alpha_max, kb, jb, bad, ah__isa_best());
}

static void setup_thread(void *ctx, int t)
{
    setup_job *sj = ctx;
    gs_problem *pb = sj->pb;
    size_t r0 = t == 0 ? 0 : pb->rows / 2,
           r1 = t == 0 && sj->nthreads > 1 ? pb->rows / 2 : pb->rows;
    uint64_t *kb = sj->kb[t];
    uint32_t *jb = sj->jb[t];
    if (sj->pass == 0) {
        sj->bad_row[t] = -1;
        for (size_t i = r0; i < r1; i++) {
            int bad = 0;
            size_t k = kept_of(pb, i, kb, jb, &bad);
            for (size_t j = 0; bad && j < pb->cols; j++) {
                if (range_bad(PMIN(pb, i, j), PMAX(pb, i, j))) {
                    sj->bad_row[t] = (int64_t)i;
                    sj->bad_col[t] = (int64_t)j;
                    return;
                }
            }
            pb->row_start[i + 1] = k;
            seen_set *ss = &sj->seen[t];
            if (ss->full || sj->evfail[t])
                continue;
            seen_add(ss, kb, k, sj->sb[t]);
            if (ss->full)
                continue;
            if (sj->evn[t] + k > sj->evcap[t]) {
                size_t cap = 2 * sj->evcap[t] + k;
                gs_event *more = realloc(sj->evb[t], cap * sizeof *more);
                if (!more) {
                    sj->evfail[t] = 1;
                    continue;
                }
                sj->evb[t] = more;
                sj->evcap[t] = cap;
            }
            gs_event *ev = sj->evb[t] + sj->evn[t];
            for (size_t q = 0; q < k; q++)
                ev[q] = (gs_event){sj->sb[t][q], jb[q]};
            sj->evn[t] += k;
        }
        return;
    }
    if (sj->pass == 1) {
        int unused = 0;
        for (size_t i = r0; i < r1; i++) {
            /* via kb: the kernel may write up to cols slots */
            size_t k = kept_of(pb, i, kb, jb, &unused);
            memcpy(sj->keys + pb->row_start[i], kb, k * sizeof *kb);
        }
        return;
    }
    if (sj->pass == 4) {
        /* rank_cnt[t] holds this thread's fill positions by rank by now */
        const gs_event *ev = pb->row_ev;
        size_t *pos = sj->rank_cnt[t];
        for (size_t i = r0; i < r1; i++)
            for (size_t e = pb->row_start[i]; e < pb->row_start[i + 1]; e++)
                pb->full[pos[ev[e].rank]++] =
                    (uint32_t)(i << pb->cbits) | ev[e].other;
        return;
    }
    size_t *cc = sj->col_cnt[t], *rc = sj->rank_cnt[t];
    gs_event *ev = pb->row_ev;
    memset(cc, 0, pb->cols * sizeof *cc);
    memset(rc, 0, pb->T * sizeof *rc);
    if (sj->pass == 3) {
        /* rank16 holds the rank of each slot's key by now */
        const uint16_t *rank = sj->rank16[t];
        for (size_t e = pb->row_start[r0]; e < pb->row_start[r1]; e++) {
            uint32_t r = (uint32_t)rank[ev[e].rank];
            ev[e].rank = r;
            cc[ev[e].other]++;
            rc[r]++;
        }
        return;
    }
    for (size_t i = r0; i < r1; i++) {
        int unused = 0;
        size_t k = kept_of(pb, i, kb, jb, &unused), at = pb->row_start[i];
        for (size_t q = 0; q < k; q++) {
            gs_event x = {rank_of(sj->rm, kb[q]), jb[q]};
            ev[at + q] = x;
            cc[x.other]++;
            rc[x.rank]++;
        }
    }
}

/* Check p (the first bad pair in row order is reported), count the kept
 * pairs per input into row_start and their total into pb->P. */
static int problem_check(gs_problem *pb, setup_job *sj, ah_diag *diag)
{
    sj->pass = 0;
    ah__parallel(sj->nthreads, setup_thread, sj);
    for (int t = 0; t < sj->nthreads; t++) {
        int64_t i = sj->bad_row[t], j = sj->bad_col[t];
        if (i < 0)
            continue;
        return range_fail(diag, "scan_group", (size_t)i, (size_t)j,
                          PMIN(pb, i, j), PMAX(pb, i, j));
    }
    pb->row_start[0] = 0;
    for (size_t i = 0; i < pb->rows; i++)
        pb->row_start[i + 1] += pb->row_start[i];
    pb->P = pb->row_start[pb->rows];
    return AH_OK;
}

/*
 * The thresholds (pb->thr, pb->T) and their keys (*tk_out) from the keys
 * d[0..n), which hold every distinct key of the kept pairs (and may repeat
 * some): distinct values, thinned to a grid when there are more than
 * GS_MAX_THRESHOLDS.  d is sorted in place.
 */
static int find_thresholds(gs_problem *pb, uint64_t *d, size_t n,
                           uint64_t **tk_out)
{
    uint64_t *tmp = malloc((n ? n : 1) * sizeof *tmp), *tk = NULL;
    size_t *cnt = malloc((n + 1) * sizeof *cnt), D = 0, T;
    int ok = 0;
    if (!tmp || !cnt)
        goto done;
    sort_u64(d, tmp, cnt, n);
    for (size_t e = 0; e < n; e++)
        if (D == 0 || d[e] != d[D - 1])
            d[D++] = d[e];
    /* Thinned in place to a grid that keeps the largest; (k+1) D / T - 1
     * >= k, so reads stay ahead of writes. */
    T = D;
    if (D > GS_MAX_THRESHOLDS) {
        /* The smallest T/2 values exactly (strong anomalies peak there:
         * dropping a = 1/(N+1) lost the optimum against the NumPy
         * baseline), then T/2 at evenly spaced ranks up to the largest. */
        T = GS_MAX_THRESHOLDS;
        size_t h = T / 2;
        for (size_t k = h; k < T; k++)
            d[k] = d[h - 1 + (k - h + 1) * (D - h) / (T - h)];
    }
    if (!(pb->thr = malloc(T * sizeof *pb->thr)) ||
        !(tk = malloc(T * sizeof *tk)))
        goto done;
    for (size_t t = 0; t < T; t++) {
        tk[t] = d[t];
        pb->thr[t] = ah__key_value(d[t]);
    }
    pb->T = T;
    *tk_out = tk;
    tk = NULL;
    ok = 1;
done:
    free(tmp);
    free(cnt);
    free(tk);
    return ok;
}

/* The per-node lists, by a counting sort, once (gs_lazy): scattering to
 * every node's list at once is one of the setup's largest steps. */
void ah__gs_need_col_lists(const gs_problem *pb)
{
    gs_lazy *lz = pb->lazy;
    if (atomic_load_explicit(&lz->ready, memory_order_acquire))
        return;
    pthread_mutex_lock(&lz->lock);
    if (!atomic_load_explicit(&lz->ready, memory_order_relaxed)) {
        const gs_event *ev = pb->row_ev;
        size_t *pos = lz->pos;
        for (size_t i = 0; i < pb->rows; i++)
            for (size_t e = pb->row_start[i]; e < pb->row_start[i + 1]; e++)
                pb->col_ev[pos[ev[e].other]++] =
                    (gs_event){ev[e].rank, (uint32_t)i};
        atomic_store_explicit(&lz->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&lz->lock);
}

/* Fractional mode: activation buckets and the was_active flags (full and
 * full_start are built already). */
static int build_fractional(gs_problem *pb)
{
    const size_t T = pb->T, P = pb->P;
    const double amax = pb->o->alpha_max;
    size_t A = 0, *cur, bytes;

    pb->was_active = malloc(P ? P : 1);
    pb->act_start = calloc(T + 2, sizeof *pb->act_start);
    if (!pb->was_active || !pb->act_start)
        return 0;
    for (size_t t = 0; t < T; t++)
        for (size_t e = pb->full_start[t]; e < pb->full_start[t + 1]; e++)
            pb->was_active[e] =
                upper_rank(pb->thr, T,
                           PMIN(pb, full_i(pb, e), full_j(pb, e))) < t;

    /* Activation at the first threshold strictly above p_min, when the
     * pair is still partial there (counting sort by that rank). */
#define ACT_RANK(i, j, ar)                                                   \
    double lo_ = PMIN(pb, i, j), hi_ = PMAX(pb, i, j);                       \
    size_t ar = upper_rank(pb->thr, T, lo_);                                 \
    size_t fr_ = hi_ <= amax ? lower_rank(pb->thr, T, hi_) : T;              \
    if (!(lo_ < hi_ && ar < fr_))                                            \
        continue;
    for (size_t i = 0; i < pb->rows; i++)
        for (size_t j = 0; j < pb->cols; j++) {
            ACT_RANK(i, j, ar)
            pb->act_start[ar + 1]++;
            A++;
        }
    for (size_t t = 0; t < T; t++)
        pb->act_start[t + 1] += pb->act_start[t];
    if (!ah__mul_ok(A ? A : 1, sizeof *pb->act, &bytes) ||
        !(pb->act = malloc(bytes)))
        return 0;
    if (!(cur = malloc((T + 1) * sizeof *cur)))
        return 0;
    memcpy(cur, pb->act_start, (T + 1) * sizeof *cur);
    for (size_t i = 0; i < pb->rows; i++)
        for (size_t j = 0; j < pb->cols; j++) {
            ACT_RANK(i, j, ar)
            pb->act[cur[ar]++] = (gs_pair){(uint32_t)i, (uint32_t)j};
        }
#undef ACT_RANK
    free(cur);
    return 1;
}

/* Exclusive prefix sums of two per-thread count arrays of n entries into
 * start[0..n] (and, unless pos is NULL, pos[0..n), a copy to fill with). */
static void starts_of(size_t *const cnt[2], int nthreads, size_t n,
                      size_t *start, size_t *pos)
{
    size_t sum = 0;
    for (size_t k = 0; k < n; k++) {
        start[k] = sum;
        if (pos)
            pos[k] = sum;
        sum += cnt[0][k] + (nthreads > 1 ? cnt[1][k] : 0);
    }
    start[n] = sum;
}

/* Thresholds, ranks and the event lists. */
/* Pass 0's buffers of each of the sj->nthreads threads: its key, node
 * and score buffers, its events (room for half the pairs at first, as
 * at alpha_max 0.5) and its set of distinct p-values.  0 when memory is
 * short. */
static int setup_alloc(setup_job *sj, const gs_problem *pb)
{
    int nth = sj->nthreads;
    for (int t = 0; t < nth; t++) {
        seen_set *ss = &sj->seen[t];
        size_t rows_t = t == 0 && nth > 1 ? pb->rows / 2
                                           : pb->rows - (t ? pb->rows / 2 : 0);
        sj->evcap[t] = rows_t * pb->cols / 2 + pb->cols;
        if (!(sj->kb[t] = malloc((pb->cols + 1) * sizeof *sj->kb[t])) ||
            !(sj->jb[t] = malloc((pb->cols + 1) * sizeof *sj->jb[t])) ||
            !(sj->sb[t] = malloc((pb->cols + 1) * sizeof *sj->sb[t])) ||
            !(sj->evb[t] = malloc(sj->evcap[t] * sizeof *sj->evb[t])) ||
            !(ss->slot = malloc(SEEN_SLOTS * sizeof *ss->slot)) ||
            !(ss->list = malloc(SEEN_LIMIT * sizeof *ss->list)))
            return 0;
        memset(ss->slot, 0xff, SEEN_SLOTS * sizeof *ss->slot);
    }
    return 1;
}

/* After pass 0: the distinct p-values' keys into *d (n of them), which
 * find_thresholds reads.  With few distinct values (not full) the
 * threads' events become row_ev, thread 0's then thread 1's, and the
 * threads' sets give the keys; else (continuous p-values) every kept key
 * goes to the sort, written by pass 1.  0 when memory is short. */
static int setup_keys(setup_job *sj, gs_problem *pb, int full, uint64_t **d,
                      size_t *n)
{
    int nth = sj->nthreads;
    size_t P = pb->P;
    if (!full) {
        gs_event *ev = realloc(sj->evb[0], (P ? P : 1) * sizeof *ev);
        if (!ev)
            return 0;
        sj->evb[0] = NULL;
        pb->row_ev = ev;
        if (nth > 1)
            memcpy(ev + sj->evn[0], sj->evb[1], sj->evn[1] * sizeof *ev);
    }
    for (int t = 0; t < nth; t++) {
        free(sj->evb[t]);
        sj->evb[t] = NULL;
    }
    if (full) {
        if (!(*d = sj->keys = malloc(P * sizeof **d)))
            return 0;
        sj->pass = 1;
        ah__parallel(nth, setup_thread, sj);
        *n = P;
        return 1;
    }
    *n = sj->seen[0].n + (nth > 1 ? sj->seen[1].n : 0);
    if (!(*d = malloc(*n * sizeof **d)))
        return 0;
    memcpy(*d, sj->seen[0].list, sj->seen[0].n * sizeof **d);
    if (nth > 1)
        memcpy(*d + sj->seen[0].n, sj->seen[1].list,
               sj->seen[1].n * sizeof **d);
    return 1;
}

/* Each occupied slot's key gives its rank, in 2 bytes (T <=
 * GS_MAX_THRESHOLDS), so that pass 3's random reads of the ranks stay in
 * L2 (256 KB, not the set's 1 MB).  0 when memory is short. */
static int setup_rank16(setup_job *sj, const rank_map *rm)
{
    for (int t = 0; t < sj->nthreads; t++) {
        if (!(sj->rank16[t] = malloc(SEEN_SLOTS * sizeof *sj->rank16[t])))
            return 0;
        for (size_t h = 0; h < SEEN_SLOTS; h++)
            sj->rank16[t][h] =
                sj->seen[t].slot[h] == UINT64_MAX
                    ? 0
                    : (uint16_t)rank_of(rm, sj->seen[t].slot[h]);
    }
    return 1;
}

/* The problem's arrays by node and by rank, and the lazily built parts'
 * lock, which takes pos (C entries) over.  0 when memory is short (pos
 * is then still the caller's). */
static int setup_lazy(gs_problem *pb, size_t **pos)
{
    size_t C = pb->cols, T = pb->T, P = pb->P;
    pb->col_start = malloc((C + 1) * sizeof *pb->col_start);
    pb->full_start = malloc((T + 1) * sizeof *pb->full_start);
    pb->col_ev = malloc(P * sizeof *pb->col_ev);
    pb->full = malloc(P * sizeof *pb->full);
    if (!pb->col_start || !pb->full_start || !pb->col_ev || !pb->full ||
        !(pb->lazy = calloc(1, sizeof *pb->lazy)))
        return 0;
    if (pthread_mutex_init(&pb->lazy->lock, NULL) != 0) {
        free(pb->lazy);
        pb->lazy = NULL;
        return 0;
    }
    atomic_init(&pb->lazy->ready, 0);
    atomic_init(&pb->lazy->asked, 0);
    pb->lazy->pos = *pos;
    *pos = NULL;
    return 1;
}

/* Passes 2 or 3 (the counts by node and by rank), then pass 4, the pairs
 * by rank: a counting sort in two halves, each thread filling, in input
 * order, its share of every rank's bucket, thread 0's first, so the order
 * is that of one thread.  counts holds 2 (C + T) entries, pos C.  0 when
 * memory is short. */
static int setup_sort(setup_job *sj, gs_problem *pb, const rank_map *rm,
                      int full, size_t *counts, size_t **pos)
{
    const size_t C = pb->cols, T = pb->T;
    int nth = sj->nthreads;
    sj->rm = rm;
    sj->col_cnt[0] = counts;
    sj->col_cnt[1] = counts + C;
    sj->rank_cnt[0] = counts + 2 * C;
    sj->rank_cnt[1] = counts + 2 * C + T;
    sj->pass = full ? 2 : 3;
    ah__parallel(nth, setup_thread, sj);
    if (!setup_lazy(pb, pos))
        return 0;
    starts_of(sj->col_cnt, nth, C, pb->col_start, pb->lazy->pos);
    starts_of(sj->rank_cnt, nth, T, pb->full_start, NULL);
    for (size_t k = 0; k < T; k++) {
        size_t c0 = sj->rank_cnt[0][k];
        sj->rank_cnt[0][k] = pb->full_start[k];
        if (nth > 1)
            sj->rank_cnt[1][k] = pb->full_start[k] + c0;
    }
    sj->pass = 4;
    ah__parallel(nth, setup_thread, sj);
    return 1;
}

static void setup_job_free(setup_job *sj)
{
    for (int t = 0; t < 2; t++) {
        free(sj->kb[t]);
        free(sj->jb[t]);
        free(sj->sb[t]);
        free(sj->evb[t]);
        free(sj->seen[t].slot);
        free(sj->seen[t].list);
        free(sj->rank16[t]);
    }
}

int ah__gs_problem_build(gs_problem *pb, ah_diag *diag)
{
    size_t P = 0, n = 0, *counts = NULL, *pos = NULL;
    uint64_t *tk = NULL, *d = NULL;
    rank_map rm = {0, 0, NULL, NULL};
    int ok = 0, full = 0, st = AH_OK;

    /* Two threads pay only on large batches (starting one costs tens of
     * microseconds). */
    int nth = ah__thread_count(pb->o->threads, 2);
    if (pb->rows < 2 || pb->rows * pb->cols < SETUP_THREADS_PAIRS)
        nth = 1;
    setup_job sj = {.pb = pb, .nthreads = nth};
    if (!(pb->row_start = calloc(pb->rows + 1, sizeof *pb->row_start)) ||
        !setup_alloc(&sj, pb))
        goto done;
    st = problem_check(pb, &sj, diag);
    if (st != AH_OK || pb->P == 0) {
        ok = 1;
        goto done;
    }
    P = pb->P;
    for (int t = 0; t < nth; t++)
        full |= sj.seen[t].full || sj.evfail[t];
    if (!setup_keys(&sj, pb, full, &d, &n) ||
        !find_thresholds(pb, d, n, &tk) || !rank_map_init(&rm, tk, pb->T))
        goto done;
    free(d);
    d = sj.keys = NULL;
    if (!full && !setup_rank16(&sj, &rm))
        goto done;
    const size_t C = pb->cols, T = pb->T;
    if (!(counts = malloc(2 * (C + T) * sizeof *counts)) ||
        !(pos = malloc(C * sizeof *pos)) ||
        (full && !(pb->row_ev = malloc(P * sizeof *pb->row_ev))) ||
        !setup_sort(&sj, pb, &rm, full, counts, &pos))
        goto done;
    if (pb->o->fractional && !build_fractional(pb))
        goto done;
    ok = 1;
done:
    setup_job_free(&sj);
    free(d);
    free(tk);
    free(rm.first);
    free(counts);
    free(pos);
    if (!ok)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "scan_group: out of memory for %zu pairs", P);
    return st;
}
