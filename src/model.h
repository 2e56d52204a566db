/*
 * model.h - the model object and the interface every representation
 * implements (internal).
 *
 * A model holds one "set" of per-node representations for the pooled
 * background and one per label of a conditional fit.  A representation is a
 * struct of function pointers (ah__rep_ops); adding a method means adding
 * one file that fills one of these.
 */
#ifndef AH_MODEL_H
#define AH_MODEL_H

#include "internal.h"

/* Per-node summary gathered in the first pass over the background. */
typedef struct ah__node_pass1 {
    double min, max;
} ah__node_pass1;

/*
 * Misra-Gries heavy-hitter summary of one node: every value that takes more
 * than n/(AH__MG_SLOTS+1) of the node's background is guaranteed to be among
 * the candidates, so atoms are found in one streaming pass with O(1) memory.
 */
#define AH__MG_SLOTS 32
typedef struct ah__mg {
    double value[AH__MG_SLOTS];
    uint32_t count[AH__MG_SLOTS];
    uint32_t used;
} ah__mg;

/* First-pass state of one set (pooled or one label). */
typedef struct ah__pass1 {
    size_t n;               /* rows in this set */
    int compact;            /* see ah__rep_ops.read */
    ah__node_pass1 *node;   /* D entries */
    ah__mg *mg;             /* D entries, or NULL when the method needs none */
} ah__pass1;

typedef struct ah__rep_ops {
    const char *name;
    /* Passes over the background after the first one (at least 1). */
    int passes;
    /* Create an empty representation for D nodes from the first pass. */
    int (*begin)(void **rep, size_t D, const ah__pass1 *p1,
                 const ah_fit_options *opts, ah_diag *diag);
    /* Account k background rows (row pointers, D values each) during pass
     * `pass` (1-based after pass 1).  Rows arrive in file order. */
    void (*add_rows)(void *rep, int pass, const double *const *rows,
                     size_t k);
    /* Bytes of the fitting state that begin allocates for a set of n rows
     * and the last end_pass frees (SIZE_MAX on overflow), so that a fit
     * can count the sets in groups that fit in memory; NULL when the state
     * is the representation itself (sorted values: no gain in groups). */
    size_t (*fit_bytes)(size_t D, size_t n, const ah_fit_options *opts);
    /* End of pass `pass`: sort, choose edges, prepare queries. */
    int (*end_pass)(void *rep, int pass, ah_diag *diag);
    /* Upper and lower p-value ranges of x at node j:
     * out = {up_min, up_max, lo_min, lo_max}. */
    void (*pvalue)(const void *rep, size_t j, double x, double out[4]);
    /* The same for count values of node j: out[4i..4i+3] for x[i].  May
     * be NULL (pvalue is then called per value). */
    void (*pvalue_many)(const void *rep, size_t j, const double *x,
                        size_t count, double *out);
    /* Count bounds of node j for count values, the form the p-values
     * come from: gt[i] <= #{b > x[i]} and ge[i] >= #{b >= x[i]}, with
     * p = (gt/(n+1), (ge+1)/(n+1)) upper and ((n-ge)/(n+1),
     * (n-gt+1)/(n+1)) lower, n the set's size.  May be NULL (pvalue_many
     * is then used). */
    void (*count_many)(const void *rep, size_t j, const double *x,
                       size_t count, uint32_t *gt, uint32_t *ge);
    /* count_many for one input: x[j] at node j0 + j, j < nj, into gt[j]
     * and ge[j], the same bits as count_many of each value alone.  May
     * be NULL (count_many is then called per node). */
    void (*count_row)(const void *rep, size_t j0, size_t nj, const double *x,
                      uint32_t *gt, uint32_t *ge);
    /* A hint: x[0..nj) will be looked up at nodes j0.. next, so start
     * fetching what that reads.  No effect on any result; may be NULL. */
    void (*prefetch)(const void *rep, size_t j0, size_t nj, const double *x);
    /* Serialised payload: size, write into buf (size bytes), read back. */
    size_t (*payload_bytes)(const void *rep);
    void (*write)(const void *rep, unsigned char *buf);
    /* compact: the set is one of a model's several (a conditional model,
     * one set per label), where memory weighs more than lookup speed: the
     * histogram then bit-packs every table that it halves (about 1.3x
     * slower batch lookups); a pooled model's one set keeps its fastest
     * tables.  Set for begin by ah__pass1.compact.  Results do not
     * depend on it.  threads: read the nodes on that many threads (0: as
     * many as the payload's size warrants, up to the cores); the result,
     * and any error, do not depend on it. */
    int (*read)(void **rep, size_t D, size_t n, const ah_fit_options *opts,
                int compact, int threads, const unsigned char *buf,
                size_t len, size_t *used, ah_diag *diag);
    size_t (*memory_bytes)(const void *rep);
    /* The memory read will take for the payload buf[0..len), from its
     * headers alone, or NULL when that is within a small factor of len
     * (sorted backgrounds).  Malformed headers end the estimate; read
     * reports them. */
    size_t (*read_bytes)(size_t D, const unsigned char *buf, size_t len);
    /* Fitting in shards (shard.c), between the counting pass and its end;
     * NULL for representations whose shards cannot be merged.  Whether a
     * value fell outside the first pass's range; the size of the counts
     * serialised; write them; read serialised counts, rows rows of the
     * set, into a representation just begun (nothing counted). */
    int (*range_exceeded)(const void *rep);
    size_t (*counts_bytes)(const void *rep);
    void (*counts_write)(const void *rep, unsigned char *buf);
    int (*counts_read)(void *rep, const unsigned char *buf, size_t len,
                       uint64_t rows, ah_diag *diag);
    /* The same from another shard's representation of the same plan, in
     * memory (the caller has checked that the sums fit). */
    void (*counts_merge)(void *rep, const void *other);
    /* Bins of node j (hist) or 0 when the notion does not apply. */
    size_t (*node_bins)(const void *rep, size_t j);
    size_t (*node_atoms)(const void *rep, size_t j);
    int (*node_cells)(const void *rep, size_t j, ah_cell *cells, size_t cap,
                      size_t *n);
    void (*free)(void *rep);
} ah__rep_ops;

extern const ah__rep_ops ah__hist_ops;

/* ah__hist_ops.count_many with its grid kernel chosen (AH__ISA_* of
 * grid_count.h, lowered to what the CPU runs): the tests hold every
 * kernel against the scalar one. */
void ah__hist_count_isa(const void *rep, size_t j, const double *x,
                        size_t count, uint32_t *gt, uint32_t *ge, int isa);
/* Bytes of a histogram set's fit state (its fine grids) for n rows over
 * D nodes, SIZE_MAX when that overflows (ah__hist_ops.fit_bytes): a plan
 * that no machine could count against is refused before anything is
 * allocated. */
size_t ah__hist_fit_bytes(size_t D, size_t n, const ah_fit_options *o);
extern const ah__rep_ops ah__empirical_ops;
extern const ah__rep_ops ah__kde_ops;

const ah__rep_ops *ah__ops_for(int method);

typedef struct ah__set {
    int64_t label; /* AH_POOLED for the pooled set */
    size_t n;      /* background rows in this set */
    void *rep;
} ah__set;

struct ah__basis;

struct ah_model {
    ah_fit_options opts;
    const ah__rep_ops *ops;
    size_t D, N;     /* D: nodes the representations hold (scanned)    */
    size_t D_in;     /* values per input row: D, or the basis's d       */
    struct ah__basis *basis; /* NULL, or the rows' transform (basis.h)  */
    size_t nsets;    /* 1 + number of labels */
    ah__set *sets;   /* sets[0] pooled, then increasing label */
    int64_t *labels; /* nsets - 1 labels, increasing (points into a copy) */
    size_t file_bytes;
    ah_threshold threshold; /* source AH_THRESHOLD_NONE: none */
};

/* The threshold's checks, and its block in the model file (threshold.c):
 * AH__THRESHOLD_BYTES after the header of a format 1.2 file. */
#define AH__THRESHOLD_BYTES 40
int ah__threshold_check(const ah_threshold *t, ah_diag *diag);
void ah__threshold_write(const ah_threshold *t, unsigned char *p);
int ah__threshold_read(ah_threshold *t, const unsigned char *p,
                       const char *name, ah_diag *diag);

/* ah_model_load_memory with the sets' nodes read on `threads` threads
 * (0: as many as each set's size warrants; the tests force 1 and more):
 * the same model and the same errors whatever the count. */
int ah__model_load_memory_threads(ah_model **out, const void *buf,
                                  size_t len, const char *name, int threads,
                                  ah_diag *diag);

/* Find the set for a label: index into sets, or 0 (pooled) when unseen;
 * *seen tells which. */
size_t ah__model_set_for(const ah_model *m, int64_t label, int *seen);

/* Exact counting p-values over a sorted array (empirical rule), shared by
 * the empirical and KDE representations. */
void ah__sorted_pvalue(const double *sorted, size_t n, double x,
                       double out[4]);

#endif
