"""Issue criterion 3: kafka-python and confluent-kafka (Debian packages,
/usr/bin/python3) produce and consume with explicit partition assignment;
ListOffsets by timestamp returns the right offsets; a fetch past the end
gets OFFSET_OUT_OF_RANGE and each client's reset policy behaves as with
Kafka (earliest, latest, and confluent-kafka's 'error')."""
import time

from compat import Cluster, check, log, wait_until

import confluent_kafka as ck
import kafka as kp
from kafka.structs import TopicPartition as KTP

N = 3000
PARTITIONS = 3


def kafka_python_produce(bootstrap, topic, base_ts):
    p = kp.KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    futures = []
    for i in range(N):
        futures.append(p.send(topic, key=b"kp-%d" % i, value=b"kafka-python %d" % i,
                              partition=i % PARTITIONS, timestamp_ms=base_ts + i,
                              headers=[("n", str(i).encode())]))
    p.flush(60)
    metas = [f.get(timeout=60) for f in futures]
    p.close()
    return metas


def kafka_python_consume(bootstrap, topic, partition, reset="earliest", seek=None, want=None):
    c = kp.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset=reset, consumer_timeout_ms=5000)
    tp = KTP(topic, partition)
    c.assign([tp])
    if seek is None:
        c.seek_to_beginning(tp)
    else:
        c.seek(tp, seek)
    out = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (want is None or len(out) < want):
        batch = c.poll(timeout_ms=1000)
        got = batch.get(tp, [])
        out.extend(got)
        if want is None and not got:
            break
    pos = c.position(tp)
    c.close()
    return out, pos


def confluent_produce(bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or (msg.partition(), msg.offset(), msg.key()))
    for i in range(N):
        p.produce(topic, key=b"ck-%d" % i, value=b"confluent %d" % i, partition=i % PARTITIONS,
                  headers=[("n", str(i).encode())], on_delivery=on_delivery)
        p.poll(0)
    check(p.flush(60) == 0, "confluent-kafka: messages left undelivered")
    check(not errors, f"confluent-kafka delivery errors: {errors[:3]}")
    return delivered


def confluent_consume(bootstrap, topic, partition, offset, reset="earliest", want=None):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-no-commits",
                     "enable.auto.commit": False, "auto.offset.reset": reset,
                     "enable.partition.eof": True})
    c.assign([ck.TopicPartition(topic, partition, offset)])
    out, errors = [], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                if want is None or len(out) >= want:
                    break
                continue
            errors.append(m.error())
            if reset == "error":
                break
            continue
        out.append(m)
    c.close()
    return out, errors


with Cluster(name="pyclients") as c:
    c.up()
    boot = c.bootstrap.split(",")
    c.create_topic("py", partitions=PARTITIONS, rf=3)
    c.wait_leaders("py")
    base_ts = int(time.time() * 1000) - 3600_000

    # kafka-python: produce with explicit partitions and timestamps, read back.
    metas = kafka_python_produce(boot, "py", base_ts)
    for i, m in enumerate(metas):
        check(m.partition == i % PARTITIONS and m.offset == i // PARTITIONS,
              f"kafka-python record {i} at {m.partition}/{m.offset}")
    for part in range(PARTITIONS):
        recs, _ = kafka_python_consume(boot, "py", part, want=N // PARTITIONS)
        check([r.offset for r in recs] == list(range(N // PARTITIONS)),
              f"kafka-python partition {part} offsets")
        for r in recs:
            i = r.offset * PARTITIONS + part
            check(r.key == b"kp-%d" % i and r.value == b"kafka-python %d" % i
                  and r.timestamp == base_ts + i and dict(r.headers) == {"n": str(i).encode()},
                  f"kafka-python record {i}: {r}")
    log(f"kafka-python: {N} records produced and read back")

    # ListOffsets by timestamp (both clients).
    kc = kp.KafkaConsumer(bootstrap_servers=boot, group_id=None)
    for i in (0, 1, 7, N // 2, N - 1):
        part = i % PARTITIONS
        tp = KTP("py", part)
        got = kc.offsets_for_times({tp: base_ts + i})[tp]
        check(got is not None and got.offset == i // PARTITIONS and got.timestamp == base_ts + i,
              f"kafka-python offsets_for_times({base_ts + i}) on {part}: {got}")
    future = kc.offsets_for_times({KTP("py", 0): base_ts + 10 * N})[KTP("py", 0)]
    check(future is None, f"a timestamp after every record found {future}")
    ends = kc.end_offsets([KTP("py", p) for p in range(PARTITIONS)])
    begins = kc.beginning_offsets([KTP("py", p) for p in range(PARTITIONS)])
    check(all(v == N // PARTITIONS for v in ends.values()), f"end offsets {ends}")
    check(all(v == 0 for v in begins.values()), f"beginning offsets {begins}")
    kc.close()
    cc = ck.Consumer({"bootstrap.servers": c.bootstrap, "group.id": "unused-no-commits"})
    times = cc.offsets_for_times([ck.TopicPartition("py", 1, base_ts + 4)], timeout=20)
    # Partition 1 holds records 1, 4, 7, ...: the first at or after base+4 is
    # record 4, at offset 1.
    check(times[0].offset == 1, f"confluent offsets_for_times: {times[0]}")
    lo, hi = cc.get_watermark_offsets(ck.TopicPartition("py", 2), timeout=20)
    check((lo, hi) == (0, N // PARTITIONS), f"confluent watermarks {lo}, {hi}")
    cc.close()
    log("ListOffsets by timestamp, earliest and latest: ok")

    # confluent-kafka: produce with explicit partitions, read back.
    c.create_topic("ck", partitions=PARTITIONS, rf=3)
    c.wait_leaders("ck")
    delivered = confluent_produce(c.bootstrap, "ck")
    check(len(delivered) == N, f"confluent delivered {len(delivered)}")
    for part in range(PARTITIONS):
        msgs, errors = confluent_consume(c.bootstrap, "ck", part, ck.OFFSET_BEGINNING,
                                         want=N // PARTITIONS)
        check(not errors, f"confluent consume errors: {errors[:3]}")
        check([m.offset() for m in msgs] == list(range(N // PARTITIONS)),
              f"confluent partition {part} offsets")
        for m in msgs:
            i = m.offset() * PARTITIONS + part
            check(m.key() == b"ck-%d" % i and m.value() == b"confluent %d" % i
                  and m.headers() == [("n", str(i).encode())], f"confluent record {i}")
    log(f"confluent-kafka: {N} records produced and read back")

    # Fetch past the end: OFFSET_OUT_OF_RANGE, then each reset policy.
    far = 10_000_000
    recs, pos = kafka_python_consume(boot, "py", 0, reset="earliest", seek=far,
                                     want=N // PARTITIONS)
    check(len(recs) == N // PARTITIONS and recs[0].offset == 0,
          f"kafka-python earliest reset read {len(recs)} from {recs[0].offset if recs else None}")
    recs, pos = kafka_python_consume(boot, "py", 0, reset="latest", seek=far)
    check(not recs and pos == N // PARTITIONS, f"kafka-python latest reset: {len(recs)} at {pos}")
    msgs, errors = confluent_consume(c.bootstrap, "ck", 1, far, reset="earliest",
                                     want=N // PARTITIONS)
    check(len(msgs) == N // PARTITIONS and msgs[0].offset() == 0,
          f"confluent earliest reset read {len(msgs)}")
    msgs, errors = confluent_consume(c.bootstrap, "ck", 1, far, reset="error")
    check(not msgs and errors and errors[0].code() == ck.KafkaError._AUTO_OFFSET_RESET,
          f"confluent 'error' reset: {errors}")
    log(f"out-of-range fetches reset as configured (confluent error: {errors[0]})")
    log("ok")
