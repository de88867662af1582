"""scripts/bench-all: every figure of docs/benchmarks.md in one run, each beside its
same-run baseline (the machine's ceiling for that work) as a ratio, with a host-speed probe
first and last, and one table at the end. The parts are the per-area scripts, with shorter
runs than their defaults so that the whole stays within about 15 minutes on 2 cores:

  rule engine      cargo bench (criterion, 1 s warm-up, 2 s per case) vs one substring
                   search per message
  ingest           scripts/bench-ingest 5: wrk and mutt-load vs wrk on the same server's
                   /health; syslog UDP
  alerter drain    scripts/bench-alerter 100000 vs PostgreSQL's one-statement INSERT
  forwarder        scripts/bench-forwarder 50000 vs wrk POSTing to the same receiver
  end to end       scripts/bench-scale with 1 and 4 alerters, 1 forwarder, 2,000 and
                   10,000 events/s for 5 s and a saturating run of 30,000 events (the full
                   matrix: scripts/bench-scale alone, about 25 minutes)
  retention        scripts/bench-retention 200000 vs a v2.5-style batched DELETE

Raw outputs are kept in $TMPDIR/mutt-bench-all.<random>/; `scripts/bench-all --from DIR`
prints the table again from such a folder without running anything.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROM = Path(sys.argv[sys.argv.index("--from") + 1]) if "--from" in sys.argv else None
OUT = FROM or Path(tempfile.mkdtemp(prefix="mutt-bench-all."))


def probe():
    """scripts/lib/host-probe: SHA-256 over 64 MiB in one thread, MB/s."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts/lib/host-probe")],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


def run(name, argv, env=None):
    if FROM:
        return (FROM / f"{name}.txt").read_text()
    print(f"== {name}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(argv, cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (OUT / f"{name}.txt").write_text(out.stdout)
    print(f"   {time.monotonic() - started:.0f} s, exit {out.returncode}; output in {OUT / (name + '.txt')}", flush=True)
    if out.returncode != 0:
        print(out.stdout[-3000:])
        raise SystemExit(f"bench-all: {name} failed")
    return out.stdout


def find(pattern, text, group=1, cast=float):
    m = re.search(pattern, text, re.M | re.S)
    return cast(m.group(group)) if m else None


UNITS = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}


def criterion(text):
    """{bench name: middle throughput estimate in elements/s}."""
    found = {}
    # "rule_engine/corpus/10  time: [...]" (the name alone on its line when it is long),
    # then "thrpt: [low unit mid unit high unit]" on the next.
    for m in re.finditer(r"^(rule_engine/\S+)(?:\s+time:.*)?\n\s*(?:time:.*\n\s*)?thrpt:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]",
                         text, re.M):
        found[m.group(1)] = float(m.group(2)) * UNITS[m.group(3)]
    return found


def main():
    rows = []  # (area, figure, measured, baseline, ratio)
    probes = OUT / "probes.txt"
    if FROM:
        start_probe, end_probe = (float(v) for v in probes.read_text().split()) if probes.exists() else (0, 0)
    else:
        start_probe = probe()
        probes.write_text(f"{start_probe}")
    print(f"host probe before: SHA-256 {start_probe:.0f} MB/s (one thread)", flush=True)
    run("build", ["cargo", "build", "--release", "--locked", "--bins", "--quiet"])

    text = run("rule-engine", ["cargo", "bench", "--locked", "-p", "mutt-shared", "--bench", "rule_engine", "--",
                               "--warm-up-time", "1", "--measurement-time", "2", "--noplot"])
    bench = criterion(text)
    base = bench.get("rule_engine/baseline/0")
    for n in (10, 1000, 10000):
        for case, what in (("corpus", "no regex runs (0 %)"), ("regex_half", "50 % run a regex"),
                           ("regex_all", "100 % run a regex"), ("matching", "every event matches")):
            v = bench.get(f"rule_engine/{case}/{n}")
            if v and base:
                rows.append(("rule engine", f"{n:,} rules, {what}", f"{v / 1e6:.2f} M events/s",
                             f"{base / 1e6:.1f} M/s substring scan", f"{v / base:.3f}"))
    # Silences: 1,000 rules, every event matched, then the silence check.
    unsilenced = bench.get("rule_engine/silences/0")
    for case, n, what in (("silences", 10, "10 silences, none matches"),
                          ("silences", 1000, "1,000 silences, none matches"),
                          ("silenced", 1000, "1,000 silences, each event silenced")):
        v = bench.get(f"rule_engine/{case}/{n}")
        if v and unsilenced:
            rows.append(("rule engine", f"1,000 rules + {what}", f"{v / 1e6:.2f} M events/s",
                         f"{unsilenced / 1e6:.2f} M/s with no silence", f"{v / unsilenced:.3f}"))

    text = run("ingest", ["scripts/bench-ingest", "5"])
    health = find(r"GET /health.*?Requests/sec:\s*([0-9.]+)", text)
    single = find(r"wrk, single events.*?Requests/sec:\s*([0-9.]+)", text)
    p99 = find(r"wrk, single events.*?99%\s+(\S+)", text, cast=str)
    ml_single = find(r"mutt-load, single events.*?http: ([0-9.]+) requests/s", text)
    batch = find(r"batches of 100.*?http: [0-9.]+ requests/s, ([0-9.]+) events/s", text)
    rows.append(("ingest", "single events, wrk, 64 connections", f"{single:,.0f} requests/s (p99 {p99})",
                 f"{health:,.0f} requests/s wrk on /health", f"{single / health:.2f}"))
    rows.append(("ingest", "single events, mutt-load, 64 connections", f"{ml_single:,.0f} requests/s",
                 f"{single:,.0f} requests/s wrk, same events", f"{ml_single / single:.2f}"))
    rows.append(("ingest", "batches of 100, mutt-load, 16 connections", f"{batch:,.0f} events/s",
                 f"{health:,.0f} requests/s wrk on /health", f"{batch / 100 / health:.2f} (requests)"))
    for rate, label in (("50,000/s", "at 50,000/s"), ("100,000/s", "at 100,000/s"), ("flat out", "flat out")):
        block = text.split(f"syslog UDP {label}")[-1] if label in text else ""
        sent = find(r"rate=([0-9.]+)/s", block)
        lost = find(r"lost=\d+ \(([0-9.]+)%\)", block)
        if sent is not None:
            rows.append(("ingest", f"syslog UDP {label}", f"{sent:,.0f} sent/s, {lost:.3f} % lost", "—", "—"))

    text = run("alerter", ["scripts/bench-alerter", "100000"])
    rate = find(r"= ([0-9.]+) events/s", text)
    base = find(r"baseline ([0-9.]+) rows/s", text)
    rows.append(("alerter drain", "100,000 events, one alerter", f"{rate:,.0f} events/s",
                 f"{base:,.0f} rows/s one-statement INSERT", f"{rate / base:.2f}"))

    text = run("forwarder", ["scripts/bench-forwarder", "50000"])
    steady = find(r"steady \(10 %\.\.90 % delivered\) ([0-9.]+) alerts/s", text)
    base = find(r"baseline: wrk, ([0-9.]+) req/s", text)
    limiter = find(r"limiter: ([0-9.]+) delivered", text)
    rows.append(("forwarder", "one forwarder, limit lifted, 256 in flight", f"{steady:,.0f} alerts/s",
                 f"{base:,.0f} requests/s wrk to the same receiver", f"{steady / base:.2f}"))
    if limiter is not None:
        rows.append(("forwarder", "three forwarders sharing 1,000/s, 10 s", f"{limiter:,.0f} delivered",
                     "10,000 expected", f"{limiter / 10000:.3f}"))

    text = run("scale", ["scripts/bench-scale"], env={
        "BENCH_ALERTERS": "1 4", "BENCH_FORWARDERS": "1", "BENCH_RATES": "2000 10000",
        "BENCH_SECONDS": "5", "BENCH_SATURATION_EVENTS": "30000"})
    insert = find(r"PostgreSQL one-statement INSERT of audit rows: ([0-9.]+) rows/s", text)
    lpush = find(r"LPUSH, pipelined 16: ([0-9.]+)/s", text)
    main_table = text.split("CPU µs per event by process")[0]
    for line in main_table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and cells[0].isdigit():
            a, f, offered, cmds, redis_us, cpu_us, ingest_p99, e2e, eps = cells[:9]
            label = f"{a} alerter(s), {f} forwarder, {offered}"
            rows.append(("end to end", f"{label}: Redis commands per event", cmds, "≤ 10 (target)", "—"))
            if offered == "saturation":
                events = float(eps.replace(",", ""))
                rows.append(("end to end", f"{label}: sustained, until the last delivery", f"{events:,.0f} events/s",
                             f"{insert:,.0f} rows/s one-statement INSERT", f"{events / insert:.2f}"))
            rows.append(("end to end", f"{label}: latency from the scheduled send p50 / p99 / max", f"{e2e} ms",
                         "—", "—"))
            rows.append(("end to end", f"{label}: CPU per event, whole pipeline / Redis", f"{cpu_us} / {redis_us} µs",
                         f"{lpush:,.0f}/s LPUSH (redis-benchmark)", "—"))

    text = run("retention", ["scripts/bench-retention", "200000"])
    delete = find(r"batched DELETE: ([0-9.]+)s", text)
    drop = find(r"drop by partition: ([0-9.]+)s", text)
    archive = find(r"archive by partition: ([0-9.]+)s", text)
    rows.append(("retention", "retire a month of 200,000 rows by partition drop", f"{drop:.2f} s",
                 f"{delete:.2f} s v2.5-style batched DELETE", f"{drop / delete:.3f}"))
    rows.append(("retention", "archive it, then drop", f"{archive:.2f} s",
                 f"{delete:.2f} s v2.5-style batched DELETE", f"{archive / delete:.2f}"))

    if not FROM:
        end_probe = probe()
        probes.write_text(f"{start_probe} {end_probe}")
    print()
    print(f"host probe: SHA-256 {start_probe:.0f} MB/s before, {end_probe:.0f} MB/s after (one thread); "
          f"raw outputs in {OUT}")
    print()
    print("| area | figure | measured | same-run baseline | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("Scale rows in full:")
    print("\n".join(l for l in (OUT / "scale.txt").read_text().splitlines() if l.startswith("|")))


if __name__ == "__main__":
    main()
