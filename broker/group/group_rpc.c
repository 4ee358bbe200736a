/* ListGroups / DescribeGroup: the coordinator's views copied into flat
 * arrays the protobuf structs point into (strings and partition lists stay
 * borrowed from the view), packed and answered before control returns to
 * the loop, while the view is still valid. */
#include "group_rpc.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "group.pb-c.h"
#include "kafka_error.h"
#include "log.h"

/* Tag and length prefix of one embedded message, at most. */
#define GROUP_RPC_ITEM_OVERHEAD 6u

/* protobuf-c wants char *; the views hand out const strings it only reads. */
static char *str(const char *s)
{
    return (char *)(s ? s : "");
}

/* Counts an item of item_bytes against the answer's budget: false (and
 * *truncated) when it does not fit. */
static bool fits(size_t *bytes, size_t item_bytes, bool *truncated)
{
    if (*bytes + item_bytes + GROUP_RPC_ITEM_OVERHEAD > GROUP_RPC_ANSWER_BYTES_MAX) {
        *truncated = true;
        return false;
    }
    *bytes += item_bytes + GROUP_RPC_ITEM_OVERHEAD;
    return true;
}

/* ---- ListGroups ------------------------------------------------------------ */

static void list_reply(rpc_conn_t *conn, const rpc_frame_t *frame, int code, int16_t error_code,
                       Cairn__GroupListing **groups, size_t n, bool truncated)
{
    Cairn__ListGroupsResponse resp = CAIRN__LIST_GROUPS_RESPONSE__INIT;
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    st.message = code ? (char *)cairn_strerror(code) : "";
    resp.status = &st;
    resp.error_code = error_code;
    resp.groups = groups;
    resp.n_groups = n;
    resp.truncated = truncated;
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
}

/* Answers from listing[0..n) (n <= GROUP_RPC_LIST_MAX); total is how many
 * groups the coordinator has. */
static void list_send(rpc_conn_t *conn, const rpc_frame_t *frame, const group_listing_t *listing,
                      size_t n, size_t total)
{
    Cairn__GroupListing *g = calloc(n ? n : 1, sizeof *g);
    Cairn__GroupListing **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!g || !ptrs) {
        list_reply(conn, frame, CAIRN_ERR_NOMEM, KAFKA_ERR_NONE, NULL, 0, false);
    } else {
        bool truncated = total > n;
        size_t bytes = 0, used = 0;
        for (size_t i = 0; i < n; i++) {
            cairn__group_listing__init(&g[used]);
            g[used].group_id = str(listing[i].group_id);
            g[used].protocol_type = str(listing[i].protocol_type);
            g[used].state = str(listing[i].state);
            if (!fits(&bytes, cairn__group_listing__get_packed_size(&g[used]), &truncated))
                break;
            ptrs[used] = &g[used];
            used++;
        }
        list_reply(conn, frame, CAIRN_ERR_OK, KAFKA_ERR_NONE, ptrs, used, truncated);
    }
    free(g);
    free(ptrs);
}

void group_rpc_list_answer(group_coord_t *gc, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__ListGroupsRequest *req =
        cairn__list_groups_request__unpack(NULL, frame->body_len, frame->body);
    if (!req) {
        LOG_WARN("group", "malformed ListGroups from %s", rpc_conn_peer(conn));
        list_reply(conn, frame, CAIRN_ERR_INVALID_REQUEST, KAFKA_ERR_NONE, NULL, 0, false);
        return;
    }
    cairn__list_groups_request__free_unpacked(req, NULL);
    /* Most brokers coordinate few groups: ask into a small buffer first and
     * again into one of the right size only when it was too small. */
    group_listing_t small[64];
    size_t total = group_coord_list(gc, small, sizeof small / sizeof small[0]);
    if (total <= sizeof small / sizeof small[0]) {
        list_send(conn, frame, small, total, total);
        return;
    }
    size_t want = total < GROUP_RPC_LIST_MAX ? total : GROUP_RPC_LIST_MAX;
    group_listing_t *all = calloc(want, sizeof *all);
    if (!all) {
        list_reply(conn, frame, CAIRN_ERR_NOMEM, KAFKA_ERR_NONE, NULL, 0, false);
        return;
    }
    total = group_coord_list(gc, all, want);
    list_send(conn, frame, all, total < want ? total : want, total);
    free(all);
}

/* ---- DescribeGroup ------------------------------------------------------------- */

/* The answer's storage, sized from the view before it is filled. */
typedef struct describe_buf {
    Cairn__GroupMemberDescription *members;
    Cairn__GroupMemberDescription **member_ptrs;
    Cairn__GroupTopicPartitions *topics;
    Cairn__GroupTopicPartitions **topic_ptrs;
    Cairn__GroupOffset *offsets;
    Cairn__GroupOffset **offset_ptrs;
    size_t n_members, n_topics, n_offsets;   /* filled so far */
    size_t bytes;                            /* encoded so far, against the budget */
    bool truncated;
} describe_buf_t;

static void describe_buf_free(describe_buf_t *b)
{
    free(b->members);
    free(b->member_ptrs);
    free(b->topics);
    free(b->topic_ptrs);
    free(b->offsets);
    free(b->offset_ptrs);
}

/* Returns 0, or -1 when out of memory. */
static int describe_buf_alloc(const group_view_t *v, describe_buf_t *b)
{
    size_t n_members = v->n_members < GROUP_RPC_MEMBERS_MAX ? v->n_members : GROUP_RPC_MEMBERS_MAX;
    size_t n_offsets = v->n_offsets < GROUP_RPC_OFFSETS_MAX ? v->n_offsets : GROUP_RPC_OFFSETS_MAX;
    size_t n_topics = 0;
    for (size_t i = 0; i < n_members; i++)
        n_topics += v->members[i].n_assigned;
    b->truncated = n_members < v->n_members || n_offsets < v->n_offsets;
    b->members = calloc(n_members ? n_members : 1, sizeof *b->members);
    b->member_ptrs = calloc(n_members ? n_members : 1, sizeof *b->member_ptrs);
    b->topics = calloc(n_topics ? n_topics : 1, sizeof *b->topics);
    b->topic_ptrs = calloc(n_topics ? n_topics : 1, sizeof *b->topic_ptrs);
    b->offsets = calloc(n_offsets ? n_offsets : 1, sizeof *b->offsets);
    b->offset_ptrs = calloc(n_offsets ? n_offsets : 1, sizeof *b->offset_ptrs);
    return b->members && b->member_ptrs && b->topics && b->topic_ptrs && b->offsets &&
           b->offset_ptrs ? 0 : -1;
}

/* Adds member m unless the byte budget is spent. Returns false when it was not added. */
static bool add_member(const group_member_view_t *m, describe_buf_t *b)
{
    Cairn__GroupMemberDescription *d = &b->members[b->n_members];
    cairn__group_member_description__init(d);
    d->member_id = str(m->member_id);
    d->group_instance_id = str(m->group_instance_id);
    d->client_id = str(m->client_id);
    d->client_host = str(m->client_host);
    d->assigned = &b->topic_ptrs[b->n_topics];
    for (size_t k = 0; k < m->n_assigned; k++) {
        Cairn__GroupTopicPartitions *t = &b->topics[b->n_topics + k];
        cairn__group_topic_partitions__init(t);
        t->topic = str(m->assigned[k].topic);
        t->partitions = (int32_t *)m->assigned[k].partitions;
        t->n_partitions = m->assigned[k].n_partitions;
        b->topic_ptrs[b->n_topics + k] = t;
    }
    d->n_assigned = m->n_assigned;
    if (!fits(&b->bytes, cairn__group_member_description__get_packed_size(d), &b->truncated))
        return false;
    b->n_topics += m->n_assigned;
    b->member_ptrs[b->n_members++] = d;
    return true;
}

static bool add_offset(const group_offset_view_t *o, describe_buf_t *b)
{
    Cairn__GroupOffset *d = &b->offsets[b->n_offsets];
    cairn__group_offset__init(d);
    d->topic = str(o->topic);
    d->partition = o->partition;
    d->offset = o->offset;
    d->leader_epoch = o->leader_epoch;
    d->metadata = str(o->metadata);
    d->commit_timestamp_ms = o->commit_timestamp_ms;
    if (!fits(&b->bytes, cairn__group_offset__get_packed_size(d), &b->truncated))
        return false;
    b->offset_ptrs[b->n_offsets++] = d;
    return true;
}

static void describe_reply(rpc_conn_t *conn, const rpc_frame_t *frame, int code,
                           int16_t error_code)
{
    Cairn__DescribeGroupResponse resp = CAIRN__DESCRIBE_GROUP_RESPONSE__INIT;
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    st.message = code ? (char *)cairn_strerror(code) : "";
    resp.status = &st;
    resp.error_code = error_code;
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
}

static void describe_send(rpc_conn_t *conn, const rpc_frame_t *frame, const group_view_t *v)
{
    describe_buf_t b = { 0 };
    if (describe_buf_alloc(v, &b) != 0) {
        describe_reply(conn, frame, CAIRN_ERR_NOMEM, KAFKA_ERR_NONE);
        describe_buf_free(&b);
        return;
    }
    size_t n_members = v->n_members < GROUP_RPC_MEMBERS_MAX ? v->n_members : GROUP_RPC_MEMBERS_MAX;
    size_t n_offsets = v->n_offsets < GROUP_RPC_OFFSETS_MAX ? v->n_offsets : GROUP_RPC_OFFSETS_MAX;
    for (size_t i = 0; i < n_members && add_member(&v->members[i], &b); i++)
        ;
    for (size_t i = 0; i < n_offsets && add_offset(&v->offsets[i], &b); i++)
        ;
    Cairn__DescribeGroupResponse resp = CAIRN__DESCRIBE_GROUP_RESPONSE__INIT;
    Cairn__Status st = CAIRN__STATUS__INIT;
    resp.status = &st;
    resp.error_code = KAFKA_ERR_NONE;
    resp.group_id = str(v->group_id);
    resp.state = str(v->state);
    resp.protocol_type = str(v->protocol_type);
    resp.protocol = str(v->protocol);
    resp.generation = v->generation;
    resp.leader = str(v->leader);
    resp.members = b.member_ptrs;
    resp.n_members = b.n_members;
    resp.offsets = b.offset_ptrs;
    resp.n_offsets = b.n_offsets;
    resp.truncated = b.truncated;
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    describe_buf_free(&b);
}

void group_rpc_describe_answer(group_coord_t *gc, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__DescribeGroupRequest *req =
        cairn__describe_group_request__unpack(NULL, frame->body_len, frame->body);
    if (!req || strlen(req->group_id) > GROUP_RPC_NAME_MAX) {
        LOG_WARN("group", "malformed DescribeGroup from %s", rpc_conn_peer(conn));
        describe_reply(conn, frame, CAIRN_ERR_INVALID_REQUEST, KAFKA_ERR_NONE);
        if (req)
            cairn__describe_group_request__free_unpacked(req, NULL);
        return;
    }
    group_view_t v;
    int16_t err = group_coord_describe(gc, req->group_id, &v);
    if (err != KAFKA_ERR_NONE) {
        describe_reply(conn, frame, CAIRN_ERR_OK, err);
    } else {
        describe_send(conn, frame, &v);
        group_view_release(&v);
    }
    cairn__describe_group_request__free_unpacked(req, NULL);
}
