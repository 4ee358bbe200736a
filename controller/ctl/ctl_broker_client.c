#include "ctl_broker_client.h"

#include <string.h>

#include "config.h"

rpc_client_t *ctl_broker_client(struct event_base *base, const char *replication_address,
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
