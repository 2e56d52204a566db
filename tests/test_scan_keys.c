/*
 * test_scan_keys.c - the vector kernels of src/scan_keys.c (pass 1 of the
 * individual scan) against the scalar one.
 *
 * Every kernel this CPU runs gets the same runs as the scalar kernel and
 * must keep the same keys in the same order, report the same count, the
 * same "a value is <= 0" bit and the same NaN verdict.  Runs mix values
 * below, at and above alpha_max, 0 and -0.0, negative values, subnormals,
 * 1, infinities and NaN (with either sign), start at every offset and
 * have every length from 0 to 70, plus long runs; alpha_max takes the
 * usual 0.5 and extreme values.
 */
#include "check.h"
#include "scan_keys.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 5000 };

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double pick(uint64_t *rng, double amax, int mix)
{
    double u = check_rand_unit(rng);
    switch (check_rand_u64(rng) % (mix ? 16 : 4)) {
    case 0: return u;
    case 1: return amax * u;
    case 2: return amax;
    case 3: return nextafter(amax, 2.0);
    case 4: return 0.0;
    case 5: return -0.0;
    case 6: return -u;
    case 7: return 1.0;
    case 8: return 4.9e-324 * (double)(1 + check_rand_u64(rng) % 100);
    case 9: return INFINITY;
    case 10: return -INFINITY;
    case 11: return NAN;
    case 12: return -NAN;
    case 13: return nextafter(amax, 0.0);
    case 14: return DBL_MAX;
    default: return u * u * u;
    }
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *p = malloc(N * sizeof *p);
    uint64_t *k0 = malloc((N + 16) * sizeof *k0),
             *k1 = malloc((N + 16) * sizeof *k1);
    if (!p || !k0 || !k1)
        return 2;
    const double amaxes[] = {0.5, 1.0 - 0x1p-53, 1e-300, 0.25, 0.999};
    size_t runs = 0, bad = 0;
    printf("kernels here: scalar through %d (0 scalar, 1 AVX2, 2 AVX-512)\n",
           ah__isa_best());
    for (size_t a = 0; a < sizeof amaxes / sizeof *amaxes; a++) {
        uint64_t ka = bits(amaxes[a]);
        for (int trial = 0; trial < 400; trial++) {
            int mix = trial % 3 != 0; /* a third of the runs are clean */
            size_t len = trial < 71        ? (size_t)trial
                         : trial % 50 == 0 ? N - 8
                                           : check_rand_u64(&rng) % 300;
            size_t off = (size_t)(check_rand_u64(&rng) % 8);
            for (size_t i = 0; i < off + len; i++) {
                int odd = mix && check_rand_u64(&rng) % 8 == 0;
                p[i] = pick(&rng, amaxes[a], odd);
            }
            /* the caller's state going in: some keys already kept */
            size_t m0 = (size_t)(check_rand_u64(&rng) % 4);
            size_t m_ref = m0;
            double s_ref[4] = {0, 0, 0, 0};
            uint64_t neg_ref = 0;
            memset(k0, 0x5a, (N + 16) * sizeof *k0);
            ah__keys_copy(p, off, off + len, ka, k0, &m_ref, s_ref, &neg_ref,
                          AH__ISA_SCALAR);
            int nan_ref = isnan(s_ref[0] + s_ref[1] + s_ref[2] + s_ref[3]);
            int has_nan = 0;
            for (size_t i = off; i < off + len; i++)
                has_nan |= isnan(p[i]) != 0;
            for (int isa = 1; isa <= ah__isa_best(); isa++) {
                size_t m = m0;
                double s[4] = {0, 0, 0, 0};
                uint64_t neg = 0;
                memset(k1, 0x5a, (N + 16) * sizeof *k1);
                ah__keys_copy(p, off, off + len, ka, k1, &m, s, &neg, isa);
                int nan = isnan(s[0] + s[1] + s[2] + s[3]);
                /* either both flag, or neither sees a NaN (the scalar sums
                 * also flag +inf with -inf; the caller then looks) */
                int same = m == m_ref &&
                           !memcmp(k0 + m0, k1 + m0, (m - m0) * sizeof *k0) &&
                           (neg >> 63) == (neg_ref >> 63) &&
                           (nan == nan_ref || (!has_nan && !nan));
                if (!same && bad++ < 5)
                    CHECK(0, "amax %g run %d (len %zu, off %zu) kernel %d: "
                             "m %zu vs %zu, neg %d vs %d, nan %d vs %d",
                          amaxes[a], trial, len, off, isa, m, m_ref,
                          (int)(neg >> 63), (int)(neg_ref >> 63), nan,
                          nan_ref);
                CHECK(!has_nan || nan, "kernel %d missed a NaN", isa);
                runs++;
            }
        }
    }
    CHECK(bad == 0, "%zu of %zu runs differ from the scalar kernel", bad,
          runs);
    printf("runs checked: %zu\n", runs);
    free(p);
    free(k0);
    free(k1);
    return check_done("test_scan_keys");
}
