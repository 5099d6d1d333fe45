#!/usr/bin/env python3
"""Evidence for auditors: see bench/evidence.sh and docs/audit.md.

1. Tiles: full level-0 tiles under /tlog/tile/ (REGISTRY_TLOG_PUBLIC=true)
   against the same bytes served as files by the same HTTP server
   (examples/static_files.rs: actix-web, the same number of workers),
   driven by wrk over the same random paths, runs alternating; medians.
2. Bundles (PostgreSQL): a log of N entries is written straight into the
   database as a real RFC 9162 tree (leaf and node hashes computed by
   PostgreSQL), the registry starts on it, one firearm gets 50 events,
   and GET /v1/firearms/{id}/evidence is timed from the client; the
   bundle is then checked with `registry audit verify-evidence`.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PASSWORD, Api, Registry, agency_with_users, drop_db, free_port, log, machine,  # noqa: E402
                     run, scratch_db, seed)


def wrk(port, lua, duration, conns):
    out = run(["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "-s", lua, f"http://127.0.0.1:{port}"]).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return float(out.split("Requests/sec:")[1].split()[0])


def tile_index(n):
    """`<N>` of a tile path: 3-digit elements, all but the last after `x`."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def fetch(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def tiles(args, db, work):
    if db == "postgres":
        name, url = scratch_db(args.pg_url, "registry_tiles")
    else:
        name, url = None, f"sqlite://{work}/tiles.db"
    reg = Registry(args, db, url, free_port(), work)
    try:
        api = reg.start({"REGISTRY_TLOG_PUBLIC": "true"})
        agency, tokens = agency_with_users(api, [("registrar", ["registrar"])])
        log(f"[{db}] tiles: seeding {args.firearms:,} firearms")
        seed(reg, api, tokens["registrar"], agency, args.firearms, os.path.join(work, "ids"), history=False)
        base = f"http://127.0.0.1:{reg.port}/tlog"
        size = int(fetch(base + "/checkpoint").decode().split("\n")[1])
        full = size // 256
        root = os.path.join(work, f"static-{db}")
        paths = []
        for n in range(full):
            path = f"tile/0/{tile_index(n)}"
            data = fetch(f"{base}/{path}")
            assert len(data) == 8192, path
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "wb") as f:
                f.write(data)
            paths.append(path)
        def script(label, prefix):
            lua = os.path.join(work, f"tiles-{db}-{label}.lua")
            with open(lua, "w") as f:
                f.write("local paths = {" + ",".join(f'"{prefix}{p}"' for p in paths) + "}\n")
                f.write("request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n")
            return lua
        port = free_port()
        static = subprocess.Popen([args.static_binary, root, f"127.0.0.1:{port}", "2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        runs = {"registry": [], "static": []}
        try:
            for i in range(args.runs):
                order = [("registry", reg.port, "/tlog/"), ("static", port, "/")]
                for label, p, prefix in (order if i % 2 == 0 else order[::-1]):
                    rps = wrk(p, script(label, prefix), args.duration, args.conns)
                    runs[label].append(rps)
                    log(f"[{db}]   {label}: {rps:,.0f} tiles/s")
        finally:
            static.terminate()
        med = {k: statistics.median(v) for k, v in runs.items()}
        return {"size": size, "tiles": full, "registry": med["registry"], "static": med["static"]}
    finally:
        reg.stop()
        if name:
            drop_db(args.pg_url, name)


# A realistic entry: a custody transfer's columns, its leaf the hash of the
# canonical JSON they give.
ENTRY_SQL = """
INSERT INTO audit_entries (id, seq, at, actor_user_id, actor_username, actor_agency_id, action, target,
                           request_id, event_id, subject, canonical, leaf_hash, content_digest, state_digest)
SELECT id, g, '2026-11-30 10:00:00'::timestamp, u, 'registrar', a, 'firearm.custody_transfer', 'firearm:' || f, r, e,
       'firearm:' || f, '', encode(sha256('\\x00'::bytea || convert_to(c, 'UTF8')), 'hex'),
       md5(e) || md5(f), md5(r) || md5(id)
FROM (SELECT g, i.id, i.f, i.e, i.r, i.u, i.a,
             '{"action":"firearm.custody_transfer","actor":{"agency_id":"' || i.a || '","user_id":"' || i.u ||
             '","username":"registrar"},"at":"2026-11-30T10:00:00.000000Z","content_digest":"' || md5(i.e) || md5(i.f) ||
             '","event_id":"' || i.e || '","id":"' || i.id || '","request_id":"' || i.r || '","state_digest":"' ||
             md5(i.r) || md5(i.id) || '","subject":"firearm:' || i.f || '","target":"firearm:' || i.f || '"}' AS c
      FROM generate_series({lo}, {hi}) g,
           LATERAL (SELECT md5('i' || g)::uuid::text AS id, md5('f' || (g / 5))::uuid::text AS f,
                           md5('e' || g)::uuid::text AS e, md5('r' || g)::uuid::text AS r,
                           md5('u' || (g % 50))::uuid::text AS u, md5('a' || (g % 9))::uuid::text AS a) i) s
"""

NODES_SQL = """
INSERT INTO audit_nodes (level, idx, hash)
SELECT {level}, a.idx / 2, encode(sha256('\\x01'::bytea || decode(a.hash, 'hex') || decode(b.hash, 'hex')), 'hex')
FROM audit_nodes a JOIN audit_nodes b ON b.level = {below} AND b.idx = a.idx + 1
WHERE a.level = {below} AND a.idx % 2 = 0
"""


def synthesize(url, entries):
    """A log of `entries` entries with every complete node of its tree."""
    started, step = time.time(), 1_000_000
    for lo in range(0, entries, step):
        hi = min(entries, lo + step) - 1
        run(["psql", url, "-qc", ENTRY_SQL.replace("{lo}", str(lo)).replace("{hi}", str(hi))])
        log(f"  entries: {hi + 1:,} of {entries:,} ({time.time() - started:.0f} s)")
    run(["psql", url, "-qc", "INSERT INTO audit_nodes (level, idx, hash) SELECT 0, seq, leaf_hash FROM audit_entries"])
    level, width = 1, entries // 2
    while width >= 1:
        run(["psql", url, "-qc", NODES_SQL.format(level=level, below=level - 1)])
        level, width = level + 1, width // 2
    run(["psql", url, "-qc", f"UPDATE audit_state SET size = {entries}"])
    run(["psql", url, "-qc", "VACUUM ANALYZE"])
    log(f"  a log of {entries:,} entries and {level - 1} levels of nodes in {time.time() - started:.0f} s")


def bundles(args, work):
    name, url = scratch_db(args.pg_url, "registry_evidence")
    reg = Registry(args, "postgres", url, free_port(), work)
    try:
        run([args.binary, "migrate"], env=dict(os.environ, DATABASE_URL=url,
                                                 REGISTRY_DATA_DIR=os.path.join(work, "data-postgres")))
        log(f"[postgres] bundles: writing a log of {args.entries:,} entries")
        synthesize(url, args.entries)
        api = reg.start()
        agency, tokens = agency_with_users(api, [("registrar", ["registrar"])])
        token = tokens["registrar"]
        status, f = api.call("POST", "/v1/firearms", token, {
            "category": "assault_rifle", "manufacturer": "Izhmash", "model": "AKM", "calibre": "7.62x39mm",
            "country_of_manufacture": "RU", "serial_number": "EVIDENCE-50",
            "owner": {"kind": "agency", "name": "Ghana Police Service", "agency_id": agency}})
        assert status == 201, f
        for i in range(args.events - 1):
            status, e = api.call("POST", f"/v1/firearms/{f['id']}/events", token,
                                 {"type": "custody_transfer", "to": {"kind": "dealer", "name": f"Armoury {i}"}})
            assert status == 201, e
        while reg.sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") == "t":
            time.sleep(0.2)
        path = f"/v1/firearms/{f['id']}/evidence"
        times = []
        for i in range(args.samples + 5):
            started = time.perf_counter()
            status, bundle = api.call("GET", path, token)
            elapsed = (time.perf_counter() - started) * 1000
            assert status == 200, bundle
            if i >= 5:
                times.append(elapsed)
        assert len(bundle["events"]) == args.events
        file = os.path.join(work, "bundle.json")
        with open(file, "w") as out:
            json.dump(bundle, out)
        # The bundle's own key is enough to show the synthetic tree holds
        # together; an auditor takes the key from /v1/audit/key instead.
        check = run([args.binary, "audit", "verify-evidence", file, "--key", bundle["verifier_key"]]).stdout.strip()
        log(f"  {check}")
        times.sort()
        size = int(bundle["checkpoint"].split("\n")[1])
        return {"size": size, "events": args.events, "median": statistics.median(times),
                "p95": times[int(len(times) * 0.95) - 1], "bytes": os.path.getsize(file)}
    finally:
        reg.stop()
        drop_db(args.pg_url, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--static-binary", required=True)
    p.add_argument("--db", default="both", choices=["postgres", "sqlite", "both"])
    p.add_argument("--firearms", type=int, default=100_000)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--entries", type=int, default=10_000_000)
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--skip-bundles", action="store_true")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-evidence-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = {db: tiles(args, db, work) for db in (["postgres", "sqlite"] if args.db == "both" else [args.db])}
    b = None if args.skip_bundles else bundles(args, work)
    print(f"## Evidence for auditors, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"Full level-0 tiles, chosen at random, by wrk at {args.conns} connections: {args.runs} runs of "
          f"{args.duration} s each way, alternating; medians.\n")
    print("| database | log size | full tiles | registry tiles/s | static files/s (same server) | ratio |\n|---|---|---|---|---|---|")
    for db, r in results.items():
        print(f"| {db} | {r['size']:,} | {r['tiles']:,} | {r['registry']:,.0f} | {r['static']:,.0f} | "
              f"{r['registry'] / r['static']:.2f} |")
    if b:
        print(f"\nEvidence bundle of a firearm with {b['events']} events in a log of {b['size']:,} entries "
              f"(PostgreSQL), {args.samples} requests one after another, timed by the client: median "
              f"{b['median']:.1f} ms, p95 {b['p95']:.1f} ms; {b['bytes'] / 1024:.0f} KB; verified offline.")


if __name__ == "__main__":
    main()
