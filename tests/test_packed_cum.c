/*
 * test_packed_cum.c - the bit-packed cumulative counts (src/packed_cum.h)
 * against the plain array they pack: every entry, every pair of
 * neighbours, the size, and the sequences that must stay unpacked.
 */
#include "check.h"
#include "packed_cum.h"

#include <string.h>

/* A nonincreasing sequence of n counts: steps of up to `step`, a share
 * `empty` of them zero (the empty bins of a sparse histogram). */
static void make_counts(uint32_t *v, size_t n, uint32_t step, double empty,
                        uint64_t *rng)
{
    uint64_t total = 0;
    uint32_t *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) {
        int zero = check_rand_unit(rng) < empty;
        d[i] = zero || step == 0 ? 0 : (uint32_t)(check_rand_u64(rng) % step);
    }
    for (size_t i = n; i-- > 0;) { /* suffix sums: nonincreasing */
        total += d[i];
        v[i] = (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total);
    }
    free(d);
}

static void check_one(const uint32_t *v, size_t n, const char *what)
{
    size_t bytes = ah__packed_bytes(v, n);
    CHECK(bytes != SIZE_MAX, "%s: n = %zu refused", what, n);
    if (bytes == SIZE_MAX)
        return;
    uint32_t *t = malloc(bytes + 4);
    memset(t, 0xa5, bytes + 4);
    ah__packed_write(v, n, t, bytes);
    CHECK(ah__packed_size(t, n) == bytes, "%s: size %zu, planned %zu", what,
          ah__packed_size(t, n), bytes);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += ah__packed_get(t, n, i) != v[i];
        if (i + 1 < n) {
            uint32_t a, b;
            ah__packed_pair(t, n, i, &a, &b);
            bad += a != v[i] || b != v[i + 1];
        }
    }
    CHECK(bad == 0, "%s: n = %zu, %zu entries differ", what, n, bad);
    free(t);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    static uint32_t v[70000];
    /* lengths around the block size, densities from empty to wide */
    const size_t lens[] = {1, 2, 5, 63, 64, 65, 66, 127, 128, 129, 130,
                           1000, 3077, 65541};
    const uint32_t steps[] = {0, 1, 2, 7, 300, 1u << 20};
    const double empties[] = {0.0, 0.5, 0.95};
    for (size_t a = 0; a < sizeof lens / sizeof *lens; a++)
        for (size_t b = 0; b < sizeof steps / sizeof *steps; b++)
            for (size_t c = 0; c < 3; c++) {
                char what[64];
                snprintf(what, sizeof what, "step %u empty %.2f", steps[b],
                         empties[c]);
                make_counts(v, lens[a], steps[b], empties[c], &rng);
                if (lens[a] * (uint64_t)steps[b] < (1u << 26) / 65)
                    check_one(v, lens[a], what);
            }
    /* the widest offsets a block may hold, 28 bits */
    for (size_t i = 0; i < 200; i++)
        v[i] = (uint32_t)((200 - i) * ((1u << 28) - 1) / 200);
    v[0] = (1u << 28) - 1;
    v[64] = 0; /* block 0 spans entries 0..64: offsets up to 2^28 - 1 */
    for (size_t i = 65; i < 200; i++)
        v[i] = 0;
    check_one(v, 200, "28-bit offsets");
    /* more than 28 bits in a block, or an increase: not packed */
    v[0] = 1u << 28;
    CHECK(ah__packed_bytes(v, 200) == SIZE_MAX, "29-bit offset packed");
    v[0] = 5, v[1] = 6;
    CHECK(ah__packed_bytes(v, 2) == SIZE_MAX, "an increase packed");
    /* an empty tail costs its block headers alone */
    memset(v, 0, 6400 * sizeof *v);
    v[0] = 3;
    CHECK(ah__packed_bytes(v, 6400) == 8 * 100 + (65 * 2 + 7) / 8 + 8,
          "an empty tail: %zu bytes", ah__packed_bytes(v, 6400));
    return check_done("test_packed_cum");
}
