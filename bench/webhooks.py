#!/usr/bin/env python3
"""Webhook deliveries: see bench/webhooks.sh and docs/webhooks.md.

1. Registrations per second over HTTP (wrk, register.lua) with no
   subscriber and with a subscriber to `firearm.registered` that answers
   in 500 ms, in pairs of runs in one registry process (the subscription
   disabled and enabled between runs, each mode first in every other
   pair); the medians are compared.
2. A subscription whose receiver is down; a batch destruction queues
   10,000 `firearm.status_changed` messages; the receiver stays down a
   while, comes back, and the time until it holds all 10,000 (each
   webhook-id once) is measured.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Registry, agency_with_users, drop_db, free_port, log, machine, run_wrk,  # noqa: E402
                     scratch_db, seed)


class Receiver:
    """A receiver on a loopback port: answers 2xx after `delay` seconds,
    keeps each webhook-id once, and can be taken down and brought back."""

    def __init__(self, delay):
        self.delay, self.port = delay, free_port()
        self.ids, self.lock, self.server, self.requests = set(), threading.Lock(), None, 0

    def up(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a production receiver behind a proxy has it.
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests += 1
                    receiver.ids.add(self.headers.get("webhook-id"))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()
                del body

            def log_message(self, *a):
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address, daemon_threads = True, True
            # The default backlog of 5 drops connections a burst opens,
            # and each dropped SYN costs the sender a second.
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def count(self):
        with self.lock:
            return len(self.ids)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"


def subscribe(api, admin, url, events):
    status, hook = api.call("POST", "/v1/webhooks", admin, {"url": url, "events": events})
    assert status == 201, hook
    return hook["id"]


def switch(api, admin, hook, on):
    status, body = api.call("POST", f"/v1/webhooks/{hook}/{'enable' if on else 'disable'}", admin)
    assert status == 200, body


def throughput(args, reg, api, agency, tokens):
    """Median registrations/s without and with the slow subscriber."""
    slow = Receiver(args.delay)
    slow.up()
    hook = subscribe(api, tokens["boss"], slow.url, ["firearm.registered"])
    env = {"TOKEN": tokens["clerk"], "AGENCY": agency}
    runs = {"none": [], "slow": []}
    for r in range(args.runs):
        # ABBA: the tables grow and the machine drifts during a run; each
        # mode goes first in every other pair, so a drift favours neither.
        for mode in (("none", "slow") if r % 2 == 0 else ("slow", "none")):
            switch(api, tokens["boss"], hook, mode == "slow")
            rps, _, p99 = run_wrk(args, reg, "register", args.conns, env)
            runs[mode].append((rps, p99))
            log(f"  run {r + 1} {mode}: {rps:,.0f} registrations/s, p99 {p99:.1f} ms")
    switch(api, tokens["boss"], hook, False)
    delivered = slow.count()
    slow.down()
    med = {m: statistics.median(x[0] for x in v) for m, v in runs.items()}
    p99 = {m: statistics.median(x[1] for x in v) for m, v in runs.items()}
    # The runs of one pair are seconds apart; the machine drifts by more
    # than the subscriber costs between pairs, so the pairs are compared.
    paired = statistics.median(s[0] / n[0] for s, n in zip(runs["slow"], runs["none"]))
    return med, p99, paired, delivered


def backlog(args, reg, api, agency, tokens, work):
    """Messages queued while the receiver is down, sent when it returns."""
    data = os.path.join(work, f"{reg.db}-backlog.tsv")
    seed(reg, api, tokens["clerk"], agency, args.messages, data, history=False)
    ids = [line.split("\t")[0] for line in open(data)]
    rx = Receiver(0)
    hook = subscribe(api, tokens["boss"], rx.url, ["firearm.status_changed"])
    started = time.time()
    for i in range(0, len(ids), 10_000):
        status, body = api.call("POST", "/v1/destructions", tokens["clerk"],
                                {"firearm_ids": ids[i:i + 10_000], "method": "cutting"})
        assert status == 201, str(body)[:500]
    queued = int(reg.sql(f"SELECT COUNT(*) FROM webhook_messages WHERE webhook_id = '{hook}'"))
    assert queued == len(ids), queued
    log(f"  {queued:,} messages queued in {time.time() - started:.1f} s; the receiver is down for {args.down} s")
    time.sleep(max(0.0, args.down - (time.time() - started)))
    attempts = int(reg.sql(f"SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id "
                           f"WHERE m.webhook_id = '{hook}'"))
    rx.up()
    back = time.time()
    first = None
    while rx.count() < queued:
        if first is None and rx.count() > 0:
            first = time.time() - back
        if time.time() - back > 600:
            raise SystemExit(f"only {rx.count():,} of {queued:,} delivered 10 minutes after the receiver came back")
        time.sleep(0.05)
    done = time.time() - back
    rx.down()
    log(f"  all {queued:,} delivered {done:.1f} s after the receiver came back (the first after {first or 0:.1f} s); "
        f"{attempts} attempts while it was down; {rx.requests:,} requests for {rx.count():,} ids")
    return {"queued": queued, "attempts_down": attempts, "first": first or 0.0, "all": done,
            "requests": rx.requests, "ids": rx.count()}


def bench(db, args, work):
    if db == "postgres":
        name, url = scratch_db(args.pg_url, "registry_webhooks")
    else:
        name, url = None, f"sqlite://{work}/webhooks.db"
    reg = Registry(args, db, url, free_port(), work)
    api = reg.start({"REGISTRY_WEBHOOK_ALLOW_PRIVATE": "true"})
    try:
        agency, tokens = agency_with_users(api, [("clerk", ["registrar"]), ("boss", ["admin"])])
        log(f"{db}: registrations at {args.conns} connections, {args.duration} s runs")
        med, p99, paired, delivered = throughput(args, reg, api, agency, tokens)
        log(f"{db}: backlog")
        b = backlog(args, reg, api, agency, tokens, work)
        return {"med": med, "p99": p99, "paired": paired, "delivered": delivered, "backlog": b}
    finally:
        reg.stop()
        if name:
            drop_db(args.pg_url, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--db", default="both", choices=["postgres", "sqlite", "both"])
    p.add_argument("--duration", type=int, default=15)
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--delay", type=float, default=0.5)
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--down", type=float, default=60.0)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="registry-webhooks-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = {db: bench(db, args, work) for db in (["postgres", "sqlite"] if args.db == "both" else [args.db])}
    print(f"## Webhook deliveries, {time.strftime('%Y-%m-%d')}, commit {commit}, {machine()}\n")
    print(f"Registrations over HTTP at {args.conns} connections, {args.runs} runs of {args.duration} s each way, "
          f"in alternating pairs (ABBA) in one process; the subscriber answers in {args.delay * 1000:.0f} ms. Then "
          f"{args.messages:,} messages queued while the receiver is down for {args.down:.0f} s.\n")
    print("| database | registrations/s, no subscriber | with the slow subscriber | ratio of the medians | "
          "median of the pairs' ratios | p99 ms, none / slow | "
          "messages delivered meanwhile | backlog: first delivery after return s | all delivered after return s | "
          "requests / distinct ids |\n|---|---|---|---|---|---|---|---|---|---|")
    for db, r in results.items():
        m, b = r["med"], r["backlog"]
        print(f"| {db} | {m['none']:,.0f} | {m['slow']:,.0f} | {m['slow'] / m['none']:.2f} | {r['paired']:.2f} | "
              f"{r['p99']['none']:.1f} / {r['p99']['slow']:.1f} | {r['delivered']:,} | {b['first']:.1f} | "
              f"{b['all']:.1f} | {b['requests']:,} / {b['ids']:,} |")


if __name__ == "__main__":
    main()
