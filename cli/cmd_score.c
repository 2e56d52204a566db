/*
 * cmd_score.c - acthist score: the individual scan of every input row.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_score_usage[] =
    "usage: acthist score MODEL INPUT.npy [--labels L.npy] [-o SCORES.csv]\n"
    "                     [--stat bj|hc|ks] [--alpha-max A] [--tail T]\n"
    "                     [--threads K] [--json]\n"
    "\n"
    "Scan each input's nodes for the most anomalous subset.  Writes CSV with\n"
    "the header index,score,alpha,size (or one JSON object with --json) to\n"
    "standard output or -o.\n"
    "  --stat       bj (Berk-Jones, default), hc (Higher Criticism), ks\n"
    "  --alpha-max  largest p-value threshold considered (default 0.5)\n"
    "  --tail       upper, lower, two or both (default: the model's tail)\n"
    "  --labels     one label per input row, for a conditional model\n";

/* Shared with the other scanning commands. */
int cli_parse_scan_options(const char *stat_s, const char *alpha_s,
                           const char *tail_s, const char *threads_s,
                           int *stat, double *alpha, int *tail, int *threads);
int cli_parse_scan_options(const char *stat_s, const char *alpha_s,
                           const char *tail_s, const char *threads_s,
                           int *stat, double *alpha, int *tail, int *threads)
{
    *stat = AH_STAT_BJ;
    *alpha = 0.5;
    *tail = -1;
    *threads = 0;
    if (stat_s && (*stat = ah_stat_parse(stat_s)) < 0) {
        cli_error("unknown statistic '%s' (bj, hc, ks)", stat_s);
        return CLI_USAGE;
    }
    if (alpha_s && cli_parse_double("--alpha-max", alpha_s, 1e-12, 1, alpha))
        return CLI_USAGE;
    if (tail_s && (*tail = ah_tail_parse(tail_s)) < 0) {
        cli_error("unknown tail '%s' (upper, lower, two, both)", tail_s);
        return CLI_USAGE;
    }
    long t = 0;
    if (threads_s && cli_parse_int("--threads", threads_s, 0, 256, &t))
        return CLI_USAGE;
    *threads = (int)t;
    return 0;
}

int cmd_score(int argc, char **argv)
{
    const cli_command *self = cli_find("score");
    const char *out = NULL, *labels_path = NULL, *stat_s = NULL,
               *alpha_s = NULL, *tail_s = NULL, *threads_s = NULL;
    int json = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out},         {"--output", CLI_STRING, &out},
        {"--labels", CLI_STRING, &labels_path},
        {"--stat", CLI_STRING, &stat_s},  {"--alpha-max", CLI_STRING, &alpha_s},
        {"--tail", CLI_STRING, &tail_s},  {"--threads", CLI_STRING, &threads_s},
        {"--json", CLI_FLAG, &json},
    };
    int rc = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0], &pos,
                       self);
    if (rc >= 0)
        goto done0;
    int stat, tail, threads;
    double alpha;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &stat, &alpha, &tail, &threads)) != 0)
        goto done0;
    if (pos.n != 2) {
        cli_error("score: give MODEL and INPUT.npy");
        fputs(self->usage, stderr);
        rc = CLI_USAGE;
        goto done0;
    }
    rc = CLI_FAIL;
    ah_model *m = NULL;
    double *x = NULL;
    int64_t *labels = NULL;
    ah_scan_result *res = NULL;
    size_t n = 0, D = 0, unseen = 0;
    ah_diag d;
    cli_buf b = {0};
    if (cli_load_model_input(pos.v[0], pos.v[1], labels_path, &m, &x, &n, &D,
                             &labels))
        goto done;
    res = malloc(n * sizeof *res);
    if (!res) {
        cli_error("out of memory");
        goto done;
    }
    if (ah_score(m, x, n, D, D, labels, tail, stat, alpha, res, &unseen,
                 threads, &d) != AH_OK) {
        rc = cli_diag(pos.v[1], &d);
        goto done;
    }
    if (json) {
        cli_buf_printf(&b, "{\"stat\": \"%s\", \"alpha_max\": %.17g, "
                           "\"scores\": [", ah_stat_name(stat), alpha);
        for (size_t i = 0; i < n; i++)
            cli_buf_printf(&b, "%s{\"index\": %zu, \"score\": %.17g, "
                               "\"alpha\": %.17g, \"size\": %zu}",
                           i ? ", " : "", i, res[i].score, res[i].alpha,
                           res[i].size);
        cli_buf_printf(&b, "]}\n");
    } else {
        cli_buf_printf(&b, "index,score,alpha,size\n");
        for (size_t i = 0; i < n; i++)
            cli_buf_printf(&b, "%zu,%.17g,%.17g,%zu\n", i, res[i].score,
                           res[i].alpha, res[i].size);
    }
    if (cli_write_text(out, b.s, b.n) != 0)
        goto done;
    if (labels && unseen)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "has not seen; they were compared with the pooled "
                  "background", unseen, n, pos.v[1]);
    rc = CLI_OK;
done:
    cli_buf_free(&b);
    ah_model_free(m);
    free(x);
    free(labels);
    free(res);
done0:
    cli_list_free(&pos);
    return rc;
}
