"""A long-poll Fetch (MinBytes not yet readable) is answered by MaxWaitMs
even when something wakes it first without making MinBytes readable: a
small produce wakes the parked fetch, it parks again, and its timer still
bounds the wait. The fetch then answers with what is there."""
import socket

from harness import Cluster, check, log
import kafka_wire as kw

TOPIC = "longpoll"

with Cluster(name="longpoll") as c:
    c.up()
    c.create_topic(TOPIC, partitions=1, rf=1)
    c.wait_leaders(TOPIC)
    port = c.broker_port(c.leader_of(TOPIC))
    producer = kw.Conn("127.0.0.1", port)
    err, _ = producer.produce(TOPIC, 0, kw.batch([(b"k", b"first")]))
    check(err == 0, f"first produce: error {err}")
    # Parks: offset 1 is the log end and 1 MiB will not arrive.
    consumer = kw.Conn("127.0.0.1", port, timeout=30)
    consumer.send_request(1, 4, kw.fetch_v4(TOPIC, 0, 1, max_wait_ms=1000, min_bytes=1 << 20))
    # Wakes the parked fetch with far fewer bytes than it asked for.
    err, _ = producer.produce(TOPIC, 0, kw.batch([(b"k", b"second")]))
    check(err == 0, f"second produce: error {err}")
    try:
        r = consumer.read_response()
    except socket.timeout:
        r = None
    check(r is not None, "the woken long-poll fetch was never answered (its MaxWaitMs timer "
                         "was lost when it parked again)")
    check(b"second" in r, "the fetch answer lacks the record that woke it")
    log("a woken long poll that parks again is still answered by MaxWaitMs")
    log("ok")
