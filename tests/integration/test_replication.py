"""Replication basics (issue 4, criteria 3 and the replica-agreement rule):
followers fetch from the leader and hold byte-identical logs; acks=all is
answered once every in-sync replica has the batch; with two of three
replicas down acks=all gets NOT_ENOUGH_REPLICAS and nothing is written; a
replica that comes back catches up and rejoins the ISR; the leader's death
loses no acknowledged record."""
import glob
import os
import subprocess

from harness import BUILD_DIR, Cluster, check, log, wait_until
import kafka_wire as kw

DUMP = os.path.join(BUILD_DIR, "broker", "log", "cairn-dump-log")
NOT_ENOUGH_REPLICAS = 19
TOPIC = "repl"


def produce(c, start, count, acks=-1, expect=0):
    leader = c.leader_of(TOPIC)
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    offsets = []
    for i in range(start, start + count, 20):
        recs = [(b"k%d" % j, b"value-%d" % j) for j in range(i, min(i + 20, start + count))]
        err, base = conn.produce(TOPIC, 0, kw.batch(recs), acks=acks)
        check(err == expect, f"produce at {i}: error {err}, want {expect}")
        offsets.append(base)
    conn.close()
    return offsets


def batches_of(c, node):
    """(base, last, epoch, size, crc) of every batch in node's replica of the partition."""
    out = []
    for seg in sorted(glob.glob(os.path.join(c.node_dir("broker", node), "data", f"{TOPIC}-0",
                                             "*.log"))):
        p = subprocess.run([DUMP, seg], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            if line.startswith("baseOffset:"):
                f = line.split()
                out.append((f[1], f[3], f[7], f[11], f[13]))   # offsets, epoch, size, crc
    return out


def in_sync(c, nodes):
    logs = [batches_of(c, n) for n in nodes]
    return logs[0] if logs[0] and all(x == logs[0] for x in logs) else None


with Cluster(name="repl", broker_config={"replica.lag.time.max.ms": 2000}) as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", "1", "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    produce(c, 0, 2000)
    same = wait_until(lambda: in_sync(c, (1, 2, 3)), 20, "three identical replicas")
    log(f"2000 records acknowledged with acks=all; the three replicas agree on {len(same)} "
        f"batches")

    # Two of three down: the leader alone is below min.insync.replicas.
    leader = c.leader_of(TOPIC)
    followers = [n for n in (1, 2, 3) if n != leader]
    for n in followers:
        c.signal("kill", "broker", n)
    wait_until(lambda: c.describe(TOPIC)["partitions"][0]["isr"] == [leader], 15,
               "the ISR to shrink to the leader")
    produce(c, 2000, 20, expect=NOT_ENOUGH_REPLICAS)
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    _, _, end = conn.list_offset(TOPIC, 0, -1)
    conn.close()
    check(end == 2000, f"a refused produce was written: end offset {end}")
    log("two replicas down: acks=all refused with NOT_ENOUGH_REPLICAS, nothing written")

    # One comes back, catches up and rejoins; writes succeed again.
    c.signal("start", "broker", followers[0])
    wait_until(lambda: followers[0] in c.describe(TOPIC)["partitions"][0]["isr"], 30,
               f"broker {followers[0]} to rejoin the ISR")
    produce(c, 2000, 1000)
    log(f"broker {followers[0]} rejoined; 1000 more records acknowledged")

    # The leader dies: the survivor leads with every acknowledged record.
    c.signal("kill", "broker", leader)
    wait_until(lambda: c.leader_of(TOPIC) == followers[0], 15, "the new leader")
    conn = kw.Conn("127.0.0.1", c.broker_port(followers[0]))
    recs = kw.fetch_all(conn, TOPIC, 0)
    conn.close()
    check(len(recs) == 3000 and all(v == b"value-%d" % o for o, _, v in recs),
          f"new leader serves {len(recs)} records")
    log("leader killed: the new leader serves all 3000 acknowledged records")
    c.signal("start", "broker", leader)
    c.signal("start", "broker", followers[1])
    same = wait_until(lambda: in_sync(c, (1, 2, 3)), 30, "three identical replicas again")
    log(f"all replicas agree again on {len(same)} batches")
    log("ok")
