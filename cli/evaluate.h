/*
 * evaluate.h - detection power of a model on data sets, shared by eval,
 * compare and demo: individual-scan scores, group-scan runs, and the
 * metrics summary of one clean-versus-anomalous comparison.
 */
#ifndef AH_EVALUATE_H
#define AH_EVALUATE_H

#include "cli.h"

/* An activation file read whole, with optional labels. */
typedef struct eval_data {
    const char *path;
    double *x;
    size_t n, D;
    int64_t *labels; /* NULL without a labels file */
} eval_data;

int eval_load(eval_data *d, const char *path, const char *labels_path);
/* Rows of d whose label the model was not fitted with. */
size_t eval_unseen(const ah_model *m, const eval_data *d);
void eval_free(eval_data *d);

typedef struct eval_config {
    int tail;        /* -1: the model's */
    int stat;
    double alpha_max;
    int threads;
    int conditional; /* use the data's labels */
} eval_config;

/* Individual-scan score of every row of d (scores: d->n entries). */
int eval_scores(const ah_model *m, const eval_data *d, const eval_config *c,
                double *scores, size_t *unseen);

typedef struct group_config {
    size_t batch;     /* M inputs per batch */
    double fraction;  /* share of anomalous inputs in an anomalous batch */
    int runs, restarts, fractional;
    uint64_t seed;
} group_config;

/* --group, --runs, --restarts and --seed (each NULL for its default)
 * into g, over what g holds.  0, or CLI_USAGE after the message. */
int eval_parse_group(const char *group_s, const char *runs_s,
                     const char *restarts_s, const char *seed_s,
                     group_config *g);

/* R runs: each scores a random batch of M clean inputs, then the same batch
 * with round(F M) of them replaced by random anomalous inputs.  clean_scores
 * and anom_scores receive runs entries each. */
int eval_group(const ah_model *m, const eval_data *clean,
               const eval_data *anom, const eval_config *c,
               const group_config *g, double *clean_scores,
               double *anom_scores);

/* Metrics of one comparison.  The threshold is calibrated on the even-
 * indexed clean scores (95th percentile) and tested on the odd ones. */
typedef struct eval_summary {
    double auc, tpr1, tpr5, tpr10;
    double threshold, fpr_test, tpr_test;
} eval_summary;

int eval_summarise(const double *clean, size_t nc, const double *anom,
                   size_t na, eval_summary *s);

#endif
