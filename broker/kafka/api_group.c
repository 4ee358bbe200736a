/* The group membership APIs: FindCoordinator (10), JoinGroup (11),
 * Heartbeat (12), LeaveGroup (13), SyncGroup (14), DescribeGroups (15),
 * ListGroups (16), DeleteGroups (42). Wire formats here; the protocol's
 * rules are the coordinator's (broker/group/). */
#include <string.h>

#include "coordinator.h"
#include "group_api.h"
#include "handlers.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "log.h"

#define DESCRIBE_GROUPS_MAX 1000u        /* per request */
#define LIST_GROUPS_MAX 100000u          /* per answer */
#define KEY_TYPE_GROUP 0

/* Kafka reports a client's host as "/<address>". */
static const char *client_host(kafka_call_t *call)
{
    const char *peer = kafka_conn_peer(call->req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    char *h = kafka_call_alloc(call, n + 2, 1);
    if (!h)
        return "";
    h[0] = '/';
    memcpy(h + 1, peer, n);
    return h;
}

static const char *client_id(const kafka_call_t *call)
{
    return call->hdr.client_id ? call->hdr.client_id : "";
}

/* ---- FindCoordinator ------------------------------------------------------------ */

static const char *const OFFSETS_TOPIC_CONFIGS[][2] = {
    /* No compaction yet: nothing may be deleted by age or size. */
    { "retention.ms", "-1" },
    { "retention.bytes", "-1" },
};

/* The coordinator's id and client endpoint, or the error for the client. */
static int16_t find_coordinator(broker_t *b, const char *group, uint32_t *id,
                                const md_endpoint_t **ep)
{
    const md_topic_t *t = md_image_topic(b->image, GROUP_OFFSETS_TOPIC);
    if (!t) {
        kafka_create_topic_once(b, GROUP_OFFSETS_TOPIC,
                                (int32_t)b->cfg->offsets_topic_num_partitions,
                                (int32_t)b->cfg->offsets_topic_replication_factor,
                                OFFSETS_TOPIC_CONFIGS,
                                sizeof OFFSETS_TOPIC_CONFIGS / sizeof OFFSETS_TOPIC_CONFIGS[0]);
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (t->n_partitions == 0)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    const md_partition_t *p = &t->partitions[group_partition_for(group,
                                                                 (int32_t)t->n_partitions)];
    const md_broker_t *mb = p->leader == MD_NO_LEADER ? NULL
                            : md_image_broker(b->image, (uint32_t)p->leader);
    const md_endpoint_t *live = mb ? kafka_live_endpoint(mb) : NULL;
    if (!live)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    *id = mb->id;
    *ep = live;
    return KAFKA_ERR_NONE;
}

void kafka_handle_FindCoordinator(kafka_call_t *call)
{
    kafka_FindCoordinatorRequest_t req;
    if (kafka_FindCoordinatorRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                            &req) != 0) {
        kafka_call_malformed(call, "malformed FindCoordinator");
        return;
    }
    kafka_FindCoordinatorResponse_t resp;
    kafka_FindCoordinatorResponse_init(&resp);
    resp.NodeId = -1;
    resp.Host = "";
    resp.Port = -1;
    uint32_t id = 0;
    const md_endpoint_t *ep = NULL;
    if (req.KeyType != KEY_TYPE_GROUP) {
        resp.ErrorCode = KAFKA_ERR_INVALID_REQUEST;
        resp.ErrorMessage = "only group coordinators are supported";
    } else {
        resp.ErrorCode = find_coordinator(call->b, req.Key, &id, &ep);
    }
    if (ep) {
        resp.NodeId = (int32_t)id;
        resp.Host = ep->host;
        resp.Port = ep->port;
    } else if (!resp.ErrorMessage) {
        resp.ErrorMessage = (char *)kafka_error_name(resp.ErrorCode);
    }
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_FindCoordinatorResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

/* ---- JoinGroup ------------------------------------------------------------------ */

static void on_joined(void *arg, const group_join_result_t *res)
{
    kafka_call_t *call = arg;
    kafka_JoinGroupResponse_t resp;
    kafka_JoinGroupResponse_init(&resp);
    resp.ErrorCode = res->error;
    resp.GenerationId = res->generation;
    resp.ProtocolName = (char *)res->protocol;
    resp.Leader = (char *)res->leader;
    resp.MemberId = (char *)res->member_id;
    resp.Members = kafka_call_alloc(call, res->n_members ? res->n_members : 1,
                                    sizeof *resp.Members);
    if (!resp.Members) {
        resp.ErrorCode = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        resp.Members_count = (int32_t)res->n_members;
        for (size_t i = 0; i < res->n_members; i++) {
            const group_member_view_t *m = &res->members[i];
            resp.Members[i].MemberId = (char *)m->member_id;
            resp.Members[i].GroupInstanceId = (char *)m->group_instance_id;
            resp.Members[i].Metadata.data = (uint8_t *)m->metadata;
            resp.Members[i].Metadata.len = (int32_t)m->metadata_len;
        }
    }
    /* The views are valid only now: encode before returning. */
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_JoinGroupResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

void kafka_handle_JoinGroup(kafka_call_t *call)
{
    kafka_JoinGroupRequest_t req;
    if (kafka_JoinGroupRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                      &req) != 0) {
        kafka_call_malformed(call, "malformed JoinGroup");
        return;
    }
    int32_t np = req.Protocols_count > 0 ? req.Protocols_count : 0;
    group_protocol_in_t *ps = kafka_call_alloc(call, np ? (size_t)np : 1, sizeof *ps);
    if (!ps) {
        kafka_call_malformed(call, "JoinGroup request too large");
        return;
    }
    for (int32_t i = 0; i < np; i++)
        ps[i] = (group_protocol_in_t){ req.Protocols[i].Name, req.Protocols[i].Metadata.data,
                                       req.Protocols[i].Metadata.len > 0
                                           ? (size_t)req.Protocols[i].Metadata.len : 0 };
    group_join_req_t jr = {
        .group_id = req.GroupId,
        .member_id = req.MemberId,
        .instance_id = req.GroupInstanceId,
        .protocol_type = req.ProtocolType,
        .protocols = ps,
        .n_protocols = (size_t)np,
        .session_timeout_ms = req.SessionTimeoutMs,
        .rebalance_timeout_ms = call->hdr.api_version >= 1 ? req.RebalanceTimeoutMs : -1,
        .client_id = client_id(call),
        .client_host = client_host(call),
    };
    group_coord_join(call->b->groups, &jr, on_joined, call);
}

/* ---- SyncGroup ------------------------------------------------------------------ */

static void on_synced(void *arg, int16_t error, const uint8_t *assignment, size_t len)
{
    kafka_call_t *call = arg;
    kafka_SyncGroupResponse_t resp;
    kafka_SyncGroupResponse_init(&resp);
    resp.ErrorCode = error;
    resp.Assignment.data = (uint8_t *)assignment;
    resp.Assignment.len = (int32_t)len;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_SyncGroupResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

void kafka_handle_SyncGroup(kafka_call_t *call)
{
    kafka_SyncGroupRequest_t req;
    if (kafka_SyncGroupRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                      &req) != 0) {
        kafka_call_malformed(call, "malformed SyncGroup");
        return;
    }
    int32_t na = req.Assignments_count > 0 ? req.Assignments_count : 0;
    group_assignment_in_t *as = kafka_call_alloc(call, na ? (size_t)na : 1, sizeof *as);
    if (!as) {
        kafka_call_malformed(call, "SyncGroup request too large");
        return;
    }
    for (int32_t i = 0; i < na; i++)
        as[i] = (group_assignment_in_t){ req.Assignments[i].MemberId,
                                         req.Assignments[i].Assignment.data,
                                         req.Assignments[i].Assignment.len > 0
                                             ? (size_t)req.Assignments[i].Assignment.len : 0 };
    group_sync_req_t sr = {
        .group_id = req.GroupId,
        .member_id = req.MemberId,
        .instance_id = req.GroupInstanceId,
        .generation = req.GenerationId,
        .assignments = as,
        .n_assignments = (size_t)na,
    };
    group_coord_sync_group(call->b->groups, &sr, on_synced, call);
}

/* ---- Heartbeat, LeaveGroup -------------------------------------------------------- */

void kafka_handle_Heartbeat(kafka_call_t *call)
{
    kafka_HeartbeatRequest_t req;
    if (kafka_HeartbeatRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                      &req) != 0) {
        kafka_call_malformed(call, "malformed Heartbeat");
        return;
    }
    kafka_HeartbeatResponse_t resp;
    kafka_HeartbeatResponse_init(&resp);
    resp.ErrorCode = group_coord_heartbeat(call->b->groups, req.GroupId, req.MemberId,
                                           req.GroupInstanceId, req.GenerationId);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_HeartbeatResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

void kafka_handle_LeaveGroup(kafka_call_t *call)
{
    kafka_LeaveGroupRequest_t req;
    if (kafka_LeaveGroupRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                       &req) != 0) {
        kafka_call_malformed(call, "malformed LeaveGroup");
        return;
    }
    kafka_LeaveGroupResponse_t resp;
    kafka_LeaveGroupResponse_init(&resp);
    resp.ErrorCode = group_coord_leave(call->b->groups, req.GroupId, req.MemberId);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_LeaveGroupResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

/* ---- DescribeGroups, ListGroups ------------------------------------------------------ */

/* Fills out from the coordinator's view of group, which v keeps valid
 * until it is released (after the response is encoded). */
static int describe_one(kafka_call_t *call, const char *group, group_view_t *v,
                        kafka_DescribeGroupsResponse_DescribedGroup_t *out)
{
    out->GroupId = (char *)group;
    out->GroupState = "Dead";
    out->ProtocolType = "";
    out->ProtocolData = "";
    out->ErrorCode = group_coord_describe(call->b->groups, group, v);
    if (out->ErrorCode != KAFKA_ERR_NONE)
        return 0;
    out->GroupState = (char *)v->state;
    out->ProtocolType = (char *)v->protocol_type;
    out->ProtocolData = (char *)v->protocol;
    out->Members = kafka_call_alloc(call, v->n_members ? v->n_members : 1,
                                    sizeof *out->Members);
    if (!out->Members)
        return -1;
    out->Members_count = (int32_t)v->n_members;
    for (size_t i = 0; i < v->n_members; i++) {
        const group_member_view_t *m = &v->members[i];
        kafka_DescribeGroupsResponse_DescribedGroupMember_t *dm = &out->Members[i];
        dm->MemberId = (char *)m->member_id;
        dm->GroupInstanceId = (char *)m->group_instance_id;
        dm->ClientId = (char *)m->client_id;
        dm->ClientHost = (char *)m->client_host;
        dm->MemberMetadata.data = (uint8_t *)m->metadata;
        dm->MemberMetadata.len = (int32_t)m->metadata_len;
        dm->MemberAssignment.data = (uint8_t *)m->assignment;
        dm->MemberAssignment.len = (int32_t)m->assignment_len;
    }
    return 0;
}

void kafka_handle_DescribeGroups(kafka_call_t *call)
{
    kafka_DescribeGroupsRequest_t req;
    if (kafka_DescribeGroupsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                           &req) != 0) {
        kafka_call_malformed(call, "malformed DescribeGroups");
        return;
    }
    int32_t n = req.Groups_count > 0 ? req.Groups_count : 0;
    if ((uint32_t)n > DESCRIBE_GROUPS_MAX) {
        kafka_call_malformed(call, "DescribeGroups names too many groups");
        return;
    }
    kafka_DescribeGroupsResponse_t resp;
    kafka_DescribeGroupsResponse_init(&resp);
    resp.Groups = kafka_call_alloc(call, n ? (size_t)n : 1, sizeof *resp.Groups);
    group_view_t *views = kafka_call_alloc(call, n ? (size_t)n : 1, sizeof *views);
    bool ok = resp.Groups && views;
    resp.Groups_count = n;
    for (int32_t i = 0; ok && i < n; i++) {
        kafka_DescribeGroupsResponse_DescribedGroup_init(&resp.Groups[i]);
        if (describe_one(call, req.Groups[i], &views[i], &resp.Groups[i]) != 0)
            ok = false;
    }
    if (ok) {
        kafka_wr_t *w = kafka_call_begin_reply(call);
        kafka_DescribeGroupsResponse_encode(w, call->hdr.api_version, &resp);
    }
    for (int32_t i = 0; views && i < n; i++)
        if (views[i].owned)            /* zeroed unless group_coord_describe filled it */
            group_view_release(&views[i]);
    if (!ok) {
        kafka_call_malformed(call, "DescribeGroups answer too large");
        return;
    }
    kafka_call_reply(call);
}

void kafka_handle_ListGroups(kafka_call_t *call)
{
    kafka_ListGroupsRequest_t req;
    if (kafka_ListGroupsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                       &req) != 0) {
        kafka_call_malformed(call, "malformed ListGroups");
        return;
    }
    kafka_ListGroupsResponse_t resp;
    kafka_ListGroupsResponse_init(&resp);
    size_t n = group_coord_list(call->b->groups, NULL, 0);
    if (n > LIST_GROUPS_MAX)
        n = LIST_GROUPS_MAX;
    group_listing_t *ls = kafka_call_alloc(call, n ? n : 1, sizeof *ls);
    resp.Groups = kafka_call_alloc(call, n ? n : 1, sizeof *resp.Groups);
    if (!ls || !resp.Groups) {
        kafka_call_malformed(call, "ListGroups answer too large");
        return;
    }
    if (n) {
        size_t total = group_coord_list(call->b->groups, ls, n);
        if (total < n)
            n = total;
    }
    resp.Groups_count = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        resp.Groups[i].GroupId = (char *)ls[i].group_id;
        resp.Groups[i].ProtocolType = (char *)ls[i].protocol_type;
    }
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_ListGroupsResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

/* ---- DeleteGroups ---------------------------------------------------------------- */

typedef struct delete_groups {
    kafka_call_t *call;
    kafka_DeleteGroupsResponse_t resp;
    size_t pending;                    /* groups being deleted, +1 while building */
} delete_groups_t;

typedef struct delete_one {
    delete_groups_t *dg;
    kafka_DeleteGroupsResponse_DeletableGroupResult_t *out;
} delete_one_t;

static void delete_groups_answer(delete_groups_t *dg)
{
    kafka_call_t *call = dg->call;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_DeleteGroupsResponse_encode(w, call->hdr.api_version, &dg->resp);
    kafka_call_reply(call);            /* frees dg (the call's arena) */
}

static void delete_groups_unref(delete_groups_t *dg)
{
    if (--dg->pending == 0)
        delete_groups_answer(dg);
}

static void on_group_deleted(void *arg, int16_t error)
{
    delete_one_t *one = arg;
    one->out->ErrorCode = error;
    delete_groups_unref(one->dg);
}

void kafka_handle_DeleteGroups(kafka_call_t *call)
{
    kafka_DeleteGroupsRequest_t req;
    if (kafka_DeleteGroupsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                         &req) != 0) {
        kafka_call_malformed(call, "malformed DeleteGroups");
        return;
    }
    int32_t n = req.GroupsNames_count > 0 ? req.GroupsNames_count : 0;
    delete_groups_t *dg = kafka_call_alloc(call, 1, sizeof *dg);
    delete_one_t *ones = kafka_call_alloc(call, n ? (size_t)n : 1, sizeof *ones);
    if (dg) {
        kafka_DeleteGroupsResponse_init(&dg->resp);
        dg->resp.Results = kafka_call_alloc(call, n ? (size_t)n : 1, sizeof *dg->resp.Results);
    }
    if (!dg || !ones || !dg->resp.Results) {
        kafka_call_malformed(call, "DeleteGroups request too large");
        return;
    }
    dg->call = call;
    dg->resp.Results_count = n;
    dg->pending = 1;
    for (int32_t i = 0; i < n; i++) {
        dg->resp.Results[i].GroupId = req.GroupsNames[i];
        ones[i] = (delete_one_t){ dg, &dg->resp.Results[i] };
        dg->pending++;
        group_coord_delete(call->b->groups, req.GroupsNames[i], on_group_deleted, &ones[i]);
    }
    delete_groups_unref(dg);
}
