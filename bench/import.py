#!/usr/bin/env python3
"""Bulk import against the database's own loader: see bench/import.sh.

Imports firearms with five history events each (the seeding rows of
bench/run.sh, 5,000 to a request) through POST /v1/firearms/import into a
fresh database, and times it until the audit log has integrated every entry
(a log still integrating is not done). With --baseline it does the same with
an earlier build, in the same run. Then it loads the very rows the registry
wrote into a fresh copy of the same schema, with the same indexes and
triggers, by the database's own bulk loader: PostgreSQL's COPY (pg_restore
of a data-only dump) or the sqlite3 command line's .import. Last, what the
rows take on disk, by table and index (bench/storage.py).
"""
import argparse, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CpuMeter, Registry, agency_with_users, drop_db, free_port, log, machine, scratch_db  # noqa: E402
from storage import load, pg_sizes, sqlite_sizes  # noqa: E402

# What an import writes, in an order that satisfies their foreign keys.
WRITTEN = ["firearms", "firearm_identifiers", "firearm_events", "audit_entries", "audit_nodes", "audit_heads"]


def wait_integrated(reg):
    while reg.sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") in ("t", "1"):
        time.sleep(0.2)


def import_run(args, binary, db, label, work):
    """Imports into a fresh database: (seconds over HTTP, seconds until integrated, reg, scratch name)."""
    name = None
    if db == "postgres":
        name, url = scratch_db(args.pg_url, f"registry_import_{label}")
    else:
        url = f"sqlite://{work}/{label}.db"
    reg = Registry(argparse.Namespace(binary=binary), db, url, free_port(), work)
    api = reg.start()
    agency, tokens = agency_with_users(api, [("registrar", ["registrar"])])
    started, cpu = time.time(), CpuMeter(reg.proc.pid)
    load(api, tokens["registrar"], agency, args.records)
    answered = time.time() - started
    wait_integrated(reg)
    done = time.time() - started
    rest = "the rest" if db == "sqlite" else "database and the rest"
    log(f"  {db} {label}: {args.records:,} firearms answered in {answered:.0f} s, integrated in {done:.0f} s "
        f"({args.records / done:,.0f} firearms/s); "
        f"{cpu.split(args.records, 'client', rest).replace('per request', 'per firearm')}")
    return answered, done, reg, name


def pg_copy(args, src_url, work):
    """Loads the rows of `src_url` into a fresh database of the same schema by COPY: seconds."""
    name, url = scratch_db(args.pg_url, "registry_import_copy")
    try:
        schema = subprocess.run(["pg_dump", "--schema-only", src_url], capture_output=True, text=True, check=True).stdout
        subprocess.run(["psql", "-q", url], input=schema, capture_output=True, text=True, check=True)
        dump = os.path.join(work, "data.dump")
        subprocess.run(["pg_dump", "--data-only", "-Fc", "-f", dump, src_url], check=True)
        started = time.time()
        subprocess.run(["pg_restore", "--data-only", "--single-transaction", "-d", url, dump], check=True)
        seconds = time.time() - started
        log(f"  postgres COPY: {seconds:.0f} s")
        return seconds
    finally:
        drop_db(args.pg_url, name)


def sqlite_import(src_path, work):
    """Loads the written tables of `src_path` by sqlite3's .import into an empty database with the
    same schema (its tables, indexes, triggers and trigram table): seconds."""
    dest = os.path.join(work, "sqlite3-import.db")
    schema = subprocess.run(["sqlite3", src_path, ".schema"], capture_output=True, text=True, check=True).stdout
    subprocess.run(["sqlite3", dest], input=schema, capture_output=True, text=True, check=True)
    script = ["PRAGMA journal_mode = WAL;", "PRAGMA synchronous = FULL;", ".mode csv"]
    for table in WRITTEN:
        csv = os.path.join(work, f"{table}.csv")
        with open(csv, "w") as f:
            subprocess.run(["sqlite3", "-csv", src_path, f"SELECT * FROM {table}"], stdout=f, check=True)
        script.append(f".import {csv} {table}")
    started = time.time()
    out = subprocess.run(["sqlite3", dest], input="\n".join(script) + "\n", capture_output=True, text=True)
    seconds = time.time() - started
    if out.returncode != 0 or out.stderr.strip():
        raise SystemExit(f"sqlite3 .import failed: {out.stderr[:500]}")
    log(f"  sqlite3 .import: {seconds:.0f} s")
    return seconds


def sizes_table(reg, db):
    reg.sql("VACUUM" if db == "sqlite" else "VACUUM ANALYZE")
    sizes = pg_sizes(reg) if db == "postgres" else sqlite_sizes(reg)
    firearms = int(reg.sql("SELECT count(*) FROM firearms"))
    by_table = {}
    for _, _, table, size in sizes:
        by_table[table] = by_table.get(table, 0) + size
    total = sum(by_table.values())
    lines = [f"**{db}: {total / firearms:,.0f} bytes a firearm** ({total / 2**20:,.0f} MiB)\n",
             "| table (with its indexes) | bytes a firearm | of which indexes |", "|---|---|---|"]
    for table, size in sorted(by_table.items(), key=lambda t: -t[1]):
        if size / firearms >= 1:
            idx = sum(s for _, k, t, s in sizes if t == table and k == "index")
            lines.append(f"| {table} | {size / firearms:,.0f} | {idx / firearms:,.0f} |")
    lines += ["", "| relation | kind | bytes a firearm |", "|---|---|---|"]
    lines += [f"| {rel} | {kind} | {size / firearms:,.0f} |" for rel, kind, _, size in sorted(sizes, key=lambda s: -s[3])
              if size / firearms >= 1]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--baseline", help="an earlier build's binary, imported the same way in the same run")
    p.add_argument("--baseline-label", default="baseline")
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"## Bulk import, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"{args.records:,} firearms with five history events each, 5,000 to a request; a run ends when "
          f"every audit entry is integrated.\n")
    rows, storage = [], []
    for db in (["postgres", "sqlite"] if args.db == "both" else [args.db]):
        work = tempfile.mkdtemp(prefix="registry-import-")
        runs = [(args.binary, "this build")] + ([(args.baseline, args.baseline_label)] if args.baseline else [])
        for binary, label in runs:
            answered, done, reg, name = import_run(args, binary, db, label.replace(" ", "_"), work)
            try:
                rate = args.records / done
                rows.append([db, label, f"{answered:,.0f}", f"{done:,.0f}", f"{rate:,.0f}"])
                if label == "this build":
                    if db == "postgres":
                        loader, seconds = "COPY (pg_restore --data-only)", pg_copy(args, reg.url, work)
                    else:
                        loader, seconds = "sqlite3 .import", sqlite_import(reg.url.split("://", 1)[1], work)
                    rows.append([db, loader, "—", f"{seconds:,.0f}", f"{args.records / seconds:,.0f}"])
                    storage.append(sizes_table(reg, db))
            finally:
                reg.stop()
                if name:
                    drop_db(args.pg_url, name)
    print("| database | loaded by | seconds to answer | seconds to integrated | firearms a second |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    for s in storage:
        print(s + "\n")


if __name__ == "__main__":
    main()
