"""cairnctl group list / group describe against a real consumer group: two
confluent-kafka (librdkafka) consumers in one group on a 4-partition RF=3
topic get two partitions each. After they commit part of what they read,
'group describe --json' shows per partition the committed offset, the log
end offset (the leader's high watermark) and their difference as lag, and
the member owning it; the coordinator is the leader of the group's
__consumer_offsets partition (Kafka's abs(hashCode) mod N). Once everything
is consumed and committed every lag is 0. 'group list --json' lists the
group on its coordinator. After both consumers leave, the group is Empty
with its offsets kept and no owners. A group that does not exist, before
and after __consumer_offsets exists, fails with status 1."""
import time

from compat import Cluster, check, log, wait_until

import confluent_kafka as ck

TOPIC = "clicks"
# Its hashCode is negative (-760550081): Kafka's Utils.abs puts it on
# partition 5 of 6, where a sign-bit mask would put it on 3.
GROUP = "clicks-app"
PARTS = 4
PER_PART = 100
OFFSETS_PARTITIONS = 6
BROKER_CONFIG = {"offsets.topic.num.partitions": OFFSETS_PARTITIONS,
                 "group.initial.rebalance.delay.ms": 300}


def java_partition_for(group, n):
    """Kafka's coordinator partition: Utils.abs(group.hashCode()) % n."""
    data = group.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return 0 if h == -(1 << 31) else abs(h) % n


def produce(bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for i in range(PARTS * PER_PART):
        p.produce(TOPIC, value=b"click %d" % i, partition=i % PARTS,
                  on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    check(p.flush(60) == 0, "records left undelivered")
    check(not errors, f"delivery errors: {errors[:3]}")


def consumer(bootstrap, name):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "client.id": name,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 10000})
    c.subscribe([TOPIC])
    return c


def poll_all(consumers, seen, until, what, timeout_s=60):
    """Polls every consumer in turn (so that each takes part in rebalances)
    until until() holds; records consumed offsets per partition in seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if until():
            return
        for c in consumers:
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            seen[m.partition()] = m.offset()
    check(until(), f"timed out after {timeout_s}s waiting for {what}")


def assignments(consumers):
    return [sorted(tp.partition for tp in c.assignment()) for c in consumers]


def describe(c, group=GROUP):
    return c.ctl_json("group", "describe", group)


def check_describe(c, d, want_committed, owners, coordinator):
    """d (describe --json) against the committed offsets and owners we know."""
    check(d["group"] == GROUP and d["protocol_type"] == "consumer", f"group fields: {d}")
    check(d["coordinator"] == coordinator,
          f"coordinator {d['coordinator']}, want {coordinator} (leader of the group's partition)")
    rows = {o["partition"]: o for o in d["offsets"] if o["topic"] == TOPIC}
    check(sorted(rows) == list(range(PARTS)), f"partitions in offsets: {sorted(rows)}")
    for p, o in rows.items():
        want = want_committed.get(p)
        check(o["committed_offset"] == want, f"partition {p}: committed {o}, want {want}")
        check(o["log_end_offset"] == PER_PART, f"partition {p}: log end {o}, want {PER_PART}")
        check(o["lag"] == (None if want is None else PER_PART - want), f"partition {p}: lag {o}")
        check(o["member_id"] == owners.get(p), f"partition {p}: owner {o['member_id']}, "
              f"want {owners.get(p)}")


with Cluster(name="groupcli", broker_config=BROKER_CONFIG) as c:
    c.up()
    p = c.ctl("group", "list", "--json")
    check(p.returncode == 0, "group list on a new cluster")
    p = c.ctl("group", "describe", GROUP, check_rc=False)
    check(p.returncode == 1 and "does not exist" in p.stderr,
          f"describe before any group: rc {p.returncode}, stderr {p.stderr!r}")

    c.create_topic(TOPIC, partitions=PARTS, rf=3)
    c.wait_leaders(TOPIC)
    produce(c.bootstrap)
    log(f"produced {PARTS * PER_PART} records")

    consumers = [consumer(c.bootstrap, "cli-1"), consumer(c.bootstrap, "cli-2")]
    seen = {}
    poll_all(consumers, seen, lambda: [len(a) for a in assignments(consumers)] == [2, 2],
             "two partitions for each consumer")
    parts = assignments(consumers)
    check(sorted(parts[0] + parts[1]) == list(range(PARTS)), f"assignments {parts}")
    log(f"assigned: cli-1 {parts[0]}, cli-2 {parts[1]}")
    c.wait_leaders("__consumer_offsets")
    coordinator = c.leader_of("__consumer_offsets", java_partition_for(GROUP, OFFSETS_PARTITIONS))

    # Part of the records read and committed: lag is what is left.
    poll_all(consumers, seen, lambda: len(seen) == PARTS and min(seen.values()) >= 30,
             "some records of every partition")
    committed = {p: 20 + p for p in range(PARTS)}
    for cons, mine in zip(consumers, parts):
        tps = [ck.TopicPartition(TOPIC, p, committed[p]) for p in mine]
        for tp in cons.commit(offsets=tps, asynchronous=False):
            check(tp.error is None, f"commit {tp}")
    d = describe(c)
    check(d["state"] == "Stable" and d["generation"] >= 1,
          f"state {d['state']}, generation {d['generation']}")
    members = {m["client_id"]: m for m in d["members"]}
    check(sorted(members) == ["cli-1", "cli-2"], f"members {d['members']}")
    owners = {}
    for name, want in zip(("cli-1", "cli-2"), parts):
        m = members[name]
        check(m["host"] and m["group_instance_id"] is None, f"member {m}")
        got = sorted(p for a in m["assignments"] if a["topic"] == TOPIC for p in a["partitions"])
        check(got == want, f"{name}: assignments {m['assignments']}, consumer has {want}")
        owners.update({p: m["member_id"] for p in want})
    check_describe(c, d, committed, owners, coordinator)
    log(f"partly committed: lags {[o['lag'] for o in d['offsets']]}")

    listed = [g for g in c.ctl_json("group", "list")["groups"] if g["group"] == GROUP]
    check(listed == [{"group": GROUP, "state": "Stable", "protocol_type": "consumer",
                      "coordinator": coordinator}], f"group list: {listed}")

    # Everything read and committed: every lag reaches 0.
    poll_all(consumers, seen, lambda: len(seen) == PARTS and
             min(seen.values()) == PER_PART - 1, "every record")
    for cons in consumers:
        check(all(tp.error is None for tp in cons.commit(asynchronous=False)), "final commit")
    full = {p: PER_PART for p in range(PARTS)}
    d = wait_until(lambda: (lambda d: d if all(o["lag"] == 0 for o in d["offsets"]) else None)(
        describe(c)), 20, "lag 0 on every partition")
    check_describe(c, d, full, owners, coordinator)
    table = c.ctl("group", "describe", GROUP).stdout
    check(table.startswith(f"Group: {GROUP}\tState: Stable\t") and
          "GROUP" in table and "CURRENT-OFFSET  LOG-END-OFFSET  LAG" in table,
          f"describe table:\n{table}")
    log("fully consumed: lag 0 everywhere\n" + table)

    # Both leave: the group is Empty, its offsets stay, nobody owns them.
    for cons in consumers:
        cons.close()
    d = wait_until(lambda: (lambda d: d if d["state"] == "Empty" else None)(describe(c)), 30,
                   "the group to be Empty")
    check(d["members"] == [], f"members after close: {d['members']}")
    check_describe(c, d, full, {}, coordinator)

    p = c.ctl("group", "describe", "no-such-group", check_rc=False)
    check(p.returncode == 1 and "group 'no-such-group' does not exist" in p.stderr,
          f"unknown group: rc {p.returncode}, stderr {p.stderr!r}")
    log("group list / describe: ok")
