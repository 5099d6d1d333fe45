#!/usr/bin/env bash
# Query plans of the trace lookups on PostgreSQL over N firearms (default
# 1,000,000), seeded straight into a throwaway database with SQL (the plans
# depend on the data, not on how it got there).
#   bench/explain.sh [FIREARMS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-target}"
cargo build --quiet
DB="registry_explain_$$"
URL="${PG_URL%/*}/$DB"
psql "$PG_URL" -qc "CREATE DATABASE $DB"
trap 'psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
DATABASE_URL="$URL" REGISTRY_DATA_DIR="$(mktemp -d)" "$CARGO_TARGET_DIR/debug/registry" migrate >/dev/null
psql "$URL" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO agencies VALUES ('00000000-0000-7000-8000-000000000001', 'Seed Police', 'seed police', 'GH', 'police', 1, now(), now());
-- Serials of mixed letters, digits and separators: two letters, a dash, seven digits.
CREATE TEMP TABLE seed AS
SELECT g,
       chr(65 + g % 26) || chr(65 + (g / 26) % 26) || '-' || lpad(((g::bigint * 7919) % 10000000)::text, 7, '0') AS serial
FROM generate_series(1, $N) g;
INSERT INTO firearms
SELECT '00000000-0000-7000-9000-' || lpad(g::text, 12, '0'), 'assault_rifle', 'Maker ' || (g % 50), 'maker ' || (g % 50),
       'AKM', '7.62x39mm', 'RU', 1980, serial, replace(serial, '-', ''), '[]', '[]', 'active',
       '{"kind":"agency","name":"Seed Police","agency_id":"00000000-0000-7000-8000-000000000001"}', NULL,
       '00000000-0000-7000-8000-000000000001', NULL, 1, now(), now()
FROM seed;
INSERT INTO firearm_identifiers (firearm_id, position, source, kind, text, normalized, canonical)
SELECT '00000000-0000-7000-9000-' || lpad(g::text, 12, '0'), 0, 'serial', 'serial', serial, replace(serial, '-', ''),
       translate(replace(serial, '-', ''), 'OQDILZSGB', '000112568')
FROM seed;
-- A bolt serial on one firearm in five, an import marking on one in ten.
INSERT INTO firearm_identifiers (firearm_id, position, source, kind, text, normalized, canonical)
SELECT '00000000-0000-7000-9000-' || lpad(g::text, 12, '0'), 1, 'component', 'bolt', 'B' || g, 'B' || g, '8' || g
FROM seed WHERE g % 5 = 0;
INSERT INTO firearm_identifiers (firearm_id, position, source, kind, text, normalized, canonical)
SELECT '00000000-0000-7000-9000-' || lpad(g::text, 12, '0'), 2, 'marking', 'import', 'GH 2015 ' || g, 'GH2015' || g,
       '6H2015' || g
FROM seed WHERE g % 10 = 0;
ANALYZE;
SQL
SERIAL=$(psql "$URL" -tAc "SELECT normalized FROM firearm_identifiers WHERE source = 'serial' ORDER BY firearm_id OFFSET $((N / 2)) LIMIT 1")
CANON=$(psql "$URL" -tAc "SELECT translate('$SERIAL', 'OQDILZSGB', '000112568')")
COLS="firearm_id, position, source, kind, text, normalized"
explain() {
    echo "### $1"
    echo
    echo '```'
    echo "$2"
    psql "$URL" -tAc "EXPLAIN ANALYZE $2"
    echo '```'
    echo
}
echo "Firearms: $(psql "$URL" -tAc "SELECT count(*) FROM firearms"); identifiers: $(psql "$URL" -tAc 'SELECT count(*) FROM firearm_identifiers')"
echo
explain "Exact (exact=true, no wildcards)" "SELECT $COLS FROM firearm_identifiers WHERE normalized = '$SERIAL' LIMIT 2001"
explain "Look-alike (no wildcards)" "SELECT $COLS FROM firearm_identifiers WHERE canonical = '$CANON' LIMIT 2001"
explain "Wildcard, obliterated middle (${SERIAL:0:2}*${SERIAL: -3})" \
    "SELECT $COLS FROM firearm_identifiers WHERE canonical LIKE '${CANON:0:2}%${CANON: -3}' LIMIT 2001"
explain "Wildcard, filed-off beginning (*${SERIAL: -4})" \
    "SELECT $COLS FROM firearm_identifiers WHERE canonical LIKE '%${CANON: -4}' LIMIT 2001"
explain "Prefix plan, two known then unknown (${SERIAL:0:2}?${SERIAL:3:2}*)" \
    "SELECT $COLS FROM firearm_identifiers WHERE canonical >= '${CANON:0:2}' AND canonical < '${CANON:0:1}$(printf "\\x$(printf %x $(( $(printf '%d' "'${CANON:1:1}") + 1 )))")' AND canonical LIKE '${CANON:0:2}_${CANON:3:2}%' LIMIT 2001"
