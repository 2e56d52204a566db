/*
 * cmd_demo.c - acthist demo: the comparison on the bundled real activations.
 *
 * Reads data/demo.txt (found through $ACTHIST_DATA, ./data, or the data
 * folder beside the executable's build folder), compares the exact
 * empirical baseline with histograms for every tail, pooled and
 * conditional, prints the table, the fidelity of the default histogram to
 * the exact p-values, the best configuration for each anomalous set with
 * the command that reproduces it, and writes the ROC curves of the best
 * configuration as SVG.
 *
 * demo.txt has one line per file set: "background FILE LABELS",
 * "clean FILE LABELS", "anomalous NAME FILE LABELS" and "null NAME FILE
 * LABELS" (a second clean set, whose AUC should be about 0.5); paths are
 * relative to the data folder.
 */
#include "compare.h"
#include "svg.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_demo_usage[] =
    "usage: acthist demo [--data DIR] [--plot ROC.svg] [--methods LIST]\n"
    "\n"
    "Run the comparison on the bundled real activations (data/demo.txt):\n"
    "exact empirical p-values against histograms, every tail, pooled and\n"
    "conditional on the predicted label; print the table, the best\n"
    "configuration per anomaly with the command that reproduces it, and\n"
    "write its ROC curves (default demo_roc.svg).\n";

typedef struct demo_files {
    char bg[PATH_MAX], bgl[PATH_MAX], clean[PATH_MAX], cleanl[PATH_MAX];
    char name[COMPARE_MAX_SETS][64], anom[COMPARE_MAX_SETS][PATH_MAX],
        anoml[COMPARE_MAX_SETS][PATH_MAX];
    int is_null[COMPARE_MAX_SETS]; /* a second clean set: shown, never "best" */
    size_t n;
} demo_files;

/* dst = a/b; nonzero when it does not fit. */
static int join(char *dst, size_t cap, const char *a, const char *b)
{
    int k = snprintf(dst, cap, "%s/%s", a, b);
    return k < 0 || (size_t)k >= cap;
}

static int find_data(const char *given, char *dir)
{
    const char *env = getenv("ACTHIST_DATA");
    char exe[PATH_MAX], cand[PATH_MAX];
    const char *tries[4] = {given, env, "data", NULL};
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (!join(cand, sizeof cand, exe, "../data"))
                tries[3] = cand;
        }
    }
    for (int i = 0; i < 4; i++) {
        if (!tries[i])
            continue;
        char f[PATH_MAX];
        if (join(f, sizeof f, tries[i], "demo.txt"))
            continue;
        if (access(f, R_OK) == 0 && strlen(tries[i]) < PATH_MAX) {
            memcpy(dir, tries[i], strlen(tries[i]) + 1);
            return 0;
        }
        if (i == 0) {
            cli_error("%s: no demo.txt in this folder", f);
            return CLI_FAIL;
        }
    }
    cli_error("demo: the bundled data (data/demo.txt) was not found; run from "
              "the repository or set ACTHIST_DATA");
    return CLI_FAIL;
}

static int read_manifest(const char *dir, demo_files *f)
{
    char path[PATH_MAX], line[3 * PATH_MAX];
    if (join(path, sizeof path, dir, "demo.txt"))
        return CLI_FAIL;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        cli_error("%s: cannot open", path);
        return CLI_FAIL;
    }
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char kind[32], a[1024], b[1024], c[1024];
        int k = sscanf(line, "%31s %1023s %1023s %1023s", kind, a, b, c);
        if (k <= 0 || kind[0] == '#')
            continue;
#define JOIN(dst, rel)                                                       \
    if (join(dst, sizeof dst, dir, rel)) {                                \
        cli_error("%s:%d: path too long", path, lineno);                   \
        rc = CLI_FAIL;                                                       \
        break;                                                               \
    }
        if (strcmp(kind, "background") == 0 && k == 3) {
            JOIN(f->bg, a);
            JOIN(f->bgl, b);
        } else if (strcmp(kind, "clean") == 0 && k == 3) {
            JOIN(f->clean, a);
            JOIN(f->cleanl, b);
        } else if ((strcmp(kind, "anomalous") == 0 ||
                    strcmp(kind, "null") == 0) &&
                   k == 4 && f->n < COMPARE_MAX_SETS) {
            f->is_null[f->n] = strcmp(kind, "null") == 0;
            if (strlen(a) >= sizeof f->name[f->n]) {
                cli_error("%s:%d: set name too long", path, lineno);
                rc = CLI_FAIL;
                break;
            }
            memcpy(f->name[f->n], a, strlen(a) + 1);
            JOIN(f->anom[f->n], b);
            JOIN(f->anoml[f->n], c);
            f->n++;
        } else {
            cli_error("%s:%d: expected 'background FILE LABELS', 'clean FILE "
                      "LABELS', 'anomalous NAME FILE LABELS' or 'null NAME "
                      "FILE LABELS'", path, lineno);
            rc = CLI_FAIL;
            break;
        }
#undef JOIN
    }
    fclose(fp);
    if (!rc && (!f->bg[0] || !f->clean[0] || f->n == 0)) {
        cli_error("%s: needs a background, a clean and an anomalous line",
                  path);
        rc = CLI_FAIL;
    }
    return rc;
}

/* The table: one row per method, tail and labels; a column per set. */
static void demo_table(const demo_files *f, const compare_row *rows,
                       size_t nrows)
{
    printf("Individual-scan AUC (Berk-Jones, alpha_max 0.5), clean %s\n\n",
           f->clean);
    printf("%-10s %9s %7s %-5s %-5s", "method", "bytes", "%raw", "tail",
           "cond");
    for (size_t i = 0; i < f->n; i++)
        printf(" %9.9s", f->name[i]);
    printf("\n");
    for (size_t r = 0; r < nrows; r++) {
        printf("%-10s %9zu %7.2f %-5s %-5s", rows[r].method,
               rows[r].model_bytes, rows[r].percent_raw,
               ah_tail_name(rows[r].tail), rows[r].conditional ? "yes" : "no");
        for (size_t i = 0; i < f->n; i++)
            printf(" %9.4f", rows[r].auc[i]);
        printf("\n");
    }
}

/* Fidelity of each histogram against the exact empirical p-values. */
static void demo_fidelity(const demo_files *f, const cli_list *methods,
                          const compare_row *rows, size_t nrows)
{
    printf("\nFidelity: largest |AUC(method) - AUC(empirical)| over tails, "
           "labels and sets\n");
    for (size_t mi = 0; mi < methods->n; mi++) {
        if (strcmp(methods->v[mi], "empirical") == 0)
            continue;
        double worst = 0;
        for (size_t r = 0; r < nrows; r++) {
            if (strcmp(rows[r].method, methods->v[mi]) != 0)
                continue;
            for (size_t e = 0; e < nrows; e++)
                if (strcmp(rows[e].method, "empirical") == 0 &&
                    rows[e].tail == rows[r].tail &&
                    rows[e].conditional == rows[r].conditional)
                    for (size_t i = 0; i < f->n; i++)
                        worst = fmax(worst, fabs(rows[r].auc[i] - rows[e].auc[i]));
        }
        printf("  %-10s %.4f\n", methods->v[mi], worst);
    }
}

/* The best configuration per set, among the default histogram rows, with
 * the command that reproduces it. */
static void demo_best(const demo_files *f, const compare_row *rows,
                      size_t nrows)
{
    const char *best_method = "hist";
    printf("\nBest configuration per anomalous set (default histogram, "
           "individual scan):\n");
    for (size_t i = 0; i < f->n; i++) {
        if (f->is_null[i]) {
            printf("  %-12s (a second clean set: AUC about 0.5 expected)\n",
                   f->name[i]);
            continue;
        }
        size_t best = SIZE_MAX;
        for (size_t r = 0; r < nrows; r++)
            if (strcmp(rows[r].method, best_method) == 0 &&
                (best == SIZE_MAX || rows[r].auc[i] > rows[best].auc[i]))
                best = r;
        if (best == SIZE_MAX)
            break;
        printf("  %-12s AUC %.4f  tail %-5s %s\n", f->name[i],
               rows[best].auc[i], ah_tail_name(rows[best].tail),
               rows[best].conditional ? "conditional" : "pooled");
        int cond = rows[best].conditional;
        printf("      acthist fit -o m.ahm %s%s%s && acthist eval m.ahm "
               "--tail %s --clean %s%s%s --anomalous %s%s%s\n",
               f->bg, cond ? " --labels " : "", cond ? f->bgl : "",
               ah_tail_name(rows[best].tail), f->clean,
               cond ? " --clean-labels " : "", cond ? f->cleanl : "",
               f->anom[i], cond ? " --anomalous-labels " : "",
               cond ? f->anoml[i] : "");
    }
}

/* The ROC curves of the default detector's sets. */
typedef struct demo_curves {
    double *fpr[COMPARE_MAX_SETS], *tpr[COMPARE_MAX_SETS], auc[COMPARE_MAX_SETS];
    size_t np[COMPARE_MAX_SETS];
    const char *names[COMPARE_MAX_SETS];
} demo_curves;

/* Score every anomalous set with model m against the clean scores cs
 * into rc.  Returns 1 when all went well. */
static int demo_roc_sets(const demo_files *f, ah_model *m,
                         const eval_config *c, const double *cs,
                         size_t nclean, demo_curves *rc)
{
    eval_data an;
    ah_diag d;
    int ok = 1;
    for (size_t i = 0; ok && i < f->n; i++) {
        rc->names[i] = f->name[i];
        ok = eval_load(&an, f->anom[i], f->anoml[i]) == 0;
        double *as = ok ? malloc(an.n * sizeof *as) : NULL;
        rc->fpr[i] = ok ? malloc((nclean + an.n + 2) * sizeof(double)) : NULL;
        rc->tpr[i] = ok ? malloc((nclean + an.n + 2) * sizeof(double)) : NULL;
        ok = ok && as && rc->fpr[i] && rc->tpr[i] &&
             eval_scores(m, &an, c, as, NULL) == 0 &&
             ah_roc(cs, nclean, as, an.n, rc->fpr[i], rc->tpr[i], &rc->np[i],
                    &d) == AH_OK &&
             ah_auc(cs, nclean, as, an.n, &rc->auc[i], &d) == AH_OK;
        free(as);
        eval_free(&an);
    }
    return ok;
}

/* The default detector (acthist fit with the labels, every option left
 * alone): its AUCs, and its ROC curves drawn to plot.  Not the best row
 * of demo_best: that was chosen by looking at the anomalies, which a user
 * does not have.  Returns 1 when all went well. */
static int demo_default(const demo_files *f, const char *plot)
{
    ah_fit_options o;
    ah_fit_options_default(&o);
    eval_data bg, clean;
    ah_model *m = NULL;
    ah_diag d;
    int ok = eval_load(&bg, f->bg, f->bgl) == 0;
    int conditional = ok && bg.labels != NULL;
    ok = ok && ah_model_fit(&m, bg.x, bg.n, bg.D, bg.D, bg.labels, &o,
                            &d) == AH_OK;
    eval_free(&bg);
    ok = ok && eval_load(&clean, f->clean, f->cleanl) == 0;
    int tail = ok ? ah_model_tail(m) : AH_TAIL_TWO;
    eval_config c = {tail, AH_STAT_BJ, 0.5, 0, conditional};
    double *cs = ok ? malloc(clean.n * sizeof *cs) : NULL;
    ok = ok && cs && eval_scores(m, &clean, &c, cs, NULL) == 0;
    demo_curves rc;
    memset(&rc, 0, sizeof rc);
    ok = ok && demo_roc_sets(f, m, &c, cs, clean.n, &rc);
    if (ok) {
        cli_buf svg = {0};
        char title[128];
        snprintf(title, sizeof title, "acthist demo: the default "
                 "(hist, tail %s, %s)", ah_tail_name(tail),
                 conditional ? "conditional" : "pooled");
        svg_roc(&svg, title, f->n, rc.names, (const double *const *)rc.fpr,
                (const double *const *)rc.tpr, rc.np, rc.auc);
        ok = cli_write_text(plot, svg.s, svg.n) == 0;
        cli_buf_free(&svg);
        if (ok) {
            printf("\nThe default detector (acthist fit %s, every other "
                   "option left alone: tail %s, %s):\n ",
                   conditional ? "with --labels" : "", ah_tail_name(tail),
                   conditional ? "conditional" : "pooled");
            for (size_t i = 0; i < f->n; i++)
                printf(" %s %.4f", rc.names[i], rc.auc[i]);
            printf("\nIts ROC curves: %s\n", plot);
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        free(rc.fpr[i]);
        free(rc.tpr[i]);
    }
    free(cs);
    eval_free(&clean);
    ah_model_free(m);
    return ok;
}

/* The comparison of every method, tail and labels on the demo's files. */
static int demo_rows(const demo_files *f, const cli_list *methods,
                     compare_row **rows, size_t *nrows)
{
    const char *bgv[1] = {f->bg}, *bglv[1] = {f->bgl}, *anv[COMPARE_MAX_SETS],
               *anlv[COMPARE_MAX_SETS], *tails[4] = {"upper", "lower", "two", "both"};
    for (size_t i = 0; i < f->n; i++) {
        anv[i] = f->anom[i];
        anlv[i] = f->anoml[i];
    }
    compare_job job;
    memset(&job, 0, sizeof job);
    job.background = bgv;
    job.background_labels = bglv;
    job.nbackground = 1;
    job.clean = f->clean;
    job.clean_labels = f->cleanl;
    job.anomalous = anv;
    job.anomalous_labels = anlv;
    job.nanomalous = f->n;
    job.methods = methods->v;
    job.nmethods = methods->n;
    job.tails = tails;
    job.ntails = 4;
    job.stat = AH_STAT_BJ;
    job.alpha_max = 0.5;
    return compare_run_rows(&job, rows, nrows, NULL);
}

int cmd_demo(int argc, char **argv)
{
    const cli_command *self = cli_find("demo");
    const char *data = NULL, *plot = "demo_roc.svg",
               *methods_s = "empirical,hist,hist:64,hist:auto";
    cli_list pos = {0}, methods = {0};
    cli_opt opts[] = {
        {"--data", CLI_STRING, &data, "DIR",
         "the folder of demo.txt (default: $ACTHIST_DATA, ./data, or the "
         "data folder beside the build folder)"},
        {"--plot", CLI_STRING, &plot, "ROC.svg",
         "where the ROC curves go (default demo_roc.svg)"},
        {"--methods", CLI_STRING, &methods_s, "LIST",
         "comma-separated methods as for acthist compare (default "
         "empirical,hist,hist:64,hist:auto)"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (pos.n) {
        cli_error("demo: takes no positional arguments");
        goto done0;
    }
    demo_files *f = calloc(1, sizeof *f);
    char *mcopy = strdup(methods_s);
    compare_row *rows = NULL;
    size_t nrows = 0;
    rc = CLI_FAIL;
    if (!f || !mcopy)
        goto done;
    for (char *t = strtok(mcopy, ","); t; t = strtok(NULL, ","))
        cli_list_push(&methods, t);
    for (size_t i = 0; i < methods.n; i++)
        if (compare_parse_method(methods.v[i], NULL)) {
            rc = CLI_USAGE;
            goto done;
        }
    char dir[PATH_MAX];
    if (find_data(data, dir) || read_manifest(dir, f))
        goto done;
    double t0 = cli_now();
    fprintf(stderr, "acthist: demo on %s\n", dir);
    if (demo_rows(f, &methods, &rows, &nrows))
        goto done;
    demo_table(f, rows, nrows);
    demo_fidelity(f, &methods, rows, nrows);
    demo_best(f, rows, nrows);
    if (plot && *plot && !demo_default(f, plot))
        goto done;
    printf("\ndemo finished in %.1f s\n", cli_now() - t0);
    rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
done:
    free(rows);
    free(f);
    free(mcopy);
done0:
    cli_list_free(&pos);
    cli_list_free(&methods);
    return rc;
}
