/*
 * test_options.c - the one table of option ranges (ah_option_check) and
 * the calls that take those options refusing what it refuses.
 *
 * Each option's ends are taken and the values just past them refused, with
 * a message naming the option, its range and the value ("alpha_max must be
 * in [1e-12, 1], not 2"): the command line and the Python binding show
 * that message as it is, so it is checked word for word here.  Integer
 * options refuse fractions; NaN and infinities are refused everywhere.
 * ah_model_fit and ah_shard_plan refuse the fit options out of range.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void expect(int option, double v, const char *want)
{
    ah_diag d;
    int st = ah_option_check(option, v, &d);
    if (!want)
        CHECK(st == AH_OK && d.status == AH_OK && d.message[0] == 0,
              "option %d value %.17g refused: %s", option, v, d.message);
    else
        CHECK(st == AH_ERR_ARG && d.status == AH_ERR_ARG &&
                  strcmp(d.message, want) == 0,
              "option %d value %.17g: status %d, '%s', want '%s'", option, v,
              st, d.message, want);
}

static void test_table(void)
{
    expect(AH_OPTION_BINS, 1, NULL);
    expect(AH_OPTION_BINS, 65536, NULL);
    expect(AH_OPTION_BINS, 0, "bins must be 'auto' or 1..65536, not 0");
    expect(AH_OPTION_BINS, 65537, "bins must be 'auto' or 1..65536, not 65537");
    expect(AH_OPTION_BINS, 4294967301.0,
           "bins must be 'auto' or 1..65536, not 4294967301");
    expect(AH_OPTION_BINS, 2.5, "bins must be 'auto' or 1..65536, not 2.5");
    expect(AH_OPTION_ATOM_SHARE, 1, NULL);
    expect(AH_OPTION_ATOM_SHARE, 5e-324, NULL);
    expect(AH_OPTION_ATOM_SHARE, 0, "atom_share must be in (0, 1], not 0");
    expect(AH_OPTION_ATOM_SHARE, 1.5, "atom_share must be in (0, 1], not 1.5");
    expect(AH_OPTION_ATOM_SHARE, 0.1 - 0.3,
           "atom_share must be in (0, 1], not -0.19999999999999998");
    expect(AH_OPTION_CHUNK_ROWS, 1, NULL);
    expect(AH_OPTION_CHUNK_ROWS, 1 << 30, NULL);
    expect(AH_OPTION_CHUNK_ROWS, 0,
           "chunk_rows must be in 1..1073741824, not 0");
    expect(AH_OPTION_CHUNK_ROWS, (1 << 30) + 1.0,
           "chunk_rows must be in 1..1073741824, not 1073741825");
    expect(AH_OPTION_ALPHA_MAX, 1e-12, NULL);
    expect(AH_OPTION_ALPHA_MAX, 1, NULL);
    expect(AH_OPTION_ALPHA_MAX, 0.05, NULL);
    expect(AH_OPTION_ALPHA_MAX, 0, "alpha_max must be in [1e-12, 1], not 0");
    expect(AH_OPTION_ALPHA_MAX, -1, "alpha_max must be in [1e-12, 1], not -1");
    expect(AH_OPTION_ALPHA_MAX, 2, "alpha_max must be in [1e-12, 1], not 2");
    expect(AH_OPTION_ALPHA_MAX, nextafter(1e-12, 0),
           "alpha_max must be in [1e-12, 1], not 9.9999999999999978e-13");
    expect(AH_OPTION_ALPHA_MAX, NAN, "alpha_max must be in [1e-12, 1], not nan");
    expect(AH_OPTION_ALPHA_MAX, INFINITY,
           "alpha_max must be in [1e-12, 1], not inf");
    expect(AH_OPTION_THREADS, 0, NULL);
    expect(AH_OPTION_THREADS, 256, NULL);
    expect(AH_OPTION_THREADS, -5,
           "threads must be in 0..256 (0: all cores), not -5");
    expect(AH_OPTION_THREADS, 257,
           "threads must be in 0..256 (0: all cores), not 257");
    expect(AH_OPTION_RESTARTS, 1, NULL);
    expect(AH_OPTION_RESTARTS, 1000000, NULL);
    expect(AH_OPTION_RESTARTS, 0, "restarts must be in 1..1000000, not 0");
    expect(AH_OPTION_RESTARTS, 4294967297.0,
           "restarts must be in 1..1000000, not 4294967297");
    expect(AH_OPTION_RESTARTS, -INFINITY,
           "restarts must be in 1..1000000, not -inf");
    expect(AH_OPTION_MAX_ITER, 1, NULL);
    expect(AH_OPTION_MAX_ITER, 1000000, NULL);
    expect(AH_OPTION_MAX_ITER, 1000001,
           "max_iter must be in 1..1000000, not 1000001");
    expect(-1, 1, "unknown option -1");
    expect(AH_OPTION_BASIS_COMPONENTS, 1, NULL);
    expect(AH_OPTION_BASIS_COMPONENTS, 2048, NULL);
    expect(AH_OPTION_BASIS_COMPONENTS, 0,
           "basis_components must be in 1..2048, not 0");
    expect(AH_OPTION_BASIS_COMPONENTS, 2.5,
           "basis_components must be in 1..2048, not 2.5");
    expect(AH_OPTION_FIT_MEMORY_MB, 0, NULL);
    expect(AH_OPTION_FIT_MEMORY_MB, 1 << 30, NULL);
    expect(AH_OPTION_FIT_MEMORY_MB, 1.5,
           "fit_memory_mb must be in 0..1073741824 (0: half of this "
           "process's memory), not 1.5");
    expect(9, 1, "unknown option 9");
    CHECK(ah_option_check(AH_OPTION_THREADS, -1, NULL) == AH_ERR_ARG &&
              ah_option_check(AH_OPTION_THREADS, 1, NULL) == AH_OK,
          "diag may be NULL");
}

/* A row source with no rows. */
static int no_rows(void *ctx, double *rows, size_t ld, int64_t *labels,
                   size_t max_rows, size_t *got, ah_diag *diag)
{
    (void)ctx, (void)rows, (void)ld, (void)labels, (void)max_rows,
        (void)diag;
    *got = 0;
    return AH_OK;
}

static int no_rewind(void *ctx, ah_diag *diag)
{
    (void)ctx, (void)diag;
    return AH_OK;
}

/* Fit options out of range are refused by every fit, with the table's
 * message; 'auto' bins (0) and the default chunk (0) are not values of
 * the options but their defaults, and are taken. */
static void test_fit_options(void)
{
    double x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (double)(i % 9);
    static const struct {
        int bins;
        double share;
        size_t chunk;
        const char *want;
    } cases[] = {
        {-3, 1.0 / 32, 0, "bins must be 'auto' or 1..65536, not -3"},
        {65537, 1.0 / 32, 0, "bins must be 'auto' or 1..65536, not 65537"},
        {64, 0.0, 0, "atom_share must be in (0, 1], not 0"},
        {64, NAN, 0, "atom_share must be in (0, 1], not nan"},
        {64, 1.0 / 32, ((size_t)1 << 30) + 1,
         "chunk_rows must be in 1..1073741824, not 1073741825"},
        {64, 1.0 / 32, (size_t)-1,
         "chunk_rows must be in 1..1073741824, not 1.8446744073709552e+19"},
        {AH_BINS_AUTO, 1.0, 0, NULL},
        {65536, 1.0 / 32, (size_t)1 << 30, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.bins = cases[k].bins;
        o.atom_share = cases[k].share;
        o.chunk_rows = cases[k].chunk;
        ah_model *m = NULL;
        ah_diag d;
        int st = ah_model_fit(&m, x, 32, 2, 2, NULL, &o, &d);
        if (cases[k].want)
            CHECK(st == AH_ERR_ARG && !m &&
                      strcmp(d.message, cases[k].want) == 0,
                  "fit case %zu: status %d, '%s'", k, st, d.message);
        else
            CHECK(st == AH_OK, "fit case %zu: %s", k, d.message);
        ah_model_free(m);
        if (!cases[k].want)
            continue;
        ah_shard *s = NULL;
        ah_row_source none = {NULL, 2, 0, no_rows, no_rewind};
        st = ah_shard_plan(&s, &none, &o, &d);
        CHECK(st == AH_ERR_ARG && !s && strcmp(d.message, cases[k].want) == 0,
              "shard plan case %zu: status %d, '%s'", k, st, d.message);
        ah_shard_free(s);
    }
}

int main(void)
{
    check_init();
    test_table();
    test_fit_options();
    return check_done("test_options");
}
