#!/usr/bin/env bash
# What the console's browser tests need: Debian's chromium and chromedriver,
# and axe-core from the npm registry (into ~/.cache, outside the clone).
# The tests run this themselves when something is missing; .ci/run runs it
# first so that the install is not counted in a test's time.
set -euo pipefail
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "installing chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq chromium chromium-driver >/dev/null
fi
AXE_DIR="${REGISTRY_AXE_DIR:-$HOME/.cache/registry-console}"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "installing axe-core into $AXE_DIR"
    mkdir -p "$AXE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4 >/dev/null
fi
