/* Unit tests of the leader-epoch cache (broker/log/epoch_cache.c,
 * plog_epochs.c), follower appends and the high watermark: Kafka's rules
 * for entries and OffsetsForLeaderEpoch, KIP-101 truncation, retention,
 * the checkpoint file byte for byte, reopening, crash recovery with a
 * checkpoint ahead of, behind or missing from the log. */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoch_cache.h"
#include "log.h"
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

static void big_segments(plog_config_t *cfg)
{
    tlog_small_config(cfg);
    cfg->segment_bytes = 1 << 20;
}

/* Leader append of one batch of n records in epoch; returns its base. */
static int64_t lead(plog_t *l, int n, int32_t epoch)
{
    uint8_t buf[8192];
    size_t len = tlog_batch(buf, sizeof buf, n, 1000, 16);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(l, buf, len, epoch, &info), 0);
    return info.base_offset;
}

/* Follower append of one batch at the log end, n records, epoch. */
static int follow(plog_t *l, int n, int32_t epoch)
{
    uint8_t buf[8192];
    size_t len = tlog_replica_batch(buf, sizeof buf, plog_end_offset(l), n, epoch);
    plog_append_info_t info;
    return plog_append_replica(l, buf, len, &info);
}

static void check_text(const char *expect)
{
    char path[512], text[4096];
    tlog_checkpoint_path(&env, path, sizeof path);
    ck_assert_int_ge(tlog_read_text(path, text, sizeof text), 0);
    ck_assert_str_eq(text, expect);
}

/* The cache as "e:s e:s ..." through the public queries. */
static void check_cache(const plog_t *l, const char *expect)
{
    char got[1024] = "";
    size_t n = 0;
    for (int32_t e = 0; e <= plog_latest_epoch(l); e++) {
        int64_t s = plog_epoch_start_offset(l, e);
        if (s >= 0)
            n += (size_t)snprintf(got + n, sizeof got - n, "%s%" PRId32 ":%" PRId64,
                                  n ? " " : "", e, s);
    }
    ck_assert_str_eq(got, expect);
}

static void check_end_for(const plog_t *l, int32_t epoch, int32_t want_epoch,
                          int64_t want_offset)
{
    int32_t got_epoch = 12345;
    int64_t got = plog_end_offset_for_epoch(l, epoch, &got_epoch);
    ck_assert_msg(got == want_offset && got_epoch == want_epoch,
                  "epoch %d: got (%d, %" PRId64 "), want (%d, %" PRId64 ")", epoch, got_epoch,
                  got, want_epoch, want_offset);
}

/* ---- the pure cache ---- */

START_TEST(test_cache_rules)
{
    epoch_cache_t c;
    epoch_cache_init(&c);
    ck_assert_int_eq(epoch_cache_latest(&c), -1);
    ck_assert_int_eq(epoch_cache_assign(&c, 1, 0), 1);
    ck_assert_int_eq(epoch_cache_assign(&c, 1, 50), 0);        /* same epoch: nothing */
    ck_assert_int_eq(epoch_cache_assign(&c, 3, 10), 1);
    ck_assert_int_eq(epoch_cache_assign(&c, 4, 10), 1);        /* same start: replaces 3 */
    ck_assert_uint_eq(c.n, 2);
    ck_assert_int_eq(epoch_cache_start_of(&c, 3), -1);
    ck_assert_int_eq(epoch_cache_start_of(&c, 4), 10);
    ck_assert_int_eq(epoch_cache_assign(&c, 6, 20), 1);
    /* {1:0, 4:10, 6:20}: from the start, Kafka's truncateFromStart. */
    ck_assert(!epoch_cache_truncate_from_start(&c, 0));
    ck_assert(epoch_cache_truncate_from_start(&c, 15));
    ck_assert_uint_eq(c.n, 2);
    ck_assert_int_eq(c.v[0].epoch, 4);
    ck_assert_int_eq(c.v[0].start_offset, 15);
    ck_assert(epoch_cache_truncate_from_start(&c, 20));          /* {6:20} */
    ck_assert_uint_eq(c.n, 1);
    ck_assert_int_eq(c.v[0].epoch, 6);
    ck_assert(!epoch_cache_truncate_from_start(&c, 20));
    ck_assert(!epoch_cache_truncate_from_end(&c, 21));
    ck_assert(epoch_cache_truncate_from_end(&c, 20));
    ck_assert_uint_eq(c.n, 0);
    epoch_cache_free(&c);
}
END_TEST

START_TEST(test_cache_text)
{
    epoch_cache_t c;
    epoch_cache_init(&c);
    size_t len;
    char *t = epoch_cache_format(&c, &len);
    ck_assert_str_eq(t, "0\n0\n");
    free(t);
    epoch_cache_assign(&c, 0, 0);
    epoch_cache_assign(&c, 2, 100);
    epoch_cache_assign(&c, 2147483647, 9223372036854775807LL);
    t = epoch_cache_format(&c, &len);
    const char *want = "0\n3\n0 0\n2 100\n2147483647 9223372036854775807\n";
    ck_assert_str_eq(t, want);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_int_eq(epoch_cache_parse(&c, t, len), 0);
    ck_assert_uint_eq(c.n, 3);
    ck_assert_int_eq(c.v[2].start_offset, 9223372036854775807LL);
    free(t);
    /* Kafka's reader splits on blanks; the last newline may be missing. */
    const char *ok[] = {"0\n0\n", "0\n1\n5  7\n", "0\n2\n1 0\n2 9", "0\n1\n1\t3 \n"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ck_assert_msg(epoch_cache_parse(&c, ok[i], strlen(ok[i])) == 0, "%s", ok[i]);
    const char *bad[] = {"", "0\n", "1\n0\n", "0\n2\n1 0\n", "0\n1\n1 0\n2 5\n",
                         "0\n2\n2 0\n1 5\n", "0\n2\n1 5\n2 5\n", "0\n1\n-1 0\n", "0\n1\n1\n",
                         "0\n1\n1 x\n", "0\n1\n 1 0\n", "0\n99999999\n1 0\n",
                         "0\n1\n2147483648 0\n", "0\n1\n1 0\n\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(epoch_cache_parse(&c, bad[i], strlen(bad[i])) == -1, "%s", bad[i]);
        ck_assert_uint_eq(c.n, 0);
    }
    epoch_cache_free(&c);
}
END_TEST

/* Epochs and start offsets strictly increase: a lower epoch is a bug. */
START_TEST(test_cache_lower_epoch_asserts)
{
    epoch_cache_t c;
    epoch_cache_init(&c);
    epoch_cache_assign(&c, 5, 10);
    epoch_cache_assign(&c, 4, 20);
}
END_TEST

START_TEST(test_cache_lower_offset_asserts)
{
    epoch_cache_t c;
    epoch_cache_init(&c);
    epoch_cache_assign(&c, 5, 10);
    epoch_cache_assign(&c, 6, 9);
}
END_TEST

/* ---- leader and follower appends ---- */

START_TEST(test_leader_appends)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_latest_epoch(l), -1);
    check_text("0\n0\n");                             /* written at creation */
    lead(l, 3, 0);
    lead(l, 2, 0);                                   /* same epoch: no entry */
    ck_assert_int_eq(lead(l, 4, 2), 5);
    lead(l, 1, 2);
    ck_assert_int_eq(lead(l, 2, 5), 10);
    check_cache(l, "0:0 2:5 5:10");
    ck_assert_int_eq(plog_latest_epoch(l), 5);
    ck_assert_int_eq(plog_epoch_start_offset(l, 1), -1);
    tlog_pump(&env);
    check_text("0\n3\n0 0\n2 5\n5 10\n");
    /* The batches carry the stamped epochs. */
    int32_t want[] = {0, 0, 2, 2, 5};
    int64_t o = 0;
    for (int i = 0; i < 5; i++) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, o, plog_end_offset(l), 1, true, &s), 0);
        uint8_t h[BATCH_HEADER_BYTES];
        ck_assert_int_eq(pread(s.fd, h, sizeof h, (off_t)s.file_pos), (ssize_t)sizeof h);
        batch_header_t bh;
        batch_header_decode(h, sizeof h, &bh);
        ck_assert_int_eq(bh.partition_leader_epoch, want[i]);
        o = s.next_offset;
    }
    plog_close(l);
}
END_TEST

START_TEST(test_leader_epoch_backwards_asserts)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    lead(l, 1, 5);
    lead(l, 1, 4);
}
END_TEST

START_TEST(test_replica_append_keeps_batches)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    uint8_t buf[16384];
    size_t len = 0;
    int32_t epochs[] = {2, 2, 4, 9};
    int counts[] = {3, 1, 5, 2};
    int64_t next = 0;
    for (int i = 0; i < 4; i++) {
        len += tlog_replica_batch(buf + len, sizeof buf - len, next, counts[i], epochs[i]);
        next += counts[i];
    }
    uint8_t copy[16384];
    memcpy(copy, buf, len);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append_replica(l, buf, len, &info), 0);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, 10);
    ck_assert_int_eq(plog_end_offset(l), 11);
    ck_assert_mem_eq(buf, copy, len);                 /* not modified */
    check_cache(l, "2:0 4:4 9:9");
    /* Stored byte for byte: baseOffsets and epochs as the leader wrote them. */
    char path[512];
    tlog_seg_path(&env, path, sizeof path, 0, ".log");
    FILE *f = fopen(path, "rb");
    uint8_t disk[16384];
    ck_assert_uint_eq(fread(disk, 1, sizeof disk, f), len);
    fclose(f);
    ck_assert_mem_eq(disk, copy, len);
    ck_assert_int_eq(follow(l, 2, 9), 0);             /* same epoch: no entry */
    ck_assert_int_eq(follow(l, 2, 11), 0);
    check_cache(l, "2:0 4:4 9:9 11:13");
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 15);
    check_text("0\n4\n2 0\n4 4\n9 9\n11 13\n");
    plog_close(l);
}
END_TEST

/* Appends buf and expects rc with nothing changed. */
static void expect_rejected(plog_t *l, uint8_t *buf, size_t len, int rc)
{
    int64_t end = plog_end_offset(l);
    uint64_t size = plog_size_bytes(l);
    int32_t epoch = plog_latest_epoch(l);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append_replica(l, buf, len, &info), rc);
    ck_assert_int_eq(plog_end_offset(l), end);
    ck_assert_uint_eq(plog_size_bytes(l), size);
    ck_assert_int_eq(plog_latest_epoch(l), epoch);
}

START_TEST(test_replica_append_rejects)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(follow(l, 10, 3), 0);
    uint8_t buf[16384];
    size_t a = tlog_replica_batch(buf, sizeof buf, 11, 2, 3);         /* gap */
    expect_rejected(l, buf, a, PLOG_REPLICA_BAD_OFFSET);
    a = tlog_replica_batch(buf, sizeof buf, 9, 2, 3);                 /* overlap */
    expect_rejected(l, buf, a, PLOG_REPLICA_BAD_OFFSET);
    a = tlog_replica_batch(buf, sizeof buf, 10, 2, 3);
    size_t b = tlog_replica_batch(buf + a, sizeof buf - a, 13, 2, 3);  /* gap inside */
    expect_rejected(l, buf, a + b, PLOG_REPLICA_BAD_OFFSET);
    b = tlog_replica_batch(buf + a, sizeof buf - a, 11, 2, 3);         /* overlap inside */
    expect_rejected(l, buf, a + b, PLOG_REPLICA_BAD_OFFSET);
    b = tlog_replica_batch(buf + a, sizeof buf - a, 12, 2, 3);
    expect_rejected(l, buf, a + b - 1, PLOG_REPLICA_BAD_BATCH);        /* torn last batch */
    expect_rejected(l, buf, 0, PLOG_REPLICA_BAD_BATCH);
    buf[a + b - 3] ^= 0x40;                                           /* CRC mismatch */
    expect_rejected(l, buf, a + b, PLOG_REPLICA_BAD_BATCH);
    buf[a + b - 3] ^= 0x40;
    buf[a + 16] = 3;                                                  /* magic 3 */
    expect_rejected(l, buf, a + b, PLOG_REPLICA_BAD_BATCH);
    buf[a + 16] = 2;
    b = tlog_replica_batch(buf + a, sizeof buf - a, 12, 2, 2);         /* epoch goes down */
    expect_rejected(l, buf, a + b, PLOG_REPLICA_BAD_EPOCH);
    a = tlog_replica_batch(buf, sizeof buf, 10, 2, 1);                 /* below the cache */
    expect_rejected(l, buf, a, PLOG_REPLICA_BAD_EPOCH);
    a = tlog_replica_batch(buf, sizeof buf, 10, 2, -1);                /* no epoch */
    expect_rejected(l, buf, a, PLOG_REPLICA_BAD_EPOCH);
    /* Whole and contiguous: accepted. */
    a = tlog_replica_batch(buf, sizeof buf, 10, 2, 3);
    b = tlog_replica_batch(buf + a, sizeof buf - a, 12, 2, 4);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append_replica(l, buf, a + b, &info), 0);
    ck_assert_int_eq(info.base_offset, 10);
    ck_assert_int_eq(info.last_offset, 13);
    check_cache(l, "3:0 4:12");
    plog_close(l);
}
END_TEST

/* ---- OffsetsForLeaderEpoch ---- */

START_TEST(test_end_offset_for_epoch)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    check_end_for(l, -1, -1, -1);                    /* empty: undefined */
    check_end_for(l, 0, -1, -1);
    check_end_for(l, 7, -1, -1);
    ck_assert_int_eq(follow(l, 10, 1), 0);           /* {1:0, 3:10, 5:20}, end 30 */
    ck_assert_int_eq(follow(l, 10, 3), 0);
    ck_assert_int_eq(follow(l, 10, 5), 0);
    check_end_for(l, -1, -1, -1);                    /* UNDEFINED_EPOCH */
    check_end_for(l, 0, 0, 0);                       /* below every epoch: (epoch, first start) */
    check_end_for(l, 1, 1, 10);                      /* exact */
    check_end_for(l, 2, 1, 10);                      /* between: largest epoch <= 2 */
    check_end_for(l, 3, 3, 20);
    check_end_for(l, 4, 3, 20);
    check_end_for(l, 5, 5, 30);                      /* latest: the log end */
    check_end_for(l, 6, -1, -1);                     /* above the latest */
    ck_assert_int_eq(follow(l, 4, 5), 0);
    check_end_for(l, 5, 5, 34);
    plog_close(l);
}
END_TEST

/* KIP-279: a new leader records its epoch at its log end before writing. */
START_TEST(test_begin_epoch)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    lead(l, 30, 0);
    ck_assert_int_eq(plog_begin_epoch(l, 2), 0);
    check_cache(l, "0:0 2:30");
    check_end_for(l, 0, 0, 30);
    check_end_for(l, 1, 0, 30);
    check_end_for(l, 2, 2, 30);
    /* Elected again before writing: the empty epoch is replaced. */
    ck_assert_int_eq(plog_begin_epoch(l, 3), 0);
    check_cache(l, "0:0 3:30");
    ck_assert_int_eq(plog_begin_epoch(l, 3), 0);
    lead(l, 5, 3);
    check_cache(l, "0:0 3:30");
    tlog_pump(&env);
    check_text("0\n2\n0 0\n3 30\n");
    /* An epoch with no data starts at the log end: open drops it, as Kafka's
     * truncation to the log end does. */
    ck_assert_int_eq(plog_begin_epoch(l, 4), 0);
    tlog_pump(&env);
    check_text("0\n3\n0 0\n3 30\n4 35\n");
    plog_close(l);
    l = tlog_open(&env, &cfg, true);
    check_cache(l, "0:0 3:30");
    check_text("0\n2\n0 0\n3 30\n");
    /* A leader of an empty epoch turned follower takes the new leader's
     * history, whose epochs may be below the empty one. */
    ck_assert_int_eq(plog_begin_epoch(l, 6), 0);
    ck_assert_int_eq(follow(l, 5, 5), 0);
    check_cache(l, "0:0 3:30 5:35");
    plog_close(l);
}
END_TEST

/* ---- truncation, retention ---- */

/* KIP-101: the follower {0:0, 1:100} (end 150) hears from the leader that
 * epoch 1 ends at 80 there. It truncates to min(80, its own end of epoch
 * 1) = 80; entries starting at or after 80 go (Kafka's truncateFromEnd):
 * the cache is {0:0}, not {0:0, 1:80} — offset 80 is not in the log. */
START_TEST(test_kip101_truncation)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    for (int i = 0; i < 15; i++)
        ck_assert_int_eq(follow(l, 10, i < 10 ? 0 : 1), 0);
    check_cache(l, "0:0 1:100");
    int32_t e;
    int64_t own = plog_end_offset_for_epoch(l, 1, &e);
    ck_assert_int_eq(own, 150);
    int64_t to = own < 80 ? own : 80;
    ck_assert_int_eq(plog_truncate_to(l, to), 0);
    ck_assert_int_eq(plog_end_offset(l), 80);
    check_cache(l, "0:0");
    check_text("0\n1\n0 0\n");                        /* rewritten before it returned */
    check_end_for(l, 0, 0, 80);
    check_end_for(l, 1, -1, -1);
    /* Replicating the leader's epoch 1 from 80 on. */
    ck_assert_int_eq(follow(l, 10, 1), 0);
    check_cache(l, "0:0 1:80");
    /* A cut inside an epoch keeps its entry; at its start, removes it. */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(follow(l, 10, 2), 0);        /* 2:90, end 130 */
    ck_assert_int_eq(plog_truncate_to(l, 115), 0);   /* inside batch 110..119 */
    ck_assert_int_eq(plog_end_offset(l), 110);
    check_cache(l, "0:0 1:80 2:90");
    ck_assert_int_eq(plog_truncate_to(l, 90), 0);
    check_cache(l, "0:0 1:80");
    tlog_pump(&env);
    check_text("0\n2\n0 0\n1 80\n");
    plog_close(l);
    l = tlog_open(&env, &cfg, false);
    check_cache(l, "0:0 1:80");
    ck_assert_int_eq(plog_truncate_to(l, 0), 0);
    ck_assert_int_eq(plog_latest_epoch(l), -1);
    check_text("0\n0\n");
    plog_close(l);
}
END_TEST

START_TEST(test_retention_trims)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);                         /* 4 KiB segments */
    plog_t *l = tlog_open(&env, &cfg, true);
    /* Epoch e covers batches 10e .. 10e+9 of 4 records. */
    for (int i = 0; i < 120; i++)
        lead(l, 4, i / 10);
    ck_assert_int_gt(plog_segment_count(l), 4);
    check_end_for(l, 11, 11, 480);
    /* A high watermark holds retention back to segments wholly below it. */
    plog_set_high_watermark(l, 0);
    cfg.retention_bytes = 0;
    plog_set_config(l, &cfg);
    ck_assert_uint_eq(plog_apply_retention(l, 0), 0);
    plog_set_high_watermark(l, 130);
    ck_assert_uint_gt(plog_apply_retention(l, 0), 0);
    int64_t start = plog_start_offset(l);
    ck_assert_int_le(start, 130);
    ck_assert_int_gt(start, 0);
    ck_assert_int_ne(start % 40, 0);                 /* inside an epoch, for the test */
    /* Entries at or before the new start go; the last one comes back there. */
    int32_t first = (int32_t)(start / 40);
    ck_assert_int_eq(plog_epoch_start_offset(l, first), start);
    for (int32_t e = 0; e < first; e++)
        ck_assert_int_eq(plog_epoch_start_offset(l, e), -1);
    for (int32_t e = first + 1; e < 12; e++)
        ck_assert_int_eq(plog_epoch_start_offset(l, e), 40 * e);
    check_end_for(l, 0, 0, start);                   /* below every epoch now */
    tlog_pump(&env);
    char want[256];
    int n = snprintf(want, sizeof want, "0\n%d\n%d %" PRId64 "\n", 12 - first, first, start);
    for (int e = first + 1; e < 12; e++)
        n += snprintf(want + n, sizeof want - (size_t)n, "%d %d\n", e, 40 * e);
    check_text(want);
    plog_close(l);
    l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_epoch_start_offset(l, first), start);
    check_text(want);
    plog_close(l);
}
END_TEST

/* ---- reopening and recovery ---- */

START_TEST(test_reopen_after_clean_close)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    for (int i = 0; i < 60; i++)
        ck_assert_int_eq(follow(l, 3, 2 + i / 20 * 3), 0);     /* 2, 5, 8 */
    plog_close(l);                                            /* no pump: close writes it */
    check_text("0\n3\n2 0\n5 60\n8 120\n");
    l = tlog_open(&env, &cfg, true);
    check_cache(l, "2:0 5:60 8:120");
    check_end_for(l, 8, 8, 180);
    plog_close(l);
    check_text("0\n3\n2 0\n5 60\n8 120\n");
}
END_TEST

/* Builds {0:0, 1:30} with end 40 in one segment, closed; copies it. */
static void build_state_a(const plog_config_t *cfg, char *image, size_t len)
{
    plog_t *l = tlog_open(&env, cfg, true);
    for (int i = 0; i < 3; i++)
        lead(l, 10, 0);
    lead(l, 10, 1);
    plog_close(l);
    snprintf(image, len, "%s.a", env.part);
    tlog_copy_dir(env.part, image);
}

/* A crash kept a checkpoint written after data that did not survive: the
 * entries for offsets the log lost are dropped, after a crash (recovery
 * rescans) and after a stop taken for clean (only the rule drops them). */
START_TEST(test_crash_checkpoint_ahead)
{
    plog_config_t cfg;
    big_segments(&cfg);
    char image[600], path[512], later[4096], seg[512];
    build_state_a(&cfg, image, sizeof image);
    plog_t *l = tlog_open(&env, &cfg, true);
    lead(l, 10, 2);
    lead(l, 10, 3);
    tlog_pump(&env);
    plog_close(l);
    tlog_checkpoint_path(&env, path, sizeof path);
    tlog_seg_path(&env, seg, sizeof seg, 0, ".log");
    ck_assert_int_gt(tlog_read_text(path, later, sizeof later), 0);
    ck_assert_str_eq(later, "0\n4\n0 0\n1 30\n2 40\n3 50\n");
    for (int clean = 0; clean < 2; clean++) {
        tlog_copy_dir(image, env.part);
        tlog_write_text(path, later);
        l = tlog_open(&env, &cfg, clean);
        ck_assert_int_eq(plog_end_offset(l), 40);
        check_cache(l, "0:0 1:30");
        check_text("0\n2\n0 0\n1 30\n");
        plog_close(l);
        /* The torn tail took the first batch of epoch 1 as well. */
        tlog_copy_dir(image, env.part);
        tlog_write_text(path, later);
        ck_assert_int_eq(truncate(seg, tlog_file_size(seg) - 5), 0);
        l = tlog_open(&env, &cfg, clean);
        ck_assert_int_eq(plog_end_offset(l), 30);
        check_cache(l, "0:0");
        check_end_for(l, 0, 0, 30);
        check_text("0\n1\n0 0\n");
        plog_close(l);
    }
}
END_TEST

/* Missing or unreadable: rebuilt from the epochs the batches carry. */
START_TEST(test_crash_checkpoint_missing)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    int32_t epochs[] = {3, 3, 5, 9, 9, 9, 12};
    for (int i = 0; i < 70; i++)
        ck_assert_int_eq(follow(l, 2, epochs[i / 10]), 0);
    ck_assert_int_gt(plog_segment_count(l), 2);
    plog_close(l);
    const char *want = "0\n4\n3 0\n5 40\n9 60\n12 120\n";
    check_text(want);
    char path[512];
    tlog_checkpoint_path(&env, path, sizeof path);
    for (int round = 0; round < 4; round++) {
        if (round % 2 == 0)
            ck_assert_int_eq(unlink(path), 0);
        else
            tlog_write_text(path, round == 1 ? "0\n2\n3 0\n" : "garbage");
        l = tlog_open(&env, &cfg, round < 2);        /* clean and unclean opens */
        check_cache(l, "3:0 5:40 9:60 12:120");
        check_text(want);
        plog_close(l);
    }
}
END_TEST

/* A crash kept the checkpoint and recovery point of an earlier moment and
 * the data of a later one: recovery rescans from the recovery point. */
START_TEST(test_crash_checkpoint_behind)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, false);
    for (int i = 0; i < 40; i++)
        lead(l, 4, i / 20);                          /* 0:0, 1:80 */
    tlog_pump(&env);
    char a[600], b[600], from[700], to[700];
    snprintf(a, sizeof a, "%s.a", env.part);
    tlog_copy_dir(env.part, a);                      /* crash image A */
    for (int i = 40; i < 80; i++)
        lead(l, 4, i / 20);                          /* 2:160, 3:240 */
    tlog_pump(&env);
    snprintf(b, sizeof b, "%s.b", env.part);
    tlog_copy_dir(env.part, b);
    const char *files[] = {"leader-epoch-checkpoint", "recovery-point"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/%s", a, files[i]);
        snprintf(to, sizeof to, "%s/%s", b, files[i]);
        char text[256];
        ck_assert_int_gt(tlog_read_text(from, text, sizeof text), 0);
        tlog_write_text(to, text);
    }
    snprintf(from, sizeof from, "%s/leader-epoch-checkpoint", b);
    char text[256];
    tlog_read_text(from, text, sizeof text);
    ck_assert_str_eq(text, "0\n2\n0 0\n1 80\n");
    plog_close(l);
    tlog_copy_dir(b, env.part);
    l = tlog_open(&env, &cfg, false);
    ck_assert_int_eq(plog_end_offset(l), 320);
    check_cache(l, "0:0 1:80 2:160 3:240");
    check_text("0\n4\n0 0\n1 80\n2 160\n3 240\n");
    plog_close(l);
}
END_TEST

/* Reads the recovery point and the checkpoint entries from the files. */
static int64_t disk_state(epoch_cache_t *c)
{
    char path[512], text[8192];
    snprintf(path, sizeof path, "%s/recovery-point", env.part);
    ck_assert_int_gt(tlog_read_text(path, text, sizeof text), 0);
    int64_t rp = -1;
    ck_assert_int_eq(sscanf(text, "version: 0\nrecovery_point: %" SCNd64, &rp), 1);
    tlog_checkpoint_path(&env, path, sizeof path);
    int64_t n = tlog_read_text(path, text, sizeof text);
    ck_assert_int_eq(epoch_cache_parse(c, text, (size_t)n), 0);
    return rp;
}

static int64_t newest_segment(void)
{
    DIR *d = opendir(env.part);
    struct dirent *de;
    int64_t newest = -1;
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".log") == 0) {
            int64_t base = strtoll(de->d_name, NULL, 10);
            newest = base > newest ? base : newest;
        }
    }
    closedir(d);
    return newest;
}

/* The recovery point on disk never passes an epoch start that the
 * checkpoint on disk lacks, whatever the moment. */
START_TEST(test_recovery_point_waits_for_checkpoint)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    int64_t starts[64];
    int32_t n = 0;
    epoch_cache_t c;
    epoch_cache_init(&c);
    for (int i = 0; i < 300; i++) {
        if (i % 9 == 0)
            starts[n++] = plog_end_offset(l);
        lead(l, 3, n - 1);
        event_base_loop(env.base, EVLOOP_NONBLOCK);
        int64_t rp = disk_state(&c);
        for (int32_t e = 0; e < n && starts[e] < rp; e++)
            ck_assert_msg(epoch_cache_start_of(&c, e) == starts[e],
                          "recovery point %" PRId64 " passed epoch %d at %" PRId64, rp, e,
                          starts[e]);
    }
    tlog_pump(&env);
    /* Once idle, both caught up: every epoch, the active segment's base. */
    int64_t rp = disk_state(&c);
    ck_assert_uint_eq(c.n, (size_t)n);
    ck_assert_int_eq(rp, newest_segment());
    epoch_cache_free(&c);
    plog_close(l);
}
END_TEST

/* ---- high watermark ---- */

static int readable_calls;

static void on_readable(void *arg)
{
    (void)arg;
    readable_calls++;
}

START_TEST(test_high_watermark)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    plog_set_on_readable(l, on_readable, NULL);
    ck_assert_int_eq(plog_high_watermark(l), -1);
    lead(l, 30, 0);
    ck_assert_int_eq(plog_readable_offset(l), 0);    /* single replica: the durable offset */
    tlog_pump(&env);
    ck_assert_int_eq(plog_readable_offset(l), 30);
    ck_assert_int_eq(readable_calls, 1);
    plog_set_high_watermark(l, 0);                   /* replication starts */
    ck_assert_int_eq(plog_readable_offset(l), 0);
    ck_assert_int_eq(readable_calls, 1);
    plog_set_high_watermark(l, 10);
    ck_assert_int_eq(plog_readable_offset(l), 10);
    ck_assert_int_eq(readable_calls, 2);
    plog_set_high_watermark(l, 10);                  /* unchanged: no call */
    ck_assert_int_eq(readable_calls, 2);
    plog_set_high_watermark(l, 1000);                /* clamped to the log end */
    ck_assert_int_eq(plog_high_watermark(l), 30);
    ck_assert_int_eq(plog_readable_offset(l), 30);
    ck_assert_int_eq(readable_calls, 3);
    /* Appended and durable, but not committed: not readable. The listener
     * still hears of the fsync (a leader's high watermark may move). */
    lead(l, 10, 0);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 40);
    ck_assert_int_eq(plog_readable_offset(l), 30);
    ck_assert_int_eq(readable_calls, 4);
    /* Committed but not durable here: readable once the fsync completes. */
    lead(l, 10, 0);
    plog_set_high_watermark(l, 50);
    ck_assert_int_eq(plog_readable_offset(l), 40);
    ck_assert_int_eq(readable_calls, 5);
    tlog_pump(&env);
    ck_assert_int_eq(plog_readable_offset(l), 50);
    ck_assert_int_eq(readable_calls, 6);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 0, plog_readable_offset(l), UINT32_MAX, true, &s), 0);
    ck_assert_int_eq(s.next_offset, 50);
    /* Truncation is the one thing that lowers it. */
    ck_assert_int_eq(plog_truncate_to(l, 30), 0);
    ck_assert_int_eq(plog_high_watermark(l), 30);
    ck_assert_int_eq(plog_readable_offset(l), 30);
    plog_set_high_watermark(l, 30);
    plog_close(l);
}
END_TEST

START_TEST(test_high_watermark_page_cache)
{
    plog_config_t cfg;
    big_segments(&cfg);
    cfg.flush_interval_messages = 1000;
    plog_t *l = tlog_open(&env, &cfg, true);
    plog_set_on_readable(l, on_readable, NULL);
    lead(l, 20, 0);
    ck_assert_int_eq(plog_readable_offset(l), 20);   /* as today: the end offset */
    ck_assert_int_eq(readable_calls, 1);
    plog_set_high_watermark(l, 5);
    ck_assert_int_eq(plog_readable_offset(l), 5);
    lead(l, 20, 0);
    ck_assert_int_eq(readable_calls, 1);             /* the HW holds it */
    plog_set_high_watermark(l, 25);
    ck_assert_int_eq(plog_readable_offset(l), 25);
    ck_assert_int_eq(readable_calls, 2);
    ck_assert_int_eq(plog_durable_offset(l), 0);     /* no fsync was forced */
    plog_close(l);
}
END_TEST

START_TEST(test_high_watermark_backwards_asserts)
{
    plog_config_t cfg;
    big_segments(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    lead(l, 20, 0);
    plog_set_high_watermark(l, 10);
    plog_set_high_watermark(l, 9);
}
END_TEST

/* A follower rolls at segment.bytes like its leader, however much one
 * fetch brought. */
START_TEST(test_follower_rolls_within_one_append)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);                          /* 4096-byte segments */
    plog_t *l = tlog_open(&env, &cfg, true);
    static uint8_t buf[65536];
    size_t len = 0;
    int64_t next = 0;
    while (len + 2048 < sizeof buf) {
        len += tlog_replica_batch(buf + len, sizeof buf - len, next, 5, 1);
        next += 5;
    }
    plog_append_info_t info;
    ck_assert_int_eq(plog_append_replica(l, buf, len, &info), 0);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, next - 1);
    ck_assert_int_eq(plog_end_offset(l), next);
    ck_assert_uint_gt(plog_segment_count(l), len / 4096);
    ck_assert_uint_le(plog_size_bytes(l), len);
    /* Every record reads back across the new segments. */
    for (int64_t o = 0; o < next; o += 7) {
        plog_slice_t sl;
        ck_assert_int_eq(plog_read(l, o, next, 100, true, &sl), 0);
        ck_assert_int_le(sl.first_offset, o);
        ck_assert_int_gt(sl.next_offset, o);
    }
    check_cache(l, "1:0");
    plog_close(l);
}
END_TEST

static Suite *epochs_suite(void)
{
    Suite *s = suite_create("log-epochs");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, test_cache_rules);
    tcase_add_test(tc, test_cache_text);
    tcase_add_test_raise_signal(tc, test_cache_lower_epoch_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_cache_lower_offset_asserts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("plog");
    tcase_add_unchecked_fixture(tc, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_leader_appends);
    tcase_add_test_raise_signal(tc, test_leader_epoch_backwards_asserts, SIGABRT);
    tcase_add_test(tc, test_replica_append_keeps_batches);
    tcase_add_test(tc, test_replica_append_rejects);
    tcase_add_test(tc, test_follower_rolls_within_one_append);
    tcase_add_test(tc, test_end_offset_for_epoch);
    tcase_add_test(tc, test_begin_epoch);
    tcase_add_test(tc, test_kip101_truncation);
    tcase_add_test(tc, test_retention_trims);
    tcase_add_test(tc, test_reopen_after_clean_close);
    tcase_add_test(tc, test_crash_checkpoint_ahead);
    tcase_add_test(tc, test_crash_checkpoint_missing);
    tcase_add_test(tc, test_crash_checkpoint_behind);
    tcase_add_test(tc, test_recovery_point_waits_for_checkpoint);
    tcase_add_test(tc, test_high_watermark);
    tcase_add_test(tc, test_high_watermark_page_cache);
    tcase_add_test_raise_signal(tc, test_high_watermark_backwards_asserts, SIGABRT);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tlog_run_suite(epochs_suite(), CAIRN_LOG_ERROR);
}
