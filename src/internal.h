/*
 * internal.h - helpers shared by the library sources, never installed.
 *
 * Internal names start with ah__ (two underscores) so they are visibly not
 * part of the public API.
 */
#ifndef AH_INTERNAL_H
#define AH_INTERNAL_H

#include "acthist.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Fill diag (if not NULL) and return status, so callers can write
 * `return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot open", path);` */
int ah__fail(ah_diag *diag, int status, int64_t row, int64_t col,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reset diag to AH_OK with an empty message. */
void ah__diag_clear(ah_diag *diag);

/* LSD radix sort of keys[0..n) ascending, tmp[0..n) as scratch; bytes
 * that every key shares are skipped (radix_sort.c). */
void ah__radix_sort_u64(uint64_t *keys, uint64_t *tmp, size_t n);

/* a * b into *out; returns 0 on overflow. */
static inline int ah__mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* The tail a fit uses: tail itself, or for AH_TAIL_DEFAULT the one the
 * evidence picks for a background with or without labels (options.c). */
int ah__tail_resolve(int tail, int has_labels);
/* The same for the basis, given the background's labels and width. */
int ah__basis_resolve(int basis, int has_labels, size_t cols);

/* Number of worker threads for a request (0 = online cores), at least 1. */
int ah__thread_count(int requested, size_t work_items);
/* The memory this process may use, in bytes (machine.c; SIZE_MAX when
 * unknown): a few bytes of a model or shard file can describe gigabytes
 * of bins, so loaders check what a file asks for against it before
 * allocating. */
size_t ah__machine_bytes(void);
/* Whether need bytes fit in what this process may use (*have receives
 * it).  Small needs pass without asking: reading the limits costs about
 * 30 us of /proc and /sys, more than loading a small model. */
int ah__memory_allows(size_t need, size_t *have);
/* The smallest memory limit of this process's cgroup and its ancestors
 * (v2 memory.max, v1 memory.limit_in_bytes), SIZE_MAX when there is none
 * or it cannot be read.  cgroup_file is /proc/self/cgroup and root
 * /sys/fs/cgroup, except in tests. */
size_t ah__cgroup_memory_limit(const char *cgroup_file, const char *root);

/* Run fn(ctx, i) for i in [0, nthreads) on nthreads threads (the caller
 * runs index 0).  Returns AH_OK or AH_ERR_NOMEM if threads cannot start,
 * in which case everything ran on the calling thread. */
int ah__parallel(int nthreads, void (*fn)(void *ctx, int index), void *ctx);

/* ah_pvalues (f32 = 0: x holds doubles) or ah_pvalues_f32 (f32 = 1:
 * floats) writing only p_max: rows x ah_pvalue_width values, the same bits
 * as the p_max of ah_pvalues (the fused scans use it). */
/* The caller's query options o (NULL: the defaults) into *out, a struct of
 * this library's size: its size and unknown bytes checked
 * (acthist.h).  AH_OK or AH_ERR_ARG. */
int ah__query_options_read(const ah_query_options *o, ah_query_options *out,
                           ah_diag *diag);
/* The arguments of the view calls: in not NULL and of a known dtype, the
 * options read into *q (ah__query_options_read); diag cleared first.
 * AH_OK or AH_ERR_ARG. */
int ah__query_args(const ah_input *in, const ah_query_options *o,
                   ah_query_options *q, ah_diag *diag);
int ah__pvalues_pmax(const ah_model *m, const void *x, int f32, size_t rows,
                     size_t cols, size_t ld, const int64_t *labels, int tail,
                     double *pmax, size_t *unseen, int threads, int backend,
                     ah_diag *diag);

/*
 * The scan statistics: one row each of ah__stats (stats.c), indexed by
 * enum ah_stat, which runs 0 .. AH__STAT_COUNT - 1 (stats.c asserts the
 * count against the enum and the table).  What a kernel computes for one
 * statistic in its inner loop (the individual scan's bounds, the group
 * scan's prune limit) is a switch over (enum ah_stat) with a case for
 * each and no default, so -Wswitch (in -Wall, an error with -Werror)
 * names every switch a new statistic is missing.  docs/CONTRIBUTING.md,
 * "Adding a scan statistic or a binning rule", lists the places.
 */
#define AH__STAT_COUNT 3
typedef struct ah__stat_def {
    const char *name; /* ah_stat_name, ah_stat_parse: "bj"                */
    /* phi(a, n_a, n) for 0 < a < 1, 0 < n, n a < n_a <= n, given
     * excess = n_a - n a > 0 (ah_stat_score checks and caps first) */
    double (*score)(double a, double n_a, double n, double excess);
    /* The individual scan orders thresholds by a "pot" that grows with
     * phi(a, r, r): phi itself (0) or its square (1), whichever is r F(a)
     * for the F that its bound_f bounds (scan_individual.c). */
    int pot_squared;
    /* phi keeps its relative accuracy as a nears 1 (1); 0 when it is
     * computed from n_a - n a, which loses digits there, so the individual
     * scan neither prunes nor bounds above 1 - 2^-16 (NEAR_ONE). */
    int exact_near_one;
} ah__stat_def;
extern const ah__stat_def ah__stats[AH__STAT_COUNT];

/* Tell the compiler that cond holds (it is undefined behaviour if not):
 * before a kernel's switch over a value the public call has checked, so
 * that the switch, which has no default, costs no range check. */
#define AH__ASSUME(cond)                                                     \
    do {                                                                     \
        if (!(cond))                                                         \
            __builtin_unreachable();                                         \
    } while (0)

/* Whether stat is one of enum ah_stat. */
static inline int ah__stat_known(int stat)
{
    return stat >= 0 && stat < AH__STAT_COUNT;
}

/* enum ah_binning runs 0 .. AH__BINNING_COUNT - 1: the names (options.c)
 * are a table of that many rows and the edge rule (hist_fit.c,
 * keep_edges) a switch with a case for each, no default. */
#define AH__BINNING_COUNT 3

/* The individual scan behind ah_scan_individual, without its argument
 * checks: any double is a p-value here (values <= 0 count at every
 * threshold, values above alpha_max never), NaN fails with its node, and
 * any alpha_max but NaN is taken.  For p-values the library made itself
 * (ah_score), and for the tests that hold the scan against a naive twin on
 * every kind of double. */
int ah__scan_individual(const double *pmax, size_t n, int stat,
                        double alpha_max, ah_scan_result *res, size_t *nodes,
                        ah_diag *diag);

/* ah_scan_group with every half step computed in full: none answered from
 * the memo of earlier answers (group_memo.h), no group of thresholds
 * skipped on a bound (scan_group.c): the reference the tests hold the
 * shortcuts against. */
int ah__scan_group_plain(const double *p, size_t rows, size_t cols,
                         const ah_group_options *o, ah_group_result *res,
                         unsigned char *inputs, unsigned char *nodes,
                         ah_diag *diag);

#endif
