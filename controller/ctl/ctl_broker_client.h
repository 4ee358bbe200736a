/* cairnctl's calls to brokers' REPLICATION listeners, where brokers answer
 * DescribeReplicas and the group views: one fail-fast client per broker,
 * every call sent at once and bounded by the same timeout, the loop run
 * until each has ended. */
#ifndef CAIRN_CTL_BROKER_CLIENT_H
#define CAIRN_CTL_BROKER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "admin.pb-c.h"
#include "rpc.h"

/* A broker's connect timeout is at most this, so one dead broker costs
 * little of a command's overall --timeout. */
#define CTL_CONNECT_TIMEOUT_MS_MAX 1000u
#define CTL_WHY_MAX 256

/* One call to one broker. The caller sets id and broker (zeroing the rest);
 * ctl_broker_calls_run fills in the outcome. */
typedef struct ctl_broker_call {
    int32_t id;                          /* the broker asked */
    const Cairn__BrokerStatus *broker;   /* borrowed; NULL: not registered */
    int err;                             /* 0: body holds the answer */
    char why[CTL_WHY_MAX];               /* err != 0: why, one line */
    uint8_t *body;                       /* owned */
    size_t body_len;
    ProtobufCMessage *answer;            /* owned: body decoded by ctl_broker_call_decode */
    /* private */
    rpc_client_t *client;
    size_t *n_pending;
    struct event_base *base;
} ctl_broker_call_t;

/* Sends req (RpcType type) to every call's broker at once, each bounded by
 * timeout_ms, and runs base until all have ended; then frees the clients. */
void ctl_broker_calls_run(struct event_base *base, ctl_broker_call_t *calls, size_t n,
                          uint32_t type, const ProtobufCMessage *req, uint32_t timeout_ms);

/* Decodes c's body as desc into c->answer. Returns false, with err and why
 * set, when there is no answer or it does not decode. */
bool ctl_broker_call_decode(ctl_broker_call_t *c, const ProtobufCMessageDescriptor *desc);

/* Marks c failed: err, and why (NULL or "": err's text). */
void ctl_broker_call_fail(ctl_broker_call_t *c, int err, const char *why);

/* Frees what the calls own, and the array. NULL is a no-op. */
void ctl_broker_calls_free(ctl_broker_call_t *calls, size_t n);

/* b's replication address for messages; "-" when there is none. */
const char *ctl_broker_address(const Cairn__BrokerStatus *b);

/* Broker id in brokers (may be NULL), or NULL. */
const Cairn__BrokerStatus *ctl_find_broker(const Cairn__ListBrokersResponse *brokers, int32_t id);

#endif
