/* A request's lifetime: reply, no reply, or a closed connection. */
#include "call.h"

#include <event2/buffer.h>

#include <stdlib.h>
#include <string.h>

#include "kafka_messages.h"
#include "log.h"
#include "timeutil.h"

static void call_free(kafka_call_t *call)
{
    kafka_arena_free(&call->arena);
    free(call);
}

kafka_wr_t *kafka_call_begin_reply(kafka_call_t *call)
{
    kafka_wr_init(&call->wr, call->req->response);
    kafka_response_header_encode(&call->wr, call->hdr.api_key, call->hdr.api_version,
                                 call->hdr.correlation_id);
    return &call->wr;
}

void kafka_call_reply(kafka_call_t *call)
{
    if (kafka_wr_finish(&call->wr) != 0) {
        /* A response that cannot be encoded (out of memory, a string over
         * 32767 bytes): the client would otherwise wait forever. */
        const char *why = call->wr.err ? call->wr.err : "unencodable response";
        evbuffer_drain(call->req->response, evbuffer_get_length(call->req->response));
        kafka_call_malformed(call, why);
        return;
    }
    kafka_request_complete(call->req, false);
    call_free(call);
}

void kafka_call_no_reply(kafka_call_t *call)
{
    kafka_request_complete(call->req, true);
    call_free(call);
}

void kafka_call_malformed(kafka_call_t *call, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s (api key %d, version %d, %zu bytes)", why,
             call->hdr.api_key, call->hdr.api_version, call->req->frame_len);
    kafka_request_close_conn(call->req, msg);
    kafka_request_complete(call->req, true);
    call_free(call);
}

void *kafka_call_alloc(kafka_call_t *call, size_t n, size_t size)
{
    void *p = kafka_arena_alloc_array(&call->arena, n, size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

uint64_t kafka_call_age_us(const kafka_call_t *call)
{
    return cairn_mono_us() - call->req->received_us;
}
