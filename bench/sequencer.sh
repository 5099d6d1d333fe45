#!/usr/bin/env bash
# The audit sequencer's integration rate on PostgreSQL (bench/sequencer.py).
#   bench/sequencer.sh [--records 50000]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
cargo build --release --quiet --bin registry
exec python3 bench/sequencer.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
