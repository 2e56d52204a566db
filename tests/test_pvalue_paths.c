/*
 * test_pvalue_paths.c - the ways ah_pvalues writes its output give the
 * same bits.
 *
 * Large outputs (16 MB and more) are written with streaming stores when
 * the output is 16-byte aligned, and with plain copies otherwise; a few
 * rows on models of 2048 nodes and more first prefetch every node's table
 * entry, and one row is looked up node after node in one call (count_row
 * of src/model.h), fetching entries ahead on such models.  Each is held
 * against small batches of the same rows, which take neither path, for
 * every tail, at one and two threads, on equal-width and quantile edges;
 * ah_score's p_max-only output is checked through its scores.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* D = 2049: the last tile holds one node, an odd count; Q rows of p_max
 * alone (ah_score) are above the 16 MB at which streaming starts. */
enum { NB = 300, D = 2049, Q = 1100 };

static double value(uint64_t *rng, size_t j)
{
    double u = check_rand_unit(rng);
    switch (j % 4) {
    case 0: return u < 0.5 ? 0.0 : -log(u); /* ReLU-like */
    case 1: return u < 0.2 ? 0.5 : u;       /* an atom inside */
    case 2: return 1e3 * u;
    default: return (double)(j % 7) + u;
    }
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *bg = malloc(sizeof *bg * NB * D), *x = malloc(sizeof *x * Q * D);
    /* both tails: 4 D values a row; Q rows are 17 MB, one more for the
     * misaligned copy */
    double *big = malloc(sizeof *big * (Q * D * 4 + 1));
    double *small = malloc(sizeof *small * 4 * D * 4);
    if (!bg || !x || !big || !small)
        return 2;
    for (size_t i = 0; i < NB * D; i++)
        bg[i] = value(&rng, i % D);
    for (size_t i = 0; i < Q * D; i++)
        x[i] = i % 13 == 0 ? 1e30 : value(&rng, i % D);
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.bins = 64;
    ah_model *m = NULL;
    ah_diag dg;
    int st = ah_model_fit(&m, bg, NB, D, D, NULL, &o, &dg);
    CHECK(st == AH_OK, "fit: %s", dg.message);
    const int tails[] = {AH_TAIL_UPPER, AH_TAIL_LOWER, AH_TAIL_TWO,
                         AH_TAIL_BOTH};
    for (int ti = 0; st == AH_OK && ti < 4; ti++) {
        int tail = tails[ti];
        size_t w = ah_pvalue_width(m, tail) * 2; /* doubles per row */
        for (int mis = 0; mis < 2; mis++) {
            double *out = big + mis; /* mis: 8 bytes off, plain copies */
            int threads = 1 + mis;
            st = ah_pvalues(m, x, Q, D, D, NULL, tail, out, NULL, threads,
                            &dg);
            CHECK(st == AH_OK, "tail %d: %s", tail, dg.message);
            size_t bad = 0;
            /* rows in runs of 1 (prefetched), 3 (prefetched) and 5 (not) */
            for (size_t i = 0, run = 1; st == AH_OK && i < Q; i += run) {
                run = i % 3 == 0 ? 1 : i % 3 == 1 ? 3 : 5;
                run = run > Q - i ? Q - i : run;
                if (ah_pvalues(m, x + i * D, run, D, D, NULL, tail, small,
                               NULL, 1 + (int)(i % 2), &dg) != AH_OK ||
                    memcmp(small, out + i * w, run * w * sizeof *small))
                    bad++;
            }
            CHECK(bad == 0, "tail %d, %s output: %zu runs differ from the "
                            "large batch", tail, mis ? "misaligned" : "aligned",
                  bad);
        }
    }
    /* ah_score: p_max only, streamed for the whole batch */
    ah_scan_result *sb = malloc(sizeof *sb * Q), s1[5];
    for (int ti = 0; sb && st == AH_OK && ti < 4; ti++) {
        size_t bad = 0;
        st = ah_score(m, x, Q, D, D, NULL, tails[ti], AH_STAT_BJ, 0.5, sb,
                      NULL, 1, &dg);
        CHECK(st == AH_OK, "score, tail %d: %s", tails[ti], dg.message);
        for (size_t i = 0, run = 1; st == AH_OK && i < Q; i += run) {
            run = i % 2 ? 1 : 5; /* one row takes count_row */
            run = Q - i < run ? Q - i : run;
            if (ah_score(m, x + i * D, run, D, D, NULL, tails[ti], AH_STAT_BJ,
                         0.5, s1, NULL, 1, &dg) != AH_OK ||
                memcmp(s1, sb + i, run * sizeof *s1))
                bad++;
        }
        CHECK(bad == 0, "score, tail %d: %zu runs differ from the batch",
              tails[ti], bad);
    }
    free(sb);
    ah_model_free(m);

    /* Quantile edges: nodes without a grid, whose one-row lookups take
     * count_row's search path; held against the batch, every tail. */
    o.binning = AH_BINNING_QUANTILE;
    st = ah_model_fit(&m, bg, NB, D, D, NULL, &o, &dg);
    CHECK(st == AH_OK, "quantile fit: %s", dg.message);
    for (int ti = 0; st == AH_OK && ti < 4; ti++) {
        size_t w = ah_pvalue_width(m, tails[ti]) * 2, bad = 0, rows = 40;
        st = ah_pvalues(m, x, rows, D, D, NULL, tails[ti], big, NULL, 1, &dg);
        for (size_t i = 0; st == AH_OK && i < rows; i++)
            bad += ah_pvalues(m, x + i * D, 1, D, D, NULL, tails[ti], small,
                              NULL, 1, &dg) != AH_OK ||
                   memcmp(small, big + i * w, w * sizeof *small) != 0;
        CHECK(st == AH_OK && bad == 0, "quantile, tail %d: %zu rows differ",
              tails[ti], bad);
    }
    ah_model_free(m);

    /* 1024 nodes of 3072 bins: over 4 MB of query tables, so the table
     * chunks of src/hist.c grow to their huge-page size. */
    {
        enum { NL = 8000, DL = 1024, QL = 8 };
        double *bl = malloc(sizeof *bl * NL * DL);
        double *pl = malloc(sizeof *pl * QL * DL * 2);
        double *p1 = malloc(sizeof *p1 * DL * 2);
        ah_model *ml = NULL;
        ah_fit_options ol;
        ah_fit_options_default(&ol);
        for (size_t i = 0; bl && i < (size_t)NL * DL; i++)
            bl[i] = value(&rng, i % DL);
        st = bl && pl && p1
                 ? ah_model_fit(&ml, bl, NL, DL, DL, NULL, &ol, &dg)
                 : AH_ERR_NOMEM;
        CHECK(st == AH_OK, "fit 8000 x 1024: %s", dg.message);
        size_t bad = 0;
        if (st == AH_OK) {
            st = ah_pvalues(ml, bl, QL, DL, DL, NULL, AH_TAIL_UPPER, pl,
                            NULL, 1, &dg);
            for (size_t i = 0; st == AH_OK && i < QL; i++)
                bad += ah_pvalues(ml, bl + i * DL, 1, DL, DL, NULL,
                                  AH_TAIL_UPPER, p1, NULL, 1,
                                  &dg) != AH_OK ||
                       memcmp(p1, pl + i * DL * 2, sizeof *p1 * DL * 2) != 0;
        }
        CHECK(st == AH_OK && bad == 0, "3072 bins: %zu rows differ", bad);
        ah_model_free(ml);
        free(bl);
        free(pl);
        free(p1);
    }
    free(bg);
    free(x);
    free(big);
    free(small);
    return check_done("test_pvalue_paths");
}
