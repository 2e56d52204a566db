/*
 * pair_keys.c - the group scan's pass over an input's p-value ranges
 * (pair_keys.h).
 *
 * Every group scan reads each input's ranges through it once (twice for
 * continuous p-values), and it was a third of the setup before it was
 * vectorised.  The scalar kernel writes every key and advances by the
 * test's result (keeping is a coin flip on clean inputs); the AVX-512 one
 * splits eight pairs into p_min and p_max vectors, keeps the pairs with a
 * compress, and checks the ranges with three unordered compares.
 */
#include "pair_keys.h"

#include "bytes.h"

#include <math.h>

#ifdef AH__HAVE_X86_KERNELS
#include <immintrin.h>
#endif

static size_t kept_scalar(const double *row, size_t j, size_t cols,
                          double amax, uint64_t *kb, uint32_t *jb, size_t k,
                          int *bad)
{
    int b = 0;
    for (; j < cols; j++) {
        double lo = row[2 * j], hi = row[2 * j + 1];
        /* NaN in either, outside [0, 1], or p_min > p_max */
        b |= !(lo >= 0.0) | !(lo <= hi) | !(hi <= 1.0);
        kb[k] = ah__key_of(hi);
        jb[k] = (uint32_t)j;
        k += hi <= amax;
    }
    *bad |= b;
    return k;
}

#ifdef AH__HAVE_X86_KERNELS
/* The vectors written at kb[k] and jb[k] end by slot j + 8 <= cols. */
__attribute__((target("avx2,avx512f"))) static size_t
kept_avx512(const double *row, size_t cols, double amax, uint64_t *kb,
            uint32_t *jb, size_t *jp, int *bad)
{
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14),
                  odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15),
                  sign = _mm512_set1_epi64(INT64_MIN),
                  step = _mm512_set1_epi32(8);
    const __m512d vam = _mm512_set1_pd(amax), zero = _mm512_setzero_pd(),
                  one = _mm512_set1_pd(1.0);
    __m512i jv = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13, 14, 15);
    __mmask8 badm = 0;
    size_t j = 0, k = 0;
    for (; j + 8 <= cols; j += 8) {
        __m512d a = _mm512_loadu_pd(row + 2 * j),
                b = _mm512_loadu_pd(row + 2 * j + 8);
        __m512d lo = _mm512_permutex2var_pd(a, even, b),
                hi = _mm512_permutex2var_pd(a, odd, b);
        __mmask8 keep = _mm512_cmp_pd_mask(hi, vam, _CMP_LE_OQ);
        /* ah__key_of: ~u for negative values, u with the sign bit else */
        __m512i u = _mm512_castpd_si512(hi);
        __m512i key = _mm512_xor_si512(
            u, _mm512_or_si512(_mm512_srai_epi64(u, 63), sign));
        badm |= _mm512_cmp_pd_mask(lo, hi, _CMP_NLE_UQ) |
                _mm512_cmp_pd_mask(lo, zero, _CMP_NGE_UQ) |
                _mm512_cmp_pd_mask(hi, one, _CMP_NLE_UQ);
        _mm512_storeu_si512((void *)(kb + k),
                            _mm512_maskz_compress_epi64(keep, key));
        _mm256_storeu_si256(
            (__m256i *)(void *)(jb + k),
            _mm512_castsi512_si256(
                _mm512_maskz_compress_epi32((__mmask16)keep, jv)));
        jv = _mm512_add_epi32(jv, step);
        k += (size_t)__builtin_popcount(keep);
    }
    *bad |= badm != 0;
    *jp = j;
    _mm256_zeroupper(); /* see grid_count.c */
    return k;
}
#endif

size_t ah__pairs_kept(const double *row, size_t cols, double amax,
                      uint64_t *kb, uint32_t *jb, int *bad, int isa)
{
    size_t j = 0, k = 0;
    if (isa > ah__isa_best())
        isa = ah__isa_best();
#ifdef AH__HAVE_X86_KERNELS
    if (isa == AH__ISA_AVX512)
        k = kept_avx512(row, cols, amax, kb, jb, &j, bad);
#endif
    return kept_scalar(row, j, cols, amax, kb, jb, k, bad);
}
