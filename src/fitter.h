/*
 * fitter.h - the passes of a fit (fit.c), shared by fitting in one process
 * and fitting in shards (shard.c) (internal).
 *
 * Pass 1 summarises each set (pooled, and one per label): its rows, each
 * node's range and heavy-hitter candidates.  From those summaries a model
 * is begun, and the counting passes add rows to it; ending the last pass
 * finishes it.
 */
#ifndef AH_FITTER_H
#define AH_FITTER_H

#include "model.h"

typedef struct ah__label_pass1 {
    int64_t label;
    ah__pass1 p1;
} ah__label_pass1;

struct ah__basis;

typedef struct ah__fitter {
    size_t D;    /* nodes summarised: cols, or the basis's width        */
    size_t cols; /* values per row of the source                        */
    const struct ah__basis *basis; /* rows are transformed, or NULL     */
    int need_mg;
    ah__pass1 pooled;
    ah__label_pass1 *lab; /* sorted by label */
    size_t nlab, caplab;
} ah__fitter;

int ah__fit_options_check(const ah_fit_options *o, ah_diag *diag);

/* An empty summary of D nodes (with heavy hitters when need_mg). */
int ah__fitter_init(ah__fitter *f, size_t D, int need_mg, ah_diag *diag);
void ah__fitter_free(ah__fitter *f);
/* The summary of a label's set, created empty when new. */
int ah__fitter_label(ah__fitter *f, int64_t label, ah__pass1 **out,
                     ah_diag *diag);

/* Pass 1: add every row of src to f; *rows receives how many. */
int ah__fit_pass1(ah__fitter *f, ah_row_source *src, size_t chunk,
                  size_t *rows, ah_diag *diag);
/* A model of rows background rows begun from f's summaries, ready for
 * the counting passes. */
int ah__model_begin(ah_model **out, const ah__fitter *f, size_t rows,
                    const ah_fit_options *opts, ah_diag *diag);
/* One counting pass of src into m.  set_rows (may be NULL) accumulates
 * the rows of each set; against_plan words the error for a label m does
 * not know as a shard's.  *rows receives the rows read. */
int ah__fit_count(ah_model *m, int pass, ah_row_source *src, size_t chunk,
                  int against_plan, size_t *set_rows, size_t *rows,
                  ah_diag *diag);

#endif
