#!/usr/bin/env bash
# Stock checks at the size of a large store (docs/stockpiles.md,
# docs/benchmarks.md "Stock checks"): an armoury of 50,000 firearms, the
# check opened, every firearm sighted at 1,000 items a request (against
# pgbench running the same statements on PostgreSQL), the report and the
# close.   bench/stockpiles.sh [--db postgres|sqlite|both] [--firearms N] [--seconds S]
#          bench/stockpiles.sh --smoke   (3,000 firearms, debug build: CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y sqlite3 >/dev/null; }; }
command -v pgbench >/dev/null || export PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
if [ "${1:-}" = --smoke ]; then
    shift
    cargo build --quiet
    exec python3 bench/stockpiles.py --binary "$CARGO_TARGET_DIR/debug/registry" --firearms 3000 --seconds 2 "$@"
fi
cargo build --release --quiet
exec python3 bench/stockpiles.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
