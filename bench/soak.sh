#!/usr/bin/env bash
# Mixed traffic through a SIGKILL of the registry and a restart of
# PostgreSQL; checks that nothing acknowledged was lost (bench/soak.py).
# Restarts the local PostgreSQL cluster: run it on a machine of your own.
#   bench/soak.sh [--minutes 10] [--connections 16]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y sqlite3 >/dev/null; }; }
cargo build --release --quiet
exec python3 bench/soak.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
