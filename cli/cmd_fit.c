/*
 * cmd_fit.c - acthist fit: stream background files into a model file, or
 * one shard's part of a fit in shards (--plan-only, --plan; see merge).
 *
 * Several background files (with one labels file each, in order) are read
 * as one background; the files are read twice for histograms, never held in
 * memory whole.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_fit_usage[] =
    "usage: acthist fit [--method hist|empirical|kde] [--bins N|auto]\n"
    "                   [--binning width|quantile|tails]\n"
    "                   [--tail upper|lower|two|both|default]\n"
    "                   [--atom-share S] [--chunk-rows R] [--threads K]\n"
    "                   [--fpr F [--folds K]] [--basis none|pca]\n"
    "                   [--basis-components R] [--fit-memory MB]\n"
    "                   -o MODEL BACKGROUND.npy [MORE.npy ...] [--labels L.npy ...]\n"
    "       acthist fit [fit options] --plan-only -o PLAN SHARD.npy [...]\n"
    "       acthist fit --plan PLAN -o COUNTS SHARD.npy [...] [--labels ...]\n"
    "\n"
    "Fit per-node representations of background activations (n inputs x D\n"
    "nodes; shape (n, ...) is flattened) and save them to MODEL.\n"
    "\n"
    "Fitting in shards (histograms), where each shard of the background is\n"
    "read on its own machine: --plan-only writes the shard's first pass;\n"
    "'acthist merge' merges the shards' plans into one; --plan PLAN counts\n"
    "the shard against it; 'acthist merge' of all counts writes the model,\n"
    "the same bytes as one fit of every shard with equal-width bins.\n";

/* One shard's part: its plan (plan_path NULL) or its counts against the
 * plan in plan_path. */
static int fit_shard(ah_row_source *src, const ah_fit_options *o,
                     const char *plan_path, const char *out)
{
    ah_diag d;
    ah_shard *plan = NULL, *s = NULL;
    double t0 = cli_now();
    int st;
    if (plan_path) {
        if (ah_shard_load(&plan, plan_path, &d) != AH_OK)
            return cli_diag(NULL, &d);
        ah_shard_info pi;
        ah_shard_get_info(plan, &pi);
        if (pi.kind != AH_SHARD_PLAN) {
            cli_error("%s: these are counts, not a plan (merge the shards' "
                      "--plan-only outputs into the plan)", plan_path);
            ah_shard_free(plan);
            return CLI_USAGE;
        }
        if (pi.nodes != src->cols) {
            cli_error("%s: the plan has %zu nodes, the shard %zu per row",
                      plan_path, pi.nodes, src->cols);
            ah_shard_free(plan);
            return CLI_FAIL;
        }
        st = ah_shard_count(&s, plan, src, &d);
    } else {
        st = ah_shard_plan(&s, src, o, &d);
    }
    ah_shard_free(plan);
    if (st != AH_OK)
        return cli_diag(NULL, &d);
    if (ah_shard_save(s, out, &d) != AH_OK) {
        ah_shard_free(s);
        return cli_diag(NULL, &d);
    }
    ah_shard_info si;
    ah_shard_get_info(s, &si);
    size_t bytes = 0;
    ah_shard_save_memory(s, NULL, &bytes, NULL);
    fprintf(stderr, "acthist: %s of %zu rows x %zu nodes, %zu labels, %zu "
            "bytes, in %.2f s\n", plan_path ? "counted a shard" : "planned a shard",
            si.rows, si.nodes, si.labels, bytes, cli_now() - t0);
    ah_shard_free(s);
    return CLI_OK;
}

/* What cmd_fit parsed and checked, for fit_run. */
typedef struct fit_job {
    const char *out, *plan_path;
    const cli_list *files, *labels;
    ah_fit_options o;
    long threads, folds;
    double fpr; /* 0: no --fpr */
    int plan_only;
} fit_job;

/* --threads, --fpr and --folds into j, and whether they go with the
 * other options.  0, or CLI_USAGE after the message. */
static int fit_values(fit_job *j, const char *threads_s, const char *fpr_s,
                      const char *folds_s, const char *memory_s)
{
    long mb;
    if (memory_s && cli_parse_option_int("--fit-memory", memory_s,
                                         AH_OPTION_FIT_MEMORY_MB, &mb))
        return CLI_USAGE;
    if (memory_s)
        j->o.fit_memory_mb = (size_t)mb;
    if (threads_s && cli_parse_int("--threads", threads_s, 1, 256,
                                   &j->threads))
        return CLI_USAGE;
    if (fpr_s && cli_parse_double("--fpr", fpr_s, 1e-9, 1 - 1e-9, &j->fpr))
        return CLI_USAGE;
    if (folds_s && cli_parse_int("--folds", folds_s, 2, 100, &j->folds))
        return CLI_USAGE;
    if (folds_s && !fpr_s) {
        cli_error("fit: --folds goes with --fpr");
        return CLI_USAGE;
    }
    if (fpr_s && (j->plan_only || j->plan_path)) {
        cli_error("fit: --fpr needs the whole background (not a shard)");
        return CLI_USAGE;
    }
    if (j->threads > 1 && j->plan_only) {
        cli_error("fit: --threads and --plan-only do not go together");
        return CLI_USAGE;
    }
    if (j->threads > 1 && memory_s) {
        cli_error("fit: --fit-memory groups the sets of a fit in one thread "
                  "(--threads fits in shards, each holding every set)");
        return CLI_USAGE;
    }
    return 0;
}

/* Fit the background (or one shard's part) and save what was fitted to
 * j->out, once its labels files match its background files.  Prints any
 * error; returns an exit code. */
static int fit_run(const fit_job *j)
{
    if (j->labels->n && j->labels->n != j->files->n) {
        cli_error("fit: %zu background files but %zu labels files (give one "
                  "per background file, in order)", j->files->n,
                  j->labels->n);
        return CLI_USAGE;
    }
    if (j->labels->n == 0 && !j->plan_path)
        cli_error("note: no --labels: a pooled model.  Labels (the class "
                  "the network predicts for each background row) usually "
                  "detect far better: see docs/RESULTS.md");
    int rc;
    ah_model *m = NULL;
    double t0 = cli_now();
    if (j->threads > 1) {
        rc = cli_fit_threads(j->files->v, j->files->n, j->labels->v,
                             j->labels->n, &j->o, (int)j->threads, &m);
        if (rc != CLI_OK)
            return rc;
        if (!j->fpr) /* the background is read again only to cross-fit */
            return cli_save_model(m, j->out, "fitted", t0);
    }
    cli_background bg;
    rc = cli_background_open(&bg, j->files->v, j->files->n, j->labels->v,
                             j->labels->n);
    if (rc != CLI_OK) {
        ah_model_free(m);
        return rc;
    }
    rc = CLI_FAIL;
    ah_diag d;
    ah_row_source src = cli_background_source(&bg);
    cli_progress prog;
    cli_progress_start(&prog, "fit", bg.count);
    bg.progress = &prog;
    if (j->plan_only || j->plan_path) {
        rc = fit_shard(&src, &j->o, j->plan_path, j->out);
        goto done;
    }
    if (!m && ah_model_fit_source(&m, &src, &j->o, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    size_t above = 0, scored = 0;
    if (j->fpr &&
        (rc = cli_crossfit_threshold(&src, &j->o, (int)j->folds, j->fpr, m,
                                     &above, &scored)) != CLI_OK) {
        ah_model_free(m);
        goto done;
    }
    cli_progress_end(&prog);
    if (j->fpr) {
        ah_threshold t;
        ah_model_get_threshold(m, &t);
        cli_error("threshold %.6g: %zu of %zu background rows above it, "
                  "each scored against a model of the other %ld folds "
                  "(asked: a false-positive rate of %g)", t.score, above,
                  scored, j->folds - 1, j->fpr);
    }
    rc = cli_save_model(m, j->out, "fitted", t0);
done:
    cli_progress_end(bg.progress);
    cli_background_close(&bg);
    return rc;
}

/* --basis and --basis-components into j->o, and whether they go with
 * --threads.  0, or CLI_USAGE after the message. */
static int fit_basis(fit_job *j, const char *basis, const char *ncomp)
{
    if (basis && (j->o.basis = ah_basis_parse(basis)) == -1) {
        cli_unknown_name("--basis", basis, ah_basis_name);
        return CLI_USAGE;
    }
    long v;
    if (ncomp) {
        if (cli_parse_option_int("--basis-components", ncomp,
                                 AH_OPTION_BASIS_COMPONENTS, &v) != 0)
            return CLI_USAGE;
        j->o.basis_components = (int)v;
    }
    if (j->threads > 1 && j->o.basis == AH_BASIS_PCA) {
        cli_error("fit: --basis pca is learnt in one thread (--threads "
                  "fits in shards, which learn no basis)");
        return CLI_USAGE;
    }
    return 0;
}

int cmd_fit(int argc, char **argv)
{
    const cli_command *self = cli_find("fit");
    const char *method = NULL, *bins = NULL, *binning = NULL, *tail = NULL,
               *out = NULL, *share = NULL, *chunk = NULL, *plan_path = NULL,
               *threads_s = NULL, *fpr_s = NULL, *folds_s = NULL,
               *basis = NULL, *ncomp = NULL, *memory_s = NULL;
    int plan_only = 0;
    cli_list labels = {0}, files = {0};
    cli_opt opts[] = {
        {"--method", CLI_STRING, &method, "M",
         "hist (default), empirical (sorted columns) or kde"},
        {"--bins", CLI_STRING, &bins, "N|auto",
         CLI_HELP_BINS},
        {"--binning", CLI_STRING, &binning, "B",
         CLI_HELP_BINNING},
        {"--tail", CLI_STRING, &tail, "T",
         CLI_HELP_FIT_TAIL},
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "MODEL",
         "the model file (a plan or counts with --plan-only, --plan), "
         "written atomically"},
        {"--labels", CLI_MULTI, &labels, "L.npy",
         CLI_HELP_FIT_LABELS},
        {"--atom-share", CLI_STRING, &share, "S",
         CLI_HELP_ATOM_SHARE},
        {"--chunk-rows", CLI_STRING, &chunk, "R",
         CLI_HELP_FIT_CHUNK_ROWS},
        {"--plan-only", CLI_FLAG, &plan_only, NULL,
         "write the first pass of this shard (a plan) to -o"},
        {"--plan", CLI_STRING, &plan_path, "PLAN",
         "count this shard against the merged PLAN, write the counts to -o "
         "(the fit options come from the plan)"},
        {"--threads", CLI_STRING, &threads_s, "K",
         "K threads, each fitting a slice of the rows, merged exactly: the "
         "same model, K times the memory (equal-width bins only; default "
         "1)"},
        {"--fpr", CLI_STRING, &fpr_s, "F",
         "also keep in the model the score threshold with false-positive "
         "rate F, cross-fitted on the background: each of K folds scored "
         "against a model of the others (for acthist score with --stat bj "
         "--alpha-max 0.5)"},
        {"--folds", CLI_STRING, &folds_s, "K",
         "folds for --fpr (default 5)"},
        {"--basis", CLI_STRING, &basis, "none|pca",
         "none (default), or pca: also scan each row's coordinates along "
         "its label's principal components of the background, and the norm "
         "of the rest (at most 2048 nodes; one more pass; docs/METHOD.md)"},
        {"--basis-components", CLI_STRING, &ncomp, "R",
         "components kept per label with --basis pca (default 256, at most "
         "D)"},
        {"--fit-memory", CLI_STRING, &memory_s, "MB",
         "megabytes the counting may hold at once: label sets are counted "
         "in groups that fit, one more pass each (default 0: half of this "
         "process's memory; the same model)"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &files, self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (plan_path && (method || bins || binning || tail || share || chunk ||
                      plan_only || threads_s || basis || ncomp ||
                      memory_s)) {
        cli_error("fit: with --plan the fit options come from the plan (give "
                  "only -o, the shard's files and their --labels)");
        goto done0;
    }
    ah_fit_options o;
    if (cli_fit_options(&o, method, bins, binning, tail, share, chunk))
        goto done0;
    fit_job job = {out, plan_path, &files, &labels, o, 1, 5, 0, plan_only};
    if (fit_values(&job, threads_s, fpr_s, folds_s, memory_s))
        goto done0;
    if (fit_basis(&job, basis, ncomp))
        goto done0;
    if (!out) {
        cli_error("fit: missing -o MODEL");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    if (files.n == 0) {
        cli_error("fit: no background file given");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    if ((rc = cli_output_not_input("fit", out, files.v, files.n)) != CLI_OK ||
        (rc = cli_output_not_input("fit", out, labels.v, labels.n)) !=
            CLI_OK ||
        (rc = cli_output_not_input("fit", out, &plan_path, 1)) != CLI_OK)
        goto done0;
    rc = fit_run(&job);
done0:
    cli_list_free(&labels);
    cli_list_free(&files);
    return rc;
}
