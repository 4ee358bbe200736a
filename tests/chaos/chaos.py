"""Helpers shared by the chaos tests (RELIABILITY.md): the seed, a history
of client operations and faults, a rate-limited librdkafka producer that
records every confirmed (partition, offset, value), reading partitions back
through the Kafka protocol, the replicas' batches (cairn-dump-log) and
records straight from their segment files, and the checks of the universal
criterion U and replica agreement R with a failure report that shows the
operations that broke them.

Cluster control, cairnctl and the raw Kafka client come from
tests/integration (harness.py, kafka_wire.py)."""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD_DIR, Cluster, check, fail, log, wait_until  # noqa: E402,F401
import kafka_wire as kw  # noqa: E402

DUMP = os.path.join(BUILD_DIR, "broker", "log", "cairn-dump-log")
LONG = os.environ.get("CAIRN_TEST_LONG") == "1"
NOT_LEADER_OR_FOLLOWER = 6
OFFSET_NOT_AVAILABLE = 78
MAX_PROBLEMS_SHOWN = 40


def seeded(name):
    """The test's random generator. The seed is printed first; set
    CAIRN_CHAOS_SEED to replay one."""
    env = os.environ.get("CAIRN_CHAOS_SEED")
    seed = int(env) if env else random.SystemRandom().randrange(1 << 32)
    print(f"seed: {seed}  (replay: CAIRN_CHAOS_SEED={seed} meson test -C build {name})"
          f"{'  [long run]' if LONG else ''}", flush=True)
    return random.Random(seed), seed


# ---- history -----------------------------------------------------------------

class History:
    """Everything the clients and the fault injector did, in order."""

    def __init__(self, seed):
        self.seed = seed
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.events = []        # (t, text): faults and phases
        self.sent = {}          # value -> (partition, t, send index)
        self.faults = []        # times at which a fault was injected
        self.confirmed = []     # (partition, offset, value, t)
        self.failed = []        # (partition, value, error, t)
        self.acks = {}          # value -> acks setting, when not all

    def now(self):
        return time.monotonic() - self.t0

    def event(self, text):
        with self.lock:
            self.events.append((self.now(), text))
        log(text)

    def fault(self, text):
        """A fault injected now (kill, pause, resume...)."""
        with self.lock:
            self.faults.append(self.now())
        self.event(text)

    def invoke(self, partition, value, acks=-1):
        with self.lock:
            self.sent[value] = (partition, self.now(), len(self.sent))
            if acks != -1:
                self.acks[value] = acks

    def ok(self, partition, offset, value):
        with self.lock:
            self.confirmed.append((partition, offset, value, self.now()))

    def failure(self, partition, value, error):
        with self.lock:
            self.failed.append((partition, value, str(error), self.now()))

    def confirmed_all(self, partition=None):
        """Confirmed acks=all records: [(partition, offset, value, t)]."""
        return [c for c in self.confirmed
                if (partition is None or c[0] == partition) and c[2] not in self.acks]

    def wait(self, pred, timeout_s, what, interval_s=0.05):
        """harness.wait_until that prints the timeline when it times out
        (a hang is a failure like any other)."""
        def show():
            print(f"TIMED OUT (seed {self.seed}) waiting for {what}; timeline:\n"
                  f"{self.timeline()}", flush=True)
        return wait_until(pred, timeout_s, f"{what} (seed {self.seed})", interval_s, show)

    def timeline(self):
        return "\n".join(f"  {t:8.3f}s  {e}" for t, e in self.events)


def produce_raw(conn, history, topic, partition, values, acks=-1):
    """Produces one batch of values with the raw client, recording it.
    Returns (error, base offset)."""
    for v in values:
        history.invoke(partition, v, acks)
    err, base = conn.produce(topic, partition, kw.batch([(None, v) for v in values]), acks=acks)
    for i, v in enumerate(values):
        if err == 0:
            history.ok(partition, base + i, v)
        else:
            history.failure(partition, v, f"error {err}")
    return err, base


class Producer:
    """A librdkafka producer (confluent-kafka) on its own thread writing
    numbered values b"p<partition>-<n>" round-robin over the partitions at
    about `rate` records/s, until `count` records or stop(). acks=all,
    no idempotence, retries on, one request in flight (so order holds);
    delivery callbacks record (partition, offset, value) in the history."""

    def __init__(self, bootstrap, topic, partitions, history, rate, count=None, extra=None):
        import confluent_kafka
        self.ck = confluent_kafka
        self.conf = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": False,
            "retries": 1000000,
            "retry.backoff.ms": 100,
            "max.in.flight.requests.per.connection": 1,
            "request.timeout.ms": 10000,
            "message.timeout.ms": 180000,
            "linger.ms": 5,
            "compression.type": "none",
            "topic.metadata.refresh.interval.ms": 1000,
        }
        self.conf.update(extra or {})
        self.topic, self.partitions, self.history = topic, partitions, history
        self.rate, self.count = rate, count
        self.stopping = threading.Event()
        self.produced = 0
        self.undelivered = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()

    def join(self, timeout_s=400):
        """Waits until every record is sent (stops first when there is no
        count) and flushed."""
        if self.count is None:
            self.stopping.set()
        self.thread.join(timeout_s)
        check(not self.thread.is_alive(), "the producer did not finish (flush hangs)")
        check(self.error is None, f"producer thread failed: {self.error!r}")
        return self.undelivered

    def _on_delivery(self, err, msg):
        if err:
            self.history.failure(msg.partition(), msg.value(), err)
        else:
            self.history.ok(msg.partition(), msg.offset(), msg.value())

    def _run(self):
        try:
            p = self.ck.Producer(self.conf)
            seq = [0] * self.partitions
            t0 = time.monotonic()
            while not self.stopping.is_set() and (self.count is None
                                                  or self.produced < self.count):
                due = int((time.monotonic() - t0) * self.rate)
                if self.count is not None:
                    due = min(due, self.count)
                while self.produced < due:
                    part = self.produced % self.partitions
                    value = b"p%d-%09d" % (part, seq[part])
                    try:
                        p.produce(self.topic, value=value, partition=part,
                                  on_delivery=self._on_delivery)
                    except BufferError:
                        p.poll(0.05)
                        continue
                    self.history.invoke(part, value)
                    seq[part] += 1
                    self.produced += 1
                p.poll(0.01)
            self.undelivered = p.flush(180)
        except Exception as e:       # reported by join()
            self.error = e

    def confirmed_count(self):
        return len(self.history.confirmed)


# ---- cluster views -----------------------------------------------------------

def pid_of(c, role, node):
    return c.pids().get((role, node))


def sigstop(c, role, node):
    """SIGSTOP at once (cluster.sh pause without the shell round trip)."""
    os.kill(pid_of(c, role, node), signal.SIGSTOP)


# `topic describe` also asks each leader broker for its high watermark; a
# paused leader would hold every poll for the whole timeout, so polls use a
# short one.
POLL_TIMEOUT_MS = 2500


def partitions_of(c, topic):
    """{partition: describe entry}; raises (never exits) when cairnctl fails,
    so that polls survive a controller failover."""
    p = c.ctl("topic", "describe", topic, "--json", timeout_ms=POLL_TIMEOUT_MS, check_rc=False)
    if p.returncode != 0:
        raise RuntimeError(f"cairnctl topic describe {topic}: {p.stderr.strip()}")
    return {x["partition"]: x for x in json.loads(p.stdout)["partitions"]}


def status_of(c):
    """`cairnctl cluster status --json`; raises (never exits) on failure."""
    p = c.ctl("cluster", "status", "--json", timeout_ms=POLL_TIMEOUT_MS, check_rc=False)
    if p.returncode != 0:
        raise RuntimeError(f"cairnctl cluster status: {p.stderr.strip()}")
    return json.loads(p.stdout)


def leader_of(c, topic, partition=0):
    return partitions_of(c, topic)[partition]["leader"]


def isr_full(c, topic):
    parts = partitions_of(c, topic)
    return parts if all(sorted(p["isr"]) == sorted(p["replicas"]) and p["leader"] > 0
                        for p in parts.values()) else None


def claimed_leaders(c, topic, partition, nodes):
    """The brokers that answer ListOffsets for the partition as its leader."""
    out = []
    for n in nodes:
        try:
            conn = kw.Conn("127.0.0.1", c.broker_port(n), timeout=2)
            try:
                err, _, _ = conn.list_offset(topic, partition, -1)
            finally:
                conn.close()
        except (OSError, ConnectionError, AssertionError):
            continue
        if err in (0, OFFSET_NOT_AVAILABLE):
            out.append(n)
    return out


def read_partition(c, topic, partition, start=0, timeout_s=30):
    """Every record below the high watermark, [(offset, value)], read from the
    partition's leader with Kafka Fetch (retried across leader changes)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            leader = leader_of(c, topic, partition)
            if leader and leader > 0:
                conn = kw.Conn("127.0.0.1", c.broker_port(leader), timeout=10)
                try:
                    return [(o, v) for o, _, v in kw.fetch_all(conn, topic, partition, start)]
                finally:
                    conn.close()
        except Exception as e:
            last = e
        time.sleep(0.2)
    fail(f"cannot read {topic}-{partition} back: {last!r}")


def partition_dir(c, node, topic, partition):
    return os.path.join(c.node_dir("broker", node), "data", f"{topic}-{partition}")


def segments(c, node, topic, partition):
    return sorted(glob.glob(os.path.join(partition_dir(c, node, topic, partition), "*.log")))


def dump_batches(c, node, topic, partition):
    """cairn-dump-log's view of one replica: ([(base, last, count, epoch, crc, ok)],
    [corrupt lines])."""
    batches, bad = [], []
    for seg in segments(c, node, topic, partition):
        p = subprocess.run([DUMP, seg], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            if line.startswith("baseOffset:"):
                f = line.split()
                batches.append((int(f[1]), int(f[3]), int(f[5]), int(f[7]), f[13], f[14]))
            elif line.startswith("corrupt:"):
                bad.append(line)
        if p.returncode not in (0, 1):
            bad.append(f"cairn-dump-log {seg} exited {p.returncode}: {p.stderr.strip()}")
    return batches, bad


def log_end(c, node, topic, partition):
    b, _ = dump_batches(c, node, topic, partition)
    return b[-1][1] + 1 if b else None


def file_batches(c, node, topic, partition):
    """(base, last, epoch, crc, bytes) of every batch in the replica's segments."""
    out = []
    for seg in segments(c, node, topic, partition):
        with open(seg, "rb") as f:
            out.extend(kw.raw_batches(f.read()))
    return out


def file_records(c, node, topic, partition):
    """{offset: value} from the replica's segment files."""
    recs = {}
    for seg in segments(c, node, topic, partition):
        with open(seg, "rb") as f:
            for _, _, rs in kw.parse_batches(f.read()):
                for o, _, v in rs:
                    recs[o] = v
    return recs


def epoch_checkpoint(c, node, topic, partition):
    """[(epoch, start offset)] from the replica's leader-epoch-checkpoint."""
    path = os.path.join(partition_dir(c, node, topic, partition), "leader-epoch-checkpoint")
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError:
        return None
    return [tuple(int(x) for x in ln.split()) for ln in lines[2:] if ln.strip()]


def replicas_in_sync(c, topic, partitions, nodes=(1, 2, 3)):
    """True once every partition has its full ISR and all replicas hold the
    same batches (same offsets, epochs and CRCs) from the highest of their
    log starts (retention runs on each replica by itself)."""
    if not isr_full(c, topic):
        return False
    for p in partitions:
        views = [dump_batches(c, n, topic, p)[0] for n in nodes]
        start = max((v[0][0] for v in views if v), default=0)
        views = [[b for b in v if b[0] >= start] for v in views]
        if any(v != views[0] for v in views):
            return False
    return True


def wait_in_sync(c, history, topic, partitions, timeout_s=60):
    history.event(f"waiting for full ISRs and identical replicas of {topic}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if replicas_in_sync(c, topic, partitions):
                history.event("replicas in sync: ISR full, equal log ends")
                return
        except Exception:
            pass
        time.sleep(0.3)
    problems = []
    try:
        problems.append(f"partitions: {list(partitions_of(c, topic).values())}")
    except Exception as e:
        problems.append(f"describe failed: {e!r}")
    for p in partitions:
        ends = {n: log_end(c, n, topic, p) for n in (1, 2, 3)}
        problems.append(f"{topic}-{p}: log ends per replica {ends}")
    report_and_fail(c, history, topic, partitions,
                    [f"replicas not in sync after {timeout_s}s (hang?)"] + problems)


# ---- checks ------------------------------------------------------------------

def check_u(history, readback, partitions, log_start=None):
    """The universal criterion against what was read back ({partition:
    [(offset, value)]}): each confirmed acks=all record at its confirmed
    offset; every offset read once, offsets increasing without gaps; no
    value that was never sent, or sent to another partition; values in send
    order except for client retries across a fault. Returns (problems,
    stats). log_start: {partition: offset} below which retention removed
    records."""
    problems = []
    stats = {"confirmed": 0, "duplicates": 0, "unconfirmed_present": 0,
             "reordered_by_retry": 0}
    for p in partitions:
        at = {}
        for o, v in readback[p]:
            if o in at:
                problems.append(f"{p}/{o}: offset read twice ({at[o]!r}, {v!r})")
            at[o] = v
        start = (log_start or {}).get(p, 0)
        confirmed = [x for x in history.confirmed_all(p) if x[1] >= start]
        stats["confirmed"] += len(confirmed)
        for _, o, v, t in confirmed:
            got = at.get(o)
            if got != v:
                what = "lost (offset missing)" if got is None else f"offset holds {got!r}"
                problems.append(f"{p}/{o}: confirmed {v!r} (ack at {t:.3f}s) {what}")
        by_value = {}
        for o, v in sorted(at.items()):
            sent = history.sent.get(v)
            if sent is None:
                problems.append(f"{p}/{o}: {v!r} was never sent")
            elif sent[0] != p:
                problems.append(f"{p}/{o}: {v!r} was sent to partition {sent[0]}")
            if v in by_value:
                stats["duplicates"] += 1
            else:
                by_value[v] = o
        conf_values = {v for q, _, v, _ in history.confirmed if q == p}
        stats["unconfirmed_present"] += sum(1 for v in by_value if v not in conf_values)
        # A reader sees strictly increasing, gap-free offsets.
        offs = [o for o, _ in readback[p]]
        for a, b in zip(offs, offs[1:]):
            if b != a + 1:
                problems.append(f"{p}/{b}: read after offset {a} "
                                f"({'gap' if b > a else 'not increasing'})")
        # Per-partition order: values appear in send order. Without
        # idempotence librdkafka may resend a batch that was in flight to a
        # failed leader after later batches went to the new one, so a record
        # may come after later-sent ones only if its delivery spanned a fault.
        newest = None
        for _, o, v, t in sorted(confirmed, key=lambda x: x[1]):
            sent = history.sent.get(v)
            if sent is None:
                continue
            if newest is not None and sent[2] < newest[0]:
                if any(sent[1] <= f <= t for f in history.faults):
                    stats["reordered_by_retry"] += 1
                else:
                    problems.append(f"{p}/{o}: {v!r} (sent {sent[1]:.3f}s, ack {t:.3f}s) "
                                    f"after {newest[1]!r} at {newest[2]}, which was sent "
                                    f"later, with no fault in between (reordered)")
            if newest is None or sent[2] > newest[0]:
                newest = (sent[2], v, o)
    return problems, stats


def check_r(c, topic, partitions, nodes=(1, 2, 3), from_offset=None):
    """Replica agreement on a stopped cluster: identical batches (offsets,
    epochs, CRCs, bytes) in every replica, no offset with two values on any
    two replicas, and the epoch checkpoints agreeing with each other for
    every epoch that has data. from_offset: {partition: offset} to compare
    from (retention). Returns (problems, {partition: batch count})."""
    problems, counts = [], {}
    for p in partitions:
        start = (from_offset or {}).get(p, 0)
        dumps = {}
        for n in nodes:
            b, bad = dump_batches(c, n, topic, p)
            problems += [f"{p}: replica {n}: {x}" for x in bad]
            problems += [f"{p}: replica {n}: batch {x[0]}-{x[1]} has a bad CRC"
                         for x in b if x[5] != "ok"]
            dumps[n] = [x for x in b if x[0] >= start]
        ref = dumps[nodes[0]]
        counts[p] = len(ref)
        for n in nodes[1:]:
            if dumps[n] != ref:
                problems.append(f"{p}: replica {n} batches differ from replica {nodes[0]} "
                                f"({len(dumps[n])} vs {len(ref)} batches)")
        raw = {n: [x[4] for x in file_batches(c, n, topic, p) if x[0] >= start] for n in nodes}
        for n in nodes[1:]:
            if raw[n] != raw[nodes[0]]:
                problems.append(f"{p}: replica {n} is not byte-identical to replica {nodes[0]}")
        recs = {n: file_records(c, n, topic, p) for n in nodes}
        for n in nodes[1:]:
            for o, v in recs[n].items():
                other = recs[nodes[0]].get(o)
                if o >= start and other is not None and other != v:
                    problems.append(f"{p}/{o}: replica {n} holds {v!r}, "
                                    f"replica {nodes[0]} holds {other!r}")
        data_epochs = {x[3] for x in ref}
        cps = {n: epoch_checkpoint(c, n, topic, p) for n in nodes}
        for e in sorted(data_epochs):
            # An epoch that began before the compared range starts at the
            # log start of each replica.
            starts = {n: dict(cp or []).get(e) for n, cp in cps.items()}
            starts = {n: None if v is None else max(v, start) for n, v in starts.items()}
            first = min((x[0] for x in ref if x[3] == e), default=None)
            if len(set(starts.values())) != 1 or (starts[nodes[0]] is not None
                                                   and starts[nodes[0]] > first):
                problems.append(f"{p}: epoch {e} (first batch at {first}) starts at {starts} "
                                f"in the replicas' leader-epoch-checkpoint")
    return problems, counts


def replica_table(c, topic, partition, around=None, width=6, nodes=(1, 2, 3)):
    """Per replica, the batches (offsets, epoch, CRC) near an offset."""
    out = []
    for n in nodes:
        b, bad = dump_batches(c, n, topic, partition)
        if around is not None:
            idx = next((i for i, x in enumerate(b) if x[1] >= around), len(b))
            b = b[max(0, idx - width):idx + width]
        out.append(f"  replica {n} ({topic}-{partition}, cairn-dump-log): "
                   f"{len(b)} batches shown{'; ' + '; '.join(bad) if bad else ''}")
        out += [f"    {x[0]:>8}-{x[1]:<8} count {x[2]:<4} epoch {x[3]:<3} crc {x[4]} {x[5]}"
                for x in b]
        cp = epoch_checkpoint(c, n, topic, partition)
        out.append(f"    leader-epoch-checkpoint: {cp}")
    return "\n".join(out)


def history_window(history, readback, partition, offset, width=5):
    """The confirmed (partition, offset, value) list next to what was read
    back, around one offset."""
    conf = {o: (v, t) for p, o, v, t in history.confirmed if p == partition}
    got = dict(readback.get(partition, [])) if readback else {}
    lines = [f"  {partition}/{offset}: confirmed vs read back:"]
    for o in range(max(0, offset - width), offset + width + 1):
        cv = conf.get(o)
        rv = got.get(o)
        mark = "  " if cv is None or cv[0] == rv else "!!"
        lines.append(f"   {mark} {o:>8}  confirmed {cv[0] if cv else '-'!r:<18}"
                     f"{'(ack ' + format(cv[1], '.3f') + 's)' if cv else '':<16} read {rv!r}")
    return "\n".join(lines)


def report_and_fail(c, history, topic, partitions, problems, readback=None):
    """Prints the seed, the fault timeline, the broken checks, the history
    around each broken offset and the replicas' batch CRCs, then fails."""
    out = [f"CHECK FAILED (seed {history.seed}): {len(problems)} problem(s)",
           "fault and phase timeline:", history.timeline(),
           f"records sent {len(history.sent)}, confirmed {len(history.confirmed)}, "
           f"failed {len(history.failed)}"]
    if history.failed:
        out.append("first delivery failures: " + "; ".join(
            f"{p} {v!r} {e} at {t:.3f}s" for p, v, e, t in history.failed[:5]))
    out.append("problems:")
    out += [f"  {x}" for x in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        out.append(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    shown = set()
    for x in problems:
        head = x.split(":", 1)[0]
        if "/" not in head:
            continue
        try:
            p, o = (int(s) for s in head.split("/"))
        except ValueError:
            continue
        if p in shown:
            continue
        shown.add(p)
        out.append(history_window(history, readback, p, o))
        out.append(replica_table(c, topic, p, around=o))
    for p in partitions:
        if p not in shown:
            ends = {n: log_end(c, n, topic, p) for n in (1, 2, 3)}
            out.append(f"  {topic}-{p}: log ends per replica {ends}")
            if len(set(ends.values())) > 1:
                out.append(replica_table(c, topic, p, around=min(e or 0 for e in ends.values())))
    if c.keep:
        out.append(f"cluster files kept in {c.home}")
    else:
        out.append("CAIRN_KEEP=1 keeps the cluster's files and server.log of every process")
    print("\n".join(out), flush=True)
    fail(f"seed {history.seed}: {problems[0]}")


def grep_log(c, role, node, needle, since=0):
    """Lines of a process's server.log containing needle, from byte `since`."""
    try:
        with open(c.log_path(role, node), errors="replace") as f:
            f.seek(since)
            return [ln.rstrip("\n") for ln in f if needle in ln]
    except OSError:
        return []


def log_size(c, role, node):
    try:
        return os.path.getsize(c.log_path(role, node))
    except OSError:
        return 0


def verify_all(c, history, topic, partitions):
    """The closing checks of a run: wait until the replicas are in sync,
    read everything back (criterion U), stop the cluster cleanly and compare
    the replicas' segments (R). Fails with the full report; returns the
    read-back statistics and the batches per partition."""
    wait_in_sync(c, history, topic, partitions)
    readback = {p: read_partition(c, topic, p) for p in partitions}
    problems, stats = check_u(history, readback, partitions)
    log(f"read back {sum(len(v) for v in readback.values())} records; {stats}")
    if problems:
        report_and_fail(c, history, topic, partitions, problems, readback)
    c.script("down")
    history.event("cluster stopped cleanly; comparing the replicas' segments")
    problems, counts = check_r(c, topic, partitions)
    if problems:
        report_and_fail(c, history, topic, partitions, problems, readback)
    log(f"replicas identical: batches per partition {counts}")
    return stats, counts

