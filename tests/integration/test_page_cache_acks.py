"""Page-cache mode (log.flush.interval.messages > 1): acks=all is answered
once every in-sync replica has the batch in its log, not when an fsync
happens. A single-replica partition commits at once; three replicas commit
when the followers have fetched."""
from harness import Cluster, check, log
import kafka_wire as kw

with Cluster(name="pcacks", broker_config={"log.flush.interval.messages": 100000}) as c:
    c.up()
    for rf in (1, 3):
        topic = f"pc-rf{rf}"
        c.create_topic(topic, partitions=1, rf=rf)
        c.wait_leaders(topic)
        conn = kw.Conn("127.0.0.1", c.broker_port(c.leader_of(topic)))
        for i in range(20):
            err, base = conn.produce(topic, 0, kw.batch([(b"k", b"v%d" % i)]), acks=-1)
            check(err == 0 and base == i, f"RF={rf} produce {i}: error {err} base {base}")
        conn.close()
        log(f"RF={rf}: 20 acks=all produces answered without waiting for an fsync")
    log("ok")
