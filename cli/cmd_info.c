/*
 * cmd_info.c - acthist info: what a model holds and what it costs (or
 * what a shard of a fit in shards holds).
 */
#include "cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_info_usage[] =
    "usage: acthist info MODEL [--json]\n"
    "\n"
    "Describe a model: method, tail, nodes D, background rows N, labels,\n"
    "bins per node (min/median/max), atoms, bytes in memory and on disk, and\n"
    "the same as a percentage of the raw background stored as float32.\n"
    "Given a shard of a fit in shards (acthist fit --plan-only / --plan,\n"
    "acthist merge), describe that: kind, options, rows read, plan rows.\n";

/* What a file is by its first bytes (docs/FORMAT.md): 'M' a model, 'S' a
 * shard, 0 neither, -1 unreadable (the loader then says why). */
static int file_magic(const char *path)
{
    unsigned char m[4] = {0};
    /* O_NONBLOCK: a FIFO must not hang us; the loader then refuses it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat sb;
    ssize_t n = -1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        n = read(fd, m, 4);
    close(fd);
    if (n < 0)
        return -1; /* a directory, say */
    if (n == 4 && m[0] == 0x89 && m[1] == 'A' && m[2] == 'H' &&
        (m[3] == 'M' || m[3] == 'S'))
        return m[3];
    return 0;
}

/* A shard file: what it is and how far the fit in shards has come. */
static int shard_info(const char *path, const ah_shard *s, int json)
{
    ah_shard_info si;
    ah_shard_get_info(s, &si);
    const char *kind = si.kind == AH_SHARD_PLAN ? "plan" : "counts";
    char bins[32];
    if (si.opts.bins == AH_BINS_AUTO)
        snprintf(bins, sizeof bins, "auto");
    else
        snprintf(bins, sizeof bins, "%d", si.opts.bins);
    if (json) {
        cli_buf b = {0};
        cli_buf_printf(&b, "{\"shard\": ");
        cli_buf_json_string(&b, path);
        cli_buf_printf(&b,
                       ", \"kind\": \"%s\", \"method\": \"%s\", \"tail\": "
                       "\"%s\", \"binning\": \"%s\", \"bins\": \"%s\", "
                       "\"nodes\": %zu, \"labels\": %zu, \"rows\": %zu, "
                       "\"plan_rows\": %zu}\n",
                       kind, ah_method_name(si.opts.method),
                       ah_tail_name(si.opts.tail),
                       ah_binning_name(si.opts.binning), bins, si.nodes,
                       si.labels, si.rows, si.plan_rows);
        int rc = cli_write_text(NULL, b.s, b.n) == 0 ? CLI_OK : CLI_FAIL;
        cli_buf_free(&b);
        return rc;
    }
    printf("shard:      %s\n", path);
    printf("kind:       %s\n", si.kind == AH_SHARD_PLAN
                                   ? "plan (merge plans, then count each "
                                     "shard against the merged one)"
                                   : "counts (merge all counts into the "
                                     "model)");
    printf("method:     %s, tail %s, binning %s, %s bins requested\n",
           ah_method_name(si.opts.method), ah_tail_name(si.opts.tail),
           ah_binning_name(si.opts.binning), bins);
    printf("nodes (D):  %zu\n", si.nodes);
    printf("labels:     %zu\n", si.labels);
    printf("rows:       %zu read by the shards merged here\n", si.rows);
    if (si.kind == AH_SHARD_COUNTS)
        printf("plan rows:  %zu (%s)\n", si.plan_rows,
               si.rows == si.plan_rows ? "all counted: ready to merge into "
                                         "the model"
                                       : "not all counted yet");
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

/* The bins requested: a number or "auto". */
static void bins_text(char *bins, size_t cap, const ah_model_info *in)
{
    if (in->bins_requested == AH_BINS_AUTO)
        snprintf(bins, cap, "auto");
    else
        snprintf(bins, cap, "%d", in->bins_requested);
}

/* How the model's threshold t was found, for the text report ("" when
 * none). */
static void threshold_how(char *how, size_t cap, const ah_threshold *t)
{
    how[0] = 0;
    if (t->source == AH_THRESHOLD_CROSSFIT)
        snprintf(how, cap, "cross-fitted on the background (%u "
                 "folds, %llu scores)", (unsigned)t->folds,
                 (unsigned long long)t->n);
    else if (t->source == AH_THRESHOLD_CLEAN)
        snprintf(how, cap, "on %llu clean inputs",
                 (unsigned long long)t->n);
}

/* acthist info --json of a model. */
static int model_info_json(const char *path, const ah_model *m,
                           const ah_model_info *in)
{
    int rc;
    char bins[32];
    bins_text(bins, sizeof bins, in);
    ah_threshold t;
    ah_model_get_threshold(m, &t);
    double pm = 100.0 * (double)in->memory_bytes / in->raw_bytes;
    double pf = 100.0 * (double)in->file_bytes / in->raw_bytes;
    cli_buf b = {0};
    cli_buf_printf(&b, "{\"model\": ");
    cli_buf_json_string(&b, path);
    cli_buf_printf(
        &b,
        ", \"method\": \"%s\", \"tail\": \"%s\", \"binning\": \"%s\", "
        "\"bins\": \"%s\", \"nodes\": %zu, \"rows\": %zu, \"labels\": %zu, "
        "\"bins_min\": %zu, \"bins_median\": %zu, \"bins_max\": %zu, "
        "\"atoms\": %zu, \"memory_bytes\": %zu, \"file_bytes\": %zu, "
        "\"pooled_file_bytes\": %zu, "
        "\"raw_bytes\": %.0f, \"memory_percent_of_raw\": %.4f, "
        "\"file_percent_of_raw\": %.4f, \"basis\": \"%s\", "
        "\"basis_components\": %zu, \"scanned_nodes\": %zu, "
        "\"basis_bytes\": %zu",
        ah_method_name(in->method), ah_tail_name(in->tail),
        ah_binning_name(in->binning), bins, in->nodes, in->rows, in->labels,
        in->bins_min, in->bins_median, in->bins_max, in->atoms_total,
        in->memory_bytes, in->file_bytes, in->pooled_file_bytes, in->raw_bytes,
        pm, pf, ah_basis_name(in->basis), in->basis_components,
        in->scanned_nodes, in->basis_bytes);
    if (t.source != AH_THRESHOLD_NONE)
        cli_buf_printf(
            &b,
            ", \"threshold\": {\"score\": %.17g, \"fpr\": %.17g, "
            "\"source\": \"%s\", \"n\": %llu, \"folds\": %u, "
            "\"stat\": \"%s\", \"alpha_max\": %.17g, \"tail\": \"%s\", "
            "\"pooled\": %s}",
            t.score, t.fpr,
            t.source == AH_THRESHOLD_CLEAN ? "clean" : "crossfit",
            (unsigned long long)t.n, (unsigned)t.folds,
            ah_stat_name(t.stat), t.alpha_max, ah_tail_name(t.tail),
            t.pooled ? "true" : "false");
    cli_buf_printf(&b, "}\n");
    rc = cli_write_text(NULL, b.s, b.n) == 0 ? CLI_OK : CLI_FAIL;
    cli_buf_free(&b);
    return rc;
}

/* acthist info of a model, as text. */
static int model_info_text(const char *path, const ah_model *m,
                           const ah_model_info *in)
{
    char bins[32];
    bins_text(bins, sizeof bins, in);
    ah_threshold t;
    ah_model_get_threshold(m, &t);
    char how[160];
    threshold_how(how, sizeof how, &t);
    double pm = 100.0 * (double)in->memory_bytes / in->raw_bytes;
    double pf = 100.0 * (double)in->file_bytes / in->raw_bytes;
    printf("model:      %s\n", path);
    printf("method:     %s\n", ah_method_name(in->method));
    printf("tail:       %s\n", ah_tail_name(in->tail));
    if (in->method == AH_METHOD_HIST) {
        printf("binning:    %s, %s bins requested\n",
               ah_binning_name(in->binning), bins);
        printf("bins/node:  min %zu, median %zu, max %zu\n", in->bins_min,
               in->bins_median, in->bins_max);
        printf("atoms:      %zu over %zu nodes (pooled)\n",
               in->atoms_total, in->scanned_nodes);
    }
    printf("nodes (D):  %zu\n", in->nodes);
    if (in->basis == AH_BASIS_PCA)
        printf("basis:      pca, %zu components per label%s: %zu nodes "
               "scanned; %zu bytes of the file\n", in->basis_components,
               in->scanned_nodes > in->nodes + in->basis_components
                   ? " and the residual norm"
                   : "",
               in->scanned_nodes, in->basis_bytes);
    else
        printf("basis:      none\n");
    printf("rows (N):   %zu\n", in->rows);
    printf("labels:     %zu%s\n", in->labels,
           in->labels ? " (conditional)" : " (pooled only)");
    printf("memory:     %zu bytes (%.3f%% of raw float32 background)\n",
           in->memory_bytes, pm);
    printf("file:       %zu bytes (%.3f%% of raw float32 background)\n",
           in->file_bytes, pf);
    if (in->labels)
        printf("pooled set: %zu bytes on disk (%.3f%%): a model without "
               "labels\n", in->pooled_file_bytes,
               100.0 * (double)in->pooled_file_bytes / in->raw_bytes);
    printf("raw:        %.0f bytes (N x D x 4)\n", in->raw_bytes);
    if (t.source != AH_THRESHOLD_NONE)
        printf("threshold:  score above %.6g is flagged: a false-positive "
               "rate of %g %s; for --stat %s --alpha-max %g --tail %s, "
               "%s\n",
               t.score, t.fpr, how, ah_stat_name(t.stat), t.alpha_max,
               ah_tail_name(t.tail),
               t.pooled ? "the pooled background" : "with labels");
    else
        printf("threshold:  none (acthist calibrate, or fit --fpr)\n");
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

int cmd_info(int argc, char **argv)
{
    const cli_command *self = cli_find("info");
    int json = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"--json", CLI_FLAG, &json, NULL, "one JSON object"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done;
    if (pos.n != 1) {
        cli_error("info: give exactly one MODEL");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        rc = CLI_USAGE;
        goto done;
    }
    ah_model *m = NULL;
    rc = CLI_FAIL;
    ah_diag d;
    int magic = file_magic(pos.v[0]);
    if (magic == 'S') {
        ah_shard *s = NULL;
        if (ah_shard_load(&s, pos.v[0], &d) != AH_OK)
            rc = cli_diag(NULL, &d);
        else
            rc = shard_info(pos.v[0], s, json);
        ah_shard_free(s);
        goto done;
    }
    if (magic == 0) {
        cli_error("%s: neither an acthist model nor a shard (bad magic)",
                  pos.v[0]);
        goto done;
    }
    if (ah_model_load(&m, pos.v[0], &d) != AH_OK) {
        cli_diag(NULL, &d);
        goto done;
    }
    ah_model_info in;
    if (ah_model_get_info(m, &in) != AH_OK) {
        cli_error("%s: out of memory", pos.v[0]);
        ah_model_free(m);
        goto done;
    }
    rc = json ? model_info_json(pos.v[0], m, &in)
              : model_info_text(pos.v[0], m, &in);
    ah_model_free(m);
done:
    cli_list_free(&pos);
    return rc;
}
