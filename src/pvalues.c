/*
 * pvalues.c - p-value ranges of new activations against a model, all tails.
 *
 * Each representation answers the upper and lower ranges of one value; this
 * file applies the tail, picks each row's conditional set and spreads rows
 * over threads (rows are independent, so the output does not depend on the
 * thread count).
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>

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
} pv_job;

static void pv_rows(void *ctx, int t)
{
    pv_job *jb = ctx;
    const ah_model *m = jb->m;
    size_t D = m->D, per = (jb->rows + (size_t)jb->nthreads - 1) / (size_t)jb->nthreads;
    size_t r0 = per * (size_t)t, r1 = r0 + per;
    if (r1 > jb->rows)
        r1 = jb->rows;
    jb->bad_row[t] = -1;
    for (size_t i = r0; i < r1; i++) {
        const double *row = jb->x + i * jb->ld;
        size_t s = 0;
        if (jb->labels) {
            int seen;
            s = ah__model_set_for(m, jb->labels[i], &seen);
            jb->unseen[t] += !seen;
        }
        const void *rep = m->sets[s].rep;
        double *o = jb->out + i * jb->width * 2;
        for (size_t j = 0; j < D; j++) {
            double p[4];
            if (!isfinite(row[j])) {
                if (jb->bad_row[t] < 0) {
                    jb->bad_row[t] = (int64_t)i;
                    jb->bad_col[t] = (int64_t)j;
                }
                p[0] = p[1] = p[2] = p[3] = NAN;
            } else {
                m->ops->pvalue(rep, j, row[j], p);
            }
            switch (jb->tail) {
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
    }
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
    static const pv_job zero;
    pv_job *jb = malloc(sizeof *jb);
    if (!jb)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    *jb = zero;
    jb->m = m;
    jb->x = x;
    jb->rows = rows;
    jb->ld = ld;
    jb->width = ah_pvalue_width(m, tail);
    jb->labels = m->nsets > 1 ? labels : NULL;
    jb->tail = tail;
    jb->out = out;
    jb->nthreads = ah__thread_count(threads, rows / 64 + 1);
    ah__parallel(jb->nthreads, pv_rows, jb);
    size_t miss = 0;
    int64_t br = -1, bc = -1;
    for (int t = 0; t < jb->nthreads; t++) {
        miss += jb->unseen[t];
        if (jb->bad_row[t] >= 0 && br < 0) {
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
    if (br >= 0)
        return ah__fail(diag, AH_ERR_VALUE, br, bc, "row %lld, column %lld: NaN or infinity",
                        (long long)br, (long long)bc);
    return AH_OK;
}
