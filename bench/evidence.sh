#!/usr/bin/env bash
# Evidence for auditors (docs/audit.md, docs/benchmarks.md "Evidence for
# auditors"): full tiles served by the registry against the same bytes
# served as files by the same HTTP server; and an evidence bundle of a
# firearm with 50 events in a log of 10,000,000 entries (PostgreSQL).
#   bench/evidence.sh [--db postgres|sqlite|both] [--firearms N] [--entries N] [--duration S] [--runs N]
#   bench/evidence.sh --smoke   (debug build, seconds: CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
for tool in wrk sqlite3; do
    command -v "$tool" >/dev/null || { apt-get install -y "$tool" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$tool" >/dev/null; }; }
done
if [ "${1:-}" = --smoke ]; then
    shift
    cargo build --quiet --bin registry --example static_files
    exec python3 bench/evidence.py --binary "$CARGO_TARGET_DIR/debug/registry" \
        --static-binary "$CARGO_TARGET_DIR/debug/examples/static_files" --db sqlite \
        --firearms 1000 --duration 1 --runs 1 --entries 20000 --events 10 --samples 5 "$@"
fi
cargo build --release --quiet --bin registry --example static_files
exec python3 bench/evidence.py --binary "$CARGO_TARGET_DIR/release/registry" \
    --static-binary "$CARGO_TARGET_DIR/release/examples/static_files" "$@"
