#!/bin/sh
# Every option a command accepts appears in its --help, and every option
# its --help names is accepted.  A command's options are one table in
# cli/cmd_<name>.c (rows {"--name", CLI_...}); cli_parse accepts exactly
# its rows and cli_usage lists them, so this holds the table, the parser
# and the text together:
#   - the "Options:" list of `acthist CMD --help` is the table's names
#     (and -h, --help);
#   - each option named anywhere in the help (synopsis, prose) is the
#     command's, or another command's that the same line names
#     ("fit --fpr", "acthist score with --stat bj");
#   - the command accepts each listed option (no "unknown option") and
#     refuses a made-up one with exit 2;
#   - `acthist help CMD` prints the same as `acthist CMD --help`.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
A=$ACTHIST
cd "$TMP"

$A --help >overview.txt 2>&1 || fail "acthist --help"
cmds=$(sed -n 's/^  \([a-z-][a-z-]*\)  .*/\1/p' overview.txt)
[ -n "$cmds" ] && pass || fail "acthist --help lists no commands"
for c in $cmds; do
    src="$ROOT/cli/cmd_$(echo "$c" | tr - _).c"
    [ -f "$src" ] && pass || { fail "$c: no $src"; continue; }
    $A "$c" --help >"help_$c.txt" 2>&1 && pass || fail "$c --help exits $?"
    $A help "$c" >"helpcmd_$c.txt" 2>&1
    cmp -s "help_$c.txt" "helpcmd_$c.txt" && pass \
        || fail "'acthist help $c' differs from '$c --help'"
    grep -o '{"-[-a-z]*", CLI_' "$src" | sed 's/{"\(.*\)", CLI_/\1/' \
        | sort -u >"table_$c.txt"
    [ -s "table_$c.txt" ] && pass || fail "$c: no option table in $src"
done

# The texts against the tables, in Python for the parsing.
$PY - $cmds <<'EOF' >report.txt
import re, sys
cmds = sys.argv[1:]
table = {c: set(open("table_%s.txt" % c).read().split()) | {"-h", "--help"}
         for c in cmds}
bad = []
for c in cmds:
    text = open("help_%s.txt" % c).read()
    if "\nOptions:\n" not in text:
        bad.append("%s: no Options: list" % c)
        continue
    head, opts = text.split("\nOptions:\n", 1)
    listed = set()
    for line in opts.splitlines():
        m = re.match(r"  (-[^ ,]*(?:, -[^ ,]*)*)", line)
        if m:
            listed |= {n.strip() for n in m.group(1).split(",")}
    for n in sorted(table[c] - listed):
        bad.append("%s accepts %s, which its --help does not list" % (c, n))
    for n in sorted(listed - table[c]):
        bad.append("%s --help lists %s, which it does not accept" % (c, n))
    for line in text.splitlines():
        for n in re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", line):
            if n in table[c] or n == "-n":
                continue
            others = [o for o in cmds if o != c and
                      re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), line)
                      and n in table[o]]
            if not others:
                bad.append("%s --help names %s, which it does not accept: %r"
                           % (c, n, line.strip()))
    print("listed %s %s" % (c, " ".join(sorted(listed - {"-h", "--help"}))))
for b in bad:
    print("BAD " + b)
EOF
grep '^BAD ' report.txt >bad.txt && fail "$(sed 's/^BAD //' bad.txt)" || pass

# The parser accepts what is listed and refuses what is not.
sed -n 's/^listed //p' report.txt | while read -r c names; do
    for n in $names; do
        $A "$c" "$n" >out.txt 2>err.txt
        if grep -q "unknown option" err.txt; then
            echo "FAIL: $c refuses $n, which its --help lists" >&2
            echo x >>failed.txt
        fi
    done
done
[ -e failed.txt ] && fail "options listed but refused" || pass
for c in $cmds; do
    expect_error "$c --no-such-option" 2 "unknown option '--no-such-option'" - \
        $A "$c" --no-such-option
done
done_tests
