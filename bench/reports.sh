#!/usr/bin/env bash
# National reports at national size (docs/reports.md, docs/benchmarks.md
# "National reports"): 10,000,000 firearms with 50,000,000 events and
# 500,000 trace requests on PostgreSQL; each report for a year, and the
# statistics, timed over HTTP in JSON and CSV.
#   bench/reports.sh [--firearms N] [--requests N] [--runs R] [--keep]
#   bench/reports.sh --smoke   (3,000 firearms, debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
if [ "${1:-}" = --smoke ]; then
    shift
    cargo build --quiet
    exec python3 bench/reports.py --binary "$CARGO_TARGET_DIR/debug/registry" --firearms 3000 --requests 500 \
        --chunk 1000 --runs 2 "$@"
fi
cargo build --release --quiet
exec python3 bench/reports.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
