# Sourced by the benches that run standalone sidecars on loopback (replicate.sh, swarm.sh):
# builds the binary, makes a work directory whose sidecars all stop on any exit, and
# defines `start PORT DIR`. Sets BIN, WORK and MIB (BENCH_MIB, default 1024).
# Usage: source "$ROOT/bench/standalone.sh" NAME
source "$ROOT/scripts/setup.sh"
cargo build --manifest-path "$ROOT/Cargo.toml" --quiet -p elohim-media
BIN="$CARGO_TARGET_DIR/debug/elohim-media"
WORK="$(mktemp -d "/tmp/elohim-$1.XXXXXX")"
cleanup() { pkill -f -- "--data-dir $WORK/" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
MIB="${BENCH_MIB:-1024}"

start() { # port dir
  "$BIN" serve --standalone --allow-private-peers --listen "127.0.0.1:$1" --data-dir "$2" >"$WORK/log-$1" 2>&1 &
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.1; done
  echo "sidecar on $1 did not start" >&2; exit 1
}
