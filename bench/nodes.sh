#!/usr/bin/env bash
# Several registry nodes on one PostgreSQL database behind HAProxy
# (docs/benchmarks.md "Several nodes on one database"): registrations at
# 16 connections through HAProxy to one node and to three, and the checks
# the nodes must agree on afterwards.
#   bench/nodes.sh [--duration S] [--runs N] [--conns N]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
for tool in wrk haproxy; do
    command -v "$tool" >/dev/null || { apt-get install -y "$tool" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$tool" >/dev/null; }; }
done
cargo build --release --quiet --bin registry
exec python3 bench/nodes.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
