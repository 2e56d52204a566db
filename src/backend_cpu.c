/*
 * backend_cpu.c - the default query backend: the representation's own
 * fast lookups (for histograms the grid kernels of hist_query.c and
 * grid_count.c), called as the tile asks (backend_cpu.h).  A few inputs
 * on a large model are announced first (prefetch), so the cache misses of
 * all their nodes overlap.
 */
#include "backend_cpu.h"

/* Prefetch for runs of at most this many rows, on models of at least this
 * many nodes: below it the tables are likely cached and the extra pass
 * cost 0.7 us at D = 256, where at D = 4096 it saved 30-40 us
 * (bench_acthist pvalues MODEL Q.npy --batches 1 on bench/'s hist:3072
 * models, with and without the pass).  One row is left to count_row,
 * which fetches ahead as it goes. */
#define PREFETCH_ROWS 4
#define PREFETCH_NODES 2048

static int cpu_serves(const ah_model *m)
{
    return m->ops->count_many != NULL;
}

static int cpu_count_tile(const ah_model *m, size_t set, size_t j0,
                          size_t nj, const double *x, size_t k, uint32_t *gt,
                          uint32_t *ge)
{
    return ah__cpu_count_tile(m, set, j0, nj, x, k, gt, ge);
}

static int cpu_prefetch_run(const ah_model *m, size_t k)
{
    return k <= PREFETCH_ROWS && m->D >= PREFETCH_NODES &&
           m->ops->prefetch && !(k == 1 && m->ops->count_row);
}

static void cpu_prefetch(const ah_model *m, size_t set, size_t j0,
                         size_t nj, const double *row)
{
    m->ops->prefetch(m->sets[set].rep, j0, nj, row);
}

const ah__backend ah__backend_cpu = {
    .name = "cpu",
    .serves = cpu_serves,
    .count_tile = cpu_count_tile,
    .prefetch_run = cpu_prefetch_run,
    .prefetch = cpu_prefetch,
};
