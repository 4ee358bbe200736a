"""Issue criterion 5: a topic with small segments and retention.ms /
retention.bytes drops old segments and advances the log start offset while
producing continues; fetches below the log start get OFFSET_OUT_OF_RANGE."""
import glob
import os
import time

from harness import Cluster, check, log, wait_until
import kafka_wire as kw

OFFSET_OUT_OF_RANGE = 1


def segments(c, node, topic):
    return sorted(glob.glob(os.path.join(c.node_dir("broker", node), "data", f"{topic}-0",
                                         "*.log")))


def produce_for(conn, topic, seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        recs = [(None, b"x" * 200) for _ in range(20)]
        err, _ = conn.produce(topic, 0, kw.batch(recs), acks=1)
        check(err == 0, f"produce to {topic}: {err}")
        n += 20
    return n


with Cluster(name="retention", broker_config={"log.retention.check.interval.ms": 200}) as c:
    c.up()
    c.ctl("topic", "create", "by-bytes", "--partitions", "1", "--replication-factor", "1",
          "--config", "segment.bytes=16384", "--config", "retention.bytes=65536")
    c.ctl("topic", "create", "by-time", "--partitions", "1", "--replication-factor", "1",
          "--config", "segment.bytes=16384", "--config", "retention.ms=1500")
    for topic in ("by-bytes", "by-time"):
        c.wait_leaders(topic)
        node = c.leader_of(topic)
        conn = kw.Conn("127.0.0.1", c.broker_port(node))
        n = produce_for(conn, topic, 4)
        err, _, earliest = conn.list_offset(topic, 0, -2)
        check(err == 0, f"{topic}: ListOffsets earliest error {err}")
        _, _, latest = conn.list_offset(topic, 0, -1)
        check(latest == n, f"{topic}: latest {latest}, produced {n}")
        wait_until(lambda: conn.list_offset(topic, 0, -2)[2] > 0, 10,
                   f"{topic}: the log start offset to advance")
        start = conn.list_offset(topic, 0, -2)[2]
        segs = segments(c, node, topic)
        log(f"{topic}: {n} records produced; log start {start}, {len(segs)} segments left")
        check(int(os.path.basename(segs[0])[:20]) == start,
              f"{topic}: first segment {segs[0]} does not start at the log start {start}")
        if topic == "by-bytes":
            # Retention runs every 200 ms: once production stops, the next
            # run brings the partition under retention.bytes plus the active
            # segment.
            kept = lambda: sum(os.path.getsize(s) for s in segments(c, node, topic))
            wait_until(lambda: kept() <= 65536 + 2 * 16384, 10,
                       f"{topic}: at most retention.bytes kept")
            log(f"{topic}: {kept()} bytes kept")
        # Producing goes on, and reading below the log start is out of range.
        produce_for(conn, topic, 1)
        err, _, _ = conn.fetch(topic, 0, 0)
        check(err == OFFSET_OUT_OF_RANGE, f"{topic}: fetch at 0 got {err}")
        err, _, data = conn.fetch(topic, 0, start)
        check(err in (0, OFFSET_OUT_OF_RANGE), f"{topic}: fetch at log start got {err}")
        conn.close()
    log("ok")
