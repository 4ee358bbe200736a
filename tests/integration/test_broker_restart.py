"""Issue criterion 4: a broker restarted after SIGTERM, and separately after
SIGKILL right after acks=1 produces (durable flush, the default), serves all
its data back; a segment whose tail has flipped bytes is truncated at the
last valid batch on start and the broker serves the rest."""
import glob
import os
import struct

from harness import Cluster, check, log, wait_until
import kafka_wire as kw

TOPIC = "durable"


def produce_many(c, start, count, per_batch=50):
    # A restarted broker leads again only once its new registration is
    # unfenced; until then the partition (RF=1) has no leader.
    leader = wait_until(lambda: (lambda n: n if n and n > 0 else None)(c.leader_of(TOPIC)),
                        30, "a leader")
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    offsets = []
    for i in range(start, start + count, per_batch):
        recs = [(b"k%d" % j, b"value-%d" % j) for j in range(i, min(i + per_batch, start + count))]
        err, base = conn.produce(TOPIC, 0, kw.batch(recs), acks=1)
        check(err == 0, f"produce at {i} failed with {err}")
        offsets.append(base)
    conn.close()
    return offsets


def read_all(c):
    def attempt():
        leader = c.leader_of(TOPIC)
        if leader is None or leader < 1:
            return None
        conn = kw.Conn("127.0.0.1", c.broker_port(leader))
        try:
            return kw.fetch_all(conn, TOPIC, 0)
        finally:
            conn.close()
    return wait_until(attempt, 30, "the partition to be readable again")


def expect_values(recs, n):
    check(len(recs) == n, f"read {len(recs)} records, want {n}")
    for o, k, v in recs:
        check(v == b"value-%d" % o, f"offset {o} holds {v!r}")


def restart(c, node, how):
    c.signal(how, "broker", node)
    c.signal("start", "broker", node)
    wait_until(lambda: c.broker_states()[node] == "active", 30, f"broker {node} active")


with Cluster(name="brestart") as c:
    c.up()
    c.create_topic(TOPIC, partitions=1, rf=1)
    c.wait_leaders(TOPIC)
    node = c.leader_of(TOPIC)
    produce_many(c, 0, 5000)
    restart(c, node, "stop")
    expect_values(read_all(c), 5000)
    log("after SIGTERM and restart: 5000 records served")

    produce_many(c, 5000, 5000)
    restart(c, node, "kill")
    expect_values(read_all(c), 10000)
    log("after SIGKILL right after acks=1 produces: 10000 records served")

    # Flip bytes in the last batch of the active segment while the broker is
    # down after a crash, so recovery must scan.
    c.signal("kill", "broker", node)
    seg = sorted(glob.glob(os.path.join(c.node_dir("broker", node), "data", f"{TOPIC}-0",
                                        "*.log")))[-1]
    data = open(seg, "rb").read()
    batches = list(kw.parse_batches(data))
    last_base, last_end, last_recs = batches[-1]
    pos = 0
    for base, _, _ in batches[:-1]:
        length, = struct.unpack_from(">i", data, pos + 8)
        pos += 12 + length
    with open(seg, "r+b") as f:
        f.seek(pos + 70)
        f.write(bytes(b ^ 0x5A for b in data[pos + 70:pos + 80]))
    log(f"flipped 10 bytes in the batch at offset {last_base} (byte {pos}) of {seg}")
    c.signal("start", "broker", node)
    wait_until(lambda: c.broker_states()[node] == "active", 30, f"broker {node} active")
    recs = read_all(c)
    expect_values(recs, last_base)
    blog = open(c.log_path("broker", node)).read()
    check("truncat" in blog, "recovery did not log the truncation")
    # The log continues from the truncation point.
    offsets = produce_many(c, last_base, 100)
    check(offsets[0] == last_base, f"next append at {offsets[0]}, want {last_base}")
    log(f"corrupt tail truncated at offset {last_base}; {last_base} records served")
    log("ok")
