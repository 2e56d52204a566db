/*
 * crossfit.c - fit --fpr: the score threshold of a false-positive rate,
 * read off the background itself by cross-fitting.  Row i belongs to fold
 * i mod K; each fold is scored against a model of the other K - 1 folds,
 * so every background row gets a score from a model that never saw it,
 * as a new clean input would.  Streams the background (K fits and K
 * scoring passes), so it works on backgrounds larger than memory; only
 * the N scores are held.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fold_source {
    ah_row_source *in;
    size_t folds, fold;
    int keep_fold;     /* 1: only fold `fold`'s rows; 0: all the others   */
    size_t index;      /* background row of the next row read from `in`   */
    double *buf;       /* a chunk read from `in`, filtered into the caller's */
    int64_t *lab;
    size_t cap;
} fold_source;

static int fold_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                     size_t max_rows, size_t *got, ah_diag *diag)
{
    fold_source *f = ctx;
    size_t D = f->in->cols;
    *got = 0;
    if (max_rows > f->cap)
        max_rows = f->cap;
    while (*got == 0) {
        size_t k = 0;
        int st = f->in->read(f->in->ctx, f->buf, D, f->lab, max_rows, &k,
                             diag);
        if (st != AH_OK || k == 0)
            return st;
        for (size_t i = 0; i < k; i++, f->index++) {
            if ((f->index % f->folds == f->fold) != f->keep_fold)
                continue;
            for (size_t j = 0; j < D; j++)
                rows[*got * ld + j] = f->buf[i * D + j];
            if (f->in->has_labels)
                labels[*got] = f->lab[i];
            (*got)++;
        }
    }
    return AH_OK;
}

static int fold_rewind(void *ctx, ah_diag *diag)
{
    fold_source *f = ctx;
    f->index = 0;
    return f->in->rewind(f->in->ctx, diag);
}

int cli_crossfit_threshold(ah_row_source *src, const ah_fit_options *o,
                           int folds, double fpr, ah_model *full,
                           size_t *above_out, size_t *n_out)
{
    size_t D = src->cols, cap = o->chunk_rows ? o->chunk_rows : 1024;
    fold_source f = {src, (size_t)folds, 0, 0, 0, NULL, NULL, cap};
    double *x = NULL, *scores = NULL;
    int64_t *lab = NULL;
    ah_scan_result *res = NULL;
    size_t n = 0, ncap = 0;
    int rc = CLI_FAIL;
    ah_diag d;
    f.buf = malloc(cap * D * sizeof *f.buf);
    f.lab = malloc(cap * sizeof *f.lab);
    x = malloc(cap * D * sizeof *x);
    lab = malloc(cap * sizeof *lab);
    res = malloc(cap * sizeof *res);
    if (!f.buf || !f.lab || !x || !lab || !res) {
        cli_error("out of memory");
        goto done;
    }
    ah_threshold t = {0};
    t.source = AH_THRESHOLD_CROSSFIT;
    t.fpr = fpr;
    t.stat = AH_STAT_BJ;
    t.alpha_max = 0.5;
    t.tail = ah_model_tail(full);
    t.pooled = !src->has_labels;
    t.folds = (uint32_t)folds;
    for (int k = 0; k < folds; k++) {
        /* A model of the other folds, with the full model's tail. */
        ah_fit_options ok = *o;
        ok.tail = t.tail;
        f.fold = (size_t)k;
        f.keep_fold = 0;
        ah_row_source others = {&f, D, src->has_labels, fold_read,
                                fold_rewind};
        ah_model *mk = NULL;
        if (fold_rewind(&f, &d) != AH_OK ||
            ah_model_fit_source(&mk, &others, &ok, &d) != AH_OK) {
            rc = cli_diag("fit --fpr", &d);
            goto done;
        }
        /* Fold k's rows, scored against it. */
        f.keep_fold = 1;
        if (fold_rewind(&f, &d) != AH_OK) {
            ah_model_free(mk);
            rc = cli_diag(NULL, &d);
            goto done;
        }
        for (;;) {
            size_t got = 0;
            if (fold_read(&f, x, D, lab, cap, &got, &d) != AH_OK ||
                (got > 0 &&
                 ah_score(mk, x, got, D, D, src->has_labels ? lab : NULL,
                          t.tail, t.stat, t.alpha_max, res, NULL, 0,
                          &d) != AH_OK)) {
                ah_model_free(mk);
                rc = cli_diag(NULL, &d);
                goto done;
            }
            if (got == 0)
                break;
            if (n + got > ncap) {
                size_t c2 = 2 * (n + got);
                double *s2 = realloc(scores, c2 * sizeof *s2);
                if (!s2) {
                    ah_model_free(mk);
                    cli_error("out of memory");
                    goto done;
                }
                scores = s2;
                ncap = c2;
            }
            for (size_t i = 0; i < got; i++)
                scores[n++] = res[i].score;
        }
        ah_model_free(mk);
    }
    t.n = n;
    if (ah_threshold_at_fpr(scores, n, fpr, &t.score, &d) != AH_OK ||
        ah_model_set_threshold(full, &t, &d) != AH_OK) {
        rc = cli_diag("fit --fpr", &d);
        goto done;
    }
    *above_out = 0;
    for (size_t i = 0; i < n; i++)
        *above_out += scores[i] > t.score;
    *n_out = n;
    rc = CLI_OK;
done:
    free(f.buf);
    free(f.lab);
    free(x);
    free(lab);
    free(res);
    free(scores);
    return rc;
}
