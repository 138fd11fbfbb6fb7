#!/usr/bin/env bash
# Checks that the node's build (`cargo build -p elohim-media`) and the test build
# (`cargo test --workspace …`) resolve the same features for every package they share:
# a package built with other features is compiled twice, and under Holochain that costs
# a fresh machine ~20 minutes. Prints the packages that differ and exits 1 if any do.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tree() { cargo tree --prefix none -f '{p}|{f}' "$@" | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u; }
node=$(mktemp) tests=$(mktemp)
trap 'rm -f "$node" "$tests"' EXIT
tree -p elohim-media -e normal,build >"$node"
tree --workspace --exclude media --exclude media_integrity -e normal,build,dev >"$tests"
python3 - "$node" "$tests" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        if "|" in line:
            pkg, feats = line.rstrip("\n").split("|", 1)
            out.setdefault(pkg.split(" (")[0].strip(), set()).update(f for f in feats.split(",") if f)
    return out
node, tests = read(sys.argv[1]), read(sys.argv[2])
differ = [(p, node[p], tests[p]) for p in node if p in tests and node[p] != tests[p]]
for pkg, a, b in differ:
    print(f"one-build: {pkg} has features {sorted(a)} in the node's build, {sorted(b)} in the tests'")
if not node:
    sys.exit("one-build: cargo tree printed nothing")
sys.exit(1 if differ else 0)
PY
echo "one-build: the node's build and the test build share one feature set ($(wc -l <"$node") packages)"
