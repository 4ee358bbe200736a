#!/usr/bin/env python3
"""A consumer-group member for the group tests, run as its own process so
that a test can SIGKILL it: a confluent-kafka (librdkafka) consumer — or
with --client kafka-python a kafka-python KafkaConsumer — that
subscribes to one topic, processes each batch (prints it) and then commits
what it processed with a synchronous commit (enable.auto.commit=false).

Child side (python3 group_worker.py --bootstrap B --group G --topic T --name N):
one JSON object per line on stdout, flushed at once, each with "w" (name)
and "t" (time.time()):
  {"ev": "start"}                                   after subscribe()
  {"ev": "assign", "parts": [p, ...]}               rebalance callback
  {"ev": "revoke", "parts": [p, ...]}
  {"ev": "recs", "recs": [[p, offset, value], ...]} a processed batch (--quiet:
  {"ev": "batch", "n": N, "hi": {p: last offset + 1}}  counts only)
  {"ev": "commit", "ok": bool, "offsets": [[p, next offset], ...], "err": text}
  {"ev": "error", "err": text}                      a consumer error event
  {"ev": "gate"}                                    --gate: the file appeared, resumed
  {"ev": "closed"}                                  after close() (SIGTERM)
A batch is printed before its commit is sent, so whatever a commit covers
was reported first, even if the process is killed right after.

Parent side: Worker starts one and collects its events on a reader thread;
Group holds several and answers the questions the tests ask (current
assignments, consumed offsets, commits)."""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- child -------------------------------------------------------------------

def child_main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    ap.add_argument("--max-poll-interval-ms", type=int, default=30000)
    ap.add_argument("--batch", type=int, default=500, help="records per consume() and commit")
    ap.add_argument("--reset", default="earliest")
    ap.add_argument("--commit", choices=("sync", "none"), default="sync")
    ap.add_argument("--quiet", action="store_true", help="print batch counts, not records")
    ap.add_argument("--gate", help="keep assigned partitions paused until this file exists")
    ap.add_argument("-X", action="append", default=[], help="librdkafka key=value")
    ap.add_argument("--client", choices=("confluent", "kafka-python"), default="confluent")
    a = ap.parse_args(argv)
    if a.client == "kafka-python":
        kafka_python_child(a)
    else:
        confluent_child(a)


class Member:
    """What both clients' members share: the event lines, the stop flag
    (SIGTERM), and the offsets processed but not yet committed. commit_fn
    commits {partition: next offset} and returns (ok, error text)."""

    def __init__(self, a, commit_fn):
        self.a = a
        self.commit_fn = commit_fn
        self.stop = False
        self.pending = {}
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)

    def _on_term(self, signum, frame):
        self.stop = True

    def emit(self, ev, **kw):
        kw.update(ev=ev, w=self.a.name, t=time.time())
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    def commit(self, offsets):
        """Synchronous commit; True on success (or with --commit none)."""
        if not offsets or self.a.commit == "none":
            return True
        ok, err = self.commit_fn(offsets)
        self.emit("commit", ok=ok, offsets=sorted(offsets.items()), err=err)
        return ok

    def revoked(self, parts):
        """Still a member of the old generation: commit what is left of parts."""
        mine = set(parts)
        left = {p: o for p, o in self.pending.items() if p in mine}
        if left and self.commit(left):
            for p in left:
                self.pending.pop(p, None)
        for p in mine:
            self.pending.pop(p, None)
        self.emit("revoke", parts=sorted(mine))

    def processed(self, recs):
        """A batch [(partition, offset, value)] was processed: print it, then
        commit it — so whatever a commit covers was reported first."""
        if not recs:
            return
        done = {}
        for p, o, _ in recs:
            done[p] = o + 1
        if self.a.quiet:
            self.emit("batch", n=len(recs), hi=done)
        else:
            self.emit("recs", recs=[list(r) for r in recs])
        self.pending.update(done)
        if self.commit(dict(self.pending)):
            self.pending.clear()


def text(v):
    return v.decode(errors="replace") if v is not None else None


def confluent_child(a):
    import confluent_kafka as ck

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "client.id": a.name,
        "enable.auto.commit": False,
        "auto.offset.reset": a.reset,
        "session.timeout.ms": a.session_timeout_ms,
        "heartbeat.interval.ms": a.heartbeat_ms,
        "max.poll.interval.ms": a.max_poll_interval_ms,
        "topic.metadata.refresh.interval.ms": 2000,
        "enable.partition.eof": False,
    }
    for kv in a.X:
        k, v = kv.split("=", 1)
        conf[k] = v
    c = ck.Consumer(conf)

    def commit(offsets):
        tps = [ck.TopicPartition(a.topic, p, o) for p, o in sorted(offsets.items())]
        try:
            res = c.commit(offsets=tps, asynchronous=False)
            bad = [f"{tp.partition}: {tp.error}" for tp in (res or []) if tp.error]
            return not bad, "; ".join(bad)
        except ck.KafkaException as e:
            return False, str(e.args[0])

    m = Member(a, commit)
    gate_open = [a.gate is None]

    def on_assign(consumer, parts):
        if not gate_open[0]:
            consumer.assign(parts)
            consumer.pause(parts)
        m.emit("assign", parts=sorted(tp.partition for tp in parts))

    def on_revoke(consumer, parts):
        m.revoked(tp.partition for tp in parts)

    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    m.emit("start")
    try:
        while not m.stop:
            if not gate_open[0] and os.path.exists(a.gate):
                gate_open[0] = True
                c.resume(c.assignment())
                m.emit("gate")
            recs = []
            for msg in c.consume(num_messages=a.batch, timeout=0.2):
                if msg.error():
                    m.emit("error", err=str(msg.error()))
                else:
                    recs.append((msg.partition(), msg.offset(), text(msg.value())))
            m.processed(recs)
    finally:
        c.close()
        m.emit("closed")


def kafka_python_child(a):
    """The same member with kafka-python's KafkaConsumer (JoinGroup v2,
    SyncGroup/Heartbeat v1, OffsetCommit v2), printing the same events."""
    import kafka as kp
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.structs import OffsetAndMetadata, TopicPartition

    c = kp.KafkaConsumer(bootstrap_servers=a.bootstrap.split(","), group_id=a.group,
                         client_id=a.name, enable_auto_commit=False,
                         auto_offset_reset=a.reset, session_timeout_ms=a.session_timeout_ms,
                         heartbeat_interval_ms=a.heartbeat_ms,
                         max_poll_interval_ms=a.max_poll_interval_ms,
                         metadata_max_age_ms=2000)

    def commit(offsets):
        try:
            c.commit({TopicPartition(a.topic, p): OffsetAndMetadata(o, "")
                      for p, o in offsets.items()})
            return True, ""
        except Exception as e:  # noqa: BLE001 - any failure is reported as such
            return False, f"{type(e).__name__}: {e}"

    m = Member(a, commit)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            m.revoked(tp.partition for tp in revoked)

        def on_partitions_assigned(self, assigned):
            m.emit("assign", parts=sorted(tp.partition for tp in assigned))

    c.subscribe([a.topic], listener=Listener())
    m.emit("start")
    try:
        while not m.stop:
            got = c.poll(timeout_ms=200, max_records=a.batch)
            m.processed([(tp.partition, r.offset, text(r.value))
                         for tp, rs in got.items() for r in rs])
    finally:
        c.close()
        m.emit("closed")


# ---- parent ------------------------------------------------------------------

# Records consumed are [(worker, partition, offset, value)] (Group.records);
# records delivered are [(partition, offset, value)]; start and ends are
# {partition: offset}.

def ends_of(delivered, parts):
    """{partition: log end} after the delivered records."""
    ends = {p: 0 for p in parts}
    for p, o, _ in delivered:
        ends[p] = max(ends[p], o + 1)
    return ends


def consumed(records):
    """{partition: {offset: value}} of the consumed records."""
    out = {}
    for _, p, o, v in records:
        out.setdefault(p, {})[o] = v
    return out


def missing(records, start, ends):
    """{partition: [offsets from start to end never consumed]}, only for
    partitions with such gaps."""
    got = consumed(records)
    out = {}
    for p, end in ends.items():
        gap = [o for o in range(start.get(p, 0), end) if o not in got.get(p, {})]
        if gap:
            out[p] = gap
    return out


def coverage(records, delivered, start, ends):
    """None when every delivered record from its partition's start on was
    consumed with its value and no offset start..end is missing; else a
    description of the first problem."""
    got = consumed(records)
    for p, o, v in delivered:
        if o >= start.get(p, 0) and got.get(p, {}).get(o) != v:
            return f"{p}/{o}: delivered {v!r}, consumed {got.get(p, {}).get(o)!r}"
    gaps = missing(records, start, ends)
    if not gaps:
        return None
    p = min(gaps)
    return (f"partition {p}: offsets never consumed (skipped): {gaps[p][:10]}"
            f"{' ...' if len(gaps[p]) > 10 else ''}")


def first_offsets(records):
    """{partition: smallest offset consumed}."""
    first = {}
    for _, p, o, _ in records:
        first[p] = min(first.get(p, o), o)
    return first


class Worker:
    """One group_worker.py process and the events it printed."""

    def __init__(self, name, bootstrap, group, topic, extra_args=(), python=None):
        self.name = name
        self.lock = threading.Lock()
        self.events = []
        self.assignment = set()
        self.assign_count = 0
        self.stderr_tail = []
        cmd = [python or sys.executable, os.path.join(HERE, "group_worker.py"),
               "--bootstrap", bootstrap, "--group", group, "--topic", topic,
               "--name", name, *extra_args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)
                if ev["ev"] == "assign":
                    self.assignment = set(ev["parts"])
                    self.assign_count += 1
                elif ev["ev"] == "revoke":
                    self.assignment = set()

    def _read_err(self):
        for line in self.proc.stderr:
            with self.lock:
                self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-20:]

    def alive(self):
        return self.proc.poll() is None

    def current(self):
        with self.lock:
            return set(self.assignment)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.reader.join(10)

    def stop(self, timeout_s=60):
        """SIGTERM: the worker closes its consumer (revoke, LeaveGroup)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError(f"worker {self.name} did not exit {timeout_s}s after SIGTERM")
        self.reader.join(10)

    def closed_cleanly(self):
        """It closed its consumer and exited with status 0."""
        return self.proc.poll() == 0 and any(e["ev"] == "closed" for e in self.snapshot())

    def describe(self):
        with self.lock:
            return (f"{self.name} (pid {self.proc.pid}, "
                    f"{'alive' if self.alive() else 'exit ' + str(self.proc.returncode)}, "
                    f"assignment {sorted(self.assignment)}, {self.assign_count} assigns); "
                    f"stderr tail: {self.stderr_tail[-5:]}")


class Group:
    """The workers of one group, old and new."""

    def __init__(self, bootstrap, group, topic, extra_args=()):
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self.extra_args = list(extra_args)
        self.workers = []
        self.seq = 0

    def start(self, n=1, extra_args=(), names=None):
        """Starts n workers (named w1, w2, ... unless names are given)."""
        out = []
        for i in range(len(names) if names else n):
            self.seq += 1
            w = Worker(names[i] if names else f"w{self.seq}", self.bootstrap, self.group,
                       self.topic, self.extra_args + list(extra_args))
            self.workers.append(w)
            out.append(w)
        return out

    def live(self):
        return [w for w in self.workers if w.alive()]

    def balanced(self, members, partitions, sizes):
        """The current assignments when exactly `members` live workers hold
        disjoint sets covering `partitions`, each of a size in `sizes`, and
        every live worker holds some; else None."""
        live = self.live()
        if len(live) != members:
            return None
        cur = {w.name: w.current() for w in live}
        union = set()
        for s in cur.values():
            if len(s) not in sizes or union & s:
                return None
            union |= s
        return cur if union == set(partitions) else None

    def wait_balanced(self, members, partitions, sizes, timeout_s, what, fail, settle_s=1.0):
        """Waits until balanced() holds, and still holds settle_s later with
        the same sets (rebalance events come through separate pipes)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            a = self.balanced(members, partitions, sizes)
            if a:
                time.sleep(settle_s)
                if self.balanced(members, partitions, sizes) == a:
                    return a
            time.sleep(0.1)
        fail(f"timed out after {timeout_s}s waiting for {what}: "
             + "; ".join(w.describe() for w in self.workers))

    def records(self, names=None):
        """Every processed record of every worker (of those named):
        [(worker, partition, offset, value)]."""
        out = []
        for w in self.workers:
            if names is not None and w.name not in names:
                continue
            for e in w.snapshot():
                if e["ev"] == "recs":
                    out.extend((w.name, p, o, v) for p, o, v in e["recs"])
        return out

    def commits(self):
        """[(t, worker, ok, {partition: offset}, err)] in each worker's order."""
        out = []
        for w in self.workers:
            for e in w.snapshot():
                if e["ev"] == "commit":
                    out.append((e["t"], w.name, e["ok"], dict(e["offsets"]), e["err"]))
        return out

    def session_problems(self):
        """Per worker: records only from partitions assigned to it at the time,
        and offsets strictly increasing within one assignment."""
        problems = []
        for w in self.workers:
            assigned, last = set(), {}
            for e in w.snapshot():
                if e["ev"] == "assign":
                    assigned, last = set(e["parts"]), {}
                elif e["ev"] == "revoke":
                    assigned, last = set(), {}
                elif e["ev"] == "recs":
                    for p, o, _ in e["recs"]:
                        if p not in assigned:
                            problems.append(f"{w.name}: record {p}/{o} from a partition not "
                                            f"assigned to it ({sorted(assigned)})")
                        if p in last and o <= last[p]:
                            problems.append(f"{w.name}: {p}/{o} after {p}/{last[p]} "
                                            f"within one assignment (not increasing)")
                        last[p] = o
        return problems

    def stop_all(self, timeout_s=60):
        for w in self.live():
            w.proc.send_signal(signal.SIGTERM)
        for w in self.workers:
            w.stop(timeout_s)

    def kill_all(self):
        for w in self.workers:
            if w.alive():
                w.proc.kill()
                w.proc.wait(10)


if __name__ == "__main__":
    child_main(sys.argv[1:])
