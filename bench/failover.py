#!/usr/bin/env python3
"""A switchover and a failover under load: see bench/failover.sh.

Starts the cluster of deploy/cluster (etcd, PostgreSQL under Patroni with a
synchronous standby, three registry nodes, HAProxy). 16 connections
register firearms and transfer custody through HAProxy, each write with an
Idempotency-Key and retried with the same key while it is refused. A third
of the way in Patroni is asked for a switchover; two thirds in the new
primary's server is killed with SIGKILL and Patroni fails over. At the end:
every acknowledged write is there, `verify` is valid, the audit seqs are
gap-free, no answer was a 500, and how long each change kept writes from
being acknowledged. Then reads of one's own writes through the standby, the
standby's lag, and (with --trace-runs) exact traces with and without it.
"""
import argparse, json, os, re, random, statistics, subprocess, sys, threading, time, uuid
import urllib.request, urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "deploy", "cluster"))
from harness import PASSWORD, Api, log, machine, run, seed  # noqa: E402
from cluster import ADMIN_PASSWORD, SECRET, Cluster, http  # noqa: E402


class Client:
    """One keep-alive-less HTTP client; answers (status, body, headers)."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, key=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key:
            req.add_header("Idempotency-Key", key)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), e.headers
        except OSError:
            return None, None, {}


class Load:
    def __init__(self, client, agency, deadline):
        self.client, self.agency, self.deadline = client, agency, deadline
        self.lock = threading.Lock()
        self.attempts = []    # (start, end, operation, status or None)
        self.firearms = []    # acknowledged registrations
        self.events = []      # acknowledged transfers: event ids
        self.n = 0
        self.answers = {}     # answer (status and problem code): count
        self.unanswered = 0   # writes that took but whose answer was lost

    def write(self, op, method, path, body):
        """Sends until acknowledged, with one Idempotency-Key; the answer."""
        key = str(uuid.uuid4())
        give_up = time.time() + 120
        while True:
            start = time.time()
            status, answer, _ = self.client.call(method, path, body, key=key)
            label = status if not answer or status in (200, 201) else f"{status} {answer.get('code')}"
            with self.lock:
                self.attempts.append((start, time.time(), op, status))
                self.answers[label] = self.answers.get(label, 0) + 1
            # A key still held by a request cut off by the change is
            # released within a second or so of the database's return.
            in_use = status == 409 and answer and answer.get("code") == "idempotency_key_in_use"
            if (status not in (None, 502, 503) and not in_use) or time.time() > give_up:
                return status, answer
            time.sleep(0.1)

    def applied_unanswered(self, status, answer):
        # Its commit was cut off as it answered: it took, the retry says so.
        if status == 409 and answer and answer.get("code") == "idempotency_key_applied":
            with self.lock:
                self.unanswered += 1

    def one(self, rng, mine):
        with self.lock:
            self.n += 1
            i = self.n
        if rng.random() < 0.6 or not mine:
            body = {"category": "rifle", "manufacturer": "Norinco", "country_of_manufacture": "CN",
                    "serial_number": f"FO-{os.getpid()}-{i:07d}",
                    "owner": {"kind": "agency", "name": "Ghana Police Service", "agency_id": self.agency}}
            status, answer = self.write("register", "POST", "/v1/firearms", body)
            self.applied_unanswered(status, answer)
            if status == 201:
                mine.append(answer["id"])
                with self.lock:
                    self.firearms.append(answer["id"])
        else:
            body = {"type": "custody_transfer", "to": {"kind": "dealer", "name": f"Armourer {i}"}}
            status, answer = self.write("transfer", "POST", f"/v1/firearms/{rng.choice(mine)}/events", body)
            self.applied_unanswered(status, answer)
            if status == 201:
                with self.lock:
                    self.events.append(answer["event"]["id"])

    def worker(self, seed):
        rng, mine = random.Random(seed), []
        while time.time() < self.deadline:
            self.one(rng, mine)


def stalled(load, since, until):
    """The longest time in [since, until] in which no write was
    acknowledged, and the refusals (503, 502, no answer) in it."""
    acked = sorted(end for start, end, _, s in load.attempts if s in (200, 201) and since <= end <= until)
    points = [since] + acked + [until]
    gap = max(b - a for a, b in zip(points, points[1:]))
    refused = sum(1 for start, _, _, s in load.attempts if since <= start <= until and s in (None, 502, 503))
    return gap, refused


class RegistryDb:
    """What harness.seed needs of a registry: SQL on its database."""

    def __init__(self, cluster):
        self.cluster = cluster

    def sql(self, statement):
        return self.cluster.psql(statement, db="registry")


def missing(cluster, table, ids, batch=2000):
    gone = []
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        found = set(cluster.psql(f"SELECT id FROM {table} WHERE id IN ({','.join(repr(x) for x in chunk)})",
                                 db="registry").split())
        gone += [x for x in chunk if x not in found]
    return gone


def served(cluster):
    """Reads by server, summed over the nodes' metrics."""
    total = {"replica": 0, "primary": 0}
    for port in cluster.node_ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            for m in re.finditer(r'registry_reads_served_total\{server="(\w+)"\} (\d+)', r.read().decode()):
                total[m.group(1)] += int(m.group(2))
    return total


def own_writes(cluster, registrar, tracer, agency, n):
    """Registers n firearms, each then traced at once through HAProxy: with
    the write's token (must always be found) and without (may miss)."""
    found = {"token": 0, "none": 0}
    before = served(cluster)
    for i in range(n):
        for mode in ("token", "none"):
            serial = f"RYW-{mode}-{os.getpid()}-{i}"
            body = {"category": "rifle", "manufacturer": "Norinco", "country_of_manufacture": "CN",
                    "serial_number": serial,
                    "owner": {"kind": "agency", "name": "Ghana Police Service", "agency_id": agency}}
            status, _, headers = registrar.call("POST", "/v1/firearms", body, key=str(uuid.uuid4()))
            assert status == 201, status
            token = headers.get("Registry-Consistency")
            assert token, "a write's answer carries Registry-Consistency"
            extra = {"Registry-Consistency": token} if mode == "token" else {}
            status, result, _ = tracer.call("GET", f"/v1/trace?serial={serial}&exact=true", headers=extra)
            assert status == 200, (status, result)
            found[mode] += 1 if result["matches"] else 0
    after = served(cluster)
    return found, {k: after[k] - before[k] for k in after}


def lag_samples(cluster, seconds):
    """The synchronous standby's replay lag as the primary sees it."""
    samples = []
    stop = time.time() + seconds
    while time.time() < stop:
        row = cluster.psql("SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag) * 1000, 0)::numeric(10,2), "
                           "pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication LIMIT 1")
        if row:
            ms, lag_bytes = row.split("|")
            samples.append((float(ms), int(float(lag_bytes))))
        time.sleep(0.25)
    return samples


def trace_rates(args, cluster, agency, tracer_token, registrar_token):
    """Exact traces at 16 connections by a node reading from the standby and
    by one reading from the primary only, alternating; medians."""
    api = Api(cluster.url())
    data = os.path.join(cluster.work, "seeded.tsv")
    seed(RegistryDb(cluster), api, registrar_token, agency, args.trace_records, data, history=False)
    cluster.psql("ANALYZE", db="registry")
    alone = cluster.base + 29
    env = dict(os.environ, DATABASE_URL=cluster.primary_url(), REGISTRY_BIND=f"127.0.0.1:{alone}",
               REGISTRY_DATA_DIR=os.path.join(cluster.work, "node-alone"), REGISTRY_JWT_SECRET=SECRET,
               REGISTRY_AUDIT_KEY_FILE=os.path.join(cluster.work, "node1", "audit_key"), RUST_LOG="warn")
    cluster.spawn("node-alone", [cluster.binary, "serve"], env=env)
    cluster.wait(lambda: http("GET", f"http://127.0.0.1:{alone}/ready")[0] == 200, "a node without the standby")
    rates = {"primary alone": [], "with the standby": []}
    targets = [("primary alone", alone), ("with the standby", cluster.node_ports[0])]
    for i in range(args.trace_runs):
        for label, port in (targets if i % 2 == 0 else targets[::-1]):
            env = dict(os.environ, WORKLOAD="trace_exact", TOKEN=tracer_token, BENCH_DATA=data,
                       BENCH_LUA=os.path.join(HERE, "lua"), RUN=uuid.uuid4().hex[:8])
            out = run(["wrk", "-t2", "-c16", f"-d{args.trace_seconds}s", "-s",
                       os.path.join(HERE, "lua", "workload.lua"), f"http://127.0.0.1:{port}"], env=env).stdout
            if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
                raise SystemExit(f"traces were refused:\n{out}")
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            rates[label].append(rps)
            log(f"  exact traces, {label}: {rps:,.0f}/s")
    return rates


def create_auditor(cluster, agency):
    # An auditor given through the API waits for a second administrator's
    # approval; the command line is the root of trust.
    env = dict(os.environ, DATABASE_URL=cluster.primary_url(), REGISTRY_NEW_USER_PASSWORD=PASSWORD,
               REGISTRY_DATA_DIR=os.path.join(cluster.work, "cli"))
    subprocess.run([cluster.binary, "user", "create", "--username", "fo-auditor", "--agency-id", agency,
                    "--role", "auditor"], env=env, check=True, capture_output=True)


def accounts(api, cluster):
    admin = api.token("admin", ADMIN_PASSWORD)
    _, agency = api.call("POST", "/v1/agencies", admin, {"name": "Ghana Police Service", "country": "GH",
                                                         "kind": "police"})
    tokens = {}
    for name, roles in [("fo-registrar", ["registrar"]), ("fo-tracer", ["tracer"])]:
        status, user = api.call("POST", "/v1/users", admin, {"username": name, "password": PASSWORD,
                                                              "agency_id": agency["id"], "roles": roles})
        assert status == 201, user
        tokens[name] = api.token(name, PASSWORD)
    create_auditor(cluster, agency["id"])
    tokens["fo-auditor"] = api.token("fo-auditor", PASSWORD)
    return agency["id"], tokens


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--seconds", type=float, default=60, help="length of the load")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--base-port", type=int, default=5440)
    p.add_argument("--own-writes", type=int, default=200)
    p.add_argument("--trace-runs", type=int, default=0, help="A/B runs of exact traces (0: none)")
    p.add_argument("--trace-seconds", type=int, default=10)
    p.add_argument("--trace-records", type=int, default=100_000)
    args = p.parse_args()
    cluster = Cluster(args.binary, base=args.base_port)
    ok = False
    try:
        cluster.up()
        api = Api(cluster.url())
        agency, tokens = accounts(api, cluster)
        registrar = Client(cluster.url(), tokens["fo-registrar"])
        started = time.time()
        load = Load(registrar, agency, started + args.seconds)
        threads = [threading.Thread(target=load.worker, args=(k,)) for k in range(args.connections)]
        [t.start() for t in threads]
        lag = lag_samples(cluster, args.seconds / 3)
        log("switchover")
        t_switch = time.time()
        old, new = cluster.switchover()
        cluster.wait_healthy()
        time.sleep(max(0.0, started + 2 * args.seconds / 3 - time.time()))
        log("SIGKILL of the primary's server")
        t_kill = time.time()
        killed = cluster.kill_primary()
        [t.join() for t in threads]
        t_end = time.time()
        cluster.wait_healthy()
        after = cluster.leader()["name"]

        log("checking")
        while cluster.psql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)", db="registry") == "t":
            time.sleep(0.5)
        lost = missing(cluster, "firearms", load.firearms) + missing(cluster, "firearm_events", load.events)
        auditor = Client(cluster.url(), tokens["fo-auditor"])
        status, verify, _ = auditor.call("GET", "/v1/audit/verify")
        seqs = cluster.psql("SELECT count(seq) || ' ' || coalesce(max(seq), -1) || ' ' || "
                            "count(*) FILTER (WHERE seq IS NULL) FROM audit_entries", db="registry").split()
        count, high, unsequenced = (int(x) for x in seqs)
        errors = [a for a in load.attempts if a[3] is not None and a[3] >= 500 and a[3] not in (502, 503)]
        switch_gap, switch_refused = stalled(load, t_switch, t_kill)
        kill_gap, kill_refused = stalled(load, t_kill, t_end)
        steady_gap, _ = stalled(load, started + 2, t_switch)

        tracer = Client(cluster.url(), tokens["fo-tracer"])
        found, by_server = own_writes(cluster, registrar, tracer, agency, args.own_writes)
        rates = trace_rates(args, cluster, agency, tokens["fo-tracer"], tokens["fo-registrar"]) \
            if args.trace_runs else None

        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"## Switchover and failover, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
        print(f"{args.connections} connections registering firearms and transferring custody through HAProxy to "
              f"three registry nodes for {t_end - started:.0f} s; PostgreSQL under Patroni with a synchronous "
              f"standby. Switchover {old} → {new} at {t_switch - started:.0f} s; SIGKILL of {killed}'s server at "
              f"{t_kill - started:.0f} s, after which {after} is primary.\n")
        print("| figure | value |\n|---|---|")
        print(f"| acknowledged registrations / custody transfers | {len(load.firearms):,} / {len(load.events):,} |")
        print(f"| acknowledged writes missing afterwards | {len(lost)} |")
        print(f"| writes that took as their commit was cut off (the retry answered `idempotency_key_applied`) | "
              f"{load.unanswered} |")
        print(f"| audit verify | {'valid' if status == 200 and verify and verify.get('valid') else verify} |")
        print(f"| audit entries / highest seq / unsequenced | {count:,} / {high} / {unsequenced} |")
        print(f"| seqs gap-free | {'yes' if count == high + 1 else 'no'} |")
        print(f"| answers 500 (or any 5xx but 502/503) | {len(errors)} |")
        print(f"| switchover: longest time without an acknowledged write | {switch_gap:.1f} s "
              f"({switch_refused} answers 503 or none, each retried) |")
        print(f"| failover: longest time without an acknowledged write | {kill_gap:.1f} s "
              f"({kill_refused} answers 503 or none, each retried) |")
        print(f"| steady load: longest time without an acknowledged write | {steady_gap:.2f} s |")
        if lag:
            ms = sorted(m for m, _ in lag)
            print(f"| standby replay lag under load, median / max ({len(lag)} samples) | "
                  f"{statistics.median(ms):.1f} / {ms[-1]:.1f} ms, at most {max(b for _, b in lag):,} bytes |")
        print(f"| traced at once after the write, with its token / without | {found['token']} / {found['none']} "
              f"of {args.own_writes} |")
        print(f"| those reads served by the standby / the primary | {by_server['replica']} / {by_server['primary']} |")
        if rates:
            med = {k: statistics.median(v) for k, v in rates.items()}
            print(f"| exact traces at 16 connections, primary alone (median of {args.trace_runs}) | "
                  f"{med['primary alone']:,.0f}/s |")
            print(f"| exact traces at 16 connections, reading from the standby | {med['with the standby']:,.0f}/s "
                  f"({med['with the standby'] / med['primary alone']:.2f}) |")
        print("\nattempts by answer:", json.dumps({str(k): v for k, v in load.answers.items()}, sort_keys=True))
        ok = (not lost and not errors and count == high + 1 and unsequenced == 0 and status == 200
              and verify.get("valid") and found["token"] == args.own_writes)
    finally:
        cluster.down()
    if not ok:
        raise SystemExit(f"the cluster lost or refused what it must not; logs in {cluster.work}")


if __name__ == "__main__":
    main()
