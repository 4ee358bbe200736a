/* DescribeReplicas to every distinct leader of a topic at once
 * (ctl_broker_client.h); then each partition is matched with its leader's
 * answer. */
#include "ctl_describe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ctl_broker_client.h"
#include "ctl_replicas.h"
#include "errors.h"
#include "rpc.pb-c.h"

#define CTL_LEADER_QUERY_MS_MAX 2000u   /* per leader, within --timeout */

#define CTL_PARTITION_LIST_MAX 200   /* bytes of partition numbers in a warning */

/* The distinct leaders of t, in order of first appearance; none without
 * the broker list (the caller has warned). */
static size_t collect_leaders(const Cairn__TopicDescription *t,
                              const Cairn__ListBrokersResponse *brokers, ctl_broker_call_t *calls)
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
        calls[n].broker = ctl_find_broker(brokers, id);
        n++;
    }
    return n;
}

/* Asks every leader at once on a private loop, then judges the answers. */
static void run_calls(ctl_broker_call_t *calls, size_t n, const char *topic, uint32_t timeout_ms)
{
    struct event_base *base = event_base_new();
    if (!base) {
        for (size_t i = 0; i < n; i++)
            ctl_broker_call_fail(&calls[i], CAIRN_ERR_NOMEM, "cannot create an event loop");
        return;
    }
    Cairn__DescribeReplicasRequest req = CAIRN__DESCRIBE_REPLICAS_REQUEST__INIT;
    char *topics[1] = { (char *)topic };
    req.n_topics = 1;
    req.topics = topics;
    ctl_broker_calls_run(base, calls, n, CAIRN__RPC_TYPE__RPC_DESCRIBE_REPLICAS, &req.base,
                         timeout_ms);
    event_base_free(base);
    for (size_t i = 0; i < n; i++) {
        if (!ctl_broker_call_decode(&calls[i], &cairn__describe_replicas_response__descriptor))
            continue;
        const Cairn__Status *st = ((Cairn__DescribeReplicasResponse *)calls[i].answer)->status;
        if (st && st->code != 0)
            ctl_broker_call_fail(&calls[i], st->code, st->message);
    }
}

/* The leader's answer, when it gave one. */
static const Cairn__DescribeReplicasResponse *answer_of(const ctl_broker_call_t *lc)
{
    return lc->err == 0 ? (const Cairn__DescribeReplicasResponse *)lc->answer : NULL;
}

/* Matches lc's partitions with its answer; one warning line if some are
 * missing from it, or if it did not answer at all. */
static void match_leader(const Cairn__TopicDescription *t, const ctl_broker_call_t *lc,
                         const Cairn__PartitionReplicaState **states)
{
    char missing[CTL_PARTITION_LIST_MAX] = "";
    size_t used = 0, n_missing = 0;
    for (size_t i = 0; i < t->n_partitions; i++) {
        const Cairn__PartitionDescription *p = t->partitions[i];
        if (p->leader != lc->id)
            continue;
        states[i] = answer_of(lc) ? ctl_find_replica_state(answer_of(lc), t->name, p) : NULL;
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
    const char *addr = ctl_broker_address(lc->broker);
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
    ctl_broker_calls_free(ls->calls, ls->n_calls);
    free(ls->states);
    memset(ls, 0, sizeof *ls);
}
