/*
 * score.c - p-values and individual scans fused per block of rows.
 *
 * A block's p_max values (only those: the scan never reads p_min) are
 * computed by every thread together, splitting the model's nodes, then the
 * threads split the block's rows to scan them.  Blocks hold about 4M values
 * (32 MB) whatever D is, so memory stays bounded for any number of rows,
 * and large blocks read the model fewer times.  Rows are independent: the
 * thread count cannot change a result.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#define BLOCK_VALUES (1u << 22)
#define HUGE_PAGE ((size_t)2 << 20)

/* A buffer of `bytes`, on huge pages where the kernel gives them. */
static double *block_alloc(size_t bytes)
{
    void *p = malloc(bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    long page = sysconf(_SC_PAGESIZE);
    if (p && bytes >= HUGE_PAGE && page > 0) {
        /* the whole pages inside the buffer */
        uintptr_t mask = (uintptr_t)page - 1,
                  a = ((uintptr_t)p + mask) & ~mask,
                  b = ((uintptr_t)p + bytes) & ~mask;
        if (b > a)
            (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

typedef struct score_job {
    const double *pmax; /* the block's rows x width p_max values */
    size_t rows, width;
    int stat, nthreads;
    double alpha_max;
    ah_scan_result *res; /* the block's first row */
    int status[256];
    ah_diag diag[256];
} score_job;

static void scan_thread(void *ctx, int t)
{
    score_job *jb = ctx;
    jb->status[t] = AH_OK;
    for (size_t i = (size_t)t; i < jb->rows; i += (size_t)jb->nthreads) {
        /* p-values made here are in [0, 1]: no need to check them */
        int st = ah__scan_individual(jb->pmax + i * jb->width, jb->width,
                                     jb->stat, jb->alpha_max, &jb->res[i],
                                     NULL, &jb->diag[t]);
        if (st != AH_OK) {
            jb->status[t] = st;
            return;
        }
    }
}

/* ah_score and ah_score_f32: x holds doubles, or floats when f32. */
static int score_run(const ah_model *m, const void *x, int f32, size_t rows,
                     size_t cols, size_t ld, const int64_t *labels, int tail,
                     int stat, double alpha_max, ah_scan_result *res,
                     size_t *unseen, int threads, int backend,
                     ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || (!x && rows) || (!res && rows))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (!ah__stat_known(stat))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "score: unknown statistic %d", stat);
    int st = ah_option_check(AH_OPTION_ALPHA_MAX, alpha_max, diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_THREADS, threads, diag);
    if (st != AH_OK)
        return st;
    if (cols != ah_model_nodes(m))
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "input has %zu nodes per row, the model has %zu",
                        cols, ah_model_nodes(m));
    if (tail < 0)
        tail = ah_model_tail(m);
    size_t width = ah_pvalue_width(m, tail), block = BLOCK_VALUES / width;
    block = block < 1 ? 1 : block > rows ? rows : block;
    double *pmax = NULL;
    size_t bytes;
    if (rows && (!ah__mul_ok(block * width, sizeof *pmax, &bytes) ||
                 !(pmax = block_alloc(bytes))))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    score_job *jb = calloc(1, sizeof *jb);
    if (!jb) {
        free(pmax);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    jb->pmax = pmax;
    jb->width = width;
    jb->stat = stat;
    jb->alpha_max = alpha_max;
    size_t miss = 0;
    for (size_t r0 = 0; r0 < rows && st == AH_OK; r0 += block) {
        size_t k = rows - r0 < block ? rows - r0 : block, u = 0;
        const void *xr = f32 ? (const void *)((const float *)x + r0 * ld)
                             : (const void *)((const double *)x + r0 * ld);
        st = ah__pvalues_pmax(m, xr, f32, k, cols, ld,
                              labels ? labels + r0 : NULL, tail, pmax, &u,
                              threads, backend, diag);
        if (st != AH_OK) {
            if (st == AH_ERR_VALUE && diag && diag->row >= 0)
                st = ah__fail(diag, st, diag->row + (int64_t)r0, diag->col,
                              "row %lld, column %lld: NaN or infinity",
                              (long long)(diag->row + (int64_t)r0),
                              (long long)diag->col);
            break;
        }
        miss += u;
        jb->rows = k;
        jb->res = res + r0;
        jb->nthreads = ah__thread_count(threads, k);
        ah__parallel(jb->nthreads, scan_thread, jb);
        /* the scan fails only on memory, its arguments checked above */
        for (int t = 0; t < jb->nthreads && st == AH_OK; t++)
            if (jb->status[t] != AH_OK) {
                st = jb->status[t];
                if (diag)
                    *diag = jb->diag[t];
            }
    }
    if (unseen)
        *unseen = miss;
    free(jb);
    free(pmax);
    return st;
}

int ah_score_in(const ah_model *m, const ah_input *in,
                const ah_query_options *o, ah_scan_result *res,
                size_t *unseen, ah_diag *diag)
{
    ah_query_options q;
    int st = ah__query_args(in, o, &q, diag);
    if (st != AH_OK)
        return st;
    return score_run(m, in->data, in->dtype == AH_DTYPE_F32, in->rows,
                     in->cols, in->ld, in->labels, q.tail, q.stat,
                     q.alpha_max, res, unseen, q.threads, q.backend, diag);
}

/* The calls of version 0.1: a view and settings from their arguments. */
static int score_args(const ah_model *m, const void *x, int dtype,
                      size_t rows, size_t cols, size_t ld,
                      const int64_t *labels, int tail, int stat,
                      double alpha_max, ah_scan_result *res, size_t *unseen,
                      int threads, ah_diag *diag)
{
    ah_input in = {x, dtype, rows, cols, ld, labels};
    ah_query_options o;
    ah_query_options_init(&o);
    o.tail = tail;
    o.stat = stat;
    o.alpha_max = alpha_max;
    o.threads = threads;
    return ah_score_in(m, &in, &o, res, unseen, diag);
}

int ah_score(const ah_model *m, const double *x, size_t rows, size_t cols,
             size_t ld, const int64_t *labels, int tail, int stat,
             double alpha_max, ah_scan_result *res, size_t *unseen,
             int threads, ah_diag *diag)
{
    return score_args(m, x, AH_DTYPE_F64, rows, cols, ld, labels, tail, stat,
                      alpha_max, res, unseen, threads, diag);
}

int ah_score_f32(const ah_model *m, const float *x, size_t rows, size_t cols,
                 size_t ld, const int64_t *labels, int tail, int stat,
                 double alpha_max, ah_scan_result *res, size_t *unseen,
                 int threads, ah_diag *diag)
{
    return score_args(m, x, AH_DTYPE_F32, rows, cols, ld, labels, tail, stat,
                      alpha_max, res, unseen, threads, diag);
}
