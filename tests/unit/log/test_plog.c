/* Unit tests of the partition log (broker/log/plog.h): append/read round
 * trips across rolls, index lookups at every offset, read limits, offset
 * for timestamp, retention, truncation and reopening after a clean close. */
#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "offset_index.h"
#include "time_index.h"
#include "tlog.h"

static tlog_env_t env;

static void setup(void)
{
    tlog_env_init(&env);
}

static void teardown(void)
{
    tlog_env_free(&env);
}

/* Appends batches of 1..5 records and varying sizes; returns the count. */
static int fill(plog_t *l, int batches, int64_t base_ts)
{
    for (int i = 0; i < batches; i++)
        tlog_append(l, 1 + i % 5, base_ts + 10 * i, (size_t)(i * 37 % 200));
    return batches;
}

/* Reads at every offset with one-batch slices: the slice starts with the
 * batch holding the offset. */
static void check_every_offset(plog_t *l)
{
    for (int64_t o = plog_start_offset(l); o < plog_end_offset(l); o++) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, o, plog_end_offset(l), 1, true, &s), 0);
        ck_assert_int_eq(tlog_check_slice(&s), 1);
        ck_assert_int_le(s.first_offset, o);
        ck_assert_int_gt(s.next_offset, o);
    }
}

START_TEST(test_append_read_across_rolls)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_end_offset(l), 0);
    fill(l, 300, 1000);
    ck_assert_int_gt(plog_segment_count(l), 5);
    int64_t end = plog_end_offset(l);
    ck_assert_int_eq(end, 300 / 5 * 15);
    check_every_offset(l);
    /* Reading everything, segment by segment, returns each batch once. */
    int64_t o = 0;
    int batches = 0;
    while (o < end) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, o, end, UINT32_MAX, true, &s), 0);
        ck_assert_uint_gt(s.length, 0);
        ck_assert_int_eq(s.first_offset, o);
        batches += tlog_check_slice(&s);
        o = s.next_offset;
    }
    ck_assert_int_eq(batches, 300);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), end);
    plog_close(l);
}
END_TEST

/* The sparse index: entries every index_interval_bytes, each naming a
 * batch's last offset and start; lookups right at every offset. */
START_TEST(test_index_lookups)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.segment_bytes = 64 * 1024;
    cfg.index_interval_bytes = 300;
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 400, 1000);
    check_every_offset(l);
    plog_close(l);

    char path[512];
    tlog_seg_path(&env, path, sizeof path, 0, ".index");
    int64_t n = tlog_file_size(path) / OFFSET_INDEX_ENTRY_BYTES;
    ck_assert_int_gt(n, 10);
    FILE *f = fopen(path, "rb");
    uint8_t *idx = malloc((size_t)n * 8);
    ck_assert_int_eq(fread(idx, 8, (size_t)n, f), n);
    fclose(f);
    tlog_seg_path(&env, path, sizeof path, 0, ".log");
    FILE *lf = fopen(path, "rb");
    for (int64_t i = 0; i < n; i++) {
        offset_index_entry_t e;
        offset_index_get(idx, (size_t)i, &e);
        uint8_t h[BATCH_HEADER_BYTES];
        ck_assert_int_eq(fseek(lf, e.position, SEEK_SET), 0);
        ck_assert_int_eq(fread(h, 1, sizeof h, lf), sizeof h);
        batch_header_t bh;
        batch_header_decode(h, sizeof h, &bh);
        ck_assert_int_eq(batch_last_offset(&bh), e.rel_offset);
    }
    fclose(lf);
    free(idx);

    /* Reopened (indexes now mapped), every lookup still lands right. */
    l = tlog_open(&env, &cfg, true);
    check_every_offset(l);
    plog_close(l);
}
END_TEST

START_TEST(test_read_limits)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.segment_bytes = 1 << 20;
    cfg.index_interval_bytes = 500;
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 200, 0);
    int64_t end = plog_end_offset(l);
    for (uint32_t max = 0; max < 6000; max += 97) {
        for (int64_t o = 0; o < end; o += 13) {
            plog_slice_t s;
            ck_assert_int_eq(plog_read(l, o, end, max, true, &s), 0);
            int n = tlog_check_slice(&s);
            ck_assert_int_ge(n, 1);
            ck_assert(s.length <= max || n == 1);
            /* Maximal: the next batch would not have fit. */
            plog_slice_t more;
            ck_assert_int_eq(plog_read(l, s.next_offset < end ? s.next_offset : o, end,
                                       UINT32_MAX, true, &more), 0);
            if (s.next_offset < end && s.length <= max) {
                uint8_t h[BATCH_HEADER_BYTES];
                ck_assert_int_eq(pread(more.fd, h, sizeof h, (off_t)more.file_pos),
                                 (ssize_t)sizeof h);
                ck_assert_uint_gt(s.length + batch_total_bytes(h, sizeof h), max);
            }
            /* Without min_one_batch, nothing above max_bytes. */
            ck_assert_int_eq(plog_read(l, o, end, max, false, &s), 0);
            ck_assert_uint_le(s.length, max);
            tlog_check_slice(&s);
        }
    }
    /* upper_offset: only batches whose last offset is below it. */
    for (int64_t up = 0; up <= end; up += 7) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, 0, up, UINT32_MAX, true, &s), 0);
        tlog_check_slice(&s);
        ck_assert_int_le(s.next_offset, up);
        ck_assert_int_gt(s.next_offset + 5, up);       /* batches hold <= 5 records */
    }
    plog_close(l);
}
END_TEST

START_TEST(test_read_out_of_range)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 0, 0, 100, true, &s), 0);
    ck_assert_uint_eq(s.length, 0);
    ck_assert_int_eq(plog_read(l, 1, 10, 100, true, &s), -1);
    ck_assert_int_eq(plog_read(l, -1, 10, 100, true, &s), -1);
    fill(l, 10, 0);
    int64_t end = plog_end_offset(l);
    ck_assert_int_eq(plog_read(l, end, end, 100, true, &s), 0);
    ck_assert_uint_eq(s.length, 0);
    ck_assert_int_eq(s.next_offset, end);
    ck_assert_int_eq(plog_read(l, end + 1, end, 100, true, &s), -1);
    plog_close(l);
}
END_TEST

START_TEST(test_offset_for_timestamp)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.index_interval_bytes = 200;
    plog_t *l = tlog_open(&env, &cfg, true);
    int64_t base[120];
    for (int i = 0; i < 120; i++)                    /* batch i: ts 1000+10i .. +2 */
        base[i] = tlog_append(l, 3, 1000 + 10 * i, 50);
    int64_t end = plog_end_offset(l), found;
    for (int64_t ts = 900; ts <= 1000 + 10 * 119 + 2; ts++) {
        int i = ts <= 1002 ? 0 : (int)((ts - 1002 + 9) / 10);   /* first max >= ts */
        /* Record j of batch i has timestamp 1000 + 10i + j: the answer is the
         * first record at or after ts, not its batch. */
        int64_t t0 = 1000 + 10 * i, j = ts <= t0 ? 0 : ts - t0;
        ck_assert_int_eq(plog_offset_for_timestamp(l, ts, end, &found), base[i] + j);
        ck_assert_int_eq(found, t0 + j);
    }
    ck_assert_int_eq(plog_offset_for_timestamp(l, 1000 + 10 * 119 + 3, end, &found), -1);
    ck_assert_int_eq(plog_offset_for_timestamp(l, 1500, base[49], &found), -1);
    ck_assert_int_eq(plog_offset_for_timestamp(l, 1500, base[50] + 3, &found), base[50]);
    plog_close(l);
    l = tlog_open(&env, &cfg, true);                 /* from the time index files */
    ck_assert_int_eq(plog_offset_for_timestamp(l, 1405, end, &found), base[41]);
    plog_close(l);
}
END_TEST

START_TEST(test_retention_by_time)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.retention_ms = 1000;
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 60, 10000);                              /* timestamps 10000 .. 10590+ */
    size_t segs = plog_segment_count(l);
    ck_assert_int_gt(segs, 3);
    ck_assert_uint_eq(plog_apply_retention(l, 10000), 0);
    ck_assert_int_eq(plog_start_offset(l), 0);
    /* Everything is old but the active segment stays. */
    ck_assert_uint_eq(plog_apply_retention(l, 100000), segs - 1);
    ck_assert_uint_eq(plog_segment_count(l), 1);
    int64_t start = plog_start_offset(l);
    ck_assert_int_gt(start, 0);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, start - 1, plog_end_offset(l), 100, true, &s), -1);
    ck_assert_int_eq(plog_read(l, start, plog_end_offset(l), 100, true, &s), 0);
    tlog_check_slice(&s);
    tlog_pump(&env);
    char path[512];
    tlog_seg_path(&env, path, sizeof path, 0, ".log");
    ck_assert_int_eq(tlog_file_size(path), -1);
    tlog_seg_path(&env, path, sizeof path, 0, ".log.deleted");
    ck_assert_int_eq(tlog_file_size(path), -1);
    plog_close(l);
    l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_start_offset(l), start);
    plog_close(l);
}
END_TEST

START_TEST(test_retention_by_bytes)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 100, 0);
    uint64_t size = plog_size_bytes(l);
    cfg.retention_bytes = (int64_t)(size / 2);
    plog_set_config(l, &cfg);
    size_t n = plog_apply_retention(l, 0);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_ge(plog_size_bytes(l), size / 2);
    ck_assert_int_gt(plog_start_offset(l), 0);
    /* One more segment would bring it below the limit. */
    ck_assert_uint_eq(plog_apply_retention(l, 0), 0);
    check_every_offset(l);
    plog_close(l);
}
END_TEST

START_TEST(test_reopen_after_clean_close)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.index_interval_bytes = 200;
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 150, 0);
    int64_t end = plog_end_offset(l);
    size_t segs = plog_segment_count(l);
    uint64_t bytes = plog_size_bytes(l);
    plog_close(l);
    l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_end_offset(l), end);
    ck_assert_int_eq(plog_durable_offset(l), end);
    ck_assert_uint_eq(plog_segment_count(l), segs);
    ck_assert_uint_eq(plog_size_bytes(l), bytes);
    check_every_offset(l);
    ck_assert_int_eq(tlog_append(l, 2, 5, 5), end);     /* appends continue */
    plog_close(l);
    char path[512];
    snprintf(path, sizeof path, "%s/partition.metadata", env.part);
    FILE *f = fopen(path, "r");
    char text[128] = "";
    ck_assert_uint_gt(fread(text, 1, sizeof text - 1, f), 0);
    fclose(f);
    ck_assert_str_eq(text, "version: 0\ntopic_id: EjRWeJq83vAP7cuph2VDIQ\n");
    /* Every batch was appended in epoch 7 from offset 0. */
    tlog_checkpoint_path(&env, path, sizeof path);
    ck_assert_int_gt(tlog_read_text(path, text, sizeof text), 0);
    ck_assert_str_eq(text, "0\n1\n7 0\n");
}
END_TEST

START_TEST(test_topic_id_mismatch)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_close(tlog_open(&env, &cfg, true));
    uint8_t other[16] = {1};
    char err[256] = "";
    plog_t *l = plog_open(env.dir, TLOG_TOPIC, TLOG_PARTITION, other, &cfg, true, env.io, err,
                          sizeof err);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(err, "topic id"));
}
END_TEST

START_TEST(test_truncate_to)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 200, 0);
    int64_t end = plog_end_offset(l);
    size_t segs = plog_segment_count(l);
    ck_assert_int_eq(plog_truncate_to(l, end + 1), -1);
    ck_assert_int_eq(plog_truncate_to(l, end), 0);
    /* 150 is the base of batch 50 (every 5 batches hold 15 records). */
    ck_assert_int_eq(plog_truncate_to(l, 150), 0);
    ck_assert_int_eq(plog_end_offset(l), 150);
    ck_assert_int_eq(plog_durable_offset(l), 150);
    ck_assert_uint_lt(plog_segment_count(l), segs);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 151, 1000, 100, true, &s), -1);
    check_every_offset(l);
    /* Inside a batch (151..152 is batch 51): the whole batch goes. */
    fill(l, 60, 0);
    ck_assert_int_eq(plog_truncate_to(l, 152), 0);
    ck_assert_int_eq(plog_end_offset(l), 151);
    ck_assert_int_eq(tlog_append(l, 4, 0, 10), 151);
    check_every_offset(l);
    int64_t end2 = plog_end_offset(l);
    tlog_pump(&env);
    plog_close(l);
    l = tlog_open(&env, &cfg, false);
    ck_assert_int_eq(plog_end_offset(l), end2);
    check_every_offset(l);
    ck_assert_int_eq(plog_latest_epoch(l), 7);
    ck_assert_int_eq(plog_truncate_to(l, 0), 0);
    ck_assert_int_eq(plog_end_offset(l), 0);
    ck_assert_uint_eq(plog_segment_count(l), 1);
    ck_assert_int_eq(plog_latest_epoch(l), -1);       /* KIP-101: its entry went too */
    plog_close(l);
}
END_TEST

START_TEST(test_close_and_delete)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    fill(l, 50, 0);
    plog_close_and_delete(l);
    ck_assert_int_eq(tlog_file_size(env.part), -1);          /* renamed at once */
    tlog_pump(&env);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", env.dir);
    ck_assert_int_eq(system(cmd), 0);                        /* removed by the io thread */
}
END_TEST

/* A malformed buffer handed to plog_append breaks its precondition. */
START_TEST(test_append_malformed_asserts)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    uint8_t junk[100];
    memset(junk, 0, sizeof junk);
    plog_append_info_t info;
    plog_append(l, junk, sizeof junk, 0, &info);
}
END_TEST

static Suite *plog_suite(void)
{
    Suite *s = suite_create("log-plog");
    TCase *tc = tcase_create("plog");
    tcase_add_unchecked_fixture(tc, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_append_read_across_rolls);
    tcase_add_test(tc, test_index_lookups);
    tcase_add_test(tc, test_read_limits);
    tcase_add_test(tc, test_read_out_of_range);
    tcase_add_test(tc, test_offset_for_timestamp);
    tcase_add_test(tc, test_retention_by_time);
    tcase_add_test(tc, test_retention_by_bytes);
    tcase_add_test(tc, test_reopen_after_clean_close);
    tcase_add_test(tc, test_topic_id_mismatch);
    tcase_add_test(tc, test_truncate_to);
    tcase_add_test(tc, test_close_and_delete);
    tcase_add_test_raise_signal(tc, test_append_malformed_asserts, SIGABRT);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tlog_run_suite(plog_suite(), CAIRN_LOG_ERROR);
}
