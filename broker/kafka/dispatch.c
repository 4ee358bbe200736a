/* The dispatch table and the checks made once for every request: header,
 * API key, version. A frame that cannot be parsed, an unknown API key or
 * an unsupported version (except ApiVersions, KIP-511) closes only that
 * connection. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "handlers.h"
#include "kafka_messages.h"
#include "log.h"

typedef void (*handler_fn)(kafka_call_t *call);

typedef struct route {
    int16_t api_key;
    handler_fn handle;
} route_t;

static const route_t routes[] = {
    { 0, kafka_handle_Produce },
    { 1, kafka_handle_Fetch },
    { 2, kafka_handle_ListOffsets },
    { 3, kafka_handle_Metadata },
    { 8, kafka_handle_OffsetCommit },
    { 9, kafka_handle_OffsetFetch },
    { 10, kafka_handle_FindCoordinator },
    { 11, kafka_handle_JoinGroup },
    { 12, kafka_handle_Heartbeat },
    { 13, kafka_handle_LeaveGroup },
    { 14, kafka_handle_SyncGroup },
    { 15, kafka_handle_DescribeGroups },
    { 16, kafka_handle_ListGroups },
    { 18, kafka_handle_ApiVersions },
    { 19, kafka_handle_CreateTopics },
    { 20, kafka_handle_DeleteTopics },
    { 32, kafka_handle_DescribeConfigs },
    { 37, kafka_handle_CreatePartitions },
    { 42, kafka_handle_DeleteGroups },
    { 47, kafka_handle_OffsetDelete },
    { 60, kafka_handle_DescribeCluster },
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

static handler_fn route_of(int16_t api_key)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (routes[i].api_key == api_key)
            return routes[i].handle;
    return NULL;
}

bool kafka_api_handled(int16_t api_key)
{
    return route_of(api_key) != NULL && kafka_api_desc(api_key) != NULL;
}

static kafka_call_t *call_new(broker_t *b, kafka_request_t *req)
{
    kafka_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return NULL;
    call->b = b;
    call->req = req;
    size_t cap = req->frame_len * KAFKA_CALL_ARENA_FACTOR;
    kafka_arena_init(&call->arena, cap < KAFKA_CALL_ARENA_MIN ? KAFKA_CALL_ARENA_MIN : cap);
    return call;
}

static int16_t be16(const uint8_t *p)
{
    return (int16_t)((uint16_t)p[0] << 8 | p[1]);
}

void kafka_dispatch(void *ctx, kafka_request_t *req)
{
    broker_t *b = ctx;
    kafka_call_t *call = call_new(b, req);
    if (!call) {
        kafka_request_close_conn(req, "out of memory");
        kafka_request_complete(req, true);
        return;
    }
    /* The server guarantees the 8 fixed header bytes. */
    int16_t api_key = be16(req->frame), version = be16(req->frame + 2);
    call->hdr.api_key = api_key;
    call->hdr.api_version = version;
    handler_fn handle = route_of(api_key);
    const kafka_api_desc_t *d = kafka_api_desc(api_key);
    if (!handle || !d) {
        kafka_call_malformed(call, "unknown API key");
        return;
    }
    bool in_range = version >= d->min_version && version <= d->max_version;
    if (!in_range && api_key != 18) {
        kafka_call_malformed(call, "unsupported API version");
        return;
    }
    kafka_rd_init(&call->body, req->frame, req->frame_len);
    if (in_range && kafka_request_header_decode(&call->body, &call->hdr) != 0) {
        kafka_call_malformed(call, "malformed request header");
        return;
    }
    if (!in_range) {
        /* KIP-511: only the fixed part is readable; answer in v0 form. */
        call->hdr.correlation_id = (int32_t)((uint32_t)req->frame[4] << 24 |
                                             (uint32_t)req->frame[5] << 16 |
                                             (uint32_t)req->frame[6] << 8 | req->frame[7]);
        kafka_reply_unsupported_api_versions(call);
        return;
    }
    handle(call);
}
