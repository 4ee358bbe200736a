/* libFuzzer target for the record batch validator (broker/log/batch.h), as
 * Produce uses it: input = the RECORDS bytes of one partition. Every batch
 * is validated in turn; a valid uncompressed batch also has its records
 * walked. Nothing may crash, read out of bounds or trip a sanitizer, and a
 * batch that validates must keep its invariants.
 *
 * Build and run as fuzz_kafka_request.c describes, with the target
 * tests/fuzz/fuzz_batch and the seeds in tests/fuzz/corpus/batch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cairn_assert.h"

int fuzz_one(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_MESSAGE_BYTES (1u << 20)

static void walk_records(const uint8_t *p, size_t total, const batch_header_t *h)
{
    batch_iter_t it;
    batch_record_t rec;
    batch_iter_init(&it, p, total);
    int32_t n = 0;
    int rc;
    while ((rc = batch_iter_next(&it, &rec)) == 1) {
        CAIRN_ASSERT(rec.offset == h->base_offset + n);
        CAIRN_ASSERT(rec.key_len < 0 || (rec.key >= p && rec.key + rec.key_len <= p + total));
        CAIRN_ASSERT(rec.value_len < 0 ||
                     (rec.value >= p && rec.value + rec.value_len <= p + total));
        n++;
    }
    /* batch_validate walked these records already: they must all parse. */
    CAIRN_ASSERT(rc == 0 && n == h->record_count);
}

int fuzz_one(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading one byte past the end is caught. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int all_valid = size > 0;
    size_t pos = 0;
    while (pos < size) {
        batch_header_t h;
        size_t total = 0;
        batch_err_t e = batch_validate(buf + pos, size - pos, FUZZ_MAX_MESSAGE_BYTES, &h, &total);
        if (e != BATCH_OK) {
            all_valid = 0;
            break;
        }
        CAIRN_ASSERT(total >= BATCH_HEADER_BYTES && total <= size - pos);
        CAIRN_ASSERT(h.last_offset_delta == h.record_count - 1);
        if ((h.attributes & BATCH_ATTR_CODEC_MASK) == BATCH_CODEC_NONE)
            walk_records(buf + pos, total, &h);
        /* The fields outside the CRC can be rewritten and it still holds. */
        batch_set_base_offset(buf + pos, 1000);
        batch_set_leader_epoch(buf + pos, 7);
        CAIRN_ASSERT(batch_validate(buf + pos, size - pos, FUZZ_MAX_MESSAGE_BYTES, NULL,
                                    &total) == BATCH_OK);
        pos += total;
    }
    free(buf);
    return all_valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}
