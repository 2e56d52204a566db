/*
 * cmd_score.c - acthist score: the individual scan of every input row.
 *
 * The input is read in chunks, so an input larger than memory is scored
 * (only the CSV or JSON text is kept whole, to be written atomically).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_score_usage[] =
    "usage: acthist score MODEL INPUT.npy [--labels L.npy | --pooled]\n"
    "                     [-o SCORES.csv] [--stat bj|hc|ks] [--alpha-max A]\n"
    "                     [--tail T] [--threads K] [--backend B] [--json]\n"
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

/* What cmd_score parsed and checked, for score_run. */
typedef struct score_job {
    const char *model_path, *input_path, *labels_path, *out;
    int stat, tail, threads, json, pooled, ignore_thr;
    double alpha;
    long chunk; /* 0: the default */
    int backend;
} score_job;

/* What score_run holds; score_state_free frees it all. */
typedef struct score_state {
    ah_model *m;
    ah_npy_reader *r;
    double *x;
    int64_t *labels;
    ah_scan_result *res;
    size_t n, D, rows; /* input rows, nodes, rows read at a time */
    ah_threshold thr;  /* source AH_THRESHOLD_NONE: no flags */
    cli_buf b;         /* the output text */
} score_state;

static void score_state_free(score_state *st)
{
    cli_buf_free(&st->b);
    ah_npy_close(st->r);
    ah_model_free(st->m);
    free(st->x);
    free(st->labels);
    free(st->res);
}

/* Load the model, open the input, check them against each other and the
 * model's threshold against the settings, read the labels and allocate a
 * chunk.  CLI_OK, or the exit code after the message. */
static int score_open(const score_job *j, score_state *st)
{
    int use = 0, rc;
    if ((rc = cli_open_model_stream("score", j->model_path, j->input_path,
                                    j->labels_path, j->pooled, &st->m,
                                    &st->r, &use)) != CLI_OK)
        return rc;
    size_t n = st->n = ah_npy_rows(st->r), D = st->D = ah_npy_cols(st->r);
    ah_model_get_threshold(st->m, &st->thr);
    if (j->ignore_thr)
        st->thr.source = AH_THRESHOLD_NONE;
    if (st->thr.source != AH_THRESHOLD_NONE &&
        (rc = cli_threshold_applies(
             "score", j->model_path, &st->thr, j->stat, j->alpha,
             j->tail < 0 ? ah_model_tail(st->m) : j->tail, !use)) != CLI_OK)
        return rc;
    if (use && cli_read_labels(j->labels_path, n, j->input_path, &st->labels))
        return CLI_FAIL;
    st->rows = j->chunk ? (size_t)j->chunk : ((size_t)1 << 22) / D + 1;
    if (st->rows > n)
        st->rows = n;
    st->x = malloc(st->rows * D * sizeof *st->x);
    st->res = malloc(st->rows * sizeof *st->res);
    if (!st->x || !st->res) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Append the scores of rows first.. of one chunk (got rows) to the text;
 * count the flagged ones into *flagged. */
static void score_text(const score_job *j, score_state *st, size_t first,
                       size_t got, size_t *flagged)
{
    int flag = st->thr.source != AH_THRESHOLD_NONE, json = j->json;
    const ah_scan_result *res = st->res;
    for (size_t k = 0; k < got; k++) {
        size_t i = first + k;
        int f = flag && res[k].score > st->thr.score;
        *flagged += (size_t)f;
        if (json)
            cli_buf_printf(&st->b, "%s{\"index\": %zu, \"score\": %.17g, "
                                   "\"alpha\": %.17g, \"size\": %zu",
                           i ? ", " : "", i, res[k].score, res[k].alpha,
                           res[k].size);
        else
            cli_buf_printf(&st->b, "%zu,%.17g,%.17g,%zu", i, res[k].score,
                           res[k].alpha, res[k].size);
        if (flag)
            cli_buf_printf(&st->b, json ? ", \"flagged\": %d" : ",%d", f);
        cli_buf_printf(&st->b, json ? "}" : "\n");
    }
}

/* Score the input chunk by chunk into the text; *unseen gets the rows
 * whose labels the model has not seen.  CLI_OK, or the exit code after
 * the message. */
static int score_chunks(const score_job *j, score_state *st, size_t *flagged,
                        size_t *unseen)
{
    ah_diag d;
    size_t n = st->n, D = st->D;
    int rc = CLI_OK;
    ah_query_options o;
    ah_query_options_init(&o);
    o.tail = j->tail;
    o.stat = j->stat;
    o.alpha_max = j->alpha;
    o.threads = j->threads;
    o.backend = j->backend;
    cli_progress prog;
    cli_progress_start(&prog, "score", n);
    for (size_t first = 0; first < n;) {
        size_t got = 0, u = 0;
        if (ah_npy_read_rows(st->r, st->x, st->rows, D, 1, &got, &d) !=
            AH_OK) {
            rc = cli_diag(NULL, &d);
            break;
        }
        if (got == 0) {
            cli_error("%s: read %zu of %zu rows", j->input_path, first, n);
            rc = CLI_FAIL;
            break;
        }
        ah_input in = {st->x, AH_DTYPE_F64, got, D, D,
                       st->labels ? st->labels + first : NULL};
        if (ah_score_in(st->m, &in, &o, st->res, &u, &d) != AH_OK) {
            rc = cli_diag(j->input_path, &d);
            break;
        }
        score_text(j, st, first, got, flagged);
        *unseen += u;
        first += got;
        cli_progress_update(&prog, first);
    }
    cli_progress_end(&prog);
    return rc;
}

/* Score the input and write CSV or JSON to j->out; the count of flagged
 * inputs and a note on unseen labels go to standard error.  Returns an
 * exit code. */
static int score_run(const score_job *j)
{
    score_state st;
    memset(&st, 0, sizeof st);
    size_t flagged = 0, unseen = 0;
    int rc = score_open(j, &st);
    if (rc != CLI_OK)
        goto done;
    const ah_threshold *thr = &st.thr;
    int flag = thr->source != AH_THRESHOLD_NONE;
    if (j->json) {
        cli_buf_printf(&st.b, "{\"stat\": \"%s\", \"alpha_max\": %.17g, ",
                       ah_stat_name(j->stat), j->alpha);
        if (flag)
            cli_buf_printf(&st.b, "\"threshold\": %.17g, \"fpr\": %.17g, ",
                           thr->score, thr->fpr);
        cli_buf_printf(&st.b, "\"scores\": [");
    } else {
        cli_buf_printf(&st.b, flag ? "index,score,alpha,size,flagged\n"
                                   : "index,score,alpha,size\n");
    }
    if ((rc = score_chunks(j, &st, &flagged, &unseen)) != CLI_OK)
        goto done;
    if (j->json)
        cli_buf_printf(&st.b, "]}\n");
    rc = CLI_FAIL;
    if (cli_write_text(j->out, st.b.s, st.b.n) != 0)
        goto done;
    if (flag)
        cli_error("%zu of %zu inputs flagged (score above %.6g: a "
                  "false-positive rate of %g %s)", flagged, st.n, thr->score,
                  thr->fpr, thr->source == AH_THRESHOLD_CROSSFIT
                                ? "cross-fitted on the background"
                                : "on clean inputs");
    if (st.labels && unseen)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "has not seen; they were compared with the pooled "
                  "background", unseen, st.n, j->input_path);
    rc = CLI_OK;
done:
    score_state_free(&st);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    const cli_command *self = cli_find("score");
    const char *out = NULL, *labels_path = NULL, *stat_s = NULL,
               *alpha_s = NULL, *tail_s = NULL, *threads_s = NULL,
               *chunk_s = NULL, *backend_s = NULL;
    int json = 0, pooled = 0, ignore_thr = 0;
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
        {"--backend", CLI_STRING, &backend_s, "B", CLI_HELP_BACKEND},
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
    int backend = AH_BACKEND_CPU;
    if (backend_s &&
        (rc = cli_parse_name("--backend", backend_s, ah_backend_name,
                             &backend)) != 0)
        goto done0;
    const char *ins[] = {pos.v[0], pos.v[1], labels_path};
    if ((rc = cli_output_not_input("score", out, ins, 3)) != CLI_OK)
        goto done0;
    score_job job = {pos.v[0], pos.v[1], labels_path, out, stat, tail,
                     threads, json, pooled, ignore_thr, alpha, chunk,
                     backend};
    rc = score_run(&job);
done0:
    cli_list_free(&pos);
    return rc;
}
