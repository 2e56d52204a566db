/*
 * basis.h - the decorrelated basis of a model (internal; acthist.h, enum
 * ah_basis; docs/METHOD.md, "Decorrelated basis"; docs/FORMAT.md, "Basis
 * block").
 *
 * Fitting streams the background once more before the histograms' passes,
 * accumulating each label's scatter matrix (the pooled one follows from
 * them exactly); each set's r leading eigenvectors then turn a row of d
 * values into width = d + r (+ 1) scanned nodes.  Every later pass, and
 * every query, sees only transformed rows.
 */
#ifndef AH_BASIS_H
#define AH_BASIS_H

#include "internal.h"

typedef struct ah__basis {
    size_t d;       /* values per input row                              */
    size_t r;       /* components per set, 1..d                          */
    int resid;      /* 1: the residual norm is the last node (r < d)      */
    size_t nsets;   /* the model's sets: pooled, then labels increasing   */
    int64_t *labels;/* nsets - 1 labels, increasing                       */
    double *mu;     /* nsets x d: each set's mean                         */
    float *v;       /* nsets x d x r: v[(s d + i) r + k] is component k's
                       entry i in set s (float: half the bytes; fitting
                       transforms the background with these same floats) */
} ah__basis;

/* Nodes a transformed row has: d + r + resid. */
size_t ah__basis_width(const ah__basis *b);
/* The set of a label (its index, pooled 0 when unseen). */
size_t ah__basis_set_for(const ah__basis *b, int64_t label);
/* out[0..width) = [x, V_s^T (x - mu_s), |residual|] for a row x of d
 * finite values, summed in a fixed order: fitting and querying get the
 * same bits for the same row. */
void ah__basis_apply(const ah__basis *b, size_t s, const double *x,
                     double *out);
void ah__basis_free(ah__basis *b);

/* The basis block of the model file: its bytes, writing it, reading it
 * (every field checked; nsets and width from the model's header, so a
 * block that does not fit them is refused). */
size_t ah__basis_file_bytes(const ah__basis *b);
void ah__basis_write(const ah__basis *b, unsigned char *p);
int ah__basis_read(ah__basis **out, const unsigned char *p, size_t len,
                   size_t nsets, size_t width, const int64_t *labels,
                   const char *name, ah_diag *diag);

/* Fitting: the scatter of each label's rows, fed chunk by chunk (labels
 * NULL: one pooled set), then the eigendecomposition of each set. */
typedef struct ah__basis_acc ah__basis_acc;
int ah__basis_acc_new(ah__basis_acc **out, size_t d, ah_diag *diag);
int ah__basis_acc_add(ah__basis_acc *a, const double *rows,
                      const int64_t *labels, size_t k, ah_diag *diag);
int ah__basis_acc_finish(ah__basis **out, ah__basis_acc *a, size_t r,
                         ah_diag *diag);
void ah__basis_acc_free(ah__basis_acc *a);

#endif
