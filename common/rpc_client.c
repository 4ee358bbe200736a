/* RPC client: one lazily made, self-healing connection to host:port with a
 * bounded table of calls waiting for answers. Every completion runs from the
 * event loop, never from inside the call that started it. */
#include "rpc.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "cairn_assert.h"
#include "errors.h"
#include "log.h"
#include "rpc_internal.h"
#include "timeutil.h"

#define RPC_PENDING_MAX_DEFAULT 1024u
/* The slot index lives in the low bits of a correlation id. */
#define RPC_PENDING_MAX_LIMIT (1u << 16)
#define RPC_CONNECT_TIMEOUT_MS_DEFAULT 1000u
#define RPC_BACKOFF_MIN_MS_DEFAULT 20u
#define RPC_BACKOFF_MAX_MS_DEFAULT 1000u
#define RPC_ADDRESS_LEN 300

typedef enum {
    CLIENT_IDLE,                 /* never used: nothing scheduled */
    CLIENT_WAITING,              /* a connect attempt is scheduled (backoff) */
    CLIENT_CONNECTING,
    CLIENT_CONNECTED,
} client_state_t;

typedef struct rpc_call {
    uint64_t id;                 /* 0: slot free */
    uint32_t slot;
    uint32_t type;
    rpc_response_cb cb;
    void *arg;
    bool sent;                   /* written to a connection */
    struct event *timer;         /* created on first use of the slot, reused */
    struct evbuffer *unsent;     /* the encoded frame while not yet sent */
    struct rpc_call *q_prev, *q_next;   /* FIFO of unsent calls */
    rpc_client_t *client;
} rpc_call_t;

struct rpc_client {
    struct event_base *base;
    char *host;
    uint16_t port;
    char address[RPC_ADDRESS_LEN];
    rpc_client_opts_t opts;      /* defaults resolved */

    client_state_t state;
    struct bufferevent *bev;     /* set while CONNECTING or CONNECTED */
    struct event *connect_ev;    /* connect timeout */
    struct event *retry_ev;      /* next connect attempt */
    uint32_t backoff_ms;         /* base of the next retry delay */
    uint32_t failures;           /* consecutive failed attempts */
    bool connect_failed;         /* the last connect attempt failed (peer down) */
    uint32_t addr_index;         /* which resolved address to try next */
    uint64_t rng;

    rpc_call_t *calls;           /* opts.pending_max slots */
    uint32_t *free_slots;        /* stack of free slot indexes */
    size_t free_count;
    unsigned slot_bits;
    uint64_t seq;
    rpc_call_t *q_head, *q_tail;

    unsigned busy;               /* depth of user callbacks running */
    bool freeing;
};

static void timeval_from_ms(struct timeval *tv, uint64_t ms)
{
    tv->tv_sec = (time_t)(ms / 1000u);
    tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
}

/* xorshift64*: only spreads reconnect times, so no need for quality. */
static uint64_t client_rand(rpc_client_t *c)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- call slots ------------------------------------------------------------ */

static void queue_unlink(rpc_client_t *c, rpc_call_t *call)
{
    if (call->q_prev != NULL)
        call->q_prev->q_next = call->q_next;
    else
        c->q_head = call->q_next;
    if (call->q_next != NULL)
        call->q_next->q_prev = call->q_prev;
    else
        c->q_tail = call->q_prev;
    call->q_prev = call->q_next = NULL;
}

static void queue_append(rpc_client_t *c, rpc_call_t *call)
{
    call->q_prev = c->q_tail;
    call->q_next = NULL;
    if (c->q_tail != NULL)
        c->q_tail->q_next = call;
    else
        c->q_head = call;
    c->q_tail = call;
}

/* Frees the slot before its callback runs, so the callback may call again. */
static void call_release(rpc_client_t *c, rpc_call_t *call)
{
    CAIRN_ASSERT(call->id != 0);
    if (call->timer != NULL)
        event_del(call->timer);
    if (call->unsent != NULL) {
        queue_unlink(c, call);
        evbuffer_free(call->unsent);
        call->unsent = NULL;
    }
    call->id = 0;
    call->cb = NULL;
    call->arg = NULL;
    CAIRN_ASSERT(c->free_count < c->opts.pending_max);
    c->free_slots[c->free_count++] = call->slot;
}

static rpc_call_t *call_lookup(rpc_client_t *c, uint64_t id)
{
    uint64_t slot = id & ((UINT64_C(1) << c->slot_bits) - 1);
    if (id == 0 || slot >= c->opts.pending_max)
        return NULL;
    rpc_call_t *call = &c->calls[slot];
    return call->id == id ? call : NULL;
}

static void client_destroy(rpc_client_t *c)
{
    CAIRN_ASSERT(c->busy == 0 && c->bev == NULL);
    for (size_t i = 0; c->calls != NULL && i < c->opts.pending_max; i++) {
        CAIRN_ASSERT(c->calls[i].id == 0);
        if (c->calls[i].timer != NULL)
            event_free(c->calls[i].timer);
    }
    if (c->connect_ev != NULL)
        event_free(c->connect_ev);
    if (c->retry_ev != NULL)
        event_free(c->retry_ev);
    free(c->calls);
    free(c->free_slots);
    free(c->host);
    free(c);
}

/* After a user callback: true if the client is being freed, in which case the
 * caller must return without touching it (it is destroyed here once the
 * outermost callback has unwound). */
static bool client_gone(rpc_client_t *c)
{
    if (!c->freeing)
        return false;
    if (c->busy == 0)
        client_destroy(c);
    return true;
}

/* Runs the call's callback exactly once. Returns client_gone(). */
static bool call_finish(rpc_client_t *c, rpc_call_t *call, int err, const uint8_t *body,
                        size_t body_len, const uint8_t *payload, size_t payload_len)
{
    rpc_response_cb cb = call->cb;
    void *arg = call->arg;
    call_release(c, call);
    c->busy++;
    cb(err, body, body_len, payload, payload_len, arg);
    c->busy--;
    return client_gone(c);
}

/* A call never written anywhere had no connection to go over. */
static void call_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    rpc_call_t *call = arg;
    rpc_client_t *c = call->client;
    (void)fd;
    (void)what;
    int err = call->sent ? CAIRN_ERR_TIMEOUT : CAIRN_ERR_DISCONNECTED;
    LOG_DEBUG("rpc", "call type %u id %llu to %s: %s", call->type,
              (unsigned long long)call->id, c->address, cairn_errname(err));
    (void)call_finish(c, call, err, NULL, 0, NULL, 0);
}

/* ---- connection ------------------------------------------------------------ */

static void client_drop_connection(rpc_client_t *c)
{
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    event_del(c->connect_ev);
    event_del(c->retry_ev);
}

/* Jittered exponential backoff: the delay is in [backoff, 1.5 x backoff],
 * capped at backoff_max, and the base doubles per consecutive failure. */
static void client_schedule_retry(rpc_client_t *c)
{
    uint32_t base_ms = c->backoff_ms;
    uint64_t delay_ms = base_ms + client_rand(c) % ((uint64_t)base_ms / 2 + 1);
    if (delay_ms > c->opts.backoff_max_ms)
        delay_ms = c->opts.backoff_max_ms;
    uint64_t next_ms = (uint64_t)base_ms * 2;
    c->backoff_ms = next_ms > c->opts.backoff_max_ms ? c->opts.backoff_max_ms
                                                     : (uint32_t)next_ms;
    c->state = CLIENT_WAITING;
    struct timeval tv;
    timeval_from_ms(&tv, delay_ms);
    evtimer_add(c->retry_ev, &tv);
}

/* Lazy connect: the attempt starts from the loop, not from the caller. */
static void client_kick(rpc_client_t *c)
{
    if (c->state != CLIENT_IDLE)
        return;
    c->state = CLIENT_WAITING;
    struct timeval tv = { 0, 0 };
    evtimer_add(c->retry_ev, &tv);
}

/* Drops the connection and schedules the next attempt: a client keeps
 * reconnecting for as long as it lives, so a Raft peer's link heals without
 * waiting for traffic. Calls in flight on it fail with DISCONNECTED; unsent
 * calls wait for the next connection or their timeout, unless fail_fast.
 * Returns client_gone(). */
static bool client_conn_lost(rpc_client_t *c, const char *why)
{
    bool was_connected = c->state == CLIENT_CONNECTED;
    if (was_connected)
        LOG_INFO("rpc", "lost connection to %s: %s", c->address, why);
    else if (c->failures == 0)
        LOG_INFO("rpc", "cannot connect to %s: %s", c->address, why);
    else
        LOG_DEBUG("rpc", "cannot connect to %s (attempt %u): %s", c->address,
                  c->failures + 1, why);
    c->failures++;
    c->connect_failed = !was_connected;
    client_drop_connection(c);
    client_schedule_retry(c);
    if (was_connected && c->opts.on_disconnect)
        c->opts.on_disconnect(c->opts.on_disconnect_arg);
    if (!was_connected && !c->opts.fail_fast)
        return false;
    /* fail_fast: a caller that can go elsewhere (another controller) learns
     * of a dead peer now, not when its call times out. */
    for (size_t i = 0; i < c->opts.pending_max; i++) {
        rpc_call_t *call = &c->calls[i];
        if (call->id != 0 && (call->sent || c->opts.fail_fast) &&
            call_finish(c, call, CAIRN_ERR_DISCONNECTED, NULL, 0, NULL, 0))
            return true;
    }
    return false;
}

static void client_on_connected(rpc_client_t *c)
{
    c->state = CLIENT_CONNECTED;
    c->failures = 0;
    c->connect_failed = false;
    c->backoff_ms = c->opts.backoff_min_ms;
    event_del(c->connect_ev);
    rpc_set_nodelay(bufferevent_getfd(c->bev));
    LOG_INFO("rpc", "connected to %s", c->address);
    /* Calls made while disconnected go out in the order they were made. */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->q_head != NULL) {
        rpc_call_t *call = c->q_head;
        if (evbuffer_add_buffer(out, call->unsent) != 0)
            break;               /* stays queued; its timeout still bounds it */
        queue_unlink(c, call);
        evbuffer_free(call->unsent);
        call->unsent = NULL;
        call->sent = true;
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Completes the call a response frame answers. Returns client_gone(), or
 * -1 for a protocol error (the caller closes the connection). */
static int client_handle_response(rpc_client_t *c, const rpc_frame_t *frame)
{
    rpc_call_t *call = call_lookup(c, frame->correlation_id);
    if (call == NULL || !call->sent) {
        /* Typically the answer to a call that already timed out. */
        LOG_DEBUG("rpc", "ignoring response type %u id %llu from %s: no such call",
                  frame->type, (unsigned long long)frame->correlation_id, c->address);
        return 0;
    }
    if (call->type != frame->type)
        return -1;
    return call_finish(c, call, 0, frame->body, frame->body_len, frame->payload,
                       frame->payload_len) ? 1 : 0;
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    rpc_client_t *c = arg;
    while (c->bev == bev) {
        struct evbuffer *in = bufferevent_get_input(bev);
        rpc_frame_t frame;
        size_t consumed;
        void *scratch;
        const char *why = NULL;
        rpc_parse_t r = rpc_frame_next(in, c->opts.frame_max, &frame, &consumed,
                                       &scratch, &why);
        if (r == RPC_PARSE_NEED_MORE)
            return;
        int rc = -1;
        if (r == RPC_PARSE_OK && frame.response) {
            rc = client_handle_response(c, &frame);
            why = "response type does not match its call";
        } else if (r == RPC_PARSE_OK) {
            why = "request frame sent to a client";
        }
        rpc_frame_scratch_free(scratch);
        if (rc > 0)
            return;
        if (rc < 0) {
            LOG_WARN("rpc", "closing connection to %s: %s", c->address, why);
            (void)client_conn_lost(c, why);
            return;
        }
        evbuffer_drain(in, consumed);
    }
}

static void client_event_cb(struct bufferevent *bev, short events, void *arg)
{
    rpc_client_t *c = arg;
    (void)bev;
    if (events & BEV_EVENT_CONNECTED) {
        client_on_connected(c);
        return;
    }
    if (events & BEV_EVENT_EOF) {
        (void)client_conn_lost(c, "closed by peer");
    } else if (events & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        (void)client_conn_lost(c, evutil_socket_error_to_string(err));
    }
}

static void client_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)client_conn_lost(arg, "connect timed out");
}

/* Resolves host:port and picks one address, rotating through the results on
 * successive attempts (localhost may be ::1 first while the peer listens on
 * 127.0.0.1). Blocks only if host is a name, not an address. */
static int client_resolve(rpc_client_t *c, struct sockaddr_storage *ss, socklen_t *ss_len)
{
    char port_str[8];
    snprintf(port_str, sizeof port_str, "%u", (unsigned)c->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    if (getaddrinfo(c->host, port_str, &hints, &res) != 0 || res == NULL)
        return -1;
    uint32_t count = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        count++;
    struct addrinfo *pick = res;
    for (uint32_t i = c->addr_index % count; i > 0; i--)
        pick = pick->ai_next;
    CAIRN_ASSERT(pick->ai_addrlen <= sizeof *ss);
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *ss_len = (socklen_t)pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void client_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    rpc_client_t *c = arg;
    (void)fd;
    (void)what;
    CAIRN_ASSERT(c->bev == NULL && c->state == CLIENT_WAITING);
    struct sockaddr_storage ss;
    socklen_t ss_len = 0;
    c->state = CLIENT_CONNECTING;
    c->addr_index = c->failures;
    if (client_resolve(c, &ss, &ss_len) != 0) {
        (void)client_conn_lost(c, "cannot resolve host");
        return;
    }
    c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        (void)client_conn_lost(c, "out of memory");
        return;
    }
    bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
    /* Failures are reported through client_event_cb from the loop. */
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)ss_len) != 0) {
        (void)client_conn_lost(c, "connect failed");
        return;
    }
    struct timeval tv;
    timeval_from_ms(&tv, c->opts.connect_timeout_ms);
    evtimer_add(c->connect_ev, &tv);
}

/* ---- public API ------------------------------------------------------------ */

static void client_opts_resolve(rpc_client_opts_t *dst, const rpc_client_opts_t *src)
{
    if (src != NULL)
        *dst = *src;
    else
        memset(dst, 0, sizeof *dst);
    dst->frame_max = rpc_frame_max_resolve(dst->frame_max);
    if (dst->pending_max == 0)
        dst->pending_max = RPC_PENDING_MAX_DEFAULT;
    if (dst->pending_max > RPC_PENDING_MAX_LIMIT)
        dst->pending_max = RPC_PENDING_MAX_LIMIT;
    if (dst->output_max == 0)
        dst->output_max = 4 * dst->frame_max;
    if (dst->connect_timeout_ms == 0)
        dst->connect_timeout_ms = RPC_CONNECT_TIMEOUT_MS_DEFAULT;
    if (dst->backoff_min_ms == 0)
        dst->backoff_min_ms = RPC_BACKOFF_MIN_MS_DEFAULT;
    if (dst->backoff_max_ms == 0)
        dst->backoff_max_ms = RPC_BACKOFF_MAX_MS_DEFAULT;
    if (dst->backoff_max_ms < dst->backoff_min_ms)
        dst->backoff_max_ms = dst->backoff_min_ms;
}

static int client_alloc_slots(rpc_client_t *c)
{
    size_t n = c->opts.pending_max;
    c->calls = calloc(n, sizeof *c->calls);
    c->free_slots = calloc(n, sizeof *c->free_slots);
    if (c->calls == NULL || c->free_slots == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        c->calls[i].slot = (uint32_t)i;
        c->calls[i].client = c;
        c->free_slots[i] = (uint32_t)(n - 1 - i);   /* slot 0 on top */
    }
    c->free_count = n;
    c->slot_bits = 1;
    while ((UINT64_C(1) << c->slot_bits) < n)
        c->slot_bits++;
    return 0;
}

rpc_client_t *rpc_client_new(struct event_base *base, const char *host, uint16_t port,
                             const rpc_client_opts_t *opts)
{
    CAIRN_ASSERT(base != NULL && host != NULL);
    rpc_client_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->base = base;
    c->port = port;
    client_opts_resolve(&c->opts, opts);
    c->host = strdup(host);
    c->connect_ev = evtimer_new(base, client_connect_timeout_cb, c);
    c->retry_ev = evtimer_new(base, client_retry_cb, c);
    if (c->host == NULL || c->connect_ev == NULL || c->retry_ev == NULL ||
        client_alloc_slots(c) != 0) {
        LOG_ERROR("rpc", "cannot create client for %s:%u: out of memory", host,
                  (unsigned)port);
        client_destroy(c);
        return NULL;
    }
    if (strchr(host, ':') != NULL)          /* IPv6 literal */
        snprintf(c->address, sizeof c->address, "[%s]:%u", host, (unsigned)port);
    else
        snprintf(c->address, sizeof c->address, "%s:%u", host, (unsigned)port);
    c->state = CLIENT_IDLE;
    c->backoff_ms = c->opts.backoff_min_ms;
    c->rng = (cairn_mono_us() ^ (uint64_t)(uintptr_t)c) | 1u;
    return c;
}

void rpc_client_free(rpc_client_t *c)
{
    if (c == NULL || c->freeing)
        return;
    c->freeing = true;
    client_drop_connection(c);
    c->busy++;
    for (size_t i = 0; i < c->opts.pending_max; i++) {
        rpc_call_t *call = &c->calls[i];
        if (call->id == 0)
            continue;
        rpc_response_cb cb = call->cb;
        void *arg = call->arg;
        call_release(c, call);
        cb(CAIRN_ERR_CANCELLED, NULL, 0, NULL, 0, arg);
    }
    c->busy--;
    (void)client_gone(c);
}

/* Encodes into the socket when connected, else into the call's own buffer
 * until a connection is up. */
static int call_encode(rpc_client_t *c, rpc_call_t *call, uint32_t type, uint64_t id,
                       const ProtobufCMessage *req)
{
    struct evbuffer *out;
    if (c->state == CLIENT_CONNECTED) {
        out = bufferevent_get_output(c->bev);
    } else {
        call->unsent = evbuffer_new();
        if (call->unsent == NULL)
            return CAIRN_ERR_NOMEM;
        out = call->unsent;
    }
    if (rpc_frame_write(out, type, id, false, req, NULL, 0, c->opts.frame_max) != 0) {
        if (call->unsent != NULL)
            evbuffer_free(call->unsent);
        call->unsent = NULL;
        return CAIRN_ERR_TOO_LARGE;
    }
    return 0;
}

int rpc_client_call(rpc_client_t *c, uint32_t type, const ProtobufCMessage *req,
                    uint32_t timeout_ms, rpc_response_cb cb, void *arg)
{
    CAIRN_ASSERT(cb != NULL);
    if (c->freeing)
        return CAIRN_ERR_CANCELLED;
    if (c->free_count == 0)
        return CAIRN_ERR_QUEUE_FULL;
    bool fail_now = false;
    rpc_call_t *call = &c->calls[c->free_slots[c->free_count - 1]];
    CAIRN_ASSERT(call->id == 0 && call->unsent == NULL);
    /* fail_fast: the last connect attempt failed, so end the call at once
     * (from the loop, through its timer) rather than queue it for the
     * next attempt. */
    if (c->opts.fail_fast && c->state == CLIENT_WAITING && c->connect_failed)
        timeout_ms = 0, fail_now = true;
    if (call->timer == NULL && (timeout_ms > 0 || fail_now)) {
        call->timer = evtimer_new(c->base, call_timeout_cb, call);
        if (call->timer == NULL)
            return CAIRN_ERR_NOMEM;
    }
    uint64_t id = (c->seq + 1) << c->slot_bits | call->slot;
    int err = call_encode(c, call, type, id, req);
    if (err != 0)
        return err;
    c->seq++;
    c->free_count--;
    call->id = id;
    call->type = type;
    call->cb = cb;
    call->arg = arg;
    call->sent = call->unsent == NULL;
    if (call->unsent != NULL)
        queue_append(c, call);
    if (timeout_ms > 0 || fail_now) {
        struct timeval tv;
        timeval_from_ms(&tv, timeout_ms);
        evtimer_add(call->timer, &tv);
    }
    client_kick(c);
    return 0;
}

int rpc_client_send(rpc_client_t *c, uint32_t type, const ProtobufCMessage *msg,
                    const void *payload, size_t payload_len)
{
    if (c->freeing)
        return -1;
    if (c->state != CLIENT_CONNECTED && c->state != CLIENT_CONNECTING) {
        client_kick(c);          /* so the next send finds a connection */
        return -1;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t queued_bytes = evbuffer_get_length(out);
    if (queued_bytes >= c->opts.output_max) {
        LOG_DEBUG("rpc", "dropping one-way type %u to %s: %zu bytes unsent", type,
                  c->address, queued_bytes);
        return -1;
    }
    if (rpc_frame_write(out, type, 0, false, msg, payload, payload_len,
                        c->opts.frame_max) != 0) {
        LOG_WARN("rpc", "one-way type %u to %s not sent: over frame_max %zu", type,
                 c->address, c->opts.frame_max);
        return -1;
    }
    return 0;
}

bool rpc_client_connected(const rpc_client_t *c)
{
    return c->state == CLIENT_CONNECTED;
}

const char *rpc_client_address(const rpc_client_t *c)
{
    return c->address;
}
