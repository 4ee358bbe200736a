/* DescribeReplicas fan-out: one rpc_client per distinct leader, every call
 * sent at once and bounded by the same timeout, the loop run until each has
 * ended; then each partition is matched with its leader's answer. */
#include "ctl_describe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "ctl_broker_client.h"
#include "ctl_replicas.h"
#include "errors.h"
#include "rpc.h"
#include "rpc.pb-c.h"

#define CTL_LEADER_QUERY_MS_MAX 2000u   /* per leader, within --timeout */

#define CTL_WHY_MAX 256
#define CTL_PARTITION_LIST_MAX 200   /* bytes of partition numbers in a warning */

struct ctl_leader_call {
    int32_t id;                               /* leader broker id */
    const Cairn__BrokerStatus *broker;        /* borrowed; NULL: not registered */
    rpc_client_t *client;
    bool pending;
    int err;                                  /* 0: resp holds an OK answer */
    char why[CTL_WHY_MAX];
    Cairn__DescribeReplicasResponse *resp;    /* owned */
    size_t *n_pending;                        /* the fan-out's counter */
    struct event_base *base;
};

static void set_why(ctl_leader_call_t *lc, int err, const char *why)
{
    lc->err = err;
    snprintf(lc->why, sizeof lc->why, "%s", why && why[0] ? why : cairn_strerror(err));
}

static void on_answer(int err, const uint8_t *body, size_t body_len, const uint8_t *payload,
                      size_t payload_len, void *arg)
{
    (void)payload;
    (void)payload_len;
    ctl_leader_call_t *lc = arg;
    lc->pending = false;
    if (err != 0) {
        set_why(lc, err, err == CAIRN_ERR_DISCONNECTED ? "connection failed or lost" : NULL);
    } else if (!(lc->resp = cairn__describe_replicas_response__unpack(NULL, body_len, body))) {
        set_why(lc, CAIRN_ERR_CORRUPT, "malformed answer");
    } else if (lc->resp->status && lc->resp->status->code != 0) {
        set_why(lc, lc->resp->status->code, lc->resp->status->message);
        cairn__describe_replicas_response__free_unpacked(lc->resp, NULL);
        lc->resp = NULL;
    }
    if (--*lc->n_pending == 0)
        event_base_loopbreak(lc->base);
}

static const Cairn__BrokerStatus *find_broker(const Cairn__ListBrokersResponse *brokers,
                                              int32_t id)
{
    for (size_t i = 0; brokers && i < brokers->n_brokers; i++)
        if ((int64_t)brokers->brokers[i]->id == id)
            return brokers->brokers[i];
    return NULL;
}

/* The distinct leaders of t, in order of first appearance; none without
 * the broker list (the caller has warned). */
static size_t collect_leaders(const Cairn__TopicDescription *t,
                              const Cairn__ListBrokersResponse *brokers, ctl_leader_call_t *calls)
{
    size_t n = 0;
    for (size_t i = 0; brokers && i < t->n_partitions; i++) {
        int32_t id = t->partitions[i]->leader;
        bool seen = id < 0;
        for (size_t k = 0; !seen && k < n; k++)
            seen = calls[k].id == id;
        if (seen)
            continue;
        calls[n].id = id;
        calls[n].broker = find_broker(brokers, id);
        n++;
    }
    return n;
}

/* Sends lc's request; on failure lc ends at once with why set. */
static void start_call(ctl_leader_call_t *lc, struct event_base *base, const char *topic,
                       uint32_t timeout_ms, size_t *n_pending)
{
    if (!lc->broker) {
        set_why(lc, CAIRN_ERR_UNKNOWN, "not a registered broker");
        return;
    }
    const char *why = NULL;
    lc->client = ctl_broker_client(base, lc->broker->replication_address, timeout_ms, &why);
    if (!lc->client) {
        set_why(lc, CAIRN_ERR_UNKNOWN, why);
        return;
    }
    Cairn__DescribeReplicasRequest req = CAIRN__DESCRIBE_REPLICAS_REQUEST__INIT;
    char *topics[1] = { (char *)topic };
    req.n_topics = 1;
    req.topics = topics;
    lc->base = base;
    lc->n_pending = n_pending;
    int rc = rpc_client_call(lc->client, CAIRN__RPC_TYPE__RPC_DESCRIBE_REPLICAS, &req.base,
                             timeout_ms, on_answer, lc);
    if (rc != 0) {
        set_why(lc, rc, NULL);
        return;
    }
    lc->pending = true;
    (*n_pending)++;
}

/* Runs every call to its end, then frees the clients (and the loop). */
static void run_calls(ctl_leader_call_t *calls, size_t n, const char *topic, uint32_t timeout_ms)
{
    struct event_base *base = event_base_new();
    if (!base) {
        for (size_t i = 0; i < n; i++)
            set_why(&calls[i], CAIRN_ERR_NOMEM, "cannot create an event loop");
        return;
    }
    size_t n_pending = 0;
    for (size_t i = 0; i < n; i++)
        start_call(&calls[i], base, topic, timeout_ms, &n_pending);
    while (n_pending > 0 && event_base_dispatch(base) == 0)
        ;
    for (size_t i = 0; i < n; i++) {
        rpc_client_free(calls[i].client);   /* a call still pending ends CANCELLED */
        calls[i].client = NULL;
    }
    event_base_free(base);
}

/* Matches lc's partitions with its answer; one warning line if some are
 * missing from it, or if it did not answer at all. */
static void match_leader(const Cairn__TopicDescription *t, const ctl_leader_call_t *lc,
                         const Cairn__PartitionReplicaState **states)
{
    char missing[CTL_PARTITION_LIST_MAX] = "";
    size_t used = 0, n_missing = 0;
    for (size_t i = 0; i < t->n_partitions; i++) {
        const Cairn__PartitionDescription *p = t->partitions[i];
        if (p->leader != lc->id)
            continue;
        states[i] = lc->err == 0 ? ctl_find_replica_state(lc->resp, t->name, p) : NULL;
        if (lc->err != 0 || states[i])
            continue;
        n_missing++;
        int w = snprintf(missing + used, sizeof missing - used, "%s%u", used ? "," : "",
                         p->partition);
        if (w > 0 && (size_t)w < sizeof missing - used)
            used += (size_t)w;
        else if (used + 4 <= sizeof missing)
            snprintf(missing + used, sizeof missing - used, "...");
    }
    const char *addr = lc->broker && lc->broker->replication_address &&
                       lc->broker->replication_address[0]
                       ? lc->broker->replication_address : "-";
    if (lc->err != 0)
        fprintf(stderr, "cairnctl: warning: leader broker %d (%s) did not answer: %s; its "
                "partitions show no high watermark or lag\n", lc->id, addr, lc->why);
    else if (n_missing > 0)
        fprintf(stderr, "cairnctl: warning: broker %d does not report leading partition%s %s "
                "at the controller's leader epoch; no high watermark or lag shown for %s\n",
                lc->id, n_missing > 1 ? "s" : "", missing, n_missing > 1 ? "them" : "it");
}

int ctl_leader_states_fetch(const Cairn__TopicDescription *t,
                            const Cairn__ListBrokersResponse *brokers, uint32_t timeout_ms,
                            ctl_leader_states_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = t->n_partitions ? t->n_partitions : 1;
    out->states = calloc(n, sizeof *out->states);
    out->calls = calloc(n, sizeof *out->calls);
    if (!out->states || !out->calls)
        return -1;
    out->n_calls = collect_leaders(t, brokers, out->calls);
    /* A live leader answers in milliseconds; a paused one must not hold the
     * whole describe for the command's timeout. */
    if (timeout_ms == 0 || timeout_ms > CTL_LEADER_QUERY_MS_MAX)
        timeout_ms = timeout_ms ? CTL_LEADER_QUERY_MS_MAX : 1;
    run_calls(out->calls, out->n_calls, t->name, timeout_ms);
    for (size_t i = 0; i < out->n_calls; i++)
        match_leader(t, &out->calls[i], out->states);
    return 0;
}

void ctl_leader_states_free(ctl_leader_states_t *ls)
{
    for (size_t i = 0; ls->calls && i < ls->n_calls; i++)
        if (ls->calls[i].resp)
            cairn__describe_replicas_response__free_unpacked(ls->calls[i].resp, NULL);
    free(ls->calls);
    free(ls->states);
    memset(ls, 0, sizeof *ls);
}
