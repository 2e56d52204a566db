/*
 * bench_acthist.c - timings of libacthist through its public API only.
 *
 * One subcommand per kind of measurement; bench/run.sh runs each in its own
 * process (so that the peak resident set of a fit is that fit's alone) and
 * bench/report.py turns the JSON lines they print into tables.
 *
 *   fit BG.npy METHOD BINS OUT.model    streamed fit from the file (as the CLI
 *                                       does), model bytes, peak RSS; BINS may
 *                                       be "default" (the library's)
 *   default-bins                        prints the library's default bins
 *   pvalues MODEL Q.npy [--f32]         ah_pvalues pairs/s and fused ah_score
 *                                       (--f32: ah_pvalues_f32, ah_score_f32 too)
 *                                       per input, per batch and thread count
 *   scan MODEL Q.npy                    ah_scan_individual per input on the
 *                                       model's p_max vectors, ah_scan_group
 *                                       per restart on a batch (none with
 *                                       --restarts 0)
 *   read Q.npy                          the floors: ah_npy_read_rows of the
 *                                       file, a raw read() of its bytes, and
 *                                       a sum of the rows as float64 (the
 *                                       memory stream of that many doubles)
 *   scale BG.npy OUT.model ACTHIST      runs `ACTHIST fit -o OUT.model BG.npy`
 *                                       (the streaming CLI) in a child and
 *                                       reports its time and peak RSS (wait4)
 *
 * Common options: --reps R (repetitions, the median is reported),
 * --min-time S (an operation shorter than S seconds is repeated inside one
 * repetition until it lasts S, and the time is divided), --threads LIST,
 * --batches LIST, --tag TEXT (copied into every line).
 *
 * Timing: clock_gettime(CLOCK_MONOTONIC); one untimed warm-up call first.
 * Inputs are read from files that run.sh has just written, i.e. from the
 * page cache: the read floor is a memory-bandwidth floor, not a disk one.
 * Timings on a shared 2-core machine are noisy: medians, never pass/fail.
 */
#include "acthist.h"
#include "process_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Options and output                                                       */
/* ------------------------------------------------------------------------ */

typedef struct opts {
    int reps;
    double min_time;
    int threads[8], nthreads;
    size_t batches[8];
    int nbatches;
    int restarts;
    size_t group_rows;
    const char *tag;
    const char *scores_out;
    int f32; /* pvalues: also time ah_pvalues_f32 and ah_score_f32 */
} opts;

static void die(const char *what, const ah_diag *d)
{
    fprintf(stderr, "bench_acthist: %s: %s\n", what,
            d && d->message[0] ? d->message : strerror(errno));
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * Time fn: one warm-up call, then reps repetitions of k calls each, k chosen
 * from the warm-up so that a repetition lasts about min_time.  Returns the
 * median seconds per call; lo and hi receive the fastest and slowest rep.
 * fn receives the call index, so successive calls can take successive
 * inputs (no repeat of one cache-hot input).  A call slower than 1 s gets
 * at most 3 repetitions.
 */
typedef void (*bench_fn)(void *ctx, size_t call);

typedef struct timing {
    double med, lo, hi; /* seconds per call */
    int reps;
    size_t k;           /* calls per repetition */
} timing;

static timing time_op(bench_fn fn, void *ctx, const opts *o)
{
    double t0 = now();
    fn(ctx, 0);
    double w = now() - t0;
    size_t k = 1;
    if (w < o->min_time)
        k = (size_t)ceil(o->min_time / (w > 1e-7 ? w : 1e-7));
    double v[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    if (w > 1.0 && reps > 3)
        reps = 3; /* slow calls: 3 repetitions keep the run in budget */
    size_t call = 1;
    for (int r = 0; r < reps; r++) {
        t0 = now();
        for (size_t i = 0; i < k; i++)
            fn(ctx, call++);
        v[r] = (now() - t0) / (double)k;
    }
    timing t = {0, v[0], v[0], reps, k};
    for (int r = 1; r < reps; r++) {
        t.lo = v[r] < t.lo ? v[r] : t.lo;
        t.hi = v[r] > t.hi ? v[r] : t.hi;
    }
    t.med = median(v, reps);
    return t;
}

/* Begin a JSON line with the fields every line shares. */
static void line_begin(const opts *o, const char *bench)
{
    printf("{\"bench\": \"%s\", \"tag\": \"%s\"", bench, o->tag ? o->tag : "");
}

static void line_end(timing t)
{
    printf(", \"median_s\": %.9g, \"min_s\": %.9g, \"max_s\": %.9g, "
           "\"reps\": %d, \"calls_per_rep\": %zu, \"peak_rss_kb\": %ld}\n",
           t.med, t.lo, t.hi, t.reps, t.k, peak_rss_kb());
    fflush(stdout);
}

static void model_fields(const ah_model *m)
{
    ah_model_info in;
    ah_model_get_info(m, &in);
    printf(", \"method\": \"%s\", \"bins\": %d, \"D\": %zu, \"N\": %zu",
           ah_method_name(in.method), in.method == AH_METHOD_HIST ? in.bins_requested : 0,
           in.nodes, in.rows);
}

/* ------------------------------------------------------------------------ */
/* Reading activations                                                      */
/* ------------------------------------------------------------------------ */

/* Read up to max_rows rows of a .npy file as doubles (malloc'ed). */
static double *read_matrix(const char *path, size_t max_rows, size_t *rows,
                           size_t *cols)
{
    ah_npy_reader *r;
    ah_diag d;
    if (ah_npy_open(&r, path, &d) != AH_OK)
        die(path, &d);
    size_t n = ah_npy_rows(r), D = ah_npy_cols(r);
    if (max_rows && n > max_rows)
        n = max_rows;
    double *x = malloc(n * D * sizeof *x);
    if (!x)
        die("out of memory", NULL);
    size_t done = 0, got = 0;
    while (done < n) {
        if (ah_npy_read_rows(r, x + done * D, n - done, D, 1, &got, &d) != AH_OK)
            die(path, &d);
        if (got == 0)
            break;
        done += got;
    }
    ah_npy_close(r);
    *rows = done;
    *cols = D;
    return x;
}

/* Row source over an npy reader, as the CLI's fit uses. */
static int src_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    (void)labels;
    return ah_npy_read_rows(ctx, rows, max_rows, ld, 1, got, diag);
}

static int src_rewind(void *ctx, ah_diag *diag)
{
    return ah_npy_rewind(ctx, diag);
}

/* ------------------------------------------------------------------------ */
/* fit                                                                      */
/* ------------------------------------------------------------------------ */

static int cmd_fit(int argc, char **argv, const opts *o)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_acthist fit BG.npy METHOD BINS OUT.model\n");
        return 2;
    }
    const char *bg = argv[0], *out = argv[3];
    ah_fit_options fo;
    ah_fit_options_default(&fo);
    /* The upper tail, as the ART-style baseline computes it (the library's
     * default for a background without labels is the lower tail; both
     * take the same counting, a different last step). */
    fo.tail = AH_TAIL_UPPER;
    fo.method = ah_method_parse(argv[1]);
    if (strcmp(argv[2], "default") != 0) /* else keep the library default */
        fo.bins = atoi(argv[2]);
    if (fo.method < 0) {
        fprintf(stderr, "bench_acthist: unknown method %s\n", argv[1]);
        return 2;
    }
    ah_npy_reader *r;
    ah_diag d;
    if (ah_npy_open(&r, bg, &d) != AH_OK)
        die(bg, &d);
    ah_row_source src = {r, ah_npy_cols(r), 0, src_read, src_rewind};
    double v[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    ah_model *m = NULL;
    /* Up to reps fits, but stop once 20 s have been spent: a fit of the
     * exact (empirical) model at D=4096, N=50000 alone takes ~25 s. */
    double spent = 0;
    int done = 0;
    for (int i = 0; i < reps && (i == 0 || spent < 20.0); i++, done++) {
        ah_model_free(m);
        m = NULL;
        if (ah_npy_rewind(r, &d) != AH_OK)
            die(bg, &d);
        double t0 = now();
        if (ah_model_fit_source(&m, &src, &fo, &d) != AH_OK)
            die(bg, &d);
        v[i] = now() - t0;
        spent += v[i];
    }
    reps = done;
    ah_npy_close(r);
    if (ah_model_save(m, out, &d) != AH_OK)
        die(out, &d);
    ah_model_info in;
    ah_model_get_info(m, &in);
    timing t = {0, v[0], v[0], reps, 1};
    for (int i = 1; i < reps; i++) {
        t.lo = v[i] < t.lo ? v[i] : t.lo;
        t.hi = v[i] > t.hi ? v[i] : t.hi;
    }
    t.med = median(v, reps);
    line_begin(o, "fit");
    model_fields(m);
    ah_fit_options def;
    ah_fit_options_default(&def);
    printf(", \"file_bytes\": %zu, \"memory_bytes\": %zu, \"raw_bytes\": %.0f, "
           "\"bins_median\": %zu, \"atoms\": %zu, \"default_bins\": %d",
           in.file_bytes, in.memory_bytes, in.raw_bytes, in.bins_median,
           in.atoms_total, def.bins);
    line_end(t);
    ah_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* pvalues and fused score                                                  */
/* ------------------------------------------------------------------------ */

typedef struct pv_ctx {
    const ah_model *m;
    const double *x;
    const float *xf; /* the same rows as floats (the _f32 calls) */
    size_t rows, D, batch;
    int threads, f32;  /* f32: time ah_pvalues_f32 / ah_score_f32 */
    double *out;
    ah_scan_result *res;
} pv_ctx;

static void run_pvalues(void *ctx, size_t call)
{
    pv_ctx *c = ctx;
    size_t r0 = c->batch == c->rows ? 0 : (call * c->batch) % (c->rows - c->batch + 1);
    ah_diag d;
    int st = c->f32 ? ah_pvalues_f32(c->m, c->xf + r0 * c->D, c->batch, c->D,
                                     c->D, NULL, -1, c->out, NULL,
                                     c->threads, &d)
                    : ah_pvalues(c->m, c->x + r0 * c->D, c->batch, c->D,
                                 c->D, NULL, -1, c->out, NULL, c->threads,
                                 &d);
    if (st != AH_OK)
        die("ah_pvalues", &d);
}

static void run_score(void *ctx, size_t call)
{
    pv_ctx *c = ctx;
    size_t r0 = c->batch == c->rows ? 0 : (call * c->batch) % (c->rows - c->batch + 1);
    ah_diag d;
    int st = c->f32 ? ah_score_f32(c->m, c->xf + r0 * c->D, c->batch, c->D,
                                   c->D, NULL, -1, AH_STAT_BJ, 0.5, c->res,
                                   NULL, c->threads, &d)
                    : ah_score(c->m, c->x + r0 * c->D, c->batch, c->D, c->D,
                               NULL, -1, AH_STAT_BJ, 0.5, c->res, NULL,
                               c->threads, &d);
    if (st != AH_OK)
        die("ah_score", &d);
}

static ah_model *load_model(const char *path)
{
    ah_model *m;
    ah_diag d;
    if (ah_model_load(&m, path, &d) != AH_OK)
        die(path, &d);
    return m;
}

static int cmd_pvalues(int argc, char **argv, const opts *o)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_acthist pvalues MODEL Q.npy\n");
        return 2;
    }
    ah_model *m = load_model(argv[0]);
    size_t rows, D, maxb = 0;
    for (int b = 0; b < o->nbatches; b++)
        maxb = o->batches[b] > maxb ? o->batches[b] : maxb;
    double *x = read_matrix(argv[1], maxb, &rows, &D);
    size_t w = ah_pvalue_width(m, -1);
    double *out = malloc(maxb * w * 2 * sizeof *out);
    ah_scan_result *res = malloc(maxb * sizeof *res);
    float *xf = malloc(rows * D * sizeof *xf + 1);
    if (!out || !res || !xf)
        die("out of memory", NULL);
    for (size_t i = 0; i < rows * D; i++) /* exact: the file holds floats */
        xf[i] = (float)x[i];
    for (int b = 0; b < o->nbatches; b++) {
        size_t batch = o->batches[b] < rows ? o->batches[b] : rows;
        for (int ti = 0; ti < o->nthreads; ti++) {
            pv_ctx c = {m, x, xf, rows, D, batch, o->threads[ti], 0, out,
                        res};
            /* doubles, then (--f32) the float32 entry points on the same
             * rows as floats */
            for (c.f32 = 0; c.f32 <= o->f32; c.f32++) {
                timing t = time_op(run_pvalues, &c, o);
                line_begin(o, c.f32 ? "pvalues_f32" : "pvalues");
                model_fields(m);
                printf(", \"batch\": %zu, \"threads\": %d, "
                       "\"pairs_per_s\": %.6g",
                       batch, o->threads[ti], (double)(batch * D) / t.med);
                line_end(t);
                t = time_op(run_score, &c, o);
                line_begin(o, c.f32 ? "score_f32" : "score");
                model_fields(m);
                printf(", \"batch\": %zu, \"threads\": %d, "
                       "\"per_input_s\": %.6g",
                       batch, o->threads[ti], t.med / (double)batch);
                line_end(t);
            }
        }
    }
    free(out);
    free(res);
    free(xf);
    free(x);
    ah_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* basis: the cost of scanning in a decorrelated basis                      */
/* ------------------------------------------------------------------------ */

/* Row source with ten labels, row i of the file taking i mod 10: the
 * conditional model of a 10-class network, as the real tasks have. */
typedef struct lab_src {
    ah_npy_reader *r;
    size_t pos;
} lab_src;

static int lab_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    lab_src *s = ctx;
    int st = ah_npy_read_rows(s->r, rows, max_rows, ld, 1, got, diag);
    for (size_t i = 0; st == AH_OK && i < *got; i++)
        labels[i] = (int64_t)((s->pos + i) % 10);
    s->pos += st == AH_OK ? *got : 0;
    return st;
}

static int lab_rewind(void *ctx, ah_diag *diag)
{
    lab_src *s = ctx;
    s->pos = 0;
    return ah_npy_rewind(s->r, diag);
}

/* One fit (labels i mod 10) with the given basis: its time and model. */
static ah_model *fit_labelled(const char *bg, int basis, double *secs)
{
    ah_fit_options fo;
    ah_fit_options_default(&fo);
    fo.basis = basis;
    ah_diag d;
    lab_src ls = {NULL, 0};
    if (ah_npy_open(&ls.r, bg, &d) != AH_OK)
        die(bg, &d);
    ah_row_source src = {&ls, ah_npy_cols(ls.r), 1, lab_read, lab_rewind};
    ah_model *m = NULL;
    double t0 = now();
    if (ah_model_fit_source(&m, &src, &fo, &d) != AH_OK)
        die(bg, &d);
    *secs = now() - t0;
    ah_npy_close(ls.r);
    return m;
}

/* The plain conditional model and the one with basis pca, fitted on the
 * same rows in the same run: fit time, file and memory bytes, and the
 * time to score a batch (one thread), each with its ratio. */
static int cmd_basis(int argc, char **argv, const opts *o)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_acthist basis BG.npy Q.npy\n");
        return 2;
    }
    size_t rows, D, batch = o->batches[o->nbatches - 1];
    double *x = read_matrix(argv[1], batch, &rows, &D);
    ah_scan_result *res = malloc(rows * sizeof *res);
    if (!res)
        die("out of memory", NULL);
    double fit[2], score[2];
    ah_model_info in[2];
    for (int b = 0; b < 2; b++) {
        ah_model *m = fit_labelled(argv[0], b ? AH_BASIS_PCA : AH_BASIS_NONE,
                                   &fit[b]);
        ah_model_get_info(m, &in[b]);
        pv_ctx c = {m, x, NULL, rows, D, rows, 1, 0, NULL, res};
        score[b] = time_op(run_score, &c, o).med;
        ah_model_free(m);
    }
    line_begin(o, "basis");
    printf(", \"D\": %zu, \"N\": %zu, \"labels\": %zu, \"components\": %zu, "
           "\"scanned_nodes\": %zu, \"batch\": %zu, "
           "\"fit_s\": [%.6g, %.6g], \"file_bytes\": [%zu, %zu], "
           "\"memory_bytes\": [%zu, %zu], \"basis_bytes\": %zu, "
           "\"score_s\": [%.6g, %.6g], \"raw_bytes\": %.0f}\n",
           D, in[0].rows, in[0].labels, in[1].basis_components,
           in[1].scanned_nodes, rows, fit[0], fit[1], in[0].file_bytes,
           in[1].file_bytes, in[0].memory_bytes, in[1].memory_bytes,
           in[1].basis_bytes, score[0], score[1], in[0].raw_bytes);
    free(res);
    free(x);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* scans                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct scan_ctx {
    const double *pmax; /* rows x D */
    const double *p;    /* rows x D x 2 */
    size_t rows, D;
    ah_group_options go;
    ah_group_result gres;
} scan_ctx;

static void run_individual(void *ctx, size_t call)
{
    scan_ctx *c = ctx;
    ah_scan_result res;
    ah_diag d;
    if (ah_scan_individual(c->pmax + (call % c->rows) * c->D, c->D, AH_STAT_BJ,
                           0.5, &res, NULL, &d) != AH_OK)
        die("ah_scan_individual", &d);
}

static void run_group(void *ctx, size_t call)
{
    scan_ctx *c = ctx;
    ah_diag d;
    (void)call;
    if (ah_scan_group(c->p, c->rows, c->D, &c->go, &c->gres, NULL, NULL, &d) != AH_OK)
        die("ah_scan_group", &d);
}

static int cmd_scan(int argc, char **argv, const opts *o)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_acthist scan MODEL Q.npy\n");
        return 2;
    }
    ah_model *m = load_model(argv[0]);
    size_t rows, D;
    double *x = read_matrix(argv[1], o->group_rows, &rows, &D);
    double *p = malloc(rows * D * 2 * sizeof *p);
    double *pmax = malloc(rows * D * sizeof *pmax);
    ah_diag d;
    if (!p || !pmax)
        die("out of memory", NULL);
    if (ah_pvalues(m, x, rows, D, D, NULL, AH_TAIL_UPPER, p, NULL, 0, &d) != AH_OK)
        die("ah_pvalues", &d);
    free(x);
    for (size_t i = 0; i < rows * D; i++)
        pmax[i] = p[2 * i + 1];
    if (o->scores_out) {
        FILE *f = fopen(o->scores_out, "w");
        if (!f)
            die(o->scores_out, NULL);
        for (size_t i = 0; i < rows; i++) {
            ah_scan_result res;
            if (ah_scan_individual(pmax + i * D, D, AH_STAT_BJ, 0.5, &res, NULL, &d) != AH_OK)
                die("ah_scan_individual", &d);
            fprintf(f, "%.17g %.17g %zu\n", res.score, res.alpha, res.size);
        }
        fclose(f);
    }
    scan_ctx c;
    memset(&c, 0, sizeof c);
    c.pmax = pmax;
    c.p = p;
    c.rows = rows;
    c.D = D;
    timing t = time_op(run_individual, &c, o);
    line_begin(o, "scan_individual");
    model_fields(m);
    printf(", \"per_input_s\": %.6g", t.med);
    line_end(t);

    /* --restarts 0: the individual scan alone (for profiling it) */
    for (int ti = 0; o->restarts > 0 && ti < o->nthreads; ti++) {
        ah_group_options_default(&c.go);
        c.go.restarts = o->restarts;
        c.go.seed = 7;
        c.go.threads = o->threads[ti];
        t = time_op(run_group, &c, o);
        line_begin(o, "scan_group");
        model_fields(m);
        printf(", \"batch\": %zu, \"threads\": %d, \"restarts\": %d, "
               "\"per_restart_s\": %.6g, \"score\": %.10g, \"n_inputs\": %zu, "
               "\"n_nodes\": %zu",
               rows, o->threads[ti], o->restarts, t.med / o->restarts,
               c.gres.score, c.gres.n_inputs, c.gres.n_nodes);
        line_end(t);
    }
    free(p);
    free(pmax);
    ah_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* read floors                                                              */
/* ------------------------------------------------------------------------ */

typedef struct read_ctx {
    const char *path;
    size_t rows, D;
    double *x;
    unsigned char *raw;
    size_t bytes;
} read_ctx;

static void run_npy_read(void *ctx, size_t call)
{
    read_ctx *c = ctx;
    ah_npy_reader *r;
    ah_diag d;
    (void)call;
    if (ah_npy_open(&r, c->path, &d) != AH_OK)
        die(c->path, &d);
    size_t done = 0, got;
    do {
        if (ah_npy_read_rows(r, c->x + done * c->D, c->rows - done, c->D, 1,
                             &got, &d) != AH_OK)
            die(c->path, &d);
        done += got;
    } while (got && done < c->rows);
    ah_npy_close(r);
}

static void run_raw_read(void *ctx, size_t call)
{
    read_ctx *c = ctx;
    (void)call;
    int fd = open(c->path, O_RDONLY);
    if (fd < 0)
        die(c->path, NULL);
    size_t done = 0;
    while (done < c->bytes) {
        ssize_t k = read(fd, c->raw + done, c->bytes - done);
        if (k <= 0)
            die(c->path, NULL);
        done += (size_t)k;
    }
    close(fd);
}

/* Sum the float64 rows once: the time merely to stream that many values
 * from memory into the core (the rows x D doubles are larger than the
 * caches at D = 4096), the floor of any pass over p-values of that size.
 * Eight sums, so the additions do not wait on each other. */
static volatile double mem_sink;

static void run_mem_sum(void *ctx, size_t call)
{
    read_ctx *c = ctx;
    const size_t n = c->rows * c->D;
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    (void)call;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += c->x[i + (size_t)k];
    for (; i < n; i++)
        s[0] += c->x[i];
    mem_sink = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static int cmd_read(int argc, char **argv, const opts *o)
{
    if (argc != 1) {
        fprintf(stderr, "usage: bench_acthist read Q.npy\n");
        return 2;
    }
    read_ctx c = {argv[0], 0, 0, NULL, NULL, 0};
    ah_npy_reader *r;
    ah_diag d;
    if (ah_npy_open(&r, c.path, &d) != AH_OK)
        die(c.path, &d);
    c.rows = ah_npy_rows(r);
    c.D = ah_npy_cols(r);
    ah_npy_close(r);
    struct stat st;
    if (stat(c.path, &st) != 0)
        die(c.path, NULL);
    c.bytes = (size_t)st.st_size;
    c.x = malloc(c.rows * c.D * sizeof *c.x);
    c.raw = malloc(c.bytes);
    if (!c.x || !c.raw)
        die("out of memory", NULL);
    timing t = time_op(run_npy_read, &c, o);
    line_begin(o, "read_npy");
    printf(", \"D\": %zu, \"rows\": %zu, \"bytes\": %zu, \"pairs_per_s\": %.6g",
           c.D, c.rows, c.bytes, (double)(c.rows * c.D) / t.med);
    line_end(t);
    t = time_op(run_raw_read, &c, o);
    line_begin(o, "read_raw");
    printf(", \"D\": %zu, \"rows\": %zu, \"bytes\": %zu, \"pairs_per_s\": %.6g",
           c.D, c.rows, c.bytes, (double)(c.rows * c.D) / t.med);
    line_end(t);
    t = time_op(run_mem_sum, &c, o);
    line_begin(o, "sum_f64");
    printf(", \"D\": %zu, \"rows\": %zu, \"bytes\": %zu, \"pairs_per_s\": %.6g, "
           "\"per_input_s\": %.6g",
           c.D, c.rows, c.rows * c.D * sizeof *c.x, (double)(c.rows * c.D) / t.med,
           t.med / (double)c.rows);
    line_end(t);
    free(c.x);
    free(c.raw);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* load: reading a model file, as every command that uses one does          */
/* ------------------------------------------------------------------------ */

static void run_load(void *ctx, size_t call)
{
    ah_model *m;
    ah_diag d;
    (void)call;
    if (ah_model_load(&m, (const char *)ctx, &d) != AH_OK)
        die((const char *)ctx, &d);
    ah_model_free(m);
}


/* Load time, and what the first load adds to the resident set beside
 * what ah_model_get_info says the model holds. */
static int cmd_load(int argc, char **argv, const opts *o)
{
    if (argc != 1) {
        fprintf(stderr, "usage: bench_acthist load MODEL\n");
        return 2;
    }
    ah_model *m;
    ah_diag d;
    long long before = rss_now();
    if (ah_model_load(&m, argv[0], &d) != AH_OK)
        die(argv[0], &d);
    long long added = before < 0 ? -1 : rss_now() - before;
    ah_model_info in;
    ah_model_get_info(m, &in);
    timing t = time_op(run_load, argv[0], o);
    line_begin(o, "load");
    model_fields(m);
    printf(", \"file_bytes\": %zu, \"memory_bytes\": %zu, "
           "\"rss_added_bytes\": %lld, \"labels\": %zu",
           in.file_bytes, in.memory_bytes, added, in.labels);
    line_end(t);
    ah_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* scale: the CLI's streaming fit in a child process                        */
/* ------------------------------------------------------------------------ */

static int cmd_scale(int argc, char **argv, const opts *o)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_acthist scale BG.npy OUT.model ACTHIST\n");
        return 2;
    }
    const char *bg = argv[0], *model = argv[1], *cli = argv[2];
    ah_npy_reader *r;
    ah_diag d;
    if (ah_npy_open(&r, bg, &d) != AH_OK)
        die(bg, &d);
    size_t N = ah_npy_rows(r), D = ah_npy_cols(r);
    ah_npy_close(r);
    struct stat st;
    if (stat(bg, &st) != 0)
        die(bg, NULL);
    double v[64];
    long rss = 0;
    int reps = o->reps > 64 ? 64 : o->reps;
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        pid_t pid = fork();
        if (pid < 0)
            die("fork", NULL);
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execl(cli, cli, "fit", "-o", model, bg, (char *)NULL);
            _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) != pid)
            die("wait4", NULL);
        v[i] = now() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_acthist: %s fit %s failed (status %d)\n",
                    cli, bg, status);
            return 1;
        }
        rss = ru.ru_maxrss > rss ? ru.ru_maxrss : rss;
    }
    double lo = v[0], hi = v[0];
    for (int i = 1; i < reps; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    double med = median(v, reps);
    ah_fit_options def; /* the CLI's defaults are the library's */
    ah_fit_options_default(&def);
    printf("{\"bench\": \"scale_fit\", \"tag\": \"%s\", \"method\": \"hist\", "
           "\"bins\": %d, \"D\": %zu, \"N\": %zu, \"file_bytes\": %lld, "
           "\"median_s\": %.9g, \"min_s\": %.9g, \"max_s\": %.9g, \"reps\": %d, "
           "\"calls_per_rep\": 1, \"peak_rss_kb\": %ld}\n",
           o->tag ? o->tag : "", def.bins, D, N, (long long)st.st_size, med, lo, hi,
           reps, rss);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------------ */

static int parse_list(const char *s, size_t *v, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *e;
        v[n++] = strtoull(s, &e, 10);
        s = *e == ',' ? e + 1 : e;
        if (*e && *e != ',')
            break;
    }
    return n;
}

int main(int argc, char **argv)
{
    opts o = {.reps = 5, .min_time = 0.05, .threads = {1}, .nthreads = 1,
              .batches = {1, 1000}, .nbatches = 2, .restarts = 4,
              .group_rows = 1000};
    if (argc < 2) {
        fputs("usage: bench_acthist fit|pvalues|scan|read|load|scale|basis|default-bins ARGS [--reps R] "
              "[--min-time S]\n       [--threads 1,2] [--batches 1,1000] "
              "[--restarts R] [--group-rows M]\n       [--tag T] "
              "[--scores-out FILE]\n", stderr);
        return 2;
    }
    const char *cmd = argv[1];
    char *pos[8];
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        size_t tmp[8];
        if (!strcmp(a, "--reps"))
            o.reps = atoi(v), i++;
        else if (!strcmp(a, "--min-time"))
            o.min_time = atof(v), i++;
        else if (!strcmp(a, "--restarts"))
            o.restarts = atoi(v), i++;
        else if (!strcmp(a, "--group-rows"))
            o.group_rows = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--tag"))
            o.tag = v, i++;
        else if (!strcmp(a, "--scores-out"))
            o.scores_out = v, i++;
        else if (!strcmp(a, "--batches"))
            o.nbatches = parse_list(v, o.batches, 8), i++;
        else if (!strcmp(a, "--f32"))
            o.f32 = 1;
        else if (!strcmp(a, "--threads")) {
            o.nthreads = parse_list(v, tmp, 8);
            for (int t = 0; t < o.nthreads; t++)
                o.threads[t] = (int)tmp[t];
            i++;
        } else if (npos < 8)
            pos[npos++] = argv[i];
    }
    if (o.reps < 1 || o.nbatches < 1 || o.nthreads < 1 || o.restarts < 0) {
        fprintf(stderr, "bench_acthist: bad option value\n");
        return 2;
    }
    if (!strcmp(cmd, "fit"))
        return cmd_fit(npos, pos, &o);
    if (!strcmp(cmd, "pvalues"))
        return cmd_pvalues(npos, pos, &o);
    if (!strcmp(cmd, "scan"))
        return cmd_scan(npos, pos, &o);
    if (!strcmp(cmd, "read"))
        return cmd_read(npos, pos, &o);
    if (!strcmp(cmd, "scale"))
        return cmd_scale(npos, pos, &o);
    if (!strcmp(cmd, "load"))
        return cmd_load(npos, pos, &o);
    if (!strcmp(cmd, "basis"))
        return cmd_basis(npos, pos, &o);
    if (!strcmp(cmd, "default-bins")) {
        ah_fit_options def;
        ah_fit_options_default(&def);
        printf("%d\n", def.bins);
        return 0;
    }
    fprintf(stderr, "bench_acthist: unknown command %s\n", cmd);
    return 2;
}
