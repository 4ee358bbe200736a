/* Kafka dispatch (STYLE: "Kafka dispatch is a table"): per ApiKey a
 * handler; the version range comes from the generated API table, so the
 * ApiVersions answer and the checks here come from the same data. */
#ifndef CAIRN_KAFKA_DISPATCH_H
#define CAIRN_KAFKA_DISPATCH_H

#include "broker.h"
#include "server.h"

/* kafka_server's dispatch callback; ctx is the broker_t. */
void kafka_dispatch(void *ctx, kafka_request_t *req);

/* True when Cairn implements api_key (has a handler). */
bool kafka_api_handled(int16_t api_key);

#endif
