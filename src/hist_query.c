/*
 * hist_query.c - the histogram's p-value and count lookups: the hot paths
 * of ah_pvalues and ah_score, every value of every input at every node.
 *
 * An equal-width node finds its bin by arithmetic, corrected by comparing
 * with the edges (so rounding never changes an answer), with the vector
 * kernels of grid_count.c for runs of values; other nodes use binary
 * search.  Cost per value: O(1), or O(log bins).  tests/test_hist_grid.c
 * holds the lookups against the node's cells, test_grid_count.c the grid
 * kernels against their scalar twin.
 */
#include "hist.h"

/* The exact bin of x in the implicit grid, lo < x < hi, from the guess g:
 * corrected against the computed edges, as the fit placed values. */
static size_t grid_bin_exact(const hnode *nd, double x, size_t g)
{
    double lo = nd->grid->lo, hi = nd->grid->hi;
    size_t nb = nd->grid->B, k = g < nb ? g : nb - 1u;
    while (k + 1 < nb && x >= grid_edge(lo, hi, k + 1, nb))
        k++;
    while (k > 0 && x < grid_edge(lo, hi, k, nb))
        k--;
    return k;
}

/* The cell of x in a grid node (ah__grid_guess), exact: only x within the
 * rounding margin of a grid edge needs the edges. */
static inline uint32_t grid_cell(const hnode *nd, double x)
{
    uint32_t c;
    if (ah__grid_guess(nd->grid, x, &c)) {
        double f = (x - nd->grid->lo) * nd->grid->scale;
        c = 2u + (uint32_t)grid_bin_exact(nd, x, f > 0.0 ? (size_t)f : 0);
    }
    return c;
}

/* Bounds on #{b > x} and #{b >= x} at node nd (n background values). */
static inline void hist_lookup(const hnode *nd, double n, double x,
                               double *gt_lo, double *ge_hi)
{
    if (!nd->edges) {
        uint32_t c = grid_cell(nd, x);
        uint32_t ge, gt;
        ah__grid_bounds(nd->grid, c, &ge, &gt);
        *gt_lo = gt;
        *ge_hi = ge;
        return;
    }
    uint32_t nb = nd->nb;
    double lo = nd->edges[0], hi = nd->edges[nb];
    if (x < lo) {
        *gt_lo = *ge_hi = n;
        return;
    }
    if (x > hi) {
        *gt_lo = *ge_hi = 0;
        return;
    }
    size_t k = 0;
    if (nb == 0)
        goto atom; /* constant node: x is its value */
    k = locator_find(nd->loc, nd->edges, nb, x);
    /* every atom is an edge: only x on an edge can be one */
    if (nd->na && (x == nd->edges[k] || x == hi)) {
    atom:;
        long a = find_exact(nd->atom, nd->na, x);
        if (a >= 0) {
            *gt_lo = nd->aabove[a];
            *ge_hi = *gt_lo + nd->acount[a];
            return;
        }
    }
    *gt_lo = nd->above[k];
    *ge_hi = *gt_lo + nd->count[k];
}

void ah__hist_pvalue(const void *rep, size_t j, double x, double out[4])
{
    const hist *h = rep;
    double n = (double)h->n, n1 = n + 1.0, gt_lo, ge_hi;
    hist_lookup(&h->node[j], n, x, &gt_lo, &ge_hi);
    /* The lower tail mirrors: #{b < x} >= n - ge_hi, #{b <= x} <= n - gt_lo */
    out[0] = gt_lo / n1;
    out[1] = (ge_hi + 1.0) / n1;
    out[2] = (n - ge_hi) / n1;
    out[3] = (n - gt_lo + 1.0) / n1;
}

void ah__hist_pvalue_many(const void *rep, size_t j, const double *x,
                          size_t count, double *out)
{
    const hist *h = rep;
    const hnode *nd = &h->node[j];
    double n = (double)h->n, n1 = n + 1.0;
    for (size_t i = 0; i < count; i++) {
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
        out[4 * i] = gt_lo / n1;
        out[4 * i + 1] = (ge_hi + 1.0) / n1;
        out[4 * i + 2] = (n - ge_hi) / n1;
        out[4 * i + 3] = (n - gt_lo + 1.0) / n1;
    }
}

/* grid_count_many for a few values (one input): inlined, no kernel call,
 * and no branch on the loaded counts of an implicit grid, so the cache
 * misses of consecutive nodes overlap. */
static inline void grid_count_few(const hnode *nd, const ah__grid *g,
                                  double n, const double *x, size_t count,
                                  uint32_t *gt, uint32_t *ge, int packed)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t c, e, t;
        int near = ah__grid_guess(g, x[i], &c);
        if (packed) /* a constant where inlined: the plain set has no test */
            ah__grid_bounds(g, c, &e, &t);
        else
            ah__grid_bounds_plain(g, c, &e, &t);
        if (near || (g->stride == 2 && t > e)) {
            double gt_lo, ge_hi;
            hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
            t = (uint32_t)gt_lo;
            e = (uint32_t)ge_hi;
        }
        ge[i] = e;
        gt[i] = t;
    }
}

/* Counts of a grid node for x[0..count): a kernel of grid_count.c in
 * chunks, then the exact path for the values it could not decide. */
static void grid_count_many(const hnode *nd, double n, const double *x,
                            size_t count, uint32_t *gt, uint32_t *ge,
                            int isa)
{
    uint32_t near[256];
    for (size_t i0 = 0; i0 < count; i0 += 256) {
        size_t len = count - i0 < 256 ? count - i0 : 256;
        size_t nn = ah__grid_count(nd->grid, x + i0, len, gt + i0, ge + i0,
                                   near, isa);
        for (size_t a = 0; a < nn; a++) {
            size_t i = i0 + near[a];
            double gt_lo, ge_hi;
            hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
            gt[i] = (uint32_t)gt_lo;
            ge[i] = (uint32_t)ge_hi;
        }
    }
}

/* The counting form of hist_lookup for a run of values, with the grid
 * kernel isa (AH__ISA_*, lowered to what the CPU runs). */
void ah__hist_count_isa(const void *rep, size_t j, const double *x,
                        size_t count, uint32_t *gt, uint32_t *ge, int isa)
{
    const hist *h = rep;
    const hnode *nd = &h->node[j];
    double n = (double)h->n;
#if defined(__GNUC__)
    /* A large run reads most of a node's table: start fetching the next
     * node's now, so its cache misses overlap this node's work. */
    if (count >= 256 && j + 1 < h->D) {
        const hnode *next = &h->node[j + 1];
        const char *c = (const char *)next->grid->table;
        size_t bytes = ah__grid_table_bytes(next->grid);
        for (size_t o = 0; c && o < bytes; o += 64)
            __builtin_prefetch(c + o);
    }
#endif
    if (nd->grid->table) {
        grid_count_many(nd, n, x, count, gt, ge, isa);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
        gt[i] = (uint32_t)gt_lo;
        ge[i] = (uint32_t)ge_hi;
    }
}

/* Fetch the table entry of x's cell in grid g, if it has a table. */
static inline void grid_prefetch(const ah__grid *g, double x)
{
#if defined(__GNUC__)
    uint32_t c;
    if (!g->table)
        return;
    (void)ah__grid_guess(g, x, &c);
    __builtin_prefetch(ah__grid_entry_at(g, (size_t)g->stride * c));
#else
    (void)g, (void)x;
#endif
}

/* The table entries the lookups of x[0..nj) at nodes j0.. will read,
 * fetched ahead: one input's lookups miss the cache on every node of a
 * large model, and issuing the misses together overlaps them. */
void ah__hist_prefetch(const void *rep, size_t j0, size_t nj,
                       const double *x)
{
    const hist *h = rep;
    for (size_t j = 0; j < nj; j++)
        grid_prefetch(&h->grids[j0 + j], x[j]);
}

void ah__hist_count_many(const void *rep, size_t j, const double *x,
                         size_t count, uint32_t *gt, uint32_t *ge)
{
    const hist *h = rep;
    if (count < 16 && h->node[j].grid->table) {
        grid_count_few(&h->node[j], h->node[j].grid, (double)h->n, x, count,
                       gt, ge, h->tab.packed);
        return;
    }
    ah__hist_count_isa(rep, j, x, count, gt, ge, ah__isa_best());
}

/* On models of this many nodes and more, a row's lookups miss the cache:
 * count_row fetches each node's entry this many nodes ahead, in place of
 * pvalues.c's pass that fetches them all first (one row at D = 4096:
 * 29.7-30.2 us against 39.9-42.6; at D = 256, where the tables stay
 * cached, fetching 4 or 8 ahead cost 1.53-1.71 us against 1.27-1.39). */
#define ROW_PREFETCH_NODES 2048
#define ROW_PREFETCH_AHEAD 8

/* One input's values at nodes j0.. : ah__hist_count_many of one value per
 * node, without a call per node. */
/* ah__hist_count_row for a set with (packed) or without bit-packed
 * tables, packed a constant in each call. */
static inline void count_row(const hist *h, size_t j0, size_t nj,
                             const double *x, uint32_t *gt, uint32_t *ge,
                             int packed)
{
    double n = (double)h->n;
    size_t ahead = h->D >= ROW_PREFETCH_NODES ? ROW_PREFETCH_AHEAD : 0;
    for (size_t j = 0; j < ahead && j < nj; j++)
        grid_prefetch(&h->grids[j0 + j], x[j]);
    for (size_t j = 0; j < nj; j++) {
        const hnode *nd = &h->node[j0 + j];
        const ah__grid *g = &h->grids[j0 + j];
        if (ahead && j + ahead < nj)
            grid_prefetch(&h->grids[j0 + j + ahead], x[j + ahead]);
        if (g->table) {
            grid_count_few(nd, g, n, x + j, 1, gt + j, ge + j, packed);
            continue;
        }
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[j], &gt_lo, &ge_hi);
        gt[j] = (uint32_t)gt_lo;
        ge[j] = (uint32_t)ge_hi;
    }
}

void ah__hist_count_row(const void *rep, size_t j0, size_t nj,
                        const double *x, uint32_t *gt, uint32_t *ge)
{
    const hist *h = rep;
    if (h->tab.packed)
        count_row(h, j0, nj, x, gt, ge, 1);
    else
        count_row(h, j0, nj, x, gt, ge, 0);
}
