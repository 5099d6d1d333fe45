#!/usr/bin/env bash
# Times a 10,000-row CSV import over HTTP on SQLite and on PostgreSQL,
# with the release build, and prints the figures.
#   bench/import.sh [ROWS]      (PostgreSQL at $BENCH_PG_URL, default local trust auth)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-10000}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/registry"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PASSWORD="bench-admin-password"

make_csv() {
    local agency="$1" out="$2"
    python3 - "$agency" "$ROWS" > "$out" <<'PY'
import csv, json, sys
agency, rows = sys.argv[1], int(sys.argv[2])
w = csv.writer(sys.stdout)
w.writerow(["category", "manufacturer", "model", "calibre", "country_of_manufacture",
            "year_of_manufacture", "serial_number", "markings", "components", "owner", "occurred_at"])
for i in range(rows):
    w.writerow(["assault_rifle", "Izhmash", "AKM", "7.62x39mm", "RU", 1978, f"KA-{i:07d}",
                json.dumps([{"kind": "import", "text": f"GH 2015 B{i % 97}", "country": "GH", "year": 2015}]),
                json.dumps([{"kind": "bolt", "serial_number": f"B{i:07d}"}]),
                json.dumps({"kind": "agency", "name": "Ghana Police Service", "agency_id": agency}),
                "2015-06-01T00:00:00Z"])
PY
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

run() {
    local label="$1" url="$2" port="$3"
    DATABASE_URL="$url" REGISTRY_BIND="127.0.0.1:$port" REGISTRY_ADMIN_PASSWORD="$PASSWORD" \
        REGISTRY_DATA_DIR="$WORK/data-$label" RUST_LOG=warn "$BIN" serve > "$WORK/$label.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done
    local base="http://127.0.0.1:$port"
    local admin; admin=$(curl -sf "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | json_field access_token)
    local agency; agency=$(curl -sf "$base/v1/agencies" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"name":"Ghana Police Service","country":"GH","kind":"police"}' | json_field id)
    curl -sf "$base/v1/users" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\",\"agency_id\":\"$agency\",\"roles\":[\"registrar\"]}" >/dev/null
    local token; token=$(curl -sf "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | json_field access_token)
    make_csv "$agency" "$WORK/rows.csv"
    local size; size=$(du -h "$WORK/rows.csv" | cut -f1)
    local result; result=$(curl -s -o "$WORK/report.json" -w '%{http_code} %{time_total}' "$base/v1/firearms/import" \
        -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' --data-binary "@$WORK/rows.csv")
    local imported; imported=$(json_field imported < "$WORK/report.json")
    printf '%-11s %6s rows (%s CSV): HTTP %s, %s s, imported %s\n' "$label" "$ROWS" "$size" \
        "${result%% *}" "${result##* }" "$imported"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run sqlite "sqlite://$WORK/bench.db" 18181
DB="registry_bench_$$"
psql "$PG_URL" -qc "CREATE DATABASE $DB"
run postgresql "${PG_URL%/*}/$DB" 18182
psql "$PG_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
