/*
 * common.c - option parsing, messages and file helpers for the subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("acthist: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_diag(const char *context, const ah_diag *d)
{
    if (context)
        cli_error("%s: %s", context, d->message);
    else
        cli_error("%s", d->message);
    return d->status == AH_ERR_ARG ? CLI_USAGE : CLI_FAIL;
}

void cli_list_push(cli_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            cli_error("out of memory");
            exit(CLI_FAIL);
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

void cli_list_free(cli_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* The help column: names (with their argument) up to this many characters
 * wide have their help beside them, longer ones above it. */
#define CLI_NAMES_WIDE 20
#define CLI_LINE_WIDTH 79

/* Whether row k is the first of its group (the rows with its dest). */
static int group_first(const cli_opt *opts, size_t k)
{
    for (size_t j = 0; j < k; j++)
        if (opts[j].dest == opts[k].dest)
            return 0;
    return 1;
}

/* Row k's group as it is listed: "-o, --output OUT.npy" into b (NULL:
 * only the width); its help in *help.  Returns the width. */
static size_t group_names(const cli_opt *opts, size_t nopts, size_t k,
                          cli_buf *b, const char **help)
{
    size_t w = 0;
    const char *arg = NULL;
    *help = NULL;
    for (size_t j = k; j < nopts; j++) {
        if (opts[j].dest != opts[k].dest)
            continue;
        if (b)
            cli_buf_printf(b, "%s%s", w ? ", " : "", opts[j].name);
        w += (w ? 2 : 0) + strlen(opts[j].name);
        arg = arg ? arg : opts[j].arg;
        *help = *help ? *help : opts[j].help;
    }
    if (arg) {
        if (b)
            cli_buf_printf(b, " %s", arg);
        w += 1 + strlen(arg);
    }
    return w;
}

/* Write help from column col (the cursor is there), wrapped at word
 * boundaries to CLI_LINE_WIDTH; '\n' breaks the line. */
static void wrap_help(FILE *f, const char *help, size_t col)
{
    size_t at = col;
    const char *s = help;
    while (*s) {
        if (*s == '\n' || (*s == ' ' && at == col)) {
            if (*s == '\n' && at > col) {
                fprintf(f, "\n%*s", (int)col, "");
                at = col;
            }
            s++;
            continue;
        }
        size_t n = strcspn(s, " \n");
        if (at > col && at + 1 + n > CLI_LINE_WIDTH) {
            fprintf(f, "\n%*s", (int)col, "");
            at = col;
        }
        if (at > col) {
            fputc(' ', f);
            at++;
        }
        fwrite(s, 1, n, f);
        at += n;
        s += n;
        while (*s == ' ')
            s++;
    }
    fputc('\n', f);
}

void cli_usage(FILE *f, const cli_command *cmd, const cli_opt *opts,
               size_t nopts)
{
    fputs(cmd->usage, f);
    size_t wide = 10; /* "-h, --help" */
    const char *help;
    for (size_t k = 0; k < nopts; k++) {
        size_t w = group_first(opts, k)
                       ? group_names(opts, nopts, k, NULL, &help) : 0;
        if (w <= CLI_NAMES_WIDE && w > wide)
            wide = w;
    }
    size_t col = 2 + wide + 2;
    fputs("\nOptions:\n", f);
    for (size_t k = 0; k < nopts; k++) {
        if (!group_first(opts, k))
            continue;
        cli_buf b = {0};
        size_t w = group_names(opts, nopts, k, &b, &help);
        if (w <= wide)
            fprintf(f, "  %-*s  ", (int)wide, b.s);
        else
            fprintf(f, "  %s\n%*s", b.s, (int)col, "");
        cli_buf_free(&b);
        wrap_help(f, help ? help : "", col);
    }
    fprintf(f, "  %-*s  %s\n", (int)wide, "-h, --help", "print this help");
}

int cli_parse(int argc, char **argv, const cli_opt *opts, size_t nopts,
              cli_list *positional, const cli_command *cmd)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage(stdout, cmd, opts, nopts);
            return CLI_OK;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            cli_list_push(positional, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                cli_list_push(positional, argv[i]);
            break;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nlen &&
                strncmp(opts[k].name, a, nlen) == 0)
                o = &opts[k];
        if (!o) {
            cli_error("%s: unknown option '%.*s'", cmd->name, (int)nlen, a);
            cli_usage(stderr, cmd, opts, nopts);
            return CLI_USAGE;
        }
        if (o->kind == CLI_FLAG) {
            if (eq) {
                cli_error("%s: option %s takes no value", cmd->name, o->name);
                return CLI_USAGE;
            }
            *(int *)o->dest = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            cli_error("%s: option %s needs a value", cmd->name, o->name);
            cli_usage(stderr, cmd, opts, nopts);
            return CLI_USAGE;
        }
        if (o->kind == CLI_STRING)
            *(const char **)o->dest = val;
        else
            cli_list_push((cli_list *)o->dest, val);
    }
    return -1;
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double lo, double hi,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_error("%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_option_int(const char *opt, const char *s, int option,
                         long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end) {
        cli_error("%s: '%s' is not an integer", opt, s);
        return CLI_USAGE;
    }
    /* too large for a long: out of every range, which the message gives */
    double dv = errno == ERANGE ? strtod(s, NULL) : (double)v;
    ah_diag d;
    if (ah_option_check(option, dv, &d) != AH_OK) {
        cli_error("%s: %s", opt, d.message);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_option_double(const char *opt, const char *s, int option,
                            double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        cli_error("%s: '%s' is not a number", opt, s);
        return CLI_USAGE;
    }
    ah_diag d;
    if (ah_option_check(option, v, &d) != AH_OK) {
        cli_error("%s: %s", opt, d.message);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_seed(const char *opt, const char *s, uint64_t *out)
{
    const char *digits = s + (*s == '-' || *s == '+');
    char *end;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, 10);
    if (end == digits || *end || *digits < '0' || *digits > '9') {
        cli_error("%s: '%s' is not an integer", opt, s);
        return CLI_USAGE;
    }
    /* strtoull would wrap "-1" to 2^64 - 1 */
    if (errno == ERANGE || (*s == '-' && v != 0)) {
        cli_error("%s: seed must be in 0..%llu, not %s", opt,
                  (unsigned long long)UINT64_MAX, s);
        return CLI_USAGE;
    }
    *out = (uint64_t)v;
    return 0;
}

/* Enumerations are small; the bound only stops a name function that never
 * says "unknown". */
#define CLI_NAMES_MAX 64

static const char *name_at(cli_name_fn name, int i)
{
    const char *n = i < CLI_NAMES_MAX ? name(i) : NULL;
    return n && strcmp(n, "unknown") != 0 ? n : NULL;
}

void cli_buf_names(cli_buf *b, cli_name_fn name)
{
    const char *n;
    for (int i = 0; (n = name_at(name, i)) != NULL; i++)
        cli_buf_printf(b, "%s%s", i ? ", " : "", n);
}

void cli_unknown_name(const char *opt, const char *s, cli_name_fn name)
{
    cli_buf b = {0};
    cli_buf_names(&b, name);
    cli_error("%s: '%s' is not one of %s", opt, s, b.s ? b.s : "(none)");
    cli_buf_free(&b);
}

int cli_parse_name(const char *opt, const char *s, cli_name_fn name, int *out)
{
    const char *n;
    for (int i = 0; (n = name_at(name, i)) != NULL; i++)
        if (strcmp(s, n) == 0) {
            *out = i;
            return 0;
        }
    cli_unknown_name(opt, s, name);
    return CLI_USAGE;
}

int cli_fit_options(ah_fit_options *o, const char *method, const char *bins,
                    const char *binning, const char *tail, const char *share,
                    const char *chunk)
{
    long v;
    ah_fit_options_default(o);
    if (method && (o->method = ah_method_parse(method)) < 0) {
        cli_unknown_name("--method", method, ah_method_name);
        return CLI_USAGE;
    }
    if (tail && (o->tail = ah_tail_parse(tail)) == -1) {
        cli_unknown_name("--tail", tail, ah_tail_name);
        return CLI_USAGE;
    }
    if (binning && (o->binning = ah_binning_parse(binning)) < 0) {
        cli_unknown_name("--binning", binning, ah_binning_name);
        return CLI_USAGE;
    }
    if (bins && strcmp(bins, "auto") == 0)
        o->bins = AH_BINS_AUTO;
    else if (bins && cli_parse_option_int("--bins", bins, AH_OPTION_BINS,
                                          &v) != 0)
        return CLI_USAGE;
    else if (bins)
        o->bins = (int)v;
    if (share && cli_parse_option_double("--atom-share", share,
                                         AH_OPTION_ATOM_SHARE,
                                         &o->atom_share))
        return CLI_USAGE;
    if (chunk) {
        if (cli_parse_option_int("--chunk-rows", chunk, AH_OPTION_CHUNK_ROWS,
                                 &v) != 0)
            return CLI_USAGE;
        o->chunk_rows = (size_t)v;
    }
    return 0;
}

int cli_read_matrix(const char *path, double **x, size_t *rows, size_t *cols)
{
    ah_npy_reader *r = NULL;
    ah_diag d;
    *x = NULL;
    if (ah_npy_open(&r, path, &d) != AH_OK)
        return cli_diag(NULL, &d);
    size_t n = ah_npy_rows(r), D = ah_npy_cols(r);
    if (n == 0 || D == 0) {
        cli_error("%s: empty array (%zu rows x %zu columns)", path, n, D);
        ah_npy_close(r);
        return CLI_FAIL;
    }
    if (n > SIZE_MAX / D / sizeof(double)) {
        cli_error("%s: %zu x %zu values do not fit in memory", path, n, D);
        ah_npy_close(r);
        return CLI_FAIL;
    }
    double *v = malloc(n * D * sizeof *v);
    if (!v) {
        cli_error("%s: out of memory for %zu x %zu values", path, n, D);
        ah_npy_close(r);
        return CLI_FAIL;
    }
    size_t got = 0;
    int st = ah_npy_read_rows(r, v, n, D, 1, &got, &d);
    ah_npy_close(r);
    if (st != AH_OK || got != n) {
        free(v);
        if (st == AH_OK)
            cli_error("%s: read %zu of %zu rows", path, got, n);
        return st != AH_OK ? cli_diag(NULL, &d) : CLI_FAIL;
    }
    *x = v;
    *rows = n;
    *cols = D;
    return 0;
}

int cli_read_labels(const char *path, size_t rows, const char *data_path,
                    int64_t **labels)
{
    size_t n = 0;
    ah_diag d;
    *labels = NULL;
    if (ah_npy_read_labels(path, labels, &n, &d) != AH_OK)
        return cli_diag(NULL, &d);
    if (n != rows) {
        cli_error("%s: %zu labels, but %s has %zu rows", path, n, data_path,
                  rows);
        free(*labels);
        *labels = NULL;
        return CLI_FAIL;
    }
    return 0;
}

int cli_save_model(ah_model *m, const char *out, const char *done, double t0)
{
    ah_diag d;
    /* the figures first: a failure after saving would leave the file */
    ah_model_info info;
    if (ah_model_get_info(m, &info) != AH_OK) {
        ah_model_free(m);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    if (ah_model_save(m, out, &d) != AH_OK) {
        ah_model_free(m);
        return cli_diag(NULL, &d);
    }
    fprintf(stderr,
            "acthist: %s %s model: %zu rows x %zu nodes, %zu labels, %zu "
            "bytes (%.2f%% of the raw float32 background) in %.2f s\n",
            done, ah_method_name(info.method), info.rows, info.nodes,
            info.labels, info.file_bytes,
            100.0 * (double)info.file_bytes / info.raw_bytes, cli_now() - t0);
    ah_model_free(m);
    return CLI_OK;
}

int cli_load_model(const char *path, ah_model **m)
{
    ah_diag d;
    if (ah_model_load(m, path, &d) != AH_OK)
        return cli_diag(NULL, &d);
    return 0;
}

int cli_load_model_input(const char *cmd, const char *model_path,
                         const char *input_path, const char *labels_path,
                         int pooled, ah_model **m, double **x, size_t *n,
                         size_t *D, int64_t **labels)
{
    *m = NULL;
    *x = NULL;
    *labels = NULL;
    int use = 0, rc = CLI_FAIL;
    if (cli_load_model(model_path, m))
        goto fail;
    if ((rc = cli_labels_check(cmd, model_path, *m, "--labels", labels_path,
                               pooled, &use)) != CLI_OK)
        goto fail;
    rc = CLI_FAIL;
    if (cli_read_matrix(input_path, x, n, D))
        goto fail;
    if (*D != ah_model_nodes(*m)) {
        cli_error("%s: %zu nodes per row, but the model %s has %zu",
                  input_path, *D, model_path, ah_model_nodes(*m));
        goto fail;
    }
    if (use && cli_read_labels(labels_path, *n, input_path, labels))
        goto fail;
    return 0;
fail:
    ah_model_free(*m);
    free(*x);
    *m = NULL;
    *x = NULL;
    return rc;
}

int cli_open_model_stream(const char *cmd, const char *model_path,
                          const char *input_path, const char *labels_path,
                          int pooled, ah_model **m, ah_npy_reader **r,
                          int *use)
{
    ah_diag d;
    int rc = CLI_FAIL;
    *m = NULL;
    *r = NULL;
    if (cli_load_model(model_path, m) != 0)
        goto fail;
    if ((rc = cli_labels_check(cmd, model_path, *m, "--labels", labels_path,
                               pooled, use)) != CLI_OK)
        goto fail;
    rc = CLI_FAIL;
    if (ah_npy_open(r, input_path, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto fail;
    }
    size_t n = ah_npy_rows(*r), D = ah_npy_cols(*r);
    if (n == 0 || D == 0) {
        cli_error("%s: empty array (%zu rows x %zu columns)", input_path, n,
                  D);
        goto fail;
    }
    if (D != ah_model_nodes(*m)) {
        cli_error("%s: %zu nodes per row, but the model %s has %zu",
                  input_path, D, model_path, ah_model_nodes(*m));
        goto fail;
    }
    return CLI_OK;
fail:
    ah_npy_close(*r);
    ah_model_free(*m);
    *r = NULL;
    *m = NULL;
    return rc;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_write_text(const char *path, const char *text, size_t len)
{
    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            cli_error("standard output: write failed");
            return CLI_FAIL;
        }
        return 0;
    }
    ah_diag d;
    if (ah_file_write(path, text, len, &d) != AH_OK) {
        cli_error("%s", d.message);
        return CLI_FAIL;
    }
    return 0;
}

void cli_buf_printf(cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            cli_error("out of memory");
            exit(CLI_FAIL);
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void cli_buf_free(cli_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
}

void cli_buf_json_string(cli_buf *b, const char *s)
{
    cli_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            cli_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            cli_buf_printf(b, "\\u%04x", c);
        else
            cli_buf_printf(b, "%c", c);
    }
    cli_buf_printf(b, "\"");
}

int cli_output_not_input(const char *cmd, const char *out,
                         const char *const *inputs, size_t n)
{
    struct stat o, in;
    if (!out || stat(out, &o) != 0 || !S_ISREG(o.st_mode))
        return CLI_OK; /* a new file, a device or a pipe: nothing to lose */
    for (size_t i = 0; i < n; i++)
        if (inputs[i] && stat(inputs[i], &in) == 0 &&
            in.st_dev == o.st_dev && in.st_ino == o.st_ino) {
            cli_error("%s: the output %s is also an input (%s): it would be "
                      "replaced; write the output elsewhere", cmd, out,
                      inputs[i]);
            return CLI_USAGE;
        }
    return CLI_OK;
}

int cli_threshold_applies(const char *cmd, const char *model_path,
                          const ah_threshold *t, int stat, double alpha_max,
                          int tail, int pooled)
{
    if (t->stat == stat && t->alpha_max == alpha_max && t->tail == tail &&
        t->pooled == pooled)
        return CLI_OK;
    cli_error("%s: the threshold of %s holds for --stat %s --alpha-max %g "
              "--tail %s %s; these settings differ (score with those, give "
              "--ignore-threshold, or calibrate again)",
              cmd, model_path, ah_stat_name(t->stat), t->alpha_max,
              ah_tail_name(t->tail), t->pooled ? "--pooled" : "--labels");
    return CLI_USAGE;
}

int cli_labels_check(const char *cmd, const char *model_path,
                     const ah_model *m, const char *labels_opt,
                     const char *labels_path, int pooled, int *use)
{
    size_t k = 0;
    ah_model_labels(m, &k);
    *use = 0;
    if (pooled && labels_path) {
        cli_error("%s: %s and --pooled both given: give one", cmd,
                  labels_opt);
        return CLI_USAGE;
    }
    if (k == 0) {
        if (labels_path)
            cli_error("note: %s has no labels (a pooled model): %s %s is "
                      "not used", model_path, labels_opt, labels_path);
        return CLI_OK;
    }
    if (!labels_path && !pooled) {
        cli_error("%s: %s is a conditional model (%zu labels): give %s "
                  "L.npy (one label per input row, the class the network "
                  "predicts) or --pooled to compare every input with the "
                  "pooled background", cmd, model_path, k, labels_opt);
        return CLI_USAGE;
    }
    *use = labels_path != NULL;
    return CLI_OK;
}
