/*
 * background.c - background files read as one stream of rows, or a slice
 * of it: the row source of fit, of fit in shards and of the MPI fit.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_background_close(cli_background *b)
{
    for (size_t i = 0; i < b->nfiles; i++) {
        if (b->r)
            ah_npy_close(b->r[i]);
        if (b->labels)
            free(b->labels[i]);
    }
    free(b->r);
    free(b->rows);
    free(b->labels);
    memset(b, 0, sizeof *b);
}

int cli_background_open(cli_background *b, const char **files,
                        size_t nfiles, const char **label_files,
                        size_t nlabels)
{
    memset(b, 0, sizeof *b);
    if (nlabels && nlabels != nfiles) {
        cli_error("%zu background files but %zu labels files (give one per "
                  "background file, in order)", nfiles, nlabels);
        return CLI_USAGE;
    }
    b->files = files;
    b->nfiles = nfiles;
    b->r = calloc(nfiles, sizeof *b->r);
    b->rows = calloc(nfiles, sizeof *b->rows);
    b->labels = nlabels ? calloc(nfiles, sizeof *b->labels) : NULL;
    if (!b->r || !b->rows || (nlabels && !b->labels)) {
        cli_error("out of memory");
        cli_background_close(b);
        return CLI_FAIL;
    }
    ah_diag d;
    for (size_t i = 0; i < nfiles; i++) {
        if (ah_npy_open(&b->r[i], files[i], &d) != AH_OK) {
            cli_background_close(b);
            return cli_diag(NULL, &d);
        }
        b->rows[i] = ah_npy_rows(b->r[i]);
        size_t c = ah_npy_cols(b->r[i]);
        if (b->rows[i] == 0 || c == 0) {
            cli_error("%s: empty array (%zu rows x %zu columns)", files[i],
                      b->rows[i], c);
            cli_background_close(b);
            return CLI_FAIL;
        }
        if (i == 0)
            b->D = c;
        else if (c != b->D) {
            cli_error("%s: %zu nodes per row, but %s has %zu", files[i], c,
                      files[0], b->D);
            cli_background_close(b);
            return CLI_FAIL;
        }
        if (nlabels &&
            cli_read_labels(label_files[i], b->rows[i], files[i],
                            &b->labels[i]) != 0) {
            cli_background_close(b);
            return CLI_FAIL;
        }
        b->total += b->rows[i];
    }
    b->first = 0;
    b->count = b->total;
    return CLI_OK;
}

void cli_background_slice(cli_background *b, size_t first, size_t count)
{
    b->first = first < b->total ? first : b->total;
    b->count = count < b->total - b->first ? count : b->total - b->first;
}

void cli_background_share(cli_background *b, size_t part, size_t parts)
{
    /* rows [N part / parts, N (part + 1) / parts), without overflow */
    size_t N = b->total, q = N / parts, r = N % parts;
    size_t first = q * part + r * part / parts;
    size_t last = part + 1 >= parts ? N
                                    : q * (part + 1) + r * (part + 1) / parts;
    cli_background_slice(b, first, last - first);
}

/* To the slice's first row: the file holding it, and the row in it. */
static int bg_rewind(void *ctx, ah_diag *diag)
{
    cli_background *b = ctx;
    size_t skip = b->first;
    b->cur = 0;
    while (b->cur < b->nfiles && skip >= b->rows[b->cur])
        skip -= b->rows[b->cur++];
    b->row_in_file = skip;
    b->pos = 0;
    if (b->progress)
        cli_progress_pass(b->progress);
    for (size_t i = 0; i < b->nfiles; i++) {
        int st = ah_npy_seek(b->r[i], i == b->cur ? skip : 0, diag);
        if (st != AH_OK)
            return st;
    }
    return AH_OK;
}

static int bg_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                   size_t max_rows, size_t *got, ah_diag *diag)
{
    cli_background *b = ctx;
    *got = 0;
    size_t left = b->count - b->pos;
    if (max_rows > left)
        max_rows = left;
    while (max_rows > 0 && b->cur < b->nfiles) {
        size_t k = 0;
        int st = ah_npy_read_rows(b->r[b->cur], rows, max_rows, ld, 1, &k,
                                  diag);
        if (st != AH_OK)
            return st;
        if (k > 0) {
            if (b->labels)
                memcpy(labels, b->labels[b->cur] + b->row_in_file,
                       k * sizeof *labels);
            b->row_in_file += k;
            b->pos += k;
            *got = k;
            cli_progress_update(b->progress, b->pos);
            return AH_OK;
        }
        b->cur++;
        b->row_in_file = 0;
    }
    return AH_OK;
}

ah_row_source cli_background_source(cli_background *b)
{
    ah_diag d;
    bg_rewind(b, &d); /* seeks within the files: cannot fail */
    ah_row_source src = {b, b->D, b->labels != NULL, bg_read, bg_rewind};
    return src;
}
