/*
 * test_shard.c - fitting in shards: merged models against one fit of all
 * rows, the files, and every refusal.
 *
 * The reference is ah_model_fit on the whole matrix: with equal-width bins
 * the merged model must be the same bytes, for random splits (empty shards
 * included), random merge orders and trees, with and without labels, and
 * through saved and reloaded plans and counts.
 */
#include "acthist.h"
#include "check.h"
#include "../fuzz/fix_image.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

/* Activations like a ReLU layer's: an atom at 0, a few repeated values,
 * per-node scales, a heavy right tail; float32-representable. */
static double *make_rows(size_t n, size_t D, uint64_t *rng, int64_t *labels,
                         int nlabels)
{
    double *x = malloc(n * D * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        if (labels)
            labels[i] = (int64_t)(check_rand_u64(rng) % (uint64_t)nlabels) * 3 - 2;
        for (size_t j = 0; j < D; j++) {
            double u = check_rand_unit(rng), v;
            if (u < 0.3 + 0.02 * (double)(j % 5))
                v = 0;
            else if (u < 0.36)
                v = 0.5 * (double)(j + 1);
            else
                v = (double)(float)(-log(check_rand_unit(rng) + 1e-12) *
                                     (1.0 + (double)j));
            x[i * D + j] = v;
        }
    }
    return x;
}

typedef struct slice {
    const double *x;
    const int64_t *labels;
    size_t rows, cols, pos, chunk;
} slice;

/* Deliberately odd chunk sizes: results must not depend on them. */
static int slice_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                      size_t max_rows, size_t *got, ah_diag *diag)
{
    slice *s = ctx;
    (void)diag;
    size_t k = s->rows - s->pos;
    if (k > max_rows)
        k = max_rows;
    if (k > s->chunk)
        k = s->chunk;
    for (size_t i = 0; i < k; i++) {
        memcpy(rows + i * ld, s->x + (s->pos + i) * s->cols,
               s->cols * sizeof(double));
        if (s->labels)
            labels[i] = s->labels[s->pos + i];
    }
    s->pos += k;
    *got = k;
    return AH_OK;
}

static int slice_rewind(void *ctx, ah_diag *diag)
{
    (void)diag;
    ((slice *)ctx)->pos = 0;
    return AH_OK;
}

static ah_row_source source_of(slice *s)
{
    ah_row_source src = {s, s->cols, s->labels != NULL, slice_read,
                         slice_rewind};
    return src;
}

static unsigned char *model_bytes(const ah_model *m, size_t *len)
{
    *len = 0;
    ah_model_save_memory(m, NULL, len, NULL);
    unsigned char *b = malloc(*len);
    ah_model_save_memory(m, b, len, NULL);
    return b;
}

static unsigned char *shard_bytes(const ah_shard *s, size_t *len)
{
    *len = 0;
    ah_shard_save_memory(s, NULL, len, NULL);
    unsigned char *b = malloc(*len);
    ah_shard_save_memory(s, b, len, NULL);
    return b;
}

/* Save and load again (checks the file round trip on the way). */
static ah_shard *through_file(ah_shard *s)
{
    size_t len;
    unsigned char *b = shard_bytes(s, &len);
    ah_shard *t = NULL;
    ah_diag d;
    int st = ah_shard_load_memory(&t, b, len, "round trip", &d);
    CHECK(st == AH_OK, "reload: %s", d.message);
    size_t len2;
    unsigned char *b2 = t ? shard_bytes(t, &len2) : NULL;
    CHECK(b2 && len2 == len && memcmp(b, b2, len) == 0,
          "a reloaded shard saves to other bytes");
    free(b);
    free(b2);
    ah_shard_free(s);
    return t;
}

/* Merge the list by random pairs (a random tree); returns what is left. */
static ah_shard *merge_all(ah_shard **s, size_t k, uint64_t *rng)
{
    while (k > 1) {
        size_t a = check_rand_u64(rng) % k, b = check_rand_u64(rng) % (k - 1);
        if (b >= a)
            b++;
        ah_diag d;
        int st = ah_shard_merge(s[a], s[b], &d);
        CHECK(st == AH_OK, "merge: %s", d.message);
        ah_shard_free(s[b]);
        s[b] = s[--k];
    }
    return s[0];
}

/* Fit in k shards cut at random rows; NULL when a step failed. */
static ah_model *fit_in_shards(const double *x, const int64_t *labels,
                               size_t n, size_t D, size_t k,
                               const ah_fit_options *o, int via_files,
                               uint64_t *rng)
{
    size_t cut[16];
    cut[0] = 0;
    cut[k] = n;
    for (size_t i = 1; i < k; i++)
        cut[i] = check_rand_u64(rng) % (n + 1);
    for (size_t i = 1; i < k; i++) /* sort the cuts */
        for (size_t j = i; j > 1 && cut[j] < cut[j - 1]; j--) {
            size_t t = cut[j];
            cut[j] = cut[j - 1];
            cut[j - 1] = t;
        }
    ah_shard *part[16];
    ah_diag d;
    for (size_t i = 0; i < k; i++) {
        slice s = {x + cut[i] * D, labels ? labels + cut[i] : NULL,
                   cut[i + 1] - cut[i], D, 0, 1 + check_rand_u64(rng) % 97};
        ah_row_source src = source_of(&s);
        int st = ah_shard_plan(&part[i], &src, o, &d);
        CHECK(st == AH_OK, "plan: %s", d.message);
        if (st != AH_OK)
            return NULL;
        if (via_files)
            part[i] = through_file(part[i]);
    }
    ah_shard *plan = merge_all(part, k, rng);
    if (via_files)
        plan = through_file(plan);
    for (size_t i = 0; i < k; i++) {
        slice s = {x + cut[i] * D, labels ? labels + cut[i] : NULL,
                   cut[i + 1] - cut[i], D, 0, 1 + check_rand_u64(rng) % 97};
        ah_row_source src = source_of(&s);
        int st = ah_shard_count(&part[i], plan, &src, &d);
        CHECK(st == AH_OK, "count: %s", d.message);
        if (st != AH_OK)
            return NULL;
        if (via_files)
            part[i] = through_file(part[i]);
    }
    ah_shard_free(plan);
    ah_shard *counts = merge_all(part, k, rng);
    ah_model *m = NULL;
    int st = ah_shard_finish(&m, counts, &d);
    CHECK(st == AH_OK, "finish: %s", d.message);
    ah_shard_free(counts);
    return m;
}

static void test_same_bits(void)
{
    uint64_t rng = check_seed ^ 0x5a4d;
    const int bins[] = {3072, 16, 64, 1};
    for (int labelled = 0; labelled < 2; labelled++)
        for (size_t bi = 0; bi < 4; bi++)
            for (size_t k = 1; k <= 7; k += 2)
                for (int via = 0; via < 2; via++) {
                    size_t n = 600 + check_rand_u64(&rng) % 900, D = 9;
                    int64_t *lab = labelled ? malloc(n * sizeof *lab) : NULL;
                    double *x = make_rows(n, D, &rng, lab, 4);
                    ah_fit_options o;
                    ah_fit_options_default(&o);
                    o.bins = bins[bi];
                    ah_model *ref = NULL, *m;
                    ah_model_fit(&ref, x, n, D, D, lab, &o, NULL);
                    m = fit_in_shards(x, lab, n, D, k, &o, via, &rng);
                    size_t la, lb = 0;
                    unsigned char *a = model_bytes(ref, &la);
                    unsigned char *b = m ? model_bytes(m, &lb) : NULL;
                    CHECK(b && la == lb && memcmp(a, b, la) == 0,
                          "bins %d, %zu shards, labels %d, files %d: the "
                          "merged model differs from one fit (%zu vs %zu "
                          "bytes)", bins[bi], k, labelled, via, lb, la);
                    free(a);
                    free(b);
                    ah_model_free(ref);
                    ah_model_free(m);
                    free(x);
                    free(lab);
                }
}

/* Many distinct values and atoms right at the share: every atom must
 * survive the merging of heavy hitters. */
static void test_atoms_at_the_share(void)
{
    uint64_t rng = check_seed ^ 0xa70;
    size_t n = 3300, D = 3;
    double *x = malloc(n * D * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < D; j++) /* atoms 1..8 take 1/32 + a little */
            x[i * D + j] = i % 31 < 8 ? (double)(i % 31 + 1)
                                      : 100 + check_rand_unit(&rng);
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_model *ref = NULL;
    ah_model_fit(&ref, x, n, D, D, NULL, &o, NULL);
    ah_model_info info;
    ah_model_get_info(ref, &info);
    CHECK(info.atoms_total == 8 * D, "reference has %zu atoms",
          info.atoms_total);
    for (int rep = 0; rep < 6; rep++) {
        ah_model *m = fit_in_shards(x, NULL, n, D, 7, &o, 0, &rng);
        size_t la, lb = 0;
        unsigned char *a = model_bytes(ref, &la);
        unsigned char *b = m ? model_bytes(m, &lb) : NULL;
        CHECK(b && la == lb && memcmp(a, b, la) == 0,
              "atoms at the share: the merged model differs");
        free(a);
        free(b);
        ah_model_free(m);
    }
    ah_model_free(ref);
    free(x);
}

/* Other binnings: one shard is one fit; several give exact counts, so
 * the p-value ranges still contain the exact ones. */
static void test_other_binnings(void)
{
    uint64_t rng = check_seed ^ 0xb1;
    size_t n = 1500, D = 6, q = 300;
    double *x = make_rows(n, D, &rng, NULL, 1);
    double *y = make_rows(q, D, &rng, NULL, 1);
    ah_fit_options o, e;
    ah_fit_options_default(&e);
    e.method = AH_METHOD_EMPIRICAL;
    ah_model *emp = NULL;
    ah_model_fit(&emp, x, n, D, D, NULL, &e, NULL);
    double *pe = malloc(q * D * 2 * sizeof *pe), *ph = malloc(q * D * 2 * sizeof *ph);
    ah_pvalues(emp, y, q, D, D, NULL, AH_TAIL_UPPER, pe, NULL, 1, NULL);
    const int binning[] = {AH_BINNING_QUANTILE, AH_BINNING_TAILS,
                           AH_BINNING_WIDTH};
    const int bins[] = {64, 64, AH_BINS_AUTO};
    for (int b = 0; b < 3; b++) {
        ah_fit_options_default(&o);
        o.binning = binning[b];
        o.bins = bins[b];
        ah_model *ref = NULL;
        ah_model_fit(&ref, x, n, D, D, NULL, &o, NULL);
        ah_model *one = fit_in_shards(x, NULL, n, D, 1, &o, 1, &rng);
        size_t la, lb = 0;
        unsigned char *a = model_bytes(ref, &la);
        unsigned char *c = one ? model_bytes(one, &lb) : NULL;
        CHECK(c && la == lb && memcmp(a, c, la) == 0,
              "binning %d: one shard differs from one fit", b);
        free(a);
        free(c);
        ah_model *m = fit_in_shards(x, NULL, n, D, 5, &o, 0, &rng);
        size_t bad = 0;
        if (m) {
            ah_pvalues(m, y, q, D, D, NULL, AH_TAIL_UPPER, ph, NULL, 1, NULL);
            for (size_t i = 0; i < q * D; i++)
                bad += !(ph[2 * i] <= pe[2 * i] && ph[2 * i + 1] >= pe[2 * i + 1]);
        }
        CHECK(m && bad == 0,
              "binning %d, 5 shards: %zu ranges miss the exact p-values", b,
              bad);
        ah_model_free(ref);
        ah_model_free(one);
        ah_model_free(m);
    }
    free(pe);
    free(ph);
    ah_model_free(emp);
    free(x);
    free(y);
}

/* The heavy hitters of a one-node plan, read from its file as
 * docs/FORMAT.md lays it out. */
static size_t plan_candidates(const ah_shard *p, double *v)
{
    size_t len;
    unsigned char *b = shard_bytes(p, &len);
    uint64_t k; /* after the header, the list of k shards (format 1.1) */
    memcpy(&k, b + 80, 8);
    const unsigned char *q = b + 80 + 8 + 16 * k + 16 + 16;
    uint32_t used;
    memcpy(&used, q, 4);
    for (uint32_t i = 0; i < used; i++)
        memcpy(&v[i], q + 4 + 12 * (size_t)i, 8);
    free(b);
    return used;
}

/* The guarantee the exactness rests on: after any split and any merge
 * tree, every value taking more than n/33 of a node is a candidate.  The
 * tightest case: 32 values just above n/33 each, shuffled with noise. */
static void test_heavy_hitter_guarantee(void)
{
    uint64_t rng = check_seed ^ 0x33;
    size_t missed = 0, trials = 0;
    for (int t = 0; t < 60; t++) {
        size_t n = 3300 + check_rand_u64(&rng) % 700, heavy = n / 33 + 1;
        double *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            x[i] = i < 32 * heavy ? (double)(i % 32) : 1000 + (double)i;
        for (size_t i = n - 1; i > 0; i--) { /* shuffle */
            size_t k = check_rand_u64(&rng) % (i + 1);
            double tmp = x[i];
            x[i] = x[k];
            x[k] = tmp;
        }
        if (t % 3 == 0) /* or sorted: long runs of one value per shard */
            for (size_t i = 0; i < 32 * heavy; i++)
                x[i] = (double)(i / heavy);
        size_t k = 2 + check_rand_u64(&rng) % 14, cut[17];
        cut[0] = 0;
        cut[k] = n;
        for (size_t i = 1; i < k; i++)
            cut[i] = n * i / k + check_rand_u64(&rng) % 50;
        ah_shard *part[16];
        ah_fit_options o;
        ah_fit_options_default(&o);
        for (size_t i = 0; i < k; i++) {
            slice s = {x + cut[i], NULL, cut[i + 1] - cut[i], 1, 0, 64};
            ah_row_source src = source_of(&s);
            ah_shard_plan(&part[i], &src, &o, NULL);
        }
        ah_shard *plan = merge_all(part, k, &rng);
        double v[32];
        size_t used = plan_candidates(plan, v), found = 0;
        for (int h = 0; h < 32; h++)
            for (size_t i = 0; i < used; i++)
                found += v[i] == (double)h;
        missed += 32 - found;
        trials++;
        ah_shard_free(plan);
        free(x);
    }
    CHECK(missed == 0, "%zu heavy values lost in %zu merged plans", missed,
          trials);
}

static int plan_of(ah_shard **out, const double *x, const int64_t *lab,
                   size_t n, size_t D, const ah_fit_options *o, ah_diag *d)
{
    slice s = {x, lab, n, D, 0, 1000};
    ah_row_source src = source_of(&s);
    return ah_shard_plan(out, &src, o, d);
}

static int count_of(ah_shard **out, const ah_shard *plan, const double *x,
                    const int64_t *lab, size_t n, size_t D, ah_diag *d)
{
    slice s = {x, lab, n, D, 0, 1000};
    ah_row_source src = source_of(&s);
    return ah_shard_count(out, plan, &src, d);
}

static int has(const ah_diag *d, const char *s)
{
    return strstr(d->message, s) != NULL;
}

static void test_refusals(void)
{
    uint64_t rng = check_seed ^ 0xe77;
    size_t n = 400, D = 4;
    int64_t *lab = malloc(n * sizeof *lab);
    double *x = make_rows(n, D, &rng, lab, 3);
    ah_fit_options o, o2;
    ah_fit_options_default(&o);
    o.tail = AH_TAIL_UPPER; /* the default differs with and without labels */
    ah_diag d;
    ah_shard *p1 = NULL, *p2 = NULL, *p3 = NULL, *c1 = NULL, *c2 = NULL,
             *cx = NULL;
    ah_model *m = NULL;

    o2 = o;
    o2.method = AH_METHOD_EMPIRICAL;
    CHECK(plan_of(&p1, x, NULL, n, D, &o2, &d) == AH_ERR_ARG &&
              has(&d, "histogram"), "empirical: %s", d.message);
    o2 = o;
    o2.bins = 0 - 5;
    CHECK(plan_of(&p1, x, NULL, n, D, &o2, &d) == AH_ERR_ARG && !p1,
          "bad bins accepted");

    CHECK(plan_of(&p1, x, NULL, n / 2, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(plan_of(&p2, x + n / 2 * D, NULL, n - n / 2, D, &o, &d) == AH_OK,
          "%s", d.message);
    o2 = o;
    o2.bins = 64;
    CHECK(plan_of(&p3, x, NULL, n, D, &o2, &d) == AH_OK, "%s", d.message);
    size_t l0, l1;
    unsigned char *before = shard_bytes(p1, &l0);
    CHECK(ah_shard_merge(p1, p3, &d) == AH_ERR_ARG && has(&d, "bin counts"),
          "bins: %s", d.message);
    CHECK(ah_shard_merge(p1, p1, &d) == AH_ERR_ARG, "self merge accepted");
    unsigned char *after = shard_bytes(p1, &l1);
    CHECK(l0 == l1 && memcmp(before, after, l0) == 0,
          "a refused merge changed the plan");
    free(before);
    free(after);
    ah_shard_free(p3);
    p3 = NULL;
    CHECK(plan_of(&p3, x, lab, n, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(p1, p3, &d) == AH_ERR_ARG && has(&d, "labels"),
          "labels and none: %s", d.message);
    ah_shard_free(p3);
    p3 = NULL;
    CHECK(plan_of(&p3, x, NULL, n, D - 1, &o, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(p1, p3, &d) == AH_ERR_ARG && has(&d, "node"),
          "D: %s", d.message);
    CHECK(ah_shard_finish(&m, p1, &d) == AH_ERR_ARG && !m,
          "finish from a plan: %s", d.message);

    /* p1 alone as the plan: the second half is outside it */
    CHECK(count_of(&c1, p1, x, NULL, n / 2, D, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&cx, p1, x, NULL, n, D, &d) == AH_ERR_VALUE && !cx,
          "rows outside the plan accepted: %s", d.message);
    CHECK(count_of(&cx, p1, x, NULL, n / 2, D - 1, &d) == AH_ERR_SHAPE,
          "D: %s", d.message);
    CHECK(count_of(&cx, p1, x, lab, n / 2, D, &d) == AH_ERR_ARG,
          "labels against a pooled plan: %s", d.message);
    CHECK(count_of(&cx, c1, x, NULL, n / 2, D, &d) == AH_ERR_ARG,
          "counting against counts: %s", d.message);
    CHECK(ah_shard_merge(c1, p1, &d) == AH_ERR_ARG && has(&d, "plan"),
          "plan into counts: %s", d.message);
    /* the same rows twice */
    CHECK(count_of(&c2, p1, x, NULL, n / 2, D, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(c1, c2, &d) == AH_ERR_VALUE && has(&d, "twice"),
          "counted twice: %s", d.message);
    ah_shard_free(c2);
    c2 = NULL;

    /* merged plan: counts of the first half against it miss a shard */
    ah_shard *whole = NULL;
    CHECK(plan_of(&whole, x, NULL, n / 2, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(whole, p2, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&c2, whole, x, NULL, n / 2, D, &d) == AH_OK, "%s",
          d.message);
    CHECK(ah_shard_merge(c2, c1, &d) == AH_ERR_ARG &&
              has(&d, "different plans"), "other plan: %s", d.message);
    CHECK(ah_shard_finish(&m, c2, &d) == AH_ERR_VALUE && has(&d, "missing"),
          "missing shard: %s", d.message);
    ah_shard_free(whole);

    /* a conditional plan meets an unknown label */
    ah_shard_free(p3);
    p3 = NULL;
    CHECK(plan_of(&p3, x, lab, n, D, &o, &d) == AH_OK, "%s", d.message);
    int64_t *other = malloc(n * sizeof *other);
    memcpy(other, lab, n * sizeof *other);
    other[7] = 1000;
    CHECK(count_of(&cx, p3, x, other, n, D, &d) == AH_ERR_VALUE &&
              has(&d, "not in the plan"), "unknown label: %s", d.message);
    free(other);
    ah_shard_info info;
    ah_shard_get_info(p3, &info);
    CHECK(info.kind == AH_SHARD_PLAN && info.nodes == D && info.labels == 3 &&
              info.rows == n && info.plan_rows == n,
          "info: kind %d nodes %zu labels %zu rows %zu", info.kind,
          info.nodes, info.labels, info.rows);
    ah_shard_get_info(c1, &info);
    CHECK(info.kind == AH_SHARD_COUNTS && info.rows == n / 2 &&
              info.plan_rows == n / 2, "counts info");

    ah_shard_free(p1);
    ah_shard_free(p2);
    ah_shard_free(p3);
    ah_shard_free(c1);
    ah_shard_free(c2);
    free(x);
    free(lab);
}

/* Every header field is checked against its documented range, with its
 * own message, by the check the model loader uses too: a plan with one
 * field changed and its size and checksum made right again. */
static void test_header_fields(void)
{
    uint64_t rng = check_seed ^ 0x4ead;
    size_t n = 50, D = 2;
    double *x = make_rows(n, D, &rng, NULL, 1);
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_shard *p = NULL;
    ah_diag d;
    CHECK(plan_of(&p, x, NULL, n, D, &o, &d) == AH_OK, "%s", d.message);
    size_t len;
    unsigned char *good = shard_bytes(p, &len), *b = malloc(len);
    static const struct {
        size_t off;
        int bytes;
        uint64_t value;
        const char *message;
    } bad[] = {
        {12, 4, 3, "kind 3"},
        {16, 4, 1, "method 1, not 0 (hist)"},
        {16, 4, 7, "unknown method 7"},
        {20, 4, 4, "unknown tail 4"},
        {24, 4, 3, "unknown binning 3"},
        {28, 4, 0xffffffffu, "bins requested 4294967295"},
        {32, 8, 0x7ff8000000000000u, "atom share nan"},
        {32, 8, 0xbff0000000000000u, "atom share -1"},
        {32, 8, 0x4000000000000000u, "atom share 2"},
        {40, 8, 0, "D (nodes) 0"},
        {48, 8, 0, "S (sets) 0"},
        {48, 8, 2, "S (sets) 2 with the labels flag 0"},
        {64, 8, 0xffffffffu, "rows 4294967295"},
        {72, 4, 2, "labels flag 2"},
        {76, 1, 1, "bytes 76 to 79 are not zero"},
        {79, 1, 0x80, "bytes 76 to 79 are not zero"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(b, good, len);
        for (int k = 0; k < bad[i].bytes; k++)
            b[bad[i].off + (size_t)k] = (unsigned char)(bad[i].value >> (8 * k));
        fuzz_fix_image(b, len, 56, 88);
        ah_shard *t = NULL;
        int st = ah_shard_load_memory(&t, b, len, "field.plan", &d);
        CHECK(st == AH_ERR_FORMAT && !t && has(&d, "field.plan: ") &&
                  has(&d, bad[i].message),
              "byte %zu set to %llu: %d '%s', not '%s'", bad[i].off,
              (unsigned long long)bad[i].value, st, d.message,
              bad[i].message);
        ah_shard_free(t);
    }
    free(good);
    free(b);
    free(x);
    ah_shard_free(p);
}

/* The file of a shard as format 1.0 wrote it: without the lists of
 * shards that format 1.1 adds after the header and, for counts, after
 * the plan (docs/FORMAT.md); size and checksum made right. */
static unsigned char *as_format_1_0(const ah_shard *s, size_t *len)
{
    size_t n;
    unsigned char *b = shard_bytes(s, &n), *out = malloc(n);
    uint64_t k, D, nsets;
    memcpy(&D, b + 40, 8);
    memcpy(&nsets, b + 48, 8);
    memcpy(&k, b + 80, 8);
    size_t plan = 80 + 8 + 16 * (size_t)k, q = plan;
    for (uint64_t set = 0; set < nsets; set++) {
        q += 16;
        for (uint64_t j = 0; j < D; j++) {
            uint32_t used;
            memcpy(&used, b + q + 16, 4);
            q += 20 + 12 * (size_t)used;
        }
    }
    memcpy(out, b, 80);
    memcpy(out + 80, b + plan, q - plan);
    size_t o = 80 + (q - plan);
    if (b[12] == AH_SHARD_COUNTS) {
        memcpy(&k, b + q, 8);
        q += 8 + 16 * (size_t)k;
    }
    memcpy(out + o, b + q, n - q);
    o += n - q;
    out[10] = 0;
    fuzz_fix_image(out, o, 56, 88);
    free(b);
    *len = o;
    return out;
}

static ah_shard *reload(const unsigned char *b, size_t len, const char *name)
{
    ah_shard *t = NULL;
    ah_diag d;
    int st = ah_shard_load_memory(&t, b, len, name, &d);
    CHECK(st == AH_OK, "%s: %s", name, d.message);
    return t;
}

/* A shard merged twice - a copy of its file, or its rows planned or
 * counted again - is refused by ah_shard_merge, whatever the row totals
 * say; so is finishing counts of other rows than the plan's.  Splits
 * other than the plan's, and empty shards, still merge. */
static void test_counted_twice(void)
{
    uint64_t rng = check_seed ^ 0x2ce;
    size_t n = 400, h = n / 2, D = 3;
    /* pooled: with labels, a copy in place of another shard rarely has
     * the same rows of every label, which the row totals catch */
    int64_t *lab = NULL;
    double *x = make_rows(n, D, &rng, NULL, 1);
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_diag d;
    ah_shard *pa = NULL, *pb = NULL, *plan = NULL, *ca = NULL;
    ah_model *m = NULL;
    CHECK(plan_of(&pa, x, lab, h, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(plan_of(&pb, x + h * D, NULL, h, D, &o, &d) == AH_OK, "%s",
          d.message);

    /* plans: a copy of A's file, and A's rows planned again */
    size_t len;
    unsigned char *b = shard_bytes(pa, &len);
    ah_shard *copy = reload(b, len, "copy of A"), *again = NULL;
    free(b);
    CHECK(copy && ah_shard_merge(copy, pa, &d) == AH_ERR_VALUE &&
              has(&d, "200 rows") && has(&d, "twice"),
          "a plan merged with a copy of itself: %s", d.message);
    CHECK(plan_of(&again, x, lab, h, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(again, pa, &d) == AH_ERR_VALUE && has(&d, "twice"),
          "a shard planned twice: %s", d.message);
    CHECK(ah_shard_merge(again, pb, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(again, copy, &d) == AH_ERR_VALUE && has(&d, "twice"),
          "a shard planned twice, into a merge of two: %s", d.message);
    ah_shard_free(copy);
    ah_shard_free(again);

    /* counts: A and a copy of A's counts cover the plan's rows */
    b = shard_bytes(pa, &len);
    plan = reload(b, len, "plan");
    free(b);
    CHECK(ah_shard_merge(plan, pb, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&ca, plan, x, lab, h, D, &d) == AH_OK, "%s", d.message);
    b = shard_bytes(ca, &len);
    copy = reload(b, len, "copy of A's counts");
    free(b);
    CHECK(copy && ah_shard_merge(copy, ca, &d) == AH_ERR_VALUE &&
              has(&d, "counted twice"),
          "counts merged with a copy of themselves: %s", d.message);
    CHECK(!copy || (ah_shard_finish(&m, copy, &d) == AH_ERR_VALUE &&
                    has(&d, "missing")),
          "a refused merge changed the counts: %s", d.message);
    ah_shard_free(copy);
    copy = NULL;
    CHECK(count_of(&copy, plan, x, lab, h, D, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(copy, ca, &d) == AH_ERR_VALUE &&
              has(&d, "counted twice"),
          "a shard counted twice: %s", d.message);
    ah_shard_free(copy);

    /* B's rows, one value changed within the plan's range: the rows add
     * up, the values are not the plan's */
    double *y = malloc(h * D * sizeof *y);
    memcpy(y, x + h * D, h * D * sizeof *y);
    y[0] = y[D];
    if (y[0] == x[h * D])
        y[0] = y[2 * D];
    CHECK(y[0] != x[h * D], "the changed row differs");
    ah_shard *cy = NULL;
    CHECK(count_of(&cy, plan, y, NULL, h, D, &d) == AH_OK, "%s",
          d.message);
    CHECK(ah_shard_merge(cy, ca, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_finish(&m, cy, &d) == AH_ERR_VALUE && !m &&
              has(&d, "not the rows the plan"),
          "counts of other rows: %s", d.message);
    ah_shard_free(cy);
    free(y);

    /* counted in three slices other than the plan's two: the same model */
    size_t cut[4] = {0, 77, 301, n};
    ah_shard *c3 = NULL;
    for (int i = 0; i < 3; i++) {
        ah_shard *c = NULL;
        CHECK(count_of(&c, plan, x + cut[i] * D, NULL,
                       cut[i + 1] - cut[i], D, &d) == AH_OK, "%s", d.message);
        if (!c3)
            c3 = c;
        else {
            CHECK(ah_shard_merge(c3, c, &d) == AH_OK, "%s", d.message);
            ah_shard_free(c);
        }
    }
    ah_model *ref = NULL;
    ah_model_fit(&ref, x, n, D, D, lab, &o, NULL);
    CHECK(c3 && ah_shard_finish(&m, c3, &d) == AH_OK, "other split: %s",
          d.message);
    size_t la, lb = 0;
    unsigned char *ma = model_bytes(ref, &la), *mb = m ? model_bytes(m, &lb) : NULL;
    CHECK(mb && la == lb && memcmp(ma, mb, la) == 0,
          "counted in other slices than planned: the model differs");
    free(ma);
    free(mb);
    ah_model_free(m);
    m = NULL;
    ah_model_free(ref);
    ah_shard_free(c3);

    /* empty shards hold no rows to count twice */
    ah_shard *e1 = NULL, *e2 = NULL;
    CHECK(plan_of(&e1, x, lab, 0, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(plan_of(&e2, x, lab, 0, D, &o, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(e1, e2, &d) == AH_OK, "two empty plans: %s",
          d.message);
    ah_shard_free(e1);
    ah_shard_free(e2);
    e1 = e2 = NULL;
    CHECK(count_of(&e1, plan, x, lab, 0, D, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&e2, plan, x, lab, 0, D, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_merge(e1, e2, &d) == AH_OK, "two empty counts: %s",
          d.message);
    ah_shard_free(e1);
    ah_shard_free(e2);

    ah_shard_free(pa);
    ah_shard_free(pb);
    ah_shard_free(plan);
    ah_shard_free(ca);
    free(x);
    free(lab);
}

/* Format 1.0 files do not list their shards: they load, describe
 * themselves, save again, finish alone and are counted against; merging
 * one is refused (a shard merged twice could not be seen). */
static void test_format_1_0_shards(void)
{
    uint64_t rng = check_seed ^ 0x10;
    size_t n = 300, h = 120, D = 2;
    double *x = make_rows(n, D, &rng, NULL, 1);
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_diag d;
    ah_shard *p = NULL, *c = NULL;
    CHECK(plan_of(&p, x, NULL, n, D, &o, &d) == AH_OK, "%s", d.message);
    size_t len;
    unsigned char *b = as_format_1_0(p, &len);
    ah_shard *old = reload(b, len, "old.plan"), *old2 = reload(b, len, "old2");
    free(b);
    if (!old || !old2)
        return;
    ah_shard_info info;
    ah_shard_get_info(old, &info);
    CHECK(info.kind == AH_SHARD_PLAN && info.rows == n, "1.0 plan info");
    CHECK(ah_shard_merge(old, old2, &d) == AH_ERR_VERSION &&
              has(&d, "format 1.0"),
          "two 1.0 plans merged: %s", d.message);
    CHECK(ah_shard_merge(old2, p, &d) == AH_ERR_VERSION, "1.0 and 1.1 plans");
    /* counts against a 1.0 plan: their own shards are known */
    ah_shard *c1 = NULL, *c2 = NULL, *c1b = NULL;
    CHECK(count_of(&c1, old, x, NULL, h, D, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&c1b, old, x, NULL, h, D, &d) == AH_OK, "%s", d.message);
    CHECK(count_of(&c2, old, x + h * D, NULL, n - h, D, &d) == AH_OK, "%s",
          d.message);
    CHECK(ah_shard_merge(c1, c1b, &d) == AH_ERR_VALUE &&
              has(&d, "counted twice"),
          "counted twice against a 1.0 plan: %s", d.message);
    c1 = through_file(c1);
    CHECK(c1 && ah_shard_merge(c1, c2, &d) == AH_OK, "%s", d.message);
    ah_model *m = NULL, *ref = NULL;
    CHECK(c1 && ah_shard_finish(&m, c1, &d) == AH_OK, "%s", d.message);
    ah_model_fit(&ref, x, n, D, D, NULL, &o, NULL);
    size_t la, lb = 0;
    unsigned char *ma = model_bytes(ref, &la), *mb = m ? model_bytes(m, &lb) : NULL;
    CHECK(mb && la == lb && memcmp(ma, mb, la) == 0,
          "counted against a 1.0 plan: the model differs");
    free(ma);
    free(mb);
    ah_model_free(m);
    m = NULL;
    /* 1.0 counts of every row finish alone; two of them do not merge */
    CHECK(count_of(&c, p, x, NULL, n, D, &d) == AH_OK, "%s", d.message);
    b = as_format_1_0(c, &len);
    ah_shard *oc = reload(b, len, "old.counts"), *oc2 = reload(b, len, "o2");
    free(b);
    CHECK(oc && ah_shard_finish(&m, oc, &d) == AH_OK, "1.0 counts: %s",
          d.message);
    ma = model_bytes(ref, &la);
    mb = m ? model_bytes(m, &lb) : NULL;
    CHECK(mb && la == lb && memcmp(ma, mb, la) == 0,
          "finished from 1.0 counts: the model differs");
    free(ma);
    free(mb);
    CHECK(oc && oc2 && ah_shard_merge(oc, oc2, &d) == AH_ERR_VERSION &&
              has(&d, "format 1.0"),
          "two 1.0 counts merged: %s", d.message);
    /* saved again, they are 1.1 files that still say they are unknown */
    oc = oc ? through_file(oc) : NULL;
    CHECK(oc && ah_shard_merge(oc, oc2, &d) == AH_ERR_VERSION,
          "1.0 counts saved again then merged: %s", d.message);
    ah_model_free(m);
    ah_model_free(ref);
    ah_shard_free(oc);
    ah_shard_free(oc2);
    ah_shard_free(old);
    ah_shard_free(old2);
    ah_shard_free(c1);
    ah_shard_free(c1b);
    ah_shard_free(c2);
    ah_shard_free(c);
    ah_shard_free(p);
    free(x);
}

/* A plan whose few bytes ask for fine grids larger than the machine (many
 * nodes, 65536 bins, rows enough to keep them) is refused with a message
 * when counting or loading counts, before anything is allocated. */
static void test_oversized_plan(void)
{
    size_t D = 200000;
    double *x = calloc(D, sizeof *x);
    for (size_t j = 0; j < D; j++)
        x[j] = (double)j;
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_shard *p = NULL, *big = NULL, *c = NULL;
    ah_diag d;
    CHECK(plan_of(&p, x, NULL, 1, D, &o, &d) == AH_OK, "%s", d.message);
    size_t len;
    unsigned char *b = shard_bytes(p, &len);
    /* 4e9 rows (header, the one shard listed, set 0) and 65536 bins:
     * 200,000 x 65,536 cells */
    uint64_t rows = 4000000000ULL;
    int32_t bins = 65536;
    memcpy(b + 28, &bins, 4);
    memcpy(b + 64, &rows, 8);
    memcpy(b + 88, &rows, 8);
    memcpy(b + 112, &rows, 8);
    fuzz_fix_image(b, len, 56, 88);
    CHECK(ah_shard_load_memory(&big, b, len, "big", &d) == AH_OK, "%s",
          d.message);
    CHECK(big && count_of(&c, big, x, NULL, 1, D, &d) == AH_ERR_NOMEM &&
              has(&d, "this process may use") && !c,
          "an oversized plan: %s", d.message);
    free(b);
    free(x);
    ah_shard_free(p);
    ah_shard_free(big);
}

/* Every truncation and every single-byte change of a saved plan and of
 * saved counts is refused with a message, never accepted silently. */
static void test_damaged_files(void)
{
    uint64_t rng = check_seed ^ 0xdad;
    size_t n = 90, D = 2;
    int64_t *lab = malloc(n * sizeof *lab);
    double *x = make_rows(n, D, &rng, lab, 2);
    ah_fit_options o;
    ah_fit_options_default(&o);
    o.bins = 8;
    ah_shard *p = NULL, *c = NULL;
    ah_diag d;
    plan_of(&p, x, lab, n, D, &o, &d);
    count_of(&c, p, x, lab, n, D, &d);
    const ah_shard *which[2] = {p, c};
    for (int w = 0; w < 2; w++) {
        size_t len;
        unsigned char *b = shard_bytes(which[w], &len);
        size_t accepted = 0, quiet = 0;
        for (size_t cut = 0; cut < len; cut++) {
            ah_shard *t = NULL;
            int st = ah_shard_load_memory(&t, b, cut, "cut", &d);
            accepted += st == AH_OK || t;
            quiet += st != AH_OK && !has(&d, "cut");
            ah_shard_free(t);
        }
        CHECK(accepted == 0 && quiet == 0,
              "kind %d: %zu truncations accepted, %zu without the name",
              w + 1, accepted, quiet);
        accepted = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char save = b[i];
            b[i] ^= (unsigned char)(1u << (check_rand_u64(&rng) % 8));
            ah_shard *t = NULL;
            accepted += ah_shard_load_memory(&t, b, len, "flip", &d) == AH_OK;
            ah_shard_free(t);
            b[i] = save;
        }
        CHECK(accepted == 0, "kind %d: %zu flipped bytes accepted", w + 1,
              accepted);
        free(b);
    }
    ah_shard_free(p);
    ah_shard_free(c);
    free(x);
    free(lab);
}

/* Plans and counts survive save and load through real files, and a
 * model finished from them matches one fit. */
static void test_files_on_disk(void)
{
    uint64_t rng = check_seed ^ 0xf11e;
    size_t n = 500, D = 5;
    double *x = make_rows(n, D, &rng, NULL, 1);
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_shard *p = NULL, *c = NULL, *pl = NULL, *cl = NULL;
    ah_diag d;
    char path[] = "/tmp/ah_test_shard_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    plan_of(&p, x, NULL, n, D, &o, &d);
    CHECK(ah_shard_save(p, path, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_load(&pl, path, &d) == AH_OK, "%s", d.message);
    count_of(&c, pl, x, NULL, n, D, &d);
    CHECK(ah_shard_save(c, path, &d) == AH_OK, "%s", d.message);
    CHECK(ah_shard_load(&cl, path, &d) == AH_OK, "%s", d.message);
    ah_model *m = NULL, *ref = NULL;
    CHECK(ah_shard_finish(&m, cl, &d) == AH_OK, "%s", d.message);
    ah_model_fit(&ref, x, n, D, D, NULL, &o, NULL);
    size_t la, lb = 0;
    unsigned char *a = model_bytes(ref, &la);
    unsigned char *b = m ? model_bytes(m, &lb) : NULL;
    CHECK(b && la == lb && memcmp(a, b, la) == 0, "on disk: models differ");
    ah_model *m2 = NULL;
    CHECK(ah_shard_finish(&m2, cl, &d) == AH_OK,
          "finishing twice: %s", d.message);
    ah_model_free(m2);
    CHECK(ah_model_load(&m2, path, &d) != AH_OK && has(&d, "not an acthist model"),
          "a shard loaded as a model: %s", d.message);
    ah_shard_free(pl);
    CHECK(ah_shard_load(&pl, "/nonexistent/x", &d) == AH_ERR_IO &&
              has(&d, "/nonexistent/x"), "missing file: %s", d.message);
    remove(path);
    free(a);
    free(b);
    ah_model_free(m);
    ah_model_free(ref);
    ah_shard_free(p);
    ah_shard_free(c);
    ah_shard_free(cl);
    free(x);
}

int main(void)
{
    check_init();
    test_same_bits();
    test_atoms_at_the_share();
    test_other_binnings();
    test_heavy_hitter_guarantee();
    test_refusals();
    test_damaged_files();
    test_oversized_plan();
    test_files_on_disk();
    test_header_fields();
    test_counted_twice();
    test_format_1_0_shards();
    return check_done("test_shard");
}
