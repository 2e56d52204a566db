/*
 * hist.h - what the parts of the histogram representation share (internal).
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
 * range and heavy-hitter candidates; pass 2 (hist_fit.c) counts
 * candidates exactly and the other values into a fine grid split at the
 * candidates.  Then
 * candidates below the atom share are merged into their bins and the final
 * edges are chosen among the fine edges: the equal-width grid itself, or
 * quantile, tail-refined or NumPy-'auto' edges read off a fine grid of
 * max(1024, 4 bins) bins.  Memory during the fit is O(D x fine bins),
 * whatever N is.  A set of n rows gets min(B, max(n / 2, min(2 n, 512)))
 * bins (ah__hist_effective_bins).
 *
 * Queries: an equal-width node finds its bin by arithmetic, corrected by
 * comparing with the edges (so rounding never changes an answer), with the
 * vector kernels of grid_count.c for runs of values; when its atoms are
 * only at its ends (an implicit grid) it keeps neither edges (recomputed
 * by the same function) nor bin counts (differences of the cumulative
 * ones): only its cumulative counts, 2 or 4 bytes a bin, or bit-packed
 * in blocks (packed_cum.h) when that takes at most half as much, as for
 * the sparse tables of small label sets.  Other nodes use binary search.
 * Cost per value: O(1), or O(log bins).  A loaded node holds no fitting
 * state (hfit), and its grid lies in the set's array of grids.
 *
 * The representation is split by what it does: hist.c the structure, its
 * life and query index, and ah__hist_ops (the one table of its entry
 * points); hist_fit.c building nodes from a fit; hist_query.c the p-value
 * and count lookups (the hot paths); hist_io.c the node encoding (write,
 * read, sizes) and the counts of a shard.  The small helpers that more
 * than one part calls on a hot or per-value path stay static inline here.
 */
#ifndef AH_HIST_H
#define AH_HIST_H

#include "bytes.h"
#include "counts_codec.h"
#include "grid_count.h"
#include "model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* A node's fitting state: allocated when a fit begins, freed when it
 * ends, so a loaded or finished model carries none of it. */
typedef struct hfit {
    double *fine;     /* nf + 1 fine edges */
    uint32_t *fcount; /* nf */
    uint8_t *fflag;   /* nf + 1: FLAG_GRID for equal-width grid edges */
    int8_t *fcand;    /* nf + 1: index of the candidate at that edge, or -1 */
    locator floc;     /* O(1) search of the fine edges */
    uint32_t nf, ncand;
    double cand[CAND_MAX];
    uint32_t ccount[CAND_MAX];
} hfit;

typedef struct hnode {
    hfit *f;          /* fitting state (hist.fit[j]) or NULL */
    /* The model: one allocation `mem` holds every array below. */
    void *mem;
    uint32_t nb, na;
    double *edges;    /* nb + 1 */
    double *atom;     /* na, increasing, each equal to an edge */
    uint32_t *count;  /* nb: non-atom values in the bin */
    uint32_t *above;  /* nb: values in cells above the bin (derived) */
    uint32_t *acount; /* na */
    uint32_t *aabove; /* na: values strictly above the atom (derived) */
    uint8_t cenc, ck; /* count's encoding in the file (AH__COUNTS_* and
                         Rice k): the smallest when fitted, as read when
                         loaded; the search for the smallest is the costly
                         part of saving, so it is done once */
    locator *loc;     /* O(1) search of the edges for explicit grid nodes,
                         or NULL: binary search */
    /* Grid nodes answer from grid (grid_count.h): an implicit grid
     * (edges == NULL) has exactly the edges of gB equal-width bins over
     * [lo, hi] (atoms only at its ends), computed when needed, and reads
     * only its gB + 5 cumulative counts cum, 2 or 4 bytes a bin; above and
     * aabove are NULL.  A grid node with atoms inside (edges kept) has a
     * pair table: for each cell {#{b >= x}, #{b > x}}, or {0, UINT32_MAX}
     * when an atom splits that grid bin (the exact path answers). */
    ah__grid *grid;   /* &hist.grids[j]; grid->table: cum (stride 1) or
                         the pair table (stride 2), in the set's chunks
                         (table_alloc), 2-byte entries when narrow, bit
                         packed when packed; else NULL */
} hnode;

/* The nodes' query tables, side by side in large chunks (table_alloc). */
typedef struct tables {
    unsigned char **chunk;
    size_t nchunks, cap, used, size; /* used of the last chunk's size */
    int compact; /* bit-pack the tables it halves (ah__rep_ops.read) */
    int packed;  /* some table is bit-packed (the lookups test per node) */
} tables;

typedef struct hist {
    tables tab;
    size_t D, n;
    int changed;      /* pass 2 saw a value outside the pass-1 range */
    int bins, binning;
    double atom_share;
    hnode *node;
    hfit *fit;        /* D fitting states while a fit runs, else NULL */
    size_t payload;   /* bytes of the encoded nodes, once complete (0 for
                         a set still fitting) */
    /* Each node's grid, side by side (64 bytes a node, where a node is
     * three times that): one input's lookups walk every node, and this is
     * what they read of it. */
    ah__grid *grids;
} hist;

/* Index of x in a[0..n) or -1. */
static inline long find_exact(const double *a, size_t n, double x)
{
    size_t k = ah__upper_bound(a, n, x);
    return (k > 0 && a[k - 1] == x) ? (long)(k - 1) : -1;
}

/* Equal-width edge i of B over [lo, hi]; written so that hi - lo may
 * exceed the double range without overflow, monotone in i. */
static inline double grid_edge(double lo, double hi, size_t i, size_t B)
{
    if (i == 0)
        return lo;
    if (i >= B)
        return hi;
    double w = hi * 0.5 - lo * 0.5;
    double e = lo + w * (2.0 * (double)i / (double)B);
    return e > hi ? hi : e;
}

/* The bin k of e[0..nb] holding x: e[k] <= x < e[k+1], or k = nb - 1 for
 * x = e[nb].  Requires nb >= 1 and e[0] <= x <= e[nb]. */
static inline size_t locator_find(const locator *L, const double *e,
                                  size_t nb, double x)
{
    size_t k;
    if (L && L->B) {
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

/* hist.c: the structure, its query index and its life. */
int ah__hist_locator_build(locator *L, const double *e, size_t nb, size_t B);
int ah__hist_node_alloc_final(hnode *h, uint32_t nb, uint32_t na);
void ah__hist_node_derive(hnode *h);
int ah__hist_atoms_at_ends(const hnode *nd, double lo, double hi);
int ah__hist_node_index(hnode *nd, size_t B, tables *tab);
/* ah__hist_node_index of a node known to be the grid of B bins merged
 * with its atoms (a grid node read from a file, whose edges were made so). */
int ah__hist_grid_index(hnode *nd, size_t B, tables *tab);
int ah__hist_node_implicit(hnode *nd, size_t B, double lo, double hi,
                           double scale, tables *tab);
size_t ah__hist_grid_merge(double lo, double hi, size_t B, const double *atom,
                           size_t na, double *out);
int ah__hist_node_is_grid(const hnode *nd, size_t B);
int ah__hist_effective_bins(int bins, size_t n);
hist *ah__hist_new(size_t D, size_t n, const ah_fit_options *o);
void ah__hist_free(void *rep);
/* Free the fitting states (h->fit) and detach them from the nodes. */
void ah__hist_fit_free(hist *h);

/* The entry points of ah__hist_ops (hist.c), by the part that has them;
 * ah__rep_ops (model.h) says what each must do. */
int ah__hist_begin(void **rep, size_t D, const ah__pass1 *p1,
                   const ah_fit_options *o, ah_diag *diag);
void ah__hist_add_rows(void *rep, int pass, const double *const *rows,
                       size_t k);
int ah__hist_end_pass(void *rep, int pass, ah_diag *diag);

void ah__hist_pvalue(const void *rep, size_t j, double x, double out[4]);
void ah__hist_pvalue_many(const void *rep, size_t j, const double *x,
                          size_t count, double *out);
void ah__hist_count_many(const void *rep, size_t j, const double *x,
                         size_t count, uint32_t *gt, uint32_t *ge);
void ah__hist_count_row(const void *rep, size_t j0, size_t nj,
                        const double *x, uint32_t *gt, uint32_t *ge);
void ah__hist_prefetch(const void *rep, size_t j0, size_t nj,
                       const double *x);

size_t ah__hist_payload_bytes(const void *rep);
size_t ah__hist_payload_measure(const hist *h);
void ah__hist_write(const void *rep, unsigned char *buf);
int ah__hist_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                  int compact, int threads, const unsigned char *buf,
                  size_t len, size_t *used, ah_diag *diag);
/* Move more's chunks to the end of t's (more is left empty; on failure
 * its chunks are freed): tables read in parallel become the set's. */
int ah__tables_append(tables *t, tables *more);
size_t ah__hist_read_bytes(size_t D, const unsigned char *buf, size_t len);
int ah__hist_range_exceeded(const void *rep);
size_t ah__hist_counts_bytes(const void *rep);
void ah__hist_counts_write(const void *rep, unsigned char *buf);
int ah__hist_counts_read(void *rep, const unsigned char *buf, size_t len,
                         uint64_t rows, ah_diag *diag);
void ah__hist_counts_merge(void *rep, const void *other);

/* Count of bin k of the node: stored, or for an implicit grid the
 * difference of its cumulative counts (cells 2 + k and 3 + k). */
static inline uint32_t node_count(const hnode *nd, size_t k)
{
    if (nd->count)
        return nd->count[k];
    return ah__grid_entry(nd->grid, 2 + k) - ah__grid_entry(nd->grid, 3 + k);
}

/* Edge k of the node, stored or implicit. */
static inline double node_edge(const hnode *nd, size_t k)
{
    return nd->edges ? nd->edges[k]
                     : grid_edge(nd->grid->lo, nd->grid->hi, k, nd->grid->B);
}

#endif
