#!/usr/bin/env bash
# Holders at national size (docs/holders.md, docs/benchmarks.md "Holders
# and licences"): 1,000,000 holders and 1,000,000 firearms on PostgreSQL;
# holder search by name, "what does X hold" and an ownership transfer with
# its licence check, each against pgbench running the same statements.
#   bench/holders.sh [--holders N] [--firearms N] [--seconds S]
#   bench/holders.sh --smoke   (2,000 of each, debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y sqlite3 >/dev/null; }; }
command -v pgbench >/dev/null || export PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
if [ "${1:-}" = --smoke ]; then
    shift
    cargo build --quiet
    exec python3 bench/holders.py --binary "$CARGO_TARGET_DIR/debug/registry" --holders 2000 --firearms 2000 --seconds 2 "$@"
fi
cargo build --release --quiet
exec python3 bench/holders.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
