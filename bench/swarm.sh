#!/usr/bin/env bash
# Swarm pull benchmark (issue 18): a blob reaching 5 custodians at once over loopback, first
# with every custodian pulling every chunk from the author's sidecar (`--from` only: the
# pull before swarms), then with each custodian spreading over the other four before the
# author (`--swarm`), in the same run. Reports each mode's time, their ratio, and the bytes
# the author's sidecar sent (its `elohim_bytes_out_total`) as a multiple of the blob size.
# Usage: bench/swarm.sh   (BENCH_MIB sets the blob size, default 1024)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/standalone.sh" swarm
AUTHOR=18950
CUSTODIANS=(18951 18952 18953 18954 18955)
sent() { curl -sf "http://127.0.0.1:$AUTHOR/metrics" | awk '/^elohim_bytes_out_total/ {print $2}'; }

start "$AUTHOR" "$WORK/author"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob.bin"
HASH=$(curl -sf -X POST -T "$WORK/blob.bin" "http://127.0.0.1:$AUTHOR/api/blob" | sed -E 's/.*"hash":"([0-9a-f]+)".*/\1/')
rm -f "$WORK/blob.bin"; sync

run() { # mode: first-source | swarm; prints "seconds bytes-sent"
  local mode=$1 pulls=() before after t0 t1
  for p in "${CUSTODIANS[@]}"; do start "$p" "$WORK/$mode-$p"; done
  before=$(sent)
  t0=$(date +%s.%N)
  for p in "${CUSTODIANS[@]}"; do
    local swarm=()
    if [ "$mode" = swarm ]; then
      for q in "${CUSTODIANS[@]}"; do [ "$q" = "$p" ] || swarm+=(--swarm "http://127.0.0.1:$q"); done
    fi
    "$BIN" pull "$HASH" "${swarm[@]}" --from "http://127.0.0.1:$AUTHOR" --node "http://127.0.0.1:$p" --data-dir "$WORK/$mode-$p" \
      >"$WORK/pull-$mode-$p.json" & pulls+=($!)
  done
  for p in "${pulls[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  after=$(sent)
  for p in "${CUSTODIANS[@]}"; do
    curl -sf -o /dev/null "http://127.0.0.1:$p/api/blob/$HASH" --range 0-0 || { echo "custodian $p cannot serve" >&2; exit 1; }
  done
  # Stop this mode's custodians and free their disk before the next mode.
  for p in "${CUSTODIANS[@]}"; do pkill -f -- "--listen 127.0.0.1:$p " || true; done
  sleep 0.5; rm -rf "$WORK/$mode-"*
  echo "$(echo "$t1 - $t0" | bc -l) $(echo "$after - $before" | bc -l)"
}

read -r first_s first_b < <(run first-source)
read -r swarm_s swarm_b < <(run swarm)
size=$((MIB * 1024 * 1024))
echo "a $MIB MiB blob to 5 custodians at once on loopback"
printf '    first-source: %.2f s, author sent %.2fx the blob\n' "$first_s" "$(echo "$first_b / $size" | bc -l)"
printf '    swarm:        %.2f s, author sent %.2fx the blob\n' "$swarm_s" "$(echo "$swarm_b / $size" | bc -l)"
printf '    time ratio swarm/first-source: %.2f\n' "$(echo "$swarm_s / $first_s" | bc -l)"
