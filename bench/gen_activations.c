/*
 * gen_activations.c - seeded synthetic activations for the benchmarks.
 *
 * Writes an (N, D) float32 .npy file (format 1.0, little-endian, C order)
 * whose columns look like post-ReLU activations of a real network:
 *
 *   - an atom at exactly 0 on 30-60% of the rows (the ReLU spike);
 *   - on a quarter of the nodes a second atom (a saturated or blank-patch
 *     value that many inputs share exactly) on 5-20% of the rows;
 *   - the rest a heavy right tail: exponential or lognormal (sigma 0.5-1.5);
 *   - per-node scales spread log-uniformly over five orders of magnitude
 *     (1e-3 .. 1e2), so no global bin width fits every node.
 *
 * The node parameters depend only on --node-seed and the node index, the
 * values only on --seed and the row: a background and a query file made
 * with the same --node-seed and different --seed come from the same model.
 * --anomalous F shifts a fraction F of the rows: each such row takes 5% of
 * its nodes (chosen per row) from far in the node's tail, so scans have
 * something to find.  float32 because that is what networks produce; our
 * library's writer only writes float64, so the header is written here.
 *
 * Workload: up to ~1e10 values (files larger than memory for the scale
 * test): rows are generated and written one buffer at a time, memory is
 * O(D).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in (0, 1): never 0, so log() is finite. */
static inline double rng_unif(rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static inline double rng_normal(rng *r)
{
    double u = rng_unif(r), v = rng_unif(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

typedef struct node {
    float scale;
    float p_zero;   /* share of rows exactly 0 */
    float p_atom2;  /* share of rows exactly atom2 (0 when none) */
    float atom2;
    float sigma;    /* lognormal sigma, 0 for exponential */
} node;

static void node_params(node *nd, size_t D, uint64_t node_seed)
{
    for (size_t j = 0; j < D; j++) {
        rng r;
        rng_seed(&r, node_seed, j + 1);
        node *n = &nd[j];
        n->scale = (float)pow(10.0, -3.0 + 5.0 * rng_unif(&r));
        n->p_zero = (float)(0.30 + 0.30 * rng_unif(&r));
        n->p_atom2 = 0;
        n->atom2 = 0;
        if (rng_unif(&r) < 0.25) {
            n->p_atom2 = (float)(0.05 + 0.15 * rng_unif(&r));
            n->atom2 = (float)(n->scale * (0.5 + 1.5 * rng_unif(&r)));
        }
        n->sigma = rng_unif(&r) < 0.5 ? 0.0f : (float)(0.5 + rng_unif(&r));
    }
}

static float draw(const node *n, rng *r, int anomalous)
{
    if (anomalous) /* far in the tail: 5-20 scales above the mode */
        return (float)(n->scale * (5.0 + 15.0 * rng_unif(r)));
    double u = rng_unif(r);
    if (u < n->p_zero)
        return 0.0f;
    if (u < n->p_zero + n->p_atom2)
        return n->atom2;
    double v = n->sigma == 0 ? -log(rng_unif(r))
                             : exp(n->sigma * rng_normal(r) - 0.5 * n->sigma * n->sigma);
    float f = (float)(n->scale * v);
    /* a positive value that rounds onto an atom would add to its count */
    return f == 0.0f || f == n->atom2 ? nextafterf(f, INFINITY) : f;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* .npy 1.0 header: magic, version, u16 length, dict padded with spaces to
 * a 64-byte boundary and ended by '\n' (what NumPy itself writes). */
static int write_header(FILE *f, uint64_t rows, uint64_t cols)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu, %llu), }",
                     (unsigned long long)rows, (unsigned long long)cols);
    if (n < 0 || (size_t)n >= sizeof dict - 80)
        return -1;
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(dict + n, ' ', pad);
    dict[n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    return fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, hlen, f) == hlen ? 0 : -1;
}

static void usage(void)
{
    fputs("usage: gen_activations -n ROWS -d COLS -o OUT.npy [--seed S]\n"
          "                       [--node-seed S] [--anomalous FRACTION]\n",
          stderr);
}

int main(int argc, char **argv)
{
    unsigned long long rows = 0, cols = 0, seed = 1, node_seed = 12345;
    double anomalous = 0;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(a, "-n"))
            rows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "-d"))
            cols = strtoull(v, NULL, 10);
        else if (!strcmp(a, "-o"))
            out = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--node-seed"))
            node_seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--anomalous"))
            anomalous = strtod(v, NULL);
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!rows || !cols || !out || cols > (1ull << 26)) {
        usage();
        return 2;
    }
    node *nd = malloc(cols * sizeof *nd);
    float *row = malloc(cols * sizeof *row);
    unsigned char *buf = malloc(cols * 4);
    FILE *f = fopen(out, "wb");
    if (!nd || !row || !buf || !f) {
        fprintf(stderr, "gen_activations: %s: %s\n", out, strerror(errno));
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 22);
    node_params(nd, cols, node_seed);
    if (write_header(f, rows, cols) != 0)
        goto fail;
    rng r;
    rng_seed(&r, seed, 0);
    for (unsigned long long i = 0; i < rows; i++) {
        int anom = anomalous > 0 && rng_unif(&r) < anomalous;
        for (size_t j = 0; j < cols; j++)
            row[j] = draw(&nd[j], &r, anom && rng_unif(&r) < 0.05);
        for (size_t j = 0; j < cols; j++) {
            uint32_t u;
            memcpy(&u, &row[j], 4);
            put_le32(buf + 4 * j, u);
        }
        if (fwrite(buf, 4, cols, f) != cols)
            goto fail;
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto fail;
    }
    free(nd);
    free(row);
    free(buf);
    return 0;
fail:
    fprintf(stderr, "gen_activations: %s: write failed: %s\n", out,
            strerror(errno));
    if (f)
        fclose(f);
    remove(out);
    return 1;
}
