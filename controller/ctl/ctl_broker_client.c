#include "ctl_broker_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"

/* A fail-fast client for replication_address ("host:port", IPv6
 * bracketed), or NULL with *why set. */
static rpc_client_t *broker_client(struct event_base *base, const char *replication_address,
                                   uint32_t timeout_ms, const char **why)
{
    char host[CAIRN_HOST_MAX];
    uint16_t port;
    if (!replication_address || !replication_address[0] ||
        cairn_parse_hostport(replication_address, host, sizeof host, &port) != 0) {
        *why = "no replication address registered";
        return NULL;
    }
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        memmove(host, host + 1, len - 2);
        host[len - 2] = '\0';
    }
    if (!host[0]) {
        *why = "no replication address registered";
        return NULL;
    }
    rpc_client_opts_t opts = { .fail_fast = true };
    opts.connect_timeout_ms = timeout_ms < CTL_CONNECT_TIMEOUT_MS_MAX ? timeout_ms
                              : CTL_CONNECT_TIMEOUT_MS_MAX;
    rpc_client_t *c = rpc_client_new(base, host, port, &opts);
    if (!c)
        *why = "cannot create a client";
    return c;
}

void ctl_broker_call_fail(ctl_broker_call_t *c, int err, const char *why)
{
    c->err = err;
    snprintf(c->why, sizeof c->why, "%s", why && why[0] ? why : cairn_strerror(err));
}

static void on_answer(int err, const uint8_t *body, size_t body_len, const uint8_t *payload,
                      size_t payload_len, void *arg)
{
    (void)payload;
    (void)payload_len;
    ctl_broker_call_t *c = arg;
    if (err != 0)
        ctl_broker_call_fail(c, err, err == CAIRN_ERR_DISCONNECTED ? "connection failed or lost"
                                                                   : NULL);
    else if (!(c->body = malloc(body_len ? body_len : 1)))
        ctl_broker_call_fail(c, CAIRN_ERR_NOMEM, NULL);
    else if (body_len)
        memcpy(c->body, body, body_len);
    c->body_len = c->body ? body_len : 0;
    if (--*c->n_pending == 0)
        event_base_loopbreak(c->base);
}

/* Sends c's request; on failure c ends at once with why set. */
static void start(ctl_broker_call_t *c, struct event_base *base, uint32_t type,
                  const ProtobufCMessage *req, uint32_t timeout_ms, size_t *n_pending)
{
    if (!c->broker) {
        ctl_broker_call_fail(c, CAIRN_ERR_UNKNOWN, "not a registered broker");
        return;
    }
    const char *why = NULL;
    c->client = broker_client(base, c->broker->replication_address, timeout_ms, &why);
    if (!c->client) {
        ctl_broker_call_fail(c, CAIRN_ERR_UNKNOWN, why);
        return;
    }
    c->base = base;
    c->n_pending = n_pending;
    int rc = rpc_client_call(c->client, type, req, timeout_ms, on_answer, c);
    if (rc != 0) {
        ctl_broker_call_fail(c, rc, NULL);
        return;
    }
    (*n_pending)++;
}

void ctl_broker_calls_run(struct event_base *base, ctl_broker_call_t *calls, size_t n,
                          uint32_t type, const ProtobufCMessage *req, uint32_t timeout_ms)
{
    size_t n_pending = 0;
    for (size_t i = 0; i < n; i++)
        start(&calls[i], base, type, req, timeout_ms, &n_pending);
    while (n_pending > 0 && event_base_dispatch(base) == 0)
        ;
    for (size_t i = 0; i < n; i++) {
        rpc_client_free(calls[i].client);   /* a call still pending ends CANCELLED */
        calls[i].client = NULL;
    }
}

bool ctl_broker_call_decode(ctl_broker_call_t *c, const ProtobufCMessageDescriptor *desc)
{
    if (c->err != 0)
        return false;
    c->answer = protobuf_c_message_unpack(desc, NULL, c->body_len, c->body);
    if (!c->answer)
        ctl_broker_call_fail(c, CAIRN_ERR_CORRUPT, "malformed answer");
    return c->answer != NULL;
}

void ctl_broker_calls_free(ctl_broker_call_t *calls, size_t n)
{
    for (size_t i = 0; calls && i < n; i++) {
        free(calls[i].body);
        if (calls[i].answer)
            protobuf_c_message_free_unpacked(calls[i].answer, NULL);
    }
    free(calls);
}

const Cairn__BrokerStatus *ctl_find_broker(const Cairn__ListBrokersResponse *brokers, int32_t id)
{
    for (size_t i = 0; brokers && i < brokers->n_brokers; i++)
        if ((int64_t)brokers->brokers[i]->id == id)
            return brokers->brokers[i];
    return NULL;
}

const char *ctl_broker_address(const Cairn__BrokerStatus *b)
{
    return b && b->replication_address && b->replication_address[0]
           ? b->replication_address : "-";
}
