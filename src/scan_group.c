/*
 * scan_group.c - the group scan of docs/METHOD.md section 7: the fast
 * generalized subset scan of McFowland, Speakman and Neill (JMLR 2013).
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
 * (see "Setup" below).  A half step gathers the pairs of the fixed side
 * (P_S of them) and buckets them by threshold (a counting sort of their
 * lists, or a filter of all pairs by rank when P_S > P / 3), then sweeps
 * the thresholds upwards, incrementing only the counts that change, with a
 * histogram of how many items have each count (an increment moves one item
 * up one count, O(1)); the items sorted by count are blocks of equal
 * count, walked from the largest count present down to the expected count
 * m a.  A threshold is evaluated only when some count changed
 * since the last one evaluated (an unchanged count at a larger a scores
 * lower for every statistic; a <= 0 is never evaluated), and only at block
 * boundaries: along a run of equal counts the statistic is convex in the
 * run length (bj is the perspective of a convex function; hc and ks are
 * (u + v x) / sqrt(w + z x), which can peak inside a run only where they
 * are negative), so its maximum is at an end.  A half step costs
 * O(P_S + T B) for T thresholds and B counts between the largest and the
 * expected one, instead of O(T rows cols).
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
#include "bytes.h"
#include "group_memo.h"
#include "internal.h"
#include "pair_keys.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* More distinct thresholds than this are thinned to this many.  On 100
 * inputs x 4096 nodes with N = 50,000 (25,000 distinct values <= 0.5),
 * 1024 costs 3.8 ms a restart and scores 0.04% below the exact maximum
 * (which costs 46 ms); 2048 costs 6 ms and 0.01%. */
#define GS_MAX_THRESHOLDS 1024
_Static_assert(GS_MAX_THRESHOLDS <= 65536, "ranks are kept in 16 bits");
/* A half step sweeps the thresholds in groups of GROUP, and a group whose
 * bound shows it cannot beat the best so far only counts its pairs (one
 * memory write each, instead of three with the histogram), when it has at
 * least as many pairs as it costs to bound it (items + counts). */
enum { GROUP = 16 };

/* The setup uses two threads from this many pairs (rows x cols) on.
 * Below, the second thread's own set of distinct values (1 MB to clear
 * and scan) and the thread starts cost more than it saves: with 4
 * restarts on two threads, 1000 x 256 took 4.0-4.1 ms with a two-thread
 * setup against 2.7-3.1 ms with one, 1000 x 1024 about the same either
 * way, 1000 x 2048 7.7 against 9.6-9.8 ms (bench_acthist scan MODEL
 * Q.npy --threads 2 --restarts 4 --group-rows 1000 --min-time 0). */
#define SETUP_THREADS_PAIRS ((size_t)1 << 20)

typedef struct {
    uint32_t i, j; /* input (row), node (column) */
} gs_pair;

typedef struct {
    uint32_t rank, other; /* threshold rank, the pair's other member */
} gs_event;

/* The per-node lists are built by a half step that needs them (on many
 * batches none does: a half step whose nodes hold over a third of the
 * pairs filters `full` instead), under a lock; their memory is allocated
 * up front, so building cannot fail.  Building them scatters every pair,
 * which costs several filters of `full`, so they are built only when the
 * LISTS_AFTER-th half step asks for them, and until then those half steps
 * filter (on the benchmark's 1000 x 4096 p-values, where one half step of
 * 8 restarts asks, the call went from 56.3-56.4 to 49.6-50.3 ms:
 * bench_acthist scan MODEL Q.npy --threads 1 --restarts 8 --group-rows
 * 1000 --min-time 0). */
enum { LISTS_AFTER = 4 };
typedef struct {
    atomic_int ready;
    atomic_int asked;    /* half steps that could have used the lists      */
    pthread_mutex_t lock;
    size_t *pos;         /* cols fill positions                            */
} gs_lazy;

/* The problem shared by all threads: read-only but for the lazy lists
 * and the memo of answers (group_memo.h), each under its own lock. */
typedef struct {
    const double *p;
    size_t rows, cols;
    const ah_group_options *o;
    size_t T;            /* number of thresholds                           */
    double *thr;         /* T thresholds, ascending                        */
    size_t P;            /* pairs with p_max <= alpha_max                  */
    /* The P pairs of each input (row_ev[row_start[i] ..]) and of each node
     * (col_ev[col_start[j] ..], see gs_lazy), each with its rank (the
     * first threshold >= p_max), in input then node order. */
    gs_event *row_ev, *col_ev;
    size_t *row_start, *col_start;
    gs_lazy *lazy;
    ah__group_memo *memo; /* NULL: every half step computes             */
    int prune;           /* skip groups of thresholds that cannot win      */
    /* The P pairs by rank, each as input << cbits | node: 4 bytes, so a
     * half step that filters them reads half as much. */
    uint32_t *full;
    size_t *full_start;  /* T + 1 bucket starts into full                  */
    int cbits;           /* bits of the largest node index                 */
    /* fractional mode only */
    unsigned char *was_active; /* per full event: its range straddled a
                                  smaller threshold before it became full */
    gs_pair *act;        /* pairs by the first threshold strictly above
                            p_min, when that is below their full rank      */
    size_t *act_start;   /* T + 1                                          */
} gs_problem;

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

static void problem_free(gs_problem *pb)
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

#define PMIN(pb, i, j) ((pb)->p[((size_t)(i) * (pb)->cols + (j)) * 2])
#define PMAX(pb, i, j) ((pb)->p[((size_t)(i) * (pb)->cols + (j)) * 2 + 1])

/* The input and the node of pair e of full. */
static inline uint32_t full_i(const gs_problem *pb, size_t e)
{
    return (uint32_t)((uint64_t)pb->full[e] >> pb->cbits);
}

static inline uint32_t full_j(const gs_problem *pb, size_t e)
{
    return pb->full[e] & (uint32_t)(((uint64_t)1 << pb->cbits) - 1);
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
static void need_col_lists(const gs_problem *pb)
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

static int problem_build(gs_problem *pb, ah_diag *diag)
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
        need_col_lists(pb);
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

/*
 * Fractional counts: sweep the thresholds, evaluating each prefix of the
 * items sorted by count against floor (*best_t is set when one beats it).  With replay != 0, stop at rank stop (the best
 * threshold of an earlier sweep), skipping the evaluations, and leave the
 * sorted items there in w->items (*nu of them).
 */
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
    st = problem_build(&pb, diag);
    if (st != AH_OK || pb.T == 0) {
        problem_free(&pb);
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
        problem_free(&pb);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "scan_group: out of memory");
    }
    for (int t = 0; t < nth; t++) {
        if (!work_alloc(&work[t], &pb)) {
            for (int u = 0; u <= t; u++)
                work_free(&work[u]);
            free(work);
            problem_free(&pb);
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
    problem_free(&pb);
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
