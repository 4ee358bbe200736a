"""Chaos: the group coordinator dies (RELIABILITY scenario 14). Three
librdkafka consumers (tests/compat/group_worker.py processes) in one group
commit synchronously after every few records they process, while a
librdkafka producer (acks=all) writes numbered records into 6 partitions
(RF 3, min.insync.replicas 2; __consumer_offsets with 6 partitions). Each
round finds the group's coordinator (FindCoordinator, and checks it is the
leader of __consumer_offsets partition abs(javaHash(group)) % 6) and
SIGKILLs it: in even rounds in the middle of the commits, in odd rounds just
after a member joined or left (during the rebalance). Another broker must
take over, and the killed one is restarted.

Throughout, a monitor asks the current coordinator for the committed
offsets (OffsetFetch) and checks, per partition: the answer is never below
the highest commit a consumer had already seen succeed before the request
was sent (no acknowledged commit lost in a failover), successive answers
never go backwards, and every answer is an offset some consumer did commit.
At the end the group has consumed every record the producer had confirmed,
with its value, at least once, no offset is skipped (the union of consumed
offsets covers the whole log), each member read increasing offsets within
one assignment, and the committed offsets reach the log end. Then criteria
U and R on the data topic, as in the other chaos tests."""
import os
import signal
import sys
import threading
import time

from chaos import (LONG, Cluster, History, Producer, fail, isr_full, kw, log, partitions_of,
                   report_and_fail, seeded, verify_all)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from group_worker import Group, missing  # noqa: E402

rng, seed = seeded("coordinator_kill")
history = History(seed)
TOPIC = "events"
PARTS = tuple(range(6))
OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_PARTS = 6
GROUP = f"chaos-group-{rng.randrange(1 << 20)}"
COUNT = 60_000 if LONG else 15_000
RATE = 1000 if LONG else 500
ROUNDS = 4 if LONG else 2
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 300,
                 "offsets.topic.num.partitions": OFFSETS_PARTS}
dead = set()                     # brokers currently killed


def gfail(msg):
    print(f"CHECK FAILED (seed {seed}); timeline:\n{history.timeline()}", flush=True)
    fail(f"seed {seed}: {msg}")


def live_brokers():
    return [n for n in (1, 2, 3) if n not in dead]


def find_coordinator(c):
    """(node) the live brokers name as the group's coordinator, or None."""
    for n in live_brokers():
        try:
            conn = kw.Conn("127.0.0.1", c.broker_port(n), timeout=3)
            try:
                err, node, _, _ = kw.find_coordinator_v0(conn, GROUP)
            finally:
                conn.close()
        except (OSError, ConnectionError, AssertionError):
            continue
        if err == 0 and node in live_brokers():
            return node
    return None


def offset_fetch(c, node):
    """{partition: committed offset} from broker node, or None on any error
    (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, a closed socket...)."""
    try:
        conn = kw.Conn("127.0.0.1", c.broker_port(node), timeout=3)
        try:
            res = kw.offset_fetch_v1(conn, GROUP, TOPIC, list(PARTS))
        finally:
            conn.close()
    except (OSError, ConnectionError, AssertionError):
        return None
    if sorted(res) != list(PARTS) or any(err for _, _, err in res.values()):
        return None
    return {p: off for p, (off, _, _) in res.items()}


def acked(g):
    """The highest commit per partition that a consumer saw succeed."""
    out = {p: -1 for p in PARTS}
    for _, _, ok, offs, _ in g.commits():
        if ok:
            for p, o in offs.items():
                out[int(p)] = max(out[int(p)], o)
    return out


class Monitor:
    """Samples the committed offsets from the current coordinator, noting
    for each sample the acknowledged commits that preceded it."""

    def __init__(self, c, g):
        self.c, self.g = c, g
        self.samples = []        # (t, node, acked before, fetched)
        self.misses = 0
        self.stopping = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stopping.is_set():
                node = find_coordinator(self.c)
                before = acked(self.g)
                got = offset_fetch(self.c, node) if node else None
                if got is None:
                    self.misses += 1
                else:
                    self.samples.append((history.now(), node, before, got))
                time.sleep(0.2)
        except Exception as e:  # noqa: BLE001  reported by stop()
            self.error = e

    def latest(self):
        return self.samples[-1] if self.samples else None

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        if self.error:
            gfail(f"monitor failed: {self.error!r}")


def sizes_for(members):
    return {len(PARTS) // members, -(-len(PARTS) // members)}


def high_watermarks(c):
    """{partition: high watermark} from each partition's leader."""
    out = {}
    parts = partitions_of(c, TOPIC)
    for p in PARTS:
        conn = kw.Conn("127.0.0.1", c.broker_port(parts[p]["leader"]), timeout=5)
        try:
            err, _, off = conn.list_offset(TOPIC, p, -1)
        finally:
            conn.close()
        if err:
            raise RuntimeError(f"ListOffsets {TOPIC}-{p}: error {err}")
        out[p] = off
    return out


def coverage_problems(g, ends):
    """Offsets below the high watermark no member consumed."""
    return [f"{p}/{gap[0]}: {len(gap)} offset(s) below the high watermark {ends[p]} never "
            f"consumed by the group (first {gap[:5]})"
            for p, gap in sorted(missing(g.records(), {}, ends).items())]


with Cluster(name="chaos-coord", broker_config=BROKER_CONFIG) as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", str(len(PARTS)), "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    history.wait(lambda: isr_full(c, TOPIC), 20, "full ISRs")
    g = Group(c.bootstrap, GROUP, TOPIC, ["--batch", "5"])
    mon = None
    try:
        history.event(f"group {GROUP}: starting 3 consumers committing every <= 5 records")
        g.start(3)
        g.wait_balanced(3, PARTS, {2}, 60, "three members with two partitions each", gfail)
        mon = Monitor(c, g)
        history.event(f"producing {COUNT} records at ~{RATE}/s, {ROUNDS} coordinator kill(s)")
        prod = Producer(c.bootstrap, TOPIC, len(PARTS), history, RATE, count=COUNT).start()
        members = 3

        for r in range(ROUNDS):
            history.wait(lambda: prod.confirmed_count() >= COUNT * (r + 1) // (ROUNDS + 1),
                         120, f"round {r}: records confirmed before the kill", interval_s=0.1)
            history.wait(lambda: sum(1 for x in g.commits() if x[2]) > 0, 60,
                         "a successful commit")

            def agreed():
                node = find_coordinator(c)
                part = kw.group_partition(GROUP, OFFSETS_PARTS)
                leader = partitions_of(c, OFFSETS_TOPIC)[part]["leader"]
                return node if node and node == leader else None
            coord = history.wait(agreed, 30, f"round {r}: FindCoordinator to name the leader of "
                                 f"{OFFSETS_TOPIC}-{kw.group_partition(GROUP, OFFSETS_PARTS)}")
            if r % 2 == 1:
                if members < 4:
                    w = g.start(1)[0]
                    members += 1
                    history.event(f"round {r}: member {w.name} joins (rebalance)")
                else:
                    w = rng.choice(g.live())
                    w.proc.send_signal(signal.SIGTERM)
                    members -= 1
                    history.event(f"round {r}: member {w.name} leaves (rebalance)")
                time.sleep(rng.uniform(0.0, 0.6))
            before = acked(g)
            kill_wall = time.time()
            history.fault(f"round {r}: SIGKILL broker {coord}, coordinator of {GROUP}; "
                          f"commits acknowledged so far {before}")
            c.signal("kill", "broker", coord)
            dead.add(coord)
            new = history.wait(lambda: find_coordinator(c), 60,
                               f"round {r}: a new coordinator for {GROUP}")
            fetched = history.wait(lambda: offset_fetch(c, new), 60,
                                   f"round {r}: OffsetFetch answered by the new coordinator {new}")
            history.event(f"round {r}: broker {new} coordinates {GROUP}; committed {fetched}")
            behind = {p: (fetched[p], before[p]) for p in PARTS if fetched[p] < before[p]}
            if behind:
                gfail(f"round {r}: after the failover the committed offsets went back below "
                      f"acknowledged commits (fetched, acknowledged): {behind}")
            history.wait(lambda: any(x[2] and x[0] > kill_wall for x in g.commits()), 90,
                         f"round {r}: a commit acknowledged by the new coordinator")
            history.event(f"round {r}: commits acknowledged again")
            a = g.wait_balanced(members, PARTS, sizes_for(members), 90,
                                f"round {r}: {members} members sharing the partitions again",
                                gfail)
            history.event(f"round {r}: {members} members hold {a}")
            history.fault(f"round {r}: restarting broker {coord}")
            c.signal("start", "broker", coord)
            dead.discard(coord)
            history.wait(lambda: isr_full(c, TOPIC), 60, f"broker {coord} back in every ISR")

        undelivered = prod.join()
        history.event(f"producer done: {prod.produced} sent, {len(history.confirmed)} confirmed, "
                      f"{len(history.failed)} failed, {undelivered} undelivered at flush")
        ends = high_watermarks(c)
        history.wait(lambda: not coverage_problems(g, ends), 120,
                     f"the group to consume up to the high watermarks {ends}", interval_s=0.2)
        history.wait(lambda: (lambda s: s and s[1] and s[3] == ends)(mon.latest()), 60,
                     f"committed offsets to reach the high watermarks {ends}", interval_s=0.2)
        mon.stop()
        g.stop_all()

        problems = []
        got = {}
        for _, p, o, v in g.records():
            got.setdefault(p, {})[o] = v
        for p, o, v, t in history.confirmed_all():
            if got.get(p, {}).get(o) != v.decode():
                problems.append(f"{p}/{o}: confirmed {v!r} (ack at {t:.3f}s) consumed as "
                                f"{got.get(p, {}).get(o)!r}")
        problems += coverage_problems(g, ends)
        problems += g.session_problems()
        committed_values = {p: {-1} for p in PARTS}
        for _, _, _, offs, _ in g.commits():
            for p, o in offs.items():
                committed_values[int(p)].add(o)
        last = {}
        for t, node, before, fetched in mon.samples:
            for p in PARTS:
                if fetched[p] < before[p]:
                    problems.append(f"OffsetFetch at {t:.3f}s from broker {node}: partition {p} "
                                    f"committed {fetched[p]}, below the acknowledged commit "
                                    f"{before[p]}")
                if p in last and fetched[p] < last[p][0]:
                    problems.append(f"OffsetFetch at {t:.3f}s from broker {node}: partition {p} "
                                    f"went back from {last[p][0]} (at {last[p][1]:.3f}s) to "
                                    f"{fetched[p]}")
                if fetched[p] not in committed_values[p]:
                    problems.append(f"OffsetFetch at {t:.3f}s: partition {p} committed "
                                    f"{fetched[p]}, which no consumer committed")
                last[p] = (fetched[p], t)
        commits = g.commits()
        ok = sum(1 for x in commits if x[2])
        dup = len(g.records()) - sum(len(v) for v in got.values())
        history.event(f"group checks: {len(g.records())} records consumed ({dup} again after a "
                      f"rebalance), {ok} commits acknowledged, {len(commits) - ok} failed, "
                      f"{len(mon.samples)} OffsetFetch samples ({mon.misses} unanswered)")
        if problems:
            report_and_fail(c, history, TOPIC, PARTS, problems)
        log("group: every confirmed record consumed, no offset skipped, committed offsets "
            "never behind an acknowledged commit and never going back")
    finally:
        if mon:
            mon.stopping.set()
        g.kill_all()

    stats, counts = verify_all(c, history, TOPIC, PARTS)
    log(f"ok (seed {seed}): {stats['confirmed']} confirmed records at their offsets, "
        f"{stats['duplicates']} duplicates, {stats['reordered_by_retry']} reordered by retries")
