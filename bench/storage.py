#!/usr/bin/env python3
"""What each table and index costs a firearm: see bench/storage.sh.

Imports firearms with five history events each (the seeding rows of
bench/run.sh) into a fresh database through the registry, waits until the
audit log has integrated every entry, and prints the bytes per firearm of
every table and index, largest first: PostgreSQL from its size functions
after VACUUM, SQLite from its dbstat table. With --workload it then runs a
pass of traces, histories, listings and transfers and names the PostgreSQL
indexes no query used.
"""
import argparse, json, os, random, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Registry, agency_with_users, drop_db, free_port, log, machine, scratch_db, seed_rows  # noqa: E402


def load(api, token, agency, records):
    rng, chunk = random.Random(5), 5000
    for start in range(0, records, chunk):
        rows = seed_rows(agency, start, min(chunk, records - start), rng)
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        status, report = api.call("POST", "/v1/firearms/import", token, body, "application/x-ndjson")
        assert status == 201, str(report)[:500]
        if start // chunk % 20 == 0:
            log(f"  imported {start + chunk:,} of {records:,}")


def pg_sizes(reg):
    rows = reg.sql("""SELECT c.relname, CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END,
                             t.relname, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid)
                                             ELSE pg_table_size(c.oid) END
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      LEFT JOIN pg_index x ON x.indexrelid = c.oid
                      LEFT JOIN pg_class t ON t.oid = COALESCE(x.indrelid, c.oid)
                      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')""")
    return [(name, kind, table, int(size)) for name, kind, table, size in (l.split("|") for l in rows.splitlines())]


def sqlite_sizes(reg):
    path = reg.url.split("://", 1)[1]
    kinds = dict(l.split("|", 1) for l in reg.sql("SELECT name, type || '|' || tbl_name FROM sqlite_master "
                                                   "WHERE type IN ('table', 'index')").splitlines())
    out = []
    for line in subprocess.run(["sqlite3", path, "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"],
                               capture_output=True, text=True, check=True).stdout.splitlines():
        name, size = line.split("|")
        kind, table = kinds.get(name, "index|?").split("|")
        out.append((name, kind, table, int(size)))
    return out


def unused_indexes(reg):
    return reg.sql("SELECT indexrelname FROM pg_stat_user_indexes WHERE idx_scan = 0 ORDER BY 1").split()


def workload(api, tokens, agency, n=300):
    tracer, registrar = tokens["tracer"], tokens["registrar"]
    _, page = api.call("GET", "/v1/firearms?limit=100", registrar)
    ids = [f["id"] for f in page["items"]]
    for i, fid in enumerate(ids):
        _, f = api.call("GET", f"/v1/firearms/{fid}", registrar)
        serial = f["serial_number"]
        for q in (f"serial={serial}&exact=true", f"serial={serial}", f"serial={serial[:2]}*{serial[-3:]}",
                  f"marking=GH2001ACME", f"manufacturer={f['manufacturer']}&calibre={f['calibre']}"):
            api.call("GET", "/v1/trace?" + q.replace(" ", "%20"), tracer)
        api.call("GET", f"/v1/firearms/{fid}/history", registrar)
        api.call("POST", f"/v1/firearms/{fid}/events", registrar,
                 {"type": "custody_transfer", "to": {"kind": "dealer", "name": f"Storage bench {i}"}})
    api.call("GET", "/v1/statistics", registrar)
    api.call("GET", f"/v1/firearms?limit=50&status=active", registrar)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    p.add_argument("--workload", action="store_true")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"## Storage per firearm, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    for db in (["postgres", "sqlite"] if args.db == "both" else [args.db]):
        work = tempfile.mkdtemp(prefix="registry-storage-")
        name = None
        if db == "postgres":
            name, url = scratch_db(args.pg_url, "registry_storage")
        else:
            url = f"sqlite://{work}/registry.db"
        reg = Registry(args, db, url, free_port(), work)
        try:
            api = reg.start()
            agency, tokens = agency_with_users(api, [("registrar", ["registrar"]), ("tracer", ["tracer"])])
            started = time.time()
            load(api, tokens["registrar"], agency, args.records)
            while reg.sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") in ("t", "1"):
                time.sleep(1)
            log(f"  {db}: {args.records:,} firearms in {time.time() - started:.0f} s")
            reg.sql("VACUUM" if db == "sqlite" else "VACUUM ANALYZE")
            sizes = pg_sizes(reg) if db == "postgres" else sqlite_sizes(reg)
            firearms = int(reg.sql("SELECT count(*) FROM firearms"))
            total = sum(s for *_, s in sizes)
            print(f"### {db}: {total / firearms:,.0f} bytes a firearm ({total / 2**20:,.0f} MiB for "
                  f"{firearms:,} firearms with five events each)\n")
            by_table = {}
            for _, _, table, size in sizes:
                by_table[table] = by_table.get(table, 0) + size
            print("| table (with its indexes) | bytes a firearm | of which indexes |\n|---|---|---|")
            for table, size in sorted(by_table.items(), key=lambda t: -t[1]):
                if size / firearms < 1:
                    continue
                idx = sum(s for _, k, t, s in sizes if t == table and k == "index")
                print(f"| {table} | {size / firearms:,.0f} | {idx / firearms:,.0f} |")
            print("\n| relation | kind | bytes a firearm |\n|---|---|---|")
            for rel, kind, table, size in sorted(sizes, key=lambda s: -s[3]):
                if size / firearms >= 1:
                    print(f"| {rel} | {kind} | {size / firearms:,.0f} |")
            if args.workload and db == "postgres":
                reg.sql("SELECT pg_stat_reset()")
                workload(api, tokens, agency)
                time.sleep(1)
                print(f"\nIndexes no query used in a pass of traces (exact, look-alike, wildcard, marking, "
                      f"maker and calibre), records, histories, transfers, listings and statistics: "
                      f"{', '.join(unused_indexes(reg)) or 'none'}")
            print()
        finally:
            reg.stop()
            if name:
                drop_db(args.pg_url, name)


if __name__ == "__main__":
    main()
