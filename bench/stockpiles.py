#!/usr/bin/env python3
"""Stock checks at the size of a large store: see bench/stockpiles.sh."""
import argparse, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Registry, agency_with_users, free_port, log, machine, normalize, run, seed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 1000


def timed(call):
    started = time.time()
    status, body = call()
    return status, body, time.time() - started


def pgbench(reg, seeded, check, args):
    """pgbench running the statements of a batch of sightings (see
    bench/pgbench/stock_sightings.sql)."""
    batches = len(seeded) // BATCH
    rows = "\n".join(f"{i // BATCH}\t{i % BATCH}\t{normalize(s)}\t{fid}" for i, (fid, s) in enumerate(seeded[:batches * BATCH]))
    reg.sql("DROP TABLE IF EXISTS bench_batches; CREATE TABLE bench_batches (batch int, idx int, serial text, firearm_id text)")
    subprocess.run(["psql", reg.url, "-qc", "\\copy bench_batches FROM STDIN"], input=rows, text=True, check=True)
    reg.sql("CREATE INDEX ON bench_batches (batch); ANALYZE bench_batches")
    done = run(["pgbench", "-n", "-M", "prepared", "-c", "1", "-j", "1", "-T", str(args.seconds),
                "-D", f"check={check}", "-D", f"batches={batches}",
                "-f", os.path.join(HERE, "pgbench", "stock_sightings.sql"), reg.url])
    tps = float(next(l for l in done.stdout.splitlines() if l.startswith("tps")).split("=")[1].split()[0])
    return tps * BATCH


def second_check(api, opener):
    """A check of the comparison's own, on an empty armoury, so that the
    registry's check is not touched."""
    _, second = api.call("POST", "/v1/armouries", opener, {"name": "comparison store", "kind": "depot"})
    status, check = api.call("POST", f"/v1/armouries/{second['id']}/stock-checks", opener, {"reference": "BASE"})
    assert status == 201, check
    return check["id"]


def sqlite_base(reg, api, opener, seeded, expected_by):
    """The sqlite3 command line running the statements of each batch of
    sightings, a transaction a batch, on a check of its own (each batch
    once, so each is seen for the first time), against what the
    registry's check `expected_by` expected."""
    check = second_check(api, opener)
    path = reg.url.split("://", 1)[1]
    batches = len(seeded) // BATCH
    values = ",".join(f"({i // BATCH},{i % BATCH},'{normalize(s)}','{fid}')"
                      for i, (fid, s) in enumerate(seeded[:batches * BATCH]))
    setup = ("DROP TABLE IF EXISTS bench_batches; CREATE TABLE bench_batches (batch int, idx int, serial text, firearm_id text); "
             f"INSERT INTO bench_batches VALUES {values}; CREATE INDEX bench_batches_batch ON bench_batches (batch);")
    subprocess.run(["sqlite3", "-cmd", "PRAGMA busy_timeout = 15000;", path], input=setup, check=True, capture_output=True, text=True)
    script = [".output /dev/null"]
    for b in range(batches):
        script.append(f"""BEGIN IMMEDIATE;
SELECT * FROM stock_checks WHERE id = '{check}';
SELECT f.* FROM firearms f WHERE f.serial_normalized IN (SELECT serial FROM bench_batches WHERE batch = {b});
SELECT firearm_id FROM stock_check_expected WHERE check_id = '{expected_by}' AND firearm_id IN (SELECT firearm_id FROM bench_batches WHERE batch = {b});
INSERT INTO stock_check_seen (check_id, firearm_id) SELECT '{check}', firearm_id FROM bench_batches WHERE batch = {b} AND true ON CONFLICT DO NOTHING;
INSERT INTO stock_check_sightings (id, check_id, position, item, result, firearm_id, candidates, sighted_by, sighted_at)
    SELECT lower(hex(randomblob(16))), '{check}', {b * BATCH} + idx, '{{"serial_number":"' || serial || '"}}', 'found', firearm_id, NULL, 'sqlite3', datetime('now')
    FROM bench_batches WHERE batch = {b};
UPDATE stock_checks SET sightings = sightings + {BATCH}, version = version + 1 WHERE id = '{check}';
COMMIT;""")
    started = time.time()
    subprocess.run(["sqlite3", "-cmd", "PRAGMA busy_timeout = 15000; PRAGMA synchronous = FULL;", path],
                   input="\n".join(script), check=True, capture_output=True, text=True)
    return batches * BATCH / (time.time() - started)


def list_holdings(api, token, armoury, expected):
    """Reads what the armoury holds, every page of 1,000: the whole time and
    the median page."""
    pages, cursor, seen = [], None, 0
    started = time.time()
    while True:
        path = f"/v1/armouries/{armoury}/firearms?limit={BATCH}" + (f"&cursor={cursor}" if cursor else "")
        status, page, secs = timed(lambda: api.call("GET", path, token))
        assert status == 200, page
        pages.append(secs)
        seen += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == expected, (seen, expected)
    return time.time() - started, sorted(pages)[len(pages) // 2]


def bench(db, args, work):
    name = f"registry_stock_{os.getpid()}"
    url = (args.pg_url.rsplit("/", 1)[0] + f"/{name}") if db == "postgres" else f"sqlite://{work}/stock.db"
    if db == "postgres":
        subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", args.pg_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    reg = Registry(args, db, url, free_port(), work)
    api = reg.start()
    try:
        agency, tokens = agency_with_users(api, [("opener", ["registrar"]), ("closer", ["registrar"])])
        opener, closer = tokens["opener"], tokens["closer"]
        _, store = api.call("POST", "/v1/armouries", opener, {"name": "Central Armoury", "kind": "armoury"})
        data = os.path.join(work, f"{db}-firearms.tsv")
        # Imported with the armoury as custodian, as an agency brings a store's inventory on.
        seed(reg, api, opener, agency, args.firearms, data, history=False, custodian={"armoury_id": store["id"]})
        if db == "postgres":
            reg.sql("VACUUM ANALYZE firearms")
        seeded = [tuple(l.rstrip("\n").split("\t")) for l in open(data)]
        figures = {}
        figures["list"], figures["page"] = list_holdings(api, opener, store["id"], args.firearms)
        log(f"{db}: listed {args.firearms:,} held in {figures['list']:.2f} s, a page of {BATCH:,} in "
            f"{figures['page'] * 1000:.0f} ms (median)")

        status, check, figures["open"] = timed(lambda: api.call(
            "POST", f"/v1/armouries/{store['id']}/stock-checks", opener, {"reference": "SC-BENCH"}))
        assert status == 201 and check["expected"] == args.firearms, check
        log(f"{db}: opened, expecting {check['expected']:,} in {figures['open']:.2f} s")

        # Everything but the last batch is sighted: those are missing at the close.
        sighted = seeded[:-BATCH]
        started = time.time()
        for i in range(0, len(sighted), BATCH):
            items = [{"serial_number": s} for _, s in sighted[i:i + BATCH]]
            status, answer = api.call("POST", f"/v1/stock-checks/{check['id']}/sightings", opener, {"items": items})
            assert status == 200 and all(r["result"] == "found" for r in answer["results"]), str(answer)[:500]
        figures["sight_secs"] = time.time() - started
        figures["items_per_s"] = len(sighted) / figures["sight_secs"]
        log(f"{db}: {len(sighted):,} sighted in {figures['sight_secs']:.1f} s ({figures['items_per_s']:,.0f} items/s)")

        status, shown, figures["report"] = timed(lambda: api.call("GET", f"/v1/stock-checks/{check['id']}", opener))
        assert status == 200 and len(shown["report"]["missing"]) == BATCH, str(shown)[:500]
        status, closed, figures["close"] = timed(lambda: api.call(
            "POST", f"/v1/stock-checks/{check['id']}/close", closer, {"missing_action": "report_lost"}))
        assert status == 200 and len(closed["report"]["reported_lost"]) == BATCH, str(closed)[:500]
        log(f"{db}: report {figures['report']:.2f} s, close with {BATCH:,} lost events {figures['close']:.2f} s")
        figures["base"] = pgbench(reg, sighted, check["id"], args) if db == "postgres" \
            else sqlite_base(reg, api, opener, sighted, check["id"])
        figures["rss"] = reg.peak_rss_mb()
        return figures
    finally:
        reg.stop()
        if db == "postgres":
            subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--db", default="both", choices=["postgres", "sqlite", "both"])
    p.add_argument("--firearms", type=int, default=50_000)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-stock-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = {db: bench(db, args, work) for db in (["postgres", "sqlite"] if args.db == "both" else [args.db])}
    print(f"## Stock checks, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"An armoury of {args.firearms:,} firearms; {args.firearms - BATCH:,} sighted by serial at {BATCH:,} items "
          f"a request, one client; {BATCH:,} left missing and reported lost at the close.\n")
    print("| database | list what it holds, pages of 1,000: all s / a page ms | open the check s | sightings items/s | "
          "the database alone, same statements, items/s | ratio | report s | close (1,000 lost events) s | "
          "registry peak RSS MB |\n|---|---|---|---|---|---|---|---|---|")
    for db, f in results.items():
        base = f["base"]
        tool = "pgbench" if db == "postgres" else "sqlite3"
        print(f"| {db} | {f['list']:.2f} / {f['page'] * 1000:.0f} | {f['open']:.2f} | {f['items_per_s']:,.0f} | {base:,.0f} ({tool}) | {f['items_per_s'] / base:.2f} | "
              f"{f['report']:.2f} | {f['close']:.2f} | {f['rss']:.0f} |")


if __name__ == "__main__":
    main()
