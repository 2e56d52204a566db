/*
 * fix_image.h - make a mutated acthist file's size field and checksum
 * valid again (FNV-1a 64 over everything but the last 8 bytes,
 * docs/FORMAT.md), so that fuzzing reaches the parsers behind them.
 */
#ifndef AH_FUZZ_FIX_IMAGE_H
#define AH_FUZZ_FIX_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* size_off: where the file's total size is; files shorter than min_len
 * are left alone. */
static void fuzz_fix_image(unsigned char *b, size_t n, size_t size_off,
                           size_t min_len)
{
    if (n < min_len)
        return;
    for (int i = 0; i < 8; i++)
        b[size_off + (size_t)i] = (unsigned char)((uint64_t)n >> (8 * i));
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i + 8 < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++)
        b[n - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
}

#endif
