#!/usr/bin/env bash
# Registration throughput with the audit log's tree integration running
# versus paused (REGISTRY_AUDIT_SEQUENCER=paused), on SQLite and PostgreSQL,
# over HTTP with wrk. Runs alternate (paused, on, paused, on, ...) and the
# median of each is compared, since a shared machine drifts.
#   bench/audit.sh [SECONDS_PER_RUN] [RUNS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"; RUNS="${2:-3}"; CONNS="${3:-4}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/registry"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PASSWORD="bench-admin-password"
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

start() { # label url port mode
    REGISTRY_AUDIT_SEQUENCER="$4" DATABASE_URL="$2" REGISTRY_BIND="127.0.0.1:$3" \
        REGISTRY_ADMIN_PASSWORD="$PASSWORD" REGISTRY_DATA_DIR="$WORK/data-$1" RUST_LOG=warn \
        "$BIN" serve > "$WORK/$1.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "localhost:$3/ready" >/dev/null && return; sleep 0.1; done
    echo "registry did not start" >&2; cat "$WORK/$1.log" >&2; exit 1
}

setup_registrar() { # port -> sets TOKEN AGENCY
    local base="http://127.0.0.1:$1"
    local admin; admin=$(curl -sf "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | json_field access_token)
    AGENCY=$(curl -s "$base/v1/agencies?limit=1" -H "Authorization: Bearer $admin" | python3 -c "import json,sys; i=json.load(sys.stdin)['items']; print(i[0]['id'] if i else '')")
    if [ -z "$AGENCY" ]; then
        AGENCY=$(curl -sf "$base/v1/agencies" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d '{"name":"Ghana Police Service","country":"GH","kind":"police"}' | json_field id)
        curl -sf "$base/v1/users" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\",\"agency_id\":\"$AGENCY\",\"roles\":[\"registrar\"]}" >/dev/null
    fi
    TOKEN=$(curl -sf "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | json_field access_token)
    export TOKEN AGENCY
}

measure() { # label url port mode -> prints req/s
    start "$1" "$2" "$3" "$4"
    setup_registrar "$3"
    BENCH_LUA="$PWD/bench/lua" RUN="r$RANDOM$RANDOM" wrk -t2 -c"$CONNS" -d"${SECS}s" -s bench/register.lua "http://127.0.0.1:$3" > "$WORK/wrk.txt"
    grep -q "Non-2xx" "$WORK/wrk.txt" && { echo "errors during the run:" >&2; cat "$WORK/wrk.txt" >&2; }
    awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt"
    kill "$PID"; wait "$PID" 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

bench_db() { # label url port
    local paused=() on=()
    for _ in $(seq 1 "$RUNS"); do
        paused+=("$(measure "$1" "$2" "$3" paused)")
        on+=("$(measure "$1" "$2" "$3" on)")
    done
    local mp mo
    mp=$(printf '%s\n' "${paused[@]}" | median)
    mo=$(printf '%s\n' "${on[@]}" | median)
    printf '%-10s paused: %8.1f req/s   on: %8.1f req/s   ratio on/paused: %.2f   (runs paused: %s; on: %s)\n' \
        "$1" "$mp" "$mo" "$(awk -v a="$mo" -v b="$mp" 'BEGIN { print a / b }')" "${paused[*]}" "${on[*]}"
}

echo "registration throughput, $CONNS connections, ${SECS}s x $RUNS runs each"
bench_db sqlite "sqlite://$WORK/bench.db" 18281
DB="registry_audit_bench_$$"
psql "$PG_URL" -qc "CREATE DATABASE $DB"
bench_db postgresql "${PG_URL%/*}/$DB" 18282
psql "$PG_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
