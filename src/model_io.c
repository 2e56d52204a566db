/*
 * model_io.c - the model file (docs/FORMAT.md) and model queries.
 *
 * A file is read whole (models are small; the empirical baseline is as big
 * as its background) and every count is checked against the bytes present
 * before anything is allocated.  Saving goes to a temporary file in the
 * target's directory, synced, then renamed, so a reader never sees half a
 * model.
 */
#include "basis.h"
#include "bytes.h"
#include "file_io.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_MAJOR 1
#define FORMAT_MINOR 3 /* 1.2: a threshold block after the header;
                          1.3: a basis block after the sets */
#define HEADER_BYTES 96
#define SET_HEADER_BYTES 24

static const unsigned char magic[8] = {0x89, 'A', 'H', 'M', '\r', '\n', 0x1a,
                                       '\n'};

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* The header's size: with a threshold, its block follows (format 1.2). */
static size_t header_bytes(const ah_model *m)
{
    return HEADER_BYTES + (m->threshold.source != AH_THRESHOLD_NONE
                               ? AH__THRESHOLD_BYTES
                               : 0);
}

static size_t model_file_bytes(const ah_model *m)
{
    size_t s = header_bytes(m);
    for (size_t i = 0; i < m->nsets; i++)
        s += SET_HEADER_BYTES + pad8(m->ops->payload_bytes(m->sets[i].rep));
    if (m->basis)
        s += ah__basis_file_bytes(m->basis);
    return s + 8;
}

/* The minor version a model needs: 1.1 files are read by every reader;
 * a threshold needs 1.2, a basis 1.3, which older readers refuse by its
 * number. */
static unsigned minor_version(const ah_model *m)
{
    if (m->basis)
        return 3;
    return header_bytes(m) == HEADER_BYTES ? 1 : 2;
}

int ah_model_save_memory(const ah_model *m, void *buf, size_t *len,
                         ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || !len)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    size_t total = model_file_bytes(m);
    if (!buf) {
        *len = total;
        return AH_OK;
    }
    if (*len < total)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "buffer of %zu bytes is below the %zu needed", *len,
                        total);
    unsigned char *p = buf;
    memset(p, 0, total);
    size_t hb = header_bytes(m);
    ah__put_header_fields(p, magic, FORMAT_MAJOR, minor_version(m), &m->opts);
    ah__put_u32(p + 12, (uint32_t)hb);
    ah__put_u64(p + 40, m->D);
    ah__put_u64(p + 48, m->N);
    ah__put_u64(p + 56, m->nsets);
    ah__put_u64(p + 64, total);
    if (hb != HEADER_BYTES)
        ah__threshold_write(&m->threshold, p + HEADER_BYTES);
    unsigned char *q = p + hb;
    for (size_t i = 0; i < m->nsets; i++) {
        size_t pb = m->ops->payload_bytes(m->sets[i].rep);
        ah__put_u64(q, (uint64_t)m->sets[i].label);
        ah__put_u64(q + 8, m->sets[i].n);
        ah__put_u64(q + 16, pb);
        m->ops->write(m->sets[i].rep, q + SET_HEADER_BYTES);
        q += SET_HEADER_BYTES + pad8(pb);
    }
    if (m->basis) {
        ah__basis_write(m->basis, q);
        q += ah__basis_file_bytes(m->basis);
    }
    ah__put_u64(q, ah__fnv1a64(p, total - 8));
    *len = total;
    return AH_OK;
}

static int save_model(const void *m, void *buf, size_t *len, ah_diag *diag)
{
    return ah_model_save_memory(m, buf, len, diag);
}

int ah_model_save(const ah_model *m, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    return ah__save_file(m, save_model, path, diag);
}

/* Refuse, before allocating anything, a model whose sets would take more
 * memory than this machine has: with zero runs, a node of 2^24 empty bins
 * takes a few bytes of file.  Set headers that do not parse end the sum;
 * the loader reports them. */
static int memory_check(const ah__rep_ops *ops, size_t D, size_t nsets,
                        const unsigned char *p, size_t hsize, size_t len,
                        const char *name, ah_diag *diag)
{
    size_t off = hsize, end = len - 8, need = 0;
    for (size_t i = 0; i < nsets && off <= end &&
                       end - off >= SET_HEADER_BYTES; i++) {
        uint64_t pb = ah__get_u64(p + off + 16);
        off += SET_HEADER_BYTES;
        if (pb > end - off)
            break;
        size_t b = ops->read_bytes ? ops->read_bytes(D, p + off, (size_t)pb)
                                   : (size_t)pb;
        need = b > SIZE_MAX - need ? SIZE_MAX : need + b;
        off += pad8((size_t)pb);
    }
    size_t have;
    if (!ah__memory_allows(need, &have))
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "%s: loading this model needs %.3g GB, more than "
                        "the %.3g GB this process may use (the machine's "
                        "memory or its cgroup's limit)",
                        name, (double)need / 1e9, (double)have / 1e9);
    return AH_OK;
}

/* What the model header says, checked (docs/FORMAT.md). */
typedef struct model_head {
    uint32_t hsize, minor;
    uint64_t D, N, nsets;
    ah_fit_options o;
    ah_threshold thr;
} model_head;

static int head_read(model_head *h, const unsigned char *p, size_t len,
                     const char *name, ah_diag *diag)
{
    static const ah__file_kind kind = {"model", magic, HEADER_BYTES,
                                       FORMAT_MAJOR, FORMAT_MINOR, 64,
                                       72, 24};
    int st = ah__check_file(&kind, p, len, name, diag);
    if (st != AH_OK)
        return st;
    h->hsize = ah__get_u32(p + 12);
    h->minor = p[10] | p[11] << 8;
    uint32_t with_threshold = HEADER_BYTES + AH__THRESHOLD_BYTES;
    if (h->hsize != HEADER_BYTES &&
        (h->minor < 2 || h->hsize != with_threshold))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: header size %u in the model header, not %d "
                        "(or %u with a threshold, format 1.2)",
                        name, h->hsize, HEADER_BYTES, with_threshold);
    if (len < (size_t)h->hsize + 8)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: truncated model (%zu bytes)", name, len);
    memset(&h->thr, 0, sizeof h->thr);
    if (h->hsize == with_threshold &&
        (st = ah__threshold_read(&h->thr, p + HEADER_BYTES, name, diag)) !=
            AH_OK)
        return st;
    st = ah__check_header_fields(&kind, p, name, &h->o, diag);
    if (st != AH_OK)
        return st;
    h->D = ah__get_u64(p + 40);
    h->N = ah__get_u64(p + 48);
    h->nsets = ah__get_u64(p + 56);
    /* a node takes at least a byte of its set's payload, a set 24 */
    if (h->D == 0 || h->D > len)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: D (nodes) %llu in the model header, not 1 to "
                        "the file's size", name, (unsigned long long)h->D);
    if (h->N == 0 || h->N >= UINT32_MAX)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: N (rows) %llu in the model header, not 1 to "
                        "2^32-2", name, (unsigned long long)h->N);
    if (h->nsets == 0 || h->nsets > (len - h->hsize) / SET_HEADER_BYTES)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: S (sets) %llu in the model header, not 1 to "
                        "what the file's size holds", name,
                        (unsigned long long)h->nsets);
    return memory_check(ah__ops_for(h->o.method), (size_t)h->D,
                        (size_t)h->nsets, p, h->hsize, len, name, diag);
}

/* Set i of m from p + *off (the file's sets end at end): its header
 * checked, its payload read; *off past it. */
static int set_read(ah_model *m, size_t i, const unsigned char *p,
                    size_t *off, size_t end, const char *name, int threads,
                    ah_diag *diag)
{
    if (end - *off < SET_HEADER_BYTES)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: set %zu of %zu: truncated (the file ends "
                        "before it)", name, i, m->nsets);
    int64_t label = (int64_t)ah__get_u64(p + *off);
    uint64_t n = ah__get_u64(p + *off + 8), pb = ah__get_u64(p + *off + 16);
    *off += SET_HEADER_BYTES;
    if (pb > end - *off)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: set %zu: payload of %llu bytes, past the end "
                        "of the file", name, i, (unsigned long long)pb);
    if ((i == 0) != (label == AH_POOLED) ||
        (i > 1 && label <= m->labels[i - 2]))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: set %zu: label %lld (set 0 is the pooled "
                        "set, INT64_MIN; then labels increase)", name, i,
                        (long long)label);
    if (n == 0 || n > m->N || (i == 0 && n != m->N))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: set %zu: %llu rows (set 0 has N = %llu, a "
                        "label 1 to N)", name, i, (unsigned long long)n,
                        (unsigned long long)m->N);
    m->sets[i].label = label;
    m->sets[i].n = (size_t)n;
    if (i > 0)
        m->labels[i - 1] = label;
    size_t used = 0;
    int st = m->ops->read(&m->sets[i].rep, m->D, (size_t)n, &m->opts,
                          m->nsets > 1, threads, p + *off, (size_t)pb, &used,
                          diag);
    if (st != AH_OK) {
        char inner[sizeof diag->message];
        snprintf(inner, sizeof inner, "%s", diag ? diag->message : "");
        return ah__fail(diag, st, -1, diag ? diag->col : -1,
                        "%s: set %zu: %s", name, i, inner);
    }
    if (used != pb || pad8((size_t)pb) > end - *off)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: set %zu: payload of %llu bytes (padded to 8 "
                        "within the file), its nodes take %zu", name, i,
                        (unsigned long long)pb, used);
    *off += pad8((size_t)pb);
    return AH_OK;
}

/* What follows the sets: the basis block of a format 1.3 file, nothing
 * else; and the threshold against the labels. */
static int rest_read(ah_model *m, const model_head *h, const unsigned char *p,
                     size_t off, size_t end, const char *name, ah_diag *diag)
{
    if (h->minor >= 3) { /* the basis block is the rest of the file */
        int st = ah__basis_read(&m->basis, p + off, end - off, m->nsets,
                                m->D, m->labels, name, diag);
        if (st != AH_OK)
            return st;
        m->D_in = m->basis->d;
        off = end;
    }
    if (off != end)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: %zu bytes after the last set", name, end - off);
    if (h->thr.source != AH_THRESHOLD_NONE && !h->thr.pooled &&
        m->nsets == 1)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: a threshold for labelled inputs in a model "
                        "without labels", name);
    return AH_OK;
}

int ah_model_load_memory(ah_model **out, const void *vbuf, size_t len,
                         const char *name, ah_diag *diag)
{
    return ah__model_load_memory_threads(out, vbuf, len, name, 0, diag);
}

int ah__model_load_memory_threads(ah_model **out, const void *vbuf,
                                  size_t len, const char *name, int threads,
                                  ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || (!vbuf && len))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    const unsigned char *p = vbuf;
    if (!name)
        name = "<memory>";
    model_head h;
    int st = head_read(&h, p, len, name, diag);
    if (st != AH_OK)
        return st;
    ah_model *m = calloc(1, sizeof *m);
    if (!m)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    m->opts = h.o;
    m->ops = ah__ops_for(h.o.method);
    m->D = (size_t)h.D;
    m->D_in = (size_t)h.D;
    m->N = (size_t)h.N;
    m->nsets = (size_t)h.nsets;
    m->sets = calloc(m->nsets, sizeof *m->sets);
    m->labels = malloc(m->nsets * sizeof *m->labels);
    if (!m->sets || !m->labels) {
        st = ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
        goto fail;
    }
    size_t off = h.hsize, end = len - 8;
    uint64_t label_rows = 0;
    for (size_t i = 0; i < m->nsets; i++) {
        if ((st = set_read(m, i, p, &off, end, name, threads, diag)) !=
            AH_OK)
            goto fail;
        label_rows += i > 0 ? m->sets[i].n : 0;
    }
    if (m->nsets > 1 && label_rows != h.N) {
        st = ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                      "%s: the labels' rows add up to %llu, not N = %llu",
                      name, (unsigned long long)label_rows,
                      (unsigned long long)h.N);
        goto fail;
    }
    if ((st = rest_read(m, &h, p, off, end, name, diag)) != AH_OK)
        goto fail;
    m->threshold = h.thr;
    m->file_bytes = len;
    *out = m;
    return AH_OK;
fail:
    ah_model_free(m);
    return st;
}

static int model_from_bytes(void *out, const unsigned char *buf, size_t len,
                            const char *name, ah_diag *diag)
{
    return ah_model_load_memory(out, buf, len, name, diag);
}

int ah_model_load(ah_model **out, const char *path, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!out || !path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    *out = NULL;
    return ah__load_file(out, model_from_bytes, path, diag);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int ah_model_get_info(const ah_model *m, ah_model_info *info)
{
    if (!m || !info)
        return AH_ERR_ARG;
    memset(info, 0, sizeof *info);
    info->method = m->opts.method;
    info->tail = m->opts.tail;
    info->binning = m->opts.binning;
    info->bins_requested = m->opts.bins;
    info->nodes = m->D;
    info->rows = m->N;
    info->labels = m->nsets - 1;
    size_t *bins = malloc(m->D * sizeof *bins);
    if (!bins)
        return AH_ERR_NOMEM;
    const void *rep = m->sets[0].rep;
    for (size_t j = 0; j < m->D; j++) {
        bins[j] = m->ops->node_bins(rep, j);
        info->atoms_total += m->ops->node_atoms(rep, j);
    }
    qsort(bins, m->D, sizeof *bins, cmp_size);
    info->bins_min = bins[0];
    info->bins_median = bins[m->D / 2];
    info->bins_max = bins[m->D - 1];
    free(bins);
    info->memory_bytes = sizeof *m + m->nsets * (sizeof *m->sets + 8);
    for (size_t i = 0; i < m->nsets; i++)
        info->memory_bytes += m->ops->memory_bytes(m->sets[i].rep);
    /* Payload sizes measure every node's count encodings: the pooled
     * set's once, shared by both figures. */
    size_t pooled = pad8(m->ops->payload_bytes(m->sets[0].rep));
    info->pooled_file_bytes = HEADER_BYTES + SET_HEADER_BYTES + pooled + 8;
    info->file_bytes = info->pooled_file_bytes + header_bytes(m) -
                       HEADER_BYTES;
    for (size_t i = 1; i < m->nsets; i++)
        info->file_bytes +=
            SET_HEADER_BYTES + pad8(m->ops->payload_bytes(m->sets[i].rep));
    info->raw_bytes = (double)m->N * (double)m->D_in * 4.0;
    info->nodes = m->D_in;
    info->scanned_nodes = m->D;
    info->basis = m->basis ? AH_BASIS_PCA : AH_BASIS_NONE;
    if (m->basis) {
        size_t bb = ah__basis_file_bytes(m->basis);
        info->basis_components = m->basis->r;
        info->basis_bytes = bb;
        info->file_bytes += bb;
        info->memory_bytes += bb;
        /* a pooled model keeps the pooled set's basis only: the block's
         * 32-byte header and one of its nsets equal sets */
        info->pooled_file_bytes += 32 + (bb - 32) / m->nsets;
    }
    return AH_OK;
}

const int64_t *ah_model_labels(const ah_model *m, size_t *n)
{
    if (n)
        *n = m ? m->nsets - 1 : 0;
    return m ? m->labels : NULL;
}

size_t ah_model_nodes(const ah_model *m) { return m ? m->D_in : 0; }
int ah_model_tail(const ah_model *m) { return m ? m->opts.tail : -1; }

int ah_model_node_cells(const ah_model *m, int64_t label, size_t node,
                        ah_cell *cells, size_t cap, size_t *n, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!m || !n || (!cells && cap))
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "missing argument");
    if (node >= m->D)
        return ah__fail(diag, AH_ERR_ARG, -1, (int64_t)node,
                        "node %zu is out of range (the model has %zu)", node,
                        m->D);
    size_t s = 0;
    if (label != AH_POOLED) {
        int seen;
        s = ah__model_set_for(m, label, &seen);
        if (!seen)
            return ah__fail(diag, AH_ERR_ARG, -1, -1,
                            "the model has no label %lld", (long long)label);
    }
    int st = m->ops->node_cells(m->sets[s].rep, node, cells, cap, n);
    if (st != AH_OK)
        return ah__fail(diag, st, -1, (int64_t)node,
                        "node %zu has %zu cells, above the capacity %zu", node,
                        *n, cap);
    return AH_OK;
}
