/*
 * hist.c - per-node histograms with exact atoms (the default representation).
 *
 * A node keeps edges e_0 < ... < e_B, the count of non-atom background
 * values in each bin [e_{k-1}, e_k) (the last bin closed), and its atoms:
 * values taken exactly by at least atom_share of the background, with their
 * counts.  Every atom is also an edge, so the bins never straddle one and
 * p-values at an atom are exact.  For x inside bin k the reported range
 *   p_min = above_k / (N+1),  p_max = (above_k + count_k + 1) / (N+1)
 * (above_k: every value in cells above bin k) contains the exact range.
 *
 * Fitting streams the background twice.  Pass 1 (fit.c) gives each node's
 * range and heavy-hitter candidates; here pass 2 counts candidates exactly
 * and the other values into a fine grid split at the candidates.  Then
 * candidates below the atom share are merged into their bins and the final
 * edges are chosen among the fine edges: the equal-width grid itself, or
 * quantile, tail-refined or NumPy-'auto' edges read off a fine grid of
 * max(1024, 4 bins) bins.  Memory during the fit is O(D x fine bins),
 * whatever N is.  A set gets at most one bin per 2 of its values.
 *
 * Queries: an equal-width node finds its bin by arithmetic, corrected by
 * comparing with the edges (so rounding never changes an answer), with the
 * vector kernels of grid_count.c for runs of values; when its atoms are
 * only at its ends it keeps no edges at all (they are recomputed by the
 * same function), 6 or 8 bytes a bin in memory (counts, and cumulative
 * counts in 2 bytes when every count fits).  Other nodes use binary
 * search.  Cost per value: O(1), or O(log bins).
 */
#include "bytes.h"
#include "counts_codec.h"
#include "grid_count.h"
#include "model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define CAND_MAX (AH__MG_SLOTS + 2)
#define FLAG_GRID 1u

/*
 * Search in edges that are an equal-width grid of B bins merged with a few
 * extra points: guess the grid bin by arithmetic, start from the first edge
 * at or above that grid edge (gmap), and correct by comparing with the
 * stored edges.  The arithmetic only decides the speed, never the answer.
 * B = 0 means plain binary search.
 */
typedef struct locator {
    double lo, scale;
    uint32_t B;
    uint32_t *gmap;
} locator;

typedef struct hnode {
    /* Fitting state, freed when the fit ends. */
    double *fine;     /* nf + 1 fine edges */
    uint32_t *fcount; /* nf */
    uint8_t *fflag;   /* nf + 1: FLAG_GRID for equal-width grid edges */
    int8_t *fcand;    /* nf + 1: index of the candidate at that edge, or -1 */
    locator floc;     /* O(1) search of the fine edges */
    uint32_t nf, ncand;
    double cand[CAND_MAX];
    uint32_t ccount[CAND_MAX];
    /* The model: one allocation `mem` holds every array below. */
    void *mem;
    uint32_t nb, na;
    double *edges;    /* nb + 1 */
    double *atom;     /* na, increasing, each equal to an edge */
    uint32_t *count;  /* nb: non-atom values in the bin */
    uint32_t *above;  /* nb: values in cells above the bin (derived) */
    uint32_t *acount; /* na */
    uint32_t *aabove; /* na: values strictly above the atom (derived) */
    ah__counts_plan cplan; /* count's encoding in the file (enc and k):
                              the smallest when fitted, as read when
                              loaded; the search for the smallest is the
                              costly part of saving, so it is done once */
    locator loc;      /* O(1) search of the edges for grid nodes */
    /* Grid nodes answer from grid (grid_count.h): an implicit grid
     * (edges == NULL) has exactly the edges of gB equal-width bins over
     * [lo, hi] (atoms only at its ends), computed when needed, and reads
     * only its gB + 5 cumulative counts cum, 2 or 4 bytes a bin; above and
     * aabove are NULL.  A grid node with atoms inside (edges kept) has a
     * pair table: for each cell {#{b >= x}, #{b > x}}, or {0, UINT32_MAX}
     * when an atom splits that grid bin (the exact path answers). */
    ah__grid grid;    /* grid.table: cum (stride 1) or the pair table
                         (stride 2), in the set's chunks (table_alloc),
                         2-byte entries when grid.narrow; else NULL */
} hnode;

/* The nodes' query tables, side by side in large chunks (table_alloc). */
typedef struct tables {
    unsigned char **chunk;
    size_t nchunks, cap, used, size; /* used of the last chunk's size */
} tables;

typedef struct hist {
    tables tab;
    size_t D, n;
    int changed;      /* pass 2 saw a value outside the pass-1 range */
    int bins, binning;
    double atom_share;
    hnode *node;
    /* Each node's grid again, side by side (64 bytes a node, where a node
     * is several hundred): one input's lookups walk every node, and this
     * is what they read of it.  Set when the model is complete. */
    ah__grid *grids;
} hist;

/* Index of x in a[0..n) or -1. */
static long find_exact(const double *a, size_t n, double x)
{
    size_t k = ah__upper_bound(a, n, x);
    return (k > 0 && a[k - 1] == x) ? (long)(k - 1) : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Equal-width edge i of B over [lo, hi]; written so that hi - lo may
 * exceed the double range without overflow, monotone in i. */
static double grid_edge(double lo, double hi, size_t i, size_t B)
{
    if (i == 0)
        return lo;
    if (i >= B)
        return hi;
    double w = hi * 0.5 - lo * 0.5;
    double e = lo + w * (2.0 * (double)i / (double)B);
    return e > hi ? hi : e;
}

/* Prepare L for edges e[0..nb] (nb >= 1) that contain the equal-width
 * grid of B bins over [e[0], e[nb]]; B = 0 or a degenerate range leaves
 * L as plain binary search. */
static int locator_build(locator *L, const double *e, size_t nb, size_t B)
{
    free(L->gmap);
    memset(L, 0, sizeof *L);
    if (B == 0 || nb == 0)
        return AH_OK;
    double lo = e[0], hi = e[nb], scale = (double)B / (hi - lo);
    if (!isfinite(scale) || !(scale > 0) || B > UINT32_MAX)
        return AH_OK;
    L->gmap = malloc(B * sizeof *L->gmap);
    if (!L->gmap)
        return AH_ERR_NOMEM;
    /* grid edges increase with g: one walk along e (c = #{e <= edge}) */
    for (size_t g = 0, c = 0; g < B; g++) {
        double t = grid_edge(lo, hi, g, B);
        while (c <= nb && e[c] <= t)
            c++;
        size_t k = c == 0 ? 0 : c - 1;
        L->gmap[g] = (uint32_t)(k < nb ? k : nb - 1);
    }
    L->lo = lo;
    L->scale = scale;
    L->B = (uint32_t)B;
    return AH_OK;
}

/* The bin k of e[0..nb] holding x: e[k] <= x < e[k+1], or k = nb - 1 for
 * x = e[nb].  Requires nb >= 1 and e[0] <= x <= e[nb]. */
static inline size_t locator_find(const locator *L, const double *e,
                                  size_t nb, double x)
{
    size_t k;
    if (L->B) {
        double f = (x - L->lo) * L->scale;
        size_t g = f < (double)L->B ? (size_t)f : L->B - 1u;
        k = L->gmap[g];
        while (k + 1 < nb && x >= e[k + 1])
            k++;
        while (k > 0 && x < e[k])
            k--;
        return k;
    }
    k = ah__upper_bound(e, nb + 1, x);
    k = k == 0 ? 0 : k - 1;
    return k < nb ? k : nb - 1;
}

static int node_alloc_final(hnode *h, uint32_t nb, uint32_t na)
{
    size_t nd = (size_t)nb + 1 + na, nu = 2 * (size_t)nb + 2 * (size_t)na;
    h->mem = malloc(nd * sizeof(double) + nu * sizeof(uint32_t) + 1);
    if (!h->mem)
        return AH_ERR_NOMEM;
    h->nb = nb;
    h->na = na;
    h->edges = h->mem;
    h->atom = h->edges + nb + 1;
    h->count = (uint32_t *)(h->atom + na);
    h->above = h->count + nb;
    h->acount = h->above + nb;
    h->aabove = h->acount + na;
    return AH_OK;
}

/* above[] and aabove[] from counts: a single sweep from the top. */
static void node_derive(hnode *h)
{
    uint64_t acc = 0;
    long a = (long)h->na - 1;
    for (long k = (long)h->nb - 1; k >= -1; k--) {
        /* atoms at or above edge k+1 are above bin k */
        double e = h->edges[k + 1];
        while (a >= 0 && h->atom[a] >= e) {
            h->aabove[a] = (uint32_t)acc;
            acc += h->acount[a];
            a--;
        }
        if (k >= 0) {
            h->above[k] = (uint32_t)acc;
            acc += h->count[k];
        }
    }
    while (a >= 0) { /* cannot happen for valid models: atoms lie in range */
        h->aabove[a] = (uint32_t)acc;
        acc += h->acount[a];
        a--;
    }
}

static int node_is_grid(const hnode *nd, size_t B);

/*
 * Rounding margin of grid_cell in bins: f = (x - lo) * scale is within
 * 4.01u B of x's true position on the grid (u = 2^-53, f <= B), and each
 * computed grid_edge within 3.01u B + u M scale of its true position
 * (M = max |lo|, |hi|); subnormal steps add a few 2^-1074 scale.  A
 * fractional part farther than the sum from 0 and 1 decides the bin
 * exactly; 8 eps (= 16u) per term leaves a factor of two to spare.  A
 * margin of a quarter bin or more means the arithmetic is useless, and
 * 0.5 makes every query take the exact path.
 */
static double grid_guard(double lo, double hi, size_t B, double scale)
{
    double M = fmax(fabs(lo), fabs(hi));
    double g = 8.0 * DBL_EPSILON * ((double)B + M * scale) +
               8.0 * 0x1p-1074 * scale;
    return isfinite(g) && g < 0.25 ? g : 0.5;
}

/* What grid_cell needs: the grid of B bins over [lo, hi], whether an
 * atom sits at either end (its own cell), and the table (stride 1: the
 * cumulative counts; 2: the pair table). */
static void grid_set(hnode *nd, double lo, double hi, size_t B, double scale,
                     int atom_lo, int atom_hi, const void *table,
                     uint32_t stride)
{
    ah__grid *g = &nd->grid;
    g->lo = lo;
    g->hi = hi;
    g->scale = scale;
    g->guard = grid_guard(lo, hi, B, scale);
    g->B = (uint32_t)B;
    g->clo = atom_lo ? 1u : 2u;
    g->chi = atom_hi ? (uint32_t)B + 2u : (uint32_t)B + 1u;
    g->table = table;
    g->stride = stride;
}

/* Tables of a node whose counts all fit take 2 bytes an entry, half the
 * memory a batch of queries reads; 65535 stays free for the dirty mark. */
static int narrow_ok(uint64_t total)
{
    return total < UINT16_MAX;
}

static void table_put(void *t, int narrow, size_t i, uint32_t v)
{
    if (narrow)
        ((uint16_t *)t)[i] = (uint16_t)(v > UINT16_MAX ? UINT16_MAX : v);
    else
        ((uint32_t *)t)[i] = v;
}

/*
 * Room for a node's query table, at a cache line, in the set's chunks
 * (64 KB, doubling up to 4 MB, or one of a table's own size when larger),
 * so the tables of consecutive nodes lie side by side: a batch walks one
 * region instead of thousands of small allocations (fewer TLB misses, and
 * the next node's table follows this one's), and the 4 MB chunks are
 * offered huge pages (a hint; Linux may decline).  On bench/'s 4096 x
 * 50000 hist:3072 model: batch 1 about 8% faster, batch 1000 about 5%
 * (docs/PERFORMANCE.md).  Tables are built in place, so loading does not
 * peak at twice their size.  The chunks are freed with the set.
 */
#define TABLE_CHUNK ((size_t)4 << 20)

static void *table_alloc(tables *t, size_t bytes)
{
    const size_t line = 64;
    bytes = (bytes + line - 1) & ~(line - 1);
    if (t->nchunks == 0 || t->used + bytes > t->size) {
        size_t size = t->nchunks ? 2 * t->size : (size_t)64 << 10;
        size = size < TABLE_CHUNK ? size : TABLE_CHUNK;
        size = bytes > size ? bytes : size;
        int huge = size >= TABLE_CHUNK;
        size_t align = huge ? (size_t)2 << 20 : line;
        void *c = NULL;
        if (t->nchunks == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 16;
            unsigned char **grown = realloc(t->chunk, cap * sizeof *grown);
            if (!grown)
                return NULL;
            t->chunk = grown;
            t->cap = cap;
        }
        if (posix_memalign(&c, align, size) != 0)
            return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (huge)
            (void)madvise(c, size, MADV_HUGEPAGE);
#endif
        t->chunk[t->nchunks++] = c;
        t->size = size;
        t->used = 0;
    }
    void *p = t->chunk[t->nchunks - 1] + t->used;
    t->used += bytes;
    return p;
}

static void tables_free(tables *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        free(t->chunk[i]);
    free(t->chunk);
}

/* The pair table of a grid node whose atoms are not all at its ends (see
 * hnode.grid); edges, above and count are already set. */
static int node_pairs(hnode *nd, size_t B, double scale, tables *tab)
{
    double lo = nd->edges[0], hi = nd->edges[nd->nb];
    uint32_t *P = malloc((B + 4) * 2 * sizeof *P);
    if (!P)
        return AH_ERR_NOMEM;
    uint32_t total = 0, na = nd->na;
    for (uint32_t a = 0; a < na; a++)
        total += nd->acount[a];
    for (uint32_t k = 0; k < nd->nb; k++)
        total += nd->count[k];
    for (size_t c = 0; c < B + 4; c++) {
        P[2 * c] = 0; /* dirty unless set below */
        P[2 * c + 1] = UINT32_MAX;
    }
    P[0] = P[1] = total;
    P[2 * (B + 3)] = P[2 * (B + 3) + 1] = 0;
    if (na && nd->atom[0] == lo) {
        P[2] = nd->aabove[0] + nd->acount[0];
        P[3] = nd->aabove[0];
    }
    if (na && nd->atom[na - 1] == hi) {
        P[2 * (B + 2)] = nd->aabove[na - 1] + nd->acount[na - 1];
        P[2 * (B + 2) + 1] = nd->aabove[na - 1];
    }
    /* grid bin g is clean when it is exactly one stored bin k */
    size_t k = 0;
    for (size_t g = 0; g < B; g++) {
        double e0 = grid_edge(lo, hi, g, B), e1 = grid_edge(lo, hi, g + 1, B);
        while (k < nd->nb && nd->edges[k] < e0)
            k++;
        if (k < nd->nb && nd->edges[k] == e0 && nd->edges[k + 1] == e1) {
            P[2 * (2 + g)] = nd->above[k] + nd->count[k];
            P[2 * (2 + g) + 1] = nd->above[k];
        }
    }
    nd->grid.narrow = narrow_ok(total);
    void *T = table_alloc(tab, (B + 4) * 2 * (nd->grid.narrow ? 2 : 4));
    if (T)
        for (size_t c = 0; c < 2 * (B + 4); c++)
            table_put(T, nd->grid.narrow, c, P[c]);
    free(P);
    if (!T)
        return AH_ERR_NOMEM;
    grid_set(nd, lo, hi, B, scale, na && nd->atom[0] == lo,
             na && nd->atom[na - 1] == hi, T, 2);
    return AH_OK;
}

/* Use the O(1) lookup when the node is the grid of B bins merged with its
 * atoms (the equal-width binning). */
static int atoms_at_ends(const hnode *nd, double lo, double hi)
{
    int ends_only = 1;
    for (uint32_t a = 0; a < nd->na; a++)
        ends_only &= nd->atom[a] == lo || nd->atom[a] == hi;
    return ends_only;
}

static int node_implicit(hnode *nd, size_t B, double lo, double hi,
                         double scale, tables *tab);

static int node_index(hnode *nd, size_t B, tables *tab)
{
    int grid = node_is_grid(nd, B);
    if (grid < 0)
        return AH_ERR_NOMEM;
    if (!grid)
        return locator_build(&nd->loc, nd->edges, nd->nb, 0);
    double lo = nd->edges[0], hi = nd->edges[nd->nb];
    double scale = (double)B / (hi - lo);
    if (!isfinite(scale) || !(scale > 0))
        return locator_build(&nd->loc, nd->edges, nd->nb, B);
    if (nd->nb != B || !atoms_at_ends(nd, lo, hi)) {
        int st = locator_build(&nd->loc, nd->edges, nd->nb, B);
        return st == AH_OK ? node_pairs(nd, B, scale, tab) : st;
    }
    return node_implicit(nd, B, lo, hi, scale, tab);
}

/* Implicit grid: repack the node without its edges; the bounds for each
 * cell of grid_cell come from one cumulative array, so a query touches 2
 * or 4 bytes per bin.  Needs only the counts and the atoms (at the ends):
 * a loaded node comes here without its edges ever being computed. */
static int node_implicit(hnode *nd, size_t B, double lo, double hi,
                         double scale, tables *tab)
{
    size_t nb = nd->nb, na = nd->na;
    uint32_t alo = 0, ahi = 0, total = 0;
    for (size_t a = 0; a < na; a++) {
        alo += nd->atom[a] == lo ? nd->acount[a] : 0;
        ahi += nd->atom[a] == hi ? nd->acount[a] : 0;
        total += nd->acount[a];
    }
    for (size_t k = 0; k < nb; k++)
        total += nd->count[k];
    int narrow = narrow_ok(total);
    void *mem = malloc(na * sizeof(double) + (nb + na) * 4 + 1);
    void *cum = table_alloc(tab, (nb + 5) * (narrow ? 2 : 4));
    if (!mem || !cum) {
        free(mem);
        return AH_ERR_NOMEM;
    }
    double *atom = mem;
    uint32_t *count = (uint32_t *)(atom + na), *acount = count + nb;
    memcpy(atom, nd->atom, na * sizeof *atom);
    memcpy(count, nd->count, nb * 4);
    memcpy(acount, nd->acount, na * 4);
    /* cum[2 + k] = values in bin k and above (k = 0..nb), the rest pads
     * the ends: cells 0 (below lo) and 1 (the atom at lo) above, nb + 2
     * (the atom at hi) and nb + 3 (above hi) below; see grid_cell. */
    uint32_t above = ahi;
    table_put(cum, narrow, nb + 2, above);
    for (size_t k = nb; k-- > 0;) {
        above += count[k];
        table_put(cum, narrow, 2 + k, above);
    }
    table_put(cum, narrow, 0, total);
    table_put(cum, narrow, 1, total);
    table_put(cum, narrow, nb + 3, 0);
    table_put(cum, narrow, nb + 4, 0);
    nd->grid.narrow = narrow;
    free(nd->mem);
    nd->mem = mem;
    nd->edges = NULL;
    nd->atom = atom;
    nd->count = count;
    nd->above = NULL;
    nd->acount = acount;
    nd->aabove = NULL;
    grid_set(nd, lo, hi, B, scale, alo > 0, ahi > 0, cum, 1);
    return AH_OK;
}

/* Edge k of the node, stored or implicit. */
static inline double node_edge(const hnode *nd, size_t k)
{
    return nd->edges ? nd->edges[k]
                     : grid_edge(nd->grid.lo, nd->grid.hi, k, nd->grid.B);
}

static void hist_free(void *rep)
{
    hist *h = rep;
    if (!h)
        return;
    free(h->grids);
    if (h->node)
        for (size_t j = 0; j < h->D; j++) {
            free(h->node[j].fine);
            free(h->node[j].fcount);
            free(h->node[j].fflag);
            free(h->node[j].mem);
            free(h->node[j].fcand);
            free(h->node[j].floc.gmap);
            free(h->node[j].loc.gmap);
        }
    tables_free(&h->tab);
    free(h->node);
    free(h);
}

/* Bins actually used for a set of n rows: the requested count, but at most
 * one per 2 background values (and at least 16).  A conditional model's
 * label sets are small; more bins than values would only cost bytes.  One
 * per 4 cost up to 0.007 AUC against exact p-values on cnn/conv2's label
 * sets (about 1,000 rows each); one per 2 keeps them within 0.0043. */
static int effective_bins(int bins, size_t n)
{
    if (bins <= 0)
        return bins;
    size_t cap = (n + 1) / 2;
    if (cap < 16)
        cap = 16;
    return (size_t)bins > cap ? (int)cap : bins;
}

static hist *hist_new(size_t D, size_t n, const ah_fit_options *o)
{
    hist *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->D = D;
    h->n = n;
    h->bins = effective_bins(o->bins, n);
    h->binning = o->binning;
    h->atom_share = o->atom_share;
    h->node = calloc(D, sizeof *h->node);
    if (!h->node) {
        free(h);
        return NULL;
    }
    return h;
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
    memcpy(nd->cand, c, k * sizeof *c);
    memset(nd->ccount, 0, sizeof nd->ccount);
    nd->ncand = k;
    if (lo == hi) {
        nd->nf = 0;
        return AH_OK;
    }
    size_t cap = grid + 1 + k;
    nd->fine = malloc(cap * sizeof *nd->fine);
    nd->fflag = malloc(cap);
    if (!nd->fine || !nd->fflag)
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
        if (m > 0 && nd->fine[m - 1] == e) {
            nd->fflag[m - 1] |= flag;
            continue;
        }
        nd->fine[m] = e;
        nd->fflag[m] = flag;
        m++;
    }
    nd->nf = (uint32_t)(m - 1);
    nd->fcount = calloc(nd->nf, sizeof *nd->fcount);
    nd->fcand = malloc(m);
    if (!nd->fcount || !nd->fcand)
        return AH_ERR_NOMEM;
    for (size_t i = 0, c2 = 0; i < m; i++) {
        while (c2 < k && c[c2] < nd->fine[i])
            c2++;
        nd->fcand[i] = (int8_t)(c2 < k && c[c2] == nd->fine[i] ? (int)c2 : -1);
    }
    return locator_build(&nd->floc, nd->fine, nd->nf, grid);
}

/* Fine bins of a node during the fit, for bins already capped by
 * effective_bins. */
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
    /* per fine edge: the edge, its count, flag, candidate and grid map */
    size_t per = (fine_bins(effective_bins(o->bins, n), o->binning) + 1 +
                  CAND_MAX) * (sizeof(double) + 2 * sizeof(uint32_t) + 2);
    size_t bytes;
    return ah__mul_ok(per, D, &bytes) ? bytes : SIZE_MAX;
}

static int hist_begin(void **rep, size_t D, const ah__pass1 *p1,
                      const ah_fit_options *o, ah_diag *diag)
{
    hist *h = hist_new(D, p1->n, o);
    if (!h)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    size_t grid = fine_grid_size(h);
    int explicit_edges = !(h->binning == AH_BINNING_WIDTH && h->bins > 0);
    for (size_t j = 0; j < D; j++) {
        double lo = p1->node[j].min, hi = p1->node[j].max;
        int f32 = explicit_edges && (double)(float)lo == lo &&
                  (double)(float)hi == hi;
        if (node_begin(&h->node[j], lo, hi, &p1->mg[j], grid, f32) != AH_OK) {
            hist_free(h);
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
static void hist_add_rows(void *rep, int pass, const double *const *rows,
                          size_t k)
{
    hist *h = rep;
    (void)pass;
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        size_t nf = nd->nf;
        if (nf == 0) { /* constant node */
            for (size_t i = 0; i < k; i++)
                if (rows[i][j] == nd->cand[0])
                    nd->ccount[0]++;
                else
                    h->changed = 1;
            continue;
        }
        const double *e = nd->fine;
        for (size_t i = 0; i < k; i++) {
            double v = rows[i][j];
            if (!(v >= e[0] && v <= e[nf])) {
                h->changed = 1;
                continue;
            }
            if (v == e[nf]) {
                nd->ccount[nd->ncand - 1]++; /* the maximum */
                continue;
            }
            size_t b = locator_find(&nd->floc, e, nf, v);
            if (v == e[b] && nd->fcand[b] >= 0)
                nd->ccount[nd->fcand[b]]++;
            else
                nd->fcount[b]++;
        }
    }
}

/* Approximate q-quantile of the node's whole background (atoms as points,
 * values spread evenly in fine bins), for the Freedman-Diaconis width. */
static double node_quantile(const hnode *nd, size_t n, double q)
{
    double r = q * (double)(n - 1), cum = 0;
    size_t ci = 0;
    for (size_t b = 0; b <= nd->nf; b++) {
        while (ci < nd->ncand && nd->cand[ci] <= nd->fine[b]) {
            if (nd->cand[ci] == nd->fine[b] && nd->ccount[ci] > 0) {
                cum += nd->ccount[ci];
                if (cum > r)
                    return nd->cand[ci];
            }
            ci++;
        }
        if (b == nd->nf)
            break;
        double c = nd->fcount[b];
        if (c > 0 && cum + c > r)
            return nd->fine[b] + (nd->fine[b + 1] - nd->fine[b]) *
                                     ((r - cum + 0.5) / c);
        cum += c;
    }
    return nd->fine[nd->nf];
}

/* NumPy's 'auto' bin count: the larger of Sturges and Freedman-Diaconis
 * (Sturges alone when the interquartile range is zero). */
static size_t auto_bins(const hnode *nd, size_t n)
{
    double lo = nd->fine[0], hi = nd->fine[nd->nf];
    double ptp = hi - lo;
    double sturges = ptp / (log2((double)n) + 1.0);
    double iqr = node_quantile(nd, n, 0.75) - node_quantile(nd, n, 0.25);
    double fd = 2.0 * iqr * pow((double)n, -1.0 / 3.0);
    double bw = (fd > 0 && fd < sturges) ? fd : sturges;
    double b = bw > 0 ? ceil(ptp / bw) : 1;
    if (!(b >= 1))
        b = 1;
    if (b > nd->nf)
        b = nd->nf;
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
    size_t nf = nd->nf, K = B / 2 > 0 ? B / 2 : 1;
    double *ge = malloc((nf + 1) * sizeof *ge); /* #values >= fine[i] */
    if (!ge)
        return; /* keep only the forced edges: coarser, still valid */
    double acc = 0;
    size_t c = nd->ncand;
    for (size_t i = nf + 1; i-- > 0;) {
        if (i < nf)
            acc += nd->fcount[i];
        while (c > 0 && nd->cand[c - 1] >= nd->fine[i]) {
            acc += nd->ccount[c - 1]; /* zero for demoted candidates */
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
            for (uint32_t i = 0; i <= nd->nf; i++)
                if (nd->fflag[i] & FLAG_GRID)
                    keep[i] = 1;
        } else { /* auto: NumPy's bin count, equal width on fine edges */
            size_t B = auto_bins(nd, n);
            double lo = nd->fine[0], hi = nd->fine[nd->nf];
            for (size_t i = 1; i < B; i++) {
                double t = grid_edge(lo, hi, i, B);
                size_t k = ah__upper_bound(nd->fine, (size_t)nd->nf + 1, t);
                if (k > 0 && k <= nd->nf &&
                    (t - nd->fine[k - 1] <= nd->fine[k] - t || k == nd->nf))
                    k--;
                keep[k] = 1;
            }
        }
        return;
    case AH_BINNING_QUANTILE: {
        size_t B = h->bins > 0 ? (size_t)h->bins : auto_bins(nd, n);
        uint64_t total = 0, cum = 0;
        for (uint32_t b = 0; b < nd->nf; b++)
            total += nd->fcount[b];
        size_t q = 1;
        for (uint32_t i = 1; i < nd->nf && q < B; i++) {
            cum += nd->fcount[i - 1];
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

/* Choose the final edges among the fine edges and collapse the counts. */
static int node_finish(hist *h, hnode *nd)
{
    size_t n = h->n;
    double share = ceil(h->atom_share * (double)n);
    uint32_t thr = share > 2 ? (uint32_t)share : 2;
    if (nd->nf == 0) { /* constant node: its one value is an atom */
        if (node_alloc_final(nd, 0, 1) != AH_OK)
            return AH_ERR_NOMEM;
        nd->edges[0] = nd->cand[0];
        nd->atom[0] = nd->cand[0];
        nd->acount[0] = nd->ccount[0];
        node_derive(nd);
        nd->cplan = ah__counts_plan_for(nd->count, 0);
        return AH_OK;
    }
    uint8_t *keep = calloc((size_t)nd->nf + 1, 1);
    if (!keep)
        return AH_ERR_NOMEM;
    uint32_t na = 0;
    for (uint32_t c = 0; c < nd->ncand; c++) {
        long e = find_exact(nd->fine, (size_t)nd->nf + 1, nd->cand[c]);
        if (nd->ccount[c] >= thr) {
            keep[e] = 1;
            na++;
        } else if (nd->ccount[c] > 0) {
            /* not an atom: its values join the bin that starts at it */
            size_t bin = (size_t)e < nd->nf ? (size_t)e : nd->nf - 1u;
            nd->fcount[bin] += nd->ccount[c];
            nd->ccount[c] = 0;
        }
    }
    keep[0] = keep[nd->nf] = 1;
    keep_edges(h, nd, n, keep);
    uint32_t nb = 0;
    for (uint32_t i = 1; i <= nd->nf; i++)
        nb += keep[i];
    if (node_alloc_final(nd, nb, na) != AH_OK) {
        free(keep);
        return AH_ERR_NOMEM;
    }
    uint32_t b = 0;
    nd->edges[0] = nd->fine[0];
    uint64_t acc = 0;
    for (uint32_t i = 1; i <= nd->nf; i++) {
        acc += nd->fcount[i - 1];
        if (keep[i]) {
            nd->count[b] = (uint32_t)acc;
            nd->edges[++b] = nd->fine[i];
            acc = 0;
        }
    }
    uint32_t a = 0;
    for (uint32_t c = 0; c < nd->ncand; c++)
        if (nd->ccount[c] >= thr) {
            nd->atom[a] = nd->cand[c];
            nd->acount[a++] = nd->ccount[c];
        }
    free(keep);
    node_derive(nd);
    nd->cplan = ah__counts_plan_for(nd->count, nd->nb);
    if (h->binning == AH_BINNING_WIDTH && h->bins > 0)
        return node_index(nd, (size_t)h->bins, &h->tab);
    return AH_OK;
}

/* h->grids from the finished nodes. */
static int grids_sync(hist *h)
{
    free(h->grids);
    if (!(h->grids = malloc((h->D ? h->D : 1) * sizeof *h->grids)))
        return AH_ERR_NOMEM;
    for (size_t j = 0; j < h->D; j++)
        h->grids[j] = h->node[j].grid;
    return AH_OK;
}

static int hist_end_pass(void *rep, int pass, ah_diag *diag)
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
        free(nd->fine);
        free(nd->fcount);
        free(nd->fflag);
        free(nd->fcand);
        free(nd->floc.gmap);
        nd->fine = NULL;
        nd->fcount = NULL;
        nd->fflag = NULL;
        nd->fcand = NULL;
        nd->floc.gmap = NULL;
    }
    if (grids_sync(h) != AH_OK)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    return AH_OK;
}

/* The exact bin of x in the implicit grid, lo < x < hi, from the guess g:
 * corrected against the computed edges, as the fit placed values. */
static size_t grid_bin_exact(const hnode *nd, double x, size_t g)
{
    double lo = nd->grid.lo, hi = nd->grid.hi;
    size_t nb = nd->grid.B, k = g < nb ? g : nb - 1u;
    while (k + 1 < nb && x >= grid_edge(lo, hi, k + 1, nb))
        k++;
    while (k > 0 && x < grid_edge(lo, hi, k, nb))
        k--;
    return k;
}

/* The cell of x in a grid node (ah__grid_guess), exact: only x within the
 * rounding margin of a grid edge needs the edges. */
static inline uint32_t grid_cell(const hnode *nd, double x)
{
    uint32_t c;
    if (ah__grid_guess(&nd->grid, x, &c)) {
        double f = (x - nd->grid.lo) * nd->grid.scale;
        c = 2u + (uint32_t)grid_bin_exact(nd, x, f > 0.0 ? (size_t)f : 0);
    }
    return c;
}

/* Bounds on #{b > x} and #{b >= x} at node nd (n background values). */
static inline void hist_lookup(const hnode *nd, double n, double x,
                               double *gt_lo, double *ge_hi)
{
    if (!nd->edges) {
        uint32_t c = grid_cell(nd, x);
        *gt_lo = ah__grid_entry(&nd->grid, c + 1);
        *ge_hi = ah__grid_entry(&nd->grid, c);
        return;
    }
    uint32_t nb = nd->nb;
    double lo = nd->edges[0], hi = nd->edges[nb];
    if (x < lo) {
        *gt_lo = *ge_hi = n;
        return;
    }
    if (x > hi) {
        *gt_lo = *ge_hi = 0;
        return;
    }
    size_t k = 0;
    if (nb == 0)
        goto atom; /* constant node: x is its value */
    k = locator_find(&nd->loc, nd->edges, nb, x);
    /* every atom is an edge: only x on an edge can be one */
    if (nd->na && (x == nd->edges[k] || x == hi)) {
    atom:;
        long a = find_exact(nd->atom, nd->na, x);
        if (a >= 0) {
            *gt_lo = nd->aabove[a];
            *ge_hi = *gt_lo + nd->acount[a];
            return;
        }
    }
    *gt_lo = nd->above[k];
    *ge_hi = *gt_lo + nd->count[k];
}

static void hist_pvalue(const void *rep, size_t j, double x, double out[4])
{
    const hist *h = rep;
    double n = (double)h->n, n1 = n + 1.0, gt_lo, ge_hi;
    hist_lookup(&h->node[j], n, x, &gt_lo, &ge_hi);
    /* The lower tail mirrors: #{b < x} >= n - ge_hi, #{b <= x} <= n - gt_lo */
    out[0] = gt_lo / n1;
    out[1] = (ge_hi + 1.0) / n1;
    out[2] = (n - ge_hi) / n1;
    out[3] = (n - gt_lo + 1.0) / n1;
}

static void hist_pvalue_many(const void *rep, size_t j, const double *x,
                             size_t count, double *out)
{
    const hist *h = rep;
    const hnode *nd = &h->node[j];
    double n = (double)h->n, n1 = n + 1.0;
    for (size_t i = 0; i < count; i++) {
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
        out[4 * i] = gt_lo / n1;
        out[4 * i + 1] = (ge_hi + 1.0) / n1;
        out[4 * i + 2] = (n - ge_hi) / n1;
        out[4 * i + 3] = (n - gt_lo + 1.0) / n1;
    }
}

/* grid_count_many for a few values (one input): inlined, no kernel call,
 * and no branch on the loaded counts of an implicit grid, so the cache
 * misses of consecutive nodes overlap. */
static inline void grid_count_few(const hnode *nd, const ah__grid *g,
                                  double n, const double *x, size_t count,
                                  uint32_t *gt, uint32_t *ge)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t c, e, t;
        int near = ah__grid_guess(g, x[i], &c);
        e = ah__grid_entry(g, g->stride * c);
        t = ah__grid_entry(g, g->stride * c + 1);
        if (near || (g->stride == 2 && t > e)) {
            double gt_lo, ge_hi;
            hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
            t = (uint32_t)gt_lo;
            e = (uint32_t)ge_hi;
        }
        ge[i] = e;
        gt[i] = t;
    }
}

/* Counts of a grid node for x[0..count): a kernel of grid_count.c in
 * chunks, then the exact path for the values it could not decide. */
static void grid_count_many(const hnode *nd, double n, const double *x,
                            size_t count, uint32_t *gt, uint32_t *ge,
                            int isa)
{
    uint32_t near[256];
    for (size_t i0 = 0; i0 < count; i0 += 256) {
        size_t len = count - i0 < 256 ? count - i0 : 256;
        size_t nn = ah__grid_count(&nd->grid, x + i0, len, gt + i0, ge + i0,
                                   near, isa);
        for (size_t a = 0; a < nn; a++) {
            size_t i = i0 + near[a];
            double gt_lo, ge_hi;
            hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
            gt[i] = (uint32_t)gt_lo;
            ge[i] = (uint32_t)ge_hi;
        }
    }
}

/* The counting form of hist_lookup for a run of values, with the grid
 * kernel isa (AH__ISA_*, lowered to what the CPU runs). */
void ah__hist_count_isa(const void *rep, size_t j, const double *x,
                        size_t count, uint32_t *gt, uint32_t *ge, int isa)
{
    const hist *h = rep;
    const hnode *nd = &h->node[j];
    double n = (double)h->n;
#if defined(__GNUC__)
    /* A large run reads most of a node's table: start fetching the next
     * node's now, so its cache misses overlap this node's work. */
    if (count >= 256 && j + 1 < h->D) {
        const hnode *next = &h->node[j + 1];
        const char *c = (const char *)next->grid.table;
        size_t B = next->grid.B,
               bytes = (next->grid.stride == 2 ? (B + 4) * 2 : B + 5) *
                       (next->grid.narrow ? 2 : 4);
        for (size_t o = 0; c && o < bytes; o += 64)
            __builtin_prefetch(c + o);
    }
#endif
    if (nd->grid.table) {
        grid_count_many(nd, n, x, count, gt, ge, isa);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[i], &gt_lo, &ge_hi);
        gt[i] = (uint32_t)gt_lo;
        ge[i] = (uint32_t)ge_hi;
    }
}

/* Fetch the table entry of x's cell in grid g, if it has a table. */
static inline void grid_prefetch(const ah__grid *g, double x)
{
#if defined(__GNUC__)
    uint32_t c;
    if (!g->table)
        return;
    (void)ah__grid_guess(g, x, &c);
    __builtin_prefetch((const char *)g->table +
                       (size_t)g->stride * c * (g->narrow ? 2 : 4));
#else
    (void)g, (void)x;
#endif
}

/* The table entries the lookups of x[0..nj) at nodes j0.. will read,
 * fetched ahead: one input's lookups miss the cache on every node of a
 * large model, and issuing the misses together overlaps them. */
static void hist_prefetch(const void *rep, size_t j0, size_t nj,
                          const double *x)
{
    const hist *h = rep;
    for (size_t j = 0; j < nj; j++)
        grid_prefetch(&h->grids[j0 + j], x[j]);
}

static void hist_count_many(const void *rep, size_t j, const double *x,
                            size_t count, uint32_t *gt, uint32_t *ge)
{
    const hist *h = rep;
    if (count < 16 && h->node[j].grid.table) {
        grid_count_few(&h->node[j], &h->node[j].grid, (double)h->n, x, count,
                       gt, ge);
        return;
    }
    ah__hist_count_isa(rep, j, x, count, gt, ge, ah__isa_best());
}

/* On models of this many nodes and more, a row's lookups miss the cache:
 * count_row fetches each node's entry this many nodes ahead, in place of
 * pvalues.c's pass that fetches them all first (one row at D = 4096:
 * 29.7-30.2 us against 39.9-42.6; at D = 256, where the tables stay
 * cached, fetching 4 or 8 ahead cost 1.53-1.71 us against 1.27-1.39). */
#define ROW_PREFETCH_NODES 2048
#define ROW_PREFETCH_AHEAD 8

/* One input's values at nodes j0.. : hist_count_many of one value per
 * node, without a call per node. */
static void hist_count_row(const void *rep, size_t j0, size_t nj,
                           const double *x, uint32_t *gt, uint32_t *ge)
{
    const hist *h = rep;
    double n = (double)h->n;
    size_t ahead = h->D >= ROW_PREFETCH_NODES ? ROW_PREFETCH_AHEAD : 0;
    for (size_t j = 0; j < ahead && j < nj; j++)
        grid_prefetch(&h->grids[j0 + j], x[j]);
    for (size_t j = 0; j < nj; j++) {
        const hnode *nd = &h->node[j0 + j];
        const ah__grid *g = &h->grids[j0 + j];
        if (ahead && j + ahead < nj)
            grid_prefetch(&h->grids[j0 + j + ahead], x[j + ahead]);
        if (g->table) {
            grid_count_few(nd, g, n, x + j, 1, gt + j, ge + j);
            continue;
        }
        double gt_lo, ge_hi;
        hist_lookup(nd, n, x[j], &gt_lo, &ge_hi);
        gt[j] = (uint32_t)gt_lo;
        ge[j] = (uint32_t)ge_hi;
    }
}

/*
 * Serialised node (docs/FORMAT.md), starting at a multiple of 8:
 *   u32 kind, u32 nb, u32 na, u32 node_bytes (all of it),
 *   f64 atoms[na],
 *   kind 0: f64 edges[nb+1];  kind 2: f32 edges[nb+1] (every edge is a
 *   float32 value, as with float32 activations);  kind 1 (grid): u32 B,
 *   u32 zero, f64 lo, f64 hi, the edges being the equal-width grid merged
 *   with the atoms,
 *   counts[nb] then atom_counts[na] as unsigned LEB128 varints,
 *   zero padding to a multiple of 8.
 * Counts are stored as src/counts_codec.c chooses per node (a flag in
 * kind, format 1.1): plain varints, varints with runs of empty bins, or
 * Rice codes of neighbouring differences.
 */
enum { KIND_EXPLICIT = 0, KIND_GRID = 1, KIND_EXPLICIT_F32 = 2 };
#define KIND_ZERO_RUNS 0x100u /* counts: AH__COUNTS_ZERO_RUNS */
#define KIND_RICE 0x200u      /* counts: AH__COUNTS_RICE */
#define NODE_HEADER 16
#define NODE_MAX (1u << 24) /* bins, atoms or grid bins a node may have */

/* Merge the equal-width grid over [lo, hi] with the sorted atoms, as the
 * fit does; returns the number of edges written (at most B + 1 + na). */
static size_t grid_merge(double lo, double hi, size_t B, const double *atom,
                         size_t na, double *out)
{
    size_t gi = 0, ai = 0, m = 0;
    while (gi <= B || ai < na) {
        double g = gi <= B ? grid_edge(lo, hi, gi, B) : INFINITY;
        double a = ai < na ? atom[ai] : INFINITY;
        double e = g <= a ? g : a;
        if (g <= a)
            gi++;
        else
            ai++;
        if (m == 0 || out[m - 1] != e)
            out[m++] = e;
    }
    return m;
}

/* Is the node exactly the grid of B bins merged with its atoms?  1 or 0,
 * or -1 out of memory (never "no": that would save a grid node as explicit
 * edges, a different file from the same background). */
static int node_is_grid(const hnode *nd, size_t B)
{
    if (B == 0 || nd->nb == 0 || nd->nb > B + nd->na)
        return 0;
    double *tmp = malloc((B + 1 + nd->na) * sizeof *tmp);
    if (!tmp)
        return -1;
    size_t m = grid_merge(nd->edges[0], nd->edges[nd->nb], B, nd->atom,
                          nd->na, tmp);
    int same = m == (size_t)nd->nb + 1 &&
               memcmp(tmp, nd->edges, m * sizeof *tmp) == 0;
    free(tmp);
    return same;
}

static int node_kind(const hnode *nd)
{
    if (nd->loc.B || !nd->edges)
        return KIND_GRID;
    for (uint32_t i = 0; i <= nd->nb; i++)
        if ((double)(float)nd->edges[i] != nd->edges[i])
            return KIND_EXPLICIT;
    return KIND_EXPLICIT_F32;
}

/* The serialised size of a node whose counts take plan->bytes. */
static size_t node_bytes(const hnode *nd, int kind,
                         const ah__counts_plan *plan)
{
    size_t b = NODE_HEADER + 8 * (size_t)nd->na;
    b += kind == KIND_GRID ? 24
         : kind == KIND_EXPLICIT ? 8 * ((size_t)nd->nb + 1)
                                 : 4 * ((size_t)nd->nb + 1);
    b += plan->bytes;
    for (uint32_t i = 0; i < nd->na; i++)
        b += ah__varint_len(nd->acount[i]);
    return (b + 7) & ~(size_t)7;
}

static size_t hist_payload_bytes(const void *rep)
{
    const hist *h = rep;
    size_t s = 0;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        ah__counts_plan plan = ah__counts_plan_with(nd->cplan.enc, nd->cplan.k,
                                                    nd->count, nd->nb);
        s += node_bytes(nd, node_kind(nd), &plan);
    }
    return s;
}

static void hist_write(const void *rep, unsigned char *buf)
{
    const hist *h = rep;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        unsigned char *start = buf;
        int kind = node_kind(nd);
        ah__counts_plan plan = ah__counts_plan_with(nd->cplan.enc, nd->cplan.k,
                                                    nd->count, nd->nb);
        size_t want = node_bytes(nd, kind, &plan);
        uint32_t flag = plan.enc == AH__COUNTS_ZERO_RUNS ? KIND_ZERO_RUNS
                        : plan.enc == AH__COUNTS_RICE    ? KIND_RICE
                                                         : 0;
        buf = ah__put_u32(buf, (uint32_t)kind | flag);
        buf = ah__put_u32(buf, nd->nb);
        buf = ah__put_u32(buf, nd->na);
        buf = ah__put_u32(buf, (uint32_t)want);
        for (uint32_t i = 0; i < nd->na; i++)
            buf = ah__put_f64(buf, nd->atom[i]);
        if (kind == KIND_GRID) {
            buf = ah__put_u32(buf, nd->edges ? nd->loc.B : nd->grid.B);
            buf = ah__put_u32(buf, 0);
            buf = ah__put_f64(buf, node_edge(nd, 0));
            buf = ah__put_f64(buf, node_edge(nd, nd->nb));
        } else if (kind == KIND_EXPLICIT) {
            for (uint32_t i = 0; i <= nd->nb; i++)
                buf = ah__put_f64(buf, nd->edges[i]);
        } else {
            for (uint32_t i = 0; i <= nd->nb; i++) {
                float f = (float)nd->edges[i];
                uint32_t u;
                memcpy(&u, &f, 4);
                buf = ah__put_u32(buf, u);
            }
        }
        buf = ah__counts_write(&plan, nd->count, nd->nb, buf);
        for (uint32_t i = 0; i < nd->na; i++)
            buf = ah__varint_put(buf, nd->acount[i]);
        while ((size_t)(buf - start) < want)
            *buf++ = 0;
    }
}

/* Whether a grid node read from a file is an implicit grid that
 * node_index would make of it, decided without computing its edges: B
 * bins, atoms only at the ends, and a step of more than 8 ulps, so that
 * the grid edges strictly increase (grid_edge rounds each by at most 2
 * ulps) and merging the end atoms adds none. */
static int implicit_grid_ok(const hnode *nd, uint32_t nb, uint32_t B,
                            double lo, double hi, double scale)
{
    double big = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    double ulp = nextafter(big, INFINITY) - big;
    return nb == B && isfinite(scale) && scale > 0 &&
           atoms_at_ends(nd, lo, hi) && (hi - lo) / (double)B > 8 * ulp;
}

/* Refuse node j with a message naming it and the problem. */
static int node_bad(ah_diag *diag, size_t j, const char *why)
{
    return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                    "histogram of node %zu: %s", j, why);
}

/* Read node j at p (avail bytes) and its size into *used: every field of
 * its header against its documented range (docs/FORMAT.md), then its
 * contents.  AH_ERR_FORMAT or AH_ERR_NOMEM, with a message. */
static int node_read(hnode *nd, tables *tab, size_t n, const unsigned char *p,
                     size_t avail, size_t *used, size_t j, ah_diag *diag)
{
    if (avail < NODE_HEADER)
        return node_bad(diag, j, "truncated (its header runs past the set)");
    uint32_t kind = ah__get_u32(p), nb = ah__get_u32(p + 4),
             na = ah__get_u32(p + 8), nbytes = ah__get_u32(p + 12);
    int enc = (kind & KIND_ZERO_RUNS) ? AH__COUNTS_ZERO_RUNS
              : (kind & KIND_RICE)    ? AH__COUNTS_RICE
                                      : AH__COUNTS_PLAIN;
    if ((kind & KIND_ZERO_RUNS) && (kind & KIND_RICE))
        return node_bad(diag, j, "kind has both zero runs and Rice codes");
    kind &= ~(KIND_ZERO_RUNS | KIND_RICE);
    if (kind > KIND_EXPLICIT_F32)
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: unknown kind 0x%x", j,
                        (unsigned)ah__get_u32(p));
    if (nb > NODE_MAX || na > NODE_MAX || (nb == 0 && na == 0))
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: %u bins and %u atoms (each "
                        "at most 2^24, not both 0)", j, nb, na);
    if (nbytes > avail || nbytes % 8 != 0 ||
        nbytes < NODE_HEADER + 8 * (size_t)na + (kind == KIND_GRID ? 24 : 0))
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: node size %u (a multiple of "
                        "8, within the set's %zu bytes left and its fields)",
                        j, nbytes, avail);
    const unsigned char *end = p + nbytes, *q = p + NODE_HEADER;
    size_t edge_bytes = kind == KIND_GRID ? 24
                        : kind == KIND_EXPLICIT ? 8 * ((size_t)nb + 1)
                                                : 4 * ((size_t)nb + 1);
    if ((size_t)(end - q) <
        8 * (size_t)na + edge_bytes + (enc == AH__COUNTS_PLAIN ? nb : 0) + na)
        return node_bad(diag, j, "node size below its edges and counts");
    if (node_alloc_final(nd, nb, na) != AH_OK)
        return ah__fail(diag, AH_ERR_NOMEM, -1, (int64_t)j,
                        "out of memory for the histogram of node %zu", j);
    for (uint32_t i = 0; i < na; i++, q += 8) {
        nd->atom[i] = ah__get_f64(q);
        if (!isfinite(nd->atom[i]) || (i > 0 && !(nd->atom[i] > nd->atom[i - 1])))
            return node_bad(diag, j, "atoms not finite or not increasing");
    }
    uint32_t B = 0;
    int implicit = 0;
    double lo = 0, hi = 0, scale = 0;
    if (kind == KIND_GRID) {
        B = ah__get_u32(q);
        lo = ah__get_f64(q + 8);
        hi = ah__get_f64(q + 16);
        if (B == 0 || B > NODE_MAX)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "histogram of node %zu: grid of %u bins (1 to "
                            "2^24)", j, B);
        if (ah__get_u32(q + 4) != 0)
            return node_bad(diag, j, "the grid's word after B is not zero");
        if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
            return node_bad(diag, j, "grid range not finite or empty");
        if ((size_t)nb > (size_t)B + na)
            return node_bad(diag, j, "more bins than the grid and atoms give");
        scale = (double)B / (hi - lo);
        implicit = implicit_grid_ok(nd, nb, B, lo, hi, scale);
    }
    if (implicit) {
        /* the edges are the grid's: none is computed (node_implicit) */
        nd->edges[0] = lo;
        nd->edges[nb] = hi;
    } else if (kind == KIND_GRID) {
        double *tmp = malloc(((size_t)B + 1 + na) * sizeof *tmp);
        if (!tmp)
            return ah__fail(diag, AH_ERR_NOMEM, -1, (int64_t)j,
                            "out of memory for the histogram of node %zu", j);
        size_t m = grid_merge(lo, hi, B, nd->atom, na, tmp);
        int ok = m == (size_t)nb + 1;
        if (ok)
            memcpy(nd->edges, tmp, m * sizeof *tmp);
        free(tmp);
        if (!ok)
            return node_bad(diag, j, "the grid merged with the atoms does "
                                     "not give nb + 1 edges");
    } else {
        for (uint32_t i = 0; i <= nb; i++) {
            if (kind == KIND_EXPLICIT) {
                nd->edges[i] = ah__get_f64(q + 8 * (size_t)i);
            } else {
                uint32_t u = ah__get_u32(q + 4 * (size_t)i);
                float f;
                memcpy(&f, &u, 4);
                nd->edges[i] = f;
            }
            if (!isfinite(nd->edges[i]) ||
                (i > 0 && !(nd->edges[i] > nd->edges[i - 1])))
                return node_bad(diag, j, "edges not finite or not "
                                         "increasing");
        }
    }
    q += edge_bytes;
    for (uint32_t i = 0; i < na && !implicit; i++)
        if (find_exact(nd->edges, (size_t)nb + 1, nd->atom[i]) < 0)
            return node_bad(diag, j, "an atom is not an edge");
    uint64_t total = 0;
    nd->cplan.enc = enc;
    nd->cplan.k = enc == AH__COUNTS_RICE && q < end ? *q : 0;
    if (!(q = ah__counts_read(enc, q, end, nd->count, nb)))
        return node_bad(diag, j, "bin counts malformed or past the node");
    for (uint32_t i = 0; i < nb; i++)
        total += nd->count[i];
    for (uint32_t i = 0; i < na; i++) {
        if (!(q = ah__varint_get(q, end, &nd->acount[i])))
            return node_bad(diag, j, "atom counts malformed or past the "
                                     "node");
        total += nd->acount[i];
    }
    if (total != n)
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: bin and atom counts add up "
                        "to %llu, not the set's %zu rows", j,
                        (unsigned long long)total, n);
    while (q < end)
        if (*q++ != 0)
            return node_bad(diag, j, "padding not zero");
    *used = nbytes;
    int st = AH_OK;
    if (implicit) {
        st = node_implicit(nd, B, lo, hi, scale, tab);
    } else {
        node_derive(nd);
        if (kind == KIND_GRID)
            st = node_index(nd, B, tab);
    }
    if (st != AH_OK)
        return ah__fail(diag, st, -1, (int64_t)j,
                        st == AH_ERR_NOMEM
                            ? "out of memory for the histogram of node %zu"
                            : "histogram of node %zu: inconsistent", j);
    return AH_OK;
}

static int hist_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                     const unsigned char *buf, size_t len, size_t *used,
                     ah_diag *diag)
{
    hist *h = hist_new(D, n, o);
    if (!h)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    size_t off = 0;
    for (size_t j = 0; j < D; j++) {
        size_t k = 0;
        int st = node_read(&h->node[j], &h->tab, n, buf + off, len - off, &k,
                           j, diag);
        if (st != AH_OK) {
            hist_free(h);
            return st;
        }
        off += k;
    }
    if (grids_sync(h) != AH_OK) {
        hist_free(h);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    *used = off;
    *rep = h;
    return AH_OK;
}

/* What node_read will keep for the D nodes at buf, at most: its node
 * (the structures, and node_alloc_final's 16 bytes a bin and atom) and,
 * for a grid, 12 bytes a grid bin of tables (locator map, pair table);
 * plus, once, the largest scratch a grid node needs while it is read (its
 * B + 1 + na edges).  A few bytes of file can describe a node of 2^24
 * bins, so the loader checks this first. */
static size_t hist_read_bytes(size_t D, const unsigned char *buf, size_t len)
{
    size_t off = 0;
    uint64_t sum = 0, scratch = 0;
    for (size_t j = 0; j < D && len - off >= NODE_HEADER; j++) {
        const unsigned char *p = buf + off;
        uint32_t kind = ah__get_u32(p) & 0xffu, nb = ah__get_u32(p + 4),
                 na = ah__get_u32(p + 8), nbytes = ah__get_u32(p + 12);
        /* past what node_read accepts: the read reports it */
        if (nbytes < NODE_HEADER || nbytes > len - off || nb > NODE_MAX ||
            na > NODE_MAX)
            break;
        uint64_t b = sizeof(hnode) + sizeof(ah__grid) +
                     ((uint64_t)nb + 1 + na) * 8 + ((uint64_t)nb + na) * 8;
        if (kind == KIND_GRID && nbytes >= NODE_HEADER + 8 * (uint64_t)na + 4) {
            uint64_t B = ah__get_u32(p + NODE_HEADER + 8 * (size_t)na);
            if (B > NODE_MAX)
                break;
            b += (B + 4) * 12;
            if ((B + 1 + na) * 8 > scratch)
                scratch = (B + 1 + na) * 8;
        }
        if (b > UINT64_MAX - sum)
            return SIZE_MAX;
        sum += b;
        off += nbytes;
    }
    return scratch > UINT64_MAX - sum || sum + scratch > SIZE_MAX
               ? SIZE_MAX
               : (size_t)(sum + scratch);
}

static size_t hist_memory_bytes(const void *rep)
{
    const hist *h = rep;
    size_t s = sizeof *h + h->D * (sizeof *h->node + sizeof *h->grids);
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        s += (size_t)nd->na * 8 + 2 * ((size_t)nd->nb + nd->na) * 4;
        size_t entry = nd->grid.narrow ? 2 : 4;
        if (!nd->edges) /* cum replaces above, and there is no aabove */
            s += ((size_t)nd->nb + 5) * entry - ((size_t)nd->nb + nd->na) * 4;
        if (nd->edges)
            s += ((size_t)nd->nb + 1) * 8;
        if (nd->loc.gmap)
            s += (size_t)nd->loc.B * 4;
        if (nd->grid.table && nd->grid.stride == 2) /* a pair table */
            s += ((size_t)nd->grid.B + 4) * 2 * entry;
    }
    return s;
}

static size_t hist_node_bins(const void *rep, size_t j)
{
    return ((const hist *)rep)->node[j].nb;
}

static size_t hist_node_atoms(const void *rep, size_t j)
{
    return ((const hist *)rep)->node[j].na;
}

static int hist_node_cells(const void *rep, size_t j, ah_cell *cells,
                           size_t cap, size_t *n)
{
    const hnode *nd = &((const hist *)rep)->node[j];
    size_t k = 0, a = 0;
    for (uint32_t i = 0; i <= nd->nb; i++) {
        if (a < nd->na && nd->atom[a] == node_edge(nd, i)) {
            if (k < cap)
                cells[k] = (ah_cell){nd->atom[a], nd->atom[a], nd->acount[a], 1};
            k++;
            a++;
        }
        if (i < nd->nb) {
            if (k < cap)
                cells[k] = (ah_cell){node_edge(nd, i), node_edge(nd, i + 1),
                                     nd->count[i], 0};
            k++;
        }
    }
    *n = k;
    return k <= cap ? AH_OK : AH_ERR_ARG;
}

/*
 * Counts of a shard (shard.c): per node, the encoding of the fine-grid
 * counts, those counts (counts_codec.h) and the candidates' exact counts
 * as varints.  Shards counted against one plan have the same fine grids
 * and candidates, so their counts add.
 */
static int hist_range_exceeded(const void *rep)
{
    return ((const hist *)rep)->changed;
}

/* Shard counts travel once and are merged at once: varints, empty runs
 * collapsed, cost one light pass (the Rice search of model files costs
 * a pass per parameter). */
static ah__counts_plan shard_counts_plan(const hnode *nd)
{
    return ah__counts_plan_with(AH__COUNTS_ZERO_RUNS, 0, nd->fcount, nd->nf);
}

static size_t hist_counts_bytes(const void *rep)
{
    const hist *h = rep;
    size_t s = 0;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        s += 1 + shard_counts_plan(nd).bytes;
        for (uint32_t c = 0; c < nd->ncand; c++)
            s += ah__varint_len(nd->ccount[c]);
    }
    return s;
}

static void hist_counts_write(const void *rep, unsigned char *buf)
{
    const hist *h = rep;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        ah__counts_plan plan = shard_counts_plan(nd);
        *buf++ = (unsigned char)plan.enc;
        buf = ah__counts_write(&plan, nd->fcount, nd->nf, buf);
        for (uint32_t c = 0; c < nd->ncand; c++)
            buf = ah__varint_put(buf, nd->ccount[c]);
    }
}

/* The counts of another shard of the same plan, added in memory. */
static void hist_counts_merge(void *rep, const void *other)
{
    hist *h = rep;
    const hist *o = other;
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        const hnode *od = &o->node[j];
        for (uint32_t b = 0; b < nd->nf; b++)
            nd->fcount[b] += od->fcount[b];
        for (uint32_t c = 0; c < nd->ncand; c++)
            nd->ccount[c] += od->ccount[c];
    }
}

/* Counts of a representation just begun: each node's must total the
 * shard's rows (one value per row).  On failure the caller discards the
 * representation. */
static int hist_counts_read(void *rep, const unsigned char *buf, size_t len,
                            uint64_t rows, ah_diag *diag)
{
    hist *h = rep;
    const unsigned char *p = buf, *end = buf + len;
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        int enc = p < end ? *p++ : -1;
        if (enc < 0 || enc > AH__COUNTS_RICE ||
            !(p = ah__counts_read(enc, p, end, nd->fcount, nd->nf)))
            p = NULL;
        for (uint32_t c = 0; c < nd->ncand && p; c++)
            p = ah__varint_get(p, end, &nd->ccount[c]);
        if (!p)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "counts of node %zu are malformed or truncated",
                            j);
        uint64_t total = 0;
        for (uint32_t b = 0; b < nd->nf; b++)
            total += nd->fcount[b];
        for (uint32_t c = 0; c < nd->ncand; c++)
            total += nd->ccount[c];
        if (total != rows)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "counts of node %zu total %llu, not the shard's "
                            "%llu rows", j, (unsigned long long)total,
                            (unsigned long long)rows);
    }
    if (p != end)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%zu bytes after the last node's counts",
                        (size_t)(end - p));
    return AH_OK;
}

const ah__rep_ops ah__hist_ops = {
    .name = "hist",
    .passes = 1,
    .begin = hist_begin,
    .add_rows = hist_add_rows,
    .end_pass = hist_end_pass,
    .pvalue = hist_pvalue,
    .pvalue_many = hist_pvalue_many,
    .count_many = hist_count_many,
    .count_row = hist_count_row,
    .prefetch = hist_prefetch,
    .payload_bytes = hist_payload_bytes,
    .write = hist_write,
    .read = hist_read,
    .memory_bytes = hist_memory_bytes,
    .read_bytes = hist_read_bytes,
    .range_exceeded = hist_range_exceeded,
    .counts_bytes = hist_counts_bytes,
    .counts_write = hist_counts_write,
    .counts_read = hist_counts_read,
    .counts_merge = hist_counts_merge,
    .node_bins = hist_node_bins,
    .node_atoms = hist_node_atoms,
    .node_cells = hist_node_cells,
    .free = hist_free,
};
