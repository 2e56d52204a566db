/*
 * basis.c - the decorrelated basis (basis.h): per-label scatter, its
 * eigenvectors, the transform of a row, and the basis block of the model
 * file.
 *
 * Workload: fitting reads the background once more and spends d^2 / 2
 * multiply-adds per row (its label's scatter; the pooled scatter is
 * derived from the labels' exactly), then one O(d^3) eigendecomposition
 * per set; memory is d^2 doubles per label, which is why d is capped
 * (AH_BASIS_MAX_NODES).  Querying costs d r multiply-adds per row.
 */
#include "basis.h"

#include "bytes.h"
#include "symeig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Rows gathered per scatter update: each update then reads the d x d
 * scatter once for BLOCK rows instead of once per row. */
#define BLOCK 32
/* Scatter tiles of TILE x TILE doubles (32 KB) stay in cache while a
 * block's rows are added to them. */
#define TILE 64
/* As fit.c's: more labels than this are not classes. */
#define MAX_LABELS 4096
#define BLOCK_HEADER 32

size_t ah__basis_width(const ah__basis *b)
{
    return b->d + b->r + (size_t)b->resid;
}

size_t ah__basis_set_for(const ah__basis *b, int64_t label)
{
    size_t lo = 0, hi = b->nsets - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->labels[mid] < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->nsets - 1 && b->labels[lo] == label ? lo + 1 : 0;
}

/* z[k] += c * v[k] for k < r: two lanes at a time where SSE2 is there,
 * each lane the same multiply and add as the scalar loop (no fused
 * multiply-add), so every path gives the same bits. */
static void axpy_f32(double *z, double c, const float *v, size_t r)
{
    size_t k = 0;
#if defined(__SSE2__)
    __m128d cc = _mm_set1_pd(c);
    for (; k + 2 <= r; k += 2) {
        double two; /* the two floats as 8 bytes, whatever their alignment */
        memcpy(&two, v + k, sizeof two);
        __m128 v2 = _mm_castpd_ps(_mm_load_sd(&two));
        __m128d p = _mm_mul_pd(cc, _mm_cvtps_pd(v2));
        _mm_storeu_pd(z + k, _mm_add_pd(_mm_loadu_pd(z + k), p));
    }
#endif
    for (; k < r; k++)
        z[k] += c * (double)v[k];
}

void ah__basis_apply(const ah__basis *b, size_t s, const double *x,
                     double *out)
{
    size_t d = b->d, r = b->r;
    const double *mu = b->mu + s * d;
    const float *v = b->v + s * d * r;
    double *z = out + d, norm2 = 0;
    memcpy(out, x, d * sizeof *out);
    memset(z, 0, r * sizeof *z);
    for (size_t i = 0; i < d; i++) {
        double c = x[i] - mu[i];
        norm2 += c * c;
        axpy_f32(z, c, v + i * r, r);
    }
    if (b->resid) { /* |x - mu|^2 - |z|^2: V's columns are orthonormal */
        double z2 = 0;
        for (size_t k = 0; k < r; k++)
            z2 += z[k] * z[k];
        z[r] = sqrt(fmax(0.0, norm2 - z2));
    }
}

void ah__basis_free(ah__basis *b)
{
    if (!b)
        return;
    free(b->labels);
    free(b->mu);
    free(b->v);
    free(b);
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Bytes of one set in the block: its mean, then its components. */
static size_t set_bytes(size_t d, size_t r)
{
    return 8 * d + pad8(4 * d * r);
}

size_t ah__basis_file_bytes(const ah__basis *b)
{
    return BLOCK_HEADER + b->nsets * set_bytes(b->d, b->r);
}

void ah__basis_write(const ah__basis *b, unsigned char *p)
{
    size_t d = b->d, r = b->r, total = ah__basis_file_bytes(b);
    memset(p, 0, total);
    ah__put_u32(p, AH_BASIS_PCA);
    ah__put_u32(p + 4, (uint32_t)b->resid);
    ah__put_u64(p + 8, d);
    ah__put_u64(p + 16, r);
    ah__put_u64(p + 24, total);
    unsigned char *q = p + BLOCK_HEADER;
    for (size_t s = 0; s < b->nsets; s++) {
        for (size_t i = 0; i < d; i++)
            ah__put_f64(q + 8 * i, b->mu[s * d + i]);
        q += 8 * d;
        const float *v = b->v + s * d * r;
        for (size_t i = 0; i < d * r; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            ah__put_u32(q + 4 * i, u);
        }
        q += pad8(4 * d * r);
    }
}

static ah__basis *basis_alloc(size_t d, size_t r, size_t nsets)
{
    ah__basis *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->d = d;
    b->r = r;
    b->resid = r < d;
    b->nsets = nsets;
    b->labels = malloc((nsets > 1 ? nsets - 1 : 1) * sizeof *b->labels);
    b->mu = malloc(nsets * d * sizeof *b->mu);
    b->v = malloc(nsets * d * r * sizeof *b->v);
    if (!b->labels || !b->mu || !b->v) {
        ah__basis_free(b);
        return NULL;
    }
    return b;
}

/* The block's header against its ranges and the model's. */
static int read_header(const unsigned char *p, size_t len, size_t nsets,
                       size_t width, const char *name, size_t *d_out,
                       size_t *r_out, int *resid_out, ah_diag *diag)
{
    if (len < BLOCK_HEADER)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis block of %zu bytes, below its %d-byte "
                        "header", name, len, BLOCK_HEADER);
    uint32_t kind = ah__get_u32(p), flags = ah__get_u32(p + 4);
    uint64_t d = ah__get_u64(p + 8), r = ah__get_u64(p + 16),
             total = ah__get_u64(p + 24);
    if (kind != AH_BASIS_PCA)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis kind %u, not 1 (pca)", name, kind);
    if (flags > 1)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis flags %u, not 0 or 1 (residual node)",
                        name, flags);
    if (d == 0 || d > AH_BASIS_MAX_NODES)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis of %llu input nodes, not 1 to %d", name,
                        (unsigned long long)d, AH_BASIS_MAX_NODES);
    if (r == 0 || r > d)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis of %llu components, not 1 to its %llu "
                        "input nodes", name, (unsigned long long)r,
                        (unsigned long long)d);
    if (flags != (r < d))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis residual flag %u with %llu of %llu "
                        "components (a residual node exactly when fewer "
                        "than all)", name, flags, (unsigned long long)r,
                        (unsigned long long)d);
    if (d + r + flags != width)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: a basis of %llu nodes and %llu components "
                        "makes %llu scanned nodes, the header says %zu",
                        name, (unsigned long long)d, (unsigned long long)r,
                        (unsigned long long)(d + r + flags), width);
    size_t need = 0;
    if (!ah__mul_ok(nsets, set_bytes((size_t)d, (size_t)r), &need) ||
        need > SIZE_MAX - BLOCK_HEADER || need + BLOCK_HEADER != total ||
        total != len)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: basis block of %zu bytes (its header says "
                        "%llu); %zu sets of %llu x %llu take %zu", name,
                        len, (unsigned long long)total, nsets,
                        (unsigned long long)d, (unsigned long long)r,
                        need + BLOCK_HEADER);
    *d_out = (size_t)d;
    *r_out = (size_t)r;
    *resid_out = (int)flags;
    return AH_OK;
}

/* One set's mean and components: finite, entries of unit vectors, zero
 * padding. */
static int read_set(ah__basis *b, size_t s, const unsigned char *q,
                    const char *name, ah_diag *diag)
{
    size_t d = b->d, r = b->r;
    for (size_t i = 0; i < d; i++) {
        double m = ah__get_f64(q + 8 * i);
        if (!isfinite(m))
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)i,
                            "%s: basis set %zu: mean of node %zu is %g",
                            name, s, i, m);
        b->mu[s * d + i] = m;
    }
    q += 8 * d;
    float *v = b->v + s * d * r;
    for (size_t i = 0; i < d * r; i++) {
        uint32_t u = ah__get_u32(q + 4 * i);
        memcpy(&v[i], &u, 4);
        if (!(fabsf(v[i]) <= 1.0f))
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)(i / r),
                            "%s: basis set %zu: component %zu, node %zu is "
                            "%g, not in [-1, 1]", name, s, i % r, i / r,
                            (double)v[i]);
    }
    for (size_t i = 4 * d * r; i < pad8(4 * d * r); i++)
        if (q[i] != 0)
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: basis set %zu: padding byte is %u, not 0",
                            name, s, q[i]);
    return AH_OK;
}

int ah__basis_read(ah__basis **out, const unsigned char *p, size_t len,
                   size_t nsets, size_t width, const int64_t *labels,
                   const char *name, ah_diag *diag)
{
    *out = NULL;
    size_t d = 0, r = 0;
    int resid = 0;
    int st = read_header(p, len, nsets, width, name, &d, &r, &resid, diag);
    if (st != AH_OK)
        return st;
    ah__basis *b = basis_alloc(d, r, nsets);
    if (!b)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (b->resid != resid) { /* read_header checked it: unreachable */
        ah__basis_free(b);
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1, "%s: basis flags", name);
    }
    if (nsets > 1)
        memcpy(b->labels, labels, (nsets - 1) * sizeof *b->labels);
    const unsigned char *q = p + BLOCK_HEADER;
    for (size_t s = 0; s < nsets && st == AH_OK; s++) {
        st = read_set(b, s, q, name, diag);
        q += set_bytes(d, r);
    }
    if (st != AH_OK) {
        ah__basis_free(b);
        return st;
    }
    *out = b;
    return AH_OK;
}

/* ---- fitting ------------------------------------------------------------ */

typedef struct group {
    int64_t label;
    size_t n;
    double *shift; /* the group's first row: sums about it lose no digits */
    double *s1;    /* sum of (x - shift)                                  */
    double *s2;    /* sum of (x - shift)(x - shift)^T, upper triangle     */
    double *pend;  /* up to BLOCK rows (x - shift) not yet in s2          */
    size_t npend;
} group;

struct ah__basis_acc {
    size_t d;
    int labelled; /* -1 until the first chunk says                        */
    group *g;     /* increasing label                                     */
    size_t ng, cap;
};

int ah__basis_acc_new(ah__basis_acc **out, size_t d, ah_diag *diag)
{
    *out = NULL;
    if (d == 0 || d > AH_BASIS_MAX_NODES)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "basis pca: rows of %zu nodes, above its limit of "
                        "%d (a covariance of D^2 doubles per label and an "
                        "O(D^3) eigendecomposition): fit without a basis, "
                        "or on a smaller layer", d, AH_BASIS_MAX_NODES);
    ah__basis_acc *a = calloc(1, sizeof *a);
    if (!a)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    a->d = d;
    a->labelled = -1;
    *out = a;
    return AH_OK;
}

static void group_free(group *g)
{
    free(g->shift);
    free(g->s1);
    free(g->s2);
    free(g->pend);
}

void ah__basis_acc_free(ah__basis_acc *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->ng; i++)
        group_free(&a->g[i]);
    free(a->g);
    free(a);
}

/* Make room for one more group, checking the memory all of them take. */
static int groups_grow(ah__basis_acc *a, ah_diag *diag)
{
    size_t d = a->d, per = (d * d + (BLOCK + 2) * d) * sizeof(double),
           need, have;
    if (a->ng >= MAX_LABELS)
        return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                        "more than %d distinct labels: labels must be "
                        "integer classes, one per background row",
                        MAX_LABELS);
    if (!ah__mul_ok(a->ng + 1, per, &need) ||
        !ah__memory_allows(need, &have))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "basis pca: %zu labels of %zu nodes need %.3g GB "
                        "of scatter, more than the %.3g GB this process "
                        "may use", a->ng + 1, d,
                        (double)(a->ng + 1) * (double)per / 1e9,
                        (double)have / 1e9);
    if (a->ng < a->cap)
        return AH_OK;
    size_t cap = a->cap ? 2 * a->cap : 16;
    group *g = realloc(a->g, cap * sizeof *g);
    if (!g)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    a->g = g;
    a->cap = cap;
    return AH_OK;
}

/* The group of a label, created (in label order) when new. */
static int group_for(ah__basis_acc *a, int64_t label, group **out,
                     ah_diag *diag)
{
    size_t lo = 0, hi = a->ng;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->g[mid].label < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->ng && a->g[lo].label == label) {
        *out = &a->g[lo];
        return AH_OK;
    }
    int st = groups_grow(a, diag);
    if (st != AH_OK)
        return st;
    group g = {label, 0, NULL, NULL, NULL, NULL, 0};
    size_t d = a->d;
    g.shift = malloc(d * sizeof *g.shift);
    g.s1 = calloc(d, sizeof *g.s1);
    g.s2 = calloc(d * d, sizeof *g.s2);
    g.pend = malloc(BLOCK * d * sizeof *g.pend);
    if (!g.shift || !g.s1 || !g.s2 || !g.pend) {
        group_free(&g);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    memmove(&a->g[lo + 1], &a->g[lo], (a->ng - lo) * sizeof *a->g);
    a->g[lo] = g;
    a->ng++;
    *out = &a->g[lo];
    return AH_OK;
}

/* s2 += the pending rows' outer products, tile by tile of s2's upper
 * triangle. */
static void group_flush(group *g, size_t d)
{
    for (size_t i0 = 0; i0 < d; i0 += TILE) {
        size_t i1 = i0 + TILE < d ? i0 + TILE : d;
        for (size_t j0 = i0; j0 < d; j0 += TILE) {
            size_t j1 = j0 + TILE < d ? j0 + TILE : d;
            for (size_t k = 0; k < g->npend; k++) {
                const double *c = g->pend + k * d;
                for (size_t i = i0; i < i1; i++) {
                    double ci = c[i], *row = g->s2 + i * d;
                    for (size_t j = j0 > i ? j0 : i; j < j1; j++)
                        row[j] += ci * c[j];
                }
            }
        }
    }
    g->npend = 0;
}

static void group_add(group *g, const double *x, size_t d)
{
    if (g->n == 0)
        memcpy(g->shift, x, d * sizeof *x);
    double *c = g->pend + g->npend * d;
    for (size_t j = 0; j < d; j++) {
        c[j] = x[j] - g->shift[j];
        g->s1[j] += c[j];
    }
    g->n++;
    if (++g->npend == BLOCK)
        group_flush(g, d);
}

int ah__basis_acc_add(ah__basis_acc *a, const double *rows,
                      const int64_t *labels, size_t k, ah_diag *diag)
{
    if (k && a->labelled < 0)
        a->labelled = labels != NULL;
    for (size_t i = 0; i < k; i++) {
        group *g = NULL;
        int st = group_for(a, labels ? labels[i] : 0, &g, diag);
        if (st != AH_OK)
            return st;
        group_add(g, rows + i * a->d, a->d);
    }
    return AH_OK;
}

/* The group's mean into mu, and its scatter about that mean into s2. */
static void group_centre(group *g, size_t d, double *mu)
{
    group_flush(g, d);
    double n = (double)g->n;
    for (size_t i = 0; i < d; i++)
        mu[i] = g->shift[i] + g->s1[i] / n;
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++)
            g->s2[i * d + j] -= g->s1[i] * g->s1[j] / n;
}

/* The pooled set: its mean, and its scatter into a (upper triangle): the
 * labels' scatters plus that of their means, exactly the scatter of all
 * rows about the pooled mean. */
static void pooled_scatter(const ah__basis_acc *acc, const double *mu_g,
                           double *mu, double *a)
{
    size_t d = acc->d;
    double n = 0;
    memset(mu, 0, d * sizeof *mu);
    memset(a, 0, d * d * sizeof *a);
    for (size_t g = 0; g < acc->ng; g++) {
        n += (double)acc->g[g].n;
        for (size_t i = 0; i < d; i++)
            mu[i] += (double)acc->g[g].n * mu_g[g * d + i];
    }
    for (size_t i = 0; i < d; i++)
        mu[i] /= n;
    for (size_t g = 0; g < acc->ng; g++) {
        const double *s2 = acc->g[g].s2, *m = mu_g + g * d;
        double ng = (double)acc->g[g].n;
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++)
                a[i * d + j] += s2[i * d + j] +
                                ng * (m[i] - mu[i]) * (m[j] - mu[j]);
    }
}

/* Set s's r leading eigenvectors of the scatter a (destroyed). */
static int set_components(ah__basis *b, size_t s, double *a, double *w,
                          double *vt, ah_diag *diag)
{
    size_t d = b->d, r = b->r;
    int st = ah__symeig(a, d, w, vt);
    if (st == -2)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    if (st != 0)
        return ah__fail(diag, AH_ERR_VALUE, -1, -1,
                        "basis pca: the eigendecomposition of set %zu "
                        "did not converge in %d iterations", s,
                        AH__SYMEIG_MAX_ITER);
    for (size_t i = 0; i < d; i++)
        for (size_t k = 0; k < r; k++)
            b->v[(s * d + i) * r + k] = (float)vt[k * d + i];
    return AH_OK;
}

int ah__basis_acc_finish(ah__basis **out, ah__basis_acc *a, size_t r,
                         ah_diag *diag)
{
    *out = NULL;
    size_t d = a->d, nsets = a->labelled > 0 ? 1 + a->ng : 1;
    if (a->ng == 0)
        return ah__fail(diag, AH_ERR_EMPTY, -1, -1,
                        "background has no rows");
    ah__basis *b = basis_alloc(d, r < d ? r : d, nsets);
    double *m = malloc(d * d * sizeof *m), *vt = malloc(d * d * sizeof *vt),
           *w = malloc(d * sizeof *w);
    int st = AH_OK;
    if (!b || !m || !vt || !w)
        st = ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    /* label g's mean goes to set g + 1 (set 0 when there are no labels) */
    double *mu_g = b ? b->mu + (nsets - a->ng) * d : NULL;
    for (size_t g = 0; st == AH_OK && g < a->ng; g++) {
        group_centre(&a->g[g], d, mu_g + g * d);
        if (nsets > 1)
            b->labels[g] = a->g[g].label;
    }
    if (st == AH_OK && nsets > 1) {
        pooled_scatter(a, mu_g, b->mu, m);
        st = set_components(b, 0, m, w, vt, diag);
    }
    for (size_t g = 0; st == AH_OK && g < a->ng; g++)
        st = set_components(b, nsets - a->ng + g, a->g[g].s2, w, vt, diag);
    free(m);
    free(vt);
    free(w);
    if (st != AH_OK) {
        ah__basis_free(b);
        return st;
    }
    *out = b;
    return AH_OK;
}
