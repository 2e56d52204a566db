/*
 * cmd_scan_group.c - acthist scan-group: the most anomalous subset of
 * inputs x nodes of one batch (fast generalized subset scan).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_scan_group_usage[] =
    "usage: acthist scan-group MODEL INPUT.npy [--labels L.npy | --pooled]\n"
    "                          [--stat S]\n"
    "                          [--alpha-max A] [--tail T] [--restarts R]\n"
    "                          [--seed S] [--fractional] [--threads K] [--json]\n"
    "\n"
    "Treat the rows of INPUT as one batch and find the subset of inputs and\n"
    "nodes that maximises the scan statistic, by iterative ascent from R\n"
    "random starts (default 10, seed 0: reproducible at any thread count).\n";

/* The result of the group scan as text or JSON into b: the score, the
 * inputs and nodes flagged (in_flags of n, node_flags of w). */
static void group_text(cli_buf *b, int json, const ah_group_options *o,
                       const ah_group_result *r, double secs,
                       const unsigned char *in_flags, size_t n,
                       const unsigned char *node_flags, size_t w)
{
    if (json) {
        cli_buf_printf(b, "{\"stat\": \"%s\", \"score\": %.17g, \"alpha\": "
                           "%.17g, \"n_inputs\": %zu, \"n_nodes\": %zu, "
                           "\"restarts\": %d, \"seed\": %llu, \"seconds\": %.6f, "
                           "\"inputs\": [", ah_stat_name(o->stat), r->score,
                       r->alpha, r->n_inputs, r->n_nodes, o->restarts,
                       (unsigned long long)o->seed, secs);
        int first = 1;
        for (size_t i = 0; i < n; i++)
            if (in_flags[i]) {
                cli_buf_printf(b, "%s%zu", first ? "" : ", ", i);
                first = 0;
            }
        cli_buf_printf(b, "], \"nodes\": [");
        first = 1;
        for (size_t j = 0; j < w; j++)
            if (node_flags[j]) {
                cli_buf_printf(b, "%s%zu", first ? "" : ", ", j);
                first = 0;
            }
        cli_buf_printf(b, "]}\n");
    } else {
        cli_buf_printf(b, "score    %.10g\nalpha    %.10g\ninputs   %zu of "
                           "%zu:", r->score, r->alpha, r->n_inputs, n);
        for (size_t i = 0; i < n; i++)
            if (in_flags[i])
                cli_buf_printf(b, " %zu", i);
        cli_buf_printf(b, "\nnodes    %zu of %zu\nrestarts %d (seed %llu), "
                           "%.3f s\n", r->n_nodes, w, o->restarts,
                       (unsigned long long)o->seed, secs);
    }
}

int cmd_scan_group(int argc, char **argv)
{
    const cli_command *self = cli_find("scan-group");
    const char *labels_path = NULL, *stat_s = NULL, *alpha_s = NULL,
               *tail_s = NULL, *threads_s = NULL, *restarts_s = NULL,
               *seed_s = NULL;
    int json = 0, fractional = 0, pooled = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"--labels", CLI_STRING, &labels_path, "L.npy", CLI_HELP_LABELS},
        {"--pooled", CLI_FLAG, &pooled, NULL, CLI_HELP_POOLED},
        {"--stat", CLI_STRING, &stat_s, "S", CLI_HELP_STAT},
        {"--alpha-max", CLI_STRING, &alpha_s, "A", CLI_HELP_ALPHA_MAX},
        {"--tail", CLI_STRING, &tail_s, "T", CLI_HELP_TAIL},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
        {"--restarts", CLI_STRING, &restarts_s, "R", CLI_HELP_RESTARTS},
        {"--seed", CLI_STRING, &seed_s, "S", CLI_HELP_SEED},
        {"--fractional", CLI_FLAG, &fractional, NULL,
         "count the share of each p-value range below a threshold instead "
         "of p_max only (McFowland et al. 2013)"},
        {"--json", CLI_FLAG, &json, NULL, "one JSON object"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    ah_group_options o;
    ah_group_options_default(&o);
    int tail;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &o.stat, &o.alpha_max, &tail,
                                     &o.threads)) != 0)
        goto done0;
    long v;
    rc = CLI_USAGE;
    if (restarts_s && cli_parse_option_int("--restarts", restarts_s,
                                           AH_OPTION_RESTARTS, &v))
        goto done0;
    if (restarts_s)
        o.restarts = (int)v;
    if (seed_s && cli_parse_seed("--seed", seed_s, &o.seed))
        goto done0;
    o.fractional = fractional;
    if (pos.n != 2) {
        cli_error("scan-group: give MODEL and INPUT.npy");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    rc = CLI_FAIL;
    ah_model *m = NULL;
    double *x = NULL, *p = NULL;
    int64_t *labels = NULL;
    unsigned char *in_flags = NULL, *node_flags = NULL;
    size_t n = 0, D = 0, w = 0;
    ah_diag d;
    if ((rc = cli_load_model_input("scan-group", pos.v[0], pos.v[1],
                                   labels_path, pooled, &m, &x, &n, &D,
                                   &labels)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    w = ah_pvalue_width(m, tail);
    p = malloc(n * w * 2 * sizeof *p);
    in_flags = malloc(n);
    node_flags = malloc(w);
    if (!p || !in_flags || !node_flags) {
        cli_error("out of memory for a batch of %zu x %zu", n, w);
        goto done;
    }
    size_t unseen = 0;
    if (ah_pvalues(m, x, n, D, D, labels, tail, p, &unseen, o.threads, &d)) {
        rc = cli_diag(pos.v[1], &d);
        goto done;
    }
    if (unseen)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "was not fitted with; they were compared with the pooled "
                  "background", unseen, n, pos.v[1]);
    ah_group_result r;
    double t0 = cli_now();
    if (ah_scan_group(p, n, w, &o, &r, in_flags, node_flags, &d) != AH_OK) {
        rc = cli_diag(pos.v[1], &d);
        goto done;
    }
    double secs = cli_now() - t0;
    cli_buf b = {0};
    group_text(&b, json, &o, &r, secs, in_flags, n, node_flags, w);
    rc = cli_write_text(NULL, b.s, b.n) == 0 ? CLI_OK : CLI_FAIL;
    cli_buf_free(&b);
done:
    ah_model_free(m);
    free(x);
    free(p);
    free(labels);
    free(in_flags);
    free(node_flags);
done0:
    cli_list_free(&pos);
    return rc;
}
