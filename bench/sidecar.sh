#!/usr/bin/env bash
# Sidecar benchmarks, each printing a ratio against a reference measured in the same run:
#  (a) range serving: wrk against the sidecar and against nginx serving the same bytes as a
#      plain file on loopback — 64 KiB and 1 MiB random ranges, whole-file GETs — with the
#      chunk tier, without it, and without it sending by sendfile(2);
#  (b) ingest: POST /api/blob of a 1 GiB file against `openssl speed -evp sha256`;
#  (c) peak RSS of the sidecar while 100 clients stream a 2 GiB blob at once, fast (40 MB/s
#      each) and slow (2 MB/s each), with the chunk tier off and on.
# Usage: bench/sidecar.sh [a|b|c ...]   (default: all)
# Files are deleted only at the end: ext4 without a journal (as on these VMs) checks every
# inode freed in the last minute before it reuses one, which would charge one run's clean-up
# to the next run's writes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cargo build --manifest-path "$ROOT/Cargo.toml" --quiet -p elohim-media
BIN="$CARGO_TARGET_DIR/debug/elohim-media"
WORK="$(mktemp -d /tmp/elohim-bench.XXXXXX)"; chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
which=("${@:-a b c}"); which=" ${which[*]} "
DUR="${BENCH_SECONDS:-10}"

start_sidecar() { # port data-dir [flags…]
  local port=$1 dir=$2; shift 2
  "$BIN" serve --standalone --listen "127.0.0.1:$port" --data-dir "$dir" "$@" >"$WORK/sidecar-$port.log" 2>&1 &
  PIDS+=($!); SIDECAR_PID=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && return; sleep 0.1; done
  echo "sidecar did not start" >&2; exit 1
}
upload() { # port file -> hash (not a media type: no ladder job may run beside the measurements)
  curl -sf -X POST -H 'Content-Type: application/octet-stream' -T "$2" "http://127.0.0.1:$1/api/blob" | sed -E 's/.*"hash":"([0-9a-f]+)".*/\1/'
}
wrk_run() { # url range-len(0=whole) -> "req/s MB/s"
  cat >"$WORK/range.lua" <<LUA
math.randomseed(42)
local size, len = $SIZE, $2
request = function()
  if len == 0 then return wrk.format("GET") end
  local s = math.random(0, size - len)
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. s .. "-" .. (s + len - 1) })
end
LUA
  wrk -t2 -c16 -d"${DUR}s" -s "$WORK/range.lua" "$1" >"$WORK/wrk.out" 2>&1
  local rps mbs
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  mbs=$(awk '/Transfer\/sec/ {v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2); if (u=="GB") n*=1024; if (u=="KB") n/=1024; printf "%.1f", n}' "$WORK/wrk.out")
  echo "$rps $mbs"
}

if [[ "$which" == *" a "* ]]; then
  SIZE=$((256 * 1024 * 1024))
  head -c "$SIZE" /dev/urandom >"$WORK/blob.bin"
  start_sidecar 18801 "$WORK/a-data"
  HASH=$(upload 18801 "$WORK/blob.bin"); CACHED_PID=$SIDECAR_PID
  # The same data served with the chunk tier off: every read goes to disk (page cache).
  start_sidecar 18805 "$WORK/a-data" --cache-chunk-mib 0; UNCACHED_PID=$SIDECAR_PID
  # And with sendfile(2) instead of writev from the chunk files' mappings.
  start_sidecar 18807 "$WORK/a-data" --cache-chunk-mib 0 --sendfile
  mkdir -p "$WORK/www" && cp "$WORK/blob.bin" "$WORK/www/blob.bin" && chmod -R a+rX "$WORK/www"
  cat >"$WORK/nginx.conf" <<NGINX
worker_processes 2; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; keepalive_requests 100000;
  server { listen 127.0.0.1:18802; root $WORK/www; location / { add_header Cache-Control "public, max-age=31536000, immutable"; } } }
NGINX
  nginx -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!)
  sleep 1
  echo "(a) range serving, 256 MiB blob, wrk -t2 -c16 -d${DUR}s, loopback"
  printf '%-28s %12s %10s %12s %10s %8s %8s\n' case sidecar_rps MB/s nginx_rps MB/s rps_ratio MB_ratio
  for spec in "64KiB:65536" "1MiB:1048576" "whole:0"; do
    name=${spec%%:*}; len=${spec##*:}
    read -r nrps nmbs < <(wrk_run "http://127.0.0.1:18802/blob.bin" "$len")
    for side in "chunk tier:18801" "no chunk tier:18805" "no tier, sendfile:18807"; do
      read -r srps smbs < <(wrk_run "http://127.0.0.1:${side##*:}/api/blob/$HASH" "$len")
      printf '%-28s %12s %10s %12s %10s %8.2f %8.2f\n' "$name, ${side%%:*}" "$srps" "$smbs" "$nrps" "$nmbs" \
        "$(echo "$srps / $nrps" | bc -l)" "$(echo "$smbs / $nmbs" | bc -l)"
    done
  done
  kill "$CACHED_PID" "$UNCACHED_PID" "$SIDECAR_PID"
fi

if [[ "$which" == *" b "* ]]; then
  head -c $((1024 * 1024 * 1024)) /dev/urandom >"$WORK/gib.bin"
  sync  # the test file's own writeback must not overlap the uploads
  # One core's SHA-256 rate with the CPU's SHA extensions, 1 MiB blocks.
  ossl=$(openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null | awk '/^sha256/ {v=$NF; sub(/k$/, "", v); printf "%.1f", v*1000/1048576}')
  RUNS="${INGEST_RUNS:-5}"
  echo "(b) ingest of 1 GiB by POST /api/blob (every byte hashed twice, chunks fsynced), $RUNS runs"
  echo "    each on a new sidecar and data dir; the sidecar's CPU time is read from /proc"
  rates=()
  for run in $(seq "$RUNS"); do
    start_sidecar 18803 "$WORK/b-data-$run"
    c0=$(awk '{print $14 + $15}' "/proc/$SIDECAR_PID/stat")
    t0=$(date +%s.%N)
    upload 18803 "$WORK/gib.bin" >/dev/null
    t1=$(date +%s.%N)
    c1=$(awk '{print $14 + $15}' "/proc/$SIDECAR_PID/stat")
    rate=$(echo "1024 / ($t1 - $t0)" | bc -l); rates+=("$rate")
    # CPU seconds the sidecar spent, against what hashing every byte twice at the openssl
    # rate would cost (the sidecar hashes chunk and blob in one interleaved pass).
    cpu=$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)
    printf '    run %d: %4.0f MiB/s (%.2f x openssl)   sidecar CPU %.2f s (two SHA-256 passes at the openssl rate: %.2f s)\n' \
      "$run" "$rate" "$(echo "$rate / $ossl" | bc -l)" "$cpu" "$(echo "2 * 1024 / $ossl" | bc -l)"
    kill "$SIDECAR_PID"; wait "$SIDECAR_PID" 2>/dev/null || true
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}')
  printf '    openssl sha256 one core: %.0f MiB/s   ingest (median): %.0f MiB/s   ratio: %.2f\n' "$ossl" "$median" "$(echo "$median / $ossl" | bc -l)"
fi

if [[ "$which" == *" c "* ]]; then
  SIZE=$((2 * 1024 * 1024 * 1024))
  head -c "$SIZE" /dev/urandom >"$WORK/big.bin"
  start_sidecar 18804 "$WORK/c-data"
  HASH=$(upload 18804 "$WORK/big.bin")
  kill "$SIDECAR_PID"; wait "$SIDECAR_PID" 2>/dev/null || true
  echo "(c) sidecar memory while 100 clients stream a 2 GiB blob for ${DUR}s"
  echo "    fast clients read at up to 40 MB/s each, slow ones at 2 MB/s; anonymous RSS is sampled every 0.2 s"
  # Without the chunk tier memory is the streaming machinery alone; with it, the tier's
  # byte budget (commons share of --cache-chunk-mib) comes on top.
  for run in "fast:40M:0" "fast:40M:1024" "slow:2M:0" "slow:2M:1024"; do
    IFS=: read -r speed rate tier <<<"$run"
    start_sidecar 18804 "$WORK/c-data" --cache-chunk-mib "$tier"
    base=$(awk '/RssAnon/ {print $2}' "/proc/$SIDECAR_PID/status")
    CURLS=()
    for i in $(seq 100); do
      curl -s --limit-rate "$rate" -o /dev/null "http://127.0.0.1:18804/api/blob/$HASH" & CURLS+=($!)
    done
    anon=0
    for _ in $(seq $((DUR * 5))); do
      a=$(awk '/RssAnon/ {print $2}' "/proc/$SIDECAR_PID/status"); [ "$a" -gt "$anon" ] && anon=$a
      sleep 0.2
    done
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SIDECAR_PID/status")
    sent=$(curl -s "http://127.0.0.1:18804/metrics" | awk '/^elohim_bytes_out_total/ {print $2}')
    kill "${CURLS[@]}" 2>/dev/null || true; wait "${CURLS[@]}" 2>/dev/null || true
    kill "$SIDECAR_PID"; wait "$SIDECAR_PID" 2>/dev/null || true
    printf '    %-4s clients, --cache-chunk-mib %-5s anon RSS idle: %5.1f MiB  peak anon RSS: %6.1f MiB  peak RSS (VmHWM): %6.1f MiB  sent: %5.0f MiB\n' \
      "$speed" "$tier" "$(echo "$base/1024" | bc -l)" "$(echo "$anon/1024" | bc -l)" "$(echo "$hwm/1024" | bc -l)" "$(echo "$sent/1048576" | bc -l)"
    [ "$speed:$tier" = "slow:0" ] && SLOW_ANON=$anon
  done
  # The reference: nginx (sendfile, two workers) serving the same file to 100 slow clients.
  mkdir -p "$WORK/cwww" && ln -f "$WORK/big.bin" "$WORK/cwww/big.bin" && chmod -R a+rX "$WORK/cwww"
  cat >"$WORK/nginx-c.conf" <<NGINX
worker_processes 2; daemon off; pid $WORK/nginx-c.pid; error_log $WORK/nginx-c-error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; server { listen 127.0.0.1:18806; root $WORK/cwww; } }
NGINX
  nginx -c "$WORK/nginx-c.conf" -p "$WORK" & NGINX_PID=$!; PIDS+=($NGINX_PID)
  sleep 1
  nginx_anon() { local sum=0 p; for p in $NGINX_PID $(pgrep -P "$NGINX_PID"); do
    sum=$((sum + $(awk '/RssAnon/ {print $2}' "/proc/$p/status"))); done; echo "$sum"; }
  CURLS=()
  for i in $(seq 100); do
    curl -s --limit-rate 2M -o /dev/null "http://127.0.0.1:18806/big.bin" & CURLS+=($!)
  done
  nanon=0
  for _ in $(seq $((DUR * 5))); do
    a=$(nginx_anon); [ "$a" -gt "$nanon" ] && nanon=$a
    sleep 0.2
  done
  kill "${CURLS[@]}" 2>/dev/null || true; wait "${CURLS[@]}" 2>/dev/null || true
  kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true
  printf '    slow clients, nginx (master + 2 workers)  peak anon RSS: %6.1f MiB   sidecar/nginx (tier off): %.2f\n' \
    "$(echo "$nanon/1024" | bc -l)" "$(echo "$SLOW_ANON / $nanon" | bc -l)"
fi
