/*
 * scan_group.c - the group scan of SPEC "Group scan": the fast generalized
 * subset scan of McFowland, Speakman and Neill (JMLR 2013).
 *
 * Problem.  p holds rows (inputs) x cols (nodes) p-value ranges.  Maximise
 * F(S) = max_a phi(a, N_a(S), N(S)) over S = S_I x S_N, where the thresholds
 * a are the distinct p_max values <= alpha_max in the batch, N(S) = |S_I||S_N|
 * and N_a(S) counts the pairs of S with p_max <= a (fractional mode: sums
 * each pair's share of [p_min, p_max] at or below a).
 *
 * Method.  Iterative ascent from several starts.  With one side fixed (say
 * the inputs, m of them), every node j has a count c_j(a) of hits among the
 * fixed inputs, and for each a the best node subset is a prefix of the nodes
 * sorted by c_j (the linear-time subset scanning property), so a half step
 * is an exact optimisation over (a, the free side).  Then the sides swap,
 * until the score stops rising or max_iter iterations.
 *
 * Cost of a half step.  The pairs with p_max <= alpha_max are sorted once
 * per call into buckets by threshold rank (a radix sort, P pairs).  A half
 * step sweeps the thresholds upwards and, at each, only increments the counts
 * that change: the items are kept sorted by count in an array of blocks of
 * equal count, and an increment moves an item to the edge of its block and
 * shifts that block boundary, O(1).  A threshold is evaluated only when some
 * count changed (an unchanged count at a larger a scores lower for every
 * statistic), and only at block boundaries: along a run of equal counts the
 * statistic is convex in the run length (bj is a perspective of a convex
 * function; hc and ks are (u + v x) / sqrt(w + z x), which can peak inside a
 * run only where they are negative), so its maximum is at an end.  A half
 * step costs O(P + T' B) for T' evaluated thresholds and B <= min(items,
 * m + 1) distinct counts, instead of O(T rows cols) for the direct method.
 * The optimal subset is recovered by replaying the sweep up to the best
 * threshold.
 *
 * Fractional mode keeps, per item, the full count plus the sums of 1/w and
 * p_min/w over the pairs whose range straddles a (w = p_max - p_min), so
 * its count at a is full + a S1 - S0; the items are sorted by that count at
 * every threshold (O(T U log U) per half step for U items with a nonzero
 * count) and every prefix is evaluated.
 *
 * Threads and reproducibility.  Restart r draws its start from its own
 * splitmix64 stream derived from (seed, r); restart 0 starts from all
 * inputs.  Restarts are handed to threads from a shared counter, each thread
 * keeps its best (the lowest restart index among equal scores, since a
 * thread takes its restarts in increasing order) and the threads are
 * combined by score, then restart index: the result does not depend on the
 * number of threads.
 */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t i, j; /* input (row), node (column) */
} gs_pair;

/* Read-only problem shared by all threads. */
typedef struct {
    const double *p;
    size_t rows, cols;
    const ah_group_options *o;
    size_t T;            /* number of thresholds                           */
    double *thr;         /* T thresholds, ascending                        */
    gs_pair *full;       /* pairs with p_max <= alpha_max, by rank of p_max */
    size_t *full_start;  /* T + 1 bucket starts into full                  */
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
    uint32_t *cnt, *order, *pos, *start; /* start: n_max + 2 entries        */
    unsigned char *in_I, *in_N;          /* current subsets                */
    unsigned char *rb_I, *rb_N;          /* best of the current restart    */
    unsigned char *tb_I, *tb_N;          /* best of this thread            */
    double tb_score, tb_alpha;
    long tb_restart;
    /* fractional mode */
    double *s1, *s0;
    uint32_t *active, *touched;
    unsigned char *is_touched;
    gs_item *items;
} gs_work;

typedef struct {
    const gs_problem *pb;
    gs_work *work;
    atomic_long next;
} gs_shared;

/* ---- sorting the pairs by p_max ----------------------------------------- */

typedef struct {
    uint64_t key;
    gs_pair pr;
} gs_keyed;

static inline uint64_t key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x8000000000000000ULL) ? ~u : u | 0x8000000000000000ULL;
}

/* LSD radix sort by key (stable), skipping bytes that every key shares. */
static void radix_sort_keyed(gs_keyed *a, gs_keyed *tmp, size_t n)
{
    size_t count[8][256];
    gs_keyed *src = a, *dst = tmp;
    if (n < 2)
        return;
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(a[i].key >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 8; b++) {
        size_t sum = 0, *c = count[b];
        gs_keyed *t;
        if (c[(a[0].key >> (8 * b)) & 0xff] == n)
            continue;
        for (int d = 0; d < 256; d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
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

static void problem_free(gs_problem *pb)
{
    free(pb->thr);
    free(pb->full);
    free(pb->full_start);
    free(pb->was_active);
    free(pb->act);
    free(pb->act_start);
}

/* Validate p and build thresholds and event buckets. */
static int problem_build(gs_problem *pb, ah_diag *diag)
{
    const double *p = pb->p;
    const double amax = pb->o->alpha_max;
    size_t P = 0, T = 0, bytes;
    gs_keyed *kp = NULL;

    for (size_t i = 0; i < pb->rows; i++)
        for (size_t j = 0; j < pb->cols; j++) {
            double lo = p[(i * pb->cols + j) * 2], hi = p[(i * pb->cols + j) * 2 + 1];
            if (isnan(lo) || isnan(hi))
                return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, (int64_t)j,
                                "scan_group: p-value of input %zu node %zu "
                                "is NaN", i, j);
            if (lo > hi)
                return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, (int64_t)j,
                                "scan_group: p_min > p_max at input %zu "
                                "node %zu", i, j);
            P += hi <= amax;
        }
    if (P == 0)
        return AH_OK;
    if (!ah__mul_ok(P, 2 * sizeof *kp, &bytes) || !(kp = malloc(bytes)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "scan_group: out of memory for %zu pairs", P);
    P = 0;
    for (size_t i = 0; i < pb->rows; i++)
        for (size_t j = 0; j < pb->cols; j++) {
            double hi = p[(i * pb->cols + j) * 2 + 1];
            if (hi <= amax)
                kp[P++] = (gs_keyed){key_of(hi), {(uint32_t)i, (uint32_t)j}};
        }
    radix_sort_keyed(kp, kp + P, P);

    pb->full = malloc(P * sizeof *pb->full);
    pb->thr = malloc(P * sizeof *pb->thr); /* T <= P; not shrunk */
    pb->full_start = malloc((P + 1) * sizeof *pb->full_start);
    if (!pb->full || !pb->thr || !pb->full_start) {
        free(kp);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "scan_group: out of memory for %zu pairs", P);
    }
    for (size_t e = 0; e < P; e++) {
        const gs_pair pr = kp[e].pr;
        double v = p[((size_t)pr.i * pb->cols + pr.j) * 2 + 1];
        if (T == 0 || v != pb->thr[T - 1]) {
            pb->full_start[T] = e;
            pb->thr[T++] = v;
        }
        pb->full[e] = pr;
    }
    pb->full_start[T] = P;
    pb->T = T;
    free(kp);

    if (pb->o->fractional) {
        size_t A = 0, *cur;
        pb->was_active = malloc(P);
        pb->act_start = calloc(T + 2, sizeof *pb->act_start);
        if (!pb->was_active || !pb->act_start)
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                            "scan_group: out of memory");
        /* Count activations per rank, then place them (counting sort). */
        for (size_t i = 0; i < pb->rows; i++)
            for (size_t j = 0; j < pb->cols; j++) {
                double lo = p[(i * pb->cols + j) * 2];
                double hi = p[(i * pb->cols + j) * 2 + 1];
                size_t ar = upper_rank(pb->thr, T, lo);
                size_t fr = hi <= amax ? upper_rank(pb->thr, T, hi) - 1 : T;
                if (lo < hi && ar < fr) {
                    pb->act_start[ar + 1]++;
                    A++;
                }
            }
        for (size_t t = 0; t < T; t++)
            pb->act_start[t + 1] += pb->act_start[t];
        if (!ah__mul_ok(A ? A : 1, sizeof *pb->act, &bytes) ||
            !(pb->act = malloc(bytes)) ||
            !(cur = malloc((T + 1) * sizeof *cur)))
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                            "scan_group: out of memory");
        memcpy(cur, pb->act_start, (T + 1) * sizeof *cur);
        for (size_t i = 0; i < pb->rows; i++)
            for (size_t j = 0; j < pb->cols; j++) {
                double lo = p[(i * pb->cols + j) * 2];
                double hi = p[(i * pb->cols + j) * 2 + 1];
                size_t ar = upper_rank(pb->thr, T, lo);
                size_t fr = hi <= amax ? upper_rank(pb->thr, T, hi) - 1 : T;
                if (lo < hi && ar < fr)
                    pb->act[cur[ar]++] = (gs_pair){(uint32_t)i, (uint32_t)j};
            }
        free(cur);
        for (size_t t = 0; t < T; t++)
            for (size_t e = pb->full_start[t]; e < pb->full_start[t + 1]; e++) {
                const gs_pair pr = pb->full[e];
                double lo = p[((size_t)pr.i * pb->cols + pr.j) * 2];
                pb->was_active[e] = upper_rank(pb->thr, T, lo) < t;
            }
    }
    return AH_OK;
}

/* ---- one half step ------------------------------------------------------ */

/* Move item x from count c to c + 1, keeping order sorted by count. */
static inline void bump(gs_work *w, uint32_t x)
{
    uint32_t c = w->cnt[x];
    uint32_t last = w->start[c + 1] - 1;
    uint32_t y = w->order[last], px = w->pos[x];
    w->order[px] = y;
    w->pos[y] = px;
    w->order[last] = x;
    w->pos[x] = last;
    w->start[c + 1] = last;
    w->cnt[x] = c + 1;
}

/* Pair e of bucket list: the member on the fixed side and the free item. */
#define FIXED(side, pr) ((side) == 0 ? (pr).i : (pr).j)
#define ITEM(side, pr) ((side) == 0 ? (pr).j : (pr).i)

/*
 * Integer counts.  side 0: the inputs in fixed (m of them) are fixed and
 * the items are nodes; side 1: the reverse.  Writes the best items into out
 * and returns the score (0: no positive subset, out untouched).
 */
static double half_step_count(const gs_problem *pb, gs_work *w, int side,
                              const unsigned char *fixed, uint32_t m,
                              unsigned char *out, double *alpha)
{
    const uint32_t n = (uint32_t)(side == 0 ? pb->cols : pb->rows);
    const int stat = pb->o->stat;
    const double dm = (double)m;
    double best = 0.0;
    size_t best_t = 0;
    uint32_t best_c = 0;

    for (uint32_t k = 0; k < n; k++) {
        w->cnt[k] = 0;
        w->order[k] = w->pos[k] = k;
    }
    w->start[0] = 0;
    for (uint32_t c = 1; c <= m + 1; c++)
        w->start[c] = n;

    for (size_t t = 0; t < pb->T; t++) {
        const double a = pb->thr[t];
        int dirty = 0;
        uint32_t end = n;
        double A = 0.0, K = 0.0;
        for (size_t e = pb->full_start[t]; e < pb->full_start[t + 1]; e++) {
            const gs_pair pr = pb->full[e];
            if (fixed[FIXED(side, pr)]) {
                bump(w, ITEM(side, pr));
                dirty = 1;
            }
        }
        if (!dirty)
            continue;
        /* Walk the blocks of equal count from the highest count down. */
        while (end > 0) {
            uint32_t c = w->cnt[w->order[end - 1]], b = w->start[c];
            double s;
            if (c == 0)
                break; /* adding zero-count items only lowers the score */
            K += (double)(end - b);
            A += (double)(end - b) * (double)c;
            s = ah_stat_score(stat, a, A, K * dm);
            if (s > best) {
                best = s;
                best_t = t;
                best_c = c;
            }
            end = b;
        }
    }
    if (best <= 0.0)
        return 0.0;

    /* Replay up to the best threshold: the subset is every item whose count
     * there is at least best_c. */
    memset(w->cnt, 0, n * sizeof *w->cnt);
    for (size_t e = 0; e < pb->full_start[best_t + 1]; e++) {
        const gs_pair pr = pb->full[e];
        if (fixed[FIXED(side, pr)])
            w->cnt[ITEM(side, pr)]++;
    }
    for (uint32_t k = 0; k < n; k++)
        out[k] = w->cnt[k] >= best_c;
    *alpha = pb->thr[best_t];
    return best;
}

static int item_cmp(const void *x, const void *y)
{
    const gs_item *a = x, *b = y;
    if (a->c != b->c)
        return a->c > b->c ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Fractional counts: sweep to threshold rank stop (inclusive) or to the end
 * when stop == T, evaluating each threshold; with stop < T, leave the sorted
 * items at stop in w->items and return their number in *nu.
 */
static double sweep_fractional(const gs_problem *pb, gs_work *w, int side,
                               const unsigned char *fixed, uint32_t m,
                               size_t stop, size_t *best_t, size_t *best_k,
                               size_t *nu)
{
    const uint32_t n = (uint32_t)(side == 0 ? pb->cols : pb->rows);
    const size_t C = pb->cols;
    const double dm = (double)m;
    const double *p = pb->p;
    double best = 0.0;
    size_t ntouched = 0, total_active = 0;
    size_t last = stop < pb->T ? stop + 1 : pb->T;

    for (uint32_t k = 0; k < n; k++) {
        w->cnt[k] = 0;
        w->active[k] = 0;
        w->s1[k] = w->s0[k] = 0.0;
        w->is_touched[k] = 0;
    }
    for (size_t t = 0; t < last; t++) {
        const double a = pb->thr[t];
        int dirty = 0;
        double A = 0.0;
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
            total_active++;
            if (!w->is_touched[x]) {
                w->is_touched[x] = 1;
                w->touched[ntouched++] = x;
            }
            dirty = 1;
        }
        for (size_t e = pb->full_start[t]; e < pb->full_start[t + 1]; e++) {
            const gs_pair pr = pb->full[e];
            uint32_t x;
            if (!fixed[FIXED(side, pr)])
                continue;
            x = ITEM(side, pr);
            w->cnt[x]++;
            if (pb->was_active[e]) {
                double lo = p[((size_t)pr.i * C + pr.j) * 2];
                double wd = p[((size_t)pr.i * C + pr.j) * 2 + 1] - lo;
                total_active--;
                if (--w->active[x] == 0) {
                    w->s1[x] = w->s0[x] = 0.0; /* drop rounding residue */
                } else {
                    w->s1[x] -= 1.0 / wd;
                    w->s0[x] -= lo / wd;
                }
            }
            if (!w->is_touched[x]) {
                w->is_touched[x] = 1;
                w->touched[ntouched++] = x;
            }
            dirty = 1;
        }
        if (!dirty && total_active == 0 && t != stop)
            continue;
        for (size_t u = 0; u < ntouched; u++) {
            uint32_t x = w->touched[u];
            double part = 0.0;
            if (w->active[x]) {
                part = a * w->s1[x] - w->s0[x];
                if (part < 0.0)
                    part = 0.0;
                if (part > (double)w->active[x])
                    part = (double)w->active[x];
            }
            w->items[u] = (gs_item){(double)w->cnt[x] + part, x};
        }
        qsort(w->items, ntouched, sizeof *w->items, item_cmp);
        if (t == stop) {
            *nu = ntouched;
            return best;
        }
        for (size_t u = 0; u < ntouched; u++) {
            double s;
            A += w->items[u].c;
            s = ah_stat_score(pb->o->stat, a, A, (double)(u + 1) * dm);
            if (s > best) {
                best = s;
                *best_t = t;
                *best_k = u + 1;
            }
        }
    }
    return best;
}

static double half_step_fractional(const gs_problem *pb, gs_work *w, int side,
                                   const unsigned char *fixed, uint32_t m,
                                   unsigned char *out, double *alpha)
{
    const size_t n = side == 0 ? pb->cols : pb->rows;
    size_t best_t = 0, best_k = 0, nu = 0, t_dummy, k_dummy;
    double best = sweep_fractional(pb, w, side, fixed, m, pb->T, &best_t,
                                   &best_k, &nu);
    if (best <= 0.0)
        return 0.0;
    /* Replaying repeats the same floating-point operations in the same
     * order, so the counts and their order are those that were scored. */
    sweep_fractional(pb, w, side, fixed, m, best_t, &t_dummy, &k_dummy, &nu);
    memset(out, 0, n);
    for (size_t u = 0; u < best_k && u < nu; u++)
        out[w->items[u].idx] = 1;
    *alpha = pb->thr[best_t];
    return best;
}

static double half_step(const gs_problem *pb, gs_work *w, int side,
                        const unsigned char *fixed, unsigned char *out,
                        double *alpha)
{
    size_t nf = side == 0 ? pb->rows : pb->cols;
    uint32_t m = 0;
    for (size_t k = 0; k < nf; k++)
        m += fixed[k] != 0;
    if (m == 0)
        return 0.0;
    return pb->o->fractional
               ? half_step_fractional(pb, w, side, fixed, m, out, alpha)
               : half_step_count(pb, w, side, fixed, m, out, alpha);
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

/* Run restart r; fold its result into the thread's best. */
static void run_restart(const gs_problem *pb, gs_work *w, long r)
{
    const size_t R = pb->rows, C = pb->cols;
    double best = 0.0, best_alpha = 0.0;
    uint64_t st = pb->o->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(r + 1));

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
    for (int it = 0; it < pb->o->max_iter; it++) {
        int improved = 0;
        double a = 0.0, s = half_step(pb, w, 0, w->in_I, w->in_N, &a);
        if (s <= 0.0)
            break;
        if (s > best) {
            best = s;
            best_alpha = a;
            memcpy(w->rb_I, w->in_I, R);
            memcpy(w->rb_N, w->in_N, C);
            improved = 1;
        }
        s = half_step(pb, w, 1, w->in_N, w->in_I, &a);
        if (s <= 0.0)
            break;
        if (s > best) {
            best = s;
            best_alpha = a;
            memcpy(w->rb_I, w->in_I, R);
            memcpy(w->rb_N, w->in_N, C);
            improved = 1;
        }
        if (!improved)
            break;
    }
    /* Restarts reach a thread in increasing order: strict > keeps the
     * lowest index among equal scores. */
    if (best > w->tb_score) {
        w->tb_score = best;
        w->tb_alpha = best_alpha;
        w->tb_restart = r;
        memcpy(w->tb_I, w->rb_I, R);
        memcpy(w->tb_N, w->rb_N, C);
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
    free(w->order);
    free(w->pos);
    free(w->start);
    free(w->in_I);
    free(w->s1);
    free(w->s0);
    free(w->active);
    free(w->touched);
    free(w->is_touched);
    free(w->items);
}

static int work_alloc(gs_work *w, size_t R, size_t C, int fractional)
{
    size_t n = R > C ? R : C;
    memset(w, 0, sizeof *w);
    w->tb_restart = -1;
    w->cnt = malloc(n * sizeof *w->cnt);
    w->order = malloc(n * sizeof *w->order);
    w->pos = malloc(n * sizeof *w->pos);
    w->start = malloc((n + 2) * sizeof *w->start);
    /* One block for the six flag arrays. */
    w->in_I = malloc(3 * (R + C));
    if (!w->cnt || !w->order || !w->pos || !w->start || !w->in_I)
        return 0;
    w->in_N = w->in_I + R;
    w->rb_I = w->in_N + C;
    w->rb_N = w->rb_I + R;
    w->tb_I = w->rb_N + C;
    w->tb_N = w->tb_I + R;
    if (fractional) {
        w->s1 = malloc(n * sizeof *w->s1);
        w->s0 = malloc(n * sizeof *w->s0);
        w->active = malloc(n * sizeof *w->active);
        w->touched = malloc(n * sizeof *w->touched);
        w->is_touched = malloc(n);
        w->items = malloc(n * sizeof *w->items);
        if (!w->s1 || !w->s0 || !w->active || !w->touched ||
            !w->is_touched || !w->items)
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

int ah_scan_group(const double *p, size_t rows, size_t cols,
                  const ah_group_options *o, ah_group_result *res,
                  unsigned char *inputs, unsigned char *nodes, ah_diag *diag)
{
    gs_problem pb;
    gs_shared sh;
    gs_work *work = NULL;
    int nth, st, best = -1;
    size_t total;

    ah__diag_clear(diag);
    if (!p || !o || !res)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "scan_group: NULL argument");
    memset(res, 0, sizeof *res);
    if (rows == 0 || cols == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1,
                        "scan_group: empty batch (%zu inputs x %zu nodes)",
                        rows, cols);
    if (o->stat != AH_STAT_BJ && o->stat != AH_STAT_HC &&
        o->stat != AH_STAT_KS)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_group: unknown statistic %d", o->stat);
    if (isnan(o->alpha_max) || o->restarts < 1 || o->max_iter < 1)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "scan_group: bad options (alpha_max %g, restarts %d, "
                        "max_iter %d)", o->alpha_max, o->restarts,
                        o->max_iter);
    /* Items are indexed by uint32_t and counts up to rows*cols must be exact
     * in a double. */
    if (rows >= UINT32_MAX || cols >= UINT32_MAX ||
        !ah__mul_ok(rows, cols, &total) || total > ((size_t)1 << 52) ||
        !ah__mul_ok(total, 2 * sizeof(double), &total))
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                        "scan_group: batch of %zu x %zu is too large", rows,
                        cols);
    if (inputs)
        memset(inputs, 0, rows);
    if (nodes)
        memset(nodes, 0, cols);

    memset(&pb, 0, sizeof pb);
    pb.p = p;
    pb.rows = rows;
    pb.cols = cols;
    pb.o = o;
    st = problem_build(&pb, diag);
    if (st != AH_OK || pb.T == 0) {
        problem_free(&pb);
        return st;
    }

    nth = ah__thread_count(o->threads, (size_t)o->restarts);
    work = calloc((size_t)nth, sizeof *work);
    if (!work) {
        problem_free(&pb);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "scan_group: out of memory");
    }
    for (int t = 0; t < nth; t++) {
        if (!work_alloc(&work[t], rows, cols, o->fractional)) {
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
    for (int t = 0; t < nth; t++)
        work_free(&work[t]);
    free(work);
    problem_free(&pb);
    return AH_OK;
}
