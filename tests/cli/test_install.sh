#!/bin/sh
# make install into a scratch prefix, then use it as an outside program
# would: the pkg-config file, the header and shared library (the README's
# C program and examples/embed.c, built with pkg-config, run with an empty
# environment: no LD_LIBRARY_PATH; embed gives the same scores as `acthist
# score`; a C++ program compiles against the header), a staged install
# for a system prefix (no rpath),
# the installed CLI, the man page (up to date with the help texts), the
# Python binding over the installed library, pip install ./python, and
# make uninstall.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$ACTHIST")
BUILD=${BUILD#"$ROOT"/}
P="$TMP/prefix"
CC=${CC:-cc}
check "make install" make -s -C "$ROOT" BUILD="$BUILD" PREFIX="$P" install
for f in bin/acthist include/acthist.h lib/libacthist.a lib/libacthist.so \
         lib/libacthist.so.0 lib/pkgconfig/acthist.pc share/man/man1/acthist.1; do
    [ -e "$P/$f" ] && pass || fail "not installed: $f"
done
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check "pkg-config --modversion" pkg-config --modversion acthist
grep -qx "$(sed -n 's/^#define AH_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/acthist.h")" "$TMP/out" \
    && pass || fail "pkg-config version differs from the header's"
# A sanitizer build of the library needs its runtimes linked first.
SANFLAGS=""
if ldd "$P/lib/libacthist.so" | grep -q libasan; then
    SANFLAGS="-fsanitize=address,undefined"
fi
check "compile examples/embed.c with pkg-config" \
    $CC -std=c11 -Wall -Wextra -Werror $SANFLAGS "$ROOT/examples/embed.c" \
        $(pkg-config --cflags --libs acthist) -o "$TMP/embed"
readelf -d "$TMP/embed" | grep -q 'NEEDED.*libacthist.so.0' \
    && pass || fail "embed does not need libacthist.so.0"
# A private prefix is not on the dynamic linker's path: the .pc file's
# Libs carry an rpath to it, so programs run with no environment at all.
readelf -d "$TMP/embed" | grep -Eq "(RUNPATH|RPATH).*\[$P/lib\]" \
    && pass || fail "embed has no rpath to $P/lib"
NOENV="env -i PATH=/usr/bin:/bin"
# The README's C program, as printed there, and the output it says it gives.
sed -n '/^```c$/,/^```$/p' "$ROOT/README.md" | sed '1d;$d' >"$TMP/app.c"
awk '/^It prints$/ {p = 1; next} p && /^    / {print substr($0, 5); n++; next}
     p && n {exit}' "$ROOT/README.md" >"$TMP/app.want"
[ -s "$TMP/app.c" ] && [ -s "$TMP/app.want" ] && pass \
    || fail "README: no \`\`\`c program or no 'It prints' block after it"
check "compile the README's C program with pkg-config" \
    $CC -std=c11 -Wall -Wextra -Werror -pedantic $SANFLAGS "$TMP/app.c" \
        $(pkg-config --cflags --libs acthist) -o "$TMP/app"
$NOENV "$TMP/app" >"$TMP/app.out" 2>"$TMP/err" \
    && cmp -s "$TMP/app.out" "$TMP/app.want" && pass \
    || fail "the README's program with no environment: $(cat "$TMP/app.out" "$TMP/err")"
check "pkg-config --libs --static" pkg-config --libs --static acthist
for w in "-L$P/lib" "-Wl,-rpath,$P/lib" -lacthist -lm -lpthread; do
    case " $(cat "$TMP/out") " in
        *" $w "*) pass ;;
        *) fail "pkg-config --libs --static lacks $w: $(cat "$TMP/out")" ;;
    esac
done
check "compile the README's program with --libs --static" \
    $CC -std=c11 $SANFLAGS "$TMP/app.c" \
        $(pkg-config --cflags --libs --static acthist) -o "$TMP/app_static_libs"
$NOENV "$TMP/app_static_libs" >"$TMP/app.out" 2>"$TMP/err" \
    && cmp -s "$TMP/app.out" "$TMP/app.want" && pass \
    || fail "the program built with --libs --static: $(cat "$TMP/app.out" "$TMP/err")"
check "installed acthist fit" "$P/bin/acthist" fit -o "$TMP/m.ahm" \
    "$ROOT/data/background.npy"
check "embed scores with no environment" $NOENV "$TMP/embed" \
    "$TMP/m.ahm" "$ROOT/data/clean.npy"
mv "$TMP/out" "$TMP/embed.csv"
check "installed acthist score" "$P/bin/acthist" score \
    "$TMP/m.ahm" "$ROOT/data/clean.npy"
cmp -s "$TMP/out" "$TMP/embed.csv" && pass || fail "embed and acthist score differ"
check "static link" $CC -std=c11 $SANFLAGS "$ROOT/examples/embed.c" \
    $(pkg-config --cflags acthist) "$P/lib/libacthist.a" \
    $(pkg-config --libs-only-l --static acthist | sed 's/-lacthist//') -o "$TMP/embed_static"
env LD_LIBRARY_PATH= "$TMP/embed_static" "$TMP/m.ahm" \
    "$ROOT/data/clean.npy" >"$TMP/static.csv" 2>"$TMP/err" \
    && cmp -s "$TMP/static.csv" "$TMP/embed.csv" && pass || fail "static embed differs"
$NOENV "$TMP/embed" "$TMP/m.ahm" /nonexistent.npy >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "nonexistent.npy" "$TMP/err" && pass \
    || fail "embed on a missing file: exit $rc, $(cat "$TMP/err")"
# The header from C++ (an inference server's language): extern "C", no
# warnings under -Wall -Wextra -pedantic, and a call that links.
cat >"$TMP/use.cpp" <<'CPP'
#include <acthist.h>
#include <cstdio>
#include <vector>
int main()
{
    std::vector<double> bg(200 * 3), out(2 * 3 * 2);
    for (size_t i = 0; i < bg.size(); i++)
        bg[i] = (double)(i % 17);
    ah_model *m = nullptr;
    ah_diag d;
    if (ah_model_fit(&m, bg.data(), 200, 3, 3, nullptr, nullptr, &d) != AH_OK ||
        ah_pvalues(m, bg.data(), 2, 3, 3, nullptr, -1, out.data(), nullptr, 1,
                   &d) != AH_OK)
        return 1;
    std::printf("%s %zu\n", AH_VERSION_STRING, ah_model_nodes(m));
    ah_model_free(m);
    return 0;
}
CPP
check "C++ against the installed header and library" \
    ${CXX:-c++} -std=c++11 -Wall -Wextra -Werror -pedantic $SANFLAGS "$TMP/use.cpp" \
        $(pkg-config --cflags --libs acthist) -o "$TMP/use"
$NOENV "$TMP/use" >"$TMP/out" 2>"$TMP/err" &&
    grep -q " 3$" "$TMP/out" && pass || fail "the C++ program: $(cat "$TMP/out" "$TMP/err")"
sh "$ROOT/tools/make-man.sh" "$ACTHIST" >"$TMP/acthist.1"
cmp -s "$TMP/acthist.1" "$ROOT/docs/acthist.1" && pass \
    || fail "docs/acthist.1 is out of date with the help texts: run make man"
for c in fit info pvalues score scan-group eval compare plot-node demo; do
    grep -q "^\.SS $c\$" "$P/share/man/man1/acthist.1" && pass || fail "man page lacks $c"
done
PYENV="PYTHONPATH=$ROOT/python ACTHIST_LIBRARY=$P/lib/libacthist.so.0"
if [ -n "$SANFLAGS" ]; then
    PYENV="$PYENV ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$($CC -print-file-name=libasan.so):$($CC -print-file-name=libubsan.so)"
fi
check "python over the installed library" env $PYENV $PY -c "
import acthist, numpy as np
m = acthist.Model.load('$TMP/m.ahm')
s = m.score(np.load('$ROOT/data/clean.npy'))
rows = np.genfromtxt('$TMP/embed.csv', delimiter=',', names=True)
assert np.array_equal(s.score, rows['score']), 'scores differ'
"
# pip install ./python in a venv (Debian's pip, setuptools and wheel; no
# network): the package builds and carries its own library, and imports
# from anywhere with neither PYTHONPATH nor ACTHIST_LIBRARY.  Once, in the
# plain suite: the sanitizer suite's library is not the one pip builds.
if [ -z "$SANFLAGS" ]; then
    check "venv" $PY -m venv --system-site-packages "$TMP/venv"
    check "pip install ./python" env -u ACTHIST_LIBRARY "$TMP/venv/bin/pip" install -q \
        --no-index --no-build-isolation "$ROOT/python"
    (cd "$TMP" && env -u ACTHIST_LIBRARY -u PYTHONPATH "$TMP/venv/bin/python" -c "
import acthist, numpy as np, os
assert os.path.dirname(acthist._capi.lib._name) == os.path.dirname(acthist.__file__), acthist._capi.lib._name
m = acthist.Model.load('$TMP/m.ahm')
rows = np.genfromtxt('$TMP/embed.csv', delimiter=',', names=True)
assert np.array_equal(m.score(np.load('$ROOT/data/clean.npy')).score, rows['score'])
") >"$TMP/out" 2>"$TMP/err" && pass || { fail "the pip-installed package"; cat "$TMP/err" >&2; }
    rm -rf "$ROOT/python/build" "$ROOT/python/acthist.egg-info"
fi
check "make uninstall" make -s -C "$ROOT" BUILD="$BUILD" PREFIX="$P" uninstall
left=$(find "$P" -type f -o -type l)
[ -z "$left" ] && pass || fail "left after uninstall: $left"
# A system prefix, staged (DESTDIR, as packages do): /usr/lib is always
# searched, so the .pc file has no rpath, and ldconfig is left to the
# package (it would otherwise print "ldconfig" among the commands).
S="$TMP/stage"
check "make install DESTDIR PREFIX=/usr" make -C "$ROOT" BUILD="$BUILD" \
    DESTDIR="$S" PREFIX=/usr install
grep -q ldconfig "$TMP/out" && fail "ldconfig ran for a DESTDIR install" || pass
grep -q '^Libs: -L${libdir} -lacthist$' "$S/usr/lib/pkgconfig/acthist.pc" && pass \
    || fail "staged /usr acthist.pc: $(grep '^Libs:' "$S/usr/lib/pkgconfig/acthist.pc")"
check "make uninstall DESTDIR" make -s -C "$ROOT" BUILD="$BUILD" DESTDIR="$S" \
    PREFIX=/usr uninstall
left=$(find "$S" -type f -o -type l)
[ -z "$left" ] && pass || fail "left after the staged uninstall: $left"
done_tests
