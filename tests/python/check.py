"""The minimal harness of the Python binding's tests, like tests/check.h:
each test script counts checks and ends with "N passed, N failed", which
tests/run.sh adds up.  Run by Debian's /usr/bin/python3 with its NumPy,
with PYTHONPATH=python and ACTHIST_LIBRARY (and ACTHIST, the CLI) set by
tests/run.sh."""
import os
import sys
import traceback

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s" % what, file=sys.stderr)


def raises(fn, exc, pattern=None, what=""):
    """fn() must raise exc (and its message contain pattern); the exception
    is returned for further checks (None when the check failed)."""
    try:
        fn()
    except exc as e:
        ok = pattern is None or pattern in str(e)
        check(ok, "%s: message %r lacks %r" % (what, str(e), pattern))
        return e if ok else None
    except Exception as e:  # noqa: B902 - reported as the failure it is
        check(False, "%s: raised %s: %s, expected %s"
              % (what, type(e).__name__, e, exc.__name__))
        return None
    check(False, "%s: did not raise %s" % (what, exc.__name__))
    return None


def run(suite, tests):
    """Run each test function; an unexpected exception is one failure."""
    global failed
    for t in tests:
        try:
            t()
        except Exception:  # noqa: B902
            failed += 1
            print("FAIL: %s raised:" % t.__name__, file=sys.stderr)
            traceback.print_exc()
    print("%s: %d passed, %d failed" % (suite, passed, failed))
    sys.exit(1 if failed else 0)


def repo_path(*parts):
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", *parts)
