#!/usr/bin/env bash
# Webhook deliveries (docs/webhooks.md, docs/benchmarks.md "Webhook
# deliveries"): registrations per second with a subscriber that answers in
# 500 ms against none, same process; and 10,000 messages queued while the
# receiver is down, timed from its return until all are delivered.
#   bench/webhooks.sh [--db postgres|sqlite|both] [--duration S] [--runs N] [--messages N] [--down S]
#   bench/webhooks.sh --smoke   (debug build, seconds: CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
for tool in wrk sqlite3; do
    command -v "$tool" >/dev/null || { apt-get install -y "$tool" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$tool" >/dev/null; }; }
done
if [ "${1:-}" = --smoke ]; then
    shift
    cargo build --quiet
    exec python3 bench/webhooks.py --binary "$CARGO_TARGET_DIR/debug/registry" --duration 2 --runs 1 \
        --messages 500 --down 3 "$@"
fi
cargo build --release --quiet
exec python3 bench/webhooks.py --binary "$CARGO_TARGET_DIR/release/registry" "$@"
