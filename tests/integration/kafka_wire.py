"""A minimal Kafka wire client for tests that need exact bytes: hand-built
record batches (magic 2, CRC-32C), Produce v3, Fetch v4, ListOffsets v1,
Metadata v1 and ApiVersions v0, and raw frames for abuse tests. Real
clients (kcat, librdkafka, kafka-python) are used everywhere else."""
import socket
import struct
import time

# ---- CRC-32C (Castagnoli), table-driven -------------------------------------
_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---- varints -----------------------------------------------------------------
def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n: int) -> bytes:
    return uvarint((n << 1) ^ (n >> 63))


def read_varint(buf: bytes, pos: int):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return (result >> 1) ^ -(result & 1), pos


# ---- record batches ----------------------------------------------------------
def record(offset_delta: int, key, value, ts_delta=0, headers=()) -> bytes:
    body = bytearray()
    body += b"\x00"
    body += varint(ts_delta)
    body += varint(offset_delta)
    for field in (key, value):
        if field is None:
            body += varint(-1)
        else:
            body += varint(len(field)) + field
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + bytes(body)


def batch(records, base_ts=None, attributes=0) -> bytes:
    """records: list of (key, value) or (key, value, headers)."""
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    recs = b"".join(record(i, r[0], r[1], 0, r[2] if len(r) > 2 else ())
                    for i, r in enumerate(records))
    n = len(records)
    after_crc = struct.pack(">hiqqqhii", attributes, n - 1, base_ts, base_ts, -1, -1, -1, n) + recs
    crc = crc32c(after_crc)
    body = struct.pack(">ibI", -1, 2, crc) + after_crc        # epoch, magic, crc
    return struct.pack(">qi", 0, len(body)) + body


def parse_batches(data: bytes):
    """Yields (base_offset, last_offset, records[(offset, key, value)])."""
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            return                       # a partial trailing batch is allowed
        last_delta, = struct.unpack_from(">i", data, pos + 23)
        base_ts, = struct.unpack_from(">q", data, pos + 27)
        count, = struct.unpack_from(">i", data, pos + 57)
        attrs, = struct.unpack_from(">h", data, pos + 21)
        recs, rp = [], pos + 61
        if attrs & 7 == 0:
            for _ in range(count):
                length_r, rp = read_varint(data, rp)
                end = rp + length_r
                rp += 1
                _, rp = read_varint(data, rp)
                od, rp = read_varint(data, rp)
                kl, rp = read_varint(data, rp)
                key = None if kl < 0 else data[rp:rp + kl]
                rp += max(kl, 0)
                vl, rp = read_varint(data, rp)
                value = None if vl < 0 else data[rp:rp + vl]
                recs.append((base + od, key, value))
                rp = end
        yield base, base + last_delta, recs
        pos += 12 + length


def raw_batches(data: bytes):
    """Yields (base_offset, last_offset, partition_leader_epoch, crc, batch bytes)
    for each whole batch in data (a segment file or a fetch answer); a
    partial trailing batch is left out."""
    pos = 0
    while pos + 61 <= len(data):
        base, length, epoch = struct.unpack_from(">qii", data, pos)
        if length < 49 or pos + 12 + length > len(data):
            return
        crc, = struct.unpack_from(">I", data, pos + 17)
        last_delta, = struct.unpack_from(">i", data, pos + 23)
        yield base, base + last_delta, epoch, crc, data[pos:pos + 12 + length]
        pos += 12 + length


# ---- requests ----------------------------------------------------------------
def kstring(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def kbytes(b):
    if b is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(b)) + b


def header(api_key, version, corr, client_id="cairn-test"):
    return struct.pack(">hhi", api_key, version, corr) + kstring(client_id)


def produce_v3(topic, partition, records_bytes, acks=-1, timeout_ms=10000):
    return (kstring(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1)
            + kstring(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
            + kbytes(records_bytes))


def fetch_v4(topic, partition, offset, max_bytes=1 << 20, max_wait_ms=0, min_bytes=1):
    return (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0) + struct.pack(">i", 1)
            + kstring(topic) + struct.pack(">i", 1)
            + struct.pack(">iqi", partition, offset, max_bytes))


def list_offsets_v1(topic, partition, timestamp):
    return (struct.pack(">i", -1) + struct.pack(">i", 1) + kstring(topic)
            + struct.pack(">i", 1) + struct.pack(">iq", partition, timestamp))


def parse_produce(r):
    """(error_code, base_offset) of a one-partition Produce v3 answer."""
    pos = 4                                       # topic count
    tl, = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4                             # name, partition count
    _, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


class Conn:
    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def _recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed by the broker")
            out += chunk
        return bytes(out)

    def send_request(self, api_key, version, body: bytes):
        """Sends a request without waiting; read_response() gets its answer."""
        self.corr += 1
        frame = header(api_key, version, self.corr) + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)

    def read_response(self) -> bytes:
        size, = struct.unpack(">i", self._recv_exact(4))
        data = self._recv_exact(size)
        corr, = struct.unpack_from(">i", data)
        assert corr == self.corr, f"correlation id {corr} != {self.corr}"
        return data[4:]

    def request(self, api_key, version, body: bytes, expect_response=True) -> bytes:
        self.send_request(api_key, version, body)
        return self.read_response() if expect_response else b""

    def closed_by_peer(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    # -- decoded calls ----------------------------------------------------------
    def produce(self, topic, partition, records_bytes, acks=-1):
        """Returns (error_code, base_offset)."""
        return parse_produce(self.request(0, 3, produce_v3(topic, partition, records_bytes,
                                                            acks)))

    def fetch(self, topic, partition, offset, max_bytes=1 << 20, max_wait_ms=0):
        """Returns (error_code, high_watermark, log_start_offset?, records bytes)."""
        r = self.request(1, 4, fetch_v4(topic, partition, offset, max_bytes, max_wait_ms))
        pos = 4 + 4                               # throttle, topic count
        tl, = struct.unpack_from(">h", r, pos)
        pos += 2 + tl + 4
        _, err, hw, _lso = struct.unpack_from(">ihqq", r, pos)
        pos += 4 + 2 + 8 + 8
        n_aborted, = struct.unpack_from(">i", r, pos)
        pos += 4 + max(n_aborted, 0) * 16
        rl, = struct.unpack_from(">i", r, pos)
        pos += 4
        return err, hw, r[pos:pos + max(rl, 0)]

    def list_offset(self, topic, partition, timestamp):
        """Returns (error_code, timestamp, offset)."""
        r = self.request(2, 1, list_offsets_v1(topic, partition, timestamp))
        pos = 4
        tl, = struct.unpack_from(">h", r, pos)
        pos += 2 + tl + 4
        _, err, ts, off = struct.unpack_from(">ihqq", r, pos)
        return err, ts, off


def fetch_all(conn, topic, partition, start=0, end=None):
    """Every record from start up to the high watermark (or end)."""
    out, offset = [], start
    while True:
        err, hw, data = conn.fetch(topic, partition, offset)
        if err:
            raise RuntimeError(f"fetch error {err} at offset {offset}")
        limit = hw if end is None else min(hw, end)
        got = False
        for _, last, recs in parse_batches(data):
            for o, k, v in recs:
                if offset <= o < limit:
                    out.append((o, k, v))
            offset = max(offset, last + 1)
            got = True
        if offset >= limit or not got:
            return out


# ---- consumer groups: coordinator lookup and committed offsets ----------------
def java_string_hash(s: str) -> int:
    """Java's String.hashCode (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def group_partition(group: str, n: int) -> int:
    """The __consumer_offsets partition of a group, as Kafka picks it:
    Utils.abs(group.hashCode()) % n (abs(Integer.MIN_VALUE) is 0 there)."""
    h = java_string_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % n


def find_coordinator_v0(conn, group):
    """FindCoordinator v0: (error_code, node_id, host, port)."""
    r = conn.request(10, 0, kstring(group))
    err, node = struct.unpack_from(">hi", r)
    hl, = struct.unpack_from(">h", r, 6)
    host = r[8:8 + max(hl, 0)].decode()
    port, = struct.unpack_from(">i", r, 8 + max(hl, 0))
    return err, node, host, port


def offset_fetch_v1(conn, group, topic, partitions):
    """OffsetFetch v1 for one topic: {partition: (offset, metadata, error_code)}."""
    body = (kstring(group) + struct.pack(">i", 1) + kstring(topic)
            + struct.pack(">i", len(partitions))
            + b"".join(struct.pack(">i", p) for p in partitions))
    r = conn.request(9, 1, body)
    out, pos = {}, 0
    nt, = struct.unpack_from(">i", r, pos)
    pos += 4
    for _ in range(max(nt, 0)):
        tl, = struct.unpack_from(">h", r, pos)
        pos += 2 + tl
        np_, = struct.unpack_from(">i", r, pos)
        pos += 4
        for _ in range(max(np_, 0)):
            p, off, ml = struct.unpack_from(">iqh", r, pos)
            pos += 14
            meta = None if ml < 0 else r[pos:pos + ml].decode(errors="replace")
            pos += max(ml, 0)
            err, = struct.unpack_from(">h", r, pos)
            pos += 2
            out[p] = (off, meta, err)
    return out
