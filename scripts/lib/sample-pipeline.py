#!/usr/bin/env python3
"""Samples a running pipeline once a second until a process exits (scripts/bench-pipeline).

Each line: seconds since start, events waiting for the alerter (ingest queue + its
processing list), alerts waiting for the forwarder (alert queue + its processing list),
then cumulative CPU seconds (user + system) of each named process group and of the whole
machine.

    sample-pipeline.py REDIS_PORT PREFIX WAIT_PID name=pid[,pid…] … > samples
"""
import os
import socket
import sys
import time

port, prefix, wait_pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
groups = [arg.split("=", 1) for arg in sys.argv[4:]]
TICK = os.sysconf("SC_CLK_TCK")


def resp(*args):
    out = f"*{len(args)}\r\n"
    for a in args:
        a = str(a)
        out += f"${len(a.encode())}\r\n{a}\r\n"
    return out.encode()


def backlog(sock, reader):
    keys = [f"{prefix}:ingest_queue", f"{prefix}:processing:alerter:bench",
            f"{prefix}:alert_queue", f"{prefix}:processing:moog:bench"]
    script = ("return {redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]), "
              "redis.call('LLEN', KEYS[3]) + redis.call('LLEN', KEYS[4])}")
    sock.sendall(resp("EVAL", script, 4, *keys))
    head = reader.readline()
    assert head.startswith(b"*2"), head
    return [int(reader.readline()[1:]) for _ in range(2)]


def cpu(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / TICK


def machine():
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:]))
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / TICK  # user nice system irq softirq steal


def pids_of(spec):
    if spec.startswith("comm:"):  # every process with this command name (postgres backends)
        name = spec[5:]
        found = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if f.read().strip() == name:
                            found.append(pid)
                except OSError:
                    pass
        return found
    return spec.split(",")


sock = socket.create_connection(("127.0.0.1", port))
reader = sock.makefile("rb")
start = time.monotonic()
while True:
    alive = os.path.exists(f"/proc/{wait_pid}")
    ready, alerts = backlog(sock, reader)
    cpus = [f"{cpu(pids_of(spec)):.2f}" for _, spec in groups]
    print(f"{time.monotonic() - start:.2f} {ready} {alerts} {' '.join(cpus)} {machine():.2f}", flush=True)
    if not alive:
        break
    time.sleep(1)
