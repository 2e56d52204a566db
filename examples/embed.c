/*
 * embed.c - libacthist inside a program of your own: load a model once,
 * then score batches of activations as they arrive (here, one .npy file
 * read in chunks), printing "index,score,alpha,size" like `acthist score`.
 *
 *   cc embed.c $(pkg-config --cflags --libs acthist) -o embed
 *   ./embed MODEL.ahm ACTIVATIONS.npy
 *
 * The model is read-only once loaded, so any number of threads may call
 * ah_score on it at once, each with its own buffers.
 */
#include <acthist.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    enum { CHUNK = 256 };
    ah_model *m = NULL;
    ah_npy_reader *r = NULL;
    ah_diag d;
    double *x = NULL;
    ah_scan_result *res = NULL;
    size_t got, first = 0;
    int st;

    if (argc != 3) {
        fprintf(stderr, "usage: embed MODEL ACTIVATIONS.npy\n");
        return 2;
    }
    if ((st = ah_model_load(&m, argv[1], &d)) != AH_OK ||
        (st = ah_npy_open(&r, argv[2], &d)) != AH_OK)
        goto fail;
    const size_t D = ah_npy_cols(r);
    x = malloc(CHUNK * D * sizeof *x);
    res = malloc(CHUNK * sizeof *res);
    if (!x || !res) {
        fprintf(stderr, "embed: out of memory\n");
        st = AH_ERR_NOMEM;
        goto done;
    }
    puts("index,score,alpha,size");
    for (;;) {
        /* check_finite: a NaN fails here, naming its row and column */
        if ((st = ah_npy_read_rows(r, x, CHUNK, D, 1, &got, &d)) != AH_OK)
            goto fail;
        if (got == 0)
            break;
        /* no labels, the model's tail, Berk-Jones, alpha_max 0.5, 1 thread */
        if ((st = ah_score(m, x, got, D, D, NULL, -1, AH_STAT_BJ, 0.5, res,
                           NULL, 1, &d)) != AH_OK)
            goto fail;
        for (size_t i = 0; i < got; i++)
            printf("%zu,%.17g,%.17g,%zu\n", first + i, res[i].score,
                   res[i].alpha, res[i].size);
        first += got;
    }
    goto done;
fail:
    fprintf(stderr, "embed: %s (%s)\n", d.message, ah_status_name(st));
done:
    free(x);
    free(res);
    ah_npy_close(r);
    ah_model_free(m);
    return st == AH_OK ? 0 : 1;
}
