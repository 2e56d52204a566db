/*
 * cmd_calibrate.c - acthist calibrate: the score threshold with a given
 * false-positive rate on clean inputs, kept in the model.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_calibrate_usage[] =
    "usage: acthist calibrate MODEL CLEAN.npy [--labels L.npy | --pooled]\n"
    "                         --fpr F -o OUT.ahm [--stat S] [--alpha-max A]\n"
    "                         [--tail T] [--threads K]\n"
    "\n"
    "Score CLEAN (inputs known to be clean, not in the background) and keep\n"
    "in OUT.ahm (the model with a threshold) the score above which at most\n"
    "a share F of them lie: 'acthist score OUT.ahm' then flags inputs above\n"
    "it.  The threshold holds for the scan settings given here.  fit --fpr\n"
    "does the same without extra data, cross-fitting the background.\n";

/* The scores of the n clean rows x (D nodes, labels may be NULL) with
 * t's settings, into *scores (malloc'd).  CLI_OK, or the exit code
 * after the message. */
static int clean_scores(const ah_model *m, const double *x, size_t n,
                        size_t D, const int64_t *labels, const ah_threshold *t,
                        int threads, const char *path, double **scores)
{
    ah_diag d;
    ah_scan_result *res = malloc(n * sizeof *res);
    *scores = malloc(n * sizeof **scores);
    size_t unseen = 0;
    int rc = CLI_FAIL;
    if (!res || !*scores) {
        cli_error("out of memory");
        goto done;
    }
    if (ah_score(m, x, n, D, D, labels, t->tail, t->stat, t->alpha_max, res,
                 &unseen, threads, &d) != AH_OK) {
        rc = cli_diag(path, &d);
        goto done;
    }
    if (unseen)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "was not fitted with; they were compared with the pooled "
                  "background", unseen, n, path);
    for (size_t i = 0; i < n; i++)
        (*scores)[i] = res[i].score;
    rc = CLI_OK;
done:
    free(res);
    return rc;
}

int cmd_calibrate(int argc, char **argv)
{
    const cli_command *self = cli_find("calibrate");
    const char *out = NULL, *labels_path = NULL, *fpr_s = NULL,
               *stat_s = NULL, *alpha_s = NULL, *tail_s = NULL,
               *threads_s = NULL;
    int pooled = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "OUT.ahm",
         "the model with the threshold (may be MODEL itself)"},
        {"--fpr", CLI_STRING, &fpr_s, "F",
         "the false-positive rate, in (0, 1)"},
        {"--labels", CLI_STRING, &labels_path, "L.npy",
         "one label per row of CLEAN (a conditional model needs them, or "
         "--pooled)"},
        {"--pooled", CLI_FLAG, &pooled, NULL, CLI_HELP_POOLED},
        {"--stat", CLI_STRING, &stat_s, "S", CLI_HELP_STAT},
        {"--alpha-max", CLI_STRING, &alpha_s, "A", CLI_HELP_ALPHA_MAX},
        {"--tail", CLI_STRING, &tail_s, "T", CLI_HELP_TAIL},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    ah_threshold t = {0};
    int threads;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &t.stat, &t.alpha_max, &t.tail,
                                     &threads)) != 0)
        goto done0;
    rc = CLI_USAGE;
    if (pos.n != 2 || !out || !fpr_s) {
        cli_error("calibrate: give MODEL CLEAN.npy, --fpr F and -o OUT.ahm");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    if (cli_parse_double("--fpr", fpr_s, 1e-9, 1 - 1e-9, &t.fpr) != 0)
        goto done0;
    /* OUT may be MODEL: the model is read whole before it is replaced. */
    const char *ins[] = {pos.v[1], labels_path};
    if ((rc = cli_output_not_input("calibrate", out, ins, 2)) != CLI_OK)
        goto done0;
    ah_model *m = NULL;
    double *x = NULL, *scores = NULL;
    int64_t *labels = NULL;
    size_t n = 0, D = 0;
    ah_diag d;
    if ((rc = cli_load_model_input("calibrate", pos.v[0], pos.v[1],
                                   labels_path, pooled, &m, &x, &n, &D,
                                   &labels)) != CLI_OK)
        goto done;
    if ((rc = clean_scores(m, x, n, D, labels, &t, threads, pos.v[1],
                           &scores)) != CLI_OK)
        goto done;
    if (ah_threshold_at_fpr(scores, n, t.fpr, &t.score, &d) != AH_OK) {
        rc = cli_diag(pos.v[1], &d);
        goto done;
    }
    size_t above = 0;
    for (size_t i = 0; i < n; i++)
        above += scores[i] > t.score;
    t.source = AH_THRESHOLD_CLEAN;
    t.tail = t.tail < 0 ? ah_model_tail(m) : t.tail;
    t.pooled = labels == NULL;
    t.n = n;
    if (ah_model_set_threshold(m, &t, &d) != AH_OK ||
        ah_model_save(m, out, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    cli_error("threshold %.6g: %zu of %zu clean inputs of %s above it "
              "(asked: a false-positive rate of %g); saved to %s",
              t.score, above, n, pos.v[1], t.fpr, out);
    rc = CLI_OK;
done:
    ah_model_free(m);
    free(x);
    free(labels);
    free(scores);
done0:
    cli_list_free(&pos);
    return rc;
}
