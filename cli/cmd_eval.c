/*
 * cmd_eval.c - acthist eval: detection power of a model, clean versus one
 * or more anomalous sets, by individual scans or by group-scan runs.
 */
#include "evaluate.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_eval_usage[] =
    "usage: acthist eval MODEL --clean C.npy [--clean-labels CL.npy]\n"
    "                    --anomalous A.npy [--anomalous-labels AL.npy]\n"
    "                    [--anomalous B.npy ...] [--stat S] [--alpha-max A]\n"
    "                    [--tail T] [--roc ROC.csv] [--plot ROC.svg] [--json]\n"
    "                    [--group M --fraction F --runs R --restarts K --seed S\n"
    "                     [--fractional]] [--threads K] [--pooled]\n"
    "\n"
    "Score the clean and each anomalous set and report the area under the ROC\n"
    "curve (Mann-Whitney, ties counted half), the TPR at 1%, 5% and 10% FPR,\n"
    "and a threshold calibrated on half of the clean scores (their 95th\n"
    "percentile) with the FPR it gives on the other half and the TPR.\n"
    "Labels make a conditional model compare each input with its own label's\n"
    "background (give --anomalous-labels once per --anomalous, in order);\n"
    "a conditional model needs them, or --pooled to compare every input with\n"
    "the pooled background.\n";

typedef struct set_result {
    const char *name;
    size_t n, nclean;
    double *scores;
    double *clean;     /* the clean scores it is compared with */
    int owns_clean;    /* group runs draw their own clean batches */
    eval_summary s;
} set_result;

/* The command line, parsed and checked: what eval_run and eval_report
 * read.  The lists are owned (eval_args_free). */
typedef struct eval_args {
    cli_list pos, anom, anom_lab; /* MODEL; --anomalous; --anomalous-labels */
    const char *clean_s, *clean_lab, *roc_s, *plot_s;
    int json, pooled;
    eval_config c; /* c.conditional is set by eval_run */
    group_config g; /* g.batch 0: individual scans */
} eval_args;

/* What eval_run computed, one entry per anomalous set; eval_state_free
 * frees it all, whatever eval_run reached. */
typedef struct eval_state {
    size_t n;
    ah_model *m;
    eval_data clean, *ad;
    set_result *sr;
    double *clean_scores; /* individual scans: the clean set's scores */
} eval_state;

/* Parse the options into *a and check that they go together.  Returns -1
 * to go on, else the exit code, the usage or the error already printed. */
static int eval_parse(int argc, char **argv, const cli_command *self,
                      eval_args *a)
{
    const char *stat_s = NULL, *alpha_s = NULL, *tail_s = NULL,
               *threads_s = NULL, *group_s = NULL, *fraction_s = NULL,
               *runs_s = NULL, *restarts_s = NULL, *seed_s = NULL;
    int fractional = 0;
    cli_opt opts[] = {
        {"--clean", CLI_STRING, &a->clean_s, "C.npy", "the clean inputs"},
        {"--clean-labels", CLI_STRING, &a->clean_lab, "CL.npy",
         "one label per row of --clean"},
        {"--anomalous", CLI_MULTI, &a->anom, "A.npy",
         "an anomalous set; give several to report each"},
        {"--anomalous-labels", CLI_MULTI, &a->anom_lab, "AL.npy",
         "one labels file per --anomalous, in order"},
        {"--pooled", CLI_FLAG, &a->pooled, NULL, CLI_HELP_POOLED},
        {"--stat", CLI_STRING, &stat_s, "S", CLI_HELP_STAT},
        {"--alpha-max", CLI_STRING, &alpha_s, "A", CLI_HELP_ALPHA_MAX},
        {"--tail", CLI_STRING, &tail_s, "T", CLI_HELP_TAIL},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
        {"--roc", CLI_STRING, &a->roc_s, "ROC.csv",
         "write every set's ROC points as CSV set,fpr,tpr"},
        {"--plot", CLI_STRING, &a->plot_s, "ROC.svg",
         "draw the ROC curves as SVG"},
        {"--json", CLI_FLAG, &a->json, NULL,
         "one JSON object {\"auc\": <first set>, \"sets\": [...]}"},
        {"--group", CLI_STRING, &group_s, "M",
         "group-scan power instead: R runs, each a batch of M clean inputs "
         "against the same batch with round(F*M) of them replaced by "
         "anomalous inputs"},
        {"--fraction", CLI_STRING, &fraction_s, "F",
         "the anomalous share F of a --group batch (default 0.1)"},
        {"--runs", CLI_STRING, &runs_s, "R",
         "runs for --group (default 50)"},
        {"--restarts", CLI_STRING, &restarts_s, "K", CLI_HELP_RESTARTS},
        {"--seed", CLI_STRING, &seed_s, "S", CLI_HELP_SEED},
        {"--fractional", CLI_FLAG, &fractional, NULL,
         "group scans count the share of each p-value range below a "
         "threshold instead of p_max only (McFowland et al. 2013)"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &a->pos, self);
    if (rc >= 0)
        return rc;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &a->c.stat, &a->c.alpha_max, &a->c.tail,
                                     &a->c.threads)) != 0)
        return rc;
    group_config g = {0, 0.1, 50, 10, fractional, 0};
    if (eval_parse_group(group_s, runs_s, restarts_s, seed_s, &g))
        return CLI_USAGE;
    if (fraction_s && cli_parse_double("--fraction", fraction_s, 0, 1,
                                       &g.fraction))
        return CLI_USAGE;
    a->g = g;
    if (a->pos.n != 1 || !a->clean_s || a->anom.n == 0) {
        cli_error("eval: give MODEL, --clean and at least one --anomalous");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        return CLI_USAGE;
    }
    if (a->anom_lab.n && a->anom_lab.n != a->anom.n) {
        cli_error("eval: %zu --anomalous sets but %zu --anomalous-labels "
                  "(give one per set, in order)", a->anom.n, a->anom_lab.n);
        return CLI_USAGE;
    }
    if ((a->clean_lab != NULL) != (a->anom_lab.n > 0)) {
        cli_error("eval: give labels for the clean set and every anomalous "
                  "set, or for none");
        return CLI_USAGE;
    }
    return -1;
}

static void eval_args_free(eval_args *a)
{
    cli_list_free(&a->pos);
    cli_list_free(&a->anom);
    cli_list_free(&a->anom_lab);
}

/* Score anomalous set i against the clean one (individual scans: the clean
 * scores already in st->clean_scores; group runs: clean batches of its
 * own) and summarise the two into st->sr[i].  0, or 1 after the error;
 * inputs with labels the model has not seen are added to *unseen. */
static int eval_score_set(const eval_args *a, eval_state *st, size_t i,
                          size_t *unseen)
{
    const eval_config *c = &a->c;
    const group_config *g = &a->g;
    set_result *sr = st->sr;
    eval_data *ad = st->ad;
    ah_model *m = st->m;
    size_t u;
    sr[i].name = a->anom.v[i];
    if (g->batch) {
        sr[i].n = sr[i].nclean = (size_t)g->runs;
        sr[i].scores = malloc((size_t)g->runs * sizeof(double));
        sr[i].clean = malloc((size_t)g->runs * sizeof(double));
        sr[i].owns_clean = 1;
        if (!sr[i].scores || !sr[i].clean) {
            cli_error("out of memory");
            return 1;
        }
        if (eval_group(m, &st->clean, &ad[i], c, g, sr[i].clean,
                       sr[i].scores))
            return 1;
        if (c->conditional)
            *unseen += eval_unseen(m, &ad[i]);
    } else {
        sr[i].n = ad[i].n;
        sr[i].nclean = st->clean.n;
        sr[i].clean = st->clean_scores;
        sr[i].scores = malloc(ad[i].n * sizeof(double));
        if (!sr[i].scores) {
            cli_error("out of memory");
            return 1;
        }
        if (eval_scores(m, &ad[i], c, sr[i].scores, &u))
            return 1;
        *unseen += u;
    }
    return eval_summarise(sr[i].clean, sr[i].nclean, sr[i].scores, sr[i].n,
                          &sr[i].s) ? 1 : 0;
}

/* Load the model and the sets, and score and summarise each anomalous
 * set into st.  CLI_OK, or the exit code after the error. */
static int eval_run(eval_args *a, eval_state *st)
{
    const char *model_s = a->pos.v[0];
    int use = 0, rc;
    st->n = a->anom.n;
    st->ad = calloc(st->n, sizeof *st->ad);
    st->sr = calloc(st->n, sizeof *st->sr);
    if (!st->ad || !st->sr) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    if (cli_load_model(model_s, &st->m))
        return CLI_FAIL;
    if ((rc = cli_labels_check("eval", model_s, st->m, "--clean-labels",
                               a->clean_lab, a->pooled, &use)) != CLI_OK)
        return rc;
    ah_model *m = st->m;
    eval_data *ad = st->ad;
    if (eval_load(&st->clean, a->clean_s, use ? a->clean_lab : NULL))
        return CLI_FAIL;
    a->c.conditional = use;
    for (size_t i = 0; i < st->n; i++) {
        if (eval_load(&ad[i], a->anom.v[i], use ? a->anom_lab.v[i] : NULL))
            return CLI_FAIL;
        if (ad[i].D != ah_model_nodes(m) || st->clean.D != ah_model_nodes(m)) {
            const eval_data *bad =
                st->clean.D != ah_model_nodes(m) ? &st->clean : &ad[i];
            cli_error("%s: %zu nodes per row, but the model %s has %zu",
                      bad->path, bad->D, model_s, ah_model_nodes(m));
            return CLI_FAIL;
        }
    }
    size_t unseen = 0, u;
    /* group runs draw rows again and again */
    if (a->g.batch && a->c.conditional)
        unseen += eval_unseen(m, &st->clean);
    if (!a->g.batch) {
        st->clean_scores = malloc(st->clean.n * sizeof *st->clean_scores);
        if (!st->clean_scores) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        if (eval_scores(m, &st->clean, &a->c, st->clean_scores, &u))
            return CLI_FAIL;
        unseen += u;
    }
    for (size_t i = 0; i < st->n; i++)
        if (eval_score_set(a, st, i, &unseen))
            return CLI_FAIL;
    if (a->c.conditional && unseen)
        cli_error("note: %zu inputs have labels that the model has not seen; "
                  "they were compared with the pooled background", unseen);
    return CLI_OK;
}

static void eval_state_free(eval_state *st)
{
    for (size_t i = 0; st->ad && i < st->n; i++)
        eval_free(&st->ad[i]);
    for (size_t i = 0; st->sr && i < st->n; i++) {
        free(st->sr[i].scores);
        if (st->sr[i].owns_clean)
            free(st->sr[i].clean);
    }
    free(st->ad);
    free(st->sr);
    free(st->clean_scores);
    eval_free(&st->clean);
    ah_model_free(st->m);
}

/* The tail the scores used: the option's, else the model's. */
static int eval_tail(const eval_args *a, const eval_state *st)
{
    return a->c.tail < 0 ? ah_model_tail(st->m) : a->c.tail;
}

/* The --json report into b. */
static void eval_report_json(cli_buf *b, const eval_args *a,
                             const eval_state *st)
{
    const group_config *g = &a->g;
    const set_result *sr = st->sr;
    cli_buf_printf(b, "{\"auc\": %.6f, \"mode\": \"%s\", \"stat\": \"%s\", "
                      "\"tail\": \"%s\", \"conditional\": %s, ",
                   sr[0].s.auc, g->batch ? "group" : "individual",
                   ah_stat_name(a->c.stat), ah_tail_name(eval_tail(a, st)),
                   a->c.conditional ? "true" : "false");
    if (g->batch)
        cli_buf_printf(b, "\"group\": {\"batch\": %zu, \"fraction\": %g, "
                          "\"runs\": %d, \"restarts\": %d, \"seed\": %llu}, ",
                       g->batch, g->fraction, g->runs, g->restarts,
                       (unsigned long long)g->seed);
    cli_buf_printf(b, "\"clean\": ");
    cli_buf_json_string(b, a->clean_s);
    cli_buf_printf(b, ", \"n_clean\": %zu, \"sets\": [", sr[0].nclean);
    for (size_t i = 0; i < st->n; i++) {
        cli_buf_printf(b, "%s{\"name\": ", i ? ", " : "");
        cli_buf_json_string(b, sr[i].name);
        cli_buf_printf(b, ", \"n\": %zu, \"auc\": %.6f, \"tpr_at_fpr\": "
                          "{\"0.01\": %.6f, \"0.05\": %.6f, \"0.1\": %.6f}, "
                          "\"threshold\": %.10g, \"fpr_test\": %.6f, "
                          "\"tpr_test\": %.6f}",
                       sr[i].n, sr[i].s.auc, sr[i].s.tpr1, sr[i].s.tpr5,
                       sr[i].s.tpr10, sr[i].s.threshold, sr[i].s.fpr_test,
                       sr[i].s.tpr_test);
    }
    cli_buf_printf(b, "]}\n");
}

/* The text report (a line on the scan, then a table of the sets) into b. */
static void eval_report_table(cli_buf *b, const eval_args *a,
                              const eval_state *st)
{
    const set_result *sr = st->sr;
    cli_buf_printf(b, "%s scan, stat %s, tail %s, %s; clean %s (%zu %s)\n",
                   a->g.batch ? "group" : "individual",
                   ah_stat_name(a->c.stat), ah_tail_name(eval_tail(a, st)),
                   a->c.conditional ? "conditional" : "pooled", a->clean_s,
                   sr[0].nclean, a->g.batch ? "runs" : "inputs");
    cli_buf_printf(b, "%-32s %7s %7s %7s %7s %7s %11s %8s %8s\n", "set",
                   "n", "AUC", "TPR@1%", "TPR@5%", "TPR@10%", "threshold",
                   "FPR", "TPR");
    for (size_t i = 0; i < st->n; i++)
        cli_buf_printf(b, "%-32s %7zu %7.4f %7.4f %7.4f %7.4f %11.5g "
                          "%8.4f %8.4f\n",
                       sr[i].name, sr[i].n, sr[i].s.auc, sr[i].s.tpr1,
                       sr[i].s.tpr5, sr[i].s.tpr10, sr[i].s.threshold,
                       sr[i].s.fpr_test, sr[i].s.tpr_test);
}

/* --roc and --plot: every text is made before the first file is written,
 * so running out of memory then leaves no output behind.  0, or 1 after
 * the error. */
static int eval_write_curves(const eval_args *a, const eval_state *st)
{
    const set_result *sr = st->sr;
    size_t n = st->n;
    cli_buf roc = {0}, svg = {0};
    cli_buf_printf(&roc, "set,fpr,tpr\n");
    double **fpr = calloc(n, sizeof *fpr), **tpr = calloc(n, sizeof *tpr);
    size_t *np = calloc(n, sizeof *np);
    double *aucs = calloc(n, sizeof *aucs);
    int ok = fpr && tpr && np && aucs;
    if (!ok)
        cli_error("out of memory");
    for (size_t i = 0; ok && i < n; i++) {
        size_t cap = sr[i].nclean + sr[i].n + 2;
        fpr[i] = malloc(cap * sizeof(double));
        tpr[i] = malloc(cap * sizeof(double));
        ah_diag d;
        if (!(ok = fpr[i] && tpr[i]))
            cli_error("out of memory");
        else if (!(ok = ah_roc(sr[i].clean, sr[i].nclean, sr[i].scores,
                               sr[i].n, fpr[i], tpr[i], &np[i], &d) == AH_OK))
            cli_diag("metrics", &d);
        aucs[i] = sr[i].s.auc;
        for (size_t k = 0; ok && k < np[i]; k++)
            cli_buf_printf(&roc, "%s,%.10g,%.10g\n", sr[i].name, fpr[i][k],
                           tpr[i][k]);
    }
    if (ok && a->plot_s) {
        char title[256];
        snprintf(title, sizeof title, "%s scan, %s, tail %s",
                 a->g.batch ? "group" : "individual", ah_stat_name(a->c.stat),
                 ah_tail_name(eval_tail(a, st)));
        svg_roc(&svg, title, n, (const char *const *)a->anom.v,
                (const double *const *)fpr, (const double *const *)tpr,
                np, aucs);
    }
    if (ok && a->roc_s && cli_write_text(a->roc_s, roc.s, roc.n))
        ok = 0;
    if (ok && a->plot_s && cli_write_text(a->plot_s, svg.s, svg.n))
        ok = 0;
    for (size_t i = 0; fpr && tpr && i < n; i++) {
        free(fpr[i]);
        free(tpr[i]);
    }
    free(fpr);
    free(tpr);
    free(np);
    free(aucs);
    cli_buf_free(&roc);
    cli_buf_free(&svg);
    return ok ? 0 : 1;
}

/* The report to standard output (--json or the table) after the --roc
 * and --plot files; the report is made first, so it never fails after a
 * file is written for want of memory.  CLI_OK or CLI_FAIL. */
static int eval_report(const eval_args *a, const eval_state *st)
{
    cli_buf b = {0};
    int rc = CLI_FAIL;
    if (a->json)
        eval_report_json(&b, a, st);
    else
        eval_report_table(&b, a, st);
    if ((a->roc_s || a->plot_s) && eval_write_curves(a, st))
        goto done;
    rc = cli_write_text(NULL, b.s, b.n) == 0 ? CLI_OK : CLI_FAIL;
done:
    cli_buf_free(&b);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a = {0};
    eval_state st = {0};
    int rc = eval_parse(argc, argv, cli_find("eval"), &a);
    if (rc < 0 && (rc = eval_run(&a, &st)) == CLI_OK)
        rc = eval_report(&a, &st);
    eval_state_free(&st);
    eval_args_free(&a);
    return rc;
}
