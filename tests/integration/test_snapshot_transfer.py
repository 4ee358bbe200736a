"""Snapshots in real processes: with a tiny snapshot threshold the leader
snapshots and truncates its log while one controller is down; restarted, that
controller is behind the leader's log start, receives the snapshot, catches
up, and later leads with every topic intact."""
import glob
import os

from harness import Cluster, check, log, wait_until

with Cluster(name="snapshot") as c:
    c.env["CAIRN_CONTROLLER_CONFIG"] = "metadata.snapshot.max.new.record.bytes=1024"
    c.up()
    leader = c.leader()
    lagger = next(i for i in (1, 2, 3) if i != leader)
    c.signal("stop", "controller", lagger)
    names = [f"snap-{i:03d}" for i in range(80)]
    for n in names:
        c.create_topic(n, partitions=3, rf=3)
    leader_dir = os.path.join(c.node_dir("controller", c.leader()), "metadata", "raft")
    snaps = glob.glob(os.path.join(leader_dir, "*.snapshot"))
    check(snaps, f"leader wrote no snapshot in {leader_dir}")
    first_segment = min(os.path.basename(p) for p in glob.glob(os.path.join(leader_dir, "*.log")))
    check(int(first_segment.split(".")[0]) > 1, f"leader log not truncated: {first_segment}")
    log(f"leader snapshots: {[os.path.basename(s) for s in snaps]}; first segment {first_segment}")

    c.signal("start", "controller", lagger)
    def caught_up():
        st = c.status()["controller"]
        me = next(v for v in st["voters"] if v["id"] == lagger)
        return me["role"] == "follower" and me["log_end_offset"] >= st["high_watermark"]
    wait_until(caught_up, 30, f"controller {lagger} to catch up")
    text = open(c.log_path("controller", lagger)).read()
    check("installed snapshot" in text, f"controller {lagger} did not install a snapshot")
    log(f"controller {lagger} caught up through a snapshot")

    # Make the lagger lead (kill whoever else leads) and read everything back.
    for _ in range(12):
        current = c.leader()
        if current == lagger:
            break
        c.signal("kill", "controller", current)
        wait_until(lambda: c.status(timeout_ms=2000)["controller"]["leader"] not in (0, current),
                   20, "a new leader")
        c.signal("start", "controller", current)
    check(c.leader() == lagger, f"controller {lagger} never became leader")
    missing = set(names) - c.topics()
    check(not missing, f"topics missing on the snapshot-restored leader: {sorted(missing)[:5]}")
    d = c.describe(names[-1])
    check(len(d["partitions"]) == 3, f"partitions lost: {d}")
    log("ok")
