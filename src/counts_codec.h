/*
 * counts_codec.h - how a histogram node's counts are stored in the model
 * file (internal; docs/FORMAT.md is the reference).
 *
 * Counts are LEB128 varints, optionally with runs of empty bins collapsed,
 * or Rice codes of the differences between neighbouring bins (densities are
 * smooth: neighbouring counts differ by about their square root, a few
 * bits).  The writer measures all three and keeps the smallest.
 */
#ifndef AH_COUNTS_CODEC_H
#define AH_COUNTS_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum {
    AH__COUNTS_PLAIN = 0,     /* one varint per bin */
    AH__COUNTS_ZERO_RUNS = 1, /* a zero is followed by the run's extra length */
    AH__COUNTS_RICE = 2       /* u8 k, then Rice codes of zigzag deltas */
};

typedef struct ah__counts_plan {
    int enc;      /* AH__COUNTS_* */
    unsigned k;   /* Rice parameter */
    size_t bytes; /* encoded size */
} ah__counts_plan;

/* Counts to encode: the array c, or when c is NULL count i = at(ctx, i)
 * (an implicit grid's, from its cumulative counts, with no array). */
typedef struct ah__counts_src {
    const uint32_t *c;
    uint32_t (*at)(const void *ctx, size_t i);
    const void *ctx;
} ah__counts_src;

size_t ah__varint_len(uint32_t v);
unsigned char *ah__varint_put(unsigned char *p, uint32_t v);
/* NULL when the varint is malformed, runs past end or exceeds 32 bits. */
const unsigned char *ah__varint_get(const unsigned char *p,
                                    const unsigned char *end, uint32_t *v);

/* The smallest encoding of c[0..n). */
ah__counts_plan ah__counts_plan_for(const uint32_t *c, uint32_t n);
/* The plan for one given encoding (and Rice parameter k); tests use it to
 * exercise every encoding. */
ah__counts_plan ah__counts_plan_with(int enc, unsigned k, const uint32_t *c,
                                     uint32_t n);
ah__counts_plan ah__counts_plan_src(int enc, unsigned k,
                                    const ah__counts_src *c, uint32_t n);
/* Write c[0..n) as planned; returns the end (p + plan->bytes). */
unsigned char *ah__counts_write(const ah__counts_plan *plan,
                                const uint32_t *c, uint32_t n,
                                unsigned char *p);
unsigned char *ah__counts_write_src(const ah__counts_plan *plan,
                                    const ah__counts_src *c, uint32_t n,
                                    unsigned char *p);
/* Read n counts encoded with enc from [p, end) into c; NULL when the data
 * is malformed or a count leaves [0, 2^32). */
const unsigned char *ah__counts_read(int enc, const unsigned char *p,
                                     const unsigned char *end, uint32_t *c,
                                     uint32_t n);
/* ah__counts_read, and into *written the bytes ah__counts_write gives
 * the counts read (under the same enc and Rice k): the bytes read when
 * they are coded as the writer codes them, found without a second pass
 * over the counts (the loader checks that a file is written as the writer
 * writes it). */
const unsigned char *ah__counts_read_sized(int enc, const unsigned char *p,
                                          const unsigned char *end,
                                          uint32_t *c, uint32_t n,
                                          size_t *written);
/* ah__counts_read's Rice decoding one bit at a time: the slow, obviously
 * correct twin the tests hold the word-at-a-time reader against. */
const unsigned char *ah__rice_read_bitwise(const unsigned char *p,
                                          const unsigned char *end,
                                          uint32_t *c, uint32_t n);

#endif
