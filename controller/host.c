/* The controller's RPC server, request dispatch and loop phases. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "controller.h"
#include "errors.h"
#include "log.h"

void controller_status(controller_t *c, Cairn__Status *st, int code, const char *message)
{
    static char leader_address[CAIRN_HOST_MAX + 8];
    cairn__status__init(st);
    st->code = code;
    st->message = (char *)(message ? message : cairn_strerror(code));
    if (code == CAIRN_ERR_NOT_LEADER) {
        uint32_t leader = quorum_leader_id(c->quorum);
        /* A leader that is not ready yet names no one, so callers retry. */
        if (leader == (uint32_t)c->cfg->node_id)
            leader = 0;
        st->leader_id = leader;
        snprintf(leader_address, sizeof leader_address, "%s",
                 leader ? quorum_voter_address(c->quorum, leader) : "");
        st->leader_address = leader_address;
    }
}

void deferred_reply_init(deferred_reply_t *d, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    d->conn = conn;
    d->type = frame->type;
    d->correlation_id = frame->correlation_id;
    rpc_conn_ref(conn);
}

void deferred_reply_send(deferred_reply_t *d, const ProtobufCMessage *msg)
{
    CAIRN_ASSERT(d->conn != NULL);
    if (rpc_conn_is_open(d->conn))
        (void)rpc_conn_reply_to(d->conn, d->type, d->correlation_id, msg, NULL, 0);
    rpc_conn_unref(d->conn);
    d->conn = NULL;
}

static void on_request(rpc_conn_t *conn, const rpc_frame_t *frame, void *arg)
{
    controller_t *c = arg;
    if (frame->type == CAIRN__RPC_TYPE__RPC_RAFT) {
        quorum_receive(c->quorum, frame->body, frame->body_len);
        return;
    }
    if (admin_handle(c->admin, conn, frame) || brokers_handle(c->brokers, conn, frame) ||
        partitions_handle(c->partitions, conn, frame))
        return;
    LOG_WARN("rpc", "unknown request type %u from %s; closing", frame->type, rpc_conn_peer(conn));
    rpc_conn_close(conn);
}

static void on_applied(void *ctx, uint64_t applied_index)
{
    controller_t *c = ctx;
    brokers_on_applied(c->brokers, applied_index);
}

static void on_leadership(void *ctx, bool is_leader)
{
    controller_t *c = ctx;
    brokers_on_leadership(c->brokers, is_leader);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    controller_t *c = arg;
    event_base_loopbreak(c->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    controller_t *c = arg;
    if (c->stopping)
        return;
    c->stopping = true;
    LOG_INFO("controller", "signal %d: shutting down", (int)sig);
    /* Hand leadership over first so the quorum does not wait out an
     * election timeout; give the transfer a short, bounded time. */
    quorum_resign(c->quorum);
    c->stop_ev = evtimer_new(c->base, on_stop_timer, c);
    struct timeval tv = { 0, quorum_is_leader(c->quorum) ? 200000 : 0 };
    evtimer_add(c->stop_ev, &tv);
}

controller_t *controller_start(struct event_base *base, const cairn_config_t *cfg,
                               char *err, size_t err_len)
{
    controller_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    c->base = base;
    c->cfg = cfg;
    if (cairn_parse_voters(cfg->controller_quorum_voters, c->voters, CAIRN_MAX_VOTERS,
                           &c->n_voters) != 0) {
        snprintf(err, err_len, "config: bad value for 'controller.quorum.voters'");
        free(c);
        return NULL;
    }
    char host[CAIRN_HOST_MAX];
    uint16_t port;
    if (cairn_parse_listener(cfg->listeners, NULL, 0, host, sizeof host, &port) != 0) {
        snprintf(err, err_len, "config: bad value for 'listeners'");
        free(c);
        return NULL;
    }
    c->image = md_image_new();
    c->brokers = brokers_new(c);
    c->admin = admin_new(c);
    c->partitions = partitions_new(c);
    quorum_listener_t listener = { on_applied, on_leadership, c };
    c->quorum = quorum_open(base, cfg, c->voters, c->n_voters, c->image, &listener, err, err_len);
    if (!c->image || !c->brokers || !c->admin || !c->partitions || !c->quorum) {
        controller_free(c);
        return NULL;
    }
    rpc_server_opts_t sopts = { .frame_max = (size_t)cfg->metadata_max_frame_bytes };
    c->server = rpc_server_new(base, host, port, &sopts, on_request, c);
    if (!c->server) {
        snprintf(err, err_len, "cannot listen on %s:%u", host, port);
        controller_free(c);
        return NULL;
    }
    c->sig_term = evsignal_new(base, SIGTERM, on_signal, c);
    c->sig_int = evsignal_new(base, SIGINT, on_signal, c);
    evsignal_add(c->sig_term, NULL);
    evsignal_add(c->sig_int, NULL);
    LOG_INFO("controller", "listening on %s:%u, voters=%s", host, port,
             cfg->controller_quorum_voters);
    return c;
}

void controller_run(controller_t *c)
{
    /* libevent has no prepare hook: one turn of the loop, then the flush
     * phase (persist, send, apply) for everything that turn stepped. */
    while (!event_base_got_break(c->base)) {
        quorum_flush(c->quorum);
        if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
            break;
    }
    quorum_flush(c->quorum);
}

void controller_free(controller_t *c)
{
    if (!c)
        return;
    if (c->server)
        rpc_server_free(c->server);
    if (c->quorum)
        quorum_close(c->quorum);
    if (c->admin)
        admin_free(c->admin);
    if (c->brokers)
        brokers_free(c->brokers);
    if (c->partitions)
        partitions_free(c->partitions);
    if (c->image)
        md_image_free(c->image);
    if (c->sig_term)
        event_free(c->sig_term);
    if (c->sig_int)
        event_free(c->sig_int);
    if (c->stop_ev)
        event_free(c->stop_ev);
    free(c);
}
