#!/usr/bin/env bash
# The figures of hostile input and overload (docs/benchmarks.md): import
# memory, refused large bodies, reads beside worst-case traces.
#   bench/hostile.sh [--db postgres|sqlite|both] [--mib 64] [--seconds 20]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
exec python3 bench/hostile.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
