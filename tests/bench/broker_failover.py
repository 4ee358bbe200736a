#!/usr/bin/env python3
"""Broker failover and follower catch-up benchmarks (RF=3, durable mode).
Prints the figures; never pass/fail.

  failover: time from SIGKILL of a partition's leader broker to the first
            acks=all write acknowledged by its successor, over several kills
            (a client that retries every 10 ms against every broker, as a
            Kafka client refreshing its metadata would).
  catch-up: a follower stopped while the leader takes --catchup-mib MiB,
            restarted: time until it is back in the ISR.

    CAIRN_BUILD_DIR=build tests/bench/broker_failover.py [--kills N] [--catchup-mib M]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Cluster, log, wait_until  # noqa: E402
import kafka_wire as kw  # noqa: E402

TOPIC = "failover"


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def try_produce(c, node, batch):
    try:
        conn = kw.Conn("127.0.0.1", c.broker_port(node), timeout=2)
        try:
            err, _ = conn.produce(TOPIC, 0, batch, acks=-1)
            return err == 0
        finally:
            conn.close()
    except OSError:
        return False


def one_failover(c, k):
    old = c.leader_of(TOPIC)
    batch = kw.batch([(b"k", b"before-%d" % k)])
    assert try_produce(c, old, batch)
    others = [n for n in (1, 2, 3) if n != old]
    t0 = time.monotonic()
    c.signal("kill", "broker", old)
    deadline = t0 + 30
    while time.monotonic() < deadline:
        for n in others:
            if try_produce(c, n, kw.batch([(b"k", b"after-%d" % k)])):
                ms = (time.monotonic() - t0) * 1000
                log(f"kill {k}: leader {old} killed, broker {n} acknowledged after {ms:.0f} ms")
                c.signal("start", "broker", old)
                wait_until(lambda: len(c.describe(TOPIC)["partitions"][0]["isr"]) == 3, 60,
                           "a full ISR")
                return ms
        time.sleep(0.01)
    return None


def catch_up(c, mib):
    leader = c.leader_of(TOPIC)
    follower = next(n for n in (1, 2, 3) if n != leader)
    c.signal("stop", "broker", follower)
    conn = kw.Conn("127.0.0.1", c.broker_port(c.leader_of(TOPIC)))
    value = b"x" * 1000
    batch = kw.batch([(None, value)] * 1000)              # ~1 MB
    for _ in range(mib):
        err, _ = conn.produce(TOPIC, 0, batch, acks=1)
        assert err == 0, err
    conn.close()
    t0 = time.monotonic()
    c.signal("start", "broker", follower)
    wait_until(lambda: follower in c.describe(TOPIC)["partitions"][0]["isr"], 600,
               "the follower back in the ISR", interval_s=0.02)
    return follower, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--catchup-mib", type=int, default=1024)
    args = ap.parse_args()
    with Cluster(name="bench-bfail") as c:
        c.up()
        c.ctl("topic", "create", TOPIC, "--partitions", "1", "--replication-factor", "3",
              "--config", "min.insync.replicas=2")
        c.wait_leaders(TOPIC)
        samples = [ms for ms in (one_failover(c, k) for k in range(args.kills)) if ms]
        if samples:
            print(f"broker failover, {len(samples)} kills: median {statistics.median(samples):.0f} ms, "
                  f"p90 {percentile(samples, 90):.0f} ms, min {min(samples):.0f} ms, "
                  f"max {max(samples):.0f} ms")
        if args.catchup_mib > 0:
            follower, s = catch_up(c, args.catchup_mib)
            print(f"catch-up: broker {follower}, {args.catchup_mib} MiB behind, back in the ISR "
                  f"after {s:.1f} s ({args.catchup_mib / s:.0f} MiB/s)")
    return 0 if samples else 1


if __name__ == "__main__":
    sys.exit(main())
