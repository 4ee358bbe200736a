"""Issue 4, criterion 4: controlled shutdown (SIGTERM) of each broker in turn
under steady acks=all load: the broker hands its leaderships to in-sync
replicas before it exits, so the producer sees no failed delivery, and no
offset holds two records."""
import threading
import time

from harness import Cluster, check, log, wait_until
import kafka_wire as kw

import confluent_kafka as ck

TOPIC = "steady"
PARTITIONS = 3


def isr_full(c):
    parts = c.describe(TOPIC)["partitions"]
    return all(len(p["isr"]) == 3 and p["leader"] > 0 for p in parts)


with Cluster(name="cshut") as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", str(PARTITIONS), "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    p = ck.Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 5,
                     "message.timeout.ms": 60000, "retries": 1000000})
    confirmed, failed = {}, []
    stop = threading.Event()

    def on_delivery(err, msg):
        if err:
            failed.append(err)
        else:
            confirmed[(msg.partition(), msg.offset())] = msg.value()

    def produce_loop():
        i = 0
        while not stop.is_set():
            p.produce(TOPIC, value=b"v-%d" % i, partition=i % PARTITIONS, on_delivery=on_delivery)
            p.poll(0)
            i += 1
            if i % 200 == 0:
                time.sleep(0.05)            # a steady few thousand records/s
        p.flush(60)

    t = threading.Thread(target=produce_loop)
    t.start()
    for node in (1, 2, 3):
        time.sleep(1)
        before = len(confirmed)
        c.signal("stop", "broker", node)
        blog = open(c.log_path("broker", node)).read()
        check("controlled shutdown complete" in blog,
              f"broker {node} did not complete a controlled shutdown")
        c.signal("start", "broker", node)
        wait_until(lambda: isr_full(c), 30, f"a full ISR after restarting broker {node}")
        log(f"broker {node}: controlled shutdown and restart; {len(confirmed) - before} "
            f"records confirmed meanwhile, {len(failed)} failures")
    time.sleep(1)
    stop.set()
    t.join()
    check(not failed, f"{len(failed)} failed deliveries, e.g. {failed[:3]}")
    check(len(confirmed) > 1000, f"only {len(confirmed)} records confirmed")
    for part in range(PARTITIONS):
        conn = kw.Conn("127.0.0.1", c.broker_port(c.leader_of(TOPIC, part)))
        recs = {o: v for o, _, v in kw.fetch_all(conn, TOPIC, part)}
        conn.close()
        mine = {o: v for (pp, o), v in confirmed.items() if pp == part}
        bad = [o for o, v in mine.items() if recs.get(o) != v]
        check(not bad, f"partition {part}: {len(bad)} confirmed offsets hold other records, "
                       f"e.g. {bad[:5]}")
    log(f"{len(confirmed)} records confirmed, none failed, each at its confirmed offset")
    log("ok")
