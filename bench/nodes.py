#!/usr/bin/env python3
"""Several registry nodes on one PostgreSQL database: see bench/nodes.sh.

Three `registry serve` processes share one database, one JWT secret and one
audit key, behind HAProxy (round robin, keep-alive). wrk registers firearms
at 16 connections through HAProxy to one node, then to all three, in
alternating runs; medians. Afterwards it checks what the nodes must agree
on: every acknowledged registration stored once, serials unique, and the
audit log's seqs gap-free with every entry integrated.
"""
import argparse, os, re, statistics, subprocess, sys, tempfile, time, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PASSWORD, Api, agency_with_users, drop_db, free_port, log, machine, run, scratch_db  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-jwt-secret-0123456789abcdef0123456789abcdef"


def start_node(args, url, work, i, key_file=None):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, REGISTRY_BIND=f"127.0.0.1:{port}", REGISTRY_ADMIN_PASSWORD=PASSWORD,
               REGISTRY_DATA_DIR=os.path.join(work, f"node{i}"), REGISTRY_JWT_SECRET=SECRET,
               REGISTRY_TOKEN_TTL_SECS="86400", RUST_LOG="warn")
    if key_file:
        env["REGISTRY_AUDIT_KEY_FILE"] = key_file
    proc = subprocess.Popen([args.binary, "serve"], env=env, stdout=open(os.path.join(work, f"node{i}.log"), "w"),
                            stderr=subprocess.STDOUT)
    api = Api(f"http://127.0.0.1:{port}")
    for _ in range(300):
        try:
            if api.call("GET", "/ready")[0] == 200:
                return proc, port, api
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"node {i} did not start; see {work}/node{i}.log")


def haproxy(work, ports):
    port = free_port()
    cfg = os.path.join(work, f"haproxy-{len(ports)}.cfg")
    servers = "\n".join(f"    server n{i} 127.0.0.1:{p}" for i, p in enumerate(ports))
    with open(cfg, "w") as f:
        f.write(f"""global
    maxconn 1024
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend registry
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
{servers}
""")
    proc = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def wrk(port, args, token, agency, tag):
    env = dict(os.environ, TOKEN=token, AGENCY=agency, BENCH_LUA=os.path.join(HERE, "lua"),
               RUN=f"{tag}-{uuid.uuid4().hex[:8]}")
    out = run(["wrk", "-t2", f"-c{args.conns}", f"-d{args.duration}s", "-s", os.path.join(HERE, "register.lua"),
               f"http://127.0.0.1:{port}"], env=env).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} registrations were refused:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), int(re.search(r"(\d+) requests in", out).group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-nodes-")
    name, url = scratch_db(args.pg_url, "registry_nodes")
    procs = []
    try:
        first, port1, api = start_node(args, url, work, 1)
        procs.append(first)
        agency, tokens = agency_with_users(api, [("registrar", ["registrar"])])
        key = os.path.join(work, "node1", "audit_key")
        ports = [port1]
        for i in (2, 3):
            proc, port, _ = start_node(args, url, work, i, key)
            procs.append(proc)
            ports.append(port)
        one, one_port = haproxy(work, ports[:1])
        three, three_port = haproxy(work, ports)
        procs += [one, three]
        runs = {"one": [], "three": []}
        sent = 0
        for i in range(args.runs):
            order = [("one", one_port), ("three", three_port)]
            for label, port in (order if i % 2 == 0 else order[::-1]):
                rps, n = wrk(port, args, tokens["registrar"], agency, label)
                runs[label].append(rps)
                sent += n
                log(f"  {label} node{'s' if label == 'three' else ''}: {rps:,.0f} registrations/s")
        sql = lambda q: run(["psql", url, "-qtAc", q]).stdout.strip()  # noqa: E731
        while sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") == "t":
            time.sleep(0.5)
        firearms = int(sql("SELECT COUNT(*) FROM firearms"))
        distinct = int(sql("SELECT COUNT(DISTINCT serial_normalized) FROM firearms"))
        entries, top = sql("SELECT COUNT(*), MAX(seq) FROM audit_entries").split("|")
        gap_free = int(entries) == int(top) + 1
        med = {k: statistics.median(v) for k, v in runs.items()}
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"## Several nodes on one database, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
        print(f"Registrations through HAProxy (round robin, keep-alive) at {args.conns} connections, {args.runs} runs of "
              f"{args.duration} s each way, alternating; medians.\n")
        print("| nodes behind HAProxy | registrations/s (median) | runs |\n|---|---|---|")
        for label in ("one", "three"):
            print(f"| {label} | {med[label]:,.0f} | {' '.join(f'{r:,.0f}' for r in runs[label])} |")
        print(f"\nThree nodes against one: {med['three'] / med['one']:.2f}. Afterwards: {firearms:,} firearms, "
              f"{distinct:,} distinct serials; {int(entries):,} audit entries, seqs 0 to {top}: "
              f"{'gap-free' if gap_free else 'NOT gap-free'}; every entry integrated.")
        if firearms != distinct or not gap_free:
            raise SystemExit("the nodes disagreed")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        drop_db(args.pg_url, name)


if __name__ == "__main__":
    main()
