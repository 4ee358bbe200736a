/* Kafka record batches, magic 2 (kafka-protocol README §5): parsing the
 * fixed 61-byte header and validating a batch as it arrives in a Produce
 * request, as it is read back during recovery, and as cairn-dump-log prints
 * it. Pure: no I/O. */
#ifndef CAIRN_BATCH_H
#define CAIRN_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATCH_HEADER_BYTES 61          /* baseOffset .. recordCount */
#define BATCH_LOG_OVERHEAD 12          /* baseOffset + batchLength */
#define BATCH_MAGIC 2
#define BATCH_CRC_START 21             /* the CRC covers [21, end) */

/* attributes bits */
#define BATCH_ATTR_CODEC_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20

typedef enum {
    BATCH_CODEC_NONE = 0, BATCH_CODEC_GZIP = 1, BATCH_CODEC_SNAPPY = 2,
    BATCH_CODEC_LZ4 = 3, BATCH_CODEC_ZSTD = 4,
} batch_codec_t;

typedef struct batch_header {
    int64_t base_offset;
    int32_t batch_length;              /* bytes after this field */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} batch_header_t;

typedef enum {
    BATCH_OK = 0,
    BATCH_SHORT,          /* fewer bytes than the header or batchLength announce */
    BATCH_BAD_LENGTH,     /* batchLength below the header size or above the limit */
    BATCH_BAD_MAGIC,
    BATCH_BAD_CRC,
    BATCH_BAD_COUNT,      /* recordCount < 1, or lastOffsetDelta != recordCount - 1 */
    BATCH_BAD_RECORDS,    /* uncompressed records that do not parse, or offset deltas
                             that are not 0, 1, 2, ... */
    BATCH_BAD_CODEC,      /* compression codec 5..7 */
} batch_err_t;

/* Total size of the batch at p (12 + batchLength), or 0 when fewer than 12
 * bytes are available. Does not validate. */
size_t batch_total_bytes(const uint8_t *p, size_t avail);

/* Decodes the 61-byte header. Precondition: len >= BATCH_HEADER_BYTES. */
void batch_header_decode(const uint8_t *p, size_t len, batch_header_t *out);

/* Validates one whole batch at p whose total size is at most avail and at
 * most max_bytes (max.message.bytes): length, magic, CRC32C, count and
 * offset-delta consistency; for uncompressed batches also walks every
 * record (lengths within the batch, offset deltas 0..n-1). Compressed
 * batches are checked at the header level: their CRC covers the compressed
 * bytes. On BATCH_OK *total is the batch's size and hdr (may be NULL) is
 * filled. */
batch_err_t batch_validate(const uint8_t *p, size_t avail, size_t max_bytes,
                           batch_header_t *hdr, size_t *total);

/* batch_validate without the record walk: the checks a replica needs for
 * bytes its leader already validated, where the CRC proves they are the
 * same bytes. */
batch_err_t batch_validate_frame(const uint8_t *p, size_t avail, size_t max_bytes,
                                 batch_header_t *hdr, size_t *total);

/* Rewrites the two fields outside the CRC: baseOffset and
 * partitionLeaderEpoch. */
void batch_set_base_offset(uint8_t *p, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *p, int32_t epoch);

/* Last offset of a batch: base_offset + last_offset_delta. */
static inline int64_t batch_last_offset(const batch_header_t *h)
{
    return h->base_offset + h->last_offset_delta;
}

const char *batch_err_name(batch_err_t e);
const char *batch_codec_name(int attributes);   /* "none", "gzip", ... */

/* Iterates the records of an uncompressed batch (for cairn-dump-log
 * --records). Pointers borrow from the batch. */
typedef struct batch_record {
    int64_t offset;                    /* base_offset + offsetDelta */
    int64_t timestamp;                 /* base_timestamp + timestampDelta */
    const uint8_t *key;                /* NULL when null */
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers;            /* raw header bytes */
    size_t headers_len;
} batch_record_t;

typedef struct batch_iter {
    const uint8_t *p, *end;
    batch_header_t hdr;
    int32_t next_index;
} batch_iter_t;

/* Precondition: the batch validated and is uncompressed. */
void batch_iter_init(batch_iter_t *it, const uint8_t *batch, size_t total);
/* Returns 1 with *rec filled, 0 at the end, -1 on a malformed record. */
int batch_iter_next(batch_iter_t *it, batch_record_t *rec);

#endif
