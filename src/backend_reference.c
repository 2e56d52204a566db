/*
 * backend_reference.c - the slow, obviously correct query backend.
 *
 * For each node it asks the representation for the node's cells (the
 * intervals and atoms with their counts that ah_model_node_cells
 * reports), sums the counts from the top, and finds each value among the
 * cells by binary search on their lower ends.  It shares nothing with
 * the fast lookups: no grid arithmetic, no rounding guard, no vector
 * kernel, no count_row.  It is what a porter runs to check a platform's
 * bits (tests/test_backends.c holds every backend against it), and the
 * smallest example of a backend: one file and one row of backend.c.
 * Cost: O(cells) per node and tile to list and sum the cells, then
 * O(log cells) per value.
 */
#include "backend.h"

#include <stdlib.h>

static int ref_serves(const ah_model *m)
{
    return m->ops->count_many != NULL && m->ops->node_cells != NULL;
}

/* The first of the nc cells whose lower end is above x (strict) or at
 * or above it: the cells come in increasing order of lower end. */
static size_t first_cell(const ah_cell *c, size_t nc, double x, int strict)
{
    size_t lo = 0, hi = nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? c[mid].lo > x : c[mid].lo >= x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/*
 * The bounds of x among the cells: above[i] counts the values of cells
 * i.. (above[nc] = 0).  An atom cell holds exactly its value; a bin cell
 * [lo, hi) holds values other than atoms (the last bin also its hi), so a
 * bin starting at an atom lies wholly above it.  Every cell after the one
 * holding x is above x, and #{b >= x} adds the holding cell's count.
 */
static void cell_bounds(const ah_cell *c, const uint64_t *above, size_t nc,
                        size_t last_bin, double x, uint32_t *gt,
                        uint32_t *ge)
{
    size_t a = first_cell(c, nc, x, 0);
    if (a < nc && c[a].atom && c[a].lo == x) {
        *gt = (uint32_t)above[a + 1];
        *ge = (uint32_t)above[a];
        return;
    }
    size_t u = first_cell(c, nc, x, 1);
    *gt = *ge = (uint32_t)above[u];
    if (u == 0 || c[u - 1].atom)
        return; /* below every cell, or above the last bin */
    if (x < c[u - 1].hi || (u - 1 == last_bin && x == c[u - 1].hi))
        *ge = (uint32_t)above[u - 1];
}

/* Node j of rep: its cells, and the counts from the top, into *cells and
 * *above (malloc'd; the caller frees both).  AH_OK or AH_ERR_NOMEM. */
static int node_table(const ah__rep_ops *ops, const void *rep, size_t j,
                      ah_cell **cells, uint64_t **above, size_t *nc,
                      size_t *last_bin)
{
    size_t n = 0;
    (void)ops->node_cells(rep, j, NULL, 0, &n); /* fails: it counts them */
    *cells = malloc((n ? n : 1) * sizeof **cells);
    *above = malloc((n + 1) * sizeof **above);
    if (!*cells || !*above || ops->node_cells(rep, j, *cells, n, nc) != AH_OK)
        return AH_ERR_NOMEM;
    (*above)[n] = 0;
    *last_bin = n;
    for (size_t i = n; i-- > 0;) {
        (*above)[i] = (*above)[i + 1] + (*cells)[i].count;
        if (!(*cells)[i].atom && *last_bin == n)
            *last_bin = i;
    }
    return AH_OK;
}

static int ref_count_tile(const ah_model *m, size_t set, size_t j0,
                          size_t nj, const double *x, size_t k, uint32_t *gt,
                          uint32_t *ge)
{
    const void *rep = m->sets[set].rep;
    for (size_t j = 0; j < nj; j++) {
        ah_cell *cells;
        uint64_t *above;
        size_t nc, last_bin;
        int st = node_table(m->ops, rep, j0 + j, &cells, &above, &nc,
                            &last_bin);
        for (size_t i = 0; i < k && st == AH_OK; i++)
            cell_bounds(cells, above, nc, last_bin, x[j * k + i],
                        gt + j * k + i, ge + j * k + i);
        free(cells);
        free(above);
        if (st != AH_OK)
            return st;
    }
    return AH_OK;
}

const ah__backend ah__backend_reference = {
    .name = "reference",
    .serves = ref_serves,
    .count_tile = ref_count_tile,
    .prefetch_run = NULL,
    .prefetch = NULL,
};
