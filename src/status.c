/*
 * status.c - status names, diagnostics and the small thread helper.
 *
 * Diagnostics are written into the caller's ah_diag, never into a global,
 * so that concurrent calls on different objects do not race.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *ah_status_name(int status)
{
    switch (status) {
    case AH_OK: return "AH_OK";
    case AH_ERR_ARG: return "AH_ERR_ARG";
    case AH_ERR_IO: return "AH_ERR_IO";
    case AH_ERR_FORMAT: return "AH_ERR_FORMAT";
    case AH_ERR_NOMEM: return "AH_ERR_NOMEM";
    case AH_ERR_OVERFLOW: return "AH_ERR_OVERFLOW";
    case AH_ERR_VALUE: return "AH_ERR_VALUE";
    case AH_ERR_SHAPE: return "AH_ERR_SHAPE";
    case AH_ERR_VERSION: return "AH_ERR_VERSION";
    case AH_ERR_CHECKSUM: return "AH_ERR_CHECKSUM";
    case AH_ERR_EMPTY: return "AH_ERR_EMPTY";
    default: return "AH_ERR_UNKNOWN";
    }
}

void ah__diag_clear(ah_diag *diag)
{
    if (!diag)
        return;
    diag->status = AH_OK;
    diag->row = diag->col = -1;
    diag->message[0] = '\0';
}

int ah__fail(ah_diag *diag, int status, int64_t row, int64_t col,
             const char *fmt, ...)
{
    if (diag) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->message, sizeof diag->message, fmt, ap);
        va_end(ap);
        diag->status = status;
        diag->row = row;
        diag->col = col;
    }
    return status;
}

int ah__thread_count(int requested, size_t work_items)
{
    long n = requested;
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
            n = 1;
    }
    if (n > 256)
        n = 256;
    if (work_items < (size_t)n)
        n = work_items ? (long)work_items : 1;
    return (int)n;
}

struct ah__job {
    void (*fn)(void *, int);
    void *ctx;
    int index;
};

static void *ah__job_main(void *arg)
{
    struct ah__job *j = arg;
    j->fn(j->ctx, j->index);
    return NULL;
}

int ah__parallel(int nthreads, void (*fn)(void *ctx, int index), void *ctx)
{
    pthread_t tid[256];
    struct ah__job jobs[256];
    int started = 0, status = AH_OK;
    if (nthreads > 256)
        nthreads = 256;
    for (int i = 1; i < nthreads; i++) {
        jobs[i] = (struct ah__job){fn, ctx, i};
        if (pthread_create(&tid[i], NULL, ah__job_main, &jobs[i]) != 0) {
            status = AH_ERR_NOMEM;
            break;
        }
        started = i;
    }
    fn(ctx, 0);
    /* Indices whose thread could not start run here, so the work is done. */
    for (int i = started + 1; i < nthreads; i++)
        fn(ctx, i);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    return status;
}
