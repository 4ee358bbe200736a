/* Committed offsets on the wire: OffsetCommit (8), OffsetFetch (9) and
 * OffsetDelete (47). The rules are the coordinator's (broker/group/). */
#include <string.h>

#include "coordinator.h"
#include "group_api.h"
#include "handlers.h"
#include "kafka_error.h"
#include "kafka_messages.h"

/* ---- OffsetCommit ---------------------------------------------------------------- */

typedef struct commit {
    kafka_call_t *call;
    kafka_OffsetCommitResponse_t resp;
    group_commit_part_t *parts;        /* flattened, in request order */
} commit_t;

static void on_committed(void *arg)
{
    commit_t *c = arg;
    kafka_call_t *call = c->call;
    size_t k = 0;
    for (int32_t i = 0; i < c->resp.Topics_count; i++)
        for (int32_t j = 0; j < c->resp.Topics[i].Partitions_count; j++)
            c->resp.Topics[i].Partitions[j].ErrorCode = c->parts[k++].error;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_OffsetCommitResponse_encode(w, call->hdr.api_version, &c->resp);
    kafka_call_reply(call);            /* frees c (the call's arena) */
}

static int build_commit(kafka_call_t *call, const kafka_OffsetCommitRequest_t *req, commit_t *c,
                        size_t *n_parts)
{
    int32_t nt = req->Topics_count > 0 ? req->Topics_count : 0;
    size_t total = 0;
    for (int32_t i = 0; i < nt; i++)
        total += req->Topics[i].Partitions_count > 0 ? (size_t)req->Topics[i].Partitions_count : 0;
    c->resp.Topics = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *c->resp.Topics);
    c->parts = kafka_call_alloc(call, total ? total : 1, sizeof *c->parts);
    if (!c->resp.Topics || !c->parts)
        return -1;
    c->resp.Topics_count = nt;
    size_t k = 0;
    for (int32_t i = 0; i < nt; i++) {
        const kafka_OffsetCommitRequest_OffsetCommitRequestTopic_t *t = &req->Topics[i];
        int32_t np = t->Partitions_count > 0 ? t->Partitions_count : 0;
        c->resp.Topics[i].Name = t->Name;
        c->resp.Topics[i].Partitions = kafka_call_alloc(call, np ? (size_t)np : 1,
                                                        sizeof *c->resp.Topics[i].Partitions);
        if (!c->resp.Topics[i].Partitions)
            return -1;
        c->resp.Topics[i].Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            const kafka_OffsetCommitRequest_OffsetCommitRequestPartition_t *p = &t->Partitions[j];
            c->resp.Topics[i].Partitions[j].PartitionIndex = p->PartitionIndex;
            c->parts[k++] = (group_commit_part_t){ t->Name, p->PartitionIndex,
                                                   p->CommittedOffset, p->CommittedLeaderEpoch,
                                                   p->CommittedMetadata, KAFKA_ERR_NONE };
        }
    }
    *n_parts = k;
    return 0;
}

void kafka_handle_OffsetCommit(kafka_call_t *call)
{
    kafka_OffsetCommitRequest_t req;
    if (kafka_OffsetCommitRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                         &req) != 0) {
        kafka_call_malformed(call, "malformed OffsetCommit");
        return;
    }
    commit_t *c = kafka_call_alloc(call, 1, sizeof *c);
    size_t n = 0;
    if (c)
        kafka_OffsetCommitResponse_init(&c->resp);
    if (!c || build_commit(call, &req, c, &n) != 0) {
        kafka_call_malformed(call, "OffsetCommit request too large");
        return;
    }
    c->call = call;
    group_commit_req_t cr = {
        .group_id = req.GroupId,
        .member_id = call->hdr.api_version >= 1 ? req.MemberId : "",
        .instance_id = req.GroupInstanceId,
        .generation = call->hdr.api_version >= 1 ? req.GenerationIdOrMemberEpoch : -1,
        .parts = c->parts,
        .n_parts = n,
    };
    group_coord_commit(call->b->groups, &cr, on_committed, c);
}

/* ---- OffsetFetch ------------------------------------------------------------------ */

static void fill_fetched(kafka_OffsetFetchResponse_OffsetFetchResponsePartition_t *out,
                         int32_t partition, int16_t err, const group_offset_view_t *o)
{
    out->PartitionIndex = partition;
    out->ErrorCode = err;
    out->CommittedOffset = err == KAFKA_ERR_NONE ? o->offset : -1;
    out->CommittedLeaderEpoch = err == KAFKA_ERR_NONE ? o->leader_epoch : -1;
    out->Metadata = err == KAFKA_ERR_NONE ? (char *)o->metadata : "";
}

/* The partitions the request names; err (the group's routing) on each
 * when it is not NONE. */
static int fetch_listed(kafka_call_t *call, const kafka_OffsetFetchRequest_t *req, int16_t err,
                        kafka_OffsetFetchResponse_t *resp)
{
    int32_t nt = req->Topics_count > 0 ? req->Topics_count : 0;
    resp->Topics = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *resp->Topics);
    if (!resp->Topics)
        return -1;
    resp->Topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        const kafka_OffsetFetchRequest_OffsetFetchRequestTopic_t *t = &req->Topics[i];
        int32_t np = t->PartitionIndexes_count > 0 ? t->PartitionIndexes_count : 0;
        kafka_OffsetFetchResponse_OffsetFetchResponseTopic_t *rt = &resp->Topics[i];
        rt->Name = t->Name;
        rt->Partitions = kafka_call_alloc(call, np ? (size_t)np : 1, sizeof *rt->Partitions);
        if (!rt->Partitions)
            return -1;
        rt->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            group_offset_view_t o;
            int16_t perr = err != KAFKA_ERR_NONE ? err
                         : group_coord_fetch_offset(call->b->groups, req->GroupId, t->Name,
                                                    t->PartitionIndexes[j], &o);
            fill_fetched(&rt->Partitions[j], t->PartitionIndexes[j], perr, &o);
        }
    }
    return 0;
}

/* Every committed offset of the group (v2+, null topics), grouped by topic:
 * the view is sorted by (topic, partition). The response points into v,
 * which the caller releases once it is encoded. */
static int fetch_all(kafka_call_t *call, const group_view_t *v, kafka_OffsetFetchResponse_t *resp)
{
    size_t nt = 0;
    for (size_t i = 0; i < v->n_offsets; i++)
        nt += i == 0 || strcmp(v->offsets[i].topic, v->offsets[i - 1].topic) != 0;
    resp->Topics = kafka_call_alloc(call, nt ? nt : 1, sizeof *resp->Topics);
    if (!resp->Topics)
        return -1;
    resp->Topics_count = (int32_t)nt;
    size_t t = 0;
    for (size_t i = 0; i < v->n_offsets;) {
        size_t j = i;
        while (j < v->n_offsets && strcmp(v->offsets[j].topic, v->offsets[i].topic) == 0)
            j++;
        kafka_OffsetFetchResponse_OffsetFetchResponseTopic_t *rt = &resp->Topics[t++];
        rt->Name = (char *)v->offsets[i].topic;
        rt->Partitions = kafka_call_alloc(call, j - i, sizeof *rt->Partitions);
        if (!rt->Partitions)
            return -1;
        rt->Partitions_count = (int32_t)(j - i);
        for (size_t k = i; k < j; k++)
            fill_fetched(&rt->Partitions[k - i], v->offsets[k].partition, KAFKA_ERR_NONE,
                         &v->offsets[k]);
        i = j;
    }
    return 0;
}

void kafka_handle_OffsetFetch(kafka_call_t *call)
{
    kafka_OffsetFetchRequest_t req;
    if (kafka_OffsetFetchRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                        &req) != 0) {
        kafka_call_malformed(call, "malformed OffsetFetch");
        return;
    }
    kafka_OffsetFetchResponse_t resp;
    kafka_OffsetFetchResponse_init(&resp);
    int16_t v = call->hdr.api_version;
    int16_t err = group_coord_check(call->b->groups, req.GroupId);
    group_view_t view = {0};
    int rc = 0;
    if (err != KAFKA_ERR_NONE && v >= 2) {
        resp.ErrorCode = err;          /* v2+: one error for the whole request */
    } else if (req.Topics_count >= 0) {
        rc = fetch_listed(call, &req, err, &resp);   /* v0-1: errors on every partition */
    } else if ((resp.ErrorCode = group_coord_describe(call->b->groups, req.GroupId, &view)) ==
               KAFKA_ERR_NONE) {
        rc = fetch_all(call, &view, &resp);
    }
    if (rc == 0) {
        kafka_wr_t *w = kafka_call_begin_reply(call);
        kafka_OffsetFetchResponse_encode(w, v, &resp);
    }
    if (view.owned)
        group_view_release(&view);
    if (rc != 0) {
        kafka_call_malformed(call, "OffsetFetch answer too large");
        return;
    }
    kafka_call_reply(call);
}

/* ---- OffsetDelete ----------------------------------------------------------------- */

typedef struct offset_delete {
    kafka_call_t *call;
    kafka_OffsetDeleteResponse_t resp;
    group_offset_delete_part_t *parts;
} offset_delete_t;

static void on_offsets_deleted(void *arg, int16_t error)
{
    offset_delete_t *od = arg;
    kafka_call_t *call = od->call;
    od->resp.ErrorCode = error;
    if (error != KAFKA_ERR_NONE) {
        od->resp.Topics_count = 0;     /* a group error comes without topics */
    } else {
        size_t k = 0;
        for (int32_t i = 0; i < od->resp.Topics_count; i++)
            for (int32_t j = 0; j < od->resp.Topics[i].Partitions_count; j++)
                od->resp.Topics[i].Partitions[j].ErrorCode = od->parts[k++].error;
    }
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_OffsetDeleteResponse_encode(w, call->hdr.api_version, &od->resp);
    kafka_call_reply(call);            /* frees od (the call's arena) */
}

void kafka_handle_OffsetDelete(kafka_call_t *call)
{
    kafka_OffsetDeleteRequest_t req;
    if (kafka_OffsetDeleteRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                         &req) != 0) {
        kafka_call_malformed(call, "malformed OffsetDelete");
        return;
    }
    int32_t nt = req.Topics_count > 0 ? req.Topics_count : 0;
    size_t total = 0;
    for (int32_t i = 0; i < nt; i++)
        total += req.Topics[i].Partitions_count > 0 ? (size_t)req.Topics[i].Partitions_count : 0;
    offset_delete_t *od = kafka_call_alloc(call, 1, sizeof *od);
    if (od) {
        kafka_OffsetDeleteResponse_init(&od->resp);
        od->resp.Topics = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *od->resp.Topics);
        od->parts = kafka_call_alloc(call, total ? total : 1, sizeof *od->parts);
    }
    bool ok = od && od->resp.Topics && od->parts;
    size_t k = 0;
    for (int32_t i = 0; ok && i < nt; i++) {
        int32_t np = req.Topics[i].Partitions_count > 0 ? req.Topics[i].Partitions_count : 0;
        kafka_OffsetDeleteResponse_OffsetDeleteResponseTopic_t *rt = &od->resp.Topics[i];
        rt->Name = req.Topics[i].Name;
        rt->Partitions = kafka_call_alloc(call, np ? (size_t)np : 1, sizeof *rt->Partitions);
        if (!rt->Partitions) {
            ok = false;
            break;
        }
        rt->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            int32_t p = req.Topics[i].Partitions[j].PartitionIndex;
            rt->Partitions[j].PartitionIndex = p;
            od->parts[k++] = (group_offset_delete_part_t){ req.Topics[i].Name, p,
                                                           KAFKA_ERR_NONE };
        }
    }
    if (!ok) {
        kafka_call_malformed(call, "OffsetDelete request too large");
        return;
    }
    od->resp.Topics_count = nt;
    od->call = call;
    group_coord_offset_delete(call->b->groups, req.GroupId, od->parts, k, on_offsets_deleted,
                              od);
}
