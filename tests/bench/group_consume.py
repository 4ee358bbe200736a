#!/usr/bin/env python3
"""Consumer-group benchmark: a local Cairn cluster (3 controllers, 3
brokers, durable mode) holds --messages 100-byte records in 6 partitions
(RF 3), written once by cairn-kafka-bench. Each repetition then, with a
fresh group of confluent-kafka consumers (tests/compat/group_worker.py
processes: subscribe, consume batches of up to 10,000, synchronous commit
after each batch):

  formation  3 members subscribe at once: from the first subscribe() to
             every partition assigned and no rebalance following
             (group.initial.rebalance.delay.ms included, --initial-delay-ms);
  consume    the members hold their partitions paused until then (--gate),
             so that the read happens in one stable generation: msgs/s from
             opening the gate to the moment every partition has been read
             to its end (the members' processing and commits included);
  join       a 4th member subscribes: from its subscribe() to every
             partition assigned again over the 4 members, as their
             assignment callbacks report it (eager rebalance: every member
             revokes and is assigned again);
  kill       one member is SIGKILLed: from the kill to every partition
             assigned again over the 3 survivors (dominated by
             session.timeout.ms, --session-timeout-ms).

Times are wall-clock stamps of the members' callbacks on this machine.
Prints the median, min and max of the repetitions as a markdown table;
never pass/fail on time: exits 1 only when a run fails (a wait without
progress, an incomplete read).

    CAIRN_BUILD_DIR=build tests/bench/group_consume.py [--messages N] [--repeats R]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
from harness import BUILD_DIR, Cluster, log  # noqa: E402
from group_worker import Group  # noqa: E402
import kafka_wire as kw  # noqa: E402

BENCH = os.path.join(BUILD_DIR, "tests", "bench", "cairn-kafka-bench")
TOPIC = "group-bench"
PARTS = list(range(6))
MEMBERS = 3
SIZE = 100
SETTLE_S = 1.5


class RunFailed(Exception):
    pass


def wait_for(pred, timeout_s, what, interval_s=0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval_s)
    raise RunFailed(f"timed out after {timeout_s}s waiting for {what}")


def produce(c, args):
    cmd = [BENCH, "--bootstrap", c.bootstrap, "--topic", TOPIC, "--partitions", str(len(PARTS)),
           "--replication-factor", str(args.replication_factor), "--messages",
           str(args.messages), "--size", str(SIZE), "--acks", "-1", "--mode", "produce",
           "--json", "--timeout-s", "60"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    rows = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not rows or not all(r["ok"] for r in rows):
        raise RunFailed(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-800:]}")
    log(f"pre-produced {args.messages} records: {rows[0]['msgs_per_s']:.0f} msgs/s")


def log_ends(c):
    """{partition: high watermark}, from each partition's leader (ListOffsets)."""
    out = {}
    for p in c.describe(TOPIC)["partitions"]:
        conn = kw.Conn("127.0.0.1", c.broker_port(p["leader"]))
        try:
            err, _, off = conn.list_offset(TOPIC, p["partition"], -1)
        finally:
            conn.close()
        if err:
            raise RunFailed(f"ListOffsets {TOPIC}-{p['partition']}: error {err}")
        out[p["partition"]] = off
    return out


def settled(workers, t0):
    """When every worker's current assignment came from an assignment
    callback at or after t0 and together they cover every partition without
    overlap: the time of the last of those callbacks. Else None."""
    last, union = 0.0, set()
    for w in workers:
        ev = [e for e in w.snapshot() if e["ev"] in ("assign", "revoke")]
        if not ev or ev[-1]["ev"] != "assign" or ev[-1]["t"] < t0:
            return None
        parts = set(ev[-1]["parts"])
        if union & parts:
            return None
        union |= parts
        last = max(last, ev[-1]["t"])
    return last if union == set(PARTS) else None


def wait_settled(workers, t0, timeout_s, what):
    """settled(), and still the same one settle time later (no further
    rebalance in flight)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        t = settled(workers, t0)
        if t:
            time.sleep(SETTLE_S)
            if settled(workers, t0) == t:
                return t
        time.sleep(0.02)
    raise RunFailed(f"timed out after {timeout_s}s waiting for {what}: "
                    + "; ".join(w.describe() for w in workers))


def consumed_to_end(g, ends):
    """(time every partition was read to its end, records, first batch
    (t, n)) or None while some partition is behind."""
    hi, when, first, total = {}, {}, None, 0
    for w in g.workers:
        for e in w.snapshot():
            if e["ev"] != "batch":
                continue
            total += e["n"]
            if first is None or e["t"] < first[0]:
                first = (e["t"], e["n"])
            for p, o in e["hi"].items():
                p = int(p)
                if o > hi.get(p, -1):
                    hi[p] = o
                    when[p] = e["t"]
    if any(hi.get(p, 0) < ends[p] for p in PARTS):
        return None
    return max(when.values()), total, first


def one_run(c, args, rep, ends):
    group = f"bench-group-{rep}"
    gate = os.path.join(c.home, f"gate-{rep}")
    g = Group(c.bootstrap, group, TOPIC,
              ["--quiet", "--batch", "10000", "--session-timeout-ms",
               str(args.session_timeout_ms), "--heartbeat-ms", str(args.heartbeat_ms),
               "--gate", gate])
    out = {}
    try:
        members = g.start(MEMBERS)
        starts = wait_for(lambda: (lambda s: s if len(s) == MEMBERS else None)(
            [e["t"] for w in members for e in w.snapshot() if e["ev"] == "start"]),
            60, "the members to subscribe")
        t_sub = min(starts)
        t_formed = wait_settled(members, t_sub, 90, "every partition assigned over 3 members")
        out["formation"] = (t_formed - t_sub) * 1000
        # The members held their partitions paused: open the gate and time the read.
        t_gate = time.time()
        open(gate, "w").close()
        last_total, last_change = -1, time.monotonic()
        while True:
            done = consumed_to_end(g, ends)
            if done:
                break
            total = sum(e["n"] for w in members for e in w.snapshot() if e["ev"] == "batch")
            if total != last_total:
                last_total, last_change = total, time.monotonic()
            elif time.monotonic() - last_change > 60:
                raise RunFailed(f"no progress for 60 s at {total} records")
            time.sleep(0.05)
        t_done, total, _ = done
        out["consume"] = args.messages / max(t_done - t_gate, 1e-6)
        out["reread"] = total - args.messages
        log(f"run {rep + 1}: formed in {out['formation']:.0f} ms, consumed "
            f"{args.messages} in {t_done - t_gate:.2f} s ({out['consume']:,.0f} msgs/s, "
            f"{out['reread']} records read twice)")

        joiner = g.start(1)[0]
        t_join = wait_for(lambda: next((e["t"] for e in joiner.snapshot()
                                        if e["ev"] == "start"), None), 60,
                          "the 4th member to subscribe")
        t_j = wait_settled(g.live(), t_join, 90, "every partition assigned over 4 members")
        out["join"] = (t_j - t_join) * 1000

        victim = members[rep % MEMBERS]
        t_kill = time.time()
        victim.kill()
        survivors = g.live()
        t_k = wait_settled(survivors, t_kill, 120, "every partition assigned over the survivors")
        out["kill"] = (t_k - t_kill) * 1000
        log(f"run {rep + 1}: rebalance after a join {out['join']:.0f} ms, after a SIGKILL "
            f"{out['kill']:.0f} ms")
    finally:
        try:
            g.stop_all(timeout_s=30)
        except RuntimeError as e:
            log(f"stopping the members: {e}")
            g.kill_all()
    return out


def row(name, vals, fmt, unit):
    if not vals:
        return f"| {name} | - | - | - | 0 |"
    return (f"| {name} | {format(statistics.median(vals), fmt)} {unit} | "
            f"{format(min(vals), fmt)} {unit} | {format(max(vals), fmt)} {unit} | {len(vals)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--replication-factor", type=int, default=3)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    ap.add_argument("--initial-delay-ms", type=int, default=300,
                    help="group.initial.rebalance.delay.ms (Kafka's default is 3000)")
    args = ap.parse_args()
    if not os.access(BENCH, os.X_OK):
        print(f"{BENCH} not found: build it (it needs librdkafka-dev)", file=sys.stderr)
        return 1
    runs, failures = [], []
    t0 = time.monotonic()
    with Cluster(name="bench-group",
                 broker_config={"group.initial.rebalance.delay.ms": args.initial_delay_ms}) as c:
        c.up()
        c.wait_ready()
        try:
            produce(c, args)
        except RunFailed as e:
            print(f"pre-produce failed: {e}", file=sys.stderr)
            return 1
        try:
            ends = log_ends(c)
        except RunFailed as e:
            print(f"cannot read the log ends: {e}", file=sys.stderr)
            return 1
        if sum(ends.values()) != args.messages:
            print(f"the topic holds {ends}, not {args.messages} records", file=sys.stderr)
            return 1
        for rep in range(args.repeats):
            try:
                runs.append(one_run(c, args, rep, ends))
            except RunFailed as e:
                failures.append(f"run {rep + 1}: {e}")
                log(failures[-1] + "\n" + c.logs_tail(lines=10))
    print(f"\nconsumer groups: confluent-kafka 1.7.0 (librdkafka 2.0.2) members, one process "
          f"each, {args.messages} records of {SIZE} bytes in {len(PARTS)} partitions (RF "
          f"{args.replication_factor}), batches of up to 10,000 with a synchronous commit "
          f"after each; session.timeout.ms={args.session_timeout_ms}, heartbeat.interval.ms="
          f"{args.heartbeat_ms}, group.initial.rebalance.delay.ms={args.initial_delay_ms}; "
          f"{len(runs)} runs, {time.strftime('%Y-%m-%d')}, {time.monotonic() - t0:.0f} s in all\n")
    print("| measure | median | min | max | runs |")
    print("|---|---|---|---|---|")
    print(row(f"consume, {MEMBERS} members", [r["consume"] for r in runs], ",.0f", "msgs/s"))
    print(row(f"group formation, {MEMBERS} members subscribing",
              [r["formation"] for r in runs], ".0f", "ms"))
    print(row("rebalance: a 4th member joins", [r["join"] for r in runs], ".0f", "ms"))
    print(row("rebalance: a member is SIGKILLed", [r["kill"] for r in runs], ".0f", "ms"))
    if failures:
        print(f"\n{len(failures)} run(s) failed:")
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
