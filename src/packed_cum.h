/*
 * packed_cum.h - a nonincreasing sequence of counts (an implicit grid
 * node's cumulative counts) in blocks of bit-packed offsets, read in O(1)
 * (internal).
 *
 * A small label set's cumulative counts over thousands of bins change by
 * a few values a bin and not at all across the empty tail: 2 bytes an
 * entry is mostly zeros.  Block b holds entries 64b .. 64b + 64 (one more
 * than its share, the next block's first, so that the two bounds of a
 * cell, entries c and c + 1, always lie in one block): its last entry as
 * a base and every entry's offset above it in the fewest bits that hold
 * the block's largest offset, at most AH__PACK_MAX_WIDTH, so that both
 * offsets come out of one 8-byte read.  A block of empty bins costs its
 * 8-byte header alone.  Reading a cell's bounds is two loads and shifts.
 *
 * Layout (built and read in one process):
 *   uint32 head[2 * blocks] in native order: base, then (bit offset << 6
 *   | width)
 *   offsets, bit-packed little-endian from the first byte after head,
 *   then 8 zero bytes so every read of 8 bytes stays inside.
 */
#ifndef AH_PACKED_CUM_H
#define AH_PACKED_CUM_H

#include "bytes.h"

#include <stddef.h>
#include <stdint.h>

#define AH__PACK_SHIFT 6u
#define AH__PACK_BLOCK (1u << AH__PACK_SHIFT)
#define AH__PACK_MAX_WIDTH 28u /* 2 x 28 + 7 bits fit one 8-byte read */
/* The bit offset field holds 26 bits: larger tables stay unpacked. */
#define AH__PACK_MAX_BITS ((uint64_t)1 << 26)

/* Blocks of a packing of n entries: entry n - 1 starts a block of its own
 * when it is the first of one. */
static inline size_t ah__packed_blocks(size_t n)
{
    return (n + AH__PACK_BLOCK - 1) / AH__PACK_BLOCK;
}

/* Bytes the packing of v[0..n) takes, or SIZE_MAX when it cannot be
 * packed (v increases somewhere, an offset needs more than
 * AH__PACK_MAX_WIDTH bits, or too many bits in all). */
size_t ah__packed_bytes(const uint32_t *v, size_t n);
/* Pack v[0..n) into out: bytes = ah__packed_bytes(v, n), 4-byte aligned. */
void ah__packed_write(const uint32_t *v, size_t n, void *out, size_t bytes);

/* The 8 bytes at p as a little-endian number (bytes.h: one load). */
static inline uint64_t ah__packed_word(const unsigned char *p)
{
    return ah__ld64le(p);
}

/* Entries i and i + 1 (i + 1 < n) into *a and *b. */
static inline void ah__packed_pair(const void *t, size_t n, size_t i,
                                   uint32_t *a, uint32_t *b)
{
    const uint32_t *head = (const uint32_t *)t;
    size_t blk = i / AH__PACK_BLOCK;
    uint32_t base = head[2 * blk], ow = head[2 * blk + 1], w = ow & 63u;
    uint64_t off = (uint64_t)(ow >> 6) + (uint64_t)(i % AH__PACK_BLOCK) * w;
    const unsigned char *bits =
        (const unsigned char *)(head + 2 * ah__packed_blocks(n));
    uint64_t v = ah__packed_word(bits + (off >> 3)) >> (off & 7u),
             mask = ((uint64_t)1 << w) - 1u;
    *a = base + (uint32_t)(v & mask);
    *b = base + (uint32_t)((v >> w) & mask);
}

/* Entry i (i < n). */
static inline uint32_t ah__packed_get(const void *t, size_t n, size_t i)
{
    const uint32_t *head = (const uint32_t *)t;
    size_t blk = i / AH__PACK_BLOCK;
    uint32_t base = head[2 * blk], ow = head[2 * blk + 1], w = ow & 63u;
    uint64_t off = (uint64_t)(ow >> 6) + (uint64_t)(i % AH__PACK_BLOCK) * w;
    const unsigned char *bits =
        (const unsigned char *)(head + 2 * ah__packed_blocks(n));
    uint64_t mask = ((uint64_t)1 << w) - 1u;
    return base + (uint32_t)((ah__packed_word(bits + (off >> 3)) >>
                              (off & 7u)) & mask);
}

/* ah__packed_get and ah__packed_pair as calls (packed_cum.c), for paths
 * that must not grow by their inlined code: one input's lookups over
 * plain tables ran 25% slower with them inlined. */
uint32_t ah__packed_get_call(const void *t, size_t n, size_t i);
void ah__packed_pair_call(const void *t, size_t n, size_t i, uint32_t *a,
                          uint32_t *b);

/* The bytes of a packing of n entries at t (ah__packed_bytes of what
 * was packed), from its last block's header. */
static inline size_t ah__packed_size(const void *t, size_t n)
{
    const uint32_t *head = (const uint32_t *)t;
    size_t blocks = ah__packed_blocks(n);
    if (blocks == 0)
        return 8;
    uint32_t ow = head[2 * blocks - 1];
    size_t last = n - (blocks - 1) * AH__PACK_BLOCK;
    uint64_t bits = (uint64_t)(ow >> 6) + (uint64_t)last * (ow & 63u);
    return 8 * blocks + (size_t)((bits + 7) / 8) + 8;
}

#endif
