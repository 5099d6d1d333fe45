#!/usr/bin/env python3
"""National reports at national size: see bench/reports.sh."""
import argparse, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import drop_db, scratch_db, PASSWORD, Registry, agency_with_users, free_port, log, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATEGORIES = ["revolver", "self_loading_pistol", "rifle", "carbine", "shotgun", "sub_machine_gun", "assault_rifle",
              "light_machine_gun", "heavy_machine_gun", "grenade_launcher", "portable_anti_tank_gun",
              "recoilless_rifle", "portable_anti_tank_launcher", "portable_anti_aircraft_launcher", "mortar",
              "other_small_arm", "other_light_weapon"]
PARTNERS = ["FR", "DE", "BE", "TG", "NG", "CI", "BF", "SN", "ML", "NE", "US", "GB", "IT", "ES", "BR", "ZA", "KE",
            "EG", "MA", "TN", "CM", "BJ", "LR", "SL", "GN", "GM", "CZ", "AT", "RU", "CN"]
METHODS = ["cutting", "crushing", "shredding", "smelting", "burning", "detonation", "other"]
OUTCOMES = ["identified", "not_found", "insufficient_information", "declined"]


def arr(items):
    return "ARRAY[" + ",".join(f"'{x}'" for x in items) + "]"


def load(reg, n, agencies, user_id, chunk):
    """Writes n firearms with five events each straight into the tables, as
    a migration from an older register would, in chunks: firearm i is
    registered on one of 9,000 days from 2001 by one of the agencies and
    has an event every 30 days after; what the fourth and fifth events are follows i % 10
    (exports and imports with 30 partner countries, losses and
    recoveries, seizures and destructions by seven methods)."""
    started = time.time()
    ag = arr(agencies)
    fid = "'00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0')"
    # A hash of i spreads the firearms over agencies, categories and days
    # as real records are, rather than in a short cycle that the counts
    # would fold into few rows.
    h = "abs(hashint8(i::bigint))"
    day = f"(TIMESTAMP '2001-01-01 09:00' + (({h} / 340) % 9000) * INTERVAL '1 day')"
    agency = f"({ag})[1 + {h} % {len(agencies)}]"
    for lo in range(1, n + 1, chunk):
        hi = min(n, lo + chunk - 1)
        reg.sql(f"""SET session_replication_role = replica; SET synchronous_commit = off;
INSERT INTO firearms (id, category, manufacturer, manufacturer_key, model, calibre, country_of_manufacture,
  year_of_manufacture, serial_number, serial_normalized, markings, components, status, owner, custodian,
  responsible_agency_id, notes, version, created_at, updated_at)
SELECT {fid}, ({arr(CATEGORIES)})[1 + ({h} / 20) % 17], 'Maker ' || (i % 50), 'maker ' || (i % 50), NULL, NULL, 'AT', NULL,
  'S' || i, 'S' || i, '[]', '[]',
  CASE i % 10 WHEN 2 THEN 'destroyed' WHEN 3 THEN 'exported' ELSE 'active' END,
  '{{"kind":"agency","name":"Agency"}}', NULL, {agency}, NULL, 5, {day}, {day}
FROM generate_series({lo}, {hi}) i;
INSERT INTO firearm_events (id, firearm_id, sequence, event_type, occurred_at, recorded_at, recorded_by_user_id,
  recorded_by_username, recorded_by_agency_id, details)
SELECT '00000000-0000-7000-9000-' || lpad(to_hex(i * 5 + s), 12, '0'), {fid}, s, t.kind,
  {day} + (s - 1) * INTERVAL '30 days', now(), '{user_id}', 'bench', {agency}, t.details
FROM generate_series({lo}, {hi}) i CROSS JOIN generate_series(1, 5) s
CROSS JOIN LATERAL (SELECT
  CASE WHEN s = 1 THEN 'registered' WHEN s = 2 THEN 'custody_transfer' WHEN s = 3 THEN 'ownership_transfer'
       WHEN s = 4 THEN (ARRAY['export','reported_lost','seized','marking_added','reported_stolen',
                              'marking_added','marking_added','marking_added','marking_added','marking_added'])[1 + i % 10]
       ELSE (ARRAY['import','recovered','destroyed','export','recovered',
                   'custody_transfer','custody_transfer','custody_transfer','custody_transfer','custody_transfer'])[1 + i % 10]
  END AS kind,
  CASE WHEN s = 4 AND i % 10 = 0 OR s = 5 AND i % 10 = 3
         THEN '{{"to_country":"' || ({arr(PARTNERS)})[1 + i % 30] || '","licence_number":"E-' || i || '"}}'
       WHEN s = 5 AND i % 10 = 0
         THEN '{{"from_country":"' || ({arr(PARTNERS)})[1 + i % 30] || '","licence_number":"I-' || i || '","marking":'
              || CASE WHEN i % 20 = 0 THEN '{{"kind":"import","text":"GH ' || i || '"}}' ELSE 'null' END || '}}'
       WHEN s = 5 AND i % 10 = 2 THEN '{{"method":"' || ({arr(METHODS)})[1 + i % 7] || '"}}'
       ELSE '{{}}' END AS details) t;""")
        log(f"  {hi:,} firearms and {hi * 5:,} events written ({time.time() - started:.0f} s)")
    return time.time() - started


def load_requests(reg, n, agencies, user_id):
    """n trace requests sent over 2016-2025 between the agencies, four in
    five answered (each outcome in turn), the rest open past their date."""
    ag = arr(agencies)
    k = len(agencies)
    reg.sql(f"""SET session_replication_role = replica;
INSERT INTO trace_requests (id, reference, from_agency_id, to_agency_id, created_by_user_id, firearm, circumstances,
  urgency, respond_by, status, candidates, acknowledged_at, acknowledged_by, response, responded_at, responded_by,
  version, created_at, updated_at, outcome)
SELECT '00000000-0000-7000-a000-' || lpad(to_hex(i), 12, '0'), 'TR-BENCH-' || i, ({ag})[1 + i % {k}],
  ({ag})[1 + (i + 1) % {k}], '{user_id}', '{{}}', '{{}}', 'normal', at + INTERVAL '30 days',
  CASE WHEN i % 5 = 4 THEN 'open' ELSE 'answered' END, '[]', NULL, NULL,
  CASE WHEN i % 5 = 4 THEN NULL ELSE '{{"outcome":"' || ({arr(OUTCOMES)})[1 + i % 4] || '"}}' END,
  CASE WHEN i % 5 = 4 THEN NULL ELSE at + (i % 20) * INTERVAL '1 day' END,
  CASE WHEN i % 5 = 4 THEN NULL ELSE '{user_id}' END, 1, at, at,
  CASE WHEN i % 5 = 4 THEN NULL ELSE ({arr(OUTCOMES)})[1 + i % 4] END
FROM generate_series(1, {n}) i, LATERAL (SELECT TIMESTAMP '2016-01-01' + (i % 3650) * INTERVAL '1 day' AS at) a;""")


def recount(reg):
    """Fills the counts from the records with the migration's own backfill:
    what the migration did for the registry's earlier records."""
    up = open(os.path.join(ROOT, "migrations/postgres/2026-12-01-000008_reports/up.sql")).read()
    backfill = up.split("-- backfill: begin")[1].split("-- backfill: end")[0]
    started = time.time()
    reg.sql("SET work_mem = '256MB'; TRUNCATE event_counts, firearm_counts; " + backfill)
    return time.time() - started


def timed(api, token, path, csv, runs):
    """Milliseconds of each of `runs` requests."""
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        status, body = api.call("GET", path, token) if not csv else csv_call(api, token, path)
        assert status == 200, str(body)[:300]
        out.append((time.perf_counter() - started) * 1000)
    return out


def csv_call(api, token, path):
    import urllib.request
    req = urllib.request.Request(api.base + path, headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()


def bench(args, work):
    name, url = scratch_db(args.pg_url, "registry_reports")
    reg = Registry(args, "postgres", url, free_port(), work)
    api = reg.start()
    try:
        agency, tokens = agency_with_users(api, [("clerk", ["registrar"])])
        admin = api.token("admin", PASSWORD)
        agencies = [agency]
        for k in range(1, args.agencies):
            country = "GH" if k < args.agencies // 2 else PARTNERS[k % len(PARTNERS)]
            status, a = api.call("POST", "/v1/agencies", admin, {"name": f"Agency {k}", "country": country, "kind": "police"})
            assert status == 201, a
            agencies.append(a["id"])
        env = dict(os.environ, DATABASE_URL=url, REGISTRY_NEW_USER_PASSWORD=PASSWORD,
                   REGISTRY_DATA_DIR=os.path.join(work, "data-postgres"))
        subprocess.run([args.binary, "user", "create", "--username", "auditor", "--agency-id", agency,
                        "--role", "auditor"], env=env, check=True, capture_output=True)
        auditor = api.token("auditor", PASSWORD)
        uid = reg.sql("SELECT id FROM users WHERE username = 'clerk'")
        f = {"load": load(reg, args.firearms, agencies, uid, args.chunk)}
        load_requests(reg, args.requests, agencies, uid)
        f["recount"] = recount(reg)
        started = time.time()
        reg.sql("VACUUM ANALYZE")
        f["vacuum"] = time.time() - started
        f["events"] = int(reg.sql("SELECT count(*) FROM firearm_events"))
        f["firearms"] = int(reg.sql("SELECT count(*) FROM firearms"))
        f["count_rows"] = int(reg.sql("SELECT count(*) FROM event_counts"))
        f["size"] = reg.sql("SELECT pg_size_pretty(pg_database_size(current_database()))")
        f["n_2025"] = int(reg.sql("SELECT COALESCE(SUM(n), 0) FROM event_counts WHERE day BETWEEN 20250101 AND 20251231"))
        reads = [("ITI report", "/v1/reports/iti?year=2025"),
                 ("ATT report, exports", "/v1/reports/att?year=2025&direction=exports"),
                 ("ATT report, imports", "/v1/reports/att?year=2025&direction=imports"),
                 ("SDG 16.4.2", "/v1/reports/sdg-16-4-2?from=2025-01-01&to=2025-12-31"),
                 ("statistics, all agencies, 2025", "/v1/statistics?from=2025-01-01&to=2025-12-31"),
                 ("statistics, all agencies, all time", "/v1/statistics"),
                 ("statistics, one agency, 2025", f"/v1/statistics?from=2025-01-01&to=2025-12-31&agency_id={agency}")]
        f["reads"] = []
        for label, path in reads:
            for csv in (False, True):
                ms = timed(api, auditor, path, csv, args.runs)
                f["reads"].append((label, "CSV" if csv else "JSON", statistics.median(ms), max(ms)))
        started = time.time()
        cli = subprocess.run([args.binary, "report", "iti", "--year", "2025", "--format", "csv"], env=env,
                             capture_output=True, text=True, check=True)
        f["cli"] = time.time() - started
        f["cli_lines"] = len(cli.stdout.splitlines())
        return f
    finally:
        reg.stop()
        if not args.keep:
            drop_db(args.pg_url, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--firearms", type=int, default=10_000_000)
    p.add_argument("--requests", type=int, default=500_000)
    p.add_argument("--agencies", type=int, default=20)
    p.add_argument("--chunk", type=int, default=500_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-reports-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    f = bench(args, work)
    print(f"## National reports, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"PostgreSQL, {f['firearms']:,} firearms and {f['events']:,} events ({f['n_2025']:,} in 2025) over "
          f"{args.agencies} agencies, and {args.requests:,} trace requests; database {f['size']}. Loaded in "
          f"{f['load']:.0f} s, counts filled from the records by the migration's backfill in {f['recount']:.0f} s "
          f"({f['count_rows']:,} rows), VACUUM ANALYZE {f['vacuum']:.0f} s. Each read {args.runs} times over HTTP "
          f"as an auditor (on the record).\n")
    print("| read | format | median ms | max ms | target |\n|---|---|---|---|---|")
    for label, fmt, med, worst in f["reads"]:
        target = "< 2,000" if "report" in label or "SDG" in label else ""
        print(f"| {label} | {fmt} | {med:,.0f} | {worst:,.0f} | {target} |")
    print(f"\n`registry report iti --year 2025 --format csv`: {f['cli']:.1f} s including start-up "
          f"({f['cli_lines']} lines).")


if __name__ == "__main__":
    main()
