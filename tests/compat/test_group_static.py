"""Static membership (KIP-345, group.instance.id) with confluent-kafka:
two consumers with instance ids share a 4-partition topic. The one that is
not the group leader is closed (a static member does not leave the group
on close) and a new process with the same instance id joins within the
session timeout: it takes the old member's place under a new member id,
the group stays at the same generation — no rebalance — and it gets the
same partitions back. A third consumer with a new instance id then makes
the group rebalance over three members."""
import time

from compat import Cluster, check, log, wait_until

import confluent_kafka as ck

TOPIC = "static"
GROUP = "static-app"
PARTS = 4
BROKER_CONFIG = {"offsets.topic.num.partitions": 6, "group.initial.rebalance.delay.ms": 300}


def consumer(bootstrap, instance):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                     "group.instance.id": instance, "client.id": instance,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 30000, "heartbeat.interval.ms": 500})
    c.subscribe([TOPIC])
    return c


def assigned(c):
    return sorted(tp.partition for tp in c.assignment())


def poll_until(consumers, pred, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for c in consumers:
            c.poll(0.05)
        if pred():
            return
    check(False, f"timed out waiting for {what}; assignments "
                 f"{[assigned(c) for c in consumers]}")


def describe(cluster):
    return cluster.ctl_json("group", "describe", GROUP)


def main():
    with Cluster(name="compat-group-static", broker_config=BROKER_CONFIG) as c:
        c.up()
        c.create_topic(TOPIC, partitions=PARTS, rf=3)
        c.wait_leaders(TOPIC)
        a, b = consumer(c.bootstrap, "inst-a"), consumer(c.bootstrap, "inst-b")
        poll_until([a, b], lambda: len(assigned(a)) == 2 and len(assigned(b)) == 2,
                   "two static members with two partitions each")
        d = describe(c)
        check(d["state"] == "Stable", f"group state {d['state']}")
        gen = d["generation"]
        ids = {m["group_instance_id"]: m["member_id"] for m in d["members"]}
        check(set(ids) == {"inst-a", "inst-b"}, f"instance ids {sorted(ids)}")
        leader_inst = next(i for i, m in ids.items() if m == d["leader"])
        keep, restart = (a, b) if leader_inst == "inst-a" else (b, a)
        restart_inst = "inst-b" if leader_inst == "inst-a" else "inst-a"
        parts = assigned(restart)
        log(f"generation {gen}; leader {leader_inst}; restarting {restart_inst} (owns {parts})")
        restart.close()
        again = consumer(c.bootstrap, restart_inst)
        poll_until([keep, again], lambda: assigned(again) == parts,
                   f"{restart_inst} to get {parts} back")
        d = describe(c)
        new_ids = {m["group_instance_id"]: m["member_id"] for m in d["members"]}
        check(d["generation"] == gen, f"generation moved {gen} -> {d['generation']}: "
                                      "the static member's return rebalanced the group")
        check(new_ids[restart_inst] != ids[restart_inst],
              "the returning static member kept its old member id")
        check(len(d["members"]) == 2, f"{len(d['members'])} members after the return")
        log(f"{restart_inst} is back as {new_ids[restart_inst][:24]}..., still generation {gen}")
        third = consumer(c.bootstrap, "inst-c")
        group = [keep, again, third]
        poll_until(group, lambda: sorted(sum((assigned(x) for x in group), [])) ==
                   list(range(PARTS)) and all(assigned(x) for x in group),
                   "a rebalance over three members")
        check(describe(c)["generation"] > gen, "a new static member did not rebalance")
        for x in group:
            x.close()
        log("static membership: ok")


if __name__ == "__main__":
    main()
