#!/usr/bin/env python3
"""Figures of issue #16, on each database, with the release build:

- peak memory of the registry through the largest accepted import (64 MiB
  of valid rows, then 64 MiB of invalid ones), and through 8 concurrent
  60 MiB POSTs with an Idempotency-Key from a caller who may not import;
- a firearm read's latency (wrk) alone and while 8 worst-case traces run.

    bench/hostile.sh [--db postgres|sqlite|both] [--mib 64]
"""
import argparse, json, os, random, subprocess, sys, tempfile, threading, time
import urllib.request, urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Registry, agency_with_users, free_port, log, machine  # noqa: E402

LONG = 190


def csv_rows(agency, mib, valid):
    """A CSV of about `mib` MiB: registrations, or rows that all fail."""
    import csv, io
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["category", "manufacturer", "model", "calibre", "country_of_manufacture",
                "year_of_manufacture", "serial_number", "markings", "components", "owner", "occurred_at"])
    owner = json.dumps({"kind": "agency", "name": "Ghana Police Service", "agency_id": agency})
    i = 0
    while out.tell() < mib * 1024 * 1024 - 400:
        w.writerow(["assault_rifle" if valid else "ray_gun", "Izhmash", "AKM", "7.62x39mm", "RU", 1978,
                    f"HX-{i:08d}",
                    json.dumps([{"kind": "import", "text": f"GH 2015 B{i % 97}", "country": "GH", "year": 2015}]),
                    json.dumps([{"kind": "bolt", "serial_number": f"B{i:08d}"}]), owner, "2015-06-01T00:00:00Z"])
        i += 1
    return out.getvalue().encode(), i


def post(base, path, token, body, content_type, headers=None):
    req = urllib.request.Request(base + path, data=body, method="POST")
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=1800) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except OSError as e:
        return None, str(e)


def accounts(api):
    agency, tokens = agency_with_users(api, [("hx-registrar", ["registrar"]), ("hx-tracer", ["tracer"])])
    return agency, tokens["hx-registrar"], tokens["hx-tracer"]


def memory(reg, api, agency, registrar, tracer, mib):
    base = api.base
    rows = {}
    rss = {"at start": reg.peak_rss_mb()}
    t0 = time.time()
    body, n = csv_rows(agency, mib, valid=True)
    status, report = post(base, "/v1/firearms/import", registrar, body, "text/csv")
    assert status == 201, (status, str(report)[:500])
    rows["valid"] = (n, time.time() - t0, report["imported"])
    rss[f"after {mib} MiB of valid rows"] = reg.peak_rss_mb()
    del body
    t0 = time.time()
    body, n = csv_rows(agency, mib, valid=False)
    status, report = post(base, "/v1/firearms/import?mode=partial", registrar, body, "text/csv")
    assert status == 200, (status, str(report)[:500])
    rows["invalid"] = (n, time.time() - t0, report["rejected"], len(json.dumps(report)))
    rss[f"after {mib} MiB of invalid rows"] = reg.peak_rss_mb()
    del body
    big = b"x" * (60 * 1024 * 1024)
    codes = []

    def refused(k):
        codes.append(post(base, "/v1/firearms/import", tracer, big, "text/csv", {"Idempotency-Key": f"big-{k}"})[0])

    threads = [threading.Thread(target=refused, args=(k,)) for k in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    rss["after 8 concurrent 60 MiB POSTs by a tracer"] = reg.peak_rss_mb()
    return rss, rows, codes


def seed_long(api, registrar, agency, count):
    owner = {"kind": "agency", "name": "Ghana Police Service", "agency_id": agency}
    lines = []
    for i in range(count):
        text = "AB" + "C" * LONG + f"{i:05d}"
        lines.append(json.dumps({"category": "rifle", "manufacturer": "Norinco", "country_of_manufacture": "CN",
                                 "serial_number": f"LM-{i:06d}", "owner": owner,
                                 "markings": [{"kind": "other", "text": text[:200]}]}))
    status, report = post(api.base, "/v1/firearms/import", registrar, ("\n".join(lines) + "\n").encode(),
                          "application/x-ndjson")
    assert status == 201, (status, str(report)[:300])
    return report["firearms"][0]["id"]


def wrk_read(base, token, firearm_id, seconds, conns=4):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    script.close()
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"{base}/v1/firearms/{firearm_id}"], capture_output=True, text=True).stdout
    os.unlink(script.name)
    lat = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "90%", "99%"):
            v = parts[1]
            lat[parts[0]] = float(v[:-2]) if v.endswith("ms") else (float(v[:-1]) * 1000 if v.endswith("s") and not v.endswith("us") else float(v[:-2]) / 1000)
        if line.startswith("Requests/sec:"):
            lat["rps"] = float(line.split()[1])
        if "Non-2xx" in line:
            lat["non2xx"] = int(line.split()[-1])
    return lat, out


def traces_under_load(api, tracer, firearm_id, seconds):
    base = api.base
    baseline, _ = wrk_read(base, tracer, firearm_id, seconds)
    stop = time.time() + seconds + 2
    done = {"ok": 0, "other": {}, "ms": []}
    worst = "AB" + "*C" * 30 + "*"

    def tracing():
        while time.time() < stop:
            t0 = time.time()
            req = urllib.request.Request(f"{base}/v1/trace?marking={worst}&limit=10")
            req.add_header("Authorization", "Bearer " + tracer)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()
                    done["ok"] += 1
            except urllib.error.HTTPError as e:
                done["other"][e.code] = done["other"].get(e.code, 0) + 1
            done["ms"].append((time.time() - t0) * 1000)

    threads = [threading.Thread(target=tracing) for _ in range(8)]
    [t.start() for t in threads]
    time.sleep(1)
    loaded, _ = wrk_read(base, tracer, firearm_id, seconds)
    [t.join() for t in threads]
    ms = sorted(done["ms"]) or [float("nan")]
    return baseline, loaded, done, ms[len(ms) // 2]


def bench(db, args, work):
    port = free_port()
    url = (args.pg_url.rsplit("/", 1)[0] + f"/registry_hostile_{os.getpid()}") if db == "postgres" \
        else f"sqlite://{work}/hostile.db"
    if db == "postgres":
        subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS registry_hostile_{os.getpid()}"], check=True)
        subprocess.run(["psql", args.pg_url, "-qc", f"CREATE DATABASE registry_hostile_{os.getpid()}"], check=True)
    reg = Registry(args, db, url, port, work)
    api = reg.start({"REGISTRY_WORKERS": "2"})
    try:
        agency, registrar, tracer = accounts(api)
        log(f"{db}: imports")
        rss, rows, codes = memory(reg, api, agency, registrar, tracer, args.mib)
        log(f"{db}: traces under load")
        firearm_id = seed_long(api, registrar, agency, 2000)
        baseline, loaded, done, trace_p50 = traces_under_load(api, tracer, firearm_id, args.seconds)
    finally:
        reg.stop()
        if db == "postgres":
            subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS registry_hostile_{os.getpid()}"])
    print(f"\n### {db}\n")
    print("| peak RSS of the registry | MB |\n|---|---|")
    for k, v in rss.items():
        print(f"| {k} | {v:.0f} |")
    n, secs, imported = rows["valid"]
    print(f"\nvalid import: {n:,} rows, {imported:,} imported in {secs:.1f} s ({n / secs:,.0f} rows/s)")
    n, secs, rejected, size = rows["invalid"]
    print(f"invalid import: {n:,} rows, {rejected:,} rejected in {secs:.1f} s; answer {size / 1024:.0f} KiB")
    print(f"8 tracers' 60 MiB POSTs answered: {sorted(str(c) for c in codes)}")
    print("\n| firearm read (wrk, 4 connections) | p50 ms | p90 ms | p99 ms | req/s | non-2xx |\n|---|---|---|---|---|---|")
    for label, lat in [("alone", baseline), ("with 8 worst-case traces running", loaded)]:
        print(f"| {label} | {lat.get('50%', 0):.2f} | {lat.get('90%', 0):.2f} | {lat.get('99%', 0):.2f} | "
              f"{lat.get('rps', 0):,.0f} | {lat.get('non2xx', 0)} |")
    print(f"\nworst-case traces (`AB*C*C…*`, 2,000 candidates of {LONG + 7} characters): "
          f"{done['ok']} answered 200, others {done['other']}, median {trace_p50:.0f} ms each")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--db", default="both", choices=["postgres", "sqlite", "both"])
    p.add_argument("--mib", type=int, default=64)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-hostile-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"## Hostile input, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}")
    for db in (["postgres", "sqlite"] if args.db == "both" else [args.db]):
        bench(db, args, work)


if __name__ == "__main__":
    main()
