/*
 * packed_cum.c - building the bit-packed cumulative counts of
 * packed_cum.h.  tests/test_packed_cum.c reads every entry back against
 * the plain array.
 */
#include "packed_cum.h"

#include <string.h>

static unsigned bits_for(uint32_t v)
{
    unsigned w = 0;
    while (w < 32 && (v >> w) != 0)
        w++;
    return w;
}

/* Block b of v[0..n): its first index and one past its last (the next
 * block's first entry is its last). */
static void block_span(size_t b, size_t n, size_t *i0, size_t *i1)
{
    *i0 = b * AH__PACK_BLOCK;
    *i1 = *i0 + AH__PACK_BLOCK + 1 < n ? *i0 + AH__PACK_BLOCK + 1 : n;
}

size_t ah__packed_bytes(const uint32_t *v, size_t n)
{
    size_t blocks = ah__packed_blocks(n);
    uint64_t bits = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[i - 1])
            return SIZE_MAX;
    for (size_t b = 0; b < blocks; b++) {
        size_t i0, i1;
        block_span(b, n, &i0, &i1);
        unsigned w = bits_for(v[i0] - v[i1 - 1]);
        if (w > AH__PACK_MAX_WIDTH)
            return SIZE_MAX;
        bits += (uint64_t)(i1 - i0) * w;
    }
    if (bits >= AH__PACK_MAX_BITS)
        return SIZE_MAX;
    return 8 * blocks + (size_t)((bits + 7) / 8) + 8;
}

/* Offsets go through a 64-bit accumulator, written out 32 bits at a time
 * (little-endian): at most 31 bits wait and a width is at most 28. */
void ah__packed_write(const uint32_t *v, size_t n, void *out, size_t bytes)
{
    size_t blocks = ah__packed_blocks(n);
    uint32_t *head = out;
    unsigned char *bits = (unsigned char *)(head + 2 * blocks), *p = bits;
    uint64_t off = 0, acc = 0;
    unsigned used = 0;
    memset(bits, 0, bytes - 8 * blocks);
    for (size_t b = 0; b < blocks; b++) {
        size_t i0, i1;
        block_span(b, n, &i0, &i1);
        uint32_t base = v[i1 - 1];
        unsigned w = bits_for(v[i0] - base);
        head[2 * b] = base;
        head[2 * b + 1] = (uint32_t)(off << 6) | w;
        for (size_t i = i0; w && i < i1; i++) {
            acc |= (uint64_t)(v[i] - base) << used;
            used += w;
            if (used >= 32) {
                for (int k = 0; k < 4; k++)
                    *p++ = (unsigned char)(acc >> (8 * k));
                acc >>= 32;
                used -= 32;
            }
        }
        off += (uint64_t)(i1 - i0) * w;
    }
    for (; used > 0; used = used > 8 ? used - 8 : 0, acc >>= 8)
        *p++ = (unsigned char)acc;
}

uint32_t ah__packed_get_call(const void *t, size_t n, size_t i)
{
    return ah__packed_get(t, n, i);
}

void ah__packed_pair_call(const void *t, size_t n, size_t i, uint32_t *a,
                          uint32_t *b)
{
    ah__packed_pair(t, n, i, a, b);
}
