/* Broker lifecycle on the controller leader (KIP-631): registration,
 * heartbeats, session expiry → fencing, unfencing once a broker has caught
 * up with the metadata log, controlled shutdown, and the metadata log
 * served to brokers as observers with a long poll. */
#include <stdlib.h>
#include <string.h>

#include "broker.pb-c.h"
#include "cairn_assert.h"
#include "controller.h"
#include "errors.h"
#include "log.h"
#include "plan.h"
#include "timeutil.h"

#define SESSIONS_MAX 4096
#define FETCH_WAITERS_MAX 1024
#define FETCH_BYTES_DEFAULT (1u << 20)
#define FETCH_WAIT_MAX_MS 10000u
#define SESSION_CHECK_MS 25
#define ENDPOINTS_MAX 16

typedef struct session {
    uint32_t broker_id;
    uint64_t last_heartbeat_ms;
    rpc_conn_t *conn;              /* its last heartbeat's connection (a reference) */
    uint64_t conn_lost_ms;         /* when that connection was seen closed; 0: open */
    bool op_in_flight;             /* a register/fence/unfence/shutdown is pending */
    uint64_t shutdown_index;       /* where its controlled shutdown committed; 0: unknown */
} session_t;

typedef struct fetch_waiter {
    deferred_reply_t reply;
    uint64_t fetch_offset;
    uint32_t max_bytes;
    uint64_t deadline_ms;
    struct fetch_waiter *next;
} fetch_waiter_t;

struct brokers {
    controller_t *c;
    session_t *sessions;
    size_t n_sessions;
    fetch_waiter_t *waiters;
    size_t n_waiters;
    struct event *timer;
};

static session_t *session_get(brokers_t *b, uint32_t id, bool create)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].broker_id == id)
            return &b->sessions[i];
    if (!create || b->n_sessions >= SESSIONS_MAX)
        return NULL;
    session_t *s = realloc(b->sessions, (b->n_sessions + 1) * sizeof *s);
    if (!s)
        return NULL;
    b->sessions = s;
    s = &b->sessions[b->n_sessions++];
    memset(s, 0, sizeof *s);
    s->broker_id = id;
    s->last_heartbeat_ms = cairn_mono_ms();
    return s;
}

/* ---- proposals on behalf of a broker ---------------------------------- */

typedef enum { OP_REGISTER, OP_FENCE, OP_UNFENCE, OP_SHUTDOWN } broker_op_t;

typedef struct op_ctx {
    brokers_t *b;
    uint32_t broker_id;
    broker_op_t op;
    bool has_reply;
    deferred_reply_t reply;        /* OP_REGISTER answers the broker */
} op_ctx_t;

/* Remembers the connection a broker's heartbeats arrive on. */
static void session_track_conn(session_t *s, rpc_conn_t *conn)
{
    if (s->conn == conn)
        return;
    if (s->conn)
        rpc_conn_unref(s->conn);
    s->conn = conn;
    s->conn_lost_ms = 0;
    if (conn)
        rpc_conn_ref(conn);
}

static void reply_register(op_ctx_t *ctx, int code, uint64_t epoch, const char *msg)
{
    Cairn__BrokerRegisterResponse resp = CAIRN__BROKER_REGISTER_RESPONSE__INIT;
    Cairn__Status st;
    controller_status(ctx->b->c, &st, code, msg);
    resp.status = &st;
    resp.broker_epoch = epoch;
    deferred_reply_send(&ctx->reply, &resp.base);
}

static void on_op_committed(int err, uint64_t index, int apply_rc, void *arg)
{
    op_ctx_t *ctx = arg;
    session_t *s = session_get(ctx->b, ctx->broker_id, false);
    if (s)
        s->op_in_flight = false;
    static const char *const names[] = { "registered", "fenced", "unfenced",
                                         "in controlled shutdown" };
    if (s && err == CAIRN_ERR_OK && apply_rc == 0)
        s->shutdown_index = ctx->op == OP_SHUTDOWN ? index
                            : ctx->op == OP_REGISTER ? 0 : s->shutdown_index;
    if (err == CAIRN_ERR_OK && apply_rc == 0)
        LOG_INFO("brokers", "broker %u %s (metadata index %llu)", ctx->broker_id,
                 names[ctx->op], (unsigned long long)index);
    if (ctx->has_reply) {
        if (err == CAIRN_ERR_OK && apply_rc != 0)
            err = CAIRN_ERR_INVALID_REQUEST;
        reply_register(ctx, err, err == CAIRN_ERR_OK ? index : 0, NULL);
    }
    free(ctx);
}

/* Takes batch. Returns a cairn_err_t; on success the op is in flight. */
static int propose_op(brokers_t *b, session_t *s, broker_op_t op, md_batch_t *batch,
                      rpc_conn_t *conn, const rpc_frame_t *frame)
{
    op_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        md_batch_free(batch);
        return CAIRN_ERR_NOMEM;
    }
    ctx->b = b;
    ctx->broker_id = s->broker_id;
    ctx->op = op;
    if (conn) {
        ctx->has_reply = true;
        deferred_reply_init(&ctx->reply, conn, frame);
    }
    uint32_t timeout_ms = (uint32_t)b->c->cfg->controller_quorum_request_timeout_ms;
    int rc = quorum_propose(b->c->quorum, batch->data, batch->len, timeout_ms,
                            on_op_committed, ctx);
    md_batch_free(batch);
    if (rc != CAIRN_ERR_OK) {
        if (ctx->has_reply)
            rpc_conn_unref(ctx->reply.conn);
        free(ctx);
        return rc;
    }
    s->op_in_flight = true;
    return CAIRN_ERR_OK;
}

/* ---- registration ------------------------------------------------------ */

static int check_duplicate(brokers_t *b, const Cairn__BrokerRegisterRequest *req)
{
    const md_broker_t *old = md_image_broker(b->c->image, req->broker_id);
    session_t *s = session_get(b, req->broker_id, false);
    /* A broker in controlled shutdown has been told it may exit: its
     * restart registers anew and starts over fenced (KIP-631). */
    if (!old || old->fenced || old->in_controlled_shutdown || !s ||
        req->incarnation.len != MD_UUID_LEN ||
        memcmp(old->incarnation, req->incarnation.data, MD_UUID_LEN) == 0)
        return CAIRN_ERR_OK;
    uint64_t now = cairn_mono_ms();
    uint64_t session_ms = (uint64_t)b->c->cfg->broker_session_timeout_ms;
    /* Another live incarnation holds this id: two processes share a node.id. */
    if (now - s->last_heartbeat_ms < session_ms)
        return CAIRN_ERR_DUPLICATE_REGISTRATION;
    return CAIRN_ERR_OK;
}

static void handle_register(brokers_t *b, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__BrokerRegisterRequest *req =
        cairn__broker_register_request__unpack(NULL, frame->body_len, frame->body);
    op_ctx_t tmp = { .b = b };
    deferred_reply_init(&tmp.reply, conn, frame);
    if (!req || req->incarnation.len != MD_UUID_LEN || req->broker_id == 0 ||
        req->n_endpoints == 0 || req->n_endpoints > ENDPOINTS_MAX) {
        reply_register(&tmp, CAIRN_ERR_INVALID_REQUEST, 0, "malformed registration");
        goto out;
    }
    if (!quorum_leader_ready(b->c->quorum)) {
        reply_register(&tmp, CAIRN_ERR_NOT_LEADER, 0, NULL);
        goto out;
    }
    int rc = check_duplicate(b, req);
    session_t *s = rc == CAIRN_ERR_OK ? session_get(b, req->broker_id, true) : NULL;
    if (rc == CAIRN_ERR_OK && (!s || s->op_in_flight))
        rc = s ? CAIRN_ERR_QUEUE_FULL : CAIRN_ERR_NOMEM;
    if (rc != CAIRN_ERR_OK) {
        reply_register(&tmp, rc, 0, NULL);
        goto out;
    }
    md_endpoint_t eps[ENDPOINTS_MAX];
    for (size_t i = 0; i < req->n_endpoints; i++) {
        eps[i].listener = req->endpoints[i]->listener;
        eps[i].host = req->endpoints[i]->host;
        eps[i].port = (uint16_t)req->endpoints[i]->port;
    }
    md_batch_t batch = { 0 };
    char why[256] = "";
    rc = md_plan_register_broker(b->c->image, req->broker_id, req->incarnation.data, eps,
                                 req->n_endpoints, req->rack, &batch, why, sizeof why);
    if (rc == CAIRN_ERR_OK) {
        s->last_heartbeat_ms = cairn_mono_ms();
        rc = propose_op(b, s, OP_REGISTER, &batch, conn, frame);
    }
    if (rc != CAIRN_ERR_OK)
        reply_register(&tmp, rc, 0, why[0] ? why : NULL);
    else
        rpc_conn_unref(tmp.reply.conn);
out:
    if (req)
        cairn__broker_register_request__free_unpacked(req, NULL);
}

/* ---- heartbeats -------------------------------------------------------- */

static void maybe_unfence(brokers_t *b, session_t *s, const md_broker_t *mb,
                          const Cairn__BrokerHeartbeatRequest *req)
{
    /* KIP-631: unfence once the broker has replayed the log up to its own
     * registration, so it never acts on metadata older than itself. */
    if (!mb->fenced || req->want_fence || req->want_shutdown || s->op_in_flight ||
        req->metadata_offset < mb->epoch)
        return;
    md_batch_t batch = { 0 };
    char why[256];
    if (md_plan_unfence_broker(b->c->image, mb->id, b->c->cfg->unclean_leader_election_enable,
                               &batch, why, sizeof why) == CAIRN_ERR_OK)
        (void)propose_op(b, s, OP_UNFENCE, &batch, NULL, NULL);
}

/* Proposes the BrokerShutdownRecord batch (KIP-631): leaderships move and
 * the broker leaves every ISR in the same commit. */
static void start_shutdown(brokers_t *b, session_t *s, const md_broker_t *mb)
{
    md_batch_t batch = { 0 };
    char why[256] = "";
    bool unclean = b->c->cfg->unclean_leader_election_enable;
    if (md_plan_shutdown_broker(b->c->image, mb->id, unclean, &batch, why, sizeof why) !=
        CAIRN_ERR_OK) {
        LOG_WARN("brokers", "cannot start controlled shutdown of broker %u: %s", mb->id, why);
        return;
    }
    LOG_INFO("brokers", "broker %u asks for controlled shutdown", mb->id);
    (void)propose_op(b, s, OP_SHUTDOWN, &batch, NULL, NULL);
}

/* KIP-631 controlled shutdown. The first heartbeat asking for it commits a
 * BrokerShutdownRecord that also moves the broker's leaderships and takes
 * it out of every ISR; the answer is should_shutdown once the broker leads
 * nothing and has applied that batch, so it stops leading before it exits.
 * A fenced broker leads nothing and is released at once. */
static bool controlled_shutdown(brokers_t *b, session_t *s, const md_broker_t *mb,
                                const Cairn__BrokerHeartbeatRequest *req)
{
    if (!req->want_shutdown)
        return false;
    if (mb->fenced)
        return true;
    if (!s)
        return false;
    if (!mb->in_controlled_shutdown) {
        if (!s->op_in_flight)
            start_shutdown(b, s, mb);
        return false;
    }
    if (md_broker_leads_any(b->c->image, mb->id))
        return false;
    /* After a controller failover the commit index is unknown here: wait for
     * the broker to reach what this leader has applied instead. */
    if (s->shutdown_index == 0)
        s->shutdown_index = quorum_applied_index(b->c->quorum);
    return req->metadata_offset >= s->shutdown_index;
}

static void handle_heartbeat(brokers_t *b, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__BrokerHeartbeatRequest *req =
        cairn__broker_heartbeat_request__unpack(NULL, frame->body_len, frame->body);
    Cairn__BrokerHeartbeatResponse resp = CAIRN__BROKER_HEARTBEAT_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    const md_broker_t *mb = req ? md_image_broker(b->c->image, req->broker_id) : NULL;
    if (!req) {
        controller_status(b->c, &st, CAIRN_ERR_INVALID_REQUEST, "undecodable heartbeat");
    } else if (!quorum_leader_ready(b->c->quorum)) {
        controller_status(b->c, &st, CAIRN_ERR_NOT_LEADER, NULL);
    } else if (!mb) {
        controller_status(b->c, &st, CAIRN_ERR_BROKER_NOT_REGISTERED, NULL);
    } else if (mb->epoch != req->broker_epoch) {
        controller_status(b->c, &st, CAIRN_ERR_STALE_BROKER_EPOCH, NULL);
    } else {
        session_t *s = session_get(b, req->broker_id, true);
        if (s) {
            s->last_heartbeat_ms = cairn_mono_ms();
            session_track_conn(s, conn);
            maybe_unfence(b, s, mb, req);
        }
        controller_status(b->c, &st, CAIRN_ERR_OK, NULL);
        resp.is_fenced = mb->fenced;
        resp.is_caught_up = req->metadata_offset >= quorum_applied_index(b->c->quorum);
        resp.should_shutdown = controlled_shutdown(b, s, mb, req);
    }
    (void)rpc_conn_reply(conn, frame, &resp.base, NULL, 0);
    if (req)
        cairn__broker_heartbeat_request__free_unpacked(req, NULL);
}

/* ---- session expiry ---------------------------------------------------- */

/* A SIGKILLed broker's kernel closes its connections at once: when the
 * connection its heartbeats came on closes and no heartbeat follows within
 * one heartbeat interval (a live broker reconnects and heartbeats by then),
 * its session ends without waiting out broker.session.timeout.ms. A paused
 * or cut-off broker keeps its connection and gets the full session. */
static bool session_expired(brokers_t *b, session_t *s, uint64_t now)
{
    uint64_t session_ms = (uint64_t)b->c->cfg->broker_session_timeout_ms;
    if (now - s->last_heartbeat_ms >= session_ms)
        return true;
    if (!s->conn || rpc_conn_is_open(s->conn))
        return false;
    if (s->conn_lost_ms == 0)
        s->conn_lost_ms = now;
    uint64_t grace_ms = (uint64_t)b->c->cfg->broker_heartbeat_interval_ms + SESSION_CHECK_MS;
    return now - s->conn_lost_ms >= grace_ms && now - s->last_heartbeat_ms >= grace_ms;
}

static void check_sessions(brokers_t *b)
{
    uint64_t now = cairn_mono_ms();
    for (size_t i = 0; i < md_image_broker_count(b->c->image); i++) {
        const md_broker_t *mb = md_image_broker_at(b->c->image, i);
        if (mb->fenced)
            continue;
        session_t *s = session_get(b, mb->id, true);
        if (!s || s->op_in_flight || !session_expired(b, s, now))
            continue;
        md_batch_t batch = { 0 };
        char why[256] = "";
        if (md_plan_fence_broker(b->c->image, mb->id, b->c->cfg->unclean_leader_election_enable,
                                 &batch, why, sizeof why) != CAIRN_ERR_OK) {
            LOG_WARN("brokers", "cannot fence broker %u: %s", mb->id, why);
            continue;
        }
        LOG_INFO("brokers", "broker %u session expired (%llu ms without heartbeat%s); fencing",
                 mb->id, (unsigned long long)(now - s->last_heartbeat_ms),
                 s->conn_lost_ms ? ", its connection closed" : "");
        session_track_conn(s, NULL);
        (void)propose_op(b, s, OP_FENCE, &batch, NULL, NULL);
    }
}

/* ---- metadata log for observers --------------------------------------- */

static void free_fetch_response(Cairn__MetadataFetchResponse *resp)
{
    for (size_t i = 0; i < resp->n_entries; i++)
        free(resp->entries[i]);
    free(resp->entries);
    if (resp->snapshot)
        cairn__metadata_image__free_unpacked(resp->snapshot, NULL);
}

/* Committed entries from fetch_offset on, or the whole image when the log
 * no longer holds fetch_offset. Returns false if there is nothing new. */
static bool fill_fetch(brokers_t *b, uint64_t fetch_offset, uint32_t max_bytes,
                       Cairn__MetadataFetchResponse *resp)
{
    quorum_t *q = b->c->quorum;
    uint64_t applied = quorum_applied_index(q);
    resp->high_watermark = quorum_commit_index(q);
    if (fetch_offset < quorum_first_index(q) && applied > 0) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (md_image_snapshot(b->c->image, &data, &len) != 0)
            return false;
        resp->snapshot = cairn__metadata_image__unpack(NULL, len, data);
        free(data);
        return resp->snapshot != NULL;
    }
    if (fetch_offset > applied)
        return false;
    size_t cap = (size_t)(applied - fetch_offset + 1);
    if (cap > 4096)
        cap = 4096;
    resp->entries = calloc(cap, sizeof *resp->entries);
    size_t bytes = 0;
    for (uint64_t i = fetch_offset; resp->entries && i <= applied && resp->n_entries < cap; i++) {
        const raft_entry_t *e = quorum_committed_entry(q, i);
        if (!e || (resp->n_entries > 0 && bytes + e->len > max_bytes))
            break;
        Cairn__RaftEntry *pe = malloc(sizeof *pe);
        if (!pe)
            break;
        cairn__raft_entry__init(pe);
        pe->index = e->index;
        pe->term = e->term;
        pe->type = e->type;
        pe->data.data = e->data;
        pe->data.len = e->len;
        resp->entries[resp->n_entries++] = pe;
        bytes += e->len;
    }
    return resp->n_entries > 0;
}

static void answer_fetch(brokers_t *b, deferred_reply_t *reply, uint64_t fetch_offset,
                         uint32_t max_bytes, int code)
{
    Cairn__MetadataFetchResponse resp = CAIRN__METADATA_FETCH_RESPONSE__INIT;
    Cairn__Status st;
    resp.status = &st;
    controller_status(b->c, &st, code, NULL);
    if (code == CAIRN_ERR_OK)
        (void)fill_fetch(b, fetch_offset, max_bytes, &resp);
    deferred_reply_send(reply, &resp.base);
    free_fetch_response(&resp);
}

static void handle_fetch(brokers_t *b, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__MetadataFetchRequest *req =
        cairn__metadata_fetch_request__unpack(NULL, frame->body_len, frame->body);
    deferred_reply_t reply;
    deferred_reply_init(&reply, conn, frame);
    if (!req) {
        answer_fetch(b, &reply, 0, 0, CAIRN_ERR_INVALID_REQUEST);
        return;
    }
    uint32_t max_bytes = req->max_bytes ? req->max_bytes : FETCH_BYTES_DEFAULT;
    uint64_t offset = req->fetch_offset ? req->fetch_offset : 1;
    uint32_t wait_ms = req->max_wait_ms < FETCH_WAIT_MAX_MS ? req->max_wait_ms : FETCH_WAIT_MAX_MS;
    cairn__metadata_fetch_request__free_unpacked(req, NULL);
    if (!quorum_leader_ready(b->c->quorum)) {
        answer_fetch(b, &reply, 0, 0, CAIRN_ERR_NOT_LEADER);
        return;
    }
    bool has_data = offset <= quorum_applied_index(b->c->quorum) ||
                    offset < quorum_first_index(b->c->quorum);
    fetch_waiter_t *w = (has_data || wait_ms == 0 || b->n_waiters >= FETCH_WAITERS_MAX)
                        ? NULL : calloc(1, sizeof *w);
    if (!w) {
        answer_fetch(b, &reply, offset, max_bytes, CAIRN_ERR_OK);
        return;
    }
    w->reply = reply;
    w->fetch_offset = offset;
    w->max_bytes = max_bytes;
    w->deadline_ms = cairn_mono_ms() + wait_ms;
    w->next = b->waiters;
    b->waiters = w;
    b->n_waiters++;
}

/* Answers waiters that have data (or all of them, with code, if force). */
static void wake_fetches(brokers_t *b, bool force, int code)
{
    uint64_t now = cairn_mono_ms();
    uint64_t applied = quorum_applied_index(b->c->quorum);
    fetch_waiter_t **pp = &b->waiters;
    while (*pp) {
        fetch_waiter_t *w = *pp;
        if (force || w->fetch_offset <= applied || now >= w->deadline_ms ||
            !rpc_conn_is_open(w->reply.conn)) {
            *pp = w->next;
            b->n_waiters--;
            answer_fetch(b, &w->reply, w->fetch_offset, w->max_bytes, code);
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void brokers_on_applied(brokers_t *b, uint64_t applied_index)
{
    wake_fetches(b, false, CAIRN_ERR_OK);
}

void brokers_on_leadership(brokers_t *b, bool is_leader)
{
    /* A new leader gives every broker a full session before fencing it
     * (the previous leader's heartbeat times are not known here). */
    uint64_t now = cairn_mono_ms();
    for (size_t i = 0; i < b->n_sessions; i++) {
        b->sessions[i].last_heartbeat_ms = now;
        b->sessions[i].op_in_flight = false;
        session_track_conn(&b->sessions[i], NULL);
    }
    if (!is_leader)
        wake_fetches(b, true, CAIRN_ERR_NOT_LEADER);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    brokers_t *b = arg;
    wake_fetches(b, false, CAIRN_ERR_OK);
    if (quorum_leader_ready(b->c->quorum))
        check_sessions(b);
}

bool brokers_handle(brokers_t *b, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    switch (frame->type) {
    case CAIRN__RPC_TYPE__RPC_BROKER_REGISTER: handle_register(b, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_BROKER_HEARTBEAT: handle_heartbeat(b, conn, frame); return true;
    case CAIRN__RPC_TYPE__RPC_METADATA_FETCH: handle_fetch(b, conn, frame); return true;
    default: return false;
    }
}

brokers_t *brokers_new(controller_t *c)
{
    brokers_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->c = c;
    b->timer = event_new(c->base, -1, EV_PERSIST, on_timer, b);
    struct timeval tv = { 0, SESSION_CHECK_MS * 1000 };
    if (!b->timer || event_add(b->timer, &tv) != 0) {
        brokers_free(b);
        return NULL;
    }
    return b;
}

void brokers_free(brokers_t *b)
{
    if (!b)
        return;
    while (b->waiters) {
        fetch_waiter_t *w = b->waiters;
        b->waiters = w->next;
        rpc_conn_unref(w->reply.conn);
        free(w);
    }
    if (b->timer)
        event_free(b->timer);
    for (size_t i = 0; i < b->n_sessions; i++)
        session_track_conn(&b->sessions[i], NULL);
    free(b->sessions);
    free(b);
}
