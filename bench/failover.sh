#!/usr/bin/env bash
# A Patroni switchover and a failover under load, through HAProxy to three
# registry nodes (bench/failover.py, docs/benchmarks.md "Switchover and
# failover"). Starts its own cluster (deploy/cluster) on loopback ports.
#   bench/failover.sh [--seconds 60] [--trace-runs 4] [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
deploy/cluster/install.sh
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }; }
args=()
profile=release
for a in "$@"; do
    # CI's size: a short load on the debug build the tests made.
    if [ "$a" = --smoke ]; then args+=(--seconds 24 --own-writes 50); profile=debug; else args+=("$a"); fi
done
if [ "$profile" = release ]; then cargo build --release --quiet --bin registry; else cargo build --quiet --bin registry; fi
exec python3 bench/failover.py --binary "$CARGO_TARGET_DIR/$profile/registry" "${args[@]}"
