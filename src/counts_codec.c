/*
 * counts_codec.c - encodings of a histogram node's counts (see
 * counts_codec.h and docs/FORMAT.md).
 *
 * Workload: every bin count of every node passes through here once when a
 * model is saved or loaded; a model has up to millions of bins, so each
 * encoding is one linear pass.  Reading must survive any bytes at all (the
 * fuzzers feed it): every read is bounded by end and every decoded count
 * is checked to stay a 32-bit count.
 */
#include "counts_codec.h"

#include <string.h>

/* A quotient this large is escaped: RICE_ESC one-bits, then the value in
 * RICE_RAW bits (zigzag deltas of 32-bit counts need 33). */
#define RICE_ESC 24u
#define RICE_RAW 34u
#define RICE_MAX_K 30u

size_t ah__varint_len(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

unsigned char *ah__varint_put(unsigned char *p, uint32_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

const unsigned char *ah__varint_get(const unsigned char *p,
                                    const unsigned char *end, uint32_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift <= 28 && p < end; shift += 7) {
        unsigned char b = *p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return x <= UINT32_MAX ? (*v = (uint32_t)x, p) : NULL;
    }
    return NULL;
}

/* Difference from the previous count (0 before the first), zigzagged so
 * small changes either way are small numbers. */
static inline uint64_t delta_code(uint32_t prev, uint32_t cur)
{
    int64_t d = (int64_t)cur - (int64_t)prev;
    return d >= 0 ? (uint64_t)d << 1 : (((uint64_t)(-d)) << 1) - 1;
}

/* Count i of the source: the array's, or what its function says. */
static inline uint32_t src_at(const ah__counts_src *s, size_t i)
{
    return s->c ? s->c[i] : s->at(s->ctx, i);
}

static size_t rice_bits(const ah__counts_src *c, uint32_t n, unsigned k)
{
    size_t bits = 0;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u = delta_code(prev, src_at(c, i)), q = u >> k;
        bits += q < RICE_ESC ? q + 1 + k : RICE_ESC + RICE_RAW;
        prev = src_at(c, i);
    }
    return bits;
}

ah__counts_plan ah__counts_plan_for(const uint32_t *c, uint32_t n)
{
    size_t plain = 0, runs = 0;
    uint64_t umax = 0;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t z = i;
        while (z < n && c[z] == 0)
            z++;
        if (z > i) { /* a run of z - i empty bins */
            plain += z - i;
            runs += 1 + ah__varint_len(z - i - 1);
            umax = umax > delta_code(prev, 0) ? umax : delta_code(prev, 0);
            prev = 0;
            i = z;
            continue;
        }
        plain += ah__varint_len(c[i]);
        runs += ah__varint_len(c[i]);
        umax = umax > delta_code(prev, c[i]) ? umax : delta_code(prev, c[i]);
        prev = c[i];
        i++;
    }
    ah__counts_plan best = {AH__COUNTS_PLAIN, 0, plain};
    if (runs < best.bytes)
        best = (ah__counts_plan){AH__COUNTS_ZERO_RUNS, 0, runs};
    /* Every Rice parameter up to the bit length of the largest delta
     * (beyond it every code only grows), the smallest k on ties. */
    unsigned kmax = 0;
    while (kmax < RICE_MAX_K && (umax >> kmax) > 1)
        kmax++;
    size_t bits[RICE_MAX_K + 1] = {0};
    prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u = delta_code(prev, c[i]);
        prev = c[i];
        for (unsigned k = 0; k <= kmax; k++) {
            uint64_t q = u >> k;
            bits[k] += q < RICE_ESC ? q + 1 + k : RICE_ESC + RICE_RAW;
        }
    }
    for (unsigned k = 0; k <= kmax; k++) {
        size_t bytes = 1 + (bits[k] + 7) / 8;
        if (bytes < best.bytes)
            best = (ah__counts_plan){AH__COUNTS_RICE, k, bytes};
    }
    return best;
}

ah__counts_plan ah__counts_plan_src(int enc, unsigned k,
                                    const ah__counts_src *c, uint32_t n)
{
    ah__counts_plan pl = {enc, k, 0};
    if (enc == AH__COUNTS_RICE)
        pl.bytes = 1 + (rice_bits(c, n, k) + 7) / 8;
    for (uint32_t i = 0; enc != AH__COUNTS_RICE && i < n;) {
        uint32_t z = i;
        while (enc == AH__COUNTS_ZERO_RUNS && z < n && src_at(c, z) == 0)
            z++;
        if (z > i) {
            pl.bytes += 1 + ah__varint_len(z - i - 1);
            i = z;
        } else {
            pl.bytes += ah__varint_len(src_at(c, i++));
        }
    }
    return pl;
}

ah__counts_plan ah__counts_plan_with(int enc, unsigned k, const uint32_t *c,
                                     uint32_t n)
{
    ah__counts_src src = {c, NULL, NULL};
    return ah__counts_plan_src(enc, k, &src, n);
}

/* Bits are written and read low bit first within each byte. */
typedef struct bitw {
    unsigned char *p;
    unsigned used; /* bits used in *p */
} bitw;

static void put_bits(bitw *w, uint64_t v, unsigned nbits)
{
    for (unsigned b = 0; b < nbits; b++) {
        if (w->used == 8) {
            w->p++;
            w->used = 0;
        }
        if (w->used == 0)
            *w->p = 0;
        *w->p |= (unsigned char)(((v >> b) & 1u) << w->used);
        w->used++;
    }
}

unsigned char *ah__counts_write_src(const ah__counts_plan *plan,
                                    const ah__counts_src *c, uint32_t n,
                                    unsigned char *p)
{
    if (plan->enc == AH__COUNTS_RICE) {
        unsigned char *start = p;
        *p++ = (unsigned char)plan->k;
        bitw w = {p, 8}; /* the first put_bits starts a fresh byte at p */
        w.p--;
        uint32_t prev = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t u = delta_code(prev, src_at(c, i)), q = u >> plan->k;
            prev = src_at(c, i);
            if (q < RICE_ESC) {
                put_bits(&w, (1ull << q) - 1, (unsigned)q + 1);
                put_bits(&w, u, plan->k);
            } else {
                put_bits(&w, (1ull << RICE_ESC) - 1, RICE_ESC);
                put_bits(&w, u, RICE_RAW);
            }
        }
        return start + plan->bytes;
    }
    for (uint32_t i = 0; i < n;) {
        uint32_t z = i;
        while (plan->enc == AH__COUNTS_ZERO_RUNS && z < n && src_at(c, z) == 0)
            z++;
        if (z > i) {
            p = ah__varint_put(p, 0);
            p = ah__varint_put(p, z - i - 1);
            i = z;
        } else {
            p = ah__varint_put(p, src_at(c, i++));
        }
    }
    return p;
}

unsigned char *ah__counts_write(const ah__counts_plan *plan,
                                const uint32_t *c, uint32_t n,
                                unsigned char *p)
{
    ah__counts_src src = {c, NULL, NULL};
    return ah__counts_write_src(plan, &src, n, p);
}

typedef struct bitr {
    const unsigned char *p, *end;
    unsigned used; /* bits consumed of *p */
    int bad;
} bitr;

static uint64_t get_bits(bitr *r, unsigned nbits)
{
    uint64_t v = 0;
    for (unsigned b = 0; b < nbits; b++) {
        if (r->used == 8) {
            r->p++;
            r->used = 0;
        }
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        v |= (uint64_t)((*r->p >> r->used) & 1u) << b;
        r->used++;
    }
    return v;
}

/* Rice codes, one bit at a time: the reference the tests hold the word
 * reader below against. */
const unsigned char *ah__rice_read_bitwise(const unsigned char *p,
                                          const unsigned char *end,
                                          uint32_t *c, uint32_t n)
{
    if (p >= end || *p > RICE_MAX_K)
        return NULL;
    unsigned k = *p++;
    bitr r = {p, end, 0, 0};
    int64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t q = 0, u;
        while (q < RICE_ESC && get_bits(&r, 1))
            q++;
        if (r.bad)
            return NULL;
        u = q < RICE_ESC ? (q << k) | get_bits(&r, k)
                         : get_bits(&r, RICE_RAW);
        int64_t d = (u & 1) ? -(int64_t)((u + 1) >> 1) : (int64_t)(u >> 1);
        if (r.bad || u >= (1ull << 33) || prev + d < 0 ||
            prev + d > (int64_t)UINT32_MAX)
            return NULL;
        prev += d;
        c[i] = (uint32_t)prev;
    }
    if (n == 0)
        return p;
    /* the rest of the last byte must be zero */
    if (r.used < 8 && (*r.p >> r.used) != 0)
        return NULL;
    return r.p + 1;
}

/*
 * Rice codes a 64-bit word at a time: the bits not yet consumed sit at the
 * bottom of `buf` (nb of them; the bits above are zero), topped up a byte
 * at a time to 57 or more while bytes remain.  A code is at most 24 + 34
 * bits, so one top-up before the unary part and one before the payload
 * suffice.  Same results, same failures as ah__rice_read_bitwise.
 */
static const unsigned char *rice_read(const unsigned char *p,
                                      const unsigned char *end, uint32_t *c,
                                      uint32_t n, int *loose)
{
    if (p >= end || *p > RICE_MAX_K)
        return NULL;
    unsigned k = *p++;
    const unsigned char *start = p, *next = p;
    uint64_t buf = 0, used = 0; /* used: bits consumed since start */
    unsigned nb = 0;
    int64_t prev = 0;
#define TOP_UP()                                                             \
    while (nb <= 56 && next < end) {                                         \
        buf |= (uint64_t)*next++ << nb;                                      \
        nb += 8;                                                             \
    }
    for (uint32_t i = 0; i < n; i++) {
        TOP_UP();
        /* ones below the first zero bit (at most nb: the bits above nb
         * are zero) */
        uint64_t inv = ~buf;
        unsigned ones = inv ? (unsigned)__builtin_ctzll(inv) : 64;
        uint64_t u;
        if (ones >= RICE_ESC) {
            if (nb < RICE_ESC)
                return NULL;
            buf >>= RICE_ESC;
            nb -= RICE_ESC;
            used += RICE_ESC;
            TOP_UP();
            if (nb < RICE_RAW)
                return NULL;
            u = buf & ((1ull << RICE_RAW) - 1);
            *loose |= (u >> k) < RICE_ESC; /* the writer would not escape */
            buf >>= RICE_RAW;
            nb -= RICE_RAW;
            used += RICE_RAW;
        } else {
            if (ones + 1 + k > nb)
                return NULL; /* the zero or the low bits are missing */
            unsigned take = ones + 1 + k;
            u = ((uint64_t)ones << k) | ((buf >> (ones + 1)) & ((1ull << k) - 1));
            buf = take < 64 ? buf >> take : 0;
            nb -= take;
            used += take;
        }
        int64_t d = (u & 1) ? -(int64_t)((u + 1) >> 1) : (int64_t)(u >> 1);
        if (u >= (1ull << 33) || prev + d < 0 || prev + d > (int64_t)UINT32_MAX)
            return NULL;
        prev += d;
        c[i] = (uint32_t)prev;
    }
#undef TOP_UP
    if (n == 0)
        return start;
    /* the rest of the last byte must be zero */
    const unsigned char *last = start + (used - 1) / 8;
    unsigned in_last = (unsigned)((used - 1) % 8) + 1;
    if (in_last < 8 && (*last >> in_last) != 0)
        return NULL;
    return last + 1;
}

/* A varint at p, and whether it took more bytes than its value needs. */
static const unsigned char *varint_get_loose(const unsigned char *p,
                                            const unsigned char *end,
                                            uint32_t *v, int *loose)
{
    const unsigned char *q = ah__varint_get(p, end, v);
    if (q)
        *loose |= (size_t)(q - p) != ah__varint_len(*v);
    return q;
}

/* ah__counts_read, and *loose set when the bytes are not the ones the
 * writer gives these counts under enc and k (a varint longer than its
 * value needs, two zero runs side by side, a small quotient escaped):
 * otherwise they are exactly as many as ah__counts_plan_with counts. */
static const unsigned char *counts_read(int enc, const unsigned char *p,
                                        const unsigned char *end,
                                        uint32_t *c, uint32_t n, int *loose)
{
    if (enc == AH__COUNTS_RICE)
        return rice_read(p, end, c, n, loose);
    int after_run = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!(p = varint_get_loose(p, end, &c[i], loose)))
            return NULL;
        uint32_t more;
        if (enc == AH__COUNTS_ZERO_RUNS && c[i] == 0) {
            *loose |= after_run;
            if (!(p = varint_get_loose(p, end, &more, loose)) ||
                more > n - 1 - i)
                return NULL;
            for (; more > 0; more--)
                c[++i] = 0;
        }
        after_run = enc == AH__COUNTS_ZERO_RUNS && c[i] == 0;
    }
    return p;
}

const unsigned char *ah__counts_read(int enc, const unsigned char *p,
                                     const unsigned char *end, uint32_t *c,
                                     uint32_t n)
{
    int loose = 0;
    return counts_read(enc, p, end, c, n, &loose);
}

const unsigned char *ah__counts_read_sized(int enc, const unsigned char *p,
                                          const unsigned char *end,
                                          uint32_t *c, uint32_t n,
                                          size_t *written)
{
    int loose = 0;
    const unsigned char *q = counts_read(enc, p, end, c, n, &loose);
    if (q && !loose)
        *written = (size_t)(q - p);
    else if (q) /* rare: a file coded more loosely than the writer does */
        *written = ah__counts_plan_with(enc, enc == AH__COUNTS_RICE ? *p : 0,
                                        c, n).bytes;
    return q;
}
