/*
 * backend.h - the query backends (internal): who answers the one question
 * every p-value and score call asks of a fitted model.
 *
 * The question is a batch lookup in counts: for nodes j0..j0+nj of one
 * set and k inputs, bounds on how many background values lie above each
 * value and at or above it.  pvalues.c cuts the work into such tiles and
 * turns the integers into p-values itself (put_counts), so every backend
 * that returns the same integers gives the same bits.  A backend is one
 * file that fills an ah__backend, plus its row of ah__backends
 * (backend.c) and its value of enum ah_backend (acthist.h).
 * docs/BACKENDS.md says what a backend must reproduce bit for bit;
 * tests/test_backends.c holds every row of the table against the
 * reference.
 */
#ifndef AH_BACKEND_H
#define AH_BACKEND_H

#include "model.h"

/* enum ah_backend runs 0 .. AH__BACKEND_COUNT - 1 (asserted in backend.c). */
#define AH__BACKEND_COUNT 2

typedef struct ah__backend {
    const char *name; /* ah_backend_name, ah_backend_parse: "cpu" */
    /* Whether count_tile answers for m, a model whose representation
     * gives counts (ops->count_many set).  A model it does not serve is
     * refused (AH_ERR_ARG), never answered by another backend. */
    int (*serves)(const ah_model *m);
    /* The lookup.  x[j*k + i] is input i's value at node j0 + j (finite:
     * pvalues.c replaces what is not), for j < nj <= 16 and k <= 1024;
     * into gt[j*k + i] and ge[j*k + i] the bounds of model.h's count_many
     * over set `set` of m: gt <= #{b > x} and ge >= #{b >= x}, exactly
     * the integers ops->count_many returns.  AH_OK, or AH_ERR_NOMEM
     * (the query call then fails with it).  Called from several threads
     * at once, on disjoint tiles. */
    int (*count_tile)(const ah_model *m, size_t set, size_t j0, size_t nj,
                      const double *x, size_t k, uint32_t *gt, uint32_t *ge);
    /* Optional (NULL: no hints).  prefetch_run: whether a run of k rows
     * is worth announcing; if so prefetch is called with each row's
     * values at each of the thread's tiles before any count_tile of the
     * run.  Hints have no effect on any result. */
    int (*prefetch_run)(const ah_model *m, size_t k);
    void (*prefetch)(const ah_model *m, size_t set, size_t j0, size_t nj,
                     const double *row);
} ah__backend;

extern const ah__backend ah__backend_cpu;       /* backend_cpu.c       */
extern const ah__backend ah__backend_reference; /* backend_reference.c */

/* One row per enum ah_backend, indexed by it. */
extern const ah__backend *const ah__backends[AH__BACKEND_COUNT];

/* Whether b is one of enum ah_backend; if not, AH_ERR_ARG naming the
 * valid ones (diag may be NULL). */
int ah__backend_check(int b, ah_diag *diag);

#endif
