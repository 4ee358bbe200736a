"""Issue criterion 6: a batch with a wrong CRC gets CORRUPT_MESSAGE and is
not stored; a produce to a follower gets NOT_LEADER_OR_FOLLOWER and one to an
unknown topic (auto-creation off) UNKNOWN_TOPIC_OR_PARTITION; a frame claiming 2 GiB, a request above socket.request.max.bytes,
a truncated frame, an unknown API key, an unsupported version and random
bytes each close only that connection, with one log line naming the peer;
ApiVersions at an unknown version gets the KIP-511 answer; the broker keeps
serving everyone else."""
import os
import random
import socket
import struct

from harness import Cluster, check, log, wait_until
import kafka_wire as kw

CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_VERSION = 2, 10, 35
UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER = 3, 6

with Cluster(name="kbad", broker_config={"socket.request.max.bytes": 1 << 20,
                                         "message.max.bytes": 65536,
                                         "auto.create.topics.enable": "false"}) as c:
    c.up()
    c.create_topic("t", partitions=1, rf=1)
    c.wait_leaders("t")
    leader = c.leader_of("t")
    port = c.broker_port(leader)
    broker_log = c.log_path("broker", leader)
    good = kw.Conn("127.0.0.1", port)

    err, base = good.produce("t", 0, kw.batch([(b"k", b"v0"), (b"k", b"v1")]))
    check(err == 0 and base == 0, f"good produce: err {err} base {base}")

    # Wrong CRC: CORRUPT_MESSAGE, and nothing of the request is stored.
    bad = bytearray(kw.batch([(b"k", b"corrupt-me")]))
    bad[-3] ^= 0xFF
    err, _ = good.produce("t", 0, bytes(bad))
    check(err == CORRUPT_MESSAGE, f"corrupt batch got error {err}")
    two = kw.batch([(b"k", b"fine")]) + bytes(bad)
    err, _ = good.produce("t", 0, two)
    check(err == CORRUPT_MESSAGE, f"good+corrupt batches got error {err}")
    err, hw, data = good.fetch("t", 0, 0)
    recs = [r for _, _, rs in kw.parse_batches(data) for r in rs]
    check(err == 0 and hw == 2 and [v for _, _, v in recs] == [b"v0", b"v1"],
          f"after corrupt produces: err {err} hw {hw} records {recs}")
    # A batch above message.max.bytes.
    err, _ = good.produce("t", 0, kw.batch([(b"k", b"x" * 70000)]))
    check(err == MESSAGE_TOO_LARGE, f"oversized batch got error {err}")
    log("corrupt and oversized batches rejected, nothing stored")

    # Only the leader takes writes; an unknown topic is not created when
    # auto.create.topics.enable=false.
    c.create_topic("spread", partitions=3, rf=1)
    c.wait_leaders("spread")
    other = next(p["partition"] for p in c.describe("spread")["partitions"]
                 if p["leader"] != leader)
    err, _ = good.produce("spread", other, kw.batch([(b"k", b"v")]))
    check(err == NOT_LEADER_OR_FOLLOWER, f"produce to a follower got {err}")
    err, _ = good.produce("no-such-topic", 0, kw.batch([(b"k", b"v")]))
    check(err == UNKNOWN_TOPIC_OR_PARTITION, f"produce to an unknown topic got {err}")
    check("no-such-topic" not in c.topics(), "the unknown topic was created")
    log("NOT_LEADER_OR_FOLLOWER and UNKNOWN_TOPIC_OR_PARTITION as expected")

    # ApiVersions v99: the v0-shaped UNSUPPORTED_VERSION answer listing key 18.
    r = good.request(18, 99, b"")
    code, n = struct.unpack_from(">hi", r)
    keys = {struct.unpack_from(">hhh", r, 6 + 6 * i)[0] for i in range(n)}
    check(code == UNSUPPORTED_VERSION and 18 in keys and 0 in keys,
          f"ApiVersions v99 answered {code} with keys {sorted(keys)}")

    hdr = lambda key, ver: struct.pack(">hhi", key, ver, 7) + kw.kstring("abuse")
    cases = {
        "2 GiB frame": struct.pack(">I", 2 << 30) + b"\0" * 64,
        "above socket.request.max.bytes": struct.pack(">i", (1 << 20) + 1) + b"\0" * 64,
        "negative size": struct.pack(">i", -5) + b"\0" * 16,
        "unknown API key": (lambda f: struct.pack(">i", len(f)) + f)(hdr(9999, 0)),
        "unsupported Produce version": (lambda f: struct.pack(">i", len(f)) + f)(hdr(0, 99)),
        "truncated Metadata body": (lambda f: struct.pack(">i", len(f)) + f)(
            hdr(3, 1) + struct.pack(">i", 5) + b"\0\x03ab"),
        "random bytes": bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
    }
    for name, payload in cases.items():
        s = socket.create_connection(("127.0.0.1", port))
        local = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(payload)
        s.settimeout(5)
        try:
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        check(closed, f"connection not closed after {name}")
        s.close()
        line = wait_until(lambda: next((l for l in open(broker_log)
                                        if f"closing connection from {local}" in l), None),
                          5, f"a log line for {name}")
        log(f"{name}: closed; logged: {line.strip()}")
    # Truncated frame: announce 100 bytes, send 10 and hang up.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(struct.pack(">i", 100) + b"\0" * 10)
    s.close()

    # Everyone else is still served, on the same connection as before.
    err, base = good.produce("t", 0, kw.batch([(b"k", b"v2")]))
    check(err == 0 and base == 2, f"produce after abuse: err {err} base {base}")
    check(c.pids()[("broker", leader)] is not None, "the broker died")
    good.close()
    log("ok")
