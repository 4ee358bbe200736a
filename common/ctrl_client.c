/* Leader-following controller client: every call goes to the last known
 * leader and follows NOT_LEADER hints, rotating through the voters with a
 * bounded backoff until a leader answers or the call's deadline passes. */
#include "ctrl_client.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

/* Configured voters plus leaders learnt from NOT_LEADER hints whose address
 * was not configured (e.g. cairnctl given only some controllers). */
#define CTRL_PEERS_MAX (2 * CAIRN_MAX_VOTERS)
#define CTRL_ADDRESS_MAX (CAIRN_HOST_MAX + 8)
/* Frame length, header length and RpcHeader fields around the body. */
#define CTRL_FRAME_OVERHEAD_BYTES 64u

_Static_assert(CTRL_PEERS_MAX <= 32, "tried_mask holds one bit per peer");
_Static_assert(CTRL_CLIENT_BACKOFF_MIN_MS <= CTRL_CLIENT_BACKOFF_MAX_MS,
               "backoff bounds are ordered");

typedef struct ctrl_peer {
    uint32_t id;                   /* 0 when learnt without an id */
    char address[CTRL_ADDRESS_MAX];    /* "host:port", as hints spell it */
    rpc_client_t *rpc;
} ctrl_peer_t;

typedef struct ctrl_call {
    struct ctrl_call *prev, *next;
    ctrl_client_t *cc;
    uint32_t type;
    ProtobufCMessage *req;         /* owned copy of the caller's request */
    uint32_t timeout_ms;
    uint64_t deadline_ms;          /* monotonic */
    size_t peer;                   /* target of the current or next attempt */
    uint32_t backoff_ms;           /* next backoff wait */
    size_t round_attempts;         /* attempts without an answer since the last backoff */
    size_t redirects;              /* hints followed since the last backoff */
    uint32_t tried_mask;           /* peers attempted, for the failure message */
    bool in_flight;
    struct event *timer;           /* starts the next attempt */
    ctrl_client_cb cb;
    void *arg;
} ctrl_call_t;

struct ctrl_client {
    struct event_base *base;
    ctrl_peer_t peers[CTRL_PEERS_MAX];
    size_t n_peers;
    size_t leader;                 /* peer tried first */
    uint32_t leader_id;            /* 0: none known */
    uint32_t attempt_timeout_ms;
    size_t calls_max;
    size_t frame_max;
    rpc_client_opts_t rpc_opts;
    ctrl_call_t *calls;            /* outstanding calls */
    size_t n_calls;
    bool closing;
};

/* ---- Status extraction ------------------------------------------------- */

static int pb_read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Skips the value of a field of wire type wt at *pos; for a length-delimited
 * value, *value_pos is where its bytes start. Returns -1 on a truncated value
 * or a wire type proto3 never produces (groups). */
static int pb_skip(const uint8_t *p, size_t len, size_t *pos, unsigned wt,
                   size_t *value_pos)
{
    uint64_t v;
    size_t need;
    switch (wt) {
    case 0: return pb_read_varint(p, len, pos, &v);
    case 1: need = 8; break;
    case 2:
        if (pb_read_varint(p, len, pos, &v) != 0 || v > SIZE_MAX)
            return -1;
        need = (size_t)v;
        break;
    case 5: need = 4; break;
    default: return -1;
    }
    if (need > len - *pos)
        return -1;
    *value_pos = *pos;
    *pos += need;
    return 0;
}

int ctrl_client_parse_status(const uint8_t *body, size_t body_len,
                             Cairn__Status **status_out)
{
    const uint8_t *field = NULL;
    size_t field_len = 0;
    size_t pos = 0;

    *status_out = NULL;
    while (pos < body_len) {
        uint64_t tag;
        if (pb_read_varint(body, body_len, &pos, &tag) != 0 || (tag >> 3) == 0)
            return -1;
        unsigned wt = (unsigned)(tag & 7);
        size_t value_pos = pos;
        if (pb_skip(body, body_len, &pos, wt, &value_pos) != 0)
            return -1;
        if ((tag >> 3) != 1)
            continue;
        if (wt != 2)
            return -1;
        /* A repeated field 1 is legal protobuf; the last one wins here. */
        field = body + value_pos;
        field_len = pos - value_pos;
    }
    if (!field)
        return 0;
    *status_out = cairn__status__unpack(NULL, field_len, field);
    return *status_out ? 0 : -1;
}

/* ---- Peers -------------------------------------------------------------- */

static void format_address(char *out, size_t out_len, const char *host, uint16_t port)
{
    /* IPv6 literals are bracketed so the port stays unambiguous. */
    const char *fmt = strchr(host, ':') ? "[%s]:%u" : "%s:%u";
    snprintf(out, out_len, fmt, host, (unsigned)port);
}

static int peer_add(ctrl_client_t *cc, uint32_t id, const char *host, uint16_t port)
{
    if (cc->n_peers >= CTRL_PEERS_MAX)
        return -1;
    ctrl_peer_t *p = &cc->peers[cc->n_peers];
    p->rpc = rpc_client_new(cc->base, host, port, &cc->rpc_opts);
    if (!p->rpc)
        return -1;
    p->id = id;
    format_address(p->address, sizeof p->address, host, port);
    return (int)cc->n_peers++;
}

/* Splits "host:port" or "[v6]:port". Returns -1 when malformed. */
static int split_address(const char *addr, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']')
            return -1;
        h++;
        hl -= 2;
    }
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535 || hl >= host_len)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* The peer a NOT_LEADER hint points at: by address first (ids given to
 * cairnctl are only a convention), then by id, else a new peer for an
 * address we were not configured with. Returns -1 when the hint is unusable. */
static int peer_for_hint(ctrl_client_t *cc, uint32_t id, const char *addr)
{
    bool have_addr = addr && addr[0] != '\0';
    for (size_t i = 0; have_addr && i < cc->n_peers; i++) {
        if (strcmp(cc->peers[i].address, addr) != 0)
            continue;
        /* The hint names the id truly at this address: move it there. */
        for (size_t k = 0; id != 0 && k < cc->n_peers; k++)
            if (cc->peers[k].id == id)
                cc->peers[k].id = 0;
        if (id != 0)
            cc->peers[i].id = id;
        return (int)i;
    }
    for (size_t i = 0; id != 0 && i < cc->n_peers; i++)
        if (cc->peers[i].id == id)
            return (int)i;
    char host[CAIRN_HOST_MAX];
    uint16_t port;
    if (!have_addr || split_address(addr, host, sizeof host, &port) != 0)
        return -1;
    int idx = peer_add(cc, id, host, port);
    if (idx >= 0)
        LOG_INFO("ctrl_client", "learnt controller %u at %s from a leader hint",
                 (unsigned)id, cc->peers[idx].address);
    return idx;
}

static void note_leader(ctrl_client_t *cc, size_t idx)
{
    const ctrl_peer_t *p = &cc->peers[idx];
    if (cc->leader != idx || cc->leader_id != p->id)
        LOG_INFO("ctrl_client", "controller leader is %u at %s",
                 (unsigned)p->id, p->address);
    cc->leader = idx;
    cc->leader_id = p->id;
}

/* ---- Calls -------------------------------------------------------------- */

static uint64_t call_remaining_ms(const ctrl_call_t *call)
{
    uint64_t now_ms = cairn_mono_ms();
    return now_ms >= call->deadline_ms ? 0 : call->deadline_ms - now_ms;
}

static void call_complete(ctrl_call_t *call, int err, const char *why,
                          const uint8_t *body, size_t body_len)
{
    ctrl_client_t *cc = call->cc;
    CAIRN_ASSERT(!call->in_flight);
    /* Unlink first, so the callback may issue a new call within the bound. */
    if (call->prev)
        call->prev->next = call->next;
    else
        cc->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    CAIRN_ASSERT(cc->n_calls > 0);
    cc->n_calls--;
    event_free(call->timer);
    protobuf_c_message_free_unpacked(call->req, NULL);
    call->cb(err, why ? why : "", body, body_len, call->arg);
    free(call);
}

static void call_fail_no_leader(ctrl_call_t *call)
{
    const ctrl_client_t *cc = call->cc;
    char why[CTRL_CLIENT_WHY_MAX];
    size_t n = (size_t)snprintf(why, sizeof why,
                                "no quorum: no controller leader reachable within %" PRIu32 " ms",
                                call->timeout_ms);
    const char *sep = " (tried ";
    for (size_t i = 0; i < cc->n_peers && n < sizeof why; i++) {
        if (!(call->tried_mask & (1u << i)))
            continue;
        n += (size_t)snprintf(why + n, sizeof why - n, "%s%s", sep, cc->peers[i].address);
        sep = ", ";
    }
    if (call->tried_mask && n < sizeof why)
        snprintf(why + n, sizeof why - n, ")");
    LOG_DEBUG("ctrl_client", "call type %" PRIu32 " failed: %s", call->type, why);
    call_complete(call, CAIRN_ERR_NO_QUORUM, why, NULL, 0);
}

static void call_schedule(ctrl_call_t *call, uint64_t delay_ms)
{
    struct timeval tv = { .tv_sec = (time_t)(delay_ms / 1000),
                          .tv_usec = (suseconds_t)((delay_ms % 1000) * 1000) };
    CAIRN_ASSERT(evtimer_add(call->timer, &tv) == 0);
}

/* Waits before the next round, so a cluster without a leader (an election in
 * progress, every voter down) is polled, not hammered. */
static void call_backoff(ctrl_call_t *call)
{
    uint64_t remaining_ms = call_remaining_ms(call);
    uint64_t wait_ms = call->backoff_ms < remaining_ms ? call->backoff_ms : remaining_ms;
    call->backoff_ms *= 2;
    if (call->backoff_ms > CTRL_CLIENT_BACKOFF_MAX_MS)
        call->backoff_ms = CTRL_CLIENT_BACKOFF_MAX_MS;
    call->round_attempts = 0;
    call->redirects = 0;
    call_schedule(call, wait_ms);
}

/* The attempt on call->peer got no usable answer: move to the next peer,
 * right away until every peer has had a turn, then after a backoff. */
static void call_try_next(ctrl_call_t *call)
{
    ctrl_client_t *cc = call->cc;
    call->peer = (call->peer + 1) % cc->n_peers;
    if (++call->round_attempts >= cc->n_peers)
        call_backoff(call);
    else
        call_schedule(call, 0);
}

/* Follows a NOT_LEADER answer. Without a usable hint the quorum is likely
 * electing, so wait before asking the next voter. Hints are followed at
 * once, unless they have sent us around more than the whole ring (stale
 * hints pointing at each other), which also waits. */
static void call_follow_hint(ctrl_call_t *call, const Cairn__Status *st)
{
    ctrl_client_t *cc = call->cc;
    int idx = peer_for_hint(cc, st->leader_id, st->leader_address);
    LOG_DEBUG("ctrl_client", "%s is not the leader (hint %u at %s)",
              cc->peers[call->peer].address, (unsigned)st->leader_id,
              st->leader_address ? st->leader_address : "");
    if (idx < 0 || (size_t)idx == call->peer) {
        if (call->peer == cc->leader)
            cc->leader_id = 0;     /* the leader we knew has stepped down */
        call->peer = (call->peer + 1) % cc->n_peers;
        call_backoff(call);
        return;
    }
    note_leader(cc, (size_t)idx);
    call->peer = (size_t)idx;
    if (++call->redirects > cc->n_peers)
        call_backoff(call);
    else
        call_schedule(call, 0);
}

static void on_attempt_done(int err, const uint8_t *body, size_t body_len,
                            const uint8_t *payload, size_t payload_len, void *arg)
{
    ctrl_call_t *call = arg;
    ctrl_client_t *cc = call->cc;
    CAIRN_ASSERT(call->in_flight);
    call->in_flight = false;
    if (cc->closing || err == CAIRN_ERR_CANCELLED) {
        call_complete(call, CAIRN_ERR_CANCELLED, "cancelled", NULL, 0);
        return;
    }
    if (err != 0) {
        LOG_DEBUG("ctrl_client", "call type %" PRIu32 " to %s: %s", call->type,
                  cc->peers[call->peer].address, cairn_strerror(err));
        call_try_next(call);
        return;
    }
    Cairn__Status *st;
    if (ctrl_client_parse_status(body, body_len, &st) != 0) {
        char why[CTRL_CLIENT_WHY_MAX];
        snprintf(why, sizeof why, "malformed response from %s", cc->peers[call->peer].address);
        LOG_WARN("ctrl_client", "call type %" PRIu32 ": %s", call->type, why);
        call_complete(call, CAIRN_ERR_CORRUPT, why, NULL, 0);
        return;
    }
    if (st && st->code == CAIRN_ERR_NOT_LEADER) {
        call_follow_hint(call, st);
        cairn__status__free_unpacked(st, NULL);
        return;
    }
    if (st)
        cairn__status__free_unpacked(st, NULL);
    note_leader(cc, call->peer);
    call_complete(call, 0, "", body, body_len);
}

static void call_attempt(ctrl_call_t *call)
{
    ctrl_client_t *cc = call->cc;
    uint64_t remaining_ms = call_remaining_ms(call);
    if (remaining_ms == 0) {
        call_fail_no_leader(call);
        return;
    }
    uint32_t t_ms = remaining_ms < cc->attempt_timeout_ms ? (uint32_t)remaining_ms
                                                           : cc->attempt_timeout_ms;
    ctrl_peer_t *p = &cc->peers[call->peer];
    int rc = rpc_client_call(p->rpc, call->type, call->req, t_ms, on_attempt_done, call);
    call->tried_mask |= 1u << call->peer;
    if (rc == 0) {
        call->in_flight = true;
        return;
    }
    if (rc == CAIRN_ERR_TOO_LARGE) {
        char why[CTRL_CLIENT_WHY_MAX];
        snprintf(why, sizeof why, "request too large for %s", p->address);
        call_complete(call, CAIRN_ERR_TOO_LARGE, why, NULL, 0);
        return;
    }
    call_try_next(call);
}

static void on_call_timer(evutil_socket_t fd, short what, void *arg)
{
    call_attempt(arg);
}

/* Owned deep copy of req, so attempts can resend after the caller's copy is
 * gone. Returns CAIRN_ERR_* with *out unset on failure. */
static int copy_request(const ProtobufCMessage *req, size_t frame_max, ProtobufCMessage **out)
{
    size_t len = protobuf_c_message_get_packed_size(req);
    if (len > frame_max - CTRL_FRAME_OVERHEAD_BYTES)
        return CAIRN_ERR_TOO_LARGE;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return CAIRN_ERR_NOMEM;
    size_t packed = protobuf_c_message_pack(req, buf);
    CAIRN_ASSERT(packed == len);
    *out = protobuf_c_message_unpack(req->descriptor, NULL, len, buf);
    free(buf);
    return *out ? 0 : CAIRN_ERR_NOMEM;
}

int ctrl_client_call(ctrl_client_t *cc, uint32_t type, const ProtobufCMessage *req,
                     uint32_t timeout_ms, ctrl_client_cb cb, void *arg)
{
    if (!req || !cb || timeout_ms == 0)
        return CAIRN_ERR_INVALID_REQUEST;
    if (cc->closing)
        return CAIRN_ERR_CANCELLED;
    if (cc->n_calls >= cc->calls_max)
        return CAIRN_ERR_QUEUE_FULL;
    ctrl_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return CAIRN_ERR_NOMEM;
    int rc = copy_request(req, cc->frame_max, &call->req);
    if (rc == 0 && !(call->timer = evtimer_new(cc->base, on_call_timer, call))) {
        protobuf_c_message_free_unpacked(call->req, NULL);
        rc = CAIRN_ERR_NOMEM;
    }
    if (rc != 0) {
        free(call);
        return rc;
    }
    call->cc = cc;
    call->type = type;
    call->timeout_ms = timeout_ms;
    call->deadline_ms = cairn_mono_ms() + timeout_ms;
    call->peer = cc->leader;
    call->backoff_ms = CTRL_CLIENT_BACKOFF_MIN_MS;
    call->cb = cb;
    call->arg = arg;
    call->next = cc->calls;
    if (cc->calls)
        cc->calls->prev = call;
    cc->calls = call;
    cc->n_calls++;
    /* The first attempt starts from the loop, so cb can never run inside
     * this call and the rpc client is never entered from its own callback. */
    call_schedule(call, 0);
    return 0;
}

ctrl_client_t *ctrl_client_new(struct event_base *base, const cairn_voter_t *voters,
                               size_t n_voters, const ctrl_client_opts_t *opts)
{
    if (!base || !voters || n_voters == 0 || n_voters > CAIRN_MAX_VOTERS)
        return NULL;
    for (size_t i = 0; i < n_voters; i++)
        if (voters[i].host[0] == '\0' || voters[i].port == 0 ||
            !memchr(voters[i].host, '\0', sizeof voters[i].host))
            return NULL;
    ctrl_client_t *cc = calloc(1, sizeof *cc);
    if (!cc)
        return NULL;
    cc->base = base;
    if (opts)
        cc->rpc_opts = opts->rpc;
    /* A dead voter is skipped at once: its refused connect fails the attempt
     * instead of holding it until the attempt timeout. */
    cc->rpc_opts.fail_fast = true;
    /* A restarted voter is noticed within a few hundred ms. */
    if (cc->rpc_opts.backoff_max_ms == 0)
        cc->rpc_opts.backoff_max_ms = CTRL_CLIENT_RECONNECT_MAX_MS;
    cc->attempt_timeout_ms = opts && opts->attempt_timeout_ms ? opts->attempt_timeout_ms
                                                              : CTRL_CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT;
    cc->calls_max = opts && opts->calls_max ? opts->calls_max : CTRL_CLIENT_CALLS_MAX_DEFAULT;
    cc->frame_max = cc->rpc_opts.frame_max ? cc->rpc_opts.frame_max : CAIRN_RPC_FRAME_MAX_DEFAULT;
    if (cc->frame_max <= CTRL_FRAME_OVERHEAD_BYTES) {
        free(cc);
        return NULL;
    }
    for (size_t i = 0; i < n_voters; i++) {
        if (peer_add(cc, voters[i].id, voters[i].host, voters[i].port) < 0) {
            ctrl_client_free(cc);
            return NULL;
        }
    }
    return cc;
}

void ctrl_client_free(ctrl_client_t *cc)
{
    if (!cc)
        return;
    cc->closing = true;
    /* Freeing a connection completes its in-flight attempt with CANCELLED,
     * which completes the call (on_attempt_done). */
    for (size_t i = 0; i < cc->n_peers; i++) {
        rpc_client_free(cc->peers[i].rpc);
        cc->peers[i].rpc = NULL;
    }
    /* Calls waiting on a timer (and any attempt a connection failed to
     * cancel) are completed here. */
    while (cc->calls) {
        cc->calls->in_flight = false;
        call_complete(cc->calls, CAIRN_ERR_CANCELLED, "cancelled", NULL, 0);
    }
    CAIRN_ASSERT(cc->n_calls == 0);
    free(cc);
}

void ctrl_client_set_attempt_timeout(ctrl_client_t *cc, uint32_t attempt_timeout_ms)
{
    cc->attempt_timeout_ms = attempt_timeout_ms ? attempt_timeout_ms
                                                : CTRL_CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT;
}

uint32_t ctrl_client_leader(const ctrl_client_t *cc)
{
    return cc->leader_id;
}

size_t ctrl_client_outstanding(const ctrl_client_t *cc)
{
    return cc->n_calls;
}
