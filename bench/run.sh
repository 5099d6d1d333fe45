#!/usr/bin/env bash
# The registry against its database's own ceiling: see bench/harness.py and
# docs/benchmarks.md. Needs PostgreSQL running (BENCH_PG_URL); installs wrk
# if it is missing.
#   bench/run.sh [--records N] [--quick] [--smoke] [--db postgres|sqlite|both] [--out FILE] ...
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
for tool in wrk sqlite3; do
    command -v "$tool" >/dev/null || { apt-get install -y "$tool" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$tool" >/dev/null; }; }
done
command -v pgbench >/dev/null || export PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
profile=release
for a in "$@"; do [ "$a" = "--smoke" ] && profile=debug; done
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
exec python3 bench/harness.py --binary "$CARGO_TARGET_DIR/$profile/registry" "$@"
