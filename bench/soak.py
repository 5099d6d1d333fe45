#!/usr/bin/env python3
"""Mixed traffic through faults, on PostgreSQL.

16 connections register firearms, transfer custody, trace, read histories
and import, for a set time. A third of the way in the registry is killed
with SIGKILL and started again; two thirds in PostgreSQL is restarted. At
the end: every acknowledged write is there, `verify` is valid, the audit
seqs are gap-free, and no answer outside the restart windows was a 5xx.

    bench/soak.sh [--minutes 10] [--connections 16]
"""
import argparse, json, os, random, signal, subprocess, sys, tempfile, threading, time, uuid
import urllib.request, urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PASSWORD, Registry, agency_with_users, free_port, log, machine  # noqa: E402

# After a restart, how long answers may still fail while connections heal.
GRACE = 5.0


class Client:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, content_type="application/json", key=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if key:
            req.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None
        except OSError:
            return None, None


class Soak:
    def __init__(self, base, registrar, tracer, agency, deadline):
        self.reg, self.tracer = Client(base, registrar), Client(base, tracer)
        self.agency, self.deadline = agency, deadline
        self.lock = threading.Lock()
        self.answers = []          # (time, operation, status or None)
        self.firearms = []         # acknowledged registrations
        self.events = []           # (firearm id, event id) acknowledged
        self.n = 0

    def owner(self):
        return {"kind": "agency", "name": "Ghana Police Service", "agency_id": self.agency}

    def firearm(self):
        with self.lock:
            self.n += 1
            i = self.n
        return {"category": "rifle", "manufacturer": "Norinco", "country_of_manufacture": "CN",
                "serial_number": f"SK-{os.getpid()}-{i:07d}", "owner": self.owner(),
                "markings": [{"kind": "import", "text": f"GH 2016 SOAK{i % 997}"}]}

    def note(self, op, status):
        with self.lock:
            self.answers.append((time.time(), op, status))

    def one(self, rng):
        known = self.firearms[rng.randrange(len(self.firearms))] if self.firearms else None
        roll = rng.random()
        if roll < 0.30 or known is None:
            status, body = self.reg.call("POST", "/v1/firearms", self.firearm(), key=str(uuid.uuid4()))
            self.note("register", status)
            if status == 201:
                with self.lock:
                    self.firearms.append(body["id"])
        elif roll < 0.55:
            to = {"kind": "dealer", "name": f"Armourer {rng.randrange(50)}"}
            status, body = self.reg.call("POST", f"/v1/firearms/{known}/events",
                                         {"type": "custody_transfer", "to": to}, key=str(uuid.uuid4()))
            # 409: another connection moved it to that holder first.
            self.note("transfer", None if status == 409 else status)
            if status == 201:
                with self.lock:
                    self.events.append((known, body["event"]["id"]))
        elif roll < 0.70:
            status, _ = self.tracer.call("GET", f"/v1/trace?marking=GH2016SOAK{rng.randrange(997)}&limit=5")
            self.note("trace", status)
        elif roll < 0.95:
            status, _ = self.tracer.call("GET", f"/v1/firearms/{known}/history")
            self.note("history", status)
        else:
            rows = [self.firearm() for _ in range(20)]
            body = "".join(json.dumps(r) + "\n" for r in rows).encode()
            status, report = self.reg.call("POST", "/v1/firearms/import", body, "application/x-ndjson",
                                           key=str(uuid.uuid4()))
            self.note("import", status)
            if status == 201:
                with self.lock:
                    self.firearms.extend(f["id"] for f in report["firearms"])

    def worker(self, seed):
        rng = random.Random(seed)
        while time.time() < self.deadline:
            self.one(rng)


def wait_ready(base, limit=120):
    started = time.time()
    while time.time() - started < limit:
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2) as r:
                if r.status == 200:
                    return time.time()
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit("the registry did not come back")


def pg_cluster():
    version = sorted(os.listdir("/etc/postgresql"), key=float)[-1]
    return version


def settle(reg):
    """Waits until the sequencer has integrated every queued entry."""
    for _ in range(600):
        if reg.sql("SELECT count(*) FROM audit_entries WHERE seq IS NULL") == "0":
            return
        time.sleep(1)


def missing(reg, table, ids, batch=2000):
    """The ids not in `table`."""
    gone = []
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        listed = ",".join(f"'{x}'" for x in chunk)
        found = set(reg.sql(f"SELECT id FROM {table} WHERE id IN ({listed})").split())
        gone.extend(x for x in chunk if x not in found)
    return gone


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    name = f"registry_soak_{os.getpid()}"
    subprocess.run(["psql", args.pg_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = args.pg_url.rsplit("/", 1)[0] + "/" + name
    work = tempfile.mkdtemp(prefix="registry-soak-")
    reg = Registry(args, "postgres", url, free_port(), work)
    api = reg.start()
    agency_id, tokens = agency_with_users(api, [("soak-registrar", ["registrar"]), ("soak-tracer", ["tracer"])])
    # An auditor given through the API waits for a second system
    # administrator's approval; the command line is the root of trust.
    env = dict(os.environ, DATABASE_URL=url, REGISTRY_NEW_USER_PASSWORD=PASSWORD,
               REGISTRY_DATA_DIR=os.path.join(work, "data-postgres"))
    subprocess.run([args.binary, "user", "create", "--username", "soak-auditor", "--agency-id", agency_id,
                    "--role", "auditor"], env=env, check=True, capture_output=True)
    tokens["soak-auditor"] = api.token("soak-auditor", PASSWORD)
    seconds = args.minutes * 60
    started = time.time()
    soak = Soak(api.base, tokens["soak-registrar"], tokens["soak-tracer"], agency_id, started + seconds)
    threads = [threading.Thread(target=soak.worker, args=(k,)) for k in range(args.connections)]
    [t.start() for t in threads]
    windows = []
    time.sleep(seconds / 3)
    log("killing the registry (SIGKILL)")
    t_kill = time.time()
    reg.proc.send_signal(signal.SIGKILL)
    reg.proc.wait()
    reg.start()
    windows.append(("registry SIGKILL and restart", t_kill, wait_ready(api.base) + GRACE))
    time.sleep(max(0.0, started + 2 * seconds / 3 - time.time()))
    log("restarting PostgreSQL")
    t_pg = time.time()
    subprocess.run(["pg_ctlcluster", pg_cluster(), "main", "restart"], check=True)
    for _ in range(60):
        if subprocess.run(["psql", args.pg_url, "-qtAc", "SELECT 1"], capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    windows.append(("PostgreSQL restart", t_pg, wait_ready(api.base) + GRACE))
    [t.join() for t in threads]
    elapsed = time.time() - started

    log("checking")
    auditor = tokens["soak-auditor"]
    settle(reg)
    # A machine whose PostgreSQL runs without autovacuum (this one's CI
    # configuration) has no statistics for the tables the soak filled.
    reg.sql("ANALYZE")
    # Read straight from the database, in batches: a read per firearm through
    # the API took longer than the soak.
    lost_firearms = missing(reg, "firearms", soak.firearms)
    lost_events = len(missing(reg, "firearm_events", [e for _, e in soak.events]))
    # And a sample through the API, as a client would look.
    check = Client(api.base, tokens["soak-registrar"])
    sample = random.Random(1).sample(soak.firearms, min(200, len(soak.firearms)))
    lost_firearms += [f for f in sample if check.call("GET", f"/v1/firearms/{f}")[0] != 200]
    status, verify = api.call("GET", "/v1/audit/verify", auditor)
    seqs = reg.sql("SELECT count(seq) || ' ' || coalesce(min(seq), 0) || ' ' || coalesce(max(seq), -1) || ' ' || "
                   "count(*) FILTER (WHERE seq IS NULL) FROM audit_entries").split()
    count, low, high, unsequenced = (int(x) for x in seqs)
    in_window = lambda t: any(a <= t <= b for _, a, b in windows)
    unexpected = [(t, op, s) for t, op, s in soak.answers if s is not None and s >= 500 and not in_window(t)]
    refused_outside = [(t, op) for t, op, s in soak.answers if s is None and not in_window(t) and op != "transfer"]
    in_windows = sum(1 for t, _, s in soak.answers if in_window(t) and (s is None or s >= 500))
    reg.stop()
    subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {name}"])

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    by_op = {}
    for _, op, s in soak.answers:
        by_op.setdefault(op, {}).setdefault(str(s), 0)
        by_op[op][str(s)] += 1
    print(f"## Soak, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"{args.connections} connections for {elapsed / 60:.1f} minutes on PostgreSQL; "
          f"{len(soak.answers):,} requests ({len(soak.answers) / elapsed:,.0f}/s)\n")
    print("| figure | value |\n|---|---|")
    print(f"| acknowledged registrations | {len(soak.firearms):,} |")
    print(f"| acknowledged custody transfers | {len(soak.events):,} |")
    print(f"| acknowledged writes missing afterwards | {len(lost_firearms) + lost_events} |")
    print(f"| audit verify | {'valid' if status == 200 and verify and verify.get('valid') else verify} |")
    print(f"| audit entries sequenced / seq range / unsequenced | {count:,} / {low}–{high} / {unsequenced} |")
    print(f"| seqs gap-free | {'yes' if count == high - low + 1 else 'no'} |")
    print(f"| 5xx outside the restart windows | {len(unexpected)} |")
    print(f"| no answer outside the restart windows | {len(refused_outside)} |")
    print(f"| failed or unanswered inside the windows | {in_windows} |")
    for label, a, b in windows:
        print(f"| window: {label} | {b - a:.1f} s |")
    print("\nanswers by operation:", json.dumps(by_op, sort_keys=True))
    ok = not lost_firearms and not lost_events and not unexpected and count == high - low + 1 and unsequenced == 0 \
        and status == 200 and verify.get("valid")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
