#!/usr/bin/env python3
"""Replicated produce benchmark (issue: replication and failover): acks=all
throughput of 100-byte records into 6 partitions at replication factor 3,
in durable and page-cache modes, as a ratio to librdkafka's mock cluster
(the client-side ceiling, same run) and to replication factor 1; then the
delivery latency p50/p99/p99.9 at a fixed rate of half the RF=3 peak.
Prints the figures; never pass/fail on time.

    CAIRN_BUILD_DIR=build tests/bench/replication_throughput.py [--messages N] [--repeats R]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD_DIR, Cluster, log  # noqa: E402

BENCH = os.path.join(BUILD_DIR, "tests", "bench", "cairn-kafka-bench")
MODES = (("durable", {}), ("page-cache", {"log.flush.interval.messages": "10000"}))


def bench(target, *extra):
    cmd = [BENCH, *target, "--size", "100", "--json", "--timeout-s", "60", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr[-500:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def produce(target, topic, rf, n):
    rows = bench(target, "--topic", topic, "--partitions", "6", "--replication-factor", str(rf),
                 "--messages", str(n), "--acks", "-1", "--mode", "produce")
    r = next(r for r in rows if r.get("phase") == "produce")
    if r.get("failures", 0):
        raise RuntimeError(f"{topic}: {r['failures']} delivery failures")
    return r["msgs_per_s"]


def median_produce(target, tag, rf, n, repeats):
    return statistics.median(produce(target, f"{tag}-{rf}-{i}", rf, n) for i in range(repeats))


def page_cache_cost(mib):
    """CPU seconds this machine spends writing mib MiB into fresh page-cache
    pages, and rewriting the same (cached) pages: the floor under every
    replica's log writes, which the mock cluster (memory only) never pays."""
    chunk = b"\0" * (1 << 20)
    with tempfile.TemporaryFile(dir=os.environ.get("TMPDIR", "/tmp")) as f:
        costs = []
        for _ in range(2):
            f.seek(0)
            t0 = os.times()
            for _ in range(mib):
                f.write(chunk)
            f.flush()
            t1 = os.times()
            costs.append((t1.system - t0.system) + (t1.user - t0.user))
    return costs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    mock = median_produce(["--mock", "3"], "mock", 1, args.messages, args.repeats)
    log(f"mock cluster: {mock:,.0f} msgs/s")
    mib = args.messages * 3 * 100 // (1 << 20)
    fresh, cached = page_cache_cost(mib)
    print(f"writing {mib} MiB (one RF=3 run's log bytes, all replicas) costs {fresh:.2f} CPU s "
          f"into fresh page-cache pages, {cached:.2f} s into cached ones")
    print("| mode | RF=3 acks=all msgs/s | RF=1 acks=all msgs/s | mock msgs/s | RF=3 / mock | "
          "RF=3 / RF=1 | latency at half the RF=3 peak: rate, p50 / p99 / p99.9 ms |")
    print("|---|---|---|---|---|---|---|")
    for mode, cfg in MODES:
        with Cluster(name=f"bench-repl-{mode}", broker_config=cfg) as c:
            c.up()
            target = ["--bootstrap", c.bootstrap]
            rf3 = median_produce(target, f"r-{mode}", 3, args.messages, args.repeats)
            rf1 = median_produce(target, f"r-{mode}", 1, args.messages, args.repeats)
            rate = int(rf3 / 2)
            lat = bench(target, "--topic", f"lat-{mode}", "--partitions", "6",
                        "--replication-factor", "3", "--acks", "-1", "--mode", "latency",
                        "--rate", str(rate), "--seconds", str(args.seconds))
            lr = next(r for r in lat if r.get("phase") == "latency")
            log(f"{mode}: RF=3 {rf3:,.0f}, RF=1 {rf1:,.0f} msgs/s; latency measured at {rate}/s")
            print(f"| {mode} | {rf3:,.0f} | {rf1:,.0f} | {mock:,.0f} | {rf3 / mock:.2f} | "
                  f"{rf3 / rf1:.2f} | {rate:,}/s: {lr['lat_p50_ms']:.2f} / {lr['lat_p99_ms']:.2f} / "
                  f"{lr['lat_p999_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
