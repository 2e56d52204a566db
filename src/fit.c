/*
 * fit.c - fitting a model from a stream of background rows.
 *
 * The first pass finds the labels, each node's range and its heavy-hitter
 * candidates (possible atoms); the representation then asks for as many
 * further passes as it needs (the histogram: one, to count).  Memory is
 * O(D x labels x bins) for histograms whatever N is; the empirical and KDE
 * representations keep every value by nature.  Results do not depend on the
 * chunk size: every row is accounted for independently of its chunk.
 */
#include "basis.h"
#include "fitter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A conditional fit with more labels than this is almost surely a mistake
 * (activations given as labels) and would exhaust memory. */
#define AH__MAX_LABELS 4096

static int pass1_init(ah__pass1 *p, size_t D, int need_mg)
{
    p->n = 0;
    p->node = malloc(D * sizeof *p->node);
    p->mg = need_mg ? calloc(D, sizeof *p->mg) : NULL;
    if (!p->node || (need_mg && !p->mg))
        return AH_ERR_NOMEM;
    for (size_t j = 0; j < D; j++) {
        p->node[j].min = INFINITY;
        p->node[j].max = -INFINITY;
    }
    return AH_OK;
}

static void pass1_free(ah__pass1 *p)
{
    free(p->node);
    free(p->mg);
    p->node = NULL;
    p->mg = NULL;
}

/* Misra-Gries update: a value seen again is counted; a new value takes a
 * free slot or, when none is free, every count drops by one. */
static void mg_add(ah__mg *g, double v)
{
    uint32_t used = g->used;
    for (uint32_t i = 0; i < used; i++)
        if (g->value[i] == v) {
            g->count[i]++;
            return;
        }
    if (used < AH__MG_SLOTS) {
        g->value[used] = v;
        g->count[used] = 1;
        g->used = used + 1;
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < used; i++)
        if (--g->count[i] > 0) {
            g->value[k] = g->value[i];
            g->count[k++] = g->count[i];
        }
    g->used = k;
}

/* Account k rows (pointers) node by node, so that one node's summary stays
 * in cache for the whole chunk. */
static void pass1_add_rows(ah__pass1 *p, const double *const *rows, size_t k,
                           size_t D)
{
    p->n += k;
    for (size_t j = 0; j < D; j++) {
        double lo = p->node[j].min, hi = p->node[j].max;
        for (size_t i = 0; i < k; i++) {
            double v = rows[i][j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        p->node[j].min = lo;
        p->node[j].max = hi;
        if (p->mg)
            for (size_t i = 0; i < k; i++)
                mg_add(&p->mg[j], rows[i][j]);
    }
}

/* Index of label in the sorted table, or where it would be inserted. */
static size_t label_search(const ah__label_pass1 *lab, size_t n, int64_t label)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lab[mid].label < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ah__fitter_label(ah__fitter *f, int64_t label, ah__pass1 **out,
                        ah_diag *diag)
{
    size_t i = label_search(f->lab, f->nlab, label);
    if (i < f->nlab && f->lab[i].label == label) {
        *out = &f->lab[i].p1;
        return AH_OK;
    }
    if (label == AH_POOLED)
        return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                        "label %lld is reserved for the pooled set",
                        (long long)label);
    if (f->nlab >= AH__MAX_LABELS)
        return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                        "more than %d distinct labels: labels must be "
                        "integer classes, one per background row",
                        AH__MAX_LABELS);
    if (f->nlab == f->caplab) {
        size_t cap = f->caplab ? 2 * f->caplab : 16;
        ah__label_pass1 *p = realloc(f->lab, cap * sizeof *p);
        if (!p)
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
        f->lab = p;
        f->caplab = cap;
    }
    memmove(&f->lab[i + 1], &f->lab[i], (f->nlab - i) * sizeof *f->lab);
    f->lab[i].label = label;
    f->nlab++;
    if (pass1_init(&f->lab[i].p1, f->D, f->need_mg) != AH_OK)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "out of memory for label %lld", (long long)label);
    *out = &f->lab[i].p1;
    return AH_OK;
}

void ah__fitter_free(ah__fitter *f)
{
    pass1_free(&f->pooled);
    for (size_t i = 0; i < f->nlab; i++)
        pass1_free(&f->lab[i].p1);
    free(f->lab);
    f->lab = NULL;
    f->nlab = 0;
}

int ah__fit_options_check(const ah_fit_options *o, ah_diag *diag)
{
    if (o->method < 0 || o->method > AH_METHOD_KDE)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown method %d",
                        o->method);
    if ((o->tail < 0 && o->tail != AH_TAIL_DEFAULT) || o->tail > AH_TAIL_BOTH)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown tail %d", o->tail);
    if (o->binning < 0 || o->binning >= AH__BINNING_COUNT)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown binning %d",
                        o->binning);
    /* the ranges are ah_option_check's table (options.c) */
    if (o->basis != AH_BASIS_DEFAULT && o->basis != AH_BASIS_NONE &&
        o->basis != AH_BASIS_PCA)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown basis %d",
                        o->basis);
    int st = ah_option_check(AH_OPTION_BASIS_COMPONENTS,
                             o->basis_components, diag);
    if (st == AH_OK && o->bins != AH_BINS_AUTO)
        st = ah_option_check(AH_OPTION_BINS, o->bins, diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_ATOM_SHARE, o->atom_share, diag);
    if (st == AH_OK && o->chunk_rows != 0)
        st = ah_option_check(AH_OPTION_CHUNK_ROWS, (double)o->chunk_rows,
                             diag);
    if (st == AH_OK)
        st = ah_option_check(AH_OPTION_FIT_MEMORY_MB,
                             (double)o->fit_memory_mb, diag);
    return st;
}

void ah_model_free(ah_model *m)
{
    if (!m)
        return;
    /* a model whose set array failed to allocate has nsets but no sets */
    for (size_t i = 0; m->sets && i < m->nsets; i++)
        if (m->sets[i].rep)
            m->ops->free(m->sets[i].rep);
    free(m->sets);
    free(m->labels);
    ah__basis_free(m->basis);
    free(m);
}

/* Read every row of the source once, handing each chunk to fn. */
typedef int (*chunk_fn)(void *ctx, const double *rows, const int64_t *labels,
                        size_t k, size_t first, ah_diag *diag);

static int stream_rows(ah_row_source *src, size_t chunk, double *buf,
                       int64_t *lab, chunk_fn fn, void *ctx, size_t *rows,
                       ah_diag *diag)
{
    size_t D = src->cols, total = 0, got = 0;
    for (;;) {
        int st = src->read(src->ctx, buf, D, lab, chunk, &got, diag);
        if (st != AH_OK)
            return st;
        if (got == 0)
            break;
        if (got > chunk)
            return ah__fail(diag, AH_ERR_ARG, -1, -1,
                            "row source returned %zu rows for %zu asked", got,
                            chunk);
        for (size_t i = 0; i < got; i++) {
            const double *row = buf + i * D;
            for (size_t j = 0; j < D; j++)
                if (!isfinite(row[j]))
                    return ah__fail(diag, AH_ERR_VALUE, (int64_t)(total + i),
                                    (int64_t)j,
                                    "background row %zu, column %zu: %s",
                                    total + i, j,
                                    isnan(row[j]) ? "NaN" : "infinity");
        }
        st = fn(ctx, buf, src->has_labels ? lab : NULL, got, total, diag);
        if (st != AH_OK)
            return st;
        total += got;
    }
    *rows = total;
    return AH_OK;
}

/* Scratch for grouping a chunk's rows by label. */
typedef struct chunk_scratch {
    size_t D;            /* values per chunk row */
    const double **ptr;  /* chunk row pointers */
    int64_t *pair;       /* (label, row) pairs */
    const ah__basis *basis; /* NULL, or rows go through it into tx */
    double *tx;          /* chunk x basis width */
} chunk_scratch;

/* With a basis, the n rows at ptr are replaced by their transforms by
 * set s's basis (in tx, which the pooled call's rows are done with when a
 * label's call comes). */
static void transform_rows(chunk_scratch *sc, size_t s, size_t n)
{
    if (!sc->basis)
        return;
    size_t w = ah__basis_width(sc->basis);
    for (size_t i = 0; i < n; i++) {
        ah__basis_apply(sc->basis, s, sc->ptr[i], sc->tx + i * w);
        sc->ptr[i] = sc->tx + i * w;
    }
}

static int cmp_pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Sort the chunk's rows by label into sc->pair (row order kept within a
 * label, so results do not depend on how rows are chunked). */
static void group_by_label(chunk_scratch *sc, const int64_t *labels,
                           size_t k)
{
    for (size_t i = 0; i < k; i++) {
        sc->pair[2 * i] = labels[i];
        sc->pair[2 * i + 1] = (int64_t)i;
    }
    qsort(sc->pair, k, 2 * sizeof *sc->pair, cmp_pair);
}

/* Hand the chunk's rows to fn: all of them as the pooled set (pooled = 1),
 * then, with labels, the rows of each label in file order. */
typedef int (*rows_fn)(void *ctx, int pooled, int64_t label,
                       const double *const *rows, size_t n, size_t first,
                       ah_diag *diag);

static int for_each_set(chunk_scratch *sc, const double *rows,
                        const int64_t *labels, size_t k, size_t first,
                        rows_fn fn, void *ctx, ah_diag *diag)
{
    size_t D = sc->D;
    for (size_t i = 0; i < k; i++)
        sc->ptr[i] = rows + i * D;
    transform_rows(sc, 0, k);
    int st = fn(ctx, 1, 0, sc->ptr, k, first, diag);
    if (st != AH_OK || !labels)
        return st;
    group_by_label(sc, labels, k);
    for (size_t a = 0; a < k;) {
        size_t z = a, n = 0;
        while (z < k && sc->pair[2 * z] == sc->pair[2 * a])
            sc->ptr[n++] = rows + (size_t)sc->pair[2 * z++ + 1] * D;
        if (sc->basis)
            transform_rows(sc, ah__basis_set_for(sc->basis, sc->pair[2 * a]),
                           n);
        st = fn(ctx, 0, sc->pair[2 * a], sc->ptr, n, first, diag);
        if (st != AH_OK)
            return st;
        a = z;
    }
    return AH_OK;
}

typedef struct pass1_ctx {
    ah__fitter *f;
    chunk_scratch sc;
} pass1_ctx;

static int pass1_rows(void *ctx, int pooled, int64_t label,
                      const double *const *rows, size_t n, size_t first,
                      ah_diag *diag)
{
    ah__fitter *f = ctx;
    ah__pass1 *p = &f->pooled;
    (void)first;
    if (!pooled) {
        int st = ah__fitter_label(f, label, &p, diag);
        if (st != AH_OK)
            return st;
    }
    pass1_add_rows(p, rows, n, f->D);
    return AH_OK;
}

static int pass1_chunk(void *ctx, const double *rows, const int64_t *labels,
                       size_t k, size_t first, ah_diag *diag)
{
    pass1_ctx *c = ctx;
    return for_each_set(&c->sc, rows, labels, k, first, pass1_rows, c->f,
                        diag);
}

typedef struct pass_ctx {
    ah_model *m;
    int pass;
    int against_plan; /* a shard counting against a merged plan */
    size_t *set_rows; /* rows per set, or NULL */
    size_t s0, s1;    /* the sets counted in this pass: s0 <= s < s1 */
    chunk_scratch sc;
} pass_ctx;

static int passn_rows(void *ctx, int pooled, int64_t label,
                      const double *const *rows, size_t n, size_t first,
                      ah_diag *diag)
{
    pass_ctx *c = ctx;
    size_t s = 0;
    if (!pooled) {
        int seen;
        s = ah__model_set_for(c->m, label, &seen);
        if (!seen && c->against_plan)
            return ah__fail(diag, AH_ERR_VALUE, (int64_t)first, -1,
                            "label %lld is not in the plan (was this "
                            "shard's plan left out of the merge?)",
                            (long long)label);
        if (!seen)
            return ah__fail(diag, AH_ERR_IO, (int64_t)first, -1,
                            "background changed between passes: label "
                            "%lld is new", (long long)label);
    }
    if (s < c->s0 || s >= c->s1) /* another group's set */
        return AH_OK;
    if (c->set_rows)
        c->set_rows[s] += n;
    c->m->ops->add_rows(c->m->sets[s].rep, c->pass, rows, n);
    return AH_OK;
}

static int passn_chunk(void *ctx, const double *rows, const int64_t *labels,
                       size_t k, size_t first, ah_diag *diag)
{
    pass_ctx *c = ctx;
    return for_each_set(&c->sc, rows, labels, k, first, passn_rows, c, diag);
}

size_t ah__model_set_for(const ah_model *m, int64_t label, int *seen)
{
    size_t nl = m->nsets - 1, lo = 0, hi = nl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->labels[mid] < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < nl && m->labels[lo] == label) {
        *seen = 1;
        return lo + 1;
    }
    *seen = 0;
    return 0;
}

const ah__rep_ops *ah__ops_for(int method)
{
    switch (method) {
    case AH_METHOD_HIST: return &ah__hist_ops;
    case AH_METHOD_EMPIRICAL: return &ah__empirical_ops;
    case AH_METHOD_KDE: return &ah__kde_ops;
    default: return NULL;
    }
}

/* The buffers one pass reads through: a chunk of rows, their labels and
 * the scratch that groups them by label. */
typedef struct pass_buffers {
    double *buf;
    int64_t *lab;
    chunk_scratch sc;
} pass_buffers;

static void buffers_free(pass_buffers *b)
{
    free(b->buf);
    free(b->lab);
    free(b->sc.ptr);
    free(b->sc.pair);
    free(b->sc.tx);
}

/* Buffers for chunks of rows of D values (transformed by basis when not
 * NULL). */
static int buffers_init(pass_buffers *b, size_t D, size_t chunk,
                        const ah__basis *basis, ah_diag *diag)
{
    size_t bufn, txn = 0;
    memset(b, 0, sizeof *b);
    if (!ah__mul_ok(chunk, D, &bufn) || !ah__mul_ok(bufn, sizeof(double), &bufn) ||
        (basis && (!ah__mul_ok(chunk, ah__basis_width(basis), &txn) ||
                   !ah__mul_ok(txn, sizeof(double), &txn))))
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                        "chunk of %zu rows x %zu nodes overflows", chunk, D);
    b->buf = malloc(bufn);
    b->lab = malloc(chunk * sizeof *b->lab);
    b->sc.D = D;
    b->sc.ptr = malloc(chunk * sizeof *b->sc.ptr);
    b->sc.pair = malloc(2 * chunk * sizeof *b->sc.pair);
    b->sc.basis = basis;
    b->sc.tx = basis ? malloc(txn) : NULL;
    if (!b->buf || !b->lab || !b->sc.ptr || !b->sc.pair ||
        (basis && !b->sc.tx)) {
        buffers_free(b);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    return AH_OK;
}

int ah__fitter_init(ah__fitter *f, size_t D, int need_mg, ah_diag *diag)
{
    memset(f, 0, sizeof *f);
    f->D = D;
    f->cols = D;
    f->need_mg = need_mg;
    if (pass1_init(&f->pooled, D, need_mg) != AH_OK) {
        ah__fitter_free(f);
        memset(f, 0, sizeof *f);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    return AH_OK;
}

int ah__fit_pass1(ah__fitter *f, ah_row_source *src, size_t chunk,
                  size_t *rows, ah_diag *diag)
{
    pass_buffers b;
    int st = buffers_init(&b, f->cols, chunk, f->basis, diag);
    if (st != AH_OK)
        return st;
    pass1_ctx c = {f, b.sc};
    st = stream_rows(src, chunk, b.buf, b.lab, pass1_chunk, &c, rows, diag);
    buffers_free(&b);
    return st;
}

/* The model of the fitter's sets, none of them begun. */
static int model_new(ah_model **out, const ah__fitter *f, size_t rows,
                     const ah_fit_options *opts, ah_diag *diag)
{
    *out = NULL;
    ah_model *m = calloc(1, sizeof *m);
    if (!m)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    m->opts = *opts;
    m->ops = ah__ops_for(opts->method);
    m->D = f->D;
    m->D_in = f->cols;
    m->N = rows;
    m->nsets = 1 + f->nlab;
    m->sets = calloc(m->nsets, sizeof *m->sets);
    m->labels = malloc((f->nlab ? f->nlab : 1) * sizeof *m->labels);
    if (!m->sets || !m->labels) {
        ah_model_free(m);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    for (size_t s = 0; s < m->nsets; s++) {
        const ah__pass1 *p = s == 0 ? &f->pooled : &f->lab[s - 1].p1;
        m->sets[s].label = s == 0 ? AH_POOLED : f->lab[s - 1].label;
        m->sets[s].n = p->n;
        if (s > 0)
            m->labels[s - 1] = f->lab[s - 1].label;
    }
    *out = m;
    return AH_OK;
}

/* Begin the representations of sets s0 <= s < s1 from the first pass. */
static int sets_begin(ah_model *m, const ah__fitter *f, size_t s0,
                      size_t s1, ah_diag *diag)
{
    for (size_t s = s0; s < s1; s++) {
        ah__pass1 set = s == 0 ? f->pooled : f->lab[s - 1].p1;
        set.compact = m->nsets > 1; /* several sets: compact tables */
        int st = m->ops->begin(&m->sets[s].rep, f->D, &set, &m->opts, diag);
        if (st != AH_OK)
            return st;
    }
    return AH_OK;
}

int ah__model_begin(ah_model **out, const ah__fitter *f, size_t rows,
                    const ah_fit_options *opts, ah_diag *diag)
{
    int st = model_new(out, f, rows, opts, diag);
    if (st == AH_OK && (st = sets_begin(*out, f, 0, (*out)->nsets, diag)))
        ah_model_free(*out), *out = NULL;
    return st;
}

/* One counting pass over the source into sets s0 <= s < s1. */
static int count_sets(ah_model *m, int pass, ah_row_source *src,
                      size_t chunk, int against_plan, size_t *set_rows,
                      size_t s0, size_t s1, size_t *rows, ah_diag *diag)
{
    pass_buffers b;
    int st = buffers_init(&b, m->D_in, chunk, m->basis, diag);
    if (st != AH_OK)
        return st;
    pass_ctx c = {m, pass, against_plan, set_rows, s0, s1, b.sc};
    st = stream_rows(src, chunk, b.buf, b.lab, passn_chunk, &c, rows, diag);
    buffers_free(&b);
    return st;
}

int ah__fit_count(ah_model *m, int pass, ah_row_source *src, size_t chunk,
                  int against_plan, size_t *set_rows, size_t *rows,
                  ah_diag *diag)
{
    return count_sets(m, pass, src, chunk, against_plan, set_rows, 0,
                      m->nsets, rows, diag);
}

static int basis_chunk(void *ctx, const double *rows, const int64_t *labels,
                       size_t k, size_t first, ah_diag *diag)
{
    (void)first;
    return ah__basis_acc_add(ctx, rows, labels, k, diag);
}

/* The basis pass: every row's label scatter, then the components; the
 * source is rewound for the passes that follow. */
static int fit_basis(ah__basis **out, ah_row_source *src, size_t chunk,
                     const ah_fit_options *o, ah_diag *diag)
{
    *out = NULL;
    ah__basis_acc *acc = NULL;
    pass_buffers b;
    size_t rows = 0;
    int st = ah__basis_acc_new(&acc, src->cols, diag);
    if (st == AH_OK)
        st = buffers_init(&b, src->cols, chunk, NULL, diag);
    if (st != AH_OK) {
        ah__basis_acc_free(acc);
        return st;
    }
    st = stream_rows(src, chunk, b.buf, b.lab, basis_chunk, acc, &rows, diag);
    buffers_free(&b);
    if (st == AH_OK && rows == 0)
        st = ah__fail(diag, AH_ERR_EMPTY, -1, -1, "background has no rows");
    if (st == AH_OK)
        st = ah__basis_acc_finish(out, acc, (size_t)o->basis_components,
                                  diag);
    ah__basis_acc_free(acc);
    if (st == AH_OK)
        st = src->rewind(src->ctx, diag);
    if (st != AH_OK) {
        ah__basis_free(*out);
        *out = NULL;
    }
    return st;
}

/* The model's labels are the basis's: the same rows were read twice. */
static int basis_matches(const ah_model *m, const ah__basis *b,
                         ah_diag *diag)
{
    if (b->nsets == m->nsets &&
        (m->nsets == 1 ||
         memcmp(b->labels, m->labels, (m->nsets - 1) * sizeof *m->labels) ==
             0))
        return AH_OK;
    return ah__fail(diag, AH_ERR_IO, -1, -1,
                    "background changed between passes: %zu sets, then %zu",
                    b->nsets, m->nsets);
}

/* Pass 1 over the (transformed) rows, and the model with no set begun;
 * the caller frees f. */
static int fit_plan(ah_model **out, ah__fitter *f, ah_row_source *src,
                    size_t chunk, const ah_fit_options *opts,
                    ah__basis *basis, size_t *rows, ah_diag *diag)
{
    size_t D = basis ? ah__basis_width(basis) : src->cols;
    int st = ah__fitter_init(f, D, opts->method == AH_METHOD_HIST, diag);
    if (st != AH_OK)
        return st;
    f->cols = src->cols;
    f->basis = basis;
    st = ah__fit_pass1(f, src, chunk, rows, diag);
    if (st == AH_OK && *rows == 0)
        st = ah__fail(diag, AH_ERR_EMPTY, -1, -1, "background has no rows");
    if (st == AH_OK && *rows >= UINT32_MAX)
        st = ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                      "background of %zu rows exceeds 2^32-1", *rows);
    if (st == AH_OK)
        st = model_new(out, f, *rows, opts, diag);
    return st;
}

static size_t set_fit_bytes(const ah_model *m, size_t s)
{
    return m->ops->fit_bytes(m->D, m->sets[s].n, &m->opts);
}

/* The sets from s0 on whose fitting states fit in `target` bytes
 * together: the end of that group, at least one set past s0. */
static size_t group_end(const ah_model *m, size_t s0, size_t target)
{
    size_t used = 0, s = s0;
    for (; s < m->nsets; s++) {
        size_t b = set_fit_bytes(m, s);
        if (s > s0 && b > target - used)
            break;
        used += b < target - used ? b : target - used;
    }
    return s;
}

/* What a group may hold: the budget when every set fits in it; else as
 * many groups as the budget needs, evened out (the average plus the
 * largest set, so that greedy groups are no more), for a lower peak. */
static size_t group_target(const ah_model *m, size_t budget)
{
    size_t total = 0, largest = 0;
    for (size_t s = 0; s < m->nsets; s++) {
        size_t b = set_fit_bytes(m, s);
        total = b > SIZE_MAX - total ? SIZE_MAX : total + b;
        largest = b > largest ? b : largest;
    }
    if (total <= budget || total == SIZE_MAX)
        return budget;
    size_t groups = total / budget + (total % budget != 0);
    size_t even = total / groups + 1;
    return even < budget - largest ? even + largest : budget;
}

/* The counting passes, over one group of sets at a time (fit_memory_mb):
 * a model of many label sets need not hold every set's fine grids at
 * once.  Each set sees the same rows in the same order whatever the
 * groups, so the model is the same bits. */
static int fit_groups(ah_model *m, ah__fitter *f, ah_row_source *src,
                      size_t chunk, size_t rows, ah_diag *diag)
{
    size_t mb = m->opts.fit_memory_mb;
    size_t budget = !mb                   ? ah__machine_bytes() / 2
                    : mb > SIZE_MAX >> 20 ? SIZE_MAX
                                          : mb << 20;
    size_t target = m->ops->fit_bytes ? group_target(m, budget) : 0;
    int st = AH_OK;
    for (size_t s0 = 0, s1; st == AH_OK && s0 < m->nsets; s0 = s1) {
        s1 = m->ops->fit_bytes ? group_end(m, s0, target) : m->nsets;
        st = sets_begin(m, f, s0, s1, diag);
        /* The first-pass summaries are no longer needed once the last
         * group has begun: free them so that peak memory is not both. */
        if (s1 == m->nsets)
            ah__fitter_free(f);
        for (int pass = 1; st == AH_OK && pass <= m->ops->passes; pass++) {
            st = src->rewind(src->ctx, diag);
            size_t again = 0;
            if (st == AH_OK)
                st = count_sets(m, pass, src, chunk, 0, NULL, s0, s1, &again,
                                diag);
            if (st == AH_OK && again != rows)
                st = ah__fail(diag, AH_ERR_IO, -1, -1,
                              "background changed between passes (%zu "
                              "rows, then %zu)", rows, again);
            for (size_t s = s0; st == AH_OK && s < s1; s++)
                st = m->ops->end_pass(m->sets[s].rep, pass, diag);
        }
    }
    return st;
}

/* The options of a fit from the caller's: checked, defaults resolved. */
static int fit_options(ah_fit_options *opts, const ah_fit_options *in,
                       const ah_row_source *src, ah_diag *diag)
{
    if (in)
        *opts = *in;
    else
        ah_fit_options_default(opts);
    int st = ah__fit_options_check(opts, diag);
    if (st != AH_OK)
        return st;
    opts->tail = ah__tail_resolve(opts->tail, src->has_labels);
    opts->basis = ah__basis_resolve(opts->basis, src->has_labels, src->cols);
    if (src->cols == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1, "background has no nodes");
    return AH_OK;
}

int ah_model_fit_source(ah_model **out, ah_row_source *src,
                        const ah_fit_options *opts_in, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !src || !src->read || !src->rewind)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    ah_fit_options opts;
    int st = fit_options(&opts, opts_in, src, diag);
    if (st != AH_OK)
        return st;
    size_t chunk = opts.chunk_rows ? opts.chunk_rows : 1024, rows = 0;
    ah__basis *basis = NULL;
    if (opts.basis == AH_BASIS_PCA)
        st = fit_basis(&basis, src, chunk, &opts, diag);
    ah_model *m = NULL;
    ah__fitter f;
    memset(&f, 0, sizeof f);
    if (st == AH_OK)
        st = fit_plan(&m, &f, src, chunk, &opts, basis, &rows, diag);
    if (m) { /* the model owns the basis from here */
        m->basis = basis;
        basis = NULL;
        if (m->basis && st == AH_OK)
            st = basis_matches(m, m->basis, diag);
    }
    ah__basis_free(basis);
    if (st == AH_OK)
        st = fit_groups(m, &f, src, chunk, rows, diag);
    ah__fitter_free(&f);
    if (st != AH_OK) {
        ah_model_free(m);
        return st;
    }
    *out = m;
    return AH_OK;
}

/* Row source over an in-memory matrix. */
typedef struct mem_source {
    const double *x;
    size_t rows, cols, ld, pos;
    const int64_t *labels;
} mem_source;

static int mem_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    mem_source *s = ctx;
    (void)diag;
    size_t k = s->rows - s->pos;
    if (k > max_rows)
        k = max_rows;
    for (size_t i = 0; i < k; i++) {
        memcpy(rows + i * ld, s->x + (s->pos + i) * s->ld,
               s->cols * sizeof(double));
        if (s->labels)
            labels[i] = s->labels[s->pos + i];
    }
    s->pos += k;
    *got = k;
    return AH_OK;
}

static int mem_rewind(void *ctx, ah_diag *diag)
{
    (void)diag;
    ((mem_source *)ctx)->pos = 0;
    return AH_OK;
}

int ah_model_fit(ah_model **out, const double *x, size_t rows, size_t cols,
                 size_t ld, const int64_t *labels, const ah_fit_options *opts,
                 ah_diag *diag)
{
    if (!x && rows)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing data");
    if (ld < cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "row stride %zu is below the column count %zu", ld,
                        cols);
    mem_source ms = {x, rows, cols, ld, 0, labels};
    ah_row_source src = {&ms, cols, labels != NULL, mem_read, mem_rewind};
    return ah_model_fit_source(out, &src, opts, diag);
}
