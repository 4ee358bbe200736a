"""Chaos: a follower returns below the leader's log start (retention moved
it while the follower was down). RF 3 topic with small segments and
retention.bytes, brokers applying retention every 200 ms; one follower is
stopped with SIGTERM, acks=all writes go on until the leader's log start is
past the follower's log end, then it is restarted. It must start over at
the leader's log start once (one "starting over" line, no error loop in its
server.log), catch up and rejoin the ISR with its log starting at the
leader's log start; after more writes and retention the replicas agree on
every batch they all hold (R) and every confirmed record from there on is
read back at its offset (U)."""
import os
import re
import time

from chaos import (LONG, Cluster, History, check, check_r, check_u, grep_log, isr_full, kw,
                   leader_of, log, log_end, log_size, produce_raw, read_partition,
                   report_and_fail, segments, seeded, wait_in_sync)

rng, seed = seeded("retention_catchup")
history = History(seed)
TOPIC = "ret"
SEGMENT = 16384
RETAIN = 65536
ROUNDS = 4 if LONG else 2
counter = [0]


def produce(c, batches):
    """acks=all batches of 20 records of ~200 bytes through the leader."""
    leader = leader_of(c, TOPIC)
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    for _ in range(batches):
        vals = [b"ret-%07d-" % (counter[0] + i) + b"x" * 188 for i in range(20)]
        counter[0] += 20
        err, _ = produce_raw(conn, history, TOPIC, 0, vals)
        check(err == 0, f"acks=all produce to {leader}: error {err}")
    conn.close()


def leader_start(c):
    leader = leader_of(c, TOPIC)
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    try:
        err, _, off = conn.list_offset(TOPIC, 0, -2)
        check(err == 0, f"ListOffsets earliest: error {err}")
        return off
    finally:
        conn.close()


def first_base(c, node):
    segs = segments(c, node, TOPIC, 0)
    return int(segs[0].rsplit("/", 1)[1][:20]) if segs else None


def settled_start(c):
    """The leader's log start once retention has nothing left to delete."""
    leader = leader_of(c, TOPIC)
    kept = lambda: sum(os.path.getsize(s) for s in segments(c, leader, TOPIC, 0))
    history.wait(lambda: kept() <= RETAIN + 2 * SEGMENT, 20, "retention to settle")
    time.sleep(0.5)
    return leader_start(c)


with Cluster(name="chaos-ret", broker_config={"log.retention.check.interval.ms": 200}) as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", "1", "--replication-factor", "3",
          "--config", "min.insync.replicas=2", "--config", f"segment.bytes={SEGMENT}",
          "--config", f"retention.bytes={RETAIN}")
    c.wait_leaders(TOPIC)
    history.wait(lambda: isr_full(c, TOPIC), 20, "a full ISR")
    produce(c, 30)
    wait_in_sync(c, history, TOPIC, [0])

    for r in range(ROUNDS):
        leader = leader_of(c, TOPIC)
        follower = rng.choice([n for n in (1, 2, 3) if n != leader])
        history.fault(f"round {r}: SIGTERM follower {follower}")
        c.signal("stop", "broker", follower)
        f_end = log_end(c, follower, TOPIC, 0)
        history.event(f"round {r}: broker {follower} stopped with log "
                      f"{first_base(c, follower)}..{f_end}; leader {leader} starts at "
                      f"{leader_start(c)}")
        n = 0
        while leader_start(c) <= f_end:
            check(n < 400, f"the leader's log start stays at {leader_start(c)}")
            produce(c, 10)
            n += 10
        produce(c, rng.randint(5, 30))
        start = settled_start(c)
        history.event(f"round {r}: {n}+ batches later the leader's log start is {start}, "
                      f"past the follower's end {f_end}")

        since = log_size(c, "broker", follower)
        history.fault(f"round {r}: restarting broker {follower}")
        c.signal("start", "broker", follower)
        wait_in_sync(c, history, TOPIC, [0])
        over = grep_log(c, "broker", follower, "below the leader's log start", since)
        history.event(f"round {r}: broker {follower}: " + " | ".join(
            ln.split("fetcher: ")[-1] for ln in over))
        check(len(over) == 1, f"broker {follower} started over {len(over)} times: {over}")
        m = re.search(r"offset (\d+) below the leader's log start (\d+)", over[0])
        check(m and int(m.group(1)) == f_end and int(m.group(2)) == start,
              f"broker {follower}: {over[0]}; expected offset {f_end} below {start}")
        noise = [ln for ln in grep_log(c, "broker", follower, "", since)
                 if (" WARN " in ln or " ERROR " in ln)]
        check(not noise, f"broker {follower} logged errors while catching up: {noise[:5]}")
        check(first_base(c, follower) == start,
              f"broker {follower}'s log starts at {first_base(c, follower)}, the leader's at "
              f"{start}")
        history.event(f"round {r}: broker {follower} caught up; its log starts at {start}")

        # Writes go on and retention goes on on every replica. (Each
        # replica deletes its own segments: their log starts need not stay
        # equal, they must agree on what they all hold.)
        produce(c, rng.randint(20, 40))
        settled_start(c)
        wait_in_sync(c, history, TOPIC, [0])
        history.event(f"round {r}: after more writes, log starts "
                      f"{ {n: first_base(c, n) for n in (1, 2, 3)} }, leader {leader_start(c)}")

    start = max(first_base(c, n) for n in (1, 2, 3))
    readback = {0: read_partition(c, TOPIC, 0, start=start)}
    problems, stats = check_u(history, readback, [0], log_start={0: start})
    log(f"read back {len(readback[0])} records from {start}; {stats}")
    if problems:
        report_and_fail(c, history, TOPIC, [0], problems, readback)
    c.script("down")
    history.event("cluster stopped cleanly; comparing the replicas' segments")
    problems, counts = check_r(c, TOPIC, [0], from_offset={0: start})
    if problems:
        report_and_fail(c, history, TOPIC, [0], problems, readback)
    log(f"replicas identical from {start}: {counts[0]} batches")
    log(f"ok (seed {seed})")
