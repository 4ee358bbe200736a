/* Admin RPC (DESIGN §6): cluster status, topic create/delete/list/describe,
 * partition creation, broker list. Reads are served by a ready leader from
 * its image; writes are planned against the image, proposed through Raft
 * and answered once committed and applied. */
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

typedef enum {
    WRITE_CREATE_TOPIC,
    WRITE_DELETE_TOPIC,
    WRITE_CREATE_PARTITIONS,
} write_kind_t;

/* A write proposed and not yet answered; also, on the stack, the
 * description of one refused before it was proposed. */
typedef struct pending_write {
    admin_t *admin;
    deferred_reply_t reply;
    write_kind_t kind;
    char *topic;                   /* name the write is about */
    int32_t total_count;           /* WRITE_CREATE_PARTITIONS: requested count */
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

/* host:port of the endpoint followers fetch from (REPLICATION), or "". */
static void broker_replication_address(const md_broker_t *b, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < b->n_endpoints; i++) {
        const md_endpoint_t *e = &b->endpoints[i];
        if (e->listener && strcmp(e->listener, CAIRN_REPLICATION_LISTENER) == 0) {
            snprintf(out, len, "%s:%u", e->host, e->port);
            return;
        }
    }
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
        broker_replication_address(b, addr, sizeof addr);
        s->replication_address = strdup(addr);
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
        free(bs[i]->replication_address);
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

/* Each write answers with its own response type: a creation with the topic
 * as committed, a deletion with the status alone. */
static void reply_write(pending_write_t *pw, int code, const char *message)
{
    controller_t *c = pw->admin->c;
    Cairn__Status st;
    controller_status(c, &st, code, message);
    const md_topic_t *t = NULL;
    if (code == CAIRN_ERR_OK && pw->kind != WRITE_DELETE_TOPIC)
        t = md_image_topic(c->image, pw->topic);
    Cairn__TopicDescription *d = t ? build_topic(t, true) : NULL;
    switch (pw->kind) {
    case WRITE_CREATE_TOPIC: {
        Cairn__CreateTopicResponse resp = CAIRN__CREATE_TOPIC_RESPONSE__INIT;
        resp.status = &st;
        resp.topic = d;
        deferred_reply_send(&pw->reply, &resp.base);
        break;
    }
    case WRITE_CREATE_PARTITIONS: {
        Cairn__CreatePartitionsResponse resp = CAIRN__CREATE_PARTITIONS_RESPONSE__INIT;
        resp.status = &st;
        resp.topic = d;
        deferred_reply_send(&pw->reply, &resp.base);
        break;
    }
    case WRITE_DELETE_TOPIC: {
        Cairn__DeleteTopicResponse resp = CAIRN__DELETE_TOPIC_RESPONSE__INIT;
        resp.status = &st;
        deferred_reply_send(&pw->reply, &resp.base);
        break;
    }
    }
    free_topic(d);
}

/* Answers a write refused before it was proposed (undecodable, not the
 * leader, refused by the planner, no room). */
static void reply_now(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame,
                      write_kind_t kind, int code, const char *message)
{
    pending_write_t tmp = { .admin = a, .kind = kind };
    deferred_reply_init(&tmp.reply, conn, frame);
    reply_write(&tmp, code, message);
}

/* The batch committed but the image refused it: a change committed after
 * this one was planned won the race. Reports what the image says now;
 * *text stays NULL unless a message more precise than the code's fits. */
static int lost_race_code(const pending_write_t *pw, char *msg, size_t len,
                          const char **text)
{
    switch (pw->kind) {
    case WRITE_CREATE_TOPIC: return CAIRN_ERR_TOPIC_EXISTS;
    case WRITE_DELETE_TOPIC: return CAIRN_ERR_UNKNOWN_TOPIC;
    case WRITE_CREATE_PARTITIONS: break;
    }
    /* Another grow, or a delete (and maybe a re-create), committed first:
     * the batch's partition numbers or topic id are no longer current. */
    const md_topic_t *t = md_image_topic(pw->admin->c->image, pw->topic);
    if (t == NULL)
        return CAIRN_ERR_UNKNOWN_TOPIC;
    snprintf(msg, len, "topic %s changed concurrently and now has %zu partitions",
             pw->topic, t->n_partitions);
    *text = msg;
    return CAIRN_ERR_INVALID_PARTITIONS;
}

static void log_committed(const pending_write_t *pw, uint64_t index)
{
    if (pw->kind == WRITE_CREATE_PARTITIONS)
        LOG_INFO("admin", "grew topic '%s' to %d partitions, committed at index %llu",
                 pw->topic, pw->total_count, (unsigned long long)index);
    else
        LOG_INFO("admin", "%s topic '%s' committed at index %llu",
                 pw->kind == WRITE_CREATE_TOPIC ? "created" : "deleted", pw->topic,
                 (unsigned long long)index);
}

static void on_write_committed(int err, uint64_t index, int apply_rc, void *arg)
{
    pending_write_t *pw = arg;
    char msg[384];                 /* a topic name (<= 249 bytes) in a sentence */
    int code = err;
    const char *text = NULL;
    if (err == CAIRN_ERR_OK && apply_rc != 0) {
        code = lost_race_code(pw, msg, sizeof msg, &text);
    } else if (err == CAIRN_ERR_NO_QUORUM) {
        snprintf(msg, sizeof msg, "no quorum: write not committed within %lld ms",
                 (long long)pw->admin->c->cfg->controller_quorum_request_timeout_ms);
        text = msg;
    } else if (err == CAIRN_ERR_OK) {
        log_committed(pw, index);
    }
    reply_write(pw, code, text);
    pw->admin->n_pending--;
    free(pw->topic);
    free(pw);
}

/* Proposes batch (taken) for the write described by what (borrowed: its
 * topic is copied) and answers when it is committed. */
static void propose_write(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame,
                          const pending_write_t *what, md_batch_t *batch)
{
    pending_write_t *pw = calloc(1, sizeof *pw);
    char *name = strdup(what->topic);
    if (!pw || !name || a->n_pending >= ADMIN_PENDING_MAX) {
        free(pw);
        free(name);
        md_batch_free(batch);
        reply_now(a, conn, frame, what->kind, CAIRN_ERR_QUEUE_FULL,
                  "too many admin writes in flight");
        return;
    }
    pw->admin = a;
    pw->kind = what->kind;
    pw->topic = name;
    pw->total_count = what->total_count;
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

/* Proposes a planned write, or answers the planner's refusal. */
static void submit_write(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame,
                         const pending_write_t *what, int plan_rc, md_batch_t *batch,
                         const char *why)
{
    if (plan_rc != CAIRN_ERR_OK)
        reply_now(a, conn, frame, what->kind, plan_rc, why[0] ? why : NULL);
    else
        propose_write(a, conn, frame, what, batch);
}

static void create_topic(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__CreateTopicRequest *req =
        cairn__create_topic_request__unpack(NULL, frame->body_len, frame->body);
    if (!req || req->n_configs > ADMIN_CONFIGS_MAX) {
        reply_now(a, conn, frame, WRITE_CREATE_TOPIC, CAIRN_ERR_INVALID_REQUEST,
                  "undecodable or oversized request");
        if (req)
            cairn__create_topic_request__free_unpacked(req, NULL);
        return;
    }
    if (!quorum_leader_ready(a->c->quorum)) {
        reply_now(a, conn, frame, WRITE_CREATE_TOPIC, CAIRN_ERR_NOT_LEADER, NULL);
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
    pending_write_t what = { .kind = WRITE_CREATE_TOPIC, .topic = req->name };
    submit_write(a, conn, frame, &what, rc, &batch, why);
    cairn__create_topic_request__free_unpacked(req, NULL);
}

static void delete_topic(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__DeleteTopicRequest *req =
        cairn__delete_topic_request__unpack(NULL, frame->body_len, frame->body);
    if (!req) {
        reply_now(a, conn, frame, WRITE_DELETE_TOPIC, CAIRN_ERR_INVALID_REQUEST,
                  "undecodable request");
        return;
    }
    if (!quorum_leader_ready(a->c->quorum)) {
        reply_now(a, conn, frame, WRITE_DELETE_TOPIC, CAIRN_ERR_NOT_LEADER, NULL);
    } else {
        md_batch_t batch = { 0 };
        char why[256] = "";
        int rc = md_plan_delete_topic(a->c->image, req->name, &batch, why, sizeof why);
        pending_write_t what = { .kind = WRITE_DELETE_TOPIC, .topic = req->name };
        submit_write(a, conn, frame, &what, rc, &batch, why);
    }
    cairn__delete_topic_request__free_unpacked(req, NULL);
}

/* Kafka's CreatePartitions, one topic per request. */
static void create_partitions(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__CreatePartitionsRequest *req =
        cairn__create_partitions_request__unpack(NULL, frame->body_len, frame->body);
    if (!req) {
        reply_now(a, conn, frame, WRITE_CREATE_PARTITIONS, CAIRN_ERR_INVALID_REQUEST,
                  "undecodable request");
        return;
    }
    if (!quorum_leader_ready(a->c->quorum)) {
        reply_now(a, conn, frame, WRITE_CREATE_PARTITIONS, CAIRN_ERR_NOT_LEADER, NULL);
    } else {
        md_batch_t batch = { 0 };
        char why[256] = "";
        int rc = md_plan_create_partitions(a->c->image, req->name, req->total_count, &batch,
                                           why, sizeof why);
        pending_write_t what = { .kind = WRITE_CREATE_PARTITIONS, .topic = req->name,
                                 .total_count = req->total_count };
        submit_write(a, conn, frame, &what, rc, &batch, why);
    }
    cairn__create_partitions_request__free_unpacked(req, NULL);
}

bool admin_handle(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    switch (frame->type) {
    case CAIRN__RPC_TYPE__RPC_CLUSTER_STATUS: cluster_status(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_CREATE_TOPIC: create_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_DELETE_TOPIC: delete_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_CREATE_PARTITIONS: create_partitions(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_LIST_TOPICS: list_topics(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_DESCRIBE_TOPIC: describe_topic(a, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_LIST_BROKERS: list_brokers(a, conn, frame); return true;
    default: return false;
    }
}
