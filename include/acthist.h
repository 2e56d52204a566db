/*
 * acthist.h - compact histograms of neural-network activations, empirical
 * p-values from them, and non-parametric subset scanning.
 *
 * This is the only public header of libacthist and its API reference.  It
 * reads from simple to advanced:
 *
 *   1. status codes, diagnostics, the version and struct sizes at run time
 *   2. .npy arrays: a streaming reader and an atomic writer
 *   3. models: fit a background, save, load, describe
 *   4. p-values of new activations against a model
 *   5. subset scanning: scoring functions, individual and group scans
 *   6. detection metrics: AUC, ROC points, TPR at fixed FPR
 *
 * Conventions.
 *   - Every fallible call returns an int status, AH_OK (0) on success, and
 *     fills an optional ah_diag (may be NULL) with a message naming the file
 *     and, for data, the row and column.
 *   - The library never prints, aborts or exits, and keeps no mutable global
 *     state: every function is safe to call from several threads on distinct
 *     objects, and the const query functions on one shared model (below).
 *   - Sharing one model between threads, as an inference server does: once
 *     ah_model_fit, ah_model_load or ah_shard_finish has returned it, a
 *     model is never written again until ah_model_free.  It holds no cache,
 *     scratch buffer or lazily built table; each call allocates its own
 *     scratch (and a group scan its own state).  So any number of threads
 *     may at once call, on one model: ah_pvalues_in, ah_score_in,
 *     ah_pvalues, ah_pvalues_f32, ah_score, ah_score_f32, ah_pvalue_width, ah_model_get_info, ah_model_labels,
 *     ah_model_nodes, ah_model_tail, ah_model_node_cells, ah_model_save
 *     and ah_model_save_memory (each thread its own output buffers, path
 *     and ah_diag).  ah_model_free must not overlap any of them.  The scans
 *     and metrics (ah_scan_individual, ah_scan_individual_rows,
 *     ah_scan_group, ah_auc, ...) touch no model and only read their
 *     inputs: shared inputs are fine, outputs must be distinct.  Likewise a
 *     merged plan may be shared by threads that each ah_shard_count their
 *     own rows against it (acthist fit --threads does).  A call's `threads`
 *     argument is that call's own pool: N server threads each passing k
 *     run up to N k threads; pass 1 to keep to the caller's thread.
 *     tests/test_threads_shared_model.c runs these calls at once (saving
 *     to memory only) under ThreadSanitizer (make test-tsan), bit for bit
 *     against one thread.
 *   - Matrices are row-major: pointer, rows, columns, row stride (in
 *     elements).  Bulk outputs go into caller buffers whose sizes are stated.
 *   - Objects are opaque handles in create/free pairs; every free accepts NULL.
 *
 * Notation (docs/METHOD.md, the mathematics of the library): a background
 * column has N values b_1..b_N; for a new activation x the exact upper-tail
 * p-value range is
 *   p_min = #{b > x} / (N+1),  p_max = (#{b >= x} + 1) / (N+1).
 */
#ifndef ACTHIST_H
#define ACTHIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AH_VERSION_MAJOR 0
#define AH_VERSION_MINOR 1
#define AH_VERSION_PATCH 0
#define AH_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* 1. Status codes and diagnostics                                          */
/* ------------------------------------------------------------------------ */

/* Fixed values: they are part of the ABI and never renumbered. */
enum ah_status {
    AH_OK = 0,
    AH_ERR_ARG = 1,      /* invalid argument (NULL, zero size, bad option)  */
    AH_ERR_IO = 2,       /* open/read/write/rename failed                    */
    AH_ERR_FORMAT = 3,   /* malformed file: header, dtype, truncation        */
    AH_ERR_NOMEM = 4,    /* allocation failed                                */
    AH_ERR_OVERFLOW = 5, /* a size computation would overflow                */
    AH_ERR_VALUE = 6,    /* NaN or infinity in activations, bad label        */
    AH_ERR_SHAPE = 7,    /* D or row count does not match                    */
    AH_ERR_VERSION = 8,  /* model file of an unsupported version             */
    AH_ERR_CHECKSUM = 9, /* model file corrupted                             */
    AH_ERR_EMPTY = 10    /* no rows / no nodes                               */
};

/* The name of a status code ("AH_ERR_FORMAT"), never NULL. */
const char *ah_status_name(int status);

/* Diagnostic filled by failing calls.  row/col are -1 when not applicable. */
typedef struct ah_diag {
    int status;
    int64_t row, col;
    char message[512];
} ah_diag;

/*
 * The library that is running, for a program or a binding that was built
 * against another header.  ah_version is the AH_VERSION_STRING this
 * library was compiled with ("0.1.0"; static storage, never NULL); an ABI
 * break is a new major version (the shared library's soname carries it).
 * ah_struct_size is sizeof the public struct `which` in this library, 0
 * for a value outside enum ah_struct: a binding that mirrors a struct
 * (ctypes, cffi) compares its own size with it on load and refuses a
 * library of another layout.  The values are fixed, never renumbered.
 */
const char *ah_version(void);

enum ah_struct {
    AH_STRUCT_DIAG = 0,          /* ah_diag                                */
    AH_STRUCT_FIT_OPTIONS = 1,   /* ah_fit_options                         */
    AH_STRUCT_ROW_SOURCE = 2,    /* ah_row_source                          */
    AH_STRUCT_SHARD_INFO = 3,    /* ah_shard_info                          */
    AH_STRUCT_MODEL_INFO = 4,    /* ah_model_info                          */
    AH_STRUCT_THRESHOLD = 5,     /* ah_threshold                           */
    AH_STRUCT_CELL = 6,          /* ah_cell                                */
    AH_STRUCT_SCAN_RESULT = 7,   /* ah_scan_result                         */
    AH_STRUCT_GROUP_OPTIONS = 8, /* ah_group_options                       */
    AH_STRUCT_GROUP_RESULT = 9,  /* ah_group_result                        */
    AH_STRUCT_INPUT = 10,        /* ah_input                               */
    AH_STRUCT_QUERY_OPTIONS = 11 /* ah_query_options                       */
};
size_t ah_struct_size(int which);

/* ------------------------------------------------------------------------ */
/* 2. .npy arrays                                                           */
/* ------------------------------------------------------------------------ */
/*
 * The reader accepts format versions 1.0, 2.0 and 3.0; dtypes float16/32/64
 * and signed/unsigned integers of 1-8 bytes, in either byte order; C or
 * Fortran order.  Shape (n, d1, d2, ...) is read as n rows x D = d1*d2*...
 * columns; a 1-D array (n,) is n rows x 1 column; a 0-D array is rejected.
 * The header is bounded (at most 1 MiB), the shape product is overflow-
 * checked and the data length is checked against the file size on open.
 * Rows are read in chunks, so files larger than memory can be streamed.
 */
typedef struct ah_npy_reader ah_npy_reader;

/* Open a file.  On failure *out is NULL and diag names the file. */
int ah_npy_open(ah_npy_reader **out, const char *path, ah_diag *diag);
/* Open an in-memory .npy image; buf must outlive the reader (not copied).
 * name is used in messages (may be NULL). */
int ah_npy_open_memory(ah_npy_reader **out, const void *buf, size_t len,
                       const char *name, ah_diag *diag);
void ah_npy_close(ah_npy_reader *r);

size_t ah_npy_rows(const ah_npy_reader *r);
size_t ah_npy_cols(const ah_npy_reader *r);
/* The dtype descriptor as written in the header, e.g. "<f4". */
const char *ah_npy_dtype(const ah_npy_reader *r);
/* 1 for integer dtypes, 0 for floating point. */
int ah_npy_is_integer(const ah_npy_reader *r);
/* Number of dimensions and the shape as stored (up to 32 dimensions). */
int ah_npy_ndim(const ah_npy_reader *r);
const uint64_t *ah_npy_shape(const ah_npy_reader *r);

/*
 * Read the next up to max_rows rows into dst (row-major, ld >= cols doubles
 * per row), converting to double.  *got receives the number of rows read, 0
 * at the end.  When check_finite is nonzero a NaN or infinity fails with
 * AH_ERR_VALUE naming the (0-based) row and column.
 */
int ah_npy_read_rows(ah_npy_reader *r, double *dst, size_t max_rows, size_t ld,
                     int check_finite, size_t *got, ah_diag *diag);
/* Start again from the first row. */
int ah_npy_rewind(ah_npy_reader *r, ah_diag *diag);
/* Go on from row (0..rows): to read a slice of a file, such as one
 * process's share of the background in a fit in shards.  Costs nothing. */
int ah_npy_seek(ah_npy_reader *r, size_t row, ah_diag *diag);

/*
 * Read a whole file of integer labels: a 1-D array (or (n, 1)) of any integer
 * dtype, or floats holding integral values.  *out is malloc'ed and owned by the
 * caller (free()).
 */
int ah_npy_read_labels(const char *path, int64_t **out, size_t *n,
                       ah_diag *diag);

/*
 * How every output of the library is written (models, shards, arrays,
 * ah_file_write): to a path that names a regular file or nothing yet, the
 * data goes to a temporary file beside it (unnamed where the file system
 * allows, so a killed process leaves nothing behind) that is renamed into
 * place on success: a reader sees the old file or the whole new one, never
 * half of one.  A file that is replaced keeps its permissions; a new one
 * gets 0666 & ~umask.  A path that names a character device or a FIFO
 * (/dev/null, /dev/stdout, a pipe) is written in place, never replaced;
 * a directory, block device or socket is refused with AH_ERR_IO.
 *
 * The npy writer: ah_npy_writer_commit renames into place; abort (or a
 * failure anywhere) removes the temporary file.
 */
typedef struct ah_npy_writer ah_npy_writer;
int ah_npy_writer_open(ah_npy_writer **out, const char *path,
                       const uint64_t *shape, int ndim, ah_diag *diag);
/* Append count doubles in C order. */
int ah_npy_writer_write(ah_npy_writer *w, const double *data, size_t count,
                        ah_diag *diag);
/* Checks that exactly prod(shape) values were written, then renames into
 * place; frees w in every case. */
int ah_npy_writer_commit(ah_npy_writer *w, ah_diag *diag);
/* Removes the temporary file and frees w; accepts NULL. */
void ah_npy_writer_abort(ah_npy_writer *w);
/* Convenience: write a whole float64 array atomically. */
int ah_npy_save(const char *path, const double *data, const uint64_t *shape,
                int ndim, ah_diag *diag);
/* Write len bytes to path by the rules above (text outputs: CSV, SVG). */
int ah_file_write(const char *path, const void *buf, size_t len,
                  ah_diag *diag);

/* ------------------------------------------------------------------------ */
/* 3. Models                                                                */
/* ------------------------------------------------------------------------ */

enum ah_method {
    AH_METHOD_HIST = 0,      /* per-node histograms with exact atoms       */
    AH_METHOD_EMPIRICAL = 1, /* sorted background columns (exact)          */
    AH_METHOD_KDE = 2        /* Gaussian kernel density, Scott bandwidth   */
};

enum ah_tail {
    /* Fit only: chosen from the background, on the evidence of every real
     * layer and anomaly measured (docs/RESULTS.md, "Default tail"):
     * AH_TAIL_TWO when the rows have labels, AH_TAIL_LOWER when not.  The
     * model stores what was chosen. */
    AH_TAIL_DEFAULT = -2,
    AH_TAIL_UPPER = 0, /* higher activation = more surprising (the paper's
                          and IBM ART's, with no labels)                  */
    AH_TAIL_LOWER = 1, /* mirror image                                    */
    AH_TAIL_TWO = 2,   /* min(1, 2 min(upper, lower)) at each end          */
    AH_TAIL_BOTH = 3   /* upper and lower as 2D separate candidates        */
};

enum ah_binning {
    AH_BINNING_WIDTH = 0,   /* equal-width edges between min and max       */
    AH_BINNING_QUANTILE = 1, /* edges at (approximate) quantiles           */
    AH_BINNING_TAILS = 2     /* edges where each tail's count crosses
                                geometric levels N/2 ... 1: small p-values
                                keep a bounded relative error            */
};

#define AH_BINS_AUTO 0 /* NumPy's 'auto': max of Sturges and Freedman-Diaconis */

/*
 * The nodes a model scans (docs/METHOD.md, "Decorrelated basis").  With
 * AH_BASIS_PCA a fit learns, from the background alone, each label's mean
 * mu and its first r principal components V (and the pooled set's, for
 * pooled scoring and unseen labels), and each row x of D values is scanned
 * as the D + r (+ 1) nodes [x, V^T (x - mu), |residual|]: the layer's own
 * nodes, its coordinates along the components, and, when r < D, the norm
 * of what the components leave out.  A row that is unusual only as a
 * combination of nodes stands out in single components.  Callers still
 * pass rows of D values; p-values come out over the D + r (+ 1) nodes
 * (ah_pvalue_width).  The basis costs D^2 doubles per label while fitting,
 * an O(D^3) eigendecomposition per label, (8 + 4 r) D bytes per label in
 * the model and 2 D r flops per scored row, so D is at most
 * AH_BASIS_MAX_NODES.
 */
enum ah_basis {
    AH_BASIS_DEFAULT = -2, /* fit only: AH_BASIS_NONE, why in
                              docs/RESULTS.md ("Against the detectors
                              users pick instead"); the model stores
                              what was chosen                           */
    AH_BASIS_NONE = 0,     /* the layer's nodes only                      */
    AH_BASIS_PCA = 1       /* the nodes, principal components, residual   */
};
#define AH_BASIS_MAX_NODES 2048

typedef struct ah_fit_options {
    int method;       /* enum ah_method, default AH_METHOD_HIST              */
    int tail;         /* enum ah_tail, default AH_TAIL_DEFAULT                */
    int bins;         /* bins per node, AH_BINS_AUTO or 1..65536; default
                         3072 (the fidelity evidence in docs/RESULTS.md)    */
    int binning;      /* enum ah_binning                                       */
    double atom_share;/* a value is an atom when at least this share of a
                         node's background takes it exactly: (0, 1],
                         default 1/32                                        */
    size_t chunk_rows;/* rows per streamed chunk, 1..2^30 or 0 for the
                         default (1024); results do not depend on it         */
    int basis;        /* enum ah_basis, default AH_BASIS_DEFAULT             */
    int basis_components; /* AH_BASIS_PCA: components kept per label, at
                         most D: 1..AH_BASIS_MAX_NODES, default 256          */
    size_t fit_memory_mb; /* megabytes the counting state of a fit may take
                         at once (AH_OPTION_FIT_MEMORY_MB): the sets are
                         counted in groups that fit, one more pass over the
                         background for each group after the first; 0
                         (default): half of what this process may use.  The
                         model does not depend on it                       */
} ah_fit_options;

/* Fill the defaults documented above. */
void ah_fit_options_default(ah_fit_options *opts);
/* Names for messages and files: "hist", "upper", "width", ... (never NULL;
 * "unknown" for a value outside the enumeration, so that 0, 1, ... up to
 * the first "unknown" lists every value). */
const char *ah_method_name(int method);
const char *ah_tail_name(int tail);
const char *ah_binning_name(int binning);
const char *ah_basis_name(int basis);
/* Parse a name; return -1 when unknown ("default" parses as
 * AH_TAIL_DEFAULT, -2). */
int ah_method_parse(const char *s);
int ah_tail_parse(const char *s);
int ah_binning_parse(const char *s);
int ah_basis_parse(const char *s);

/*
 * Ranges of the numeric options, in one table.  Every call that takes one
 * of these options checks it there and fails with AH_ERR_ARG and a message
 * naming the option and its range, such as
 *   "alpha_max must be in [1e-12, 1], not 2";
 * the command line and the Python binding check their arguments with
 * ah_option_check before doing anything else, so all of them refuse the
 * same values in the same words.
 *
 *   option                 range                 taken by
 *   AH_OPTION_BINS         1..65536 (and 'auto',  ah_fit_options.bins
 *                          AH_BINS_AUTO, apart)
 *   AH_OPTION_ATOM_SHARE   (0, 1]                 ah_fit_options.atom_share
 *   AH_OPTION_CHUNK_ROWS   1..2^30 (0 in          ah_fit_options.chunk_rows
 *                          ah_fit_options: 1024)
 *   AH_OPTION_ALPHA_MAX    [1e-12, 1]             the scans, ah_score
 *   AH_OPTION_THREADS      0..256, 0: all cores   ah_pvalues, ah_score, the
 *                                                 scans of many rows
 *   AH_OPTION_RESTARTS     1..1000000             ah_group_options
 *   AH_OPTION_MAX_ITER     1..1000000             ah_group_options
 *   AH_OPTION_BASIS_COMPONENTS 1..2048            ah_fit_options.
 *                                                 basis_components
 *   AH_OPTION_FIT_MEMORY_MB 0..2^30, 0: half of   ah_fit_options.
 *                          this process's memory  fit_memory_mb
 *
 * The integer options take integral values only.  A seed is any uint64_t:
 * a binding refuses what does not fit rather than wrapping it.
 */
enum ah_option {
    AH_OPTION_BINS = 0,
    AH_OPTION_ATOM_SHARE = 1,
    AH_OPTION_CHUNK_ROWS = 2,
    AH_OPTION_ALPHA_MAX = 3,
    AH_OPTION_THREADS = 4,
    AH_OPTION_RESTARTS = 5,
    AH_OPTION_MAX_ITER = 6,
    AH_OPTION_BASIS_COMPONENTS = 7,
    AH_OPTION_FIT_MEMORY_MB = 8
};
/* AH_OK when value is in the option's range; else AH_ERR_ARG with the
 * message above (an unknown option, and NaN, are refused too). */
int ah_option_check(int option, double value, ah_diag *diag);

typedef struct ah_model ah_model;

/*
 * A source of background rows that the fitter may read several times (the
 * histogram fit makes two passes so that its memory does not grow with N).
 * read() fills up to max_rows rows of cols doubles (row-major, stride ld) and,
 * when the source has labels, one label per row into labels (else labels is
 * left alone); *got = 0 signals the end.  rewind() starts again.
 */
typedef struct ah_row_source {
    void *ctx;
    size_t cols;
    int has_labels;
    int (*read)(void *ctx, double *rows, size_t ld, int64_t *labels,
                size_t max_rows, size_t *got, ah_diag *diag);
    int (*rewind)(void *ctx, ah_diag *diag);
} ah_row_source;

/* Fit from a row source.  Rows with a NaN or infinity are rejected
 * (AH_ERR_VALUE naming the row and column). */
int ah_model_fit_source(ah_model **out, ah_row_source *src,
                        const ah_fit_options *opts, ah_diag *diag);
/* Fit from an in-memory matrix; labels may be NULL (pooled model only). */
int ah_model_fit(ah_model **out, const double *x, size_t rows, size_t cols,
                 size_t ld, const int64_t *labels, const ah_fit_options *opts,
                 ah_diag *diag);
void ah_model_free(ah_model *m);

/* Save atomically (temporary file + rename); see docs/FORMAT.md. */
int ah_model_save(const ah_model *m, const char *path, ah_diag *diag);
/* Serialise into a caller buffer: with buf NULL, *len receives the size. */
int ah_model_save_memory(const ah_model *m, void *buf, size_t *len,
                         ah_diag *diag);
/* Load, checking magic, version, checksum and every size before allocating.
 * A set's nodes are read on several threads (one per 32 KB of them, up to
 * the online cores), which return before the call does; the model and
 * any error are those of one thread. */
int ah_model_load(ah_model **out, const char *path, ah_diag *diag);
int ah_model_load_memory(ah_model **out, const void *buf, size_t len,
                         const char *name, ah_diag *diag);

/*
 * Fitting in shards, merged exactly (histogram models).  When the
 * background is spread over processes or machines, each shard of rows is
 * read where it lies and only small summaries travel:
 *
 *   1. each shard:  ah_shard_plan   its rows' first pass (ranges, heavy
 *                                   hitters), a few KB per node and label;
 *   2. anywhere:    ah_shard_merge  the plans into one, sent to every shard;
 *   3. each shard:  ah_shard_count  its rows against that plan;
 *   4. anywhere:    ah_shard_merge  the counts, then ah_shard_finish.
 *
 * With equal-width bins (the default) and an atom share above 1/33, the
 * model is bit for bit the one ah_model_fit_source gives on all the rows
 * at once, whatever the split and the order of merging.  With quantile,
 * tails or auto bins every count is still exact, but edges are chosen
 * among the heavy-hitter candidates, which depend on the split.  Merging
 * is checked: plans of other options or D, or counts of another plan, are
 * refused, and ah_shard_finish refuses counts that do not cover the
 * plan's rows exactly (a shard missing or counted twice).  Shards save
 * and load like models (atomic, versioned, checksummed; docs/FORMAT.md).
 */
typedef struct ah_shard ah_shard;

enum ah_shard_kind {
    AH_SHARD_PLAN = 1,  /* first-pass summaries of one or more shards */
    AH_SHARD_COUNTS = 2 /* a plan and the counts of shards against it */
};

typedef struct ah_shard_info {
    int kind;           /* enum ah_shard_kind                            */
    ah_fit_options opts;
    size_t nodes;       /* D                                             */
    size_t labels;      /* distinct labels (0: pooled only)              */
    size_t rows;        /* rows read by the shards merged in here        */
    size_t plan_rows;   /* rows the plan covers (equal to rows: a plan)  */
} ah_shard_info;

/* The first pass over a shard's rows (opts NULL: the defaults; the
 * method must be hist).  A shard may have no rows. */
int ah_shard_plan(ah_shard **out, ah_row_source *src,
                  const ah_fit_options *opts, ah_diag *diag);
/* Count a shard's rows against a merged plan (read once, no rewind). */
int ah_shard_count(ah_shard **out, const ah_shard *plan, ah_row_source *src,
                   ah_diag *diag);
/* Merge other into into: two plans, or two counts of the same plan.  On
 * failure into is unchanged, except after AH_ERR_NOMEM. */
int ah_shard_merge(ah_shard *into, const ah_shard *other, ah_diag *diag);
/* The model from counts that cover every row of their plan once. */
int ah_shard_finish(ah_model **out, const ah_shard *counts, ah_diag *diag);
void ah_shard_get_info(const ah_shard *s, ah_shard_info *info);
int ah_shard_save(const ah_shard *s, const char *path, ah_diag *diag);
/* With buf NULL, *len receives the size. */
int ah_shard_save_memory(const ah_shard *s, void *buf, size_t *len,
                         ah_diag *diag);
int ah_shard_load(ah_shard **out, const char *path, ah_diag *diag);
int ah_shard_load_memory(ah_shard **out, const void *buf, size_t len,
                         const char *name, ah_diag *diag);
void ah_shard_free(ah_shard *s);

typedef struct ah_model_info {
    int method, tail, binning;
    int bins_requested;      /* AH_BINS_AUTO or the count                   */
    size_t nodes;            /* D, values per input row                     */
    size_t rows;             /* N, background rows                          */
    size_t labels;           /* distinct labels (0: pooled model only)      */
    size_t bins_min, bins_median, bins_max;   /* hist: bins per node        */
    size_t atoms_total;      /* hist: atoms over all nodes (pooled set)     */
    size_t memory_bytes;     /* bytes held in memory by the model           */
    size_t file_bytes;       /* bytes of the saved model file               */
    size_t pooled_file_bytes;/* the same for the pooled set alone (what a
                                model fitted without labels would take)     */
    double raw_bytes;        /* N * D * 4: the raw background as float32    */
    int basis;               /* enum ah_basis (never AH_BASIS_DEFAULT)      */
    size_t basis_components; /* r: components per label (0: no basis)       */
    size_t scanned_nodes;    /* nodes scanned per tail: D, or D + r (+ 1)
                                with a basis (ah_pvalue_width)              */
    size_t basis_bytes;      /* the basis's bytes in the file (0: none)     */
} ah_model_info;

/* AH_OK; AH_ERR_ARG for a NULL argument; AH_ERR_NOMEM when the D words of
 * scratch for the median bin count cannot be allocated (*info is then
 * zeroed, not to be printed). */
int ah_model_get_info(const ah_model *m, ah_model_info *info);
/* Labels of the conditional sets, sorted; *n receives the count.  The
 * pointer is owned by the model and valid until ah_model_free. */
const int64_t *ah_model_labels(const ah_model *m, size_t *n);
/* D, the values per input row that the calls below take. */
size_t ah_model_nodes(const ah_model *m);
int ah_model_tail(const ah_model *m);

/*
 * A decision threshold kept with the model: an input is flagged as
 * anomalous when its individual-scan score is above `score`.  It holds for
 * the scan settings it was measured with (stat, alpha_max, tail, and
 * whether inputs were compared with their label's background or the
 * pooled one); scoring with others must not apply it.  A model without
 * one reports source AH_THRESHOLD_NONE.  Saved in the model file (format
 * 1.2, docs/FORMAT.md; a model without a threshold is still written as
 * 1.1).
 */
enum ah_threshold_source {
    AH_THRESHOLD_NONE = 0,
    AH_THRESHOLD_CLEAN = 1,    /* read off the scores of given clean inputs */
    AH_THRESHOLD_CROSSFIT = 2  /* read off the background, cross-fitted:
                                  each of K folds scored against a model
                                  of the other folds                      */
};
typedef struct ah_threshold {
    int source;        /* enum ah_threshold_source                          */
    double score;      /* flagged when the scan score is above this         */
    double fpr;        /* the false-positive rate asked for, in (0, 1)      */
    int stat;          /* enum ah_stat                                      */
    double alpha_max;
    int tail;          /* enum ah_tail (never AH_TAIL_DEFAULT)              */
    int pooled;        /* 1: inputs scored against the pooled background    */
    uint32_t folds;    /* AH_THRESHOLD_CROSSFIT: K; else 0                  */
    uint64_t n;        /* clean scores the threshold was read from          */
} ah_threshold;
/* The model's threshold (source AH_THRESHOLD_NONE when it has none). */
int ah_model_get_threshold(const ah_model *m, ah_threshold *t);
/* Keep t with the model (NULL or source NONE removes it); each field is
 * checked (AH_ERR_ARG naming it). */
int ah_model_set_threshold(ah_model *m, const ah_threshold *t,
                           ah_diag *diag);
/* The threshold with false-positive rate at most fpr on these clean
 * scores: the smallest score s among them with #{scores > s} <= fpr * n
 * (so at most floor(fpr * n) of them are flagged; ties at s are not). */
int ah_threshold_at_fpr(const double *scores, size_t n, double fpr,
                        double *threshold, ah_diag *diag);

/*
 * Histogram of one node, for plots.  Fills up to cap cells in increasing
 * order; *n receives the number of cells.  A bin cell is [lo, hi) with the
 * count of non-atom values in it; an atom cell has lo == hi and its count.
 * label AH_POOLED selects the pooled set.  Empirical and KDE models report
 * their distinct values as atom cells.
 */
#define AH_POOLED INT64_MIN
typedef struct ah_cell {
    double lo, hi;
    uint64_t count;
    int atom;
} ah_cell;
int ah_model_node_cells(const ah_model *m, int64_t label, size_t node,
                        ah_cell *cells, size_t cap, size_t *n, ah_diag *diag);

/* ------------------------------------------------------------------------ */
/* 4. P-values                                                              */
/* ------------------------------------------------------------------------ */

/* Width of the p-value output per row: the scanned nodes (D, or with a
 * basis D + r (+ 1)), twice that for AH_TAIL_BOTH. */
size_t ah_pvalue_width(const ah_model *m, int tail);

/*
 * The input of the query calls (ah_pvalues_in, ah_score_in), one view
 * whatever the element type: rows x cols activations, row i starting at
 * element i * ld of data (ld >= cols, counted in elements), of type
 * dtype, and one label per row in labels, or NULL: every row is compared
 * with the pooled set (for a conditional model the caller's explicit
 * choice, as labels NULL of ah_pvalues).  The view copies and owns
 * nothing.  float32 values are widened to double exactly, so the two
 * types give the same bits for the same values.
 */
enum ah_dtype {
    AH_DTYPE_F64 = 0, /* double */
    AH_DTYPE_F32 = 1  /* float  */
};
typedef struct ah_input {
    const void *data;
    int dtype;             /* enum ah_dtype                               */
    size_t rows, cols, ld; /* cols must equal the model's D; ld >= cols   */
    const int64_t *labels; /* rows entries, or NULL                       */
} ah_input;

/*
 * The settings of the query calls, in a struct that grows without
 * breaking its callers.  size is sizeof(ah_query_options) in the header
 * the caller was compiled with; ah_query_options_init sets it and every
 * default, so set a field after it, never build the struct by hand.  A
 * library reads the first size bytes: fields the caller's header did not
 * have take their defaults, and a size larger than this library's is
 * accepted only when every byte this library does not know is zero
 * (else AH_ERR_ARG), so a setting a caller asks for is never dropped
 * silently.  A NULL options pointer means every default.
 */
typedef struct ah_query_options {
    size_t size;      /* sizeof(ah_query_options), from the init call      */
    double alpha_max; /* the scan's largest threshold, [1e-12, 1] (AH_
                         OPTION_ALPHA_MAX); default 0.5; ah_score_in only  */
    int tail;         /* enum ah_tail, or -1 (default): the model's tail   */
    int stat;         /* enum ah_stat, default AH_STAT_BJ; ah_score_in only */
    int threads;      /* 0 (default) = all cores, 1..256 (AH_OPTION_
                         THREADS); results do not depend on it             */
    int backend;      /* enum ah_backend, default AH_BACKEND_CPU; results
                         do not depend on it                               */
} ah_query_options;
void ah_query_options_init(ah_query_options *o);

/*
 * Who looks the values up in the model (ah_query_options.backend).  Every
 * backend returns the same count bounds, so the same p-values and scores
 * bit for bit (docs/BACKENDS.md); they differ in speed.  The choice
 * applies to models whose p-values are counts (histograms); empirical and
 * KDE models answer through their own method whatever it is.  An unknown
 * value fails with AH_ERR_ARG naming the valid ones.
 */
enum ah_backend {
    AH_BACKEND_CPU = 0,      /* the fast lookups (default)                 */
    AH_BACKEND_REFERENCE = 1 /* binary search in each node's cells
                                (ah_model_node_cells): slow, and shares no
                                code with the fast lookups; for checking a
                                platform's or a new backend's bits         */
};
/* "cpu", "reference"; "unknown" past the last, as ah_tail_name; the parse
 * returns -1 for an unknown name. */
const char *ah_backend_name(int backend);
int ah_backend_parse(const char *s);

/*
 * P-value ranges of the input, as ah_pvalues below (out: rows x width x 2
 * doubles, width = ah_pvalue_width(m, tail)).  o may be NULL.  An unknown
 * dtype, a NULL input or options that do not check fail with AH_ERR_ARG.
 */
int ah_pvalues_in(const ah_model *m, const ah_input *in,
                  const ah_query_options *o, double *out, size_t *unseen,
                  ah_diag *diag);

/*
 * The same with the view and the settings as arguments, the form of
 * version 0.1 (ah_pvalues_in with an ah_input of AH_DTYPE_F64 or F32 and
 * these settings gives the same result).
 * P-value ranges for rows x cols activations (cols must equal
 * ah_model_nodes; a model with a basis transforms each row first).
 * out receives rows x width x 2 doubles (C order): out[(i*width+j)*2+0] =
 * p_min, [..+1] = p_max, where width = ah_pvalue_width(m, tail); with
 * AH_TAIL_BOTH the upper-tail block comes first.  tail < 0 uses the model's
 * tail.  labels selects each row's conditional set; NULL compares every row
 * with the pooled set, which for a conditional model is the caller's
 * explicit choice (the CLI's --pooled, Python's pooled=True: both refuse to
 * drop the labels of a conditional model silently).  A label the model has
 * not seen uses the pooled set and increments *unseen (may be NULL).
 * A NaN or infinity fails with AH_ERR_VALUE naming the first such row and
 * column (out is then unspecified).  A value outside the fitted range gets
 * [N/(N+1), 1] below it and [0, 1/(N+1)] above it, exactly.
 * threads: 0 = all cores, 1 = the calling thread only, at most 256
 * (AH_OPTION_THREADS); the output does not depend on it.
 */
int ah_pvalues(const ah_model *m, const double *x, size_t rows, size_t cols,
               size_t ld, const int64_t *labels, int tail, double *out,
               size_t *unseen, int threads, ah_diag *diag);
/* The same for float activations (ld in floats), as most networks produce
 * them: each value is widened to double exactly, so the output is the same
 * bits as ah_pvalues on the widened rows, without a converted copy. */
int ah_pvalues_f32(const ah_model *m, const float *x, size_t rows,
                   size_t cols, size_t ld, const int64_t *labels, int tail,
                   double *out, size_t *unseen, int threads, ah_diag *diag);

/*
 * The values a model scans for rows x cols activations (cols = the model's
 * D): out receives rows x ah_pvalue_width(m, AH_TAIL_UPPER) doubles (row
 * i at out + i * width).  Without a basis each row is copied; with one
 * (enum ah_basis) it is [x, V^T (x - mu), |residual|] by its label's
 * basis (labels NULL, or a label the model has not seen: the pooled
 * one), bit for bit what ah_pvalues looks up.  A NaN or infinity fails
 * with AH_ERR_VALUE naming the first such row and column.
 */
int ah_model_transform(const ah_model *m, const double *x, size_t rows,
                       size_t cols, size_t ld, const int64_t *labels,
                       double *out, ah_diag *diag);

/* ------------------------------------------------------------------------ */
/* 5. Subset scanning                                                       */
/* ------------------------------------------------------------------------ */

enum ah_stat {
    AH_STAT_BJ = 0, /* Berk-Jones: n KL(n_a/n || a)                        */
    AH_STAT_HC = 1, /* Higher Criticism: (n_a - n a) / sqrt(n a (1-a))     */
    AH_STAT_KS = 2  /* Kolmogorov-Smirnov: (n_a - n a) / sqrt(n)           */
};
/* "bj", "hc", "ks"; "unknown" past the last, as ah_tail_name; the parse
 * returns -1 for an unknown name. */
const char *ah_stat_name(int stat);
int ah_stat_parse(const char *s);

/* The scoring function phi(a, n_a, n); 0 when n_a <= n a or n == 0. */
double ah_stat_score(int stat, double alpha, double n_alpha, double n);

typedef struct ah_scan_result {
    double score;  /* maximum over thresholds, 0 when no node qualifies    */
    double alpha;  /* the best threshold (0 when score is 0)               */
    size_t size;   /* nodes in the best subset                             */
} ah_scan_result;

/*
 * Individual scan of one input: pmax holds n p_max values (stride 1).  The
 * thresholds are the distinct values <= alpha_max; for each the subset is
 * every node with p_max <= a.  When nodes is not NULL it receives the indices
 * of the best subset (capacity n), in increasing order.  Ties in score keep
 * the smallest threshold.  scratch-free; allocates at most O(n).
 * alpha_max must be in [1e-12, 1] (AH_OPTION_ALPHA_MAX; else AH_ERR_ARG),
 * and a p-value that is NaN or outside [0, 1] fails with AH_ERR_VALUE
 * naming its node (as col).
 */
int ah_scan_individual(const double *pmax, size_t n, int stat,
                       double alpha_max, ah_scan_result *res, size_t *nodes,
                       ah_diag *diag);

/*
 * Individual scans of many inputs' p-values at once, on `threads` threads
 * (0: all cores); each result is what ah_scan_individual gives for that
 * row, whatever the thread count.  Row i's p_max values are
 * p[i * ld + j * step] for j < cols: step 1 for a matrix of p_max values,
 * or step 2 with p pointing at the first p_max of (rows, cols, 2) ranges
 * as ah_pvalues writes them (ld = 2 cols; only the p_max values are read:
 * check the ranges with ah_pvalue_ranges_check).  The arguments are
 * checked as by ah_scan_individual, and threads as by ah_pvalues, up
 * front; a p-value that is NaN or outside [0, 1] fails with its row and
 * column.
 */
int ah_scan_individual_rows(const double *p, size_t rows, size_t cols,
                            size_t ld, size_t step, int stat,
                            double alpha_max, ah_scan_result *res,
                            int threads, ah_diag *diag);

/*
 * Score the input: p-values against the model and an individual scan of
 * each row's p_max values, fused so that the (rows, width, 2) p-value
 * array is never materialised.  res receives one result per row.  The
 * input and options as for ah_pvalues_in (o->stat and o->alpha_max are
 * the scan's, as for ah_scan_individual).  The options are checked before
 * any row is read.  Results do not depend on the thread count.
 */
int ah_score_in(const ah_model *m, const ah_input *in,
                const ah_query_options *o, ah_scan_result *res,
                size_t *unseen, ah_diag *diag);

/*
 * The same with the view and the settings as arguments (the form of
 * version 0.1; ah_score_in gives the same results).
 * Score rows of activations: p-values against the model and an individual
 * scan of each row's p_max values, fused so that the (rows, width, 2)
 * p-value array is never materialised.  res receives one result per row.
 * Arguments as for ah_pvalues (tail < 0: the model's tail; with
 * AH_TAIL_BOTH the scan runs over the 2D upper and lower p-values), and
 * alpha_max as for ah_scan_individual; the options are checked before any
 * row is read.  Results do not depend on the thread count.
 */
int ah_score(const ah_model *m, const double *x, size_t rows, size_t cols,
             size_t ld, const int64_t *labels, int tail, int stat,
             double alpha_max, ah_scan_result *res, size_t *unseen,
             int threads, ah_diag *diag);
/* The same for float activations (ld in floats); the same results as
 * ah_score on the rows widened to double. */
int ah_score_f32(const ah_model *m, const float *x, size_t rows, size_t cols,
                 size_t ld, const int64_t *labels, int tail, int stat,
                 double alpha_max, ah_scan_result *res, size_t *unseen,
                 int threads, ah_diag *diag);

typedef struct ah_group_options {
    int stat;          /* enum ah_stat                                        */
    double alpha_max;  /* [1e-12, 1], default 0.5                             */
    int restarts;      /* random restarts, 1..1000000, default 10             */
    uint64_t seed;     /* reproducible: same seed, same result at any threads */
    int max_iter;      /* ascent iterations per restart, 1..1000000, default
                          50                                                  */
    int fractional;    /* 0: count p_max <= a; 1: fractional count of range   */
    int threads;       /* 0 = all cores, at most 256                          */
} ah_group_options;
void ah_group_options_default(ah_group_options *o);

typedef struct ah_group_result {
    double score, alpha;
    size_t n_inputs, n_nodes; /* sizes of the best subsets                */
} ah_group_result;

/*
 * Group scan of a batch: p holds rows x cols p-value ranges laid out as
 * ah_pvalues writes them (rows x cols x 2: p_min, p_max).  Maximises
 * F(S) = max_a phi(a, N_a(S), N(S)) over S = inputs x nodes by iterative
 * ascent from random starts (restart 0 starts from all inputs, the others
 * from seeded random subsets).  The thresholds are the distinct p_max values
 * <= alpha_max; when there are more than 1024 of them, the smallest 512 and
 * 512 more at evenly spaced ranks up to the largest are scored, each exactly.
 * inputs/nodes (may be NULL; capacity rows/cols) receive 0/1 membership
 * flags of the best subset.  The options out of their ranges (ah_option_check)
 * fail with AH_ERR_ARG; a p-value that is NaN or outside [0, 1], or
 * p_min > p_max, fails with AH_ERR_VALUE naming the input (row) and node
 * (col), as ah_pvalue_ranges_check reports it.
 * rows times cols rounded up to a power of 2 must not exceed 2^32 (32 GB
 * of ranges or more), and each must be below 2^31; larger batches fail
 * with AH_ERR_OVERFLOW.
 */
int ah_scan_group(const double *p, size_t rows, size_t cols,
                  const ah_group_options *o, ah_group_result *res,
                  unsigned char *inputs, unsigned char *nodes, ah_diag *diag);

/*
 * Check rows x cols p-value ranges laid out as ah_pvalues writes them, as
 * ah_scan_group does: AH_OK, or AH_ERR_VALUE naming the first bad pair in
 * row order (row: input, col: node) when p_min or p_max is NaN or outside
 * [0, 1], or p_min > p_max.  For ranges given to the individual scans,
 * which read only p_max.
 */
int ah_pvalue_ranges_check(const double *p, size_t rows, size_t cols,
                           ah_diag *diag);

/* ------------------------------------------------------------------------ */
/* 6. Detection metrics                                                     */
/* ------------------------------------------------------------------------ */

/* AUC by Mann-Whitney: P(anomalous > clean) + P(equal)/2.  NaN scores fail. */
int ah_auc(const double *clean, size_t n_clean, const double *anomalous,
           size_t n_anomalous, double *auc, ah_diag *diag);

/* ROC points at every distinct threshold, from (0,0) to (1,1): fpr[i], tpr[i]
 * for i < *n; capacity n_clean + n_anomalous + 2. */
int ah_roc(const double *clean, size_t n_clean, const double *anomalous,
           size_t n_anomalous, double *fpr, double *tpr, size_t *n,
           ah_diag *diag);

/* Highest TPR at an FPR not above target, flagging score > threshold. */
int ah_tpr_at_fpr(const double *clean, size_t n_clean,
                  const double *anomalous, size_t n_anomalous,
                  double target_fpr, double *tpr, ah_diag *diag);

/* The q-quantile (0..1, linear interpolation like NumPy's default) of v. */
int ah_quantile(const double *v, size_t n, double q, double *out,
                ah_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* ACTHIST_H */
