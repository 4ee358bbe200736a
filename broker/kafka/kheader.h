/* Kafka request and response headers (README §1). Which header version a
 * message uses depends on (api_key, version) through the generated API
 * table: flexible versions use request header v2 and response header v1,
 * except that ApiVersions always answers with response header v0. */
#ifndef CAIRN_KAFKA_KHEADER_H
#define CAIRN_KAFKA_KHEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "kcodec.h"

typedef struct kafka_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    /* A view into the frame, not NUL-terminated (print with %.*s); NULL
     * and client_id_len -1 when null. Never contains a NUL byte. */
    const char *client_id;
    int16_t client_id_len;
    int8_t header_version;         /* 1, or 2 (tagged fields) if flexible */
} kafka_request_header_t;

/* True if Cairn implements api_key at version. */
bool kafka_api_version_supported(int16_t api_key, int16_t version);
/* True if (api_key, version) uses flexible encoding; false for APIs Cairn
 * does not know. Versions above what Cairn implements still count, so
 * their header can be read (ApiVersions fallback, README §3). */
bool kafka_api_flexible(int16_t api_key, int16_t version);

/* Reads the request header at rd's position and leaves rd at the body.
 * api_key, api_version and correlation_id (the first 8 bytes) are filled
 * in even when a later part fails. client_id is NULLABLE_STRING in every
 * header version; header v2 adds tagged fields (skipped). Unknown
 * api keys are read as header v1. Returns 0 or -1 (rd failed). */
int kafka_request_header_decode(kafka_rd_t *rd, kafka_request_header_t *out);

/* Writes a request header (for clients and tests). client_id NULL = null. */
void kafka_request_header_encode(kafka_wr_t *wr, int16_t api_key, int16_t version,
                                 int32_t correlation_id, const char *client_id);

/* Writes the response header for a response to (api_key, version): v1
 * (with an empty tag section) iff flexible, except ApiVersions: v0. */
void kafka_response_header_encode(kafka_wr_t *wr, int16_t api_key, int16_t version,
                                  int32_t correlation_id);

/* Reads a response header as a client would; 0 or -1 (rd failed). */
int kafka_response_header_decode(kafka_rd_t *rd, int16_t api_key, int16_t version,
                                 int32_t *correlation_id);

#endif
