/*
 * scale_real.c - a model at a real network's size, fitted from rows made
 * on demand, so the raw background never exists on disk or in memory.
 *
 *   scale_real --rows N --cols D [--labels K] --out MODEL [--score-rows Q]
 *
 * After the fit it runs itself again with --loaded 1 on MODEL, so that
 * what loading adds to the resident set is not hidden by the fit's freed
 * heap.
 *
 * Rows are ReLU-like: each value is exactly 0 with probability 1/2, else
 * exponential with a per-node scale (log-uniform over two decades), times
 * a per-(label, node) factor in [0.75, 1.25] when K > 0; row i has label
 * i mod K.  Every value depends only on (row, column), so the fitter's
 * second pass (ah_row_source.rewind) sees the same rows.
 *
 * Prints one JSON line: fit seconds and the process's peak RSS after the
 * fit, the file's bytes, then loading the file again: seconds, the
 * resident set it adds and the memory acthist info reports; then the
 * score (ah_score, default options) of Q new rows: seconds a row.  Uses
 * the public API only.
 */
#include "acthist.h"
#include "process_memory.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct gen {
    size_t rows, cols, labels, next;
    unsigned passes; /* reads of the rows (rewinds + 1) */
    uint64_t seed;
    float *scale;  /* cols */
    float *factor; /* labels x cols, or NULL */
} gen;

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Row i into out[0..cols). */
static void make_row(const gen *g, size_t i, double *out, int64_t *label)
{
    uint64_t s = mix(g->seed ^ mix(i));
    size_t k = g->labels ? i % g->labels : 0;
    const float *f = g->factor ? g->factor + k * g->cols : NULL;
    for (size_t j = 0; j < g->cols; j++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        if (s >> 63) {
            out[j] = 0.0;
            continue;
        }
        double u = (double)(((s >> 10) & ((1ull << 52) - 1)) | 1) * 0x1p-52;
        out[j] = (double)(float)(-log(u) * g->scale[j] * (f ? f[j] : 1.0f));
    }
    if (label)
        *label = (int64_t)k;
}

static int gen_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    gen *g = ctx;
    (void)diag;
    size_t n = 0;
    for (; n < max_rows && g->next < g->rows; n++, g->next++)
        make_row(g, g->next, rows + n * ld, labels ? labels + n : NULL);
    *got = n;
    return AH_OK;
}

static int gen_rewind(void *ctx, ah_diag *diag)
{
    (void)diag;
    ((gen *)ctx)->next = 0;
    ((gen *)ctx)->passes++;
    return AH_OK;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, const ah_diag *d)
{
    fprintf(stderr, "scale_real: %s: %s\n", what, d->message);
    return 1;
}

/* Fit from generated rows, save, then measure the load in a fresh
 * process (argv[0] --loaded 1 ...). */
static int fit_and_save(gen *g, const char *out, char **argv)
{
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_row_source src = {g, g->cols, g->labels > 0, gen_read, gen_rewind};
    ah_model *m = NULL;
    ah_diag d;
    double t0 = now();
    g->passes = 1;
    if (ah_model_fit_source(&m, &src, &o, &d) != AH_OK)
        return fail("fit", &d);
    double fit_s = now() - t0;
    long fit_peak_kb = peak_rss_kb();
    if (ah_model_save(m, out, &d) != AH_OK)
        return fail(out, &d);
    ah_model_free(m);
    printf("{\"bench\": \"scale_real_fit\", \"N\": %zu, \"D\": %zu, "
           "\"labels\": %zu, \"fit_s\": %.3f, \"fit_peak_rss_kb\": %ld, "
           "\"fit_passes\": %u}\n",
           g->rows, g->cols, g->labels, fit_s, fit_peak_kb, g->passes);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* the same arguments, and --loaded 1 */
        char **args = argv;
        size_t n = 0;
        while (args[n])
            n++;
        char **more = malloc((n + 3) * sizeof *more);
        if (!more)
            _exit(1);
        memcpy(more, args, n * sizeof *more);
        more[n] = "--loaded";
        more[n + 1] = "1";
        more[n + 2] = NULL;
        execv("/proc/self/exe", more);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Load MODEL, then score Q new rows. */
static int load_and_score(gen *g, const char *out, size_t qrows)
{
    ah_model *m = NULL;
    ah_diag d;
    struct stat st;
    if (stat(out, &st) != 0)
        return 1;
    long long before = rss_now();
    double t0 = now();
    if (ah_model_load(&m, out, &d) != AH_OK)
        return fail(out, &d);
    double load_s = now() - t0;
    long long added = rss_now() - before;
    ah_model_info in;
    ah_model_get_info(m, &in);
    double *q = malloc(qrows * g->cols * sizeof *q);
    int64_t *ql = malloc(qrows * sizeof *ql);
    ah_scan_result *res = malloc(qrows * sizeof *res);
    if (!q || !ql || !res)
        return 1;
    g->seed ^= 0x5eed; /* new rows from the same model */
    for (size_t i = 0; i < qrows; i++)
        make_row(g, i, q + i * g->cols, &ql[i]);
    size_t unseen = 0;
    t0 = now();
    if (ah_score(m, q, qrows, g->cols, g->cols, g->labels ? ql : NULL,
                 AH_TAIL_DEFAULT, AH_STAT_BJ, 0.5, res, &unseen, 0, &d) != AH_OK)
        return fail("score", &d);
    double score_s = (now() - t0) / (double)qrows;
    printf("{\"bench\": \"scale_real\", \"N\": %zu, \"D\": %zu, "
           "\"labels\": %zu, \"file_bytes\": %lld, \"raw_bytes\": %.0f, "
           "\"load_s\": %.4f, \"rss_added_bytes\": %lld, "
           "\"memory_bytes\": %zu, \"score_s_per_row\": %.6g, "
           "\"score_rows\": %zu}\n",
           g->rows, g->cols, g->labels, (long long)st.st_size, in.raw_bytes,
           load_s, added, in.memory_bytes, score_s, qrows);
    ah_model_free(m);
    free(q);
    free(ql);
    free(res);
    return 0;
}

int main(int argc, char **argv)
{
    gen g = {0};
    g.seed = 20261208;
    const char *out = NULL;
    size_t qrows = 200;
    int loaded = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--rows"))
            g.rows = v;
        else if (!strcmp(argv[i], "--cols"))
            g.cols = v;
        else if (!strcmp(argv[i], "--labels"))
            g.labels = v;
        else if (!strcmp(argv[i], "--score-rows"))
            qrows = v;
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--loaded"))
            loaded = (int)v;
    }
    if (!g.rows || !g.cols || !out || !qrows) {
        fprintf(stderr, "usage: scale_real --rows N --cols D [--labels K] "
                        "--out MODEL [--score-rows Q]\n");
        return 2;
    }
    g.scale = malloc(g.cols * sizeof *g.scale);
    g.factor = g.labels ? malloc(g.labels * g.cols * sizeof *g.factor) : NULL;
    if (!g.scale || (g.labels && !g.factor))
        return 1;
    for (size_t j = 0; j < g.cols; j++)
        g.scale[j] = (float)pow(10.0, -1.0 + 2.0 * (double)(mix(j) >> 11) * 0x1p-53);
    for (size_t k = 0; k < g.labels * g.cols; k++)
        g.factor[k] = (float)(0.75 + 0.5 * (double)(mix(k ^ 0xfacade) >> 11) * 0x1p-53);
    int rc = loaded ? load_and_score(&g, out, qrows) : fit_and_save(&g, out, argv);
    free(g.scale);
    free(g.factor);
    return rc;
}
