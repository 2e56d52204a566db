/*
 * test_group_memo.c - the memo of group-scan half-step answers
 * (src/group_memo.c) by its rules: a maximum answers every floor (itself
 * below the floor, 0 at or above it), with the free side's flags and
 * alpha as recorded; a 0 answers only floors at least as high as its own;
 * subsets that differ in one flag, or the other side, are other entries;
 * a later maximum replaces a 0, and the oldest entries give way past the
 * memo's size.  test_scan_group checks the scan with and without it.
 */
#include "check.h"
#include "group_memo.h"

#include <string.h>

enum { ROWS = 70, COLS = 130 };

static void random_flags(unsigned char *f, size_t n, uint64_t *rng)
{
    for (size_t k = 0; k < n; k++)
        f[k] = (unsigned char)(check_rand_u64(rng) & 1);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    unsigned char fixed[ROWS], other[ROWS], out[COLS], got[COLS];
    double s = -1.0, a = -1.0;
    ah__group_memo *mm = ah__group_memo_new(ROWS, COLS);
    CHECK(mm != NULL, "memo allocated");
    if (!mm)
        return check_done("group_memo");

    random_flags(fixed, ROWS, &rng);
    random_flags(out, COLS, &rng);
    CHECK(!ah__group_memo_get(mm, 0, fixed, 1.0, &s, got, &a),
          "empty memo knows nothing");
    CHECK(!ah__group_memo_get(NULL, 0, fixed, 1.0, &s, got, &a),
          "no memo knows nothing");
    ah__group_memo_put(NULL, 0, fixed, 1.0, 0.0, NULL, 0.0); /* no-op */

    /* A 0 against floor 5: floors >= 5 are answered, lower ones not. */
    ah__group_memo_put(mm, 0, fixed, 5.0, 0.0, NULL, 0.0);
    CHECK(ah__group_memo_get(mm, 0, fixed, 5.0, &s, got, &a) && s == 0.0,
          "0 answers its own floor");
    CHECK(ah__group_memo_get(mm, 0, fixed, 9.0, &s, got, &a) && s == 0.0,
          "0 answers a higher floor");
    CHECK(!ah__group_memo_get(mm, 0, fixed, 4.999, &s, got, &a),
          "0 does not answer a lower floor");
    unsigned char wide[COLS] = {0}, gotr[ROWS];
    memcpy(wide, fixed, ROWS); /* side 1 fixes COLS flags */
    CHECK(!ah__group_memo_get(mm, 1, wide, 9.0, &s, gotr, &a),
          "the other side is another entry");
    memcpy(other, fixed, ROWS);
    other[ROWS - 1] ^= 1;
    CHECK(!ah__group_memo_get(mm, 0, other, 9.0, &s, got, &a),
          "a subset one flag apart is another entry");

    /* A 0 against a higher floor says less: the entry keeps floor 5. */
    ah__group_memo_put(mm, 0, fixed, 8.0, 0.0, NULL, 0.0);
    CHECK(ah__group_memo_get(mm, 0, fixed, 6.0, &s, got, &a) && s == 0.0,
          "a weaker 0 does not replace a stronger one");

    /* A maximum of 4.5 found against floor 3 replaces the 0. */
    ah__group_memo_put(mm, 0, fixed, 3.0, 4.5, out, 0.25);
    memset(got, 7, sizeof got);
    CHECK(ah__group_memo_get(mm, 0, fixed, 1.0, &s, got, &a) && s == 4.5 &&
              a == 0.25 && !memcmp(got, out, COLS),
          "a maximum answers a lower floor with its subset and alpha");
    memset(got, 7, sizeof got);
    a = -1.0;
    CHECK(ah__group_memo_get(mm, 0, fixed, 4.5, &s, got, &a) && s == 0.0 &&
              got[0] == 7 && a == -1.0,
          "a maximum at the floor answers 0 and leaves out alone");
    ah__group_memo_put(mm, 0, fixed, 1.0, 0.0, NULL, 0.0);
    CHECK(ah__group_memo_get(mm, 0, fixed, 4.0, &s, got, &a) && s == 4.5,
          "a 0 does not replace a maximum");

    /* Side 1 fixes COLS flags and frees ROWS. */
    unsigned char fc[COLS], outr[ROWS];
    random_flags(fc, COLS, &rng);
    random_flags(outr, ROWS, &rng);
    ah__group_memo_put(mm, 1, fc, 2.0, 3.0, outr, 0.125);
    CHECK(ah__group_memo_get(mm, 1, fc, 2.5, &s, gotr, &a) && s == 3.0 &&
              a == 0.125 && !memcmp(gotr, outr, ROWS),
          "side 1 answers with its rows");

    /* Past the memo's size the oldest give way; the latest stay. */
    enum { MANY = 200 };
    static unsigned char keep[MANY][ROWS];
    for (int k = 0; k < MANY; k++) {
        random_flags(keep[k], ROWS, &rng);
        ah__group_memo_put(mm, 0, keep[k], (double)k, 0.0, NULL, 0.0);
    }
    CHECK(ah__group_memo_get(mm, 0, keep[MANY - 1], 1e9, &s, got, &a) &&
              s == 0.0, "the latest entry is kept");
    CHECK(!ah__group_memo_get(mm, 0, fixed, 1.0, &s, got, &a),
          "the oldest entry gave way");
    ah__group_memo_free(mm);
    ah__group_memo_free(NULL);
    return check_done("group_memo");
}
