/* Unit tests of record batch building (broker/log/batch_build.h): a built
 * batch validates, reads back record by record with its keys, values and
 * nulls, matches the wire format byte for byte, respects max_bytes and
 * appends to a partition log. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "batch_build.h"
#include "log.h"
#include "tlog.h"

/* A record of C strings; NULL is null. */
static batch_build_record_t rec(const char *key, const char *value)
{
    return (batch_build_record_t){(const uint8_t *)key, key ? (int32_t)strlen(key) : -1,
                                  (const uint8_t *)value, value ? (int32_t)strlen(value) : -1};
}

static tlog_env_t env;

static void setup(void)
{
    tlog_env_init(&env);
}

static void teardown(void)
{
    tlog_env_free(&env);
}

/* The records of an uncompressed batch equal recs, at offsets base.. */
static void check_records(const uint8_t *b, size_t len, const batch_build_record_t *recs,
                          size_t n, int64_t base, int64_t ts)
{
    batch_iter_t it;
    batch_record_t r;
    batch_iter_init(&it, b, len);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(batch_iter_next(&it, &r), 1);
        ck_assert_int_eq(r.offset, base + (int64_t)i);
        ck_assert_int_eq(r.timestamp, ts);
        ck_assert_int_eq(r.header_count, 0);
        ck_assert_uint_eq(r.headers_len, 0);
        const batch_build_record_t *w = &recs[i];
        if (w->key == NULL || w->key_len < 0) {
            ck_assert_ptr_null(r.key);
            ck_assert_int_eq(r.key_len, -1);
        } else {
            ck_assert_int_eq(r.key_len, w->key_len);
            ck_assert_mem_eq(r.key, w->key, (size_t)w->key_len);
        }
        if (w->value == NULL || w->value_len < 0) {
            ck_assert_ptr_null(r.value);
            ck_assert_int_eq(r.value_len, -1);
        } else {
            ck_assert_int_eq(r.value_len, w->value_len);
            ck_assert_mem_eq(r.value, w->value, (size_t)w->value_len);
        }
    }
    ck_assert_int_eq(batch_iter_next(&it, &r), 0);
    ck_assert_ptr_eq(it.p, it.end);
}

START_TEST(test_built_batch_validates)
{
    const batch_build_record_t recs[] = {
        rec("k0", "v0"),
        rec(NULL, "no key"),
        rec("gone", NULL),                             /* a tombstone */
        rec("", ""),                                   /* empty, not null */
        {(const uint8_t *)"x", -1, (const uint8_t *)"y", -1},   /* null by length */
    };
    size_t n = sizeof recs / sizeof recs[0], len = 0;
    uint8_t *b = batch_build(recs, n, 1700000000123, 1 << 20, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(len, batch_build_bytes(recs, n));
    batch_header_t h;
    size_t total;
    ck_assert_int_eq(batch_validate(b, len, len, &h, &total), BATCH_OK);
    ck_assert_uint_eq(total, len);
    ck_assert_int_eq(h.base_offset, 0);
    ck_assert_int_eq(h.batch_length, (int32_t)(len - BATCH_LOG_OVERHEAD));
    ck_assert_int_eq(h.partition_leader_epoch, 0);
    ck_assert_int_eq(h.magic, BATCH_MAGIC);
    ck_assert_int_eq(h.attributes, 0);
    ck_assert_int_eq(h.last_offset_delta, (int32_t)n - 1);
    ck_assert_int_eq(h.record_count, (int32_t)n);
    ck_assert_int_eq(h.base_timestamp, 1700000000123);
    ck_assert_int_eq(h.max_timestamp, 1700000000123);
    ck_assert_int_eq(h.producer_id, -1);
    ck_assert_int_eq(h.producer_epoch, -1);
    ck_assert_int_eq(h.base_sequence, -1);
    check_records(b, len, recs, n, 0, 1700000000123);
    free(b);
}
END_TEST

/* One record, no key, value "v": the exact bytes of the wire format. */
START_TEST(test_wire_bytes)
{
    const batch_build_record_t one = rec(NULL, "v");
    size_t len;
    uint8_t *b = batch_build(&one, 1, 5, 1 << 20, &len);
    ck_assert_ptr_nonnull(b);
    static const uint8_t want[] = {
        0, 0, 0, 0, 0, 0, 0, 0,                        /* baseOffset */
        0, 0, 0, 57,                                   /* batchLength */
        0, 0, 0, 0,                                    /* partitionLeaderEpoch */
        2,                                             /* magic */
        0, 0, 0, 0,                                    /* crc, checked below */
        0, 0,                                          /* attributes */
        0, 0, 0, 0,                                    /* lastOffsetDelta */
        0, 0, 0, 0, 0, 0, 0, 5,                        /* baseTimestamp */
        0, 0, 0, 0, 0, 0, 0, 5,                        /* maxTimestamp */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId */
        0xff, 0xff,                                    /* producerEpoch */
        0xff, 0xff, 0xff, 0xff,                        /* baseSequence */
        0, 0, 0, 1,                                    /* recordCount */
        0x0e,                                          /* record length 7 */
        0x00, 0x00, 0x00,                              /* attributes, deltas */
        0x01,                                          /* key null */
        0x02, 'v',                                     /* value */
        0x00,                                          /* no headers */
    };
    ck_assert_uint_eq(len, sizeof want);
    ck_assert_mem_eq(b, want, 17);
    ck_assert_mem_eq(b + 21, want + 21, len - 21);
    uint8_t fixed[sizeof want];
    memcpy(fixed, want, sizeof want);
    tlog_fix_crc(fixed, sizeof fixed);
    ck_assert_mem_eq(b + 17, fixed + 17, 4);
    free(b);
}
END_TEST

/* Many records with keys and values long enough for multi-byte varints. */
START_TEST(test_many_records)
{
    enum { N = 700 };
    static uint8_t data[N * 3];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    batch_build_record_t recs[N];
    for (size_t i = 0; i < N; i++) {
        recs[i].key = i % 11 == 0 ? NULL : data + i;
        recs[i].key_len = (int32_t)(i % 200);
        recs[i].value = i % 13 == 0 ? NULL : data + 2 * i;
        recs[i].value_len = (int32_t)i;
    }
    size_t len;
    uint8_t *b = batch_build(recs, N, -3, SIZE_MAX, &len);
    ck_assert_ptr_nonnull(b);
    batch_header_t h;
    size_t total;
    ck_assert_int_eq(batch_validate(b, len, len, &h, &total), BATCH_OK);
    ck_assert_int_eq(h.record_count, N);
    check_records(b, len, recs, N, 0, -3);
    free(b);
}
END_TEST

START_TEST(test_max_bytes)
{
    const batch_build_record_t recs[] = {rec("key", "value"), rec("key", NULL)};
    size_t size = batch_build_bytes(recs, 2), len = 0;
    uint8_t *b = batch_build(recs, 2, 0, size, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(len, size);
    free(b);
    len = 12345;
    ck_assert_ptr_null(batch_build(recs, 2, 0, size - 1, &len));
    ck_assert_uint_eq(len, 12345);
    ck_assert_ptr_null(batch_build(recs, 2, 0, 0, &len));
}
END_TEST

START_TEST(test_no_records_asserts)
{
    size_t len;
    batch_build(NULL, 0, 0, 1 << 20, &len);
}
END_TEST

/* Built batches append like a producer's: offsets assigned, the leader
 * epoch stamped, records read back through a slice. */
START_TEST(test_plog_append)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    const batch_build_record_t first[] = {rec("a", "1"), rec("b", "2"), rec("c", NULL)};
    const batch_build_record_t second[] = {rec("d", "4")};
    size_t len;
    uint8_t *b = batch_build(first, 3, 1000, 1 << 20, &len);
    ck_assert_ptr_nonnull(b);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(l, b, len, 7, &info), 0);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, 2);
    free(b);
    b = batch_build(second, 1, 2000, 1 << 20, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(plog_append(l, b, len, 7, &info), 0);
    ck_assert_int_eq(info.base_offset, 3);
    ck_assert_int_eq(info.last_offset, 3);
    free(b);
    ck_assert_int_eq(plog_end_offset(l), 4);

    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 0, plog_end_offset(l), UINT32_MAX, true, &s), 0);
    ck_assert_int_eq(tlog_check_slice(&s), 2);
    uint8_t *read = malloc(s.length);
    ck_assert_ptr_nonnull(read);
    ck_assert_int_eq(pread(s.fd, read, s.length, (off_t)s.file_pos), (ssize_t)s.length);
    size_t total1 = batch_total_bytes(read, s.length);
    check_records(read, total1, first, 3, 0, 1000);
    check_records(read + total1, s.length - total1, second, 1, 3, 2000);
    free(read);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 4);
    plog_close(l);
}
END_TEST

static Suite *batch_build_suite(void)
{
    Suite *s = suite_create("log-batch-build");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, test_built_batch_validates);
    tcase_add_test(tc, test_wire_bytes);
    tcase_add_test(tc, test_many_records);
    tcase_add_test(tc, test_max_bytes);
    tcase_add_test_raise_signal(tc, test_no_records_asserts, SIGABRT);
    suite_add_tcase(s, tc);

    TCase *lg = tcase_create("plog");
    tcase_add_unchecked_fixture(lg, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_checked_fixture(lg, setup, teardown);
    tcase_add_test(lg, test_plog_append);
    suite_add_tcase(s, lg);
    return s;
}

int main(void)
{
    return tlog_run_suite(batch_build_suite(), CAIRN_LOG_WARN);
}
