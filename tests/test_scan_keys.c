/*
 * test_scan_keys.c - the vector kernels of src/scan_keys.c (pass 1 of the
 * individual scan) against the scalar one.
 *
 * Every kernel this CPU runs gets the same runs as the scalar kernel and
 * must keep the same keys in the same order, report the same count, the
 * same "a value is <= 0" bit, the same NaN verdict and the same "a value
 * is above 1" flag (checked against its definition).  Runs mix values
 * below, at and above alpha_max, 0 and -0.0, negative values, subnormals,
 * 1, infinities and NaN (with either sign), start at every offset and
 * have every length from 0 to 70, plus long runs; alpha_max takes the
 * usual 0.5 and extreme values.
 *
 * The bucket and gather kernels (passes 2 and 4) get the same treatment:
 * keys of every kind, bucket layouts of every size the scan uses, 1 to 4
 * ranges that may wrap around or cover everything, every length 0-70.  So
 * does the block kernel of the walk (pass 3): chords of top blocks and
 * others, infinite upper bounds, empty buckets, bounds around lb.
 */
#include "check.h"
#include "scan_bounds.h"
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
    case 14: return u < 0.5 ? DBL_MAX : 1.0 + u; /* above 1, or just */
    default: return u * u * u;
    }
}

/* A key as the scan sees one: mostly of values in (0, 0.5], some of any
 * bits at all. */
static uint64_t any_key(uint64_t *rng)
{
    if (check_rand_u64(rng) % 4 == 0)
        return check_rand_u64(rng) >> (check_rand_u64(rng) % 64);
    return bits(0.5 * check_rand_unit(rng)) - 1;
}

static size_t check_bucket_and_gather(uint64_t *rng, uint64_t *k0,
                                      uint64_t *k1)
{
    uint16_t i0[N], i1[N];
    size_t bad = 0;
    for (int trial = 0; trial < 600; trial++) {
        size_t len = trial < 71 ? (size_t)trial : check_rand_u64(rng) % N;
        for (size_t i = 0; i < len; i++)
            k0[i] = any_key(rng);
        /* bucket layouts as find_runs draws them (rf 3-10, deep tier up
         * to 641 buckets), or f0 anywhere */
        uint64_t f0 = trial % 5 ? (bits(0.25) - 1) >> 52 << 52
                                : check_rand_u64(rng);
        int rf = 3 + (int)(check_rand_u64(rng) % 8), sf = 52 - rf, sd = 48;
        uint64_t nf = ((uint64_t)2 << rf) - check_rand_u64(rng) % 3,
                 dmax = check_rand_u64(rng) % 641;
        ah__keys_bucket(k0, len, f0, sf, sd, nf, dmax, i0, AH__ISA_SCALAR);
        for (int isa = 1; isa <= ah__isa_best(); isa++) {
            memset(i1, 0x5a, sizeof i1);
            ah__keys_bucket(k0, len, f0, sf, sd, nf, dmax, i1, isa);
            if (memcmp(i0, i1, len * sizeof *i0) && bad++ < 5)
                CHECK(0, "bucket run %d (len %zu) kernel %d differs", trial,
                      len, isa);
        }
        /* the scalar bucket rule itself, written out once more */
        for (size_t i = 0; i < len; i++) {
            uint64_t d = k0[i] - f0, t = d >> sf, e = ~d >> sd;
            e = nf + (e < dmax ? e : dmax);
            if (i0[i] != (uint16_t)(t < e ? t : e) && bad++ < 5)
                CHECK(0, "bucket of key %zu is %u", i, (unsigned)i0[i]);
        }

        uint64_t lo[4], span[4];
        int nr = 1 + (int)(check_rand_u64(rng) % 4);
        for (int q = 0; q < nr; q++) {
            uint64_t a = len ? k0[check_rand_u64(rng) % len] : 0,
                     b = len ? k0[check_rand_u64(rng) % len] : 0;
            lo[q] = a < b ? a : b;
            span[q] = (a < b ? b : a) - lo[q];
            if (check_rand_u64(rng) % 10 == 0) /* wraps or takes all */
                span[q] = check_rand_u64(rng) % 2 ? UINT64_MAX
                                                  : check_rand_u64(rng);
        }
        size_t g0, g1;
        memcpy(k1, k0, len * sizeof *k0);
        g0 = ah__keys_gather(k0, len, lo, span, nr, AH__ISA_SCALAR);
        size_t want = 0;
        for (size_t i = 0; i < len; i++) {
            int in = 0;
            for (int q = 0; q < nr; q++)
                in |= k1[i] - lo[q] <= span[q];
            if (in && k0[want++] != k1[i] && bad++ < 5)
                CHECK(0, "gather run %d: key %zu out of place", trial, i);
        }
        if (want != g0 && bad++ < 5)
            CHECK(0, "gather run %d: kept %zu, want %zu", trial, g0, want);
        for (int isa = 1; isa <= ah__isa_best(); isa++) {
            uint64_t *k2 = k1 + N + 16;
            memcpy(k2, k1, len * sizeof *k1);
            g1 = ah__keys_gather(k2, len, lo, span, nr, isa);
            if ((g1 != g0 || memcmp(k0, k2, g0 * sizeof *k0)) && bad++ < 5)
                CHECK(0, "gather run %d (len %zu, %d ranges) kernel %d: "
                         "%zu vs %zu kept", trial, len, nr, isa, g1, g0);
        }
    }
    return bad;
}

static size_t check_block_keep(uint64_t *rng)
{
    size_t bad = 0;
    for (int trial = 0; trial < 20000; trial++) {
        chord_t c;
        uint32_t cnt[16], nofu = 0;
        uint64_t sum = 0;
        int top = trial % 4 == 0, sparse = trial % 3 == 0;
        for (int k = 0; k < 16; k++) {
            cnt[k] = sparse && check_rand_u64(rng) % 2
                         ? 0
                         : (uint32_t)(check_rand_u64(rng) % 9);
            sum += cnt[k];
        }
        c.u0 = trial % 17 == 0 ? INFINITY : 0.5 + 3.0 * check_rand_unit(rng);
        c.du = -0.1 * check_rand_unit(rng);
        c.l0 = (c.u0 < INFINITY ? c.u0 : 2.0) - 0.01 * check_rand_unit(rng);
        c.dl = -0.1 * check_rand_unit(rng);
        if (trial % 29 == 0)
            c.l0 = -INFINITY; /* a block reaching 0 */
        c.iu = 1.0 / 16;
        c.h1w = top ? 16.0 * check_rand_unit(rng) : 16.0;
        c.il = top ? 1.0 / c.h1w : c.iu;
        if (trial % 5 == 0)
            nofu = (uint32_t)(check_rand_u64(rng) & 0xffff);
        uint64_t ctop = sum + check_rand_u64(rng) % 3000;
        uint64_t L = check_rand_u64(rng) % (ctop + 2);
        double lb = (double)ctop * 2.0 * check_rand_unit(rng);
        if (trial % 4 == 1) { /* lb exactly at one bucket's bound */
            int kk = (int)(check_rand_u64(rng) % 16);
            uint64_t Ck = ctop;
            for (int k = 15; k > kk; k--)
                Ck -= cnt[k];
            lb = (double)Ck * chord_fu(&c, kk) * (1.0 + AH__SCAN_MARGIN);
        }
        double v0, v1;
        uint32_t k0 = ah__block_keep(&c, cnt, ctop, L, nofu, lb, &v0,
                                     AH__ISA_SCALAR);
        /* the scalar kernel against the rule written out once more */
        uint64_t C = ctop;
        uint32_t want = 0;
        double vw = 0.0;
        for (int k = 15; k >= 0; k--) {
            double fu = nofu >> k & 1 ? INFINITY : chord_fu(&c, k);
            double v = (double)C * chord_fl(&c, k);
            if (C > L && v > vw)
                vw = v;
            if (cnt[k] && !((double)C * fu * (1.0 + AH__SCAN_MARGIN) < lb))
                want |= 1u << k;
            C -= cnt[k];
        }
        if ((k0 != want || v0 != vw) && bad++ < 5)
            CHECK(0, "block %d: scalar keep %x vmax %.17g, want %x %.17g",
                  trial, k0, v0, want, vw);
        for (int isa = 1; isa <= ah__isa_best(); isa++) {
            uint32_t k1 = ah__block_keep(&c, cnt, ctop, L, nofu, lb, &v1, isa);
            if ((k1 != k0 || v1 != v0) && bad++ < 5)
                CHECK(0, "block %d kernel %d: keep %x vmax %.17g, scalar %x "
                         "%.17g", trial, isa, k1, v1, k0, v0);
        }
    }
    return bad;
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *p = malloc(N * sizeof *p);
    uint64_t *k0 = malloc((N + 16) * sizeof *k0),
             *k1 = malloc(2 * (N + 16) * sizeof *k1);
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
            int above_ref = 0, want_above = 0;
            memset(k0, 0x5a, (N + 16) * sizeof *k0);
            ah__keys_copy(p, off, off + len, ka, k0, &m_ref, s_ref, &neg_ref,
                          &above_ref, AH__ISA_SCALAR);
            int nan_ref = isnan(s_ref[0] + s_ref[1] + s_ref[2] + s_ref[3]);
            int has_nan = 0;
            for (size_t i = off; i < off + len; i++) {
                has_nan |= isnan(p[i]) != 0;
                want_above |= !signbit(p[i]) && !(p[i] <= 1.0);
            }
            CHECK(above_ref == want_above, "scalar: above %d, want %d (run "
                  "%d)", above_ref, want_above, trial);
            for (int isa = 1; isa <= ah__isa_best(); isa++) {
                size_t m = m0;
                double s[4] = {0, 0, 0, 0};
                uint64_t neg = 0;
                int above = 0;
                memset(k1, 0x5a, (N + 16) * sizeof *k1);
                ah__keys_copy(p, off, off + len, ka, k1, &m, s, &neg, &above,
                              isa);
                int nan = isnan(s[0] + s[1] + s[2] + s[3]);
                /* either both flag, or neither sees a NaN (the scalar sums
                 * also flag +inf with -inf; the caller then looks) */
                int same = m == m_ref &&
                           !memcmp(k0 + m0, k1 + m0, (m - m0) * sizeof *k0) &&
                           (neg >> 63) == (neg_ref >> 63) &&
                           above == above_ref &&
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
    bad = check_bucket_and_gather(&rng, k0, k1);
    CHECK(bad == 0, "%zu bucket or gather runs differ", bad);
    bad = check_block_keep(&rng);
    CHECK(bad == 0, "%zu blocks differ", bad);
    free(p);
    free(k0);
    free(k1);
    return check_done("test_scan_keys");
}
