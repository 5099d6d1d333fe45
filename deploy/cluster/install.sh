#!/usr/bin/env bash
# Installs what the cluster runs, from Debian's packages, when missing:
# etcd, Patroni (which runs PostgreSQL), HAProxy.
set -euo pipefail
missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v patroni >/dev/null || missing+=(patroni)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v psql >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -q "${missing[@]}" >/dev/null; }
