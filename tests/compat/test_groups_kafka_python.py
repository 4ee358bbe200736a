"""Consumer groups with kafka-python 2.0.2 (JoinGroup v2, SyncGroup v1,
Heartbeat v1, OffsetCommit v2, OffsetFetch v1, LeaveGroup v1) and with
kcat's balanced consumer (kcat -G, librdkafka auto-commit).

kafka-python: two KafkaConsumer members (group_worker.py --client
kafka-python processes: enable_auto_commit false, commit() after each
processed poll) split a 6-partition RF=3 topic
3 + 3; a third joins (2 + 2 + 2); one closes (LeaveGroup) and the other two
take its partitions; every record is consumed with its value, no offset is
skipped, offsets increase within each assignment, and the committed offsets
(KafkaAdminClient.list_consumer_group_offsets) reach the log ends. After a
restart with more records, each partition resumes exactly at its committed
offset. KafkaAdminClient.list_consumer_groups / describe_consumer_groups
show the group: Stable, protocol type "consumer", its members and their
decoded assignments covering every partition.

kafka-python, SIGKILL: three KafkaConsumer processes (group_worker.py
--client kafka-python) share a 6-partition topic two partitions each; one
is SIGKILLed while records are produced, and the two survivors take its
partitions within the session timeout plus a rebalance; every record is
consumed, none skipped, and the committed offsets reach the log ends.

kcat: two `kcat -G` members consume a 4-partition topic together until
every record is read, stop on SIGTERM (commit on close), and the committed
offsets equal the log ends; a later `kcat -G -c N` reads exactly the N
records produced since, starting at the committed offsets."""
import signal
import subprocess
import threading
import time

from compat import KCAT, Cluster, check, fail, log, wait_until
from group_worker import Group, coverage, ends_of, first_offsets

import kafka as kp
import kafka.errors as kerr
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KTP

BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 300, "offsets.topic.num.partitions": 6}
KP_TOPIC, KP_GROUP, KP_PARTS = "kp-topic", "kp-group", list(range(6))
KC_TOPIC, KC_GROUP, KC_PARTS = "kc-topic", "kc-group", list(range(4))
N, MORE = 6000, 600
# group_worker.py members with kafka-python, committing every <= 100 records.
KP_WORKER = ["--client", "kafka-python", "--batch", "100"]


def produce(bootstrap, topic, parts, first, count):
    """kafka-python producer: value b"v-%06d" % i to partition i % len(parts).
    Returns [(partition, offset, value)]."""
    p = kp.KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5)
    futs = [p.send(topic, value=b"v-%06d" % i, partition=i % len(parts))
            for i in range(first, first + count)]
    p.flush(60)
    out = []
    for i, f in zip(range(first, first + count), futs):
        m = f.get(timeout=60)
        out.append((m.partition, m.offset, "v-%06d" % i))
    p.close()
    return out


def committed(admin, group, parts, topic):
    """{partition: committed offset} from KafkaAdminClient (OffsetFetch v3);
    -1 where there is none."""
    try:
        res = admin.list_consumer_group_offsets(group, partitions=[KTP(topic, p) for p in parts])
    except kerr.KafkaError:
        return None
    return {p: res[KTP(topic, p)].offset if KTP(topic, p) in res else -1 for p in parts}


def describe_group(admin, group):
    d = admin.describe_consumer_groups([group])
    check(len(d) == 1, f"describe_consumer_groups: {d}")
    return d[0]


def kafka_python_part(c, admin):
    c.create_topic(KP_TOPIC, partitions=len(KP_PARTS), rf=3)
    c.wait_leaders(KP_TOPIC)
    third = N // 3
    delivered = produce(c.bootstrap, KP_TOPIC, KP_PARTS, 0, third)
    log(f"kafka-python: produced {third} records")

    g = Group(c.bootstrap, KP_GROUP, KP_TOPIC, KP_WORKER)
    members = g.start(names=["kp1", "kp2"])
    try:
        a = g.wait_balanced(2, KP_PARTS, {3}, 60, "two kafka-python members, 3 partitions each",
                            fail)
        log(f"two members: {a}")

        info = wait_until(lambda: (lambda d: d if d.state == "Stable" and len(d.members) == 2
                                   else None)(describe_group(admin, KP_GROUP)), 30,
                          "describe_consumer_groups to show the group Stable with 2 members")
        check(info.protocol_type == "consumer" and info.protocol in ("range", "roundrobin"),
              f"protocol {info.protocol_type}/{info.protocol}")
        parts = sorted(p for m in info.members for t, ps in m.member_assignment.assignment
                       for p in ps if t == KP_TOPIC)
        check(parts == KP_PARTS, f"described assignments cover {parts}")
        check(sorted(m.client_id for m in info.members) == ["kp1", "kp2"],
              f"described client ids {[m.client_id for m in info.members]}")
        listed = admin.list_consumer_groups()
        check((KP_GROUP, "consumer") in listed, f"list_consumer_groups: {listed}")
        log(f"describe_consumer_groups: {info.state}, {info.protocol_type}/{info.protocol}, "
            f"members {[m.client_id for m in info.members]}, assignments cover {parts}; "
            f"list_consumer_groups lists it")

        members += g.start(names=["kp3"])
        a = g.wait_balanced(3, KP_PARTS, {2}, 60, "three kafka-python members, 2 partitions each",
                            fail)
        log(f"a third member joined: {a}")
        delivered += produce(c.bootstrap, KP_TOPIC, KP_PARTS, third, third)
        members[0].stop()
        a = g.wait_balanced(2, KP_PARTS, {3}, 60,
                            f"{members[0].name}'s partitions moving to the other two after "
                            "its LeaveGroup", fail)
        log(f"{members[0].name} left; the other two: {a}")
        delivered += produce(c.bootstrap, KP_TOPIC, KP_PARTS, 2 * third, N - 2 * third)
        ends = ends_of(delivered, KP_PARTS)
        log(f"produced {N} records in three steps (before the third member joined, before "
            f"{members[0].name} left, after); log ends {ends}")

        wait_until(lambda: coverage(g.records(), delivered, {}, ends) is None, 90,
                   "kafka-python members to consume every record",
                   on_timeout=lambda: log(coverage(g.records(), delivered, {}, ends)))
        problems = g.session_problems()
        check(not problems, "within-assignment order: " + "; ".join(problems[:10]))
        cm = wait_until(lambda: (lambda x: x if x == ends else None)(
            committed(admin, KP_GROUP, KP_PARTS, KP_TOPIC)), 60,
            f"committed offsets to reach the log ends {ends}")
        log(f"every record consumed, none skipped; committed == log ends {cm}")

        for m in members[1:]:
            m.stop()
        check(all(m.closed_cleanly() for m in members), "a member did not close cleanly")
        before = committed(admin, KP_GROUP, KP_PARTS, KP_TOPIC)
        check(before == ends, f"committed after stopping: {before}, want {ends}")
        more = produce(c.bootstrap, KP_TOPIC, KP_PARTS, N, MORE)
        ends2 = ends_of(delivered + more, KP_PARTS)
        new = g.start(names=["kp4", "kp5"])
        names = {m.name for m in new}
        wait_until(lambda: coverage(g.records(names), more, before, ends2) is None, 60,
                   "restarted members to consume the new records",
                   on_timeout=lambda: log(coverage(g.records(names), more, before, ends2)))
        first = first_offsets(g.records(names))
        check(first == before, f"first offsets after the restart {first}, committed {before}")
        wait_until(lambda: committed(admin, KP_GROUP, KP_PARTS, KP_TOPIC) == ends2, 60,
                   f"committed offsets to reach {ends2}")
        for m in new:
            m.stop()
        log(f"restarted members resumed at the committed offsets {first}; committed {ends2}")
    finally:
        g.kill_all()


class Kcat:
    """One `kcat -G` member; collects (partition, offset, value) lines."""

    def __init__(self, bootstrap, extra=()):
        cmd = [KCAT, "-b", bootstrap, "-G", KC_GROUP, "-u", "-f", "%p %o %s\\n",
               "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000",
               "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=500",
               *extra, KC_TOPIC]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lock = threading.Lock()
        self.recs = []
        self.err = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        for line in self.proc.stdout:
            f = line.split()
            if len(f) == 3:
                with self.lock:
                    self.recs.append(("kcat", int(f[0]), int(f[1]), f[2]))

    def _err(self):
        for line in self.proc.stderr:
            with self.lock:
                self.err = (self.err + [line.rstrip()])[-20:]

    def records(self):
        with self.lock:
            return list(self.recs)

    def assigned(self):
        with self.lock:
            return any("assigned:" in x for x in self.err)

    def stop(self, timeout_s=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"kcat -G did not exit {timeout_s}s after SIGTERM: {self.err[-5:]}")
        return rc


def kcat_part(c, admin):
    c.create_topic(KC_TOPIC, partitions=len(KC_PARTS), rf=3)
    c.wait_leaders(KC_TOPIC)
    delivered = produce(c.bootstrap, KC_TOPIC, KC_PARTS, 0, 4000)
    ends = ends_of(delivered, KC_PARTS)
    ks = [Kcat(c.bootstrap), Kcat(c.bootstrap)]
    try:
        wait_until(lambda: all(k.assigned() for k in ks), 60,
                   "both kcat -G members to get an assignment",
                   on_timeout=lambda: log("; ".join(str(k.err[-3:]) for k in ks)))
        all_recs = lambda: ks[0].records() + ks[1].records()  # noqa: E731
        wait_until(lambda: coverage(all_recs(), delivered, {}, ends) is None, 90,
                   "the two kcat members to consume every record",
                   on_timeout=lambda: log(coverage(all_recs(), delivered, {}, ends)))
        info = describe_group(admin, KC_GROUP)
        check(info.protocol_type == "consumer" and len(info.members) == 2,
              f"kcat group described as {info.state} {info.protocol_type} "
              f"with {len(info.members)} members")
        per = [sorted({r[1] for r in k.records()}) for k in ks]
        log(f"two kcat -G members read every record (partitions read: {per}); group "
            f"{info.state}, protocol {info.protocol}")
        cm = wait_until(lambda: (lambda x: x if x == ends else None)(
            committed(admin, KC_GROUP, KC_PARTS, KC_TOPIC)), 30,
            f"kcat's auto-commits to reach the log ends {ends}")
        rcs = [k.stop() for k in ks]           # one after the other
        check(rcs == [0, 0], f"kcat exit codes {rcs}: {[k.err[-3:] for k in ks]}")
        cm = committed(admin, KC_GROUP, KC_PARTS, KC_TOPIC)
        check(cm == ends, f"kcat committed {cm} after stopping, log ends {ends}")
        log(f"kcat auto-committed everything; members stopped (SIGTERM); committed == "
            f"log ends {cm}")

        more = produce(c.bootstrap, KC_TOPIC, KC_PARTS, 4000, 400)
        ends2 = ends_of(delivered + more, KC_PARTS)
        k = Kcat(c.bootstrap, ["-c", "400"])
        try:
            rc = k.proc.wait(90)
        except subprocess.TimeoutExpired:
            k.proc.kill()
            fail(f"kcat -G -c 400 did not read 400 records in 90s "
                 f"(read {len(k.records())}): {k.err[-5:]}")
        time.sleep(0.2)                   # the reader thread drains the pipe
        got = k.records()
        check(rc == 0 and len(got) == 400, f"kcat -c 400: exit {rc}, {len(got)} records")
        first = first_offsets(got)
        check(first == cm, f"kcat resumed at {first}, committed {cm}")
        problem = coverage(got, more, cm, ends2)
        check(problem is None, f"kcat after restart: {problem}")
        cm2 = committed(admin, KC_GROUP, KC_PARTS, KC_TOPIC)
        check(cm2 == ends2, f"kcat committed {cm2} after the second run, log ends {ends2}")
        log(f"kcat -G -c 400 resumed at the committed offsets {first} and read exactly the "
            f"400 new records; committed {cm2}")
    finally:
        for k in ks:
            if k.proc.poll() is None:
                k.proc.kill()


KK_TOPIC, KK_GROUP, KK_PARTS = "kk-topic", "kk-group", list(range(6))


def kafka_python_kill_part(c, admin):
    c.create_topic(KK_TOPIC, partitions=len(KK_PARTS), rf=3)
    c.wait_leaders(KK_TOPIC)
    g = Group(c.bootstrap, KK_GROUP, KK_TOPIC, ["--client", "kafka-python", "--batch", "200"])
    try:
        g.start(3)
        a = g.wait_balanced(3, KK_PARTS, {2}, 90, "three kafka-python members, two partitions "
                            "each", fail)
        log(f"kafka-python processes: three members, two partitions each: {a}")
        delivered = produce(c.bootstrap, KK_TOPIC, KK_PARTS, 0, N // 2)
        victim = max(g.live(), key=lambda w: (len(w.current()), w.name))
        lost = sorted(victim.current())
        victim.kill()
        log(f"SIGKILLed kafka-python member {victim.name} (held {lost})")
        delivered += produce(c.bootstrap, KK_TOPIC, KK_PARTS, N // 2, N // 2)
        a = g.wait_balanced(2, KK_PARTS, {3}, 90, f"the partitions {lost} of the SIGKILLed "
                            "member moving to the two survivors", fail)
        log(f"survivors hold every partition: {a}")
        ends = ends_of(delivered, KK_PARTS)
        wait_until(lambda: coverage(g.records(), delivered, {}, ends) is None, 90,
                   "the group to consume every record",
                   on_timeout=lambda: log(coverage(g.records(), delivered, {}, ends)))
        problems = g.session_problems()
        check(not problems, "within-assignment order: " + "; ".join(problems[:10]))
        wait_until(lambda: committed(admin, KK_GROUP, KK_PARTS, KK_TOPIC) == ends, 60,
                   f"committed offsets to reach the log ends {ends}")
        log(f"all {len(delivered)} records consumed, none skipped; committed == {ends}")
        g.stop_all()
    finally:
        g.kill_all()


with Cluster(name="groups-kp", broker_config=BROKER_CONFIG) as c:
    c.up()
    admin = wait_until(lambda: KafkaAdminClient(bootstrap_servers=c.bootstrap.split(",")), 30,
                       "a KafkaAdminClient")
    kafka_python_part(c, admin)
    kafka_python_kill_part(c, admin)
    kcat_part(c, admin)
    admin.close()
    log("ok")
