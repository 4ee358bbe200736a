/* Unit tests for cairnctl's pure parts: argument and environment handling,
 * the JSON writer, and the JSON / table renderings of admin responses. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_test.h"
#include "ctl_json.h"
#include "ctl_print.h"
#include "ctl_replicas.h"

/* ---- Arguments ----------------------------------------------------------- */

START_TEST(test_args_defaults)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "cluster", "status"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_CLUSTER_STATUS);
    ck_assert(!a.json);
    ck_assert_uint_eq(a.timeout_ms, 10000);
    ck_assert_uint_eq(a.n_controllers, 3);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(a.controllers[i].id, i + 1);
        ck_assert_str_eq(a.controllers[i].host, "127.0.0.1");
        ck_assert_uint_eq(a.controllers[i].port, 9192 + i);
    }
}
END_TEST

START_TEST(test_args_environment)
{
    static ctl_args_t a;
    char err[256];
    ctl_env_t base = { NULL, "20000", "2500" };
    ck_assert_int_eq(PARSE(&base, &a, "broker", "list", "--json"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_BROKER_LIST);
    ck_assert(a.json);
    ck_assert_uint_eq(a.controllers[0].port, 20100);
    ck_assert_uint_eq(a.controllers[2].port, 20102);
    ck_assert_uint_eq(a.timeout_ms, 2500);

    ctl_env_t ctl = { "h1:1, h2:2", "20000", "2500" };
    ck_assert_int_eq(PARSE(&ctl, &a, "topic", "list"), 0);
    ck_assert_uint_eq(a.n_controllers, 2);
    ck_assert_str_eq(a.controllers[1].host, "h2");
    ck_assert_uint_eq(a.controllers[1].port, 2);
    ck_assert_uint_eq(a.controllers[1].id, 2);

    /* Flags win over the environment. */
    ck_assert_int_eq(PARSE(&ctl, &a, "--controllers", "x:7", "topic", "list", "--timeout=99"), 0);
    ck_assert_uint_eq(a.n_controllers, 1);
    ck_assert_str_eq(a.controllers[0].host, "x");
    ck_assert_uint_eq(a.timeout_ms, 99);

    ctl_env_t empty = { "", NULL, NULL };
    ck_assert_int_eq(PARSE(&empty, &a, "topic", "list"), 0);
    ck_assert_uint_eq(a.controllers[0].port, 9192);
}
END_TEST

START_TEST(test_args_topic_create)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "--partitions", "3", "create", "orders",
                           "--replication-factor=2", "--config", "retention.ms=1000",
                           "--config=cleanup.policy=compact", "--config", "empty="), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_CREATE);
    ck_assert_str_eq(a.topic, "orders");
    ck_assert_int_eq(a.partitions, 3);
    ck_assert_int_eq(a.replication_factor, 2);
    ck_assert_uint_eq(a.n_configs, 3);
    ck_assert_str_eq(a.configs[0].key, "retention.ms");
    ck_assert_str_eq(a.configs[0].value, "1000");
    ck_assert_str_eq(a.configs[1].key, "cleanup.policy");
    ck_assert_str_eq(a.configs[1].value, "compact");
    ck_assert_str_eq(a.configs[2].value, "");

    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "create", "t"), 0);
    ck_assert_int_eq(a.partitions, 0);
    ck_assert_int_eq(a.replication_factor, 0);
    ck_assert_uint_eq(a.n_configs, 0);

    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "delete", "--", "-odd"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_DELETE);
    ck_assert_str_eq(a.topic, "-odd");
}
END_TEST

START_TEST(test_args_topic_alter)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "alter", "orders", "--partitions", "5"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_ALTER);
    ck_assert_str_eq(a.topic, "orders");
    ck_assert_int_eq(a.partitions, 5);
    ck_assert_int_eq(a.replication_factor, 0);
    ck_assert(!a.json);

    /* Options anywhere, --json like 'topic describe'. */
    ck_assert_int_eq(PARSE(&no_env, &a, "--partitions=7", "topic", "alter", "--json", "--",
                           "-odd"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_ALTER);
    ck_assert_str_eq(a.topic, "-odd");
    ck_assert_int_eq(a.partitions, 7);
    ck_assert(a.json);
}
END_TEST

START_TEST(test_args_under_replicated)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "describe", "orders"), 0);
    ck_assert(!a.under_replicated);
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "describe", "orders", "--under-replicated"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_DESCRIBE);
    ck_assert_str_eq(a.topic, "orders");
    ck_assert(a.under_replicated);
    ck_assert(!a.json);

    /* Anywhere, with --json and the global options. */
    ck_assert_int_eq(PARSE(&no_env, &a, "--under-replicated", "--timeout", "500", "topic",
                           "describe", "--json", "--", "-odd"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_DESCRIBE);
    ck_assert_str_eq(a.topic, "-odd");
    ck_assert(a.under_replicated);
    ck_assert(a.json);
    ck_assert_uint_eq(a.timeout_ms, 500);

    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "list", "--under-replicated", "--json"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_TOPIC_LIST);
    ck_assert(a.under_replicated);
    ck_assert(a.json);
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "list"), 0);
    ck_assert(!a.under_replicated);

    /* After "--" it is a topic name. */
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "describe", "--", "--under-replicated"), 0);
    ck_assert_str_eq(a.topic, "--under-replicated");
    ck_assert(!a.under_replicated);
}
END_TEST

START_TEST(test_args_help)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "--help"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_HELP);
    ck_assert_int_eq(PARSE(&no_env, &a, "topic", "create", "-h"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_HELP);
}
END_TEST

/* Each row must fail with an error containing the given text. */
START_TEST(test_args_usage_errors)
{
    static const struct { const char *args[8]; const char *why; } cases[] = {
        { { NULL }, "missing command" },
        { { "frobnicate" }, "unknown command 'frobnicate'" },
        { { "topic" }, "'topic' needs a subcommand" },
        { { "topic", "explode" }, "unknown command 'topic explode'" },
        { { "topic", "create" }, "needs a topic name" },
        { { "topic", "describe" }, "needs a topic name" },
        { { "topic", "list", "extra" }, "unexpected argument 'extra'" },
        { { "cluster", "status", "a", "b" }, "unexpected argument 'b'" },
        { { "topic", "create", "t", "--json" }, "--json does not apply" },
        { { "topic", "delete", "t", "--json" }, "--json does not apply" },
        { { "topic", "list", "--partitions", "3" },
          "--partitions applies only to 'topic create' and 'topic alter'" },
        { { "topic", "alter" }, "'topic alter' needs a topic name" },
        { { "topic", "alter", "t" }, "'topic alter' needs --partitions N" },
        { { "topic", "alter", "t", "--partitions", "0" }, "invalid --partitions '0'" },
        { { "topic", "alter", "t", "--partitions", "2", "x" }, "unexpected argument 'x'" },
        { { "topic", "alter", "t", "--partitions", "3", "--replication-factor", "2" },
          "--replication-factor and --config apply only to 'topic create'" },
        { { "topic", "alter", "t", "--partitions", "3", "--config", "a=b" },
          "apply only to 'topic create'" },
        { { "topic", "describe", "t", "--config", "a=b" }, "apply only to 'topic create'" },
        { { "topic", "describe", "--under-replicated" }, "needs a topic name" },
        { { "topic", "create", "t", "--under-replicated" },
          "--under-replicated applies only to 'topic describe' and 'topic list'" },
        { { "topic", "delete", "t", "--under-replicated" }, "--under-replicated applies only" },
        { { "topic", "alter", "t", "--partitions", "3", "--under-replicated" },
          "--under-replicated applies only" },
        { { "broker", "list", "--under-replicated" }, "--under-replicated applies only" },
        { { "cluster", "status", "--under-replicated" }, "--under-replicated applies only" },
        { { "topic", "list", "--under-replicated=yes" }, "unknown option '--under-replicated=yes'" },
        { { "topic", "list", "--under-replicated", "x" }, "unexpected argument 'x'" },
        { { "topic", "create", "t", "--partitions", "0" }, "invalid --partitions '0'" },
        { { "topic", "create", "t", "--partitions", "-1" }, "invalid --partitions '-1'" },
        { { "topic", "create", "t", "--partitions", "2147483648" }, "invalid --partitions" },
        { { "topic", "create", "t", "--partitions", "3x" }, "invalid --partitions" },
        { { "topic", "create", "t", "--replication-factor", "32768" }, "invalid --replication-factor" },
        { { "topic", "create", "t", "--config", "novalue" }, "want KEY=VALUE" },
        { { "topic", "create", "t", "--config", "=v" }, "want KEY=VALUE" },
        { { "topic", "create", "t", "--config", "a=1", "--config", "a=2" }, "duplicate --config key 'a'" },
        { { "topic", "create", "t", "--partitions" }, "option --partitions needs a value" },
        { { "cluster", "status", "--verbose" }, "unknown option '--verbose'" },
        { { "cluster", "status", "--timeout", "0" }, "invalid --timeout '0'" },
        { { "cluster", "status", "--timeout", "3600001" }, "invalid --timeout" },
        { { "cluster", "status", "--controllers", "h" }, "want host:port" },
        { { "cluster", "status", "--controllers", "h:0" }, "want host:port" },
        { { "cluster", "status", "--controllers", "h:65536" }, "want host:port" },
        { { "cluster", "status", "--controllers", "h:1," }, "invalid controller address ''" },
        { { "cluster", "status", "--controllers", "" }, "invalid controller address" },
        { { "cluster", "status", "--controllers", "[::1:5" }, "invalid controller host" },
        { { "cluster", "status", "--controllers", "x@h:1" }, "invalid controller id" },
        { { "cluster", "status", "--controllers",
            "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10" }, "too many controllers" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ctl_expect_parse_error(i, cases[i].args, cases[i].why);
}
END_TEST

START_TEST(test_args_bad_environment)
{
    static ctl_args_t a;
    char err[256];
    ctl_env_t port = { NULL, "65500", NULL };
    ck_assert_int_eq(PARSE(&port, &a, "cluster", "status"), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid CAIRN_BASE_PORT '65500'"));
    ctl_env_t t = { NULL, NULL, "soon" };
    ck_assert_int_eq(PARSE(&t, &a, "cluster", "status"), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid CAIRN_TIMEOUT_MS 'soon'"));
    ctl_env_t c = { "nope", NULL, NULL };
    ck_assert_int_eq(PARSE(&c, &a, "cluster", "status"), -1);
    ck_assert_ptr_nonnull(strstr(err, "CAIRN_CONTROLLERS: invalid controller address 'nope'"));
}
END_TEST

START_TEST(test_parse_controllers_forms)
{
    cairn_voter_t v[CAIRN_MAX_VOTERS];
    size_t n;
    char err[128];
    ck_assert_int_eq(ctl_parse_controllers("[::1]:9192,5@10.0.0.2:9193", v, CAIRN_MAX_VOTERS,
                                           &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].host, "::1");
    ck_assert_uint_eq(v[0].port, 9192);
    ck_assert_uint_eq(v[0].id, 1);
    ck_assert_str_eq(v[1].host, "10.0.0.2");
    ck_assert_uint_eq(v[1].id, 5);
    ck_assert_int_eq(ctl_parse_controllers("a:1,b:2,c:3", v, 2, &n, err, sizeof err), -1);
}
END_TEST

/* ---- JSON writer ----------------------------------------------------------- */

START_TEST(test_json_escaping)
{
    capture_t c;
    capture_open(&c);
    ctl_json_write_string(c.f, "q\"b\\s/\n\t\r\b\f\x01\x1f\x7f" "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert_str_eq(capture_close(&c),
                     "\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f" "caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    free(c.buf);

    /* Invalid UTF-8: stray continuation, overlong, surrogate, truncated, > U+10FFFF. */
    capture_open(&c);
    ctl_json_write_string(c.f, "\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80|\xff");
    ck_assert_str_eq(capture_close(&c),
                     "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|"
                     "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\"");
    free(c.buf);

    capture_open(&c);
    ctl_json_write_string(c.f, NULL);
    ck_assert_str_eq(capture_close(&c), "\"\"");
    free(c.buf);
}
END_TEST

START_TEST(test_json_structure)
{
    capture_t c;
    capture_open(&c);
    ctl_json_t j;
    ctl_json_init(&j, c.f);
    ctl_json_begin_object(&j);
    ctl_json_kv_int(&j, "a", -1);
    ctl_json_key(&j, "b");
    ctl_json_begin_array(&j);
    ctl_json_uint(&j, 18446744073709551615u);
    ctl_json_begin_object(&j);
    ctl_json_end_object(&j);
    ctl_json_begin_array(&j);
    ctl_json_end_array(&j);
    ctl_json_string(&j, "x");
    ctl_json_end_array(&j);
    ctl_json_kv_string(&j, "k\"", "v");
    ctl_json_end_object(&j);
    ck_assert_str_eq(capture_close(&c),
                     "{\"a\": -1, \"b\": [18446744073709551615, {}, [], \"x\"], \"k\\\"\": \"v\"}");
    free(c.buf);
}
END_TEST

START_TEST(test_json_key_in_array_asserts)
{
    ctl_json_t j;
    ctl_json_init(&j, stdout);
    ctl_json_begin_array(&j);
    ctl_json_key(&j, "no");
}
END_TEST

START_TEST(test_json_unbalanced_end_asserts)
{
    ctl_json_t j;
    ctl_json_init(&j, stdout);
    ctl_json_begin_object(&j);
    ctl_json_end_array(&j);
}
END_TEST

/* ---- Renderings ------------------------------------------------------------ */

typedef struct sample {
    Cairn__VoterStatus voters[2];
    Cairn__VoterStatus *voter_ptrs[2];
    Cairn__BrokerStatus brokers[2];
    Cairn__BrokerStatus *broker_ptrs[2];
    Cairn__ClusterStatusResponse status;
    int32_t replicas[3], isr[2];
    Cairn__PartitionDescription parts[2];
    Cairn__PartitionDescription *part_ptrs[2];
    Cairn__ConfigEntry cfg;
    Cairn__ConfigEntry *cfg_ptrs[1];
    Cairn__TopicDescription topic;
    Cairn__TopicDescription *topic_ptrs[1];
} sample_t;

static void sample_init(sample_t *s)
{
    memset(s, 0, sizeof *s);
    static const char *const roles[] = { "leader", "follower" };
    for (int i = 0; i < 2; i++) {
        cairn__voter_status__init(&s->voters[i]);
        s->voters[i].id = (uint32_t)i + 1;
        s->voters[i].address = (char *)(i ? "127.0.0.1:9193" : "127.0.0.1:9192");
        s->voters[i].role = (char *)roles[i];
        s->voters[i].log_end_offset = i ? 7 : 120;
        s->voter_ptrs[i] = &s->voters[i];
        cairn__broker_status__init(&s->brokers[i]);
        s->brokers[i].id = (uint32_t)i + 1;
        s->brokers[i].address = (char *)(i ? "127.0.0.1:9093" : "127.0.0.1:9092");
        s->brokers[i].state = (char *)(i ? "fenced" : "active");
        s->brokers[i].rack = (char *)(i ? "" : "r1");
        s->brokers[i].broker_epoch = 10 + (uint64_t)i;
        s->brokers[i].replication_address = (char *)(i ? "" : "127.0.0.1:9292");
        s->broker_ptrs[i] = &s->brokers[i];
    }
    cairn__cluster_status_response__init(&s->status);
    s->status.leader = 1;
    s->status.epoch = 4;
    s->status.high_watermark = 120;
    s->status.n_voters = 2;
    s->status.voters = s->voter_ptrs;
    s->status.n_brokers = 2;
    s->status.brokers = s->broker_ptrs;

    int32_t reps[3] = { 1, 2, 3 }, isr[2] = { 1, 3 };
    memcpy(s->replicas, reps, sizeof reps);
    memcpy(s->isr, isr, sizeof isr);
    for (int i = 0; i < 2; i++) {
        Cairn__PartitionDescription *p = &s->parts[i];
        cairn__partition_description__init(p);
        p->partition = (uint32_t)i;
        p->leader = i ? -1 : 1;
        p->leader_epoch = (uint32_t)i + 2;
        p->partition_epoch = 5;
        p->n_replicas = 3;
        p->replicas = s->replicas;
        p->n_isr = i ? 0 : 2;
        p->isr = i ? NULL : s->isr;
        s->part_ptrs[i] = p;
    }
    cairn__config_entry__init(&s->cfg);
    s->cfg.name = "retention.ms";
    s->cfg.value = "1000";
    s->cfg_ptrs[0] = &s->cfg;
    cairn__topic_description__init(&s->topic);
    s->topic.name = "orders";
    s->topic.id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    s->topic.n_partitions = 2;
    s->topic.partitions = s->part_ptrs;
    s->topic.n_configs = 1;
    s->topic.configs = s->cfg_ptrs;
    s->topic_ptrs[0] = &s->topic;
}

START_TEST(test_print_cluster_status_json)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_cluster_status(c.f, &s.status, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "{\"controller\": {\"leader\": 1, \"epoch\": 4, \"high_watermark\": 120, \"voters\": ["
        "{\"id\": 1, \"address\": \"127.0.0.1:9192\", \"role\": \"leader\", \"log_end_offset\": 120}, "
        "{\"id\": 2, \"address\": \"127.0.0.1:9193\", \"role\": \"follower\", \"log_end_offset\": 7}]}, "
        "\"brokers\": ["
        "{\"id\": 1, \"address\": \"127.0.0.1:9092\", \"state\": \"active\", \"rack\": \"r1\", \"broker_epoch\": 10, "
        "\"replication_address\": \"127.0.0.1:9292\"}, "
        "{\"id\": 2, \"address\": \"127.0.0.1:9093\", \"state\": \"fenced\", \"rack\": \"\", \"broker_epoch\": 11, "
        "\"replication_address\": \"\"}]}\n");
    free(c.buf);
}
END_TEST

START_TEST(test_print_cluster_status_table)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_cluster_status(c.f, &s.status, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "Controller quorum: leader 1, epoch 4, high watermark 120\n"
        "\n"
        "VOTER  ADDRESS         ROLE      LOG END OFFSET\n"
        "1      127.0.0.1:9192  leader    120\n"
        "2      127.0.0.1:9193  follower  7\n"
        "\n"
        "BROKER  ADDRESS         STATE   RACK\n"
        "1       127.0.0.1:9092  active  r1\n"
        "2       127.0.0.1:9093  fenced  -\n");
    free(c.buf);
}
END_TEST

START_TEST(test_print_topic_json)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic(c.f, &s.topic, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "{\"name\": \"orders\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\", \"partitions\": ["
        "{\"partition\": 0, \"leader\": 1, \"leader_epoch\": 2, \"replicas\": [1, 2, 3], \"isr\": [1, 3], "
        "\"partition_epoch\": 5}, "
        "{\"partition\": 1, \"leader\": -1, \"leader_epoch\": 3, \"replicas\": [1, 2, 3], \"isr\": [], "
        "\"partition_epoch\": 5}], "
        "\"configs\": {\"retention.ms\": \"1000\"}}\n");
    free(c.buf);
}
END_TEST

START_TEST(test_print_topic_table)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic(c.f, &s.topic, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "Topic: orders\tTopicId: 0f8fad5b-d9cb-469f-a165-70867728950e\tPartitionCount: 2\t"
        "ReplicationFactor: 3\tConfigs: retention.ms=1000\n"
        "\tTopic: orders  Partition: 0  Leader: 1     Replicas: 1,2,3  Isr: 1,3  LeaderEpoch: 2\n"
        "\tTopic: orders  Partition: 1  Leader: none  Replicas: 1,2,3  Isr:      LeaderEpoch: 3\n");
    free(c.buf);
}
END_TEST

START_TEST(test_print_lists)
{
    sample_t s;
    sample_init(&s);
    Cairn__ListTopicsResponse lt = CAIRN__LIST_TOPICS_RESPONSE__INIT;
    lt.n_topics = 1;
    lt.topics = s.topic_ptrs;
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_list(c.f, &lt, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "{\"topics\": [{\"name\": \"orders\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\", "
        "\"partitions\": 2, \"replication_factor\": 3}]}\n");
    free(c.buf);

    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_list(c.f, &lt, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "TOPIC   PARTITIONS  REPLICATION FACTOR  ID\n"
        "orders  2           3                   0f8fad5b-d9cb-469f-a165-70867728950e\n");
    free(c.buf);

    Cairn__ListBrokersResponse lb = CAIRN__LIST_BROKERS_RESPONSE__INIT;
    lb.n_brokers = 1;
    lb.brokers = s.broker_ptrs;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_broker_list(c.f, &lb, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "{\"brokers\": [{\"id\": 1, \"address\": \"127.0.0.1:9092\", \"state\": \"active\", "
        "\"rack\": \"r1\", \"broker_epoch\": 10, \"replication_address\": \"127.0.0.1:9292\"}]}\n");
    free(c.buf);

    lb.n_brokers = 0;
    lt.n_topics = 0;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_broker_list(c.f, &lb, false), 0);
    ck_assert_int_eq(ctl_print_topic_list(c.f, &lt, false), 0);
    ck_assert_int_eq(ctl_print_topic_list(c.f, &lt, true), 0);
    ck_assert_str_eq(capture_close(&c), "No brokers registered.\nNo topics.\n{\"topics\": []}\n");
    free(c.buf);
}
END_TEST

START_TEST(test_print_aligns_utf8_by_code_point)
{
    sample_t s;
    sample_init(&s);
    s.brokers[0].rack = "z\xc3\xbcrich";
    s.brokers[1].rack = "zurich";
    s.brokers[0].state = "\xc3\xa4" "ctive";
    Cairn__ListBrokersResponse lb = CAIRN__LIST_BROKERS_RESPONSE__INIT;
    lb.n_brokers = 2;
    lb.brokers = s.broker_ptrs;
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_broker_list(c.f, &lb, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "BROKER  ADDRESS         STATE   RACK\n"
        "1       127.0.0.1:9092  \xc3\xa4" "ctive  z\xc3\xbcrich\n"
        "2       127.0.0.1:9093  fenced  zurich\n");
    free(c.buf);
}
END_TEST

/* Partition 0's leader (broker 1, epoch 2) reports followers 2 (not heard
 * from) and 3 (5 behind); partition 1 has no leader, so no state. */
typedef struct leader_sample {
    Cairn__FollowerReplicaState f[2];
    Cairn__FollowerReplicaState *f_ptrs[2];
    Cairn__PartitionReplicaState st;
    Cairn__PartitionReplicaState *st_ptrs[1];
    Cairn__DescribeReplicasResponse resp;
    const Cairn__PartitionReplicaState *states[2];
} leader_sample_t;

static void leader_sample_init(leader_sample_t *l)
{
    memset(l, 0, sizeof *l);
    for (int i = 0; i < 2; i++) {
        cairn__follower_replica_state__init(&l->f[i]);
        l->f[i].id = i + 2;
        l->f[i].log_end_offset = i ? 115 : -1;
        l->f[i].durable_offset = i ? 110 : -1;
        l->f_ptrs[i] = &l->f[i];
    }
    cairn__partition_replica_state__init(&l->st);
    l->st.topic = "orders";
    l->st.partition = 0;
    l->st.leader_epoch = 2;
    l->st.high_watermark = 100;
    l->st.log_start_offset = 0;
    l->st.log_end_offset = 120;
    l->st.n_followers = 2;
    l->st.followers = l->f_ptrs;
    l->st_ptrs[0] = &l->st;
    cairn__describe_replicas_response__init(&l->resp);
    l->resp.n_partitions = 1;
    l->resp.partitions = l->st_ptrs;
    l->states[0] = &l->st;
    l->states[1] = NULL;
}

START_TEST(test_replica_lag_and_matching)
{
    sample_t s;
    leader_sample_t l;
    sample_init(&s);
    leader_sample_init(&l);
    const Cairn__PartitionDescription *p0 = &s.parts[0];
    ck_assert_ptr_eq(ctl_find_replica_state(&l.resp, "orders", p0), &l.st);
    ck_assert_ptr_null(ctl_find_replica_state(&l.resp, "other", p0));
    ck_assert_ptr_null(ctl_find_replica_state(&l.resp, "orders", &s.parts[1]));
    ck_assert_ptr_null(ctl_find_replica_state(NULL, "orders", p0));
    l.st.leader_epoch = 1;            /* the broker's metadata is behind */
    ck_assert_ptr_null(ctl_find_replica_state(&l.resp, "orders", p0));
    l.st.leader_epoch = 2;

    int64_t lag = -7;
    ck_assert(ctl_replica_lag(p0, &l.st, 1, &lag));
    ck_assert_int_eq(lag, 0);
    ck_assert(!ctl_replica_lag(p0, &l.st, 2, &lag));   /* not heard from */
    ck_assert(ctl_replica_lag(p0, &l.st, 3, &lag));
    ck_assert_int_eq(lag, 5);
    ck_assert(!ctl_replica_lag(p0, &l.st, 4, &lag));   /* not tracked */
    ck_assert(!ctl_replica_lag(p0, NULL, 1, &lag));
}
END_TEST

START_TEST(test_under_replicated_views)
{
    sample_t s;
    sample_init(&s);
    int32_t full[3] = { 1, 2, 3 };
    ck_assert(ctl_partition_under_replicated(&s.parts[0]));
    ck_assert(ctl_partition_under_replicated(&s.parts[1]));
    s.parts[0].isr = full;
    s.parts[0].n_isr = 3;
    ck_assert(!ctl_partition_under_replicated(&s.parts[0]));

    ctl_topic_view_t v;
    ck_assert_int_eq(ctl_topic_view_init(&v, &s.topic, true), 0);
    ck_assert_uint_eq(v.topic.n_partitions, 1);
    ck_assert_ptr_eq(v.topic.partitions[0], &s.parts[1]);
    ck_assert_str_eq(v.topic.name, "orders");
    ck_assert_uint_eq(v.topic.n_configs, 1);
    ctl_topic_view_free(&v);
    ck_assert_int_eq(ctl_topic_view_init(&v, &s.topic, false), 0);
    ck_assert_uint_eq(v.topic.n_partitions, 2);
    ctl_topic_view_free(&v);

    Cairn__ListTopicsResponse lt = CAIRN__LIST_TOPICS_RESPONSE__INIT;
    lt.n_topics = 1;
    lt.topics = s.topic_ptrs;
    ctl_topics_view_t tv;
    ck_assert_int_eq(ctl_topics_view_init(&tv, &lt, true), 0);
    ck_assert_uint_eq(tv.list.n_topics, 1);
    ctl_topics_view_free(&tv);
    s.parts[1].isr = full;
    s.parts[1].n_isr = 3;
    ck_assert(!ctl_topic_under_replicated(&s.topic));
    ck_assert_int_eq(ctl_topics_view_init(&tv, &lt, true), 0);
    ck_assert_uint_eq(tv.list.n_topics, 0);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_list(c.f, &tv.list, true), 0);
    ck_assert_str_eq(capture_close(&c), "{\"topics\": []}\n");
    free(c.buf);
    ctl_topics_view_free(&tv);
    ck_assert_int_eq(ctl_topic_view_init(&v, &s.topic, true), 0);
    ck_assert_uint_eq(v.topic.n_partitions, 0);
    ctl_topic_view_free(&v);
}
END_TEST

START_TEST(test_print_topic_replicas_json)
{
    sample_t s;
    leader_sample_t l;
    sample_init(&s);
    leader_sample_init(&l);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &s.topic, l.states, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "{\"name\": \"orders\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\", \"partitions\": ["
        "{\"partition\": 0, \"leader\": 1, \"leader_epoch\": 2, \"replicas\": [1, 2, 3], \"isr\": [1, 3], "
        "\"partition_epoch\": 5, \"high_watermark\": 100, \"log_end_offset\": 120, \"replica_lag\": ["
        "{\"id\": 1, \"lag\": 0}, {\"id\": 2, \"lag\": null}, {\"id\": 3, \"lag\": 5}]}, "
        "{\"partition\": 1, \"leader\": -1, \"leader_epoch\": 3, \"replicas\": [1, 2, 3], \"isr\": [], "
        "\"partition_epoch\": 5}], "
        "\"configs\": {\"retention.ms\": \"1000\"}}\n");
    free(c.buf);

    /* A new leader that has no high watermark yet. */
    l.st.high_watermark = -1;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &s.topic, l.states, true), 0);
    ck_assert_ptr_nonnull(strstr(capture_close(&c),
                                 "\"high_watermark\": null, \"log_end_offset\": 120"));
    free(c.buf);
}
END_TEST

START_TEST(test_print_topic_replicas_table)
{
    sample_t s;
    leader_sample_t l;
    sample_init(&s);
    leader_sample_init(&l);
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &s.topic, l.states, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "Topic: orders\tTopicId: 0f8fad5b-d9cb-469f-a165-70867728950e\tPartitionCount: 2\t"
        "ReplicationFactor: 3\tConfigs: retention.ms=1000\n"
        "\tTopic: orders  Partition: 0  Leader: 1     Replicas: 1,2,3  Isr: 1,3  LeaderEpoch: 2  "
        "HighWatermark: 100  ReplicaLag: 1=0,2=-,3=5\n"
        "\tTopic: orders  Partition: 1  Leader: none  Replicas: 1,2,3  Isr:      LeaderEpoch: 3  "
        "HighWatermark: -    ReplicaLag: -\n");
    free(c.buf);

    /* --under-replicated: the topic line still counts every partition. */
    int32_t full[3] = { 1, 2, 3 };
    s.parts[1].isr = full;
    s.parts[1].n_isr = 3;
    ctl_topic_view_t v;
    ck_assert_int_eq(ctl_topic_view_init(&v, &s.topic, true), 0);
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &v.topic, l.states, false), 0);
    ck_assert_str_eq(capture_close(&c),
        "Topic: orders\tTopicId: 0f8fad5b-d9cb-469f-a165-70867728950e\tPartitionCount: 2\t"
        "ReplicationFactor: 3\tConfigs: retention.ms=1000\n"
        "\tTopic: orders  Partition: 0  Leader: 1  Replicas: 1,2,3  Isr: 1,3  LeaderEpoch: 2  "
        "HighWatermark: 100  ReplicaLag: 1=0,2=-,3=5\n");
    free(c.buf);
    ctl_topic_view_free(&v);
    s.parts[0].isr = full;
    s.parts[0].n_isr = 3;
    ck_assert_int_eq(ctl_topic_view_init(&v, &s.topic, true), 0);
    capture_open(&c);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &v.topic, l.states, false), 0);
    ck_assert_int_eq(ctl_print_topic_replicas(c.f, &s.topic, &v.topic, l.states, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "Topic: orders\tTopicId: 0f8fad5b-d9cb-469f-a165-70867728950e\tPartitionCount: 2\t"
        "ReplicationFactor: 3\tConfigs: retention.ms=1000\n"
        "{\"name\": \"orders\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\", "
        "\"partitions\": [], \"configs\": {\"retention.ms\": \"1000\"}}\n");
    free(c.buf);
    ctl_topic_view_free(&v);
}
END_TEST

static Suite *ctl_suite(void)
{
    Suite *s = suite_create("ctl");
    TCase *args = tcase_create("args");
    tcase_add_test(args, test_args_defaults);
    tcase_add_test(args, test_args_environment);
    tcase_add_test(args, test_args_topic_create);
    tcase_add_test(args, test_args_topic_alter);
    tcase_add_test(args, test_args_under_replicated);
    tcase_add_test(args, test_args_help);
    tcase_add_test(args, test_args_usage_errors);
    tcase_add_test(args, test_args_bad_environment);
    tcase_add_test(args, test_parse_controllers_forms);
    suite_add_tcase(s, args);
    TCase *json = tcase_create("json");
    tcase_add_test(json, test_json_escaping);
    tcase_add_test(json, test_json_structure);
    tcase_add_test_raise_signal(json, test_json_key_in_array_asserts, SIGABRT);
    tcase_add_test_raise_signal(json, test_json_unbalanced_end_asserts, SIGABRT);
    suite_add_tcase(s, json);
    TCase *print = tcase_create("print");
    tcase_add_test(print, test_print_cluster_status_json);
    tcase_add_test(print, test_print_cluster_status_table);
    tcase_add_test(print, test_print_topic_json);
    tcase_add_test(print, test_print_topic_table);
    tcase_add_test(print, test_print_lists);
    tcase_add_test(print, test_print_aligns_utf8_by_code_point);
    tcase_add_test(print, test_replica_lag_and_matching);
    tcase_add_test(print, test_under_replicated_views);
    tcase_add_test(print, test_print_topic_replicas_json);
    tcase_add_test(print, test_print_topic_replicas_table);
    suite_add_tcase(s, print);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
