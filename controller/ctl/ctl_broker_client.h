/* A connection from cairnctl to a broker's REPLICATION listener, where
 * brokers answer DescribeReplicas and the group views. */
#ifndef CAIRN_CTL_BROKER_CLIENT_H
#define CAIRN_CTL_BROKER_CLIENT_H

#include <stdint.h>

#include <event2/event.h>

#include "rpc.h"

/* The broker's connect timeout is at most this, so one dead broker costs
 * little of a command's overall --timeout. */
#define CTL_CONNECT_TIMEOUT_MS_MAX 1000u

/* A fail-fast client for replication_address ("host:port", IPv6
 * bracketed), connecting within min(timeout_ms, CTL_CONNECT_TIMEOUT_MS_MAX).
 * Returns an owned client, or NULL with *why set (a static string). */
rpc_client_t *ctl_broker_client(struct event_base *base, const char *replication_address,
                                uint32_t timeout_ms, const char **why);

#endif
