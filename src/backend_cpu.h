/*
 * backend_cpu.h - the CPU backend's lookup (internal), inline.
 *
 * backend_cpu.c's count_tile is this function; pvalues.c calls it
 * directly when the CPU backend is chosen, because the table's indirect
 * call on top of the representation's own cost a single input's lookups
 * 4% (11.7 against 11.2 us at D = 1,024: bench_acthist pvalues MODEL
 * Q.npy --batches 1 --threads 1 on a hist:3072 model of bench/'s
 * gen_activations data, alternating builds).  Every other backend is
 * called through the table.
 */
#ifndef AH_BACKEND_CPU_H
#define AH_BACKEND_CPU_H

#include "backend.h"

/* One input goes to count_row, which walks the tile's nodes without a
 * call per node; more inputs go to count_many node by node, where the
 * vector kernels take the run of values. */
static inline int ah__cpu_count_tile(const ah_model *m, size_t set,
                                     size_t j0, size_t nj, const double *x,
                                     size_t k, uint32_t *gt, uint32_t *ge)
{
    const ah__rep_ops *ops = m->ops;
    const void *rep = m->sets[set].rep;
    if (k == 1 && ops->count_row)
        ops->count_row(rep, j0, nj, x, gt, ge);
    else
        for (size_t j = 0; j < nj; j++)
            ops->count_many(rep, j0 + j, x + j * k, k, gt + j * k,
                            ge + j * k);
    return AH_OK;
}

#endif
