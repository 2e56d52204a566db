/*
 * group_memo.c - the best responses a group scan has already computed
 * (group_memo.h).
 *
 * Why the answers can be reused: a half step returns the first candidate,
 * in a fixed order, of the largest score, if that score exceeds the floor
 * (its pruning only drops candidates that cannot beat the best so far).
 * So an answer s > 0 found against any floor is the half step's maximum M,
 * and against another floor the answer is M if M > floor, else 0, with the
 * same subset and threshold.  An answer of 0 says M <= its floor, so it
 * answers every floor at least that high; a lower floor must compute.
 *
 * Subsets are kept as bitmaps, found by a hash of the bitmap and compared
 * in full.  The memo holds at most MEMO_ENTRIES answers; past that a new
 * one replaces the oldest.
 */
#include "group_memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MEMO_ENTRIES = 64 };

typedef struct {
    int side, used;
    uint64_t hash;
    double floor, score, alpha;
    uint64_t *fixed, *out; /* bitmaps: words_of(fixed side), words_of(free) */
} memo_entry;

struct ah__group_memo {
    pthread_mutex_t lock;
    size_t rows, cols;
    size_t next; /* the entry to replace next */
    memo_entry e[MEMO_ENTRIES];
};

static size_t words_of(size_t n) { return (n + 63) / 64; }

/* Pack n 0/1 flags into bits, returning a hash of them. */
static uint64_t pack(const unsigned char *f, size_t n, uint64_t *bits)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (size_t w = 0; w < words_of(n); w++) {
        uint64_t x = 0;
        size_t end = n - 64 * w < 64 ? n - 64 * w : 64;
        for (size_t b = 0; b < end; b++)
            x |= (uint64_t)(f[64 * w + b] != 0) << b;
        bits[w] = x;
        h = (h ^ x) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    return h;
}

ah__group_memo *ah__group_memo_new(size_t rows, size_t cols)
{
    ah__group_memo *mm = calloc(1, sizeof *mm);
    if (!mm)
        return NULL;
    if (pthread_mutex_init(&mm->lock, NULL) != 0) {
        free(mm);
        return NULL;
    }
    mm->rows = rows;
    mm->cols = cols;
    return mm;
}

void ah__group_memo_free(ah__group_memo *mm)
{
    if (!mm)
        return;
    for (int k = 0; k < MEMO_ENTRIES; k++) {
        free(mm->e[k].fixed);
        free(mm->e[k].out);
    }
    pthread_mutex_destroy(&mm->lock);
    free(mm);
}

/* Sizes of the fixed and free sides of a half step. */
static void sides(const ah__group_memo *mm, int side, size_t *nf, size_t *nv)
{
    *nf = side == 0 ? mm->rows : mm->cols;
    *nv = side == 0 ? mm->cols : mm->rows;
}

/* The entry for (side, bits) or NULL; called under the lock. */
static memo_entry *find(ah__group_memo *mm, int side, uint64_t h,
                        const uint64_t *bits, size_t words)
{
    for (int k = 0; k < MEMO_ENTRIES; k++) {
        memo_entry *e = &mm->e[k];
        if (e->used && e->side == side && e->hash == h &&
            !memcmp(e->fixed, bits, words * sizeof *bits))
            return e;
    }
    return NULL;
}

int ah__group_memo_get(ah__group_memo *mm, int side,
                       const unsigned char *fixed, double floor,
                       double *score, unsigned char *out, double *alpha)
{
    size_t nf, nv;
    uint64_t *bits, h;
    memo_entry *e;
    int known = 0;
    if (!mm)
        return 0;
    sides(mm, side, &nf, &nv);
    if (!(bits = malloc(words_of(nf) * sizeof *bits)))
        return 0;
    h = pack(fixed, nf, bits);
    pthread_mutex_lock(&mm->lock);
    e = find(mm, side, h, bits, words_of(nf));
    if (e && e->score > 0.0) {
        known = 1;
        *score = e->score > floor ? e->score : 0.0;
        if (*score > 0.0) {
            for (size_t j = 0; j < nv; j++)
                out[j] = (unsigned char)(e->out[j / 64] >> (j % 64) & 1);
            *alpha = e->alpha;
        }
    } else if (e && floor >= e->floor) {
        known = 1;
        *score = 0.0;
    }
    pthread_mutex_unlock(&mm->lock);
    free(bits);
    return known;
}

void ah__group_memo_put(ah__group_memo *mm, int side,
                        const unsigned char *fixed, double floor,
                        double score, const unsigned char *out, double alpha)
{
    size_t nf, nv;
    uint64_t *bits, *obits = NULL, h;
    memo_entry *e;
    if (!mm)
        return;
    sides(mm, side, &nf, &nv);
    bits = malloc(words_of(nf) * sizeof *bits);
    if (score > 0.0)
        obits = malloc(words_of(nv) * sizeof *obits);
    if (!bits || (score > 0.0 && !obits)) {
        free(bits);
        free(obits);
        return;
    }
    h = pack(fixed, nf, bits);
    if (obits)
        pack(out, nv, obits);
    pthread_mutex_lock(&mm->lock);
    e = find(mm, side, h, bits, words_of(nf));
    /* An answer replaces a known one only if it says more: a maximum, or
     * nothing above a lower floor (another thread may have raced us). */
    if (e && (e->score > 0.0 || (score == 0.0 && floor >= e->floor))) {
        e = NULL;
    } else {
        if (!e) {
            e = &mm->e[mm->next];
            mm->next = (mm->next + 1) % MEMO_ENTRIES;
        }
        free(e->fixed);
        free(e->out);
        e->side = side;
        e->used = 1;
        e->hash = h;
        e->floor = floor;
        e->score = score;
        e->alpha = alpha;
        e->fixed = bits;
        e->out = obits;
        bits = obits = NULL;
    }
    pthread_mutex_unlock(&mm->lock);
    free(bits);
    free(obits);
}
