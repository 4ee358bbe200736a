#!/usr/bin/env python3
"""Controller failover benchmark: time from SIGKILL of the Raft leader
controller to the first successful admin write (topic create) acknowledged by
its successor, over several kills. Prints the figures; never pass/fail.

    CAIRN_BUILD_DIR=build tests/bench/controller_failover.py [--kills N]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Cluster, log, wait_until  # noqa: E402


def percentile(xs, q):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    args = ap.parse_args()
    samples = []
    with Cluster(name="bench-failover") as c:
        c.up()
        for k in range(args.kills):
            old = c.leader()
            t0 = time.monotonic()
            c.signal("kill", "controller", old)
            p = c.ctl("topic", "create", f"after-{k}", timeout_ms=10000, check_rc=False)
            ms = (time.monotonic() - t0) * 1000
            if p.returncode != 0:
                log(f"kill {k}: write failed: {p.stderr.strip()}")
                continue
            samples.append(ms)
            log(f"kill {k}: leader {old} killed, first write acknowledged after {ms:.0f} ms")
            c.signal("start", "controller", old)
            wait_until(lambda: all(v["role"] in ("leader", "follower")
                                   for v in c.status()["controller"]["voters"]),
                       30, "the killed controller to rejoin")
    if not samples:
        print("no successful failovers measured")
        return 1
    print(f"controller failover, {len(samples)} kills: "
          f"median {statistics.median(samples):.0f} ms, p90 {percentile(samples, 90):.0f} ms, "
          f"min {min(samples):.0f} ms, max {max(samples):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
