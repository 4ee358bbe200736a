"""Issue criterion 2: a million messages produced with kcat into a
6-partition topic come back with `kcat -C -e` byte-identical (compared as
sorted checksums), keys and headers intact — uncompressed and with each
codec: gzip, snappy, lz4, zstd. The broker stores the client's compressed
batches as they came."""
import hashlib
import os
import random
import time

from compat import Cluster, check, kcat, log

MESSAGES = int(os.environ.get("CAIRN_ROUNDTRIP_MESSAGES", "1000000"))
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
HEADERS = ["trace=abc123", "source=kcat"]


def make_input(n, seed):
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        key = f"key-{i % 5000:05d}"
        value = f"value-{i:07d}-{rng.getrandbits(96):024x}"
        lines.append(f"{key}\t{value}")
    return lines


def digest(lines):
    h = hashlib.sha256()
    for line in sorted(lines):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


with Cluster(name="kcat-rt") as c:
    c.up()
    for n_codec, codec in enumerate(CODECS):
        topic = f"roundtrip-{codec}"
        c.create_topic(topic, partitions=6, rf=3)
        c.wait_leaders(topic)
        lines = make_input(MESSAGES, n_codec)
        data = ("\n".join(lines) + "\n").encode()
        t0 = time.monotonic()
        args = ["-P", "-b", c.bootstrap, "-t", topic, "-K", "\t", "-X",
                f"compression.codec={codec}", "-X", "queue.buffering.max.messages=2000000",
                "-X", "linger.ms=20"]
        for h in HEADERS:
            args += ["-H", h]
        kcat(*args, input_bytes=data, timeout=600)
        produced_s = time.monotonic() - t0
        t0 = time.monotonic()
        out = kcat("-C", "-b", c.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                   "-f", "%k\t%s\t%h\n", timeout=600).stdout
        consumed_s = time.monotonic() - t0
        got = out.decode().splitlines()
        log(f"{codec}: {MESSAGES} produced in {produced_s:.1f}s, "
            f"{len(got)} consumed in {consumed_s:.1f}s")
        check(len(got) == MESSAGES, f"{codec}: consumed {len(got)} of {MESSAGES}")
        want = [f"{line}\t{','.join(HEADERS)}" for line in lines]
        check(digest(got) == digest(want), f"{codec}: consumed messages differ from produced")
        # Every partition got a share (the key hash spreads them).
        parts = c.describe(topic)["partitions"]
        check(len(parts) == 6, f"{codec}: partitions {parts}")
    log("ok")
