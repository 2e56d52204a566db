/*
 * pair_keys.h - the group scan's pass over one input's p-value ranges
 * (scan_group.c): check them and keep the pairs with p_max <= alpha_max as
 * sortable keys with their nodes, with a scalar kernel (the reference) and
 * a vector kernel chosen at run time (isa.h).
 */
#ifndef AH_PAIR_KEYS_H
#define AH_PAIR_KEYS_H

#include "isa.h"

#include <stddef.h>
#include <stdint.h>

/*
 * row holds cols (p_min, p_max) pairs.  Appends ah__key_of(p_max) and the
 * column of every pair with p_max <= amax to kb and jb, in column order,
 * and returns their number; up to cols slots of each may be written.  Sets
 * *bad to 1 if some pair has a NaN, a value outside [0, 1] or p_min >
 * p_max (the caller then finds the first), else leaves it.  isa above what the CPU runs is lowered.
 */
size_t ah__pairs_kept(const double *row, size_t cols, double amax,
                      uint64_t *kb, uint32_t *jb, int *bad, int isa);

#endif
