#!/usr/bin/env bash
# The one command that runs every test on a fresh machine: installs what is missing,
# builds and packs the hApp, then runs the workspace's tests (rules, zomes, sidecar,
# sweettest scenarios with real conductors) and the real-client checks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The node and the tests must share one feature set, or Holochain is compiled twice.
bash "$ROOT/scripts/one-build.sh"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# The real-client checks: xmllint reads the MPD; hls.js and dash.js play in headless Chromium.
ensure_pkgs xmllint:libxml2-utils chromium:chromium node:nodejs npm:npm
[ -d tests/clients/node_modules ] || npm ci --prefix tests/clients --no-audit --no-fund --silent
# Sweettests start several conductors each; two test threads suit a 2-core machine.
cargo test --workspace --exclude media --exclude media_integrity -- --test-threads="${TEST_THREADS:-2}" \
  --skip custodians_e2e --skip nodes_in_separate_processes --skip a_node_whose_bootstrap_and_relay
# The custodian scenario (five conductors, four sidecars, timed replica TTLs) runs alone.
# (--workspace keeps the feature set of the run above, so nothing is rebuilt.)
cargo test --workspace --exclude media --exclude media_integrity --test happ custodians_e2e
# Node processes from the built binary meet through a rendezvous process (also alone).
cargo test --workspace --exclude media --exclude media_integrity --test network
# A real tus client interrupts and resumes an upload against a running sidecar.
python3 -c "import tusclient" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check tuspy
python3 tests/clients/tus_resume.py "$CARGO_TARGET_DIR/debug/elohim-media"
# An independent WebRTC stack (aiortc) publishes by WHIP and watches by WHEP.
python3 -c "import aiortc, numpy" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check aiortc numpy
python3 tests/clients/rtc_interop.py "$CARGO_TARGET_DIR/debug/elohim-media"
# hls.js (the node's player page, and another origin) and dash.js play and switch quality.
node tests/clients/players.mjs "$CARGO_TARGET_DIR/debug/elohim-media"
# A live call in Chromium: a fake camera publishes by WHIP, two pages watch by WHEP.
node tests/clients/calls.mjs "$CARGO_TARGET_DIR/debug/elohim-media"
# The web UI in Chromium against two node processes: upload (with a reload), library,
# watch, share, edit, custodian, and the same bundle under an app host's environment.
node tests/clients/ui.mjs "$CARGO_TARGET_DIR/debug/elohim-media"
