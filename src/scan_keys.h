/*
 * scan_keys.h - the individual scan's passes over keys (scan_individual.c):
 * the p-values in (0, amax] as integer keys, their buckets, and the keys of
 * chosen ranges, each with a scalar kernel (the reference) and vector
 * kernels chosen at run time (isa.h).
 */
#ifndef AH_SCAN_KEYS_H
#define AH_SCAN_KEYS_H

#include "isa.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Over p[i..end): append key = bits(p) - 1 of every value whose key is
 * below ka to keys[*m ..] (in order), so exactly the values in (0, amax]
 * are kept when ka = bits(amax): zero, negative values, NaN and values
 * above amax all have keys at or above it.  Slots of keys up to
 * *m + (end - i) may be written, so the caller leaves that much room.
 * sum[0..3] become NaN if a value is NaN (or +inf and -inf both occur: the
 * caller then looks for the NaN itself); bit 63 of *neg is set if a value
 * is <= 0; *above becomes 1 if a value has its sign bit clear and is above
 * 1 (+inf and NaN of that sign included), else is left alone: with *neg,
 * what the public scan needs to know that every value is in [0, 1] without
 * a pass of its own.  isa above what the CPU runs is lowered.
 */
void ah__keys_copy(const double *p, size_t i, size_t end, uint64_t ka,
                   uint64_t *keys, size_t *m, double *sum, uint64_t *neg,
                   int *above, int isa);

/*
 * Bucket of each of keys[0..k) for the individual scan's count: with d =
 * key - f0, the smaller of d >> sf and nf + min(~d >> sd, dmax), which
 * callers keep below 65536.
 */
void ah__keys_bucket(const uint64_t *keys, size_t k, uint64_t f0, int sf,
                     int sd, uint64_t nf, uint64_t dmax, uint16_t *idx,
                     int isa);

/*
 * Keep, in order at the front of keys[0..m), the keys in any of the ranges
 * [lo[q], lo[q] + span[q]], q < nr (1 to 4), and return their number; the
 * slots after them are overwritten.
 */
size_t ah__keys_gather(uint64_t *keys, size_t m, const uint64_t *lo,
                       const uint64_t *span, int nr, int isa);

#endif
