/*
 * test_counts_codec.c - the three encodings of histogram counts.
 *
 * Every encoding (and Rice parameters 0..30) round-trips random count
 * arrays of the shapes real nodes have: smooth densities, long empty
 * tails, lone spikes, counts near 2^32, n = 0 and 1.  The chosen plan is
 * the smallest of the three and its size is what is written.  Truncated
 * streams are rejected, and random corruptions never read out of bounds
 * (the sanitizer run checks that) nor decode counts outside 32 bits.
 */
#include "check.h"
#include "counts_codec.h"

#include <math.h>
#include <string.h>

enum { NMAX = 5000 };

static void make_counts(uint32_t *c, uint32_t n, int shape, uint64_t *rng)
{
    for (uint32_t i = 0; i < n; i++) {
        double u = check_rand_unit(rng), t = (double)i / (n ? n : 1);
        switch (shape) {
        case 0: /* smooth: a decaying density with noise */
            c[i] = (uint32_t)(400.0 * exp(-6.0 * t) * (0.8 + 0.4 * u));
            break;
        case 1: /* a dense head, then an empty tail with rare ones */
            c[i] = t < 0.1 ? (uint32_t)(3000 * u) : (u < 0.01 ? 1 : 0);
            break;
        case 2: /* spikes */
            c[i] = u < 0.05 ? (uint32_t)(check_rand_u64(rng) >> 40) : 2;
            break;
        case 3: /* extremes */
            c[i] = u < 0.5 ? UINT32_MAX - (uint32_t)(u * 10) : (uint32_t)(u * 3);
            break;
        default: /* all zero */
            c[i] = 0;
        }
    }
}

/* ah__counts_read_sized's size against the writer's plan of the counts
 * read: on what the writer wrote, on corrupted streams of every encoding
 * (whatever decodes), and on streams coded more loosely than the writer
 * codes them, where the bytes read are more than the writer's. */
static void test_written(uint64_t *rng)
{
    static uint32_t c[NMAX], back[NMAX];
    static unsigned char buf[NMAX * 16], mut[NMAX * 16];
    size_t wrong = 0, tried = 0, decoded = 0;
    for (int t = 0; t < 6000; t++) {
        uint32_t n = (uint32_t)(check_rand_u64(rng) % 300);
        int enc = (int)(check_rand_u64(rng) % (AH__COUNTS_RICE + 1));
        unsigned k = enc == AH__COUNTS_RICE
                         ? (unsigned)(check_rand_u64(rng) % 31) : 0;
        make_counts(c, n, (int)(check_rand_u64(rng) % 5), rng);
        ah__counts_plan pl = ah__counts_plan_with(enc, k, c, n);
        size_t len = (size_t)(ah__counts_write(&pl, c, n, buf) - buf);
        memcpy(mut, buf, len);
        if (t % 2 && len > 1)
            for (int f = 0; f < 1 + t % 3; f++)
                mut[(enc == AH__COUNTS_RICE) + check_rand_u64(rng) %
                                                   (len - 1)] ^=
                    (unsigned char)(1u << (check_rand_u64(rng) % 8));
        size_t written = 0;
        const unsigned char *r =
            ah__counts_read_sized(enc, mut, mut + len, back, n, &written);
        tried++;
        if (!r)
            continue;
        decoded++;
        ah__counts_plan again = ah__counts_plan_with(enc, k, back, n);
        wrong += written != again.bytes || (t % 2 == 0 && written != len);
    }
    CHECK(wrong == 0 && decoded > tried / 2,
          "%zu of %zu decoded streams sized unlike the writer's plan",
          wrong, decoded);
    /* loose codings, each read in full and sized as the writer codes it:
     * 5 as a two-byte varint; zeros as two runs of 2 (writer: one of 4);
     * 1 escaped with k = 0 (writer: 2 bits) */
    uint32_t three[4];
    unsigned char varint5[2] = {0x85, 0x00};
    size_t w = 0;
    CHECK(ah__counts_read_sized(AH__COUNTS_PLAIN, varint5, varint5 + 2,
                                three, 1, &w) == varint5 + 2 &&
              three[0] == 5 && w == 1,
          "a two-byte 5 sized %zu", w);
    unsigned char runs[4] = {0, 1, 0, 1};
    CHECK(ah__counts_read_sized(AH__COUNTS_ZERO_RUNS, runs, runs + 4, three,
                                4, &w) == runs + 4 &&
              w == ah__counts_plan_with(AH__COUNTS_ZERO_RUNS, 0, three, 4)
                       .bytes && w == 2,
          "two zero runs sized %zu", w);
    /* k = 0; 24 one-bits, then 34 bits of the zigzag delta 2 (count 1) */
    unsigned char esc[9] = {0, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0};
    CHECK(ah__counts_read_sized(AH__COUNTS_RICE, esc, esc + 9, three, 1,
                                &w) == esc + 9 &&
              three[0] == 1 && w == 2,
          "an escaped 1 read as %u, sized %zu", three[0], w);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    static uint32_t c[NMAX], back[NMAX];
    static unsigned char buf[NMAX * 16];
    static const uint32_t sizes[] = {0, 1, 2, 7, 64, 2048, NMAX};
    size_t bad_trip = 0, bad_size = 0, bad_best = 0, trips = 0;
    for (int shape = 0; shape < 5; shape++)
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            uint32_t n = sizes[si];
            make_counts(c, n, shape, &rng);
            ah__counts_plan best = ah__counts_plan_for(c, n);
            for (int enc = 0; enc <= AH__COUNTS_RICE; enc++)
                for (unsigned k = 0; k <= (enc == AH__COUNTS_RICE ? 30u : 0u);
                     k++) {
                    ah__counts_plan pl = ah__counts_plan_with(enc, k, c, n);
                    memset(buf, 0xA5, sizeof buf);
                    unsigned char *end = ah__counts_write(&pl, c, n, buf);
                    bad_size += (size_t)(end - buf) != pl.bytes;
                    bad_best += pl.bytes < best.bytes;
                    memset(back, 0xFF, sizeof back);
                    const unsigned char *r =
                        ah__counts_read(enc, buf, end, back, n);
                    bad_trip += r != end || memcmp(back, c, n * sizeof *c);
                    trips++;
                    /* every truncation of a non-empty stream fails */
                    if (n > 0 && pl.bytes > 0 && (k % 7 == 0)) {
                        size_t ok = 0;
                        for (size_t cut = 0; cut < pl.bytes; cut += 1 + cut / 8)
                            ok += ah__counts_read(enc, buf, buf + cut, back,
                                                  n) != NULL;
                        CHECK(ok == 0, "shape %d n %u enc %d k %u: %zu "
                              "truncations accepted", shape, n, enc, k, ok);
                    }
                }
        }
    CHECK(bad_trip == 0, "%zu of %zu round trips differ", bad_trip, trips);
    CHECK(bad_size == 0, "%zu plans mispredict their size", bad_size);
    CHECK(bad_best == 0, "%zu encodings beat the chosen plan", bad_best);

    /* Corrupt Rice streams: decode or fail, but every count stays a
     * 32-bit count and reading stays in bounds. */
    make_counts(c, 2048, 0, &rng);
    ah__counts_plan pl = ah__counts_plan_with(AH__COUNTS_RICE, 3, c, 2048);
    unsigned char *end = ah__counts_write(&pl, c, 2048, buf);
    size_t len = (size_t)(end - buf), decoded = 0;
    static unsigned char mut[NMAX * 16];
    for (int t = 0; t < 2000; t++) {
        memcpy(mut, buf, len);
        for (int f = 0; f < 1 + t % 4; f++)
            mut[check_rand_u64(&rng) % len] ^=
                (unsigned char)(1u << (check_rand_u64(&rng) % 8));
        decoded += ah__counts_read(AH__COUNTS_RICE, mut, mut + len, back,
                                   2048) != NULL;
    }
    CHECK(decoded < 2000, "every corruption decoded (%zu)", decoded);

    /* The word reader against the bit-at-a-time reference: the same end
     * (or the same refusal) and the same counts, on valid streams of every
     * shape and k, their truncations, and corrupted ones. */
    static uint32_t ref[NMAX];
    size_t differ = 0, compared = 0;
    for (int t = 0; t < 3000; t++) {
        uint32_t n = (uint32_t)(check_rand_u64(&rng) % 700);
        make_counts(c, n, (int)(check_rand_u64(&rng) % 5), &rng);
        unsigned k = (unsigned)(check_rand_u64(&rng) % 31);
        ah__counts_plan pk = ah__counts_plan_with(AH__COUNTS_RICE, k, c, n);
        unsigned char *e = ah__counts_write(&pk, c, n, buf);
        size_t blen = (size_t)(e - buf);
        memcpy(mut, buf, blen);
        if (t % 3 == 1 && blen > 1) /* flip bits */
            for (int f = 0; f < 1 + t % 5; f++)
                mut[1 + check_rand_u64(&rng) % (blen - 1)] ^=
                    (unsigned char)(1u << (check_rand_u64(&rng) % 8));
        if (t % 3 == 2 && blen > 0) /* cut */
            blen = check_rand_u64(&rng) % blen;
        memset(back, 0xEE, n * sizeof *back);
        memset(ref, 0xEE, n * sizeof *ref);
        const unsigned char *a = ah__counts_read(AH__COUNTS_RICE, mut,
                                                 mut + blen, back, n);
        const unsigned char *b = ah__rice_read_bitwise(mut, mut + blen, ref, n);
        differ += a != b || (a && memcmp(back, ref, n * sizeof *ref));
        compared++;
    }
    CHECK(differ == 0, "%zu of %zu Rice streams decode differently from "
          "the bitwise reference", differ, compared);
    /* A Rice parameter out of range and an escape past the end fail. */
    unsigned char k31[2] = {31, 0};
    CHECK(ah__counts_read(AH__COUNTS_RICE, k31, k31 + 2, back, 1) == NULL,
          "k = 31 accepted");
    unsigned char ones[4] = {0, 0xFF, 0xFF, 0xFF};
    CHECK(ah__counts_read(AH__COUNTS_RICE, ones, ones + 4, back, 1) == NULL,
          "a truncated escape was accepted");
    test_written(&rng);
    return check_done("test_counts_codec");
}
