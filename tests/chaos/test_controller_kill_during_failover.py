"""Chaos: the active controller dies while a broker failover is in progress
(RELIABILITY scenario 2 with a leader hard bounce). Under acks=all load from
librdkafka, each round SIGKILLs the leader broker of a partition and,
~immediately after (0-300 ms, or around the broker's session expiry at
1.5 s), the Raft leader of the controller quorum (found with
`cairnctl cluster status --json`). The new controller leader must finish
the failover: every partition ends with exactly one leader, in describe and
among the brokers themselves (exactly one answers ListOffsets as the
leader), never the dead broker. After restarting both and healing, no
confirmed acks=all record is lost (criterion U) and the replicas agree (R)."""
import os
import signal
import time

from chaos import (LONG, Cluster, History, Producer, claimed_leaders, isr_full, log,
                   partitions_of, pid_of, seeded, status_of, verify_all)

rng, seed = seeded("controller_kill_during_failover")
history = History(seed)
TOPIC = "failover"
PARTS = (0, 1, 2)
ROUNDS = 8 if LONG else 6
RATE = 1500


def settled(c, dead):
    """The partitions once each has exactly one leader, a live broker, that
    is also the only broker claiming it; None before."""
    st = status_of(c)
    if not st["controller"].get("leader"):
        return None
    parts = partitions_of(c, TOPIC)
    live = [n for n in (1, 2, 3) if n not in dead]
    for p in PARTS:
        leader = parts[p]["leader"]
        if leader not in live or claimed_leaders(c, TOPIC, p, live) != [leader]:
            return None
    return parts


with Cluster(name="chaos-ctlkill") as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", "3", "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    history.wait(lambda: isr_full(c, TOPIC), 20, "full ISRs")
    history.event(f"producing at ~{RATE}/s, {ROUNDS} round(s)")
    prod = Producer(c.bootstrap, TOPIC, len(PARTS), history, RATE).start()
    history.wait(lambda: prod.confirmed_count() >= 1000, 60, "first confirmed records")

    for r in range(ROUNDS):
        parts = partitions_of(c, TOPIC)
        victim = parts[PARTS[r % len(PARTS)]]["leader"]
        led = [p for p, x in parts.items() if x["leader"] == victim]
        ctl = status_of(c)["controller"]["leader"]
        bpid, cpid = pid_of(c, "broker", victim), pid_of(c, "controller", ctl)
        # Even rounds: right after the broker's death, before its session
        # expires; odd rounds: around the expiry (1500 ms), while the fence
        # and the new leaderships are being committed.
        gap = rng.uniform(0.0, 0.3) if r % 2 == 0 else rng.uniform(1.2, 1.9)
        history.fault(f"round {r}: SIGKILL broker {victim} (leader of {led})")
        os.kill(bpid, signal.SIGKILL)
        time.sleep(gap)
        history.fault(f"round {r}: SIGKILL controller {ctl} (Raft leader) {gap * 1000:.0f} ms "
                      f"later")
        os.kill(cpid, signal.SIGKILL)
        parts = history.wait(lambda: settled(c, {victim}), 45,
                             "exactly one live leader per partition after the failover",
                             interval_s=0.2)
        history.event(f"round {r}: controller leader {status_of(c)['controller']['leader']}; "
                      f"leaders {[(p, x['leader'], x['leader_epoch']) for p, x in parts.items()]}")
        history.fault(f"round {r}: restarting controller {ctl} and broker {victim}")
        c.signal("start", "controller", ctl)
        c.signal("start", "broker", victim)
        history.wait(lambda: isr_full(c, TOPIC), 60, "full ISRs again")
        history.event(f"round {r}: ISRs full again")
        time.sleep(rng.uniform(0.5, 1.5))

    prod.stop()
    undelivered = prod.join()
    history.event(f"producer done: {prod.produced} sent, {len(history.confirmed)} confirmed, "
                  f"{len(history.failed)} failed, {undelivered} undelivered at flush")
    parts = history.wait(lambda: settled(c, set()), 30, "exactly one leader per partition")
    log(f"leaders: {[(p, x['leader'], x['leader_epoch'], x['isr']) for p, x in parts.items()]}")
    stats, counts = verify_all(c, history, TOPIC, PARTS)
    log(f"ok (seed {seed}): {stats['confirmed']} confirmed records at their offsets")
