/*
 * hist_fit.c - building the histogram nodes from a fit.
 *
 * Fitting streams the background twice.  Pass 1 (fit.c) gives each node's
 * range and heavy-hitter candidates; here pass 2 counts candidates exactly
 * and the other values into a fine grid split at the candidates.  Then
 * candidates below the atom share are merged into their bins and the final
 * edges are chosen among the fine edges: the equal-width grid itself, or
 * quantile, tail-refined or NumPy-'auto' edges read off a fine grid of
 * max(1024, 4 bins) bins.  Memory during the fit is O(D x fine bins),
 * whatever N is.  A set of n rows gets min(B, max(n / 2, min(2 n, 512)))
 * bins (ah__hist_effective_bins).
 */
#include "hist.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fine grid of node j: the grid edges merged with the candidates. */
static int node_begin(hnode *nd, double lo, double hi, const ah__mg *mg,
                      size_t grid, int round_f32)
{
    double c[CAND_MAX];
    uint32_t nc = 0;
    c[nc++] = lo;
    c[nc++] = hi;
    for (uint32_t i = 0; i < mg->used; i++)
        c[nc++] = mg->value[i];
    qsort(c, nc, sizeof *c, cmp_double);
    uint32_t k = 0;
    for (uint32_t i = 0; i < nc; i++)
        if (k == 0 || c[i] != c[k - 1])
            c[k++] = c[i];
    memcpy(nd->f->cand, c, k * sizeof *c);
    memset(nd->f->ccount, 0, sizeof nd->f->ccount);
    nd->f->ncand = k;
    if (lo == hi) {
        nd->f->nf = 0;
        return AH_OK;
    }
    size_t cap = grid + 1 + k;
    nd->f->fine = malloc(cap * sizeof *nd->f->fine);
    nd->f->fflag = malloc(cap);
    if (!nd->f->fine || !nd->f->fflag)
        return AH_ERR_NOMEM;
    /* merge the sorted grid with the sorted candidates */
    size_t gi = 0, ci = 0, m = 0;
    while (gi <= grid || ci < k) {
        double g = gi <= grid ? grid_edge(lo, hi, gi, grid) : INFINITY;
        /* float32 activations: float32 fine edges, so that chosen edges
         * can be stored in 4 bytes (rounding keeps them in [lo, hi]) */
        if (round_f32 && gi <= grid)
            g = (double)(float)g;
        double v = ci < k ? c[ci] : INFINITY;
        double e = g <= v ? g : v;
        uint8_t flag = g <= v ? FLAG_GRID : 0;
        if (g <= v)
            gi++;
        else
            ci++;
        if (m > 0 && nd->f->fine[m - 1] == e) {
            nd->f->fflag[m - 1] |= flag;
            continue;
        }
        nd->f->fine[m] = e;
        nd->f->fflag[m] = flag;
        m++;
    }
    nd->f->nf = (uint32_t)(m - 1);
    nd->f->fcount = calloc(nd->f->nf, sizeof *nd->f->fcount);
    nd->f->fcand = malloc(m);
    if (!nd->f->fcount || !nd->f->fcand)
        return AH_ERR_NOMEM;
    for (size_t i = 0, c2 = 0; i < m; i++) {
        while (c2 < k && c[c2] < nd->f->fine[i])
            c2++;
        nd->f->fcand[i] = (int8_t)(c2 < k && c[c2] == nd->f->fine[i] ? (int)c2 : -1);
    }
    return ah__hist_locator_build(&nd->f->floc, nd->f->fine, nd->f->nf, grid);
}

/* Fine bins of a node during the fit, for bins already capped by
 * ah__hist_effective_bins. */
static size_t fine_bins(int bins, int binning)
{
    if (binning == AH_BINNING_WIDTH && bins > 0)
        return (size_t)bins;
    size_t f = 1024;
    if (bins > 0 && (size_t)bins * 4 > f)
        f = (size_t)bins * 4;
    return f;
}

static size_t fine_grid_size(const hist *h)
{
    return fine_bins(h->bins, h->binning);
}

size_t ah__hist_fit_bytes(size_t D, size_t n, const ah_fit_options *o)
{
    /* per fine edge: the edge, its count, flag, candidate and grid map;
     * per node its candidates and pointers */
    size_t fine = fine_bins(ah__hist_effective_bins(o->bins, n), o->binning);
    size_t per = (fine + 1 + CAND_MAX) *
                 (sizeof(double) + 2 * sizeof(uint32_t) + 2) + sizeof(hfit);
    size_t bytes;
    return ah__mul_ok(per, D, &bytes) ? bytes : SIZE_MAX;
}

int ah__hist_begin(void **rep, size_t D, const ah__pass1 *p1,
                   const ah_fit_options *o, ah_diag *diag)
{
    hist *h = ah__hist_new(D, p1->n, o);
    if (!h)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    h->tab.compact = p1->compact;
    size_t grid = fine_grid_size(h);
    if (!(h->fit = calloc(D ? D : 1, sizeof *h->fit))) {
        ah__hist_free(h);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    for (size_t j = 0; j < D; j++)
        h->node[j].f = &h->fit[j];
    int explicit_edges = !(h->binning == AH_BINNING_WIDTH && h->bins > 0);
    for (size_t j = 0; j < D; j++) {
        double lo = p1->node[j].min, hi = p1->node[j].max;
        int f32 = explicit_edges && (double)(float)lo == lo &&
                  (double)(float)hi == hi;
        if (node_begin(&h->node[j], lo, hi, &p1->mg[j], grid, f32) != AH_OK) {
            ah__hist_free(h);
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                            "out of memory for the histogram of %zu nodes", D);
        }
    }
    *rep = h;
    return AH_OK;
}

/* Pass 2: every candidate is a fine edge, so after locating the fine bin
 * a value is a candidate only if it equals that bin's lower edge (or the
 * maximum, the last edge). */
void ah__hist_add_rows(void *rep, int pass, const double *const *rows,
                       size_t k)
{
    hist *h = rep;
    (void)pass;
    int changed = 0;
    for (size_t j = 0; j < h->D; j++) {
        hfit *f = &h->fit[j]; /* = node[j].f, without loading it */
        size_t nf = f->nf;
        if (nf == 0) { /* constant node */
            for (size_t i = 0; i < k; i++)
                if (rows[i][j] == f->cand[0])
                    f->ccount[0]++;
                else
                    changed = 1;
            continue;
        }
        const double *e = f->fine;
        const int8_t *fcand = f->fcand;
        uint32_t *fcount = f->fcount, *ccount = f->ccount;
        const locator *loc = &f->floc;
        double lo = e[0], hi = e[nf];
        for (size_t i = 0; i < k; i++) {
            double v = rows[i][j];
            if (!(v >= lo && v <= hi)) {
                changed = 1;
                continue;
            }
            if (v == hi) {
                ccount[f->ncand - 1]++; /* the maximum */
                continue;
            }
            size_t b = locator_find(loc, e, nf, v);
            if (v == e[b] && fcand[b] >= 0)
                ccount[fcand[b]]++;
            else
                fcount[b]++;
        }
    }
    h->changed |= changed;
}

/* Approximate q-quantile of the node's whole background (atoms as points,
 * values spread evenly in fine bins), for the Freedman-Diaconis width. */
static double node_quantile(const hnode *nd, size_t n, double q)
{
    double r = q * (double)(n - 1), cum = 0;
    size_t ci = 0;
    for (size_t b = 0; b <= nd->f->nf; b++) {
        while (ci < nd->f->ncand && nd->f->cand[ci] <= nd->f->fine[b]) {
            if (nd->f->cand[ci] == nd->f->fine[b] && nd->f->ccount[ci] > 0) {
                cum += nd->f->ccount[ci];
                if (cum > r)
                    return nd->f->cand[ci];
            }
            ci++;
        }
        if (b == nd->f->nf)
            break;
        double c = nd->f->fcount[b];
        if (c > 0 && cum + c > r)
            return nd->f->fine[b] + (nd->f->fine[b + 1] - nd->f->fine[b]) *
                                     ((r - cum + 0.5) / c);
        cum += c;
    }
    return nd->f->fine[nd->f->nf];
}

/* NumPy's 'auto' bin count: the larger of Sturges and Freedman-Diaconis
 * (Sturges alone when the interquartile range is zero). */
static size_t auto_bins(const hnode *nd, size_t n)
{
    double lo = nd->f->fine[0], hi = nd->f->fine[nd->f->nf];
    double ptp = hi - lo;
    double sturges = ptp / (log2((double)n) + 1.0);
    double iqr = node_quantile(nd, n, 0.75) - node_quantile(nd, n, 0.25);
    double fd = 2.0 * iqr * pow((double)n, -1.0 / 3.0);
    double bw = (fd > 0 && fd < sturges) ? fd : sturges;
    double b = bw > 0 ? ceil(ptp / bw) : 1;
    if (!(b >= 1))
        b = 1;
    if (b > nd->f->nf)
        b = nd->f->nf;
    return (size_t)b;
}

/*
 * Tail-refined edges: the p-values a scan acts on are the small ones, and a
 * bin costs a p-value error of its count / (N+1).  So each tail gets B/2
 * edges where the count beyond the edge crosses geometric levels from
 * N/2 down to 1: the relative error of small p-values stays bounded
 * instead of growing as p shrinks (as it does with quantile edges).
 * Atoms count as the points they are.
 */
static void keep_tail_edges(const hnode *nd, size_t n, size_t B,
                            uint8_t *keep)
{
    size_t nf = nd->f->nf, K = B / 2 > 0 ? B / 2 : 1;
    double *ge = malloc((nf + 1) * sizeof *ge); /* #values >= fine[i] */
    if (!ge)
        return; /* keep only the forced edges: coarser, still valid */
    double acc = 0;
    size_t c = nd->f->ncand;
    for (size_t i = nf + 1; i-- > 0;) {
        if (i < nf)
            acc += nd->f->fcount[i];
        while (c > 0 && nd->f->cand[c - 1] >= nd->f->fine[i]) {
            acc += nd->f->ccount[c - 1]; /* zero for demoted candidates */
            c--;
        }
        ge[i] = acc;
    }
    double total = ge[0], lo_level = 1.0 / ((double)n + 1.0);
    for (size_t k = 0; k < K; k++) {
        double u = K == 1 ? 0.5
                          : 0.5 * pow(lo_level / 0.5, (double)k / (double)(K - 1));
        double t = u * total;
        /* upper tail: the highest edge with at least t values at or above */
        size_t i = nf;
        while (i > 0 && ge[i] < t)
            i--;
        keep[i] = 1;
        /* lower tail: the lowest edge with at least t values below it */
        size_t m = 0;
        while (m < nf && total - ge[m] < t)
            m++;
        keep[m] = 1;
    }
    free(ge);
}

/* Mark in keep the fine edges that the binning rule keeps as final edges
 * (the first and last are kept already): one case per rule of enum
 * ah_binning, no default (-Wswitch names a rule without one). */
static void keep_edges(const hist *h, const hnode *nd, size_t n,
                       uint8_t *keep)
{
    switch ((enum ah_binning)h->binning) {
    case AH_BINNING_WIDTH:
        if (h->bins > 0) { /* the fine edges on the equal-width grid */
            for (uint32_t i = 0; i <= nd->f->nf; i++)
                if (nd->f->fflag[i] & FLAG_GRID)
                    keep[i] = 1;
        } else { /* auto: NumPy's bin count, equal width on fine edges */
            size_t B = auto_bins(nd, n);
            double lo = nd->f->fine[0], hi = nd->f->fine[nd->f->nf];
            for (size_t i = 1; i < B; i++) {
                double t = grid_edge(lo, hi, i, B);
                size_t k = ah__upper_bound(nd->f->fine, (size_t)nd->f->nf + 1, t);
                if (k > 0 && k <= nd->f->nf &&
                    (t - nd->f->fine[k - 1] <= nd->f->fine[k] - t || k == nd->f->nf))
                    k--;
                keep[k] = 1;
            }
        }
        return;
    case AH_BINNING_QUANTILE: {
        size_t B = h->bins > 0 ? (size_t)h->bins : auto_bins(nd, n);
        uint64_t total = 0, cum = 0;
        for (uint32_t b = 0; b < nd->f->nf; b++)
            total += nd->f->fcount[b];
        size_t q = 1;
        for (uint32_t i = 1; i < nd->f->nf && q < B; i++) {
            cum += nd->f->fcount[i - 1];
            if ((double)cum * (double)B >= (double)total * (double)q) {
                keep[i] = 1;
                while (q < B && (double)cum * (double)B >= (double)total * (double)q)
                    q++;
            }
        }
        return;
    }
    case AH_BINNING_TAILS:
        keep_tail_edges(nd, n, h->bins > 0 ? (size_t)h->bins : 256, keep);
        return;
    }
}

/* The smallest encoding of the node's counts, kept for saving. */
static void node_plan(hnode *nd)
{
    ah__counts_plan pl = ah__counts_plan_for(nd->count, nd->nb);
    nd->cenc = (uint8_t)pl.enc;
    nd->ck = (uint8_t)pl.k;
}

/* Choose the final edges among the fine edges and collapse the counts. */
static int node_finish(hist *h, hnode *nd)
{
    size_t n = h->n;
    double share = ceil(h->atom_share * (double)n);
    uint32_t thr = share > 2 ? (uint32_t)share : 2;
    if (nd->f->nf == 0) { /* constant node: its one value is an atom */
        if (ah__hist_node_alloc_final(nd, 0, 1) != AH_OK)
            return AH_ERR_NOMEM;
        nd->edges[0] = nd->f->cand[0];
        nd->atom[0] = nd->f->cand[0];
        nd->acount[0] = nd->f->ccount[0];
        ah__hist_node_derive(nd);
        node_plan(nd);
        return AH_OK;
    }
    uint8_t *keep = calloc((size_t)nd->f->nf + 1, 1);
    if (!keep)
        return AH_ERR_NOMEM;
    uint32_t na = 0;
    for (uint32_t c = 0; c < nd->f->ncand; c++) {
        long e = find_exact(nd->f->fine, (size_t)nd->f->nf + 1, nd->f->cand[c]);
        if (nd->f->ccount[c] >= thr) {
            keep[e] = 1;
            na++;
        } else if (nd->f->ccount[c] > 0) {
            /* not an atom: its values join the bin that starts at it */
            size_t bin = (size_t)e < nd->f->nf ? (size_t)e : nd->f->nf - 1u;
            nd->f->fcount[bin] += nd->f->ccount[c];
            nd->f->ccount[c] = 0;
        }
    }
    keep[0] = keep[nd->f->nf] = 1;
    keep_edges(h, nd, n, keep);
    uint32_t nb = 0;
    for (uint32_t i = 1; i <= nd->f->nf; i++)
        nb += keep[i];
    if (ah__hist_node_alloc_final(nd, nb, na) != AH_OK) {
        free(keep);
        return AH_ERR_NOMEM;
    }
    uint32_t b = 0;
    nd->edges[0] = nd->f->fine[0];
    uint64_t acc = 0;
    for (uint32_t i = 1; i <= nd->f->nf; i++) {
        acc += nd->f->fcount[i - 1];
        if (keep[i]) {
            nd->count[b] = (uint32_t)acc;
            nd->edges[++b] = nd->f->fine[i];
            acc = 0;
        }
    }
    uint32_t a = 0;
    for (uint32_t c = 0; c < nd->f->ncand; c++)
        if (nd->f->ccount[c] >= thr) {
            nd->atom[a] = nd->f->cand[c];
            nd->acount[a++] = nd->f->ccount[c];
        }
    free(keep);
    ah__hist_node_derive(nd);
    node_plan(nd);
    if (h->binning == AH_BINNING_WIDTH && h->bins > 0)
        return ah__hist_node_index(nd, (size_t)h->bins, &h->tab);
    return AH_OK;
}

int ah__hist_end_pass(void *rep, int pass, ah_diag *diag)
{
    hist *h = rep;
    (void)pass;
    if (h->changed)
        return ah__fail(diag, AH_ERR_IO, -1, -1,
                        "background changed between passes (a value outside "
                        "the range seen in the first pass)");
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        if (node_finish(h, nd) != AH_OK)
            return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    ah__hist_fit_free(h);
    h->payload = ah__hist_payload_measure(h);
    return AH_OK;
}
