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
    "                   [--binning width|quantile|tails] [--tail upper|lower|two|both]\n"
    "                   [--atom-share S] [--chunk-rows R] [--basis none|pca]\n"
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
    "the same bytes as one fit of every shard with equal-width bins.\n"
    "  --method     hist (default), empirical (sorted columns) or kde\n"
    "  --bins       bins per node, or auto (NumPy's rule); default 3072\n"
    "  --binning    width (default, equal-width), quantile, or tails (finer\n"
    "               where p-values are small: geometric levels per tail)\n"
    "  --tail       the model's tail: upper, lower, two, both, or default:\n"
    "               two-tailed with --labels, lower without (the evidence\n"
    "               of docs/RESULTS.md); --tail upper without --labels is\n"
    "               the paper's configuration (and IBM ART's)\n"
    "  --labels     one integer label per background row, one file per\n"
    "               background file in the same order: a conditional model\n"
    "  --atom-share values taken by at least this share of a node's\n"
    "               background are kept exactly (default 1/32)\n"
    "  --chunk-rows rows read at a time (default 1024)\n"
    "  --basis      none (default), or pca: also scan each row's\n"
    "               coordinates along its label's principal components\n"
    "               of the background, and the norm of the rest (at most\n"
    "               2048 nodes; one more pass; docs/METHOD.md)\n"
    "  --basis-components R  components kept per label with --basis pca\n"
    "               (default 256, at most D)\n"
    "  --threads K  K threads, each fitting a slice of the rows, merged\n"
    "               exactly: the same model, K times the memory (equal-\n"
    "               width bins only; default 1)\n"
    "  --fpr F      also keep in the model the score threshold with false-\n"
    "               positive rate F, cross-fitted on the background: each\n"
    "               of K folds scored against a model of the others (for\n"
    "               acthist score with --stat bj --alpha-max 0.5)\n"
    "  --folds K    folds for --fpr (default 5)\n"
    "  --plan-only  write the first pass of this shard (a plan) to -o\n"
    "  --plan PLAN  count this shard against the merged PLAN, write the\n"
    "               counts to -o (the fit options come from the plan)\n";

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

int cmd_fit(int argc, char **argv)
{
    const cli_command *self = cli_find("fit");
    const char *method = NULL, *bins = NULL, *binning = NULL, *tail = NULL,
               *out = NULL, *share = NULL, *chunk = NULL, *plan_path = NULL,
               *threads_s = NULL, *fpr_s = NULL, *folds_s = NULL,
               *basis = NULL, *ncomp = NULL;
    int plan_only = 0;
    cli_list labels = {0}, files = {0};
    cli_opt opts[] = {
        {"--method", CLI_STRING, &method}, {"--bins", CLI_STRING, &bins},
        {"--binning", CLI_STRING, &binning}, {"--tail", CLI_STRING, &tail},
        {"-o", CLI_STRING, &out}, {"--output", CLI_STRING, &out},
        {"--labels", CLI_MULTI, &labels}, {"--atom-share", CLI_STRING, &share},
        {"--chunk-rows", CLI_STRING, &chunk},
        {"--plan-only", CLI_FLAG, &plan_only},
        {"--plan", CLI_STRING, &plan_path},
        {"--threads", CLI_STRING, &threads_s},
        {"--fpr", CLI_STRING, &fpr_s},     {"--folds", CLI_STRING, &folds_s},
        {"--basis", CLI_STRING, &basis},
        {"--basis-components", CLI_STRING, &ncomp},
    };
    int rc = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0], &files,
                       self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (plan_path && (method || bins || binning || tail || share || chunk ||
                      plan_only || threads_s || basis || ncomp)) {
        cli_error("fit: with --plan the fit options come from the plan (give "
                  "only -o, the shard's files and their --labels)");
        goto done0;
    }
    method = method ? method : "hist";
    bins = bins ? bins : "3072";
    binning = binning ? binning : "width";
    tail = tail ? tail : "default";
    ah_fit_options o;
    ah_fit_options_default(&o);
    if ((o.method = ah_method_parse(method)) < 0) {
        cli_unknown_name("--method", method, ah_method_name);
        goto done0;
    }
    if ((o.tail = ah_tail_parse(tail)) == -1) {
        cli_unknown_name("--tail", tail, ah_tail_name);
        goto done0;
    }
    if ((o.binning = ah_binning_parse(binning)) < 0) {
        cli_unknown_name("--binning", binning, ah_binning_name);
        goto done0;
    }
    long v;
    if (strcmp(bins, "auto") == 0)
        o.bins = AH_BINS_AUTO;
    else if (cli_parse_option_int("--bins", bins, AH_OPTION_BINS, &v) != 0)
        goto done0;
    else
        o.bins = (int)v;
    if (share && cli_parse_option_double("--atom-share", share,
                                         AH_OPTION_ATOM_SHARE, &o.atom_share))
        goto done0;
    if (chunk) {
        if (cli_parse_option_int("--chunk-rows", chunk, AH_OPTION_CHUNK_ROWS,
                                 &v) != 0)
            goto done0;
        o.chunk_rows = (size_t)v;
    }
    if (basis && (o.basis = ah_basis_parse(basis)) == -1) {
        cli_unknown_name("--basis", basis, ah_basis_name);
        goto done0;
    }
    if (ncomp) {
        if (cli_parse_option_int("--basis-components", ncomp,
                                 AH_OPTION_BASIS_COMPONENTS, &v) != 0)
            goto done0;
        o.basis_components = (int)v;
    }
    long threads = 1;
    if (threads_s && cli_parse_int("--threads", threads_s, 1, 256, &threads))
        goto done0;
    if (threads > 1 && o.basis == AH_BASIS_PCA) {
        cli_error("fit: --basis pca is learnt in one thread (--threads "
                  "fits in shards, which learn no basis)");
        goto done0;
    }
    double fpr = 0;
    long folds = 5;
    if (fpr_s && cli_parse_double("--fpr", fpr_s, 1e-9, 1 - 1e-9, &fpr))
        goto done0;
    if (folds_s && cli_parse_int("--folds", folds_s, 2, 100, &folds))
        goto done0;
    if (folds_s && !fpr_s) {
        cli_error("fit: --folds goes with --fpr");
        goto done0;
    }
    if (fpr_s && (plan_only || plan_path)) {
        cli_error("fit: --fpr needs the whole background (not a shard)");
        goto done0;
    }
    if (threads > 1 && plan_only) {
        cli_error("fit: --threads and --plan-only do not go together");
        goto done0;
    }
    if (!out) {
        cli_error("fit: missing -o MODEL");
        fputs(self->usage, stderr);
        goto done0;
    }
    if (files.n == 0) {
        cli_error("fit: no background file given");
        fputs(self->usage, stderr);
        goto done0;
    }
    if (labels.n && labels.n != files.n) {
        cli_error("fit: %zu background files but %zu labels files (give one "
                  "per background file, in order)", files.n, labels.n);
        goto done0;
    }
    if ((rc = cli_output_not_input("fit", out, files.v, files.n)) != CLI_OK ||
        (rc = cli_output_not_input("fit", out, labels.v, labels.n)) !=
            CLI_OK ||
        (rc = cli_output_not_input("fit", out, &plan_path, 1)) != CLI_OK)
        goto done0;
    rc = CLI_USAGE;
    if (labels.n == 0 && !plan_path)
        cli_error("note: no --labels: a pooled model.  Labels (the class "
                  "the network predicts for each background row) usually "
                  "detect far better: see docs/RESULTS.md");
    ah_model *m = NULL;
    double t0 = cli_now();
    if (threads > 1) {
        rc = cli_fit_threads(files.v, files.n, labels.v, labels.n, &o,
                             (int)threads, &m);
        if (rc != CLI_OK)
            goto done0;
        if (!fpr_s) { /* the background is read again only to cross-fit */
            rc = cli_save_model(m, out, "fitted", t0);
            goto done0;
        }
    }
    cli_background bg;
    rc = cli_background_open(&bg, files.v, files.n, labels.v, labels.n);
    if (rc != CLI_OK) {
        ah_model_free(m);
        goto done0;
    }
    rc = CLI_FAIL;
    ah_diag d;
    ah_row_source src = cli_background_source(&bg);
    cli_progress prog;
    cli_progress_start(&prog, "fit", bg.count);
    bg.progress = &prog;
    if (plan_only || plan_path) {
        rc = fit_shard(&src, &o, plan_path, out);
        goto done;
    }
    if (!m && ah_model_fit_source(&m, &src, &o, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    size_t above = 0, scored = 0;
    if (fpr_s && (rc = cli_crossfit_threshold(&src, &o, (int)folds, fpr, m,
                                              &above, &scored)) != CLI_OK) {
        ah_model_free(m);
        goto done;
    }
    cli_progress_end(&prog);
    if (fpr_s) {
        ah_threshold t;
        ah_model_get_threshold(m, &t);
        cli_error("threshold %.6g: %zu of %zu background rows above it, "
                  "each scored against a model of the other %ld folds "
                  "(asked: a false-positive rate of %g)", t.score, above,
                  scored, folds - 1, fpr);
    }
    rc = cli_save_model(m, out, "fitted", t0);
done:
    cli_progress_end(bg.progress);
    cli_background_close(&bg);
done0:
    cli_list_free(&labels);
    cli_list_free(&files);
    return rc;
}
