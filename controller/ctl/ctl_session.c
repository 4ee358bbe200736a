#include "ctl_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "timeutil.h"

int ctl_session_open(ctl_session_t *s, const ctl_args_t *a, uint32_t timeout_ms, char *why,
                     size_t why_len)
{
    memset(s, 0, sizeof *s);
    s->deadline_ms = cairn_mono_ms() + timeout_ms;
    if (!(s->base = event_base_new())) {
        snprintf(why, why_len, "cannot create an event loop");
        return -1;
    }
    if (!(s->cc = ctrl_client_new(s->base, a->controllers, a->n_controllers, NULL))) {
        snprintf(why, why_len, "cannot create the controller client");
        return -1;
    }
    return 0;
}

void ctl_session_close(ctl_session_t *s)
{
    ctrl_client_free(s->cc);
    if (s->base)
        event_base_free(s->base);
    memset(s, 0, sizeof *s);
}

uint32_t ctl_time_left(uint64_t deadline_ms)
{
    uint64_t now_ms = cairn_mono_ms();
    return now_ms < deadline_ms ? (uint32_t)(deadline_ms - now_ms) : 1;
}

static void on_done(int err, const char *why, const uint8_t *body, size_t body_len, void *arg)
{
    ctl_result_t *res = arg;
    res->done = true;
    res->err = err;
    snprintf(res->why, sizeof res->why, "%s", err != 0 && !why[0] ? cairn_strerror(err) : why);
    if (err == 0) {
        res->body = malloc(body_len ? body_len : 1);
        if (res->body) {
            if (body_len)
                memcpy(res->body, body, body_len);
            res->body_len = body_len;
        } else {
            res->err = CAIRN_ERR_NOMEM;
            snprintf(res->why, sizeof res->why, "%s", cairn_strerror(CAIRN_ERR_NOMEM));
        }
    }
    event_base_loopbreak(res->base);
}

int ctl_call_once(ctl_session_t *s, uint32_t type, const ProtobufCMessage *msg,
                  uint32_t timeout_ms, ctl_result_t *res)
{
    free(res->body);
    memset(res, 0, sizeof *res);
    res->base = s->base;
    int rc = ctrl_client_call(s->cc, type, msg, timeout_ms, on_done, res);
    if (rc != 0) {
        snprintf(res->why, sizeof res->why, "%s", cairn_strerror(rc));
        return -1;
    }
    while (!res->done && event_base_dispatch(s->base) == 0)
        ;
    if (!res->done) {
        snprintf(res->why, sizeof res->why, "event loop ended early");
        return -1;
    }
    return 0;
}

ProtobufCMessage *ctl_ask(ctl_session_t *s, uint32_t type, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *desc, uint32_t timeout_ms,
                          ctl_result_t *res)
{
    ProtobufCMessage *m = NULL;
    if (ctl_call_once(s, type, req, timeout_ms, res) == 0 && res->err == 0 &&
        !(m = protobuf_c_message_unpack(desc, NULL, res->body_len, res->body))) {
        res->err = CAIRN_ERR_CORRUPT;
        snprintf(res->why, sizeof res->why, "malformed response from the controller");
    }
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    return m;
}

Cairn__ListBrokersResponse *ctl_list_brokers(ctl_session_t *s, uint32_t timeout_ms,
                                             ctl_result_t *res)
{
    Cairn__ListBrokersRequest req = CAIRN__LIST_BROKERS_REQUEST__INIT;
    Cairn__ListBrokersResponse *r = (Cairn__ListBrokersResponse *)ctl_ask(
        s, CAIRN__RPC_TYPE__RPC_LIST_BROKERS, &req.base,
        &cairn__list_brokers_response__descriptor, timeout_ms, res);
    if (r && r->status && r->status->code != 0) {
        res->refused = true;
        snprintf(res->why, sizeof res->why, "%s", ctl_status_text(r->status));
        cairn__list_brokers_response__free_unpacked(r, NULL);
        r = NULL;
    }
    return r;
}

void ctl_print_call_error(const char *what, const ctl_result_t *res)
{
    if (res->done && res->err == CAIRN_ERR_NO_QUORUM)
        fprintf(stderr, "cairnctl: %s\n", res->why);
    else
        fprintf(stderr, "cairnctl: %s: %s\n", what, res->why);
}

const char *ctl_status_text(const Cairn__Status *st)
{
    return st->message && st->message[0] ? st->message : cairn_strerror(st->code);
}
