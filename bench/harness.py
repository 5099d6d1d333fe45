#!/usr/bin/env python3
"""The registry against its database's own ceiling, measured in one run.

For each workload and concurrency, the service is driven over HTTP by wrk
and the same statements are run straight against the database (pgbench on
PostgreSQL, the sqlite3 command line on SQLite), alternating, and the
median of the runs is compared. See docs/benchmarks.md.
"""
import argparse, json, os, platform, random, re, shutil, statistics, subprocess, sys, tempfile, time
import urllib.request, urllib.error, uuid

HERE = os.path.dirname(os.path.abspath(__file__))
# History runs before custody transfers add events to the seeded firearms.
WORKLOADS = ["register", "history", "trace_exact", "trace_lookalike", "trace_wildcard", "custody"]
PASSWORD = "bench-admin-password"
LOG_KEEP = "/tmp/registry-bench-server.log"
WRK_SAMPLE = 100_000
TICKS = os.sysconf("SC_CLK_TCK")
LOOKALIKE = str.maketrans("OQDILZSGB", "000112568")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def normalize(s):
    return re.sub(r"[\s\-./_]", "", s).upper()


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, token=None, body=None, content_type="application/json"):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def token(self, user, password):
        status, body = self.call("POST", "/v1/auth/login", body={"username": user, "password": password})
        assert status == 200, body
        return body["access_token"]


def serial(rng, i):
    """Realistic serials: letters and digits, with and without separators."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    form = i % 4
    if form == 0:
        return f"{rng.choice(letters)}{rng.choice(letters)}-{i:07d}"
    if form == 1:
        return f"{i:08d}{rng.choice(letters)}"
    if form == 2:
        return f"{rng.choice(letters)}{i % 100:02d} {i // 100:06d}"
    return f"K{rng.choice(letters)}/{i:07d}"


def seed_rows(agency, start, count, rng, history=True, custodian=None):
    owner = {"kind": "agency", "name": "Ghana Police Service", "agency_id": agency}
    for i in range(start, start + count):
        s = serial(rng, i)
        row = {"category": rng.choice(["assault_rifle", "self_loading_pistol", "rifle", "shotgun"]),
               "manufacturer": rng.choice(["Izhmash", "Glock GmbH", "Norinco", "FN Herstal", "Beretta"]),
               "model": "M" + str(i % 40), "calibre": rng.choice(["7.62x39mm", "9x19mm", "5.56x45mm"]),
               "country_of_manufacture": rng.choice(["RU", "AT", "CN", "BE", "IT"]), "year_of_manufacture": 1960 + i % 60,
               "serial_number": s, "owner": owner, "occurred_at": "2015-06-01T00:00:00Z",
               # Four events after registration: five history events in all.
               "history": [
                   {"type": "custody_transfer", "to": {"kind": "dealer", "name": f"Armourer {i % 97}"}},
                   {"type": "marking_added", "marking": {"kind": "state", "text": f"GPS {i:07d}"}},
                   {"type": "custody_transfer", "to": {"kind": "dealer", "name": f"Repair shop {i % 31}"}},
                   {"type": "custody_transfer", "to": owner},
               ]}
        if not history:
            del row["history"]
        if custodian:
            row["custodian"] = custodian
        if i % 5 == 0:
            row["components"] = [{"kind": "bolt", "serial_number": f"B{i:08d}"}]
        if i % 3 == 0:
            row["markings"] = [{"kind": "import", "text": f"GH {2000 + i % 25} {rng.choice(['ACME', 'IMPEX', 'ARMCO'])}"}]
        yield row


class Registry:
    def __init__(self, args, db, url, port, work):
        self.args, self.db, self.url, self.port, self.work = args, db, url, port, work
        self.proc = None

    def start(self, extra_env=None):
        env = dict(os.environ, **(extra_env or {}), DATABASE_URL=self.url, REGISTRY_BIND=f"127.0.0.1:{self.port}",
                   REGISTRY_ADMIN_PASSWORD=PASSWORD, REGISTRY_DATA_DIR=os.path.join(self.work, "data-" + self.db),
                   REGISTRY_TOKEN_TTL_SECS="86400", RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"))
        self.proc = subprocess.Popen([self.args.binary, "serve"], env=env,
                                     stdout=open(os.path.join(self.work, self.db + ".log"), "w"), stderr=subprocess.STDOUT)
        api = Api(f"http://127.0.0.1:{self.port}")
        for _ in range(300):
            if self.proc.poll() is not None:
                raise SystemExit(f"the registry exited at start; see {self.work}/{self.db}.log")
            try:
                if api.call("GET", "/ready")[0] == 200:
                    return api
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the registry did not start; see {self.work}/{self.db}.log")

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def sql(self, statement):
        if self.db == "postgres":
            return run(["psql", self.url, "-qtAc", statement]).stdout.strip()
        return run(["sqlite3", self.url.split("://", 1)[1], statement]).stdout.strip()


def agency_with_users(api, users):
    """An agency, and for each (name, roles) a user of it, logged in:
    (agency id, {name: token})."""
    admin = api.token("admin", PASSWORD)
    _, agency = api.call("POST", "/v1/agencies", admin, {"name": "Ghana Police Service", "country": "GH", "kind": "police"})
    tokens = {}
    for name, roles in users:
        status, user = api.call("POST", "/v1/users", admin, {"username": name, "password": PASSWORD,
                                                              "agency_id": agency["id"], "roles": roles})
        assert status == 201, user
        tokens[name] = api.token(name, PASSWORD)
    return agency["id"], tokens


def setup_accounts(api):
    admin = api.token("admin", PASSWORD)
    _, agency = api.call("POST", "/v1/agencies", admin, {"name": "Ghana Police Service", "country": "GH", "kind": "police"})
    users = {}
    for name, roles in [("bench", ["registrar"]), ("bench-tracer", ["tracer", "auditor"])]:
        status, user = api.call("POST", "/v1/users", admin, {"username": name, "password": PASSWORD,
                                                              "agency_id": agency["id"], "roles": roles})
        assert status == 201, user
        users[name] = user["id"]
    return agency["id"], users, api.token("bench", PASSWORD), api.token("bench-tracer", PASSWORD)


def seed(reg, api, token, agency, records, data_file, history=True, custodian=None):
    """Seeds through the bulk import, two requests in flight: while the
    database writes one batch the registry parses the next."""
    from concurrent.futures import ThreadPoolExecutor
    rng = random.Random(7)
    started, chunk = time.time(), 5000

    def post(rows):
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        status, report = api.call("POST", "/v1/firearms/import", token, body, "application/x-ndjson")
        assert status == 201, str(report)[:2000]
        return rows, report

    with open(data_file, "w") as out, ThreadPoolExecutor(2) as pool:
        pending = []
        for start in range(0, records, chunk):
            rows = list(seed_rows(agency, start, min(chunk, records - start), rng, history, custodian))
            pending.append(pool.submit(post, rows))
            while len(pending) > 2 or (pending and start + chunk >= records):
                done_rows, report = pending.pop(0).result()
                for f in report["firearms"]:
                    out.write(f"{f['id']}\t{done_rows[f['row'] - 1]['serial_number']}\n")
            if start // chunk % 20 == 0:
                log(f"  seeded {start + len(rows):,} of {records:,}")
    seeded = time.time() - started
    events = "5 history events" if history else "its registration event"
    log(f"  seeded {records:,} firearms with {events} each in {seeded:.0f} s ({records / seeded:,.0f}/s)")
    started = time.time()
    # EXISTS reads the pending index; a count scanned ten million entries a second.
    while reg.sql("SELECT EXISTS (SELECT 1 FROM audit_entries WHERE seq IS NULL)") in ("t", "1"):
        time.sleep(1)
    log(f"  audit log integrated {time.time() - started:.0f} s later")
    return seeded


def settle(reg):
    """Measures the registry, not the aftermath of its bulk load, as `pgbench
    -i` does: the first read of each freshly written row would otherwise
    write it again (hint bits), autovacuum would reach the tables the import
    and the audit log left dead rows in, and checkpoints would still be
    writing the load out, all during the runs (at 1,000,000 firearms this
    put p99 at hundreds of milliseconds at one connection)."""
    started = time.time()
    reg.sql("VACUUM (ANALYZE)")
    reg.sql("CHECKPOINT")
    log(f"  vacuumed, analysed and checkpointed in {time.time() - started:.0f} s")


# What each workload reads, read once before the runs: a registry in
# service has its hot tables and indexes in memory. At ten million
# firearms the database outgrows the page cache (70 GB against 23 GB of
# memory, the audit log being most of it), and the first runs measured the
# disk: trace throughput swung eightfold between runs.
READS = {
    "trace": ["firearms", "firearms_pkey", "firearm_identifiers", "firearm_identifiers_normalized",
              "firearm_identifiers_canonical", "firearm_identifiers_trigrams"],
    "history": ["firearms", "firearms_pkey", "firearm_events", "firearm_events_sequence", "audit_entries_event"],
    "custody": ["firearms", "firearms_pkey", "firearm_events_sequence"],
    "register": ["firearms_unique_marking", "firearm_identifiers_normalized"],
}


def prewarm(reg, workloads):
    started = time.time()
    try:
        reg.sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    except SystemExit as e:
        log(f"  !! pg_prewarm is not available, the runs start from a cold cache: {e}")
        return
    relations = ["users", "bench_ids", "bench_ids_pkey"]
    for w in workloads:
        relations += [r for r in READS[w.split("_")[0]] if r not in relations]
    blocks = sum(int(reg.sql(f"SELECT pg_prewarm('{r}', 'read')")) for r in relations)
    log(f"  read {blocks * 8 / 1024 / 1024:.1f} GB of tables and indexes into the page cache in {time.time() - started:.0f} s")


def existing_accounts(reg, api):
    """The accounts of a database seeded by an earlier run (--reuse-db)."""
    users = {name: reg.sql(f"SELECT id FROM users WHERE username = '{name}'") for name in ("bench", "bench-tracer")}
    aid = reg.sql("SELECT agency_id FROM users WHERE username = 'bench'")
    return aid, users, api.token("bench", PASSWORD), api.token("bench-tracer", PASSWORD)


class CpuMeter:
    """Where a run's processor time went, per request: the whole machine's
    busy time (/proc/stat), the registry's process, and the load generator
    (wrk or pgbench, a child of this process); what is left is the
    database's backends, on a machine that runs nothing else (and, in
    pgbench's runs, the registry's audit sequencer). At 16
    connections two cores are saturated, so each microsecond per request
    the service path spends over the database's is throughput lost, and
    latency gained in the same proportion."""

    def __init__(self, pid=None):
        self.pid = pid
        self.start = self.read()

    def read(self):
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        busy = sum(fields) - fields[3] - fields[4]  # less idle and iowait
        own = 0
        if self.pid:
            with open(f"/proc/{self.pid}/stat") as f:
                after = f.read().rsplit(")", 1)[1].split()
            own = int(after[11]) + int(after[12])  # utime, stime
        t = os.times()
        return busy / TICKS, own / TICKS, t.children_user + t.children_system

    def split(self, requests, generator, rest="database and the rest"):
        end = self.read()
        machine, own, child = (1e6 * (b - a) / max(requests, 1) for a, b in zip(self.start, end))
        parts = [f"machine {machine:,.0f}"]
        if self.pid:
            parts.append(f"registry {own:,.0f}")
        parts += [f"{generator} {child:,.0f}", f"{rest} {machine - own - child:,.0f}"]
        return "CPU µs per request: " + ", ".join(parts)


def run_wrk(args, reg, workload, conns, env):
    script = os.path.join(HERE, "register.lua" if workload == "register" else "lua/workload.lua")
    env = dict(os.environ, **env, WORKLOAD=workload, BENCH_LUA=os.path.join(HERE, "lua"), RUN=uuid.uuid4().hex[:10])
    cpu = CpuMeter(reg.proc.pid)
    out = run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{args.duration}s", "--latency", "-s", script,
               f"http://127.0.0.1:{reg.port}"], env=env).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        log(f"  !! {workload}: {errors.group(1)} answers were not 2xx (see the server log kept in {LOG_KEEP})")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Each request's own latency, as pgbench reports it (see lua/common.lua);
    # wrk's percentiles, corrected for coordinated omission, go to the log.
    measured = re.search(r"Measured latency us: p50 (\d+) p99 (\d+)", out)
    p50, p99 = int(measured.group(1)) / 1000, int(measured.group(2)) / 1000
    corrected = [re.search(rf"\s{q}%\s+(\S+)", out).group(1) for q in (50, 99)]
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    # With SQLite the database runs inside the registry's process.
    rest = "database and the rest" if reg.db == "postgres" else "the rest"
    log(f"    wrk {workload} c={conns}: {rps:,.0f} req/s, p50/p99 {p50:.2f}/{p99:.2f} ms measured, "
        f"{corrected[0]}/{corrected[1]} with wrk's correction; {cpu.split(requests, 'wrk', rest)}")
    return rps, p50, p99


def run_pgbench(args, reg, workload, conns, ids):
    logdir = tempfile.mkdtemp(dir=reg.work)
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", str(min(2, conns)), "-T", str(args.duration),
           "-f", os.path.join(HERE, "pgbench", workload + ".sql"), "--log", "--log-prefix", os.path.join(logdir, "pgb"),
           "-D", f"records={args.records}", "-D", f"uid={ids['uid']}", "-D", f"tid={ids['tid']}", "-D", f"aid={ids['aid']}",
           reg.url]
    cpu = CpuMeter()
    out = run(cmd).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    log(f"    pgbench {workload} c={conns}: {tps:,.0f} tx/s; {cpu.split(done, 'pgbench')}")
    lat = []
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name)) as f:
            lat += [int(line.split()[2]) / 1000 for line in f if line.strip()]
    shutil.rmtree(logdir)
    lat.sort()
    return tps, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def counts(event_type, aid):
    """The report counts an event adds to on SQLite: its day's and its month's."""
    return "".join(
        f"INSERT INTO {table} VALUES (CAST(strftime('{fmt}', 'now') AS INTEGER), '{aid}', '{event_type}', "
        f"'assault_rifle', '', '', 0, 1) ON CONFLICT ({period}, agency_id, event_type, category, partner, detail, slot) "
        f"DO UPDATE SET n = n + 1;"
        for table, period, fmt in [("event_counts", "day", "%Y%m%d"), ("event_counts_monthly", "month", "%Y%m")])


def sqlite_statements(workload, ids, row, k, wide=frozenset()):
    """One transaction of the workload, as the service runs it, with values.
    `wide`: the two-character prefixes a wildcard trace does not range-scan."""
    uid, tid, aid = ids["uid"], ids["tid"], ids["aid"]
    fid, norm = row
    canon = norm.translate(LOOKALIKE)
    q = lambda s: "'" + s.replace("'", "''") + "'"
    user = f"SELECT id, username, agency_id, roles, disabled FROM users WHERE id = {q(uid)};"
    audit = lambda action, who: (f"INSERT INTO audit_entries VALUES ({q(str(uuid.uuid4()))}, NULL, datetime('now'), {q(who)}, "
                                 f"'bench', {q(aid)}, '{action}', 'firearm:' || {q(fid)}, 'bench', NULL, NULL, "
                                 f"'', {q(uuid.uuid4().hex * 2)}, {q(uuid.uuid4().hex * 2)}, {q(uuid.uuid4().hex * 2)}, "
                                 f"NULL, NULL);")
    if workload == "register":
        new = str(uuid.uuid4())
        s = f"SQ-{k}-{uuid.uuid4().hex[:8]}"
        return (user + "BEGIN IMMEDIATE;" + f"SELECT * FROM agencies WHERE id = {q(aid)};" +
                f"INSERT INTO firearms VALUES ({q(new)}, 'assault_rifle', 'Izhmash', 'izhmash', 'AKM', '7.62x39mm', 'RU', 1978, "
                f"{q(s)}, {q(normalize(s))}, '[]', '[]', 'active', '{{\"kind\":\"agency\"}}', NULL, {q(aid)}, NULL, 1, "
                f"datetime('now'), datetime('now'), NULL, NULL);" +
                f"INSERT INTO firearm_identifiers VALUES ({q(new)}, 0, 'serial', 'serial', {q(s)}, {q(normalize(s))}, "
                f"{q(normalize(s).translate(LOOKALIKE))});" +
                f"INSERT INTO firearm_events VALUES ({q(str(uuid.uuid4()))}, {q(new)}, 1, 'registered', datetime('now'), "
                f"datetime('now'), {q(uid)}, 'bench', {q(aid)}, '{{}}', NULL, NULL, NULL, NULL, NULL);" +
                counts("registered", aid) +
                f"INSERT INTO firearm_counts VALUES ({q(aid)}, 'active', 'assault_rifle', 0, 1) "
                f"ON CONFLICT (agency_id, status, category, slot) DO UPDATE SET n = n + 1;" +
                audit("firearm.registered", uid) + "COMMIT;")
    if workload == "custody":
        return (user + "BEGIN IMMEDIATE;" + f"SELECT * FROM firearms WHERE id = {q(fid)};" +
                f"UPDATE firearms SET custodian = '{{\"kind\":\"dealer\",\"name\":\"SQ dealer\",\"reference\":null,"
                f"\"country\":null,\"agency_id\":null}}', version = version + 1, "
                f"updated_at = datetime('now') WHERE id = {q(fid)};" +
                f"INSERT INTO firearm_events SELECT {q(str(uuid.uuid4()))}, id, version, 'custody_transfer', datetime('now'), "
                f"datetime('now'), {q(uid)}, 'bench', {q(aid)}, '{{}}', NULL, NULL, NULL, NULL, NULL "
                f"FROM firearms WHERE id = {q(fid)};" +
                counts("custody_transfer", aid) + audit("firearm.custody_transfer", uid) + "COMMIT;")
    if workload == "history":
        return (user + f"SELECT * FROM firearms WHERE id = {q(fid)};" +
                f"SELECT e.*, a.seq FROM firearm_events e LEFT JOIN audit_entries a ON a.event_id = e.id "
                f"WHERE e.firearm_id = {q(fid)} ORDER BY e.sequence;")
    if workload == "trace_wildcard":
        prefix = canon[:2]
        like, above = prefix + "%" + canon[-3:], prefix[:-1] + chr(ord(prefix[-1]) + 1)
        # src/db/trace.rs: a probe of the prefix's range, then the range or the trigram table.
        user += (f"SELECT count(*) FROM (SELECT 1 FROM firearm_identifiers WHERE canonical >= {q(prefix)} "
                 f"AND canonical < {q(above)} LIMIT 30000);")
        if prefix in wide:
            # The trigram table holds no copy of the rows: its runs of the
            # anchored pattern name rowids, the row's LIKE checks them.
            runs = " ".join(f'"{r}"' for r in re.split("[%_]", "^" + like + "$") if len(r) >= 3)
            lookup = (f"SELECT i.* FROM identifier_trigrams t JOIN firearm_identifiers i ON i.rowid = t.rowid "
                      f"WHERE identifier_trigrams MATCH {q(runs)} AND i.canonical LIKE {q(like)} LIMIT 2001;")
        else:
            lookup = (f"SELECT * FROM firearm_identifiers WHERE canonical >= {q(prefix)} AND canonical < {q(above)} "
                      f"AND canonical LIKE {q(like)} LIMIT 2001;")
    else:
        column, value = ("normalized", norm) if workload == "trace_exact" else ("canonical", canon)
        lookup = f"SELECT * FROM firearm_identifiers WHERE {column} = {q(value)} LIMIT 2001;"
    # The identifiers are looked up once, as the service does, then their
    # firearms by id: one statement here for want of variables in sqlite3.
    both = f"WITH found AS MATERIALIZED ({lookup.rstrip(';')}) SELECT found.*, f.* FROM found JOIN firearms f ON f.id = found.firearm_id;"
    # No audit insert: the service writes read entries in batches off the
    # request's path, so the baseline is the trace's own reads.
    return user + both


def run_sqlite3(args, reg, workload, rows, ids):
    """The same statements through the sqlite3 command line: one writer."""
    path = reg.url.split("://", 1)[1]
    script = ["PRAGMA busy_timeout = 15000;", "PRAGMA journal_mode = WAL;", "PRAGMA synchronous = FULL;"]
    n = max(200, args.sqlite_transactions)
    wide = frozenset()
    if workload == "trace_wildcard":
        wide = frozenset(reg.sql("SELECT substr(canonical, 1, 2) FROM firearm_identifiers GROUP BY 1 "
                                 "HAVING count(*) >= 2000").split())
    script += [sqlite_statements(workload, ids, rows[random.randrange(len(rows))], k, wide) for k in range(n)]
    text = "\n".join(script)
    started = time.time()
    subprocess.run(["sqlite3", path], input=text, check=True, capture_output=True, text=True)
    return n / (time.time() - started), None, None


def scratch_db(pg_url, prefix):
    """A fresh PostgreSQL database for one run: (name, url)."""
    name = f"{prefix}_{os.getpid()}"
    drop_db(pg_url, name)
    subprocess.run(["psql", pg_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return name, pg_url.rsplit("/", 1)[0] + f"/{name}"


def drop_db(pg_url, name):
    subprocess.run(["psql", pg_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


def free_port():
    """A port nothing listens on, so that two runs on one machine never meet."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmt(v, digits=1):
    return "—" if v is None else f"{v:,.{digits}f}"


def bench_db(args, db, work):
    if db == "postgres":
        name = args.reuse_db or f"registry_bench_{os.getpid()}"
        if not args.reuse_db:
            run(["psql", args.pg_url, "-qc", f"CREATE DATABASE {name}"])
        url = args.pg_url.rsplit("/", 1)[0] + "/" + name
    else:
        name, url = None, "sqlite://" + os.path.join(work, "bench.db")
    reg = Registry(args, db, url, free_port(), work)
    rows_out = []
    data = os.path.join(work, f"firearms-{db}.tsv")
    try:
        api = reg.start()
        if args.reuse_db:
            aid, users, token, tracer = existing_accounts(reg, api)
            seeding = None
            with open(data, "w") as f:
                subprocess.run(["psql", url, "-qc", "\\copy (SELECT id, normalized FROM bench_ids ORDER BY n) TO STDOUT"],
                               stdout=f, text=True, check=True)
        else:
            aid, users, token, tracer = setup_accounts(api)
            seeding = seed(reg, api, token, aid, args.records, data, not args.registration_only)
        # A fresh process, so the peak memory reported is the serving's,
        # not the bulk import's.
        reg.stop()
        api = reg.start()
        lines = open(data).readlines()
        args.records = len(lines)
        rows = [line.rstrip("\n").split("\t") for line in lines]
        rows = [(fid, normalize(s)) for fid, s in rows]
        # wrk loads its firearms in each thread before the clock starts, one
        # thread after the other, while the first already sends requests: at
        # ten million rows the first thread ran for seconds unclocked. A
        # uniform sample serves as well (pgbench draws from every firearm).
        sample = os.path.join(work, f"firearms-{db}-sample.tsv")
        with open(sample, "w") as f:
            f.writelines(random.Random(11).sample(lines, min(len(lines), WRK_SAMPLE)))
        del lines
        ids = {"uid": users["bench"], "tid": users["bench-tracer"], "aid": aid}
        if db == "postgres":
            if not args.reuse_db:
                reg.sql("CREATE TABLE bench_ids (n serial PRIMARY KEY, id text, normalized text, canonical text, wildcard text)")
                folded = ((fid, n, n.translate(LOOKALIKE)) for fid, n in rows)
                copy = "".join(f"{fid}\t{n}\t{c}\t{c[:2]}%{c[-3:]}\n" for fid, n, c in folded)
                subprocess.run(["psql", url, "-qc", "\\copy bench_ids (id, normalized, canonical, wildcard) FROM STDIN"],
                               input=copy, text=True, check=True, capture_output=True)
            settle(reg)
            prewarm(reg, args.workloads)
        for workload in args.workloads:
            for conns in args.connections:
                svc, base = [], []
                env = {"TOKEN": tracer if workload.startswith("trace") else token, "AGENCY": aid,
                       "BENCH_DATA": sample}
                for _ in range(args.runs):
                    svc.append(run_wrk(args, reg, workload, conns, env))
                    if db == "postgres":
                        base.append(run_pgbench(args, reg, workload, conns, ids))
                    elif conns == args.connections[0]:
                        base.append(run_sqlite3(args, reg, workload, rows, ids))
                med = lambda xs, i: statistics.median(x[i] for x in xs) if xs and xs[0][i] is not None else None
                s_rps, b_tps = med(svc, 0), med(base, 0)
                row = {"db": db, "workload": workload, "connections": conns, "service_rps": s_rps, "database_tps": b_tps,
                       "ratio": (s_rps / b_tps) if b_tps else None, "service_p50": med(svc, 1), "service_p99": med(svc, 2),
                       "database_p50": med(base, 1), "database_p99": med(base, 2), "peak_rss_mb": reg.peak_rss_mb()}
                log(f"  {workload:16} c={conns:<3} service {fmt(s_rps)} req/s  database {fmt(b_tps)} tx/s  "
                    f"ratio {fmt(row['ratio'], 2)}  service p50/p99 {fmt(row['service_p50'], 2)}/{fmt(row['service_p99'], 2)} ms  "
                    f"database p50/p99 {fmt(row['database_p50'], 2)}/{fmt(row['database_p99'], 2)} ms  "
                    f"rss {row['peak_rss_mb']:.0f} MB")
                rows_out.append(row)
                if args.out:
                    # Kept as it goes, so that a run cut short leaves what it measured.
                    with open(args.out + ".partial", "w") as f:
                        f.write(table(args.done_rows + rows_out) + "\n")
        if args.compare_reads:
            compare_reads(args, reg, db, tracer, token, aid, sample)
        return rows_out, seeding
    finally:
        reg.stop()
        shutil.copy(os.path.join(work, db + ".log"), LOG_KEEP)
        if name and not os.environ.get("BENCH_KEEP_DB") and not args.reuse_db:
            subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)
        elif name:
            log(f"  kept the database {name} (BENCH_KEEP_DB)")


def compare_reads(args, reg, db, tracer, token, aid, sample):
    """History and exact trace with read entries off, then on, alternating
    restarts of the same registry on the same database: what recording
    reads costs."""
    # At 4 connections (where both sides keep two cores busy), three
    # alternations at least, whatever the main runs use.
    connections = [c for c in args.connections if c == 4] or args.connections[:1]
    for workload in [w for w in ("history", "trace_exact") if w in args.workloads]:
        for conns in connections:
            env = {"TOKEN": tracer if workload.startswith("trace") else token, "AGENCY": aid, "BENCH_DATA": sample}
            on, off = [], []
            for _ in range(max(args.runs, 3)):
                for setting, out in (("false", off), ("true", on)):
                    reg.stop()
                    reg.start({"REGISTRY_AUDIT_READS": setting})
                    out.append(run_wrk(args, reg, workload, conns, env)[0])
            r_on, r_off = statistics.median(on), statistics.median(off)
            row = {"db": db, "workload": workload, "connections": conns, "reads_on": r_on, "reads_off": r_off,
                   "ratio": r_on / r_off if r_off else None}
            log(f"  read entries {workload:12} c={conns:<3} on {fmt(r_on)} req/s  off {fmt(r_off)} req/s  "
                f"ratio {fmt(row['ratio'], 2)}")
            args.reads_rows.append(row)


def reads_table(rows):
    lines = ["| database | workload | connections | read entries on, req/s | off, req/s | on / off |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['db']} | {r['workload']} | {r['connections']} | {fmt(r['reads_on'])} | "
                     f"{fmt(r['reads_off'])} | {fmt(r['ratio'], 2)} |")
    return "\n".join(lines)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    sq = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split(" ")[0]
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB memory, {pg}, sqlite3 {sq}, {platform.platform()}"


def table(results):
    lines = ["| database | workload | connections | service req/s | database tx/s | ratio | service p50 / p99 ms | database p50 / p99 ms | server peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['db']} | {r['workload']} | {r['connections']} | {fmt(r['service_rps'])} | {fmt(r['database_tps'])} | "
                     f"{fmt(r['ratio'], 2)} | {fmt(r['service_p50'], 2)} / {fmt(r['service_p99'], 2)} | "
                     f"{fmt(r['database_p50'], 2)} / {fmt(r['database_p99'], 2)} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="100,000 records, 10 s runs, one run each, PostgreSQL")
    p.add_argument("--smoke", action="store_true", help="a tiny run that only proves the harness works")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    p.add_argument("--connections", default="1,4,16")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--registration-only", action="store_true",
                   help="seed each firearm with its registration event only (the trace workloads read no history; "
                        "at 10,000,000 firearms five events each would not fit this machine's disk)")
    p.add_argument("--sqlite-transactions", type=int, default=2000)
    p.add_argument("--compare-reads", action="store_true",
                   help="also run history and trace_exact with read entries off and on (REGISTRY_AUDIT_READS)")
    p.add_argument("--binary", required=True)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--reuse-db", help="PostgreSQL only: measure a database an earlier run seeded and kept "
                                     "(BENCH_KEEP_DB=1), instead of seeding a new one; it is kept")
    p.add_argument("--out", help="write the table and the machine's description here (Markdown)")
    args = p.parse_args()
    if args.quick:
        args.records, args.duration, args.runs = 100_000, 10, 1
        args.db = "postgres" if args.db == "both" else args.db
    if args.reuse_db:
        args.db = "postgres"
    if args.smoke:
        args.records, args.duration, args.runs, args.connections = 300, 1, 1, "2"
        args.sqlite_transactions = 200
    args.connections = [int(c) for c in args.connections.split(",")]
    args.workloads = args.workloads.split(",")
    work = tempfile.mkdtemp(prefix="registry-bench-")
    results, seeding = [], {}
    args.reads_rows = []
    try:
        for db in (["postgres", "sqlite"] if args.db == "both" else [args.db]):
            log(f"== {db}: " + (f"the database {args.reuse_db}" if args.reuse_db else f"{args.records:,} firearms"))
            args.done_rows = results
            r, seeding[db] = bench_db(args, db, work)
            results += r
    finally:
        if os.environ.get("BENCH_KEEP_DB") and args.db != "postgres":
            log(f"  kept the SQLite database {os.path.join(work, 'bench.db')} (BENCH_KEEP_DB)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = table(results)
    if args.reads_rows:
        text += "\n\nWhat recording reads costs (the same registry restarted with REGISTRY_AUDIT_READS off, then on):\n\n"
        text += reads_table(args.reads_rows)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"<!-- written by bench/run.sh; machine: {machine()} -->\n")
            history = ("as an earlier run seeded them" if args.reuse_db else
                       "their registration event only" if args.registration_only else "5 history events each")
            f.write(f"Machine: {machine()}.\n\nRecords: {args.records:,} firearms with {history}; "
                    f"{args.duration} s per run, median of {args.runs} run(s) each, service and database alternating. "
                    + "Seeding: " + ", ".join(f"{db} {args.records / s:,.0f} firearms/s" if s else f"{db}: the database "
                                              f"{args.reuse_db}, seeded by an earlier run" for db, s in seeding.items()) + ".\n\n")
            f.write(text + "\n")
        if os.path.exists(args.out + ".partial"):
            os.remove(args.out + ".partial")


if __name__ == "__main__":
    main()
