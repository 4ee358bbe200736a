"""The admin APIs through real clients: confluent-kafka's AdminClient and
kafka-python's KafkaAdminClient create topics (with configs), grow their
partitions, describe configs and delete them — each request forwarded by
the broker to the controller quorum; auto.create.topics.enable creates a
topic a producer asks for; DescribeConfigs shows topic overrides and broker
defaults."""
import time

from compat import Cluster, check, log, wait_until

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
import kafka as kp
from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType
from kafka.admin import KafkaAdminClient, NewPartitions as KNewPartitions, NewTopic as KNewTopic


def wait_futures(fs, what):
    for name, f in fs.items():
        try:
            f.result(timeout=30)
        except Exception as e:  # noqa: BLE001
            check(False, f"{what} {name}: {e}")


with Cluster(name="admin") as c:
    c.up()
    a = AdminClient({"bootstrap.servers": c.bootstrap})
    wait_futures(a.create_topics([NewTopic("ca", 3, 3, config={"retention.ms": "3600000"}),
                                  NewTopic("cb", 1, 1)]), "create")
    md = a.list_topics(timeout=10)
    check({"ca", "cb"} <= set(md.topics), f"topics after create: {sorted(md.topics)}")
    check(len(md.topics["ca"].partitions) == 3, "ca partitions")
    fs = a.create_topics([NewTopic("ca", 3, 3)])
    try:
        fs["ca"].result(timeout=30)
        check(False, "creating an existing topic succeeded")
    except ck.KafkaException as e:
        check(e.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS, f"duplicate create: {e}")
    fs = a.create_topics([NewTopic("bad name!", 1, 1)])
    try:
        fs["bad name!"].result(timeout=30)
        check(False, "an invalid topic name was accepted")
    except ck.KafkaException as e:
        check(e.args[0].code() == ck.KafkaError.TOPIC_EXCEPTION, f"bad name: {e}")
    fs = a.create_topics([NewTopic("dry", 2, 1)], validate_only=True)
    wait_futures(fs, "validate-only create")
    check("dry" not in a.list_topics(timeout=10).topics, "validate_only created the topic")

    wait_futures(a.create_partitions([NewPartitions("ca", 5)]), "create_partitions")
    check(len(a.list_topics(timeout=10).topics["ca"].partitions) == 5, "ca grew to 5")
    res = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ca")])
    cfg = list(res.values())[0].result(timeout=30)
    check(cfg["retention.ms"].value == "3600000" and not cfg["retention.ms"].is_default,
          f"ca retention.ms: {cfg['retention.ms']}")
    check(cfg["segment.bytes"].value == "1073741824" and cfg["segment.bytes"].is_default,
          f"ca segment.bytes: {cfg['segment.bytes']}")
    res = a.describe_configs([ConfigResource(ConfigResource.Type.BROKER, "1")])
    bcfg = list(res.values())[0].result(timeout=30)
    check(bcfg["log.flush.interval.messages"].value == "1", "broker config")
    wait_futures(a.delete_topics(["cb"]), "delete")
    wait_until(lambda: "cb" not in a.list_topics(timeout=10).topics, 10, "cb deleted")
    check("cb" not in {t["name"] for t in c.ctl_json("topic", "list")["topics"]},
          "cb still known to the controllers")
    log("confluent-kafka AdminClient: create, validate-only, errors, grow, configs, delete")

    ka = KafkaAdminClient(bootstrap_servers=c.bootstrap.split(","))
    ka.create_topics([KNewTopic("ka", 2, 2, topic_configs={"segment.bytes": "1048576"})],
                     timeout_ms=30000)
    ka.create_partitions({"ka": KNewPartitions(4)}, timeout_ms=30000)
    d = c.describe("ka")
    check(len(d["partitions"]) == 4 and all(len(p["replicas"]) == 2 for p in d["partitions"]),
          f"ka: {d}")
    r = ka.describe_configs([KConfigResource(ConfigResourceType.TOPIC, "ka")])
    entries = {e[0]: e[1] for e in r[0].resources[0][4]}
    check(entries.get("segment.bytes") == "1048576", f"ka configs: {entries}")
    ka.delete_topics(["ka"], timeout_ms=30000)
    check("ka" not in {t["name"] for t in c.ctl_json("topic", "list")["topics"]}, "ka deleted")
    ka.close()
    log("kafka-python KafkaAdminClient: create, grow, configs, delete")

    # auto.create.topics.enable (on by default): a producer's first send creates it.
    p = ck.Producer({"bootstrap.servers": c.bootstrap})
    errors = []
    p.produce("auto-made", b"v", on_delivery=lambda err, m: err and errors.append(err))
    check(p.flush(30) == 0 and not errors, f"producing to a new topic: {errors}")
    d = c.describe("auto-made")
    check(len(d["partitions"]) == 1, f"auto-created topic: {d}")
    log("ok")
