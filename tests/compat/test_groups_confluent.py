"""Consumer groups with librdkafka (confluent-kafka 1.7.0, classic protocol):
three consumers (group_worker.py processes: subscribe, enable.auto.commit
false, a synchronous commit after each processed batch) in one group on a
6-partition RF=3 topic get two partitions each; a fourth joins and the
partitions spread over four (1 or 2 each, all covered, no overlap); one
member is SIGKILLed and its partitions move to the survivors (session
timeout, then a rebalance). Every record produced meanwhile (numbered) is
consumed at least once with its produced value and no offset is skipped
(the union of consumed offsets covers 0..end of each partition), each
member reads increasing offsets within one assignment, and the committed
offsets reach the log end. Then every member stops, more is produced, and
new members resume each partition exactly at its committed offset (as an
independent consumer's committed() reports it), without gaps.
DeleteGroups (kafka-python's admin client: confluent-kafka 1.7.0 has no
delete_consumer_groups) on the active group gets NON_EMPTY_GROUP; after
every member left it succeeds, and neither confluent-kafka's list_groups()
nor kafka-python's list_consumer_groups() shows the group any more, and its
committed offsets are gone."""
import threading
import time

from compat import Cluster, check, fail, log, wait_until
from group_worker import Group, coverage, ends_of, first_offsets, missing

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

TOPIC = "orders"
GROUP = "orders-group"
PARTS = list(range(6))
N = 20000                 # records produced while the group changes
MORE = 3000               # records produced while the group is stopped
RATE = 1500               # records/s
NON_EMPTY_GROUP = 68
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 300, "offsets.topic.num.partitions": 6}


class NumberedProducer:
    """A librdkafka producer thread writing b"r-%06d" % i to partition i % 6
    at about `rate`/s; records each delivery (partition, offset, value)."""

    def __init__(self, bootstrap, first, count, rate):
        self.p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                              "enable.idempotence": False,
                              "max.in.flight.requests.per.connection": 1})
        self.first, self.count, self.rate = first, count, rate
        self.delivered, self.errors = [], []
        self.left = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _cb(self, err, msg):
        with self.lock:
            if err:
                self.errors.append(str(err))
            else:
                self.delivered.append((msg.partition(), msg.offset(), msg.value().decode()))

    def _run(self):
        t0 = time.monotonic()
        i = 0
        while i < self.count:
            due = min(self.count, int((time.monotonic() - t0) * self.rate) + 1)
            while i < due:
                n = self.first + i
                try:
                    self.p.produce(TOPIC, value=b"r-%06d" % n, partition=n % len(PARTS),
                                   on_delivery=self._cb)
                except BufferError:
                    self.p.poll(0.05)
                    continue
                i += 1
            self.p.poll(0.01)
        self.left = self.p.flush(120)

    def start(self):
        self.thread.start()
        return self

    def done(self):
        with self.lock:
            return len(self.delivered)

    def join(self):
        self.thread.join(180)
        check(not self.thread.is_alive(), "the producer did not finish")
        check(not self.errors and self.left == 0,
              f"delivery failures: {self.errors[:3]}, {self.left} undelivered")
        return list(self.delivered)


def committed(bootstrap, timeout=10):
    """{partition: committed offset} from an independent consumer of the
    group (OffsetFetch; it never joins), or None if the fetch failed."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                     "enable.auto.commit": False})
    try:
        res = c.committed([ck.TopicPartition(TOPIC, p) for p in PARTS], timeout=timeout)
        if any(tp.error for tp in res):
            return None
        return {tp.partition: tp.offset for tp in res}
    except ck.KafkaException:
        return None
    finally:
        c.close()


def check_coverage(g, delivered, start, ends, names=None):
    """Every delivered record consumed at its offset with its value; the
    union of consumed offsets covers start..end of each partition. Returns
    how many records were read more than once."""
    got, dup = {}, 0
    for _, p, o, v in g.records(names):
        if o in got.setdefault(p, {}):
            dup += 1
            check(got[p][o] == v, f"{p}/{o} read as {got[p][o]!r} and {v!r}")
        got[p][o] = v
    problem = coverage(g.records(names), delivered, start, ends)
    check(problem is None, problem)
    return dup


with Cluster(name="groups-ck", broker_config=BROKER_CONFIG) as c:
    c.up()
    c.create_topic(TOPIC, partitions=len(PARTS), rf=3)
    c.wait_leaders(TOPIC)
    g = Group(c.bootstrap, GROUP, TOPIC, ["--batch", "200"])
    try:
        g.start(3)
        a = g.wait_balanced(3, PARTS, {2}, 60, "three members with two partitions each", fail)
        log(f"three members, two partitions each: {a}")

        prod = NumberedProducer(c.bootstrap, 0, N, RATE).start()
        wait_until(lambda: prod.done() >= N // 4, 60, "a quarter of the records delivered")
        g.start(1)
        a = g.wait_balanced(4, PARTS, {1, 2}, 60,
                            "four members sharing the six partitions (1 or 2 each)", fail)
        log(f"a fourth member joined; rebalanced over four: {a}")

        wait_until(lambda: prod.done() >= N // 2, 60, "half of the records delivered")
        victim = max(g.live(), key=lambda w: (len(w.current()), w.name))
        lost = sorted(victim.current())
        victim.kill()
        log(f"SIGKILLed member {victim.name} (held {lost})")
        a = g.wait_balanced(3, PARTS, {2}, 60,
                            f"the partitions {lost} of SIGKILLed {victim.name} moving to the "
                            "three survivors (session timeout + rebalance)", fail)
        log(f"survivors hold every partition: {a}")

        delivered = prod.join()
        ends = ends_of(delivered, PARTS)
        check(len(delivered) == N and sum(ends.values()) == N,
              f"{len(delivered)} delivered, log ends {ends}")
        wait_until(lambda: not missing(g.records(), {}, ends), 90,
                   "the group to consume every delivered record")
        dup = check_coverage(g, delivered, {}, ends)
        problems = g.session_problems()
        check(not problems, "within-assignment order: " + "; ".join(problems[:10]))
        cm = wait_until(lambda: (lambda x: x if x == ends else None)(committed(c.bootstrap)),
                        60, f"committed offsets to reach the log ends {ends}")
        ok_commits = sum(1 for x in g.commits() if x[2])
        bad_commits = [x for x in g.commits() if not x[2]]
        log(f"all {N} records consumed at least once ({dup} read twice), no offset skipped, "
            f"increasing within each assignment; {ok_commits} commits succeeded, "
            f"{len(bad_commits)} failed (rebalances: "
            f"{sorted({x[4] for x in bad_commits})[:3]}); committed == log ends {cm}")

        # The group as librdkafka's list_groups (ListGroups + DescribeGroups) sees it.
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        mine = wait_until(lambda: [x for x in admin.list_groups(timeout=10) if x.id == GROUP
                                   and x.state == "Stable" and len(x.members) == 3], 30,
                          "list_groups() to show the group Stable with three members")[0]
        check(mine.protocol_type == "consumer", f"protocol type {mine.protocol_type!r}")
        log(f"list_groups: {GROUP} {mine.state}, protocol {mine.protocol_type}/{mine.protocol}, "
            f"{len(mine.members)} members, coordinator broker {mine.broker.id}")

        # Stop every member, produce more, restart: resume at the committed offsets.
        g.stop_all()
        check(all(w.closed_cleanly() for w in g.workers if w is not victim),
              "a member did not close cleanly: " + "; ".join(w.describe() for w in g.workers))
        before = committed(c.bootstrap)
        check(before == ends, f"committed offsets after stopping {before}, want {ends}")
        prod2 = NumberedProducer(c.bootstrap, N, MORE, 10 * RATE).start()
        more = prod2.join()
        ends2 = ends_of(delivered + more, PARTS)
        log(f"all members stopped; committed {before}; produced {MORE} more, ends now {ends2}")
        new = g.start(3)
        names = {w.name for w in new}
        g.wait_balanced(3, PARTS, {2}, 60, "the restarted members' assignment", fail)
        wait_until(lambda: not missing(g.records(names), before, ends2), 60,
                   "the restarted members to consume the new records")
        check_coverage(g, more, before, ends2, names)
        first = first_offsets(g.records(names))
        check(first == before, f"first offsets consumed after the restart {first}, "
              f"committed before it {before}")
        wait_until(lambda: committed(c.bootstrap) == ends2, 60,
                   f"committed offsets to reach the new log ends {ends2}")
        log(f"restarted members resumed each partition at its committed offset {first}, "
            f"no gaps, committed == {ends2}")

        # DeleteGroups: refused while the group has members, then accepted.
        ka = KafkaAdminClient(bootstrap_servers=c.bootstrap.split(","))
        res = ka.delete_consumer_groups([GROUP])
        check(len(res) == 1 and res[0][1].errno == NON_EMPTY_GROUP,
              f"DeleteGroups on the active group: {res} (want NON_EMPTY_GROUP, 68)")
        log(f"DeleteGroups on the active group: {res[0][1].__name__}")
        g.stop_all()

        def deleted():
            r = ka.delete_consumer_groups([GROUP])
            if r[0][1].errno == NON_EMPTY_GROUP:
                return None      # the members' LeaveGroup may still be on its way
            return r
        res = wait_until(deleted, 30, "DeleteGroups to accept the group once empty")
        check(res[0][1].errno == 0, f"DeleteGroups after every member left: {res}")
        groups = [x.id for x in admin.list_groups(timeout=10)]
        check(GROUP not in groups, f"list_groups() after deletion: {groups}")
        kgroups = [x[0] for x in ka.list_consumer_groups()]
        check(GROUP not in kgroups, f"list_consumer_groups() after deletion: {kgroups}")
        gone = committed(c.bootstrap)
        check(gone is not None and all(v == ck.OFFSET_INVALID for v in gone.values()),
              f"committed offsets after deletion: {gone}")
        ka.close()
        log("DeleteGroups after every member left: ok; the group and its offsets are gone")
    finally:
        g.kill_all()
    log("ok")
