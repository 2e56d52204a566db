/*
 * grid_count.h - the cell of a value in an equal-width histogram node
 * (hist.c's grid nodes), and the counts of a run of values, with a scalar
 * kernel (the reference) and vector kernels chosen at run time (isa.h).
 * Every kernel gives the same bits.
 */
#ifndef AH_GRID_COUNT_H
#define AH_GRID_COUNT_H

#include "isa.h"
#include "packed_cum.h"

#if defined(__GNUC__)
#define AH__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define AH__UNLIKELY(x) (x)
#endif

#include <stddef.h>
#include <stdint.h>

/* What the lookup of hist.c's grid nodes needs: the grid of B bins over
 * [lo, hi], scale = B / (hi - lo), the rounding margin in bins (hist.c's
 * grid_guard), the cells of x == lo and x == hi, and the bounds of each
 * cell c: ge = table[stride c], gt = table[stride c + 1].  Stride 1 reads
 * the cumulative counts of an implicit grid, stride 2 a pair table.
 * Entries are uint16_t when narrow (every count below 65535), else
 * uint32_t; when packed, the B + 5 cumulative counts are bit-packed
 * (packed_cum.h; stride 1 only), read by the scalar and AVX2 kernels. */
typedef struct ah__grid {
    double lo, hi, scale, guard;
    uint32_t B, clo, chi, stride, narrow, packed;
    const void *table;
} ah__grid;

/* Entry i of g's table. */
static inline uint32_t ah__grid_entry(const ah__grid *g, size_t i)
{
    if (AH__UNLIKELY(g->packed)) /* out of line: the plain path stays tight */
        return ah__packed_get_call(g->table, (size_t)g->B + 5u, i);
    return g->narrow ? ((const uint16_t *)g->table)[i]
                     : ((const uint32_t *)g->table)[i];
}

/* The bounds of cell c: ge = entry stride c, gt = entry stride c + 1
 * (adjacent, so a packed table reads them together).  The _plain form
 * is for a caller that knows the table is not packed: one input's
 * lookups over a set of plain tables ran 10% slower with the test. */
static inline void ah__grid_bounds_plain(const ah__grid *g, size_t c,
                                         uint32_t *ge, uint32_t *gt)
{
    const void *t = g->table;
    size_t i = g->stride * c;
    *ge = g->narrow ? ((const uint16_t *)t)[i] : ((const uint32_t *)t)[i];
    *gt = g->narrow ? ((const uint16_t *)t)[i + 1]
                    : ((const uint32_t *)t)[i + 1];
}

static inline void ah__grid_bounds(const ah__grid *g, size_t c, uint32_t *ge,
                                   uint32_t *gt)
{
    if (AH__UNLIKELY(g->packed)) {
        ah__packed_pair_call(g->table, (size_t)g->B + 5u, c, ge, gt);
        return;
    }
    ah__grid_bounds_plain(g, c, ge, gt);
}

/* The bytes of g's table, and where entry i lies in it (for fetching
 * ahead; a packed entry's block header). */
static inline size_t ah__grid_table_bytes(const ah__grid *g)
{
    size_t n = g->stride == 2 ? ((size_t)g->B + 4u) * 2u : (size_t)g->B + 5u;
    if (g->packed)
        return ah__packed_size(g->table, n);
    return n * (g->narrow ? 2u : 4u);
}


static inline const void *ah__grid_entry_at(const ah__grid *g, size_t i)
{
    if (g->packed)
        return (const char *)g->table + 8u * (i / AH__PACK_BLOCK);
    return (const char *)g->table + i * (g->narrow ? 2u : 4u);
}

/*
 * The cell of x: 0 below lo, 1 the atom at lo, 2 + k bin k, B + 2 the atom
 * at hi, B + 3 above hi.  Without an atom at lo (hi), x == lo (hi) lies in
 * the first (last, closed) bin.  Returns nonzero when x is within the
 * rounding margin of a grid edge: only the caller's exact path knows its
 * bin then.
 */
static inline int ah__grid_guess(const ah__grid *g, double x, uint32_t *cell)
{
    double top = (double)(g->B - 1u);
    double f = (x - g->lo) * g->scale;
    double fc = f > 0.0 ? f : 0.0; /* also maps NaN to 0 */
    uint32_t k = (uint32_t)(fc < top ? fc : top);
    double fr = f - (double)k;
    uint32_t c = 2u + k;
    c = x == g->lo ? g->clo : c;
    c = x == g->hi ? g->chi : c;
    c = x < g->lo ? 0u : c;
    c = x > g->hi ? g->B + 3u : c;
    *cell = c;
    return x > g->lo && x < g->hi &&
           !(fr > g->guard && fr < 1.0 - g->guard);
}

/*
 * For each x[i] (finite): ge[i] and gt[i] from the table at its cell.
 * Where x[i] lies within the rounding margin of a grid edge, or the cell's
 * gt > ge (a pair-table cell an atom splits), index i is also appended to
 * near[] (capacity n) and the caller's exact path must answer it.
 * Returns how many were appended.  isa above what the CPU runs is lowered.
 */
size_t ah__grid_count(const ah__grid *g, const double *x, size_t n,
                      uint32_t *gt, uint32_t *ge, uint32_t *near, int isa);

#endif
