#!/usr/bin/env bash
# What a custodian round costs as the library grows (issue 18.6): two agents' apps on one
# sweettest conductor, N commons items, one custodian keeping up to 1 000 of them (the rest
# are its own uploads, listed and walked every round but not placed on itself; they share
# one blob, which a round never reads); each round's zome calls and seconds, beside the
# reads a round made before the catalog (every content item and each blob's manifest and
# replicas, every round), replayed in the same run.
# Usage: bench/rounds.sh [SIZES]   (default 100,1000). Publishing is the slow part and
# slows as the conductor's database grows (500 items in 108 s at first, in 300-430 s past
# 4 000), so 10000 takes well over two hours on 2 cores; it was not run to the end
# (BENCHMARKS.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elohim-media/target}"
cd "$ROOT"
[ -f workdir/media.dna ] || (source scripts/setup.sh)
ROUND_COST_SIZES="${1:-100,1000}" cargo test --workspace --exclude media --exclude media_integrity \
  --test happ round_cost -- --ignored --nocapture 2>&1 | grep --line-buffered -E '^\||published|synced|panicked|test result'
