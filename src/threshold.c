/*
 * threshold.c - the decision threshold a model keeps: reading it off clean
 * scores, checking it, and its block in the model file (docs/FORMAT.md,
 * format 1.2).
 */
#include "bytes.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int ah_threshold_at_fpr(const double *scores, size_t n, double fpr,
                        double *threshold, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!scores || !threshold || n == 0)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_threshold_at_fpr: no scores");
    if (!(fpr > 0 && fpr < 1))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "fpr must be in (0, 1), not %g", fpr);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(scores[i]))
            return ah__fail(diag, AH_ERR_VALUE, (int64_t)i, -1,
                            "score %zu is not finite", i);
    double *s = malloc(n * sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    memcpy(s, scores, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    /* At most k above the threshold: s[n-1-k] leaves s[n-k..n-1] above it
     * (fewer when they tie with it). */
    size_t k = (size_t)floor(fpr * (double)n);
    if (k > n - 1)
        k = n - 1;
    *threshold = s[n - 1 - k];
    free(s);
    return AH_OK;
}

int ah__threshold_check(const ah_threshold *t, ah_diag *diag)
{
    if (t->source == AH_THRESHOLD_NONE)
        return AH_OK;
    if (t->source != AH_THRESHOLD_CLEAN && t->source != AH_THRESHOLD_CROSSFIT)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold source %d is not 0, 1 or 2", t->source);
    if (!isfinite(t->score) || t->score < 0)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold score %g is not a finite score >= 0",
                        t->score);
    if (!(t->fpr > 0 && t->fpr < 1))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold fpr %g is not in (0, 1)", t->fpr);
    if (!ah__stat_known(t->stat))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold stat %d is unknown", t->stat);
    int st = ah_option_check(AH_OPTION_ALPHA_MAX, t->alpha_max, diag);
    if (st != AH_OK)
        return st;
    if (t->tail < AH_TAIL_UPPER || t->tail > AH_TAIL_BOTH)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold tail %d is unknown", t->tail);
    if (t->pooled != 0 && t->pooled != 1)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold pooled flag %d is not 0 or 1", t->pooled);
    if ((t->source == AH_THRESHOLD_CROSSFIT) != (t->folds >= 2))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold folds %u: at least 2 when cross-fitted, "
                        "0 otherwise", (unsigned)t->folds);
    if (t->n == 0)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "threshold read from 0 scores");
    return AH_OK;
}

int ah_model_get_threshold(const ah_model *m, ah_threshold *t)
{
    if (!m || !t)
        return AH_ERR_ARG;
    *t = m->threshold;
    return AH_OK;
}

int ah_model_set_threshold(ah_model *m, const ah_threshold *t, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_model_set_threshold: NULL model");
    if (!t || t->source == AH_THRESHOLD_NONE) {
        memset(&m->threshold, 0, sizeof m->threshold);
        return AH_OK;
    }
    int st = ah__threshold_check(t, diag);
    if (st != AH_OK)
        return st;
    if (t->pooled == 0 && m->nsets == 1)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "a threshold for scores against the labels' "
                        "backgrounds, but the model has no labels");
    m->threshold = *t;
    return AH_OK;
}

/* The block: score f64, fpr f64, alpha_max f64, n u64, then source, stat,
 * tail and pooled one byte each and folds u32. */
void ah__threshold_write(const ah_threshold *t, unsigned char *p)
{
    ah__put_f64(p, t->score);
    ah__put_f64(p + 8, t->fpr);
    ah__put_f64(p + 16, t->alpha_max);
    ah__put_u64(p + 24, t->n);
    p[32] = (unsigned char)t->source;
    p[33] = (unsigned char)t->stat;
    p[34] = (unsigned char)t->tail;
    p[35] = (unsigned char)t->pooled;
    ah__put_u32(p + 36, t->folds);
}

int ah__threshold_read(ah_threshold *t, const unsigned char *p,
                       const char *name, ah_diag *diag)
{
    t->score = ah__get_f64(p);
    t->fpr = ah__get_f64(p + 8);
    t->alpha_max = ah__get_f64(p + 16);
    t->n = ah__get_u64(p + 24);
    t->source = p[32];
    t->stat = p[33];
    t->tail = p[34];
    t->pooled = p[35];
    t->folds = ah__get_u32(p + 36);
    if (t->source == AH_THRESHOLD_NONE)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: a threshold block without a threshold", name);
    ah_diag inner;
    if (ah__threshold_check(t, &inner) != AH_OK)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1, "%s: %s", name,
                        inner.message);
    return AH_OK;
}
