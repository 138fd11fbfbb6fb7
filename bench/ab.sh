#!/usr/bin/env bash
# Two builds of the sidecar side by side on the same data: 64 KiB random ranges with the
# chunk tier and without it, six rounds, the order swapped every other round; prints each
# round's req/s and new/old. Usage: bench/ab.sh OLD_BINARY NEW_BINARY (two `elohim-media`
# binaries, e.g. one built at an older commit in a worktree with the same CARGO_TARGET_DIR).
set -euo pipefail
OLD="${1:?old elohim-media binary}"; NEW="${2:?new elohim-media binary}"
WORK="$(mktemp -d /tmp/elohim-ab.XXXXXX)"; PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
start() { "$1" serve --standalone --listen "127.0.0.1:$2" --data-dir "$WORK/data" "${@:3}" >"$WORK/s-$2.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$2/health" >/dev/null && return; sleep 0.1; done; exit 1; }
SIZE=$((256*1024*1024)); head -c "$SIZE" /dev/urandom >"$WORK/blob.bin"
start "$NEW" 18901
HASH=$(curl -sf -X POST -H 'Content-Type: application/octet-stream' -T "$WORK/blob.bin" http://127.0.0.1:18901/api/blob | sed -E 's/.*"hash":"([0-9a-f]+)".*/\1/')
start "$OLD" 18902
start "$NEW" 18903 --cache-chunk-mib 0
start "$OLD" 18904 --cache-chunk-mib 0
cat >"$WORK/r.lua" <<LUA
math.randomseed(42)
request = function() local s = math.random(0, $SIZE - 65536)
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. s .. "-" .. (s + 65535) }) end
LUA
rps() { wrk -t2 -c16 -d8s -s "$WORK/r.lua" "http://127.0.0.1:$1/api/blob/$HASH" | awk '/Requests\/sec/ {print $2}'; }
echo "64 KiB random ranges, req/s; odd rounds new first, even rounds old first"
for i in 1 2 3 4 5 6; do
  if (( i % 2 )); then a=$(rps 18901); b=$(rps 18902); c=$(rps 18903); d=$(rps 18904)
  else b=$(rps 18902); a=$(rps 18901); d=$(rps 18904); c=$(rps 18903); fi
  printf 'round %d: tier new %s old %s (%.2f)  no tier new %s old %s (%.2f)\n' $i $a $b "$(echo "$a/$b" | bc -l)" $c $d "$(echo "$c/$d" | bc -l)"
done
