#!/usr/bin/env bash
# Bytes per firearm by table and index (bench/storage.py).
#   bench/storage.sh [--records 1000000] [--db postgres|sqlite|both] [--workload] [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y sqlite3 >/dev/null; }; }
args=()
profile=release
for a in "$@"; do
    # CI's size: a thousand firearms on the debug build the tests made.
    if [ "$a" = --smoke ]; then args+=(--records 1000 --workload); profile=debug; else args+=("$a"); fi
done
if [ "$profile" = release ]; then cargo build --release --quiet --bin registry; else cargo build --quiet --bin registry; fi
exec python3 bench/storage.py --binary "$CARGO_TARGET_DIR/$profile/registry" "${args[@]}"
