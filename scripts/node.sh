#!/usr/bin/env bash
# The main job: a node — an embedded Holochain conductor with the media hApp installed,
# and the sidecar wired to it. Builds what it needs first (see scripts/setup.sh).
#   scripts/node.sh [--data-dir DIR] [--listen ADDR] [--admin-url ws://HOST:PORT] ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --quiet -p elohim-media
if [ -z "${ELOHIM_PASSPHRASE:-}" ] && [ ! -t 0 ]; then
  echo "node: ELOHIM_PASSPHRASE is not set and there is no terminal to ask on" >&2
  exit 2
fi
args=("$@")
[[ " $* " == *" --data-dir "* ]] || args+=(--data-dir "${ELOHIM_DATA_DIR:-$ROOT/.elohim-node}")
[[ " $* " == *" --ui-dir "* ]] || args+=(--ui-dir "${ELOHIM_UI_DIR:-$ROOT/ui/dist}")
exec "$CARGO_TARGET_DIR/debug/elohim-media" node --happ "$ROOT/workdir/elohim_media.happ" "${args[@]}"
