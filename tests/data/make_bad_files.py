#!/usr/bin/python3
"""Write the golden model and shard files of tests/data/model and
tests/data/shard, and their EXPECTED tables.

A few good files are written by hand from docs/FORMAT.md (no acthist
needed), then one bad file per header field and per structural lie, each
with its size field and FNV-1a checksum made right again (unless the lie
is the size or the checksum), so that the check of the field is what
refuses it.  EXPECTED lists each bad file and a fragment of the message
`acthist info FILE` must print (exit 1); tests/cli/test_bad_input.sh
replays them, and checks that the good files load.

Run from anywhere: /usr/bin/python3 tests/data/make_bad_files.py
"""
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
POOLED = -(2 ** 63)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def i64(v):
    return struct.pack("<q", v)


def f64(v):
    return struct.pack("<d", v)


def f32(v):
    return struct.pack("<f", v)


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def seal(body, size_off):
    """body (everything but the checksum) with its size field and checksum
    made right."""
    b = bytearray(body)
    b[size_off:size_off + 8] = u64(len(b) + 8)
    return bytes(b) + u64(fnv1a64(b))


def reseal(blob, size_off, fix_size=True):
    """blob, changed, with its checksum (and size field) made right."""
    body = bytearray(blob[:-8])
    if fix_size:
        return seal(body, size_off)
    return bytes(body) + u64(fnv1a64(body))


def put(blob, off, data):
    b = bytearray(blob)
    b[off:off + len(data)] = data
    return bytes(b)


# ---- model files (docs/FORMAT.md, format 1.1) ----

MODEL_MAGIC = b"\x89AHM\r\n\x1a\n"


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


def node_explicit(n):
    """kind 0: f64 edges 0, 1, 2, an atom at 1 taking half of n."""
    atom = n // 2
    c0 = (n - atom + 1) // 2
    c1 = n - atom - c0
    body = f64(1.0) + f64(0.0) + f64(1.0) + f64(2.0)
    body += varint(c0) + varint(c1) + varint(atom)
    size = len(pad8(b"\0" * 16 + body))
    return pad8(u32(0) + u32(2) + u32(1) + u32(size) + body)


def node_grid(n):
    """kind 1 with zero runs: 4 bins on [0, 4], every row in the first."""
    body = u32(4) + u32(0) + f64(0.0) + f64(4.0)
    body += varint(n) + varint(0) + varint(2)
    size = len(pad8(b"\0" * 16 + body))
    return pad8(u32(1 | 0x100) + u32(4) + u32(0) + u32(size) + body)


def node_f32(n):
    """kind 2: one bin between float32 edges 0.5 and 1.5."""
    body = f32(0.5) + f32(1.5) + varint(n)
    size = len(pad8(b"\0" * 16 + body))
    return pad8(u32(2) + u32(1) + u32(0) + u32(size) + body)


def node_grid_atom_outside(n):
    """kind 1: the grid of node_grid with an atom at 5, above its range
    [0, 4] (a writer never puts one there: the range is the node's)."""
    body = f64(5.0) + u32(4) + u32(0) + f64(0.0) + f64(4.0)
    body += varint(n - 1) + varint(0) + varint(3) + varint(1)
    size = len(pad8(b"\0" * 16 + body))
    return pad8(u32(1 | 0x100) + u32(5) + u32(1) + u32(size) + body)


NODES = (node_explicit, node_grid, node_f32)


def threshold_block(score=3.5, fpr=0.05, alpha=0.5, n=100, source=1,
                    stat=0, tail=2, pooled=0, folds=0):
    """Format 1.2's threshold block (40 bytes after the header)."""
    return (f64(score) + f64(fpr) + f64(alpha) + u64(n)
            + bytes([source, stat, tail, pooled]) + u32(folds))


def basis_block(nsets, d=3, r=1, flags=1, kind=1, total=None, mu=0.5,
                v=0.6, pad=b"\0" * 4):
    """Format 1.3's basis block: header, then per set d f64 means and d x r
    f32 component entries (v for each), padded to 8 with pad."""
    per = b"".join(f64(mu) for _ in range(d)) + \
        b"".join(f32(v) for _ in range(d * r))
    per += pad[:(-len(per)) % 8]
    size = 32 + nsets * len(per)
    return (u32(kind) + u32(flags) + u64(d) + u64(r)
            + u64(size if total is None else total) + per * nsets)


BASIS_NODES = NODES + NODES[:2]  # d 3 + r 1 + the residual: 5 nodes


def model(sets, N=None, D=3, nsets=None, header=None, threshold=None,
          basis=None, minor=None, nodes=None):
    """sets: [(label, n)], set 0 the pooled one; threshold: a threshold
    block (format 1.2, header size 136); basis: a basis block after the
    sets (format 1.3; the sets then have 5 nodes, D = 5)."""
    N = sets[0][1] if N is None else N
    nodes = nodes or (NODES if basis is None else BASIS_NODES)
    D = D if basis is None else len(BASIS_NODES)
    hsize = 96 if threshold is None else 136
    h = bytearray(hsize)
    h[0:8] = MODEL_MAGIC
    h[8:10] = struct.pack("<H", 1)
    if minor is None:
        minor = 3 if basis is not None else 1 if threshold is None else 2
    h[10:12] = struct.pack("<H", minor)
    h[12:16] = u32(hsize)
    if threshold is not None:
        h[96:136] = threshold
    h[16:20] = u32(0)       # hist
    h[20:24] = u32(0)       # upper
    h[24:28] = u32(0)       # width
    h[28:32] = u32(4)       # bins requested
    h[32:40] = f64(1 / 32)
    h[40:48] = u64(D)
    h[48:56] = u64(N)
    h[56:64] = u64(len(sets) if nsets is None else nsets)
    for off, data in (header or {}).items():
        h[off:off + len(data)] = data
    body = bytes(h)
    for label, n in sets:
        payload = b"".join(f(n) for f in nodes)
        body += i64(label) + u64(n) + u64(len(payload)) + pad8(payload)
    if basis is not None:
        body += basis
    return seal(body, 64)


GOOD_MODEL = model([(POOLED, 10)])
GOOD_COND = model([(POOLED, 10), (0, 4), (7, 6)])
SET0 = 96            # set 0's header: label, n, payload bytes
NODE0 = 96 + 24      # its first node (explicit edges), 56 bytes
NODE1 = NODE0 + 56   # the grid node, 48 bytes
NODE2 = NODE1 + 48   # the float32 node, 32 bytes


def model_files():
    g = GOOD_MODEL
    h = lambda off, data: reseal(put(g, off, data), 64)  # noqa: E731
    files = [
        ("bad_magic.ahm", put(g, 1, b"X"), "(bad magic)"),
        ("bad_short.ahm", g[:60], "truncated model (60 bytes)"),
        ("bad_truncated.ahm", g[:-16],
         "truncated or extended model: header says 264 bytes, file has 248"),
        ("bad_extended.ahm", reseal(g[:-8] + b"\0" * 8 + g[-8:], 64, False),
         "truncated or extended model: header says 264 bytes, file has 272"),
        ("bad_major.ahm", h(8, struct.pack("<H", 2)),
         "model format version 2.1, this build reads 1.0 to 1.3"),
        ("bad_minor.ahm", h(10, struct.pack("<H", 4)),
         "model format version 1.4, this build reads 1.0 to 1.3"),
        ("bad_checksum.ahm", put(g, NODE2 + 16, b"\x01"),
         "checksum mismatch: the model is corrupted"),
        ("bad_header_size.ahm", h(12, u32(128)),
         "header size 128 in the model header, not 96"),
        ("bad_method.ahm", h(16, u32(3)), "unknown method 3 in the model header"),
        ("bad_tail.ahm", h(20, u32(4)), "unknown tail 4 in the model header"),
        ("bad_binning.ahm", h(24, u32(3)),
         "unknown binning 3 in the model header"),
        ("bad_bins_max.ahm", h(28, u32(0xFFFFFFFF)),
         "bins requested 4294967295 in the model header"),
        ("bad_bins_65537.ahm", h(28, u32(65537)),
         "bins requested 65537 in the model header"),
        ("bad_share_nan.ahm", h(32, f64(math.nan)),
         "atom share nan in the model header, not in (0, 1]"),
        ("bad_share_negative.ahm", h(32, f64(-1.0)),
         "atom share -1 in the model header"),
        ("bad_share_zero.ahm", h(32, f64(0.0)),
         "atom share 0 in the model header"),
        ("bad_share_above_one.ahm", h(32, f64(2.0)),
         "atom share 2 in the model header"),
        ("bad_share_inf.ahm", h(32, f64(math.inf)),
         "atom share inf in the model header"),
        ("bad_d_zero.ahm", h(40, u64(0)), "D (nodes) 0 in the model header"),
        ("bad_d_lie.ahm", h(40, u64(4)),
         "set 0: histogram of node 3: truncated"),
        ("bad_n_zero.ahm", h(48, u64(0)), "N (rows) 0 in the model header"),
        ("bad_n_max.ahm", h(48, u64(0xFFFFFFFF)),
         "N (rows) 4294967295 in the model header"),
        ("bad_n_lie.ahm", h(48, u64(11)),
         "set 0: 10 rows (set 0 has N = 11"),
        ("bad_sets_zero.ahm", h(56, u64(0)), "S (sets) 0 in the model header"),
        ("bad_sets_lie.ahm", h(56, u64(2)), "set 1 of 2: truncated"),
        ("bad_reserved_72.ahm", h(72, b"\x01"),
         "model header bytes 72 to 95 are not zero (byte 72 is 1)"),
        ("bad_reserved_95.ahm", h(95, b"\x80"),
         "model header bytes 72 to 95 are not zero (byte 95 is 128)"),
        # sets
        ("bad_pooled_label.ahm", h(SET0, i64(0)),
         "set 0: label 0 (set 0 is the pooled set"),
        ("bad_label_order.ahm",
         reseal(put(GOOD_COND, 96 + 2 * (24 + 136), i64(0)), 64),
         "set 2: label 0 (set 0 is the pooled set, INT64_MIN; then labels "
         "increase)"),
        ("bad_label_rows.ahm", model([(POOLED, 10), (0, 4), (7, 5)]),
         "the labels' rows add up to 9, not N = 10"),
        ("bad_label_zero_rows.ahm", model([(POOLED, 10), (0, 0), (7, 10)]),
         "set 1: 0 rows"),
        ("bad_payload_past.ahm", h(SET0 + 16, u64(1 << 40)),
         "set 0: payload of 1099511627776 bytes, past the end of the file"),
        ("bad_payload_long.ahm",
         seal(put(g, SET0 + 16, u64(144))[:-8] + b"\0" * 8, 64),
         "set 0: payload of 144 bytes (padded to 8 within the file), its "
         "nodes take 136"),
        ("bad_trailing.ahm", seal(g[:-8] + b"\0" * 8, 64),
         "8 bytes after the last set"),
        # nodes
        ("bad_node_kind.ahm", h(NODE0, u32(3)),
         "histogram of node 0: unknown kind 0x3"),
        ("bad_node_codecs.ahm", h(NODE1, u32(0x301)),
         "histogram of node 1: kind has both zero runs and Rice codes"),
        ("bad_node_bins.ahm", h(NODE0 + 4, u32((1 << 24) + 1)),
         "histogram of node 0: 16777217 bins and 1 atoms"),
        ("bad_node_empty.ahm", h(NODE2 + 4, u32(0)),
         "histogram of node 2: 0 bins and 0 atoms"),
        ("bad_node_size.ahm", h(NODE0 + 12, u32(52)),
         "histogram of node 0: node size 52"),
        ("bad_node_grid_bins.ahm", h(NODE1 + 16, u32(0)),
         "histogram of node 1: grid of 0 bins"),
        ("bad_node_grid_zero.ahm", h(NODE1 + 20, u32(1)),
         "histogram of node 1: the grid's word after B is not zero"),
        ("bad_node_grid_range.ahm", h(NODE1 + 32, f64(0.0)),
         "histogram of node 1: grid range not finite or empty"),
        ("bad_node_grid_edges.ahm", h(NODE1 + 16, u32(5)),
         "histogram of node 1: the grid merged with the atoms does not give "
         "nb + 1 edges"),
        ("bad_node_grid_atom_outside.ahm",
         model([(POOLED, 10)],
               nodes=(node_explicit, node_grid_atom_outside, node_f32)),
         "histogram of node 1: an atom outside the grid's range"),
        ("bad_node_edges_order.ahm", h(NODE0 + 32, f64(2.5)),
         "histogram of node 0: edges not finite or not increasing"),
        ("bad_node_edge_nan.ahm", h(NODE2 + 20, f32(math.nan)),
         "histogram of node 2: edges not finite or not increasing"),
        ("bad_node_atom_nan.ahm", h(NODE0 + 16, f64(math.nan)),
         "histogram of node 0: atoms not finite or not increasing"),
        ("bad_node_atom_not_edge.ahm", h(NODE0 + 16, f64(1.5)),
         "histogram of node 0: an atom is not an edge"),
        ("bad_node_counts_total.ahm", h(NODE0 + 48, varint(4)),
         "histogram of node 0: bin and atom counts add up to 11, not the "
         "set's 10 rows"),
        ("bad_node_varint.ahm", h(NODE2 + 24, b"\x80" * 8),
         "histogram of node 2: bin counts malformed or past the node"),
        ("bad_node_zero_run.ahm", h(NODE1 + 42, varint(5)),
         "histogram of node 1: bin counts malformed or past the node"),
        ("bad_node_padding.ahm", h(NODE0 + 55, b"\x01"),
         "histogram of node 0: padding not zero"),
    ]
    cond = [(POOLED, 10), (0, 4), (7, 6)]
    thr = [
        ("bad_threshold_source.ahm", threshold_block(source=3),
         "threshold source 3 is not 0, 1 or 2"),
        ("bad_threshold_none.ahm", threshold_block(source=0),
         "a threshold block without a threshold"),
        ("bad_threshold_score_nan.ahm", threshold_block(score=float("nan")),
         "threshold score nan is not a finite score >= 0"),
        ("bad_threshold_score_negative.ahm", threshold_block(score=-1.0),
         "threshold score -1 is not a finite score >= 0"),
        ("bad_threshold_fpr_zero.ahm", threshold_block(fpr=0.0),
         "threshold fpr 0 is not in (0, 1)"),
        ("bad_threshold_fpr_one.ahm", threshold_block(fpr=1.0),
         "threshold fpr 1 is not in (0, 1)"),
        ("bad_threshold_stat.ahm", threshold_block(stat=3),
         "threshold stat 3 is unknown"),
        ("bad_threshold_alpha.ahm", threshold_block(alpha=0.0),
         "alpha_max must be in [1e-12, 1], not 0"),
        ("bad_threshold_tail.ahm", threshold_block(tail=4),
         "threshold tail 4 is unknown"),
        ("bad_threshold_pooled.ahm", threshold_block(pooled=2),
         "threshold pooled flag 2 is not 0 or 1"),
        ("bad_threshold_folds.ahm", threshold_block(source=2, folds=1),
         "threshold folds 1: at least 2 when cross-fitted"),
        ("bad_threshold_n.ahm", threshold_block(n=0),
         "threshold read from 0 scores"),
    ]
    files += [(name, model(cond, threshold=b), msg) for name, b, msg in thr]
    files += [
        ("bad_threshold_labels_in_pooled.ahm",
         model([(POOLED, 10)], threshold=threshold_block(pooled=0)),
         "a threshold for labelled inputs in a model without labels"),
        ("bad_threshold_minor.ahm",
         reseal(put(model(cond, threshold=threshold_block()), 10,
                    struct.pack("<H", 1)), 64),
         "header size 136 in the model header, not 96 (or 136 with a "
         "threshold, format 1.2)"),
    ]
    files += basis_files(cond)
    return [("good.ahm", GOOD_MODEL, None), ("good_cond.ahm", GOOD_COND, None),
            ("good_threshold.ahm", model(cond, threshold=threshold_block()),
             None),
            ("good_basis.ahm", model(cond, basis=basis_block(3)), None),
            ("good_basis_threshold.ahm",
             model(cond, threshold=threshold_block(), basis=basis_block(3)),
             None)] + files


def basis_files(cond):
    """A conditional model of 3 sets with a basis block, each field of the
    block broken in turn."""
    bad = [
        ("bad_basis_kind.ahm", dict(kind=2), "basis kind 2, not 1 (pca)"),
        ("bad_basis_flags.ahm", dict(flags=2),
         "basis flags 2, not 0 or 1 (residual node)"),
        ("bad_basis_d_zero.ahm", dict(d=0, r=0, total=32 + 3 * 0),
         "basis of 0 input nodes, not 1 to 2048"),
        ("bad_basis_d_big.ahm", dict(d=2049, r=1, total=0),
         "basis of 2049 input nodes, not 1 to 2048"),
        ("bad_basis_r_zero.ahm", dict(r=0),
         "basis of 0 components, not 1 to its 3 input nodes"),
        ("bad_basis_r_above_d.ahm", dict(r=4),
         "basis of 4 components, not 1 to its 3 input nodes"),
        ("bad_basis_resid_flag.ahm", dict(flags=0),
         "basis residual flag 0 with 1 of 3 components"),
        ("bad_basis_width.ahm", dict(d=2, r=1),
         "a basis of 2 nodes and 1 components makes 4 scanned nodes, the "
         "header says 5"),
        ("bad_basis_total.ahm", dict(total=200),
         "basis block of 152 bytes (its header says 200); 3 sets of 3 x 1 "
         "take 152"),
        ("bad_basis_mean_nan.ahm", dict(mu=float("nan")),
         "basis set 0: mean of node 0 is nan"),
        ("bad_basis_mean_inf.ahm", dict(mu=float("inf")),
         "basis set 0: mean of node 0 is inf"),
        ("bad_basis_component.ahm", dict(v=1.5),
         "basis set 0: component 0, node 0 is 1.5, not in [-1, 1]"),
        ("bad_basis_component_nan.ahm", dict(v=float("nan")),
         "basis set 0: component 0, node 0 is nan, not in [-1, 1]"),
        ("bad_basis_padding.ahm", dict(pad=b"\0\0\1\0"),
         "basis set 0: padding byte is 1, not 0"),
    ]
    files = [(name, model(cond, basis=basis_block(3, **kw)), msg)
             for name, kw, msg in bad]
    good = model(cond, basis=basis_block(3))
    files += [
        ("bad_basis_short.ahm",
         model(cond, basis=basis_block(3)[:24]),
         "basis block of 24 bytes, below its 32-byte header"),
        ("bad_basis_truncated.ahm",
         model(cond, basis=basis_block(3, total=152)[:-40]),
         "basis block of 112 bytes (its header says 152)"),
        ("bad_basis_minor.ahm", reseal(put(good, 10, struct.pack("<H", 2)), 64),
         "152 bytes after the last set"),
    ]
    return files


# ---- shard files (docs/FORMAT.md, shard format 1.1) ----

SHARD_MAGIC = b"\x89AHS\r\n\x1a\n"
ID = 0x1234567890ABCDEF  # the one shard's id: opaque here, the sum of its
                         # rows' hashes in a real file


def plan_node(lo, hi, counters):
    b = f64(lo) + f64(hi) + u32(len(counters))
    for v, c in counters:
        b += f64(v) + u32(c)
    return b


def plan_set(label, n):
    """Two nodes: [0, 4] with value 1 counted, [0.5, 2.5] with none."""
    return (i64(label) + u64(n) + plan_node(0.0, 4.0, [(1.0, n // 2)])
            + plan_node(0.5, 2.5, []))


def ids(entries):
    return u64(len(entries)) + b"".join(u64(r) + u64(i) for r, i in entries)


def counts_set(n):
    """The fine grids the plan gives (docs/FORMAT.md): node 0, 4 bins on
    [0, 4] and candidates 0, 1, 4; node 1, 4 bins on [0.5, 2.5] and
    candidates 0.5, 2.5.  Plain varints (encoding 0)."""
    a = n // 2
    rest = n - a - 1
    node0 = b"\0" + b"".join(varint(c) for c in
                             (rest - rest // 2, 0, rest // 2, 0, 1, a, 0))
    node1 = b"\0" + b"".join(varint(c) for c in
                             (n - 2 - n // 3, n // 3, 0, 0, 1, 1))
    return u64(n) + u64(len(node0 + node1)) + node0 + node1


def shard(kind, sets, rows=None, plan_ids=None, counted=None, header=None,
          labels=None):
    rows = sets[0][1] if rows is None else rows
    h = bytearray(80)
    h[0:8] = SHARD_MAGIC
    h[8:10] = struct.pack("<H", 1)
    h[10:12] = struct.pack("<H", 1)
    h[12:16] = u32(kind)
    h[16:20] = u32(0)
    h[20:24] = u32(0)
    h[24:28] = u32(0)
    h[28:32] = u32(4)
    h[32:40] = f64(1 / 32)
    h[40:48] = u64(2)
    h[48:56] = u64(len(sets))
    h[64:72] = u64(rows)
    h[72:76] = u32(int(len(sets) > 1) if labels is None else labels)
    for off, data in (header or {}).items():
        h[off:off + len(data)] = data
    body = bytes(h)
    body += ids([(sets[0][1], ID)] if plan_ids is None else plan_ids)
    body += b"".join(plan_set(label, n) for label, n in sets)
    if kind == 2:
        body += ids([(rows, ID)] if counted is None else counted)
        body += b"".join(counts_set(n) for _, n in sets)
    return seal(body, 56)


GOOD_PLAN = shard(1, [(POOLED, 10)])
GOOD_COUNTS = shard(2, [(POOLED, 10)])
GOOD_COND_PLAN = shard(1, [(POOLED, 10), (0, 4), (7, 6)])
IDS = 80              # the list of the plan's shards: K, then (rows, id)
PSET0 = IDS + 24      # plan set 0: label, n, then node 0 at + 16
PNODE0 = PSET0 + 16   # node 0: min, max, used, (value, count)
PLAN_END = PNODE0 + 32 + 20
CIDS = PLAN_END       # counts: the list of the shards counted
CSET0 = CIDS + 24     # counts set 0: rows, P, node 0's encoding byte


def shard_files():
    p, c = GOOD_PLAN, GOOD_COUNTS
    hp = lambda off, data: reseal(put(p, off, data), 56)  # noqa: E731
    hc = lambda off, data: reseal(put(c, off, data), 56)  # noqa: E731
    files = [
        ("bad_magic.plan", put(p, 3, b"X"), "(bad magic)"),
        ("bad_short.plan", p[:50], "truncated shard (50 bytes)"),
        ("bad_truncated.counts", c[:-5],
         "truncated or extended shard: header says"),
        ("bad_extended.plan", reseal(p[:-8] + b"\0" * 4 + p[-8:], 56, False),
         "truncated or extended shard: header says"),
        ("bad_major.plan", hp(8, struct.pack("<H", 2)),
         "shard format version 2.1, this build reads 1.0 to 1.1"),
        ("bad_minor.plan", hp(10, struct.pack("<H", 2)),
         "shard format version 1.2, this build reads 1.0 to 1.1"),
        ("bad_checksum.counts", put(c, CSET0 + 17, b"\x07"),
         "checksum mismatch: the shard is corrupted"),
        ("bad_kind.plan", hp(12, u32(3)),
         "kind 3, not 1 (plan) or 2 (counts) in the shard header"),
        ("bad_method.plan", hp(16, u32(1)),
         "method 1, not 0 (hist) in the shard header"),
        ("bad_method_unknown.plan", hp(16, u32(9)),
         "unknown method 9 in the shard header"),
        ("bad_tail.plan", hp(20, u32(4)), "unknown tail 4 in the shard header"),
        ("bad_binning.plan", hp(24, u32(3)),
         "unknown binning 3 in the shard header"),
        ("bad_bins_max.plan", hp(28, u32(0xFFFFFFFF)),
         "bins requested 4294967295 in the shard header"),
        ("bad_share_nan.plan", hp(32, f64(math.nan)),
         "atom share nan in the shard header"),
        ("bad_share_negative.plan", hp(32, f64(-1.0)),
         "atom share -1 in the shard header"),
        ("bad_share_zero.plan", hp(32, f64(0.0)),
         "atom share 0 in the shard header"),
        ("bad_share_above_one.plan", hp(32, f64(2.0)),
         "atom share 2 in the shard header"),
        ("bad_d_zero.plan", hp(40, u64(0)),
         "D (nodes) 0, not 1 to the file's size in the shard header"),
        ("bad_sets_zero.plan", hp(48, u64(0)),
         "S (sets) 0, not 1 to 4097 in the shard header"),
        ("bad_sets_no_labels.plan", hp(48, u64(2)),
         "S (sets) 2 with the labels flag 0 in the shard header"),
        ("bad_labels_flag.plan", hp(72, u32(2)),
         "labels flag 2, not 0 or 1 in the shard header"),
        ("bad_rows_max.plan", hp(64, u64(0xFFFFFFFF)),
         "rows 4294967295, not below 2^32-1 in the shard header"),
        ("bad_reserved_76.plan", hp(76, b"\x01"),
         "shard header bytes 76 to 79 are not zero (byte 76 is 1)"),
        ("bad_reserved_79.counts", hc(79, b"\x80"),
         "shard header bytes 76 to 79 are not zero (byte 79 is 128)"),
        ("bad_rows_lie.plan", hp(64, u64(11)),
         "the plan has 10 rows, the header says 11"),
        # the lists of shards (format 1.1)
        ("bad_ids_truncated.plan", hp(IDS, u64(1000)),
         "the list of the plan's shards is truncated"),
        ("bad_ids_rows.plan", hp(IDS + 8, u64(9)),
         "the plan's shards hold 9 rows, not 10"),
        ("bad_ids_zero_rows.plan", hp(IDS + 8, u64(0)),
         "plan's shard 0: 0 rows"),
        ("bad_ids_order.plan",
         shard(1, [(POOLED, 10)], plan_ids=[(5, ID + 1), (5, ID)]),
         "plan's shard 1: 5 rows, or not after the one before"),
        ("bad_ids_counted.counts", hc(CIDS + 8, u64(9)),
         "the counted shards hold 9 rows, not 10"),
        # the plan
        ("bad_pooled_label.plan", hp(PSET0, i64(0)), "plan set 0: label 0"),
        ("bad_label_order.plan",
         shard(1, [(POOLED, 10), (7, 4), (0, 6)]),
         "plan set 2: label 0 (set 0 is the pooled set, INT64_MIN; then "
         "labels increase)"),
        ("bad_label_rows.plan",
         shard(1, [(POOLED, 10), (0, 4), (7, 5)]),
         "the plan's labels have 9 rows, its pooled set 10"),
        ("bad_label_zero_rows.plan",
         shard(1, [(POOLED, 10), (0, 0), (7, 10)]),
         "plan set 1: 0 rows"),
        ("bad_set_rows.plan", hp(PSET0 + 8, u64(0xFFFFFFFF)),
         "plan set 0: 4294967295 rows"),
        ("bad_summary_range.plan", hp(PNODE0, f64(5.0)),
         "set 0, node 0: bad or truncated summary"),
        ("bad_summary_nan.plan", hp(PNODE0 + 8, f64(math.nan)),
         "set 0, node 0: bad or truncated summary"),
        ("bad_summary_used.plan", hp(PNODE0 + 16, u32(33)),
         "set 0, node 0: bad or truncated summary"),
        ("bad_summary_counter_value.plan", hp(PNODE0 + 20, f64(9.0)),
         "set 0, node 0: bad or truncated summary"),
        ("bad_summary_counter_count.plan", hp(PNODE0 + 28, u32(11)),
         "set 0, node 0: bad or truncated summary"),
        ("bad_trailing.plan", seal(p[:-8] + b"\0" * 8, 56),
         "8 bytes after the last set"),
        # the counts
        ("bad_counts_rows.counts", hc(CSET0, u64(11)),
         "set 0: 11 rows counted, the plan has 10"),
        ("bad_counts_header_rows.counts",
         shard(2, [(POOLED, 10)], rows=9, counted=[(9, ID)]),
         "rows counted: 10 pooled, 0 over the labels, the header says 9"),
        ("bad_counts_size.counts", hc(CSET0 + 8, u64(1000)),
         "set 0: counts truncated"),
        ("bad_counts_encoding.counts", hc(CSET0 + 16, b"\x03"),
         "set 0: counts of node 0 are malformed or truncated"),
        ("bad_counts_total.counts", hc(CSET0 + 17, varint(3)),
         "set 0: counts of node 0 total 11, not the shard's 10 rows"),
    ]
    return [("good.plan", GOOD_PLAN, None), ("good.counts", GOOD_COUNTS, None),
            ("good_cond.plan", GOOD_COND_PLAN, None)] + files


def write(dirname, files, what):
    d = os.path.join(HERE, dirname)
    os.makedirs(d, exist_ok=True)
    lines = ["# %s: each bad file and a fragment of the message that" % what,
             "# `acthist info FILE` must print, exiting 1 (written by",
             "# tests/data/make_bad_files.py; replayed by",
             "# tests/cli/test_bad_input.sh).  The good files must load."]
    for name, blob, message in files:
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
        if message is not None:
            lines.append("%s\t%s" % (name, message))
    with open(os.path.join(d, "EXPECTED"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    write("model", model_files(), "golden bad model files")
    write("shard", shard_files(), "golden bad shard files")


if __name__ == "__main__":
    main()
