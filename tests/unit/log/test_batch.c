/* Unit tests of record batch parsing and validation (broker/log/batch.h):
 * a good batch, each error kind, every truncated prefix, random damage,
 * header rewrites outside the CRC and record iteration. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "log.h"
#include "tlog.h"

static uint8_t buf[8192];

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

START_TEST(test_good_batch)
{
    size_t len = tlog_batch(buf, sizeof buf, 5, 1000, 10);
    batch_header_t h;
    size_t total = 0;
    ck_assert_int_eq(batch_validate(buf, len, len, &h, &total), BATCH_OK);
    ck_assert_uint_eq(total, len);
    ck_assert_uint_eq(batch_total_bytes(buf, len), len);
    ck_assert_int_eq(h.record_count, 5);
    ck_assert_int_eq(h.last_offset_delta, 4);
    ck_assert_int_eq(h.base_timestamp, 1000);
    ck_assert_int_eq(h.max_timestamp, 1004);
    ck_assert_int_eq(h.producer_id, -1);
    ck_assert_int_eq(h.magic, 2);
    ck_assert_str_eq(batch_codec_name(h.attributes), "none");
    /* Bytes after the batch are not part of it. */
    ck_assert_int_eq(batch_validate(buf, sizeof buf, sizeof buf, NULL, &total), BATCH_OK);
    ck_assert_uint_eq(total, len);
}
END_TEST

START_TEST(test_rewrite_outside_crc)
{
    size_t len = tlog_batch(buf, sizeof buf, 3, 1, 4);
    batch_set_base_offset(buf, 0x123456789aLL);
    batch_set_leader_epoch(buf, 42);
    batch_header_t h;
    size_t total;
    ck_assert_int_eq(batch_validate(buf, len, len, &h, &total), BATCH_OK);
    ck_assert_int_eq(h.base_offset, 0x123456789aLL);
    ck_assert_int_eq(h.partition_leader_epoch, 42);
    ck_assert_int_eq(batch_last_offset(&h), 0x123456789aLL + 2);
}
END_TEST

START_TEST(test_error_kinds)
{
    size_t len = tlog_batch(buf, sizeof buf, 3, 1, 4), total;
    uint8_t b[8192];

    ck_assert_int_eq(batch_validate(buf, 11, len, NULL, &total), BATCH_SHORT);
    ck_assert_int_eq(batch_validate(buf, len - 1, len, NULL, &total), BATCH_SHORT);
    ck_assert_int_eq(batch_validate(buf, len, len - 1, NULL, &total), BATCH_BAD_LENGTH);

    memcpy(b, buf, len);
    wr32(b + 8, 48);                                   /* below the header */
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_LENGTH);
    wr32(b + 8, 0x80000000u);                          /* negative */
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_LENGTH);

    memcpy(b, buf, len);
    b[16] = 1;
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_MAGIC);

    memcpy(b, buf, len);
    b[len - 1] ^= 0x01;
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_CRC);

    memcpy(b, buf, len);
    wr32(b + 23, 5);                                   /* lastOffsetDelta != count - 1 */
    tlog_fix_crc(b, len);
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_COUNT);
    wr32(b + 23, 0xffffffffu);
    wr32(b + 57, 0);                                   /* recordCount 0 */
    tlog_fix_crc(b, len);
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_COUNT);

    memcpy(b, buf, len);
    b[21] = 0;
    b[22] = 5;                                         /* codec 5 */
    tlog_fix_crc(b, len);
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_CODEC);

    memcpy(b, buf, len);
    b[BATCH_HEADER_BYTES] = 0x7e;                      /* first record's length: 63 */
    tlog_fix_crc(b, len);
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_RECORDS);

    memcpy(b, buf, len);
    wr32(b + 23, 3);                                   /* 4 records announced, 3 present */
    wr32(b + 57, 4);
    tlog_fix_crc(b, len);
    ck_assert_int_eq(batch_validate(b, len, len, NULL, &total), BATCH_BAD_RECORDS);
}
END_TEST

/* A record whose offsetDelta is not its index is rejected. */
START_TEST(test_offset_delta_order)
{
    size_t len = tlog_batch(buf, sizeof buf, 2, 1, 0), total;
    /* Record 0: length varint, attributes, timestampDelta (0), offsetDelta. */
    size_t od = BATCH_HEADER_BYTES + 1 + 1 + 1;
    ck_assert_int_eq(buf[od], 0);
    buf[od] = 2;                                       /* zig-zag 1 */
    tlog_fix_crc(buf, len);
    ck_assert_int_eq(batch_validate(buf, len, len, NULL, &total), BATCH_BAD_RECORDS);
}
END_TEST

START_TEST(test_compressed_header_only)
{
    size_t len = tlog_batch(buf, sizeof buf, 3, 1, 4), total;
    buf[22] = BATCH_CODEC_ZSTD;                        /* the body is opaque now */
    memset(buf + BATCH_HEADER_BYTES, 0xab, len - BATCH_HEADER_BYTES);
    tlog_fix_crc(buf, len);
    batch_header_t h;
    ck_assert_int_eq(batch_validate(buf, len, len, &h, &total), BATCH_OK);
    ck_assert_str_eq(batch_codec_name(h.attributes), "zstd");
}
END_TEST

START_TEST(test_every_prefix)
{
    size_t len = tlog_batch(buf, sizeof buf, 4, 1, 7), total;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);             /* exact size: ASan sees overreads */
        memcpy(copy, buf, n);
        batch_err_t e = batch_validate(copy, n, 1 << 20, NULL, &total);
        ck_assert_msg(e == BATCH_SHORT, "prefix %zu: %s", n, batch_err_name(e));
        free(copy);
    }
}
END_TEST

/* Random damage anywhere never crashes and never yields a record outside
 * the batch; the validator either accepts or names an error. */
START_TEST(test_random_damage)
{
    size_t len = tlog_batch(buf, sizeof buf, 6, 1, 5), total;
    srand(1234);
    for (int round = 0; round < 20000; round++) {
        uint8_t *b = malloc(len);
        memcpy(b, buf, len);
        int flips = 1 + rand() % 4;
        for (int i = 0; i < flips; i++)
            b[BATCH_LOG_OVERHEAD + (size_t)rand() % (len - BATCH_LOG_OVERHEAD)] ^=
                (uint8_t)(1u << (rand() % 8));
        if (round % 2)
            tlog_fix_crc(b, len);                      /* reach the record walk */
        batch_header_t h;
        batch_err_t e = batch_validate(b, len, len, &h, &total);
        if (e == BATCH_OK && (h.attributes & BATCH_ATTR_CODEC_MASK) == 0) {
            batch_iter_t it;
            batch_record_t r;
            batch_iter_init(&it, b, total);
            while (batch_iter_next(&it, &r) == 1)
                ck_assert(r.value == NULL || (r.value >= b && r.value + r.value_len <= b + len));
        }
        free(b);
    }
}
END_TEST

START_TEST(test_iterate_records)
{
    size_t len = tlog_batch(buf, sizeof buf, 3, 500, 2);
    batch_set_base_offset(buf, 100);
    batch_iter_t it;
    batch_record_t r;
    batch_iter_init(&it, buf, len);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(batch_iter_next(&it, &r), 1);
        ck_assert_int_eq(r.offset, 100 + i);
        ck_assert_int_eq(r.timestamp, 500 + i);
        ck_assert_int_eq(r.key_len, 2);
        ck_assert_int_eq(r.key[1], '0' + i);
        ck_assert_int_eq(r.value_len, 2);
        ck_assert_int_eq(r.header_count, 1);
        ck_assert_uint_eq(r.headers_len, 4);
    }
    ck_assert_int_eq(batch_iter_next(&it, &r), 0);
}
END_TEST

static Suite *batch_suite(void)
{
    Suite *s = suite_create("log-batch");
    TCase *tc = tcase_create("batch");
    tcase_add_test(tc, test_good_batch);
    tcase_add_test(tc, test_rewrite_outside_crc);
    tcase_add_test(tc, test_error_kinds);
    tcase_add_test(tc, test_offset_delta_order);
    tcase_add_test(tc, test_compressed_header_only);
    tcase_add_test(tc, test_every_prefix);
    tcase_add_test(tc, test_random_damage);
    tcase_add_test(tc, test_iterate_records);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tlog_run_suite(batch_suite(), CAIRN_LOG_WARN);
}
