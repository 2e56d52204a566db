/*
 * test_query_in.c - the input view and the growable options of the query
 * calls (ah_pvalues_in, ah_score_in), against the calls of version 0.1.
 *
 * The view calls give the bits of ah_pvalues / ah_pvalues_f32 / ah_score /
 * ah_score_f32 with the same settings, for every tail, float and double,
 * a row stride above the columns, labels (seen and unseen) and threads;
 * a float view gives the bits of a double view of the widened values.
 * NULL options are the defaults.  Options from an older header (smaller
 * size) are refused, from a newer one (larger size) accepted only when the
 * bytes this library does not know are zero; a backend must be one of
 * enum ah_backend, and each gives the default's bits; an
 * unknown dtype and a NULL view are refused; a NaN is reported at the same
 * row and column as by the old calls.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 400, D = 37, LD = 41, Q = 150 };

/* A ReLU-like node with an atom at 0, and a label per row in 0..2. */
static void make(uint64_t *rng, double *x, int64_t *lab, size_t rows)
{
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < LD; j++) {
            double u = check_rand_unit(rng);
            x[i * LD + j] = u < 0.4 ? 0.0 : (double)(float)(-log(u) * 2.0);
        }
        lab[i] = (int64_t)(check_rand_u64(rng) % 3);
    }
}

static void test_same_as_old(const ah_model *m, const double *x,
                             const float *xf, const int64_t *lab)
{
    const int tails[] = {-1, AH_TAIL_UPPER, AH_TAIL_LOWER, AH_TAIL_TWO,
                         AH_TAIL_BOTH};
    size_t wmax = 2 * D * 2 * Q;
    double *a = malloc(wmax * sizeof *a), *b = malloc(wmax * sizeof *b),
           *c = malloc(wmax * sizeof *c);
    ah_scan_result ra[Q], rb[Q], rc[Q];
    ah_diag d;
    for (size_t t = 0; a && b && c && t < sizeof tails / sizeof *tails; t++)
        for (int threads = 1; threads <= 2; threads++) {
            const int64_t *l = threads == 1 ? lab : NULL;
            size_t ua = 9, ub = 9, uc = 9;
            ah_input in = {x, AH_DTYPE_F64, Q, D, LD, l};
            ah_input inf = {xf, AH_DTYPE_F32, Q, D, LD, l};
            ah_query_options o;
            ah_query_options_init(&o);
            o.tail = tails[t];
            o.threads = threads;
            size_t n = Q * ah_pvalue_width(m, tails[t]) * 2;
            int s1 = ah_pvalues(m, x, Q, D, LD, l, tails[t], a, &ua, threads,
                                &d);
            int s2 = ah_pvalues_in(m, &in, &o, b, &ub, &d);
            int s3 = ah_pvalues_in(m, &inf, &o, c, &uc, &d);
            CHECK(s1 == AH_OK && s2 == AH_OK && s3 == AH_OK,
                  "tail %d: %d %d %d %s", tails[t], s1, s2, s3, d.message);
            CHECK(!memcmp(a, b, n * sizeof *a) && ua == ub,
                  "tail %d threads %d: ah_pvalues_in differs from ah_pvalues",
                  tails[t], threads);
            CHECK(!memcmp(a, c, n * sizeof *a) && ua == uc,
                  "tail %d threads %d: a float view differs from the doubles",
                  tails[t], threads);
            ah_pvalues_f32(m, xf, Q, D, LD, l, tails[t], a, &ua, threads, &d);
            CHECK(!memcmp(a, c, n * sizeof *a), "tail %d: ah_pvalues_f32 "
                  "differs from its view", tails[t]);

            o.stat = (int)(t % 3);
            o.alpha_max = t % 2 ? 0.5 : 0.25;
            s1 = ah_score(m, x, Q, D, LD, l, tails[t], o.stat, o.alpha_max,
                          ra, &ua, threads, &d);
            s2 = ah_score_in(m, &in, &o, rb, &ub, &d);
            s3 = ah_score_in(m, &inf, &o, rc, &uc, &d);
            CHECK(s1 == AH_OK && s2 == AH_OK && s3 == AH_OK,
                  "score tail %d: %d %d %d %s", tails[t], s1, s2, s3,
                  d.message);
            CHECK(!memcmp(ra, rb, sizeof ra) && !memcmp(ra, rc, sizeof ra) &&
                      ua == ub && ua == uc,
                  "score tail %d stat %d: the view calls differ", tails[t],
                  o.stat);
            ah_score_f32(m, xf, Q, D, LD, l, tails[t], o.stat, o.alpha_max,
                         ra, &ua, threads, &d);
            CHECK(!memcmp(ra, rc, sizeof ra), "score tail %d: ah_score_f32 "
                  "differs from its view", tails[t]);
        }
    free(a);
    free(b);
    free(c);
}

static void test_options(const ah_model *m, const double *x,
                         const int64_t *lab)
{
    ah_input in = {x, AH_DTYPE_F64, Q, D, LD, lab};
    ah_query_options o;
    ah_query_options_init(&o);
    CHECK(o.size == sizeof o && o.tail == -1 && o.stat == AH_STAT_BJ &&
              o.alpha_max == 0.5 && o.threads == 0 &&
              o.backend == AH_BACKEND_CPU,
          "ah_query_options_init: size %zu tail %d stat %d alpha %g "
          "threads %d", o.size, o.tail, o.stat, o.alpha_max, o.threads);
    ah_scan_result ra[Q], rb[Q];
    ah_diag d;
    int s1 = ah_score_in(m, &in, NULL, ra, NULL, &d);
    int s2 = ah_score_in(m, &in, &o, rb, NULL, &d);
    CHECK(s1 == AH_OK && s2 == AH_OK && !memcmp(ra, rb, sizeof ra),
          "NULL options differ from the defaults: %d %d", s1, s2);

    /* an older header: smaller than the first version */
    ah_query_options old = o;
    old.size = offsetof(ah_query_options, backend);
    CHECK(ah_score_in(m, &in, &old, rb, NULL, &d) == AH_ERR_ARG &&
              strstr(d.message, "ah_query_options_init"),
          "a short options struct: %s", d.message);
    old.size = 0;
    CHECK(ah_pvalues_in(m, &in, &old, NULL, NULL, &d) == AH_ERR_ARG,
          "options of size 0 accepted");

    /* a newer header: more fields, zero or not */
    struct {
        ah_query_options o;
        int extra[3];
    } newer;
    memset(&newer, 0, sizeof newer);
    ah_query_options_init(&newer.o);
    newer.o.size = sizeof newer;
    s1 = ah_score_in(m, &in, &newer.o, rb, NULL, &d);
    CHECK(s1 == AH_OK && !memcmp(ra, rb, sizeof ra),
          "a larger struct with zero fields: %d %s", s1, d.message);
    newer.extra[1] = 7;
    CHECK(ah_score_in(m, &in, &newer.o, rb, NULL, &d) == AH_ERR_ARG &&
              strstr(d.message, "does not know"),
          "a larger struct with a field set: %s", d.message);
    int bad_backends[] = {-1, AH_BACKEND_REFERENCE + 1, 1000};
    for (size_t b = 0; b < sizeof bad_backends / sizeof *bad_backends; b++) {
        o.backend = bad_backends[b];
        CHECK(ah_score_in(m, &in, &o, rb, NULL, &d) == AH_ERR_ARG &&
                  strstr(d.message, "backend") && strstr(d.message, "cpu") &&
                  strstr(d.message, "reference"),
              "backend %d: %s", o.backend, d.message);
        CHECK(ah_pvalues_in(m, &in, &o, NULL, NULL, &d) == AH_ERR_ARG,
              "pvalues: backend %d accepted", o.backend);
    }
    o.backend = AH_BACKEND_REFERENCE;
    s2 = ah_score_in(m, &in, &o, rb, NULL, &d);
    CHECK(s2 == AH_OK && !memcmp(ra, rb, sizeof ra),
          "the reference backend's scores differ: %d %s", s2, d.message);
    o.backend = AH_BACKEND_CPU;

    /* the settings are checked as by the old calls */
    o.alpha_max = 2;
    CHECK(ah_score_in(m, &in, &o, rb, NULL, &d) == AH_ERR_ARG,
          "alpha_max 2 accepted");
    o.alpha_max = 0.5;
    o.threads = 1000;
    CHECK(ah_score_in(m, &in, &o, rb, NULL, &d) == AH_ERR_ARG,
          "threads 1000 accepted");
    o.threads = 0;
    o.stat = 99;
    CHECK(ah_score_in(m, &in, &o, rb, NULL, &d) == AH_ERR_ARG,
          "stat 99 accepted");
}

static void test_views(const ah_model *m, double *x, const int64_t *lab)
{
    ah_diag d;
    double *out = malloc(Q * D * 2 * sizeof *out);
    ah_input in = {x, 7, Q, D, LD, lab};
    CHECK(ah_pvalues_in(m, &in, NULL, out, NULL, &d) == AH_ERR_ARG &&
              strstr(d.message, "dtype"),
          "dtype 7 accepted: %s", d.message);
    CHECK(ah_pvalues_in(m, NULL, NULL, out, NULL, &d) == AH_ERR_ARG,
          "a NULL view accepted");
    in.dtype = AH_DTYPE_F64;
    in.ld = D - 1;
    CHECK(ah_pvalues_in(m, &in, NULL, out, NULL, &d) == AH_ERR_ARG,
          "ld below cols accepted");
    in.ld = LD;
    in.cols = D + 1;
    CHECK(ah_pvalues_in(m, &in, NULL, out, NULL, &d) == AH_ERR_SHAPE,
          "cols D + 1 accepted");
    in.cols = D;
    /* a NaN: the same row and column as the old call */
    double keep = x[17 * LD + 5];
    x[17 * LD + 5] = NAN;
    int s1 = ah_pvalues_in(m, &in, NULL, out, NULL, &d);
    int64_t r = d.row, c = d.col;
    int s2 = ah_pvalues(m, x, Q, D, LD, lab, -1, out, NULL, 0, &d);
    CHECK(s1 == AH_ERR_VALUE && s2 == AH_ERR_VALUE && r == 17 && c == 5 &&
              d.row == 17 && d.col == 5,
          "NaN at (17, 5): view %d at (%lld, %lld), old %d at (%lld, %lld)",
          s1, (long long)r, (long long)c, s2, (long long)d.row,
          (long long)d.col);
    x[17 * LD + 5] = keep;
    free(out);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *bg = malloc(NB * LD * sizeof *bg), *x = malloc(Q * LD * sizeof *x);
    float *xf = malloc(Q * LD * sizeof *xf);
    int64_t *bl = malloc(NB * sizeof *bl), *xl = malloc(Q * sizeof *xl);
    if (!bg || !x || !xf || !bl || !xl)
        return 2;
    make(&rng, bg, bl, NB);
    make(&rng, x, xl, Q);
    for (size_t i = 0; i < Q * LD; i++)
        xf[i] = (float)x[i]; /* exact: x holds floats */
    xl[3] = 11;              /* a label the model has not seen */
    /* the background as a D-column matrix for the fit */
    double *bgd = malloc(NB * D * sizeof *bgd);
    if (!bgd)
        return 2;
    for (size_t i = 0; i < NB; i++)
        memcpy(bgd + i * D, bg + i * LD, D * sizeof *bgd);
    ah_fit_options fo;
    ah_fit_options_default(&fo);
    fo.bins = 32;
    ah_model *m = NULL;
    ah_diag d;
    int st = ah_model_fit(&m, bgd, NB, D, D, bl, &fo, &d);
    CHECK(st == AH_OK, "fit: %s", d.message);
    if (st == AH_OK) {
        test_same_as_old(m, x, xf, xl);
        test_options(m, x, xl);
        test_views(m, x, xl);
    }
    ah_model_free(m);
    free(bg);
    free(bgd);
    free(x);
    free(xf);
    free(bl);
    free(xl);
    return check_done("test_query_in");
}
