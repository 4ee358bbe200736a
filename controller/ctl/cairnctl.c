/* cairnctl: the admin CLI (DESIGN §6). Sends one admin RPC to the controller
 * leader (ctl_session.h), then prints the answer or one error line;
 * 'topic describe' also asks the partition leaders for their replication
 * state (ctl_describe.h) within the same --timeout; the 'group' commands
 * run in ctl_groups.h.
 * Exit status: 0 success, 1 the operation failed, 2 usage error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "ctl_args.h"
#include "ctl_describe.h"
#include "ctl_groups.h"
#include "ctl_print.h"
#include "ctl_replicas.h"
#include "ctl_session.h"
#include "ctrl_client.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#define CTL_WHAT_MAX 320
#define CTL_NO_LEADER_PREFIX "no quorum: no controller leader reachable within "

/* The request, its RpcType, and how a failure is named. Strings point into
 * args; configs into the caller's arrays. */
typedef struct ctl_request {
    uint32_t type;
    const ProtobufCMessageDescriptor *response;
    bool is_write;
    char what[CTL_WHAT_MAX];
    union {
        Cairn__ClusterStatusRequest status;
        Cairn__CreateTopicRequest create;
        Cairn__DeleteTopicRequest del;
        Cairn__ListTopicsRequest list;
        Cairn__DescribeTopicRequest describe;
        Cairn__CreatePartitionsRequest alter;
        Cairn__ListBrokersRequest brokers;
    } msg;
    Cairn__ConfigEntry configs[CTL_CONFIGS_MAX];
    Cairn__ConfigEntry *config_ptrs[CTL_CONFIGS_MAX];
} ctl_request_t;

static void build_create(const ctl_args_t *a, ctl_request_t *rq)
{
    cairn__create_topic_request__init(&rq->msg.create);
    rq->msg.create.name = (char *)a->topic;
    rq->msg.create.partitions = a->partitions;
    rq->msg.create.replication_factor = a->replication_factor;
    for (size_t i = 0; i < a->n_configs; i++) {
        cairn__config_entry__init(&rq->configs[i]);
        rq->configs[i].name = (char *)a->configs[i].key;
        rq->configs[i].value = (char *)a->configs[i].value;
        rq->config_ptrs[i] = &rq->configs[i];
    }
    rq->msg.create.n_configs = a->n_configs;
    rq->msg.create.configs = a->n_configs ? rq->config_ptrs : NULL;
    rq->type = CAIRN__RPC_TYPE__RPC_CREATE_TOPIC;
    rq->response = &cairn__create_topic_response__descriptor;
    rq->is_write = true;
    snprintf(rq->what, sizeof rq->what, "create topic '%s'", a->topic);
}

/* Kafka's kafka-topics --alter --partitions: a CreatePartitions request. */
static void build_alter(const ctl_args_t *a, ctl_request_t *rq)
{
    cairn__create_partitions_request__init(&rq->msg.alter);
    rq->msg.alter.name = (char *)a->topic;
    rq->msg.alter.total_count = a->partitions;
    rq->type = CAIRN__RPC_TYPE__RPC_CREATE_PARTITIONS;
    rq->response = &cairn__create_partitions_response__descriptor;
    rq->is_write = true;
    snprintf(rq->what, sizeof rq->what, "alter topic '%s'", a->topic);
}

static void build_list_brokers(ctl_request_t *rq)
{
    cairn__list_brokers_request__init(&rq->msg.brokers);
    rq->type = CAIRN__RPC_TYPE__RPC_LIST_BROKERS;
    rq->response = &cairn__list_brokers_response__descriptor;
    snprintf(rq->what, sizeof rq->what, "list brokers");
}

static void build_request(const ctl_args_t *a, ctl_request_t *rq)
{
    memset(rq, 0, sizeof *rq);
    switch (a->cmd) {
    case CTL_CMD_CLUSTER_STATUS:
        cairn__cluster_status_request__init(&rq->msg.status);
        rq->type = CAIRN__RPC_TYPE__RPC_CLUSTER_STATUS;
        rq->response = &cairn__cluster_status_response__descriptor;
        snprintf(rq->what, sizeof rq->what, "cluster status");
        break;
    case CTL_CMD_TOPIC_CREATE:
        build_create(a, rq);
        break;
    case CTL_CMD_TOPIC_LIST:
        cairn__list_topics_request__init(&rq->msg.list);
        rq->type = CAIRN__RPC_TYPE__RPC_LIST_TOPICS;
        rq->response = &cairn__list_topics_response__descriptor;
        snprintf(rq->what, sizeof rq->what, "list topics");
        break;
    case CTL_CMD_TOPIC_DESCRIBE:
        cairn__describe_topic_request__init(&rq->msg.describe);
        rq->msg.describe.name = (char *)a->topic;
        rq->type = CAIRN__RPC_TYPE__RPC_DESCRIBE_TOPIC;
        rq->response = &cairn__describe_topic_response__descriptor;
        snprintf(rq->what, sizeof rq->what, "describe topic '%s'", a->topic);
        break;
    case CTL_CMD_TOPIC_DELETE:
        cairn__delete_topic_request__init(&rq->msg.del);
        rq->msg.del.name = (char *)a->topic;
        rq->type = CAIRN__RPC_TYPE__RPC_DELETE_TOPIC;
        rq->response = &cairn__delete_topic_response__descriptor;
        rq->is_write = true;
        snprintf(rq->what, sizeof rq->what, "delete topic '%s'", a->topic);
        break;
    case CTL_CMD_TOPIC_ALTER:
        build_alter(a, rq);
        break;
    case CTL_CMD_BROKER_LIST:
        build_list_brokers(rq);
        break;
    case CTL_CMD_GROUP_LIST:
    case CTL_CMD_GROUP_DESCRIBE:   /* ctl_groups_run */
    case CTL_CMD_HELP:
        break;
    }
}

/* A write is not resent after an attempt times out: had the leader been
 * merely slow, a second create would answer TOPIC_EXISTS for the caller's
 * own topic. So the leader is found first with a read (which may be retried
 * freely), and the write goes to it as one attempt with all the time left;
 * only a NOT_LEADER answer, which means it was not applied, moves it on. */
static int call_write(ctl_session_t *s, uint32_t timeout_ms, const ctl_request_t *rq,
                      ctl_result_t *res)
{
    Cairn__ClusterStatusRequest probe = CAIRN__CLUSTER_STATUS_REQUEST__INIT;
    if (ctl_call_once(s, CAIRN__RPC_TYPE__RPC_CLUSTER_STATUS, &probe.base, timeout_ms,
                      res) != 0 || res->err != 0)
        return res->done ? 0 : -1;
    uint32_t left_ms = ctl_time_left(s->deadline_ms);
    ctrl_client_set_attempt_timeout(s->cc, left_ms);
    if (ctl_call_once(s, rq->type, (const ProtobufCMessage *)&rq->msg, left_ms, res) != 0)
        return -1;
    /* Report the whole budget, not what was left for the second call. */
    const char *tail = strstr(res->why, " ms");
    if (res->err == CAIRN_ERR_NO_QUORUM && tail &&
        strncmp(res->why, CTL_NO_LEADER_PREFIX, strlen(CTL_NO_LEADER_PREFIX)) == 0) {
        char why[CTRL_CLIENT_WHY_MAX];
        snprintf(why, sizeof why, CTL_NO_LEADER_PREFIX "%u%s", timeout_ms, tail);
        snprintf(res->why, sizeof res->why, "%s", why);
    }
    return 0;
}

/* Runs one call of the command in a session of its own within timeout_ms;
 * see ctl_call_once for the result. */
static int run_call(const ctl_args_t *a, const ctl_request_t *rq, uint32_t timeout_ms,
                    ctl_result_t *res)
{
    ctl_session_t s;
    int rc = ctl_session_open(&s, a, timeout_ms, res->why, sizeof res->why);
    if (rc == 0 && rq->is_write)
        rc = call_write(&s, timeout_ms, rq, res);
    else if (rc == 0)
        rc = ctl_call_once(&s, rq->type, (const ProtobufCMessage *)&rq->msg, timeout_ms, res);
    ctl_session_close(&s);
    return rc;
}

/* Prints "cairnctl: WHAT: <Status message>" when the controller refused. */
static bool status_failed(const char *what, const Cairn__Status *st)
{
    if (!st || st->code == 0)
        return false;
    fprintf(stderr, "cairnctl: %s: %s\n", what, ctl_status_text(st));
    return true;
}

static int malformed(const char *what)
{
    fprintf(stderr, "cairnctl: %s: malformed response from the controller\n", what);
    return 1;
}

static int out_of_memory(const char *what)
{
    fprintf(stderr, "cairnctl: %s: %s\n", what, cairn_strerror(CAIRN_ERR_NOMEM));
    return 1;
}

/* The brokers and their replication addresses, or NULL after a warning:
 * the describe is then printed without the leaders' data. */
static Cairn__ListBrokersResponse *list_brokers(const ctl_args_t *a, uint64_t deadline_ms)
{
    uint32_t timeout_ms = ctl_time_left(deadline_ms);
    ctl_result_t res;
    memset(&res, 0, sizeof res);
    ctl_session_t s;
    Cairn__ListBrokersResponse *r = NULL;
    if (ctl_session_open(&s, a, timeout_ms, res.why, sizeof res.why) == 0)
        r = ctl_list_brokers(&s, timeout_ms, &res);
    ctl_session_close(&s);
    if (!r)
        fprintf(stderr, "cairnctl: warning: list brokers: %s; no high watermark or lag shown\n",
                res.why);
    return r;
}

/* The controller's answer (filtered by --under-replicated), then each
 * leader's high watermark and replica lag; a leader that does not answer
 * only loses its partitions those fields. */
static int render_describe(const ctl_args_t *a, const ctl_request_t *rq,
                           const Cairn__DescribeTopicResponse *r, uint64_t deadline_ms)
{
    if (!r->topic)
        return malformed(rq->what);
    ctl_topic_view_t v;
    if (ctl_topic_view_init(&v, r->topic, a->under_replicated) != 0)
        return out_of_memory(rq->what);
    bool any_leader = false;
    for (size_t i = 0; i < v.topic.n_partitions; i++)
        any_leader |= v.topic.partitions[i]->leader >= 0;
    Cairn__ListBrokersResponse *brokers = any_leader ? list_brokers(a, deadline_ms) : NULL;
    ctl_leader_states_t ls;
    int rc = ctl_leader_states_fetch(&v.topic, brokers, ctl_time_left(deadline_ms), &ls);
    if (rc == 0)
        rc = ctl_print_topic_replicas(stdout, r->topic, &v.topic, ls.states, a->json);
    ctl_leader_states_free(&ls);
    if (brokers)
        cairn__list_brokers_response__free_unpacked(brokers, NULL);
    ctl_topic_view_free(&v);
    return rc == 0 ? 0 : out_of_memory(rq->what);
}

static int render_topic_list(const ctl_args_t *a, const ctl_request_t *rq,
                             const Cairn__ListTopicsResponse *r)
{
    ctl_topics_view_t v;
    if (ctl_topics_view_init(&v, r, a->under_replicated) != 0)
        return out_of_memory(rq->what);
    int rc = ctl_print_topic_list(stdout, &v.list, a->json);
    ctl_topics_view_free(&v);
    return rc == 0 ? 0 : out_of_memory(rq->what);
}

/* Renders a decoded successful response; returns the exit status. */
static int render(const ctl_args_t *a, const ctl_request_t *rq, const ProtobufCMessage *m,
                  uint64_t deadline_ms)
{
    int rc = 0;
    switch (a->cmd) {
    case CTL_CMD_CLUSTER_STATUS:
        rc = ctl_print_cluster_status(stdout, (const Cairn__ClusterStatusResponse *)m, a->json);
        break;
    case CTL_CMD_TOPIC_CREATE:
        printf("Created topic %s.\n", a->topic);
        break;
    case CTL_CMD_TOPIC_DESCRIBE:
        return render_describe(a, rq, (const Cairn__DescribeTopicResponse *)m, deadline_ms);
    case CTL_CMD_TOPIC_DELETE:
        printf("Deleted topic %s.\n", a->topic);
        break;
    case CTL_CMD_TOPIC_ALTER: {
        /* The topic as committed, printed like 'topic describe'. */
        const Cairn__CreatePartitionsResponse *r = (const Cairn__CreatePartitionsResponse *)m;
        if (!r->topic)
            return malformed(rq->what);
        rc = ctl_print_topic(stdout, r->topic, a->json);
        break;
    }
    case CTL_CMD_TOPIC_LIST:
        return render_topic_list(a, rq, (const Cairn__ListTopicsResponse *)m);
    case CTL_CMD_BROKER_LIST:
        rc = ctl_print_broker_list(stdout, (const Cairn__ListBrokersResponse *)m, a->json);
        break;
    case CTL_CMD_GROUP_LIST:
    case CTL_CMD_GROUP_DESCRIBE:
    case CTL_CMD_HELP:
        break;
    }
    return rc == 0 ? 0 : out_of_memory(rq->what);
}

/* Checks the Status every response carries first, so a refusal is reported
 * the same way for every command, then decodes and renders the rest. */
static int print_response(const ctl_args_t *a, const ctl_request_t *rq, const ctl_result_t *res,
                          uint64_t deadline_ms)
{
    Cairn__Status *st;
    if (ctrl_client_parse_status(res->body, res->body_len, &st) != 0)
        return malformed(rq->what);
    bool failed = status_failed(rq->what, st);
    if (st)
        cairn__status__free_unpacked(st, NULL);
    if (failed)
        return 1;
    ProtobufCMessage *m = protobuf_c_message_unpack(rq->response, NULL, res->body_len, res->body);
    if (!m)
        return malformed(rq->what);
    int rc = render(a, rq, m, deadline_ms);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    cairn_log_init("cairnctl", 0, CAIRN_LOG_ERROR);
    ctl_env_t env = { getenv("CAIRN_CONTROLLERS"), getenv("CAIRN_BASE_PORT"),
                      getenv("CAIRN_TIMEOUT_MS") };
    ctl_args_t args;
    char err[512];
    if (ctl_args_parse(argc, argv, &env, &args, err, sizeof err) != 0) {
        fprintf(stderr, "cairnctl: %s (see cairnctl --help)\n", err);
        return 2;
    }
    if (args.cmd == CTL_CMD_HELP) {
        ctl_usage(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* A controller closing the socket mid-write must not kill the CLI. */
    signal(SIGPIPE, SIG_IGN);
    if (args.cmd == CTL_CMD_GROUP_LIST || args.cmd == CTL_CMD_GROUP_DESCRIBE)
        return ctl_groups_run(&args);
    ctl_request_t rq;
    build_request(&args, &rq);
    ctl_result_t res;
    memset(&res, 0, sizeof res);
    uint64_t deadline_ms = cairn_mono_ms() + args.timeout_ms;
    if (run_call(&args, &rq, args.timeout_ms, &res) != 0 || res.err != 0) {
        ctl_print_call_error(rq.what, &res);
        return 1;
    }
    int rc = print_response(&args, &rq, &res, deadline_ms);
    free(res.body);
    if (rc == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "cairnctl: writing the output failed\n");
        rc = 1;
    }
    return rc;
}
