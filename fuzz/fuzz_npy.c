/*
 * fuzz_npy.c - fuzz target for the .npy reader (from-memory form).
 *
 * Built as a libFuzzer target with `make fuzz` (clang), and replayed over
 * its corpus plus seeded mutations in the plain test run
 * (tests/test_fuzz_replay.c), so every CI run exercises it under the
 * sanitizers.  The property is the absence of crashes, leaks and
 * undefined behaviour: any input must end in AH_OK or a clean error.
 */
#include "acthist.h"

#include <stdint.h>
#include <stdlib.h>

int ah_fuzz_npy(const uint8_t *data, size_t size);
int ah_fuzz_npy(const uint8_t *data, size_t size)
{
    ah_npy_reader *r = NULL;
    ah_diag d;
    if (ah_npy_open_memory(&r, data, size, "fuzz", &d) != AH_OK)
        return 0;
    size_t rows = ah_npy_rows(r), cols = ah_npy_cols(r);
    if (cols == 0 || cols > (1u << 16)) {
        ah_npy_close(r);
        return 0;
    }
    double *buf = malloc(7 * cols * sizeof *buf);
    for (int pass = 0; buf && pass < 2; pass++) {
        size_t got = 0, seen = 0;
        while (ah_npy_read_rows(r, buf, 7, cols, pass == 0, &got, &d) ==
                   AH_OK &&
               got > 0 && seen <= rows)
            seen += got;
        if (ah_npy_rewind(r, &d) != AH_OK)
            break;
    }
    free(buf);
    ah_npy_close(r);
    return 0;
}

#ifdef AH_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ah_fuzz_npy(data, size);
}
#endif
