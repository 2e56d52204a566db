/*
 * test_pair_keys.c - the vector kernel of src/pair_keys.c (the group
 * scan's pass over an input's p-value ranges) against the scalar one.
 *
 * Rows mix ordinary ranges with p_max at, just above and just below
 * alpha_max, zeros of either sign, negative values, infinities, NaN in
 * either end and p_min > p_max; every length from 0 to 70 and long rows.
 * Every kernel this CPU runs must keep the same keys and nodes in the same
 * order, return the same count and give the same verdict on bad ranges
 * (NaN, a value outside [0, 1], p_min > p_max); the scalar kernel's keys
 * and verdict are checked against ah__key_of and the definition.
 */
#include "bytes.h"
#include "check.h"
#include "pair_keys.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 3000 };

static double pick(uint64_t *rng, double amax)
{
    double u = check_rand_unit(rng);
    switch (check_rand_u64(rng) % 12) {
    case 0: return amax;
    case 1: return nextafter(amax, 2.0);
    case 2: return nextafter(amax, -1.0);
    case 3: return 0.0;
    case 4: return -0.0;
    case 5: return -u;
    case 6: return INFINITY;
    case 7: return -INFINITY;
    default: return u;
    }
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *row = malloc(2 * N * sizeof *row);
    uint64_t *k0 = malloc(N * sizeof *k0), *k1 = malloc(N * sizeof *k1);
    uint32_t *j0 = malloc(N * sizeof *j0), *j1 = malloc(N * sizeof *j1);
    if (!row || !k0 || !k1 || !j0 || !j1)
        return 2;
    const double amaxes[] = {0.5, 1.0, 1e-300, 0.0};
    size_t bad = 0, runs = 0;
    printf("kernels here: scalar through %d (0 scalar, 1 AVX2, 2 AVX-512)\n",
           ah__isa_best());
    for (size_t a = 0; a < sizeof amaxes / sizeof *amaxes; a++) {
        double amax = amaxes[a];
        for (int trial = 0; trial < 300; trial++) {
            size_t cols = trial < 71 ? (size_t)trial
                                     : check_rand_u64(&rng) % N;
            int odd = trial % 3; /* a third of the rows are all good */
            for (size_t j = 0; j < cols; j++) {
                double hi = odd ? pick(&rng, amax) : check_rand_unit(&rng);
                double lo = hi * check_rand_unit(&rng);
                if (odd && check_rand_u64(&rng) % 40 == 0)
                    lo = check_rand_u64(&rng) % 2 ? NAN : hi + 1.0;
                if (odd && check_rand_u64(&rng) % 60 == 0)
                    hi = NAN;
                if (!(lo <= hi) && !isnan(lo) && !isnan(hi) && hi <= 0)
                    lo = hi; /* negative hi: bad for its sign alone */
                row[2 * j] = lo;
                row[2 * j + 1] = hi;
            }
            int b0 = 0, want_bad = 0;
            size_t m0 = ah__pairs_kept(row, cols, amax, k0, j0, &b0,
                                       AH__ISA_SCALAR), want = 0;
            for (size_t j = 0; j < cols; j++) {
                double lo = row[2 * j], hi = row[2 * j + 1];
                want_bad |= isnan(lo) || isnan(hi) || lo > hi || lo < 0 ||
                            hi > 1;
                if (hi <= amax) {
                    if ((want >= m0 || k0[want] != ah__key_of(hi) ||
                         j0[want] != j) && bad++ < 5)
                        CHECK(0, "scalar: pair %zu of row %d", j, trial);
                    want++;
                }
            }
            if ((want != m0 || b0 != want_bad) && bad++ < 5)
                CHECK(0, "scalar: row %d kept %zu (want %zu), bad %d (%d)",
                      trial, m0, want, b0, want_bad);
            for (int isa = 1; isa <= ah__isa_best(); isa++) {
                int b1 = 0;
                memset(k1, 0x5a, N * sizeof *k1);
                memset(j1, 0x5a, N * sizeof *j1);
                size_t m1 = ah__pairs_kept(row, cols, amax, k1, j1, &b1, isa);
                if ((m1 != m0 || b1 != b0 ||
                     memcmp(k0, k1, m0 * sizeof *k0) ||
                     memcmp(j0, j1, m0 * sizeof *j0)) &&
                    bad++ < 5)
                    CHECK(0, "amax %g row %d (%zu pairs) kernel %d: kept "
                             "%zu vs %zu, bad %d vs %d", amax, trial, cols,
                          isa, m1, m0, b1, b0);
                runs++;
            }
        }
    }
    CHECK(bad == 0, "%zu rows differ", bad);
    printf("kernel runs checked: %zu\n", runs);
    free(row);
    free(k0);
    free(k1);
    free(j0);
    free(j1);
    return check_done("test_pair_keys");
}
