/* Unit tests for common/rpc: the frame codec, then server and client over real
 * loopback sockets and a real event loop, including peers that misbehave. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "errors.h"
#include "log.h"
#include "rpc.h"
#include "rpc.pb-c.h"
#include "rpc_internal.h"
#include "timeutil.h"

#define TYPE_STATUS ((uint32_t)CAIRN__RPC_TYPE__RPC_CLUSTER_STATUS)
#define TYPE_RAFT ((uint32_t)CAIRN__RPC_TYPE__RPC_RAFT)

/* ---- helpers: event loop ------------------------------------------------- */

typedef bool (*pred_fn)(void *arg);

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Runs the loop until pred holds or timeout_ms passes; a 2 ms tick keeps
 * EVLOOP_ONCE from blocking past the deadline. */
static bool run_until(struct event_base *base, pred_fn pred, void *arg, uint32_t timeout_ms)
{
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 2000 };
    event_add(tick, &tv);
    uint64_t deadline_ms = cairn_mono_ms() + timeout_ms;
    bool ok;
    while (!(ok = pred != NULL && pred(arg)) && cairn_mono_ms() < deadline_ms)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static void run_for(struct event_base *base, uint32_t ms)
{
    (void)run_until(base, NULL, NULL, ms);
}

typedef struct count_pred {
    const int *counter;
    int target;
} count_pred_t;

static bool pred_count(void *arg)
{
    const count_pred_t *p = arg;
    return *p->counter >= p->target;
}

static bool run_until_count(struct event_base *base, const int *counter, int target,
                            uint32_t timeout_ms)
{
    count_pred_t p = { counter, target };
    return run_until(base, pred_count, &p, timeout_ms);
}

/* ---- helpers: server side ------------------------------------------------- */

/* What the test server does with a request is chosen by its Status.code. */
enum { DO_ECHO = 0, DO_SILENT = 1, DO_DEFER = 2, DO_HOLD = 3, DO_FLOOD = 4 };

typedef struct srv_state {
    struct event_base *base;
    rpc_server_t *srv;
    int requests;
    int oneway;
    size_t oneway_payload_bytes;
    rpc_conn_t *held;
    uint32_t held_type;
    uint64_t held_id;
    int deferred_done;
    int deferred_rc;
    int flood_ok;
    int flood_dropped;
} srv_state_t;

typedef struct deferred {
    srv_state_t *st;
    rpc_conn_t *conn;
    uint32_t type;
    uint64_t id;
    uint32_t leader_id;
    struct event *ev;
} deferred_t;

static int reply_status(rpc_conn_t *conn, uint32_t type, uint64_t id, uint32_t leader_id,
                        const void *payload, size_t payload_len)
{
    Cairn__Status resp = CAIRN__STATUS__INIT;
    resp.leader_id = leader_id;
    resp.message = (char *)"ok";
    return rpc_conn_reply_to(conn, type, id, &resp.base, payload, payload_len);
}

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    deferred_t *d = arg;
    (void)fd;
    (void)what;
    d->st->deferred_rc = reply_status(d->conn, d->type, d->id, d->leader_id, "late", 4);
    d->st->deferred_done++;
    rpc_conn_unref(d->conn);
    event_free(d->ev);
    free(d);
}

static void start_deferred(srv_state_t *st, rpc_conn_t *conn, const rpc_frame_t *f,
                           uint32_t delay_ms)
{
    deferred_t *d = calloc(1, sizeof *d);
    ck_assert_ptr_nonnull(d);
    d->st = st;
    d->conn = conn;
    d->type = f->type;
    d->id = f->correlation_id;
    d->leader_id = delay_ms;
    d->ev = evtimer_new(st->base, deferred_cb, d);
    rpc_conn_ref(conn);
    struct timeval tv = { 0, (suseconds_t)delay_ms * 1000 };
    evtimer_add(d->ev, &tv);
}

static void flood(srv_state_t *st, rpc_conn_t *conn, const rpc_frame_t *f)
{
    uint8_t payload[100];
    memset(payload, 'f', sizeof payload);
    for (int i = 0; i < 50; i++) {
        if (rpc_conn_reply(conn, f, NULL, payload, sizeof payload) == 0)
            st->flood_ok++;
        else
            st->flood_dropped++;
    }
}

static void on_request(rpc_conn_t *conn, const rpc_frame_t *f, void *arg)
{
    srv_state_t *st = arg;
    ck_assert(!f->response);
    st->requests++;
    if (f->type == TYPE_RAFT) {
        ck_assert_uint_eq(f->correlation_id, 0);
        st->oneway++;
        st->oneway_payload_bytes += f->payload_len;
        return;
    }
    Cairn__Status *req = cairn__status__unpack(NULL, f->body_len, f->body);
    ck_assert_ptr_nonnull(req);
    switch (req->code) {
    case DO_ECHO:
        ck_assert_int_eq(reply_status(conn, f->type, f->correlation_id, req->leader_id,
                                      f->payload_len ? (const void *)f->payload : "pong",
                                      f->payload_len ? f->payload_len : 4), 0);
        break;
    case DO_DEFER:
        start_deferred(st, conn, f, req->leader_id);
        break;
    case DO_HOLD:
        rpc_conn_ref(conn);
        st->held = conn;
        st->held_type = f->type;
        st->held_id = f->correlation_id;
        break;
    case DO_FLOOD:
        flood(st, conn, f);
        break;
    default:
        break;                   /* DO_SILENT */
    }
    cairn__status__free_unpacked(req, NULL);
}

static void srv_start(srv_state_t *st, struct event_base *base, uint16_t port,
                      const rpc_server_opts_t *opts)
{
    memset(st, 0, sizeof *st);
    st->base = base;
    st->srv = rpc_server_new(base, "127.0.0.1", port, opts, on_request, st);
    ck_assert_ptr_nonnull(st->srv);
    ck_assert_uint_ne(rpc_server_port(st->srv), 0);
    if (port != 0)
        ck_assert_uint_eq(rpc_server_port(st->srv), port);
}

/* ---- helpers: client side ------------------------------------------------- */

typedef struct result {
    int done;
    int err;
    uint32_t leader_id;
    char payload[128];
    size_t payload_len;
    uint64_t done_ms;
    int *counter;
    const bool *in_call;         /* set while rpc_client_call runs */
    rpc_client_t *free_client;   /* freed from inside the callback */
} result_t;

static void on_response(int err, const uint8_t *body, size_t body_len,
                        const uint8_t *payload, size_t payload_len, void *arg)
{
    result_t *r = arg;
    if (r->in_call != NULL)
        ck_assert(!*r->in_call);
    r->done++;
    r->err = err;
    r->done_ms = cairn_mono_ms();
    if (err == 0) {
        Cairn__Status *resp = cairn__status__unpack(NULL, body_len, body);
        ck_assert_ptr_nonnull(resp);
        r->leader_id = resp->leader_id;
        cairn__status__free_unpacked(resp, NULL);
        ck_assert_uint_le(payload_len, sizeof r->payload);
        if (payload_len > 0)
            memcpy(r->payload, payload, payload_len);
        r->payload_len = payload_len;
    } else {
        ck_assert_ptr_null(body);
    }
    if (r->counter != NULL)
        (*r->counter)++;
    if (r->free_client != NULL) {
        rpc_client_t *c = r->free_client;
        r->free_client = NULL;
        rpc_client_free(c);
    }
}

static int do_call(rpc_client_t *c, int32_t code, uint32_t leader_id, uint32_t timeout_ms,
                   result_t *r)
{
    Cairn__Status req = CAIRN__STATUS__INIT;
    req.code = code;
    req.leader_id = leader_id;
    return rpc_client_call(c, TYPE_STATUS, &req.base, timeout_ms, on_response, r);
}

static bool pred_done(void *arg)
{
    return ((const result_t *)arg)->done > 0;
}

static bool pred_connected(void *arg)
{
    return rpc_client_connected(arg);
}

static bool pred_disconnected(void *arg)
{
    return !rpc_client_connected(arg);
}

static rpc_client_t *client_to(struct event_base *base, uint16_t port,
                               const rpc_client_opts_t *opts)
{
    rpc_client_t *c = rpc_client_new(base, "127.0.0.1", port, opts);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* One echo round trip; fails the test if it does not complete. */
static void assert_echo(struct event_base *base, rpc_client_t *c, uint32_t tag)
{
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_ECHO, tag, 2000, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.leader_id, tag);
}

/* ---- helpers: raw sockets --------------------------------------------------- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

static void raw_send(int fd, const void *buf, size_t len)
{
    ck_assert_int_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* True once the peer has closed: EOF or reset. */
static bool raw_closed(void *arg)
{
    int fd = *(const int *)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return true;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

/* A port with nothing listening on it (bound, then released). */
static uint16_t unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* ---- frame codec ------------------------------------------------------------ */

static size_t write_status_frame(struct evbuffer *out, uint64_t id, int32_t code,
                                 const char *payload)
{
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    st.message = (char *)"hello";
    size_t before = evbuffer_get_length(out);
    ck_assert_int_eq(rpc_frame_write(out, TYPE_STATUS, id, false, &st.base, payload,
                                     payload ? strlen(payload) : 0, 0), 0);
    return evbuffer_get_length(out) - before;
}

START_TEST(test_frame_round_trip)
{
    struct evbuffer *out = evbuffer_new();
    size_t n1 = write_status_frame(out, 77, 5, "raw-bytes");
    ck_assert_int_eq(rpc_frame_write(out, TYPE_RAFT, 78, true, NULL, NULL, 0, 0), 0);
    size_t total = evbuffer_get_length(out);
    const uint8_t *buf = evbuffer_pullup(out, -1);

    rpc_frame_t f;
    size_t consumed;
    void *scratch;
    const char *why;
    ck_assert_int_eq(rpc_frame_parse(buf, total, 0, &f, &consumed, &scratch, &why),
                     RPC_PARSE_OK);
    ck_assert_uint_eq(consumed, n1);
    ck_assert_uint_eq(f.type, TYPE_STATUS);
    ck_assert_uint_eq(f.correlation_id, 77);
    ck_assert(!f.response);
    ck_assert_uint_eq(f.payload_len, 9);
    ck_assert_mem_eq(f.payload, "raw-bytes", 9);
    Cairn__Status *st = cairn__status__unpack(NULL, f.body_len, f.body);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->code, 5);
    ck_assert_str_eq(st->message, "hello");
    cairn__status__free_unpacked(st, NULL);
    rpc_frame_scratch_free(scratch);

    /* Second frame: empty body, no payload, a response. */
    ck_assert_int_eq(rpc_frame_parse(buf + n1, total - n1, 0, &f, &consumed, &scratch, &why),
                     RPC_PARSE_OK);
    ck_assert_uint_eq(consumed, total - n1);
    ck_assert_uint_eq(f.type, TYPE_RAFT);
    ck_assert_uint_eq(f.correlation_id, 78);
    ck_assert(f.response);
    ck_assert_uint_eq(f.body_len, 0);
    ck_assert_uint_eq(f.payload_len, 0);
    rpc_frame_scratch_free(scratch);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_frame_every_split_needs_more)
{
    struct evbuffer *out = evbuffer_new();
    size_t total = write_status_frame(out, 1, 2, "payload");
    const uint8_t *buf = evbuffer_pullup(out, -1);
    rpc_frame_t f;
    size_t consumed;
    void *scratch;
    const char *why;
    for (size_t len = 0; len < total; len++) {
        ck_assert_int_eq(rpc_frame_parse(buf, len, 0, &f, &consumed, &scratch, &why),
                         RPC_PARSE_NEED_MORE);
        ck_assert_ptr_null(scratch);
        ck_assert_uint_eq(consumed, 0);
    }
    ck_assert_int_eq(rpc_frame_parse(buf, total, 0, &f, &consumed, &scratch, &why),
                     RPC_PARSE_OK);
    rpc_frame_scratch_free(scratch);

    /* The same through an evbuffer filled one byte at a time (many chains). */
    struct evbuffer *in = evbuffer_new();
    for (size_t i = 0; i < total; i++) {
        ck_assert_int_eq(rpc_frame_next(in, 0, &f, &consumed, &scratch, &why),
                         RPC_PARSE_NEED_MORE);
        evbuffer_add(in, buf + i, 1);
    }
    ck_assert_int_eq(rpc_frame_next(in, 0, &f, &consumed, &scratch, &why), RPC_PARSE_OK);
    ck_assert_uint_eq(consumed, total);
    ck_assert_mem_eq(f.payload, "payload", 7);
    rpc_frame_scratch_free(scratch);
    evbuffer_free(in);
    evbuffer_free(out);
}
END_TEST

static rpc_parse_t parse_bytes(const uint8_t *buf, size_t len, size_t frame_max)
{
    rpc_frame_t f;
    size_t consumed;
    void *scratch;
    const char *why = NULL;
    rpc_parse_t r = rpc_frame_parse(buf, len, frame_max, &f, &consumed, &scratch, &why);
    if (r == RPC_PARSE_ERROR) {
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_null(scratch);
    }
    rpc_frame_scratch_free(scratch);
    return r;
}

START_TEST(test_frame_rejects_bad_input)
{
    /* A 2 GiB announcement fails on its 4 length bytes alone. */
    const uint8_t huge[4] = { 0x80, 0, 0, 0 };
    ck_assert_int_eq(parse_bytes(huge, 4, 0), RPC_PARSE_ERROR);
    /* frame_max is inclusive. */
    const uint8_t at_max[4] = { 0, 0, 1, 0 };        /* 256 */
    ck_assert_int_eq(parse_bytes(at_max, 4, 256), RPC_PARSE_NEED_MORE);
    ck_assert_int_eq(parse_bytes(at_max, 4, 255), RPC_PARSE_ERROR);
    /* Too short to hold header_length. */
    const uint8_t short_len[8] = { 0, 0, 0, 3, 0, 0, 0, 0 };
    ck_assert_int_eq(parse_bytes(short_len, 8, 0), RPC_PARSE_ERROR);
    /* header_length past the frame: caught before the frame is complete. */
    const uint8_t hdr_over[8] = { 0, 0, 0, 10, 0, 0, 0, 7 };
    ck_assert_int_eq(parse_bytes(hdr_over, 8, 0), RPC_PARSE_ERROR);
    /* A header that is not protobuf: wire type 7, then an unterminated varint. */
    const uint8_t bad_wire[10] = { 0, 0, 0, 6, 0, 0, 0, 2, 0x0F, 0x01 };
    ck_assert_int_eq(parse_bytes(bad_wire, 10, 0), RPC_PARSE_ERROR);
    const uint8_t bad_varint[12] = { 0, 0, 0, 8, 0, 0, 0, 4, 0x10, 0xFF, 0xFF, 0xFF };
    ck_assert_int_eq(parse_bytes(bad_varint, 12, 0), RPC_PARSE_ERROR);
    /* Smallest valid frame: empty header, no payload. */
    const uint8_t empty[8] = { 0, 0, 0, 4, 0, 0, 0, 0 };
    ck_assert_int_eq(parse_bytes(empty, 8, 0), RPC_PARSE_OK);

    /* Writing over frame_max fails and leaves nothing behind. */
    struct evbuffer *out = evbuffer_new();
    char big[300];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(rpc_frame_write(out, 1, 1, false, NULL, big, sizeof big, 256), -1);
    Cairn__Status st = CAIRN__STATUS__INIT;
    big[sizeof big - 1] = '\0';
    st.message = big;
    ck_assert_int_eq(rpc_frame_write(out, 1, 1, false, &st.base, NULL, 0, 256), -1);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    ck_assert_int_eq(rpc_frame_write(out, 1, 1, false, &st.base, NULL, 0, 512), 0);
    evbuffer_free(out);

    /* Through an evbuffer: rejected with only the prefix buffered. */
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, huge, sizeof huge);
    rpc_frame_t f;
    size_t consumed;
    void *scratch;
    const char *why;
    ck_assert_int_eq(rpc_frame_next(in, 0, &f, &consumed, &scratch, &why), RPC_PARSE_ERROR);
    evbuffer_free(in);
}
END_TEST

/* ---- server + client ---------------------------------------------------------- */

START_TEST(test_echo)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    ck_assert(!rpc_client_connected(c));
    char expect_addr[32];
    snprintf(expect_addr, sizeof expect_addr, "127.0.0.1:%u", rpc_server_port(st.srv));
    ck_assert_str_eq(rpc_client_address(c), expect_addr);

    bool in_call = false;
    result_t r = { .in_call = &in_call };
    in_call = true;
    ck_assert_int_eq(do_call(c, DO_ECHO, 4242, 2000, &r), 0);
    in_call = false;
    ck_assert_int_eq(r.done, 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.leader_id, 4242);
    ck_assert_uint_eq(r.payload_len, 4);
    ck_assert_mem_eq(r.payload, "pong", 4);
    ck_assert(rpc_client_connected(c));
    ck_assert_int_eq(st.requests, 1);
    run_for(base, 20);
    ck_assert_int_eq(r.done, 1);  /* exactly once */

    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_many_concurrent_calls)
{
    enum { CALLS = 600 };
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    static result_t r[CALLS];
    int completed = 0;
    for (int i = 0; i < CALLS; i++) {
        r[i] = (result_t){ .counter = &completed };
        ck_assert_int_eq(do_call(c, DO_ECHO, 1000u + (uint32_t)i, 3000, &r[i]), 0);
        if (i == CALLS / 2)
            run_for(base, 5);    /* half before the connection is up, half after */
    }
    ck_assert(run_until_count(base, &completed, CALLS, 3000));
    for (int i = 0; i < CALLS; i++) {
        ck_assert_int_eq(r[i].done, 1);
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_uint_eq(r[i].leader_id, 1000u + (uint32_t)i);
    }
    ck_assert_int_eq(st.requests, CALLS);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_call_timeout)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    assert_echo(base, c, 1);
    result_t r = { 0 };
    uint64_t start_ms = cairn_mono_ms();
    ck_assert_int_eq(do_call(c, DO_SILENT, 0, 100, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, CAIRN_ERR_TIMEOUT);
    ck_assert_uint_ge(r.done_ms - start_ms, 90);
    ck_assert_uint_lt(r.done_ms - start_ms, 1000);
    ck_assert_int_eq(st.requests, 2);
    ck_assert(rpc_client_connected(c));    /* a timeout does not drop the link */
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_call_bounds)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_opts_t opts = { .pending_max = 2, .frame_max = 128 };
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), &opts);
    result_t r[3] = { { 0 } };
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 2000, &r[0]), 0);
    ck_assert_int_eq(do_call(c, DO_ECHO, 2, 2000, &r[1]), 0);
    ck_assert_int_eq(do_call(c, DO_ECHO, 3, 2000, &r[2]), CAIRN_ERR_QUEUE_FULL);

    char big[200];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Cairn__Status req = CAIRN__STATUS__INIT;
    req.message = big;
    ck_assert_int_eq(rpc_client_call(c, TYPE_STATUS, &req.base, 1000, on_response, &r[2]),
                     CAIRN_ERR_QUEUE_FULL);
    int completed = 0;
    r[0].counter = r[1].counter = &completed;
    ck_assert(run_until_count(base, &completed, 2, 2000));
    ck_assert_int_eq(rpc_client_call(c, TYPE_STATUS, &req.base, 1000, on_response, &r[2]),
                     CAIRN_ERR_TOO_LARGE);
    run_for(base, 20);
    ck_assert_int_eq(r[2].done, 0);        /* rejected calls never call back */
    /* Slots are reused once answered. */
    assert_echo(base, c, 9);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_call_with_no_server)
{
    struct event_base *base = event_base_new();
    rpc_client_opts_t opts = { .backoff_min_ms = 10, .backoff_max_ms = 20 };
    rpc_client_t *c = client_to(base, unused_port(), &opts);
    bool in_call = false;
    result_t r = { .in_call = &in_call };
    in_call = true;
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 150, &r), 0);
    in_call = false;
    uint64_t start_ms = cairn_mono_ms();
    ck_assert(run_until(base, pred_done, &r, 2000));
    /* The connection was never made: the call ends at its timeout. */
    ck_assert_int_eq(r.err, CAIRN_ERR_DISCONNECTED);
    ck_assert_uint_ge(r.done_ms - start_ms, 120);
    ck_assert(!rpc_client_connected(c));
    rpc_client_free(c);
    event_base_free(base);
}
END_TEST

START_TEST(test_fail_fast_with_no_server)
{
    /* fail_fast: a refused connect ends the pending call long before its
     * timeout, and a call made while the next attempt is pending ends at
     * once, not from inside rpc_client_call. */
    struct event_base *base = event_base_new();
    rpc_client_opts_t opts = { .backoff_min_ms = 500, .backoff_max_ms = 1000, .fail_fast = true };
    rpc_client_t *c = client_to(base, unused_port(), &opts);
    bool in_call = false;
    result_t first = { .in_call = &in_call }, second = { .in_call = &in_call };
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 10000, &first), 0);
    ck_assert(run_until(base, pred_done, &first, 5000));
    ck_assert_int_eq(first.err, CAIRN_ERR_DISCONNECTED);
    uint64_t start_ms = cairn_mono_ms();
    in_call = true;
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 10000, &second), 0);
    in_call = false;
    ck_assert_int_eq(second.done, 0);
    ck_assert(run_until(base, pred_done, &second, 5000));
    ck_assert_int_eq(second.err, CAIRN_ERR_DISCONNECTED);
    /* Well before the reconnect backoff (500 ms) or the timeout (10 s). */
    ck_assert_uint_lt(second.done_ms - start_ms, 400);
    rpc_client_free(c);
    event_base_free(base);
}
END_TEST

START_TEST(test_reconnect_after_server_restart)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    uint16_t port = rpc_server_port(st.srv);
    rpc_client_opts_t opts = { .backoff_min_ms = 10, .backoff_max_ms = 40 };
    rpc_client_t *c = client_to(base, port, &opts);
    assert_echo(base, c, 1);

    rpc_server_free(st.srv);
    ck_assert(run_until(base, pred_disconnected, c, 2000));
    /* Down for a while: several failed attempts grow the backoff. */
    result_t queued = { 0 };
    ck_assert_int_eq(do_call(c, DO_ECHO, 2, 3000, &queued), 0);
    run_for(base, 150);
    ck_assert_int_eq(queued.done, 0);

    srv_start(&st, base, port, NULL);
    uint64_t up_ms = cairn_mono_ms();
    ck_assert(run_until(base, pred_done, &queued, 2000));
    ck_assert_int_eq(queued.err, 0);
    ck_assert_uint_eq(queued.leader_id, 2);
    /* backoff_max 40 ms (+ jitter capped) bounds the wait after restart. */
    ck_assert_uint_lt(queued.done_ms - up_ms, 500);
    assert_echo(base, c, 3);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

static void count_cb(void *arg)
{
    (*(int *)arg)++;
}

/* on_disconnect fires once when an established connection is lost, never
 * for connect attempts that fail afterwards. */
START_TEST(test_on_disconnect_once_per_connection)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    int lost = 0;
    rpc_client_opts_t opts = { .backoff_min_ms = 10, .backoff_max_ms = 20,
                               .on_disconnect = count_cb, .on_disconnect_arg = &lost };
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), &opts);
    assert_echo(base, c, 1);
    ck_assert_int_eq(lost, 0);
    rpc_server_free(st.srv);
    ck_assert(run_until_count(base, &lost, 1, 2000));
    run_for(base, 150);   /* several refused reconnects */
    ck_assert_int_eq(lost, 1);
    rpc_client_free(c);
    event_base_free(base);
}
END_TEST

START_TEST(test_reconnect_honours_backoff)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    uint16_t port = rpc_server_port(st.srv);
    rpc_client_opts_t opts = { .backoff_min_ms = 300, .backoff_max_ms = 300 };
    rpc_client_t *c = client_to(base, port, &opts);
    assert_echo(base, c, 1);

    rpc_server_free(st.srv);
    ck_assert(run_until(base, pred_disconnected, c, 2000));
    uint64_t lost_ms = cairn_mono_ms();
    srv_start(&st, base, port, NULL);       /* back at once */
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_ECHO, 2, 3000, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    /* No reconnect before the backoff has passed, nor long after it. */
    ck_assert_uint_ge(r.done_ms - lost_ms, 280);
    ck_assert_uint_lt(r.done_ms - lost_ms, 1000);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_pending_fail_on_disconnect)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t r[5];
    int completed = 0;
    for (int i = 0; i < 5; i++) {
        r[i] = (result_t){ .counter = &completed };
        ck_assert_int_eq(do_call(c, DO_SILENT, 0, 5000, &r[i]), 0);
    }
    ck_assert(run_until_count(base, &st.requests, 5, 2000));
    uint64_t down_ms = cairn_mono_ms();
    rpc_server_free(st.srv);
    ck_assert(run_until_count(base, &completed, 5, 2000));
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(r[i].done, 1);
        ck_assert_int_eq(r[i].err, CAIRN_ERR_DISCONNECTED);
        ck_assert_uint_lt(r[i].done_ms - down_ms, 1000);
    }
    rpc_client_free(c);
    event_base_free(base);
}
END_TEST

START_TEST(test_deferred_reply)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t r = { 0 };
    uint64_t start_ms = cairn_mono_ms();
    ck_assert_int_eq(do_call(c, DO_DEFER, 60, 2000, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(st.deferred_done, 1);
    ck_assert_int_eq(st.deferred_rc, 0);
    ck_assert_uint_eq(r.leader_id, 60);
    ck_assert_mem_eq(r.payload, "late", 4);
    ck_assert_uint_ge(r.done_ms - start_ms, 55);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

static bool pred_held_closed(void *arg)
{
    const srv_state_t *st = arg;
    return st->held != NULL && !rpc_conn_is_open(st->held);
}

START_TEST(test_reply_to_closed_conn_dropped)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_HOLD, 0, 5000, &r), 0);
    ck_assert(run_until_count(base, &st.requests, 1, 2000));
    ck_assert_ptr_nonnull(st.held);
    ck_assert(rpc_conn_is_open(st.held));
    ck_assert_ptr_nonnull(strstr(rpc_conn_peer(st.held), "127.0.0.1:"));

    rpc_client_free(c);                      /* pending call: CANCELLED, now */
    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(r.err, CAIRN_ERR_CANCELLED);
    ck_assert(run_until(base, pred_held_closed, &st, 2000));
    ck_assert_int_eq(reply_status(st.held, st.held_type, st.held_id, 1, NULL, 0), -1);
    ck_assert_ptr_nonnull(strstr(rpc_conn_peer(st.held), "127.0.0.1:"));
    rpc_conn_unref(st.held);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_server_free_with_held_conn)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t held = { 0 }, deferred = { 0 };
    ck_assert_int_eq(do_call(c, DO_HOLD, 0, 5000, &held), 0);
    ck_assert_int_eq(do_call(c, DO_DEFER, 50, 5000, &deferred), 0);
    ck_assert(run_until_count(base, &st.requests, 2, 2000));
    rpc_server_free(st.srv);
    ck_assert(!rpc_conn_is_open(st.held));
    ck_assert_int_eq(reply_status(st.held, st.held_type, st.held_id, 1, NULL, 0), -1);
    rpc_conn_unref(st.held);
    /* The deferred reply fires after the server is gone: dropped. */
    ck_assert(run_until_count(base, &st.deferred_done, 1, 2000));
    ck_assert_int_eq(st.deferred_rc, -1);
    ck_assert(run_until(base, pred_done, &deferred, 2000));
    ck_assert_int_eq(deferred.err, CAIRN_ERR_DISCONNECTED);
    rpc_client_free(c);
    event_base_free(base);
}
END_TEST

START_TEST(test_late_response_ignored)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_DEFER, 150, 50, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, CAIRN_ERR_TIMEOUT);
    ck_assert(run_until_count(base, &st.deferred_done, 1, 2000));
    ck_assert_int_eq(st.deferred_rc, 0);     /* the answer went out... */
    run_for(base, 30);
    ck_assert_int_eq(r.done, 1);             /* ...and was ignored */
    ck_assert(rpc_client_connected(c));
    assert_echo(base, c, 5);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_client_free_inside_callback)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    int completed = 0;
    result_t first = { .counter = &completed, .free_client = c };
    result_t others[3];
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 2000, &first), 0);
    for (int i = 0; i < 3; i++) {
        others[i] = (result_t){ .counter = &completed };
        ck_assert_int_eq(do_call(c, DO_SILENT, 0, 2000, &others[i]), 0);
    }
    ck_assert(run_until_count(base, &completed, 4, 2000));
    ck_assert_int_eq(first.err, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(others[i].err, CAIRN_ERR_CANCELLED);
    run_for(base, 30);                       /* no callbacks into freed memory */
    ck_assert_int_eq(completed, 4);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_oneway_send)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    Cairn__Status msg = CAIRN__STATUS__INIT;
    /* Lazy: the first send finds no connection, is dropped, and starts one. */
    ck_assert_int_eq(rpc_client_send(c, TYPE_RAFT, &msg.base, "x", 1), -1);
    ck_assert(run_until(base, pred_connected, c, 2000));
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rpc_client_send(c, TYPE_RAFT, &msg.base, "0123456789", 10), 0);
    ck_assert(run_until_count(base, &st.oneway, 10, 2000));
    ck_assert_uint_eq(st.oneway_payload_bytes, 100);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_oneway_send_bounded)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_opts_t opts = { .output_max = 300 };
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), &opts);
    (void)rpc_client_send(c, TYPE_RAFT, NULL, NULL, 0);
    ck_assert(run_until(base, pred_connected, c, 2000));
    uint8_t payload[100] = { 0 };
    int sent = 0, dropped = 0;
    /* Nothing is flushed while this loop runs, so the bound must bite. */
    for (int i = 0; i < 20; i++) {
        if (rpc_client_send(c, TYPE_RAFT, NULL, payload, sizeof payload) == 0)
            sent++;
        else
            dropped++;
    }
    ck_assert_int_gt(sent, 0);
    ck_assert_int_le(sent, 4);
    ck_assert_int_eq(sent + dropped, 20);
    ck_assert(run_until_count(base, &st.oneway, sent, 2000));
    run_for(base, 20);
    ck_assert_int_eq(st.oneway, sent);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_server_output_bounded)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    rpc_server_opts_t sopts = { .output_max = 1000 };
    srv_start(&st, base, 0, &sopts);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_FLOOD, 0, 2000, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_gt(st.flood_ok, 0);
    ck_assert_int_lt(st.flood_ok, 12);       /* ~1000 bytes of ~110-byte frames */
    ck_assert_int_eq(st.flood_ok + st.flood_dropped, 50);
    /* The duplicate answers carry a finished id: ignored, link stays up. */
    run_for(base, 20);
    ck_assert_int_eq(r.done, 1);
    assert_echo(base, c, 7);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

/* ---- abusive peers --------------------------------------------------------------- */

START_TEST(test_abuse_huge_frame_length)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    assert_echo(base, c, 1);
    int fd = raw_connect(rpc_server_port(st.srv));
    const uint8_t announce[8] = { 0x80, 0, 0, 0, 0, 0, 0, 0 };   /* 2 GiB */
    raw_send(fd, announce, sizeof announce);
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_ECHO, 2, 2000, &r), 0);
    uint64_t start_ms = cairn_mono_ms();
    ck_assert(run_until(base, raw_closed, &fd, 1000));
    ck_assert_uint_lt(cairn_mono_ms() - start_ms, 500);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, 0);
    assert_echo(base, c, 3);
    ck_assert_int_eq(st.requests, 3);
    close(fd);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_abuse_truncated_frame)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    struct evbuffer *frame = evbuffer_new();
    size_t len = write_status_frame(frame, 9, DO_ECHO, "payload");
    const uint8_t *bytes = evbuffer_pullup(frame, -1);
    int fd = raw_connect(rpc_server_port(st.srv));
    raw_send(fd, bytes, len - 3);
    run_for(base, 30);
    close(fd);
    run_for(base, 30);
    ck_assert_int_eq(st.requests, 0);
    /* A whole frame from a raw socket is answered, then the server serves on. */
    fd = raw_connect(rpc_server_port(st.srv));
    raw_send(fd, bytes, len);
    ck_assert(run_until_count(base, &st.requests, 1, 2000));
    close(fd);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    assert_echo(base, c, 4);
    evbuffer_free(frame);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_abuse_random_bytes)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    rpc_server_opts_t sopts = { .frame_max = 1u << 20 };
    srv_start(&st, base, 0, &sopts);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    uint64_t rng = 0x1234567887654321ull;
    for (int round = 0; round < 20; round++) {
        uint8_t junk[512];
        for (size_t i = 0; i < sizeof junk; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            junk[i] = (uint8_t)rng;
        }
        int fd = raw_connect(rpc_server_port(st.srv));
        raw_send(fd, junk, sizeof junk);
        ck_assert(run_until(base, raw_closed, &fd, 1000));
        close(fd);
        assert_echo(base, c, (uint32_t)round);
    }
    ck_assert_int_eq(st.requests, 20);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_abuse_response_frame_to_server)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    struct evbuffer *frame = evbuffer_new();
    ck_assert_int_eq(rpc_frame_write(frame, TYPE_STATUS, 5, true, NULL, NULL, 0, 0), 0);
    int fd = raw_connect(rpc_server_port(st.srv));
    raw_send(fd, evbuffer_pullup(frame, -1), evbuffer_get_length(frame));
    ck_assert(run_until(base, raw_closed, &fd, 1000));
    ck_assert_int_eq(st.requests, 0);
    close(fd);
    evbuffer_free(frame);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_connections_max)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    rpc_server_opts_t sopts = { .connections_max = 2 };
    srv_start(&st, base, 0, &sopts);
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = raw_connect(rpc_server_port(st.srv));
    ck_assert(run_until(base, raw_closed, &fds[2], 1000));
    run_for(base, 50);
    ck_assert(!raw_closed(&fds[0]));
    ck_assert(!raw_closed(&fds[1]));
    /* A slot frees up when a connection goes. */
    close(fds[0]);
    run_for(base, 50);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    assert_echo(base, c, 1);
    rpc_client_free(c);
    close(fds[1]);
    close(fds[2]);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_idle_timeout)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    rpc_server_opts_t sopts = { .idle_timeout_ms = 100 };
    srv_start(&st, base, 0, &sopts);
    rpc_client_t *c = client_to(base, rpc_server_port(st.srv), NULL);
    result_t held = { 0 };
    ck_assert_int_eq(do_call(c, DO_HOLD, 0, 5000, &held), 0);
    int fd = raw_connect(rpc_server_port(st.srv));
    uint64_t start_ms = cairn_mono_ms();
    ck_assert(run_until(base, raw_closed, &fd, 1000));
    ck_assert_uint_ge(cairn_mono_ms() - start_ms, 90);
    /* A connection whose request is held for a later answer is not idle. */
    run_for(base, 150);
    ck_assert(rpc_conn_is_open(st.held));
    ck_assert_int_eq(reply_status(st.held, st.held_type, st.held_id, 8, NULL, 0), 0);
    rpc_conn_unref(st.held);
    ck_assert(run_until(base, pred_done, &held, 1000));
    ck_assert_int_eq(held.err, 0);
    ck_assert_uint_eq(held.leader_id, 8);
    close(fd);
    rpc_client_free(c);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

START_TEST(test_listen_port_in_use)
{
    struct event_base *base = event_base_new();
    srv_state_t st;
    srv_start(&st, base, 0, NULL);
    rpc_server_t *dup = rpc_server_new(base, "127.0.0.1", rpc_server_port(st.srv), NULL,
                                       on_request, &st);
    ck_assert_ptr_null(dup);
    rpc_server_free(st.srv);
    event_base_free(base);
}
END_TEST

/* ---- a misbehaving server ---------------------------------------------------------- */

typedef struct fake_server {
    struct evconnlistener *listener;
    int accepts;
    const uint8_t *reply;
    size_t reply_len;
    struct bufferevent *bevs[32];
} fake_server_t;

/* Answers the first bytes it receives with the configured reply. */
static void fake_read_cb(struct bufferevent *bev, void *arg)
{
    fake_server_t *fs = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_write(bev, fs->reply, fs->reply_len);
}

static void fake_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                           int sa_len, void *arg)
{
    fake_server_t *fs = arg;
    (void)sa;
    (void)sa_len;
    ck_assert_int_lt(fs->accepts, 32);
    struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
                                                     BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, fake_read_cb, NULL, NULL, fs);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    fs->bevs[fs->accepts++] = bev;
}

static uint16_t fake_start(fake_server_t *fs, struct event_base *base)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fs->listener = evconnlistener_new_bind(base, fake_accept_cb, fs,
                                           LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, -1,
                                           (struct sockaddr *)&sin, sizeof sin);
    ck_assert_ptr_nonnull(fs->listener);
    socklen_t len = sizeof sin;
    getsockname(evconnlistener_get_fd(fs->listener), (struct sockaddr *)&sin, &len);
    return ntohs(sin.sin_port);
}

static void fake_stop(fake_server_t *fs)
{
    for (int i = 0; i < fs->accepts; i++)
        bufferevent_free(fs->bevs[i]);
    evconnlistener_free(fs->listener);
}

/* The client drops a connection that answers with reply, fails the call in
 * flight, and connects again. */
static void check_client_rejects(const uint8_t *reply, size_t reply_len)
{
    struct event_base *base = event_base_new();
    fake_server_t fs = { .reply = reply, .reply_len = reply_len };
    uint16_t port = fake_start(&fs, base);
    rpc_client_opts_t opts = { .backoff_min_ms = 10, .backoff_max_ms = 20 };
    rpc_client_t *c = client_to(base, port, &opts);
    result_t r = { 0 };
    ck_assert_int_eq(do_call(c, DO_ECHO, 1, 2000, &r), 0);
    ck_assert(run_until(base, pred_done, &r, 2000));
    ck_assert_int_eq(r.err, CAIRN_ERR_DISCONNECTED);
    ck_assert(run_until_count(base, &fs.accepts, 2, 2000));
    rpc_client_free(c);
    fake_stop(&fs);
    event_base_free(base);
}

START_TEST(test_client_rejects_garbage)
{
    const uint8_t garbage[12] = { 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8 };
    check_client_rejects(garbage, sizeof garbage);
}
END_TEST

START_TEST(test_client_rejects_request_frame)
{
    struct evbuffer *frame = evbuffer_new();
    /* Correlation id of the client's first call (seq 1, slot 0); not a response. */
    ck_assert_int_eq(rpc_frame_write(frame, TYPE_STATUS, UINT64_C(1) << 10, false, NULL,
                                     NULL, 0, 0), 0);
    size_t len = evbuffer_get_length(frame);
    uint8_t bytes[64];
    ck_assert_uint_le(len, sizeof bytes);
    evbuffer_remove(frame, bytes, len);
    evbuffer_free(frame);
    check_client_rejects(bytes, len);
}
END_TEST

/* ---- runner ----------------------------------------------------------------------- */

static Suite *rpc_suite(void)
{
    Suite *s = suite_create("rpc");
    TCase *codec = tcase_create("frame");
    tcase_add_test(codec, test_frame_round_trip);
    tcase_add_test(codec, test_frame_every_split_needs_more);
    tcase_add_test(codec, test_frame_rejects_bad_input);
    suite_add_tcase(s, codec);

    TCase *io = tcase_create("client_server");
    tcase_set_timeout(io, 10);
    tcase_add_test(io, test_echo);
    tcase_add_test(io, test_many_concurrent_calls);
    tcase_add_test(io, test_call_timeout);
    tcase_add_test(io, test_call_bounds);
    tcase_add_test(io, test_call_with_no_server);
    tcase_add_test(io, test_fail_fast_with_no_server);
    tcase_add_test(io, test_reconnect_after_server_restart);
    tcase_add_test(io, test_reconnect_honours_backoff);
    tcase_add_test(io, test_on_disconnect_once_per_connection);
    tcase_add_test(io, test_pending_fail_on_disconnect);
    tcase_add_test(io, test_deferred_reply);
    tcase_add_test(io, test_reply_to_closed_conn_dropped);
    tcase_add_test(io, test_server_free_with_held_conn);
    tcase_add_test(io, test_late_response_ignored);
    tcase_add_test(io, test_client_free_inside_callback);
    tcase_add_test(io, test_oneway_send);
    tcase_add_test(io, test_oneway_send_bounded);
    tcase_add_test(io, test_server_output_bounded);
    tcase_add_test(io, test_listen_port_in_use);
    suite_add_tcase(s, io);

    TCase *abuse = tcase_create("abuse");
    tcase_set_timeout(abuse, 10);
    tcase_add_test(abuse, test_abuse_huge_frame_length);
    tcase_add_test(abuse, test_abuse_truncated_frame);
    tcase_add_test(abuse, test_abuse_random_bytes);
    tcase_add_test(abuse, test_abuse_response_frame_to_server);
    tcase_add_test(abuse, test_connections_max);
    tcase_add_test(abuse, test_idle_timeout);
    tcase_add_test(abuse, test_client_rejects_garbage);
    tcase_add_test(abuse, test_client_rejects_request_frame);
    suite_add_tcase(s, abuse);
    return s;
}

int main(void)
{
    /* A peer that vanishes mid-write must be an error return, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    const char *level = getenv("CAIRN_TEST_LOG");
    int parsed = level != NULL ? cairn_log_level_parse(level) : -1;
    cairn_log_init("test", 0, parsed >= 0 ? (cairn_log_level_t)parsed : CAIRN_LOG_ERROR);
    SRunner *sr = srunner_create(rpc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
