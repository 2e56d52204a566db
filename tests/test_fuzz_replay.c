/*
 * test_fuzz_replay.c - replay the fuzz corpora (fuzz/corpus/) through the
 * fuzz targets, each file as it is and under seeded mutations (byte flips,
 * truncations, insertions, header-field rewrites), so that the sanitizer
 * run of the suite fuzzes the parsers a little every time.  A crash, leak
 * or UB report fails the run; the seed is printed by check.h on failure.
 */
#include "check.h"

#include "../fuzz/fuzz_model.c"
#include "../fuzz/fuzz_npy.c"
#include "../fuzz/fuzz_shard.c"

#include <dirent.h>
#include <string.h>

#ifndef MUTATIONS
#define MUTATIONS 2000
#endif

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return b;
}

static void mutate_and_run(int (*target)(const uint8_t *, size_t),
                           const unsigned char *seed, size_t len,
                           uint64_t *rng)
{
    unsigned char *b = malloc(len + 64);
    for (int k = 0; b && k < MUTATIONS; k++) {
        memcpy(b, seed, len);
        size_t n = len;
        int kind = (int)(check_rand_u64(rng) % 5);
        int edits = 1 + (int)(check_rand_u64(rng) % 4);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = (size_t)(check_rand_u64(rng) % n);
            if (kind == 0) /* bit flip */
                b[at] ^= (unsigned char)(1u << (check_rand_u64(rng) % 8));
            else if (kind == 1) /* truncate */
                n = at;
            else if (kind == 2) /* random byte, biased to the header */
                b[at % (n < 128 ? n : 128)] = (unsigned char)check_rand_u64(rng);
            else if (kind == 3 && n + 8 <= len + 64) { /* insert bytes */
                memmove(b + at + 8, b + at, n - at);
                memset(b + at, 0xff, 8);
                n += 8;
            } else { /* a 32-bit field set to an extreme */
                uint32_t v = (check_rand_u64(rng) & 1) ? 0xffffffffu : 0;
                size_t w = at & ~(size_t)3;
                if (w + 4 <= n)
                    memcpy(b + w, &v, 4);
            }
        }
        target(b, n);
    }
    free(b);
}

static void replay(const char *dir, int (*target)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open corpus %s", dir);
    if (!d)
        return;
    struct dirent *ent;
    uint64_t rng = check_seed;
    int files = 0;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        size_t len = 0;
        unsigned char *b = slurp(path, &len);
        if (!b)
            continue;
        target(b, len);
        mutate_and_run(target, b, len, &rng);
        free(b);
        files++;
        CHECK(1, "ok"); /* reaching here means no sanitizer report */
    }
    closedir(d);
    CHECK(files > 0, "empty corpus %s", dir);
}

int main(void)
{
    check_init();
    replay("tests/data/npy", ah_fuzz_npy);
    replay("fuzz/corpus/model", ah_fuzz_model);
    replay("fuzz/corpus/shard", ah_fuzz_shard);
    return check_done("test_fuzz_replay");
}
