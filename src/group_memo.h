/*
 * group_memo.h - the best responses a group scan has already computed
 * (scan_group.c).  A half step's answer depends only on its side and its
 * fixed subset, given the floor it must beat, and restarts often meet the
 * same subsets: on the benchmark batch every restart ends at the same
 * fixed point, whose last two half steps (over 40% of a restart) are then
 * answered from here.  Shared by the scan's threads, under a lock.
 */
#ifndef AH_GROUP_MEMO_H
#define AH_GROUP_MEMO_H

#include <stddef.h>

typedef struct ah__group_memo ah__group_memo;

/* A memo for subsets of rows (side 1 frees rows: fixed nodes) and cols;
 * NULL if out of memory (the scan then runs without one). */
ah__group_memo *ah__group_memo_new(size_t rows, size_t cols);
void ah__group_memo_free(ah__group_memo *mm);

/*
 * The answer of the half step of this side with the 0/1 flags fixed (cols
 * of them for side 1, rows for side 0) against floor, if known: returns 1
 * with *score, and when *score > 0 the free side's flags in out and
 * *alpha, exactly as the half step would set them; else returns 0.
 */
int ah__group_memo_get(ah__group_memo *mm, int side,
                       const unsigned char *fixed, double floor,
                       double *score, unsigned char *out, double *alpha);

/* Record the half step's answer (score > floor with out and alpha, or 0:
 * nothing above floor).  Out of memory or room, nothing is recorded. */
void ah__group_memo_put(ah__group_memo *mm, int side,
                        const unsigned char *fixed, double floor,
                        double score, const unsigned char *out, double alpha);

#endif
