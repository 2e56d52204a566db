/*
 * cmd_pvalues.c - acthist pvalues: p-value ranges as a float64 .npy.
 *
 * Rows are streamed in chunks so that inputs larger than memory work; the
 * output is written to a temporary file and renamed only when complete.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_pvalues_usage[] =
    "usage: acthist pvalues MODEL INPUT.npy [--labels L.npy] [--tail T]\n"
    "                       [--threads K] [--backend B] -o OUT.npy\n"
    "\n"
    "Write the p-value range of every (input, node) as float64 of shape\n"
    "(n, D, 2): [..., 0] = p_min, [..., 1] = p_max.  With --tail both the\n"
    "shape is (n, 2D, 2), upper-tail block first.\n";

/* What pv_chunks streams: from the reader through the model to the
 * writer, chunk rows at a time in the buffers x and p. */
typedef struct pv_stream {
    const ah_model *m;
    ah_npy_reader *r;
    ah_npy_writer *w;
    double *x, *p;
    size_t chunk, D, width;
    const int64_t *labels; /* NULL: none */
    int tail, threads, backend;
    const char *in_path;
} pv_stream;

/* The p-values of the input's n rows, written chunk by chunk; *unseen
 * gets the rows whose labels the model has not seen.  CLI_OK, or the
 * exit code after the message. */
static int pv_chunks(const pv_stream *s, size_t n, size_t *unseen)
{
    ah_diag d;
    ah_query_options o;
    ah_query_options_init(&o);
    o.tail = s->tail;
    o.threads = s->threads;
    o.backend = s->backend;
    size_t done_rows = 0;
    while (done_rows < n) {
        size_t got = 0, u = 0;
        if (ah_npy_read_rows(s->r, s->x, s->chunk, s->D, 1, &got, &d) !=
            AH_OK)
            return cli_diag(NULL, &d);
        if (got == 0)
            break;
        ah_input in = {s->x, AH_DTYPE_F64, got, s->D, s->D,
                       s->labels ? s->labels + done_rows : NULL};
        if (ah_pvalues_in(s->m, &in, &o, s->p, &u, &d) != AH_OK)
            return cli_diag(s->in_path, &d);
        if (ah_npy_writer_write(s->w, s->p, got * s->width * 2, &d) != AH_OK)
            return cli_diag(NULL, &d);
        *unseen += u;
        done_rows += got;
    }
    return CLI_OK;
}

/* --tail, --threads and --backend into their values: 0, or nonzero after
 * the message. */
static int pv_values(const char *tail_s, const char *threads_s,
                     const char *backend_s, int *tail, long *threads,
                     int *backend)
{
    if (tail_s && (*tail = ah_tail_parse(tail_s)) < 0) {
        cli_unknown_name("--tail", tail_s, ah_tail_name);
        return 1;
    }
    if (threads_s && cli_parse_option_int("--threads", threads_s,
                                          AH_OPTION_THREADS, threads))
        return 1;
    return backend_s &&
           cli_parse_name("--backend", backend_s, ah_backend_name, backend);
}

int cmd_pvalues(int argc, char **argv)
{
    const cli_command *self = cli_find("pvalues");
    const char *out = NULL, *labels_path = NULL, *tail_s = NULL,
               *threads_s = NULL, *backend_s = NULL;
    int pooled = 0, use = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "OUT.npy",
         "the p-values, written in chunks to a temporary file renamed "
         "into place"},
        {"--labels", CLI_STRING, &labels_path, "L.npy", CLI_HELP_LABELS},
        {"--pooled", CLI_FLAG, &pooled, NULL, CLI_HELP_POOLED},
        {"--tail", CLI_STRING, &tail_s, "T", CLI_HELP_TAIL},
        {"--threads", CLI_STRING, &threads_s, "K", CLI_HELP_THREADS},
        {"--backend", CLI_STRING, &backend_s, "B", CLI_HELP_BACKEND},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (pos.n != 2 || !out) {
        cli_error("pvalues: give MODEL INPUT.npy and -o OUT.npy");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    int tail = -1, backend = AH_BACKEND_CPU;
    long threads = 0;
    if (pv_values(tail_s, threads_s, backend_s, &tail, &threads, &backend))
        goto done0;
    const char *ins[] = {pos.v[0], pos.v[1], labels_path};
    if ((rc = cli_output_not_input("pvalues", out, ins, 3)) != CLI_OK)
        goto done0;
    rc = CLI_FAIL;
    const char *model_path = pos.v[0], *in_path = pos.v[1];
    ah_model *m = NULL;
    ah_npy_reader *r = NULL;
    ah_npy_writer *w = NULL;
    int64_t *labels = NULL;
    double *x = NULL, *p = NULL;
    ah_diag d;
    if ((rc = cli_open_model_stream("pvalues", model_path, in_path,
                                    labels_path, pooled, &m, &r, &use)) !=
        CLI_OK)
        goto done;
    rc = CLI_FAIL;
    size_t n = ah_npy_rows(r), D = ah_npy_cols(r);
    if (use && cli_read_labels(labels_path, n, in_path, &labels) != 0)
        goto done;
    size_t width = ah_pvalue_width(m, tail);
    uint64_t shape[3] = {n, width, 2};
    size_t chunk = (1u << 22) / (2 * width) + 1;
    if (chunk > n)
        chunk = n;
    x = malloc(chunk * D * sizeof *x);
    p = malloc(chunk * width * 2 * sizeof *p);
    if (!x || !p) {
        cli_error("out of memory");
        goto done;
    }
    if (ah_npy_writer_open(&w, out, shape, 3, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    size_t unseen_total = 0;
    pv_stream ps = {m, r, w, x, p, chunk, D, width, labels, tail,
                    (int)threads, backend, in_path};
    if ((rc = pv_chunks(&ps, n, &unseen_total)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    ah_npy_writer *wc = w;
    w = NULL;
    if (ah_npy_writer_commit(wc, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    if (labels && unseen_total)
        cli_error("note: %zu of %zu rows of %s have labels that the model "
                  "has not seen; they were compared with the pooled "
                  "background", unseen_total, n, in_path);
    rc = CLI_OK;
done:
    ah_npy_writer_abort(w);
    ah_npy_close(r);
    ah_model_free(m);
    free(labels);
    free(x);
    free(p);
done0:
    cli_list_free(&pos);
    return rc;
}
