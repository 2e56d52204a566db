/*
 * read_npy.h - a whole .npy file as doubles, for the tests that run on
 * the bundled real activations (data/).
 */
#ifndef AH_TEST_READ_NPY_H
#define AH_TEST_READ_NPY_H

#include "acthist.h"

#include <stdlib.h>

/* rows x cols values, row-major (caller frees), or NULL when the file
 * cannot be read whole. */
static inline double *read_npy(const char *path, size_t *rows, size_t *cols)
{
    ah_npy_reader *r = NULL;
    ah_diag dg;
    if (ah_npy_open(&r, path, &dg) != AH_OK)
        return NULL;
    *rows = ah_npy_rows(r);
    *cols = ah_npy_cols(r);
    double *x = malloc(*rows * *cols * sizeof *x);
    size_t got = 0;
    if (x && ah_npy_read_rows(r, x, *rows, *cols, 1, &got, &dg) != AH_OK)
        got = 0;
    ah_npy_close(r);
    if (got != *rows) {
        free(x);
        return NULL;
    }
    return x;
}

#endif
