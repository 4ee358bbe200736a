/* Unit tests for common/ctrl_client: the real rpc_client against real
 * rpc_server instances on loopback that play scripted controllers (and closed
 * ports for dead ones), all on one event loop; plus the Status extraction. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.pb-c.h"
#include "ctrl_client.h"
#include "errors.h"
#include "log.h"
#include "metadata.pb-c.h"
#include "rpc.h"
#include "timeutil.h"

#define SERVERS_MAX 4           /* three voters and one controller they do not list */
#define SCRIPT_MAX 8
#define REQUESTS_MAX 512        /* request log; a test that overflows it fails */
#define LATE_MAX 8
#define NAME_MAX_BYTES 1024
/* Longest wait for something that should happen: far above any delay the
 * client has a reason to take, far below the timeouts that would otherwise
 * end a call, so "finished within the guard" is a real check. */
#define GUARD_MS 2500u
/* libevent's timers run on a coarse clock (a kernel tick, up to 10 ms) and
 * may fire that much early by the precise clock the log uses. */
#define SLACK_MS 10u
#define TYPE_DESCRIBE ((uint32_t)CAIRN__RPC_TYPE__RPC_DESCRIBE_TOPIC)

/* ---- scripted controllers -------------------------------------------------- */

typedef enum {
    ACT_ANSWER = 0,      /* DescribeTopicResponse{status.code, topic{echoed name, "controller-N"}} */
    ACT_NOT_LEADER,      /* Status NOT_LEADER with leader_id and a hint address */
    ACT_SILENT,          /* never answers */
    ACT_CLOSE,           /* closes the connection */
    ACT_LATE,            /* ACT_ANSWER after delay_ms */
    ACT_EMPTY,           /* empty body: proto3's all-default, i.e. OK, response */
    ACT_STATUS_VARINT,   /* malformed: field 1 is a varint */
    ACT_STATUS_GARBAGE,  /* malformed: field 1 holds bytes that are no Status */
} act_kind_t;

typedef struct action {
    act_kind_t kind;
    int32_t code;               /* ACT_ANSWER, ACT_LATE: Status.code */
    uint32_t leader_id;         /* ACT_NOT_LEADER */
    uint32_t hint_server;       /* ACT_NOT_LEADER: hint that server's address (1-based) */
    const char *hint_address;   /* ... else this literal (NULL: no address) */
    bool hint_fresh;            /* ... else a new closed port, with a new id, each time */
    uint32_t delay_ms;          /* ACT_LATE */
} action_t;

typedef struct fixture fixture_t;

typedef struct controller {
    fixture_t *f;
    uint32_t id;                /* 1-based position in the fixture */
    rpc_server_t *srv;          /* NULL: a dead voter, nothing listens on port */
    uint16_t port;
    char address[32];
    action_t script[SCRIPT_MAX];
    size_t script_len, script_next;
    action_t fallback;          /* once the script is used up */
    size_t requests;
    char last_name[NAME_MAX_BYTES];   /* DescribeTopicRequest.name last received */
} controller_t;

typedef struct request_rec {
    uint32_t server;
    uint64_t at_us;
    uint32_t leader_seen;       /* ctrl_client_leader() when the request arrived */
} request_rec_t;

typedef struct late_reply {
    controller_t *from;
    rpc_conn_t *conn;           /* referenced until the reply goes */
    uint32_t type;
    uint64_t correlation_id;
    int32_t code;
    struct event *ev;
} late_reply_t;

struct fixture {
    struct event_base *base;
    ctrl_client_t *cc;
    controller_t ctl[SERVERS_MAX];
    size_t n_ctl;
    request_rec_t log[REQUESTS_MAX];
    size_t n_log;
    late_reply_t late[LATE_MAX];
    size_t n_late;
    size_t late_sent;
    uint64_t start_us;
    char order[REQUESTS_MAX * 4];
};

/* A port with nothing listening on it: bound by the kernel's choice, released. */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
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

static action_t next_action(controller_t *c)
{
    if (c->script_next < c->script_len)
        return c->script[c->script_next++];
    return c->fallback;
}

static void reply_or_fail(rpc_conn_t *conn, uint32_t type, uint64_t id,
                          const ProtobufCMessage *msg)
{
    ck_assert_int_eq(rpc_conn_reply_to(conn, type, id, msg, NULL, 0), 0);
}

/* Echoes the request's topic name and signs the answer with the server's id,
 * so a test sees both that the request arrived intact and who answered. */
static int reply_answer(controller_t *c, rpc_conn_t *conn, uint32_t type, uint64_t id,
                        int32_t code)
{
    char topic_id[32];
    snprintf(topic_id, sizeof topic_id, "controller-%u", (unsigned)c->id);
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    Cairn__TopicDescription topic = CAIRN__TOPIC_DESCRIPTION__INIT;
    topic.name = c->last_name;
    topic.id = topic_id;
    Cairn__DescribeTopicResponse resp = CAIRN__DESCRIBE_TOPIC_RESPONSE__INIT;
    resp.status = &st;
    resp.topic = &topic;
    return rpc_conn_reply_to(conn, type, id, &resp.base, NULL, 0);
}

static void reply_not_leader(controller_t *c, rpc_conn_t *conn, const rpc_frame_t *frame,
                             const action_t *a)
{
    char addr[64] = "";
    uint32_t leader_id = a->leader_id;
    if (a->hint_server != 0) {
        ck_assert_uint_le(a->hint_server, c->f->n_ctl);
        snprintf(addr, sizeof addr, "%s", c->f->ctl[a->hint_server - 1].address);
    } else if (a->hint_fresh) {
        snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)closed_port());
        leader_id = 100 + (uint32_t)c->requests;
    } else if (a->hint_address != NULL) {
        snprintf(addr, sizeof addr, "%s", a->hint_address);
    }
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = CAIRN_ERR_NOT_LEADER;
    st.leader_id = leader_id;
    st.leader_address = addr;
    Cairn__DescribeTopicResponse resp = CAIRN__DESCRIBE_TOPIC_RESPONSE__INIT;
    resp.status = &st;
    reply_or_fail(conn, frame->type, frame->correlation_id, &resp.base);
}

static void on_late_timer(evutil_socket_t fd, short what, void *arg)
{
    late_reply_t *l = arg;
    if (reply_answer(l->from, l->conn, l->type, l->correlation_id, l->code) == 0)
        l->from->f->late_sent++;
    rpc_conn_unref(l->conn);
    l->conn = NULL;
}

static void start_late(controller_t *c, rpc_conn_t *conn, const rpc_frame_t *frame,
                       const action_t *a)
{
    fixture_t *f = c->f;
    ck_assert_uint_lt(f->n_late, LATE_MAX);
    late_reply_t *l = &f->late[f->n_late++];
    l->from = c;
    l->conn = conn;
    l->type = frame->type;
    l->correlation_id = frame->correlation_id;
    l->code = a->code;
    l->ev = evtimer_new(f->base, on_late_timer, l);
    ck_assert_ptr_nonnull(l->ev);
    rpc_conn_ref(conn);
    struct timeval tv = { .tv_sec = a->delay_ms / 1000,
                          .tv_usec = (suseconds_t)(a->delay_ms % 1000) * 1000 };
    ck_assert_int_eq(evtimer_add(l->ev, &tv), 0);
}

/* Bodies a controller must never send: Status (field 1) as a varint, and
 * field 1 as bytes that do not parse as a Status (a truncated varint). */
static void reply_malformed(rpc_conn_t *conn, const rpc_frame_t *frame, act_kind_t kind)
{
    if (kind == ACT_STATUS_VARINT) {
        Cairn__Status st = CAIRN__STATUS__INIT;
        st.code = CAIRN_ERR_NOT_LEADER;
        reply_or_fail(conn, frame->type, frame->correlation_id, &st.base);
        return;
    }
    static uint8_t garbage[] = { 0x08, 0x80 };
    Cairn__RemoveTopicRecord rec = CAIRN__REMOVE_TOPIC_RECORD__INIT;
    rec.topic_id.data = garbage;
    rec.topic_id.len = sizeof garbage;
    reply_or_fail(conn, frame->type, frame->correlation_id, &rec.base);
}

static void record_request(controller_t *c, const rpc_frame_t *frame)
{
    fixture_t *f = c->f;
    ck_assert_uint_eq(frame->type, TYPE_DESCRIBE);
    ck_assert(!frame->response);
    Cairn__DescribeTopicRequest *req =
        cairn__describe_topic_request__unpack(NULL, frame->body_len, frame->body);
    ck_assert_ptr_nonnull(req);
    snprintf(c->last_name, sizeof c->last_name, "%s", req->name);
    cairn__describe_topic_request__free_unpacked(req, NULL);
    c->requests++;
    ck_assert_uint_lt(f->n_log, REQUESTS_MAX);
    f->log[f->n_log++] = (request_rec_t){
        .server = c->id,
        .at_us = cairn_mono_us(),
        .leader_seen = f->cc ? ctrl_client_leader(f->cc) : 0,
    };
}

static void on_request(rpc_conn_t *conn, const rpc_frame_t *frame, void *arg)
{
    controller_t *c = arg;
    record_request(c, frame);
    action_t a = next_action(c);
    switch (a.kind) {
    case ACT_ANSWER:
        ck_assert_int_eq(reply_answer(c, conn, frame->type, frame->correlation_id, a.code), 0);
        break;
    case ACT_NOT_LEADER:
        reply_not_leader(c, conn, frame, &a);
        break;
    case ACT_SILENT:
        break;
    case ACT_CLOSE:
        rpc_conn_close(conn);
        break;
    case ACT_LATE:
        start_late(c, conn, frame, &a);
        break;
    case ACT_EMPTY:
        reply_or_fail(conn, frame->type, frame->correlation_id, NULL);
        break;
    case ACT_STATUS_VARINT:
    case ACT_STATUS_GARBAGE:
        reply_malformed(conn, frame, a.kind);
        break;
    }
}

/* ---- fixture --------------------------------------------------------------- */

/* layout has one letter per controller: 'L' a live scripted server, 'D' a dead
 * one (closed port). The first n_voters are the client's voters, with ids 1..n;
 * the rest are only reachable through hints. Every live server answers
 * ACT_ANSWER until scripted otherwise. */
static fixture_t *fx_new(const char *layout, size_t n_voters, const ctrl_client_opts_t *opts)
{
    cairn_log_init("test", 0, CAIRN_LOG_WARN);
    fixture_t *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->base = event_base_new();
    ck_assert_ptr_nonnull(f->base);
    f->n_ctl = strlen(layout);
    ck_assert_uint_le(f->n_ctl, SERVERS_MAX);
    ck_assert_uint_le(n_voters, f->n_ctl);
    /* Live servers take their ports first, so a dead voter's released port
     * cannot be handed to one of them. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < f->n_ctl; i++) {
            controller_t *c = &f->ctl[i];
            c->f = f;
            c->id = (uint32_t)i + 1;
            if (pass == 0 && layout[i] == 'L') {
                c->srv = rpc_server_new(f->base, "127.0.0.1", 0, NULL, on_request, c);
                ck_assert_ptr_nonnull(c->srv);
                c->port = rpc_server_port(c->srv);
            } else if (pass == 1 && layout[i] == 'D') {
                c->port = closed_port();
            }
            snprintf(c->address, sizeof c->address, "127.0.0.1:%u", (unsigned)c->port);
        }
    }
    cairn_voter_t voters[SERVERS_MAX];
    memset(voters, 0, sizeof voters);
    for (size_t i = 0; i < n_voters; i++) {
        voters[i].id = f->ctl[i].id;
        snprintf(voters[i].host, sizeof voters[i].host, "127.0.0.1");
        voters[i].port = f->ctl[i].port;
    }
    f->cc = ctrl_client_new(f->base, voters, n_voters, opts);
    ck_assert_ptr_nonnull(f->cc);
    f->start_us = cairn_mono_us();
    return f;
}

static void fx_script(fixture_t *f, uint32_t server, action_t a)
{
    controller_t *c = &f->ctl[server - 1];
    ck_assert_uint_lt(c->script_len, SCRIPT_MAX);
    c->script[c->script_len++] = a;
}

static void fx_fallback(fixture_t *f, uint32_t server, action_t a)
{
    f->ctl[server - 1].fallback = a;
}

/* Frees the client first (which cancels what is outstanding), then the
 * servers and the loop. */
static void fx_free(fixture_t *f)
{
    ctrl_client_free(f->cc);
    f->cc = NULL;
    for (size_t i = 0; i < f->n_late; i++) {
        if (f->late[i].conn != NULL)
            rpc_conn_unref(f->late[i].conn);
        event_free(f->late[i].ev);
    }
    for (size_t i = 0; i < f->n_ctl; i++)
        rpc_server_free(f->ctl[i].srv);
    event_base_free(f->base);
    free(f);
}

/* Servers in the order requests reached them, e.g. "1,3,3". */
static const char *fx_order(fixture_t *f)
{
    size_t n = 0;
    f->order[0] = '\0';
    for (size_t i = 0; i < f->n_log && n < sizeof f->order; i++)
        n += (size_t)snprintf(f->order + n, sizeof f->order - n, "%s%u", i ? "," : "",
                              (unsigned)f->log[i].server);
    return f->order;
}

/* Time between the i-th and j-th logged requests. */
static uint64_t fx_gap_ms(const fixture_t *f, size_t i, size_t j)
{
    ck_assert_uint_lt(j, f->n_log);
    ck_assert_uint_le(f->log[i].at_us, f->log[j].at_us);
    return (f->log[j].at_us - f->log[i].at_us) / 1000;
}

static size_t fx_requests(const fixture_t *f, uint32_t server)
{
    return f->ctl[server - 1].requests;
}

/* ---- calls and their results ---------------------------------------------- */

typedef struct result {
    fixture_t *f;
    int calls;                  /* times the callback ran */
    int err;
    char why[CTRL_CLIENT_WHY_MAX];
    int32_t status_code;
    uint32_t replier;           /* N of the "controller-N" that answered; 0: no topic */
    char topic_name[NAME_MAX_BYTES];
    size_t body_len;
    uint64_t done_us;
    struct result *then;        /* started from inside this callback */
    int then_rc;
} result_t;

static int start_named(fixture_t *f, result_t *r, const char *name, uint32_t timeout_ms);

static void decode_answer(result_t *r, const uint8_t *body, size_t len)
{
    Cairn__DescribeTopicResponse *m = cairn__describe_topic_response__unpack(NULL, len, body);
    ck_assert_ptr_nonnull(m);
    r->status_code = m->status ? m->status->code : 0;
    if (m->topic != NULL) {
        ck_assert_int_eq(sscanf(m->topic->id, "controller-%u", &r->replier), 1);
        snprintf(r->topic_name, sizeof r->topic_name, "%s", m->topic->name);
    }
    cairn__describe_topic_response__free_unpacked(m, NULL);
}

static void on_result(int err, const char *why, const uint8_t *body, size_t len, void *arg)
{
    result_t *r = arg;
    r->calls++;
    r->err = err;
    r->done_us = cairn_mono_us();
    ck_assert_ptr_nonnull(why);
    snprintf(r->why, sizeof r->why, "%s", why);
    r->body_len = len;
    if (err != 0)
        ck_assert_uint_eq(len, 0);
    else if (len > 0)
        decode_answer(r, body, len);
    if (r->then != NULL)
        r->then_rc = start_named(r->f, r->then, "orders", 3000);
}

/* Starts a DescribeTopic call. The request's name is scribbled over and
 * freed as soon as the call returns: the client must keep its own copy. */
static int start_named(fixture_t *f, result_t *r, const char *name, uint32_t timeout_ms)
{
    char *copy = strdup(name);
    ck_assert_ptr_nonnull(copy);
    Cairn__DescribeTopicRequest req = CAIRN__DESCRIBE_TOPIC_REQUEST__INIT;
    req.name = copy;
    r->f = f;
    int rc = ctrl_client_call(f->cc, TYPE_DESCRIBE, &req.base, timeout_ms, on_result, r);
    memset(copy, 'x', strlen(copy));
    free(copy);
    return rc;
}

static void start(fixture_t *f, result_t *r, uint32_t timeout_ms)
{
    int before = r->calls;
    ck_assert_int_eq(start_named(f, r, "orders", timeout_ms), 0);
    ck_assert_int_eq(r->calls, before);     /* never from inside ctrl_client_call */
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

typedef bool (*pred_fn)(const void *arg);

/* Runs the loop until pred holds (NULL: never) or guard_ms passes; a tick
 * keeps EVLOOP_ONCE from sleeping past the guard. */
static bool run_until(fixture_t *f, pred_fn pred, const void *arg, uint32_t guard_ms)
{
    struct event *tick = event_new(f->base, -1, EV_PERSIST, tick_cb, NULL);
    ck_assert_ptr_nonnull(tick);
    struct timeval tv = { 0, 5000 };
    event_add(tick, &tv);
    uint64_t guard_end_ms = cairn_mono_ms() + guard_ms;
    bool ok;
    while (!(ok = pred != NULL && pred(arg)) && cairn_mono_ms() < guard_end_ms)
        event_base_loop(f->base, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static void run_for(fixture_t *f, uint32_t ms)
{
    (void)run_until(f, NULL, NULL, ms);
}

static bool pred_done(const void *arg)
{
    return ((const result_t *)arg)->calls > 0;
}

/* Runs until r completes, which must happen within the guard, once. */
static void finish(fixture_t *f, result_t *r)
{
    ck_assert_msg(run_until(f, pred_done, r, GUARD_MS), "call did not finish");
    ck_assert_int_eq(r->calls, 1);
}

typedef struct count_pred {
    const size_t *counter;
    size_t target;
} count_pred_t;

static bool pred_count(const void *arg)
{
    const count_pred_t *p = arg;
    return *p->counter >= p->target;
}

static void wait_requests(fixture_t *f, uint32_t server, size_t n)
{
    count_pred_t p = { &f->ctl[server - 1].requests, n };
    ck_assert_msg(run_until(f, pred_count, &p, GUARD_MS), "server %u saw %zu requests, want %zu",
                  (unsigned)server, f->ctl[server - 1].requests, n);
}

/* In whole milliseconds of the clock the client's deadline is kept in, so
 * "not before the deadline" compares like with like. */
static uint64_t elapsed_ms(const fixture_t *f, const result_t *r)
{
    return r->done_us / 1000 - f->start_us / 1000;
}

/* The message of a call that found no leader (ctrl_client.h), with the
 * addresses tried in the order of the client's peer table. */
static void no_leader_why(char *out, size_t out_len, uint32_t timeout_ms,
                          const char *const *tried, size_t n_tried)
{
    size_t n = (size_t)snprintf(out, out_len, "no quorum: no controller leader reachable "
                                "within %u ms", (unsigned)timeout_ms);
    for (size_t i = 0; i < n_tried && n < out_len; i++)
        n += (size_t)snprintf(out + n, out_len - n, "%s%s", i ? ", " : " (tried ", tried[i]);
    if (n_tried > 0 && n < out_len)
        snprintf(out + n, out_len - n, ")");
}

/* Most rounds of attempts a call can start within timeout_ms when rounds are
 * kept apart by the client's doubling backoff, each wait possibly SLACK_MS
 * short, plus one the deadline may squeeze in. */
static size_t rounds_max(uint32_t timeout_ms)
{
    size_t rounds = 1;
    uint64_t waited_ms = 0;
    uint32_t backoff_ms = CTRL_CLIENT_BACKOFF_MIN_MS;
    for (;;) {
        waited_ms += backoff_ms > SLACK_MS ? backoff_ms - SLACK_MS : 1;
        if (waited_ms > timeout_ms)
            return rounds + 1;
        rounds++;
        backoff_ms = backoff_ms * 2 > CTRL_CLIENT_BACKOFF_MAX_MS ? CTRL_CLIENT_BACKOFF_MAX_MS
                                                                 : backoff_ms * 2;
    }
}

static const action_t SILENT = { .kind = ACT_SILENT };
static const action_t CLOSE = { .kind = ACT_CLOSE };
static const action_t NO_HINT = { .kind = ACT_NOT_LEADER };

static action_t hint(uint32_t leader_id, uint32_t server)
{
    return (action_t){ .kind = ACT_NOT_LEADER, .leader_id = leader_id, .hint_server = server };
}

/* ---- following the leader ---------------------------------------------------- */

START_TEST(test_first_voter_answers)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_str_eq(r.why, "");
    ck_assert_uint_eq(r.replier, 1);
    ck_assert_str_eq(r.topic_name, "orders");
    ck_assert_str_eq(f->ctl[0].last_name, "orders");
    ck_assert_str_eq(fx_order(f), "1");
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 1);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_follows_hint_and_remembers_leader)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, hint(3, 3));
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 3);
    ck_assert_str_eq(fx_order(f), "1,3");
    ck_assert_uint_eq(f->log[1].leader_seen, 3);   /* learnt from the hint, before any answer */
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 3);

    /* The next call goes straight to the leader. */
    result_t r2 = { 0 };
    start(f, &r2, 5000);
    finish(f, &r2);
    ck_assert_uint_eq(r2.replier, 3);
    ck_assert_str_eq(fx_order(f), "1,3,3");
    fx_free(f);
}
END_TEST

START_TEST(test_follows_a_chain_of_stale_hints)
{
    /* 1 thinks 2 leads, 2 knows better: each hint is followed in turn. */
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, hint(2, 2));
    fx_fallback(f, 2, hint(3, 3));
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 3);
    ck_assert_str_eq(fx_order(f), "1,2,3");
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 3);
    fx_free(f);
}
END_TEST

START_TEST(test_hint_by_id_without_address)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_script(f, 1, (action_t){ .kind = ACT_NOT_LEADER, .leader_id = 2 });
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_uint_eq(r.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    fx_free(f);
}
END_TEST

START_TEST(test_hint_to_unconfigured_address)
{
    /* Controller 4 is not among the voters the client was given. */
    fixture_t *f = fx_new("LLLL", 3, NULL);
    fx_fallback(f, 1, hint(7, 4));
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 4);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 7);
    result_t r2 = { 0 };
    start(f, &r2, 5000);
    finish(f, &r2);
    ck_assert_uint_eq(r2.replier, 4);
    ck_assert_str_eq(fx_order(f), "1,4,4");
    fx_free(f);
}
END_TEST

START_TEST(test_hint_address_corrects_id)
{
    /* The configured ids were a guess: id 2 actually listens at server 3. */
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, hint(2, 3));
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_uint_eq(r.replier, 3);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    ck_assert_str_eq(fx_order(f), "1,3");
    fx_free(f);
}
END_TEST

START_TEST(test_leader_forgotten_when_it_steps_down)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_script(f, 1, (action_t){ .kind = ACT_ANSWER });
    fx_fallback(f, 1, NO_HINT);
    result_t r1 = { 0 };
    start(f, &r1, 5000);
    finish(f, &r1);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 1);
    result_t r2 = { 0 };
    start(f, &r2, 5000);
    finish(f, &r2);
    ck_assert_uint_eq(r2.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,1,2");
    ck_assert_uint_eq(f->log[1].leader_seen, 1);
    ck_assert_uint_eq(f->log[2].leader_seen, 0);   /* forgotten while looking */
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    fx_free(f);
}
END_TEST

/* NOT_LEADER without a usable hint: the quorum is likely electing, so the
 * next voter is asked only after a backoff. */
static void check_no_hint_backs_off(action_t not_leader)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, not_leader);
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    ck_assert_uint_ge(fx_gap_ms(f, 0, 1), CTRL_CLIENT_BACKOFF_MIN_MS - SLACK_MS);
    fx_free(f);
}

START_TEST(test_no_hint_backs_off_then_next_voter)
{
    check_no_hint_backs_off(NO_HINT);
}
END_TEST

START_TEST(test_hint_naming_itself_is_no_hint)
{
    check_no_hint_backs_off(hint(1, 1));
}
END_TEST

START_TEST(test_unusable_hint_is_no_hint)
{
    check_no_hint_backs_off((action_t){ .kind = ACT_NOT_LEADER, .leader_id = 9,
                                        .hint_address = "no-port-here" });
}
END_TEST

START_TEST(test_other_errors_complete_the_call)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, (action_t){ .kind = ACT_ANSWER, .code = CAIRN_ERR_TOPIC_EXISTS });
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(r.status_code, CAIRN_ERR_TOPIC_EXISTS);
    ck_assert_uint_eq(r.replier, 1);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 1);
    run_for(f, 50);
    ck_assert_str_eq(fx_order(f), "1");
    fx_free(f);
}
END_TEST

START_TEST(test_empty_body_is_success)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, (action_t){ .kind = ACT_EMPTY });
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 1);
    fx_free(f);
}
END_TEST

START_TEST(test_malformed_status_is_corrupt)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_script(f, 1, (action_t){ .kind = ACT_STATUS_VARINT });
    fx_script(f, 1, (action_t){ .kind = ACT_STATUS_GARBAGE });
    char want[CTRL_CLIENT_WHY_MAX];
    snprintf(want, sizeof want, "malformed response from %s", f->ctl[0].address);
    result_t r1 = { 0 }, r2 = { 0 };
    start(f, &r1, 5000);
    finish(f, &r1);
    ck_assert_int_eq(r1.err, CAIRN_ERR_CORRUPT);
    ck_assert_str_eq(r1.why, want);
    start(f, &r2, 5000);
    finish(f, &r2);
    ck_assert_int_eq(r2.err, CAIRN_ERR_CORRUPT);
    ck_assert_str_eq(r2.why, want);
    /* Final answers: nobody else is asked, and nobody becomes leader. */
    run_for(f, 50);
    ck_assert_str_eq(fx_order(f), "1,1");
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 0);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 0);
    fx_free(f);
}
END_TEST

/* ---- dead, closing and silent voters ------------------------------------------ */

START_TEST(test_closed_connection_tries_next_voter)
{
    /* An attempt timeout far past the guard: only the disconnect can move on. */
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 4 * GUARD_MS };
    fixture_t *f = fx_new("LLL", 3, &opts);
    fx_fallback(f, 1, CLOSE);
    result_t r = { 0 };
    start(f, &r, 8 * GUARD_MS);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    fx_free(f);
}
END_TEST

START_TEST(test_dead_voter_is_skipped)
{
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 4 * GUARD_MS };
    fixture_t *f = fx_new("DLL", 3, &opts);
    result_t r = { 0 };
    start(f, &r, 8 * GUARD_MS);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 2);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    fx_free(f);
}
END_TEST

START_TEST(test_silent_voter_attempt_is_capped)
{
    /* Without the cap the one attempt would last the whole call. */
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 100 };
    fixture_t *f = fx_new("LLL", 3, &opts);
    fx_fallback(f, 1, SILENT);
    result_t r = { 0 };
    start(f, &r, 4 * GUARD_MS);
    finish(f, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(r.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    /* From the call's start: the attempt's clock runs before server 1 has
     * even read the request. */
    ck_assert_uint_ge((f->log[1].at_us - f->start_us) / 1000, 100 - SLACK_MS);
    fx_free(f);
}
END_TEST

START_TEST(test_attempt_bounded_by_deadline)
{
    /* A single voter: with more, the coarse timer behind the attempt's
     * timeout may leave a millisecond in which the next voter answers. */
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 4 * GUARD_MS };
    fixture_t *f = fx_new("L", 1, &opts);
    fx_fallback(f, 1, SILENT);
    result_t r = { 0 };
    start(f, &r, 200);
    finish(f, &r);
    ck_assert_int_eq(r.err, CAIRN_ERR_NO_QUORUM);
    char want[CTRL_CLIENT_WHY_MAX];
    const char *tried[] = { f->ctl[0].address };
    no_leader_why(want, sizeof want, 200, tried, 1);
    ck_assert_str_eq(r.why, want);
    ck_assert_uint_ge(elapsed_ms(f, &r), 200);
    ck_assert_uint_ge(f->n_log, 1);
    fx_free(f);
}
END_TEST

START_TEST(test_all_dead_fails_at_deadline)
{
    fixture_t *f = fx_new("DDD", 3, NULL);
    result_t r = { 0 };
    start(f, &r, 400);
    finish(f, &r);
    ck_assert_int_eq(r.err, CAIRN_ERR_NO_QUORUM);
    char want[CTRL_CLIENT_WHY_MAX];
    const char *tried[] = { f->ctl[0].address, f->ctl[1].address, f->ctl[2].address };
    no_leader_why(want, sizeof want, 400, tried, 3);
    ck_assert_str_eq(r.why, want);
    ck_assert_uint_ge(elapsed_ms(f, &r), 400);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_backoff_after_each_full_round)
{
    /* Every voter drops every request: rounds of three, each followed by a
     * doubling wait, so a cluster without a leader is polled, not hammered. */
    const uint32_t timeout_ms = 1000;
    fixture_t *f = fx_new("LLL", 3, NULL);
    for (uint32_t i = 1; i <= 3; i++)
        fx_fallback(f, i, CLOSE);
    result_t r = { 0 };
    start(f, &r, timeout_ms);
    finish(f, &r);
    ck_assert_int_eq(r.err, CAIRN_ERR_NO_QUORUM);
    ck_assert_uint_ge(elapsed_ms(f, &r), timeout_ms);
    ck_assert_uint_ge(f->n_log, 6);
    for (size_t i = 0; i < f->n_log; i++)
        ck_assert_uint_eq(f->log[i].server, i % 3 + 1);
    uint32_t backoff_ms = CTRL_CLIENT_BACKOFF_MIN_MS;
    for (size_t first = 3; first < f->n_log; first += 3) {
        /* A round that starts near the deadline may follow a wait the
         * deadline cut short. */
        if (f->log[first].at_us + 50 * 1000 >= f->start_us + timeout_ms * 1000)
            break;
        ck_assert_msg(fx_gap_ms(f, first - 1, first) + SLACK_MS >= backoff_ms,
                      "round at request %zu came %llu ms after the last, backoff %u ms",
                      first, (unsigned long long)fx_gap_ms(f, first - 1, first),
                      (unsigned)backoff_ms);
        backoff_ms = backoff_ms * 2 > CTRL_CLIENT_BACKOFF_MAX_MS ? CTRL_CLIENT_BACKOFF_MAX_MS
                                                                 : backoff_ms * 2;
    }
    ck_assert_uint_le(f->n_log, 3 * rounds_max(timeout_ms));
    fx_free(f);
}
END_TEST

START_TEST(test_stale_hint_ring_backs_off)
{
    /* 1 and 2 each name the other: followed around the ring, then a wait. */
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_fallback(f, 1, hint(2, 2));
    fx_fallback(f, 2, hint(1, 1));
    result_t r = { 0 };
    start(f, &r, 600);
    finish(f, &r);
    ck_assert_int_eq(r.err, CAIRN_ERR_NO_QUORUM);
    char want[CTRL_CLIENT_WHY_MAX];
    const char *tried[] = { f->ctl[0].address, f->ctl[1].address };
    no_leader_why(want, sizeof want, 600, tried, 2);
    ck_assert_str_eq(r.why, want);
    ck_assert_uint_eq(fx_requests(f, 3), 0);
    ck_assert_uint_ge(f->n_log, 4);
    /* Each ring is one more hop than there are peers, and rings are a
     * backoff apart: tens of requests, where following hints blindly would
     * make thousands. */
    ck_assert_uint_le(f->n_log, 4 * rounds_max(600));
    fx_free(f);
}
END_TEST

START_TEST(test_hints_cannot_grow_peers_without_bound)
{
    /* Every answer names a new leader at a new, dead, address. */
    fixture_t *f = fx_new("LLL", 3, NULL);
    for (uint32_t i = 1; i <= 3; i++)
        fx_fallback(f, i, (action_t){ .kind = ACT_NOT_LEADER, .hint_fresh = true });
    result_t r = { 0 };
    start(f, &r, 600);
    finish(f, &r);
    ck_assert_int_eq(r.err, CAIRN_ERR_NO_QUORUM);
    size_t tried = 0;
    for (const char *p = r.why; (p = strstr(p, "127.0.0.1:")) != NULL; p++)
        tried++;
    ck_assert_uint_gt(tried, 3);                       /* learnt peers were tried */
    ck_assert_uint_le(tried, 2 * CAIRN_MAX_VOTERS);
    ck_assert_int_eq(r.why[strlen(r.why) - 1], ')');   /* the list was not cut */
    fx_free(f);
}
END_TEST

/* ---- bounds, cancellation, exactly once --------------------------------------- */

START_TEST(test_request_too_large)
{
    ctrl_client_opts_t opts = { .rpc = { .frame_max = 1024 } };
    fixture_t *f = fx_new("LLL", 3, &opts);
    char name[2048];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    result_t big = { 0 };
    ck_assert_int_eq(start_named(f, &big, name, 5000), CAIRN_ERR_TOO_LARGE);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 0);
    /* Well under the frame limit, with room for the echoing answer. */
    name[800] = '\0';
    result_t fits = { 0 };
    ck_assert_int_eq(start_named(f, &fits, name, 5000), 0);
    finish(f, &fits);
    ck_assert_int_eq(fits.err, 0);
    ck_assert_str_eq(f->ctl[0].last_name, name);
    ck_assert_str_eq(fits.topic_name, name);
    ck_assert_str_eq(fx_order(f), "1");
    ck_assert_int_eq(big.calls, 0);
    fx_free(f);
}
END_TEST

START_TEST(test_full_connection_tries_next_voter)
{
    /* One call at a time per connection: the second call finds server 1's
     * connection full and goes on to server 2. */
    ctrl_client_opts_t opts = { .rpc = { .pending_max = 1 } };
    fixture_t *f = fx_new("LLL", 3, &opts);
    fx_fallback(f, 1, SILENT);
    result_t held = { 0 }, next = { 0 };
    start(f, &held, 5000);
    wait_requests(f, 1, 1);
    start(f, &next, 5000);
    finish(f, &next);
    ck_assert_int_eq(next.err, 0);
    ck_assert_uint_eq(next.replier, 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    ck_assert_int_eq(held.calls, 0);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 1);
    fx_free(f);
    ck_assert_int_eq(held.calls, 1);
    ck_assert_int_eq(held.err, CAIRN_ERR_CANCELLED);
}
END_TEST

START_TEST(test_outstanding_calls_bounded)
{
    ctrl_client_opts_t opts = { .calls_max = 2 };
    fixture_t *f = fx_new("LLL", 3, &opts);
    result_t a = { 0 }, b = { 0 }, c = { 0 };
    start(f, &a, 5000);
    start(f, &b, 5000);
    ck_assert_int_eq(start_named(f, &c, "orders", 5000), CAIRN_ERR_QUEUE_FULL);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 2);
    finish(f, &a);
    finish(f, &b);
    ck_assert_int_eq(a.err + b.err, 0);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 0);
    ck_assert_str_eq(fx_order(f), "1,1");
    run_for(f, 50);
    ck_assert_int_eq(c.calls, 0);
    start(f, &c, 5000);
    fx_free(f);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.err, CAIRN_ERR_CANCELLED);
}
END_TEST

START_TEST(test_callback_may_start_a_call)
{
    /* A completed call leaves the bound before its callback runs. */
    ctrl_client_opts_t opts = { .calls_max = 1 };
    fixture_t *f = fx_new("LLL", 3, &opts);
    result_t second = { 0 };
    result_t first = { .then = &second };
    start(f, &first, 5000);
    finish(f, &first);
    ck_assert_int_eq(first.then_rc, 0);
    finish(f, &second);
    ck_assert_int_eq(second.err, 0);
    ck_assert_str_eq(fx_order(f), "1,1");
    fx_free(f);
}
END_TEST

static bool pred_no_leader(const void *arg)
{
    return ctrl_client_leader(arg) == 0;
}

START_TEST(test_free_cancels_every_call_once)
{
    fixture_t *f = fx_new("LLL", 3, NULL);
    fx_script(f, 1, (action_t){ .kind = ACT_ANSWER });
    fx_script(f, 1, NO_HINT);
    for (uint32_t i = 1; i <= 3; i++)
        fx_fallback(f, i, SILENT);
    result_t known = { 0 }, backing_off = { 0 }, in_flight = { 0 }, unstarted = { 0 };
    start(f, &known, 5000);
    finish(f, &known);
    /* Server 1 steps down without a hint: the call waits before asking 2. */
    start(f, &backing_off, 5000);
    ck_assert(run_until(f, pred_no_leader, f->cc, GUARD_MS));
    start(f, &in_flight, 5000);
    wait_requests(f, 1, 3);
    start(f, &unstarted, 5000);
    ck_assert_uint_eq(ctrl_client_outstanding(f->cc), 3);
    ctrl_client_free(f->cc);
    f->cc = NULL;
    result_t *rs[] = { &backing_off, &in_flight, &unstarted };
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(rs[i]->calls, 1);
        ck_assert_int_eq(rs[i]->err, CAIRN_ERR_CANCELLED);
        ck_assert_str_eq(rs[i]->why, "cancelled");
    }
    /* Nothing left behind fires later. */
    run_for(f, 100);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(rs[i]->calls, 1);
    ck_assert_int_eq(known.calls, 1);
    fx_free(f);
}
END_TEST

START_TEST(test_late_answer_is_not_a_second_completion)
{
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 100 };
    fixture_t *f = fx_new("LLL", 3, &opts);
    fx_fallback(f, 1, (action_t){ .kind = ACT_LATE, .delay_ms = 300 });
    result_t r = { 0 };
    start(f, &r, 5000);
    finish(f, &r);
    ck_assert_uint_eq(r.replier, 2);
    count_pred_t sent = { &f->late_sent, 1 };
    ck_assert(run_until(f, pred_count, &sent, GUARD_MS));
    run_for(f, 100);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(ctrl_client_leader(f->cc), 2);
    ck_assert_str_eq(fx_order(f), "1,2");
    fx_free(f);
    ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(test_bad_arguments)
{
    struct event_base *base = event_base_new();
    cairn_voter_t v[CAIRN_MAX_VOTERS + 1];
    memset(v, 0, sizeof v);
    for (size_t i = 0; i <= CAIRN_MAX_VOTERS; i++) {
        v[i].id = (uint32_t)i + 1;
        snprintf(v[i].host, sizeof v[i].host, "127.0.0.1");
        v[i].port = closed_port();
    }
    ck_assert_ptr_null(ctrl_client_new(NULL, v, 1, NULL));
    ck_assert_ptr_null(ctrl_client_new(base, v, 0, NULL));
    ck_assert_ptr_null(ctrl_client_new(base, v, CAIRN_MAX_VOTERS + 1, NULL));
    uint16_t port = v[1].port;
    v[1].port = 0;
    ck_assert_ptr_null(ctrl_client_new(base, v, 2, NULL));
    v[1].port = port;
    v[1].host[0] = '\0';
    ck_assert_ptr_null(ctrl_client_new(base, v, 2, NULL));
    ctrl_client_t *cc = ctrl_client_new(base, v, 1, NULL);
    ck_assert_ptr_nonnull(cc);
    Cairn__DescribeTopicRequest req = CAIRN__DESCRIBE_TOPIC_REQUEST__INIT;
    result_t r = { 0 };
    ck_assert_int_eq(ctrl_client_call(cc, TYPE_DESCRIBE, &req.base, 0, on_result, &r),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_int_eq(ctrl_client_call(cc, TYPE_DESCRIBE, NULL, 100, on_result, &r),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_int_eq(ctrl_client_call(cc, TYPE_DESCRIBE, &req.base, 100, NULL, &r),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_uint_eq(ctrl_client_leader(cc), 0);
    ck_assert_uint_eq(ctrl_client_outstanding(cc), 0);
    ctrl_client_free(cc);
    ctrl_client_free(NULL);
    ck_assert_int_eq(r.calls, 0);
    event_base_free(base);
}
END_TEST

/* ---- Status extraction ------------------------------------------------- */

static size_t pack_status(uint8_t *buf, int32_t code, uint32_t leader_id, const char *addr)
{
    Cairn__Status st = CAIRN__STATUS__INIT;
    st.code = code;
    st.leader_id = leader_id;
    st.leader_address = (char *)addr;
    return cairn__status__pack(&st, buf);
}

START_TEST(test_status_any_position)
{
    uint8_t body[128], st[64];
    size_t st_len = pack_status(st, CAIRN_ERR_NOT_LEADER, 2, "h:9");
    size_t n = 0;
    body[n++] = 0x10;                            /* field 2, varint */
    body[n++] = 0x96; body[n++] = 0x01;          /* 150 */
    body[n++] = 0x1d;                            /* field 3, fixed32 */
    memset(body + n, 0xee, 4); n += 4;
    body[n++] = 0x21;                            /* field 4, fixed64 */
    memset(body + n, 0xee, 8); n += 8;
    body[n++] = 0x0a;                            /* field 1, length-delimited */
    body[n++] = (uint8_t)st_len;
    memcpy(body + n, st, st_len); n += st_len;
    body[n++] = 0x2a; body[n++] = 0x00;          /* field 5, empty bytes */
    Cairn__Status *out;
    ck_assert_int_eq(ctrl_client_parse_status(body, n, &out), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->code, CAIRN_ERR_NOT_LEADER);
    ck_assert_uint_eq(out->leader_id, 2);
    ck_assert_str_eq(out->leader_address, "h:9");
    cairn__status__free_unpacked(out, NULL);
}
END_TEST

START_TEST(test_status_absent_means_ok)
{
    Cairn__Status *out = (Cairn__Status *)1;
    ck_assert_int_eq(ctrl_client_parse_status(NULL, 0, &out), 0);
    ck_assert_ptr_null(out);
    const uint8_t other[] = { 0x12, 0x01, 0x41 };  /* field 2 only */
    ck_assert_int_eq(ctrl_client_parse_status(other, sizeof other, &out), 0);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_status_malformed)
{
    static const struct { uint8_t b[12]; size_t n; } bad[] = {
        { { 0x0a, 0x05, 0x08 }, 3 },                     /* length past the end */
        { { 0x08, 0x01 }, 2 },                           /* field 1 as a varint */
        { { 0x13 }, 1 },                                 /* group start */
        { { 0x00 }, 1 },                                 /* field number 0 */
        { { 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff }, 12 },              /* varint over 10 bytes */
        { { 0x10, 0x80 }, 2 },                           /* truncated varint */
        { { 0x1d, 0x01, 0x02 }, 3 },                     /* truncated fixed32 */
        { { 0x0a, 0x02, 0x08, 0x80 }, 4 },               /* Status itself truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Cairn__Status *out = NULL;
        ck_assert_msg(ctrl_client_parse_status(bad[i].b, bad[i].n, &out) == -1,
                      "case %zu parsed", i);
        ck_assert_ptr_null(out);
    }
}
END_TEST

static Suite *ctrl_client_suite(void)
{
    Suite *s = suite_create("ctrl_client");
    TCase *lead = tcase_create("leader");
    tcase_set_timeout(lead, 10);
    tcase_add_test(lead, test_first_voter_answers);
    tcase_add_test(lead, test_follows_hint_and_remembers_leader);
    tcase_add_test(lead, test_follows_a_chain_of_stale_hints);
    tcase_add_test(lead, test_hint_by_id_without_address);
    tcase_add_test(lead, test_hint_to_unconfigured_address);
    tcase_add_test(lead, test_hint_address_corrects_id);
    tcase_add_test(lead, test_leader_forgotten_when_it_steps_down);
    tcase_add_test(lead, test_no_hint_backs_off_then_next_voter);
    tcase_add_test(lead, test_hint_naming_itself_is_no_hint);
    tcase_add_test(lead, test_unusable_hint_is_no_hint);
    tcase_add_test(lead, test_other_errors_complete_the_call);
    tcase_add_test(lead, test_empty_body_is_success);
    tcase_add_test(lead, test_malformed_status_is_corrupt);
    suite_add_tcase(s, lead);
    TCase *down = tcase_create("unreachable");
    tcase_set_timeout(down, 10);
    tcase_add_test(down, test_closed_connection_tries_next_voter);
    tcase_add_test(down, test_dead_voter_is_skipped);
    tcase_add_test(down, test_silent_voter_attempt_is_capped);
    tcase_add_test(down, test_attempt_bounded_by_deadline);
    tcase_add_test(down, test_all_dead_fails_at_deadline);
    tcase_add_test(down, test_backoff_after_each_full_round);
    tcase_add_test(down, test_stale_hint_ring_backs_off);
    tcase_add_test(down, test_hints_cannot_grow_peers_without_bound);
    suite_add_tcase(s, down);
    TCase *life = tcase_create("lifecycle");
    tcase_set_timeout(life, 10);
    tcase_add_test(life, test_request_too_large);
    tcase_add_test(life, test_full_connection_tries_next_voter);
    tcase_add_test(life, test_outstanding_calls_bounded);
    tcase_add_test(life, test_callback_may_start_a_call);
    tcase_add_test(life, test_free_cancels_every_call_once);
    tcase_add_test(life, test_late_answer_is_not_a_second_completion);
    tcase_add_test(life, test_bad_arguments);
    suite_add_tcase(s, life);
    TCase *ts = tcase_create("status");
    tcase_add_test(ts, test_status_any_position);
    tcase_add_test(ts, test_status_absent_means_ok);
    tcase_add_test(ts, test_status_malformed);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctrl_client_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
