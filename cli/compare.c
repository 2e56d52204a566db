/*
 * compare.c - fit each method once, then for each tail and with/without
 * labels: time p-values and scans separately and measure detection power.
 */
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int compare_parse_method(const char *s, ah_fit_options *o)
{
    ah_fit_options tmp;
    if (!o)
        o = &tmp;
    ah_fit_options_default(o);
    char buf[64];
    if (strlen(s) >= sizeof buf)
        goto bad;
    memcpy(buf, s, strlen(s) + 1);
    /* METHOD, or hist:BINS[:BINNING] */
    char *bins = strchr(buf, ':');
    if (bins)
        *bins++ = '\0';
    if ((o->method = ah_method_parse(buf)) < 0)
        goto bad;
    if (!bins)
        return 0;
    if (o->method != AH_METHOD_HIST)
        goto bad;
    char *binning = strchr(bins, ':');
    if (binning) {
        *binning++ = '\0';
        if ((o->binning = ah_binning_parse(binning)) < 0)
            goto bad;
    }
    if (strcmp(bins, "auto") == 0) {
        o->bins = AH_BINS_AUTO;
        return 0;
    }
    char *end;
    long b = strtol(bins, &end, 10);
    if (end == bins || *end || b < 1 || b > 65536)
        goto bad;
    o->bins = (int)b;
    return 0;
bad:;
    /* The lists come from the library's name tables (cli_buf_names). */
    cli_buf methods = {0}, binnings = {0};
    cli_buf_names(&methods, ah_method_name);
    cli_buf_names(&binnings, ah_binning_name);
    cli_error("--methods: unknown method '%s' (one of %s, hist:N with N in "
              "1..65536, hist:auto, hist:N:B or hist:auto:B with B one of %s)",
              s, methods.s, binnings.s);
    cli_buf_free(&methods);
    cli_buf_free(&binnings);
    return CLI_USAGE;
}

/* Read and stack the background files (and their labels). */
static int load_background(const compare_job *job, eval_data *bg)
{
    memset(bg, 0, sizeof *bg);
    bg->path = job->background[0];
    for (size_t f = 0; f < job->nbackground; f++) {
        eval_data part;
        if (eval_load(&part, job->background[f],
                      job->background_labels ? job->background_labels[f]
                                             : NULL))
            return CLI_FAIL;
        if (f > 0 && part.D != bg->D) {
            cli_error("%s: %zu nodes per row, but %s has %zu", part.path,
                      part.D, bg->path, bg->D);
            eval_free(&part);
            return CLI_FAIL;
        }
        double *x = realloc(bg->x, (bg->n + part.n) * part.D * sizeof *x);
        int64_t *l = part.labels
                         ? realloc(bg->labels, (bg->n + part.n) * sizeof *l)
                         : NULL;
        if (!x || (part.labels && !l)) {
            free(x ? x : bg->x);
            bg->x = NULL;
            eval_free(&part);
            cli_error("out of memory");
            return CLI_FAIL;
        }
        bg->x = x;
        memcpy(x + bg->n * part.D, part.x, part.n * part.D * sizeof *x);
        if (l) {
            bg->labels = l;
            memcpy(l + bg->n, part.labels, part.n * sizeof *l);
        }
        bg->n += part.n;
        bg->D = part.D;
        eval_free(&part);
    }
    return 0;
}

/* Individual scan scores of d from its p-values, timing both parts. */
static int timed_scores(const ah_model *m, const eval_data *d, int tail,
                        int cond, const compare_job *job, double *p,
                        double *scores, double *t_p, double *t_s)
{
    size_t w = ah_pvalue_width(m, tail);
    ah_diag dg;
    double t0 = cli_now();
    if (ah_pvalues(m, d->x, d->n, d->D, d->D, cond ? d->labels : NULL, tail,
                   p, NULL, job->threads, &dg) != AH_OK)
        return cli_diag(d->path, &dg);
    double t1 = cli_now();
    double *pmax = malloc(w * sizeof *pmax);
    if (!pmax)
        return CLI_FAIL;
    for (size_t i = 0; i < d->n; i++) {
        for (size_t j = 0; j < w; j++)
            pmax[j] = p[(i * w + j) * 2 + 1];
        ah_scan_result r;
        if (ah_scan_individual(pmax, w, job->stat, job->alpha_max, &r, NULL,
                               &dg) != AH_OK) {
            free(pmax);
            return cli_diag(d->path, &dg);
        }
        scores[i] = r.score;
    }
    free(pmax);
    *t_p += t1 - t0;
    *t_s += cli_now() - t1;
    return 0;
}

/* The sets of one comparison, loaded, and the buffers of their scores;
 * compare_data_free frees it all, whatever compare_load reached. */
typedef struct compare_data {
    eval_data bg, clean, anom[COMPARE_MAX_SETS];
    double *p, *cs, *as[COMPARE_MAX_SETS]; /* p-values; clean, anomalous
                                            * scores */
} compare_data;

static void compare_data_free(compare_data *cd)
{
    eval_free(&cd->bg);
    eval_free(&cd->clean);
    for (size_t i = 0; i < COMPARE_MAX_SETS; i++) {
        eval_free(&cd->anom[i]);
        free(cd->as[i]);
    }
    free(cd->p);
    free(cd->cs);
}

/* Load the background, the clean and the anomalous sets, check that they
 * have the same nodes, and allocate the buffers.  0, or 1 after the
 * error. */
static int compare_load(const compare_job *job, compare_data *cd)
{
    if (load_background(job, &cd->bg) ||
        eval_load(&cd->clean, job->clean, job->clean_labels))
        return 1;
    size_t maxn = cd->clean.n;
    for (size_t i = 0; i < job->nanomalous; i++) {
        if (eval_load(&cd->anom[i], job->anomalous[i],
                      job->anomalous_labels ? job->anomalous_labels[i] : NULL))
            return 1;
        if (cd->anom[i].n > maxn)
            maxn = cd->anom[i].n;
    }
    const eval_data *all[COMPARE_MAX_SETS + 1] = {&cd->clean};
    for (size_t i = 0; i < job->nanomalous; i++)
        all[i + 1] = &cd->anom[i];
    for (size_t i = 0; i <= job->nanomalous; i++)
        if (all[i]->D != cd->bg.D) {
            cli_error("%s: %zu nodes per row, but the background %s has %zu",
                      all[i]->path, all[i]->D, cd->bg.path, cd->bg.D);
            return 1;
        }
    cd->p = malloc(maxn * 2 * cd->bg.D * 2 * sizeof *cd->p);
    cd->cs = malloc(cd->clean.n * sizeof *cd->cs);
    int oom = !cd->p || !cd->cs;
    for (size_t i = 0; i < job->nanomalous; i++)
        oom |= !(cd->as[i] = malloc(cd->anom[i].n * sizeof(double)));
    if (oom) {
        cli_error("out of memory");
        return 1;
    }
    return 0;
}

/* Row r of model m (its method, tail and labels already set): the
 * individual-scan AUC of each anomalous set, timed, and with a group
 * size the group-scan AUC of each set and fraction.  0, or 1 after the
 * error. */
static int compare_row_fill(const compare_job *job, compare_data *cd,
                            const ah_model *m, compare_row *r)
{
    ah_diag dg;
    int tail = r->tail, cond = r->conditional;
    if (timed_scores(m, &cd->clean, tail, cond, job, cd->p, cd->cs,
                     &r->pvalue_s, &r->scan_s))
        return 1;
    for (size_t i = 0; i < job->nanomalous; i++) {
        if (timed_scores(m, &cd->anom[i], tail, cond, job, cd->p, cd->as[i],
                         &r->pvalue_s, &r->scan_s) ||
            ah_auc(cd->cs, cd->clean.n, cd->as[i], cd->anom[i].n, &r->auc[i],
                   &dg) != AH_OK)
            return 1;
    }
    eval_config c = {tail, job->stat, job->alpha_max, job->threads, cond};
    for (size_t f = 0; job->group.batch && f < job->nfractions; f++)
        for (size_t i = 0; i < job->nanomalous; i++) {
            group_config g = job->group;
            g.fraction = job->fractions[f];
            double *gc = malloc((size_t)g.runs * sizeof *gc);
            double *ga = malloc((size_t)g.runs * sizeof *ga);
            int bad = !gc || !ga ||
                      eval_group(m, &cd->clean, &cd->anom[i], &c, &g, gc,
                                 ga) ||
                      ah_auc(gc, (size_t)g.runs, ga, (size_t)g.runs,
                             &r->group_auc[f][i], &dg) != AH_OK;
            free(gc);
            free(ga);
            if (bad)
                return 1;
        }
    return 0;
}

/* Fit method mi on the background and fill its rows (each tail, pooled
 * and, with labels, conditional) from rows[*nrows] on.  0, or an exit
 * code after the error. */
static int compare_method(const compare_job *job, compare_data *cd,
                          size_t mi, compare_row *rows, size_t *nrows,
                          FILE *log)
{
    const eval_data *bg = &cd->bg;
    int nconds = bg->labels ? 2 : 1;
    ah_fit_options o;
    compare_parse_method(job->methods[mi], &o);
    ah_model *m = NULL;
    ah_diag dg;
    if (log)
        fprintf(log, "acthist: fitting %s on %zu x %zu ...\n",
                job->methods[mi], bg->n, bg->D);
    double t0 = cli_now();
    if (ah_model_fit(&m, bg->x, bg->n, bg->D, bg->D, bg->labels, &o, &dg))
        return cli_diag(bg->path, &dg);
    double fit_s = cli_now() - t0;
    ah_model_info info;
    int rc = CLI_FAIL;
    if (ah_model_get_info(m, &info) != AH_OK) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t ti = 0; ti < job->ntails; ti++) {
        int tail = ah_tail_parse(job->tails[ti]);
        for (int cond = 0; cond < nconds; cond++) {
            compare_row *r = &rows[(*nrows)++];
            snprintf(r->method, sizeof r->method, "%s", job->methods[mi]);
            r->tail = tail;
            r->conditional = cond;
            /* a pooled row is what a model without labels would take */
            r->model_bytes = cond ? info.file_bytes : info.pooled_file_bytes;
            r->percent_raw = 100.0 * (double)r->model_bytes / info.raw_bytes;
            r->fit_s = fit_s;
            if (compare_row_fill(job, cd, m, r))
                goto done;
            if (log)
                fprintf(log, "acthist:   %s tail %s %s: AUC %.4f\n",
                        job->methods[mi], job->tails[ti],
                        cond ? "conditional" : "pooled", r->auc[0]);
        }
    }
    rc = 0;
done:
    ah_model_free(m);
    return rc;
}

int compare_run_rows(const compare_job *job, compare_row **rows_out,
                     size_t *nrows_out, FILE *log)
{
    compare_data cd;
    memset(&cd, 0, sizeof cd);
    compare_row *rows = NULL;
    size_t nrows = 0;
    int rc = CLI_FAIL;
    if (job->nanomalous > COMPARE_MAX_SETS) {
        cli_error("compare: at most %d anomalous sets", COMPARE_MAX_SETS);
        return CLI_USAGE;
    }
    if (compare_load(job, &cd))
        goto out;
    int nconds = cd.bg.labels ? 2 : 1;
    rows = calloc(job->nmethods * job->ntails * (size_t)nconds, sizeof *rows);
    if (!rows) {
        cli_error("out of memory");
        goto out;
    }
    for (size_t mi = 0; mi < job->nmethods; mi++)
        if ((rc = compare_method(job, &cd, mi, rows, &nrows, log)) != 0)
            goto out;
    rc = 0;
out:
    compare_data_free(&cd);
    if (rc) {
        free(rows);
        return rc;
    }
    *rows_out = rows;
    *nrows_out = nrows;
    return 0;
}

/* "out/fgsm_0.1.npy" -> "fgsm_0.1" */
static void short_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, cap, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && strcmp(dot, ".npy") == 0)
        *dot = '\0';
}

int compare_run(const compare_job *job, int json, cli_buf *out, FILE *log)
{
    compare_row *rows = NULL;
    size_t nrows = 0;
    int rc = compare_run_rows(job, &rows, &nrows, log);
    if (rc)
        return rc;
    char name[COMPARE_MAX_SETS][64];
    for (size_t i = 0; i < job->nanomalous; i++)
        short_name(job->anomalous[i], name[i], sizeof name[i]);
    if (json) {
        cli_buf_printf(out, "{\"stat\": \"%s\", \"alpha_max\": %g, \"sets\": [",
                       ah_stat_name(job->stat), job->alpha_max);
        for (size_t i = 0; i < job->nanomalous; i++) {
            cli_buf_printf(out, "%s", i ? ", " : "");
            cli_buf_json_string(out, job->anomalous[i]);
        }
        cli_buf_printf(out, "], \"rows\": [");
        for (size_t r = 0; r < nrows; r++) {
            const compare_row *w = &rows[r];
            cli_buf_printf(out, "%s{\"method\": \"%s\", \"tail\": \"%s\", "
                                "\"conditional\": %s, \"model_bytes\": %zu, "
                                "\"percent_raw\": %.4f, \"fit_s\": %.6f, "
                                "\"pvalue_s\": %.6f, \"scan_s\": %.6f, "
                                "\"auc\": [",
                           r ? ", " : "", w->method, ah_tail_name(w->tail),
                           w->conditional ? "true" : "false", w->model_bytes,
                           w->percent_raw, w->fit_s, w->pvalue_s, w->scan_s);
            for (size_t i = 0; i < job->nanomalous; i++)
                cli_buf_printf(out, "%s%.6f", i ? ", " : "", w->auc[i]);
            cli_buf_printf(out, "]");
            if (job->group.batch) {
                cli_buf_printf(out, ", \"group\": {\"batch\": %zu, \"runs\": "
                                    "%d, \"fractions\": {",
                               job->group.batch, job->group.runs);
                for (size_t f = 0; f < job->nfractions; f++) {
                    cli_buf_printf(out, "%s\"%g\": [", f ? ", " : "",
                                   job->fractions[f]);
                    for (size_t i = 0; i < job->nanomalous; i++)
                        cli_buf_printf(out, "%s%.6f", i ? ", " : "",
                                       w->group_auc[f][i]);
                    cli_buf_printf(out, "]");
                }
                cli_buf_printf(out, "}}");
            }
            cli_buf_printf(out, "}");
        }
        cli_buf_printf(out, "]}\n");
    } else {
        cli_buf_printf(out, "%-20s %10s %7s %7s %7s %7s %-5s %-4s",
                       "method", "bytes", "%raw", "fit_s", "pval_s", "scan_s",
                       "tail", "cond");
        for (size_t i = 0; i < job->nanomalous; i++)
            cli_buf_printf(out, " %12.12s", name[i]);
        for (size_t f = 0; job->group.batch && f < job->nfractions; f++)
            for (size_t i = 0; i < job->nanomalous; i++) {
                char h[64];
                snprintf(h, sizeof h, "G%g%%:%s", 100 * job->fractions[f],
                         name[i]);
                cli_buf_printf(out, " %12.12s", h);
            }
        cli_buf_printf(out, "\n");
        for (size_t r = 0; r < nrows; r++) {
            const compare_row *w = &rows[r];
            cli_buf_printf(out, "%-20s %10zu %7.3f %7.3f %7.3f %7.3f %-5s %-4s",
                           w->method, w->model_bytes, w->percent_raw, w->fit_s,
                           w->pvalue_s, w->scan_s, ah_tail_name(w->tail),
                           w->conditional ? "yes" : "no");
            for (size_t i = 0; i < job->nanomalous; i++)
                cli_buf_printf(out, " %12.4f", w->auc[i]);
            for (size_t f = 0; job->group.batch && f < job->nfractions; f++)
                for (size_t i = 0; i < job->nanomalous; i++)
                    cli_buf_printf(out, " %12.4f", w->group_auc[f][i]);
            cli_buf_printf(out, "\n");
        }
    }
    free(rows);
    return 0;
}
