/*
 * cmd_compare.c - acthist compare: fit every requested method on one
 * background and measure, side by side, model size, fit / p-value / scan
 * time and detection power (AUC) for each tail, pooled and conditional.
 *
 * The background is read into memory here (this is an evaluation tool);
 * `fit` is the streaming path.  One fit with labels gives both the pooled
 * and the conditional model.
 */
#include "compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_compare_usage[] =
    "usage: acthist compare --background BG.npy [--background-labels L.npy]\n"
    "                       --clean C.npy [--clean-labels CL.npy]\n"
    "                       --anomalous A.npy [--anomalous-labels AL.npy] ...\n"
    "                       [--methods empirical,kde,hist:auto,hist:64]\n"
    "                       [--tails upper,lower,two,both] [--stat S]\n"
    "                       [--alpha-max A] [--group M --fractions 0.1,0.5\n"
    "                        --runs R --restarts K --seed S] [--threads K]\n"
    "                       [--json]\n"
    "\n"
    "Fit each method on the background and print one table: method, model\n"
    "bytes, % of the raw float32 background, fit time, p-value time, scan\n"
    "time, and the individual-scan AUC of each anomalous set, for each tail,\n"
    "pooled and (when labels are given) conditional on the label.\n"
    "Methods: empirical, kde, hist (the default: 3072 equal-width bins),\n"
    "hist:N, hist:auto,"
    " hist:N:quantile or hist:N:tails for other edges.\n"
    "Pooled rows report the size of a model without labels.\n"
    "With --group M the table adds group-scan AUCs for each fraction.\n";

/* Split a comma-separated list in place. */
static int split(char *s, cli_list *out)
{
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
        cli_list_push(out, tok);
    return out->n > 0;
}

/* The fractions into job, and every method and tail checked.  0, or
 * CLI_USAGE after the message. */
static int check_lists(compare_job *job, const cli_list *fracs,
                       const cli_list *methods, const cli_list *tails)
{
    int tail;
    job->nfractions = fracs->n;
    for (size_t i = 0; i < fracs->n && i < COMPARE_MAX_FRACTIONS; i++)
        if (cli_parse_double("--fractions", fracs->v[i], 0, 1,
                             &job->fractions[i]))
            return CLI_USAGE;
    if (fracs->n > COMPARE_MAX_FRACTIONS) {
        cli_error("compare: at most %d fractions", COMPARE_MAX_FRACTIONS);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < methods->n; i++)
        if (compare_parse_method(methods->v[i], NULL) != 0)
            return CLI_USAGE;
    for (size_t i = 0; i < tails->n; i++)
        if (cli_parse_name("--tails", tails->v[i], ah_tail_name, &tail))
            return CLI_USAGE;
    return 0;
}

/* One labels file per background and anomalous file, and labels for
 * all the sets or none.  0, or CLI_USAGE after the message. */
static int check_labels(const cli_list *bg, const cli_list *bg_lab,
                        const char *clean_lab, const cli_list *anom,
                        const cli_list *anom_lab)
{
    if ((bg_lab->n && bg_lab->n != bg->n) || (anom_lab->n && anom_lab->n != anom->n)) {
        cli_error("compare: give one labels file per background and per "
                  "anomalous file, in order");
        return CLI_USAGE;
    }
    if ((bg_lab->n > 0) != (clean_lab != NULL) ||
        (bg_lab->n > 0) != (anom_lab->n > 0)) {
        cli_error("compare: give labels for the background, the clean and "
                  "every anomalous set, or for none");
        return CLI_USAGE;
    }
    return 0;
}

/* The files of the comparison into job (the lists stay the caller's). */
static void job_files(compare_job *job, const cli_list *bg,
                      const cli_list *bg_lab, const char *clean_s,
                      const char *clean_lab, const cli_list *anom,
                      const cli_list *anom_lab)
{
    job->background = bg->v;
    job->background_labels = bg_lab->n ? bg_lab->v : NULL;
    job->nbackground = bg->n;
    job->clean = clean_s;
    job->clean_labels = clean_lab;
    job->anomalous = anom->v;
    job->anomalous_labels = anom_lab->n ? anom_lab->v : NULL;
    job->nanomalous = anom->n;
}

/* Run the comparison and print the table (or JSON); progress goes to
 * standard error.  Returns an exit code. */
static int compare_print(const compare_job *job, int json)
{
    cli_buf out = {0};
    int rc = compare_run(job, json, &out, stderr);
    if (rc == 0)
        rc = cli_write_text(NULL, out.s, out.n) == 0 ? CLI_OK : CLI_FAIL;
    cli_buf_free(&out);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    const cli_command *self = cli_find("compare");
    const char *clean_s = NULL, *clean_lab = NULL, *methods_s = NULL,
               *tails_s = NULL, *stat_s = NULL, *alpha_s = NULL,
               *threads_s = NULL, *group_s = NULL, *fractions_s = NULL,
               *runs_s = NULL, *restarts_s = NULL, *seed_s = NULL;
    int json = 0;
    cli_list pos = {0}, bg = {0}, bg_lab = {0}, anom = {0}, anom_lab = {0},
             methods = {0}, tails = {0}, fracs = {0};
    cli_opt opts[] = {
        {"--background", CLI_MULTI, &bg, "BG.npy",
         "background activations to fit each method on; several files are "
         "one background"},
        {"--background-labels", CLI_MULTI, &bg_lab, "L.npy",
         "one labels file per --background, in order: adds the "
         "conditional rows"},
        {"--clean", CLI_STRING, &clean_s, "C.npy", "the clean inputs"},
        {"--clean-labels", CLI_STRING, &clean_lab, "CL.npy",
         "one label per row of --clean"},
        {"--anomalous", CLI_MULTI, &anom, "A.npy",
         "an anomalous set (give several for several columns)"},
        {"--anomalous-labels", CLI_MULTI, &anom_lab, "AL.npy",
         "one labels file per --anomalous, in order"},
        {"--methods", CLI_STRING, &methods_s, "LIST",
         "comma-separated methods (default "
         "empirical,kde,hist:auto,hist:64,hist)"},
        {"--tails", CLI_STRING, &tails_s, "LIST",
         "comma-separated tails (default upper,lower,two,both)"},
        {"--stat", CLI_STRING, &stat_s, "S", CLI_HELP_STAT},
        {"--alpha-max", CLI_STRING, &alpha_s, "A", CLI_HELP_ALPHA_MAX},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
        {"--group", CLI_STRING, &group_s, "M",
         "also group-scan power: R runs, each a batch of M clean inputs "
         "against the same batch with a fraction of them replaced by "
         "anomalous inputs"},
        {"--fractions", CLI_STRING, &fractions_s, "LIST",
         "comma-separated fractions for --group (default 0.1,0.5)"},
        {"--runs", CLI_STRING, &runs_s, "R",
         "runs per fraction for --group (default 50)"},
        {"--restarts", CLI_STRING, &restarts_s, "K", CLI_HELP_RESTARTS},
        {"--seed", CLI_STRING, &seed_s, "S", CLI_HELP_SEED},
        {"--json", CLI_FLAG, &json, NULL, "one JSON object"},
    };
    char *mcopy = NULL, *tcopy = NULL, *fcopy = NULL;
    compare_job job;
    memset(&job, 0, sizeof job);
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done;
    int tail_unused;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, NULL, threads_s,
                                     &job.stat, &job.alpha_max, &tail_unused,
                                     &job.threads)) != 0)
        goto done;
    rc = CLI_USAGE;
    if (pos.n || bg.n == 0 || !clean_s || anom.n == 0) {
        cli_error("compare: give --background, --clean and at least one "
                  "--anomalous");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done;
    }
    if (check_labels(&bg, &bg_lab, clean_lab, &anom, &anom_lab))
        goto done;
    mcopy = strdup(methods_s ? methods_s : "empirical,kde,hist:auto,hist:64,hist");
    tcopy = strdup(tails_s ? tails_s : "upper,lower,two,both");
    fcopy = strdup(fractions_s ? fractions_s : "0.1,0.5");
    if (!mcopy || !tcopy || !fcopy || !split(mcopy, &methods) ||
        !split(tcopy, &tails) || !split(fcopy, &fracs)) {
        cli_error("compare: empty --methods, --tails or --fractions");
        goto done;
    }
    job.group.runs = 50;
    job.group.restarts = 10;
    if (eval_parse_group(group_s, runs_s, restarts_s, seed_s, &job.group))
        goto done;
    if (check_lists(&job, &fracs, &methods, &tails))
        goto done;
    job_files(&job, &bg, &bg_lab, clean_s, clean_lab, &anom, &anom_lab);
    job.methods = methods.v;
    job.nmethods = methods.n;
    job.tails = tails.v;
    job.ntails = tails.n;
    rc = compare_print(&job, json);
done:
    free(mcopy);
    free(tcopy);
    free(fcopy);
    cli_list_free(&pos);
    cli_list_free(&bg);
    cli_list_free(&bg_lab);
    cli_list_free(&anom);
    cli_list_free(&anom_lab);
    cli_list_free(&methods);
    cli_list_free(&tails);
    cli_list_free(&fracs);
    return rc;
}
