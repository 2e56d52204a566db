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
 * The file (docs/FORMAT.md), little-endian: an 80-byte header, the plan
 * (per set: label, rows, then per node min, max, heavy hitters), for
 * counts per set the rows counted and the histogram's counts, and an
 * FNV-1a checksum of everything before it.
 */
#include "bytes.h"
#include "file_io.h"
#include "fitter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_MAJOR 1
#define SHARD_MINOR 0
#define SHARD_HEADER 80
#define NODE_FIXED 20  /* min, max, used */
#define MG_ENTRY 12    /* value, count */
#define MAX_SETS 4097  /* the pooled set and fit.c's 4096 labels */

static const unsigned char magic[8] = {0x89, 'A', 'H', 'S', '\r', '\n', 0x1a,
                                       '\n'};

struct ah_shard {
    int kind;
    int has_labels;    /* the rows came with labels */
    ah_fit_options opts;
    size_t rows;       /* rows read by the shards merged in here */
    ah__fitter plan;
    ah_model *model;   /* counts: begun from the plan, counted, not ended */
    size_t *set_rows;  /* counts: rows counted per set */
};

void ah_shard_free(ah_shard *s)
{
    if (!s)
        return;
    ah__fitter_free(&s->plan);
    ah_model_free(s->model);
    free(s->set_rows);
    free(s);
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
        if ((size_t)(end - q) < 16)
            goto bad;
        int64_t label = (int64_t)ah__get_u64(q);
        uint64_t n = ah__get_u64(q + 8);
        q += 16;
        ah__pass1 *p = &f->pooled;
        if ((s == 0) != (label == AH_POOLED) || n >= UINT32_MAX ||
            (s > 1 && label <= f->lab[f->nlab - 1].label) || (s > 0 && n == 0))
            goto bad;
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
    if (nsets > 1 && label_rows != f->pooled.n)
        goto bad;
    *pp = q;
    return AH_OK;
bad:
    st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                  "%s: the plan's sets have bad labels or row counts", name);
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
    if (src->cols == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1, "background has no nodes");
    ah_shard *s = calloc(1, sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    s->kind = AH_SHARD_PLAN;
    s->has_labels = src->has_labels != 0;
    s->opts = o;
    st = ah__fitter_init(&s->plan, src->cols, 1, diag);
    if (st == AH_OK)
        st = ah__fit_pass1(&s->plan, src, o.chunk_rows ? o.chunk_rows : 1024,
                           &s->rows, diag);
    if (st == AH_OK && s->rows >= UINT32_MAX)
        st = ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                      "shard of %zu rows exceeds 2^32-1", s->rows);
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
    st = ah__fit_count(s->model, 1, src, chunk, 1, s->set_rows, &s->rows,
                       diag);
    for (size_t k = 0; st == AH_OK && k < s->model->nsets; k++)
        if (s->model->ops->range_exceeded(s->model->sets[k].rep))
            st = ah__fail(diag, AH_ERR_VALUE, -1, -1,
                          "a value outside the plan's range: this shard's "
                          "plan was left out of the merge, or its rows "
                          "changed since");
    if (st == AH_OK)
        st = rows_within_plan(s, NULL, diag);
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
    if (into->kind == AH_SHARD_PLAN) {
        if ((uint64_t)into->rows + other->rows >= UINT32_MAX)
            return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                            "merged shards of %zu rows exceed 2^32-1",
                            into->rows + other->rows);
        /* merge into a copy, so that a failure leaves into as it was */
        ah__fitter f;
        st = plan_copy(&f, &into->plan, diag);
        if (st == AH_OK)
            st = plan_merge(&f, &other->plan, diag);
        if (st != AH_OK) {
            ah__fitter_free(&f);
            return st;
        }
        ah__fitter_free(&into->plan);
        into->plan = f;
        into->rows += other->rows;
        return AH_OK;
    }
    int eq = plans_equal(&into->plan, &other->plan);
    if (eq < 0)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (!eq)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "counts against different plans do not merge (count "
                        "every shard against the one merged plan)");
    st = rows_within_plan(into, other->set_rows, diag);
    if (st != AH_OK)
        return st;
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
    size_t b = SHARD_HEADER + plan_bytes(&s->plan) + 8;
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
    memcpy(p, magic, 8);
    p[8] = SHARD_MAJOR;
    p[10] = SHARD_MINOR;
    ah__put_u32(p + 12, (uint32_t)s->kind);
    ah__put_u32(p + 16, (uint32_t)s->opts.method);
    ah__put_u32(p + 20, (uint32_t)s->opts.tail);
    ah__put_u32(p + 24, (uint32_t)s->opts.binning);
    ah__put_u32(p + 28, (uint32_t)s->opts.bins);
    ah__put_f64(p + 32, s->opts.atom_share);
    ah__put_u64(p + 40, s->plan.D);
    ah__put_u64(p + 48, 1 + s->plan.nlab);
    ah__put_u64(p + 56, total);
    ah__put_u64(p + 64, s->rows);
    ah__put_u32(p + 72, (uint32_t)s->has_labels);
    q = plan_write(&s->plan, p + SHARD_HEADER);
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
                                       SHARD_MAJOR, SHARD_MINOR, 56};
    int st = ah__check_file(&file, p, len, name, diag);
    if (st != AH_OK)
        return st;
    ah_fit_options o;
    ah_fit_options_default(&o);
    uint32_t kind = ah__get_u32(p + 12), has_labels = ah__get_u32(p + 72);
    o.method = (int)ah__get_u32(p + 16);
    o.tail = (int)ah__get_u32(p + 20);
    o.binning = (int)ah__get_u32(p + 24);
    o.bins = (int)ah__get_u32(p + 28);
    o.atom_share = ah__get_f64(p + 32);
    uint64_t D = ah__get_u64(p + 40), nsets = ah__get_u64(p + 48),
             rows = ah__get_u64(p + 64);
    if ((kind != AH_SHARD_PLAN && kind != AH_SHARD_COUNTS) ||
        o.method != AH_METHOD_HIST || ah__fit_options_check(&o, NULL) ||
        D == 0 || D > len / NODE_FIXED || nsets == 0 || nsets > MAX_SETS ||
        (nsets > 1 && !has_labels) || has_labels > 1 || rows >= UINT32_MAX)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: header fields out of range", name);
    ah_shard *s = calloc(1, sizeof *s);
    if (!s)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    s->kind = (int)kind;
    s->has_labels = (int)has_labels;
    s->opts = o;
    s->rows = (size_t)rows;
    const unsigned char *q = p + SHARD_HEADER, *end = p + len - 8;
    st = plan_parse(&s->plan, (size_t)D, (size_t)nsets, &q, end, name,
                        diag);
    if (st != AH_OK)
        goto fail;
    if (kind == AH_SHARD_PLAN) {
        if (s->plan.pooled.n != rows)
            goto bad;
    } else {
        /* begin the model from the plan, then read the stored counts */
        if (s->plan.pooled.n == 0)
            goto bad;
        st = counts_start(s, diag);
        if (st != AH_OK)
            goto fail;
        uint64_t label_rows = 0;
        for (size_t k = 0; k < s->model->nsets; k++) {
            if ((size_t)(end - q) < 16)
                goto bad;
            uint64_t r = ah__get_u64(q), cb = ah__get_u64(q + 8);
            q += 16;
            if (cb > (size_t)(end - q) || r > s->model->sets[k].n)
                goto bad;
            st = s->model->ops->counts_read(s->model->sets[k].rep, q,
                                            (size_t)cb, r, diag);
            if (st != AH_OK) {
                char inner[sizeof diag->message];
                snprintf(inner, sizeof inner, "%s", diag ? diag->message : "");
                ah__fail(diag, st, -1, diag ? diag->col : -1,
                         "%s: set %zu: %s", name, k, inner);
                goto fail;
            }
            s->set_rows[k] = (size_t)r;
            if (k > 0)
                label_rows += r;
            q += cb;
        }
        if (s->set_rows[0] != rows ||
            (s->model->nsets > 1 && label_rows != rows))
            goto bad;
    }
    if (q != end)
        goto bad;
    *out = s;
    return AH_OK;
bad:
    st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                  "%s: row counts or sizes do not match the file", name);
fail:
    ah_shard_free(s);
    return st;
}

int ah_shard_load(ah_shard **out, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int st = ah__read_whole(path, &buf, &len, diag);
    if (st == AH_OK)
        st = ah_shard_load_memory(out, buf, len, path, diag);
    free(buf);
    return st;
}
