/*
 * test_hist_payload.c - the size of a histogram set's encoding, which a
 * set keeps once complete (src/hist_io.c): equal to the bytes written, for
 * a fitted set, a set read back, and a set read from a file that pads a
 * node more than the writer does (then written again canonically).
 */
#include "acthist.h"
#include "check.h"
#include "hist.h"

#include <stdlib.h>
#include <string.h>

enum { N = 3000, D = 6, LABELS = 3 };

/* Encode set s of m; returns the buffer (malloc'ed), its size in *len. */
static unsigned char *encode(const void *rep, size_t *len)
{
    *len = ah__hist_ops.payload_bytes(rep);
    unsigned char *buf = malloc(*len + 64);
    if (buf)
        ah__hist_ops.write(rep, buf);
    return buf;
}

/* The same payload with node 0 padded by 8 more zero bytes. */
static unsigned char *pad_first_node(const unsigned char *buf, size_t len,
                                     size_t *out_len)
{
    uint32_t nbytes = ah__get_u32(buf + 12);
    unsigned char *p = calloc(len + 8, 1);
    if (!p)
        return NULL;
    memcpy(p, buf, nbytes);
    memcpy(p + nbytes + 8, buf + nbytes, len - nbytes);
    ah__put_u32(p + 12, nbytes + 8);
    *out_len = len + 8;
    return p;
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *x = malloc(sizeof *x * N * D);
    int64_t *lab = malloc(sizeof *lab * N);
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int64_t)(i % LABELS);
        for (size_t j = 0; j < D; j++) {
            double u = check_rand_unit(&rng);
            x[i * D + j] = u < 0.5 ? 0.0 : (double)(float)(-(double)(j + 1) * log(u));
        }
    }
    ah_fit_options o;
    ah_fit_options_default(&o);
    ah_model *m = NULL;
    ah_diag dg;
    CHECK(ah_model_fit(&m, x, N, D, D, lab, &o, &dg) == AH_OK, "fit: %s",
          dg.message);
    for (size_t s = 0; m && s < m->nsets; s++) {
        const ah__set *set = &m->sets[s];
        size_t len = 0, plen = 0, used = 0, len2 = 0;
        unsigned char *buf = encode(set->rep, &len);
        CHECK(buf && ah__hist_payload_measure(set->rep) == len,
              "set %zu: kept size %zu, measured %zu", s, len,
              ah__hist_payload_measure(set->rep));
        void *back = NULL;
        CHECK(ah__hist_ops.read(&back, D, set->n, &m->opts, 1, 2, buf, len,
                                &used, &dg) == AH_OK && used == len,
              "set %zu read back: %s", s, dg.message);
        unsigned char *buf2 = back ? encode(back, &len2) : NULL;
        CHECK(buf2 && len2 == len && !memcmp(buf, buf2, len),
              "set %zu: written again, %zu bytes against %zu", s, len2, len);
        ah__hist_ops.free(back);
        free(buf2);
        /* a node padded more than the writer pads: accepted, and written
         * again as the writer writes it */
        unsigned char *padded = buf ? pad_first_node(buf, len, &plen) : NULL;
        back = NULL;
        CHECK(padded && ah__hist_ops.read(&back, D, set->n, &m->opts, 1, 3,
                                          padded, plen, &used, &dg) == AH_OK &&
                  used == plen,
              "set %zu padded: %s", s, dg.message);
        buf2 = back ? encode(back, &len2) : NULL;
        CHECK(buf2 && len2 == len && !memcmp(buf, buf2, len),
              "set %zu padded, written again: %zu bytes against %zu", s, len2,
              len);
        ah__hist_ops.free(back);
        free(buf2);
        free(padded);
        free(buf);
    }
    ah_model_free(m);
    free(x);
    free(lab);
    return check_done("test_hist_payload");
}
