/*
 * npy.c - a streaming reader and an atomic writer for NumPy .npy files.
 *
 * The reader's workload is activation matrices of N rows x D columns, with N
 * in the millions and D in the thousands, possibly larger than memory.  So
 * open() reads and validates only the header (at most 1 MiB) and checks the
 * data length against the file size; read_rows() then converts chunks of
 * rows through one bounded buffer (AH__NPY_BUF bytes) using pread, which
 * keeps no file position and so makes rewind free.  A memory reader reads
 * straight from the caller's buffer and allocates nothing per chunk.
 *
 * The header is a Python dict literal.  It is parsed by a small recursive-
 * descent parser that knows exactly three keys ('descr', 'fortran_order',
 * 'shape'), in any order, with either quote style, any whitespace and
 * trailing commas; anything else is rejected with a message that names the
 * file and the offset in the header.
 *
 * The writer only ever writes '<f8' in C order (p-values and other outputs);
 * it writes to a temporary file beside the target and renames it into place,
 * so a reader of the target never sees a half-written file.
 */
#include "bytes.h"
#include "file_io.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AH__NPY_MAX_HEADER (1u << 20) /* header bytes, bounded before malloc */
#define AH__NPY_MAX_DIMS 32
#define AH__NPY_BUF (1u << 20) /* bytes per file read, so memory stays bounded */
/* Fortran order is read in tiles of AH__NPY_TILE_ROWS x AH__NPY_TILE_COLS
 * (128 KiB of doubles, so the tile stays in L2 while it is transposed). */
#define AH__NPY_TILE_ROWS 1024
#define AH__NPY_TILE_COLS 16

/* ------------------------------------------------------------------------ */
/* Element loaders and converters                                           */
/* ------------------------------------------------------------------------ */

/* Loads of either byte order: bytes.h. */
static inline double from_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
/* Exact-width signed types are two's complement, so memcpy reinterprets. */
static inline double from_i8(unsigned char u)
{
    int8_t v;
    memcpy(&v, &u, 1);
    return v;
}
static inline double from_i16(uint16_t u)
{
    int16_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static inline double from_i32(uint32_t u)
{
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static inline int64_t as_i64(uint64_t u)
{
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/*
 * IEEE binary16 -> binary64 by building the double's bits: every half value
 * is exactly representable, so this is exact, including subnormals (which
 * become normal doubles), signed zeros, infinities and NaN payloads.
 */
static inline double from_f16(uint16_t h)
{
    uint64_t sign = (uint64_t)(h >> 15) << 63;
    unsigned exp = (h >> 10) & 0x1f;
    uint64_t mant = h & 0x3ff;
    uint64_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7ff0000000000000ULL | mant << 42;
    } else if (exp != 0) {
        bits = sign | (uint64_t)(exp - 15 + 1023) << 52 | mant << 42;
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* Subnormal: value = mant * 2^-24.  Shift the leading 1 to bit 10
         * (the implicit bit); each shift lowers the exponent by one. */
        int e = -14;
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        bits = sign | (uint64_t)(e + 1023) << 52 | (mant & 0x3ff) << 42;
    }
    return ah__value_of(bits);
}

typedef void (*ah__conv_fn)(const unsigned char *src, size_t n, double *dst,
                            size_t stride);

/* One loop per (type, byte order) so the inner loop has no branches. */
#define AH__CONV(NAME, SIZE, EXPR)                                        \
    static void NAME(const unsigned char *s, size_t n, double *d,         \
                     size_t stride)                                       \
    {                                                                     \
        for (size_t k = 0; k < n; k++, s += (SIZE), d += stride)          \
            *d = (EXPR);                                                  \
    }

AH__CONV(conv_f2le, 2, from_f16(ah__ld16le(s)))
AH__CONV(conv_f2be, 2, from_f16(ah__ld16be(s)))
AH__CONV(conv_f4le, 4, from_f32(ah__ld32le(s)))
AH__CONV(conv_f4be, 4, from_f32(ah__ld32be(s)))
AH__CONV(conv_f8le, 8, ah__value_of(ah__ld64le(s)))
AH__CONV(conv_f8be, 8, ah__value_of(ah__ld64be(s)))
AH__CONV(conv_i1, 1, from_i8(s[0]))
AH__CONV(conv_i2le, 2, from_i16(ah__ld16le(s)))
AH__CONV(conv_i2be, 2, from_i16(ah__ld16be(s)))
AH__CONV(conv_i4le, 4, from_i32(ah__ld32le(s)))
AH__CONV(conv_i4be, 4, from_i32(ah__ld32be(s)))
AH__CONV(conv_i8le, 8, (double)as_i64(ah__ld64le(s)))
AH__CONV(conv_i8be, 8, (double)as_i64(ah__ld64be(s)))
AH__CONV(conv_u1, 1, (double)s[0])
AH__CONV(conv_u2le, 2, (double)ah__ld16le(s))
AH__CONV(conv_u2be, 2, (double)ah__ld16be(s))
AH__CONV(conv_u4le, 4, (double)ah__ld32le(s))
AH__CONV(conv_u4be, 4, (double)ah__ld32be(s))
AH__CONV(conv_u8le, 8, (double)ah__ld64le(s))
AH__CONV(conv_u8be, 8, (double)ah__ld64be(s))

static int host_is_little(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ------------------------------------------------------------------------ */
/* The reader                                                               */
/* ------------------------------------------------------------------------ */

struct ah_npy_reader {
    char *name;                    /* for messages, owned                 */
    int fd;                        /* -1 for a memory reader              */
    const unsigned char *mem;      /* memory reader: the whole image      */
    size_t mem_len;
    unsigned char *buf;            /* file reader: AH__NPY_BUF bytes      */
    double *tile;                  /* Fortran order: allocated on first use */
    uint64_t data_off;             /* first data byte                     */
    char descr[32];
    char kind;                     /* 'f', 'i' or 'u'                     */
    int big;                       /* data is big-endian                  */
    size_t itemsize;
    int fortran;
    int ndim;
    uint64_t shape[AH__NPY_MAX_DIMS];
    size_t rows, cols;
    size_t next_row;               /* first row of the next chunk         */
    ah__conv_fn conv;
};

/* Thread-safe strerror: the XSI strerror_r, selected by our feature macros. */
static const char *errtext(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

/* Read exactly len bytes at off, retrying short reads and EINTR. */
static int pread_full(int fd, void *dst, size_t len, uint64_t off,
                      size_t *done, int *err)
{
    unsigned char *p = dst;
    *done = 0;
    while (*done < len) {
        ssize_t k = pread(fd, p + *done, len - *done, (off_t)(off + *done));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            *err = errno;
            return -1;
        }
        if (k == 0) {
            *err = 0;
            return -1;
        }
        *done += (size_t)k;
    }
    return 0;
}

/*
 * Bytes [off, off+len) of the image into *out: a pointer into a memory
 * image, or into r->buf (len <= AH__NPY_BUF) for a file, valid until the
 * next fetch.  Returns the status (diag set on failure).
 */
static int fetch(ah_npy_reader *r, uint64_t off, size_t len,
                 const unsigned char **out, ah_diag *diag)
{
    if (r->fd < 0) {
        if (off > r->mem_len || len > r->mem_len - off)
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: unexpected end of data at byte %llu",
                            r->name, (unsigned long long)r->mem_len);
        *out = r->mem + off;
        return AH_OK;
    }
    size_t done;
    int err;
    if (pread_full(r->fd, r->buf, len, off, &done, &err) != 0) {
        char eb[128];
        if (err)
            return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: read failed: %s",
                            r->name, errtext(err, eb, sizeof eb));
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: unexpected end of file at byte %llu (file "
                        "shrank while being read?)",
                        r->name, (unsigned long long)(off + done));
    }
    *out = r->buf;
    return AH_OK;
}

/* ---- header dict parser ---- */

typedef struct {
    const char *s, *p, *end; /* header text and the cursor                 */
    const ah_npy_reader *r;  /* for the name in messages                   */
    ah_diag *diag;
} hparse;

static int hfail(hparse *h, const char *what)
{
    return ah__fail(h->diag, AH_ERR_FORMAT, -1, -1,
                    "%s: malformed .npy header at offset %ld: %s", h->r->name,
                    (long)(h->p - h->s), what);
}

static void hskip(hparse *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' ||
                             *h->p == '\r' || *h->p == '\f' || *h->p == '\v'))
        h->p++;
}

static int hpeek(hparse *h)
{
    hskip(h);
    return h->p < h->end ? (unsigned char)*h->p : -1;
}

/* A Python string literal ('...' or "...", optional u prefix) into out.
 * Escapes are not needed by any key or dtype, so a backslash is rejected. */
static int hstring(hparse *h, char *out, size_t cap)
{
    if (hpeek(h) == 'u' && h->p + 1 < h->end &&
        (h->p[1] == '\'' || h->p[1] == '"'))
        h->p++;
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return hfail(h, "expected a string");
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\')
            return hfail(h, "escape sequences are not supported");
        if (*h->p == '\n')
            return hfail(h, "unterminated string");
        if (n + 1 == cap)
            return hfail(h, "string too long");
        out[n++] = *h->p++;
    }
    if (h->p >= h->end)
        return hfail(h, "unterminated string");
    h->p++;
    out[n] = '\0';
    return AH_OK;
}

static int hword(hparse *h, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0)
        return 0;
    const char *after = h->p + n;
    if (after < h->end && (*after == '_' || (*after >= 'a' && *after <= 'z') ||
                           (*after >= 'A' && *after <= 'Z') ||
                           (*after >= '0' && *after <= '9')))
        return 0;
    h->p = after;
    return 1;
}

/* A non-negative decimal integer (Python 2 headers may end it with L). */
static int hdim(hparse *h, uint64_t *out)
{
    if (hpeek(h) == '-')
        return hfail(h, "negative dimension in 'shape'");
    if (h->p >= h->end || *h->p < '0' || *h->p > '9')
        return hfail(h, "expected a non-negative integer in 'shape'");
    uint64_t v = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        unsigned d = (unsigned)(*h->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return ah__fail(h->diag, AH_ERR_OVERFLOW, -1, -1,
                            "%s: dimension in 'shape' does not fit in 64 bits",
                            h->r->name);
        v = v * 10 + d;
        h->p++;
    }
    if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
        h->p++;
    *out = v;
    return AH_OK;
}

/* '(' [dim (',' dim)* [',']] ')'; a single dimension needs its comma, as in
 * Python, because (3) is not a tuple. */
static int hshape(hparse *h, ah_npy_reader *r)
{
    if (hpeek(h) != '(')
        return hfail(h, "'shape' must be a tuple of integers");
    h->p++;
    int n = 0, commas = 0, st;
    while (hpeek(h) != ')') {
        if (n == AH__NPY_MAX_DIMS)
            return ah__fail(h->diag, AH_ERR_FORMAT, -1, -1,
                            "%s: more than %d dimensions", h->r->name,
                            AH__NPY_MAX_DIMS);
        if ((st = hdim(h, &r->shape[n])) != AH_OK)
            return st;
        n++;
        int c = hpeek(h);
        if (c == ',') {
            h->p++;
            commas++;
        } else if (c != ')') {
            return hfail(h, "expected ',' or ')' in 'shape'");
        }
    }
    h->p++;
    if (n == 1 && commas == 0)
        return hfail(h, "'shape' must be a tuple: write (n,) not (n)");
    r->ndim = n;
    return AH_OK;
}

/* Check the dtype string and pick the converter. */
static int set_dtype(ah_npy_reader *r, const char *d, ah_diag *diag)
{
    const char *p = d;
    char order = '=';
    if (*p == '<' || *p == '>' || *p == '=' || *p == '|')
        order = *p++;
    char kind = *p ? *p++ : '\0';
    size_t size = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        size = size * 10 + (size_t)(*p++ - '0');
        digits++;
    }
    const char *what = NULL;
    switch (kind) {
    case 'O': what = "object arrays cannot be read"; break;
    case 'S': case 'a': case 'U': what = "strings are not numbers"; break;
    case 'V': what = "raw/structured records are not supported"; break;
    case 'c': what = "complex numbers are not supported"; break;
    case 'b': what = "booleans are not supported; save as an integer type"; break;
    case 'M': case 'm': what = "datetimes are not supported"; break;
    default: break;
    }
    if (!what && (*p != '\0' || digits == 0 ||
                  (kind != 'f' && kind != 'i' && kind != 'u')))
        what = "not a numeric dtype";
    if (!what && kind == 'f' && size != 2 && size != 4 && size != 8)
        what = "only float16, float32 and float64 are supported";
    if (!what && kind != 'f' && size != 1 && size != 2 && size != 4 &&
        size != 8)
        what = "only 1, 2, 4 and 8 byte integers are supported";
    if (what)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: unsupported dtype '%s': %s", r->name, d, what);
    /* '=' is native; '|' ("not applicable") only makes sense for one byte,
     * and for wider types we read it as native like NumPy does. */
    r->big = order == '>' || ((order == '=' || order == '|') &&
                              !host_is_little());
    r->kind = kind;
    r->itemsize = size;
    static const ah__conv_fn table[3][4][2] = {
        /* f */ {{NULL, NULL}, {conv_f2le, conv_f2be},
                 {conv_f4le, conv_f4be}, {conv_f8le, conv_f8be}},
        /* i */ {{conv_i1, conv_i1}, {conv_i2le, conv_i2be},
                 {conv_i4le, conv_i4be}, {conv_i8le, conv_i8be}},
        /* u */ {{conv_u1, conv_u1}, {conv_u2le, conv_u2be},
                 {conv_u4le, conv_u4be}, {conv_u8le, conv_u8be}},
    };
    int ki = kind == 'f' ? 0 : kind == 'i' ? 1 : 2;
    int si = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    r->conv = table[ki][si][r->big];
    return AH_OK;
}

static int parse_header(ah_npy_reader *r, const char *text, size_t len,
                        ah_diag *diag)
{
    hparse h = {text, text, text + len, r, diag};
    enum { K_DESCR = 1, K_FORTRAN = 2, K_SHAPE = 4 };
    unsigned seen = 0;
    int st;
    if (hpeek(&h) != '{')
        return hfail(&h, "expected '{'");
    h.p++;
    for (;;) {
        if (hpeek(&h) == '}')
            break;
        char key[32];
        if ((st = hstring(&h, key, sizeof key)) != AH_OK)
            return st;
        if (hpeek(&h) != ':')
            return hfail(&h, "expected ':'");
        h.p++;
        unsigned bit = strcmp(key, "descr") == 0           ? K_DESCR
                       : strcmp(key, "fortran_order") == 0 ? K_FORTRAN
                       : strcmp(key, "shape") == 0         ? K_SHAPE
                                                           : 0;
        if (bit == 0)
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: unexpected key '%s' in .npy header", r->name,
                            key);
        if (seen & bit)
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: key '%s' repeated in .npy header", r->name,
                            key);
        seen |= bit;
        int c = hpeek(&h);
        if (bit == K_DESCR) {
            if (c == '[')
                return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                                "%s: unsupported dtype: structured arrays "
                                "(a list of fields) cannot be read",
                                r->name);
            if (c == '(')
                return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                                "%s: unsupported dtype: sub-array dtypes "
                                "cannot be read",
                                r->name);
            if ((st = hstring(&h, r->descr, sizeof r->descr)) != AH_OK)
                return st;
        } else if (bit == K_FORTRAN) {
            if (hword(&h, "True"))
                r->fortran = 1;
            else if (hword(&h, "False"))
                r->fortran = 0;
            else
                return hfail(&h, "'fortran_order' must be True or False");
        } else if ((st = hshape(&h, r)) != AH_OK) {
            return st;
        }
        c = hpeek(&h);
        if (c == ',')
            h.p++;
        else if (c != '}')
            return hfail(&h, "expected ',' or '}'");
    }
    h.p++;
    if (hpeek(&h) != -1)
        return hfail(&h, "unexpected text after the closing '}'");
    if (seen != (K_DESCR | K_FORTRAN | K_SHAPE))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: .npy header lacks the key '%s'", r->name,
                        !(seen & K_DESCR)     ? "descr"
                        : !(seen & K_FORTRAN) ? "fortran_order"
                                              : "shape");
    return set_dtype(r, r->descr, diag);
}

/*
 * Parse the preamble and header, and check every size against the image
 * size (total bytes).  Shared by the file and memory readers.
 */
/* The .npy preamble: magic, version, and the header's length into *hlen,
 * checked against the limit and the file's size; r->data_off set past
 * the preamble. */
static int read_preamble(ah_npy_reader *r, uint64_t total, uint64_t *hlen_out,
                         ah_diag *diag)
{
    unsigned char pre[12];
    const unsigned char *p;
    int st;
    if (total < 10)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: not a .npy file (only %llu bytes)", r->name,
                        (unsigned long long)total);
    size_t npre = total >= 12 ? 12 : 10;
    if ((st = fetch(r, 0, npre, &p, diag)) != AH_OK)
        return st;
    memcpy(pre, p, npre);
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: not a .npy file (bad magic)", r->name);
    unsigned major = pre[6], minor = pre[7];
    uint64_t hlen;
    if (major == 1 && minor == 0) {
        hlen = ah__ld16le(pre + 8);
        r->data_off = 10;
    } else if ((major == 2 || major == 3) && minor == 0 && npre == 12) {
        hlen = ah__ld32le(pre + 8);
        r->data_off = 12;
    } else if (major == 2 || major == 3) {
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: truncated .npy preamble", r->name);
    } else {
        return ah__fail(diag, AH_ERR_VERSION, -1, -1,
                        "%s: unsupported .npy format version %u.%u "
                        "(1.0, 2.0 and 3.0 are supported)",
                        r->name, major, minor);
    }
    if (hlen > AH__NPY_MAX_HEADER)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: .npy header of %llu bytes exceeds the limit of "
                        "%u bytes",
                        r->name, (unsigned long long)hlen, AH__NPY_MAX_HEADER);
    if (hlen > total - r->data_off)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: .npy header length %llu runs past the end of "
                        "the file (%llu bytes)",
                        r->name, (unsigned long long)hlen,
                        (unsigned long long)total);
    *hlen_out = hlen;
    return AH_OK;
}

/* The shape read from the header: not 0-d, its size in bytes within
 * size_t and equal to the file's data bytes; r->rows and r->cols set. */
static int check_shape(ah_npy_reader *r, uint64_t total, ah_diag *diag)
{
    if (r->ndim == 0)
        return ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                        "%s: 0-d arrays (shape ()) cannot be read; save an "
                        "array of shape (n,) or (n, d)",
                        r->name);
    /* rows * cols * itemsize must fit in size_t and match the file size. */
    size_t cols = 1, elems, bytes;
    int ok = r->shape[0] <= SIZE_MAX;
    for (int i = 1; i < r->ndim && ok; i++)
        ok = r->shape[i] <= SIZE_MAX &&
             ah__mul_ok(cols, (size_t)r->shape[i], &cols);
    ok = ok && ah__mul_ok((size_t)r->shape[0], cols, &elems) &&
         ah__mul_ok(elems, r->itemsize, &bytes) &&
         (uint64_t)bytes <= UINT64_MAX - r->data_off;
    if (!ok) {
        char sh[128];
        size_t k = 0;
        for (int i = 0; i < r->ndim && k < sizeof sh - 24; i++)
            k += (size_t)snprintf(sh + k, sizeof sh - k, "%s%llu",
                                  i ? ", " : "",
                                  (unsigned long long)r->shape[i]);
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                        "%s: shape (%s%s) of '%s' is too large: its size "
                        "overflows",
                        r->name, sh, r->ndim > 1 ? "" : ",", r->descr);
    }
    r->rows = (size_t)r->shape[0];
    r->cols = cols;
    uint64_t want = r->data_off + bytes;
    if (want != total)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: %s: the header promises %llu data bytes "
                        "(%zu x %zu of '%s'), the file has %llu",
                        r->name,
                        total < want ? "truncated data" : "trailing bytes after the data",
                        (unsigned long long)bytes, r->rows, r->cols, r->descr,
                        (unsigned long long)(total - r->data_off));
    return AH_OK;
}

static int read_header(ah_npy_reader *r, uint64_t total, ah_diag *diag)
{
    uint64_t hlen = 0;
    const unsigned char *p;
    int st = read_preamble(r, total, &hlen, diag);
    if (st != AH_OK)
        return st;
    /* The header may be larger than r->buf, so read it into its own copy. */
    char *text = malloc(hlen ? (size_t)hlen : 1);
    if (!text)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "%s: out of memory reading the header", r->name);
    st = AH_OK;
    for (uint64_t done = 0; done < hlen && st == AH_OK;) {
        size_t k = hlen - done > AH__NPY_BUF ? AH__NPY_BUF
                                             : (size_t)(hlen - done);
        if ((st = fetch(r, r->data_off + done, k, &p, diag)) == AH_OK)
            memcpy(text + done, p, k);
        done += k;
    }
    if (st == AH_OK)
        st = parse_header(r, text, (size_t)hlen, diag);
    free(text);
    if (st != AH_OK)
        return st;
    r->data_off += hlen;
    return check_shape(r, total, diag);
}

static ah_npy_reader *reader_new(const char *name)
{
    ah_npy_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t n = strlen(name) + 1;
    if (!(r->name = malloc(n))) {
        free(r);
        return NULL;
    }
    memcpy(r->name, name, n);
    r->fd = -1;
    return r;
}

int ah_npy_open(ah_npy_reader **out, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_open: NULL argument");
    *out = NULL;
    ah_npy_reader *r = reader_new(path);
    if (!r || !(r->buf = malloc(AH__NPY_BUF))) {
        ah_npy_close(r);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "%s: out of memory", path);
    }
    uint64_t size;
    int st = ah__open_regular(path, &r->fd, &size, diag);
    if (st == AH_OK)
        st = read_header(r, size, diag);
    if (st != AH_OK) {
        ah_npy_close(r);
        return st;
    }
    *out = r;
    return AH_OK;
}

int ah_npy_open_memory(ah_npy_reader **out, const void *buf, size_t len,
                       const char *name, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!name)
        name = "<memory>";
    if (!out || (!buf && len))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "%s: NULL argument", name);
    *out = NULL;
    ah_npy_reader *r = reader_new(name);
    if (!r)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "%s: out of memory", name);
    r->mem = buf;
    r->mem_len = len;
    int st = read_header(r, len, diag);
    if (st != AH_OK) {
        ah_npy_close(r);
        return st;
    }
    *out = r;
    return AH_OK;
}

void ah_npy_close(ah_npy_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->tile);
    free(r->name);
    free(r);
}

size_t ah_npy_rows(const ah_npy_reader *r) { return r ? r->rows : 0; }
size_t ah_npy_cols(const ah_npy_reader *r) { return r ? r->cols : 0; }
const char *ah_npy_dtype(const ah_npy_reader *r) { return r ? r->descr : ""; }
int ah_npy_is_integer(const ah_npy_reader *r) { return r && r->kind != 'f'; }
int ah_npy_ndim(const ah_npy_reader *r) { return r ? r->ndim : 0; }
const uint64_t *ah_npy_shape(const ah_npy_reader *r)
{
    return r ? r->shape : NULL;
}

/* Rows [r0, r0+n) of a C-order array: one contiguous byte range, read in
 * buffer-sized pieces that may split rows. */
static int read_c(ah_npy_reader *r, double *dst, size_t r0, size_t n,
                  size_t ld, ah_diag *diag)
{
    const size_t isz = r->itemsize, cap = AH__NPY_BUF / isz;
    const size_t total = n * r->cols, cols = r->cols;
    const uint64_t base = r->data_off + (uint64_t)r0 * cols * isz;
    for (size_t pos = 0; pos < total;) {
        size_t k = total - pos < cap ? total - pos : cap;
        const unsigned char *p;
        int st = fetch(r, base + (uint64_t)pos * isz, k * isz, &p, diag);
        if (st != AH_OK)
            return st;
        if (ld == cols) {
            r->conv(p, k, dst + pos, 1);
        } else {
            size_t i = pos / cols, j = pos % cols;
            for (size_t left = k; left;) {
                size_t seg = cols - j < left ? cols - j : left;
                r->conv(p, seg, dst + i * ld + j, 1);
                p += seg * isz;
                left -= seg;
                j = 0;
                i++;
            }
        }
        pos += k;
    }
    return AH_OK;
}

/*
 * Where column c (the C-order flattening of the trailing dimensions, as
 * NumPy's reshape(n, -1) numbers them) starts in a Fortran-order array, in
 * units of whole columns of n elements.  For (n, d1, d2), column c = a*d2 + b
 * is stored at column a + d1*b.  O(ndim).
 */
static uint64_t fortran_column(const ah_npy_reader *r, size_t c)
{
    uint64_t at = 0, stride = 1;
    size_t idx[AH__NPY_MAX_DIMS];
    for (int t = r->ndim - 1; t >= 1; t--) {
        idx[t] = c % (size_t)r->shape[t];
        c /= (size_t)r->shape[t];
    }
    for (int t = 1; t < r->ndim; t++) {
        at += idx[t] * stride;
        stride *= r->shape[t];
    }
    return at;
}

/*
 * Rows [r0, r0+n) of a Fortran-order array.  Each column's rows are
 * contiguous, so a tile of up to 16 columns x 1024 rows costs one read per
 * column; the tile is converted column by column and then written out row
 * by row, 16 neighbouring doubles at a time.  Writing each column straight
 * into the row-major dst instead would touch a new cache line per value and
 * ran 10x slower than C order.  Cheap when chunks have many rows; a chunk of
 * one row still costs D reads.
 */
static int read_f(ah_npy_reader *r, double *dst, size_t r0, size_t n,
                  size_t ld, ah_diag *diag)
{
    const size_t isz = r->itemsize, TR = AH__NPY_TILE_ROWS,
                 TC = AH__NPY_TILE_COLS;
    if (!r->tile && !(r->tile = malloc(TR * TC * sizeof *r->tile)))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "%s: out of memory",
                        r->name);
    for (size_t c0 = 0; c0 < r->cols; c0 += TC) {
        size_t g = r->cols - c0 < TC ? r->cols - c0 : TC;
        for (size_t pos = 0; pos < n; pos += TR) {
            size_t k = n - pos < TR ? n - pos : TR;
            for (size_t t = 0; t < g; t++) {
                size_t c = c0 + t;
                uint64_t col = r->ndim > 2 ? fortran_column(r, c) : c;
                uint64_t off =
                    r->data_off + (col * r->rows + r0 + pos) * isz;
                const unsigned char *p;
                int st = fetch(r, off, k * isz, &p, diag);
                if (st != AH_OK)
                    return st;
                r->conv(p, k, r->tile + t * TR, 1);
            }
            for (size_t i = 0; i < k; i++) {
                double *d = dst + (pos + i) * ld + c0;
                for (size_t t = 0; t < g; t++)
                    d[t] = r->tile[t * TR + i];
            }
        }
    }
    return AH_OK;
}

int ah_npy_read_rows(ah_npy_reader *r, double *dst, size_t max_rows, size_t ld,
                     int check_finite, size_t *got, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (got)
        *got = 0;
    if (!r || !got || max_rows == 0 || (!dst && r->cols) || ld < r->cols)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "%s: ah_npy_read_rows: bad argument (NULL, "
                        "max_rows 0 or ld < cols)",
                        r ? r->name : "<null>");
    size_t n = r->rows - r->next_row;
    if (n > max_rows)
        n = max_rows;
    if (n == 0)
        return AH_OK;
    int st = r->cols == 0 ? AH_OK
             : r->fortran ? read_f(r, dst, r->next_row, n, ld, diag)
                          : read_c(r, dst, r->next_row, n, ld, diag);
    if (st != AH_OK)
        return st;
    /* Checked after conversion, in row-major order, so the first bad value
     * reported is the same whatever the chunk size or storage order.  On
     * failure the position does not advance. */
    if (check_finite && r->kind == 'f') {
        for (size_t i = 0; i < n; i++) {
            const double *row = dst + i * ld;
            for (size_t j = 0; j < r->cols; j++) {
                if (isfinite(row[j]))
                    continue;
                size_t at = r->next_row + i;
                return ah__fail(diag, AH_ERR_VALUE, (int64_t)at, (int64_t)j,
                                "%s: row %zu, column %zu: %s", r->name, at, j,
                                isnan(row[j]) ? "NaN"
                                : row[j] > 0  ? "inf"
                                              : "-inf");
            }
        }
    }
    r->next_row += n;
    *got = n;
    return AH_OK;
}

int ah_npy_rewind(ah_npy_reader *r, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!r)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_rewind: NULL reader");
    r->next_row = 0; /* pread keeps no file position */
    return AH_OK;
}

int ah_npy_seek(ah_npy_reader *r, size_t row, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!r)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "ah_npy_seek: NULL reader");
    if (row > r->rows)
        return ah__fail(diag, AH_ERR_ARG, (int64_t)row, -1,
                        "%s: row %zu is past the end (%zu rows)", r->name,
                        row, r->rows);
    r->next_row = row;
    return AH_OK;
}

/* One integer element as int64; 0 when a uint64 does not fit. */
static int int_label(const ah_npy_reader *r, const unsigned char *s,
                     int64_t *v)
{
    uint64_t u;
    switch (r->itemsize) {
    case 1: u = s[0]; break;
    case 2: u = r->big ? ah__ld16be(s) : ah__ld16le(s); break;
    case 4: u = r->big ? ah__ld32be(s) : ah__ld32le(s); break;
    default: u = r->big ? ah__ld64be(s) : ah__ld64le(s); break;
    }
    if (r->kind == 'u') {
        if (u > (uint64_t)INT64_MAX)
            return 0;
        *v = (int64_t)u;
        return 1;
    }
    /* Sign-extend from itemsize bytes. */
    unsigned bits = (unsigned)r->itemsize * 8;
    if (bits < 64 && (u >> (bits - 1)) & 1)
        u |= ~(uint64_t)0 << bits;
    *v = as_i64(u);
    return 1;
}

int ah_npy_read_labels(const char *path, int64_t **out, size_t *n,
                       ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!path || !out || !n)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_read_labels: NULL argument");
    *out = NULL;
    *n = 0;
    ah_npy_reader *r;
    int st = ah_npy_open(&r, path, diag);
    if (st != AH_OK)
        return st;
    if (r->ndim > 2 || r->cols != 1) {
        st = ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                      "%s: labels must be a 1-D array (n,) or (n, 1); this "
                      "one is %zu x %zu",
                      path, r->rows, r->cols);
        goto done;
    }
    size_t bytes;
    int64_t *lab = NULL;
    if (!ah__mul_ok(r->rows, sizeof *lab, &bytes) ||
        !(lab = malloc(bytes ? bytes : 1))) {
        st = ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                      "%s: out of memory for %zu labels", path, r->rows);
        goto done;
    }
    /* (n,) and (n, 1) have the same layout in either order. */
    const size_t isz = r->itemsize, cap = AH__NPY_BUF / isz;
    double tmp[256];
    for (size_t pos = 0; pos < r->rows && st == AH_OK;) {
        size_t k = r->rows - pos < cap ? r->rows - pos : cap;
        const unsigned char *p;
        st = fetch(r, r->data_off + (uint64_t)pos * isz, k * isz, &p, diag);
        if (st != AH_OK)
            break;
        if (r->kind != 'f') {
            for (size_t i = 0; i < k && st == AH_OK; i++)
                if (!int_label(r, p + i * isz, &lab[pos + i]))
                    st = ah__fail(diag, AH_ERR_VALUE, (int64_t)(pos + i), 0,
                                  "%s: row %zu: label does not fit in int64",
                                  path, pos + i);
        } else {
            for (size_t i = 0; i < k && st == AH_OK;) {
                size_t m = k - i < 256 ? k - i : 256;
                r->conv(p + i * isz, m, tmp, 1);
                for (size_t t = 0; t < m && st == AH_OK; t++) {
                    double v = tmp[t];
                    /* [-2^63, 2^63) converts to int64 exactly. */
                    if (!isfinite(v) || v != floor(v) || v < -0x1p63 ||
                        v >= 0x1p63)
                        st = ah__fail(diag, AH_ERR_VALUE,
                                      (int64_t)(pos + i + t), 0,
                                      "%s: row %zu: label %g is not an "
                                      "integer",
                                      path, pos + i + t, v);
                    else
                        lab[pos + i + t] = (int64_t)v;
                }
                i += m;
            }
        }
        pos += k;
    }
    if (st != AH_OK) {
        free(lab);
        goto done;
    }
    *out = lab;
    *n = r->rows;
done:
    ah_npy_close(r);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The writer                                                               */
/* ------------------------------------------------------------------------ */

struct ah_npy_writer {
    ah__out out;        /* the file (file_io.h); fd -1 once abandoned      */
    uint64_t expected;  /* prod(shape)                                     */
    uint64_t written;
    int failed;         /* a write failed: the temporary is already gone   */
};

int ah_npy_writer_open(ah_npy_writer **out, const char *path,
                       const uint64_t *shape, int ndim, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !path || (!shape && ndim > 0))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_writer_open: NULL argument");
    *out = NULL;
    if (ndim < 1 || ndim > AH__NPY_MAX_DIMS)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "%s: cannot write %d dimensions (1 to %d)", path, ndim,
                        AH__NPY_MAX_DIMS);
    /* The header: dict, spaces, '\n', padded so the data is 64-aligned. */
    char dict[64 + AH__NPY_MAX_DIMS * 24];
    uint64_t count = 1;
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f8', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && count > (UINT64_MAX / 8) / shape[i])
            return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                            "%s: the array size overflows", path);
        count *= shape[i];
        /* (n,) needs its comma to be a tuple, as NumPy writes it. */
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%llu%s",
                        (unsigned long long)shape[i],
                        i + 1 < ndim ? ", " : ndim == 1 ? "," : "");
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Version 1.0 when the padded header fits in 16 bits, else 2.0. */
    size_t pre = 10, total = pre + (size_t)len + 1;
    total = (total + 63) / 64 * 64;
    if (total - pre > 65535) {
        pre = 12;
        total = (pre + (size_t)len + 1 + 63) / 64 * 64;
    }
    size_t hlen = total - pre;

    ah_npy_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "%s: out of memory", path);
    w->expected = count;
    int st = ah__out_open(&w->out, path, diag);
    if (st != AH_OK) {
        free(w);
        return st;
    }
    /* The magic, the version, the header length, the dict padded with
     * spaces and ended by '\n' (total - pre <= 65535 + 64 bytes). */
    unsigned char head[12 + sizeof dict + 128];
    memcpy(head, "\x93NUMPY", 6);
    head[6] = pre == 10 ? 1 : 2;
    head[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        head[8 + i] = (unsigned char)(hlen >> (8 * i));
    size_t n = pre;
    memcpy(head + n, dict, (size_t)len);
    n += (size_t)len;
    while (n + 1 < total)
        head[n++] = ' ';
    head[n++] = '\n';
    if ((st = ah__out_write(&w->out, head, n, diag)) != AH_OK) {
        free(w);
        return st;
    }
    *out = w;
    return AH_OK;
}

int ah_npy_writer_write(ah_npy_writer *w, const double *data, size_t count,
                        ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!w || (!data && count))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_writer_write: NULL argument");
    if (w->failed)
        return ah__fail(diag, AH_ERR_IO, -1, -1,
                        "not written: an earlier write failed");
    if (count > w->expected - w->written) {
        int st = ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                          "%s: %llu values written, more than the %llu of "
                          "the shape",
                          w->out.path,
                          (unsigned long long)(w->written + count),
                          (unsigned long long)w->expected);
        ah__out_abort(&w->out);
        w->failed = 1;
        return st;
    }
    /* Little-endian bytes whatever the host, 2048 values at a time. */
    unsigned char buf[2048 * 8];
    for (size_t pos = 0; pos < count;) {
        size_t k = count - pos < 2048 ? count - pos : 2048;
        for (size_t i = 0; i < k; i++) {
            uint64_t u;
            memcpy(&u, &data[pos + i], 8);
            for (int b = 0; b < 8; b++)
                buf[i * 8 + (size_t)b] = (unsigned char)(u >> (8 * b));
        }
        int st = ah__out_write(&w->out, buf, k * 8, diag);
        if (st != AH_OK) {
            w->failed = 1;
            return st;
        }
        pos += k;
    }
    w->written += count;
    return AH_OK;
}

int ah_npy_writer_commit(ah_npy_writer *w, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!w)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_npy_writer_commit: NULL writer");
    int st;
    if (w->failed) {
        st = ah__fail(diag, AH_ERR_IO, -1, -1,
                      "not written: an earlier write failed");
    } else if (w->written != w->expected) {
        st = ah__fail(diag, AH_ERR_SHAPE, -1, -1,
                      "%s: not written: %llu values given, the shape needs "
                      "%llu",
                      w->out.path, (unsigned long long)w->written,
                      (unsigned long long)w->expected);
        ah__out_abort(&w->out);
    } else {
        st = ah__out_commit(&w->out, diag);
    }
    free(w);
    return st;
}

void ah_npy_writer_abort(ah_npy_writer *w)
{
    if (!w)
        return;
    if (!w->failed)
        ah__out_abort(&w->out);
    free(w);
}

int ah_npy_save(const char *path, const double *data, const uint64_t *shape,
                int ndim, ah_diag *diag)
{
    ah_npy_writer *w;
    int st = ah_npy_writer_open(&w, path, shape, ndim, diag);
    if (st != AH_OK)
        return st;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i]; /* checked by writer_open */
    if (count > SIZE_MAX) {
        ah_npy_writer_abort(w);
        return ah__fail(diag, AH_ERR_OVERFLOW, -1, -1,
                        "%s: the array size overflows", path);
    }
    if ((st = ah_npy_writer_write(w, data, (size_t)count, diag)) != AH_OK) {
        ah_npy_writer_abort(w);
        return st;
    }
    return ah_npy_writer_commit(w, diag);
}
