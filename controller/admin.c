/* Admin RPC (DESIGN §6): cluster status, topic create/delete/list/describe,
 * broker list. Reads are served by a ready leader from its image; writes are
 * planned against the image, proposed through Raft and answered once
 * committed and applied. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "cairn_assert.h"
#include "controller.h"
#include "errors.h"
#include "log.h"
#include "plan.h"

#define ADMIN_PENDING_MAX 4096
#define ADMIN_CONFIGS_MAX 64

struct admin {
    controller_t *c;
    size_t n_pending;              /* writes proposed, not yet answered */
};

typedef struct pending_write {
    admin_t *admin;
    deferred_reply_t reply;
    char *topic;                   /* name the write is about */
    bool is_create;
} pending_write_t;

admin_t *admin_new(controller_t *c)
{
    admin_t *a = calloc(1, sizeof *a);
    if (a)
        a->c = c;
    return a;
}

void admin_free(admin_t *a)
{
    free(a);
}

static void broker_address(const md_broker_t *b, char *out, size_t len)
{
    if (b->n_endpoints > 0)
        snprintf(out, len, "%s:%u", b->endpoints[0].host, b->endpoints[0].port);
    else
        snprintf(out, len, "-");
}

static const char *broker_state(const md_broker_t *b)
{
    return b->fenced ? "fenced" : b->in_controlled_shutdown ? "shutting_down" : "active";
}

/* ---- response builders (all memory is freed by free_* below) --------- */

static Cairn__BrokerStatus **build_brokers(const md_image_t *img, size_t *n_out)
{
    size_t n = md_image_broker_count(img);
    Cairn__BrokerStatus **out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        const md_broker_t *b = md_image_broker_at(img, i);
        Cairn__BrokerStatus *s = calloc(1, sizeof *s);
        if (!s) { *n_out = i; return out; }
        cairn__broker_status__init(s);
        char addr[CAIRN_HOST_MAX + 8];
        broker_address(b, addr, sizeof addr);
        s->id = b->id;
        s->address = strdup(addr);
        s->state = (char *)broker_state(b);
        s->rack = b->rack ? b->rack : (char *)"";
        s->broker_epoch = b->epoch;
        out[i] = s;
    }
    *n_out = out ? n : 0;
    return out;
}

static void free_brokers(Cairn__BrokerStatus **bs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(bs[i]->address);
        free(bs[i]);
    }
    free(bs);
}

static Cairn__TopicDescription *build_topic(const md_topic_t *t, bool with_partitions)
{
    Cairn__TopicDescription *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    cairn__topic_description__init(d);
    d->name = t->name;
    d->id = malloc(37);
    if (d->id)
        md_uuid_format(t->id, d->id);
    size_t np = with_partitions ? t->n_partitions : 0;
    d->partitions = np ? calloc(np, sizeof *d->partitions) : NULL;
    for (size_t i = 0; d->partitions && i < np; i++) {
        const md_partition_t *p = &t->partitions[i];
        Cairn__PartitionDescription *pd = calloc(1, sizeof *pd);
        if (!pd)
            break;
        cairn__partition_description__init(pd);
        pd->partition = p->partition;
        pd->leader = p->leader;
        pd->leader_epoch = p->leader_epoch;
        pd->partition_epoch = p->partition_epoch;
        pd->n_replicas = p->n_replicas;
        pd->replicas = p->replicas;
        pd->n_isr = p->n_isr;
        pd->isr = p->isr;
        d->partitions[d->n_partitions++] = pd;
    }
    d->configs = t->n_configs ? calloc(t->n_configs, sizeof *d->configs) : NULL;
    for (size_t i = 0; d->configs && i < t->n_configs; i++) {
        Cairn__ConfigEntry *ce = calloc(1, sizeof *ce);
        if (!ce)
            break;
        cairn__config_entry__init(ce);
        ce->name = t->configs[i].name;
        ce->value = t->configs[i].value;
        d->configs[d->n_configs++] = ce;
    }
    return d;
}

static void free_topic(Cairn__TopicDescription *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_partitions; i++)
        free(d->partitions[i]);
    for (size_t i = 0; i < d->n_configs; i++)
        free(d->configs[i]);
    free(d->partitions);
    free(d->configs);
    free(d->id);
    free(d);
}

/* ---- reads ------------------------------------------------------------- */

/* Reads need a leader whose image holds every committed change. */
static bool reads_ready(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame,
                        Cairn__Status *st, const ProtobufCMessage *resp)
{
    if (quorum_leader_ready(a->c->quorum))
        return true;
    controller_status(a->c, st, CAIRN_ERR_NOT_LEADER, NULL);
    (void)rpc_conn_reply(conn, frame, resp, NULL, 0);
    return false;
}

static void cluster_status(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__ClusterStatusResponse resp = CAIRN__CLUSTER_STATUS_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    if (!reads_ready(a, conn, frame, &st, &resp.base))
        return;
    controller_status(a->c, &st, CAIRN_ERR_OK, NULL);
    quorum_t *q = a->c->quorum;
    resp.leader = quorum_leader_id(q);
    resp.epoch = quorum_term(q);
    resp.high_watermark = quorum_commit_index(q);
    size_t nv = quorum_voter_count(q);
    Cairn__VoterStatus vs[CAIRN_MAX_VOTERS], *vp[CAIRN_MAX_VOTERS];
    for (size_t i = 0; i < nv; i++) {
        quorum_voter_view_t v;
        quorum_voter_view(q, i, &v);
        cairn__voter_status__init(&vs[i]);
        vs[i].id = v.id;
        vs[i].address = (char *)v.address;
        vs[i].role = (char *)v.role;
        vs[i].log_end_offset = v.log_end_offset;
        vp[i] = &vs[i];
    }
    resp.n_voters = nv;
    resp.voters = vp;
    resp.brokers = build_brokers(a->c->image, &resp.n_brokers);
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    free_brokers(resp.brokers, resp.n_brokers);
}

static void list_brokers(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__ListBrokersResponse resp = CAIRN__LIST_BROKERS_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    if (!reads_ready(a, conn, frame, &st, &resp.base))
        return;
    controller_status(a->c, &st, CAIRN_ERR_OK, NULL);
    resp.brokers = build_brokers(a->c->image, &resp.n_brokers);
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    free_brokers(resp.brokers, resp.n_brokers);
}

static void list_topics(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__ListTopicsResponse resp = CAIRN__LIST_TOPICS_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    if (!reads_ready(a, conn, frame, &st, &resp.base))
        return;
    controller_status(a->c, &st, CAIRN_ERR_OK, NULL);
    size_t n = md_image_topic_count(a->c->image);
    resp.topics = calloc(n ? n : 1, sizeof *resp.topics);
    for (size_t i = 0; resp.topics && i < n; i++) {
        const md_topic_t *t = md_image_topic_at(a->c->image, i);
        Cairn__TopicDescription *d = build_topic(t, true);
        if (!d)
            break;
        resp.topics[resp.n_topics++] = d;
    }
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    for (size_t i = 0; i < resp.n_topics; i++)
        free_topic(resp.topics[i]);
    free(resp.topics);
}

static void describe_topic(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__DescribeTopicResponse resp = CAIRN__DESCRIBE_TOPIC_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    Cairn__DescribeTopicRequest *req =
        cairn__describe_topic_request__unpack(NULL, frame->body_len, frame->body);
    if (!req) {
        controller_status(a->c, &st, CAIRN_ERR_INVALID_REQUEST, "undecodable request");
        (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
        return;
    }
    if (reads_ready(a, conn, frame, &st, &resp.base)) {
        const md_topic_t *t = md_image_topic(a->c->image, req->name);
        if (!t) {
            controller_status(a->c, &st, CAIRN_ERR_UNKNOWN_TOPIC, NULL);
        } else {
            controller_status(a->c, &st, CAIRN_ERR_OK, NULL);
            resp.topic = build_topic(t, true);
        }
        (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
        free_topic(resp.topic);
    }
    cairn__describe_topic_request__free_unpacked(req, NULL);
}

/* ---- writes ------------------------------------------------------------ */

static void reply_write(pending_write_t *pw, int code, const char *message)
{
    controller_t *c = pw->admin->c;
    Cairn__Status st;
    controller_status(c, &st, code, message);
    if (pw->is_create) {
        Cairn__CreateTopicResponse resp = CAIRN__CREATE_TOPIC_RESPONSE__INIT;
        resp.status = &st;
        const md_topic_t *t = code == CAIRN_ERR_OK ? md_image_topic(c->image, pw->topic) : NULL;
        resp.topic = t ? build_topic(t, true) : NULL;
        deferred_reply_send(&pw->reply, &resp.base);
        free_topic(resp.topic);
    } else {
        Cairn__DeleteTopicResponse resp = CAIRN__DELETE_TOPIC_RESPONSE__INIT;
        resp.status = &st;
        deferred_reply_send(&pw->reply, &resp.base);
    }
}

static void on_write_committed(int err, uint64_t index, int apply_rc, void *arg)
{
    pending_write_t *pw = arg;
    char msg[160];
    int code = err;
    const char *text = NULL;
    if (err == CAIRN_ERR_OK && apply_rc != 0) {
        /* A concurrent change won the race; report what the image says. */
        code = pw->is_create ? CAIRN_ERR_TOPIC_EXISTS : CAIRN_ERR_UNKNOWN_TOPIC;
    } else if (err == CAIRN_ERR_NO_QUORUM) {
        snprintf(msg, sizeof msg, "no quorum: write not committed within %lld ms",
                 (long long)pw->admin->c->cfg->controller_quorum_request_timeout_ms);
        text = msg;
    } else if (err == CAIRN_ERR_OK) {
        LOG_INFO("admin", "%s topic '%s' committed at index %llu",
                 pw->is_create ? "created" : "deleted", pw->topic, (unsigned long long)index);
    }
    reply_write(pw, code, text);
    pw->admin->n_pending--;
    free(pw->topic);
    free(pw);
}

/* Proposes batch and answers when committed; takes ownership of batch. */
static void propose_write(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame,
                          md_batch_t *batch, const char *topic, bool is_create)
{
    pending_write_t *pw = calloc(1, sizeof *pw);
    char *name = strdup(topic);
    if (!pw || !name || a->n_pending >= ADMIN_PENDING_MAX) {
        free(pw);
        free(name);
        md_batch_free(batch);
        pending_write_t tmp = { .admin = a, .is_create = is_create };
        deferred_reply_init(&tmp.reply, conn, frame);
        reply_write(&tmp, CAIRN_ERR_QUEUE_FULL, "too many admin writes in flight");
        return;
    }
    pw->admin = a;
    pw->topic = name;
    pw->is_create = is_create;
    deferred_reply_init(&pw->reply, conn, frame);
    uint32_t timeout_ms = (uint32_t)a->c->cfg->controller_quorum_request_timeout_ms;
    int rc = quorum_propose(a->c->quorum, batch->data, batch->len, timeout_ms,
                            on_write_committed, pw);
    md_batch_free(batch);
    if (rc != CAIRN_ERR_OK) {
        reply_write(pw, rc, NULL);
        free(pw->topic);
        free(pw);
        return;
    }
    a->n_pending++;
}

static void create_topic(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__CreateTopicRequest *req =
        cairn__create_topic_request__unpack(NULL, frame->body_len, frame->body);
    pending_write_t tmp = { .admin = a, .is_create = true };
    if (!req || req->n_configs > ADMIN_CONFIGS_MAX) {
        deferred_reply_init(&tmp.reply, conn, frame);
        reply_write(&tmp, CAIRN_ERR_INVALID_REQUEST, "undecodable or oversized request");
        if (req)
            cairn__create_topic_request__free_unpacked(req, NULL);
        return;
    }
    if (!quorum_leader_ready(a->c->quorum)) {
        deferred_reply_init(&tmp.reply, conn, frame);
        reply_write(&tmp, CAIRN_ERR_NOT_LEADER, NULL);
        cairn__create_topic_request__free_unpacked(req, NULL);
        return;
    }
    md_config_entry_t configs[ADMIN_CONFIGS_MAX];
    for (size_t i = 0; i < req->n_configs; i++) {
        configs[i].name = req->configs[i]->name;
        configs[i].value = req->configs[i]->value;
    }
    uint8_t id[MD_UUID_LEN];
    if (RAND_bytes(id, sizeof id) != 1)
        CAIRN_ASSERT(!"RAND_bytes failed");
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);      /* UUID version 4 */
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
    md_create_topic_t ct = {
        .name = req->name,
        .partitions = req->partitions > 0 ? req->partitions : (int32_t)a->c->cfg->num_partitions,
        .replication_factor = req->replication_factor > 0 ? req->replication_factor
                              : (int32_t)a->c->cfg->default_replication_factor,
        .configs = configs, .n_configs = req->n_configs, .topic_id = id,
    };
    md_batch_t batch = { 0 };
    char why[256] = "";
    int rc = md_plan_create_topic(a->c->image, &ct, &batch, why, sizeof why);
    if (rc != CAIRN_ERR_OK) {
        deferred_reply_init(&tmp.reply, conn, frame);
        reply_write(&tmp, rc, why[0] ? why : NULL);
    } else {
        propose_write(a, conn, frame, &batch, req->name, true);
    }
    cairn__create_topic_request__free_unpacked(req, NULL);
}

static void delete_topic(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__DeleteTopicRequest *req =
        cairn__delete_topic_request__unpack(NULL, frame->body_len, frame->body);
    pending_write_t tmp = { .admin = a, .is_create = false };
    deferred_reply_init(&tmp.reply, conn, frame);
    if (!req) {
        reply_write(&tmp, CAIRN_ERR_INVALID_REQUEST, "undecodable request");
        return;
    }
    if (!quorum_leader_ready(a->c->quorum)) {
        reply_write(&tmp, CAIRN_ERR_NOT_LEADER, NULL);
    } else {
        md_batch_t batch = { 0 };
        char why[256] = "";
        int rc = md_plan_delete_topic(a->c->image, req->name, &batch, why, sizeof why);
        if (rc != CAIRN_ERR_OK) {
            reply_write(&tmp, rc, why[0] ? why : NULL);
        } else {
            rpc_conn_unref(tmp.reply.conn);
            propose_write(a, conn, frame, &batch, req->name, false);
        }
    }
    cairn__delete_topic_request__free_unpacked(req, NULL);
}

bool admin_handle(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    switch (frame->type) {
    case CAIRN__RPC_TYPE__RPC_CLUSTER_STATUS: cluster_status(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_CREATE_TOPIC: create_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_DELETE_TOPIC: delete_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_LIST_TOPICS: list_topics(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_DESCRIBE_TOPIC: describe_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_LIST_BROKERS: list_brokers(a, conn, frame); return true;
    default: return false;
    }
}
