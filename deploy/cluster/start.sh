#!/usr/bin/env bash
# Starts a registry cluster on this machine (docs/scaling.md): etcd, two
# PostgreSQL instances under Patroni (primary and synchronous standby),
# three registry nodes and HAProxy, all on loopback. Ctrl-C stops it.
#   deploy/cluster/start.sh [--dir D] [--base-port 5440]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
deploy/cluster/install.sh
cargo build --release --quiet --bin registry
exec python3 deploy/cluster/cluster.py up --binary "$CARGO_TARGET_DIR/release/registry" "$@"
