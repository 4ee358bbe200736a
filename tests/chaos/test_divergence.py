"""Chaos: log divergence and truncation at the epoch boundary (KIP-101 /
KIP-279, RELIABILITY scenarios 4 and 11). The leader takes acks=1 writes no
follower has fetched (the followers are held with SIGSTOP for a few
milliseconds so that none has a fetch outstanding, the leader is then
SIGSTOPped at once; repeated until the leader's log end is ahead of both
followers' files). The controller fences it after the session timeout and
elects a new leader; more acks=all records go through the new leader, at
the offsets the old leader holds alone. Once resumed, the old leader must
truncate to the new leader's epoch start (its server.log says so) and all
three replicas end byte-identical; every acks=all record is there, the
acks=1 records the old leader took alone may be gone. Produce requests
queued at the paused old leader are handled when it resumes, before it
learns of the new epoch: an acks=all one must fail, or survive."""
import os
import re
import signal
import time

from chaos import (LONG, Cluster, History, check, check_r, check_u, epoch_checkpoint, fail,
                   grep_log, isr_full, kw, leader_of, log, log_end, log_size, partitions_of,
                   pid_of, produce_raw, read_partition, report_and_fail, seeded,
                   wait_in_sync)

rng, seed = seeded("divergence")
history = History(seed)
TOPIC = "div"
ROUNDS = 5 if LONG else 3
BATCH = 20


def values(tag, n):
    return [b"%s-%06d" % (tag, i) for i in range(n)]


def produce_all(c, tag, batches):
    """acks=all batches through the current leader; all must succeed."""
    leader = leader_of(c, TOPIC)
    conn = kw.Conn("127.0.0.1", c.broker_port(leader))
    for b in range(batches):
        err, _ = produce_raw(conn, history, TOPIC, 0, values(b"%s-%d" % (tag, b), BATCH))
        check(err == 0, f"acks=all produce to leader {leader}: error {err}")
    conn.close()
    return leader


with Cluster(name="chaos-div") as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", "1", "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    history.wait(lambda: isr_full(c, TOPIC), 20, "a full ISR")
    produce_all(c, b"all-start", 25)
    wait_in_sync(c, history, TOPIC, [0])

    for r in range(ROUNDS):
        # 1. The leader alone takes acks=1 writes, then stops.
        for attempt in range(10):
            old = leader_of(c, TOPIC)
            followers = [n for n in (1, 2, 3) if n != old]
            old_epoch = partitions_of(c, TOPIC)[0]["leader_epoch"]
            conn = kw.Conn("127.0.0.1", c.broker_port(old))
            fpids = [pid_of(c, "broker", n) for n in followers]
            for p in fpids:
                os.kill(p, signal.SIGSTOP)
            try:
                err, _ = produce_raw(conn, history, TOPIC, 0,
                                     values(b"one-r%d-a%d-shared" % (r, attempt), BATCH), acks=1)
                check(err == 0, f"acks=1 produce: error {err}")
                for b in range(rng.randint(2, 4)):
                    err, _ = produce_raw(conn, history, TOPIC, 0,
                                         values(b"one-r%d-a%d-alone%d" % (r, attempt, b), BATCH),
                                         acks=1)
                    check(err == 0, f"acks=1 produce: error {err}")
                history.fault(f"round {r}: SIGSTOP leader {old} (epoch {old_epoch}) right after "
                              f"its acks=1 writes")
                os.kill(pid_of(c, "broker", old), signal.SIGSTOP)
            finally:
                for p in fpids:
                    os.kill(p, signal.SIGCONT)
            conn.close()
            time.sleep(0.4)                    # let the followers apply what they got
            ends = {n: log_end(c, n, TOPIC, 0) for n in (1, 2, 3)}
            history.event(f"round {r} attempt {attempt}: log ends in the files {ends}")
            if all(ends[old] > ends[f] for f in followers):
                break
            history.fault(f"round {r}: followers have it all; SIGCONT {old} and retry")
            c.signal("resume", "broker", old)
            wait_in_sync(c, history, TOPIC, [0])
        else:
            fail("the followers always had the leader's acks=1 writes (10 attempts)")
        alone_from = max(ends[f] for f in followers)

        # 2. The controller fences it and elects a new leader from the ISR.
        part = history.wait(lambda: (lambda p: p if p["leader"] not in (old, -1)
                                     and p["leader_epoch"] > old_epoch else None)(
                                         partitions_of(c, TOPIC)[0]), 20,
                            "a new leader after the session timeout")
        new, new_epoch = part["leader"], part["leader_epoch"]
        history.event(f"round {r}: broker {new} leads at epoch {new_epoch}, ISR {part['isr']}")

        # 3. More acks=all through the new leader, over the offsets the old
        # leader holds alone.
        produce_all(c, b"all-r%d" % r, 20)
        cp = epoch_checkpoint(c, new, TOPIC, 0) or []
        epoch_start = dict(cp).get(new_epoch)
        history.event(f"round {r}: 400 acks=all records through broker {new}; its epoch "
                      f"{new_epoch} starts at {epoch_start} (checkpoint {cp})")
        check(epoch_start == alone_from,
              f"the new leader's epoch {new_epoch} starts at {epoch_start}, expected its log "
              f"end {alone_from} at election")

        # 4. The old leader comes back and truncates at the epoch boundary.
        # Produce requests wait in its socket buffers, so it handles them
        # before it hears of the new epoch: it must not acknowledge the
        # acks=all one unless that record survives (checked with the rest).
        since = log_size(c, "broker", old)
        zombie = {}
        for acks in (-1, 1):
            zc = kw.Conn("127.0.0.1", c.broker_port(old), timeout=20)
            vals = values(b"zombie-r%d-acks%d" % (r, acks), BATCH)
            for v in vals:
                history.invoke(0, v, acks)
            zc.send_request(0, 3, kw.produce_v3(TOPIC, 0, kw.batch([(None, v) for v in vals]),
                                                acks=acks, timeout_ms=5000))
            zombie[acks] = (zc, vals)
        history.fault(f"round {r}: SIGCONT broker {old} with an acks=all and an acks=1 "
                      f"produce waiting in its sockets")
        c.signal("resume", "broker", old)
        for acks, (zc, vals) in zombie.items():
            try:
                err, base = kw.parse_produce(zc.read_response())
            except (OSError, ConnectionError) as e:
                err, base = f"no answer ({e})", -1
            zc.close()
            for i, v in enumerate(vals):
                if err == 0:
                    history.ok(0, base + i, v)
                else:
                    history.failure(0, v, err)
            history.event(f"round {r}: the resumed broker {old} answered the acks={acks} "
                          f"produce: error {err}, base offset {base}")
        pattern = re.compile(r"div-0: diverged from the leader at epoch (\d+) "
                             r"\(ends at (\d+) there\): truncating (\d+) -> (\d+)")
        lines = history.wait(lambda: grep_log(c, "broker", old, "div-0: diverged", since), 30,
                             f"broker {old} to log its truncation")
        m = pattern.search(lines[0])
        history.event(f"round {r}: broker {old}: {lines[0].split('fetcher: ')[-1]}")
        check(m is not None, f"unexpected truncation line: {lines[0]}")
        check(int(m.group(4)) == alone_from and int(m.group(3)) >= ends[old],
              f"broker {old} truncated {m.group(3)} -> {m.group(4)}, expected "
              f"{ends[old]} (or more) -> {alone_from}")
        wait_in_sync(c, history, TOPIC, [0])

    readback = {0: read_partition(c, TOPIC, 0)}
    problems, stats = check_u(history, readback, [0])
    ones = [v for v in history.acks]
    present = {v for _, v in readback[0]}
    alone = [v for v in ones if b"alone" in v]
    shared = [v for v in ones if b"shared" in v]
    zombies = [v for v in history.sent if v.startswith(b"zombie")]
    log(f"read back {len(readback[0])} records; {stats}; acks=1 records kept: "
        f"{sum(v in present for v in shared)}/{len(shared)} that the followers had, "
        f"{sum(v in present for v in alone)}/{len(alone)} the old leader held alone; "
        f"{sum(v in present for v in zombies)}/{len(zombies)} sent to the resumed old leader")
    if problems:
        report_and_fail(c, history, TOPIC, [0], problems, readback)

    c.script("down")
    history.event("cluster stopped cleanly; comparing the replicas' segments")
    problems, counts = check_r(c, TOPIC, [0])
    if problems:
        report_and_fail(c, history, TOPIC, [0], problems, readback)
    log(f"replicas byte-identical: {counts[0]} batches; epochs "
        f"{ {n: epoch_checkpoint(c, n, TOPIC, 0) for n in (1, 2, 3)} }")
    log(f"ok (seed {seed})")
