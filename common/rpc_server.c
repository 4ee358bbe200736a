/* RPC server: accepts internal connections, splits their input into frames and
 * hands each request to the owner's callback. A bad peer loses its own
 * connection and nothing else; connections are refcounted so a request can be
 * answered after the callback returns (long poll, after a Raft commit). */
#include "rpc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "cairn_assert.h"
#include "log.h"
#include "rpc_internal.h"
#include "timeutil.h"

#define RPC_CONNECTIONS_MAX_DEFAULT 1024u
/* After accept() fails (EMFILE and friends) the listener would spin: pause. */
#define RPC_ACCEPT_PAUSE_MS 100u

struct rpc_conn {
    unsigned refs;               /* the open socket holds one */
    bool open;
    rpc_server_t *srv;           /* NULL once closed */
    struct bufferevent *bev;     /* NULL once closed */
    struct event *idle_ev;       /* NULL unless idle_timeout_ms */
    uint64_t last_active_ms;
    rpc_conn_t *prev, *next;     /* srv->conns */
    char peer[RPC_PEER_LEN];
};

struct rpc_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *resume_ev;
    rpc_server_opts_t opts;      /* defaults resolved */
    rpc_request_cb on_request;
    void *arg;
    rpc_conn_t *conns;
    size_t conn_count;
    uint16_t port;
};

static void timeval_from_ms(struct timeval *tv, uint64_t ms)
{
    tv->tv_sec = (time_t)(ms / 1000u);
    tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
}

/* ---- connection lifetime ------------------------------------------------ */

void rpc_conn_ref(rpc_conn_t *conn)
{
    CAIRN_ASSERT(conn->refs > 0);
    conn->refs++;
}

void rpc_conn_unref(rpc_conn_t *conn)
{
    CAIRN_ASSERT(conn->refs > 0);
    if (--conn->refs > 0)
        return;
    /* The socket's own reference is dropped only after closing. */
    CAIRN_ASSERT(!conn->open);
    free(conn);
}

bool rpc_conn_is_open(const rpc_conn_t *conn)
{
    return conn->open;
}

const char *rpc_conn_peer(const rpc_conn_t *conn)
{
    return conn->peer;
}

/* Closes the socket and unlinks from the server; the struct lives on until
 * the last reference goes. Safe from inside this connection's callbacks:
 * libevent defers freeing a bufferevent that is running a callback. */
static void conn_close(rpc_conn_t *conn)
{
    if (!conn->open)
        return;
    rpc_server_t *srv = conn->srv;
    conn->open = false;
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    conn->prev = conn->next = NULL;
    CAIRN_ASSERT(srv->conn_count > 0);
    srv->conn_count--;
    conn->srv = NULL;
    bufferevent_free(conn->bev);
    conn->bev = NULL;
    if (conn->idle_ev != NULL)
        event_free(conn->idle_ev);
    conn->idle_ev = NULL;
    rpc_conn_unref(conn);
}

void rpc_conn_close(rpc_conn_t *conn)
{
    if (conn->open)
        LOG_DEBUG("rpc", "closing connection from %s", conn->peer);
    conn_close(conn);
}

/* ---- replies -------------------------------------------------------------- */

int rpc_conn_reply_to(rpc_conn_t *conn, uint32_t type, uint64_t correlation_id,
                      const ProtobufCMessage *msg, const void *payload, size_t payload_len)
{
    if (!conn->open) {
        LOG_DEBUG("rpc", "dropping reply type %u id %llu: connection from %s closed",
                  type, (unsigned long long)correlation_id, conn->peer);
        return -1;
    }
    const rpc_server_t *srv = conn->srv;
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    size_t queued_bytes = evbuffer_get_length(out);
    /* A peer that stops reading must not grow our memory without bound: at
     * most output_max plus one frame is ever queued. */
    if (queued_bytes >= srv->opts.output_max) {
        LOG_DEBUG("rpc", "dropping reply type %u id %llu to %s: %zu bytes unsent",
                  type, (unsigned long long)correlation_id, conn->peer, queued_bytes);
        return -1;
    }
    if (rpc_frame_write(out, type, correlation_id, true, msg, payload, payload_len,
                        srv->opts.frame_max) != 0) {
        LOG_WARN("rpc", "reply type %u id %llu to %s not sent: over frame_max %zu",
                 type, (unsigned long long)correlation_id, conn->peer, srv->opts.frame_max);
        return -1;
    }
    conn->last_active_ms = cairn_mono_ms();
    return 0;
}

int rpc_conn_reply(rpc_conn_t *conn, const rpc_frame_t *request_type_and_id,
                   const ProtobufCMessage *msg, const void *payload, size_t payload_len)
{
    return rpc_conn_reply_to(conn, request_type_and_id->type,
                             request_type_and_id->correlation_id, msg, payload, payload_len);
}

/* ---- socket callbacks ----------------------------------------------------- */

/* Dispatches every whole frame buffered. The temporary reference keeps conn
 * alive if the callback closes it, or frees the whole server. */
static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    rpc_conn_t *conn = arg;
    (void)bev;
    rpc_conn_ref(conn);
    conn->last_active_ms = cairn_mono_ms();
    while (conn->open) {
        rpc_server_t *srv = conn->srv;
        struct evbuffer *in = bufferevent_get_input(conn->bev);
        rpc_frame_t frame;
        size_t consumed;
        void *scratch;
        const char *why;
        rpc_parse_t r = rpc_frame_next(in, srv->opts.frame_max, &frame, &consumed,
                                       &scratch, &why);
        if (r == RPC_PARSE_NEED_MORE)
            break;
        if (r == RPC_PARSE_ERROR) {
            LOG_WARN("rpc", "closing connection from %s: %s", conn->peer, why);
            conn_close(conn);
            break;
        }
        if (frame.response) {
            LOG_WARN("rpc", "closing connection from %s: response frame (type %u id %llu) "
                     "sent to a server", conn->peer, frame.type,
                     (unsigned long long)frame.correlation_id);
            rpc_frame_scratch_free(scratch);
            conn_close(conn);
            break;
        }
        srv->on_request(conn, &frame, srv->arg);
        rpc_frame_scratch_free(scratch);
        if (conn->open)
            evbuffer_drain(in, consumed);
    }
    rpc_conn_unref(conn);
}

static void conn_event_cb(struct bufferevent *bev, short events, void *arg)
{
    rpc_conn_t *conn = arg;
    (void)bev;
    if (events & BEV_EVENT_EOF) {
        LOG_DEBUG("rpc", "connection from %s closed by peer", conn->peer);
    } else if (events & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        LOG_DEBUG("rpc", "connection from %s failed: %s", conn->peer,
                  evutil_socket_error_to_string(err));
    } else {
        return;
    }
    conn_close(conn);
}

/* Idle means no bytes either way and no request held for a later answer. */
static void conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    rpc_conn_t *conn = arg;
    (void)fd;
    (void)what;
    CAIRN_ASSERT(conn->open);
    uint64_t timeout_ms = conn->srv->opts.idle_timeout_ms;
    uint64_t now_ms = cairn_mono_ms();
    if (conn->refs > 1)
        conn->last_active_ms = now_ms;
    uint64_t idle_ms = now_ms - conn->last_active_ms;
    if (idle_ms >= timeout_ms) {
        LOG_DEBUG("rpc", "closing connection from %s: idle for %llu ms", conn->peer,
                  (unsigned long long)idle_ms);
        conn_close(conn);
        return;
    }
    struct timeval tv;
    timeval_from_ms(&tv, timeout_ms - idle_ms);
    evtimer_add(conn->idle_ev, &tv);
}

static int conn_start_idle_timer(rpc_conn_t *conn, struct event_base *base,
                                 uint32_t idle_timeout_ms)
{
    if (idle_timeout_ms == 0)
        return 0;
    conn->idle_ev = evtimer_new(base, conn_idle_cb, conn);
    if (conn->idle_ev == NULL)
        return -1;
    struct timeval tv;
    timeval_from_ms(&tv, idle_timeout_ms);
    return evtimer_add(conn->idle_ev, &tv);
}

/* Takes fd: on failure it is closed here. */
static rpc_conn_t *conn_new(rpc_server_t *srv, evutil_socket_t fd, const char *peer)
{
    rpc_conn_t *conn = calloc(1, sizeof *conn);
    if (conn != NULL)
        conn->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (conn == NULL || conn->bev == NULL) {
        evutil_closesocket(fd);
        free(conn);
        return NULL;
    }
    if (conn_start_idle_timer(conn, srv->base, srv->opts.idle_timeout_ms) != 0) {
        if (conn->idle_ev != NULL)
            event_free(conn->idle_ev);
        bufferevent_free(conn->bev);
        free(conn);
        return NULL;
    }
    conn->refs = 1;
    conn->open = true;
    conn->srv = srv;
    conn->last_active_ms = cairn_mono_ms();
    snprintf(conn->peer, sizeof conn->peer, "%s", peer);
    bufferevent_setcb(conn->bev, conn_read_cb, NULL, conn_event_cb, conn);
    return conn;
}

static void server_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
                             struct sockaddr *sa, int sa_len, void *arg)
{
    rpc_server_t *srv = arg;
    (void)listener;
    (void)sa_len;
    char peer[RPC_PEER_LEN];
    rpc_format_sockaddr(sa, peer, sizeof peer);
    if (srv->conn_count >= srv->opts.connections_max) {
        LOG_WARN("rpc", "refusing connection from %s on port %u: connections_max %zu reached",
                 peer, (unsigned)srv->port, srv->opts.connections_max);
        evutil_closesocket(fd);
        return;
    }
    rpc_conn_t *conn = conn_new(srv, fd, peer);
    if (conn == NULL) {
        LOG_WARN("rpc", "refusing connection from %s on port %u: out of memory",
                 peer, (unsigned)srv->port);
        return;
    }
    rpc_set_nodelay(fd);
    conn->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = conn;
    srv->conns = conn;
    srv->conn_count++;
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    LOG_DEBUG("rpc", "accepted connection from %s on port %u (%zu open)", peer,
              (unsigned)srv->port, srv->conn_count);
}

static void server_accept_error_cb(struct evconnlistener *listener, void *arg)
{
    rpc_server_t *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    LOG_WARN("rpc", "accept on port %u failed: %s; pausing accepts for %u ms",
             (unsigned)srv->port, evutil_socket_error_to_string(err), RPC_ACCEPT_PAUSE_MS);
    evconnlistener_disable(listener);
    struct timeval tv;
    timeval_from_ms(&tv, RPC_ACCEPT_PAUSE_MS);
    evtimer_add(srv->resume_ev, &tv);
}

static void server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    rpc_server_t *srv = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(srv->listener);
}

/* ---- server lifetime ------------------------------------------------------ */

static struct evconnlistener *listen_on(rpc_server_t *srv, const char *host, uint16_t port)
{
    char port_str[8];
    snprintf(port_str, sizeof port_str, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    const char *node = (host != NULL && host[0] != '\0') ? host : NULL;
    int gai = getaddrinfo(node, port_str, &hints, &res);
    if (gai != 0) {
        LOG_ERROR("rpc", "cannot listen on %s:%u: %s", node ? node : "*", (unsigned)port,
                  gai_strerror(gai));
        return NULL;
    }
    struct evconnlistener *listener = NULL;
    int err = 0;
    for (struct addrinfo *ai = res; ai != NULL && listener == NULL; ai = ai->ai_next) {
        listener = evconnlistener_new_bind(srv->base, server_accept_cb, srv,
                                           LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
                                           LEV_OPT_CLOSE_ON_EXEC, -1,
                                           ai->ai_addr, (int)ai->ai_addrlen);
        if (listener == NULL)
            err = EVUTIL_SOCKET_ERROR();
    }
    freeaddrinfo(res);
    if (listener == NULL)
        LOG_ERROR("rpc", "cannot listen on %s:%u: %s", node ? node : "*", (unsigned)port,
                  evutil_socket_error_to_string(err));
    return listener;
}

static uint16_t listener_port(struct evconnlistener *listener)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static void server_opts_resolve(rpc_server_opts_t *dst, const rpc_server_opts_t *src)
{
    if (src != NULL)
        *dst = *src;
    else
        memset(dst, 0, sizeof *dst);
    dst->frame_max = rpc_frame_max_resolve(dst->frame_max);
    if (dst->output_max == 0)
        dst->output_max = 4 * dst->frame_max;
    if (dst->connections_max == 0)
        dst->connections_max = RPC_CONNECTIONS_MAX_DEFAULT;
}

rpc_server_t *rpc_server_new(struct event_base *base, const char *host, uint16_t port,
                             const rpc_server_opts_t *opts, rpc_request_cb on_request,
                             void *arg)
{
    CAIRN_ASSERT(base != NULL && on_request != NULL);
    rpc_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        LOG_ERROR("rpc", "cannot listen on port %u: out of memory", (unsigned)port);
        return NULL;
    }
    srv->base = base;
    srv->on_request = on_request;
    srv->arg = arg;
    server_opts_resolve(&srv->opts, opts);
    srv->resume_ev = evtimer_new(base, server_resume_cb, srv);
    if (srv->resume_ev != NULL)
        srv->listener = listen_on(srv, host, port);
    if (srv->listener == NULL) {
        if (srv->resume_ev != NULL)
            event_free(srv->resume_ev);
        free(srv);
        return NULL;
    }
    evconnlistener_set_error_cb(srv->listener, server_accept_error_cb);
    srv->port = listener_port(srv->listener);
    LOG_INFO("rpc", "listening on %s:%u", (host && host[0]) ? host : "*",
             (unsigned)srv->port);
    return srv;
}

uint16_t rpc_server_port(const rpc_server_t *srv)
{
    return srv->port;
}

void rpc_server_free(rpc_server_t *srv)
{
    if (srv == NULL)
        return;
    evconnlistener_free(srv->listener);
    event_free(srv->resume_ev);
    /* Held connections stay allocated (closed) until their owners unref. */
    while (srv->conns != NULL)
        conn_close(srv->conns);
    LOG_INFO("rpc", "stopped listening on port %u", (unsigned)srv->port);
    free(srv);
}
