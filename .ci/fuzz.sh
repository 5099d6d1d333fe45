#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis: a
# registry on SQLite, a bounded time, twice: as a user holding every role
# an agency has (admin, registrar, tracer, auditor), and as a system
# administrator, whose role reads no records (separation of duties), so
# one account with every role would see only 403s. Fails on any 5xx and on
# any answer the document does not describe.
#
#   bash .ci/fuzz.sh [seconds]      (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
seconds="${1:-120}"

venv="$HOME/.cache/registry-fuzz-venv"
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

cargo build --quiet
bin="$CARGO_TARGET_DIR/debug/registry"
work="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
export DATABASE_URL="sqlite://$work/registry.db"
export REGISTRY_DATA_DIR="$work/data"
export REGISTRY_BIND="127.0.0.1:$port"
export REGISTRY_ADMIN_PASSWORD="fuzz-admin-password-1"
export REGISTRY_JWT_SECRET="fuzz-jwt-secret-0123456789abcdef0123456789abcdef"
export RUST_LOG=warn
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 60); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.5; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
login() {
    curl -fs "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$2\"}" | json '["access_token"]'
}
admin=$(login admin "$REGISTRY_ADMIN_PASSWORD")
agency=$(curl -fs "$base/v1/agencies" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"name": "Fuzzing Police", "country": "GH", "kind": "police"}' | json '["id"]')
REGISTRY_NEW_USER_PASSWORD="fuzz-user-password-1" "$bin" user create --username fuzzer \
    --agency-id "$agency" --role admin --role registrar --role tracer --role auditor >/dev/null
token=$(login fuzzer "fuzz-user-password-1")
curl -fs "$base/v1/firearms" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "{
  \"category\": \"self_loading_pistol\", \"manufacturer\": \"Glock GmbH\", \"country_of_manufacture\": \"AT\",
  \"serial_number\": \"FZ-1\", \"owner\": {\"kind\": \"agency\", \"name\": \"Fuzzing Police\", \"agency_id\": \"$agency\"}}" >/dev/null

fuzz() {
    echo "== schemathesis as $1, $2 s"
    "$venv/bin/schemathesis" run "$base/openapi.json" \
    -H "Authorization: Bearer $3" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-time "$2" \
    --workers 2 \
    --request-timeout 20 \
    --suppress-health-check all \
    --no-color >"$work/fuzz.out" 2>&1 && rc=0 || rc=$?
    tail -25 "$work/fuzz.out"
    if [ "$rc" -ne 0 ]; then
        # A failed check is the API's fault. An error of schemathesis's own
        # while generating (hypothesis has one on Python 3.11) is not, as
        # long as the registry still answers.
        if grep -q "=== FAILURES ===" "$work/fuzz.out" || ! curl -fs "$base/health" >/dev/null; then
            sed -n '/=== FAILURES ===/,/=== WARNINGS ===/p' "$work/fuzz.out" | head -150
            echo "== server log"; tail -50 "$work/server.log"
            exit 1
        fi
        echo "schemathesis stopped on an error of its own; no check failed"
        grep -A3 "=== ERRORS ===" "$work/fuzz.out" | head -8
    fi
    if grep -q "panicked" "$work/server.log"; then
        echo "== the registry panicked"; grep -B2 -A10 panicked "$work/server.log" | head -40; exit 1
    fi
}
# Both tokens are taken first: fuzzing the login from this address soon
# throttles it (tokens last 15 minutes, longer than the run).
fuzz "an agency user with every agency role" $(( seconds * 3 / 4 )) "$token"
fuzz "the system administrator" $(( seconds / 4 )) "$admin"
