#!/bin/sh
# Does the dynamic linker find libraries in DIR with no help?  Exit 0 when
# it does: DIR is one of its trusted directories (/lib, /usr/lib, or their
# 64-bit or multiarch forms, as the system has them) or is listed in
# /etc/ld.so.conf, as ldconfig reports them.  `make install` asks this of
# LIBDIR: a searched directory needs only `ldconfig` to refresh the cache,
# any other an rpath in the pkg-config file's Libs.  Paths are compared
# after resolving symbolic links, so /lib and /usr/lib are one on a
# merged-/usr system.
# Usage: tools/libdir-searched.sh DIR
set -u
dir=${1:?usage: libdir-searched.sh DIR}
canon() { (cd "$1" 2>/dev/null && pwd -P) || printf '%s\n' "${1%/}"; }
want=$(canon "$dir")
ldconfig=
for l in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
    if command -v "$l" >/dev/null 2>&1; then ldconfig=$l; break; fi
done
{
    if [ -n "$ldconfig" ]; then
        # -N -X: list the directories it scans (the trusted ones and those
        # of ld.so.conf), change nothing.
        "$ldconfig" -v -N -X 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p'
    else
        # No ldconfig (not glibc): the usual default directories.
        arch=$(${CC:-cc} -print-multiarch 2>/dev/null || true)
        for d in /lib /usr/lib /lib64 /usr/lib64; do
            echo "$d"
            [ -n "$arch" ] && echo "$d/$arch"
        done
    fi
} | {
    while read -r d; do
        [ "$(canon "$d")" = "$want" ] && exit 0
    done
    exit 1
}
