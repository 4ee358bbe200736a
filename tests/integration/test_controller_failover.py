"""Issue criterion 2: SIGKILL of the leader controller elects a new leader
that serves admin RPC, and every acknowledged topic creation survives."""
import time

from harness import Cluster, check, log, wait_until

with Cluster(name="ctlfail") as c:
    c.up()
    acked = []
    for round_ in range(3):
        for i in range(5):
            name = f"t{round_}-{i}"
            c.create_topic(name, partitions=2, rf=3)
            acked.append(name)
        old = c.leader()
        log(f"round {round_}: killing leader controller {old}")
        t0 = time.monotonic()
        c.signal("kill", "controller", old)
        # First admin write on the new leader.
        c.create_topic(f"after-kill-{round_}", partitions=1, rf=1, timeout_ms=15000)
        took_ms = (time.monotonic() - t0) * 1000
        acked.append(f"after-kill-{round_}")
        new = c.leader()
        check(new != old, f"leader did not change: {old} -> {new}")
        log(f"new leader {new}; first write after kill in {took_ms:.0f} ms")
        missing = set(acked) - c.topics()
        check(not missing, f"acknowledged topics lost: {sorted(missing)}")
        c.signal("start", "controller", old)
        wait_until(lambda: all(v["role"] in ("leader", "follower")
                               for v in c.status()["controller"]["voters"]),
                   20, "the restarted controller to rejoin")
    log("ok")
