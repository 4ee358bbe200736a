"""Chaos: hard bounce and pause of partition leaders under acks=all load
(RELIABILITY scenarios 1 and 11). RF 3, min.insync.replicas 2, a librdkafka
producer (acks=all, no idempotence, retries) writes numbered records into 3
partitions while the leader of partition 0 is SIGKILLed, left down past the
session timeout and restarted, then another leader is SIGSTOPped for 5 s
and resumed (several rounds with CAIRN_TEST_LONG=1). Afterwards, criterion
U: every confirmed record is read back at its confirmed offset, nothing
unsent, per-partition order; and R: once the ISRs are full and the log ends
equal, the cluster is stopped and the three replicas' segments are
compared batch by batch (offsets, epoch, CRC, bytes)."""
import time

from chaos import (LONG, Cluster, History, Producer, isr_full, leader_of, log, seeded, verify_all)

rng, seed = seeded("kill_and_pause")
history = History(seed)
TOPIC = "events"
PARTS = (0, 1, 2)
COUNT = 200_000 if LONG else 30_000
RATE = 3000 if LONG else 1200          # records/s: each round takes ~10 s
ROUNDS = 5 if LONG else 2


def wait_confirmed(prod, n, what):
    history.wait(lambda: prod.confirmed_count() >= n or prod.produced >= COUNT and
                 not prod.thread.is_alive(), 120, what, interval_s=0.1)


with Cluster(name="chaos-kill") as c:
    c.up()
    c.ctl("topic", "create", TOPIC, "--partitions", "3", "--replication-factor", "3",
          "--config", "min.insync.replicas=2")
    c.wait_leaders(TOPIC)
    history.wait(lambda: isr_full(c, TOPIC), 20, "full ISRs")
    history.event(f"producing {COUNT} records at ~{RATE}/s, {ROUNDS} fault round(s)")
    prod = Producer(c.bootstrap, TOPIC, len(PARTS), history, RATE, count=COUNT).start()

    for r in range(ROUNDS):
        base = COUNT * r // ROUNDS
        span = COUNT // ROUNDS
        wait_confirmed(prod, base + span // 6, "records confirmed before the kill")
        victim = leader_of(c, TOPIC, 0)
        history.fault(f"round {r}: SIGKILL broker {victim} (leader of partition 0)")
        c.signal("kill", "broker", victim)
        down_s = rng.uniform(2.0, 4.0)        # past broker.session.timeout.ms
        history.wait(lambda: leader_of(c, TOPIC, 0) not in (victim, None, -1), 20,
                     "a new leader for partition 0")
        history.event(f"round {r}: partition 0 now led by {leader_of(c, TOPIC, 0)}")
        time.sleep(max(0.0, down_s - 1.5))
        history.fault(f"round {r}: restarting broker {victim} after ~{down_s:.1f}s")
        c.signal("start", "broker", victim)
        history.wait(lambda: isr_full(c, TOPIC), 60, f"broker {victim} back in every ISR")
        history.event(f"round {r}: ISRs full again")

        wait_confirmed(prod, base + span // 2, "records confirmed before the pause")
        leaders = {p: leader_of(c, TOPIC, p) for p in PARTS}
        others = sorted({l for l in leaders.values() if l not in (victim, None, -1)})
        target = rng.choice(others) if others else rng.choice([n for n in (1, 2, 3)
                                                               if n != victim])
        led = [p for p, l in leaders.items() if l == target]
        history.fault(f"round {r}: SIGSTOP broker {target} (leader of {led}) for 5 s")
        c.signal("pause", "broker", target)
        time.sleep(5)
        history.fault(f"round {r}: SIGCONT broker {target}")
        c.signal("resume", "broker", target)
        history.wait(lambda: isr_full(c, TOPIC), 60, f"broker {target} back in every ISR")
        history.event(f"round {r}: ISRs full again")

    undelivered = prod.join()
    history.event(f"producer done: {prod.produced} sent, {len(history.confirmed)} confirmed, "
                  f"{len(history.failed)} failed, {undelivered} undelivered at flush")
    stats, counts = verify_all(c, history, TOPIC, PARTS)
    log(f"ok (seed {seed}): {stats['confirmed']} confirmed records at their offsets, "
        f"{stats['duplicates']} duplicates and {stats['reordered_by_retry']} records "
        f"reordered by client retries, "
        f"{stats['unconfirmed_present']} unconfirmed records present")
