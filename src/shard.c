/*
 * shard.c - fitting in shards and merging them exactly (acthist.h).
 *
 * A plan is the first pass of a fit (fitter.h): per set, its rows and per
 * node the range and the Misra-Gries heavy hitters.  Plans merge by adding
 * rows, widening ranges and merging the heavy hitters the mergeable way
 * (add the counters, then subtract the 33rd largest): a value taking more
 * than n/33 of a node is still guaranteed a candidate, so every atom at
 * the default share of 1/32 is counted exactly.  Counts are the counting
 * pass of a model begun from the merged plan: the same fine grids and
 * candidates in every shard, so they add.  Ending the pass on the summed
 * counts is what a fit of all rows at once does; with equal-width bins the
 * non-atom candidates only split grid bins, so the model is the same bits
 * whichever candidates the split produced.
 *
 * Every shard also lists the shards merged into it, each by its rows and
 * the sum of a hash of each row: merging refuses a shard already in (a
 * copy of a file, or rows read twice) even when the row totals add up,
 * and finishing refuses counts whose sum is not the plan's (other rows).
 *
 * The file (docs/FORMAT.md), little-endian: an 80-byte header, the list
 * of the plan's shards, the plan (per set: label, rows, then per node
 * min, max, heavy hitters), for counts the list of the shards counted and
 * per set the rows counted and the histogram's counts, and an FNV-1a
 * checksum of everything before it.
 */
#include "bytes.h"
#include "file_io.h"
#include "fitter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_MAJOR 1
#define SHARD_MINOR 1
#define SHARD_HEADER 80
#define NODE_FIXED 20  /* min, max, used */
#define MG_ENTRY 12    /* value, count */
#define ID_ENTRY 16    /* rows, sum */
#define MAX_SETS 4097  /* the pooled set and fit.c's 4096 labels */

static const unsigned char magic[8] = {0x89, 'A', 'H', 'S', '\r', '\n', 0x1a,
                                       '\n'};

/* Which rows a shard holds, as far as merging needs to know: their
 * number and the sum, modulo 2^64, of a hash of each row (row_hash).  Two
 * shards of the same rows have the same id, whatever their files are
 * called; the sum does not depend on the order of the rows nor on how
 * they are split, so the ids of the shards a plan was made from add up to
 * those of the counts of all its rows, however these were cut. */
typedef struct shard_id {
    uint64_t rows, sum;
} shard_id;

/* The shards merged into a plan or counts: increasing (sum, rows), each
 * of at least one row (a shard of none has nothing to count twice). */
typedef struct shard_ids {
    shard_id *v;
    size_t n;
    int unknown; /* rows but no list: read from a format 1.0 file */
} shard_ids;

struct ah_shard {
    int kind;
    int has_labels;    /* the rows came with labels */
    ah_fit_options opts;
    size_t rows;       /* rows read by the shards merged in here */
    ah__fitter plan;
    shard_ids plan_ids; /* the shards the plan was made from */
    shard_ids ids;      /* counts: the shards counted */
    ah_model *model;   /* counts: begun from the plan, counted, not ended */
    size_t *set_rows;  /* counts: rows counted per set */
};

void ah_shard_free(ah_shard *s)
{
    if (!s)
        return;
    ah__fitter_free(&s->plan);
    free(s->plan_ids.v);
    free(s->ids.v);
    ah_model_free(s->model);
    free(s->set_rows);
    free(s);
}

/* ---- which rows a shard holds ---- */

static inline uint64_t rotl64(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

/* MurmurHash3's finaliser: every input bit moves every output bit. */
static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

#define ROW_K 0x9e3779b97f4a7c15ULL
#define ROW_M 0xbf58476d1ce4e5b9ULL

/* A 64-bit hash of one row (docs/FORMAT.md): its D values' float64 bits,
 * then its label when the rows have labels, as words w_0, w_1, ...; word
 * j goes to lane j mod 4, which starts at (lane + 1) K and takes it as
 * a = rotl(a ^ w, 29) M.  Four lanes keep four multiplications in
 * flight: about a cycle a value, a few percent of a pass over the rows. */
static uint64_t row_hash(const double *x, size_t D, const int64_t *label)
{
    uint64_t a0 = ROW_K, a1 = 2 * ROW_K, a2 = 3 * ROW_K, a3 = 4 * ROW_K, w;
    size_t j = 0;
    for (; j + 4 <= D; j += 4) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, &x[j], 8);
        memcpy(&w1, &x[j + 1], 8);
        memcpy(&w2, &x[j + 2], 8);
        memcpy(&w3, &x[j + 3], 8);
        a0 = rotl64(a0 ^ w0, 29) * ROW_M;
        a1 = rotl64(a1 ^ w1, 29) * ROW_M;
        a2 = rotl64(a2 ^ w2, 29) * ROW_M;
        a3 = rotl64(a3 ^ w3, 29) * ROW_M;
    }
    uint64_t *lane[4] = {&a0, &a1, &a2, &a3};
    for (; j < D + (label != NULL); j++) {
        if (j < D)
            memcpy(&w, &x[j], 8);
        else
            w = (uint64_t)*label;
        *lane[j & 3] = rotl64(*lane[j & 3] ^ w, 29) * ROW_M;
    }
    return fmix64(a0 + rotl64(a1, 16) + rotl64(a2, 32) + rotl64(a3, 48) +
                  (uint64_t)D);
}

/* A row source that passes src's rows on and adds up their hashes. */
typedef struct hashing_source {
    ah_row_source *src;
    uint64_t sum;
} hashing_source;

static int hashing_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                        size_t max_rows, size_t *got, ah_diag *diag)
{
    hashing_source *h = ctx;
    int st = h->src->read(h->src->ctx, rows, ld, labels, max_rows, got,
                          diag);
    /* more rows than asked for is refused by the fitter: hash none */
    for (size_t i = 0; st == AH_OK && *got <= max_rows && i < *got; i++)
        h->sum += row_hash(rows + i * ld, h->src->cols,
                           h->src->has_labels ? &labels[i] : NULL);
    return st;
}

static int hashing_rewind(void *ctx, ah_diag *diag)
{
    hashing_source *h = ctx;
    h->sum = 0;
    return h->src->rewind ? h->src->rewind(h->src->ctx, diag) : AH_OK;
}

static ah_row_source hashing_of(hashing_source *h, ah_row_source *src)
{
    h->src = src;
    h->sum = 0;
    ah_row_source r = {h, src->cols, src->has_labels, hashing_read,
                       hashing_rewind};
    return r;
}

/* The list of one shard of rows rows (none for no rows). */
static int ids_one(shard_ids *ids, uint64_t rows, uint64_t sum,
                   ah_diag *diag)
{
    memset(ids, 0, sizeof *ids);
    if (rows == 0)
        return AH_OK;
    if (!(ids->v = malloc(sizeof *ids->v)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    ids->v[0].rows = rows;
    ids->v[0].sum = sum;
    ids->n = 1;
    return AH_OK;
}

static int ids_copy(shard_ids *dst, const shard_ids *src, ah_diag *diag)
{
    *dst = *src;
    dst->v = NULL;
    if (src->n && !(dst->v = malloc(src->n * sizeof *dst->v)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    return AH_OK;
}

static int id_cmp(const shard_id *a, const shard_id *b)
{
    if (a->sum != b->sum)
        return a->sum < b->sum ? -1 : 1;
    return (a->rows > b->rows) - (a->rows < b->rows);
}

static int ids_equal(const shard_ids *a, const shard_ids *b)
{
    return a->unknown == b->unknown && a->n == b->n &&
           (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

static uint64_t ids_sum(const shard_ids *ids)
{
    uint64_t s = 0;
    for (size_t i = 0; i < ids->n; i++)
        s += ids->v[i].sum;
    return s;
}

/* The union of a and b into *out, refused when a shard is in both (what
 * says "planned" or "counted") or when either list is unknown. */
static int ids_union(shard_ids *out, const shard_ids *a, const shard_ids *b,
                     const char *what, ah_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (a->unknown || b->unknown)
        return ah__fail(diag, AH_ERR_VERSION, -1, -1,
                        "a shard of format 1.0 is in this merge: it does not "
                        "record which rows it holds, so a shard %s twice "
                        "could not be seen (make it again with this "
                        "version)", what);
    if (a->n + b->n == 0)
        return AH_OK;
    shard_id *v = malloc((a->n + b->n) * sizeof *v);
    if (!v)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    size_t i = 0, k = 0, n = 0;
    while (i < a->n || k < b->n) {
        int c = i == a->n ? 1 : k == b->n ? -1 : id_cmp(&a->v[i], &b->v[k]);
        if (c == 0) {
            free(v);
            return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                            "a shard of %llu rows is in this merge twice (%s "
                            "twice: a copy of its file, or the same rows "
                            "read again)",
                            (unsigned long long)a->v[i].rows, what);
        }
        v[n++] = c < 0 ? a->v[i++] : b->v[k++];
    }
    out->v = v;
    out->n = n;
    return AH_OK;
}

static size_t ids_bytes(const shard_ids *ids)
{
    return 8 + ID_ENTRY * ids->n;
}

static unsigned char *ids_write(const shard_ids *ids, unsigned char *q)
{
    q = ah__put_u64(q, ids->n);
    for (size_t i = 0; i < ids->n; i++) {
        q = ah__put_u64(q, ids->v[i].rows);
        q = ah__put_u64(q, ids->v[i].sum);
    }
    return q;
}

/* A list from [*pp, end) of shards that hold rows rows together: none
 * (unknown) or shards of at least a row each, in increasing order, their
 * rows adding up. */
static int ids_parse(shard_ids *ids, const unsigned char **pp,
                     const unsigned char *end, uint64_t rows,
                     const char *name, const char *what, ah_diag *diag)
{
    const unsigned char *q = *pp;
    memset(ids, 0, sizeof *ids);
    uint64_t n = (size_t)(end - q) >= 8 ? ah__get_u64(q) : UINT64_MAX;
    if (n > rows || n > (size_t)(end - q - 8) / ID_ENTRY)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: the list of %s shards is truncated or longer "
                        "than its %llu rows", name, what,
                        (unsigned long long)rows);
    q += 8;
    ids->unknown = n == 0 && rows > 0;
    if (n && !(ids->v = malloc((size_t)n * sizeof *ids->v)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++, q += ID_ENTRY) {
        ids->v[i].rows = ah__get_u64(q);
        ids->v[i].sum = ah__get_u64(q + 8);
        ids->n = i + 1;
        total += ids->v[i].rows; /* rows below 2^32 each: no overflow */
        if (ids->v[i].rows == 0 || ids->v[i].rows > rows ||
            (i > 0 && id_cmp(&ids->v[i - 1], &ids->v[i]) >= 0))
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: %s shard %zu: %llu rows, or not after the "
                            "one before", name, what, i,
                            (unsigned long long)ids->v[i].rows);
    }
    if (n && total != rows)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: the %s shards hold %llu rows, not %llu", name,
                        what, (unsigned long long)total,
                        (unsigned long long)rows);
    *pp = q;
    return AH_OK;
}

static const ah__pass1 *plan_set(const ah__fitter *f, size_t s)
{
    return s == 0 ? &f->pooled : &f->lab[s - 1].p1;
}

/* ---- the plan's bytes ---- */

static size_t plan_bytes(const ah__fitter *f)
{
    size_t b = 0;
    for (size_t s = 0; s <= f->nlab; s++) {
        const ah__pass1 *p = plan_set(f, s);
        b += 16 + f->D * NODE_FIXED;
        for (size_t j = 0; j < f->D; j++)
            b += MG_ENTRY * (size_t)p->mg[j].used;
    }
    return b;
}

static unsigned char *plan_write(const ah__fitter *f, unsigned char *q)
{
    for (size_t s = 0; s <= f->nlab; s++) {
        const ah__pass1 *p = plan_set(f, s);
        q = ah__put_u64(q, (uint64_t)(s == 0 ? AH_POOLED : f->lab[s - 1].label));
        q = ah__put_u64(q, p->n);
        for (size_t j = 0; j < f->D; j++) {
            const ah__mg *g = &p->mg[j];
            q = ah__put_f64(q, p->node[j].min);
            q = ah__put_f64(q, p->node[j].max);
            q = ah__put_u32(q, g->used);
            for (uint32_t i = 0; i < g->used; i++) {
                q = ah__put_f64(q, g->value[i]);
                q = ah__put_u32(q, g->count[i]);
            }
        }
    }
    return q;
}

/* One set's summary from [*pp, end): every value checked, so that the
 * fine grids built from it are sound. */
static int node_parse(ah__pass1 *p, size_t j, const unsigned char **pp,
                      const unsigned char *end)
{
    const unsigned char *q = *pp;
    if ((size_t)(end - q) < NODE_FIXED)
        return 0;
    double lo = ah__get_f64(q), hi = ah__get_f64(q + 8);
    uint32_t used = ah__get_u32(q + 16);
    q += NODE_FIXED;
    if (used > AH__MG_SLOTS || (size_t)(end - q) < MG_ENTRY * (size_t)used)
        return 0;
    if (p->n == 0 ? !(lo == INFINITY && hi == -INFINITY && used == 0)
                  : !(isfinite(lo) && isfinite(hi) && lo <= hi))
        return 0;
    uint64_t sum = 0;
    ah__mg *g = &p->mg[j];
    for (uint32_t i = 0; i < used; i++, q += MG_ENTRY) {
        double v = ah__get_f64(q);
        uint32_t c = ah__get_u32(q + 8);
        if (!(v >= lo && v <= hi) || c == 0)
            return 0;
        for (uint32_t k = 0; k < i; k++)
            if (g->value[k] == v)
                return 0;
        g->value[i] = v;
        g->count[i] = c;
        sum += c;
    }
    if (sum > p->n)
        return 0;
    g->used = used;
    p->node[j].min = lo;
    p->node[j].max = hi;
    *pp = q;
    return 1;
}

static int plan_parse(ah__fitter *f, size_t D, size_t nsets,
                      const unsigned char **pp, const unsigned char *end,
                      const char *name, ah_diag *diag)
{
    int st = ah__fitter_init(f, D, 1, diag);
    if (st != AH_OK)
        return st;
    const unsigned char *q = *pp;
    uint64_t label_rows = 0;
    for (size_t s = 0; s < nsets; s++) {
        if ((size_t)(end - q) < 16) {
            st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                          "%s: plan set %zu: truncated", name, s);
            goto fail;
        }
        int64_t label = (int64_t)ah__get_u64(q);
        uint64_t n = ah__get_u64(q + 8);
        q += 16;
        ah__pass1 *p = &f->pooled;
        if ((s == 0) != (label == AH_POOLED) ||
            (s > 1 && label <= f->lab[f->nlab - 1].label)) {
            st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                          "%s: plan set %zu: label %lld (set 0 is the pooled "
                          "set, INT64_MIN; then labels increase)", name, s,
                          (long long)label);
            goto fail;
        }
        if (n >= UINT32_MAX || (s > 0 && n == 0)) {
            st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                          "%s: plan set %zu: %llu rows (a label 1 to "
                          "2^32-2, the pooled set below 2^32-1)", name, s,
                          (unsigned long long)n);
            goto fail;
        }
        if (s > 0) {
            st = ah__fitter_label(f, label, &p, diag);
            if (st != AH_OK)
                goto fail;
            label_rows += n;
        }
        p->n = (size_t)n;
        for (size_t j = 0; j < D; j++)
            if (!node_parse(p, j, &q, end)) {
                st = ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                              "%s: set %zu, node %zu: bad or truncated "
                              "summary", name, s, j);
                goto fail;
            }
    }
    if (nsets > 1 && label_rows != f->pooled.n) {
        st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                      "%s: the plan's labels have %llu rows, its pooled set "
                      "%zu", name, (unsigned long long)label_rows,
                      f->pooled.n);
        goto fail;
    }
    *pp = q;
    return AH_OK;
fail:
    ah__fitter_free(f);
    memset(f, 0, sizeof *f);
    return st;
}

/* A deep copy of a plan, through its bytes.  dst can be freed afterwards
 * whatever the outcome. */
static int plan_copy(ah__fitter *dst, const ah__fitter *src, ah_diag *diag)
{
    memset(dst, 0, sizeof *dst);
    size_t len = plan_bytes(src);
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    plan_write(src, buf);
    const unsigned char *q = buf;
    int st = plan_parse(dst, src->D, 1 + src->nlab, &q, buf + len, "<plan>",
                        diag);
    free(buf);
    return st;
}

/* 1 equal, 0 not, -1 out of memory. */
static int plans_equal(const ah__fitter *a, const ah__fitter *b)
{
    size_t la = plan_bytes(a), lb = plan_bytes(b);
    if (a->D != b->D || a->nlab != b->nlab || la != lb)
        return 0;
    unsigned char *x = malloc(la ? la : 1), *y = malloc(lb ? lb : 1);
    int eq = x && y ? 1 : -1;
    if (eq > 0) {
        plan_write(a, x);
        plan_write(b, y);
        eq = memcmp(x, y, la) == 0;
    }
    free(x);
    free(y);
    return eq;
}

/* ---- merging plans ---- */

/* Mergeable Misra-Gries: add the two summaries' counters; when more than
 * AH__MG_SLOTS values remain, subtract the (AH__MG_SLOTS+1)-th largest
 * count from all and keep the positive ones.  Kept in increasing value,
 * so that the result does not depend on the order of either input. */
static void mg_merge(ah__mg *a, const ah__mg *b)
{
    double v[2 * AH__MG_SLOTS];
    uint64_t c[2 * AH__MG_SLOTS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->used; i++, n++) {
        v[n] = a->value[i];
        c[n] = a->count[i];
    }
    for (uint32_t i = 0; i < b->used; i++) {
        uint32_t k = 0;
        while (k < n && v[k] != b->value[i])
            k++;
        if (k == n) {
            v[n] = b->value[i];
            c[n++] = 0;
        }
        c[k] += b->count[i];
    }
    uint64_t cut = 0;
    if (n > AH__MG_SLOTS) {
        uint64_t s[2 * AH__MG_SLOTS];
        memcpy(s, c, n * sizeof *s);
        for (uint32_t i = 1; i < n; i++) /* insertion sort, decreasing */
            for (uint32_t k = i; k > 0 && s[k] > s[k - 1]; k--) {
                uint64_t t = s[k];
                s[k] = s[k - 1];
                s[k - 1] = t;
            }
        cut = s[AH__MG_SLOTS];
    }
    for (uint32_t i = 1; i < n; i++) /* insertion sort by value */
        for (uint32_t k = i; k > 0 && v[k] < v[k - 1]; k--) {
            double tv = v[k];
            uint64_t tc = c[k];
            v[k] = v[k - 1];
            c[k] = c[k - 1];
            v[k - 1] = tv;
            c[k - 1] = tc;
        }
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; i++)
        if (c[i] > cut) {
            a->value[used] = v[i];
            a->count[used++] = (uint32_t)(c[i] - cut);
        }
    a->used = used;
}

static void pass1_merge(ah__pass1 *a, const ah__pass1 *b, size_t D)
{
    a->n += b->n;
    for (size_t j = 0; j < D; j++) {
        if (b->node[j].min < a->node[j].min)
            a->node[j].min = b->node[j].min;
        if (b->node[j].max > a->node[j].max)
            a->node[j].max = b->node[j].max;
        mg_merge(&a->mg[j], &b->mg[j]);
    }
}

static int plan_merge(ah__fitter *a, const ah__fitter *b, ah_diag *diag)
{
    pass1_merge(&a->pooled, &b->pooled, a->D);
    for (size_t i = 0; i < b->nlab; i++) {
        ah__pass1 *p;
        int st = ah__fitter_label(a, b->lab[i].label, &p, diag);
        if (st != AH_OK)
            return st;
        pass1_merge(p, &b->lab[i].p1, a->D);
    }
    return AH_OK;
}

static int same_options(const ah_shard *a, const ah_shard *b, ah_diag *diag)
{
    const ah_fit_options *x = &a->opts, *y = &b->opts;
    const char *what = a->plan.D != b->plan.D         ? "node counts"
                       : x->method != y->method       ? "methods"
                       : x->tail != y->tail           ? "tails"
                       : x->binning != y->binning     ? "binnings"
                       : x->bins != y->bins           ? "bin counts"
                       : x->atom_share != y->atom_share ? "atom shares"
                       : a->has_labels != b->has_labels ? "labels (one shard "
                                                          "has them, one not)"
                                                        : NULL;
    if (what)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "shards of different %s do not merge", what);
    return AH_OK;
}

/* ---- the four steps ---- */

int ah_shard_plan(ah_shard **out, ah_row_source *src,
                  const ah_fit_options *opts, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !src || !src->read)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    ah_fit_options o;
    if (opts)
        o = *opts;
    else
        ah_fit_options_default(&o);
    int st = ah__fit_options_check(&o, diag);
    if (st != AH_OK)
        return st;
    if (o.method != AH_METHOD_HIST)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "fitting in shards needs the histogram method (%s "
                        "keeps every value)", ah_method_name(o.method));
    if (ah__basis_resolve(o.basis, src->has_labels, src->cols) !=
        AH_BASIS_NONE)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "fitting in shards learns no basis (pca needs the "
                        "whole background's covariance): fit in one "
                        "process, or without a basis");
    if (src->cols == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1, "background has no nodes");
    ah_shard *s = calloc(1, sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    s->kind = AH_SHARD_PLAN;
    s->has_labels = src->has_labels != 0;
    o.tail = ah__tail_resolve(o.tail, s->has_labels);
    s->opts = o;
    hashing_source h;
    ah_row_source hsrc = hashing_of(&h, src);
    st = ah__fitter_init(&s->plan, src->cols, 1, diag);
    if (st == AH_OK)
        st = ah__fit_pass1(&s->plan, &hsrc,
                           o.chunk_rows ? o.chunk_rows : 1024, &s->rows,
                           diag);
    if (st == AH_OK && s->rows >= UINT32_MAX)
        st = ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                      "shard of %zu rows exceeds 2^32-1", s->rows);
    if (st == AH_OK)
        st = ids_one(&s->plan_ids, s->rows, h.sum, diag);
    if (st != AH_OK) {
        ah_shard_free(s);
        return st;
    }
    *out = s;
    return AH_OK;
}

/* Make s, whose plan is set, a counts shard with nothing counted yet.  A
 * plan's few bytes can ask for fine grids of any size (D nodes x up to
 * 4 x 65536 bins, per label): more than the machine has is refused. */
static int counts_start(ah_shard *s, ah_diag *diag)
{
    size_t need = 0, have;
    for (size_t k = 0; k <= s->plan.nlab && need < SIZE_MAX; k++) {
        size_t b = ah__hist_fit_bytes(s->plan.D, plan_set(&s->plan, k)->n,
                                      &s->opts);
        need = b > SIZE_MAX - need ? SIZE_MAX : need + b;
    }
    if (!ah__memory_allows(need, &have))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "counting against this plan needs %.3g GB for its "
                        "fine grids, more than the %.3g GB this process may "
                        "use",
                        (double)need / 1e9, (double)have / 1e9);
    s->kind = AH_SHARD_COUNTS;
    int st = ah__model_begin(&s->model, &s->plan, s->plan.pooled.n, &s->opts,
                             diag);
    if (st == AH_OK &&
        !(s->set_rows = calloc(s->model->nsets, sizeof *s->set_rows)))
        st = ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    return st;
}

/* A counts shard of plan's plan (a copy) with nothing counted yet. */
static int counts_begin(ah_shard **out, const ah_shard *plan, ah_diag *diag)
{
    *out = NULL; /* what a caller frees after a failure */
    ah_shard *s = calloc(1, sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    s->has_labels = plan->has_labels;
    s->opts = plan->opts;
    int st = plan_copy(&s->plan, &plan->plan, diag);
    if (st == AH_OK)
        st = ids_copy(&s->plan_ids, &plan->plan_ids, diag);
    if (st == AH_OK)
        st = counts_start(s, diag);
    if (st != AH_OK) {
        ah_shard_free(s);
        return st;
    }
    *out = s;
    return AH_OK;
}

/* Counted rows within what the plan has, set by set. */
static int rows_within_plan(const ah_shard *s, const size_t *extra,
                            ah_diag *diag)
{
    for (size_t k = 0; k < s->model->nsets; k++) {
        size_t have = s->set_rows[k] + (extra ? extra[k] : 0);
        size_t n = s->model->sets[k].n;
        if (have > n) {
            char set[64];
            if (k == 0)
                snprintf(set, sizeof set, "its");
            else
                snprintf(set, sizeof set, "label %lld's",
                         (long long)s->model->sets[k].label);
            return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                            "%zu rows counted against a plan of %zu of %s "
                            "rows: rows counted twice, or not in the plan",
                            have, n, set);
        }
    }
    return AH_OK;
}

int ah_shard_count(ah_shard **out, const ah_shard *plan, ah_row_source *src,
                   ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !plan || !src || !src->read)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    if (plan->kind != AH_SHARD_PLAN)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "counting needs a plan, not counts");
    if (plan->plan.pooled.n == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1, "the plan has no rows");
    if (src->cols != plan->plan.D)
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "shard has %zu nodes per row, the plan %zu",
                        src->cols, plan->plan.D);
    if ((src->has_labels != 0) != plan->has_labels)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, plan->has_labels
                        ? "the plan has labels and this shard none"
                        : "this shard has labels and the plan none");
    ah_shard *s;
    int st = counts_begin(&s, plan, diag);
    if (st != AH_OK)
        return st;
    size_t chunk = s->opts.chunk_rows ? s->opts.chunk_rows : 1024;
    hashing_source h;
    ah_row_source hsrc = hashing_of(&h, src);
    st = ah__fit_count(s->model, 1, &hsrc, chunk, 1, s->set_rows, &s->rows,
                       diag);
    for (size_t k = 0; st == AH_OK && k < s->model->nsets; k++)
        if (s->model->ops->range_exceeded(s->model->sets[k].rep))
            st = ah__fail(diag, AH_ERR_VALUE, -1, -1,
                          "a value outside the plan's range: this shard's "
                          "plan was left out of the merge, or its rows "
                          "changed since");
    if (st == AH_OK)
        st = rows_within_plan(s, NULL, diag);
    if (st == AH_OK)
        st = ids_one(&s->ids, s->rows, h.sum, diag);
    if (st != AH_OK) {
        ah_shard_free(s);
        return st;
    }
    *out = s;
    return AH_OK;
}

/* Add the counts of src's sets into dst's (the same plan; the rows are
 * within the plan's, so no count can overflow). */
static void counts_add(ah_shard *dst, const ah_shard *src)
{
    for (size_t k = 0; k < dst->model->nsets; k++) {
        dst->model->ops->counts_merge(dst->model->sets[k].rep,
                                      src->model->sets[k].rep);
        dst->set_rows[k] += src->set_rows[k];
    }
    dst->rows += src->rows;
}

int ah_shard_merge(ah_shard *into, const ah_shard *other, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!into || !other)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (into == other)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "a shard merged with itself would count it twice");
    if (into->kind != other->kind)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "a plan and counts do not merge (merge plans with "
                        "plans, counts with counts)");
    int st = same_options(into, other, diag);
    if (st != AH_OK)
        return st;
    shard_ids ids;
    if (into->kind == AH_SHARD_PLAN) {
        if ((uint64_t)into->rows + other->rows >= UINT32_MAX)
            return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                            "merged shards of %zu rows exceed 2^32-1",
                            into->rows + other->rows);
        st = ids_union(&ids, &into->plan_ids, &other->plan_ids, "planned",
                       diag);
        if (st != AH_OK)
            return st;
        /* merge into a copy, so that a failure leaves into as it was */
        ah__fitter f;
        st = plan_copy(&f, &into->plan, diag);
        if (st == AH_OK)
            st = plan_merge(&f, &other->plan, diag);
        if (st != AH_OK) {
            ah__fitter_free(&f);
            free(ids.v);
            return st;
        }
        ah__fitter_free(&into->plan);
        into->plan = f;
        free(into->plan_ids.v);
        into->plan_ids = ids;
        into->rows += other->rows;
        return AH_OK;
    }
    int eq = plans_equal(&into->plan, &other->plan);
    if (eq < 0)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (!eq || !ids_equal(&into->plan_ids, &other->plan_ids))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "counts against different plans do not merge (count "
                        "every shard against the one merged plan)");
    st = ids_union(&ids, &into->ids, &other->ids, "counted", diag);
    if (st == AH_OK)
        st = rows_within_plan(into, other->set_rows, diag);
    if (st != AH_OK) {
        free(ids.v);
        return st;
    }
    free(into->ids.v);
    into->ids = ids;
    counts_add(into, other);
    return AH_OK;
}

int ah_shard_finish(ah_model **out, const ah_shard *c, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !c)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    if (c->kind != AH_SHARD_COUNTS)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "a model is finished from counts, not from a plan "
                        "(count the shards against it first)");
    for (size_t k = 0; k < c->model->nsets; k++)
        if (c->set_rows[k] != c->model->sets[k].n) {
            char set[64] = "";
            if (k > 0)
                snprintf(set, sizeof set, " of label %lld",
                         (long long)c->model->sets[k].label);
            return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                            "the counts cover %zu of the plan's %zu rows%s: "
                            "a shard is missing", c->set_rows[k],
                            c->model->sets[k].n, set);
        }
    /* as many rows as the plan's: the same rows, unless a list is unknown */
    if (!c->plan_ids.unknown && !c->ids.unknown &&
        ids_sum(&c->ids) != ids_sum(&c->plan_ids))
        return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                        "the counts cover as many rows as the plan, but not "
                        "the rows the plan was made from: a shard counted in "
                        "place of another, or rows changed since the plan");
    /* end the pass on a copy, so that the counts stay usable */
    ah_shard *copy;
    int st = counts_begin(&copy, c, diag);
    if (st == AH_OK)
        counts_add(copy, c);
    for (size_t k = 0; st == AH_OK && k < copy->model->nsets; k++)
        st = copy->model->ops->end_pass(copy->model->sets[k].rep, 1, diag);
    if (st == AH_OK) {
        *out = copy->model;
        copy->model = NULL;
    }
    ah_shard_free(copy);
    return st;
}

void ah_shard_get_info(const ah_shard *s, ah_shard_info *info)
{
    if (!s || !info)
        return;
    memset(info, 0, sizeof *info);
    info->kind = s->kind;
    info->opts = s->opts;
    info->nodes = s->plan.D;
    info->labels = s->plan.nlab;
    info->rows = s->rows;
    info->plan_rows = s->plan.pooled.n;
}

/* ---- the file ---- */

static size_t shard_file_bytes(const ah_shard *s)
{
    size_t b = SHARD_HEADER + ids_bytes(&s->plan_ids) + plan_bytes(&s->plan) +
               8;
    if (s->kind == AH_SHARD_COUNTS)
        b += ids_bytes(&s->ids);
    if (s->kind == AH_SHARD_COUNTS)
        for (size_t k = 0; k < s->model->nsets; k++)
            b += 16 + s->model->ops->counts_bytes(s->model->sets[k].rep);
    return b;
}

int ah_shard_save_memory(const ah_shard *s, void *buf, size_t *len,
                         ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!s || !len)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    size_t total = shard_file_bytes(s);
    if (!buf) {
        *len = total;
        return AH_OK;
    }
    if (*len < total)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "buffer of %zu bytes is below the %zu needed", *len,
                        total);
    unsigned char *p = buf, *q;
    memset(p, 0, SHARD_HEADER);
    ah__put_header_fields(p, magic, SHARD_MAJOR, SHARD_MINOR, &s->opts);
    ah__put_u32(p + 12, (uint32_t)s->kind);
    ah__put_u64(p + 40, s->plan.D);
    ah__put_u64(p + 48, 1 + s->plan.nlab);
    ah__put_u64(p + 56, total);
    ah__put_u64(p + 64, s->rows);
    ah__put_u32(p + 72, (uint32_t)s->has_labels);
    q = ids_write(&s->plan_ids, p + SHARD_HEADER);
    q = plan_write(&s->plan, q);
    if (s->kind == AH_SHARD_COUNTS)
        q = ids_write(&s->ids, q);
    if (s->kind == AH_SHARD_COUNTS)
        for (size_t k = 0; k < s->model->nsets; k++) {
            const void *rep = s->model->sets[k].rep;
            size_t cb = s->model->ops->counts_bytes(rep);
            q = ah__put_u64(q, s->set_rows[k]);
            q = ah__put_u64(q, cb);
            s->model->ops->counts_write(rep, q);
            q += cb;
        }
    ah__put_u64(q, ah__fnv1a64(p, total - 8));
    *len = total;
    return AH_OK;
}

static int save_shard(const void *s, void *buf, size_t *len, ah_diag *diag)
{
    return ah_shard_save_memory(s, buf, len, diag);
}

int ah_shard_save(const ah_shard *s, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!s || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    return ah__save_file(s, save_shard, path, diag);
}

/* What a shard header holds beyond the shared fields. */
typedef struct shard_header {
    uint32_t kind, has_labels;
    uint64_t D, nsets, rows;
} shard_header;

/* The shard header's own fields (after ah__check_file and
 * ah__check_header_fields), checked.  AH_OK, or AH_ERR_FORMAT naming the
 * field and its value. */
static int header_parse(const unsigned char *p, size_t len, const char *name,
                        const ah_fit_options *o, shard_header *h,
                        ah_diag *diag)
{
    uint32_t kind = h->kind = ah__get_u32(p + 12),
             has_labels = h->has_labels = ah__get_u32(p + 72);
    uint64_t D = h->D = ah__get_u64(p + 40),
             nsets = h->nsets = ah__get_u64(p + 48),
             rows = h->rows = ah__get_u64(p + 64);
    char what[80] = "";
    if (kind != AH_SHARD_PLAN && kind != AH_SHARD_COUNTS)
        snprintf(what, sizeof what, "kind %u, not 1 (plan) or 2 (counts)",
                 kind);
    else if (o->method != AH_METHOD_HIST)
        snprintf(what, sizeof what, "method %d, not 0 (hist)", o->method);
    else if (D == 0 || D > len / NODE_FIXED) /* a node takes 20 bytes */
        snprintf(what, sizeof what, "D (nodes) %llu, not 1 to the file's "
                 "size", (unsigned long long)D);
    else if (nsets == 0 || nsets > MAX_SETS)
        snprintf(what, sizeof what, "S (sets) %llu, not 1 to %d",
                 (unsigned long long)nsets, MAX_SETS);
    else if (has_labels > 1)
        snprintf(what, sizeof what, "labels flag %u, not 0 or 1",
                 has_labels);
    else if (nsets > 1 && !has_labels)
        snprintf(what, sizeof what, "S (sets) %llu with the labels flag 0",
                 (unsigned long long)nsets);
    else if (rows >= UINT32_MAX)
        snprintf(what, sizeof what, "rows %llu, not below 2^32-1",
                 (unsigned long long)rows);
    if (what[0])
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: %s in the shard header", name, what);
    return AH_OK;
}

/* The counts of a counts shard after its plan: the counted shards' list
 * (listed, format 1.1), then each set's rows and counts, from *q on
 * (before end); the model begun from the plan.  AH_OK, or the status
 * with the diagnostic. */
static int counts_parse(ah_shard *s, const unsigned char **q,
                        const unsigned char *end, int listed,
                        const char *name, ah_diag *diag)
{
    size_t rows = s->rows;
    int st = AH_OK;
    /* begin the model from the plan, then read the stored counts */
    if (s->plan.pooled.n == 0) {
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: counts against a plan of no rows", name);
    }
    if (listed)
        st = ids_parse(&s->ids, q, end, rows, name, "counted", diag);
    else
        s->ids.unknown = rows > 0;
    if (st == AH_OK)
        st = counts_start(s, diag);
    if (st != AH_OK)
        return st;
    uint64_t label_rows = 0;
    for (size_t k = 0; k < s->model->nsets; k++) {
        uint64_t r = (size_t)(end - *q) >= 16 ? ah__get_u64(*q) : 0,
                 cb = (size_t)(end - *q) >= 16 ? ah__get_u64(*q + 8)
                                              : UINT64_MAX;
        if (cb > (size_t)(end - *q) - 16) {
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: set %zu: counts truncated", name, k);
        }
        *q += 16;
        if (r > s->model->sets[k].n) {
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: set %zu: %llu rows counted, the plan has "
                            "%zu", name, k, (unsigned long long)r,
                            s->model->sets[k].n);
        }
        st = s->model->ops->counts_read(s->model->sets[k].rep, *q,
                                        (size_t)cb, r, diag);
        if (st != AH_OK) {
            char inner[sizeof diag->message];
            snprintf(inner, sizeof inner, "%s", diag ? diag->message : "");
            ah__fail(diag, st, -1, diag ? diag->col : -1,
                     "%s: set %zu: %s", name, k, inner);
            return st;
        }
        s->set_rows[k] = (size_t)r;
        if (k > 0)
            label_rows += r;
        *q += cb;
    }
    if (s->set_rows[0] != rows ||
        (s->model->nsets > 1 && label_rows != rows)) {
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: rows counted: %zu pooled, %llu over the "
                        "labels, the header says %llu", name,
                        s->set_rows[0], (unsigned long long)label_rows,
                        (unsigned long long)rows);
    }
    return AH_OK;
}

int ah_shard_load_memory(ah_shard **out, const void *vbuf, size_t len,
                         const char *name, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || (!vbuf && len))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    const unsigned char *p = vbuf;
    if (!name)
        name = "<memory>";
    static const ah__file_kind file = {"shard", magic, SHARD_HEADER,
                                       SHARD_MAJOR, SHARD_MINOR, 56, 76, 4};
    int st = ah__check_file(&file, p, len, name, diag);
    if (st != AH_OK)
        return st;
    ah_fit_options o;
    st = ah__check_header_fields(&file, p, name, &o, diag);
    if (st != AH_OK)
        return st;
    shard_header h;
    st = header_parse(p, len, name, &o, &h, diag);
    if (st != AH_OK)
        return st;
    uint32_t kind = h.kind;
    uint64_t D = h.D, nsets = h.nsets, rows = h.rows;
    ah_shard *s = calloc(1, sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    s->kind = (int)kind;
    s->has_labels = (int)h.has_labels;
    s->opts = o;
    s->rows = (size_t)rows;
    /* format 1.1 lists the plan's shards before the plan; the list is
     * checked against the plan's rows once these are read */
    const unsigned char *q = p + SHARD_HEADER, *end = p + len - 8,
                        *plan_ids = q;
    int listed = p[10] >= 1;
    if (listed) {
        uint64_t k = (size_t)(end - q) >= 8 ? ah__get_u64(q) : UINT64_MAX;
        if (k > (size_t)(end - q - 8) / ID_ENTRY) {
            st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                          "%s: the list of the plan's shards is truncated",
                          name);
            goto fail;
        }
        q += 8 + ID_ENTRY * (size_t)k;
    }
    st = plan_parse(&s->plan, (size_t)D, (size_t)nsets, &q, end, name,
                        diag);
    if (st != AH_OK)
        goto fail;
    if (listed)
        st = ids_parse(&s->plan_ids, &plan_ids, end, s->plan.pooled.n, name,
                       "plan's", diag);
    else
        s->plan_ids.unknown = s->plan.pooled.n > 0;
    if (st != AH_OK)
        goto fail;
    if (kind == AH_SHARD_PLAN) {
        if (s->plan.pooled.n != rows) {
            st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                          "%s: the plan has %zu rows, the header says %llu",
                          name, s->plan.pooled.n, (unsigned long long)rows);
            goto fail;
        }
    } else {
        st = counts_parse(s, &q, end, listed, name, diag);
        if (st != AH_OK)
            goto fail;
    }
    if (q != end) {
        st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                      "%s: %zu bytes after the last set", name,
                      (size_t)(end - q));
        goto fail;
    }
    *out = s;
    return AH_OK;
fail:
    ah_shard_free(s);
    return st;
}

static int shard_from_bytes(void *out, const unsigned char *buf, size_t len,
                            const char *name, ah_diag *diag)
{
    return ah_shard_load_memory(out, buf, len, name, diag);
}

int ah_shard_load(ah_shard **out, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    return ah__load_file(out, shard_from_bytes, path, diag);
}
