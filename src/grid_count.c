/*
 * grid_count.c - the inner loop of histogram p-values: the cell of each
 * value in an equal-width grid node (implicit, or with a pair table), then
 * one read of the cell's two bounds, which sit side by side in the table.
 * A batch of p-values spends most of its time here.
 *
 * The scalar loop branches on x == lo, which half the values of a ReLU node
 * hit, in no predictable order.  The vector kernels compute the same cell
 * with compares and blends, read the bounds with one gather (8 bytes, or
 * 4 for 2-byte tables), and leave the rare value near a grid edge, or in a
 * grid bin an atom splits, to the caller.  They use the same IEEE
 * operations in the same order as the scalar one (subtract, multiply,
 * truncate, subtract), so every kernel gives the same bits;
 * tests/test_grid_count.c holds each against the scalar one.  Kernels are
 * chosen at run time (isa.h).
 */
#include "grid_count.h"

#include <stdint.h>

#ifdef AH__HAVE_X86_KERNELS
#include <immintrin.h>
#endif

/* Values x[i0 .. n) one at a time; near gets absolute indices. */
static size_t count_scalar(const ah__grid *g, const double *x, size_t i0,
                           size_t n, uint32_t *gt, uint32_t *ge,
                           uint32_t *near)
{
    size_t nn = 0;
    for (size_t i = i0; i < n; i++) {
        uint32_t c;
        int near_edge = ah__grid_guess(g, x[i], &c);
        uint32_t e, t;
        ah__grid_bounds(g, c, &e, &t);
        if (near_edge || t > e)
            near[nn++] = (uint32_t)i;
        ge[i] = e;
        gt[i] = t;
    }
    return nn;
}

#ifdef AH__HAVE_X86_KERNELS
/* The bounds of cells c[0..4) of a packed table (packed_cum.h): the
 * block headers by one gather, then 8 bytes holding both offsets of each
 * cell by another, shifted and masked as ah__packed_pair does. */
__attribute__((target("avx2"))) static inline void
packed_gather_avx2(const long long *head, const long long *bits, __m256i c,
                   __m128i *e, __m128i *t)
{
    const __m256i low32 = _mm256_set1_epi64x(0xffffffffll),
                  m63 = _mm256_set1_epi64x(63), m7 = _mm256_set1_epi64x(7),
                  inblock = _mm256_set1_epi64x(AH__PACK_BLOCK - 1),
                  one = _mm256_set1_epi64x(1),
                  split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i hb = _mm256_i64gather_epi64(head, _mm256_srli_epi64(c, AH__PACK_SHIFT), 8);
    __m256i base = _mm256_and_si256(hb, low32),
            ow = _mm256_srli_epi64(hb, 32),
            w = _mm256_and_si256(ow, m63);
    __m256i off = _mm256_add_epi64(
        _mm256_srli_epi64(ow, 6),
        _mm256_mul_epu32(_mm256_and_si256(c, inblock), w));
    __m256i word = _mm256_i64gather_epi64(bits, _mm256_srli_epi64(off, 3), 1);
    __m256i v = _mm256_srlv_epi64(word, _mm256_and_si256(off, m7));
    __m256i mask = _mm256_sub_epi64(_mm256_sllv_epi64(one, w), one);
    __m256i lo = _mm256_add_epi64(base, _mm256_and_si256(v, mask)),
            hi = _mm256_add_epi64(
                base, _mm256_and_si256(_mm256_srlv_epi64(v, w), mask));
    /* the low halves of lo's lanes, then of hi's */
    __m256i both = _mm256_permutevar8x32_epi32(
        _mm256_or_si256(lo, _mm256_slli_epi64(hi, 32)), split);
    *e = _mm256_castsi256_si128(both);
    *t = _mm256_extracti128_si256(both, 1);
}

/* Four values a step.  Cells are kept as 64-bit lanes so the masks of the
 * double compares select them directly. */
__attribute__((target("avx2"))) static size_t
count_avx2(const ah__grid *g, const double *x, size_t n, uint32_t *gt,
           uint32_t *ge, uint32_t *near, size_t *done)
{
    const __m256d lo = _mm256_set1_pd(g->lo), hi = _mm256_set1_pd(g->hi),
                  scale = _mm256_set1_pd(g->scale),
                  top = _mm256_set1_pd((double)(g->B - 1u)),
                  zero = _mm256_setzero_pd(),
                  glo = _mm256_set1_pd(g->guard),
                  ghi = _mm256_set1_pd(1.0 - g->guard);
    const __m256i two = _mm256_set1_epi64x(2),
                  clo = _mm256_set1_epi64x(g->clo),
                  chi = _mm256_set1_epi64x(g->chi),
                  above = _mm256_set1_epi64x((long long)g->B + 3);
    const long long *tab = (const long long *)(const void *)g->table;
    const __m128i sign = _mm_set1_epi32(INT32_MIN);
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m128i low16 = _mm_set1_epi32(0xffff);
    const int narrow = g->narrow != 0, packed = g->packed != 0;
    const int shift = g->stride == 2;
    /* a packed table: its headers, then its offsets (packed_cum.h) */
    const long long *pbits =
        packed ? (const long long *)(const void *)(
                     (const char *)g->table +
                     8u * ah__packed_blocks((size_t)g->B + 5u))
               : NULL;
    size_t nn = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v = _mm256_loadu_pd(x + i);
        __m256d f = _mm256_mul_pd(_mm256_sub_pd(v, lo), scale);
        /* max/min return the second operand on equality (and NaN), as
         * the scalar selects do */
        __m256d fc = _mm256_min_pd(_mm256_max_pd(f, zero), top);
        __m128i k32 = _mm256_cvttpd_epi32(fc);
        __m256d fr = _mm256_sub_pd(f, _mm256_cvtepi32_pd(k32));
        __m256i c = _mm256_add_epi64(_mm256_cvtepu32_epi64(k32), two);
        __m256d eqlo = _mm256_cmp_pd(v, lo, _CMP_EQ_OQ),
                eqhi = _mm256_cmp_pd(v, hi, _CMP_EQ_OQ),
                ltlo = _mm256_cmp_pd(v, lo, _CMP_LT_OQ),
                gthi = _mm256_cmp_pd(v, hi, _CMP_GT_OQ);
        c = _mm256_blendv_epi8(c, clo, _mm256_castpd_si256(eqlo));
        c = _mm256_blendv_epi8(c, chi, _mm256_castpd_si256(eqhi));
        c = _mm256_andnot_si256(_mm256_castpd_si256(ltlo), c);
        c = _mm256_blendv_epi8(c, above, _mm256_castpd_si256(gthi));
        __m256d inside = _mm256_and_pd(_mm256_cmp_pd(v, lo, _CMP_GT_OQ),
                                       _mm256_cmp_pd(v, hi, _CMP_LT_OQ));
        __m256d clear = _mm256_and_pd(_mm256_cmp_pd(fr, glo, _CMP_GT_OQ),
                                      _mm256_cmp_pd(fr, ghi, _CMP_LT_OQ));
        unsigned m =
            (unsigned)_mm256_movemask_pd(_mm256_andnot_pd(clear, inside));
        c = _mm256_slli_epi64(c, shift);
        /* one read gives both: {ge, gt} are adjacent */
        __m128i e, t;
        if (packed) {
            packed_gather_avx2(tab, pbits, c, &e, &t);
        } else if (narrow) {
            __m128i et = _mm256_i64gather_epi32((const int *)tab, c, 2);
            e = _mm_and_si128(et, low16);
            t = _mm_srli_epi32(et, 16);
        } else {
            __m256i et = _mm256_permutevar8x32_epi32(
                _mm256_i64gather_epi64(tab, c, 4), split);
            e = _mm256_castsi256_si128(et);
            t = _mm256_extracti128_si256(et, 1);
        }
        _mm_storeu_si128((__m128i *)(ge + i), e);
        _mm_storeu_si128((__m128i *)(gt + i), t);
        /* t > e (unsigned): a pair-table cell the exact path answers */
        m |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(
            _mm_xor_si128(t, sign), _mm_xor_si128(e, sign))));
        for (; m; m &= m - 1)
            near[nn++] = (uint32_t)(i + (size_t)__builtin_ctz(m));
    }
    *done = i;
    /* Leave no dirty upper register state: the callers are compiled
     * for plain SSE, and every SSE instruction after this point ran
     * several times slower here otherwise (GCC 12 added no vzeroupper
     * to these target-attribute functions). */
    _mm256_zeroupper();
    return nn;
}

/* Eight values a step, with mask registers. */
__attribute__((target("avx2,avx512f"))) static size_t
count_avx512(const ah__grid *g, const double *x, size_t n, uint32_t *gt,
             uint32_t *ge, uint32_t *near, size_t *done)
{
    const __m512d lo = _mm512_set1_pd(g->lo), hi = _mm512_set1_pd(g->hi),
                  scale = _mm512_set1_pd(g->scale),
                  top = _mm512_set1_pd((double)(g->B - 1u)),
                  zero = _mm512_setzero_pd(),
                  glo = _mm512_set1_pd(g->guard),
                  ghi = _mm512_set1_pd(1.0 - g->guard);
    const __m512i two = _mm512_set1_epi64(2),
                  clo = _mm512_set1_epi64(g->clo),
                  chi = _mm512_set1_epi64(g->chi),
                  above = _mm512_set1_epi64((long long)g->B + 3),
                  none = _mm512_setzero_si512();
    const void *tab = g->table;
    const __m256i sign = _mm256_set1_epi32(INT32_MIN),
                  low16 = _mm256_set1_epi32(0xffff);
    const int narrow = g->narrow != 0;
    const unsigned shift = g->stride == 2;
    size_t nn = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d v = _mm512_loadu_pd(x + i);
        __m512d f = _mm512_mul_pd(_mm512_sub_pd(v, lo), scale);
        __m512d fc = _mm512_min_pd(_mm512_max_pd(f, zero), top);
        __m256i k32 = _mm512_cvttpd_epi32(fc);
        __m512d fr = _mm512_sub_pd(f, _mm512_cvtepi32_pd(k32));
        __m512i c = _mm512_add_epi64(_mm512_cvtepu32_epi64(k32), two);
        c = _mm512_mask_mov_epi64(c, _mm512_cmp_pd_mask(v, lo, _CMP_EQ_OQ),
                                  clo);
        c = _mm512_mask_mov_epi64(c, _mm512_cmp_pd_mask(v, hi, _CMP_EQ_OQ),
                                  chi);
        c = _mm512_mask_mov_epi64(c, _mm512_cmp_pd_mask(v, lo, _CMP_LT_OQ),
                                  none);
        c = _mm512_mask_mov_epi64(c, _mm512_cmp_pd_mask(v, hi, _CMP_GT_OQ),
                                  above);
        __mmask8 inside = _mm512_cmp_pd_mask(v, lo, _CMP_GT_OQ) &
                          _mm512_cmp_pd_mask(v, hi, _CMP_LT_OQ);
        __mmask8 clear = _mm512_cmp_pd_mask(fr, glo, _CMP_GT_OQ) &
                         _mm512_cmp_pd_mask(fr, ghi, _CMP_LT_OQ);
        c = _mm512_slli_epi64(c, shift);
        /* one read gives both: {ge, gt} are adjacent */
        __m256i e, t;
        if (narrow) {
            __m256i et = _mm512_i64gather_epi32(c, tab, 2);
            e = _mm256_and_si256(et, low16);
            t = _mm256_srli_epi32(et, 16);
        } else {
            __m512i et = _mm512_i64gather_epi64(c, tab, 4);
            e = _mm512_cvtepi64_epi32(et);
            t = _mm512_cvtepi64_epi32(_mm512_srli_epi64(et, 32));
        }
        _mm256_storeu_si256((__m256i *)(ge + i), e);
        _mm256_storeu_si256((__m256i *)(gt + i), t);
        unsigned m = (unsigned)(inside & ~clear) & 0xffu;
        m |= (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_xor_si256(t, sign),
                               _mm256_xor_si256(e, sign))));
        for (; m; m &= m - 1)
            near[nn++] = (uint32_t)(i + (size_t)__builtin_ctz(m));
    }
    *done = i;
    /* Leave no dirty upper register state: the callers are compiled
     * for plain SSE, and every SSE instruction after this point ran
     * several times slower here otherwise (GCC 12 added no vzeroupper
     * to these target-attribute functions). */
    _mm256_zeroupper();
    return nn;
}
#endif

size_t ah__grid_count(const ah__grid *g, const double *x, size_t n,
                      uint32_t *gt, uint32_t *ge, uint32_t *near, int isa)
{
    int best = ah__isa_best();
    if (isa > best)
        isa = best;
    /* the vector kernels truncate to 32-bit signed cells */
    if (g->B > (1u << 30))
        isa = AH__ISA_SCALAR;
    if (g->packed && isa > AH__ISA_AVX2) /* packed: the AVX2 kernel */
        isa = AH__ISA_AVX2;
    size_t nn = 0, done = 0;
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        nn = count_avx512(g, x, n, gt, ge, near, &done);
    else if (isa == AH__ISA_AVX2)
        nn = count_avx2(g, x, n, gt, ge, near, &done);
#endif
    return nn + count_scalar(g, x, done, n, gt, ge, near + nn);
}
