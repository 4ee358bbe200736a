"""Issue criterion 5: SIGKILL all three controllers while 1,000 topics are
being created; restart; every acknowledged creation is there and the three
controllers' logs agree."""
import os
import subprocess
import threading
import time

from harness import CONTROLLER_BIN, Cluster, check, log, wait_until

TOTAL = 1000
WORKERS = 4

with Cluster(name="crashall") as c:
    c.up()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def worker(w):
        for i in range(w, TOTAL, WORKERS):
            if stop.is_set():
                return
            name = f"topic-{i:04d}"
            p = c.ctl("topic", "create", name, timeout_ms=3000, check_rc=False)
            if p.returncode == 0:
                with lock:
                    acked.append(name)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 300, 120, "300 acknowledged creations", 0.01)
    for i in (1, 2, 3):
        c.signal("kill", "controller", i)
    killed_at = len(acked)
    log(f"killed all controllers after {killed_at} acknowledged creations")
    stop.set()
    for t in threads:
        t.join()
    final_acked = set(acked)
    for i in (1, 2, 3):
        c.signal("start", "controller", i)
    wait_until(lambda: c.status(timeout_ms=2000)["controller"]["leader"], 30, "a leader after restart")
    present = c.topics()
    missing = final_acked - present
    check(not missing, f"{len(missing)} acknowledged topics lost, e.g. {sorted(missing)[:5]}")
    log(f"{len(final_acked)} acknowledged, {len(present)} present after restart")
    # Let the followers catch up, then stop cleanly and compare the logs.
    hw = c.status()["controller"]["high_watermark"]
    wait_until(lambda: all(v["log_end_offset"] >= hw for v in c.status()["controller"]["voters"]),
               20, "all voters to reach the high watermark")
    for i in (1, 2, 3):
        c.signal("stop", "controller", i)
    dumps = []
    for i in (1, 2, 3):
        d = os.path.join(c.node_dir("controller", i), "metadata")
        out = subprocess.run([CONTROLLER_BIN, "--dump-log", d], capture_output=True,
                             text=True, check=True).stdout
        entries = {}
        for line in out.splitlines():
            if line.startswith("#"):
                continue
            idx, term, typ, length, crc = line.split()
            entries[int(idx)] = (term, typ, length, crc)
        dumps.append(entries)
    common = set(dumps[0]) & set(dumps[1]) & set(dumps[2])
    check(len(common) > 0, "logs share no entries (all compacted?)")
    for idx in sorted(common):
        check(dumps[0][idx] == dumps[1][idx] == dumps[2][idx], f"logs disagree at index {idx}")
    top = max(common)
    check(all(max(d) == top for d in dumps), f"log ends differ: {[max(d) for d in dumps]}")
    log(f"the three logs agree on {len(common)} entries up to index {top}")
    log("ok")
