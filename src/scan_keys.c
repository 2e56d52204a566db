/*
 * scan_keys.c - the individual scan's kernels (scan_keys.h,
 * scan_bounds.h): pass 1 reads every p-value of an input once and keeps
 * the ones in (0, amax] as integer keys; pass 2 gives each key its bucket;
 * pass 3 bounds the buckets of a block of 16; pass 4 keeps the keys of the
 * candidate buckets.
 *
 * On clean inputs about half the values are kept, in no predictable order,
 * so the scalar kernel writes every key and advances by the test's result.
 * The AVX-512 kernel keeps eight at a time with a compress; the AVX2 one
 * four at a time with a permutation from a table.  Both write a whole
 * vector at keys[m] (the slots past the kept keys are overwritten later),
 * which stays inside the room the caller leaves: m grows no faster than i.
 * NaN is spotted with an unordered compare instead of the sums; the keys,
 * their order and the flags are those of the scalar kernel.  A value above
 * 1 is one whose bits, as a signed integer, exceed those of 1.0.  Passes 2 and
 * 4 have AVX2 kernels too (AVX2 has no unsigned 64-bit compare nor
 * minimum: the values compared fit in 63 bits, or get their sign flipped);
 * pass 3 has only the AVX-512 one.
 */
#include "scan_keys.h"

#include "bytes.h"
#include "scan_bounds.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef AH__HAVE_X86_KERNELS
#include <immintrin.h>
#endif


#define ONE_BITS 0x3ff0000000000000ull /* bits of 1.0 */
/* The bits of a value above 1 with its sign clear, +inf and NaN included:
 * ONE_BITS < u < 2^63, as one unsigned compare. */
static inline int above_one(uint64_t u)
{
    return u - (ONE_BITS + 1) < (1ull << 63) - (ONE_BITS + 1);
}

/*
 * The scalar kernel.  Branch-free (the test is a coin flip on clean
 * inputs): the write at keys[*m] never passes the number of values seen.
 * NaN poisons the sums (four, to keep the chains of additions short);
 * bit 63 of a value's bits or of its key marks a value <= 0.
 */
static void keys_scalar(const double *pmax, size_t i, size_t end, uint64_t ka,
                      uint64_t *keys, size_t *mp, double *sum, uint64_t *neg,
                      int *above)
{
    size_t m = *mp;
    uint64_t ng = 0;
    int ab = 0;
    for (; i + 4 <= end; i += 4) {
        double x0 = pmax[i], x1 = pmax[i + 1], x2 = pmax[i + 2],
               x3 = pmax[i + 3];
        uint64_t u0 = ah__bits_of(x0), u1 = ah__bits_of(x1), u2 = ah__bits_of(x2),
                 u3 = ah__bits_of(x3);
        keys[m] = u0 - 1;
        m += u0 - 1 < ka;
        keys[m] = u1 - 1;
        m += u1 - 1 < ka;
        keys[m] = u2 - 1;
        m += u2 - 1 < ka;
        keys[m] = u3 - 1;
        m += u3 - 1 < ka;
        sum[0] += x0;
        sum[1] += x1;
        sum[2] += x2;
        sum[3] += x3;
        ng |= u0 | (u0 - 1) | u1 | (u1 - 1) | u2 | (u2 - 1) | u3 | (u3 - 1);
        ab |= above_one(u0) | above_one(u1) | above_one(u2) | above_one(u3);
    }
    for (; i < end; i++) {
        uint64_t u = ah__bits_of(pmax[i]);
        keys[m] = u - 1;
        m += u - 1 < ka;
        sum[0] += pmax[i];
        ng |= u | (u - 1);
        ab |= above_one(u);
    }
    *mp = m;
    *neg |= ng;
    *above |= ab;
}

#ifdef AH__HAVE_X86_KERNELS
/* The vector kernels fetch 4 KB ahead of what they read: an input of a
 * batch streamed from memory arrives sooner, and past the input's end the
 * fetch is of the next row, which batch callers scan next.  At D = 4096
 * over 1000 rows (32 MB) it took 4.0-4.4 us per input before, 3.6-3.8
 * after; over 16 rows (in L2) about the same (`bench_acthist scan MODEL
 * Q.npy --threads 1 --restarts 0 --group-rows 1000`, three alternating
 * runs).  The address is formed as an integer: it may lie outside the
 * array. */
static inline void prefetch_ahead(const double *at)
{
    _mm_prefetch((const char *)(uintptr_t)((uintptr_t)at + 4096),
                 _MM_HINT_T0);
}

__attribute__((target("avx2,avx512f"))) static size_t
keys_avx512(const double *p, size_t i, size_t end, uint64_t ka,
            uint64_t *keys, size_t *mp, uint64_t *neg, int *nan, int *above)
{
    const __m512i vka = _mm512_set1_epi64((long long)ka),
                  one = _mm512_set1_epi64(1),
                  vone = _mm512_set1_epi64((long long)ONE_BITS);
    __m512i ng = _mm512_setzero_si512();
    __mmask8 bad = 0, ab = 0;
    size_t m = *mp;
    for (; i + 8 <= end; i += 8) {
        __m512i u = _mm512_loadu_si512((const void *)(p + i));
        __m512i k = _mm512_sub_epi64(u, one);
        __mmask8 keep = _mm512_cmplt_epu64_mask(k, vka);
        prefetch_ahead(p + i);
        _mm512_storeu_si512((void *)(keys + m),
                            _mm512_maskz_compress_epi64(keep, k));
        m += (size_t)__builtin_popcount(keep);
        ng = _mm512_or_si512(ng, _mm512_or_si512(u, k));
        ab |= _mm512_cmpgt_epi64_mask(u, vone);
        __m512d v = _mm512_castsi512_pd(u);
        bad |= _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
    }
    uint64_t lanes[8];
    _mm512_storeu_si512((void *)lanes, ng);
    for (int q = 0; q < 8; q++)
        *neg |= lanes[q];
    *nan |= bad != 0;
    *above |= ab != 0;
    *mp = m;
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}

/* For each 4-bit mask of kept lanes, the 32-bit lanes that move the kept
 * 64-bit lanes to the front, in order. */
static const int compress4[16][8] = {
    {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7},
    {2, 3, 0, 1, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7},
    {4, 5, 0, 1, 2, 3, 6, 7}, {0, 1, 4, 5, 2, 3, 6, 7},
    {2, 3, 4, 5, 0, 1, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7},
    {6, 7, 0, 1, 2, 3, 4, 5}, {0, 1, 6, 7, 2, 3, 4, 5},
    {2, 3, 6, 7, 0, 1, 4, 5}, {0, 1, 2, 3, 6, 7, 4, 5},
    {4, 5, 6, 7, 0, 1, 2, 3}, {0, 1, 4, 5, 6, 7, 2, 3},
    {2, 3, 4, 5, 6, 7, 0, 1}, {0, 1, 2, 3, 4, 5, 6, 7}};

__attribute__((target("avx2"))) static size_t
keys_avx2(const double *p, size_t i, size_t end, uint64_t ka, uint64_t *keys,
          size_t *mp, uint64_t *neg, int *nan, int *above)
{
    /* unsigned k < ka as a signed compare of both with the sign flipped */
    const __m256i sign = _mm256_set1_epi64x(INT64_MIN),
                  vka = _mm256_set1_epi64x((long long)(ka ^ (1ull << 63))),
                  one = _mm256_set1_epi64x(1),
                  vone = _mm256_set1_epi64x((long long)ONE_BITS);
    __m256i ng = _mm256_setzero_si256(), ab = _mm256_setzero_si256();
    __m256d bad = _mm256_setzero_pd();
    size_t m = *mp;
    for (; i + 4 <= end; i += 4) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i k = _mm256_sub_epi64(u, one);
        __m256i keep = _mm256_cmpgt_epi64(vka, _mm256_xor_si256(k, sign));
        prefetch_ahead(p + i);
        int mask = _mm256_movemask_pd(_mm256_castsi256_pd(keep));
        __m256i perm =
            _mm256_loadu_si256((const __m256i *)compress4[mask]);
        _mm256_storeu_si256((__m256i *)(keys + m),
                            _mm256_permutevar8x32_epi32(k, perm));
        m += (size_t)__builtin_popcount((unsigned)mask);
        ng = _mm256_or_si256(ng, _mm256_or_si256(u, k));
        ab = _mm256_or_si256(ab, _mm256_cmpgt_epi64(u, vone));
        __m256d v = _mm256_castsi256_pd(u);
        bad = _mm256_or_pd(bad, _mm256_cmp_pd(v, v, _CMP_UNORD_Q));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, ng);
    for (int q = 0; q < 4; q++)
        *neg |= lanes[q];
    *nan |= _mm256_movemask_pd(bad) != 0;
    *above |= !_mm256_testz_si256(ab, ab);
    *mp = m;
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}
#endif

void ah__keys_copy(const double *p, size_t i, size_t end, uint64_t ka,
                   uint64_t *keys, size_t *m, double *sum, uint64_t *neg,
                   int *above, int isa)
{
    int best = ah__isa_best(), nan = 0;
    if (isa > best)
        isa = best;
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        i = keys_avx512(p, i, end, ka, keys, m, neg, &nan, above);
    else if (isa == AH__ISA_AVX2)
        i = keys_avx2(p, i, end, ka, keys, m, neg, &nan, above);
#endif
    if (nan)
        sum[0] = NAN;
    keys_scalar(p, i, end, ka, keys, m, sum, neg, above);
}

static inline uint16_t bucket_of(uint64_t key, uint64_t f0, int sf, int sd,
                                 uint64_t nf, uint64_t dmax)
{
    uint64_t d = key - f0, top_j = d >> sf, deep_j = ~d >> sd;
    deep_j = nf + (deep_j < dmax ? deep_j : dmax);
    return (uint16_t)(top_j < deep_j ? top_j : deep_j);
}

#ifdef AH__HAVE_X86_KERNELS
__attribute__((target("avx2,avx512f"))) static size_t
bucket_avx512(const uint64_t *keys, size_t k, uint64_t f0, int sf, int sd,
              uint64_t nf, uint64_t dmax, uint16_t *idx)
{
    const __m512i vf0 = _mm512_set1_epi64((long long)f0),
                  vnf = _mm512_set1_epi64((long long)nf),
                  vdmax = _mm512_set1_epi64((long long)dmax),
                  ones = _mm512_set1_epi64(-1);
    const __m128i csf = _mm_cvtsi32_si128(sf), csd = _mm_cvtsi32_si128(sd);
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m512i d = _mm512_sub_epi64(
            _mm512_loadu_si512((const void *)(keys + i)), vf0);
        __m512i top = _mm512_srl_epi64(d, csf);
        __m512i deep = _mm512_srl_epi64(_mm512_xor_si512(d, ones), csd);
        deep = _mm512_add_epi64(vnf, _mm512_min_epu64(deep, vdmax));
        _mm_storeu_si128((__m128i *)(void *)(idx + i),
                         _mm512_cvtepi64_epi16(_mm512_min_epu64(top, deep)));
    }
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}
/* Four keys at a time.  The indices are below 2^22 (top: sf >= 42) and
 * 2^16 (deep: sd = 48), so signed compares order them; the low halves of
 * the four 64-bit lanes are packed to 16 bits. */
__attribute__((target("avx2"))) static size_t
bucket_avx2(const uint64_t *keys, size_t k, uint64_t f0, int sf, int sd,
            uint64_t nf, uint64_t dmax, uint16_t *idx)
{
    const __m256i vf0 = _mm256_set1_epi64x((long long)f0),
                  vnf = _mm256_set1_epi64x((long long)nf),
                  vdmax = _mm256_set1_epi64x((long long)dmax),
                  ones = _mm256_set1_epi64x(-1),
                  lows = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m128i csf = _mm_cvtsi32_si128(sf), csd = _mm_cvtsi32_si128(sd);
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        __m256i d = _mm256_sub_epi64(
            _mm256_loadu_si256((const __m256i *)(const void *)(keys + i)), vf0);
        __m256i top = _mm256_srl_epi64(d, csf);
        __m256i deep = _mm256_srl_epi64(_mm256_xor_si256(d, ones), csd);
        deep = _mm256_blendv_epi8(deep, vdmax, _mm256_cmpgt_epi64(deep, vdmax));
        deep = _mm256_add_epi64(deep, vnf);
        __m256i b = _mm256_blendv_epi8(top, deep, _mm256_cmpgt_epi64(top, deep));
        __m128i lo = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, lows));
        _mm_storel_epi64((__m128i *)(void *)(idx + i), _mm_packus_epi32(lo, lo));
    }
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}
#endif

void ah__keys_bucket(const uint64_t *keys, size_t k, uint64_t f0, int sf,
                     int sd, uint64_t nf, uint64_t dmax, uint16_t *idx,
                     int isa)
{
    size_t i = 0;
    if (isa > ah__isa_best())
        isa = ah__isa_best();
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        i = bucket_avx512(keys, k, f0, sf, sd, nf, dmax, idx);
    else if (isa == AH__ISA_AVX2)
        i = bucket_avx2(keys, k, f0, sf, sd, nf, dmax, idx);
#endif
    for (; i < k; i++)
        idx[i] = bucket_of(keys[i], f0, sf, sd, nf, dmax);
}

/* The scalar filter, branch-free: the write at keys[g] never passes i. */
static size_t gather_scalar(uint64_t *keys, size_t i, size_t m, size_t g,
                            const uint64_t *lo, const uint64_t *span, int nr)
{
    for (; i < m; i++) {
        uint64_t k = keys[i];
        int in = 0;
        for (int q = 0; q < nr; q++)
            in |= k - lo[q] <= span[q];
        keys[g] = k;
        g += (size_t)in;
    }
    return g;
}

#ifdef AH__HAVE_X86_KERNELS
/* Eight keys at a time with a compress; the vector written at keys[g],
 * g <= i, ends by keys[i + 8], all of which were read already. */
__attribute__((target("avx2,avx512f"))) static inline size_t
gather_avx512_n(uint64_t *keys, size_t m, size_t *gp, const uint64_t *lo,
                const uint64_t *span, int nr)
{
    __m512i vlo[4], vspan[4];
    size_t i = 0, g = 0;
    for (int q = 0; q < nr; q++) {
        vlo[q] = _mm512_set1_epi64((long long)lo[q]);
        vspan[q] = _mm512_set1_epi64((long long)span[q]);
    }
    for (; i + 8 <= m; i += 8) {
        __m512i k = _mm512_loadu_si512((const void *)(keys + i));
        __mmask8 in = 0;
        for (int q = 0; q < nr; q++)
            in |= _mm512_cmple_epu64_mask(_mm512_sub_epi64(k, vlo[q]),
                                          vspan[q]);
        _mm512_storeu_si512((void *)(keys + g),
                            _mm512_maskz_compress_epi64(in, k));
        g += (size_t)__builtin_popcount(in);
    }
    *gp = g;
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}

__attribute__((target("avx2,avx512f"))) static size_t
gather_avx512(uint64_t *keys, size_t m, size_t *gp, const uint64_t *lo,
              const uint64_t *span, int nr)
{
    /* constant range counts, so the loop over ranges unrolls */
    if (nr == 1)
        return gather_avx512_n(keys, m, gp, lo, span, 1);
    if (nr == 2)
        return gather_avx512_n(keys, m, gp, lo, span, 2);
    return gather_avx512_n(keys, m, gp, lo, span, 4 < nr ? 4 : nr);
}
/* Four keys at a time, kept with a permutation from compress4; k - lo <=
 * span unsigned as a signed compare of both with the sign flipped.  The
 * vector written at keys[g], g <= i, ends by keys[i + 4], all of which
 * were read already. */
__attribute__((target("avx2"))) static inline size_t
gather_avx2_n(uint64_t *keys, size_t m, size_t *gp, const uint64_t *lo,
              const uint64_t *span, int nr)
{
    const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
    __m256i vlo[4], vspan[4];
    size_t i = 0, g = 0;
    for (int q = 0; q < nr; q++) {
        vlo[q] = _mm256_set1_epi64x((long long)lo[q]);
        vspan[q] = _mm256_set1_epi64x((long long)(span[q] ^ (1ull << 63)));
    }
    for (; i + 4 <= m; i += 4) {
        __m256i k = _mm256_loadu_si256((const __m256i *)(void *)(keys + i));
        int in = 0; /* lanes in some range: not above its span */
        for (int q = 0; q < nr; q++) {
            __m256i x = _mm256_xor_si256(_mm256_sub_epi64(k, vlo[q]), sign);
            in |= ~_mm256_movemask_pd(_mm256_castsi256_pd(
                      _mm256_cmpgt_epi64(x, vspan[q]))) & 15;
        }
        __m256i perm = _mm256_loadu_si256((const __m256i *)compress4[in]);
        _mm256_storeu_si256((__m256i *)(void *)(keys + g),
                            _mm256_permutevar8x32_epi32(k, perm));
        g += (size_t)__builtin_popcount((unsigned)in);
    }
    *gp = g;
    _mm256_zeroupper(); /* see grid_count.c */
    return i;
}

__attribute__((target("avx2"))) static size_t
gather_avx2(uint64_t *keys, size_t m, size_t *gp, const uint64_t *lo,
            const uint64_t *span, int nr)
{
    if (nr == 1)
        return gather_avx2_n(keys, m, gp, lo, span, 1);
    if (nr == 2)
        return gather_avx2_n(keys, m, gp, lo, span, 2);
    return gather_avx2_n(keys, m, gp, lo, span, 4 < nr ? 4 : nr);
}
#endif

size_t ah__keys_gather(uint64_t *keys, size_t m, const uint64_t *lo,
                       const uint64_t *span, int nr, int isa)
{
    size_t i = 0, g = 0;
    if (isa > ah__isa_best())
        isa = ah__isa_best();
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        i = gather_avx512(keys, m, &g, lo, span, nr);
    else if (isa == AH__ISA_AVX2)
        i = gather_avx2(keys, m, &g, lo, span, nr);
#endif
    return gather_scalar(keys, i, m, g, lo, span, nr);
}

/* The scalar block bounds: the reference (scan_bounds.h). */
static uint32_t block_scalar(const chord_t *c, const uint32_t *cnt,
                             uint64_t ctop, uint64_t L, uint32_t nofu,
                             double lb, double *vmaxp)
{
    uint64_t C = ctop;
    uint32_t keep = 0;
    double vmax = 0.0;
    for (int k = 15; k >= 0; k--) {
        double Cd = (double)C, v = Cd * chord_fl(c, k);
        double u = Cd * (nofu >> k & 1 ? INFINITY : chord_fu(c, k));
        if (C > L)
            vmax = v > vmax ? v : vmax;
        keep |= (uint32_t)((cnt[k] != 0) &
                           !(u * (1.0 + AH__SCAN_MARGIN) < lb)) << k;
        C -= cnt[k];
    }
    *vmaxp = vmax;
    return keep;
}

#ifdef AH__HAVE_X86_KERNELS
/* Eight buckets a half: the counts above each bucket by a suffix sum of
 * the 16 counts, then the scalar kernel's arithmetic lane by lane (the
 * same operations in the same order, so the same bits). */
__attribute__((target("avx2,avx512f"))) static uint32_t
block_avx512(const chord_t *c, const uint32_t *cnt, uint64_t ctop,
             uint64_t L, uint32_t nofu, double lb, double *vmaxp)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i n = _mm512_loadu_si512((const void *)cnt), t = n;
    /* t[k] = cnt[k] + cnt[k + 1] + ... + cnt[15] */
    t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, t, 1));
    t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, t, 2));
    t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, t, 4));
    t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, t, 8));
    __m512i above = _mm512_sub_epi32(t, n);
    const __mmask16 has = _mm512_test_epi32_mask(n, n);
    const __m512d top = _mm512_set1_pd((double)ctop),
                  dL = _mm512_set1_pd((double)L),
                  h1w = _mm512_set1_pd(c->h1w), il = _mm512_set1_pd(c->il),
                  iu = _mm512_set1_pd(c->iu), l0 = _mm512_set1_pd(c->l0),
                  dl = _mm512_set1_pd(c->dl), u0 = _mm512_set1_pd(c->u0),
                  du = _mm512_set1_pd(c->du),
                  inf = _mm512_set1_pd(INFINITY),
                  vlb = _mm512_set1_pd(lb),
                  m1 = _mm512_set1_pd(1.0 + AH__SCAN_MARGIN);
    const int finite = c->u0 < INFINITY;
    __m512d vmax = _mm512_setzero_pd();
    uint32_t keep = 0;
    for (int half = 0; half < 2; half++) {
        __m256i a = half ? _mm512_extracti64x4_epi64(above, 1)
                         : _mm512_castsi512_si256(above);
        __m512d kd = half ? _mm512_setr_pd(8, 9, 10, 11, 12, 13, 14, 15)
                          : _mm512_setr_pd(0, 1, 2, 3, 4, 5, 6, 7);
        __m512d kp1 = _mm512_add_pd(kd, _mm512_set1_pd(1.0));
        /* C(k) is below 2^53, so ctop - above is exact either way */
        __m512d Cd = _mm512_sub_pd(top, _mm512_cvtepu32_pd(a));
        __m512d h = _mm512_min_pd(kp1, h1w);
        __m512d fl = _mm512_add_pd(l0, _mm512_mul_pd(dl, _mm512_mul_pd(h, il)));
        __m512d v = _mm512_mul_pd(Cd, fl);
        __m512d fu = finite ? _mm512_add_pd(
                                  u0, _mm512_mul_pd(du, _mm512_mul_pd(kd, iu)))
                            : inf;
        fu = _mm512_mask_mov_pd(fu, (__mmask8)(nofu >> (8 * half)), inf);
        __m512d u = _mm512_mul_pd(Cd, fu);
        __mmask8 over = _mm512_cmp_pd_mask(Cd, dL, _CMP_GT_OQ);
        vmax = _mm512_mask_max_pd(vmax, over, v, vmax);
        __mmask8 pruned =
            _mm512_cmp_pd_mask(_mm512_mul_pd(u, m1), vlb, _CMP_LT_OQ);
        keep |= (uint32_t)(uint8_t)((has >> (8 * half)) & ~pruned)
                << (8 * half);
    }
    *vmaxp = _mm512_reduce_max_pd(vmax);
    _mm256_zeroupper(); /* see grid_count.c */
    return keep;
}
#endif

#ifdef AH__HAVE_X86_KERNELS
/* Four buckets at a time: the counts C(k) and the nonzero flags are taken
 * in scalar (uint64 arithmetic, 16 steps), the bounds as in the scalar
 * kernel, lane by lane (the same operations in the same order, so the
 * same bits). */
__attribute__((target("avx2"))) static uint32_t
block_avx2(const chord_t *c, const uint32_t *cnt, uint64_t ctop,
           uint64_t L, uint32_t nofu, double lb, double *vmaxp)
{
    double Cs[16];
    uint64_t C = ctop;
    uint32_t has = 0;
    for (int k = 15; k >= 0; k--) {
        Cs[k] = (double)C;
        has |= (uint32_t)(cnt[k] != 0) << k;
        C -= cnt[k];
    }
    const __m256d dL = _mm256_set1_pd((double)L), h1w = _mm256_set1_pd(c->h1w),
                  il = _mm256_set1_pd(c->il), iu = _mm256_set1_pd(c->iu),
                  l0 = _mm256_set1_pd(c->l0), dl = _mm256_set1_pd(c->dl),
                  u0 = _mm256_set1_pd(c->u0), du = _mm256_set1_pd(c->du),
                  inf = _mm256_set1_pd(INFINITY), vlb = _mm256_set1_pd(lb),
                  m1 = _mm256_set1_pd(1.0 + AH__SCAN_MARGIN),
                  one = _mm256_set1_pd(1.0);
    const __m256i bit = _mm256_setr_epi64x(1, 2, 4, 8);
    const int finite = c->u0 < INFINITY;
    __m256d vmax = _mm256_setzero_pd();
    uint32_t keep = 0;
    for (int q = 0; q < 4; q++) {
        __m256d kd = _mm256_setr_pd(4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3);
        __m256d Cd = _mm256_loadu_pd(Cs + 4 * q);
        __m256d h = _mm256_min_pd(_mm256_add_pd(kd, one), h1w);
        __m256d fl = _mm256_add_pd(l0, _mm256_mul_pd(dl, _mm256_mul_pd(h, il)));
        __m256d v = _mm256_mul_pd(Cd, fl);
        __m256d fu = finite ? _mm256_add_pd(
                                  u0, _mm256_mul_pd(du, _mm256_mul_pd(kd, iu)))
                            : inf;
        __m256i nb = _mm256_and_si256(
            _mm256_set1_epi64x((long long)(nofu >> (4 * q))), bit);
        fu = _mm256_blendv_pd(fu, inf,
                              _mm256_castsi256_pd(_mm256_cmpeq_epi64(nb, bit)));
        __m256d u = _mm256_mul_pd(Cd, fu);
        __m256d over = _mm256_cmp_pd(Cd, dL, _CMP_GT_OQ);
        vmax = _mm256_blendv_pd(vmax, _mm256_max_pd(vmax, v), over);
        int pruned = _mm256_movemask_pd(
            _mm256_cmp_pd(_mm256_mul_pd(u, m1), vlb, _CMP_LT_OQ));
        keep |= ((has >> (4 * q)) & 15u & ~(uint32_t)pruned) << (4 * q);
    }
    __m128d m2 = _mm_max_pd(_mm256_castpd256_pd128(vmax),
                            _mm256_extractf128_pd(vmax, 1));
    *vmaxp = _mm_cvtsd_f64(_mm_max_sd(m2, _mm_unpackhi_pd(m2, m2)));
    _mm256_zeroupper(); /* see grid_count.c */
    return keep;
}
#endif

uint32_t ah__block_keep(const chord_t *c, const uint32_t *cnt, uint64_t ctop,
                        uint64_t L, uint32_t nofu, double lb, double *vmax,
                        int isa)
{
    if (isa > ah__isa_best())
        isa = ah__isa_best();
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        return block_avx512(c, cnt, ctop, L, nofu, lb, vmax);
    if (isa == AH__ISA_AVX2)
        return block_avx2(c, cnt, ctop, L, nofu, lb, vmax);
#endif
    return block_scalar(c, cnt, ctop, L, nofu, lb, vmax);
}
