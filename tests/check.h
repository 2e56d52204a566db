/*
 * check.h - the minimal test harness shared by tests/test_*.c.
 *
 * Each test binary counts checks and ends with "N passed, N failed"; the
 * runner (tests/run.sh) adds the binaries up.  Random tests take their seed
 * from AH_TEST_SEED (default fixed) and print it when a check fails.
 */
#ifndef AH_CHECK_H
#define AH_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;
static uint64_t check_seed = 0x5eed5eedULL;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s (seed %" PRIu64 "): ", __FILE__, \
                    __LINE__, #cond, check_seed);                            \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

static inline void check_init(void)
{
    const char *s = getenv("AH_TEST_SEED");
    if (s && *s)
        check_seed = strtoull(s, NULL, 0);
}

static inline int check_done(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* splitmix64: a small, seedable generator for reproducible random tests. */
static inline uint64_t check_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double check_rand_unit(uint64_t *state)
{
    return (double)(check_rand_u64(state) >> 11) * 0x1.0p-53;
}

#endif
