#!/usr/bin/env bash
# The one command that runs every test on a fresh machine: installs what is missing,
# builds and packs the hApp, then runs the workspace's tests (rules, zomes, sidecar,
# sweettest scenarios with real conductors) and the real-client checks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# Sweettests start several conductors each; two test threads suit a 2-core machine.
cargo test --workspace --exclude media --exclude media_integrity -- --test-threads="${TEST_THREADS:-2}"
