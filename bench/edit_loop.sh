#!/usr/bin/env bash
# The edit-build loop of issue 16: a one-line change in an HTTP handler (the message of a bad
# chunk index in sidecar/src/http/blob.rs), then the binary rebuilt and the HTTP tests built,
# three times; the change is undone at the end. Usage: bench/edit_loop.sh [cargo build args]
# (default `-p elohim-media`; `-p elohim-media --no-default-features` for the standalone).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elohim-media/target}"
if [ $# -gt 0 ]; then build=("$@"); else build=(-p elohim-media); fi
f=sidecar/src/http/blob.rs
trap 'git checkout -q "$f"' EXIT
tests() { cargo test -q --workspace --exclude media --exclude media_integrity --test http --no-run 2>/dev/null; }
cargo build -q "${build[@]}"; tests
for i in 1 2 3; do
  sed -i "s|must be a number, got '{index}'[^\"]*\"|must be a number, got '{index}' ($i)\"|" "$f"
  # A loop that edits nothing would time rebuilds of nothing.
  grep -q "got '{index}' ($i)\"" "$f" || { echo "edit_loop: the handler line to edit is gone from $f" >&2; exit 1; }
  s=$(date +%s.%N); cargo build -q "${build[@]}"; b=$(date +%s.%N); tests; t=$(date +%s.%N)
  echo "run $i: binary $(echo "$b - $s" | bc) s, HTTP tests built $(echo "$t - $b" | bc) s"
done
