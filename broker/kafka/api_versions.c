/* ApiVersions (key 18): the ranges come from the generated API table,
 * filtered to the keys that have a handler, so what is advertised is
 * exactly what is implemented. */
#include "handlers.h"

#include "kafka_error.h"
#include "kafka_messages.h"
#include "dispatch.h"

static void fill_api_keys(kafka_call_t *call, kafka_ApiVersionsResponse_t *resp)
{
    size_t n = 0;
    for (size_t i = 0; i < KAFKA_API_COUNT; i++)
        if (kafka_api_handled(kafka_apis[i].api_key))
            n++;
    resp->ApiKeys = kafka_call_alloc(call, n, sizeof *resp->ApiKeys);
    resp->ApiKeys_count = resp->ApiKeys ? (int32_t)n : 0;
    size_t k = 0;
    for (size_t i = 0; resp->ApiKeys && i < KAFKA_API_COUNT; i++) {
        const kafka_api_desc_t *d = &kafka_apis[i];
        if (!kafka_api_handled(d->api_key))
            continue;
        resp->ApiKeys[k].ApiKey = d->api_key;
        resp->ApiKeys[k].MinVersion = d->min_version;
        resp->ApiKeys[k].MaxVersion = d->max_version;
        k++;
    }
}

void kafka_handle_ApiVersions(kafka_call_t *call)
{
    kafka_ApiVersionsRequest_t req;
    if (kafka_ApiVersionsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                        &req) != 0) {
        kafka_call_malformed(call, "malformed ApiVersions");
        return;
    }
    kafka_ApiVersionsResponse_t resp;
    kafka_ApiVersionsResponse_init(&resp);
    fill_api_keys(call, &resp);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_ApiVersionsResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

void kafka_reply_unsupported_api_versions(kafka_call_t *call)
{
    kafka_ApiVersionsResponse_t resp;
    kafka_ApiVersionsResponse_init(&resp);
    resp.ErrorCode = KAFKA_ERR_UNSUPPORTED_VERSION;
    fill_api_keys(call, &resp);
    /* The v0 body under the v0 header that ApiVersions always uses. */
    call->hdr.api_version = 0;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_ApiVersionsResponse_encode(w, 0, &resp);
    kafka_call_reply(call);
}
