"""Offset expiry (offsets.retention.minutes, KIP-211), with the shortest
retention Kafka's setting allows (1 minute, checked every second): offsets
committed by a consumer that assigns its partitions itself (no group
membership) expire a minute after the commit, and the empty group goes
from ListGroups; a group whose member stays subscribed keeps its offsets
however old they get."""
import time

from compat import Cluster, check, log

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient

TOPIC = "expiry"
BROKER_CONFIG = {"offsets.topic.num.partitions": 6, "group.initial.rebalance.delay.ms": 300,
                 "offsets.retention.minutes": 1, "offsets.retention.check.interval.ms": 1000}
RETENTION_S = 60


def conf(bootstrap, group):
    return {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500}


def committed(bootstrap, group):
    c = ck.Consumer(conf(bootstrap, group))
    try:
        return [tp.offset for tp in c.committed([ck.TopicPartition(TOPIC, 0),
                                                 ck.TopicPartition(TOPIC, 1)], timeout=10)]
    finally:
        c.close()


def groups(admin):
    return {g.id for g in admin.list_groups(timeout=10)}


def main():
    with Cluster(name="compat-group-expiry", broker_config=BROKER_CONFIG) as c:
        c.up()
        c.create_topic(TOPIC, partitions=2, rf=3)
        c.wait_leaders(TOPIC)
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        manual = ck.Consumer(conf(c.bootstrap, "expire-me"))
        manual.commit(offsets=[ck.TopicPartition(TOPIC, 0, 7), ck.TopicPartition(TOPIC, 1, 9)],
                      asynchronous=False)
        manual.close()
        committed_at = time.monotonic()
        member = ck.Consumer(conf(c.bootstrap, "keep-me"))
        member.subscribe([TOPIC])
        deadline = time.monotonic() + 60
        while len(member.assignment()) < 2 and time.monotonic() < deadline:
            member.poll(0.1)
        check(len(member.assignment()) == 2, "the subscribed member got no partitions")
        member.commit(offsets=[ck.TopicPartition(TOPIC, 0, 3), ck.TopicPartition(TOPIC, 1, 4)],
                      asynchronous=False)
        check(committed(c.bootstrap, "expire-me") == [7, 9], "manual commit not stored")
        check("expire-me" in groups(admin), "the manual group is not listed")
        log("committed 7/9 without membership and 3/4 from a subscribed member")
        # Before the retention has passed nothing may expire; then it must.
        expired_after = None
        deadline = committed_at + RETENTION_S + 90
        while time.monotonic() < deadline:
            member.poll(0.2)
            if time.monotonic() - committed_at < RETENTION_S - 5:
                check(committed(c.bootstrap, "expire-me") == [7, 9],
                      "offsets expired before offsets.retention.minutes passed")
                time.sleep(2)
                continue
            if committed(c.bootstrap, "expire-me") == [ck.OFFSET_INVALID] * 2:
                expired_after = time.monotonic() - committed_at
                break
            time.sleep(1)
        check(expired_after is not None, "the manual group's offsets never expired")
        log(f"the manual group's offsets expired {expired_after:.0f} s after the commit")
        check(committed(c.bootstrap, "keep-me") == [3, 4],
              "the subscribed group's offsets expired while it had a member")
        deadline = time.monotonic() + 30
        while "expire-me" in groups(admin) and time.monotonic() < deadline:
            member.poll(0.2)
            time.sleep(0.5)
        check("expire-me" not in groups(admin), "the empty group without offsets stays listed")
        check("keep-me" in groups(admin), "the active group is gone")
        member.close()
        log("offset expiry: ok")


if __name__ == "__main__":
    main()
