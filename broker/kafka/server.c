/* Kafka listener: framing, per-connection request FIFO, bounds. */
#include "server.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cairn_assert.h"
#include "log.h"
#include "timeutil.h"

#define REQUEST_MAX_DEFAULT (100u << 20)
#define INFLIGHT_MAX_DEFAULT 256
#define OUTPUT_MAX_DEFAULT (64u << 20)
#define CONNECTIONS_MAX_DEFAULT 4096
/* api_key, api_version, correlation_id: what every request header has. */
#define REQUEST_MIN_BYTES 8

struct kafka_conn {
    kafka_server_t *srv;
    struct bufferevent *bev;       /* NULL once closed */
    char peer[64];
    kafka_request_t *head;         /* oldest request not yet answered */
    kafka_request_t *tail;
    size_t inflight;
    bool reading;
    bool in_read;                  /* on_read is dispatching: it frees a closed conn */
    void *user;
    void (*user_free)(void *);
    struct kafka_conn *prev, *next;
};

struct kafka_server {
    struct event_base *base;
    struct evconnlistener *listener;
    kafka_server_opts_t opts;
    kafka_dispatch_fn dispatch;
    void *ctx;
    uint16_t port;
    size_t n_conns;
    kafka_conn_t *conns;
};

static void conn_update_reading(kafka_conn_t *c);
static void conn_maybe_free(kafka_conn_t *c);

/* ---- closing ----------------------------------------------------------- */

static void conn_unlink(kafka_conn_t *c)
{
    kafka_server_t *srv = c->srv;
    if (!srv)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->n_conns--;
    c->srv = NULL;
}

/* Closes the socket; the struct lives until every request is completed. */
static void conn_close(kafka_conn_t *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    conn_unlink(c);
    conn_maybe_free(c);
}

static void request_free(kafka_request_t *r)
{
    free(r->frame_owned);
    if (r->response)
        evbuffer_free(r->response);
    free(r);
}

/* Frees a closed connection whose requests are all done. */
static void conn_maybe_free(kafka_conn_t *c)
{
    if (c->bev || c->in_read)
        return;
    while (c->head && c->head->done) {
        kafka_request_t *r = c->head;
        c->head = r->next;
        request_free(r);
        c->inflight--;
    }
    if (c->head)
        return;                 /* the dispatcher still holds a request */
    if (c->user && c->user_free)
        c->user_free(c->user);
    free(c);
}

/* ---- responses --------------------------------------------------------- */

/* Sends every completed response at the head of the FIFO, in order. */
static void conn_flush(kafka_conn_t *c)
{
    if (!c->bev) {
        conn_maybe_free(c);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->head && c->head->done) {
        kafka_request_t *r = c->head;
        if (!r->no_response) {
            size_t len = evbuffer_get_length(r->response);
            CAIRN_ASSERT(len <= INT32_MAX);
            uint32_t be = htonl((uint32_t)len);
            evbuffer_add(out, &be, sizeof be);
            evbuffer_add_buffer(out, r->response);
        }
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        c->inflight--;
        request_free(r);
    }
    conn_update_reading(c);
}

void kafka_request_complete(kafka_request_t *req, bool no_response)
{
    CAIRN_ASSERT(!req->done);
    req->done = true;
    req->no_response = no_response;
    conn_flush(req->conn);
}

void kafka_request_close_conn(kafka_request_t *req, const char *why)
{
    kafka_conn_t *c = req->conn;
    if (c->bev) {
        LOG_WARN("kafka", "closing connection from %s: %s", c->peer, why);
        conn_close(c);
    }
}

/* ---- requests ---------------------------------------------------------- */

static void conn_update_reading(kafka_conn_t *c)
{
    if (!c->bev || !c->srv)
        return;
    size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
    bool want = c->inflight < c->srv->opts.inflight_max && out < c->srv->opts.output_max_bytes;
    if (want && !c->reading) {
        bufferevent_enable(c->bev, EV_READ);
        c->reading = true;
    } else if (!want && c->reading) {
        /* Backpressure: a client that pipelines faster than it reads its
         * responses stops being read until it catches up. */
        bufferevent_disable(c->bev, EV_READ);
        c->reading = false;
    }
}

/* Takes the next whole frame off the input, or returns 0 (need more) or -1
 * (connection closed for a bad size). */
static int conn_take_frame(kafka_conn_t *c, struct evbuffer *in, kafka_request_t **out)
{
    uint8_t size_be[4];
    if (evbuffer_copyout(in, size_be, 4) < 4)
        return 0;
    int32_t size = (int32_t)((uint32_t)size_be[0] << 24 | (uint32_t)size_be[1] << 16 |
                             (uint32_t)size_be[2] << 8 | size_be[3]);
    /* Checked before anything is buffered: a client claiming 2 GiB is
     * dropped at once. */
    if (size < REQUEST_MIN_BYTES || (size_t)size > c->srv->opts.request_max_bytes) {
        LOG_WARN("kafka", "closing connection from %s: request size %d outside [%d, %zu] "
                 "(socket.request.max.bytes)", c->peer, size, REQUEST_MIN_BYTES,
                 c->srv->opts.request_max_bytes);
        conn_close(c);
        return -1;
    }
    if (evbuffer_get_length(in) < 4 + (size_t)size)
        return 0;
    kafka_request_t *r = calloc(1, sizeof *r);
    uint8_t *frame = malloc((size_t)size);
    struct evbuffer *resp = evbuffer_new();
    if (!r || !frame || !resp) {
        free(r);
        free(frame);
        if (resp)
            evbuffer_free(resp);
        LOG_WARN("kafka", "closing connection from %s: out of memory for a %d-byte request",
                 c->peer, size);
        conn_close(c);
        return -1;
    }
    evbuffer_drain(in, 4);
    evbuffer_remove(in, frame, (size_t)size);
    r->conn = c;
    r->frame = r->frame_owned = frame;
    r->frame_len = (size_t)size;
    r->response = resp;
    r->received_us = cairn_mono_us();
    *out = r;
    return 1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    kafka_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    /* A handler may close the connection (a malformed request) and answer
     * at once: c stays allocated until the loop is done with it. */
    c->in_read = true;
    while (c->bev && c->reading) {
        kafka_request_t *r = NULL;
        if (conn_take_frame(c, in, &r) <= 0)
            break;
        if (c->tail)
            c->tail->next = r;
        else
            c->head = r;
        c->tail = r;
        c->inflight++;
        conn_update_reading(c);
        c->srv->dispatch(c->srv->ctx, r);
    }
    c->in_read = false;
    conn_maybe_free(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn_update_reading(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    kafka_conn_t *c = arg;
    if (what & BEV_EVENT_TIMEOUT)
        LOG_DEBUG("kafka", "closing idle connection from %s", c->peer);
    else if (what & BEV_EVENT_ERROR)
        LOG_DEBUG("kafka", "connection from %s failed: %s", c->peer,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    conn_close(c);
}

/* ---- accepting ----------------------------------------------------------- */

static void format_peer(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, len, "%s:%u", host, port);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    kafka_server_t *srv = arg;
    char peer[64];
    format_peer(sa, peer, sizeof peer);
    kafka_conn_t *c = srv->n_conns < srv->opts.connections_max ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        LOG_WARN("kafka", "refusing connection from %s: %zu connections open", peer, srv->n_conns);
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->srv = srv;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    if (srv->opts.idle_timeout_ms) {
        struct timeval tv = { srv->opts.idle_timeout_ms / 1000,
                              (srv->opts.idle_timeout_ms % 1000) * 1000 };
        bufferevent_set_timeouts(c->bev, &tv, NULL);
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->reading = true;
    LOG_DEBUG("kafka", "connection from %s", peer);
}

kafka_server_t *kafka_server_new(struct event_base *base, const char *host, uint16_t port,
                                 const kafka_server_opts_t *opts,
                                 kafka_dispatch_fn dispatch, void *ctx)
{
    kafka_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->base = base;
    srv->dispatch = dispatch;
    srv->ctx = ctx;
    if (opts)
        srv->opts = *opts;
    if (!srv->opts.request_max_bytes)
        srv->opts.request_max_bytes = REQUEST_MAX_DEFAULT;
    if (!srv->opts.inflight_max)
        srv->opts.inflight_max = INFLIGHT_MAX_DEFAULT;
    if (!srv->opts.output_max_bytes)
        srv->opts.output_max_bytes = OUTPUT_MAX_DEFAULT;
    if (!srv->opts.connections_max)
        srv->opts.connections_max = CONNECTIONS_MAX_DEFAULT;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        LOG_ERROR("kafka", "listener host '%s' is not an IPv4 address", host);
        free(srv);
        return NULL;
    }
    srv->listener = evconnlistener_new_bind(base, on_accept, srv,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 512,
                                            (struct sockaddr *)&sin, sizeof sin);
    if (!srv->listener) {
        LOG_ERROR("kafka", "cannot listen on %s:%u: %s", host, port,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        free(srv);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
    srv->port = ntohs(bound.sin_port);
    LOG_INFO("kafka", "listening on %s:%u", host, srv->port);
    return srv;
}

uint16_t kafka_server_port(const kafka_server_t *srv)
{
    return srv->port;
}

void kafka_server_free(kafka_server_t *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_close(srv->conns);
    evconnlistener_free(srv->listener);
    free(srv);
}

bool kafka_conn_open(const kafka_conn_t *conn)
{
    return conn->bev != NULL;
}

const char *kafka_conn_peer(const kafka_conn_t *conn)
{
    return conn->peer;
}

void *kafka_conn_user(const kafka_conn_t *conn)
{
    return conn->user;
}

void kafka_conn_set_user(kafka_conn_t *conn, void *user, void (*free_fn)(void *))
{
    conn->user = user;
    conn->user_free = free_fn;
}
