/* Kafka request/response headers, versioned through the API table. */
#include "kheader.h"

#include "kafka_messages.h"

bool kafka_api_version_supported(int16_t api_key, int16_t version)
{
    const kafka_api_desc_t *d = kafka_api_desc(api_key);
    return d && version >= d->min_version && version <= d->max_version;
}

bool kafka_api_flexible(int16_t api_key, int16_t version)
{
    const kafka_api_desc_t *d = kafka_api_desc(api_key);
    return d && d->first_flexible_version >= 0 && version >= d->first_flexible_version;
}

/* KIP-511: ApiVersions answers with header v0 at every version, so a
 * client can parse the answer before it knows what the broker speaks. */
static bool response_header_flexible(int16_t api_key, int16_t version)
{
    return api_key != KAFKA_API_ApiVersions && kafka_api_flexible(api_key, version);
}

int kafka_request_header_decode(kafka_rd_t *rd, kafka_request_header_t *out)
{
    out->api_key = kafka_rd_int16(rd);
    out->api_version = kafka_rd_int16(rd);
    out->correlation_id = kafka_rd_int32(rd);
    out->client_id = NULL;
    out->client_id_len = -1;
    out->header_version = 1;
    if (rd->failed)
        return kafka_rd_fail_field(rd, "RequestHeader");
    /* ClientId keeps its int16 length even in header v2. */
    out->client_id = kafka_rd_string_view(rd, false, true, &out->client_id_len);
    if (rd->failed)
        return kafka_rd_fail_field(rd, "RequestHeader.ClientId");
    if (kafka_api_flexible(out->api_key, out->api_version)) {
        out->header_version = 2;
        kafka_rd_tags_skip(rd);
        if (rd->failed)
            return kafka_rd_fail_field(rd, "RequestHeader._tagged_fields");
    }
    return 0;
}

void kafka_request_header_encode(kafka_wr_t *wr, int16_t api_key, int16_t version,
                                 int32_t correlation_id, const char *client_id)
{
    kafka_wr_int16(wr, api_key);
    kafka_wr_int16(wr, version);
    kafka_wr_int32(wr, correlation_id);
    kafka_wr_string(wr, client_id, false, true);
    if (kafka_api_flexible(api_key, version))
        kafka_wr_tags_none(wr);
}

void kafka_response_header_encode(kafka_wr_t *wr, int16_t api_key, int16_t version,
                                  int32_t correlation_id)
{
    kafka_wr_int32(wr, correlation_id);
    if (response_header_flexible(api_key, version))
        kafka_wr_tags_none(wr);
}

int kafka_response_header_decode(kafka_rd_t *rd, int16_t api_key, int16_t version,
                                 int32_t *correlation_id)
{
    *correlation_id = kafka_rd_int32(rd);
    if (!rd->failed && response_header_flexible(api_key, version))
        kafka_rd_tags_skip(rd);
    if (rd->failed)
        return kafka_rd_fail_field(rd, "ResponseHeader");
    return 0;
}
