/* Unit tests of the controller's durable Raft storage (controller/storage):
 * round trips across close/open, segment rolls, truncation, torn and
 * corrupt tails, snapshots, and the quorum-state refusal to start. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "raft_store.h"
#include "store_frame.h"

#define MAX_TEST_ENTRIES 256
#define MAX_DATA_BYTES 64

/* The per-test-case scratch root: made by the unchecked fixture in the
 * parent process, so it is removed even when a forked test fails. */
static char scratch_root[64];

/* ---- fixtures and file helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void scratch_setup(void)
{
    snprintf(scratch_root, sizeof scratch_root, "/tmp/cairn-store-test-XXXXXX");
    if (mkdtemp(scratch_root) == NULL)
        abort();
}

static void scratch_teardown(void)
{
    nftw(scratch_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory for one test; it does not exist yet (open creates it,
 * parents included). */
static void test_dir(char *out, size_t len)
{
    char parent[128];
    snprintf(parent, sizeof parent, "%s/t-XXXXXX", scratch_root);
    ck_assert_ptr_nonnull(mkdtemp(parent));
    snprintf(out, len, "%s/metadata/store", parent);
}

static void path_of(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/raft/%s", dir, name);
}

static void segment_path(char *out, size_t len, const char *dir, uint64_t first)
{
    snprintf(out, len, "%s/raft/%020" PRIu64 ".log", dir, first);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Reads a whole (small) file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
    int64_t size = file_size(path);
    ck_assert_int_ge(size, 0);
    uint8_t *buf = malloc((size_t)size + 1);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void flip_byte(const char *path, int64_t off)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Counts files in dir/raft ending with suffix; *min_first gets the lowest
 * leading number among them (UINT64_MAX if none). */
static int count_files(const char *dir, const char *suffix, uint64_t *min_first)
{
    char raft[512];
    snprintf(raft, sizeof raft, "%s/raft", dir);
    DIR *d = opendir(raft);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    uint64_t lo = UINT64_MAX;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name), sl = strlen(suffix);
        if (nl < sl || strcmp(de->d_name + nl - sl, suffix) != 0)
            continue;
        n++;
        uint64_t v = strtoull(de->d_name, NULL, 10);
        if (v < lo)
            lo = v;
    }
    closedir(d);
    if (min_first != NULL)
        *min_first = lo;
    return n;
}

/* The segment holding index: the one with the highest first index <= it. */
static uint64_t segment_of(const char *dir, uint64_t index)
{
    char raft[512];
    snprintf(raft, sizeof raft, "%s/raft", dir);
    DIR *d = opendir(raft);
    ck_assert_ptr_nonnull(d);
    uint64_t best = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 4 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        uint64_t v = strtoull(de->d_name, NULL, 10);
        if (v <= index && v > best)
            best = v;
    }
    closedir(d);
    ck_assert_uint_gt(best, 0);
    return best;
}

/* ---- entries with contents derived from (index, term) ---- */

static uint32_t entry_len(uint64_t index, uint64_t term)
{
    return 1 + (uint32_t)((index * 7 + term) % (MAX_DATA_BYTES - 1));
}

static void fill_entry(raft_entry_t *e, uint8_t *buf, uint64_t index, uint64_t term)
{
    e->index = index;
    e->term = term;
    e->type = index % 5 == 0 ? RAFT_ENTRY_LEADER_CHANGE : RAFT_ENTRY_NORMAL;
    e->len = entry_len(index, term);
    for (uint32_t j = 0; j < e->len; j++)
        buf[j] = (uint8_t)(index * 31 + term * 17 + j);
    e->data = buf;
}

static void check_entry(const raft_entry_t *e, uint64_t index, uint64_t term)
{
    uint8_t buf[MAX_DATA_BYTES];
    raft_entry_t want;
    fill_entry(&want, buf, index, term);
    ck_assert_uint_eq(e->index, index);
    ck_assert_uint_eq(e->term, term);
    ck_assert_uint_eq(e->type, want.type);
    ck_assert_uint_eq(e->len, want.len);
    ck_assert_mem_eq(e->data, buf, want.len);
}

/* Appends [first, last] in one call, every entry in term. */
static int append_range(raft_store_t *s, uint64_t first, uint64_t last, uint64_t term)
{
    static raft_entry_t es[MAX_TEST_ENTRIES];
    static uint8_t bufs[MAX_TEST_ENTRIES][MAX_DATA_BYTES];
    size_t n = (size_t)(last - first + 1);
    ck_assert_uint_le(n, MAX_TEST_ENTRIES);
    for (size_t i = 0; i < n; i++)
        fill_entry(&es[i], bufs[i], first + i, term);
    return raft_store_append(s, es, n);
}

static raft_store_t *open_store(const char *dir, uint64_t segment_bytes, size_t entry_max)
{
    raft_store_opts_t opts = { .segment_bytes = segment_bytes, .entry_max_bytes = entry_max };
    raft_store_t *s = NULL;
    char err[256] = "";
    int rc = raft_store_open(dir, &opts, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "open failed: %s", err);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Checks the restored log is exactly (snapshot_index, last], entries at or
 * below split in term_lo, above it in term_hi. */
static void check_log(raft_store_t *s, uint64_t snapshot_index, uint64_t last,
                      uint64_t split, uint64_t term_lo, uint64_t term_hi)
{
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.snapshot_index, snapshot_index);
    ck_assert_uint_eq(raft_store_snapshot_index(s), snapshot_index);
    ck_assert_uint_eq(raft_store_last_index(s), last);
    ck_assert_uint_eq(r.n_entries, last - snapshot_index);
    for (size_t i = 0; i < r.n_entries; i++) {
        uint64_t index = snapshot_index + 1 + i;
        check_entry(&r.entries[i], index, index <= split ? term_lo : term_hi);
    }
}

/* ---- tests ---- */

START_TEST(test_fresh_store_is_empty)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.term, 0);
    ck_assert_uint_eq(r.voted_for, RAFT_NO_NODE);
    ck_assert_uint_eq(r.snapshot_index, 0);
    ck_assert_ptr_null(r.snapshot);
    ck_assert_uint_eq(r.n_entries, 0);
    ck_assert_uint_eq(raft_store_last_index(s), 0);
    raft_store_close(s);
}
END_TEST

START_TEST(test_round_trip)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(raft_store_save_hard_state(s, 5, 2), 0);
    ck_assert_int_eq(append_range(s, 1, 40, 3), 0);
    ck_assert_int_eq(append_range(s, 41, 100, 5), 0);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);

    s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.term, 5);
    ck_assert_uint_eq(r.voted_for, 2);
    check_log(s, 0, 100, 40, 3, 5);
    /* A later term without a vote replaces the file. */
    ck_assert_int_eq(raft_store_save_hard_state(s, 6, RAFT_NO_NODE), 0);
    raft_store_close(s);

    s = open_store(dir, 0, 0);
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.term, 6);
    ck_assert_uint_eq(r.voted_for, RAFT_NO_NODE);
    ck_assert_uint_eq(r.n_entries, 100);
    raft_store_close(s);
}
END_TEST

START_TEST(test_segments_roll)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    for (uint64_t i = 1; i < 100; i += 10)
        ck_assert_int_eq(append_range(s, i, i + 9, 1), 0);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);

    uint64_t lo;
    int n = count_files(dir, ".log", &lo);
    ck_assert_int_gt(n, 5);
    ck_assert_uint_eq(lo, 1);
    /* Every segment stays within segment_bytes (no entry is bigger). */
    for (uint64_t i = 1; i <= 100; i++) {
        char path[512];
        segment_path(path, sizeof path, dir, segment_of(dir, i));
        ck_assert_int_le(file_size(path), 300);
    }
    s = open_store(dir, 300, 0);
    check_log(s, 0, 100, 100, 1, 1);
    /* Appending after a reopen continues the last segment or rolls. */
    ck_assert_int_eq(append_range(s, 101, 120, 1), 0);
    raft_store_close(s);
    s = open_store(dir, 300, 0);
    check_log(s, 0, 120, 120, 1, 1);
    raft_store_close(s);
}
END_TEST

START_TEST(test_truncate_within_segment)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 20, 1), 0);
    ck_assert_int_eq(append_range(s, 15, 25, 2), 0);
    ck_assert_uint_eq(raft_store_last_index(s), 25);
    /* A conflicting append shorter than the log also ends it there. */
    ck_assert_int_eq(append_range(s, 24, 24, 3), 0);
    ck_assert_uint_eq(raft_store_last_index(s), 24);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);

    s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.n_entries, 24);
    for (uint64_t i = 1; i <= 24; i++)
        check_entry(&r.entries[i - 1], i, i <= 14 ? 1 : i <= 23 ? 2 : 3);
    ck_assert_int_eq(count_files(dir, ".log", NULL), 1);
    raft_store_close(s);
}
END_TEST

START_TEST(test_truncate_across_segments)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    ck_assert_int_eq(append_range(s, 1, 80, 1), 0);
    int before = count_files(dir, ".log", NULL);
    /* Mid-segment: everything after the segment holding 20 goes. */
    uint64_t seg20 = segment_of(dir, 20);
    ck_assert_uint_lt(seg20, 20);
    ck_assert_int_eq(append_range(s, 20, 22, 2), 0);
    ck_assert_uint_eq(raft_store_last_index(s), 22);
    ck_assert_int_lt(count_files(dir, ".log", NULL), before);
    ck_assert_uint_eq(segment_of(dir, 80), segment_of(dir, 22));
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);
    s = open_store(dir, 300, 0);
    check_log(s, 0, 22, 19, 1, 2);

    /* At a segment's first index: that segment itself goes. */
    ck_assert_int_eq(append_range(s, 23, 60, 2), 0);
    uint64_t boundary = segment_of(dir, 60);
    ck_assert_uint_gt(boundary, 23);
    ck_assert_int_eq(append_range(s, boundary, boundary, 3), 0);
    ck_assert_uint_eq(segment_of(dir, boundary), boundary);
    raft_store_close(s);
    s = open_store(dir, 300, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.n_entries, boundary);
    check_entry(&r.entries[boundary - 2], boundary - 1, 2);
    check_entry(&r.entries[boundary - 1], boundary, 3);
    raft_store_close(s);
}
END_TEST

/* Writes 1..9 then 10, returning the segment path and its size before and
 * after entry 10. */
static void write_tail_fixture(const char *dir, char *seg, size_t seg_len, int64_t *before,
                               int64_t *after)
{
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 9, 1), 0);
    segment_path(seg, seg_len, dir, 1);
    *before = file_size(seg);
    ck_assert_int_eq(append_range(s, 10, 10, 1), 0);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);
    *after = file_size(seg);
    ck_assert_int_eq(*after - *before, STORE_FRAME_HEADER_BYTES + (int64_t)entry_len(10, 1));
}

START_TEST(test_torn_tail_every_offset)
{
    cairn_log_set_level(CAIRN_LOG_ERROR);   /* one WARN per reopen otherwise */
    char dir[256], seg[512];
    test_dir(dir, sizeof dir);
    int64_t before, after;
    write_tail_fixture(dir, seg, sizeof seg, &before, &after);
    size_t len;
    uint8_t *orig = slurp(seg, &len);
    for (int64_t cut = before; cut <= after; cut++) {
        spit(seg, orig, (size_t)cut);
        raft_store_t *s = open_store(dir, 0, 0);
        uint64_t want = cut == after ? 10 : 9;
        check_log(s, 0, want, want, 1, 1);
        ck_assert_int_eq(file_size(seg), cut == after ? after : before);
        raft_store_close(s);
    }
    /* The log goes on cleanly from where it was cut. */
    spit(seg, orig, (size_t)after - 1);
    free(orig);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 10, 11, 2), 0);
    raft_store_close(s);
    s = open_store(dir, 0, 0);
    check_log(s, 0, 11, 9, 1, 2);
    raft_store_close(s);
}
END_TEST

START_TEST(test_bit_flip_in_last_entry)
{
    char dir[256], seg[512];
    test_dir(dir, sizeof dir);
    int64_t before, after;
    write_tail_fixture(dir, seg, sizeof seg, &before, &after);
    flip_byte(seg, (before + after) / 2);
    raft_store_t *s = open_store(dir, 0, 0);
    check_log(s, 0, 9, 9, 1, 1);
    ck_assert_int_eq(file_size(seg), before);
    raft_store_close(s);
}
END_TEST

START_TEST(test_bit_flip_in_earlier_entry)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    int64_t offset[41];
    uint64_t seg_first[41];
    for (uint64_t i = 1; i <= 40; i++) {
        ck_assert_int_eq(append_range(s, i, i, 1), 0);
        char path[512];
        seg_first[i] = segment_of(dir, i);
        segment_path(path, sizeof path, dir, seg_first[i]);
        offset[i] = file_size(path) - STORE_FRAME_HEADER_BYTES - entry_len(i, 1);
    }
    raft_store_close(s);
    int segs_before = count_files(dir, ".log", NULL);
    /* Entry 13 sits in the middle of a segment that is not the last. */
    uint64_t bad = 13;
    ck_assert_uint_lt(seg_first[bad], bad);
    ck_assert_uint_lt(seg_first[bad], seg_first[40]);
    char path[512];
    segment_path(path, sizeof path, dir, seg_first[bad]);
    flip_byte(path, offset[bad] + STORE_FRAME_HEADER_BYTES + 1);

    s = open_store(dir, 300, 0);
    check_log(s, 0, bad - 1, bad, 1, 1);
    ck_assert_int_eq(file_size(path), offset[bad]);
    ck_assert_uint_eq(segment_of(dir, 40), seg_first[bad]);
    ck_assert_int_lt(count_files(dir, ".log", NULL), segs_before);
    raft_store_close(s);
}
END_TEST

START_TEST(test_oversized_length_field)
{
    char dir[256], seg[512];
    test_dir(dir, sizeof dir);
    int64_t before, after;
    write_tail_fixture(dir, seg, sizeof seg, &before, &after);
    /* A huge length in entry 10's header, CRC left as is: the bound, not
     * the file size, is what rejects it. */
    int fd = open(seg, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t len_field[4] = { 0xf0, 0xff, 0xff, 0x7f };
    ck_assert_int_eq(pwrite(fd, len_field, 4, before + STORE_FRAME_LEN_OFFSET), 4);
    close(fd);
    raft_store_t *s = open_store(dir, 0, 0);
    check_log(s, 0, 9, 9, 1, 1);
    ck_assert_int_eq(file_size(seg), before);
    raft_store_close(s);

    /* A length over a (smaller) configured bound ends the log there too,
     * and such an entry is refused on append. */
    s = open_store(dir, 0, 8);
    ck_assert_uint_lt(raft_store_last_index(s), 9);
    ck_assert_int_eq(append_range(s, raft_store_last_index(s) + 1,
                                  raft_store_last_index(s) + 1, 1) != 0,
                     entry_len(raft_store_last_index(s) + 1, 1) > 8);
    raft_store_close(s);
}
END_TEST

START_TEST(test_append_validation)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 5, 2), 0);
    ck_assert_int_ne(append_range(s, 7, 8, 2), 0);          /* gap after 5 */
    ck_assert_int_ne(append_range(s, 6, 6, 1), 0);          /* term goes back */
    uint8_t buf[2][MAX_DATA_BYTES];
    raft_entry_t es[2];
    fill_entry(&es[0], buf[0], 6, 2);
    fill_entry(&es[1], buf[1], 8, 2);                        /* not consecutive */
    ck_assert_int_ne(raft_store_append(s, es, 2), 0);
    ck_assert_uint_eq(raft_store_last_index(s), 5);
    ck_assert_int_eq(append_range(s, 6, 6, 2), 0);
    ck_assert_int_eq(raft_store_append(s, es, 0), 0);
    raft_store_close(s);
    s = open_store(dir, 0, 0);
    check_log(s, 0, 6, 6, 2, 2);
    raft_store_close(s);
}
END_TEST

START_TEST(test_snapshot_compacts_log)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    ck_assert_int_eq(append_range(s, 1, 80, 4), 0);
    uint64_t seg31 = segment_of(dir, 31);
    ck_assert_uint_gt(seg31, 1);
    const uint8_t image[] = "metadata image at 30";
    ck_assert_int_eq(raft_store_save_snapshot(s, 30, 4, image, sizeof image), 0);
    uint64_t lo;
    count_files(dir, ".log", &lo);
    ck_assert_uint_eq(lo, seg31);            /* the segment holding 31 stays */
    ck_assert_int_eq(count_files(dir, ".snapshot", NULL), 1);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);

    s = open_store(dir, 300, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.snapshot_term, 4);
    ck_assert_uint_eq(r.snapshot_len, sizeof image);
    ck_assert_mem_eq(r.snapshot, image, sizeof image);
    check_log(s, 30, 80, 80, 4, 4);
    /* A newer snapshot replaces the older file. */
    const uint8_t image2[] = "at 50";
    ck_assert_int_eq(raft_store_save_snapshot(s, 50, 4, image2, sizeof image2), 0);
    ck_assert_int_eq(count_files(dir, ".snapshot", &lo), 1);
    ck_assert_uint_eq(lo, 50);
    /* Covering the whole log removes every segment; appends go on after it. */
    ck_assert_int_eq(raft_store_save_snapshot(s, 80, 4, image2, sizeof image2), 0);
    ck_assert_int_eq(count_files(dir, ".log", NULL), 0);
    ck_assert_int_eq(append_range(s, 81, 85, 5), 0);
    raft_store_close(s);
    s = open_store(dir, 300, 0);
    check_log(s, 80, 85, 85, 5, 5);
    raft_store_close(s);
}
END_TEST

START_TEST(test_snapshot_refused_past_log)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 10, 2), 0);
    const uint8_t image[] = "x";
    ck_assert_int_ne(raft_store_save_snapshot(s, 11, 2, image, 1), 0);
    ck_assert_int_ne(raft_store_save_snapshot(s, 10, 3, image, 1), 0);   /* wrong term */
    ck_assert_int_eq(raft_store_save_snapshot(s, 8, 2, image, 1), 0);
    ck_assert_int_ne(raft_store_save_snapshot(s, 7, 2, image, 1), 0);    /* goes back */
    ck_assert_uint_eq(raft_store_snapshot_index(s), 8);
    raft_store_close(s);
}
END_TEST

START_TEST(test_install_snapshot)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    ck_assert_int_eq(append_range(s, 1, 40, 1), 0);
    const uint8_t image[] = "leader image";
    ck_assert_int_eq(raft_store_install_snapshot(s, 100, 7, image, sizeof image), 0);
    ck_assert_uint_eq(raft_store_last_index(s), 100);
    ck_assert_uint_eq(raft_store_snapshot_index(s), 100);
    ck_assert_int_eq(count_files(dir, ".log", NULL), 0);
    ck_assert_int_eq(append_range(s, 101, 105, 7), 0);
    ck_assert_int_eq(raft_store_sync(s), 0);
    raft_store_close(s);

    s = open_store(dir, 300, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.snapshot_term, 7);
    ck_assert_mem_eq(r.snapshot, image, sizeof image);
    check_log(s, 100, 105, 105, 7, 7);
    raft_store_close(s);
}
END_TEST

/* A crash after the installed snapshot became durable but before the old
 * log was removed: the old entries disagree with it at its index (an
 * uncommitted suffix from another leader) and must not come back, even
 * though their terms are above the snapshot's. */
START_TEST(test_stale_log_after_interrupted_install)
{
    char dir[256], seg[512];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 5, 1), 0);
    ck_assert_int_eq(append_range(s, 6, 10, 3), 0);
    raft_store_close(s);
    segment_path(seg, sizeof seg, dir, 1);
    size_t len;
    uint8_t *old = slurp(seg, &len);
    s = open_store(dir, 0, 0);
    const uint8_t image[] = "term 2 image";
    ck_assert_int_eq(raft_store_install_snapshot(s, 5, 2, image, sizeof image), 0);
    raft_store_close(s);
    spit(seg, old, len);
    free(old);

    s = open_store(dir, 0, 0);
    check_log(s, 5, 5, 5, 2, 2);
    ck_assert_int_eq(count_files(dir, ".log", NULL), 0);
    ck_assert_int_eq(append_range(s, 6, 7, 2), 0);
    raft_store_close(s);
}
END_TEST

START_TEST(test_snapshot_fallback)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 20, 3), 0);
    const uint8_t old_image[] = "image at 5", new_image[] = "image at 10";
    ck_assert_int_eq(raft_store_save_snapshot(s, 5, 3, old_image, sizeof old_image), 0);
    char old_path[512], new_path[512];
    path_of(old_path, sizeof old_path, dir, "00000000000000000005-3.snapshot");
    path_of(new_path, sizeof new_path, dir, "00000000000000000010-3.snapshot");
    size_t old_len;
    uint8_t *old_bytes = slurp(old_path, &old_len);
    ck_assert_int_eq(raft_store_save_snapshot(s, 10, 3, new_image, sizeof new_image), 0);
    raft_store_close(s);
    ck_assert_int_eq(file_size(old_path), -1);
    /* As if the process died before removing the older snapshot, and the
     * newer one then rotted. */
    spit(old_path, old_bytes, old_len);
    free(old_bytes);
    flip_byte(new_path, file_size(new_path) - 2);

    s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_mem_eq(r.snapshot, old_image, sizeof old_image);
    check_log(s, 5, 20, 20, 3, 3);
    raft_store_close(s);

    /* With no valid snapshot left, open refuses. */
    flip_byte(old_path, file_size(old_path) - 2);
    raft_store_opts_t opts = { 0, 0 };
    char err[256] = "";
    ck_assert_int_eq(raft_store_open(dir, &opts, &s, err, sizeof err), -1);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "snapshot"));
}
END_TEST

START_TEST(test_missing_segment_refused)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    ck_assert_int_eq(append_range(s, 1, 40, 1), 0);
    raft_store_close(s);
    char seg[512];
    segment_path(seg, sizeof seg, dir, 1);
    ck_assert_int_eq(unlink(seg), 0);
    char err[256] = "";
    ck_assert_int_eq(raft_store_open(dir, NULL, &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing"));
}
END_TEST

/* A segment missing from the middle breaks index continuity: the log ends
 * before it and the segments after it go. */
START_TEST(test_missing_middle_segment_ends_log)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 300, 0);
    ck_assert_int_eq(append_range(s, 1, 60, 1), 0);
    raft_store_close(s);
    ck_assert_int_gt(count_files(dir, ".log", NULL), 3);
    /* The second segment starts at the first index the first one lacks. */
    uint64_t gone = 1;
    while (segment_of(dir, gone) == 1)
        gone++;
    ck_assert_uint_eq(segment_of(dir, gone), gone);
    char seg[512];
    segment_path(seg, sizeof seg, dir, gone);
    ck_assert_int_eq(unlink(seg), 0);

    s = open_store(dir, 300, 0);
    check_log(s, 0, gone - 1, gone, 1, 1);
    ck_assert_int_eq(count_files(dir, ".log", NULL), 1);
    ck_assert_int_eq(append_range(s, gone, gone + 5, 2), 0);
    raft_store_close(s);
    s = open_store(dir, 300, 0);
    check_log(s, 0, gone + 5, gone - 1, 1, 2);
    raft_store_close(s);
}
END_TEST

/* Writes that never reached their rename are removed and never count. */
START_TEST(test_leftover_tmp_files_removed)
{
    char dir[256], path[512];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(raft_store_save_hard_state(s, 4, 1), 0);
    ck_assert_int_eq(append_range(s, 1, 3, 4), 0);
    raft_store_close(s);
    const uint8_t junk[] = "half-written";
    snprintf(path, sizeof path, "%s/quorum-state.tmp", dir);
    spit(path, junk, sizeof junk);
    path_of(path, sizeof path, dir, "00000000000000000009-9.snapshot.tmp");
    spit(path, junk, sizeof junk);

    s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.term, 4);
    check_log(s, 0, 3, 3, 4, 4);
    raft_store_close(s);
    ck_assert_int_eq(file_size(path), -1);
    snprintf(path, sizeof path, "%s/quorum-state.tmp", dir);
    ck_assert_int_eq(file_size(path), -1);
}
END_TEST

static void expect_quorum_refused(const char *dir)
{
    raft_store_t *s = NULL;
    char err[256] = "";
    ck_assert_int_eq(raft_store_open(dir, NULL, &s, err, sizeof err), -1);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "quorum-state"));
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_corrupt_quorum_state)
{
    char dir[256], qs[512];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(raft_store_save_hard_state(s, 3, 1), 0);
    raft_store_close(s);
    snprintf(qs, sizeof qs, "%s/quorum-state", dir);
    size_t len;
    uint8_t *good = slurp(qs, &len);

    flip_byte(qs, (int64_t)len - 1);
    expect_quorum_refused(dir);
    spit(qs, good, len - 1);                   /* truncated */
    expect_quorum_refused(dir);
    uint8_t zeros[8] = { 0 };                  /* zero-filled after a crash */
    spit(qs, zeros, sizeof zeros);
    expect_quorum_refused(dir);
    spit(qs, good, 0);
    expect_quorum_refused(dir);

    spit(qs, good, len);
    s = open_store(dir, 0, 0);
    raft_restore_t r;
    raft_store_restore(s, &r);
    ck_assert_uint_eq(r.term, 3);
    ck_assert_uint_eq(r.voted_for, 1);
    raft_store_close(s);
    free(good);
}
END_TEST

START_TEST(test_directory_locked)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    raft_store_t *t = NULL;
    char err[256] = "";
    ck_assert_int_eq(raft_store_open(dir, NULL, &t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    raft_store_close(s);
    t = open_store(dir, 0, 0);
    raft_store_close(t);
}
END_TEST

START_TEST(test_truncate_at_snapshot_aborts)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 10, 1), 0);
    const uint8_t image[] = "x";
    ck_assert_int_eq(raft_store_save_snapshot(s, 8, 1, image, 1), 0);
    append_range(s, 8, 9, 2);                  /* must not return */
}
END_TEST

START_TEST(test_second_vote_in_term_aborts)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(raft_store_save_hard_state(s, 2, 1), 0);
    ck_assert_int_eq(raft_store_save_hard_state(s, 2, 1), 0);
    raft_store_save_hard_state(s, 2, 3);        /* must not return */
}
END_TEST

START_TEST(test_restore_after_change_aborts)
{
    char dir[256];
    test_dir(dir, sizeof dir);
    raft_store_t *s = open_store(dir, 0, 0);
    ck_assert_int_eq(append_range(s, 1, 2, 1), 0);
    raft_restore_t r;
    raft_store_restore(s, &r);                  /* must not return */
}
END_TEST

static Suite *raft_store_suite(void)
{
    Suite *suite = suite_create("raft_store");
    TCase *tc = tcase_create("store");
    tcase_add_unchecked_fixture(tc, scratch_setup, scratch_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_fresh_store_is_empty);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_segments_roll);
    tcase_add_test(tc, test_truncate_within_segment);
    tcase_add_test(tc, test_truncate_across_segments);
    tcase_add_test(tc, test_torn_tail_every_offset);
    tcase_add_test(tc, test_bit_flip_in_last_entry);
    tcase_add_test(tc, test_bit_flip_in_earlier_entry);
    tcase_add_test(tc, test_oversized_length_field);
    tcase_add_test(tc, test_append_validation);
    tcase_add_test(tc, test_snapshot_compacts_log);
    tcase_add_test(tc, test_snapshot_refused_past_log);
    tcase_add_test(tc, test_install_snapshot);
    tcase_add_test(tc, test_stale_log_after_interrupted_install);
    tcase_add_test(tc, test_snapshot_fallback);
    tcase_add_test(tc, test_missing_segment_refused);
    tcase_add_test(tc, test_missing_middle_segment_ends_log);
    tcase_add_test(tc, test_leftover_tmp_files_removed);
    tcase_add_test(tc, test_corrupt_quorum_state);
    tcase_add_test(tc, test_directory_locked);
    suite_add_tcase(suite, tc);

    /* Broken invariants abort the process (fork mode only). */
    TCase *inv = tcase_create("invariants");
    tcase_add_unchecked_fixture(inv, scratch_setup, scratch_teardown);
    tcase_add_test_raise_signal(inv, test_truncate_at_snapshot_aborts, SIGABRT);
    tcase_add_test_raise_signal(inv, test_second_vote_in_term_aborts, SIGABRT);
    tcase_add_test_raise_signal(inv, test_restore_after_change_aborts, SIGABRT);
    suite_add_tcase(suite, inv);
    return suite;
}

int main(void)
{
    cairn_log_init("test", 0, CAIRN_LOG_WARN);
    SRunner *sr = srunner_create(raft_store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
