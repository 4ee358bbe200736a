/* Building record batches (magic 2, uncompressed) from records in memory:
 * for brokers that write their own records, such as the group coordinator
 * into __consumer_offsets. Pure: no I/O. */
#ifndef CAIRN_BATCH_BUILD_H
#define CAIRN_BATCH_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* One record to build. A key or value is null (length -1 on the wire) when
 * its pointer is NULL or its length is negative; an empty one needs a
 * non-NULL pointer and length 0. A null value is a tombstone. Borrowed. */
typedef struct batch_build_record {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
} batch_build_record_t;

/* Size in bytes of the batch batch_build would make of recs[0..n), or
 * SIZE_MAX when it could not be one (batchLength above INT32_MAX).
 * Precondition: n >= 1 (asserted). */
size_t batch_build_bytes(const batch_build_record_t *recs, size_t n);

/* Builds one uncompressed RecordBatch v2 holding recs[0..n) in order:
 * baseOffset 0 (plog_append assigns offsets), partitionLeaderEpoch 0
 * (plog_append stamps it), attributes 0 (CreateTime, not transactional),
 * producer id -1, producer epoch -1, base sequence -1, every record's
 * timestamp timestamp_ms (first and max timestamp alike), offset deltas
 * 0..n-1, no headers, CRC32C filled. The result passes batch_validate.
 * Returns a malloc'd buffer of *len bytes, owned by the caller (free()),
 * or NULL when out of memory or when the batch would exceed max_bytes
 * (batch_build_bytes tells which). Precondition: n >= 1 (asserted). */
uint8_t *batch_build(const batch_build_record_t *recs, size_t n, int64_t timestamp_ms,
                     size_t max_bytes, size_t *len);

#endif
