/* Record batch building (batch_build.h): sizes every record first, then
 * writes the header, the records and the CRC into one allocation. */
#include "batch_build.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cairn_assert.h"
#include "crc32c.h"

static bool is_null(const uint8_t *p, int32_t len)
{
    return p == NULL || len < 0;
}

/* Bytes of v as a zig-zag varint. */
static uint64_t varint_bytes(int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint64_t n = 1;
    while (z >= 0x80) {
        z >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return p + bytes;
}

/* A key or value: its length varint, then its bytes. */
static uint64_t field_bytes(const uint8_t *p, int32_t len)
{
    return is_null(p, len) ? varint_bytes(-1) : varint_bytes(len) + (uint64_t)len;
}

static uint8_t *put_field(uint8_t *out, const uint8_t *p, int32_t len)
{
    if (is_null(p, len))
        return put_varint(out, -1);
    out = put_varint(out, len);
    memcpy(out, p, (size_t)len);
    return out + len;
}

/* The record after its length varint: attributes, timestampDelta (0),
 * offsetDelta, key, value, headerCount (0). */
static uint64_t record_body_bytes(const batch_build_record_t *r, size_t index)
{
    return 1 + varint_bytes(0) + varint_bytes((int64_t)index) + field_bytes(r->key, r->key_len) +
           field_bytes(r->value, r->value_len) + varint_bytes(0);
}

size_t batch_build_bytes(const batch_build_record_t *recs, size_t n)
{
    CAIRN_ASSERT(n >= 1);
    /* batchLength bounds everything else: a record's length, and (at 7 or
     * more bytes a record) recordCount and lastOffsetDelta, all int32. */
    uint64_t total = BATCH_HEADER_BYTES;
    for (size_t i = 0; i < n; i++) {
        uint64_t body = record_body_bytes(&recs[i], i);
        total += varint_bytes((int64_t)body) + body;
        if (total - BATCH_LOG_OVERHEAD > INT32_MAX)
            return SIZE_MAX;
    }
    return (size_t)total;
}

static uint8_t *put_header(uint8_t *p, size_t total, size_t n, int64_t timestamp_ms)
{
    p = put_be(p, 0, 8);                                      /* baseOffset */
    p = put_be(p, (uint64_t)(total - BATCH_LOG_OVERHEAD), 4); /* batchLength */
    p = put_be(p, 0, 4);                                      /* partitionLeaderEpoch */
    *p++ = BATCH_MAGIC;
    p = put_be(p, 0, 4);                                      /* crc, once the rest is in */
    p = put_be(p, 0, 2);                                      /* attributes */
    p = put_be(p, (uint64_t)(n - 1), 4);                      /* lastOffsetDelta */
    p = put_be(p, (uint64_t)timestamp_ms, 8);                 /* baseTimestamp */
    p = put_be(p, (uint64_t)timestamp_ms, 8);                 /* maxTimestamp */
    p = put_be(p, UINT64_MAX, 8);                             /* producerId -1 */
    p = put_be(p, UINT16_MAX, 2);                             /* producerEpoch -1 */
    p = put_be(p, UINT32_MAX, 4);                             /* baseSequence -1 */
    return put_be(p, (uint64_t)n, 4);                         /* recordCount */
}

uint8_t *batch_build(const batch_build_record_t *recs, size_t n, int64_t timestamp_ms,
                     size_t max_bytes, size_t *len)
{
    size_t total = batch_build_bytes(recs, n);
    if (total == SIZE_MAX || total > max_bytes)
        return NULL;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return NULL;
    uint8_t *p = put_header(buf, total, n, timestamp_ms);
    CAIRN_ASSERT(p == buf + BATCH_HEADER_BYTES);
    for (size_t i = 0; i < n; i++) {
        const batch_build_record_t *r = &recs[i];
        p = put_varint(p, (int64_t)record_body_bytes(r, i));
        *p++ = 0;                                             /* attributes */
        p = put_varint(p, 0);                                 /* timestampDelta */
        p = put_varint(p, (int64_t)i);                        /* offsetDelta */
        p = put_field(p, r->key, r->key_len);
        p = put_field(p, r->value, r->value_len);
        p = put_varint(p, 0);                                 /* headerCount */
    }
    CAIRN_ASSERT(p == buf + total);
    put_be(buf + 17, crc32c(0, buf + BATCH_CRC_START, total - BATCH_CRC_START), 4);
    *len = total;
    return buf;
}
