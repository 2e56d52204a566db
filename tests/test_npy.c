/*
 * test_npy.c - the .npy reader and writer.
 *
 * Images are built by hand here (preamble, dict, data in any dtype, byte
 * order and storage order) and decoded by a deliberately naive reference
 * (ldexp for float16, arithmetic for integers), so the reader is held
 * against an independent implementation.  Golden files written by NumPy
 * (tests/data/npy, see make_golden.py) hold it against NumPy itself.  Then
 * a matrix of bad inputs, each checked for its status code and for a
 * message that starts with the file name, and the writer's atomicity.
 */
#include "acthist.h"
#include "check.h"

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* ---- building images ---- */

/* A .npy image: magic, version, header length, the dict padded with spaces
 * and '\n' to a 64-byte boundary, then dlen bytes of data.  malloc'ed. */
static unsigned char *make_image(int major, int minor, const char *dict,
                                 const void *data, size_t dlen, size_t *len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char *p = malloc(total + dlen + 1);
    memcpy(p, "\x93NUMPY", 6);
    p[6] = (unsigned char)major;
    p[7] = (unsigned char)minor;
    for (size_t i = 0; i < pre - 8; i++)
        p[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(p + pre, dict, dl);
    memset(p + pre + dl, ' ', hlen - dl - 1);
    p[total - 1] = '\n';
    if (dlen)
        memcpy(p + total, data, dlen);
    *len = total + dlen;
    return p;
}

static void shape_text(char *out, size_t cap, const uint64_t *shape, int nd)
{
    size_t k = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < nd; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)shape[i]);
    snprintf(out + k, cap - k, "%s)", nd == 1 ? "," : "");
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the naive reference ---- */

static double ref_half(unsigned h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0    ? ldexp(m, -24)
               : e == 31 ? (m ? NAN : INFINITY)
                         : ldexp(m + 1024, e - 25);
    return (h >> 15) ? -v : v;
}

static double ref_value(char kind, int size, uint64_t bits)
{
    if (kind == 'f') {
        if (size == 2)
            return ref_half((unsigned)bits);
        if (size == 4) {
            uint32_t u = (uint32_t)bits;
            float f;
            memcpy(&f, &u, 4);
            return f;
        }
        double d;
        memcpy(&d, &bits, 8);
        return d;
    }
    if (kind == 'i' && (bits >> (8 * size - 1)) & 1) {
        uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
        return -(double)((~bits + 1) & mask);
    }
    return (double)bits;
}

static int same(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static void put_elem(unsigned char *p, int size, int big, uint64_t bits)
{
    for (int i = 0; i < size; i++)
        p[big ? size - 1 - i : i] = (unsigned char)(bits >> (8 * i));
}

/* Memory position of the element with C-order index k, for Fortran order. */
static size_t fortran_pos(const uint64_t *shape, int nd, size_t k)
{
    size_t idx[8], pos = 0, stride = 1;
    for (int t = nd - 1; t >= 0; t--) {
        idx[t] = k % shape[t];
        k /= shape[t];
    }
    for (int t = 0; t < nd; t++) {
        pos += idx[t] * stride;
        stride *= shape[t];
    }
    return pos;
}

/* An array of random elements: *bits receives them in C order (logical),
 * the image stores them in the requested order.  Returns the image. */
static unsigned char *random_image(int major, const char *descr, int size,
                                   int big, const uint64_t *shape,
                                   int nd, int fortran, uint64_t *rng,
                                   uint64_t **bits, size_t *len)
{
    size_t count = 1;
    for (int i = 0; i < nd; i++)
        count *= shape[i];
    *bits = malloc((count ? count : 1) * sizeof **bits);
    unsigned char *data = malloc(count * (size_t)size + 1);
    for (size_t k = 0; k < count; k++) {
        uint64_t b = check_rand_u64(rng);
        if (size < 8)
            b &= (1ULL << (8 * size)) - 1;
        (*bits)[k] = b;
        size_t pos = fortran ? fortran_pos(shape, nd, k) : k;
        put_elem(data + pos * (size_t)size, size, big, b);
    }
    char dict[256], sh[128];
    shape_text(sh, sizeof sh, shape, nd);
    snprintf(dict, sizeof dict,
             "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
             fortran ? "True" : "False", sh);
    unsigned char *img =
        make_image(major, 0, dict, data, count * (size_t)size, len);
    free(data);
    return img;
}

/* Read everything in chunks of `chunk` rows with stride ld, checking that
 * the padding beyond cols is untouched.  Returns a rows x cols matrix. */
static double *read_all(ah_npy_reader *r, size_t chunk, size_t ld, int *ok)
{
    size_t rows = ah_npy_rows(r), cols = ah_npy_cols(r);
    double *out = malloc((rows * cols + 1) * sizeof *out);
    double *buf = malloc((chunk * ld + 1) * sizeof *buf);
    size_t at = 0, got;
    ah_diag d;
    *ok = 1;
    for (;;) {
        for (size_t i = 0; i < chunk * ld; i++)
            buf[i] = -12345.0;
        int st = ah_npy_read_rows(r, buf, chunk, ld, 0, &got, &d);
        if (st != AH_OK || got > chunk || at + got > rows) {
            *ok = 0;
            fprintf(stderr, "read_rows: %s\n", d.message);
            break;
        }
        if (got == 0)
            break;
        for (size_t i = 0; i < got; i++) {
            memcpy(out + (at + i) * cols, buf + i * ld, cols * sizeof *buf);
            for (size_t j = cols; j < ld; j++)
                if (buf[i * ld + j] != -12345.0)
                    *ok = 0;
        }
        at += got;
    }
    if (at != rows)
        *ok = 0;
    free(buf);
    return out;
}

/* Check a reader against reference bits with chunk sizes 1, 7 and all,
 * two strides, and after a rewind. */
static void check_reader(ah_npy_reader *r, char kind, int size,
                         const uint64_t *bits, const char *what)
{
    size_t rows = ah_npy_rows(r), cols = ah_npy_cols(r);
    size_t chunks[3] = {1, 7, rows ? rows : 1};
    for (int c = 0; c < 3; c++) {
        for (size_t extra = 0; extra <= 2; extra += 2) {
            int ok;
            ah_diag d;
            CHECK(ah_npy_rewind(r, &d) == AH_OK, "%s", what);
            double *m = read_all(r, chunks[c], cols + extra, &ok);
            CHECK(ok, "%s chunk %zu ld %zu", what, chunks[c], cols + extra);
            int bad = 0;
            for (size_t k = 0; ok && k < rows * cols; k++)
                if (!same(m[k], ref_value(kind, size, bits[k])) && !bad++)
                    CHECK(0, "%s chunk %zu: element %zu is %.17g not %.17g",
                          what, chunks[c], k, m[k],
                          ref_value(kind, size, bits[k]));
            CHECK(!bad, "%s: %d wrong elements", what, bad);
            free(m);
        }
    }
    /* a slice: seek, then read on to the end */
    size_t at[4] = {0, 1, rows / 2, rows};
    for (int k = 0; k < 4; k++) {
        ah_diag d;
        if (at[k] > rows)
            continue;
        CHECK(ah_npy_seek(r, at[k], &d) == AH_OK, "%s seek %zu: %s", what,
              at[k], d.message);
        double *buf = malloc((3 * cols + 1) * sizeof *buf);
        size_t row = at[k], got = 0, bad = 0;
        while (ah_npy_read_rows(r, buf, 3, cols, 0, &got, &d) == AH_OK && got) {
            for (size_t i = 0; i < got * cols; i++)
                bad += !same(buf[i], ref_value(kind, size, bits[row * cols + i]));
            row += got;
        }
        CHECK(row == rows && bad == 0, "%s: after seek %zu, rows %zu, %zu wrong",
              what, at[k], row, bad);
        free(buf);
    }
    ah_diag d;
    CHECK(ah_npy_seek(r, rows + 1, &d) == AH_ERR_ARG && strstr(d.message, "past"),
          "%s: a seek past the end: %s", what, d.message);
}

/* ---- tests ---- */

static const struct {
    char kind;
    int size;
} types[] = {{'f', 2}, {'f', 4}, {'f', 8}, {'i', 1}, {'i', 2}, {'i', 4},
             {'i', 8}, {'u', 1}, {'u', 2}, {'u', 4}, {'u', 8}};

/* Every dtype x byte order x storage order x version x shape. */
static void test_matrix(void)
{
    static const uint64_t shapes[][3] = {
        {13, 3, 2}, {9, 0, 0}, {5, 4, 0}, {0, 3, 0}, {4, 0, 0}};
    static const int ndims[] = {3, 1, 2, 2, 2};
    uint64_t rng = check_seed;
    int files = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (int o = 0; o < 4; o++)
            for (int fortran = 0; fortran < 2; fortran++)
                for (int major = 1; major <= 3; major++)
                    for (int s = 0; s < 5; s++) {
                        char kind = types[t].kind;
                        int size = types[t].size;
                        /* '<', '>', '=' (native: little here, checked
                         * below), and '|' only for one byte. */
                        const char *ord = "<>=|";
                        if (o == 3 && size != 1)
                            continue;
                        int big = ord[o] == '>';
                        if (ord[o] == '=' || ord[o] == '|') {
                            const uint16_t one = 1;
                            unsigned char c;
                            memcpy(&c, &one, 1);
                            big = c != 1;
                        }
                        char descr[8], what[128];
                        snprintf(descr, sizeof descr, "%c%c%d", ord[o], kind,
                                 size);
                        snprintf(what, sizeof what,
                                 "%s %s v%d shape#%d", descr,
                                 fortran ? "F" : "C", major, s);
                        uint64_t *bits;
                        size_t len;
                        unsigned char *img = random_image(
                            major, descr, size, big, shapes[s],
                            ndims[s], fortran, &rng, &bits, &len);
                        ah_npy_reader *r;
                        ah_diag d;
                        int st = ah_npy_open_memory(&r, img, len, what, &d);
                        CHECK(st == AH_OK, "%s: %s", what, d.message);
                        if (st == AH_OK) {
                            size_t cols = 1;
                            for (int i = 1; i < ndims[s]; i++)
                                cols *= shapes[s][i];
                            CHECK(ah_npy_rows(r) == shapes[s][0], "%s", what);
                            CHECK(ah_npy_cols(r) == cols, "%s", what);
                            CHECK(ah_npy_ndim(r) == ndims[s], "%s", what);
                            CHECK(!memcmp(ah_npy_shape(r), shapes[s],
                                          (size_t)ndims[s] * 8),
                                  "%s", what);
                            CHECK(!strcmp(ah_npy_dtype(r), descr), "%s", what);
                            CHECK(ah_npy_is_integer(r) == (kind != 'f'), "%s",
                                  what);
                            check_reader(r, kind, size, bits, what);
                            ah_npy_close(r);
                        }
                        /* The same image as a file, for a share of cases. */
                        if (s == 0 && major == (int)(t % 3) + 1) {
                            char path[512];
                            snprintf(path, sizeof path, "%s/m%d.npy", tmpdir,
                                     files++);
                            write_file(path, img, len);
                            st = ah_npy_open(&r, path, &d);
                            CHECK(st == AH_OK, "%s: %s", path, d.message);
                            if (st == AH_OK) {
                                check_reader(r, kind, size, bits, path);
                                ah_npy_close(r);
                            }
                            unlink(path);
                        }
                        free(bits);
                        free(img);
                    }
}

/* All 65536 float16 patterns, in both byte orders, against ldexp. */
static void test_half_exhaustive(void)
{
    for (int big = 0; big < 2; big++) {
        unsigned char *data = malloc(65536 * 2);
        for (unsigned h = 0; h < 65536; h++)
            put_elem(data + 2 * h, 2, big, h);
        size_t len;
        unsigned char *img = make_image(
            1, 0,
            big ? "{'descr': '>f2', 'fortran_order': False, 'shape': (65536,)}"
                : "{'descr': '<f2', 'fortran_order': False, 'shape': (65536,)}",
            data, 65536 * 2, &len);
        ah_npy_reader *r;
        ah_diag d;
        CHECK(ah_npy_open_memory(&r, img, len, "half", &d) == AH_OK, "%s",
              d.message);
        double *v = malloc(65536 * sizeof *v);
        size_t got;
        CHECK(ah_npy_read_rows(r, v, 65536, 1, 0, &got, &d) == AH_OK &&
                  got == 65536,
              "%s", d.message);
        int bad = 0;
        for (unsigned h = 0; h < 65536; h++)
            if (!same(v[h], ref_half(h)) && bad++ < 5)
                CHECK(0, "half 0x%04x: %.17g, reference %.17g", h, v[h],
                      ref_half(h));
        CHECK(bad == 0, "%d float16 patterns wrong", bad);
        /* A few landmarks, independent of both implementations. */
        CHECK(v[0x0001] == 0x1p-24, "smallest subnormal");
        CHECK(v[0x03ff] == 1023 * 0x1p-24, "largest subnormal");
        CHECK(v[0x0400] == 0x1p-14, "smallest normal");
        CHECK(v[0x3c00] == 1.0 && v[0xc000] == -2.0, "one, minus two");
        CHECK(v[0x7bff] == 65504.0, "largest finite");
        CHECK(isinf(v[0x7c00]) && v[0x7c00] > 0, "+inf");
        CHECK(isinf(v[0xfc00]) && v[0xfc00] < 0, "-inf");
        CHECK(isnan(v[0x7e00]) && isnan(v[0x7c01]), "NaN");
        CHECK(v[0x8000] == 0 && signbit(v[0x8000]), "-0");
        ah_npy_close(r);
        free(v);
        free(img);
        free(data);
    }
}

/* Dicts written in the many ways Python allows must all parse. */
static void test_header_variants(void)
{
    static const char *const dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{ 'shape' :( 2 ,3 ,) ,'fortran_order':False,'descr':'<f4' , }",
        "{'descr':'<f4',\n\t'fortran_order' : False ,\r\n'shape':(2L, 3L),}",
        "{u'descr': u'<f4', 'fortran_order': False, 'shape': (2, 3)}",
    };
    float data[6] = {1, -2, 3.5f, 0, 1e30f, -7};
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        size_t len;
        unsigned char *img = make_image(1, 0, dicts[i], data, sizeof data,
                                        &len);
        ah_npy_reader *r;
        ah_diag d;
        int st = ah_npy_open_memory(&r, img, len, NULL, &d);
        CHECK(st == AH_OK, "dict %zu: %s", i, d.message);
        if (st == AH_OK) {
            double v[6];
            size_t got;
            CHECK(ah_npy_rows(r) == 2 && ah_npy_cols(r) == 3, "dict %zu", i);
            CHECK(ah_npy_read_rows(r, v, 10, 3, 1, &got, &d) == AH_OK &&
                      got == 2,
                  "dict %zu: %s", i, d.message);
            for (int k = 0; k < 6; k++)
                CHECK(v[k] == data[k], "dict %zu element %d", i, k);
            ah_npy_close(r);
        }
        free(img);
    }
}

/* Files large enough that reads cross the reader's 1 MiB buffer, and
 * Fortran arrays spanning several 16-column x 1024-row tiles. */
static void test_large_files(void)
{
    static const uint64_t shapes[][3] = {{300, 1000}, {2500, 5, 7}};
    static const int ndims[] = {2, 3};
    uint64_t rng = check_seed ^ 0xabcdef;
    for (int s = 0; s < 2; s++) {
        for (int fortran = 0; fortran < 2; fortran++) {
            uint64_t *bits;
            size_t len;
            unsigned char *img =
                random_image(1, s ? ">f8" : "<f4", s ? 8 : 4, s, shapes[s],
                             ndims[s], fortran, &rng, &bits, &len);
            char path[512];
            snprintf(path, sizeof path, "%s/large%d%d.npy", tmpdir, s,
                     fortran);
            write_file(path, img, len);
            ah_npy_reader *r;
            ah_diag d;
            int st = ah_npy_open(&r, path, &d);
            CHECK(st == AH_OK, "%s", d.message);
            if (st == AH_OK) {
                check_reader(r, 'f', s ? 8 : 4, bits, path);
                /* A chunk just over one tile of rows. */
                int ok;
                CHECK(ah_npy_rewind(r, &d) == AH_OK, "rewind");
                double *m = read_all(r, 1100, ah_npy_cols(r) + 1, &ok);
                CHECK(ok, "%s chunk 1100", path);
                for (size_t k = 0; ok && k < ah_npy_rows(r) * ah_npy_cols(r);
                     k++)
                    if (!same(m[k], ref_value('f', s ? 8 : 4, bits[k]))) {
                        CHECK(0, "%s chunk 1100 element %zu", path, k);
                        break;
                    }
                free(m);
                ah_npy_close(r);
            }
            unlink(path);
            free(bits);
            free(img);
        }
    }
}

/* Files written by NumPy itself; values follow make_golden.py. */
static void test_golden(void)
{
    static const struct {
        const char *file, *descr;
        size_t rows, cols;
        int ndim;
    } g[] = {
        {"good_f4_c.npy", "<f4", 3, 4, 2},
        {"good_f8_be_fortran.npy", ">f8", 5, 3, 2},
        {"good_f2_3d.npy", "<f2", 4, 6, 3},
        {"good_f4_fortran_3d.npy", "<f4", 3, 8, 3},
        {"good_i2_be.npy", ">i2", 6, 1, 1},
        {"good_u8.npy", "<u8", 2, 5, 2},
        {"good_i1.npy", "|i1", 7, 1, 2},
        {"good_v2.npy", "<f8", 2, 3, 2},
        {"good_v3.npy", "<f8", 2, 3, 2},
    };
    const char *dir = getenv("AH_TEST_DATA");
    if (!dir || !*dir)
        dir = "tests/data/npy";
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, g[i].file);
        ah_npy_reader *r;
        ah_diag d;
        int st = ah_npy_open(&r, path, &d);
        CHECK(st == AH_OK, "%s (run from the repository root or set "
                           "AH_TEST_DATA)", d.message);
        if (st != AH_OK)
            continue;
        CHECK(ah_npy_rows(r) == g[i].rows && ah_npy_cols(r) == g[i].cols &&
                  ah_npy_ndim(r) == g[i].ndim,
              "%s: %zu x %zu", path, ah_npy_rows(r), ah_npy_cols(r));
        CHECK(!strcmp(ah_npy_dtype(r), g[i].descr), "%s: %s", path,
              ah_npy_dtype(r));
        char kind = g[i].descr[1];
        for (size_t chunk = 1; chunk <= 8; chunk += 7) {
            int ok;
            ah_npy_rewind(r, &d);
            double *m = read_all(r, chunk, g[i].cols, &ok);
            CHECK(ok, "%s", path);
            for (size_t k = 0; ok && k < g[i].rows * g[i].cols; k++) {
                double want = kind == 'f'   ? (double)k * 0.25 - 3
                              : kind == 'i' ? (double)k - 5
                                            : (double)k * 3;
                CHECK(m[k] == want, "%s element %zu: %g not %g", path, k,
                      m[k], want);
            }
            free(m);
        }
        ah_npy_close(r);
    }

    static const struct {
        const char *file;
        int status;
    } bad[] = {
        {"bad_object.npy", AH_ERR_FORMAT}, {"bad_structured.npy", AH_ERR_FORMAT},
        {"bad_complex.npy", AH_ERR_FORMAT}, {"bad_bool.npy", AH_ERR_FORMAT},
        {"bad_string.npy", AH_ERR_FORMAT}, {"bad_0d.npy", AH_ERR_SHAPE},
        {"bad_truncated.npy", AH_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, bad[i].file);
        ah_npy_reader *r = (ah_npy_reader *)&r;
        ah_diag d;
        int st = ah_npy_open(&r, path, &d);
        CHECK(st == bad[i].status && r == NULL, "%s: %s (%s)", path,
              ah_status_name(st), d.message);
        CHECK(starts_with(d.message, path) && d.status == st, "%s: %s", path,
              d.message);
    }
    /* Labels written by NumPy. */
    char path[512];
    int64_t *lab;
    size_t n;
    ah_diag d;
    snprintf(path, sizeof path, "%s/labels_i8.npy", dir);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 5, "%s",
          d.message);
    if (d.status == AH_OK) {
        CHECK(lab[0] == 0 && lab[1] == 3 && lab[2] == 1 && lab[3] == 9 &&
                  lab[4] == 3,
              "labels_i8 values");
        free(lab);
    }
    snprintf(path, sizeof path, "%s/labels_f4_col.npy", dir);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 3, "%s",
          d.message);
    if (d.status == AH_OK) {
        CHECK(lab[0] == 2 && lab[1] == 0 && lab[2] == 7, "labels_f4 values");
        free(lab);
    }
}

/* Open an image that must fail with status, with a message naming it. */
static void expect_bad(const char *name, const void *img, size_t len,
                       int status)
{
    ah_npy_reader *r = (ah_npy_reader *)&r;
    ah_diag d;
    int st = ah_npy_open_memory(&r, img, len, name, &d);
    CHECK(st == status && r == NULL && d.status == status,
          "%s: got %s, want %s (%s)", name, ah_status_name(st),
          ah_status_name(status), d.message);
    CHECK(starts_with(d.message, name), "%s: message '%s'", name, d.message);
    CHECK(ah_npy_open_memory(&r, img, len, name, NULL) == status,
          "%s: same status without a diag", name);
    /* And the same bytes as a file. */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    write_file(path, img, len);
    r = (ah_npy_reader *)&r;
    st = ah_npy_open(&r, path, &d);
    CHECK(st == status && r == NULL, "%s: got %s (%s)", path,
          ah_status_name(st), d.message);
    CHECK(starts_with(d.message, path), "%s: message '%s'", path, d.message);
    unlink(path);
}

static void expect_bad_dict(const char *name, const char *dict, size_t dlen,
                            int status)
{
    unsigned char *data = calloc(dlen ? dlen : 1, 1);
    size_t len;
    unsigned char *img = make_image(1, 0, dict, data, dlen, &len);
    expect_bad(name, img, len, status);
    free(img);
    free(data);
}

static void test_bad_inputs(void)
{
    const char *good = "{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (2, 3), }";
    float data[6] = {0};
    size_t len;
    unsigned char *img = make_image(1, 0, good, data, sizeof data, &len);
    unsigned char *copy = malloc(len + 16);

    memcpy(copy, img, len);
    copy[1] = 'n';
    expect_bad("bad-magic.npy", copy, len, AH_ERR_FORMAT);
    expect_bad("tiny.npy", img, 5, AH_ERR_FORMAT);
    expect_bad("empty.npy", img, 0, AH_ERR_FORMAT);
    memcpy(copy, img, len);
    copy[6] = 4;
    expect_bad("version-4.npy", copy, len, AH_ERR_VERSION);
    copy[6] = 1;
    copy[7] = 1;
    expect_bad("version-1.1.npy", copy, len, AH_ERR_VERSION);
    copy[6] = 0;
    copy[7] = 0;
    expect_bad("version-0.npy", copy, len, AH_ERR_VERSION);
    /* Header length beyond the file. */
    memcpy(copy, img, len);
    copy[8] = 0xff;
    copy[9] = 0x7f;
    expect_bad("header-past-end.npy", copy, len, AH_ERR_FORMAT);
    /* Cut inside the header. */
    expect_bad("cut-header.npy", img, 40, AH_ERR_FORMAT);
    /* Truncated and trailing data. */
    expect_bad("truncated.npy", img, len - 1, AH_ERR_FORMAT);
    memcpy(copy, img, len);
    copy[len] = 0;
    expect_bad("trailing.npy", copy, len + 1, AH_ERR_FORMAT);
    {
        ah_npy_reader *r;
        ah_diag d;
        ah_npy_open_memory(&r, img, len - 1, "trunc", &d);
        CHECK(strstr(d.message, "24") && strstr(d.message, "23"),
              "truncation names expected and actual bytes: %s", d.message);
    }
    free(copy);
    free(img);

    /* A version 2.0 header longer than 1 MiB, and one that claims 4 GiB. */
    {
        size_t big = (1u << 20) + 64;
        char *dict = malloc(big + 1);
        int k = snprintf(dict, big, "%s", good);
        memset(dict + k, ' ', big - (size_t)k);
        dict[big] = '\0';
        img = make_image(2, 0, dict, data, sizeof data, &len);
        expect_bad("huge-header.npy", img, len, AH_ERR_FORMAT);
        img[8] = img[9] = img[10] = img[11] = 0xff;
        expect_bad("4g-header.npy", img, len, AH_ERR_FORMAT);
        free(img);
        free(dict);
    }

    /* Dicts that do not parse. */
    static const char *const unparsable[] = {
        "",
        "{",
        "not a dict",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': <f4, 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),,}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': ('2', 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': None}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
        "'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
        "'extra': 1}",
        "{'de\\x73cr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
        "{descr: '<f4', fortran_order: False, shape: (2, 3)}",
    };
    for (size_t i = 0; i < sizeof unparsable / sizeof unparsable[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "unparsable-%zu.npy", i);
        expect_bad_dict(name, unparsable[i], 24, AH_ERR_FORMAT);
    }
    /* Missing keys. */
    expect_bad_dict("no-descr.npy", "{'fortran_order': False, 'shape': (6,)}",
                    24, AH_ERR_FORMAT);
    expect_bad_dict("no-order.npy", "{'descr': '<f4', 'shape': (6,)}", 24,
                    AH_ERR_FORMAT);
    expect_bad_dict("no-shape.npy", "{'descr': '<f4', 'fortran_order': False}",
                    24, AH_ERR_FORMAT);
    expect_bad_dict("empty-dict.npy", "{}", 24, AH_ERR_FORMAT);
    /* Dtypes that are not plain numbers. */
    static const char *const dtypes[] = {
        "|O", "<c8", "<c16", "|b1", "<U3", "|S5", "|V8", "<M8[ns]", "<m8",
        "<f16", "<f1", "<i3", "<u16", "<q", "float64", "", "<", "<f", "x4",
        "<f8 ", "<f08x",
    };
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        char name[64], dict[128];
        snprintf(name, sizeof name, "dtype-%zu.npy", i);
        snprintf(dict, sizeof dict,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (3,)}",
                 dtypes[i]);
        expect_bad_dict(name, dict, 48, AH_ERR_FORMAT);
        if (i == 0) { /* the message names the dtype */
            ah_npy_reader *r;
            ah_diag d;
            unsigned char *im = make_image(1, 0, dict, data, 0, &len);
            ah_npy_open_memory(&r, im, len, "obj.npy", &d);
            CHECK(strstr(d.message, "'|O'") && strstr(d.message, "object"),
                  "object dtype message: %s", d.message);
            free(im);
        }
    }
    expect_bad_dict("structured.npy",
                    "{'descr': [('a', '<f4'), ('b', '<i2')], "
                    "'fortran_order': False, 'shape': (3,)}",
                    18, AH_ERR_FORMAT);
    expect_bad_dict("subarray.npy",
                    "{'descr': ('<f4', (2,)), 'fortran_order': False, "
                    "'shape': (3,)}",
                    24, AH_ERR_FORMAT);
    /* Shapes whose size overflows. */
    expect_bad_dict("overflow-2d.npy",
                    "{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (4611686018427387904, 4611686018427387904)}",
                    0, AH_ERR_OVERFLOW);
    expect_bad_dict("overflow-bytes.npy",
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (4611686018427387904,)}",
                    0, AH_ERR_OVERFLOW);
    expect_bad_dict("overflow-cols.npy",
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (0, 4294967296, 4294967296, 4294967296)}",
                    0, AH_ERR_OVERFLOW);
    expect_bad_dict("overflow-dim.npy",
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (99999999999999999999999,)}",
                    0, AH_ERR_OVERFLOW);
    /* A lying shape: the data is too short or too long for it. */
    expect_bad_dict("lying-shape.npy",
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (1000000, 1000)}",
                    64, AH_ERR_FORMAT);
    expect_bad_dict("0d.npy",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                    8, AH_ERR_SHAPE);
    expect_bad_dict("33d.npy",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': "
                    "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                    "1,1,1,1,1,1)}",
                    8, AH_ERR_FORMAT);

    /* Missing file, a directory, and NULL arguments. */
    char path[512];
    snprintf(path, sizeof path, "%s/does-not-exist.npy", tmpdir);
    ah_npy_reader *r = (ah_npy_reader *)&r;
    ah_diag d;
    CHECK(ah_npy_open(&r, path, &d) == AH_ERR_IO && r == NULL, "%s",
          d.message);
    CHECK(starts_with(d.message, path) && strstr(d.message, "No such"), "%s",
          d.message);
    CHECK(ah_npy_open(&r, tmpdir, &d) == AH_ERR_IO &&
              starts_with(d.message, tmpdir),
          "%s", d.message);
    CHECK(ah_npy_open(NULL, path, &d) == AH_ERR_ARG, "NULL out");
    CHECK(ah_npy_open(&r, NULL, NULL) == AH_ERR_ARG, "NULL path");
    ah_npy_close(NULL);
}

/* NaN and infinity: reported with their 0-based row and column from the
 * start of the file, whatever the chunk size and storage order. */
static void test_nonfinite(void)
{
    enum { R = 10, C = 4 };
    for (int fortran = 0; fortran < 2; fortran++) {
        for (int variant = 0; variant < 2; variant++) {
            float v[R * C];
            for (int k = 0; k < R * C; k++)
                v[k] = (float)k;
            if (variant == 0) {
                v[7 * C + 1] = INFINITY; /* later in row-major order */
                v[5 * C + 2] = NAN;
            } else {
                v[8 * C + 3] = -INFINITY;
            }
            float mem[R * C];
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++)
                    mem[fortran ? j * R + i : i * C + j] = v[i * C + j];
            char dict[128];
            snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': %s, 'shape': (10, 4)}",
                     fortran ? "True" : "False");
            size_t len;
            unsigned char *img = make_image(3, 0, dict, mem, sizeof mem, &len);
            const size_t chunks[] = {1, 3, 100};
            for (int c = 0; c < 3; c++) {
                ah_npy_reader *r;
                ah_diag d;
                double out[100 * C];
                size_t got, rows = 0;
                int st;
                CHECK(ah_npy_open_memory(&r, img, len, "nf.npy", &d) == AH_OK,
                      "%s", d.message);
                while ((st = ah_npy_read_rows(r, out, chunks[c], C, 1, &got,
                                              &d)) == AH_OK &&
                       got)
                    rows += got;
                int64_t wr = variant ? 8 : 5, wc = variant ? 3 : 2;
                const char *wm = variant ? "row 8, column 3: -inf"
                                         : "row 5, column 2: NaN";
                CHECK(st == AH_ERR_VALUE && d.row == wr && d.col == wc,
                      "F%d chunk %zu: %s row %lld col %lld", fortran,
                      chunks[c], ah_status_name(st), (long long)d.row,
                      (long long)d.col);
                CHECK(starts_with(d.message, "nf.npy") &&
                          strstr(d.message, wm),
                      "message '%s'", d.message);
                /* Rows before the bad chunk were delivered; the bad chunk
                 * fails again (the position does not advance). */
                CHECK(rows == (size_t)wr / chunks[c] * chunks[c], "rows %zu",
                      rows);
                CHECK(ah_npy_read_rows(r, out, chunks[c], C, 1, &got, &d) ==
                          AH_ERR_VALUE,
                      "repeat");
                /* Without the check the values come through. */
                ah_npy_rewind(r, &d);
                CHECK(ah_npy_read_rows(r, out, 100, C, 0, &got, &d) == AH_OK &&
                          got == R,
                      "%s", d.message);
                CHECK(variant ? isinf(out[8 * C + 3]) : isnan(out[5 * C + 2]),
                      "unchecked value");
                ah_npy_close(r);
            }
            free(img);
        }
    }
}

static void test_empty_and_args(void)
{
    size_t len;
    unsigned char *img = make_image(
        1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5)}",
        NULL, 0, &len);
    ah_npy_reader *r;
    ah_diag d;
    double buf[10];
    size_t got = 99;
    CHECK(ah_npy_open_memory(&r, img, len, NULL, &d) == AH_OK, "%s",
          d.message);
    CHECK(ah_npy_rows(r) == 0 && ah_npy_cols(r) == 5, "empty rows");
    CHECK(ah_npy_read_rows(r, buf, 2, 5, 1, &got, &d) == AH_OK && got == 0,
          "empty read");
    /* Bad arguments name the reader (default "<memory>"). */
    CHECK(ah_npy_read_rows(r, buf, 2, 4, 1, &got, &d) == AH_ERR_ARG &&
              starts_with(d.message, "<memory>"),
          "ld < cols: %s", d.message);
    CHECK(ah_npy_read_rows(r, buf, 0, 5, 1, &got, &d) == AH_ERR_ARG,
          "max_rows 0");
    CHECK(ah_npy_read_rows(r, NULL, 2, 5, 1, &got, &d) == AH_ERR_ARG,
          "NULL dst");
    ah_npy_close(r);
    free(img);
    CHECK(ah_npy_rows(NULL) == 0 && ah_npy_cols(NULL) == 0, "NULL reader");
}

static void test_labels(void)
{
    char path[512];
    int64_t *lab;
    size_t n, len;
    ah_diag d;
    unsigned char *img;
    snprintf(path, sizeof path, "%s/labels.npy", tmpdir);

    /* Big-endian uint16, (n,). */
    unsigned char u2[8];
    for (int i = 0; i < 4; i++)
        put_elem(u2 + 2 * i, 2, 1, (uint64_t)(i * 1000 + 7));
    img = make_image(1, 0,
                     "{'descr': '>u2', 'fortran_order': False, 'shape': (4,)}",
                     u2, sizeof u2, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 4, "%s",
          d.message);
    if (d.status == AH_OK) {
        for (int i = 0; i < 4; i++)
            CHECK(lab[i] == i * 1000 + 7, "u2 label %d", i);
        free(lab);
    }

    /* int8 negatives and int64 extremes, (n, 1) in Fortran order. */
    int64_t i8[3] = {INT64_MIN, -1, INT64_MAX};
    img = make_image(2, 0,
                     "{'descr': '<i8', 'fortran_order': True, 'shape': (3, 1)}",
                     i8, sizeof i8, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 3, "%s",
          d.message);
    if (d.status == AH_OK) {
        CHECK(lab[0] == INT64_MIN && lab[1] == -1 && lab[2] == INT64_MAX,
              "int64 extremes survive exactly");
        free(lab);
    }
    signed char s1[3] = {-128, -1, 127};
    img = make_image(1, 0,
                     "{'descr': '|i1', 'fortran_order': False, 'shape': (3,)}",
                     s1, sizeof s1, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 3, "%s",
          d.message);
    if (d.status == AH_OK) {
        CHECK(lab[0] == -128 && lab[1] == -1 && lab[2] == 127, "int8 labels");
        free(lab);
    }

    /* Empty labels: n = 0 and a pointer the caller may free. */
    img = make_image(1, 0,
                     "{'descr': '<i4', 'fortran_order': False, 'shape': (0,)}",
                     NULL, 0, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_OK && n == 0, "%s",
          d.message);
    free(lab);

    /* Floats: integral values are fine, others fail naming the row. */
    static const struct {
        double v[5];
        int status;
        int64_t row;
    } fl[] = {
        {{0, -3, 1e15, -0x1p63, 4}, AH_OK, -1},
        {{0, 1, 2, 2.5, 4}, AH_ERR_VALUE, 3},
        {{0, NAN, 2, 3, 4}, AH_ERR_VALUE, 1},
        {{0, 1, 2, 3, INFINITY}, AH_ERR_VALUE, 4},
        {{0x1p63, 1, 2, 3, 4}, AH_ERR_VALUE, 0},
    };
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        img = make_image(
            1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}",
            fl[i].v, sizeof fl[i].v, &len);
        write_file(path, img, len);
        free(img);
        lab = (int64_t *)&lab;
        int st = ah_npy_read_labels(path, &lab, &n, &d);
        CHECK(st == fl[i].status, "float labels %zu: %s", i, d.message);
        if (st == AH_OK) {
            for (int k = 0; k < 5; k++)
                CHECK(lab[k] == (int64_t)fl[i].v[k], "float label %d", k);
            free(lab);
        } else {
            CHECK(lab == NULL && d.row == fl[i].row &&
                      starts_with(d.message, path),
                  "float labels %zu: row %lld: %s", i, (long long)d.row,
                  d.message);
        }
    }

    /* uint64 beyond int64, a 2-column array, a 3-D array. */
    uint64_t u8[2] = {1, 1ULL << 63};
    img = make_image(1, 0,
                     "{'descr': '<u8', 'fortran_order': False, 'shape': (2,)}",
                     u8, sizeof u8, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_ERR_VALUE &&
              d.row == 1 && starts_with(d.message, path),
          "%s", d.message);
    int32_t two[4] = {1, 2, 3, 4};
    img = make_image(
        1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2)}",
        two, sizeof two, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_ERR_SHAPE &&
              starts_with(d.message, path),
          "%s", d.message);
    img = make_image(
        1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 1, 1)}",
        two, sizeof two, &len);
    write_file(path, img, len);
    free(img);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_ERR_SHAPE, "%s",
          d.message);
    unlink(path);
    CHECK(ah_npy_read_labels(path, &lab, &n, &d) == AH_ERR_IO &&
              starts_with(d.message, path),
          "%s", d.message);
}

/* Read a file into memory. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static void test_writer(void)
{
    static const uint64_t shapes[][3] = {{5}, {4, 3}, {2, 3, 4}, {0, 7},
                                         {1}};
    static const int ndims[] = {1, 2, 3, 2, 1};
    uint64_t rng = check_seed ^ 0x77;
    char path[512];
    snprintf(path, sizeof path, "%s/out.npy", tmpdir);
    for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
        size_t count = 1;
        for (int i = 0; i < ndims[s]; i++)
            count *= shapes[s][i];
        double *v = malloc((count ? count : 1) * sizeof *v);
        for (size_t k = 0; k < count; k++)
            v[k] = (check_rand_unit(&rng) - 0.5) * 1e6;
        ah_diag d;
        CHECK(ah_npy_save(path, v, shapes[s], ndims[s], &d) == AH_OK, "%s",
              d.message);
        CHECK(count_dir(tmpdir) == 1, "only the output remains");
        size_t len;
        unsigned char *img = slurp(path, &len);
        CHECK(img && len >= 64 && (len - count * 8) % 64 == 0,
              "data starts at a multiple of 64 (len %zu)", len);
        if (img && len >= 64) {
            size_t off = len - count * 8;
            CHECK(!memcmp(img, "\x93NUMPY\x01\x00", 8), "version 1.0");
            CHECK((size_t)(img[8] | img[9] << 8) == off - 10, "header len");
            CHECK(img[off - 1] == '\n', "header ends with newline");
            char sh[128];
            shape_text(sh, sizeof sh, shapes[s], ndims[s]);
            CHECK(strstr((char *)img + 10, sh) != NULL, "shape %s", sh);
            ah_npy_reader *r;
            int st = ah_npy_open_memory(&r, img, len, "out", &d);
            CHECK(st == AH_OK, "%s", d.message);
            if (st == AH_OK) {
                CHECK(ah_npy_ndim(r) == ndims[s] &&
                          !memcmp(ah_npy_shape(r), shapes[s],
                                  (size_t)ndims[s] * 8) &&
                          !strcmp(ah_npy_dtype(r), "<f8"),
                      "shape round trip");
                double *back = malloc((count ? count : 1) * sizeof *back);
                size_t got, rows = ah_npy_rows(r);
                st = ah_npy_read_rows(r, back, rows ? rows : 1,
                                      ah_npy_cols(r), 1, &got, &d);
                CHECK(st == AH_OK && got == rows, "%s", d.message);
                CHECK(!memcmp(back, v, count * sizeof *v), "values");
                free(back);
                ah_npy_close(r);
            }
        }
        free(img);
        free(v);
    }

    /* Streaming writes in pieces give the same file as one save. */
    {
        const uint64_t shape[2] = {50, 7};
        double v[350];
        for (int k = 0; k < 350; k++)
            v[k] = k * 0.5;
        ah_diag d;
        ah_npy_save(path, v, shape, 2, &d);
        size_t l1, l2;
        unsigned char *a = slurp(path, &l1);
        ah_npy_writer *w;
        CHECK(ah_npy_writer_open(&w, path, shape, 2, &d) == AH_OK, "%s",
              d.message);
        for (int k = 0; k < 350; k += 50)
            CHECK(ah_npy_writer_write(w, v + k, 50, &d) == AH_OK, "%s",
                  d.message);
        CHECK(ah_npy_writer_commit(w, &d) == AH_OK, "%s", d.message);
        unsigned char *b = slurp(path, &l2);
        CHECK(a && b && l1 == l2 && !memcmp(a, b, l1), "pieces == whole");
        free(a);
        free(b);
    }

    /* Failures leave nothing behind, and an existing target untouched. */
    write_file(path, "old", 3);
    const uint64_t shape[2] = {3, 2};
    double v[6] = {1, 2, 3, 4, 5, 6};
    ah_npy_writer *w;
    ah_diag d;
    size_t len;
    unsigned char *old;

    CHECK(ah_npy_writer_open(&w, path, shape, 2, &d) == AH_OK, "%s",
          d.message);
    ah_npy_writer_write(w, v, 4, &d);
    /* The temporary is unnamed (O_TMPFILE): nothing to see or leave. */
    CHECK(count_dir(tmpdir) == 1, "a named temporary file while writing");
    ah_npy_writer_abort(w);
    CHECK(count_dir(tmpdir) == 1, "abort removes the temporary");
    ah_npy_writer_abort(NULL);

    CHECK(ah_npy_writer_open(&w, path, shape, 2, &d) == AH_OK, "%s",
          d.message);
    ah_npy_writer_write(w, v, 5, &d);
    CHECK(ah_npy_writer_commit(w, &d) == AH_ERR_SHAPE &&
              starts_with(d.message, path),
          "short commit: %s", d.message);
    CHECK(count_dir(tmpdir) == 1, "short commit leaves nothing");

    CHECK(ah_npy_writer_open(&w, path, shape, 2, &d) == AH_OK, "%s",
          d.message);
    CHECK(ah_npy_writer_write(w, v, 6, &d) == AH_OK, "%s", d.message);
    CHECK(ah_npy_writer_write(w, v, 1, &d) == AH_ERR_SHAPE &&
              starts_with(d.message, path),
          "too many values: %s", d.message);
    CHECK(ah_npy_writer_commit(w, &d) != AH_OK, "commit after overflow");
    CHECK(count_dir(tmpdir) == 1, "overfull writer leaves nothing");
    old = slurp(path, &len);
    CHECK(old && len == 3 && !memcmp(old, "old", 3), "target untouched");
    free(old);
    unlink(path);

    /* A missing directory. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no-such-dir/out.npy", tmpdir);
    w = (ah_npy_writer *)&w;
    CHECK(ah_npy_writer_open(&w, bad, shape, 2, &d) == AH_ERR_IO && !w &&
              starts_with(d.message, bad) && strstr(d.message, "No such"),
          "missing directory: %s", d.message);
    CHECK(ah_npy_save(bad, v, shape, 2, &d) == AH_ERR_IO, "save: %s",
          d.message);
    CHECK(count_dir(tmpdir) == 0, "nothing left behind");

    /* A target that is a directory: rename fails, the temporary goes. */
    snprintf(bad, sizeof bad, "%s/adir", tmpdir);
    mkdir(bad, 0777);
    CHECK(ah_npy_save(bad, v, shape, 2, &d) == AH_ERR_IO &&
              starts_with(d.message, bad),
          "directory target: %s", d.message);
    CHECK(count_dir(tmpdir) == 1, "only the directory remains");
    rmdir(bad);

    /* Bad arguments. */
    CHECK(ah_npy_writer_open(&w, path, shape, 0, &d) == AH_ERR_ARG, "ndim 0");
    CHECK(ah_npy_writer_open(&w, path, NULL, 2, &d) == AH_ERR_ARG, "NULL");
    const uint64_t huge[2] = {1ULL << 62, 1ULL << 62};
    CHECK(ah_npy_writer_open(&w, path, huge, 2, &d) == AH_ERR_OVERFLOW,
          "overflowing shape: %s", d.message);
    CHECK(count_dir(tmpdir) == 0, "nothing left behind");
}

int main(void)
{
    check_init();
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_npy.XXXXXX",
             t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_matrix();
    test_half_exhaustive();
    test_header_variants();
    test_large_files();
    test_golden();
    test_bad_inputs();
    test_nonfinite();
    test_empty_and_args();
    test_labels();
    test_writer();
    CHECK(count_dir(tmpdir) == 0, "the temporary directory is clean");
    rmdir(tmpdir);
    return check_done("test_npy");
}
