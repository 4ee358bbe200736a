#!/usr/bin/env python3
"""Produce/consume throughput benchmark: cairn-kafka-bench against librdkafka's
in-process mock cluster (the client-side ceiling) and against a local Cairn
cluster (3 controllers, 3 brokers, on free ports in a temporary directory) in
the same go, for 100-byte records with 1 and 6 partitions, acks=1 and
acks=-1, once per broker durability mode (the default durable mode and
page-cache mode, log.flush.interval.messages=10000, passed to the brokers
through CAIRN_BROKER_CONFIG). Each run produces --messages records to a fresh
topic and reads them back; the script prints the median of the repeats, the
ratio Cairn/mock and the delivery-latency percentiles, also at a fixed low
rate. Never pass/fail on time: it exits 1 only when a run fails (delivery
failures, wrong counts, a wait without progress).

    CAIRN_BUILD_DIR=build tests/bench/produce_consume.py [--quick] [--repeats R]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD_DIR, Cluster, log  # noqa: E402

BENCH = os.path.join(BUILD_DIR, "tests", "bench", "cairn-kafka-bench")
PARTITIONS = (1, 6)
ACKS = ("1", "-1")
SIZE = 100
MOCK_BROKERS = 3
# Broker durability modes (DESIGN §5, docs/configuration.md): the default
# fsyncs every produce before answering (group commit); page-cache mode is
# Kafka's default behaviour, fsync every N messages.
MODES = (
    ("durable", {}),
    ("page-cache", {"log.flush.interval.messages": "10000"}),
)
BENCH_TIMEOUT_S = 30        # cairn-kafka-bench --timeout-s: a wait without progress
RUN_TIMEOUT_S = 600         # the whole process, as a last resort


class Runner:
    """Runs cairn-kafka-bench and collects its JSON lines per row."""

    def __init__(self, args):
        self.args = args
        self.rows = {}          # (target, partitions, acks, phase) -> [json]
        self.failures = []
        self.seq = 0

    def run(self, target_args, label, extra):
        self.seq += 1
        cmd = [BENCH, *target_args, "--size", str(SIZE), "--json",
               "--timeout-s", str(BENCH_TIMEOUT_S), *extra]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.failures.append(f"{label}: no exit after {RUN_TIMEOUT_S}s: {' '.join(cmd)}")
            log(self.failures[-1])
            return []
        out = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        for o in out:
            log(f"{label}: {o['phase']} {o['msgs_per_s']:.0f} msgs/s {o['mb_per_s']:.1f} MB/s"
                + (f" p99 {o['lat_p99_ms']:.1f} ms" if "lat_p99_ms" in o else ""))
        if p.returncode != 0 or any(not o["ok"] for o in out):
            tail = "\n".join(p.stderr.strip().splitlines()[-8:])
            self.failures.append(f"{label}: exit {p.returncode}: {' '.join(cmd)}\n{tail}")
            log(f"{label}: FAILED (exit {p.returncode})\n{tail}")
        return out

    def add(self, target, partitions, acks, results):
        for o in results:
            if o["ok"]:
                self.rows.setdefault((target, partitions, acks, o["phase"]), []).append(o)

    def throughput(self, target, target_args, topic_prefix):
        a = self.args
        for partitions in PARTITIONS:
            for acks in ACKS:
                for rep in range(a.repeats):
                    topic = f"{topic_prefix}-p{partitions}-a{acks.replace('-', 'm')}-{rep}"
                    extra = ["--topic", topic, "--partitions", str(partitions), "--acks", acks,
                             "--messages", str(a.messages), "--mode", "both",
                             "--replication-factor", str(a.replication_factor)]
                    res = self.run(target_args, f"{target} p={partitions} acks={acks} #{rep + 1}",
                                   extra)
                    self.add(target, partitions, acks, res)

    def latency(self, target, target_args, topic_prefix):
        a = self.args
        for acks in ACKS:
            for rep in range(a.repeats):
                topic = f"{topic_prefix}-lat-a{acks.replace('-', 'm')}-{rep}"
                extra = ["--topic", topic, "--partitions", "1", "--acks", acks,
                         "--mode", "latency", "--rate", str(a.rate), "--seconds",
                         str(a.seconds), "--linger-ms", "0",
                         "--replication-factor", str(a.replication_factor)]
                res = self.run(target_args, f"{target} latency acks={acks} #{rep + 1}", extra)
                self.add(target, 1, acks, res)


def median(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def latencies(rows):
    if not rows:
        return "-"
    return " / ".join(fmt(median(rows, k), ".1f") for k in ("lat_p50_ms", "lat_p99_ms", "lat_p999_ms"))


def print_throughput(runner, modes):
    print("\n## Throughput (median of repeats; MB = 10^6 bytes of values)\n")
    print("| Cairn mode | partitions | acks | phase | Cairn msgs/s | Cairn MB/s | mock msgs/s | "
          "mock MB/s | Cairn/mock | delivery latency p50 / p99 / p99.9 ms, Cairn | same, mock |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in modes:
        for partitions in PARTITIONS:
            for acks in ACKS:
                for phase in ("produce", "consume"):
                    rows = runner.rows.get((mode, partitions, acks, phase), [])
                    mock = runner.rows.get(("mock", partitions, acks, phase), [])
                    rate, mock_rate = median(rows, "msgs_per_s"), median(mock, "msgs_per_s")
                    ratio = rate / mock_rate if rate and mock_rate else None
                    lat = [latencies(r) if phase == "produce" else "-" for r in (rows, mock)]
                    print(f"| {mode} | {partitions} | {acks} | {phase} | {fmt(rate, ',.0f')} | "
                          f"{fmt(median(rows, 'mb_per_s'), '.1f')} | {fmt(mock_rate, ',.0f')} | "
                          f"{fmt(median(mock, 'mb_per_s'), '.1f')} | {fmt(ratio, '.2f')} | "
                          f"{lat[0]} | {lat[1]} |")


def print_latency(runner, targets, args):
    print(f"\n## Delivery latency at {args.rate:g} msgs/s for {args.seconds:g} s "
          "(1 partition, linger.ms=0; median of repeats)\n")
    print("| target | acks | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for target in targets:
        for acks in ACKS:
            rows = runner.rows.get((target, 1, acks, "latency"), [])
            print(f"| {target} | {acks} | " + " | ".join(
                fmt(median(rows, k), ".2f")
                for k in ("lat_p50_ms", "lat_p99_ms", "lat_p999_ms", "lat_max_ms")) + " |")


def run_cairn(runner, mode, broker_config, args):
    failed_before = len(runner.failures)
    with Cluster(name=f"bench-pc-{mode}") as c:
        # Set here rather than through newer harness arguments: deploy/cluster.sh
        # reads it when it writes each broker's configuration.
        if broker_config:
            c.env["CAIRN_BROKER_CONFIG"] = ";".join(f"{k}={v}" for k, v in broker_config.items())
        else:
            c.env.pop("CAIRN_BROKER_CONFIG", None)
        c.up()
        c.wait_ready()
        bootstrap = ",".join(f"127.0.0.1:{c.base_port + i}" for i in range(c.nodes))
        log(f"Cairn ({mode}) up at {bootstrap}, data in {c.home}")
        target = ["--bootstrap", bootstrap]
        runner.throughput(mode, target, f"bench-{mode}")
        runner.latency(mode, target, f"bench-{mode}")
        if len(runner.failures) > failed_before:
            log(f"Cairn ({mode}) logs after failures:\n" + c.logs_tail(lines=20))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per configuration (default 3)")
    ap.add_argument("--messages", type=int, default=1000000, help="messages per run")
    ap.add_argument("--replication-factor", type=int, default=1,
                    help="replication factor of the benchmark topics (default 1)")
    ap.add_argument("--rate", type=float, default=1000, help="latency rows: messages per second")
    ap.add_argument("--seconds", type=float, default=10, help="latency rows: duration")
    ap.add_argument("--modes", default=",".join(m for m, _ in MODES),
                    help="broker modes to measure (default: durable,page-cache)")
    ap.add_argument("--quick", action="store_true",
                    help="short run: 1 repeat, 200000 messages, 2 s latency rows")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.messages, args.seconds = 1, 200000, 2
    known = dict(MODES)
    args.modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in args.modes if m not in known]
    if bad or args.repeats < 1 or not 1 <= args.replication_factor <= MOCK_BROKERS:
        ap.error(f"unknown mode {bad}" if bad else "--repeats >= 1, --replication-factor 1..3")
    return args


def main():
    args = parse_args()
    if not os.access(BENCH, os.X_OK):
        print(f"{BENCH} not found: build it (ninja -C $CAIRN_BUILD_DIR; it needs librdkafka-dev)",
              file=sys.stderr)
        return 1
    runner = Runner(args)
    t0 = time.monotonic()
    log(f"mock cluster ({MOCK_BROKERS} brokers, in-process)")
    runner.throughput("mock", ["--mock", str(MOCK_BROKERS)], "bench-mock")
    runner.latency("mock", ["--mock", str(MOCK_BROKERS)], "bench-mock")
    for mode in args.modes:
        run_cairn(runner, mode, dict(MODES)[mode], args)
    print(f"\ncairn-kafka-bench, {SIZE}-byte values, {args.messages} messages per run, "
          f"replication factor {args.replication_factor}, {args.repeats} repeats, "
          f"linger.ms=5, {time.strftime('%Y-%m-%d')}, {time.monotonic() - t0:.0f} s in all")
    print_throughput(runner, args.modes)
    print_latency(runner, ["mock", *args.modes], args)
    if runner.failures:
        print(f"\n{len(runner.failures)} run(s) failed:")
        for f in runner.failures:
            print("  " + f.replace("\n", "\n    "))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
