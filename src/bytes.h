/*
 * bytes.h - byte order, bit patterns and sorted-array search (internal).
 *
 * The model and shard files are little-endian whatever the host, and .npy
 * files may be either; these helpers are the only place that knows byte
 * order.  Loads and stores go byte by byte, so they are independent of the
 * host's byte order and alignment; compilers turn them into plain
 * (swapped) loads and stores.
 */
#ifndef AH_BYTES_H
#define AH_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline unsigned char *ah__put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static inline unsigned char *ah__put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static inline uint16_t ah__ld16le(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}
static inline uint16_t ah__ld16be(const unsigned char *p)
{
    return (uint16_t)(p[1] | (unsigned)p[0] << 8);
}
static inline uint32_t ah__ld32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint32_t ah__ld32be(const unsigned char *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
           (uint32_t)p[0] << 24;
}
static inline uint64_t ah__ld64le(const unsigned char *p)
{
    return (uint64_t)ah__ld32le(p) | (uint64_t)ah__ld32le(p + 4) << 32;
}
static inline uint64_t ah__ld64be(const unsigned char *p)
{
    return (uint64_t)ah__ld32be(p + 4) | (uint64_t)ah__ld32be(p) << 32;
}

/* The bits of a double and the double of some bits. */
static inline uint64_t ah__bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}
static inline double ah__value_of(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline unsigned char *ah__put_f64(unsigned char *p, double d)
{
    return ah__put_u64(p, ah__bits_of(d));
}

/* The model and shard files' fields. */
static inline uint32_t ah__get_u32(const unsigned char *p)
{
    return ah__ld32le(p);
}

static inline uint64_t ah__get_u64(const unsigned char *p)
{
    return ah__ld64le(p);
}

static inline double ah__get_f64(const unsigned char *p)
{
    return ah__value_of(ah__get_u64(p));
}

/* Map a non-NaN double to a uint64 whose unsigned order is the double's
 * order (-0.0 sorts just below +0.0), for radix sorts; ah__key_value is
 * its inverse. */
static inline uint64_t ah__key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x8000000000000000ULL) ? ~u : u | 0x8000000000000000ULL;
}

static inline double ah__key_value(uint64_t k)
{
    uint64_t u = (k & 0x8000000000000000ULL) ? k & ~0x8000000000000000ULL
                                             : ~k;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Number of elements of the sorted a[0..n) that are <= x. */
static inline size_t ah__upper_bound(const double *a, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Number of elements of the sorted a[0..n) that are < x. */
static inline size_t ah__lower_bound(const double *a, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
