/*
 * pvalues.c - p-value ranges of new activations against a model, all tails.
 *
 * Work is tiled: a block of rows is split into runs that share a
 * conditional set, and each run is processed node by node, so one node's
 * representation stays in cache while it answers every row of the run
 * (a histogram node is a few hundred bytes; the whole model may not fit in
 * cache).  Rows are independent and blocks are dealt to threads in a fixed
 * pattern, so the output does not depend on the thread count.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_ROWS 256

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
    const double *x;
    size_t rows, ld, width;
    const int64_t *labels;
    int tail, nthreads;
    double *out;
    size_t unseen[256];
    int64_t bad_row[256], bad_col[256];
    int nomem[256];
} pv_job;

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

/* Rows idx[0..k) all use set s. */
static void pv_run(pv_job *jb, size_t s, const size_t *idx, size_t k,
                   double *xs, double *ps)
{
    const ah_model *m = jb->m;
    const void *rep = m->sets[s].rep;
    size_t D = m->D;
    for (size_t j = 0; j < D; j++) {
        for (size_t i = 0; i < k; i++)
            xs[i] = jb->x[idx[i] * jb->ld + j];
        if (m->ops->pvalue_many)
            m->ops->pvalue_many(rep, j, xs, k, ps);
        else
            for (size_t i = 0; i < k; i++)
                m->ops->pvalue(rep, j, xs[i], ps + 4 * i);
        for (size_t i = 0; i < k; i++)
            put_tail(jb->out + idx[i] * jb->width * 2, D, j, jb->tail,
                     ps + 4 * i);
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
    size_t D = m->D;
    size_t *pairs = malloc(2 * BLOCK_ROWS * sizeof *pairs);
    size_t *idx = malloc(BLOCK_ROWS * sizeof *idx);
    double *xs = malloc(BLOCK_ROWS * sizeof *xs);
    double *ps = malloc(4 * BLOCK_ROWS * sizeof *ps);
    jb->bad_row[t] = -1;
    if (!pairs || !idx || !xs || !ps) {
        jb->nomem[t] = 1;
        goto out;
    }
    size_t nblocks = (jb->rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (size_t b = (size_t)t; b < nblocks; b += (size_t)jb->nthreads) {
        size_t r0 = b * BLOCK_ROWS, r1 = r0 + BLOCK_ROWS;
        if (r1 > jb->rows)
            r1 = jb->rows;
        size_t k = 0;
        for (size_t i = r0; i < r1; i++) {
            const double *row = jb->x + i * jb->ld;
            size_t bad = D;
            for (size_t j = 0; j < D; j++)
                if (!isfinite(row[j])) {
                    bad = j;
                    break;
                }
            if (bad < D) {
                if (jb->bad_row[t] < 0 || (int64_t)i < jb->bad_row[t]) {
                    jb->bad_row[t] = (int64_t)i;
                    jb->bad_col[t] = (int64_t)bad;
                }
                continue; /* the call fails; skip the row */
            }
            size_t s = 0;
            if (jb->labels) {
                int seen;
                s = ah__model_set_for(m, jb->labels[i], &seen);
                jb->unseen[t] += !seen;
            }
            pairs[2 * k] = s;
            pairs[2 * k + 1] = i;
            k++;
        }
        if (jb->labels)
            qsort(pairs, k, 2 * sizeof *pairs, cmp_by_set);
        for (size_t a = 0; a < k;) {
            size_t z = a;
            while (z < k && pairs[2 * z] == pairs[2 * a]) {
                idx[z - a] = pairs[2 * z + 1];
                z++;
            }
            pv_run(jb, pairs[2 * a], idx, z - a, xs, ps);
            a = z;
        }
    }
out:
    free(pairs);
    free(idx);
    free(xs);
    free(ps);
}

int ah_pvalues(const ah_model *m, const double *x, size_t rows, size_t cols,
               size_t ld, const int64_t *labels, int tail, double *out,
               size_t *unseen, int threads, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || (!x && rows) || (!out && rows))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (cols != m->D)
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "input has %zu nodes per row, the model has %zu",
                        cols, m->D);
    if (ld < cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "row stride below columns");
    if (tail < 0)
        tail = m->opts.tail;
    if (tail > AH_TAIL_BOTH)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown tail %d", tail);
    pv_job *jb = calloc(1, sizeof *jb);
    if (!jb)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    jb->m = m;
    jb->x = x;
    jb->rows = rows;
    jb->ld = ld;
    jb->width = ah_pvalue_width(m, tail);
    jb->labels = m->nsets > 1 ? labels : NULL;
    jb->tail = tail;
    jb->out = out;
    /* threads only pay with enough work: a block is BLOCK_ROWS x D values */
    size_t nblocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    jb->nthreads = ah__thread_count(rows * m->D < 65536 ? 1 : threads, nblocks);
    ah__parallel(jb->nthreads, pv_thread, jb);
    size_t miss = 0;
    int64_t br = -1, bc = -1;
    int nomem = 0;
    for (int t = 0; t < jb->nthreads; t++) {
        miss += jb->unseen[t];
        nomem |= jb->nomem[t];
        if (jb->bad_row[t] >= 0 && (br < 0 || jb->bad_row[t] < br)) {
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
