#!/usr/bin/env bash
# Replication benchmark: the time to bring a 1 GiB blob to 3 custodians over loopback with
# `elohim-media pull` (3 pulls at once from one origin sidecar, every chunk verified and
# fsynced, whole hash checked), against a plain sequential copy of its chunk files to 3
# places (`cp`, then `sync`), measured in the same run.
# Usage: bench/replicate.sh   (BENCH_MIB sets the blob size, default 1024)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/standalone.sh" repl
start 18901 "$WORK/origin"
for p in 18902 18903 18904; do start "$p" "$WORK/c$p"; done
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob.bin"
HASH=$(curl -sf -X POST -T "$WORK/blob.bin" http://127.0.0.1:18901/api/blob | sed -E 's/.*"hash":"([0-9a-f]+)".*/\1/')
rm -f "$WORK/blob.bin"; sync

t0=$(date +%s.%N)
for p in 18902 18903 18904; do
  "$BIN" pull "$HASH" --from http://127.0.0.1:18901 --node "http://127.0.0.1:$p" --data-dir "$WORK/c$p" >"$WORK/pull-$p.json" &
  PULLS+=($!)
done
for p in "${PULLS[@]}"; do wait "$p"; done
t1=$(date +%s.%N)
for p in 18902 18903 18904; do
  curl -sf -o /dev/null -w '' "http://127.0.0.1:$p/api/blob/$HASH" --range 0-0 || { echo "custodian $p cannot serve" >&2; exit 1; }
done

t2=$(date +%s.%N)
for d in 1 2 3; do cp -r "$WORK/origin/chunks" "$WORK/copy$d"; done
sync
t3=$(date +%s.%N)

pull=$(echo "$t1 - $t0" | bc -l); copy=$(echo "$t3 - $t2" | bc -l)
echo "replicating a $MIB MiB blob to 3 custodians on loopback"
printf '    elohim-media pull x3 (concurrent): %.2f s   cp -r x3 + sync: %.2f s   ratio pull/copy: %.2f\n' "$pull" "$copy" "$(echo "$pull / $copy" | bc -l)"
