/*
 * cli.h - what the subcommands share: the command table entry, option
 * parsing, messages and the .npy helpers.  The CLI uses only the public
 * header, like any other user of the library.
 */
#ifndef AH_CLI_H
#define AH_CLI_H

#include "acthist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (docs/acthist.1, EXIT STATUS): success, runtime failure, bad
 * usage. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage; /* synopsis and prose; cli_usage adds the options */
} cli_command;

/* Print "acthist: ..." to standard error. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a library diagnostic, prefixed with context (may be NULL); return
 * CLI_FAIL, or CLI_USAGE for AH_ERR_ARG. */
int cli_diag(const char *context, const ah_diag *d);

/* A growable list of strings (for options given several times). */
typedef struct cli_list {
    const char **v;
    size_t n, cap;
} cli_list;
void cli_list_push(cli_list *l, const char *s);
void cli_list_free(cli_list *l);

enum { CLI_FLAG, CLI_STRING, CLI_MULTI };
/*
 * One option of a command.  A command describes each of its options once,
 * in one table of these: cli_parse accepts exactly the table's names, and
 * the option list of the command's --help is generated from the same rows
 * (cli_usage), so what a command accepts and what its help lists cannot
 * differ (tests/cli/test_options_help.sh holds the two together).  Rows
 * with the same dest are spellings of one option ("-o" and "--output"),
 * listed on one line; the first non-NULL arg and help of the group are
 * shown.
 */
typedef struct cli_opt {
    const char *name; /* "--bins" */
    int kind;
    void *dest;       /* int* (set to 1), const char** or cli_list* */
    const char *arg;  /* the value's name in the help ("N|auto"); NULL
                       * for a flag */
    const char *help; /* one paragraph, wrapped by cli_usage; a '\n'
                       * starts a new line */
} cli_opt;
#define CLI_NOPTS(opts) (sizeof(opts) / sizeof(opts)[0])

/* Help texts that several commands share, written once. */
#define CLI_HELP_STAT \
    "bj (Berk-Jones, default), hc (Higher Criticism) or ks " \
    "(Kolmogorov-Smirnov)"
#define CLI_HELP_ALPHA_MAX \
    "the largest p-value threshold considered (default 0.5)"
#define CLI_HELP_TAIL "upper, lower, two or both (default: the model's tail)"
#define CLI_HELP_THREADS "worker threads (default: all cores)"
#define CLI_HELP_BACKEND \
    "who looks the values up: cpu (default) or reference (slow, for " \
    "checking a platform's bits); the output is the same either way"
#define CLI_HELP_POOLED "compare every input with the pooled background"
#define CLI_HELP_LABELS \
    "one label per input row: a conditional model needs them (or " \
    "--pooled); labels the model has not seen use the pooled background, " \
    "with a note"
#define CLI_HELP_RESTARTS "random starts of the group scan (default 10)"
#define CLI_HELP_SEED "seed of the random starts (default 0)"

/* The fit options (acthist fit, acthist-mpi-fit). */
#define CLI_HELP_BINS \
    "bins per node, or auto (NumPy's rule); default 3072"
#define CLI_HELP_BINNING \
    "width (default, equal-width), quantile, or tails (finer where " \
    "p-values are small: geometric levels per tail)"
#define CLI_HELP_FIT_TAIL \
    "the model's tail: upper, lower, two, both, or default: " \
    "two-tailed with --labels, lower without (the evidence of " \
    "docs/RESULTS.md); --tail upper without --labels is the paper's " \
    "configuration (and IBM ART's)"
#define CLI_HELP_FIT_LABELS \
    "one integer label per background row, one file per background " \
    "file in the same order: a conditional model"
#define CLI_HELP_ATOM_SHARE \
    "values taken by at least this share of a node's background are " \
    "kept exactly (default 1/32)"
#define CLI_HELP_FIT_CHUNK_ROWS \
    "rows read at a time (default 1024)"

/*
 * Parse argv[1..] (argv[0] is the subcommand) by the table opts.  Options
 * may be written "--name value" or "--name=value".  Everything else is
 * positional ("-" too; everything after "--").  Returns -1 to go on, or an
 * exit code: CLI_OK after printing the usage to stdout for -h or --help,
 * CLI_USAGE after printing a message and the usage to stderr.
 */
int cli_parse(int argc, char **argv, const cli_opt *opts, size_t nopts,
              cli_list *positional, const cli_command *cmd);
/* Print cmd's usage: its synopsis and prose (cmd->usage), then one line
 * per option of the table, its help wrapped to 79 columns. */
void cli_usage(FILE *f, const cli_command *cmd, const cli_opt *opts,
               size_t nopts);

/* Number parsing with a clear message on failure (returns 0 on success). */
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *opt, const char *s, double lo, double hi,
                     double *out);
/* The value of a library option (enum ah_option): the syntax is checked
 * here, the range by ah_option_check, so that the CLI refuses what the
 * library and the Python binding refuse, in the same words.  Prints
 * "OPT: <reason>" and returns CLI_USAGE on failure, 0 on success. */
int cli_parse_option_int(const char *opt, const char *s, int option,
                         long *out);
int cli_parse_option_double(const char *opt, const char *s, int option,
                            double *out);
/* A seed: any uint64_t, written in decimal. */
int cli_parse_seed(const char *opt, const char *s, uint64_t *out);

/*
 * Names of a library enumeration, given by its name function (ah_tail_name,
 * ah_stat_name, ah_method_name, ah_binning_name): the values 0, 1, ... up
 * to the first that it calls "unknown".  The lists in messages come from
 * there, so a value added to the library is listed with no change here.
 */
typedef const char *(*cli_name_fn)(int value);
/* Parse s as one of name's values: 0 with *out set, or CLI_USAGE after
 * cli_unknown_name. */
int cli_parse_name(const char *opt, const char *s, cli_name_fn name, int *out);
/* Print "acthist: OPT: 'S' is not one of a, b, c" with name's values. */
void cli_unknown_name(const char *opt, const char *s, cli_name_fn name);

/* The scan options shared by score, calibrate, scan-group, eval and
 * compare (cmd_score.c): each string may be NULL for its default (tail
 * -1: the model's).  Returns 0, or the exit code after a message. */
int cli_parse_scan_options(const char *stat_s, const char *alpha_s,
                           const char *tail_s, const char *threads_s,
                           int *stat, double *alpha, int *tail, int *threads);

/* The fit options of acthist fit and acthist-mpi-fit from their texts,
 * over ah_fit_options_default (NULL: the default).  0, or CLI_USAGE after
 * the message. */
int cli_fit_options(ah_fit_options *o, const char *method, const char *bins,
                    const char *binning, const char *tail, const char *share,
                    const char *chunk);

/* Read a whole .npy activation file (rows x D doubles, finite). */
int cli_read_matrix(const char *path, double **x, size_t *rows, size_t *cols);
/* Read labels and check that there is one per row of data_path. */
int cli_read_labels(const char *path, size_t rows, const char *data_path,
                    int64_t **labels);
/*
 * Background files (with one labels file each, or none) read as one stream
 * of rows (background.c), or only rows [first, first + count) of it.
 * open prints any error (empty files, D differing, labels not one per row)
 * and returns an exit code; the row source starts at the slice's start.
 */
/* Progress on standard error when it is a terminal (progress.c). */
typedef struct cli_progress {
    int on, shown;
    const char *what;
    size_t total;
    unsigned pass;
    double t0, last;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *what, size_t total);
/* A new pass over the rows begins (fits read them two or three times). */
void cli_progress_pass(cli_progress *p);
void cli_progress_update(cli_progress *p, size_t done);
void cli_progress_end(cli_progress *p);

typedef struct cli_background {
    const char **files;
    size_t nfiles;
    ah_npy_reader **r;
    int64_t **labels; /* NULL without labels */
    size_t *rows;
    size_t D, total;  /* nodes; rows of all the files */
    size_t first, count;
    size_t cur, row_in_file, pos; /* where reading is */
    cli_progress *progress;       /* NULL: none */
} cli_background;
int cli_background_open(cli_background *b, const char **files,
                        size_t nfiles, const char **label_files,
                        size_t nlabels);
void cli_background_slice(cli_background *b, size_t first, size_t count);
/* The slice that is share `part` (0-based) of `parts` near-equal shares. */
void cli_background_share(cli_background *b, size_t part, size_t parts);
ah_row_source cli_background_source(cli_background *b);
void cli_background_close(cli_background *b);

/* Fit background files with `threads` threads, each over a slice of the
 * rows, merged as shards (fit_threads.c; equal-width histograms only).
 * Prints any error; returns an exit code. */
int cli_fit_threads(const char **files, size_t nfiles,
                    const char **label_files, size_t nlabels,
                    const ah_fit_options *o, int threads, ah_model **out);

/* fit --fpr: set on `full` (fitted on all of src with options o) the
 * threshold of false-positive rate fpr, cross-fitted over `folds` folds of
 * src's rows (crossfit.c; bj, alpha_max 0.5, the model's tail); *above of
 * the *n held-out scores lie above it.  Prints any error; returns an exit
 * code. */
int cli_crossfit_threshold(ah_row_source *src, const ah_fit_options *o,
                           int folds, double fpr, ah_model *full,
                           size_t *above, size_t *n);

/* Save a model to out, free it, and say on standard error what was
 * saved: "acthist: <done> model: N rows x D nodes, ..., in T s" (t0 from
 * cli_now).  Returns an exit code. */
int cli_save_model(ah_model *m, const char *out, const char *done, double t0);
/* Load a model, printing the error. */
int cli_load_model(const char *path, ah_model **m);
/* Load MODEL and the whole INPUT, checked against the model's D, and with
 * labels_path (may be NULL) one label per input row, or pooled, as
 * cli_labels_check allows.  On failure the error is printed, the exit
 * code returned and nothing is left allocated. */
int cli_load_model_input(const char *cmd, const char *model_path,
                         const char *input_path, const char *labels_path,
                         int pooled, ah_model **m, double **x, size_t *n,
                         size_t *D, int64_t **labels);
/* Load MODEL and open INPUT for reading in chunks: not empty, with the
 * model's D, and labels_path and pooled as cli_labels_check allows (*use:
 * whether to read the labels).  On failure the error is printed, the exit
 * code returned and nothing is left open. */
int cli_open_model_stream(const char *cmd, const char *model_path,
                          const char *input_path, const char *labels_path,
                          int pooled, ah_model **m, ah_npy_reader **r,
                          int *use);
/* Labels for scoring inputs with model m: a conditional model needs
 * labels_path (given as option labels_opt) or pooled, never a silent
 * fallback to the pooled background; a pooled model does not use labels
 * (a note says so).  Returns CLI_OK with *use telling whether to read and
 * pass the labels on, or CLI_USAGE after the message. */
int cli_labels_check(const char *cmd, const char *model_path,
                     const ah_model *m, const char *labels_opt,
                     const char *labels_path, int pooled, int *use);
/* Refuse (CLI_USAGE, with the message) an output path that names the same
 * file as one of the n inputs (NULL entries skipped): it would replace
 * the input. */
int cli_output_not_input(const char *cmd, const char *out,
                         const char *const *inputs, size_t n);
/* Whether the model's threshold t holds for scores taken with these
 * settings (pooled: without labels); if not, says so and returns
 * CLI_USAGE. */
int cli_threshold_applies(const char *cmd, const char *model_path,
                          const ah_threshold *t, int stat, double alpha_max,
                          int tail, int pooled);
/* Seconds on a monotonic clock. */
double cli_now(void);

/* Write text atomically: to a temporary file then renamed; path "-" or NULL
 * means standard output. */
int cli_write_text(const char *path, const char *text, size_t len);

/* A growable text buffer. */
typedef struct cli_buf {
    char *s;
    size_t n, cap;
} cli_buf;
void cli_buf_printf(cli_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_buf_free(cli_buf *b);
/* Append name's values as "a, b, c" (see cli_name_fn). */
void cli_buf_names(cli_buf *b, cli_name_fn name);
/* Append s as a JSON string literal. */
void cli_buf_json_string(cli_buf *b, const char *s);

extern const cli_command cli_commands[];
/* The command of that name, or NULL. */
const cli_command *cli_find(const char *name);
extern const size_t cli_command_count;

#endif
