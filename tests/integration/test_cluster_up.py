"""Issue criterion 1: `deploy/cluster.sh up` brings up 3 controllers and 3
brokers, prints the connection env, and cluster status shows 3 voters, one
leader and 3 active brokers. Also exercises every cairnctl command once."""
import time

from harness import Cluster, check, log

with Cluster(name="up") as c:
    t0 = time.monotonic()
    out = c.up().stdout
    took = time.monotonic() - t0
    log(f"cluster.sh up took {took:.2f}s")
    check("export CAIRN_BOOTSTRAP=" in out, f"no CAIRN_BOOTSTRAP in output:\n{out}")
    check("export CAIRN_CONTROLLERS=" in out, f"no CAIRN_CONTROLLERS in output:\n{out}")
    bootstrap = [line for line in out.splitlines() if "CAIRN_BOOTSTRAP=" in line][0]
    check(str(c.base_port) in bootstrap, f"bootstrap does not use the base port: {bootstrap}")

    st = c.status()
    voters = st["controller"]["voters"]
    check(len(voters) == 3, f"expected 3 voters: {voters}")
    check(sum(v["role"] == "leader" for v in voters) == 1, f"expected one leader: {voters}")
    check(st["controller"]["leader"] in {v["id"] for v in voters}, "leader is not a voter")
    check(st["controller"]["epoch"] >= 1, "epoch must be >= 1")
    check(all(set(v) >= {"id", "address", "role", "log_end_offset"} for v in voters),
          f"voter fields missing: {voters}")
    brokers = st["brokers"]
    check(sorted(b["id"] for b in brokers) == [1, 2, 3], f"brokers: {brokers}")
    check(all(b["state"] == "active" for b in brokers), f"brokers not all active: {brokers}")
    check(all(b["address"] == f"127.0.0.1:{c.base_port + b['id'] - 1}" for b in brokers),
          f"broker addresses: {brokers}")

    # `up` again is a no-op: same pids.
    before = c.pids()
    c.up()
    check(c.pids() == before, "second `up` restarted processes")

    # Topic commands.
    c.create_topic("orders", partitions=6, rf=3)
    d = c.describe("orders")
    check(d["name"] == "orders" and len(d["id"]) == 36, f"describe: {d}")
    parts = d["partitions"]
    check([p["partition"] for p in parts] == list(range(6)), f"partitions: {parts}")
    leaders = [p["leader"] for p in parts]
    check(all(leaders.count(b) == 2 for b in (1, 2, 3)), f"leaders not balanced: {leaders}")
    check(all(sorted(p["replicas"]) == [1, 2, 3] and sorted(p["isr"]) == [1, 2, 3]
              and p["leader_epoch"] == 0 for p in parts), f"replicas/isr: {parts}")
    p = c.create_topic("orders", partitions=1, rf=1, check_rc=False)
    check(p.returncode == 1 and "exists" in p.stderr, f"duplicate create: {p.returncode} {p.stderr}")
    p = c.create_topic("bad name!", check_rc=False)
    check(p.returncode == 1, "invalid topic name accepted")
    p = c.create_topic("too-wide", rf=4, check_rc=False)
    check(p.returncode == 1, "replication factor 4 accepted with 3 brokers")
    c.create_topic("logs", partitions=2, rf=1)
    check(c.topics() == {"orders", "logs"}, f"topic list: {c.topics()}")
    c.ctl("topic", "delete", "logs")
    check(c.topics() == {"orders"}, f"topic list after delete: {c.topics()}")
    p = c.ctl("topic", "describe", "logs", check_rc=False)
    check(p.returncode == 1, "describe of a deleted topic succeeded")

    # Growing a topic: Kafka's CreatePartitions through `topic alter`, which
    # prints the topic as `topic describe` does — the controller's fields;
    # describe adds what the partition leaders report (high watermark, lag).
    c.create_topic("grow", partitions=2, rf=3)
    altered = c.ctl_json("topic", "alter", "grow", "--partitions", "5")
    d = c.describe("grow")
    leaders_view = ("high_watermark", "log_end_offset", "replica_lag")
    controllers_view = dict(d, partitions=[{k: v for k, v in p.items() if k not in leaders_view}
                                           for p in d["partitions"]])
    check(altered == controllers_view, f"alter output {altered} differs from describe {d}")
    parts = d["partitions"]
    check([p["partition"] for p in parts] == list(range(5)), f"grown partitions: {parts}")
    leaders = [p["leader"] for p in parts]
    counts = [leaders.count(b) for b in (1, 2, 3)]
    check(max(counts) - min(counts) <= 1, f"grown leaders not balanced: {leaders}")
    check(all(sorted(p["replicas"]) == [1, 2, 3] and sorted(p["isr"]) == [1, 2, 3]
              and p["leader"] in p["isr"] for p in parts), f"grown replicas/isr: {parts}")
    p = c.ctl("topic", "alter", "grow", "--partitions", "3", check_rc=False)
    check(p.returncode == 1 and "currently has 5 partitions" in p.stderr
          and "requested 3" in p.stderr, f"shrinking alter: {p.returncode} {p.stderr}")
    check(len(c.describe("grow")["partitions"]) == 5, "a refused alter changed the topic")
    bl = c.ctl_json("broker", "list")["brokers"]
    check(sorted(b["id"] for b in bl) == [1, 2, 3], f"broker list: {bl}")
    human = c.ctl("cluster", "status").stdout
    check("leader" in human, f"human status output: {human}")
    log("ok")
