/*
 * scan_group.h - the group scan's problem (internal): what
 * scan_group_setup.c builds once per call from the p-value ranges and
 * the half steps of scan_group.c read.  The method is in scan_group.c's
 * opening comment and docs/METHOD.md section 7.
 */
#ifndef AH_SCAN_GROUP_H
#define AH_SCAN_GROUP_H

#include "group_memo.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t i, j; /* input (row), node (column) */
} gs_pair;

typedef struct {
    uint32_t rank, other; /* threshold rank, the pair's other member */
} gs_event;

/* The per-node lists are built by a half step that needs them (on many
 * batches none does: a half step whose nodes hold over a third of the
 * pairs filters `full` instead), under a lock; their memory is allocated
 * up front, so building cannot fail.  Building them scatters every pair,
 * which costs several filters of `full`, so they are built only when the
 * LISTS_AFTER-th half step asks for them, and until then those half steps
 * filter (on the benchmark's 1000 x 4096 p-values, where one half step of
 * 8 restarts asks, the call went from 56.3-56.4 to 49.6-50.3 ms:
 * bench_acthist scan MODEL Q.npy --threads 1 --restarts 8 --group-rows
 * 1000 --min-time 0). */
enum { LISTS_AFTER = 4 };
typedef struct {
    atomic_int ready;
    atomic_int asked;    /* half steps that could have used the lists      */
    pthread_mutex_t lock;
    size_t *pos;         /* cols fill positions                            */
} gs_lazy;

/* The problem shared by all threads: read-only but for the lazy lists
 * and the memo of answers (group_memo.h), each under its own lock. */
typedef struct {
    const double *p;
    size_t rows, cols;
    const ah_group_options *o;
    size_t T;            /* number of thresholds                           */
    double *thr;         /* T thresholds, ascending                        */
    size_t P;            /* pairs with p_max <= alpha_max                  */
    /* The P pairs of each input (row_ev[row_start[i] ..]) and of each node
     * (col_ev[col_start[j] ..], see gs_lazy), each with its rank (the
     * first threshold >= p_max), in input then node order. */
    gs_event *row_ev, *col_ev;
    size_t *row_start, *col_start;
    gs_lazy *lazy;
    ah__group_memo *memo; /* NULL: every half step computes             */
    int prune;           /* skip groups of thresholds that cannot win      */
    /* The P pairs by rank, each as input << cbits | node: 4 bytes, so a
     * half step that filters them reads half as much. */
    uint32_t *full;
    size_t *full_start;  /* T + 1 bucket starts into full                  */
    int cbits;           /* bits of the largest node index                 */
    /* fractional mode only */
    unsigned char *was_active; /* per full event: its range straddled a
                                  smaller threshold before it became full */
    gs_pair *act;        /* pairs by the first threshold strictly above
                            p_min, when that is below their full rank      */
    size_t *act_start;   /* T + 1                                          */
} gs_problem;

#define PMIN(pb, i, j) ((pb)->p[((size_t)(i) * (pb)->cols + (j)) * 2])
#define PMAX(pb, i, j) ((pb)->p[((size_t)(i) * (pb)->cols + (j)) * 2 + 1])

/* The input and the node of pair e of full. */
static inline uint32_t full_i(const gs_problem *pb, size_t e)
{
    return (uint32_t)((uint64_t)pb->full[e] >> pb->cbits);
}

static inline uint32_t full_j(const gs_problem *pb, size_t e)
{
    return pb->full[e] & (uint32_t)(((uint64_t)1 << pb->cbits) - 1);
}

/* The thresholds, ranks and lists of pb->p's pairs (pb->p, rows, cols and
 * o set by the caller): AH_OK, or AH_ERR_NOMEM / AH_ERR_VALUE with a
 * message (a p-value range outside [0, 1]); pb is then freed. */
int ah__gs_problem_build(gs_problem *pb, ah_diag *diag);
void ah__gs_problem_free(gs_problem *pb);
/* The per-node lists (gs_lazy), built by the first caller that needs
 * them, under the lock; later callers find them ready. */
void ah__gs_need_col_lists(const gs_problem *pb);

#endif
