/*
 * test_model.c - every representation against naive references.
 *
 * Empirical p-values must be bit-identical to counting every background
 * value; KDE within 1e-12 relative of a plain double loop; histogram ranges
 * must contain the empirical ranges and equal them at atoms.  Pooled and
 * conditional, every tail, random data with heavy ties and spikes.  Also:
 * chunk-size independence, save/load round trips, thread independence and
 * rejection of corrupted model files.
 */
#include "../fuzz/fix_image.h"
#include "acthist.h"
#include "bytes.h"
#include "check.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Random activations: a spike at 0 (ReLU), a second spike, a heavy right
 * tail, a constant node, a node with few distinct values, a continuous node
 * and a ReLU node whose only atom is its minimum (these two take the
 * implicit-grid path of equal-width histograms). */
static void make_data(double *x, int64_t *lab, size_t n, size_t D,
                      uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(check_rand_u64(rng) % 4) - 1; /* -1..2 */
        for (size_t j = 0; j < D; j++) {
            double u = check_rand_unit(rng), v;
            if (j == 0)
                v = 3.25; /* constant node */
            else if (j == 1)
                v = (double)(check_rand_u64(rng) % 5); /* few values */
            else if (j == 2) /* continuous: an implicit equal-width grid */
                v = -log(1e-12 + check_rand_unit(rng)) * 3.0;
            else if (j == 3) /* ReLU: the only atom is the minimum */
                v = u < 0.4 ? 0.0 : -log(1e-12 + check_rand_unit(rng));
            else if (u < 0.4)
                v = 0.0;
            else if (u < 0.5)
                v = 1.5;
            else
                v = -log(1e-12 + check_rand_unit(rng)) * (1.0 + (double)j) +
                    (lab[i] == 2 ? 2.0 : 0.0);
            x[i * D + j] = v;
        }
    }
}

static void naive_counts(const double *x, size_t n, size_t D, size_t j,
                         const int64_t *lab, int use_label, int64_t want,
                         double q, double out[4])
{
    size_t N = 0, gt = 0, ge = 0, lt = 0, le = 0;
    for (size_t i = 0; i < n; i++) {
        if (use_label && lab[i] != want)
            continue;
        double b = x[i * D + j];
        N++;
        gt += b > q;
        ge += b >= q;
        lt += b < q;
        le += b <= q;
    }
    out[0] = (double)gt / (double)(N + 1);
    out[1] = (double)(ge + 1) / (double)(N + 1);
    out[2] = (double)lt / (double)(N + 1);
    out[3] = (double)(le + 1) / (double)(N + 1);
}

static void naive_kde(const double *x, size_t n, size_t D, size_t j,
                      const int64_t *lab, int use_label, int64_t want,
                      double q, double out[4])
{
    double mean = 0, ss = 0;
    size_t N = 0;
    for (size_t i = 0; i < n; i++)
        if (!use_label || lab[i] == want) {
            mean += x[i * D + j];
            N++;
        }
    mean /= (double)N;
    for (size_t i = 0; i < n; i++)
        if (!use_label || lab[i] == want)
            ss += (x[i * D + j] - mean) * (x[i * D + j] - mean);
    double h = N > 1 ? sqrt(ss / (double)(N - 1)) * pow((double)N, -0.2) : 0;
    if (!(h > 0)) {
        naive_counts(x, n, D, j, lab, use_label, want, q, out);
        return;
    }
    double up = 0, lo = 0;
    for (size_t i = 0; i < n; i++)
        if (!use_label || lab[i] == want) {
            double z = (q - x[i * D + j]) / h;
            up += 0.5 * erfc(z / sqrt(2.0));
            lo += 0.5 * erfc(-z / sqrt(2.0));
        }
    out[0] = out[1] = up / (double)N;
    out[2] = out[3] = lo / (double)N;
}

static void apply_tail(const double p[4], int tail, double out[2])
{
    if (tail == AH_TAIL_LOWER) {
        out[0] = p[2];
        out[1] = p[3];
    } else if (tail == AH_TAIL_TWO) {
        out[0] = fmin(1.0, 2.0 * fmin(p[0], p[2]));
        out[1] = fmin(1.0, 2.0 * fmin(p[1], p[3]));
    } else {
        out[0] = p[0];
        out[1] = p[1];
    }
}

static int rel_close(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)) || a == b;
}

/* Is q exactly an atom of node j in the model's set? */
static int is_atom(const ah_model *m, int64_t label, size_t j, double q)
{
    ah_cell cells[4096];
    size_t nc = 0;
    if (ah_model_node_cells(m, label, j, cells, 4096, &nc, NULL) != AH_OK)
        return 0;
    for (size_t i = 0; i < nc; i++)
        if (cells[i].atom && cells[i].lo == q)
            return 1;
    return 0;
}

static void check_model(const char *what, const ah_fit_options *o,
                        const double *x, const int64_t *lab, size_t n,
                        size_t D, const double *q, const int64_t *qlab,
                        size_t nq, int conditional)
{
    ah_model *m = NULL;
    ah_diag d;
    int st = ah_model_fit(&m, x, n, D, D, conditional ? lab : NULL, o, &d);
    CHECK(st == AH_OK, "%s: fit failed: %s", what, d.message);
    if (st != AH_OK)
        return;
    for (int tail = 0; tail <= AH_TAIL_BOTH; tail++) {
        size_t w = ah_pvalue_width(m, tail);
        double *out = malloc(nq * w * 2 * sizeof *out);
        size_t unseen = 0;
        st = ah_pvalues(m, q, nq, D, D, conditional ? qlab : NULL, tail, out,
                        &unseen, 1, &d);
        CHECK(st == AH_OK, "%s: pvalues: %s", what, d.message);
        int bad = 0;
        for (size_t i = 0; i < nq && !bad; i++) {
            int64_t want = qlab[i];
            int use = conditional && want >= -1 && want <= 2;
            for (size_t jj = 0; jj < w && !bad; jj++) {
                size_t j = jj % D;
                int t = tail;
                if (tail == AH_TAIL_BOTH)
                    t = jj < D ? AH_TAIL_UPPER : AH_TAIL_LOWER;
                double ref4[4], ref[2];
                double v = q[i * D + j];
                if (o->method == AH_METHOD_KDE)
                    naive_kde(x, n, D, j, lab, use, want, v, ref4);
                else
                    naive_counts(x, n, D, j, lab, use, want, v, ref4);
                apply_tail(ref4, t, ref);
                const double *got = out + (i * w + jj) * 2;
                if (o->method == AH_METHOD_EMPIRICAL) {
                    bad = got[0] != ref[0] || got[1] != ref[1];
                } else if (o->method == AH_METHOD_KDE) {
                    bad = !rel_close(got[0], ref[0], 1e-12) ||
                          !rel_close(got[1], ref[1], 1e-12);
                } else {
                    bad = got[0] > ref[0] || got[1] < ref[1];
                    if (!bad && is_atom(m, use ? want : AH_POOLED, j, v))
                        bad = got[0] != ref[0] || got[1] != ref[1];
                }
                if (bad)
                    CHECK(!bad,
                          "%s tail %s row %zu node %zu x=%.17g: got [%.17g, "
                          "%.17g] reference [%.17g, %.17g]",
                          what, ah_tail_name(tail), i, j, v, got[0], got[1],
                          ref[0], ref[1]);
            }
        }
        if (!bad)
            CHECK(1, "ok");
        if (conditional) {
            size_t expect = 0;
            for (size_t i = 0; i < nq; i++)
                expect += !(qlab[i] >= -1 && qlab[i] <= 2);
            CHECK(unseen == expect, "%s: unseen %zu, expected %zu", what,
                  unseen, expect);
        }
        free(out);
    }
    /* Round trip: save, load, identical p-values and identical bytes. */
    size_t len = 0;
    ah_model_save_memory(m, NULL, &len, NULL);
    unsigned char *buf = malloc(len), *buf2 = malloc(len);
    CHECK(ah_model_save_memory(m, buf, &len, NULL) == AH_OK, "%s: save", what);
    ah_model *m2 = NULL;
    st = ah_model_load_memory(&m2, buf, len, "roundtrip", &d);
    CHECK(st == AH_OK, "%s: load: %s", what, d.message);
    if (st == AH_OK) {
        size_t len2 = len;
        CHECK(ah_model_save_memory(m2, buf2, &len2, NULL) == AH_OK &&
                  len2 == len && memcmp(buf, buf2, len) == 0,
              "%s: re-saved bytes differ", what);
        size_t w = ah_pvalue_width(m, AH_TAIL_BOTH);
        double *a = malloc(nq * w * 2 * sizeof *a);
        double *b = malloc(nq * w * 2 * sizeof *b);
        ah_pvalues(m, q, nq, D, D, conditional ? qlab : NULL, AH_TAIL_BOTH,
                   a, NULL, 1, NULL);
        ah_pvalues(m2, q, nq, D, D, conditional ? qlab : NULL, AH_TAIL_BOTH,
                   b, NULL, 2, NULL);
        CHECK(memcmp(a, b, nq * w * 2 * sizeof *a) == 0,
              "%s: p-values differ after load (or across threads)", what);
        free(a);
        free(b);
    }
    ah_model_free(m2);
    free(buf);
    free(buf2);
    ah_model_free(m);
}

static void test_representations(void)
{
    uint64_t rng = check_seed;
    size_t n = 600, D = 7, nq = 300;
    double *x = malloc(n * D * sizeof *x), *q = malloc(nq * D * sizeof *q);
    int64_t *lab = malloc(n * sizeof *lab), *qlab = malloc(nq * sizeof *qlab);
    make_data(x, lab, n, D, &rng);
    make_data(q, qlab, nq, D, &rng);
    /* queries: fresh values, exact background values, values outside the
     * range, an unseen label */
    for (size_t i = 0; i < nq; i += 3)
        for (size_t j = 0; j < D; j++)
            q[i * D + j] = x[(i % n) * D + j];
    for (size_t j = 0; j < D; j++) {
        q[1 * D + j] = -1e9;
        q[2 * D + j] = 1e9;
    }
    qlab[5] = 99;
    struct {
        const char *name;
        int method, bins, binning;
    } cfg[] = {
        {"empirical", AH_METHOD_EMPIRICAL, 0, 0},
        {"kde", AH_METHOD_KDE, 0, 0},
        {"hist width 16", AH_METHOD_HIST, 16, AH_BINNING_WIDTH},
        {"hist width 256", AH_METHOD_HIST, 256, AH_BINNING_WIDTH},
        {"hist width auto", AH_METHOD_HIST, AH_BINS_AUTO, AH_BINNING_WIDTH},
        {"hist quantile 16", AH_METHOD_HIST, 16, AH_BINNING_QUANTILE},
        {"hist quantile auto", AH_METHOD_HIST, AH_BINS_AUTO,
         AH_BINNING_QUANTILE},
        {"hist width 1", AH_METHOD_HIST, 1, AH_BINNING_WIDTH},
        {"hist tails 16", AH_METHOD_HIST, 16, AH_BINNING_TAILS},
        {"hist tails 256", AH_METHOD_HIST, 256, AH_BINNING_TAILS},
    };
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int cond = 0; cond <= 1; cond++) {
            ah_fit_options o;
            ah_fit_options_default(&o);
            o.method = cfg[c].method;
            o.bins = cfg[c].bins;
            o.binning = cfg[c].binning;
            char what[128];
            snprintf(what, sizeof what, "%s%s", cfg[c].name,
                     cond ? " conditional" : "");
            check_model(what, &o, x, lab, n, D, q, qlab, nq, cond);
        }
    free(x);
    free(q);
    free(lab);
    free(qlab);
}

static void test_chunks(void)
{
    uint64_t rng = check_seed + 1;
    size_t n = 257, D = 5;
    double *x = malloc(n * D * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    make_data(x, lab, n, D, &rng);
    for (int method = 0; method <= AH_METHOD_KDE; method++) {
        unsigned char *ref = NULL;
        size_t reflen = 0;
        size_t chunks[] = {1, 7, n};
        for (size_t c = 0; c < 3; c++) {
            ah_fit_options o;
            ah_fit_options_default(&o);
            o.method = method;
            o.bins = 16;
            o.binning = AH_BINNING_QUANTILE;
            o.chunk_rows = chunks[c];
            ah_model *m = NULL;
            CHECK(ah_model_fit(&m, x, n, D, D, lab, &o, NULL) == AH_OK,
                  "fit chunk %zu", chunks[c]);
            size_t len = 0;
            ah_model_save_memory(m, NULL, &len, NULL);
            unsigned char *buf = malloc(len);
            ah_model_save_memory(m, buf, &len, NULL);
            if (!ref) {
                ref = buf;
                reflen = len;
            } else {
                CHECK(len == reflen && memcmp(buf, ref, len) == 0,
                      "method %s: chunk %zu gives a different model",
                      ah_method_name(method), chunks[c]);
                free(buf);
            }
            ah_model_free(m);
        }
        free(ref);
    }
    free(x);
    free(lab);
}

static void test_corrupt(void)
{
    uint64_t rng = check_seed + 2;
    size_t n = 100, D = 4;
    double *x = malloc(n * D * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    make_data(x, lab, n, D, &rng);
    ah_model *m = NULL;
    ah_model_fit(&m, x, n, D, D, lab, NULL, NULL);
    size_t len = 0;
    ah_model_save_memory(m, NULL, &len, NULL);
    unsigned char *buf = malloc(len);
    ah_model_save_memory(m, buf, &len, NULL);
    ah_model *m2 = NULL;
    ah_diag d;
    /* every truncation is rejected */
    int all = 1;
    for (size_t cut = 0; cut < len; cut += (cut < 200 ? 1 : 97))
        if (ah_model_load_memory(&m2, buf, cut, "t", &d) == AH_OK || m2)
            all = 0;
    CHECK(all, "a truncated model was accepted");
    /* every single bit flip is rejected */
    all = 1;
    for (size_t i = 0; i < len; i += 13) {
        buf[i] ^= 0x10;
        int st = ah_model_load_memory(&m2, buf, len, "f", &d);
        if (st == AH_OK) {
            all = 0;
            ah_model_free(m2);
        }
        buf[i] ^= 0x10;
    }
    CHECK(all, "a corrupted model was accepted");
    buf[10] = 7; /* minor version from the future */
    CHECK(ah_model_load_memory(&m2, buf, len, "v", &d) == AH_ERR_VERSION,
          "future version: %s", d.message);
    buf[10] = 0;
    buf[0] = 'X';
    CHECK(ah_model_load_memory(&m2, buf, len, "magic", &d) == AH_ERR_FORMAT &&
              strstr(d.message, "magic"),
          "bad magic: %s", d.message);
    free(buf);
    ah_model_free(m);
    free(x);
    free(lab);
}

static void test_bad_values(void)
{
    double x[6] = {1, 2, NAN, 4, 5, 6};
    ah_model *m = NULL;
    ah_diag d;
    int st = ah_model_fit(&m, x, 3, 2, 2, NULL, NULL, &d);
    CHECK(st == AH_ERR_VALUE && d.row == 1 && d.col == 0 && !m,
          "NaN in background: %d %s", st, d.message);
    x[2] = 3;
    CHECK(ah_model_fit(&m, x, 3, 2, 2, NULL, NULL, &d) == AH_OK, "fit");
    double q[2] = {1, INFINITY}, out[4];
    st = ah_pvalues(m, q, 1, 2, 2, NULL, -1, out, NULL, 1, &d);
    CHECK(st == AH_ERR_VALUE && d.col == 1, "inf input: %s", d.message);
    st = ah_pvalues(m, q, 1, 3, 3, NULL, -1, out, NULL, 1, &d);
    CHECK(st == AH_ERR_SHAPE, "D mismatch: %s", d.message);
    ah_model *m2 = NULL;
    CHECK(ah_model_fit(&m2, x, 0, 2, 2, NULL, NULL, &d) == AH_ERR_EMPTY &&
              !m2,
          "empty background");
    ah_model_free(m);
}

/* A format 1.0 file (plain varint counts, from the fuzz corpus) still
 * loads; saved again it is format 1.1 with zero runs, no larger, and
 * answers bit for bit the same. */
static void test_format_1_0(void)
{
    const char *path = "fuzz/corpus/model/hist_width.ahm";
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "%s: cannot open (run from the repository root)", path);
    if (!f)
        return;
    unsigned char old[1 << 16];
    size_t len = fread(old, 1, sizeof old, f);
    fclose(f);
    CHECK(len > 12 && old[8] == 1 && old[10] == 0, "%s is format 1.0", path);
    ah_model *m = NULL, *m2 = NULL;
    ah_diag d;
    int st = ah_model_load_memory(&m, old, len, path, &d);
    CHECK(st == AH_OK, "load 1.0: %s", d.message);
    if (st != AH_OK)
        return;
    size_t len2 = 0;
    ah_model_save_memory(m, NULL, &len2, NULL);
    unsigned char *buf = malloc(len2);
    ah_model_save_memory(m, buf, &len2, NULL);
    CHECK(buf[10] == 1 && len2 <= len, "saved as 1.%d, %zu bytes (was %zu)",
          buf[10], len2, len);
    st = ah_model_load_memory(&m2, buf, len2, "resaved", &d);
    CHECK(st == AH_OK, "reload: %s", d.message);
    size_t D = ah_model_nodes(m), rows = 64, bad = 0;
    double *q = malloc(rows * D * sizeof *q), *p1 = malloc(rows * D * 4 * sizeof *p1),
           *p2 = malloc(rows * D * 4 * sizeof *p2);
    uint64_t rng = check_seed;
    for (size_t i = 0; i < rows * D; i++)
        q[i] = check_rand_unit(&rng) * 8.0 - 2.0;
    for (int tail = 0; st == AH_OK && tail <= AH_TAIL_BOTH; tail++) {
        ah_pvalues(m, q, rows, D, D, NULL, tail, p1, NULL, 1, &d);
        ah_pvalues(m2, q, rows, D, D, NULL, tail, p2, NULL, 1, &d);
        bad += memcmp(p1, p2, rows * ah_pvalue_width(m, tail) * 2 *
                                  sizeof *p1) != 0;
    }
    CHECK(bad == 0, "1.0 and 1.1 copies disagree on %zu tails", bad);
    free(q);
    free(p1);
    free(p2);
    free(buf);
    ah_model_free(m);
    ah_model_free(m2);
}

/* Ranges narrow next to their magnitude: a grid step of a few ulps (the
 * loader then computes and checks every edge) and of many (it takes the
 * implicit grid without computing them).  Both must answer after a load
 * as they did fitted (check_model's round trip). */
static void test_narrow_ranges(void)
{
    uint64_t rng = check_seed ^ 0x7a7a;
    size_t n = 4000, D = 4, nq = 200;
    double *x = malloc(n * D * sizeof *x), *q = malloc(nq * D * sizeof *q);
    int64_t *lab = malloc(n * sizeof *lab), *qlab = malloc(nq * sizeof *qlab);
    static const double width[4] = {1e-6, 3e-6, 1e-3, 10.0};
    for (size_t i = 0; i < n + nq; i++)
        for (size_t j = 0; j < D; j++) {
            double v = 1e6 + width[j] * check_rand_unit(&rng);
            if (i < n)
                x[i * D + j] = v;
            else
                q[(i - n) * D + j] = i % 3 ? v : x[(i % n) * D + j];
        }
    for (size_t i = 0; i < n; i++)
        lab[i] = (int64_t)(i % 4) - 1;
    for (size_t i = 0; i < nq; i++)
        qlab[i] = (int64_t)(i % 4) - 1;
    ah_fit_options o;
    ah_fit_options_default(&o);
    check_model("narrow ranges, 3072 bins", &o, x, lab, n, D, q, qlab, nq, 0);
    check_model("narrow ranges, conditional", &o, x, lab, n, D, q, qlab, nq,
                1);
    free(x);
    free(q);
    free(lab);
    free(qlab);
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A histogram model written by hand: D equal-width nodes of B bins on
 * [0, 1] with zero-run counts, all n rows in the first bin, so a node
 * takes 48 bytes whatever B.  Returns its length. */
static size_t hand_model(unsigned char **out, size_t D, uint32_t B, uint32_t n)
{
    size_t len = 96 + 24 + 48 * D + 8;
    unsigned char *b = calloc(len, 1), *q = b + 120;
    static const unsigned char mg[8] = {0x89, 'A', 'H', 'M', '\r', '\n', 0x1a,
                                        '\n'};
    double share = 1.0 / 33, one = 1.0;
    memcpy(b, mg, 8);
    put_le(b + 8, 1, 2);
    put_le(b + 10, 1, 2);
    put_le(b + 12, 96, 4);
    memcpy(b + 32, &share, 8);
    put_le(b + 40, D, 8);
    put_le(b + 48, n, 8);
    put_le(b + 56, 1, 8);
    put_le(b + 96, (uint64_t)INT64_MIN, 8);
    put_le(b + 104, n, 8);
    put_le(b + 112, 48 * D, 8);
    for (size_t j = 0; j < D; j++, q += 48) {
        put_le(q, 1 | 0x100, 4); /* grid, zero runs */
        put_le(q + 4, B, 4);
        put_le(q + 12, 48, 4);
        put_le(q + 16, B, 4);
        memcpy(q + 32, &one, 8);
        unsigned char *c = q + 40;
        *c++ = (unsigned char)n;  /* first bin (n < 128) */
        *c++ = 0;                 /* then a zero, and B - 2 more */
        for (uint32_t r = B - 2;; r >>= 7) {
            *c++ = (unsigned char)((r & 0x7f) | (r >= 0x80 ? 0x80 : 0));
            if (r < 0x80)
                break;
        }
    }
    fuzz_fix_image(b, len, 64, 96);
    *out = b;
    return len;
}

/* Every header field is checked against its documented range
 * (docs/FORMAT.md), each with its own message: a fitted model with one
 * field changed and the size and checksum made right again, so that the
 * field check, not the checksum, is what refuses it. */
static void test_header_fields(void)
{
    /* node 0 takes six distinct values: an equal-width grid, no atoms */
    double x[12] = {1, 0, 2, 1, 3, 1, 5, 3, 8, 1, 9, 2};
    ah_model *m = NULL;
    ah_diag d;
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.bins = 4;
    CHECK(ah_model_fit(&m, x, 6, 2, 2, NULL, &o, &d) == AH_OK, "%s",
          d.message);
    size_t len = 0;
    ah_model_save_memory(m, NULL, &len, NULL);
    unsigned char *good = malloc(len), *b = malloc(len);
    ah_model_save_memory(m, good, &len, NULL);
    ah_model_free(m);
    static const struct {
        size_t off;
        int bytes;
        uint64_t value;
        const char *message;
    } bad[] = {
        {12, 4, 128, "header size 128"},
        {16, 4, 3, "unknown method 3"},
        {20, 4, 4, "unknown tail 4"},
        {24, 4, 3, "unknown binning 3"},
        {28, 4, 0xffffffffu, "bins requested 4294967295"},
        {28, 4, 65537, "bins requested 65537"},
        {32, 8, 0x7ff8000000000000u, "atom share nan"},    /* NaN */
        {32, 8, 0xbff0000000000000u, "atom share -1"},     /* -1.0 */
        {32, 8, 0x4000000000000000u, "atom share 2"},      /* 2.0 */
        {32, 8, 0, "atom share 0"},
        {32, 8, 0x7ff0000000000000u, "atom share inf"},
        {40, 8, 0, "D (nodes) 0"},
        {48, 8, 0, "N (rows) 0"},
        {48, 8, 0xffffffffu, "N (rows) 4294967295"},
        {56, 8, 0, "S (sets) 0"},
        {56, 8, 1000, "S (sets) 1000"},
        {72, 1, 1, "bytes 72 to 95 are not zero"},
        {95, 1, 0x80, "bytes 72 to 95 are not zero"},
        {88, 8, 0xffffffffffffffffu, "bytes 72 to 95 are not zero"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(b, good, len);
        put_le(b + bad[i].off, bad[i].value, bad[i].bytes);
        fuzz_fix_image(b, len, 64, 96);
        m = NULL;
        int st = ah_model_load_memory(&m, b, len, "field.ahm", &d);
        CHECK(st == AH_ERR_FORMAT && !m &&
                  strstr(d.message, "field.ahm: ") &&
                  strstr(d.message, bad[i].message),
              "byte %zu set to %llu: %d '%s', not '%s'", bad[i].off,
              (unsigned long long)bad[i].value, st, d.message,
              bad[i].message);
        ah_model_free(m);
    }
    /* the reserved word of an equal-width node (after B) must be zero */
    size_t node = 96 + 24; /* set 0's first node */
    memcpy(b, good, len);
    CHECK((ah__get_u32(b + node) & 0xff) == 1 && ah__get_u32(b + node + 8) == 0,
          "node 0 of the test model is an equal-width grid without atoms");
    b[node + 16 + 4] = 1;
    fuzz_fix_image(b, len, 64, 96);
    m = NULL;
    int st = ah_model_load_memory(&m, b, len, "grid.ahm", &d);
    CHECK(st == AH_ERR_FORMAT && !m && strstr(d.message, "node 0") &&
              strstr(d.message, "not zero"),
          "grid word after B: %d %s", st, d.message);
    ah_model_free(m);
    free(good);
    free(b);
}

/* With zero runs a node of 2^24 bins takes 48 bytes, so a small file can
 * ask for more memory than the machine has: the loader refuses it with a
 * message before allocating.  The same file with 1024 bins loads. */
static void test_oversized_model(void)
{
    unsigned char *b;
    ah_model *m = NULL;
    ah_diag d;
    size_t len = hand_model(&b, 64, 1024, 10);
    int st = ah_model_load_memory(&m, b, len, "small", &d);
    CHECK(st == AH_OK && ah_model_nodes(m) == 64, "hand-written model: %s",
          d.message);
    ah_model_free(m);
    free(b);
    /* about 67 MB a node by the loader's estimate (an implicit grid keeps
     * its cumulative counts, at most 4 bytes a bin); twice this machine */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double machine = pages > 0 && page > 0 ? (double)pages * page : 64e9;
    size_t D = (size_t)(2 * machine / 6.7e7) + 1;
    len = hand_model(&b, D, 1u << 24, 10);
    m = NULL;
    st = ah_model_load_memory(&m, b, len, "big", &d);
    CHECK(st == AH_ERR_NOMEM && !m && strstr(d.message, "big: ") &&
              strstr(d.message, "this process may use"),
          "a model of %zu nodes of 2^24 bins: %d %s", D, st, d.message);
    free(b);
    /* 2^25 bins is past what a node may have: a format error, whatever
     * memory it would ask for */
    len = hand_model(&b, D, 1u << 25, 10);
    st = ah_model_load_memory(&m, b, len, "past", &d);
    CHECK(st == AH_ERR_FORMAT && !m && strstr(d.message, "node 0"),
          "nodes of 2^25 bins: %d %s", st, d.message);
    free(b);
    /* On fitted models (one set) the loader's estimate is at least 95% of
     * what the loaded model holds (the few structures of the set are not
     * counted) and at most 3 times that: no model is refused on a machine
     * with room for three of it. */
    uint64_t rng = check_seed + 11;
    size_t n = 3000, DF = 16;
    double *x = malloc(n * DF * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    make_data(x, lab, n, DF, &rng);
    for (int binning = 0; binning <= AH_BINNING_TAILS; binning++) {
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.binning = binning;
        m = NULL;
        st = ah_model_fit(&m, x, n, DF, DF, NULL, &o, &d);
        size_t blen = 0;
        ah_model_save_memory(m, NULL, &blen, NULL);
        b = malloc(blen);
        ah_model_save_memory(m, b, &blen, NULL);
        ah_model *back = NULL;
        ah_model_info info;
        ah_model_load_memory(&back, b, blen, "fitted", &d);
        ah_model_get_info(back, &info);
        uint64_t pb = 0;
        memcpy(&pb, b + 112, 8); /* set 0's payload bytes (little-endian) */
        size_t est = ah__hist_ops.read_bytes(DF, b + 120, (size_t)pb);
        CHECK(st == AH_OK && back && est >= info.memory_bytes / 100 * 95 &&
                  est <= 3 * info.memory_bytes,
              "binning %d: estimate %zu, loaded %zu bytes", binning, est,
              info.memory_bytes);
        ah_model_free(back);
        ah_model_free(m);
        free(b);
    }
    free(x);
    free(lab);
}

int main(void)
{
    check_init();
    test_narrow_ranges();
    test_representations();
    test_chunks();
    test_corrupt();
    test_bad_values();
    test_format_1_0();
    test_oversized_model();
    test_header_fields();
    return check_done("test_model");
}
