/*
 * fit_threads.c - acthist fit --threads K: the rows cut into K slices,
 * fitted as shards by K threads and merged (docs/SHARDS.md).  With
 * equal-width bins, which is the only binning it takes, the model is the
 * same bytes as a fit in one thread.  Each thread holds its own fine grids,
 * so memory is K times the fit's.
 */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slice_job {
    cli_background bg;      /* this thread's readers, over its slice     */
    const ah_fit_options *o;
    const ah_shard *plan;   /* NULL: plan the slice; else count against it */
    ah_shard *out;
    ah_diag d;
    int st;
} slice_job;

static void *run_slice(void *arg)
{
    slice_job *j = arg;
    ah_row_source src = cli_background_source(&j->bg);
    j->out = NULL;
    j->st = j->plan ? ah_shard_count(&j->out, j->plan, &src, &j->d)
                    : ah_shard_plan(&j->out, &src, j->o, &j->d);
    return NULL;
}

/* Run every job, job 0 on this thread; the first failure's exit code. */
static int run_all(slice_job *job, int k)
{
    pthread_t *t = calloc((size_t)k, sizeof *t);
    int *started = calloc((size_t)k, sizeof *started);
    if (!t || !started) {
        free(t);
        free(started);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    for (int i = 1; i < k; i++)
        started[i] = pthread_create(&t[i], NULL, run_slice, &job[i]) == 0;
    run_slice(&job[0]);
    for (int i = 1; i < k; i++)
        if (started[i])
            pthread_join(t[i], NULL);
        else
            run_slice(&job[i]); /* no thread: run it here */
    free(t);
    free(started);
    for (int i = 0; i < k; i++)
        if (job[i].st != AH_OK)
            return cli_diag(NULL, &job[i].d);
    return CLI_OK;
}

/* Merge every job's shard into job 0's, freeing the others.  Slices that
 * hold the same rows (a constant background, a file given twice) look to
 * the merge like one shard counted twice (AH_ERR_VALUE): *same is set and
 * nothing is printed, so that the caller fits on one thread instead. */
static int merge_all(slice_job *job, int k, int *same)
{
    int rc = CLI_OK;
    for (int i = 1; i < k; i++) {
        ah_diag d;
        if (rc == CLI_OK &&
            ah_shard_merge(job[0].out, job[i].out, &d) != AH_OK) {
            *same = d.status == AH_ERR_VALUE;
            rc = *same ? CLI_FAIL : cli_diag(NULL, &d);
        }
        ah_shard_free(job[i].out);
        job[i].out = NULL;
    }
    return rc;
}

static int fit_slices(const char **files, size_t nfiles,
                      const char **label_files, size_t nlabels,
                      const ah_fit_options *o, int threads, ah_model **out,
                      int *same);

int cli_fit_threads(const char **files, size_t nfiles,
                    const char **label_files, size_t nlabels,
                    const ah_fit_options *o, int threads, ah_model **out)
{
    *out = NULL;
    if (o->method != AH_METHOD_HIST || o->binning != AH_BINNING_WIDTH ||
        o->bins == AH_BINS_AUTO) {
        cli_error("fit: --threads needs histograms with equal-width bins of "
                  "a given count (the default): other edges would depend on "
                  "how the rows are split");
        return CLI_USAGE;
    }
    int same = 0;
    int rc = fit_slices(files, nfiles, label_files, nlabels, o, threads, out,
                        &same);
    if (same) /* one slice has nothing to merge */
        rc = fit_slices(files, nfiles, label_files, nlabels, o, 1, out,
                        &same);
    return rc;
}

static int fit_slices(const char **files, size_t nfiles,
                      const char **label_files, size_t nlabels,
                      const ah_fit_options *o, int threads, ah_model **out,
                      int *same)
{
    *out = NULL;
    slice_job *job = calloc((size_t)threads, sizeof *job);
    if (!job) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int k = 0, rc = CLI_OK;
    for (; k < threads; k++) {
        rc = cli_background_open(&job[k].bg, files, nfiles, label_files,
                                 nlabels);
        if (rc != CLI_OK)
            break;
        cli_background_share(&job[k].bg, (size_t)k, (size_t)threads);
        job[k].o = o;
    }
    if (rc == CLI_OK)
        rc = run_all(job, k);
    if (rc == CLI_OK)
        rc = merge_all(job, k, same);
    ah_shard *plan = job[0].out; /* merged, or NULL after a failure */
    for (int i = 0; i < k; i++) {
        if (i > 0)
            ah_shard_free(job[i].out); /* left by a failed plan step */
        job[i].plan = plan;
        job[i].out = NULL;
    }
    if (rc == CLI_OK)
        rc = run_all(job, k);
    if (rc == CLI_OK)
        rc = merge_all(job, k, same);
    ah_diag d;
    if (rc == CLI_OK && ah_shard_finish(out, job[0].out, &d) != AH_OK)
        rc = cli_diag(NULL, &d);
    ah_shard_free(plan);
    for (int i = 0; i < k; i++) {
        ah_shard_free(job[i].out);
        cli_background_close(&job[i].bg);
    }
    free(job);
    return rc;
}
