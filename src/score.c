/*
 * score.c - p-values and individual scans fused per block of rows.
 *
 * Each thread takes whole blocks of rows, computes their p-values into a
 * block-sized buffer and scans them at once, so memory is O(block x D)
 * whatever the number of rows.  Rows are independent: the thread count
 * cannot change a result.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_ROWS 64

typedef struct score_job {
    const ah_model *m;
    const double *x;
    size_t rows, ld, width, cols;
    const int64_t *labels;
    int tail, stat, nthreads;
    double alpha_max;
    ah_scan_result *res;
    size_t unseen[256];
    int status[256];
    ah_diag diag[256];
} score_job;

static void score_thread(void *ctx, int t)
{
    score_job *jb = ctx;
    size_t w = jb->width;
    double *p = malloc(BLOCK_ROWS * w * 2 * sizeof *p);
    double *pmax = malloc(w * sizeof *pmax);
    jb->status[t] = AH_OK;
    if (!p || !pmax) {
        jb->status[t] = ah__fail(&jb->diag[t], AH_ERR_NOMEM, -1, -1,
                                 "out of memory");
        goto out;
    }
    size_t nblocks = (jb->rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (size_t b = (size_t)t; b < nblocks; b += (size_t)jb->nthreads) {
        size_t r0 = b * BLOCK_ROWS, k = jb->rows - r0;
        if (k > BLOCK_ROWS)
            k = BLOCK_ROWS;
        size_t unseen = 0;
        int st = ah_pvalues(jb->m, jb->x + r0 * jb->ld, k, jb->cols, jb->ld,
                            jb->labels ? jb->labels + r0 : NULL, jb->tail, p,
                            &unseen, 1, &jb->diag[t]);
        if (st != AH_OK) {
            if (jb->diag[t].row >= 0)
                jb->diag[t].row += (int64_t)r0;
            jb->status[t] = st;
            goto out;
        }
        jb->unseen[t] += unseen;
        for (size_t i = 0; i < k; i++) {
            const double *pi = p + i * w * 2;
            for (size_t j = 0; j < w; j++)
                pmax[j] = pi[2 * j + 1];
            st = ah_scan_individual(pmax, w, jb->stat, jb->alpha_max,
                                    &jb->res[r0 + i], NULL, &jb->diag[t]);
            if (st != AH_OK) {
                jb->status[t] = st;
                goto out;
            }
        }
    }
out:
    free(p);
    free(pmax);
}

int ah_score(const ah_model *m, const double *x, size_t rows, size_t cols,
             size_t ld, const int64_t *labels, int tail, int stat,
             double alpha_max, ah_scan_result *res, size_t *unseen,
             int threads, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || (!x && rows) || (!res && rows))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (cols != ah_model_nodes(m))
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "input has %zu nodes per row, the model has %zu",
                        cols, ah_model_nodes(m));
    if (tail < 0)
        tail = ah_model_tail(m);
    score_job *jb = calloc(1, sizeof *jb);
    if (!jb)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    jb->m = m;
    jb->x = x;
    jb->rows = rows;
    jb->ld = ld;
    jb->cols = cols;
    jb->width = ah_pvalue_width(m, tail);
    jb->labels = labels;
    jb->tail = tail;
    jb->stat = stat;
    jb->alpha_max = alpha_max;
    jb->res = res;
    jb->nthreads =
        ah__thread_count(threads, (rows + BLOCK_ROWS - 1) / BLOCK_ROWS);
    ah__parallel(jb->nthreads, score_thread, jb);
    int st = AH_OK;
    size_t miss = 0;
    for (int t = 0; t < jb->nthreads; t++) {
        miss += jb->unseen[t];
        /* report the failure of the earliest row, as one thread would */
        if (jb->status[t] != AH_OK &&
            (st == AH_OK || jb->diag[t].row < (diag ? diag->row : -1))) {
            st = jb->status[t];
            if (diag)
                *diag = jb->diag[t];
        }
    }
    if (unseen)
        *unseen = miss;
    free(jb);
    return st;
}
