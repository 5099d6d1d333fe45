#!/usr/bin/env python3
"""A registry cluster on one machine, for trying failover and for the
failover benchmark: etcd, two PostgreSQL instances under Patroni (a primary
and a synchronous standby), three registry nodes, and HAProxy in front of
them. docs/scaling.md explains the shape; deploy/cluster/start.sh runs it.

    cluster.py up --binary target/release/registry [--dir D] [--base-port 5440]

Every part listens on loopback: etcd on base+50/base+51, PostgreSQL on
base+1 and base+2, Patroni's REST API on base+11 and base+12, the registry
nodes on base+21..23, HAProxy on base+30 (the registry's address) with its
statistics page on base+31.
"""
import argparse, json, os, pwd, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.request, urllib.error

SECRET = "cluster-jwt-secret-0123456789abcdef0123456789ab"
ADMIN_PASSWORD = "cluster-admin-password"
PG_PASSWORD = "cluster-pg"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def http(method, url, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def pg_bin():
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=float)
    return f"/usr/lib/postgresql/{versions[-1]}/bin"


class Cluster:
    def __init__(self, binary, work=None, base=5440, nodes=3):
        self.binary, self.base, self.nodes = binary, base, nodes
        self.work = work or tempfile.mkdtemp(prefix="registry-cluster-")
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o755)
        self.procs = {}
        self.pg_ports = [base + 1, base + 2]
        self.rest_ports = [base + 11, base + 12]
        self.node_ports = [base + 21 + i for i in range(nodes)]
        self.http_port, self.stats_port = base + 30, base + 31
        self.etcd = (base + 50, base + 51)

    # -- PostgreSQL addresses, as the registry nodes are given them -------
    def hosts(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.pg_ports)

    def primary_url(self, db="registry"):
        return (f"postgres://postgres:{PG_PASSWORD}@{self.hosts()}/{db}"
                "?target_session_attrs=read-write&connect_timeout=2")

    def standby_url(self, db="registry"):
        return (f"postgres://postgres:{PG_PASSWORD}@{self.hosts()}/{db}"
                "?target_session_attrs=standby&connect_timeout=2")

    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def spawn(self, name, cmd, env=None, user=None):
        out = open(os.path.join(self.work, f"{name}.log"), "a")
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    # -- etcd ---------------------------------------------------------------
    def start_etcd(self):
        client, peer = self.etcd
        self.spawn("etcd", ["etcd", "--name", "etcd1", "--data-dir", os.path.join(self.work, "etcd"),
                            "--listen-client-urls", f"http://127.0.0.1:{client}",
                            "--advertise-client-urls", f"http://127.0.0.1:{client}",
                            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                            "--initial-cluster", f"etcd1=http://127.0.0.1:{peer}"])
        self.wait(lambda: http("GET", f"http://127.0.0.1:{client}/health")[0] == 200, "etcd")

    # -- Patroni ------------------------------------------------------------
    def patroni_config(self, i):
        name = f"pg{i + 1}"
        data = os.path.join(self.work, name)
        return {
            "scope": "registry", "name": name,
            "restapi": {"listen": f"127.0.0.1:{self.rest_ports[i]}",
                        "connect_address": f"127.0.0.1:{self.rest_ports[i]}"},
            "etcd3": {"hosts": f"127.0.0.1:{self.etcd[0]}"},
            "bootstrap": {
                "dcs": {
                    # A crashed primary is failed over at once rather than
                    # restarted in place (primary_start_timeout 0): with a
                    # synchronous standby nothing committed is lost by it.
                    "ttl": 10, "loop_wait": 1, "retry_timeout": 3,
                    "primary_start_timeout": 0,
                    "synchronous_mode": True,
                    "maximum_lag_on_failover": 1048576,
                    "postgresql": {
                        "use_pg_rewind": True, "use_slots": True,
                        "parameters": {"wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                                       "max_wal_senders": 10, "max_replication_slots": 10,
                                       "synchronous_commit": "on", "max_connections": 200},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_ports[i]}",
                "connect_address": f"127.0.0.1:{self.pg_ports[i]}",
                "data_dir": os.path.join(data, "data"), "bin_dir": pg_bin(),
                "pgpass": os.path.join(data, "pgpass"),
                "authentication": {"superuser": {"username": "postgres", "password": PG_PASSWORD},
                                   "replication": {"username": "replicator", "password": "cluster-rep"}},
                "parameters": {"unix_socket_directories": data},
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                           "host replication replicator 127.0.0.1/32 trust"],
            },
        }

    def start_patroni(self, i):
        name = f"pg{i + 1}"
        data = os.path.join(self.work, name)
        os.makedirs(data, exist_ok=True)
        pg = pwd.getpwnam("postgres")
        os.chown(data, pg.pw_uid, pg.pw_gid)
        os.chmod(data, 0o700)
        cfg = os.path.join(self.work, f"{name}.yml")
        with open(cfg, "w") as f:
            json.dump(self.patroni_config(i), f, indent=1)  # YAML reads JSON
        os.chmod(cfg, 0o644)
        self.spawn(name, ["patroni", cfg], user="postgres")

    def members(self):
        for port in self.rest_ports:
            status, body = http("GET", f"http://127.0.0.1:{port}/cluster")
            if status == 200:
                return json.loads(body)["members"]
        return []

    def role_of(self, role):
        return next((m for m in self.members() if m["role"] == role and m["state"] in ("running", "streaming")), None)

    def leader(self):
        return self.role_of("leader")

    def wait_healthy(self, limit=120):
        """A leader and a streaming synchronous standby."""
        self.wait(lambda: self.leader() and self.role_of("sync_standby"), "a primary and a synchronous standby",
                  limit)
        return self.leader()["name"]

    def switchover(self):
        leader, standby = self.leader(), self.role_of("sync_standby")
        status, body = http("POST", f"http://127.0.0.1:{self.rest_port_of(leader)}/switchover",
                            {"leader": leader["name"], "candidate": standby["name"]}, timeout=60)
        if status != 200:
            raise SystemExit(f"switchover refused: {status} {body}")
        return leader["name"], standby["name"]

    def rest_port_of(self, member):
        return self.rest_ports[int(member["name"][2:]) - 1]

    def kill_primary(self):
        """SIGKILL to the primary's postmaster: its server is gone at once,
        Patroni stays to see it and hand over."""
        leader = self.leader()
        pid_file = os.path.join(self.work, leader["name"], "data", "postmaster.pid")
        with open(pid_file) as f:
            pid = int(f.readline())
        os.kill(pid, signal.SIGKILL)
        return leader["name"]

    def psql(self, sql, db="postgres"):
        url = f"postgres://postgres:{PG_PASSWORD}@{self.hosts()}/{db}?target_session_attrs=read-write"
        done = subprocess.run(["psql", url, "-qtAX", "-c", sql], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    # -- the registry and HAProxy -------------------------------------------
    def start_node(self, i, extra_env=None):
        data = os.path.join(self.work, f"node{i + 1}")
        env = dict(os.environ, DATABASE_URL=self.primary_url(), REGISTRY_DATABASE_READ_URL=self.standby_url(),
                   REGISTRY_BIND=f"127.0.0.1:{self.node_ports[i]}", REGISTRY_DATA_DIR=data,
                   REGISTRY_ADMIN_PASSWORD=ADMIN_PASSWORD, REGISTRY_JWT_SECRET=SECRET,
                   REGISTRY_TOKEN_TTL_SECS="86400", REGISTRY_TRUSTED_PROXIES="127.0.0.1",
                   RUST_LOG=os.environ.get("RUST_LOG", "warn"), **(extra_env or {}))
        if i > 0:
            # Every node signs the log with the same key: the first node's.
            env["REGISTRY_AUDIT_KEY_FILE"] = os.path.join(self.work, "node1", "audit_key")
        self.spawn(f"node{i + 1}", [self.binary, "serve"], env=env)
        self.wait(lambda: http("GET", f"http://127.0.0.1:{self.node_ports[i]}/ready")[0] == 200, f"node{i + 1}")

    def start_haproxy(self):
        servers = "\n".join(f"    server node{i + 1} 127.0.0.1:{p} check inter 1s fall 2 rise 1"
                            for i, p in enumerate(self.node_ports))
        cfg = os.path.join(self.work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
    maxconn 2048
defaults
    mode http
    option http-keep-alive
    option forwardfor
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend registry
    bind 127.0.0.1:{self.http_port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /health
{servers}
listen stats
    bind 127.0.0.1:{self.stats_port}
    stats enable
    stats uri /
""")
        self.spawn("haproxy", ["haproxy", "-f", cfg, "-db"])
        self.wait(lambda: http("GET", self.url() + "/ready")[0] == 200, "HAProxy")

    def ports(self):
        return self.pg_ports + self.rest_ports + self.node_ports + [self.http_port, self.stats_port, *self.etcd]

    def up(self, node_env=None):
        log(f"cluster in {self.work}")
        taken = [p for p in self.ports() if listening(p)]
        if taken:
            raise SystemExit(f"ports {taken} are in use: another cluster still running? (--base-port moves them)")
        self.start_etcd()
        for i in range(2):
            self.start_patroni(i)
        leader = self.wait_healthy()
        log(f"  PostgreSQL: {leader} is primary, the other its synchronous standby")
        if self.psql("SELECT 1 FROM pg_database WHERE datname = 'registry'") != "1":
            self.psql("CREATE DATABASE registry")
        # The first node migrates and makes the audit key; the others follow.
        for i in range(self.nodes):
            self.start_node(i, node_env)
        self.start_haproxy()
        log(f"  registry: {self.url()} (admin / {ADMIN_PASSWORD}); nodes on {self.node_ports}; "
            f"HAProxy statistics on http://127.0.0.1:{self.stats_port}/")

    def down(self):
        order = [n for n in self.procs if n.startswith("node") or n == "haproxy"]
        order += [n for n in self.procs if n.startswith("pg")] + ["etcd"]
        for name in order:
            proc = self.procs.get(name)
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        # A server Patroni was starting as it stopped can outlive it.
        for i in range(len(self.pg_ports)):
            data = os.path.join(self.work, f"pg{i + 1}", "data")
            if os.path.exists(os.path.join(data, "postmaster.pid")):
                subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(pg_bin(), "pg_ctl"), "stop",
                                "-D", data, "-m", "immediate"], capture_output=True)

    def wait(self, ready, what, limit=120):
        started = time.time()
        while time.time() - started < limit:
            if ready():
                return
            time.sleep(0.2)
        raise SystemExit(f"{what} did not start within {limit} s; logs in {self.work}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["up"])
    p.add_argument("--binary", required=True)
    p.add_argument("--dir")
    p.add_argument("--base-port", type=int, default=5440)
    args = p.parse_args()
    for tool in ("etcd", "patroni", "haproxy", "runuser"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: deploy/cluster/start.sh installs it")
    cluster = Cluster(os.path.abspath(args.binary), args.dir, args.base_port)
    stop = lambda *_: (_ for _ in ()).throw(KeyboardInterrupt)  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    try:
        cluster.up()
        log("running; Ctrl-C stops every part")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.down()


if __name__ == "__main__":
    main()
