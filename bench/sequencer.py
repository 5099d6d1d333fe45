#!/usr/bin/env python3
"""What the audit sequencer integrates a second on PostgreSQL, and what a
firearm with five events stores: see bench/sequencer.sh. Firearms with five history events each are imported
with the sequencer paused (REGISTRY_AUDIT_SEQUENCER=paused), so their
entries wait unsequenced; the registry is then started with its sequencer
running and the time it takes to integrate the backlog (seqs, tree nodes,
signed head) is measured. docs/scaling.md sizes the registry from it.
"""
import argparse, json, os, random, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Registry, agency_with_users, drop_db, free_port, log, machine, scratch_db, seed_rows  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-sequencer-")
    name, url = scratch_db(args.pg_url, "registry_sequencer")
    reg = Registry(args, "postgres", url, free_port(), work)
    try:
        api = reg.start({"REGISTRY_AUDIT_SEQUENCER": "paused"})
        agency, tokens = agency_with_users(api, [("importer", ["registrar"])])
        rng, chunk = random.Random(3), 5000
        for start in range(0, args.records, chunk):
            rows = seed_rows(agency, start, min(chunk, args.records - start), rng)
            body = "".join(json.dumps(r) + "\n" for r in rows).encode()
            status, report = api.call("POST", "/v1/firearms/import", tokens["importer"], body, "application/x-ndjson")
            assert status == 201, str(report)[:500]
        reg.stop()
        pending = int(reg.sql("SELECT count(*) FROM audit_entries WHERE seq IS NULL"))
        log(f"  {pending:,} entries wait; starting the sequencer")
        started = time.time()
        reg.start()
        while reg.sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") == "t":
            time.sleep(0.2)
        seconds = time.time() - started
        reg.sql("VACUUM ANALYZE")
        stored = int(reg.sql("SELECT sum(pg_total_relation_size(relid)) FROM pg_stat_user_tables"))
        firearms = int(reg.sql("SELECT count(*) FROM firearms"))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"## The audit sequencer, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
        print(f"{args.records:,} firearms with five history events imported with the sequencer paused left "
              f"{pending:,} entries unsequenced; a start with the sequencer running integrated them (seqs, tree "
              f"nodes, signed head) in {seconds:.1f} s, start-up included: **{pending / seconds:,.0f} entries a "
              f"second**.\n")
        print(f"What they stored, tables and indexes: {stored / firearms / 1024:,.1f} KB a firearm with its five "
              f"events and their audit entries ({stored / 2**20:,.0f} MiB for {firearms:,} firearms).")
    finally:
        reg.stop()
        drop_db(args.pg_url, name)


if __name__ == "__main__":
    main()
