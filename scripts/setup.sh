#!/usr/bin/env bash
# Everything the node and the tests need on a fresh machine, idempotently:
# system packages, the wasm target, the zomes, and the packed .dna/.happ bundles.
# Sourced by scripts/test.sh and scripts/node.sh so that both share one target dir.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One target dir outside the clone, shared by the node and the tests, so a warm machine
# rebuilds only what changed (the first Holochain build takes ~35 minutes on 2 cores).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elohim-media/target}"

# Installs the Debian package of each `command:package` whose command is missing.
ensure_pkgs() {
  local need_pkgs=()
  for bin_pkg in "$@"; do
    command -v "${bin_pkg%%:*}" >/dev/null 2>&1 || need_pkgs+=("${bin_pkg##*:}")
  done
  if [ "${#need_pkgs[@]}" -gt 0 ] && [ "${ELOHIM_SKIP_APT:-0}" != 1 ]; then
    echo "setup: installing ${need_pkgs[*]}" >&2
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
}
ensure_pkgs ffmpeg:ffmpeg ffprobe:ffmpeg nginx:nginx wrk:wrk bc:bc

rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' \
  || rustup target add wasm32-unknown-unknown

echo "setup: building zomes (wasm32, release)" >&2
cargo build --manifest-path "$ROOT/Cargo.toml" --release --target wasm32-unknown-unknown \
  -p media_integrity -p media --quiet
mkdir -p "$ROOT/workdir"
for z in media_integrity media; do
  cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$z.wasm" "$ROOT/workdir/$z.wasm"
done

# The web UI (ui/dist): the node serves it at `/`, and `pack` puts it in the .webhapp.
ensure_pkgs node:nodejs npm:npm
if [ ! -f "$ROOT/ui/node_modules/.package-lock.json" ] \
  || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
  echo "setup: installing the UI's npm packages" >&2
  npm ci --prefix "$ROOT/ui" --no-audit --no-fund --silent
fi
if [ ! -f "$ROOT/ui/dist/index.html" ] || [ -n "$(find "$ROOT/ui/src" "$ROOT/ui/public" "$ROOT/ui/index.html" \
  "$ROOT/ui/vite.config.js" "$ROOT/ui/package-lock.json" -newer "$ROOT/ui/dist/index.html" -print -quit)" ]; then
  echo "setup: building the web UI (ui/dist)" >&2
  npm run build --prefix "$ROOT/ui" --silent >/dev/null
fi

echo "setup: packing workdir/media.dna, workdir/elohim_media.happ and workdir/elohim_media.webhapp" >&2
cargo run --manifest-path "$ROOT/Cargo.toml" --quiet -p elohim-media -- pack --root "$ROOT"
