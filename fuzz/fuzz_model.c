/*
 * fuzz_model.c - fuzz target for the model loader.
 *
 * A model that loads must also answer: info, p-values for every tail at
 * awkward values, a node's cells, and a save whose bytes load back the same.
 * Replayed in the plain test run like fuzz_npy.c.
 */
#include "acthist.h"
#include "fix_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int fuzz_model_once(const uint8_t *data, size_t size);

int ah_fuzz_model(const uint8_t *data, size_t size);
int ah_fuzz_model(const uint8_t *data, size_t size)
{
    fuzz_model_once(data, size);
    unsigned char *b = malloc(size ? size : 1);
    if (b) {
        memcpy(b, data, size);
        fuzz_fix_image(b, size, 64, 104);
        fuzz_model_once(b, size);
        free(b);
    }
    return 0;
}

static int fuzz_model_once(const uint8_t *data, size_t size)
{
    ah_model *m = NULL;
    ah_diag d;
    if (ah_model_load_memory(&m, data, size, "fuzz", &d) != AH_OK)
        return 0;
    ah_model_info info;
    ah_model_get_info(m, &info);
    size_t D = ah_model_nodes(m);
    if (D <= 4096) {
        static const double probes[] = {0.0, -1e300, 1e300, 0.5, -0.0, 1.0};
        size_t nr = sizeof probes / sizeof probes[0];
        double *x = malloc(nr * D * sizeof *x);
        /* width: D, or more scanned nodes with a basis; twice for both */
        double *p = malloc(nr * ah_pvalue_width(m, AH_TAIL_BOTH) * 2 *
                           sizeof *p);
        int64_t labels[6] = {0, 1, 2, -1, 7, INT64_MAX};
        for (size_t i = 0; x && i < nr * D; i++)
            x[i] = probes[i / D];
        for (int tail = 0; x && p && tail <= AH_TAIL_BOTH; tail++) {
            ah_pvalues(m, x, nr, D, D, NULL, tail, p, NULL, 1, &d);
            ah_pvalues(m, x, nr, D, D, labels, tail, p, NULL, 1, &d);
        }
        free(x);
        free(p);
    }
    ah_cell cells[64];
    size_t nc = 0;
    ah_model_node_cells(m, AH_POOLED, 0, cells, 64, &nc, &d);
    size_t len = 0;
    ah_model_save_memory(m, NULL, &len, &d);
    unsigned char *buf = malloc(len);
    if (buf && ah_model_save_memory(m, buf, &len, &d) == AH_OK) {
        ah_model *m2 = NULL;
        if (ah_model_load_memory(&m2, buf, len, "resaved", &d) != AH_OK)
            abort(); /* what we write we must read */
        ah_model_free(m2);
    }
    free(buf);
    ah_model_free(m);
    return 0;
}

#ifdef AH_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ah_fuzz_model(data, size);
}
#endif
