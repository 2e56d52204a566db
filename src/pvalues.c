/*
 * pvalues.c - p-value ranges of new activations against a model, all tails.
 *
 * Work is tiled: a block of rows is split into runs that share a
 * conditional set, each run into tiles of TILE nodes.  A tile's columns are
 * copied out once (contiguous rows in, contiguous columns out), each node of
 * the tile answers every row of the run while its few kilobytes stay in
 * cache, and each row's slice of the output is then written contiguously.
 * Large blocks matter: a model of D x 3072 bins is tens of megabytes, and
 * every block reads all of it once.  Threads split the tiles of every block;
 * each output value is computed by the same code whoever computes it, so the
 * result does not depend on the thread count.  A tile's counts come from
 * the chosen query backend (backend.h), its p-values from put_counts here,
 * whichever backend it was.
 */
#include "backend_cpu.h"
#include "basis.h"
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BLOCK_ROWS 1024
#define TILE 16

size_t ah_pvalue_width(const ah_model *m, int tail)
{
    if (!m)
        return 0;
    if (tail < 0)
        tail = m->opts.tail;
    return tail == AH_TAIL_BOTH ? 2 * m->D : m->D;
}

typedef struct pv_job {
    const ah_model *m;
    const ah__backend *bk; /* the lookups, or NULL: a method without counts */
    const double *x;   /* the rows, as doubles ...                      */
    const float *xf;   /* ... or as floats (the other is NULL)          */
    size_t rows, ld, width, ntiles;
    const int64_t *labels;
    int tail, nthreads;
    int pmax_only; /* out holds p_max only: rows x width */
    int stream;    /* streaming stores (put_row) */
    double *out;
    size_t unseen;
    int64_t bad_row[256], bad_col[256];
    int nomem[256];
} pv_job;

/* Per-thread scratch: a block's (set, row) pairs, one run's rows, and one
 * tile of values, counts or p-values. */
typedef struct pv_buf {
    size_t *pairs, *idx;
    double *xt, *ps;
    uint32_t *gt, *ge;
    double xt16[TILE]; /* one row of a tile of float input, as doubles */
} pv_buf;

/* Write the tail's range of one value (p = up_min, up_max, lo_min, lo_max)
 * for row o (its output row) at node j. */
static inline void put_tail(double *o, size_t D, size_t j, int tail,
                            const double *p)
{
    switch (tail) {
    case AH_TAIL_UPPER:
        o[2 * j] = p[0];
        o[2 * j + 1] = p[1];
        break;
    case AH_TAIL_LOWER:
        o[2 * j] = p[2];
        o[2 * j + 1] = p[3];
        break;
    case AH_TAIL_TWO:
        o[2 * j] = fmin(1.0, 2.0 * fmin(p[0], p[2]));
        o[2 * j + 1] = fmin(1.0, 2.0 * fmin(p[1], p[3]));
        break;
    default: /* both: upper block, then lower block */
        o[2 * j] = p[0];
        o[2 * j + 1] = p[1];
        o[2 * (D + j)] = p[2];
        o[2 * (D + j) + 1] = p[3];
        break;
    }
}

/*
 * Write n values of one output row.  A large output goes around the cache
 * (streaming stores): each row of a tile lands in a different page, and
 * reading every line before overwriting it took longer than computing the
 * p-values did, in a profile of the 1000 x 4096 batch of bench/.  An
 * output smaller than STREAM_BYTES stays in the cache for the caller.
 * The values are the same either way (tests/test_pvalue_paths.c).
 */
#define STREAM_BYTES ((size_t)16 << 20)

static inline void put_row(double *dst, const double *src, size_t n,
                           int stream)
{
#if defined(__SSE2__)
    if (stream && ((uintptr_t)dst & 15) == 0) {
        size_t i = 0;
        for (; i + 2 <= n; i += 2)
            _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
        if (i < n)
            dst[i] = src[i];
        return;
    }
#else
    (void)stream;
#endif
    memcpy(dst, src, n * sizeof *dst);
}

/* put_counts when only p_max is wanted (ah__pvalues_pmax). */
static void put_pmax(pv_job *jb, double n, const size_t *idx, size_t k,
                     size_t j0, size_t nj, const uint32_t *gt,
                     const uint32_t *ge)
{
    size_t D = jb->m->D, w = jb->width;
    double n1 = n + 1.0, up[TILE], lo[TILE];
    for (size_t i = 0; i < k; i++) {
        double *o = jb->out + idx[i] * w + j0;
        const uint32_t *g = gt + i, *e = ge + i;
        switch (jb->tail) {
        case AH_TAIL_UPPER:
            for (size_t j = 0; j < nj; j++)
                up[j] = ((double)e[j * k] + 1.0) / n1;
            break;
        case AH_TAIL_LOWER:
            for (size_t j = 0; j < nj; j++)
                up[j] = (n - (double)g[j * k] + 1.0) / n1;
            break;
        case AH_TAIL_TWO:
            for (size_t j = 0; j < nj; j++) {
                double up1 = ((double)e[j * k] + 1.0) / n1,
                       lo1 = (n - (double)g[j * k] + 1.0) / n1;
                up[j] = fmin(1.0, 2.0 * fmin(up1, lo1));
            }
            break;
        default: /* both */
            for (size_t j = 0; j < nj; j++) {
                up[j] = ((double)e[j * k] + 1.0) / n1;
                lo[j] = (n - (double)g[j * k] + 1.0) / n1;
            }
            put_row(o + D, lo, nj, jb->stream);
            break;
        }
        put_row(o, up, nj, jb->stream);
    }
}

/* Rows idx[0..k) of the output, nodes j0..j0+nj, from counts gt/ge laid
 * out node by node (stride k): the p-values of model.h's count_many, one
 * loop per tail so the inner loop has no switch. */
static void put_counts(pv_job *jb, double n, const size_t *idx, size_t k,
                       size_t j0, size_t nj, const uint32_t *gt,
                       const uint32_t *ge)
{
    size_t D = jb->m->D, w2 = jb->width * 2;
    double n1 = n + 1.0, up[2 * TILE], lo[2 * TILE];
    if (jb->pmax_only) {
        put_pmax(jb, n, idx, k, j0, nj, gt, ge);
        return;
    }
    for (size_t i = 0; i < k; i++) {
        double *o = jb->out + idx[i] * w2 + 2 * j0;
        const uint32_t *g = gt + i, *e = ge + i;
        switch (jb->tail) {
        case AH_TAIL_UPPER:
            for (size_t j = 0; j < nj; j++) {
                up[2 * j] = (double)g[j * k] / n1;
                up[2 * j + 1] = ((double)e[j * k] + 1.0) / n1;
            }
            break;
        case AH_TAIL_LOWER:
            for (size_t j = 0; j < nj; j++) {
                up[2 * j] = (n - (double)e[j * k]) / n1;
                up[2 * j + 1] = (n - (double)g[j * k] + 1.0) / n1;
            }
            break;
        case AH_TAIL_TWO:
            for (size_t j = 0; j < nj; j++) {
                double up0 = (double)g[j * k] / n1,
                       up1 = ((double)e[j * k] + 1.0) / n1,
                       lo0 = (n - (double)e[j * k]) / n1,
                       lo1 = (n - (double)g[j * k] + 1.0) / n1;
                up[2 * j] = fmin(1.0, 2.0 * fmin(up0, lo0));
                up[2 * j + 1] = fmin(1.0, 2.0 * fmin(up1, lo1));
            }
            break;
        default: /* both: upper block, then lower block */
            for (size_t j = 0; j < nj; j++) {
                up[2 * j] = (double)g[j * k] / n1;
                up[2 * j + 1] = ((double)e[j * k] + 1.0) / n1;
                lo[2 * j] = (n - (double)e[j * k]) / n1;
                lo[2 * j + 1] = (n - (double)g[j * k] + 1.0) / n1;
            }
            put_row(o + 2 * D, lo, 2 * nj, jb->stream);
            break;
        }
        put_row(o, up, 2 * nj, jb->stream);
    }
}

/* A few rows touch one table entry per node, each a likely cache miss
 * on a large model: announce all of thread t's to the backend at once,
 * so they overlap, before looking any up. */
static inline void pv_prefetch(const pv_job *jb, int t, size_t s,
                               const size_t *idx, size_t k)
{
    const ah_model *m = jb->m;
    size_t D = m->D;
    for (size_t i = 0; i < k; i++)
        for (size_t tile = (size_t)t; tile < jb->ntiles;
             tile += (size_t)jb->nthreads) {
            size_t j0 = tile * TILE, nj = D - j0 < TILE ? D - j0 : TILE;
            double v[TILE];
            const double *row = v;
            if (jb->xf)
                for (size_t j = 0; j < nj; j++)
                    v[j] = jb->xf[idx[i] * jb->ld + j0 + j];
            else
                row = jb->x + idx[i] * jb->ld + j0;
            jb->bk->prefetch(m, s, j0, nj, row);
        }
}

/* Copy the tile's columns j0..j0+nj of the k rows out, node-major, into
 * b->xt; a non-finite value fails the call (the earliest row, then
 * column, is reported) and is replaced so the lookups stay defined. */
static inline void pv_tile_in(pv_job *jb, int t, const size_t *idx, size_t k,
                              size_t j0, size_t nj, pv_buf *b)
{
    size_t D = jb->m->D;
    size_t ahead = TILE * (size_t)jb->nthreads; /* our next tile */
    for (size_t i = 0; i < k; i++) {
        const double *vals;
        if (jb->xf) { /* floats: converted here, exactly, in one pass */
            const float *row = jb->xf + idx[i] * jb->ld + j0;
#if defined(__GNUC__)
            if (j0 + ahead < D)
                __builtin_prefetch(row + ahead);
#endif
            for (size_t j = 0; j < nj; j++)
                b->xt16[j] = (double)row[j];
            vals = b->xt16;
        } else {
            const double *row = jb->x + idx[i] * jb->ld + j0;
#if defined(__GNUC__)
            /* rows are D apart: no hardware prefetcher follows that */
            if (j0 + ahead < D) {
                __builtin_prefetch(row + ahead);
                __builtin_prefetch(row + ahead + 8);
            }
#endif
            vals = row;
        }
        for (size_t j = 0; j < nj; j++) {
            double v = vals[j];
            if (!isfinite(v)) {
                int64_t r = (int64_t)idx[i], c = (int64_t)(j0 + j);
                if (jb->bad_row[t] < 0 || r < jb->bad_row[t] ||
                    (r == jb->bad_row[t] && c < jb->bad_col[t])) {
                    jb->bad_row[t] = r;
                    jb->bad_col[t] = c;
                }
                v = 0.0;
            }
            b->xt[j * k + i] = v;
        }
    }
}

/* The tile's p-values through the method's pvalue_many or pvalue (the
 * methods without counts), put in the output in its tail. */
static inline void pv_tile_ranges(pv_job *jb, const void *rep,
                                  const size_t *idx, size_t k, size_t j0,
                                  size_t nj, pv_buf *b)
{
    const ah_model *m = jb->m;
    size_t D = m->D;
    for (size_t j = 0; j < nj; j++) {
        const double *xs = b->xt + j * k;
        if (m->ops->pvalue_many)
            m->ops->pvalue_many(rep, j0 + j, xs, k, b->ps);
        else
            for (size_t i = 0; i < k; i++)
                m->ops->pvalue(rep, j0 + j, xs[i], b->ps + 4 * i);
        for (size_t i = 0; i < k; i++) {
            if (!jb->pmax_only) {
                put_tail(jb->out + idx[i] * jb->width * 2, D, j0 + j,
                         jb->tail, b->ps + 4 * i);
                continue;
            }
            double o[4];
            put_tail(o, 1, 0, jb->tail, b->ps + 4 * i);
            double *r = jb->out + idx[i] * jb->width;
            r[j0 + j] = o[1];
            if (jb->tail == AH_TAIL_BOTH)
                r[D + j0 + j] = o[3];
        }
    }
}

/* Rows idx[0..k) all use set s; this thread's tiles of them: the
 * backend's counts made p-values here, or the method's own ranges. */
static void pv_run(pv_job *jb, int t, size_t s, const size_t *idx, size_t k,
                   pv_buf *b)
{
    const ah_model *m = jb->m;
    const ah__backend *bk = jb->bk;
    size_t D = m->D;
    if (bk && bk->prefetch_run && bk->prefetch_run(m, k))
        pv_prefetch(jb, t, s, idx, k);
    for (size_t tile = (size_t)t; tile < jb->ntiles;
         tile += (size_t)jb->nthreads) {
        size_t j0 = tile * TILE, nj = D - j0 < TILE ? D - j0 : TILE;
        pv_tile_in(jb, t, idx, k, j0, nj, b);
        if (!bk) {
            pv_tile_ranges(jb, m->sets[s].rep, idx, k, j0, nj, b);
            continue;
        }
        int st = bk == &ah__backend_cpu /* inline: backend_cpu.h */
                     ? ah__cpu_count_tile(m, s, j0, nj, b->xt, k, b->gt, b->ge)
                     : bk->count_tile(m, s, j0, nj, b->xt, k, b->gt, b->ge);
        if (st != AH_OK) {
            jb->nomem[t] = 1;
            return;
        }
        put_counts(jb, (double)m->sets[s].n, idx, k, j0, nj, b->gt, b->ge);
    }
}

static int cmp_by_set(const void *a, const void *b)
{
    const size_t *x = a, *y = b; /* pairs (set, row) */
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static void pv_thread(void *ctx, int t)
{
    pv_job *jb = ctx;
    const ah_model *m = jb->m;
    size_t cap = jb->rows < BLOCK_ROWS ? jb->rows : BLOCK_ROWS;
    pv_buf b;
    b.pairs = malloc(2 * cap * sizeof *b.pairs);
    b.idx = malloc(cap * sizeof *b.idx);
    b.xt = malloc(TILE * cap * sizeof *b.xt);
    b.ps = malloc(4 * cap * sizeof *b.ps);
    b.gt = malloc(TILE * cap * sizeof *b.gt);
    b.ge = malloc(TILE * cap * sizeof *b.ge);
    jb->bad_row[t] = -1;
    if (!b.pairs || !b.idx || !b.xt || !b.ps || !b.gt || !b.ge) {
        jb->nomem[t] = 1;
        goto out;
    }
    size_t nblocks = (jb->rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (size_t blk = 0; blk < nblocks; blk++) {
        size_t r0 = blk * BLOCK_ROWS, r1 = r0 + BLOCK_ROWS;
        if (r1 > jb->rows)
            r1 = jb->rows;
        size_t k = 0;
        for (size_t i = r0; i < r1; i++) {
            size_t s = 0;
            if (jb->labels) {
                int seen;
                s = ah__model_set_for(m, jb->labels[i], &seen);
                if (t == 0)
                    jb->unseen += !seen;
            }
            b.pairs[2 * k] = s;
            b.pairs[2 * k + 1] = i;
            k++;
        }
        if (jb->labels)
            qsort(b.pairs, k, 2 * sizeof *b.pairs, cmp_by_set);
        for (size_t a = 0; a < k;) {
            size_t z = a;
            while (z < k && b.pairs[2 * z] == b.pairs[2 * a]) {
                b.idx[z - a] = b.pairs[2 * z + 1];
                z++;
            }
            pv_run(jb, t, b.pairs[2 * a], b.idx, z - a, &b);
            a = z;
        }
    }
out:
#if defined(__SSE2__)
    _mm_sfence(); /* streaming stores are weakly ordered */
#endif
    free(b.pairs);
    free(b.idx);
    free(b.xt);
    free(b.ps);
    free(b.gt);
    free(b.ge);
}

/* The query calls' arguments: x and out given, threads in range, cols
 * the nodes a row must have (want), a stride, and *tail resolved (the
 * model's when negative) and known. */
static int query_check(const ah_model *m, const void *x, const double *out,
                       size_t rows, size_t want, size_t cols, size_t ld,
                       int threads, int *tail, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || (!x && rows) || (!out && rows))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    int st = ah_option_check(AH_OPTION_THREADS, threads, diag);
    if (st != AH_OK)
        return st;
    if (cols != want)
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "input has %zu nodes per row, the model has %zu",
                        cols, want);
    if (ld < cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "row stride below columns");
    if (*tail < 0)
        *tail = m->opts.tail;
    if (*tail > AH_TAIL_BOTH)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown tail %d", *tail);
    return AH_OK;
}

/* The backend that answers for m: none for a method without counts,
 * else the one asked for if it serves m. */
static int pick_backend(const ah_model *m, int backend,
                        const ah__backend **bk, ah_diag *diag)
{
    *bk = NULL;
    int st = ah__backend_check(backend, diag);
    if (st != AH_OK || !m->ops->count_many)
        return st;
    *bk = ah__backends[backend];
    if (!(*bk)->serves(m))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "the %s backend does not serve this %s model",
                        (*bk)->name, m->ops->name);
    return AH_OK;
}

static int pvalues_run(const ah_model *m, const void *x, int f32,
                       size_t rows, size_t cols, size_t ld,
                       const int64_t *labels, int tail, double *out,
                       int pmax_only, size_t *unseen, int threads,
                       int backend, ah_diag *diag)
{
    int st = query_check(m, x, out, rows, m->D, cols, ld, threads, &tail,
                         diag);
    const ah__backend *bk = NULL;
    if (st == AH_OK)
        st = pick_backend(m, backend, &bk, diag);
    if (st != AH_OK)
        return st;
    pv_job *jb = calloc(1, sizeof *jb);
    if (!jb)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    jb->m = m;
    jb->bk = bk;
    if (f32)
        jb->xf = x;
    else
        jb->x = x;
    jb->rows = rows;
    jb->ld = ld;
    jb->width = ah_pvalue_width(m, tail);
    jb->labels = m->nsets > 1 ? labels : NULL;
    jb->tail = tail;
    jb->out = out;
    jb->pmax_only = pmax_only;
    jb->stream = rows * jb->width * (pmax_only ? 1 : 2) >=
                 STREAM_BYTES / sizeof(double);
    /* threads only pay with enough work; they split each block's tiles */
    jb->ntiles = (m->D + TILE - 1) / TILE;
    jb->nthreads =
        ah__thread_count(rows * m->D < 65536 ? 1 : threads, jb->ntiles);
    if (rows)
        ah__parallel(jb->nthreads, pv_thread, jb);
    size_t miss = jb->unseen;
    int64_t br = -1, bc = -1;
    int nomem = 0;
    for (int t = 0; t < jb->nthreads && rows; t++) {
        nomem |= jb->nomem[t];
        if (jb->bad_row[t] >= 0 &&
            (br < 0 || jb->bad_row[t] < br ||
             (jb->bad_row[t] == br && jb->bad_col[t] < bc))) {
            br = jb->bad_row[t];
            bc = jb->bad_col[t];
        }
    }
    /* labels given to a pooled-only model: every row uses the pooled set */
    if (labels && m->nsets == 1)
        miss = rows;
    if (unseen)
        *unseen = miss;
    free(jb);
    if (nomem)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (br >= 0)
        return ah__fail(diag, AH_ERR_VALUE, br, bc,
                        "row %lld, column %lld: NaN or infinity",
                        (long long)br, (long long)bc);
    return AH_OK;
}

/* Rows through the basis per block: bounded memory for any row count. */
#define BASIS_BLOCK 256

typedef struct basis_job {
    const ah_model *m;
    const void *x;
    int f32, nthreads;
    size_t r0, k, cols, ld;
    const int64_t *labels;
    double *tx;     /* k x width transformed rows                        */
    double *row;    /* nthreads x cols: a float row widened             */
    int64_t bad_row[256], bad_col[256];
} basis_job;

/* Row r0 + i of the block through its label's basis (or the pooled one);
 * a NaN or infinity is recorded, not transformed. */
static void basis_row(basis_job *jb, int t, size_t i)
{
    size_t r = jb->r0 + i, w = jb->m->D;
    const double *x = (const double *)jb->x + r * jb->ld;
    if (jb->f32) {
        const float *xf = (const float *)jb->x + r * jb->ld;
        double *d = jb->row + (size_t)t * jb->cols;
        for (size_t j = 0; j < jb->cols; j++)
            d[j] = (double)xf[j];
        x = d;
    }
    for (size_t j = 0; j < jb->cols; j++)
        if (!isfinite(x[j])) {
            if (jb->bad_row[t] < 0) {
                jb->bad_row[t] = (int64_t)r;
                jb->bad_col[t] = (int64_t)j;
            }
            memset(jb->tx + i * w, 0, w * sizeof *jb->tx);
            return;
        }
    size_t s = jb->labels ? ah__basis_set_for(jb->m->basis, jb->labels[r])
                          : 0;
    ah__basis_apply(jb->m->basis, s, x, jb->tx + i * w);
}

static void basis_thread(void *ctx, int t)
{
    basis_job *jb = ctx;
    jb->bad_row[t] = -1;
    for (size_t i = (size_t)t; i < jb->k; i += (size_t)jb->nthreads)
        basis_row(jb, t, i);
}

/* The first bad value of the block, by row (threads take rows in turn). */
static int basis_bad(const basis_job *jb, ah_diag *diag)
{
    int64_t br = -1, bc = -1;
    for (int t = 0; t < jb->nthreads; t++)
        if (jb->bad_row[t] >= 0 && (br < 0 || jb->bad_row[t] < br)) {
            br = jb->bad_row[t];
            bc = jb->bad_col[t];
        }
    if (br < 0)
        return AH_OK;
    return ah__fail(diag, AH_ERR_VALUE, br, bc,
                    "row %lld, column %lld: NaN or infinity", (long long)br,
                    (long long)bc);
}

/* A model with a basis: its rows of D_in values are transformed block by
 * block (threads split a block's rows), then take the plain path. */
static int basis_run(const ah_model *m, const void *x, int f32, size_t rows,
                     size_t cols, size_t ld, const int64_t *labels, int tail,
                     double *out, int pmax_only, size_t *unseen, int threads,
                     int backend, ah_diag *diag)
{
    int st = query_check(m, x, out, rows, m->D_in, cols, ld, threads, &tail,
                         diag);
    if (st != AH_OK)
        return st;
    size_t w = m->D, wout = ah_pvalue_width(m, tail) * (pmax_only ? 1 : 2);
    basis_job *jb = calloc(1, sizeof *jb);
    if (jb) {
        jb->nthreads = ah__thread_count(rows * m->D < 65536 ? 1 : threads,
                                        BASIS_BLOCK);
        jb->tx = malloc(BASIS_BLOCK * w * sizeof *jb->tx);
        jb->row = malloc((size_t)jb->nthreads * cols * sizeof *jb->row);
    }
    if (!jb || !jb->tx || !jb->row) {
        if (jb) {
            free(jb->tx);
            free(jb->row);
        }
        free(jb);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    jb->m = m;
    jb->x = x;
    jb->f32 = f32;
    jb->cols = cols;
    jb->ld = ld;
    jb->labels = m->nsets > 1 ? labels : NULL;
    size_t miss = 0;
    for (size_t r0 = 0; r0 < rows && st == AH_OK; r0 += BASIS_BLOCK) {
        size_t k = rows - r0 < BASIS_BLOCK ? rows - r0 : BASIS_BLOCK, u = 0;
        jb->r0 = r0;
        jb->k = k;
        ah__parallel(jb->nthreads, basis_thread, jb);
        st = basis_bad(jb, diag);
        if (st != AH_OK)
            break;
        st = pvalues_run(m, jb->tx, 0, k, w, w, labels ? labels + r0 : NULL,
                         tail, out + r0 * wout, pmax_only, &u, threads,
                         backend, diag);
        if (st == AH_ERR_VALUE && diag) /* finite values near DBL_MAX */
            st = ah__fail(diag, st, diag->row + (int64_t)r0, -1,
                          "row %lld: its coordinates in the model's basis "
                          "overflow (values near the largest double)",
                          (long long)(diag->row + (int64_t)r0));
        miss += u;
    }
    if (unseen)
        *unseen = labels && m->nsets == 1 ? rows : miss;
    free(jb->tx);
    free(jb->row);
    free(jb);
    return st;
}

int ah_model_transform(const ah_model *m, const double *x, size_t rows,
                       size_t cols, size_t ld, const int64_t *labels,
                       double *out, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || (!x && rows) || (!out && rows))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (cols != m->D_in)
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "input has %zu nodes per row, the model has %zu",
                        cols, m->D_in);
    if (ld < cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "row stride below columns");
    basis_job jb;
    memset(&jb, 0, sizeof jb);
    jb.m = m;
    jb.x = x;
    jb.nthreads = 1;
    jb.cols = cols;
    jb.ld = ld;
    jb.labels = m->nsets > 1 ? labels : NULL;
    jb.tx = out;
    jb.k = rows;
    jb.bad_row[0] = -1;
    for (size_t i = 0; i < rows && jb.bad_row[0] < 0; i++) {
        if (m->basis) {
            basis_row(&jb, 0, i);
            continue;
        }
        const double *r = x + i * ld;
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(r[j]) && jb.bad_row[0] < 0) {
                jb.bad_row[0] = (int64_t)i;
                jb.bad_col[0] = (int64_t)j;
            }
        memcpy(out + i * cols, r, cols * sizeof *out);
    }
    return basis_bad(&jb, diag);
}

/* The entry points: a model with a basis goes through it first. */
static int pvalues_any(const ah_model *m, const void *x, int f32,
                       size_t rows, size_t cols, size_t ld,
                       const int64_t *labels, int tail, double *out,
                       int pmax_only, size_t *unseen, int threads,
                       int backend, ah_diag *diag)
{
    if (m && m->basis)
        return basis_run(m, x, f32, rows, cols, ld, labels, tail, out,
                         pmax_only, unseen, threads, backend, diag);
    return pvalues_run(m, x, f32, rows, cols, ld, labels, tail, out,
                       pmax_only, unseen, threads, backend, diag);
}

int ah__query_args(const ah_input *in, const ah_query_options *o,
                   ah_query_options *q, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!in)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (in->dtype != AH_DTYPE_F64 && in->dtype != AH_DTYPE_F32)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "input: unknown dtype %d (AH_DTYPE_F64 or "
                        "AH_DTYPE_F32)", in->dtype);
    return ah__query_options_read(o, q, diag);
}

int ah_pvalues_in(const ah_model *m, const ah_input *in,
                  const ah_query_options *o, double *out, size_t *unseen,
                  ah_diag *diag)
{
    ah_query_options q;
    int st = ah__query_args(in, o, &q, diag);
    if (st != AH_OK)
        return st;
    return pvalues_any(m, in->data, in->dtype == AH_DTYPE_F32, in->rows,
                       in->cols, in->ld, in->labels, q.tail, out, 0, unseen,
                       q.threads, q.backend, diag);
}

/* The calls of version 0.1: a view and settings from their arguments. */
static int pvalues_args(const ah_model *m, const void *x, int dtype,
                        size_t rows, size_t cols, size_t ld,
                        const int64_t *labels, int tail, double *out,
                        size_t *unseen, int threads, ah_diag *diag)
{
    ah_input in = {x, dtype, rows, cols, ld, labels};
    ah_query_options o;
    ah_query_options_init(&o);
    o.tail = tail;
    o.threads = threads;
    return ah_pvalues_in(m, &in, &o, out, unseen, diag);
}

int ah_pvalues(const ah_model *m, const double *x, size_t rows, size_t cols,
               size_t ld, const int64_t *labels, int tail, double *out,
               size_t *unseen, int threads, ah_diag *diag)
{
    return pvalues_args(m, x, AH_DTYPE_F64, rows, cols, ld, labels, tail, out,
                        unseen, threads, diag);
}

int ah_pvalues_f32(const ah_model *m, const float *x, size_t rows,
                   size_t cols, size_t ld, const int64_t *labels, int tail,
                   double *out, size_t *unseen, int threads, ah_diag *diag)
{
    return pvalues_args(m, x, AH_DTYPE_F32, rows, cols, ld, labels, tail, out,
                        unseen, threads, diag);
}

int ah__pvalues_pmax(const ah_model *m, const void *x, int f32, size_t rows,
                     size_t cols, size_t ld, const int64_t *labels, int tail,
                     double *pmax, size_t *unseen, int threads, int backend,
                     ah_diag *diag)
{
    return pvalues_any(m, x, f32, rows, cols, ld, labels, tail, pmax, 1,
                       unseen, threads, backend, diag);
}
