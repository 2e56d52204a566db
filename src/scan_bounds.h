/*
 * scan_bounds.h - the individual scan's bounds inside a block of top
 * buckets (scan_individual.c), shared with the block kernels of
 * scan_keys.c.
 */
#ifndef AH_SCAN_BOUNDS_H
#define AH_SCAN_BOUNDS_H

#include "isa.h"

#include <math.h>
#include <stdint.h>

/* Bounds within relative 1e-9 of each other are not trusted to order the
 * scores: the arithmetic of both is good to a few ulps (see NEAR_ONE in
 * scan_individual.c). */
#define AH__SCAN_MARGIN 1e-9

/* Bounds on F inside one block of buckets, by chords between its grid
 * points (block_chord in scan_individual.c says how they are made). */
typedef struct chord_t {
    double h1w, iu, il, u0, du, l0, dl;
} chord_t;

/* Upper bound on F over the block's bucket k (none if u0 is not finite),
 * and lower bound at the bucket's top, or amax. */
static inline double chord_fu(const chord_t *c, int k)
{
    return c->u0 < INFINITY ? c->u0 + c->du * ((double)k * c->iu) : INFINITY;
}

static inline double chord_fl(const chord_t *c, int k)
{
    double h = (double)(k + 1) < c->h1w ? (double)(k + 1) : c->h1w;
    return c->l0 + c->dl * (h * c->il);
}

/*
 * One full block of 16 top buckets, bucket k holding cnt[k] keys, with
 * C(k) = ctop minus the keys of the buckets above k values at or below its
 * top.  Returns the buckets (bit k) that hold keys and whose upper bound
 * C(k) fu(k) is not below lb (within the margin), fu(k) being infinite for
 * the buckets in nofu; *vmax becomes the largest lower bound C(k) fl(k)
 * over the buckets with C(k) > L, or 0.  Vector kernels give the bits of
 * the scalar one.
 */
uint32_t ah__block_keep(const chord_t *c, const uint32_t *cnt, uint64_t ctop,
                        uint64_t L, uint32_t nofu, double lb, double *vmax,
                        int isa);

#endif
