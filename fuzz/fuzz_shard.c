/*
 * fuzz_shard.c - fuzz target for the shard loader (docs/FORMAT.md,
 * "Shard files").
 *
 * A shard that loads must also describe itself, save bytes that load back
 * the same, merge with a copy of itself (refused unless it holds no rows)
 * and with a plan of other rows (a plan), count a few rows against itself, or finish into a model that saves and loads (counts).
 * Replayed in the plain test run like fuzz_model.c.
 */
#include "acthist.h"
#include "fix_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows 0, 1, 2, ... in every column, labels 0..3: some inside any plan's
 * range, most not. */
typedef struct probe_rows {
    size_t cols, pos, rows;
    int labels;
} probe_rows;

static int probe_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                      size_t max_rows, size_t *got, ah_diag *diag)
{
    probe_rows *p = ctx;
    (void)diag;
    size_t k = 0;
    for (; k < max_rows && p->pos < p->rows; k++, p->pos++) {
        for (size_t j = 0; j < p->cols; j++)
            rows[k * ld + j] = (double)p->pos;
        if (p->labels)
            labels[k] = (int64_t)(p->pos % 4);
    }
    *got = k;
    return AH_OK;
}

static int probe_rewind(void *ctx, ah_diag *diag)
{
    (void)diag;
    ((probe_rows *)ctx)->pos = 0;
    return AH_OK;
}

static void must_round_trip(const ah_shard *s)
{
    ah_diag d;
    size_t len = 0;
    ah_shard_save_memory(s, NULL, &len, &d);
    unsigned char *buf = malloc(len), *again = malloc(len);
    if (buf && again && ah_shard_save_memory(s, buf, &len, &d) == AH_OK) {
        ah_shard *t = NULL;
        size_t len2 = len;
        if (ah_shard_load_memory(&t, buf, len, "resaved", &d) != AH_OK ||
            ah_shard_save_memory(t, again, &len2, &d) != AH_OK ||
            len2 != len || memcmp(buf, again, len) != 0)
            abort(); /* what we write we must read, and write the same */
        ah_shard_free(t);
    }
    free(buf);
    free(again);
}

static int fuzz_shard_once(const uint8_t *data, size_t size)
{
    ah_shard *s = NULL;
    ah_diag d;
    if (ah_shard_load_memory(&s, data, size, "fuzz", &d) != AH_OK)
        return 0;
    ah_shard_info info;
    ah_shard_get_info(s, &info);
    must_round_trip(s);
    if (info.kind == AH_SHARD_PLAN) {
        /* A copy of itself is refused (a shard counted twice), a plan of
         * other rows with the same options merges. */
        ah_shard *copy = NULL;
        if (ah_shard_load_memory(&copy, data, size, "copy", &d) == AH_OK &&
            ah_shard_merge(copy, s, &d) == AH_OK)
            must_round_trip(copy);
        if (copy && info.nodes <= 64) {
            probe_rows q = {info.nodes, 0, 3, info.labels > 0};
            ah_row_source qsrc = {&q, info.nodes, q.labels, probe_read,
                                  probe_rewind};
            ah_shard *other = NULL;
            if (ah_shard_plan(&other, &qsrc, &info.opts, &d) == AH_OK &&
                ah_shard_merge(copy, other, &d) == AH_OK)
                must_round_trip(copy);
            ah_shard_free(other);
        }
        ah_shard_free(copy);
        if (info.nodes <= 64) {
            probe_rows p = {info.nodes, 0, 5, info.labels > 0};
            ah_row_source src = {&p, info.nodes, p.labels, probe_read,
                                 probe_rewind};
            ah_shard *c = NULL;
            if (ah_shard_count(&c, s, &src, &d) == AH_OK)
                must_round_trip(c);
            ah_shard_free(c);
        }
    } else {
        ah_model *m = NULL;
        if (ah_shard_finish(&m, s, &d) == AH_OK) {
            size_t len = 0;
            ah_model_save_memory(m, NULL, &len, &d);
            unsigned char *buf = malloc(len);
            ah_model *m2 = NULL;
            if (buf && ah_model_save_memory(m, buf, &len, &d) == AH_OK &&
                ah_model_load_memory(&m2, buf, len, "finished", &d) != AH_OK)
                abort(); /* a finished model must be a valid model */
            ah_model_free(m2);
            free(buf);
        }
        ah_model_free(m);
    }
    ah_shard_free(s);
    return 0;
}

int ah_fuzz_shard(const uint8_t *data, size_t size);
int ah_fuzz_shard(const uint8_t *data, size_t size)
{
    fuzz_shard_once(data, size);
    unsigned char *b = malloc(size ? size : 1);
    if (b) {
        memcpy(b, data, size);
        fuzz_fix_image(b, size, 56, 88);
        fuzz_shard_once(b, size);
        free(b);
    }
    return 0;
}

#ifdef AH_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ah_fuzz_shard(data, size);
}
#endif
