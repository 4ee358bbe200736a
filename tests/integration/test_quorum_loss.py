"""Issue criterion 3: SIGSTOP of two controllers makes the leader step down
(check quorum) and writes fail with a clear "no quorum" error; SIGCONT heals
it and no acknowledged write is lost."""
import subprocess
import time

from harness import CAIRNCTL, Cluster, check, log, wait_until

with Cluster(name="quorumloss") as c:
    c.up()
    acked = []
    for i in range(10):
        c.create_topic(f"before-{i}")
        acked.append(f"before-{i}")
    leader = c.leader()
    others = [i for i in (1, 2, 3) if i != leader]
    log(f"leader {leader}; pausing controllers {others}")
    for i in others:
        c.signal("pause", "controller", i)
    # The leader must step down within its check-quorum timeout; a write
    # then fails with a no-quorum error rather than hanging.
    p = c.ctl("topic", "create", "during-pause", timeout_ms=3000, check_rc=False)
    check(p.returncode == 1, f"write succeeded without a quorum: {p.stdout}")
    check("no quorum" in p.stderr or "no controller leader" in p.stderr,
          f"unclear error: {p.stderr!r}")
    log(f"write during pause failed as expected: {p.stderr.strip()}")
    leader_log = open(c.log_path("controller", leader)).read()
    check("no longer leader" in leader_log, "old leader did not log stepping down")
    for i in others:
        c.signal("resume", "controller", i)
    wait_until(lambda: c.status(timeout_ms=2000)["controller"]["leader"], 20, "a leader after resume")
    c.create_topic("after-resume")
    acked.append("after-resume")
    missing = set(acked) - c.topics()
    check(not missing, f"acknowledged topics lost: {sorted(missing)}")
    log("ok")
