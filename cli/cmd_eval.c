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
    "the pooled background.\n"
    "  --group M   group-scan power instead: R runs (default 50), each a batch\n"
    "              of M clean inputs against the same batch with round(F*M)\n"
    "              (default F 0.1) replaced by anomalous inputs\n"
    "  --roc       write every set's ROC points as CSV set,fpr,tpr\n"
    "  --plot      draw the ROC curves as SVG\n"
    "  --json      one JSON object {\"auc\": <first set>, \"sets\": [...]}\n";

typedef struct set_result {
    const char *name;
    size_t n, nclean;
    double *scores;
    double *clean;     /* the clean scores it is compared with */
    int owns_clean;    /* group runs draw their own clean batches */
    eval_summary s;
} set_result;

int cmd_eval(int argc, char **argv)
{
    const cli_command *self = cli_find("eval");
    const char *clean_s = NULL, *clean_lab = NULL, *stat_s = NULL,
               *alpha_s = NULL, *tail_s = NULL, *threads_s = NULL,
               *roc_s = NULL, *plot_s = NULL, *group_s = NULL,
               *fraction_s = NULL, *runs_s = NULL, *restarts_s = NULL,
               *seed_s = NULL;
    int json = 0, fractional = 0, pooled = 0, use = 0;
    cli_list pos = {0}, anom = {0}, anom_lab = {0};
    cli_opt opts[] = {
        {"--clean", CLI_STRING, &clean_s},
        {"--clean-labels", CLI_STRING, &clean_lab},
        {"--pooled", CLI_FLAG, &pooled},
        {"--anomalous", CLI_MULTI, &anom},
        {"--anomalous-labels", CLI_MULTI, &anom_lab},
        {"--stat", CLI_STRING, &stat_s},   {"--alpha-max", CLI_STRING, &alpha_s},
        {"--tail", CLI_STRING, &tail_s},   {"--threads", CLI_STRING, &threads_s},
        {"--roc", CLI_STRING, &roc_s},     {"--plot", CLI_STRING, &plot_s},
        {"--json", CLI_FLAG, &json},       {"--group", CLI_STRING, &group_s},
        {"--fraction", CLI_STRING, &fraction_s},
        {"--runs", CLI_STRING, &runs_s},   {"--restarts", CLI_STRING, &restarts_s},
        {"--seed", CLI_STRING, &seed_s},   {"--fractional", CLI_FLAG, &fractional},
    };
    int rc = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0], &pos,
                       self);
    if (rc >= 0)
        goto done0;
    eval_config c = {0};
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &c.stat, &c.alpha_max, &c.tail,
                                     &c.threads)) != 0)
        goto done0;
    rc = CLI_USAGE;
    group_config g = {0, 0.1, 50, 10, fractional, 0};
    long v;
    if (group_s) {
        if (cli_parse_int("--group", group_s, 1, 1000000, &v))
            goto done0;
        g.batch = (size_t)v;
    }
    if (fraction_s && cli_parse_double("--fraction", fraction_s, 0, 1,
                                       &g.fraction))
        goto done0;
    if (runs_s && !cli_parse_int("--runs", runs_s, 1, 1000000, &v))
        g.runs = (int)v;
    else if (runs_s)
        goto done0;
    if (restarts_s && !cli_parse_option_int("--restarts", restarts_s,
                                            AH_OPTION_RESTARTS, &v))
        g.restarts = (int)v;
    else if (restarts_s)
        goto done0;
    if (seed_s && cli_parse_seed("--seed", seed_s, &g.seed))
        goto done0;
    if (pos.n != 1 || !clean_s || anom.n == 0) {
        cli_error("eval: give MODEL, --clean and at least one --anomalous");
        fputs(self->usage, stderr);
        goto done0;
    }
    if (anom_lab.n && anom_lab.n != anom.n) {
        cli_error("eval: %zu --anomalous sets but %zu --anomalous-labels "
                  "(give one per set, in order)", anom.n, anom_lab.n);
        goto done0;
    }
    if ((clean_lab != NULL) != (anom_lab.n > 0)) {
        cli_error("eval: give labels for the clean set and every anomalous "
                  "set, or for none");
        goto done0;
    }
    rc = CLI_FAIL;
    ah_model *m = NULL;
    eval_data clean = {0};
    eval_data *ad = calloc(anom.n, sizeof *ad);
    set_result *sr = calloc(anom.n, sizeof *sr);
    double *clean_scores = NULL;
    cli_buf b = {0};
    if (!ad || !sr) {
        cli_error("out of memory");
        goto done;
    }
    if (cli_load_model(pos.v[0], &m))
        goto done;
    if ((rc = cli_labels_check("eval", pos.v[0], m, "--clean-labels",
                               clean_lab, pooled, &use)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    if (eval_load(&clean, clean_s, use ? clean_lab : NULL))
        goto done;
    c.conditional = use;
    for (size_t i = 0; i < anom.n; i++) {
        if (eval_load(&ad[i], anom.v[i], use ? anom_lab.v[i] : NULL))
            goto done;
        if (ad[i].D != ah_model_nodes(m) || clean.D != ah_model_nodes(m)) {
            const eval_data *bad = clean.D != ah_model_nodes(m) ? &clean : &ad[i];
            cli_error("%s: %zu nodes per row, but the model %s has %zu",
                      bad->path, bad->D, pos.v[0], ah_model_nodes(m));
            goto done;
        }
    }
    size_t unseen = 0, u;
    if (g.batch && c.conditional) /* group runs draw rows again and again */
        unseen += eval_unseen(m, &clean);
    if (!g.batch) {
        clean_scores = malloc(clean.n * sizeof *clean_scores);
        if (!clean_scores) {
            cli_error("out of memory");
            goto done;
        }
        if (eval_scores(m, &clean, &c, clean_scores, &u))
            goto done;
        unseen += u;
    }
    for (size_t i = 0; i < anom.n; i++) {
        sr[i].name = anom.v[i];
        if (g.batch) {
            sr[i].n = sr[i].nclean = (size_t)g.runs;
            sr[i].scores = malloc((size_t)g.runs * sizeof(double));
            sr[i].clean = malloc((size_t)g.runs * sizeof(double));
            sr[i].owns_clean = 1;
            if (!sr[i].scores || !sr[i].clean) {
                cli_error("out of memory");
                goto done;
            }
            if (eval_group(m, &clean, &ad[i], &c, &g, sr[i].clean,
                           sr[i].scores))
                goto done;
            if (c.conditional)
                unseen += eval_unseen(m, &ad[i]);
        } else {
            sr[i].n = ad[i].n;
            sr[i].nclean = clean.n;
            sr[i].clean = clean_scores;
            sr[i].scores = malloc(ad[i].n * sizeof(double));
            if (!sr[i].scores) {
                cli_error("out of memory");
                goto done;
            }
            if (eval_scores(m, &ad[i], &c, sr[i].scores, &u))
                goto done;
            unseen += u;
        }
        if (eval_summarise(sr[i].clean, sr[i].nclean, sr[i].scores, sr[i].n,
                           &sr[i].s))
            goto done;
    }
    if (c.conditional && unseen)
        cli_error("note: %zu inputs have labels that the model has not seen; "
                  "they were compared with the pooled background", unseen);
    if (json) {
        cli_buf_printf(&b, "{\"auc\": %.6f, \"mode\": \"%s\", \"stat\": \"%s\", "
                           "\"tail\": \"%s\", \"conditional\": %s, ",
                       sr[0].s.auc, g.batch ? "group" : "individual",
                       ah_stat_name(c.stat),
                       ah_tail_name(c.tail < 0 ? ah_model_tail(m) : c.tail),
                       c.conditional ? "true" : "false");
        if (g.batch)
            cli_buf_printf(&b, "\"group\": {\"batch\": %zu, \"fraction\": %g, "
                               "\"runs\": %d, \"restarts\": %d, \"seed\": %llu}, ",
                           g.batch, g.fraction, g.runs, g.restarts,
                           (unsigned long long)g.seed);
        cli_buf_printf(&b, "\"clean\": ");
        cli_buf_json_string(&b, clean_s);
        cli_buf_printf(&b, ", \"n_clean\": %zu, \"sets\": [", sr[0].nclean);
        for (size_t i = 0; i < anom.n; i++) {
            cli_buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
            cli_buf_json_string(&b, sr[i].name);
            cli_buf_printf(&b, ", \"n\": %zu, \"auc\": %.6f, \"tpr_at_fpr\": "
                               "{\"0.01\": %.6f, \"0.05\": %.6f, \"0.1\": %.6f}, "
                               "\"threshold\": %.10g, \"fpr_test\": %.6f, "
                               "\"tpr_test\": %.6f}",
                           sr[i].n, sr[i].s.auc, sr[i].s.tpr1, sr[i].s.tpr5,
                           sr[i].s.tpr10, sr[i].s.threshold, sr[i].s.fpr_test,
                           sr[i].s.tpr_test);
        }
        cli_buf_printf(&b, "]}\n");
    } else {
        cli_buf_printf(&b, "%s scan, stat %s, tail %s, %s; clean %s (%zu %s)\n",
                       g.batch ? "group" : "individual", ah_stat_name(c.stat),
                       ah_tail_name(c.tail < 0 ? ah_model_tail(m) : c.tail),
                       c.conditional ? "conditional" : "pooled", clean_s,
                       sr[0].nclean, g.batch ? "runs" : "inputs");
        cli_buf_printf(&b, "%-32s %7s %7s %7s %7s %7s %11s %8s %8s\n", "set",
                       "n", "AUC", "TPR@1%", "TPR@5%", "TPR@10%", "threshold",
                       "FPR", "TPR");
        for (size_t i = 0; i < anom.n; i++)
            cli_buf_printf(&b, "%-32s %7zu %7.4f %7.4f %7.4f %7.4f %11.5g "
                               "%8.4f %8.4f\n",
                           sr[i].name, sr[i].n, sr[i].s.auc, sr[i].s.tpr1,
                           sr[i].s.tpr5, sr[i].s.tpr10, sr[i].s.threshold,
                           sr[i].s.fpr_test, sr[i].s.tpr_test);
    }
    /* Every text is made before the first file is written: running out
     * of memory then leaves no output behind. */
    if (roc_s || plot_s) {
        cli_buf roc = {0}, svg = {0};
        cli_buf_printf(&roc, "set,fpr,tpr\n");
        double **fpr = calloc(anom.n, sizeof *fpr), **tpr = calloc(anom.n, sizeof *tpr);
        size_t *np = calloc(anom.n, sizeof *np);
        double *aucs = calloc(anom.n, sizeof *aucs);
        int ok = fpr && tpr && np && aucs;
        if (!ok)
            cli_error("out of memory");
        for (size_t i = 0; ok && i < anom.n; i++) {
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
        if (ok && plot_s) {
            char title[256];
            snprintf(title, sizeof title, "%s scan, %s, tail %s",
                     g.batch ? "group" : "individual", ah_stat_name(c.stat),
                     ah_tail_name(c.tail < 0 ? ah_model_tail(m) : c.tail));
            svg_roc(&svg, title, anom.n, (const char *const *)anom.v,
                    (const double *const *)fpr, (const double *const *)tpr,
                    np, aucs);
        }
        if (ok && roc_s && cli_write_text(roc_s, roc.s, roc.n))
            ok = 0;
        if (ok && plot_s && cli_write_text(plot_s, svg.s, svg.n))
            ok = 0;
        for (size_t i = 0; fpr && tpr && i < anom.n; i++) {
            free(fpr[i]);
            free(tpr[i]);
        }
        free(fpr);
        free(tpr);
        free(np);
        free(aucs);
        cli_buf_free(&roc);
        cli_buf_free(&svg);
        if (!ok)
            goto done;
    }
    rc = cli_write_text(NULL, b.s, b.n) == 0 ? CLI_OK : CLI_FAIL;
done:
    cli_buf_free(&b);
    for (size_t i = 0; ad && i < anom.n; i++)
        eval_free(&ad[i]);
    for (size_t i = 0; sr && i < anom.n; i++) {
        free(sr[i].scores);
        if (sr[i].owns_clean)
            free(sr[i].clean);
    }
    free(ad);
    free(sr);
    free(clean_scores);
    eval_free(&clean);
    ah_model_free(m);
done0:
    cli_list_free(&pos);
    cli_list_free(&anom);
    cli_list_free(&anom_lab);
    return rc;
}
