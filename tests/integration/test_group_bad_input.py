"""The group coordinator's answers to wrong and hostile group requests, sent
with exact bytes (kafka_wire.py) at the versions real clients use (JoinGroup
v2 from kafka-python and v5 from librdkafka, v3 and v4 between; SyncGroup,
Heartbeat and LeaveGroup v1, OffsetCommit v2, OffsetFetch v1):

- FindCoordinator names the leader of __consumer_offsets partition
  abs(javaHash(group)) % offsets.topic.num.partitions;
- a join/sync/heartbeat/leave cycle works at each JoinGroup version
  (MEMBER_ID_REQUIRED only from v4 on);
- Heartbeat for an unknown member id (known and unknown group) gets
  UNKNOWN_MEMBER_ID (25), and after LeaveGroup too; SyncGroup from an unknown
  member UNKNOWN_MEMBER_ID; JoinGroup with a member id the group does not
  know UNKNOWN_MEMBER_ID;
- a generation left behind by a real rebalance gets REBALANCE_IN_PROGRESS
  (27) during it and ILLEGAL_GENERATION (22) after it, in Heartbeat and in
  OffsetCommit;
- JoinGroup with session timeout 1 ms or above group.max.session.timeout.ms
  gets INVALID_SESSION_TIMEOUT (26); with no protocols or another protocol
  type than the group's INCONSISTENT_GROUP_PROTOCOL (23); with an empty
  group id INVALID_GROUP_ID (24);
- OffsetCommit for an unknown topic, or a partition the topic does not
  have, gets UNKNOWN_TOPIC_OR_PARTITION (3) for that partition while the
  valid one in the same request is stored (OffsetFetch returns it);
- every group request at a broker that is not the coordinator gets
  NOT_COORDINATOR (16);
- a JoinGroup with 2 MiB of protocol metadata and malformed JoinGroup and
  SyncGroup bodies get an error or a closed connection, never a crash or a
  hang, and every broker keeps serving (ApiVersions, Metadata and a new
  group on fresh connections)."""
import json
import struct

from harness import Cluster, check, fail, log, wait_until
import kafka_wire as kw

NONE, UNKNOWN_TOPIC_OR_PARTITION, COORDINATOR_NOT_AVAILABLE = 0, 3, 15
COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR = 14, 16
ILLEGAL_GENERATION, INCONSISTENT_GROUP_PROTOCOL, INVALID_GROUP_ID = 22, 23, 24
UNKNOWN_MEMBER_ID, INVALID_SESSION_TIMEOUT, REBALANCE_IN_PROGRESS = 25, 26, 27
MEMBER_ID_REQUIRED = 79
OFFSETS_PARTS = 6
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 300,
                 "offsets.topic.num.partitions": OFFSETS_PARTS}
TOPIC = "t"


# ---- encodings (non-flexible versions only) -----------------------------------
def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def array(items):
    return i32(len(items)) + b"".join(items)


def subscription(topics, user_data=None):
    """ConsumerProtocolSubscription v0."""
    return i16(0) + array([kw.kstring(t) for t in topics]) + kw.kbytes(user_data)


def assignment(parts):
    """ConsumerProtocolAssignment v0: {topic: [partitions]}."""
    return (i16(0) + array([kw.kstring(t) + array([i32(p) for p in ps])
                            for t, ps in parts.items()]) + kw.kbytes(None))


def join_group(version, group, member_id="", session_ms=10000, rebalance_ms=10000,
               protocol_type="consumer", protocols=None, instance_id=None):
    if protocols is None:
        protocols = [("range", subscription([TOPIC]))]
    body = kw.kstring(group) + i32(session_ms)
    if version >= 1:
        body += i32(rebalance_ms)
    body += kw.kstring(member_id)
    if version >= 5:
        body += kw.kstring(instance_id)
    body += kw.kstring(protocol_type)
    body += array([kw.kstring(n) + kw.kbytes(m) for n, m in protocols])
    return body


class Reader:
    def __init__(self, data):
        self.d, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.pos)
        self.pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self):
        n = self.take(">i")
        if n < 0:
            return None
        b = self.d[self.pos:self.pos + n]
        self.pos += n
        return b


def parse_join(version, r):
    rd = Reader(r)
    if version >= 2:
        rd.take(">i")                                     # throttle
    out = {"err": rd.take(">h"), "generation": rd.take(">i"), "protocol": rd.string(),
           "leader": rd.string(), "member_id": rd.string(), "members": []}
    for _ in range(rd.take(">i")):
        mid = rd.string()
        if version >= 5:
            rd.string()
        out["members"].append((mid, rd.bytes_()))
    return out


def sync_group_v1(group, generation, member_id, assignments):
    return (kw.kstring(group) + i32(generation) + kw.kstring(member_id)
            + array([kw.kstring(m) + kw.kbytes(a) for m, a in assignments]))


def heartbeat_v1(group, generation, member_id):
    return kw.kstring(group) + i32(generation) + kw.kstring(member_id)


def leave_group_v1(group, member_id):
    return kw.kstring(group) + kw.kstring(member_id)


def offset_commit_v2(group, generation, member_id, topics):
    """topics: {topic: {partition: offset}}."""
    return (kw.kstring(group) + i32(generation) + kw.kstring(member_id) + i64(-1)
            + array([kw.kstring(t) + array([i32(p) + i64(o) + kw.kstring("")
                                            for p, o in ps.items()])
                     for t, ps in topics.items()]))


def parse_offset_commit_v2(r):
    rd = Reader(r)
    out = {}
    for _ in range(rd.take(">i")):
        t = rd.string()
        for _ in range(rd.take(">i")):
            p, err = rd.take(">ih")
            out[(t, p)] = err
    return out


def parse_error_v1(r):
    """ThrottleTimeMs + ErrorCode (Heartbeat, LeaveGroup)."""
    return struct.unpack_from(">ih", r)[1]


def parse_sync_v1(r):
    rd = Reader(r)
    rd.take(">i")
    return rd.take(">h"), rd.bytes_()


def metadata_v1_brokers(conn):
    r = conn.request(3, 1, i32(-1))
    return struct.unpack_from(">i", r)[0]


# ---- helpers ---------------------------------------------------------------------
def offsets_leader(c, partition):
    """Leader of a __consumer_offsets partition; raises (never exits) while
    the topic does not exist yet."""
    p = c.ctl("topic", "describe", "__consumer_offsets", "--json", check_rc=False)
    if p.returncode != 0:
        raise RuntimeError(f"cairnctl topic describe __consumer_offsets: {p.stderr.strip()}")
    return next(x["leader"] for x in json.loads(p.stdout)["partitions"]
                if x["partition"] == partition)


def conn_to(c, node):
    return kw.Conn("127.0.0.1", c.broker_port(node), timeout=30)


def coordinator(c, group):
    """The coordinator's id, after FindCoordinator from every broker agrees
    with the leader of the group's __consumer_offsets partition."""
    def agreed():
        nodes = set()
        for n in (1, 2, 3):
            conn = conn_to(c, n)
            try:
                err, node, _, port = kw.find_coordinator_v0(conn, group)
            finally:
                conn.close()
            if err in (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS):
                return None
            check(err == NONE, f"FindCoordinator({group!r}) at broker {n}: error {err}")
            check(port == c.broker_port(node), f"FindCoordinator port {port} for node {node}")
            nodes.add(node)
        if len(nodes) != 1:
            return None
        part = kw.group_partition(group, OFFSETS_PARTS)
        leader = offsets_leader(c, part)
        return nodes.pop() if leader in nodes else None
    return wait_until(agreed, 60, f"FindCoordinator({group!r}) to name the leader of "
                      f"__consumer_offsets-{kw.group_partition(group, OFFSETS_PARTS)}")


def join(conn, version, group, **kwargs):
    """JoinGroup; from v4 on follows MEMBER_ID_REQUIRED with the given id."""
    res = parse_join(version, conn.request(11, version, join_group(version, group, **kwargs)))
    if version < 4:
        check(res["err"] != MEMBER_ID_REQUIRED, f"JoinGroup v{version} got MEMBER_ID_REQUIRED")
    elif res["err"] == MEMBER_ID_REQUIRED and not kwargs.get("member_id"):
        check(res["member_id"], "MEMBER_ID_REQUIRED without a member id")
        kwargs["member_id"] = res["member_id"]
        res = parse_join(version, conn.request(11, version,
                                               join_group(version, group, **kwargs)))
    return res


def heartbeat(conn, group, gen, member):
    return parse_error_v1(conn.request(12, 1, heartbeat_v1(group, gen, member)))


def sync(conn, group, gen, member, assignments=()):
    return parse_sync_v1(conn.request(14, 1, sync_group_v1(group, gen, member, assignments)))


def leave(conn, group, member):
    return parse_error_v1(conn.request(13, 1, leave_group_v1(group, member)))


def single_member(conn, version, group):
    """A one-member group through join and sync; returns (generation, member id)."""
    res = join(conn, version, group)
    check(res["err"] == NONE, f"JoinGroup v{version} {group}: error {res['err']}")
    me = res["member_id"]
    check(me and res["leader"] == me and res["generation"] >= 1,
          f"JoinGroup v{version}: member {me!r}, leader {res['leader']!r}, "
          f"generation {res['generation']}")
    check([m for m, _ in res["members"]] == [me]
          and res["members"][0][1] == subscription([TOPIC]),
          f"JoinGroup v{version}: the leader's member list {res['members']}")
    a = assignment({TOPIC: [0, 1]})
    err, got = sync(conn, group, res["generation"], me, [(me, a)])
    check(err == NONE and got == a, f"SyncGroup v1 {group}: error {err}, assignment {got!r}")
    return res["generation"], me


def serves(c, node, what):
    """ApiVersions v0, Metadata v1 and FindCoordinator on fresh connections."""
    check(c.pids().get(("broker", node)) is not None, f"broker {node} died after {what}")
    conn = conn_to(c, node)
    try:
        r = conn.request(18, 0, b"")
        check(struct.unpack_from(">h", r)[0] == NONE, f"ApiVersions after {what}")
        check(metadata_v1_brokers(conn) == 3, f"Metadata v1 after {what}")
        err, _, _, _ = kw.find_coordinator_v0(conn, "after-" + what.replace(" ", "-"))
        check(err in (NONE, COORDINATOR_LOAD_IN_PROGRESS), f"FindCoordinator after {what}: {err}")
    finally:
        conn.close()


def outcome(conn, timeout_s=30):
    """'closed', or ('answered', response bytes) for a request already sent;
    fails on silence (a hang)."""
    conn.sock.settimeout(timeout_s)
    try:
        return ("answered", conn.read_response())
    except (ConnectionError, ConnectionResetError, BrokenPipeError):
        return ("closed", None)
    except OSError as e:
        if "timed out" in str(e):
            fail(f"no answer and no close within {timeout_s}s")
        return ("closed", None)


with Cluster(name="group-bad", broker_config=BROKER_CONFIG) as c:
    c.up()
    c.create_topic(TOPIC, partitions=2, rf=3)
    c.wait_leaders(TOPIC)

    # FindCoordinator: the leader of the group's __consumer_offsets partition.
    G = "bad-input-group"
    coord = coordinator(c, G)
    others = [n for n in (1, 2, 3) if n != coord]
    log(f"coordinator of {G!r} is broker {coord}, leader of __consumer_offsets-"
        f"{kw.group_partition(G, OFFSETS_PARTS)}; FindCoordinator agrees at every broker")

    # A whole cycle at each JoinGroup version, and the errors of a lone member.
    for v in (2, 3, 4, 5):
        g = f"{G}-v{v}"
        conn = conn_to(c, coordinator(c, g))
        gen, me = single_member(conn, v, g)
        check(heartbeat(conn, g, gen, me) == NONE, f"v{v}: Heartbeat of the member")
        err = heartbeat(conn, g, gen, "no-such-member")
        check(err == UNKNOWN_MEMBER_ID, f"v{v}: Heartbeat from an unknown member: {err}")
        err = heartbeat(conn, g, gen + 1, me)
        check(err == ILLEGAL_GENERATION, f"v{v}: Heartbeat with generation {gen + 1}: {err}")
        err, _ = sync(conn, g, gen, "no-such-member")
        check(err == UNKNOWN_MEMBER_ID, f"v{v}: SyncGroup from an unknown member: {err}")
        res = parse_join(v, conn.request(11, v, join_group(v, g, member_id="no-such-member")))
        check(res["err"] == UNKNOWN_MEMBER_ID,
              f"v{v}: JoinGroup with an unknown member id: {res['err']}")
        check(leave(conn, g, me) == NONE, f"v{v}: LeaveGroup")
        err = heartbeat(conn, g, gen, me)
        check(err == UNKNOWN_MEMBER_ID, f"v{v}: Heartbeat after LeaveGroup: {err}")
        conn.close()
        log(f"JoinGroup v{v}: join, sync, heartbeat, leave; unknown member 25 (Heartbeat, "
            f"SyncGroup, JoinGroup), wrong generation 22, after leaving 25")

    conn = conn_to(c, coordinator(c, "never-seen-group"))
    err = heartbeat(conn, "never-seen-group", 1, "no-such-member")
    check(err == UNKNOWN_MEMBER_ID, f"Heartbeat for a group that does not exist: {err}")
    conn.close()
    log("Heartbeat in a group that does not exist: UNKNOWN_MEMBER_ID")

    # Session timeouts outside [group.min.session.timeout.ms, max], protocols.
    sconn = conn_to(c, coordinator(c, G + "-session"))
    pconn = conn_to(c, coordinator(c, G + "-noproto"))
    for v in (2, 5):
        for ms in (1, 1_800_001):
            res = join(sconn, v, G + "-session", session_ms=ms)
            check(res["err"] == INVALID_SESSION_TIMEOUT,
                  f"JoinGroup v{v} with session timeout {ms} ms: error {res['err']}")
        res = join(pconn, v, G + "-noproto", protocols=[])
        check(res["err"] == INCONSISTENT_GROUP_PROTOCOL,
              f"JoinGroup v{v} without protocols: error {res['err']}")
    sconn.close()
    pconn.close()
    log("session timeouts 1 ms and 1800001 ms: INVALID_SESSION_TIMEOUT; no protocols: "
        "INCONSISTENT_GROUP_PROTOCOL")
    empty_coord = offsets_leader(c, kw.group_partition("", OFFSETS_PARTS))
    conn = conn_to(c, empty_coord)
    res = join(conn, 2, "")
    check(res["err"] == INVALID_GROUP_ID, f"JoinGroup with an empty group id: {res['err']}")
    conn.close()
    log("empty group id: INVALID_GROUP_ID")

    # A real rebalance leaves generation g1 behind.
    a_conn, b_conn = conn_to(c, coord), conn_to(c, coord)
    g1, a_id = single_member(a_conn, 2, G)
    b_conn.send_request(11, 2, join_group(2, G))           # B joins: a rebalance starts
    err = wait_until(lambda: (lambda e: e if e == REBALANCE_IN_PROGRESS else None)(
        heartbeat(a_conn, G, g1, a_id)), 30, "Heartbeat to answer REBALANCE_IN_PROGRESS")
    r = offset_commit_v2(G, g1, a_id, {TOPIC: {0: 5}})
    errs = parse_offset_commit_v2(a_conn.request(8, 2, r))
    log(f"during the rebalance: Heartbeat REBALANCE_IN_PROGRESS, OffsetCommit of the old "
        f"generation {errs}")
    a_res = parse_join(2, a_conn.request(11, 2, join_group(2, G, member_id=a_id)))
    b_res = parse_join(2, b_conn.read_response())
    check(a_res["err"] == NONE and b_res["err"] == NONE,
          f"rejoin: A error {a_res['err']}, B error {b_res['err']}")
    g2 = a_res["generation"]
    check(g2 > g1 and b_res["generation"] == g2, f"generations {g1} -> A {g2}, B "
          f"{b_res['generation']}")
    b_id = b_res["member_id"]
    leader = a_res["leader"]
    check(leader in (a_id, b_id) and b_res["leader"] == leader, f"leader {leader!r}")
    lconn, fconn = (a_conn, b_conn) if leader == a_id else (b_conn, a_conn)
    fid = b_id if leader == a_id else a_id
    members = (a_res if leader == a_id else b_res)["members"]
    check(sorted(m for m, _ in members) == sorted([a_id, b_id]),
          f"the leader's member list {members}")
    fconn.send_request(14, 1, sync_group_v1(G, g2, fid, []))   # waits for the leader
    assign = {a_id: assignment({TOPIC: [0]}), b_id: assignment({TOPIC: [1]})}
    err, got = parse_sync_v1(lconn.request(14, 1, sync_group_v1(G, g2, leader,
                                                                list(assign.items()))))
    check(err == NONE and got == assign[leader], f"leader SyncGroup: {err} {got!r}")
    err, got = parse_sync_v1(fconn.read_response())
    check(err == NONE and got == assign[fid], f"follower SyncGroup: {err} {got!r}")
    check(heartbeat(a_conn, G, g2, a_id) == NONE, "Heartbeat in the new generation")
    err = heartbeat(a_conn, G, g1, a_id)
    check(err == ILLEGAL_GENERATION, f"Heartbeat with the old generation {g1}: {err}")
    errs = parse_offset_commit_v2(a_conn.request(8, 2, offset_commit_v2(G, g1, a_id,
                                                                        {TOPIC: {0: 7}})))
    check(errs == {(TOPIC, 0): ILLEGAL_GENERATION},
          f"OffsetCommit with the old generation {g1}: {errs}")
    log(f"rebalance {g1} -> {g2}: old generation gets ILLEGAL_GENERATION (Heartbeat, "
        f"OffsetCommit); both members synced their assignments")

    # A different protocol type from the group's members.
    conn = conn_to(c, coord)
    res = join(conn, 2, G, protocol_type="connect")
    conn.close()
    check(res["err"] == INCONSISTENT_GROUP_PROTOCOL,
          f"JoinGroup with protocol type 'connect' into a consumer group: {res['err']}")
    log("another protocol type than the group's: INCONSISTENT_GROUP_PROTOCOL")

    # OffsetCommit: unknown topic and partition per partition; the valid one stored.
    r = offset_commit_v2(G, g2, a_id, {TOPIC: {0: 42, 99: 1}, "no-such-topic": {0: 3, 1: 4}})
    errs = parse_offset_commit_v2(a_conn.request(8, 2, r))
    want = {(TOPIC, 0): NONE, (TOPIC, 99): UNKNOWN_TOPIC_OR_PARTITION,
            ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION,
            ("no-such-topic", 1): UNKNOWN_TOPIC_OR_PARTITION}
    check(errs == want, f"OffsetCommit with unknown topic/partition: {errs}, want {want}")
    got = kw.offset_fetch_v1(a_conn, G, TOPIC, [0])
    check(got[0][0] == 42 and got[0][2] == NONE, f"OffsetFetch after the commit: {got}")
    log("OffsetCommit: unknown topic and partition get UNKNOWN_TOPIC_OR_PARTITION, the "
        "valid partition is stored (OffsetFetch 42)")

    # NOT_COORDINATOR from the other brokers.
    for n in others:
        conn = conn_to(c, n)
        res = join(conn, 2, G)
        check(res["err"] == NOT_COORDINATOR, f"JoinGroup v2 at broker {n}: {res['err']}")
        res = join(conn, 5, G)
        check(res["err"] == NOT_COORDINATOR, f"JoinGroup v5 at broker {n}: {res['err']}")
        err = heartbeat(conn, G, g2, a_id)
        check(err == NOT_COORDINATOR, f"Heartbeat at broker {n}: {err}")
        err, _ = sync(conn, G, g2, a_id)
        check(err == NOT_COORDINATOR, f"SyncGroup at broker {n}: {err}")
        errs = parse_offset_commit_v2(conn.request(8, 2, offset_commit_v2(
            G, g2, a_id, {TOPIC: {0: 50}})))
        check(errs == {(TOPIC, 0): NOT_COORDINATOR}, f"OffsetCommit at broker {n}: {errs}")
        got = kw.offset_fetch_v1(conn, G, TOPIC, [0])
        check(got[0][2] == NOT_COORDINATOR, f"OffsetFetch v1 at broker {n}: {got}")
        err = leave(conn, G, a_id)
        check(err == NOT_COORDINATOR, f"LeaveGroup at broker {n}: {err}")
        conn.close()
    check(heartbeat(a_conn, G, g2, a_id) == NONE, "the member is still in the group")
    log(f"brokers {others}: NOT_COORDINATOR for JoinGroup v2/v5, Heartbeat, SyncGroup, "
        f"OffsetCommit, OffsetFetch and LeaveGroup; the member is unaffected")
    for cn, mid in ((a_conn, a_id), (b_conn, b_id)):
        leave(cn, G, mid)
        cn.close()

    # 2 MiB of protocol metadata.
    HG = G + "-huge"
    hcoord = coordinator(c, HG)
    conn = conn_to(c, hcoord)
    big = subscription([TOPIC], user_data=b"\xab" * (2 << 20))
    conn.send_request(11, 5, join_group(5, HG, protocols=[("range", big)]))
    kind, r = outcome(conn)
    if kind == "answered":
        res = parse_join(5, r)
        if res["err"] == MEMBER_ID_REQUIRED:
            conn.send_request(11, 5, join_group(5, HG, member_id=res["member_id"],
                                                protocols=[("range", big)]))
            kind, r = outcome(conn)
            res = parse_join(5, r) if kind == "answered" else None
    what = "closed the connection" if kind == "closed" else f"answered error {res['err']}"
    if kind == "answered" and res["err"] == NONE:
        # Accepted: the group state must still be handled (Kafka fails the
        # SyncGroup when the group record exceeds the offsets topic's limit).
        conn.send_request(14, 1, sync_group_v1(HG, res["generation"], res["member_id"],
                                               [(res["member_id"], assignment({TOPIC: [0]}))]))
        k2, r2 = outcome(conn)
        what += (f"; SyncGroup {'closed' if k2 == 'closed' else 'error ' + str(parse_sync_v1(r2)[0])}")
        if k2 == "answered":
            leave(conn, HG, res["member_id"])
    conn.close()
    for n in (1, 2, 3):
        serves(c, n, "a 2 MiB JoinGroup")
    log(f"JoinGroup v5 with 2 MiB of metadata: {what}; every broker still serves")

    # Malformed bodies: each gets an error or a closed connection.
    MG = G + "-malformed"
    mcoord = coordinator(c, MG)
    good = join_group(2, MG)
    cases = {
        "JoinGroup cut in the protocol list": (11, 2, good[:-7]),
        "JoinGroup with protocol count -7": (11, 2, join_group(2, MG, protocols=[])[:-4]
                                             + i32(-7)),
        "JoinGroup with 2^31-1 protocols": (11, 2, join_group(2, MG, protocols=[])[:-4]
                                            + i32(0x7FFFFFFF)),
        "JoinGroup metadata length 1 GiB": (11, 2, join_group(2, MG, protocols=[])[:-4]
                                            + i32(1) + kw.kstring("range") + i32(1 << 30)
                                            + b"\0" * 16),
        "JoinGroup group id longer than the body": (11, 2, i16(3000) + b"abc"),
        "JoinGroup v5 with no body": (11, 5, b""),
        "SyncGroup with 2^31-1 assignments": (14, 1, kw.kstring(MG) + i32(1)
                                              + kw.kstring("m") + i32(0x7FFFFFFF)),
        "Heartbeat cut after the group id": (12, 1, kw.kstring(MG)),
        "OffsetCommit with partition count -3": (8, 2, kw.kstring(MG) + i32(-1)
                                                 + kw.kstring("") + i64(-1) + i32(1)
                                                 + kw.kstring(TOPIC) + i32(-3)),
    }
    for name, (key, ver, body) in cases.items():
        conn = conn_to(c, mcoord)
        conn.send_request(key, ver, body)
        kind, r = outcome(conn)
        conn.close()
        desc = "closed" if kind == "closed" else f"answered ({len(r)} bytes)"
        if kind == "answered" and key in (11, 12, 14):
            code = struct.unpack_from(">h", r, 4)[0]       # after ThrottleTimeMs
            check(code != NONE, f"{name}: answered with no error")
            desc = f"error {code}"
        serves(c, mcoord, name)
        log(f"{name}: {desc}; the broker still serves")

    # After all of it, a new group still works on every broker's groups.
    for n in (1, 2, 3):
        serves(c, n, "the malformed requests")
    NG = G + "-after"
    conn = conn_to(c, coordinator(c, NG))
    gen, me = single_member(conn, 5, NG)
    check(heartbeat(conn, NG, gen, me) == NONE, "a new group's heartbeat")
    check(leave(conn, NG, me) == NONE, "a new group's LeaveGroup")
    conn.close()
    log("a new group joins, syncs and heartbeats after all of it")
    log("ok")
