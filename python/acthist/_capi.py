"""The C library seen from Python: loading libacthist, its structs and
prototypes (include/acthist.h is the reference), and its errors.

Only this module touches ctypes; the rest of the package works on NumPy
arrays.  The library is found, in this order, at:
  1. $ACTHIST_LIBRARY (a path to libacthist.so);
  2. libacthist.so beside this file (a wheel that ships it);
  3. build/libacthist.so of the source tree this package sits in;
  4. wherever the system loader finds "acthist" (after `make install`).
"""
import ctypes
import ctypes.util
import math
import numbers
import operator
import os

import numpy as np

c_size = ctypes.c_size_t
c_double_p = ctypes.POINTER(ctypes.c_double)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_uchar_p = ctypes.POINTER(ctypes.c_ubyte)

AH_OK = 0
AH_ERR_ARG = 1
AH_ERR_IO = 2  # what a Python row source returns when it raises
AH_POOLED = -(2**63)  # INT64_MIN: the pooled set of a conditional model

# enum ah_option: the options whose ranges the library keeps (acthist.h)
(AH_OPTION_BINS, AH_OPTION_ATOM_SHARE, AH_OPTION_CHUNK_ROWS,
 AH_OPTION_ALPHA_MAX, AH_OPTION_THREADS, AH_OPTION_RESTARTS,
 AH_OPTION_MAX_ITER, AH_OPTION_BASIS_COMPONENTS,
 AH_OPTION_FIT_MEMORY_MB) = range(9)


class Diag(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("row", ctypes.c_int64),
                ("col", ctypes.c_int64), ("message", ctypes.c_char * 512)]


class FitOptions(ctypes.Structure):
    _fields_ = [("method", ctypes.c_int), ("tail", ctypes.c_int),
                ("bins", ctypes.c_int), ("binning", ctypes.c_int),
                ("atom_share", ctypes.c_double), ("chunk_rows", c_size),
                ("basis", ctypes.c_int), ("basis_components", ctypes.c_int),
                ("fit_memory_mb", c_size)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("method", ctypes.c_int), ("tail", ctypes.c_int),
                ("binning", ctypes.c_int), ("bins_requested", ctypes.c_int),
                ("nodes", c_size), ("rows", c_size), ("labels", c_size),
                ("bins_min", c_size), ("bins_median", c_size),
                ("bins_max", c_size), ("atoms_total", c_size),
                ("memory_bytes", c_size), ("file_bytes", c_size),
                ("pooled_file_bytes", c_size), ("raw_bytes", ctypes.c_double),
                ("basis", ctypes.c_int), ("basis_components", c_size),
                ("scanned_nodes", c_size), ("basis_bytes", c_size)]


class Cell(ctypes.Structure):
    _fields_ = [("lo", ctypes.c_double), ("hi", ctypes.c_double),
                ("count", ctypes.c_uint64), ("atom", ctypes.c_int)]


class Threshold(ctypes.Structure):
    _fields_ = [("source", ctypes.c_int), ("score", ctypes.c_double),
                ("fpr", ctypes.c_double), ("stat", ctypes.c_int),
                ("alpha_max", ctypes.c_double), ("tail", ctypes.c_int),
                ("pooled", ctypes.c_int), ("folds", ctypes.c_uint32),
                ("n", ctypes.c_uint64)]


class ScanResult(ctypes.Structure):
    _fields_ = [("score", ctypes.c_double), ("alpha", ctypes.c_double),
                ("size", c_size)]


def as_records(carray, names_types):
    """A ctypes array of structs as a NumPy record array (a copy), with the
    dtype spelt out: NumPy's guess from ctypes' buffer format is unreliable
    for structs with padding."""
    dt = np.dtype(names_types, align=True)
    if dt.itemsize != ctypes.sizeof(carray._type_):
        raise RuntimeError("acthist: %s is %d bytes in C, %d in NumPy"
                           % (carray._type_.__name__,
                              ctypes.sizeof(carray._type_), dt.itemsize))
    return np.frombuffer(carray, dtype=dt).copy()


class ShardInfo(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("opts", FitOptions),
                ("nodes", c_size), ("labels", c_size), ("rows", c_size),
                ("plan_rows", c_size)]


class GroupOptions(ctypes.Structure):
    _fields_ = [("stat", ctypes.c_int), ("alpha_max", ctypes.c_double),
                ("restarts", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("max_iter", ctypes.c_int), ("fractional", ctypes.c_int),
                ("threads", ctypes.c_int)]


class GroupResult(ctypes.Structure):
    _fields_ = [("score", ctypes.c_double), ("alpha", ctypes.c_double),
                ("n_inputs", c_size), ("n_nodes", c_size)]


class Input(ctypes.Structure):
    """ah_input: a view of rows x cols activations (no copy)."""
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rows", c_size), ("cols", c_size), ("ld", c_size),
                ("labels", c_int64_p)]


class QueryOptions(ctypes.Structure):
    """ah_query_options; made by query_options(), which calls the
    library's ah_query_options_init so that size and defaults are its."""
    _fields_ = [("size", c_size), ("alpha_max", ctypes.c_double),
                ("tail", ctypes.c_int), ("stat", ctypes.c_int),
                ("threads", ctypes.c_int), ("backend", ctypes.c_int)]


AH_DTYPE_F64, AH_DTYPE_F32 = 0, 1


READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_double_p, c_size,
                           c_int64_p, c_size, c_size_p, ctypes.POINTER(Diag))
REWIND_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p,
                             ctypes.POINTER(Diag))


class RowSource(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("cols", c_size),
                ("has_labels", ctypes.c_int), ("read", READ_FN),
                ("rewind", REWIND_FN)]


class Error(Exception):
    """A failing libacthist call: status is the code's name ("AH_ERR_SHAPE"),
    row and column name the offending value when there is one (else None).
    An invalid argument (AH_ERR_ARG) is also a ValueError."""

    def __init__(self, status, message, row=None, col=None):
        super().__init__(message)
        self.status = status
        self.row = row
        self.col = col


class ArgumentError(Error, ValueError):
    """An argument the library refuses (AH_ERR_ARG), such as an option out
    of its range: the binding checks options with the library's own table
    (ah_option_check) before calling, so the message is the library's."""


def _candidates():
    env = os.environ.get("ACTHIST_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libacthist.so")
    yield os.path.join(here, "..", "..", "build", "libacthist.so")
    found = ctypes.util.find_library("acthist")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("acthist: libacthist.so not found; build it with `make` "
                      "or set ACTHIST_LIBRARY (tried: %s)" % ", ".join(tried))


lib = _load()

# The major version of include/acthist.h this binding was written for: a
# library of another major version has another ABI.
ABI_MAJOR = 0

# Every struct mirrored above, with its enum ah_struct value and C name.
MIRRORED = ((Diag, 0, "ah_diag"), (FitOptions, 1, "ah_fit_options"),
            (RowSource, 2, "ah_row_source"), (ShardInfo, 3, "ah_shard_info"),
            (ModelInfo, 4, "ah_model_info"), (Threshold, 5, "ah_threshold"),
            (Cell, 6, "ah_cell"), (ScanResult, 7, "ah_scan_result"),
            (GroupOptions, 8, "ah_group_options"),
            (GroupResult, 9, "ah_group_result"), (Input, 10, "ah_input"),
            (QueryOptions, 11, "ah_query_options"))


def check_abi(library, structs=MIRRORED):
    """Refuse (ImportError) a library this binding does not fit: one
    without ah_version (older than the check), of another major version,
    or whose size of a mirrored struct differs from the binding's (a field
    added, removed or retyped on one side): the calls would read and
    write the wrong bytes."""
    where = getattr(library, "_name", None) or "libacthist"
    try:
        version_fn, size_fn = library.ah_version, library.ah_struct_size
    except AttributeError:
        raise ImportError("acthist: %s has no ah_version(): it is older "
                          "than this binding, which needs version %d.x"
                          % (where, ABI_MAJOR)) from None
    version_fn.restype, version_fn.argtypes = ctypes.c_char_p, []
    size_fn.restype, size_fn.argtypes = c_size, [ctypes.c_int]
    version = (version_fn() or b"").decode("ascii", "replace")
    major = version.split(".", 1)[0]
    if major != str(ABI_MAJOR):
        raise ImportError("acthist: %s is version %s, this binding is "
                          "written for version %d.x; use a library of that "
                          "version (ACTHIST_LIBRARY) or the binding of its "
                          "own" % (where, version, ABI_MAJOR))
    for cls, which, cname in structs:
        theirs, ours = size_fn(which), ctypes.sizeof(cls)
        if theirs != ours:
            raise ImportError("acthist: struct %s is %d bytes in %s (version "
                              "%s) but %d bytes in this binding (%s): the "
                              "library and the binding are not of the same "
                              "version" % (cname, theirs, where, version,
                                           ours, cls.__name__))


check_abi(lib)

_P, _I, _D, _S = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, c_size
_DIAG = ctypes.POINTER(Diag)
_PROTOTYPES = {
    "ah_status_name": (ctypes.c_char_p, [_I]),
    "ah_version": (ctypes.c_char_p, []),
    "ah_struct_size": (_S, [_I]),
    "ah_option_check": (_I, [_I, _D, _DIAG]),
    "ah_pvalue_ranges_check": (_I, [c_double_p, _S, _S, _DIAG]),
    "ah_fit_options_default": (None, [ctypes.POINTER(FitOptions)]),
    "ah_method_parse": (_I, [ctypes.c_char_p]),
    "ah_tail_parse": (_I, [ctypes.c_char_p]),
    "ah_binning_parse": (_I, [ctypes.c_char_p]),
    "ah_basis_parse": (_I, [ctypes.c_char_p]),
    "ah_stat_parse": (_I, [ctypes.c_char_p]),
    "ah_backend_parse": (_I, [ctypes.c_char_p]),
    "ah_method_name": (ctypes.c_char_p, [_I]),
    "ah_tail_name": (ctypes.c_char_p, [_I]),
    "ah_stat_name": (ctypes.c_char_p, [_I]),
    "ah_binning_name": (ctypes.c_char_p, [_I]),
    "ah_basis_name": (ctypes.c_char_p, [_I]),
    "ah_backend_name": (ctypes.c_char_p, [_I]),
    "ah_model_fit": (_I, [ctypes.POINTER(_P), c_double_p, _S, _S, _S,
                          c_int64_p, ctypes.POINTER(FitOptions), _DIAG]),
    "ah_model_fit_source": (_I, [ctypes.POINTER(_P), ctypes.POINTER(RowSource),
                                 ctypes.POINTER(FitOptions), _DIAG]),
    "ah_model_free": (None, [_P]),
    "ah_model_save": (_I, [_P, ctypes.c_char_p, _DIAG]),
    "ah_model_save_memory": (_I, [_P, _P, c_size_p, _DIAG]),
    "ah_model_load": (_I, [ctypes.POINTER(_P), ctypes.c_char_p, _DIAG]),
    "ah_model_load_memory": (_I, [ctypes.POINTER(_P), _P, _S, ctypes.c_char_p,
                                  _DIAG]),
    "ah_model_get_info": (_I, [_P, ctypes.POINTER(ModelInfo)]),
    "ah_shard_plan": (_I, [ctypes.POINTER(_P), ctypes.POINTER(RowSource),
                           ctypes.POINTER(FitOptions), _DIAG]),
    "ah_shard_count": (_I, [ctypes.POINTER(_P), _P, ctypes.POINTER(RowSource),
                            _DIAG]),
    "ah_shard_merge": (_I, [_P, _P, _DIAG]),
    "ah_shard_finish": (_I, [ctypes.POINTER(_P), _P, _DIAG]),
    "ah_shard_get_info": (None, [_P, ctypes.POINTER(ShardInfo)]),
    "ah_shard_save": (_I, [_P, ctypes.c_char_p, _DIAG]),
    "ah_shard_save_memory": (_I, [_P, _P, c_size_p, _DIAG]),
    "ah_shard_load": (_I, [ctypes.POINTER(_P), ctypes.c_char_p, _DIAG]),
    "ah_shard_load_memory": (_I, [ctypes.POINTER(_P), _P, _S, ctypes.c_char_p,
                                  _DIAG]),
    "ah_shard_free": (None, [_P]),
    "ah_model_labels": (c_int64_p, [_P, c_size_p]),
    "ah_model_nodes": (_S, [_P]),
    "ah_model_tail": (_I, [_P]),
    "ah_model_get_threshold": (_I, [_P, ctypes.POINTER(Threshold)]),
    "ah_model_node_cells": (_I, [_P, ctypes.c_int64, _S, ctypes.POINTER(Cell),
                                 _S, c_size_p, _DIAG]),
    "ah_pvalue_width": (_S, [_P, _I]),
    "ah_query_options_init": (None, [ctypes.POINTER(QueryOptions)]),
    "ah_pvalues_in": (_I, [_P, ctypes.POINTER(Input),
                           ctypes.POINTER(QueryOptions), c_double_p,
                           c_size_p, _DIAG]),
    "ah_score_in": (_I, [_P, ctypes.POINTER(Input),
                         ctypes.POINTER(QueryOptions),
                         ctypes.POINTER(ScanResult), c_size_p, _DIAG]),
    "ah_model_transform": (_I, [_P, c_double_p, _S, _S, _S, c_int64_p,
                                c_double_p, _DIAG]),
    "ah_pvalues": (_I, [_P, c_double_p, _S, _S, _S, c_int64_p, _I, c_double_p,
                        c_size_p, _I, _DIAG]),
    "ah_pvalues_f32": (_I, [_P, c_float_p, _S, _S, _S, c_int64_p, _I,
                            c_double_p, c_size_p, _I, _DIAG]),
    "ah_score": (_I, [_P, c_double_p, _S, _S, _S, c_int64_p, _I, _I, _D,
                      ctypes.POINTER(ScanResult), c_size_p, _I, _DIAG]),
    "ah_score_f32": (_I, [_P, c_float_p, _S, _S, _S, c_int64_p, _I, _I, _D,
                          ctypes.POINTER(ScanResult), c_size_p, _I, _DIAG]),
    "ah_stat_score": (_D, [_I, _D, _D, _D]),
    "ah_scan_individual": (_I, [c_double_p, _S, _I, _D,
                                ctypes.POINTER(ScanResult), c_size_p, _DIAG]),
    "ah_scan_individual_rows": (_I, [c_double_p, _S, _S, _S, _S, _I, _D,
                                     ctypes.POINTER(ScanResult), _I, _DIAG]),
    "ah_group_options_default": (None, [ctypes.POINTER(GroupOptions)]),
    "ah_scan_group": (_I, [c_double_p, _S, _S, ctypes.POINTER(GroupOptions),
                           ctypes.POINTER(GroupResult), c_uchar_p, c_uchar_p,
                           _DIAG]),
    "ah_auc": (_I, [c_double_p, _S, c_double_p, _S, c_double_p, _DIAG]),
    "ah_roc": (_I, [c_double_p, _S, c_double_p, _S, c_double_p, c_double_p,
                    c_size_p, _DIAG]),
    "ah_tpr_at_fpr": (_I, [c_double_p, _S, c_double_p, _S, _D, c_double_p,
                           _DIAG]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


class Owned:
    """A C object this Python object owns, kept as the file the library
    writes: load, from_bytes, save, to_bytes, pickling as those bytes, and
    close (also on collection).  A subclass names its C prefix (_c, e.g.
    "ah_model"), what it is in messages (_what) and how one is made
    (_made_by)."""
    _c = _what = _made_by = None

    def __init__(self, handle):
        if not handle:
            raise ValueError("acthist: %s() is made by %s"
                             % (type(self).__name__, self._made_by))
        self._h = ctypes.c_void_p(handle)

    def _fn(self_or_cls, name):
        return getattr(lib, self_or_cls._c + name)

    @classmethod
    def load(cls, path):
        """Read a file (checked: magic, version, sizes, checksum)."""
        h, d = ctypes.c_void_p(), Diag()
        raise_for(cls._fn(cls, "_load")(ctypes.byref(h), path_bytes(path),
                                        ctypes.byref(d)), d)
        return cls(h.value)

    @classmethod
    def from_bytes(cls, data, name="<bytes>"):
        """The object from a file's bytes (to_bytes, or a read file)."""
        buf = bytes(data)
        h, d = ctypes.c_void_p(), Diag()
        raise_for(cls._fn(cls, "_load_memory")(
            ctypes.byref(h), buf, len(buf), str(name).encode(),
            ctypes.byref(d)), d)
        return cls(h.value)

    def save(self, path):
        """Write the file atomically (temporary file, then rename)."""
        d = Diag()
        raise_for(self._fn("_save")(self._handle(), path_bytes(path),
                                    ctypes.byref(d)), d)

    def to_bytes(self):
        """The bytes of the file, the same as save() writes."""
        save = self._fn("_save_memory")
        n, d = ctypes.c_size_t(0), Diag()
        raise_for(save(self._handle(), None, ctypes.byref(n),
                       ctypes.byref(d)), d)
        buf = ctypes.create_string_buffer(n.value)
        raise_for(save(self._handle(), buf, ctypes.byref(n),
                       ctypes.byref(d)), d)
        return buf.raw[:n.value]

    def __reduce__(self):
        # pickle (multiprocessing, DataLoader workers) as the file's bytes
        return (type(self).from_bytes, (self.to_bytes(),))

    def close(self):
        """Free the C object now (also done when it is collected).  Not
        while another thread is using it."""
        h, self._h = getattr(self, "_h", None), None
        if h and lib is not None:  # None at interpreter shutdown
            self._fn("_free")(h)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._h:
            raise ValueError("acthist: the %s is closed" % self._what)
        return self._h


def raise_for(status, diag, default_message=""):
    """Raise Error for a failing status, with the diagnostic's message."""
    if status == AH_OK:
        return
    name = lib.ah_status_name(status).decode()
    message = diag.message.decode("utf-8", "replace") or default_message or name
    row = diag.row if diag.row >= 0 else None
    col = diag.col if diag.col >= 0 else None
    raise (ArgumentError if status == AH_ERR_ARG else Error)(name, message,
                                                             row, col)


def _nul_free(b, what, value):
    """b (bytes for C), refused when a NUL would cut it short in C."""
    if b"\0" in b:
        raise ValueError("acthist: %s %r contains a NUL byte" % (what, value))
    return b


def path_bytes(path):
    """A path for the library: str, bytes or os.PathLike, without NUL."""
    return _nul_free(os.fsencode(path), "path", path)


def parse(kind, value):
    """The enum value of a name ("hist", "upper", "bj", ...)."""
    fn = {"method": lib.ah_method_parse, "tail": lib.ah_tail_parse,
          "binning": lib.ah_binning_parse, "stat": lib.ah_stat_parse,
          "basis": lib.ah_basis_parse,
          "backend": lib.ah_backend_parse}[kind]
    v = fn(_nul_free(str(value).encode(), kind, value))
    if v == -1:  # "default" is AH_TAIL_DEFAULT (AH_BASIS_DEFAULT), -2
        raise ValueError("acthist: unknown %s %r" % (kind, value))
    return v


def names(kind):
    """Every name of an enumeration ("method", "tail", "binning", "stat",
    "basis", "backend"),
    in the library's order: its name calls from 0 up to the first
    "unknown", so a value the library adds needs no change here."""
    fn = {"method": lib.ah_method_name, "tail": lib.ah_tail_name,
          "binning": lib.ah_binning_name, "stat": lib.ah_stat_name,
          "basis": lib.ah_basis_name, "backend": lib.ah_backend_name}[kind]
    out = []
    while True:
        n = fn(len(out)).decode()
        if n == "unknown":
            return tuple(out)
        out.append(n)


def _number(value, name, kind):
    """value as a Python int, or a float for kind "real" (and for an
    integer option given as a float, which the table checks): numbers
    only, never a bool or a string."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (bool, np.bool_)):
        try:
            v = operator.index(value)
            return _float(v) if kind == "real" else v
        except TypeError:
            if isinstance(value, numbers.Real):
                return float(value)
    raise TypeError("acthist: %s must be %s, not %r"
                    % (name, "a number" if kind == "real" else "an integer",
                       value))


def _float(v):
    """An int as a float, past the double range as an infinity."""
    return float(v) if abs(v) < 2**1000 else (math.inf if v > 0 else -math.inf)


def _check_option(option, v):
    """ah_option_check on v (a Python int or float), raising its message;
    an int is quoted in all its digits, even one a double cannot hold."""
    d = Diag()
    if lib.ah_option_check(option, _float(v), ctypes.byref(d)) == AH_OK:
        return
    msg = d.message.decode("utf-8", "replace")
    if isinstance(v, int):
        msg = msg.rsplit(", not ", 1)[0] + ", not %d" % v
    raise ArgumentError("AH_ERR_ARG", msg)


def option_int(option, value, name):
    """An integer option (enum ah_option), checked against the library's
    range before it goes into a C int: nothing is truncated or wrapped."""
    v = _number(value, name, "int")
    _check_option(option, v)
    return int(v)


def option_real(option, value, name):
    """A real option (alpha_max, atom_share), checked by the library."""
    v = _number(value, name, "real")
    _check_option(option, v)
    return v


def c_integer(value, name, lo, hi, what=""):
    """An integer for a C integer type of range lo..hi (a seed, a node, a
    label), refused rather than wrapped when it does not fit."""
    v = _number(value, name, "int")
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError("acthist: %s must be an integer, not %r"
                             % (name, value))
        v = int(v)
    if not lo <= v <= hi:
        raise ArgumentError("AH_ERR_ARG", "%s must be in %d..%d%s, not %d"
                            % (name, lo, hi, what, v))
    return v


def real_array(a, what):
    """a (a NumPy array) when its dtype is real numbers as the library and
    the CLI read them (floats, signed or unsigned integers); complex, bool,
    object, strings and dates are refused, never converted."""
    if a.dtype.kind not in "fiu":
        raise TypeError("acthist: %s must be real numbers, not %s"
                        % (what, a.dtype))
    return a


def check_ranges(a):
    """a, a C-contiguous float64 array (rows, cols, 2) of p-value ranges,
    checked by the library as the group scan checks them (for the
    individual scans, which read only p_max)."""
    d = Diag()
    raise_for(lib.ah_pvalue_ranges_check(ptr(a), a.shape[0], a.shape[1],
                                         ctypes.byref(d)), d)


def query_options(tail=-1, stat=0, alpha_max=0.5, threads=0, backend=0):
    """ah_query_options from the library's own init (its size and
    defaults), with these settings."""
    o = QueryOptions()
    lib.ah_query_options_init(ctypes.byref(o))
    o.tail, o.stat, o.alpha_max, o.threads = tail, stat, alpha_max, threads
    o.backend = backend
    return o


def input_view(b, labels=None):
    """ah_input over the C-contiguous float32 or float64 rows b (kept
    alive by the caller during the call) and labels (a pointer or None)."""
    dtype = AH_DTYPE_F32 if b.dtype == np.float32 else AH_DTYPE_F64
    return Input(b.ctypes.data, dtype, b.shape[0], b.shape[1], b.shape[1],
                 labels)


def ptr(a, ctype=ctypes.c_double):
    """A pointer to the first element of a C-contiguous NumPy array."""
    return a.ctypes.data_as(ctypes.POINTER(ctype))
