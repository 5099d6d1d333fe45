#!/usr/bin/env python3
"""Holders at national size: see bench/holders.sh."""
import argparse, os, random, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import drop_db, scratch_db, Registry, agency_with_users, free_port, log, machine, run, seed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def hid(i):
    return f"00000000-0000-4000-8000-{i:012d}"


def load_holders(reg, n, seeded, agency):
    """Writes n holders straight into the tables, as a migration from an
    older register would (the registry's own write path is what the
    transfer run measures): holder i is "Kofi Mensah<i>", with a national
    id, a licence for every category, and owns firearm i."""
    started = time.time()
    reg.sql(f"""
INSERT INTO holders (id, kind, name, country, date_of_birth, address, agency_id, recorded_by_agency_id, version, created_at, updated_at)
  SELECT '00000000-0000-4000-8000-' || lpad(i::text, 12, '0'), 'individual', 'Kofi Mensah' || lpad(i::text, 7, '0'), 'GH',
         DATE '1970-01-01' + (i % 15000), 'Ring Road ' || i, NULL, '{agency}', 1, now(), now()
  FROM generate_series(1, {n}) i;
INSERT INTO holder_identifiers SELECT '00000000-0000-4000-8000-' || lpad(i::text, 12, '0'), 0, 'national_id', 'GH', 'GHA-' || i, 'gha' || i
  FROM generate_series(1, {n}) i;
INSERT INTO holder_name_words SELECT w, '00000000-0000-4000-8000-' || lpad(i::text, 12, '0')
  FROM generate_series(1, {n}) i, LATERAL (VALUES ('kofi'), ('mensah' || lpad(i::text, 7, '0'))) v(w);
INSERT INTO licences SELECT gen_random_uuid()::text, '00000000-0000-4000-8000-' || lpad(i::text, 12, '0'), 'FL-' || i, 'possession',
  (SELECT json_agg(DISTINCT category)::text FROM firearms), DATE '2000-01-01', DATE '2099-12-31', 'GPS', 'gps' || chr(31) || 'fl-' || i,
  'valid', NULL, NULL, NULL, '{agency}', 1, now(), now()
  FROM generate_series(1, {n}) i;""")
    rows = "\n".join(f"{i + 1}\t{fid}" for i, (fid, _) in enumerate(seeded))
    reg.sql("DROP TABLE IF EXISTS bench_firearms; CREATE TABLE bench_firearms (n int PRIMARY KEY, firearm_id text)")
    subprocess.run(["psql", reg.url, "-qc", "\\copy bench_firearms FROM STDIN"], input=rows, text=True, check=True)
    reg.sql(f"""INSERT INTO holder_links SELECT firearm_id, 1, TIMESTAMP '2015-06-01', '00000000-0000-4000-8000-' || lpad(n::text, 12, '0'), NULL
  FROM bench_firearms WHERE n <= {n}""")
    reg.sql("VACUUM ANALYZE")
    reg.sql("CHECKPOINT")
    log(f"  {n:,} holders with identifiers, name words, licences and links written in {time.time() - started:.0f} s")


def client(api, seconds, request):
    """One client, one request after another for `seconds`: requests/s."""
    done, started = 0, time.time()
    while time.time() - started < seconds:
        status, body = request()
        assert status in (200, 201), str(body)[:300]
        done += 1
    return done / (time.time() - started)


def pgbench(reg, script, seconds, defines):
    args = ["pgbench", "-n", "-M", "prepared", "-c", "1", "-j", "1", "-T", str(seconds)]
    for k, v in defines.items():
        args += ["-D", f"{k}={v}"]
    done = run(args + ["-f", os.path.join(HERE, "pgbench", script), reg.url])
    return float(next(l for l in done.stdout.splitlines() if l.startswith("tps")).split("=")[1].split()[0])


def bench(args, work):
    name, url = scratch_db(args.pg_url, "registry_holders")
    reg = Registry(args, "postgres", url, free_port(), work)
    api = reg.start()
    try:
        agency, tokens = agency_with_users(api, [("clerk", ["registrar"])])
        token = tokens["clerk"]
        data = os.path.join(work, "firearms.tsv")
        seed(reg, api, token, agency, args.firearms, data, history=False)
        seeded = [tuple(l.rstrip("\n").split("\t")) for l in open(data)]
        load_holders(reg, args.holders, seeded, agency)
        uid = reg.sql("SELECT id FROM users WHERE username = 'clerk'")
        rng = random.Random(3)
        n, nf = args.holders, len(seeded)
        figures = {}
        figures["search"] = client(api, args.seconds, lambda: api.call(
            "GET", f"/v1/holders?name=mensah{rng.randint(1, n):07d}", token))
        figures["search_base"] = pgbench(reg, "holder_search.sql", args.seconds, {"n": n, "uid": uid})
        figures["holds"] = client(api, args.seconds, lambda: api.call(
            "GET", f"/v1/holders/{hid(rng.randint(1, min(n, nf)))}/firearms", token))
        figures["holds_base"] = pgbench(reg, "holder_holds.sql", args.seconds, {"n": min(n, nf), "uid": uid})

        def transfer():
            fid = seeded[rng.randrange(nf)][0]
            return api.call("POST", f"/v1/firearms/{fid}/events", token, {
                "type": "ownership_transfer", "authorization": "sale permit",
                "to": {"holder_id": hid(rng.randint(1, n))}})
        figures["transfer"] = client(api, args.seconds, transfer)
        figures["transfer_base"] = pgbench(reg, "holder_transfer.sql", args.seconds, {"n": n, "nf": nf, "uid": uid})
        figures["rss"] = reg.peak_rss_mb()
        return figures
    finally:
        reg.stop()
        drop_db(args.pg_url, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--holders", type=int, default=1_000_000)
    p.add_argument("--firearms", type=int, default=1_000_000)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-holders-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    f = bench(args, work)
    print(f"## Holders and licences, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"PostgreSQL, {args.holders:,} holders (each with an identifier, a licence and a firearm it owns) and "
          f"{args.firearms:,} firearms; one client against the registry, then `pgbench` with one client running "
          f"the same statements (bench/pgbench/holder_*.sql), {args.seconds} s each.\n")
    print("| workload | registry req/s | pgbench tx/s | ratio | target |\n|---|---|---|---|---|")
    for key, label, target in [("search", "holder search by name", "≥ 0.5"),
                               ("holds", "what does X hold (now)", "≥ 0.5"),
                               ("transfer", "ownership transfer with its licence check", "≥ 0.6")]:
        base = f[key + "_base"]
        print(f"| {label} | {f[key]:,.0f} | {base:,.0f} | {f[key] / base:.2f} | {target} |")
    print(f"\nRegistry peak RSS {f['rss']:.0f} MB.")


if __name__ == "__main__":
    main()
