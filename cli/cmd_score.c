/*
 * cmd_score.c - acthist score: the individual scan of every input row.
 *
 * The input is read in chunks, so an input larger than memory is scored
 * (only the CSV or JSON text is kept whole, to be written atomically).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_score_usage[] =
    "usage: acthist score MODEL INPUT.npy [--labels L.npy | --pooled]\n"
    "                     [-o SCORES.csv] [--stat bj|hc|ks] [--alpha-max A]\n"
    "                     [--tail T] [--threads K] [--json]\n"
    "                     [--ignore-threshold]\n"
    "\n"
    "Scan each input's nodes for the most anomalous subset.  Writes CSV with\n"
    "the header index,score,alpha,size (or one JSON object with --json) to\n"
    "standard output or -o.  When the model holds a threshold (acthist\n"
    "calibrate, fit --fpr) a column flagged (1: score above the threshold)\n"
    "is added and the count of flagged inputs goes to standard error.\n";

int cli_parse_scan_options(const char *stat_s, const char *alpha_s,
                           const char *tail_s, const char *threads_s,
                           int *stat, double *alpha, int *tail, int *threads)
{
    *stat = AH_STAT_BJ;
    *alpha = 0.5;
    *tail = -1;
    *threads = 0;
    if (stat_s && (*stat = ah_stat_parse(stat_s)) < 0) {
        cli_unknown_name("--stat", stat_s, ah_stat_name);
        return CLI_USAGE;
    }
    if (alpha_s && cli_parse_option_double("--alpha-max", alpha_s,
                                           AH_OPTION_ALPHA_MAX, alpha))
        return CLI_USAGE;
    if (tail_s && (*tail = ah_tail_parse(tail_s)) < 0) {
        cli_unknown_name("--tail", tail_s, ah_tail_name);
        return CLI_USAGE;
    }
    long t = 0;
    if (threads_s && cli_parse_option_int("--threads", threads_s,
                                          AH_OPTION_THREADS, &t))
        return CLI_USAGE;
    *threads = (int)t;
    return 0;
}

int cmd_score(int argc, char **argv)
{
    const cli_command *self = cli_find("score");
    const char *out = NULL, *labels_path = NULL, *stat_s = NULL,
               *alpha_s = NULL, *tail_s = NULL, *threads_s = NULL,
               *chunk_s = NULL;
    int json = 0, pooled = 0, use = 0, ignore_thr = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "SCORES.csv",
         "where the scores go, written atomically (default: standard "
         "output)"},
        {"--labels", CLI_STRING, &labels_path, "L.npy", CLI_HELP_LABELS},
        {"--pooled", CLI_FLAG, &pooled, NULL, CLI_HELP_POOLED},
        {"--ignore-threshold", CLI_FLAG, &ignore_thr, NULL,
         "scores only, without the model's threshold (needed to score with "
         "other settings than it holds for)"},
        {"--stat", CLI_STRING, &stat_s, "S", CLI_HELP_STAT},
        {"--alpha-max", CLI_STRING, &alpha_s, "A", CLI_HELP_ALPHA_MAX},
        {"--tail", CLI_STRING, &tail_s, "T", CLI_HELP_TAIL},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
        {"--json", CLI_FLAG, &json, NULL, "one JSON object"},
        {"--chunk-rows", CLI_STRING, &chunk_s, "R",
         "rows read and scored at a time (default: 32 MB of activations "
         "as float64); scores do not depend on it"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    int stat, tail, threads;
    double alpha;
    if ((rc = cli_parse_scan_options(stat_s, alpha_s, tail_s, threads_s,
                                     &stat, &alpha, &tail, &threads)) != 0)
        goto done0;
    if (pos.n != 2) {
        cli_error("score: give MODEL and INPUT.npy");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        rc = CLI_USAGE;
        goto done0;
    }
    long chunk = 0;
    if (chunk_s && cli_parse_option_int("--chunk-rows", chunk_s,
                                        AH_OPTION_CHUNK_ROWS, &chunk)) {
        rc = CLI_USAGE;
        goto done0;
    }
    const char *ins[] = {pos.v[0], pos.v[1], labels_path};
    if ((rc = cli_output_not_input("score", out, ins, 3)) != CLI_OK)
        goto done0;
    rc = CLI_FAIL;
    ah_model *m = NULL;
    ah_npy_reader *r = NULL;
    double *x = NULL;
    int64_t *labels = NULL;
    ah_scan_result *res = NULL;
    size_t n = 0, D = 0, unseen = 0;
    ah_diag d;
    cli_buf b = {0};
    if (cli_load_model(pos.v[0], &m) != 0)
        goto done;
    if ((rc = cli_labels_check("score", pos.v[0], m, "--labels", labels_path,
                               pooled, &use)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    if (ah_npy_open(&r, pos.v[1], &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    n = ah_npy_rows(r);
    D = ah_npy_cols(r);
    if (n == 0 || D == 0) {
        cli_error("%s: empty array (%zu rows x %zu columns)", pos.v[1], n, D);
        goto done;
    }
    if (D != ah_model_nodes(m)) {
        cli_error("%s: %zu nodes per row, but the model %s has %zu", pos.v[1],
                  D, pos.v[0], ah_model_nodes(m));
        goto done;
    }
    ah_threshold thr;
    ah_model_get_threshold(m, &thr);
    if (ignore_thr)
        thr.source = AH_THRESHOLD_NONE;
    if (thr.source != AH_THRESHOLD_NONE &&
        (rc = cli_threshold_applies("score", pos.v[0], &thr, stat, alpha,
                                    tail < 0 ? ah_model_tail(m) : tail,
                                    !use)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    int flag = thr.source != AH_THRESHOLD_NONE;
    size_t flagged = 0;
    if (use && cli_read_labels(labels_path, n, pos.v[1], &labels))
        goto done;
    size_t rows = chunk ? (size_t)chunk : ((size_t)1 << 22) / D + 1;
    if (rows > n)
        rows = n;
    x = malloc(rows * D * sizeof *x);
    res = malloc(rows * sizeof *res);
    if (!x || !res) {
        cli_error("out of memory");
        goto done;
    }
    if (json) {
        cli_buf_printf(&b, "{\"stat\": \"%s\", \"alpha_max\": %.17g, ",
                       ah_stat_name(stat), alpha);
        if (flag)
            cli_buf_printf(&b, "\"threshold\": %.17g, \"fpr\": %.17g, ",
                           thr.score, thr.fpr);
        cli_buf_printf(&b, "\"scores\": [");
    } else {
        cli_buf_printf(&b, flag ? "index,score,alpha,size,flagged\n"
                                : "index,score,alpha,size\n");
    }
    cli_progress prog;
    cli_progress_start(&prog, "score", n);
    for (size_t first = 0; first < n;) {
        size_t got = 0, u = 0;
        if (ah_npy_read_rows(r, x, rows, D, 1, &got, &d) != AH_OK) {
            rc = cli_diag(NULL, &d);
            goto done;
        }
        if (got == 0) {
            cli_error("%s: read %zu of %zu rows", pos.v[1], first, n);
            goto done;
        }
        if (ah_score(m, x, got, D, D, labels ? labels + first : NULL, tail,
                     stat, alpha, res, &u, threads, &d) != AH_OK) {
            rc = cli_diag(pos.v[1], &d);
            goto done;
        }
        for (size_t k = 0; k < got; k++) {
            size_t i = first + k;
            int f = flag && res[k].score > thr.score;
            flagged += (size_t)f;
            if (json)
                cli_buf_printf(&b, "%s{\"index\": %zu, \"score\": %.17g, "
                                   "\"alpha\": %.17g, \"size\": %zu",
                               i ? ", " : "", i, res[k].score, res[k].alpha,
                               res[k].size);
            else
                cli_buf_printf(&b, "%zu,%.17g,%.17g,%zu", i, res[k].score,
                               res[k].alpha, res[k].size);
            if (flag)
                cli_buf_printf(&b, json ? ", \"flagged\": %d" : ",%d", f);
            cli_buf_printf(&b, json ? "}" : "\n");
        }
        unseen += u;
        first += got;
        cli_progress_update(&prog, first);
    }
    cli_progress_end(&prog);
    if (json)
        cli_buf_printf(&b, "]}\n");
    if (cli_write_text(out, b.s, b.n) != 0)
        goto done;
    if (flag)
        cli_error("%zu of %zu inputs flagged (score above %.6g: a "
                  "false-positive rate of %g %s)", flagged, n, thr.score,
                  thr.fpr, thr.source == AH_THRESHOLD_CROSSFIT
                               ? "cross-fitted on the background"
                               : "on clean inputs");
    if (labels && unseen)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "has not seen; they were compared with the pooled "
                  "background", unseen, n, pos.v[1]);
    rc = CLI_OK;
done:
    cli_buf_free(&b);
    ah_npy_close(r);
    ah_model_free(m);
    free(x);
    free(labels);
    free(res);
done0:
    cli_list_free(&pos);
    return rc;
}
