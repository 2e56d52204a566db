/*
 * evaluate.c - scores, group-scan runs and metric summaries for eval,
 * compare and demo.
 */
#include "evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t eval_unseen(const ah_model *m, const eval_data *d)
{
    size_t k = 0, n = 0;
    const int64_t *seen = ah_model_labels(m, &k);
    for (size_t i = 0; d->labels && i < d->n; i++) {
        size_t lo = 0, hi = k; /* seen[] is sorted */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (seen[mid] < d->labels[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        n += lo == k || seen[lo] != d->labels[i];
    }
    return n;
}

int eval_load(eval_data *d, const char *path, const char *labels_path)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    if (cli_read_matrix(path, &d->x, &d->n, &d->D) != 0)
        return CLI_FAIL;
    if (labels_path && cli_read_labels(labels_path, d->n, path, &d->labels)) {
        eval_free(d);
        return CLI_FAIL;
    }
    return 0;
}

void eval_free(eval_data *d)
{
    free(d->x);
    free(d->labels);
    d->x = NULL;
    d->labels = NULL;
}

int eval_scores(const ah_model *m, const eval_data *d, const eval_config *c,
                double *scores, size_t *unseen)
{
    ah_scan_result *res = malloc(d->n * sizeof *res);
    if (!res) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    ah_diag dg;
    int st = ah_score(m, d->x, d->n, d->D, d->D,
                      c->conditional ? d->labels : NULL, c->tail, c->stat,
                      c->alpha_max, res, unseen, c->threads, &dg);
    if (st != AH_OK) {
        free(res);
        return cli_diag(d->path, &dg);
    }
    for (size_t i = 0; i < d->n; i++)
        scores[i] = res[i].score;
    free(res);
    return 0;
}

/* splitmix64: the runs' own seeded stream, independent of threads. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* k distinct indices out of n (partial Fisher-Yates over perm). */
static void sample(size_t *perm, size_t n, size_t k, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = 0; i < k && i < n; i++) {
        size_t j = i + (size_t)(next_u64(rng) % (uint64_t)(n - i));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int batch_score(const ah_model *m, const double *x, const int64_t *lab,
                       size_t M, size_t D, const eval_config *c,
                       const group_config *g, uint64_t seed, double *score)
{
    size_t w = ah_pvalue_width(m, c->tail);
    double *p = malloc(M * w * 2 * sizeof *p);
    ah_diag d;
    if (!p) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int st = ah_pvalues(m, x, M, D, D, lab, c->tail, p, NULL, c->threads, &d);
    if (st == AH_OK) {
        ah_group_options o;
        ah_group_options_default(&o);
        o.stat = c->stat;
        o.alpha_max = c->alpha_max;
        o.restarts = g->restarts;
        o.seed = seed;
        o.fractional = g->fractional;
        o.threads = c->threads;
        ah_group_result r;
        st = ah_scan_group(p, M, w, &o, &r, NULL, NULL, &d);
        *score = r.score;
    }
    free(p);
    return st == AH_OK ? 0 : cli_diag("group scan", &d);
}

int eval_group(const ah_model *m, const eval_data *clean,
               const eval_data *anom, const eval_config *c,
               const group_config *g, double *clean_scores,
               double *anom_scores)
{
    size_t M = g->batch, D = clean->D;
    size_t k = (size_t)floor(g->fraction * (double)M + 0.5);
    if (M == 0 || M > clean->n || k > anom->n || k > M) {
        cli_error("group: a batch of %zu with %zu anomalous inputs needs at "
                  "least %zu clean (%s has %zu) and %zu anomalous (%s has %zu)",
                  M, k, M, clean->path, clean->n, k, anom->path, anom->n);
        return CLI_USAGE;
    }
    int cond = c->conditional && clean->labels && anom->labels;
    double *x = malloc(M * D * sizeof *x);
    int64_t *lab = malloc(M * sizeof *lab);
    size_t *pc = malloc(clean->n * sizeof *pc);
    size_t *pa = malloc(anom->n * sizeof *pa);
    int rc = 0;
    if (!x || !lab || !pc || !pa) {
        cli_error("out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    for (int r = 0; r < g->runs && rc == 0; r++) {
        uint64_t rng = g->seed * 0x100000001b3ULL + (uint64_t)r;
        sample(pc, clean->n, M, &rng);
        sample(pa, anom->n, k, &rng);
        for (size_t i = 0; i < M; i++) {
            memcpy(x + i * D, clean->x + pc[i] * D, D * sizeof *x);
            lab[i] = cond ? clean->labels[pc[i]] : 0;
        }
        uint64_t scan_seed = next_u64(&rng);
        rc = batch_score(m, x, cond ? lab : NULL, M, D, c, g, scan_seed,
                         &clean_scores[r]);
        for (size_t i = 0; i < k && rc == 0; i++) {
            memcpy(x + i * D, anom->x + pa[i] * D, D * sizeof *x);
            lab[i] = cond ? anom->labels[pa[i]] : 0;
        }
        if (rc == 0)
            rc = batch_score(m, x, cond ? lab : NULL, M, D, c, g, scan_seed,
                             &anom_scores[r]);
    }
out:
    free(x);
    free(lab);
    free(pc);
    free(pa);
    return rc;
}

int eval_summarise(const double *clean, size_t nc, const double *anom,
                   size_t na, eval_summary *s)
{
    ah_diag d;
    memset(s, 0, sizeof *s);
    if (ah_auc(clean, nc, anom, na, &s->auc, &d) != AH_OK ||
        ah_tpr_at_fpr(clean, nc, anom, na, 0.01, &s->tpr1, &d) != AH_OK ||
        ah_tpr_at_fpr(clean, nc, anom, na, 0.05, &s->tpr5, &d) != AH_OK ||
        ah_tpr_at_fpr(clean, nc, anom, na, 0.10, &s->tpr10, &d) != AH_OK)
        return cli_diag("metrics", &d);
    size_t half = (nc + 1) / 2, test = nc / 2;
    double *cal = malloc((half ? half : 1) * sizeof *cal);
    if (!cal) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    for (size_t i = 0; i < half; i++)
        cal[i] = clean[2 * i];
    int st = ah_quantile(cal, half, 0.95, &s->threshold, &d);
    free(cal);
    if (st != AH_OK)
        return cli_diag("metrics", &d);
    size_t fp = 0, tp = 0;
    for (size_t i = 1; i < nc; i += 2)
        fp += clean[i] > s->threshold;
    for (size_t i = 0; i < na; i++)
        tp += anom[i] > s->threshold;
    s->fpr_test = test ? (double)fp / (double)test : NAN;
    s->tpr_test = (double)tp / (double)na;
    return 0;
}

int eval_parse_group(const char *group_s, const char *runs_s,
                     const char *restarts_s, const char *seed_s,
                     group_config *g)
{
    long v;
    if (group_s) {
        if (cli_parse_int("--group", group_s, 1, 1000000, &v))
            return CLI_USAGE;
        g->batch = (size_t)v;
    }
    if (runs_s) {
        if (cli_parse_int("--runs", runs_s, 1, 1000000, &v))
            return CLI_USAGE;
        g->runs = (int)v;
    }
    if (restarts_s) {
        if (cli_parse_option_int("--restarts", restarts_s, AH_OPTION_RESTARTS,
                                 &v))
            return CLI_USAGE;
        g->restarts = (int)v;
    }
    if (seed_s && cli_parse_seed("--seed", seed_s, &g->seed))
        return CLI_USAGE;
    return 0;
}
