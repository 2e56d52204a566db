/*
 * radix_sort.c - the LSD radix sort of 64-bit keys that both scans fall
 * back on when their values are too clustered for a bucket sort
 * (scan_individual.c, scan_group.c).
 */
#include "internal.h"

#include <string.h>

void ah__radix_sort_u64(uint64_t *keys, uint64_t *tmp, size_t n)
{
    size_t count[8][256];
    uint64_t *src = keys, *dst = tmp;
    if (n < 2)
        return;
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(keys[i] >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 8; b++) {
        size_t sum = 0, *c = count[b];
        uint64_t *t;
        if (c[(keys[0] >> (8 * b)) & 0xff] == n)
            continue; /* every key has the same byte here */
        for (int d = 0; d < 256; d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
}
