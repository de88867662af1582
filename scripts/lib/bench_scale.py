"""The scale benchmark of scripts/bench-scale (issue #14): the release stack as separate
processes, with 1, 2 and 4 alerters and 1 and 2 forwarders, under paced loads and one
saturating run, on a private Redis with the durability the docs recommend (AOF,
`appendfsync everysec`). Per run it counts what does not depend on the hour (Redis
commands per event from INFO commandstats, CPU microseconds per event from the kernel's
accounting) and times what does (latency from the *scheduled* send, throughput), beside a
host-speed probe and same-run ceilings.

Counting window: from just before the load tool starts until the pipeline has drained
(every queue, processing list and retry set empty), polled every 100 ms. The harness's
own polling commands are subtracted; so are the timers' commands (heartbeats, janitors,
samplers: the idle rate measured before the loads, times the window). The load tool's
checks of PostgreSQL start only after the window (`mutt-load pipeline --ready-file`).
CPU per event counts every process of the pipeline: ingestor, alerters, forwarders,
Redis and every PostgreSQL process; not the load tool nor the stand-in webhook.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
# The load tool; another build's may be named to measure older services with this harness.
LOAD_BIN = Path(os.environ.get("BENCH_LOAD_BIN", BIN / "mutt-load"))
SECS = float(os.environ.get("BENCH_SECONDS", "10"))
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "500 2000 10000").split()]
SATURATION_EVENTS = int(os.environ.get("BENCH_SATURATION_EVENTS", "60000"))  # 0: no saturating run
# The rule set: by default about a fifth of the events is forwarded; scripts/bench-batching
# uses bench-rules-forward-all.sql.
RULES = Path(os.environ.get("BENCH_RULES", ROOT / "scripts/lib/bench-rules.sql"))
ALERTERS = [int(n) for n in os.environ.get("BENCH_ALERTERS", "1 2 4").split()]
FORWARDERS = [int(n) for n in os.environ.get("BENCH_FORWARDERS", "1 2").split()]
PG_PORT = os.environ.get("MUTT_TEST_PG_PORT", "5432")
PG_USER = os.environ.get("MUTT_TEST_PG_USER", "postgres")
DB = "mutt_bench"
SCHEMA = f"benchs{os.getpid()}"
TICK = os.sysconf("SC_CLK_TCK")
OUT = Path(tempfile.mkdtemp(prefix="mutt-bench-scale."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql, db=DB):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", PG_USER, "-d", db,
                    "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql], check=True, capture_output=True)


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def postgres_pids():
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def host_probe():
    """CPU speed of this moment: SHA-256 over 64 MiB in one thread, MB/s."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts/lib/host-probe")],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.dir = OUT / "redis"
        self.dir.mkdir()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
            stdout=open(OUT / "redis.log", "w"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.cli("ping") == "PONG":
                return
            time.sleep(0.1)
        raise SystemExit("bench-scale: the private redis-server did not start")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return out.stdout.strip()

    def info(self, section):
        return self.cli("info", section)

    def calls(self):
        calls = {}
        for line in self.info("commandstats").splitlines():
            m = re.match(r"cmdstat_([^:]+):calls=(\d+)", line)
            if m and m.group(1) not in ("info", "config"):
                calls[m.group(1)] = int(m.group(2))
        return calls

    def cpu(self):
        info = dict(l.split(":", 1) for l in self.info("cpu").splitlines() if ":" in l)
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


# Total backlog in one script: every list of the pipeline plus the retry set.
BACKLOG = """
local n = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3])
for i = 4, #KEYS do n = n + redis.call('LLEN', KEYS[i]) end
return n
"""


class Stack:
    def __init__(self, redis, alerters, forwarders, prefix):
        self.redis, self.prefix, self.procs = redis, prefix, {}
        self.alerters = [f"scale-a{i}" for i in range(alerters)]
        self.forwarders = [f"scale-f{i}" for i in range(forwarders)]
        self.ports = {}
        base = dict(os.environ)
        base.update({
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis.port), "REDIS_TLS_ENABLED": "false",
            "REDIS_KEY_PREFIX": prefix, "DB_HOST": "127.0.0.1", "DB_PORT": PG_PORT, "DB_NAME": DB,
            "DB_USER": PG_USER, "DB_TLS_ENABLED": "false", "DB_SCHEMA": SCHEMA,
            "LISTEN_HOST": "127.0.0.1", "LOG_LEVEL": "warn", "INGEST_API_KEY": "bench-key",
            "SYSLOG_UDP_PORT": "0", "SYSLOG_TCP_PORT": "0", "RATE_LIMIT_ENABLED": "false",
            "AUDIT_UNHANDLED": "true", "ALERTER_QUEUE_SHED_THRESHOLD": "100000000",
            "MOOG_RATE_LIMIT": "1000000", "MOOG_API_KEY": "bench-moog-key",
        })
        self.base = base
        self.moog_port = free_port()
        base["MOOG_WEBHOOK_URL"] = f"http://127.0.0.1:{self.moog_port}/api/v1/events"
        self.start("mock-moog", [str(BIN / "mock-moog"), "--listen", f"127.0.0.1:{self.moog_port}"], {})
        self.ingest_port = free_port()
        self.start("ingestor", [str(BIN / "ingestor")], {"SERVER_PORT_INGESTOR": str(self.ingest_port)})
        for pod in self.alerters:
            m, h = free_port(), free_port()
            self.ports[pod] = m
            self.start(pod, [str(BIN / "alerter")],
                       {"POD_NAME": pod, "METRICS_PORT_ALERTER": str(m), "HEALTH_PORT_ALERTER": str(h)})
        for pod in self.forwarders:
            m, h = free_port(), free_port()
            self.ports[pod] = m
            self.start(pod, [str(BIN / "moog-forwarder")],
                       {"POD_NAME": pod, "METRICS_PORT_MOOG": str(m), "HEALTH_PORT_MOOG": str(h)})
        urls = [f"http://127.0.0.1:{self.ingest_port}/health", f"http://127.0.0.1:{self.moog_port}/health"]
        urls += [f"http://127.0.0.1:{p}/metrics" for p in self.ports.values()]
        for _ in range(200):
            if all(self.ok(u) for u in urls):
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"bench-scale: the services did not start; logs in {OUT}")
        self.backlog_keys = [f"{prefix}:ingest_queue", f"{prefix}:alert_queue", f"{prefix}:retry:moog"]
        self.backlog_keys += [f"{prefix}:processing:alerter:{p}" for p in self.alerters]
        self.backlog_keys += [f"{prefix}:processing:moog:{p}" for p in self.forwarders]

    def start(self, name, argv, env):
        e = dict(self.base)
        e.update(env)
        self.procs[name] = subprocess.Popen(argv, env=e, stdout=open(OUT / f"{name}.log", "a"),
                                            stderr=subprocess.STDOUT)

    @staticmethod
    def ok(url):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def pipeline_pids(self):
        return [p.pid for n, p in self.procs.items() if n != "mock-moog"]

    def backlog(self):
        """Items anywhere in the pipeline; costs Redis 1 + len(keys) commands."""
        out = self.redis.cli("eval", BACKLOG, str(len(self.backlog_keys)), *self.backlog_keys)
        return int(out), 1 + len(self.backlog_keys)

    def shares(self):
        got = {}
        for pod, port in self.ports.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                page = r.read().decode()
            if pod in self.alerters:
                pat = r"^mutt_alerter_events_processed_total\{[^}]*\} (\S+)"
            else:
                pat = r'^mutt_moog_alerts_processed_total\{status="success"\} (\S+)'
            got[pod] = sum(float(v) for v in re.findall(pat, page, re.M))
        return got

    def stop(self):
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()


def snapshot(stack):
    roles = {"ingestor": [stack.procs["ingestor"].pid],
             "alerters": [stack.procs[p].pid for p in stack.alerters],
             "forwarders": [stack.procs[p].pid for p in stack.forwarders],
             "postgres": postgres_pids()}
    by_role = {role: sum(cpu_seconds(p) for p in pids) for role, pids in roles.items()}
    by_role["redis"] = stack.redis.cpu()
    return {"t": time.monotonic(), "calls": stack.redis.calls(), "redis_cpu": by_role["redis"],
            "cpu": sum(by_role.values()), "by_role": by_role, "shares": stack.shares()}


def run_load(stack, rate, count, batch, idle_per_sec):
    ready = OUT / f"ready-{time.monotonic_ns()}"
    report = OUT / f"report-{rate}-{len(stack.alerters)}-{len(stack.forwarders)}.txt"
    before = snapshot(stack)
    start = time.monotonic()
    load = subprocess.Popen(
        [str(LOAD_BIN), "--events", str(ROOT / "data/corpus/events.json"), "pipeline",
         "--url", f"http://127.0.0.1:{stack.ingest_port}/ingest", "--key", "bench-key",
         "--count", str(count), "--rate", str(rate), "--batch", str(batch), "--connections", "8",
         "--wait", "300", "--ready-file", str(ready),
         "--db", f"host=127.0.0.1 port={PG_PORT} user={PG_USER} dbname={DB} options=-csearch_path={SCHEMA}",
         "--receiver", f"http://127.0.0.1:{stack.moog_port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines = []
    for line in load.stdout:
        lines.append(line)
        if "sending done" in line:
            break
    harness_calls = 0
    while True:
        left, cost = stack.backlog()
        harness_calls += cost
        if left == 0:
            break
        time.sleep(0.1)
    drained = time.monotonic()
    after = snapshot(stack)
    ready.touch()
    lines += load.stdout.readlines()
    load.wait()
    text = "".join(lines)
    report.write_text(text)
    if load.returncode != 0:
        raise SystemExit(f"bench-scale: mutt-load failed:\n{text}")
    acked = int(re.search(r"acknowledged=(\d+)", text).group(1))
    lost = int(re.search(r"lost=(\d+)", text).group(1))
    last = float(re.search(r"last delivery ([0-9.]+)s", text).group(1))
    ingest = re.search(r"ingest latency ms \([^)]*\) p50=(\d+) p99=(\d+) max=(\d+)", text).groups()
    e2e = re.search(r"ingest→webhook latency ms \((\d+) delivered[^)]*\) p50=(\d+) p99=(\d+) max=(\d+)", text).groups()
    window = drained - start
    calls = sum(after["calls"].values()) - sum(before["calls"].values()) - harness_calls
    timers = idle_per_sec * window
    return {
        "acked": acked, "lost": lost,
        "commands_per_event": (calls - timers) / acked,
        "raw_commands_per_event": calls / acked,
        "redis_us": (after["redis_cpu"] - before["redis_cpu"]) * 1e6 / acked,
        "pipeline_us": (after["cpu"] - before["cpu"]) * 1e6 / acked,
        "role_us": {role: (after["by_role"][role] - before["by_role"][role]) * 1e6 / acked
                    for role in after["by_role"]},
        "forwarded": int(e2e[0]),
        "by_command": {c: round((n - before["calls"].get(c, 0)) / acked, 3) for c, n in after["calls"].items()
                       if n - before["calls"].get(c, 0) > 0},
        "ingest_p99": int(ingest[1]), "e2e": (int(e2e[0]), int(e2e[1]), int(e2e[2]), int(e2e[3])),
        "throughput": acked / max(window, last),
        "shares": {k: after["shares"][k] - before["shares"].get(k, 0) for k in after["shares"]},
        "window": window,
    }


def peak_rss_mb(pid):
    """VmHWM: the most memory the process has held, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_rate(stack, seconds=3.0):
    before = sum(stack.redis.calls().values())
    time.sleep(seconds)
    return (sum(stack.redis.calls().values()) - before) / seconds


def share_text(shares, pods):
    total = sum(shares[p] for p in pods) or 1
    return "/".join(f"{100 * shares[p] / total:.0f}" for p in pods)


def main():
    probe_start = host_probe()
    print(f"host probe (SHA-256, one thread): {probe_start:.0f} MB/s")
    redis = Redis()
    bench = subprocess.run(["redis-benchmark", "-p", str(redis.port), "-q", "-t", "lpush", "-n", "200000",
                            "-P", "16"], capture_output=True, text=True).stdout
    lpush_ceiling = float(re.search(r"([0-9.]+) requests per second", bench).group(1))
    redis.cli("flushall")
    print(f"ceiling: redis-benchmark LPUSH, pipelined 16: {lpush_ceiling:.0f}/s (private Redis, AOF everysec)")
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", PG_USER, "-d", "postgres", "-Atqc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
                            capture_output=True, text=True).stdout.strip()
    if exists != "1":
        psql(f"CREATE DATABASE {DB}", db="postgres")
    psql(f"CREATE SCHEMA {SCHEMA}")
    env = dict(os.environ, DB_HOST="127.0.0.1", DB_PORT=PG_PORT, DB_NAME=DB, DB_USER=PG_USER,
               DB_TLS_ENABLED="false", DB_SCHEMA=SCHEMA, REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port),
               LOG_LEVEL="warn")
    subprocess.run([str(BIN / "webui"), "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "webui"), "seed"], env=env, check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", PG_USER, "-d", DB, "-v", "ON_ERROR_STOP=1",
                    "-Atq", "-c", f"SET search_path = {SCHEMA}", "-f", str(RULES)],
                   check=True, capture_output=True)
    t = time.monotonic()
    psql(f"""SET search_path = {SCHEMA};
      INSERT INTO event_audit_log (event_id, event_timestamp, hostname, matched_rule_id, handling_decision,
                                   forwarded_to_moog, raw_message)
      SELECT gen_random_uuid(), now() - (g || ' seconds')::interval, 'host-' || (g % 500),
             (SELECT min(id) FROM alert_rules), 'Page_and_ticket', true, repeat('x', 300)
      FROM generate_series(1, 200000) g; TRUNCATE event_audit_log""")
    insert_ceiling = 200000 / (time.monotonic() - t)
    print(f"ceiling: PostgreSQL one-statement INSERT of audit rows: {insert_ceiling:.0f} rows/s")

    rows, peaks = [], []
    try:
        for forwarders in FORWARDERS:
            for alerters in ALERTERS:
                prefix = f"scale{alerters}{forwarders}x{os.getpid()}"
                stack = Stack(redis, alerters, forwarders, prefix)
                try:
                    run_load(stack, 1000, 2000, 10, 0)  # warm-up: scripts loaded, pools filled
                    idle = idle_rate(stack)
                    for rate in RATES + ([0] if SATURATION_EVENTS else []):
                        count = int(rate * SECS) if rate else SATURATION_EVENTS
                        batch = 10 if rate else 100
                        r = run_load(stack, rate, count, batch, idle)
                        rows.append((alerters, forwarders, rate, batch, r,
                                     share_text(r["shares"], stack.alerters), share_text(r["shares"], stack.forwarders)))
                        print(json.dumps({"alerters": alerters, "forwarders": forwarders, "rate": rate or "saturation",
                                          **{k: v for k, v in r.items() if k != "shares"}}), flush=True)
                    peaks.append((alerters, forwarders, {
                        "ingestor": peak_rss_mb(stack.procs["ingestor"].pid),
                        "alerter": max(peak_rss_mb(stack.procs[p].pid) for p in stack.alerters),
                        "forwarder": max(peak_rss_mb(stack.procs[p].pid) for p in stack.forwarders)}))
                finally:
                    stack.stop()
                    redis.cli("flushall")
                    psql(f"TRUNCATE {SCHEMA}.event_audit_log")
    finally:
        redis.stop()
        psql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    probe_end = host_probe()

    print()
    print(f"host probe: {probe_start:.0f} MB/s before, {probe_end:.0f} MB/s after; ceilings: Redis LPUSH "
          f"{lpush_ceiling:.0f}/s, PostgreSQL INSERT {insert_ceiling:.0f} rows/s; {SECS:.0f} s per paced load; "
          f"paced loads in requests of 10 events, saturation {SATURATION_EVENTS} events in requests of 100")
    print()
    print("| alerters | forwarders | offered | Redis cmds/event (raw) | Redis µs/event | pipeline CPU µs/event "
          "| ingest p99 ms | end-to-end p50 / p99 / max ms | events/s | alerter shares % | forwarder shares % | lost |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for alerters, forwarders, rate, batch, r, a_share, f_share in rows:
        offered = f"{rate:,}/s" if rate else "saturation"
        e2e = r["e2e"]
        print(f"| {alerters} | {forwarders} | {offered} | {r['commands_per_event']:.2f} ({r['raw_commands_per_event']:.2f}) "
              f"| {r['redis_us']:.1f} | {r['pipeline_us']:.0f} | {r['ingest_p99']} | {e2e[1]} / {e2e[2]} / {e2e[3]} "
              f"| {r['throughput']:,.0f} | {a_share} | {f_share} | {r['lost']} |")
    print()
    print("CPU µs per event by process (forwarders: per forwarded alert), and what one core of each does:")
    print()
    print("| alerters | forwarders | offered | ingestor | alerters | forwarders (per alert) | Redis | PostgreSQL "
          "| events/s per alerter core | alerts/s per forwarder core | events/s per Redis core | events/s per PostgreSQL core |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for alerters, forwarders, rate, batch, r, _, _ in rows:
        u = r["role_us"]
        per_alert = u["forwarders"] * r["acked"] / max(r["forwarded"], 1)
        core = lambda us: f"{1e6 / us:,.0f}" if us > 0 else "—"
        offered = f"{rate:,}/s" if rate else "saturation"
        print(f"| {alerters} | {forwarders} | {offered} | {u['ingestor']:.0f} | {u['alerters']:.0f} | "
              f"{u['forwarders']:.0f} ({per_alert:.0f}) | {u['redis']:.0f} | {u['postgres']:.0f} | {core(u['alerters'])} | "
              f"{core(per_alert)} | {core(u['redis'])} | {core(u['postgres'])} |")
    print()
    print("Peak RSS (VmHWM) after all the loads of a configuration, MB (the largest instance of each kind):")
    print()
    print("| alerters | forwarders | ingestor | alerter | forwarder |")
    print("|---|---|---|---|---|")
    for alerters, forwarders, mb in peaks:
        print(f"| {alerters} | {forwarders} | {mb['ingestor']:.0f} | {mb['alerter']:.0f} | {mb['forwarder']:.0f} |")
    print(f"\n(reports and logs in {OUT})")


if __name__ == "__main__":
    main()
