/*
 * test_fit_groups.c - a fit counted in groups of label sets
 * (ah_fit_options.fit_memory_mb) gives the model of a fit counted at once,
 * byte for byte, and takes one more pass over the background per group.
 *
 * The row source counts its rewinds, so the tests see that the groups
 * really happened; it can also change its rows after a number of rewinds,
 * which the fit must refuse rather than write a model of two backgrounds.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct source {
    const double *x;
    const int64_t *labels;
    size_t rows, cols, pos;
    int rewinds;
    int change_after; /* rewinds after which one value changes, or -1 */
} source;

static int src_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    (void)diag;
    source *s = ctx;
    size_t n = s->rows - s->pos < max_rows ? s->rows - s->pos : max_rows;
    for (size_t i = 0; i < n; i++) {
        memcpy(rows + i * ld, s->x + (s->pos + i) * s->cols,
               s->cols * sizeof *rows);
        if (s->change_after >= 0 && s->rewinds > s->change_after &&
            s->pos + i == s->rows - 1)
            rows[i * ld] = 1e6; /* outside every pass-1 range */
        if (labels)
            labels[i] = s->labels[s->pos + i];
    }
    s->pos += n;
    *got = n;
    return AH_OK;
}

static int src_rewind(void *ctx, ah_diag *diag)
{
    (void)diag;
    source *s = ctx;
    s->pos = 0;
    s->rewinds++;
    return AH_OK;
}

/* Fit from a counting source; the model's bytes in *buf (caller frees). */
static int fit_bytes(source *s, const ah_fit_options *o, unsigned char **buf,
                     size_t *len, ah_diag *dg)
{
    ah_row_source src = {s, s->cols, s->labels != NULL, src_read,
                         src_rewind};
    ah_model *m = NULL;
    s->pos = 0;
    s->rewinds = 0;
    *buf = NULL;
    int st = ah_model_fit_source(&m, &src, o, dg);
    if (st != AH_OK)
        return st;
    *len = 0;
    ah_model_save_memory(m, NULL, len, NULL);
    *buf = malloc(*len);
    st = ah_model_save_memory(m, *buf, len, dg);
    ah_model_free(m);
    return st;
}

/* Rows with a ReLU share of zeros, an atom inside the range and a label
 * shift, over nlab labels of uneven sizes. */
static void make_background(double *x, int64_t *lab, size_t rows,
                            size_t cols, size_t nlab, uint64_t *rng)
{
    for (size_t i = 0; i < rows; i++) {
        size_t k = (size_t)(check_rand_u64(rng) % (nlab * (nlab + 1) / 2));
        size_t l = 0;
        while (k >= l + 1)
            k -= ++l; /* label l with weight l + 1 */
        lab[i] = (int64_t)l * 7 - 3;
        for (size_t j = 0; j < cols; j++) {
            double u = check_rand_unit(rng);
            double v = u < 0.4 ? 0.0 : u < 0.5 ? 0.25 : u + 0.1 * (double)l;
            x[i * cols + j] = j % 5 == 4 ? floor(v * 8) : v;
        }
    }
}

/* Every budget gives the same bytes; the smallest takes a pass per set. */
static void test_same_bytes(ah_fit_options o, const char *what)
{
    uint64_t rng = check_seed ^ 0x9a0u;
    size_t rows = 3000, cols = 40, nlab = 9;
    double *x = malloc(rows * cols * sizeof *x);
    int64_t *lab = malloc(rows * sizeof *lab);
    make_background(x, lab, rows, cols, nlab, &rng);
    source s = {x, lab, rows, cols, 0, 0, -1};
    ah_diag dg;
    unsigned char *ref = NULL, *b = NULL;
    size_t rlen = 0, len = 0;
    o.fit_memory_mb = 0;
    CHECK(fit_bytes(&s, &o, &ref, &rlen, &dg) == AH_OK, "%s: %s", what,
          dg.message);
    int one_group = s.rewinds;
    size_t budgets[] = {1, 2, 1 << 20};
    for (size_t t = 0; ref && t < sizeof budgets / sizeof *budgets; t++) {
        o.fit_memory_mb = budgets[t];
        int st = fit_bytes(&s, &o, &b, &len, &dg);
        CHECK(st == AH_OK && len == rlen && memcmp(b, ref, len) == 0,
              "%s, %zu MB: %zu bytes against %zu", what, budgets[t], len,
              rlen);
        if (t == 0 && o.method == AH_METHOD_HIST && o.bins > 1000)
            /* the pooled set's fine grids (40 nodes x 1,500 bins) take
             * 1.1 MB alone, the nine label sets 0.1-0.4 MB each: at least
             * three groups in 1 MB, a rewind each */
            CHECK(s.rewinds >= one_group + 2,
                  "%s: %d rewinds in groups, %d at once", what, s.rewinds,
                  one_group);
        if (t == 2 || o.method != AH_METHOD_HIST)
            CHECK(s.rewinds == one_group,
                  "%s: no groups without fit state: %d rewinds", what,
                  s.rewinds);
        free(b);
    }
    free(ref);
    free(x);
    free(lab);
}

/* Rows that change between the groups' passes are refused. */
static void test_changed_background(void)
{
    uint64_t rng = check_seed ^ 0x9a1u;
    size_t rows = 2000, cols = 40, nlab = 4;
    double *x = malloc(rows * cols * sizeof *x);
    int64_t *lab = malloc(rows * sizeof *lab);
    make_background(x, lab, rows, cols, nlab, &rng);
    source s = {x, lab, rows, cols, 0, 0, 2};
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.fit_memory_mb = 1;
    ah_diag dg;
    unsigned char *b = NULL;
    size_t len = 0;
    int st = fit_bytes(&s, &o, &b, &len, &dg);
    CHECK(st != AH_OK && strstr(dg.message, "background changed"),
          "a row changed after two groups: status %d, %s", st, dg.message);
    free(b);
    free(x);
    free(lab);
}

/* The option's range, through the fit and ah_option_check alike. */
static void test_range(void)
{
    ah_diag dg;
    CHECK(ah_option_check(AH_OPTION_FIT_MEMORY_MB, 0, &dg) == AH_OK &&
              ah_option_check(AH_OPTION_FIT_MEMORY_MB, 1 << 30, &dg) == AH_OK,
          "0 and 2^30 MB are allowed");
    CHECK(ah_option_check(AH_OPTION_FIT_MEMORY_MB, -1, &dg) == AH_ERR_ARG &&
              strstr(dg.message, "fit_memory_mb must be in 0..1073741824"),
          "%s", dg.message);
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.fit_memory_mb = ((size_t)1 << 30) + 1;
    double x[4] = {1, 2, 3, 4};
    ah_model *m = NULL;
    CHECK(ah_model_fit(&m, x, 2, 2, 2, NULL, &o, &dg) == AH_ERR_ARG && !m &&
              strstr(dg.message, "fit_memory_mb"),
          "%s", dg.message);
}

int main(void)
{
    check_init();
    ah_fit_options o;
    ah_fit_options_default(&o);
    test_same_bytes(o, "default histogram");
    o.binning = AH_BINNING_QUANTILE;
    o.bins = 64;
    test_same_bytes(o, "quantile histogram");
    ah_fit_options_default(&o);
    o.basis = AH_BASIS_PCA;
    o.basis_components = 8;
    test_same_bytes(o, "histogram with a basis");
    ah_fit_options_default(&o);
    o.method = AH_METHOD_EMPIRICAL;
    test_same_bytes(o, "empirical");
    test_changed_background();
    test_range();
    return check_done("test_fit_groups");
}
