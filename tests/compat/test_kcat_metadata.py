"""Issue criterion 1: `kcat -L` against the local cluster lists the three
brokers, the topics, their partitions and leaders, as the controllers have
them."""
from compat import Cluster, check, kcat_metadata, log, wait_until

with Cluster(name="kcat-l") as c:
    c.up()
    c.create_topic("orders", partitions=6, rf=3)
    c.create_topic("logs", partitions=2, rf=1)
    c.wait_leaders("orders")
    md = wait_until(lambda: (lambda m: m if len(m.get("topics", [])) >= 2 else None)(
        kcat_metadata(c.bootstrap)), 20, "both topics in kcat -L")
    brokers = sorted((b["id"], b["name"]) for b in md["brokers"])
    log(f"kcat -L brokers: {brokers}")
    check([b[0] for b in brokers] == [1, 2, 3], f"brokers: {brokers}")
    check(all(name == f"127.0.0.1:{c.broker_port(i)}" for i, name in brokers),
          f"broker addresses: {brokers}")
    topics = {t["topic"]: t for t in md["topics"]}
    check(set(topics) == {"orders", "logs"}, f"topics: {sorted(topics)}")
    for name in ("orders", "logs"):
        want = {p["partition"]: p for p in c.describe(name)["partitions"]}
        got = {p["partition"]: p for p in topics[name]["partitions"]}
        check(sorted(got) == sorted(want), f"{name} partitions: {sorted(got)}")
        for n, p in got.items():
            check(p["leader"] == want[n]["leader"],
                  f"{name}-{n} leader {p['leader']} != {want[n]['leader']}")
            replicas = sorted(r["id"] for r in p["replicas"])
            isrs = sorted(r["id"] for r in p["isrs"])
            check(replicas == sorted(want[n]["replicas"]), f"{name}-{n} replicas {replicas}")
            check(isrs == sorted(want[n]["isr"]), f"{name}-{n} isr {isrs}")
    # Each broker answers metadata on its own.
    for i in (1, 2, 3):
        one = kcat_metadata(f"127.0.0.1:{c.broker_port(i)}")
        check(len(one["brokers"]) == 3, f"broker {i} lists {one['brokers']}")
    log("ok")
