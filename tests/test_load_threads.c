/*
 * test_load_threads.c - a model's nodes read on several threads give the
 * model read on one: the same bytes saved again, the same p-values, the
 * same memory figure; and a damaged file gives the same error, word for
 * word, whatever the thread count (the first failing node in file order,
 * not the first a thread met).
 */
#include "../fuzz/fix_image.h"
#include "acthist.h"
#include "check.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 3000, COLS = 48, LABELS = 4, QROWS = 40 };

/* ReLU-like columns, an atom inside the range on every third one (pair
 * tables), so that every kind of node is read. */
static void make_rows(double *x, int64_t *lab, size_t rows, uint64_t *rng)
{
    for (size_t i = 0; i < rows; i++) {
        lab[i] = (int64_t)(i % LABELS);
        for (size_t j = 0; j < COLS; j++) {
            double u = check_rand_unit(rng);
            double v = u < 0.5 ? 0.0 : (u - 0.5) * (1.0 + (double)j);
            if (j % 3 == 2 && u > 0.7 && u < 0.8)
                v = 0.25 * (1.0 + (double)j); /* an atom inside */
            x[i * COLS + j] = v;
        }
    }
}

static unsigned char *save(const ah_model *m, size_t *len)
{
    *len = 0;
    ah_model_save_memory(m, NULL, len, NULL);
    unsigned char *b = malloc(*len);
    if (b && ah_model_save_memory(m, b, len, NULL) != AH_OK) {
        free(b);
        b = NULL;
    }
    return b;
}

/* Every thread count against one: saved bytes, p-values, memory. */
static void check_same(const unsigned char *file, size_t len,
                       const double *q, const int64_t *ql, const char *what)
{
    ah_model *one = NULL;
    ah_diag d;
    CHECK(ah__model_load_memory_threads(&one, file, len, what, 1, &d) ==
              AH_OK,
          "%s, one thread: %s", what, d.message);
    if (!one)
        return;
    size_t len1 = 0, W = ah_pvalue_width(one, -1);
    unsigned char *b1 = save(one, &len1);
    double *p1 = malloc(QROWS * W * 2 * sizeof *p1),
           *pk = malloc(QROWS * W * 2 * sizeof *pk);
    ah_model_info i1, ik;
    ah_model_get_info(one, &i1);
    CHECK(ah_pvalues(one, q, QROWS, COLS, COLS, ql, -1, p1, NULL, 1, &d) ==
              AH_OK,
          "%s: %s", what, d.message);
    static const int counts[] = {2, 3, 7, 16, 40};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        ah_model *m = NULL;
        int st = ah__model_load_memory_threads(&m, file, len, what,
                                               counts[c], &d);
        CHECK(st == AH_OK, "%s, %d threads: %s", what, counts[c], d.message);
        if (!m)
            continue;
        size_t lenk = 0;
        unsigned char *bk = save(m, &lenk);
        CHECK(bk && b1 && lenk == len1 && memcmp(bk, b1, len1) == 0,
              "%s, %d threads: saved %zu bytes against %zu", what, counts[c],
              lenk, len1);
        CHECK(ah_pvalues(m, q, QROWS, COLS, COLS, ql, -1, pk, NULL, 1, &d) ==
                      AH_OK &&
                  memcmp(pk, p1, QROWS * W * 2 * sizeof *pk) == 0,
              "%s, %d threads: p-values differ", what, counts[c]);
        ah_model_get_info(m, &ik);
        CHECK(ik.memory_bytes == i1.memory_bytes,
              "%s, %d threads: memory %zu against %zu", what, counts[c],
              (size_t)ik.memory_bytes, (size_t)i1.memory_bytes);
        free(bk);
        ah_model_free(m);
    }
    free(b1);
    free(p1);
    free(pk);
    ah_model_free(one);
}

/* Damaged copies (bytes changed in the nodes, the checksum made valid
 * again): every thread count fails, or loads, as one thread does, with
 * the same status, message, row and column. */
static void check_damage(const unsigned char *file, size_t len,
                         uint64_t *rng, const char *what)
{
    unsigned char *b = malloc(len);
    int differ = 0, failed = 0;
    for (int t = 0; t < 300 && b; t++) {
        memcpy(b, file, len);
        for (int f = 0; f < 1 + t % 3; f++) {
            size_t at = 128 + check_rand_u64(rng) % (len - 136);
            b[at] ^= (unsigned char)(1u << (check_rand_u64(rng) % 8));
        }
        fuzz_fix_image(b, len, 64, 96);
        ah_model *m1 = NULL;
        ah_diag d1, dk;
        int s1 = ah__model_load_memory_threads(&m1, b, len, what, 1, &d1);
        failed += s1 != AH_OK;
        for (int k = 2; k <= 5; k += 3) {
            ah_model *mk = NULL;
            int sk = ah__model_load_memory_threads(&mk, b, len, what, k, &dk);
            differ += sk != s1 || (s1 != AH_OK &&
                                   (strcmp(d1.message, dk.message) != 0 ||
                                    d1.row != dk.row || d1.col != dk.col));
            if (sk != s1 || (s1 != AH_OK && strcmp(d1.message, dk.message)))
                fprintf(stderr, "%s: one thread: %d %s; %d: %d %s\n", what, s1,
                        d1.message, k, sk, dk.message);
            ah_model_free(mk);
        }
        ah_model_free(m1);
    }
    CHECK(differ == 0 && failed > 30,
          "%s: %d damaged files read differently on threads (%d of 300 "
          "refused)", what, differ, failed);
    free(b);
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed ^ 0x10adULL;
    double *x = malloc(ROWS * COLS * sizeof *x),
           *q = malloc(QROWS * COLS * sizeof *q);
    int64_t *lab = malloc(ROWS * sizeof *lab), ql[QROWS];
    make_rows(x, lab, ROWS, &rng);
    make_rows(q, ql, QROWS, &rng);
    for (size_t i = 0; i < QROWS * COLS; i += 7)
        q[i] = q[i] * 1.5 + 0.01 * (double)i; /* off the background too */
    static const struct {
        int labels, method, binning;
        const char *what;
    } kinds[] = {
        {0, AH_METHOD_HIST, AH_BINNING_WIDTH, "pooled"},
        {1, AH_METHOD_HIST, AH_BINNING_WIDTH, "conditional"},
        {1, AH_METHOD_HIST, AH_BINNING_QUANTILE, "quantile"},
        {1, AH_METHOD_EMPIRICAL, AH_BINNING_WIDTH, "empirical"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.method = kinds[k].method;
        o.binning = kinds[k].binning;
        if (o.binning == AH_BINNING_QUANTILE)
            o.bins = 64;
        ah_model *m = NULL;
        ah_diag d;
        CHECK(ah_model_fit(&m, x, ROWS, COLS, COLS,
                           kinds[k].labels ? lab : NULL, &o, &d) == AH_OK,
              "fit %s: %s", kinds[k].what, d.message);
        size_t len = 0;
        unsigned char *file = m ? save(m, &len) : NULL;
        if (file) {
            check_same(file, len, q, kinds[k].labels ? ql : NULL,
                       kinds[k].what);
            if (o.method == AH_METHOD_HIST)
                check_damage(file, len, &rng, kinds[k].what);
        }
        free(file);
        ah_model_free(m);
    }
    free(x);
    free(q);
    free(lab);
    return check_done("test_load_threads");
}
