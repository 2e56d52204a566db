/*
 * hist.c - per-node histograms with exact atoms (the default
 * representation): the structure, its life, its query index, and
 * ah__hist_ops, the one table of its entry points.  hist.h describes the
 * representation and lists its parts.
 *
 * The query index is built once a node is final (a fit's end or a load):
 * the O(1) locator of a grid node's edges, and the query tables (an
 * implicit grid's cumulative counts, or a pair table) in large shared
 * chunks.  Cost: O(bins) a node, once.
 */
#include "hist.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Prepare L for edges e[0..nb] (nb >= 1) that contain the equal-width
 * grid of B bins over [e[0], e[nb]]; B = 0 or a degenerate range leaves
 * L as plain binary search. */
int ah__hist_locator_build(locator *L, const double *e, size_t nb, size_t B)
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

int ah__hist_node_alloc_final(hnode *h, uint32_t nb, uint32_t na)
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
void ah__hist_node_derive(hnode *h)
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
    ah__grid *g = nd->grid;
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
    t->chunk = NULL;
    t->nchunks = t->cap = t->used = t->size = 0;
}

int ah__tables_append(tables *t, tables *more)
{
    if (more->nchunks == 0)
        return AH_OK;
    if (t->nchunks + more->nchunks > t->cap) {
        size_t cap = t->nchunks + more->nchunks;
        unsigned char **grown = realloc(t->chunk, cap * sizeof *grown);
        if (!grown) {
            tables_free(more);
            return AH_ERR_NOMEM;
        }
        t->chunk = grown;
        t->cap = cap;
    }
    memcpy(t->chunk + t->nchunks, more->chunk,
           more->nchunks * sizeof *more->chunk);
    t->nchunks += more->nchunks;
    t->used = more->used; /* the last chunk is more's */
    t->size = more->size;
    t->packed |= more->packed;
    free(more->chunk);
    memset(more, 0, sizeof *more);
    return AH_OK;
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
    nd->grid->narrow = narrow_ok(total);
    void *T = table_alloc(tab, (B + 4) * 2 * (nd->grid->narrow ? 2 : 4));
    if (T)
        for (size_t c = 0; c < 2 * (B + 4); c++)
            table_put(T, nd->grid->narrow, c, P[c]);
    free(P);
    if (!T)
        return AH_ERR_NOMEM;
    grid_set(nd, lo, hi, B, scale, na && nd->atom[0] == lo,
             na && nd->atom[na - 1] == hi, T, 2);
    return AH_OK;
}

/* Use the O(1) lookup when the node is the grid of B bins merged with its
 * atoms (the equal-width binning). */
int ah__hist_atoms_at_ends(const hnode *nd, double lo, double hi)
{
    int ends_only = 1;
    for (uint32_t a = 0; a < nd->na; a++)
        ends_only &= nd->atom[a] == lo || nd->atom[a] == hi;
    return ends_only;
}

/* The node's own locator for a grid of B bins (B = 0 after a degenerate
 * range: plain binary search, and the node is saved as explicit edges). */
static int node_locator(hnode *nd, size_t B)
{
    if (!nd->loc && !(nd->loc = calloc(1, sizeof *nd->loc)))
        return AH_ERR_NOMEM;
    return ah__hist_locator_build(nd->loc, nd->edges, nd->nb, B);
}

int ah__hist_node_index(hnode *nd, size_t B, tables *tab)
{
    int grid = ah__hist_node_is_grid(nd, B);
    if (grid < 0)
        return AH_ERR_NOMEM;
    if (!grid)
        return AH_OK; /* binary search */
    return ah__hist_grid_index(nd, B, tab);
}

int ah__hist_grid_index(hnode *nd, size_t B, tables *tab)
{
    double lo = nd->edges[0], hi = nd->edges[nd->nb];
    double scale = (double)B / (hi - lo);
    if (!isfinite(scale) || !(scale > 0))
        return node_locator(nd, B);
    if (nd->nb != B || !ah__hist_atoms_at_ends(nd, lo, hi)) {
        int st = node_locator(nd, B);
        return st == AH_OK ? node_pairs(nd, B, scale, tab) : st;
    }
    return ah__hist_node_implicit(nd, B, lo, hi, scale, tab);
}

/* In a compact set (ah__rep_ops.read), store an implicit grid's
 * cumulative counts bit-packed (packed_cum.h) when that takes at most
 * this share of the plain table: small label sets, whose thousands of
 * bins hold a few values each, pack to a fifth or less. */
#define PACK_SHARE 0.5

/* cum[0..nb+5) into the set's tables, plain or packed: the node's table. */
static int implicit_table(hnode *nd, const uint32_t *cum, size_t nb,
                          uint32_t total, tables *tab)
{
    size_t n = nb + 5, plain = n * (narrow_ok(total) ? 2 : 4),
           packed = ah__packed_bytes(cum, n);
    nd->grid->packed = tab->compact && packed != SIZE_MAX &&
                       packed <= PACK_SHARE * plain;
    nd->grid->narrow = !nd->grid->packed && narrow_ok(total);
    void *t = table_alloc(tab, nd->grid->packed ? packed : plain);
    if (!t)
        return AH_ERR_NOMEM;
    tab->packed |= (int)nd->grid->packed;
    if (nd->grid->packed)
        ah__packed_write(cum, n, t, packed);
    else
        for (size_t i = 0; i < n; i++)
            table_put(t, nd->grid->narrow, i, cum[i]);
    nd->grid->table = t;
    return AH_OK;
}

/* Implicit grid: repack the node without its edges or bin counts; the
 * bounds for each cell of grid_cell come from one cumulative array, so a
 * query touches 2 or 4 bytes per bin, or its packed bits.  Needs only the
 * counts and the atoms (at the ends): a loaded node comes here without its
 * edges ever being computed.  The bin counts are differences of the
 * cumulative ones (node_count). */
int ah__hist_node_implicit(hnode *nd, size_t B, double lo, double hi,
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
    void *mem = malloc(na * (sizeof(double) + 4) + 1);
    uint32_t *cum = malloc((nb + 5) * sizeof *cum);
    if (!mem || !cum) {
        free(mem);
        free(cum);
        return AH_ERR_NOMEM;
    }
    /* cum[2 + k] = values in bin k and above (k = 0..nb), the rest pads
     * the ends: cells 0 (below lo) and 1 (the atom at lo) above, nb + 2
     * (the atom at hi) and nb + 3 (above hi) below; see grid_cell. */
    uint32_t above = ahi;
    cum[nb + 2] = above;
    for (size_t k = nb; k-- > 0;) {
        above += nd->count[k];
        cum[2 + k] = above;
    }
    cum[0] = cum[1] = total;
    cum[nb + 3] = cum[nb + 4] = 0;
    int st = implicit_table(nd, cum, nb, total, tab);
    free(cum);
    if (st != AH_OK) {
        free(mem);
        return st;
    }
    double *atom = mem;
    uint32_t *acount = (uint32_t *)(atom + na);
    memcpy(atom, nd->atom, na * sizeof *atom);
    memcpy(acount, nd->acount, na * 4);
    free(nd->mem);
    nd->mem = mem;
    nd->edges = NULL;
    nd->atom = atom;
    nd->count = NULL;
    nd->above = NULL;
    nd->acount = acount;
    nd->aabove = NULL;
    grid_set(nd, lo, hi, B, scale, alo > 0, ahi > 0, nd->grid->table, 1);
    return AH_OK;
}

void ah__hist_fit_free(hist *h)
{
    if (!h->fit)
        return;
    for (size_t j = 0; j < h->D; j++) {
        hfit *f = &h->fit[j];
        free(f->fine);
        free(f->fcount);
        free(f->fflag);
        free(f->fcand);
        free(f->floc.gmap);
        h->node[j].f = NULL;
    }
    free(h->fit);
    h->fit = NULL;
}

void ah__hist_free(void *rep)
{
    hist *h = rep;
    if (!h)
        return;
    free(h->grids);
    if (h->node) {
        ah__hist_fit_free(h);
        for (size_t j = 0; j < h->D; j++) {
            free(h->node[j].mem);
            if (h->node[j].loc)
                free(h->node[j].loc->gmap);
            free(h->node[j].loc);
        }
    }
    tables_free(&h->tab);
    free(h->node);
    free(h);
}

/* Bins actually used for a set of n rows: the requested count B, but at
 * least one bin per 2 values, and for a small set (a conditional model's
 * label sets) two bins a value up to SMALL_SET_BINS (and at least 16):
 * min(B, max(n / 2, min(2 n, SMALL_SET_BINS))).  Bins that hold no value
 * cost little (zero runs in the file, bit-packed tables in memory), and a
 * set of a few hundred rows needs them: over the 104 tasks of
 * docs/RESULTS.md with the background cut to 1,000, 2,000 and 5,000 rows,
 * one bin per 2 values put the default's AUCs up to 0.0083 from the exact
 * ones, this rule 0.0038 (B / 2 in place of 512: the same at 1,000 and
 * 2,000 rows, 33% larger files in full); sets of 1,024 rows and more keep
 * one bin per 2 values (experiments/small_backgrounds.py). */
#define SMALL_SET_BINS 512u

int ah__hist_effective_bins(int bins, size_t n)
{
    if (bins <= 0)
        return bins;
    size_t half = (n + 1) / 2, twice = 2 * n, cap = SMALL_SET_BINS;
    cap = twice < cap ? twice : cap;
    cap = cap > half ? cap : half;
    if (cap < 16)
        cap = 16;
    return (size_t)bins > cap ? (int)cap : bins;
}

hist *ah__hist_new(size_t D, size_t n, const ah_fit_options *o)
{
    hist *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->D = D;
    h->n = n;
    h->bins = ah__hist_effective_bins(o->bins, n);
    h->binning = o->binning;
    h->atom_share = o->atom_share;
    h->node = calloc(D ? D : 1, sizeof *h->node);
    h->grids = calloc(D ? D : 1, sizeof *h->grids);
    if (!h->node || !h->grids) {
        free(h->node);
        free(h->grids);
        free(h);
        return NULL;
    }
    for (size_t j = 0; j < D; j++)
        h->node[j].grid = &h->grids[j];
    return h;
}

/* Merge the equal-width grid over [lo, hi] with the sorted atoms, as the
 * fit does; returns the number of edges written (at most B + 1 + na). */
size_t ah__hist_grid_merge(double lo, double hi, size_t B, const double *atom,
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
int ah__hist_node_is_grid(const hnode *nd, size_t B)
{
    if (B == 0 || nd->nb == 0 || nd->nb > B + nd->na)
        return 0;
    double *tmp = malloc((B + 1 + nd->na) * sizeof *tmp);
    if (!tmp)
        return -1;
    size_t m = ah__hist_grid_merge(nd->edges[0], nd->edges[nd->nb], B,
                                   nd->atom, nd->na, tmp);
    int same = m == (size_t)nd->nb + 1 &&
               memcmp(tmp, nd->edges, m * sizeof *tmp) == 0;
    free(tmp);
    return same;
}

static size_t hist_memory_bytes(const void *rep)
{
    const hist *h = rep;
    size_t s = sizeof *h + h->D * (sizeof *h->node + sizeof *h->grids);
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        s += (size_t)nd->na * 12; /* atoms and their counts */
        if (nd->grid->table)
            s += ah__grid_table_bytes(nd->grid);
        if (nd->edges) /* edges, count, above, aabove */
            s += ((size_t)nd->nb + 1) * 8 + (2 * (size_t)nd->nb + nd->na) * 4;
        if (nd->loc)
            s += sizeof *nd->loc + (nd->loc->gmap ? (size_t)nd->loc->B * 4 : 0);
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
                                     node_count(nd, i), 0};
            k++;
        }
    }
    *n = k;
    return k <= cap ? AH_OK : AH_ERR_ARG;
}

const ah__rep_ops ah__hist_ops = {
    .name = "hist",
    .passes = 1,
    .begin = ah__hist_begin,
    .fit_bytes = ah__hist_fit_bytes,
    .add_rows = ah__hist_add_rows,
    .end_pass = ah__hist_end_pass,
    .pvalue = ah__hist_pvalue,
    .pvalue_many = ah__hist_pvalue_many,
    .count_many = ah__hist_count_many,
    .count_row = ah__hist_count_row,
    .prefetch = ah__hist_prefetch,
    .payload_bytes = ah__hist_payload_bytes,
    .write = ah__hist_write,
    .read = ah__hist_read,
    .memory_bytes = hist_memory_bytes,
    .read_bytes = ah__hist_read_bytes,
    .range_exceeded = ah__hist_range_exceeded,
    .counts_bytes = ah__hist_counts_bytes,
    .counts_write = ah__hist_counts_write,
    .counts_read = ah__hist_counts_read,
    .counts_merge = ah__hist_counts_merge,
    .node_bins = hist_node_bins,
    .node_atoms = hist_node_atoms,
    .node_cells = hist_node_cells,
    .free = ah__hist_free,
};
