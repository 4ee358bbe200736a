/* DescribeReplicas: a snapshot of the leader state of the partitions asked
 * about, built on the stack of one call — two passes over the replica set,
 * one to size the answer and one to fill it. */
#include "describe.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "replication.pb-c.h"
#include "timeutil.h"

/* The answer's storage: flat arrays the protobuf structs point into. */
typedef struct describe_buf {
    Cairn__PartitionReplicaState *parts;
    Cairn__PartitionReplicaState **part_ptrs;
    Cairn__FollowerReplicaState *followers;
    Cairn__FollowerReplicaState **follower_ptrs;
    size_t n_parts, n_followers;
    bool truncated;
} describe_buf_t;

/* Whether r is a partition the request asks about and this broker leads. */
static bool wanted(const replica_t *r, const Cairn__DescribeReplicasRequest *req)
{
    if (!r->leader || !r->log)
        return false;
    if (req->n_topics == 0)
        return true;
    for (size_t i = 0; i < req->n_topics; i++)
        if (req->topics[i] && strcmp(req->topics[i], r->topic) == 0)
            return true;
    return false;
}

/* Counts what the answer holds: at most DESCRIBE_PARTITIONS_MAX partitions. */
static void size_answer(replicas_t *rs, const Cairn__DescribeReplicasRequest *req,
                        describe_buf_t *b)
{
    size_t n = replicas_count(rs);
    for (size_t i = 0; i < n; i++) {
        const replica_t *r = replicas_at(rs, i);
        if (!wanted(r, req))
            continue;
        if (b->n_parts == DESCRIBE_PARTITIONS_MAX) {
            b->truncated = true;
            break;
        }
        b->n_parts++;
        b->n_followers += r->n_followers;
    }
}

static void fill_follower(const replica_follower_t *f, uint64_t now_ms,
                          Cairn__FollowerReplicaState *out)
{
    cairn__follower_replica_state__init(out);
    out->id = f->id;
    out->log_end_offset = f->leo;
    out->durable_offset = f->durable;
    out->since_caught_up_ms = now_ms > f->last_caught_up_ms ? now_ms - f->last_caught_up_ms : 0;
}

static void fill_partition(const replica_t *r, uint64_t now_ms, describe_buf_t *b,
                           size_t *next_follower)
{
    Cairn__PartitionReplicaState *p = &b->parts[b->n_parts];
    cairn__partition_replica_state__init(p);
    p->topic = r->topic;
    p->partition = r->partition;
    p->leader_epoch = r->leader_epoch;
    p->high_watermark = plog_high_watermark(r->log);
    p->log_start_offset = plog_start_offset(r->log);
    p->log_end_offset = plog_end_offset(r->log);
    p->followers = &b->follower_ptrs[*next_follower];
    for (size_t k = 0; k < r->n_followers; k++) {
        size_t at = (*next_follower)++;
        fill_follower(&r->followers[k], now_ms, &b->followers[at]);
        b->follower_ptrs[at] = &b->followers[at];
    }
    p->n_followers = r->n_followers;
    b->part_ptrs[b->n_parts++] = p;
}

/* Fills b, sized by size_answer. Returns 0, or -1 when out of memory. */
static int fill_answer(replicas_t *rs, const Cairn__DescribeReplicasRequest *req,
                       describe_buf_t *b)
{
    size_t want = b->n_parts, want_f = b->n_followers;
    b->parts = calloc(want ? want : 1, sizeof *b->parts);
    b->part_ptrs = calloc(want ? want : 1, sizeof *b->part_ptrs);
    b->followers = calloc(want_f ? want_f : 1, sizeof *b->followers);
    b->follower_ptrs = calloc(want_f ? want_f : 1, sizeof *b->follower_ptrs);
    if (!b->parts || !b->part_ptrs || !b->followers || !b->follower_ptrs)
        return -1;
    uint64_t now_ms = cairn_mono_ms();
    size_t next_follower = 0, n = replicas_count(rs);
    b->n_parts = 0;
    for (size_t i = 0; i < n && b->n_parts < want; i++) {
        const replica_t *r = replicas_at(rs, i);
        if (wanted(r, req))
            fill_partition(r, now_ms, b, &next_follower);
    }
    return 0;
}

static void reply_status(rpc_conn_t *conn, const rpc_frame_t *frame, int code, const char *msg)
{
    Cairn__DescribeReplicasResponse resp = CAIRN__DESCRIBE_REPLICAS_RESPONSE__INIT;
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    st.message = (char *)(msg ? msg : cairn_strerror(code));
    resp.status = &st;
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
}

void describe_replicas_answer(replicas_t *rs, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__DescribeReplicasRequest *req =
        cairn__describe_replicas_request__unpack(NULL, frame->body_len, frame->body);
    if (!req || req->n_topics > DESCRIBE_TOPICS_MAX) {
        LOG_WARN("replica", "malformed DescribeReplicas from %s", rpc_conn_peer(conn));
        reply_status(conn, frame, CAIRN_ERR_INVALID_REQUEST, "undecodable or oversized request");
        if (req)
            cairn__describe_replicas_request__free_unpacked(req, NULL);
        return;
    }
    describe_buf_t b = { 0 };
    size_answer(rs, req, &b);
    if (fill_answer(rs, req, &b) != 0) {
        reply_status(conn, frame, CAIRN_ERR_NOMEM, NULL);
    } else {
        Cairn__DescribeReplicasResponse resp = CAIRN__DESCRIBE_REPLICAS_RESPONSE__INIT;
        Cairn__Status st = CAIRN__STATUS__INIT;
        resp.status = &st;
        resp.partitions = b.part_ptrs;
        resp.n_partitions = b.n_parts;
        resp.truncated = b.truncated;
        (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    }
    free(b.parts);
    free(b.part_ptrs);
    free(b.followers);
    free(b.follower_ptrs);
    cairn__describe_replicas_request__free_unpacked(req, NULL);
}
