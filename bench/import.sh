#!/usr/bin/env bash
# Bulk import against COPY and sqlite3's .import (bench/import.py), with the
# release build; --baseline REV imports with that commit's build too, in the
# same run (an A/B of two builds).
#   bench/import.sh [--records 1000000] [--db postgres|sqlite|both] [--baseline REV] [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y sqlite3 >/dev/null; }; }
command -v pg_restore >/dev/null || export PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
args=()
profile=release
baseline=""
while [ $# -gt 0 ]; do
    case "$1" in
        # CI's size: a thousand firearms on the debug build the tests made.
        --smoke) args+=(--records 1000); profile=debug ;;
        --baseline) baseline="$2"; shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
build() { if [ "$profile" = release ]; then cargo build --release --quiet --bin registry; else cargo build --quiet --bin registry; fi; }
if [ -n "$baseline" ]; then
    # The earlier build, from a worktree of that commit, kept beside this one.
    kept="$CARGO_TARGET_DIR/registry-$baseline-$profile"
    if [ ! -x "$kept" ]; then
        tree="$(mktemp -d)/baseline"
        git worktree add --detach --quiet "$tree" "$baseline"
        (cd "$tree" && build)
        cp "$CARGO_TARGET_DIR/$profile/registry" "$kept"
        git worktree remove --force "$tree"
        # Cargo names a workspace's artifacts by their path within it, so the
        # worktree's build took this tree's place: build this tree's anew.
        if [ "$profile" = release ]; then cargo clean --quiet --release -p registry; else cargo clean --quiet -p registry; fi
    fi
    args+=(--baseline "$kept" --baseline-label "$baseline")
fi
build
exec python3 bench/import.py --binary "$CARGO_TARGET_DIR/$profile/registry" "${args[@]}"
