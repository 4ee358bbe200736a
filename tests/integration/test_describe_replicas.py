"""cairnctl topic describe with the leaders' view (issue "Replication and
failover"): each partition's high watermark and log end offset and every
replica's lag, asked of the partition leaders over DescribeReplicas;
--under-replicated on 'topic describe' and 'topic list'; a leader that does
not answer leaves those fields out with a warning and never fails the
describe."""
import json
import subprocess

from harness import CAIRNCTL, Cluster, check, log, wait_until
import kafka_wire as kw

TOPIC = "lagging"
SPREAD = "spread"
N = 400            # records before the pause
M = 200            # records produced while a follower is paused


def produce(c, topic, start, count, acks=-1):
    conn = kw.Conn("127.0.0.1", c.broker_port(c.leader_of(topic)))
    for i in range(start, start + count, 20):
        recs = [(b"k%d" % j, b"value-%d" % j) for j in range(i, min(i + 20, start + count))]
        err, _ = conn.produce(topic, 0, kw.batch(recs), acks=acks)
        check(err == 0, f"produce at {i}: error {err}")
    conn.close()


def part0(c):
    return c.describe(TOPIC)["partitions"][0]


def lags(p):
    return {r["id"]: r["lag"] for r in p.get("replica_lag", [])}


def in_sync(p, hw):
    """p once its leader reports hw, every replica at lag 0 and a full ISR."""
    ok = (p.get("high_watermark") == hw and p.get("log_end_offset") == hw
          and sorted(lags(p)) == sorted(p["replicas"]) and all(v == 0 for v in lags(p).values())
          and sorted(p["isr"]) == sorted(p["replicas"]))
    return p if ok else None


def under_replicated(c):
    d = c.ctl_json("topic", "describe", TOPIC, "--under-replicated")
    listed = {t["name"] for t in c.ctl_json("topic", "list", "--under-replicated")["topics"]}
    return [p["partition"] for p in d["partitions"]], listed


# A long session timeout keeps a paused broker registered (unfenced), so the
# ISR shrinks through its leader's AlterPartition and a paused leader stays
# the controller's leader while cairnctl asks it.
with Cluster(name="describe", broker_config={"replica.lag.time.max.ms": 2000},
             controller_config={"broker.session.timeout.ms": 20000}) as c:
    c.up()
    brokers = c.ctl_json("broker", "list")["brokers"]
    want = {b["id"]: f"127.0.0.1:{c.base_port + 200 + b['id'] - 1}" for b in brokers}
    got = {b["id"]: b["replication_address"] for b in brokers}
    check(got == want, f"broker list replication addresses {got}, want {want}")
    log(f"broker list reports the replication listeners {sorted(got.values())}")

    c.ctl("topic", "create", TOPIC, "--partitions", "1", "--replication-factor", "3")
    c.ctl("topic", "create", SPREAD, "--partitions", "3", "--replication-factor", "3")
    c.wait_leaders(TOPIC)
    c.wait_leaders(SPREAD)
    produce(c, TOPIC, 0, N)
    p = wait_until(lambda: in_sync(part0(c), N), 20, f"high watermark {N} and lag 0 everywhere")
    log(f"after {N} records: high_watermark {p['high_watermark']}, replica_lag {p['replica_lag']}")

    # Every leader of a spread topic is asked at once; all answer.
    def spread_in_sync():
        qs = c.describe(SPREAD)["partitions"]
        return qs if all(in_sync(q, 0) for q in qs) else None
    parts = wait_until(spread_in_sync, 20, "every spread partition reported")
    log(f"'{SPREAD}': leaders {sorted({q['leader'] for q in parts})} all answered")

    human = c.ctl("topic", "describe", TOPIC)
    check(f"HighWatermark: {N}" in human.stdout and "ReplicaLag: " in human.stdout
          and human.stderr == "", f"human describe:\n{human.stdout}{human.stderr}")
    check(under_replicated(c) == ([], set()), f"under-replicated while in sync: {under_replicated(c)}")
    log("human output has HighWatermark/ReplicaLag; nothing under-replicated")

    # A paused follower: its lag grows, then the leader has the ISR shrunk.
    leader = p["leader"]
    follower = [r for r in p["replicas"] if r != leader][0]
    c.signal("pause", "broker", follower)
    produce(c, TOPIC, N, M, acks=1)
    p = wait_until(lambda: (lambda q: q if lags(q).get(follower) == M else None)(part0(c)), 10,
                   f"broker {follower}'s lag to reach {M}")
    log(f"broker {follower} paused, {M} more records: replica_lag {p['replica_lag']}")
    # The paused broker also follows the spread partitions, so they may be
    # listed too.
    wait_until(lambda: (lambda u: u[0] == [0] and TOPIC in u[1])(under_replicated(c)), 20,
               "--under-replicated to list the partition")
    p = part0(c)
    check(follower not in p["isr"] and p["high_watermark"] == N + M
          and lags(p)[follower] == M, f"after the shrink: {p}")
    log(f"ISR shrank to {p['isr']}: --under-replicated lists {TOPIC}-0 (topic list too), "
        f"high_watermark {p['high_watermark']}")

    c.signal("resume", "broker", follower)
    p = wait_until(lambda: in_sync(part0(c), N + M), 30, "lag 0 and a full ISR again")
    wait_until(lambda: under_replicated(c) == ([], set()), 10, "--under-replicated to be empty")
    log(f"broker {follower} resumed: replica_lag {p['replica_lag']}, nothing under-replicated")

    # A leader that does not answer: the controller's data, a warning, exit 0.
    c.signal("pause", "broker", leader)
    try:
        for args in (["--json"], []):
            r = subprocess.run([CAIRNCTL, "--timeout", "2000", "topic", "describe", TOPIC, *args],
                               env=c.env, capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, f"describe with a paused leader exited {r.returncode}: "
                  f"{r.stderr}")
            warn = [line for line in r.stderr.splitlines() if line]
            check(len(warn) == 1 and f"leader broker {leader} " in warn[0]
                  and "warning" in warn[0], f"stderr: {r.stderr!r}")
            if args:
                q = json.loads(r.stdout)["partitions"][0]
                check(q["leader"] == leader and "high_watermark" not in q
                      and "replica_lag" not in q and q["replicas"], f"json: {q}")
            else:
                check("HighWatermark: -" in r.stdout and "ReplicaLag: -" in r.stdout,
                      f"human: {r.stdout}")
        log(f"leader {leader} paused: describe exits 0 with the controller's data and "
            f"'{warn[0]}'")
    finally:
        c.signal("resume", "broker", leader)
    wait_until(lambda: in_sync(part0(c), N + M), 30, "the leader to answer again")
    log("ok")
