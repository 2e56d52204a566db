"""The binding checks the library it loads (acthist._capi.check_abi):
the library's major version is the one the binding was written for, and
every struct the binding mirrors has the library's size
(ah_struct_size).  A library that differs is refused on import with a
message naming the struct and both sizes, never used to read and write
the wrong bytes."""
import ctypes
import os
import re
import subprocess
import sys

import acthist
from acthist import _capi
from check import check, raises, run

CAPI = os.path.abspath(_capi.__file__)


def test_library_fits():
    check(_capi.lib.ah_version().decode() == "%d.%d.%d" % version_numbers(),
          "ah_version is the header's version")
    n = struct_count()
    check(n >= 12 and len(_capi.MIRRORED) == n,
          "%d structs mirrored, the header's enum ah_struct has %d"
          % (len(_capi.MIRRORED), n))
    check(sorted(w for _, w, _ in _capi.MIRRORED) == list(range(n)),
          "every enum ah_struct value mirrored once")
    for cls, which, cname in _capi.MIRRORED:
        check(_capi.lib.ah_struct_size(which) == ctypes.sizeof(cls),
              "%s: library %d, binding %d" % (cname,
                                              _capi.lib.ah_struct_size(which),
                                              ctypes.sizeof(cls)))
    check(_capi.lib.ah_struct_size(n) == 0 and
          _capi.lib.ah_struct_size(-1) == 0, "sizes past the enum are 0")
    _capi.check_abi(_capi.lib)  # no exception
    check(True, "check_abi accepts the library")


def header_text():
    return open(os.path.join(os.path.dirname(CAPI), "..", "..", "include",
                             "acthist.h")).read()


def struct_count():
    """The values of enum ah_struct in the header."""
    return len(re.findall(r"\bAH_STRUCT_[A-Z_]+ = \d+", header_text()))


def version_numbers():
    h = open(os.path.join(os.path.dirname(CAPI), "..", "..", "include",
                          "acthist.h")).read()
    get = (lambda k: int(h.split("#define AH_VERSION_%s " % k)[1]
                         .split()[0]))
    return get("MAJOR"), get("MINOR"), get("PATCH")


def test_header_major():
    check(_capi.ABI_MAJOR == version_numbers()[0],
          "the binding's ABI_MAJOR %d is the header's major version"
          % _capi.ABI_MAJOR)


# The binding's own _capi.py with one mirrored struct changed, imported in
# a fresh interpreter against the same library: as if binding and library
# were of different versions.
ALTERED = r"""
import sys, types
path = sys.argv[1]
src = open(path).read()
old = '("plan_rows", c_size)]'
assert src.count(old) == 1, "ShardInfo's last field moved"
src = src.replace(old, '("plan_rows", c_size), ("spare", c_size)]')
mod = types.ModuleType("acthist_capi_altered")
mod.__file__ = path
try:
    exec(compile(src, path, "exec"), mod.__dict__)
except ImportError as e:
    print(e)
    sys.exit(3)
print("imported")
"""


def test_altered_struct_refused():
    r = subprocess.run([sys.executable, "-c", ALTERED, CAPI],
                       capture_output=True, text=True, timeout=120)
    theirs = _capi.lib.ah_struct_size(3)
    ours = theirs + ctypes.sizeof(ctypes.c_size_t)
    check(r.returncode == 3, "altered ShardInfo: exit %d, stdout %r, "
          "stderr %r" % (r.returncode, r.stdout, r.stderr[-500:]))
    msg = r.stdout
    for part in ("struct ah_shard_info", "%d bytes in" % theirs,
                 "but %d bytes in this binding (ShardInfo)" % ours,
                 "libacthist.so"):
        check(part in msg, "message %r lacks %r" % (msg, part))


class FakeLibrary:
    """The real library's calls, with another version or another size."""

    def __init__(self, version=None, sizes=None, has_version=True):
        self._name = "/fake/libacthist.so"
        real = _capi.lib

        def ah_struct_size(which):
            return (sizes or {}).get(which, real.ah_struct_size(which))

        def ah_version():
            return version.encode() if version else real.ah_version()
        self.ah_struct_size = ah_struct_size
        if has_version:
            self.ah_version = ah_version


def test_fake_libraries_refused():
    raises(lambda: _capi.check_abi(FakeLibrary(has_version=False)),
           ImportError, "/fake/libacthist.so has no ah_version()",
           "a library older than the check")
    raises(lambda: _capi.check_abi(FakeLibrary(version="%d.0.0"
                                               % (_capi.ABI_MAJOR + 1))),
           ImportError, "is version %d.0.0, this binding is written for "
           "version %d.x" % (_capi.ABI_MAJOR + 1, _capi.ABI_MAJOR),
           "another major version")
    raises(lambda: _capi.check_abi(FakeLibrary(sizes={7: 16})), ImportError,
           "struct ah_scan_result is 16 bytes in /fake/libacthist.so",
           "a smaller ah_scan_result")
    raises(lambda: _capi.check_abi(FakeLibrary(sizes={0: 0})), ImportError,
           "struct ah_diag is 0 bytes", "a library without ah_diag's size")
    # another minor or patch version of the same major is accepted
    _capi.check_abi(FakeLibrary(version="%d.99.7" % _capi.ABI_MAJOR))
    check(True, "another minor version accepted")


def test_names_from_the_library():
    # the binding takes the enumerations' names from the library, so a
    # statistic or binning rule the library adds needs no change here
    check(_capi.names("stat") == ("bj", "hc", "ks"), "stat names")
    check(_capi.names("binning") == ("width", "quantile", "tails"),
          "binning names")
    check(_capi.names("method") == ("hist", "empirical", "kde"),
          "method names")
    check(_capi.names("tail") == ("upper", "lower", "two", "both"),
          "tail names")
    try:
        import acthist.sklearn as sk
    except ImportError:  # scikit-learn not installed
        return
    check(sk._STATS == _capi.names("stat"), "sklearn's statistics")


def test_package_imports():
    check(acthist.Model is not None, "acthist imports over the library")


run("test_abi", [test_library_fits, test_header_major,
                 test_altered_struct_refused, test_fake_libraries_refused,
                 test_names_from_the_library, test_package_imports])
