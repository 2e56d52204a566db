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
int ah__pvalues_pmax(const ah_model *m, const void *x, int f32, size_t rows,
                     size_t cols, size_t ld, const int64_t *labels, int tail,
                     double *pmax, size_t *unseen, int threads,
                     ah_diag *diag);

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
