/*
 * compare.h - the side-by-side comparison behind `compare` and `demo`.
 */
#ifndef AH_COMPARE_H
#define AH_COMPARE_H

#include "evaluate.h"

#include <stdio.h>

#define COMPARE_MAX_FRACTIONS 4
/* Anomalous sets one comparison takes (compare, demo). */
#define COMPARE_MAX_SETS 16

typedef struct compare_job {
    const char **background, **background_labels; /* labels may be NULL */
    size_t nbackground;
    const char *clean, *clean_labels;
    const char **anomalous, **anomalous_labels;
    size_t nanomalous;
    const char **methods;
    size_t nmethods;
    const char **tails;
    size_t ntails;
    int stat, threads;
    double alpha_max;
    group_config group; /* batch 0: no group scans */
    double fractions[COMPARE_MAX_FRACTIONS];
    size_t nfractions;
} compare_job;

/* Parse "empirical", "kde", "hist", "hist:64", "hist:auto:quantile"; with
 * o NULL only validate (printing the error). */
int compare_parse_method(const char *s, ah_fit_options *o);

/* Run the comparison; the table (or JSON) goes to out, progress to log. */
int compare_run(const compare_job *job, int json, cli_buf *out, FILE *log);

/* One row of the table, for callers that pick the best configuration. */
typedef struct compare_row {
    char method[32];
    int tail, conditional;
    size_t model_bytes;
    double percent_raw, fit_s, pvalue_s, scan_s;
    double auc[COMPARE_MAX_SETS]; /* per anomalous set */
    double group_auc[COMPARE_MAX_FRACTIONS][COMPARE_MAX_SETS];
} compare_row;

/* The rows of the last compare_run (owned by the job's caller via free). */
int compare_run_rows(const compare_job *job, compare_row **rows,
                     size_t *nrows, FILE *log);

#endif
