/*
 * hist_io.c - the histogram node encoding: its size, writing and reading
 * (every field checked against docs/FORMAT.md before it is used), the
 * memory a load will take, and the counts of a shard (shard.c).  Runs once
 * per save or load, O(bins) a node.
 */
#include "hist.h"

/*
 * Serialised node (docs/FORMAT.md), starting at a multiple of 8:
 *   u32 kind, u32 nb, u32 na, u32 node_bytes (all of it),
 *   f64 atoms[na],
 *   kind 0: f64 edges[nb+1];  kind 2: f32 edges[nb+1] (every edge is a
 *   float32 value, as with float32 activations);  kind 1 (grid): u32 B,
 *   u32 zero, f64 lo, f64 hi, the edges being the equal-width grid merged
 *   with the atoms,
 *   counts[nb] then atom_counts[na] as unsigned LEB128 varints,
 *   zero padding to a multiple of 8.
 * Counts are stored as src/counts_codec.c chooses per node (a flag in
 * kind, format 1.1): plain varints, varints with runs of empty bins, or
 * Rice codes of neighbouring differences.
 */
enum { KIND_EXPLICIT = 0, KIND_GRID = 1, KIND_EXPLICIT_F32 = 2 };
#define KIND_ZERO_RUNS 0x100u /* counts: AH__COUNTS_ZERO_RUNS */
#define KIND_RICE 0x200u      /* counts: AH__COUNTS_RICE */
#define NODE_HEADER 16
#define NODE_MAX (1u << 24) /* bins, atoms or grid bins a node may have */

static int node_kind(const hnode *nd)
{
    if ((nd->loc && nd->loc->B) || !nd->edges)
        return KIND_GRID;
    for (uint32_t i = 0; i <= nd->nb; i++)
        if ((double)(float)nd->edges[i] != nd->edges[i])
            return KIND_EXPLICIT;
    return KIND_EXPLICIT_F32;
}

/* The bin counts of a node, stored or derived (node_count). */
static uint32_t count_at(const void *nd, size_t k)
{
    return node_count(nd, k);
}

static ah__counts_src counts_of(const hnode *nd)
{
    return (ah__counts_src){nd->count, count_at, nd};
}

/* The serialised size of a node whose counts take plan->bytes. */
static size_t node_bytes(const hnode *nd, int kind,
                         const ah__counts_plan *plan)
{
    size_t b = NODE_HEADER + 8 * (size_t)nd->na;
    b += kind == KIND_GRID ? 24
         : kind == KIND_EXPLICIT ? 8 * ((size_t)nd->nb + 1)
                                 : 4 * ((size_t)nd->nb + 1);
    b += plan->bytes;
    for (uint32_t i = 0; i < nd->na; i++)
        b += ah__varint_len(nd->acount[i]);
    return (b + 7) & ~(size_t)7;
}

/* The size of the set's nodes encoded: measured once (every bin count
 * read again, through the cumulative counts of an implicit grid) when the
 * set is complete, then kept. */
size_t ah__hist_payload_measure(const hist *h)
{
    size_t s = 0;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        ah__counts_src src = counts_of(nd);
        ah__counts_plan plan =
            ah__counts_plan_src(nd->cenc, nd->ck, &src, nd->nb);
        s += node_bytes(nd, node_kind(nd), &plan);
    }
    return s;
}

size_t ah__hist_payload_bytes(const void *rep)
{
    const hist *h = rep;
    return h->payload ? h->payload : ah__hist_payload_measure(h);
}

void ah__hist_write(const void *rep, unsigned char *buf)
{
    const hist *h = rep;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        unsigned char *start = buf;
        int kind = node_kind(nd);
        ah__counts_src src = counts_of(nd);
        ah__counts_plan plan =
            ah__counts_plan_src(nd->cenc, nd->ck, &src, nd->nb);
        size_t want = node_bytes(nd, kind, &plan);
        uint32_t flag = plan.enc == AH__COUNTS_ZERO_RUNS ? KIND_ZERO_RUNS
                        : plan.enc == AH__COUNTS_RICE    ? KIND_RICE
                                                         : 0;
        buf = ah__put_u32(buf, (uint32_t)kind | flag);
        buf = ah__put_u32(buf, nd->nb);
        buf = ah__put_u32(buf, nd->na);
        buf = ah__put_u32(buf, (uint32_t)want);
        for (uint32_t i = 0; i < nd->na; i++)
            buf = ah__put_f64(buf, nd->atom[i]);
        if (kind == KIND_GRID) {
            buf = ah__put_u32(buf, nd->edges ? nd->loc->B : nd->grid->B);
            buf = ah__put_u32(buf, 0);
            buf = ah__put_f64(buf, node_edge(nd, 0));
            buf = ah__put_f64(buf, node_edge(nd, nd->nb));
        } else if (kind == KIND_EXPLICIT) {
            for (uint32_t i = 0; i <= nd->nb; i++)
                buf = ah__put_f64(buf, nd->edges[i]);
        } else {
            for (uint32_t i = 0; i <= nd->nb; i++) {
                float f = (float)nd->edges[i];
                uint32_t u;
                memcpy(&u, &f, 4);
                buf = ah__put_u32(buf, u);
            }
        }
        buf = ah__counts_write_src(&plan, &src, nd->nb, buf);
        for (uint32_t i = 0; i < nd->na; i++)
            buf = ah__varint_put(buf, nd->acount[i]);
        while ((size_t)(buf - start) < want)
            *buf++ = 0;
    }
}

/* Whether a grid node read from a file is an implicit grid that
 * ah__hist_node_index would make of it, decided without computing its edges: B
 * bins, atoms only at the ends, and a step of more than 8 ulps, so that
 * the grid edges strictly increase (grid_edge rounds each by at most 2
 * ulps) and merging the end atoms adds none. */
/* The grid's own test, apart from the atoms (implicit_grid_ok, and the
 * loader's estimate of what a node keeps). */
static int implicit_grid_range(uint32_t nb, uint32_t B, double lo, double hi,
                               double scale)
{
    double big = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    double ulp = nextafter(big, INFINITY) - big;
    return nb == B && isfinite(scale) && scale > 0 &&
           (hi - lo) / (double)B > 8 * ulp;
}

static int implicit_grid_ok(const hnode *nd, uint32_t nb, uint32_t B,
                            double lo, double hi, double scale)
{
    return implicit_grid_range(nb, B, lo, hi, scale) &&
           ah__hist_atoms_at_ends(nd, lo, hi);
}

/* Refuse node j with a message naming it and the problem. */
static int node_bad(ah_diag *diag, size_t j, const char *why)
{
    return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                    "histogram of node %zu: %s", j, why);
}

/* A node's header as node_read_head checked it. */
typedef struct node_head {
    uint32_t kind, nb, na, nbytes; /* kind without the count flags */
    int enc;                       /* AH__COUNTS_* of the bin counts */
    size_t edge_bytes;             /* of the edges (or grid) after the atoms */
} node_head;

/* Check the header of node j at p (avail bytes) against its documented
 * ranges (docs/FORMAT.md), before anything is allocated: its kind and
 * count flags, its sizes against avail and against its own fields. */
static int node_read_head(const unsigned char *p, size_t avail, size_t j,
                          node_head *hd, ah_diag *diag)
{
    if (avail < NODE_HEADER)
        return node_bad(diag, j, "truncated (its header runs past the set)");
    uint32_t kind = ah__get_u32(p), nb = ah__get_u32(p + 4),
             na = ah__get_u32(p + 8), nbytes = ah__get_u32(p + 12);
    int enc = (kind & KIND_ZERO_RUNS) ? AH__COUNTS_ZERO_RUNS
              : (kind & KIND_RICE)    ? AH__COUNTS_RICE
                                      : AH__COUNTS_PLAIN;
    if ((kind & KIND_ZERO_RUNS) && (kind & KIND_RICE))
        return node_bad(diag, j, "kind has both zero runs and Rice codes");
    kind &= ~(KIND_ZERO_RUNS | KIND_RICE);
    if (kind > KIND_EXPLICIT_F32)
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: unknown kind 0x%x", j,
                        (unsigned)ah__get_u32(p));
    if (nb > NODE_MAX || na > NODE_MAX || (nb == 0 && na == 0))
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: %u bins and %u atoms (each "
                        "at most 2^24, not both 0)", j, nb, na);
    if (nbytes > avail || nbytes % 8 != 0 ||
        nbytes < NODE_HEADER + 8 * (size_t)na + (kind == KIND_GRID ? 24 : 0))
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: node size %u (a multiple of "
                        "8, within the set's %zu bytes left and its fields)",
                        j, nbytes, avail);
    size_t edge_bytes = kind == KIND_GRID ? 24
                        : kind == KIND_EXPLICIT ? 8 * ((size_t)nb + 1)
                                                : 4 * ((size_t)nb + 1);
    if ((size_t)(nbytes - NODE_HEADER) <
        8 * (size_t)na + edge_bytes + (enc == AH__COUNTS_PLAIN ? nb : 0) + na)
        return node_bad(diag, j, "node size below its edges and counts");
    *hd = (node_head){kind, nb, na, nbytes, enc, edge_bytes};
    return AH_OK;
}

/* The grid of a KIND_GRID node, as node_read_edges read it. */
typedef struct node_grid {
    uint32_t B;   /* 0: not a grid node */
    int implicit; /* an implicit grid (implicit_grid_ok): no edges computed */
    double lo, hi, scale;
} node_grid;

/* The atoms and edges of node j at q into nd (allocated for hd's bins and
 * atoms): the atoms finite and increasing; a grid's B, range and merge
 * with the atoms; explicit edges finite and increasing; every atom an
 * edge.  The grid, if any, into *gr. */
static int node_read_edges(hnode *nd, const unsigned char *q,
                           const node_head *hd, size_t j, node_grid *gr,
                           ah_diag *diag)
{
    uint32_t kind = hd->kind, nb = hd->nb, na = hd->na;
    for (uint32_t i = 0; i < na; i++, q += 8) {
        nd->atom[i] = ah__get_f64(q);
        if (!isfinite(nd->atom[i]) || (i > 0 && !(nd->atom[i] > nd->atom[i - 1])))
            return node_bad(diag, j, "atoms not finite or not increasing");
    }
    uint32_t B = 0;
    int implicit = 0;
    double lo = 0, hi = 0, scale = 0;
    if (kind == KIND_GRID) {
        B = ah__get_u32(q);
        lo = ah__get_f64(q + 8);
        hi = ah__get_f64(q + 16);
        if (B == 0 || B > NODE_MAX)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "histogram of node %zu: grid of %u bins (1 to "
                            "2^24)", j, B);
        if (ah__get_u32(q + 4) != 0)
            return node_bad(diag, j, "the grid's word after B is not zero");
        if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
            return node_bad(diag, j, "grid range not finite or empty");
        if ((size_t)nb > (size_t)B + na)
            return node_bad(diag, j, "more bins than the grid and atoms give");
        if (na && (nd->atom[0] < lo || nd->atom[na - 1] > hi))
            return node_bad(diag, j, "an atom outside the grid's range");
        scale = (double)B / (hi - lo);
        implicit = implicit_grid_ok(nd, nb, B, lo, hi, scale);
    }
    *gr = (node_grid){B, implicit, lo, hi, scale};
    if (implicit) {
        /* the edges are the grid's: none is computed
         * (ah__hist_node_implicit) */
        nd->edges[0] = lo;
        nd->edges[nb] = hi;
    } else if (kind == KIND_GRID) {
        double *tmp = malloc(((size_t)B + 1 + na) * sizeof *tmp);
        if (!tmp)
            return ah__fail(diag, AH_ERR_NOMEM, -1, (int64_t)j,
                            "out of memory for the histogram of node %zu", j);
        size_t m = ah__hist_grid_merge(lo, hi, B, nd->atom, na, tmp);
        int ok = m == (size_t)nb + 1;
        if (ok)
            memcpy(nd->edges, tmp, m * sizeof *tmp);
        free(tmp);
        if (!ok)
            return node_bad(diag, j, "the grid merged with the atoms does "
                                     "not give nb + 1 edges");
    } else {
        for (uint32_t i = 0; i <= nb; i++) {
            if (kind == KIND_EXPLICIT) {
                nd->edges[i] = ah__get_f64(q + 8 * (size_t)i);
            } else {
                uint32_t u = ah__get_u32(q + 4 * (size_t)i);
                float f;
                memcpy(&f, &u, 4);
                nd->edges[i] = f;
            }
            if (!isfinite(nd->edges[i]) ||
                (i > 0 && !(nd->edges[i] > nd->edges[i - 1])))
                return node_bad(diag, j, "edges not finite or not "
                                         "increasing");
        }
    }
    for (uint32_t i = 0; i < na && !implicit; i++)
        if (find_exact(nd->edges, (size_t)nb + 1, nd->atom[i]) < 0)
            return node_bad(diag, j, "an atom is not an edge");
    return AH_OK;
}

/* The bin and atom counts of node j at q (up to end, the node's end)
 * into nd: well formed, adding up to the set's n rows, and zero padding
 * after them. */
/* *written: the bytes the writer gives the bin counts read. */
static int node_read_counts(hnode *nd, const unsigned char *q,
                            const unsigned char *end, const node_head *hd,
                            size_t n, size_t j, size_t *written,
                            ah_diag *diag)
{
    uint32_t nb = hd->nb, na = hd->na;
    int enc = hd->enc;
    uint64_t total = 0;
    nd->cenc = (uint8_t)enc;
    nd->ck = enc == AH__COUNTS_RICE && q < end ? *q : 0;
    if (!(q = ah__counts_read_sized(enc, q, end, nd->count, nb, written)))
        return node_bad(diag, j, "bin counts malformed or past the node");
    for (uint32_t i = 0; i < nb; i++)
        total += nd->count[i];
    for (uint32_t i = 0; i < na; i++) {
        if (!(q = ah__varint_get(q, end, &nd->acount[i])))
            return node_bad(diag, j, "atom counts malformed or past the "
                                     "node");
        total += nd->acount[i];
    }
    if (total != n)
        return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                        "histogram of node %zu: bin and atom counts add up "
                        "to %llu, not the set's %zu rows", j,
                        (unsigned long long)total, n);
    while (q < end)
        if (*q++ != 0)
            return node_bad(diag, j, "padding not zero");
    return AH_OK;
}

/* Read node j at p (avail bytes) and its size into *used: every field of
 * its header against its documented range (docs/FORMAT.md), then its
 * contents, then its query index.  AH_ERR_FORMAT or AH_ERR_NOMEM, with a
 * message. */
/* *canonical tells whether writing the node again gives hd.nbytes bytes
 * (a file may pad or encode more loosely than the writer does). */
static int node_read(hnode *nd, tables *tab, size_t n, const unsigned char *p,
                     size_t avail, size_t *used, int *canonical, size_t j,
                     ah_diag *diag)
{
    node_head hd = {0};
    node_grid gr = {0};
    int st = node_read_head(p, avail, j, &hd, diag);
    if (st != AH_OK)
        return st;
    if (ah__hist_node_alloc_final(nd, hd.nb, hd.na) != AH_OK)
        return ah__fail(diag, AH_ERR_NOMEM, -1, (int64_t)j,
                        "out of memory for the histogram of node %zu", j);
    const unsigned char *q = p + NODE_HEADER, *end = p + hd.nbytes;
    if ((st = node_read_edges(nd, q, &hd, j, &gr, diag)) != AH_OK)
        return st;
    q += 8 * (size_t)hd.na + hd.edge_bytes;
    ah__counts_plan plan = {nd->cenc, nd->ck, 0};
    if ((st = node_read_counts(nd, q, end, &hd, n, j, &plan.bytes, diag)) !=
        AH_OK)
        return st;
    *used = hd.nbytes;
    if (gr.implicit) {
        st = ah__hist_node_implicit(nd, gr.B, gr.lo, gr.hi, gr.scale, tab);
    } else {
        ah__hist_node_derive(nd);
        if (hd.kind == KIND_GRID) /* its edges are the grid's (read_edges) */
            st = ah__hist_grid_index(nd, gr.B, tab);
    }
    if (st != AH_OK)
        return ah__fail(diag, st, -1, (int64_t)j,
                        st == AH_ERR_NOMEM
                            ? "out of memory for the histogram of node %zu"
                            : "histogram of node %zu: inconsistent", j);
    *canonical = node_bytes(nd, node_kind(nd), &plan) == hd.nbytes;
    return AH_OK;
}

/* Reading nodes [j0, j1) of a set, from byte at[j0] on: one thread's
 * share.  Stops at its first failing node (st, with its diag). */
typedef struct read_part {
    hist *h;
    tables tab;        /* this part's tables (part 0: the set's own)    */
    size_t j0, j1;
    int st, canonical; /* st: of its first failing node, if any          */
    ah_diag diag;
} read_part;

typedef struct read_job {
    const unsigned char *buf;
    size_t len, n;
    const size_t *at;  /* node offsets, D + 1 (as far as the scan got)   */
    read_part *part;
} read_job;

static void read_part_run(void *ctx, int t)
{
    read_job *jb = ctx;
    read_part *r = &jb->part[t];
    r->st = AH_OK;
    r->canonical = 1;
    for (size_t j = r->j0; j < r->j1; j++) {
        size_t k = 0, off = jb->at[j];
        int same = 0;
        r->st = node_read(&r->h->node[j], &r->tab, jb->n, jb->buf + off,
                          jb->len - off, &k, &same, j, &r->diag);
        r->canonical &= same;
        if (r->st != AH_OK)
            return;
    }
}

/* A thread per this many bytes of nodes, up to the cores: a share reads
 * at about 17 ns a byte (a set of 488 KB in 8 ms), so 32 KB take half a
 * millisecond against some 50 us to start and join a thread.  At most
 * READ_THREADS_MAX shares. */
#define READ_THREAD_BYTES ((size_t)32 << 10)
#define READ_THREADS_MAX 16

/* The byte offsets of the nodes from their headers' sizes, as far as they
 * lie within len: *nodes of them are located (D, or fewer when a header
 * is cut or claims more than is left: node_read reports that node). */
static void node_offsets(const unsigned char *buf, size_t len, size_t D,
                         size_t *at, size_t *nodes)
{
    size_t off = 0, j = 0;
    for (; j < D; j++) {
        at[j] = off;
        if (len - off < NODE_HEADER)
            break;
        uint32_t nb = ah__get_u32(buf + off + 12);
        if (nb < NODE_HEADER || nb > len - off)
            break;
        off += nb;
    }
    at[j < D ? j + 1 : D] = off;
    *nodes = j < D ? j + 1 : D; /* the last one may fail in node_read */
}

/* Nodes are independent: with threads (0: as many as the set's size
 * warrants, up to the cores), each reads a contiguous share of them into
 * tables of its own, appended to the set's afterwards.  The model and
 * any error are those of reading the nodes in order. */
int ah__hist_read(void **rep, size_t D, size_t n, const ah_fit_options *o,
                  int compact, int threads, const unsigned char *buf,
                  size_t len, size_t *used, ah_diag *diag)
{
    hist *h = ah__hist_new(D, n, o);
    size_t *at = malloc((D + 1) * sizeof *at), nodes = 0;
    if (!h || !at) {
        ah__hist_free(h);
        free(at);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    h->tab.compact = compact;
    node_offsets(buf, len, D, at, &nodes);
    size_t bytes = at[nodes];
    int k = ah__thread_count(threads, threads > 0 ? nodes
                                                  : bytes / READ_THREAD_BYTES);
    k = k > READ_THREADS_MAX ? READ_THREADS_MAX : k;
    read_part part[READ_THREADS_MAX];
    memset(part, 0, sizeof part);
    size_t j = 0;
    for (int t = 0; t < k; t++) { /* shares of about equal bytes */
        part[t].h = h;
        part[t].tab.compact = compact;
        part[t].j0 = j;
        size_t goal = bytes / (size_t)k * (size_t)(t + 1);
        while (j < nodes && (t == k - 1 || at[j] < goal))
            j++;
        part[t].j1 = j;
    }
    read_job jb = {buf, len, n, at, part};
    (void)ah__parallel(k, read_part_run, &jb); /* all ran, threads or not */
    /* the first failing share holds the first failing node: every share
     * before it read all its nodes */
    int st = AH_OK, canonical = 1;
    h->tab = part[0].tab;
    for (int t = 0; t < k; t++) {
        if (st == AH_OK && part[t].st != AH_OK) {
            st = part[t].st;
            if (diag)
                *diag = part[t].diag;
        }
        canonical &= part[t].canonical;
        if (t > 0 && ah__tables_append(&h->tab, &part[t].tab) != AH_OK &&
            st == AH_OK)
            st = ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    }
    free(at);
    if (st != AH_OK) {
        ah__hist_free(h);
        return st;
    }
    *used = bytes;
    h->payload = canonical ? bytes : 0; /* else measured when asked */
    *rep = h;
    return AH_OK;
}

/* What node_read will keep for the D nodes at buf, at most: its node
 * (the structures, and ah__hist_node_alloc_final's 16 bytes a bin and
 * atom) and, for a grid, 12 bytes a grid bin of tables (locator map, pair
 * table); plus, once, the largest scratch a grid node needs while it is
 * read (its B + 1 + na edges).  A few bytes of file can describe a node
 * of 2^24 bins, so the loader checks this first. */
size_t ah__hist_read_bytes(size_t D, const unsigned char *buf, size_t len)
{
    size_t off = 0;
    uint64_t sum = 0, scratch = 0;
    for (size_t j = 0; j < D && len - off >= NODE_HEADER; j++) {
        const unsigned char *p = buf + off;
        uint32_t kind = ah__get_u32(p) & 0xffu, nb = ah__get_u32(p + 4),
                 na = ah__get_u32(p + 8), nbytes = ah__get_u32(p + 12);
        /* past what node_read accepts: the read reports it */
        if (nbytes < NODE_HEADER || nbytes > len - off || nb > NODE_MAX ||
            na > NODE_MAX)
            break;
        /* the structures, and ah__hist_node_alloc_final's arrays */
        uint64_t read = ((uint64_t)nb + 1 + na) * 8 + ((uint64_t)nb + na) * 8;
        uint64_t b = sizeof(hnode) + sizeof(ah__grid) + read, s = 0;
        if (kind == KIND_GRID && nbytes >= NODE_HEADER + 8 * (uint64_t)na + 24) {
            const unsigned char *g = p + NODE_HEADER + 8 * (size_t)na;
            uint64_t B = ah__get_u32(g);
            if (B > NODE_MAX)
                break;
            double lo = ah__get_f64(g + 8), hi = ah__get_f64(g + 16);
            int ends = 1;
            for (uint32_t a = 0; a < na; a++) {
                double v = ah__get_f64(p + NODE_HEADER + 8 * (size_t)a);
                ends &= v == lo || v == hi;
            }
            if (ends && lo < hi &&
                implicit_grid_range(nb, (uint32_t)B, lo, hi,
                                    (double)B / (hi - lo))) {
                /* an implicit grid keeps its atoms and cumulative counts
                 * (at most 4 bytes each); it reads through the rest */
                b = sizeof(hnode) + sizeof(ah__grid) + (uint64_t)na * 12 +
                    (B + 5) * 4;
                s = read + (B + 5) * 4;
            } else {
                b += (B + 4) * 12; /* locator map and pair table */
                s = (B + 1 + na) * 8;
            }
        }
        scratch = s > scratch ? s : scratch;
        if (b > UINT64_MAX - sum)
            return SIZE_MAX;
        sum += b;
        off += nbytes;
    }
    return scratch > UINT64_MAX - sum || sum + scratch > SIZE_MAX
               ? SIZE_MAX
               : (size_t)(sum + scratch);
}

/*
 * Counts of a shard (shard.c): per node, the encoding of the fine-grid
 * counts, those counts (counts_codec.h) and the candidates' exact counts
 * as varints.  Shards counted against one plan have the same fine grids
 * and candidates, so their counts add.
 */
int ah__hist_range_exceeded(const void *rep)
{
    return ((const hist *)rep)->changed;
}

/* Shard counts travel once and are merged at once: varints, empty runs
 * collapsed, cost one light pass (the Rice search of model files costs
 * a pass per parameter). */
static ah__counts_plan shard_counts_plan(const hnode *nd)
{
    return ah__counts_plan_with(AH__COUNTS_ZERO_RUNS, 0, nd->f->fcount, nd->f->nf);
}

size_t ah__hist_counts_bytes(const void *rep)
{
    const hist *h = rep;
    size_t s = 0;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        s += 1 + shard_counts_plan(nd).bytes;
        for (uint32_t c = 0; c < nd->f->ncand; c++)
            s += ah__varint_len(nd->f->ccount[c]);
    }
    return s;
}

void ah__hist_counts_write(const void *rep, unsigned char *buf)
{
    const hist *h = rep;
    for (size_t j = 0; j < h->D; j++) {
        const hnode *nd = &h->node[j];
        ah__counts_plan plan = shard_counts_plan(nd);
        *buf++ = (unsigned char)plan.enc;
        buf = ah__counts_write(&plan, nd->f->fcount, nd->f->nf, buf);
        for (uint32_t c = 0; c < nd->f->ncand; c++)
            buf = ah__varint_put(buf, nd->f->ccount[c]);
    }
}

/* The counts of another shard of the same plan, added in memory. */
void ah__hist_counts_merge(void *rep, const void *other)
{
    hist *h = rep;
    const hist *o = other;
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        const hnode *od = &o->node[j];
        for (uint32_t b = 0; b < nd->f->nf; b++)
            nd->f->fcount[b] += od->f->fcount[b];
        for (uint32_t c = 0; c < nd->f->ncand; c++)
            nd->f->ccount[c] += od->f->ccount[c];
    }
}

/* Counts of a representation just begun: each node's must total the
 * shard's rows (one value per row).  On failure the caller discards the
 * representation. */
int ah__hist_counts_read(void *rep, const unsigned char *buf, size_t len,
                         uint64_t rows, ah_diag *diag)
{
    hist *h = rep;
    const unsigned char *p = buf, *end = buf + len;
    for (size_t j = 0; j < h->D; j++) {
        hnode *nd = &h->node[j];
        int enc = p < end ? *p++ : -1;
        if (enc < 0 || enc > AH__COUNTS_RICE ||
            !(p = ah__counts_read(enc, p, end, nd->f->fcount, nd->f->nf)))
            p = NULL;
        for (uint32_t c = 0; c < nd->f->ncand && p; c++)
            p = ah__varint_get(p, end, &nd->f->ccount[c]);
        if (!p)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "counts of node %zu are malformed or truncated",
                            j);
        uint64_t total = 0;
        for (uint32_t b = 0; b < nd->f->nf; b++)
            total += nd->f->fcount[b];
        for (uint32_t c = 0; c < nd->f->ncand; c++)
            total += nd->f->ccount[c];
        if (total != rows)
            return ah__fail(diag, AH_ERR_FORMAT, -1, (int64_t)j,
                            "counts of node %zu total %llu, not the shard's "
                            "%llu rows", j, (unsigned long long)total,
                            (unsigned long long)rows);
    }
    if (p != end)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%zu bytes after the last node's counts",
                        (size_t)(end - p));
    return AH_OK;
}
