/* Unit tests of recovery (broker/log/plog_recovery.c): torn tails at random
 * byte positions, bit flips, garbage, a corrupt middle segment, missing or
 * corrupt indexes, and a writer killed with SIGKILL (also while leader
 * epochs change: the recovered epoch cache matches the batches). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "tlog.h"

#define BATCHES 120

static tlog_env_t env;
static plog_config_t cfg;
static char pristine[512];
static int64_t batch_base[BATCHES + 1];   /* [BATCHES]: the end offset */
static int64_t seg_base[64];
static size_t n_segs;

static void config_init(void)
{
    tlog_small_config(&cfg);
    cfg.segment_bytes = 4096;
    cfg.index_interval_bytes = 256;
}

static void setup(void)
{
    tlog_env_init(&env);
    config_init();
}

static void teardown(void)
{
    tlog_env_free(&env);
}

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

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void list_segments(void)
{
    DIR *d = opendir(env.part);
    struct dirent *de;
    n_segs = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len == 24 && strcmp(de->d_name + 20, ".log") == 0)
            seg_base[n_segs++] = strtoll(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(seg_base, n_segs, sizeof seg_base[0], cmp_i64);
}

/* Writes BATCHES batches, closes cleanly and keeps a copy of the files. */
static void build_pristine(void)
{
    plog_t *l = tlog_open(&env, &cfg, true);
    for (int i = 0; i < BATCHES; i++)
        batch_base[i] = tlog_append(l, 1 + i % 4, 1000 + i, (size_t)(20 + i % 50));
    batch_base[BATCHES] = plog_end_offset(l);
    tlog_pump(&env);
    plog_close(l);
    snprintf(pristine, sizeof pristine, "%s.pristine", env.part);
    tlog_copy_dir(env.part, pristine);
    list_segments();
    ck_assert_uint_ge(n_segs, 4);
}

static void restore(void)
{
    tlog_copy_dir(pristine, env.part);
}

/* The position of batch i in its segment, and that segment's index. */
static uint64_t batch_pos(int i, size_t *seg)
{
    plog_t *l = tlog_open(&env, &cfg, true);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, batch_base[i], batch_base[BATCHES], 1, true, &s), 0);
    uint64_t pos = s.file_pos;
    plog_close(l);
    *seg = 0;
    while (*seg + 1 < n_segs && seg_base[*seg + 1] <= batch_base[i])
        (*seg)++;
    return pos;
}

/* Batches are numbered; the first batch of segment k. */
static int first_batch_of(size_t k)
{
    int i = 0;
    while (batch_base[i] < seg_base[k])
        i++;
    return i;
}

static void seg_file(char *out, size_t len, size_t k, const char *ext)
{
    tlog_seg_path(&env, out, len, seg_base[k], ext);
}

/* Opens after a crash and checks the log ends at expect and still works. */
static void reopen_expect(int64_t expect, bool clean)
{
    plog_t *l = tlog_open(&env, &cfg, clean);
    ck_assert_int_eq(plog_end_offset(l), expect);
    ck_assert_int_eq(plog_durable_offset(l), expect);
    ck_assert_int_eq(plog_latest_epoch(l), expect > 0 ? 7 : -1);
    ck_assert_int_eq(plog_epoch_start_offset(l, 7), expect > 0 ? 0 : -1);
    check_every_offset(l);
    ck_assert_int_eq(tlog_append(l, 2, 5000, 10), expect);
    tlog_pump(&env);
    plog_close(l);
    l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_end_offset(l), expect + 2);
    plog_close(l);
}

START_TEST(test_torn_tail_random_positions)
{
    build_pristine();
    size_t last = n_segs - 1;
    int first = first_batch_of(last);
    uint64_t pos[BATCHES + 1];
    size_t k;
    for (int i = first; i < BATCHES; i++)
        pos[i] = batch_pos(i, &k);
    char path[512];
    seg_file(path, sizeof path, last, ".log");
    pos[BATCHES] = (uint64_t)tlog_file_size(path);
    srand(42);
    for (int round = 0; round < 40; round++) {
        restore();
        uint64_t cut = (uint64_t)rand() % pos[BATCHES];
        if (round < BATCHES - first)
            cut = pos[first + round] + (round % 3 == 0 ? 0 : 1 + (uint64_t)rand() % 60);
        ck_assert_int_eq(truncate(path, (off_t)cut), 0);
        int i = first;
        while (i < BATCHES && pos[i + 1] <= cut)
            i++;
        reopen_expect(batch_base[i], false);
    }
}
END_TEST

START_TEST(test_bit_flips_in_tail)
{
    build_pristine();
    size_t last = n_segs - 1, k;
    int first = first_batch_of(last);
    uint64_t pos[BATCHES + 1];
    for (int i = first; i < BATCHES; i++)
        pos[i] = batch_pos(i, &k);
    char path[512];
    seg_file(path, sizeof path, last, ".log");
    pos[BATCHES] = (uint64_t)tlog_file_size(path);
    srand(7);
    for (int round = 0; round < 40; round++) {
        restore();
        int i = first + rand() % (BATCHES - first);
        uint64_t off = (uint64_t)rand() % (pos[i + 1] - pos[i]);
        if (off >= 12 && off < 16)                   /* partitionLeaderEpoch: not covered */
            off = 17;
        int fd = open(path, O_RDWR);
        uint8_t b;
        ck_assert_int_eq(pread(fd, &b, 1, (off_t)(pos[i] + off)), 1);
        b ^= (uint8_t)(1u << (rand() % 8));
        ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)(pos[i] + off)), 1);
        close(fd);
        reopen_expect(batch_base[i], false);
    }
}
END_TEST

START_TEST(test_garbage_appended)
{
    build_pristine();
    char path[512];
    seg_file(path, sizeof path, n_segs - 1, ".log");
    for (int round = 0; round < 5; round++) {
        restore();
        FILE *f = fopen(path, "ab");
        for (int i = 0; i < 1 + round * 50; i++)
            fputc(round == 0 ? 0 : rand() & 0xff, f);
        fclose(f);
        reopen_expect(batch_base[BATCHES], false);
    }
}
END_TEST

/* Without a recovery point every segment is validated; a corrupt batch in
 * a middle segment cuts the log there and the later segments go. */
START_TEST(test_corrupt_middle_segment)
{
    build_pristine();
    size_t mid = n_segs / 2;
    int i = first_batch_of(mid) + 2;
    size_t k;
    uint64_t pos = batch_pos(i, &k);
    ck_assert_uint_eq(k, mid);
    char path[512], rp[512];
    seg_file(path, sizeof path, mid, ".log");
    snprintf(rp, sizeof rp, "%s/recovery-point", env.part);
    ck_assert_int_eq(unlink(rp), 0);
    int fd = open(path, O_RDWR);
    uint8_t b = 0xee;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)pos + 40), 1);
    close(fd);
    plog_t *l = tlog_open(&env, &cfg, false);
    ck_assert_int_eq(plog_end_offset(l), batch_base[i]);
    ck_assert_uint_eq(plog_segment_count(l), mid + 1);
    check_every_offset(l);
    plog_close(l);
    tlog_pump(&env);
    seg_file(path, sizeof path, mid + 1, ".log");
    ck_assert_int_eq(tlog_file_size(path), -1);
}
END_TEST

/* A sealed segment cut short is caught by the cheap tail check even when
 * the recovery point says it is trusted. */
START_TEST(test_trusted_segment_cut_short)
{
    build_pristine();
    size_t k;
    int i = first_batch_of(1) + 1;
    uint64_t pos = batch_pos(i, &k);
    ck_assert_uint_eq(k, 1);
    char path[512];
    seg_file(path, sizeof path, 1, ".log");
    ck_assert_int_eq(truncate(path, (off_t)pos + 5), 0);
    plog_t *l = tlog_open(&env, &cfg, true);
    ck_assert_int_eq(plog_end_offset(l), batch_base[i]);
    ck_assert_uint_eq(plog_segment_count(l), 2);
    check_every_offset(l);
    plog_close(l);
}
END_TEST

static uint8_t *slurp(const char *path, int64_t *len)
{
    *len = tlog_file_size(path);
    ck_assert_int_ge(*len, 0);
    uint8_t *b = malloc((size_t)*len + 1);
    FILE *f = fopen(path, "rb");
    ck_assert_int_eq(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static void assert_same_file(const char *a, const char *b)
{
    int64_t la, lb;
    uint8_t *x = slurp(a, &la), *y = slurp(b, &lb);
    ck_assert_int_eq(la, lb);
    ck_assert_int_eq(memcmp(x, y, (size_t)la), 0);
    free(x);
    free(y);
}

START_TEST(test_missing_or_corrupt_index_rebuilt)
{
    build_pristine();
    char idx[512], tidx[512], orig_idx[1024], orig_tidx[1024];
    seg_file(idx, sizeof idx, 1, ".index");
    seg_file(tidx, sizeof tidx, 1, ".timeindex");
    snprintf(orig_idx, sizeof orig_idx, "%s/%020" PRId64 ".index", pristine, seg_base[1]);
    snprintf(orig_tidx, sizeof orig_tidx, "%s/%020" PRId64 ".timeindex", pristine,
             seg_base[1]);
    ck_assert_int_gt(tlog_file_size(orig_idx), 16);
    for (int round = 0; round < 4; round++) {
        restore();
        if (round == 0) {
            ck_assert_int_eq(unlink(idx), 0);
            ck_assert_int_eq(unlink(tidx), 0);
        } else if (round == 1) {
            ck_assert_int_eq(truncate(idx, tlog_file_size(idx) - 3), 0);
        } else {
            int fd = open(idx, O_RDWR);
            uint8_t junk[4] = {0x00, 0x00, round == 2 ? 0x7f : 0x00, 0x01};
            ck_assert_int_eq(pwrite(fd, junk, 4, tlog_file_size(idx) - 4), 4);
            close(fd);
        }
        plog_t *l = tlog_open(&env, &cfg, true);
        ck_assert_int_eq(plog_end_offset(l), batch_base[BATCHES]);
        check_every_offset(l);
        plog_close(l);
        assert_same_file(idx, orig_idx);
        assert_same_file(tidx, orig_tidx);
    }
}
END_TEST

/* Batches one writer appends at most: with 4 KiB segments each one keeps
 * descriptors open, and a slow fsync (ASan, a loaded machine) can keep the
 * kill waiting for seconds. */
#define WRITER_MAX_BATCHES 4000

/* The writer: appends (up to WRITER_MAX_BATCHES, then only waits for its
 * fsyncs) to the log under dir, reporting the durable offset after each loop
 * turn; with rising_epochs a new leader epoch every 8 batches. It runs in a
 * freshly exec'd copy of this binary: a child forked from a process whose
 * threads (the io thread, the sanitizers' own) may hold a lock must not
 * allocate before exec, or it can wait for that lock forever. */
static _Noreturn void writer(const char *dir, int report_fd, bool rising_epochs)
{
    config_init();
    struct event_base *base = event_base_new();
    log_io_t *io = log_io_new(base);
    char err[256];
    plog_t *l = base && io ? plog_open(dir, TLOG_TOPIC, TLOG_PARTITION, tlog_topic_id, &cfg,
                                       false, io, err, sizeof err)
                           : NULL;
    if (!l)
        _exit(3);
    uint8_t buf[8192];
    int32_t first_epoch = plog_latest_epoch(l) > 7 ? plog_latest_epoch(l) : 7;
    for (int i = 0;; i++) {
        if (i >= WRITER_MAX_BATCHES) {
            usleep(1000);
        } else {
            size_t len = tlog_batch(buf, sizeof buf, 1 + i % 4, i, (size_t)(i % 300));
            plog_append_info_t info;
            if (plog_append(l, buf, len, rising_epochs ? first_epoch + i / 8 : 7, &info) != 0)
                _exit(4);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        int64_t d = plog_durable_offset(l);
        if (write(report_fd, &d, sizeof d) != sizeof d)
            _exit(5);
    }
}

#define WRITER_ARG "--sigkill-writer"

/* Starts the writer, lets it run for run_ms and kills it; returns the last
 * durable offset it reported. */
static int64_t run_and_kill(uint64_t run_ms, bool rising_epochs)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", p[1]);
    char *argv[] = {"test_recovery", WRITER_ARG, env.dir, fd_text,
                    rising_epochs ? "epochs" : "steady", NULL};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {                  /* only async-signal-safe calls until exec */
        close(p[0]);
        execv("/proc/self/exe", argv);
        _exit(6);
    }
    close(p[1]);
    int64_t durable = 0, d;
    uint64_t t0 = cairn_mono_ms();
    /* At least run_ms, and on a loaded machine on until a first fsync has
     * completed (bounded), so the kill always lands after durable data. */
    while ((cairn_mono_ms() - t0 < run_ms || durable == 0) &&
           cairn_mono_ms() - t0 < run_ms + 30000 && read(p[0], &d, sizeof d) == sizeof d)
        durable = d;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read(p[0], &d, sizeof d) == sizeof d)
        durable = d;
    close(p[0]);
    ck_assert_msg(WIFSIGNALED(status), "writer exited with status %d", WEXITSTATUS(status));
    ck_assert_int_gt(durable, 0);
    return durable;
}

/* "e:start ..." of the epoch cache. */
static void epochs_text(const plog_t *l, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int32_t e = 0; e <= plog_latest_epoch(l) && n < len; e++) {
        int64_t s = plog_epoch_start_offset(l, e);
        if (s >= 0)
            n += (size_t)snprintf(out + n, len - n, "%d:%" PRId64 " ", e, s);
    }
}

/* After a crash with epochs changing all along, the recovered cache is the
 * one the surviving batches carry (what a rebuild from them gives). */
START_TEST(test_sigkill_writer_epochs)
{
    for (int round = 0; round < 5; round++) {
        int64_t durable = run_and_kill(100 + 40 * (uint64_t)round, true);
        plog_t *l = tlog_open(&env, &cfg, false);
        ck_assert_int_ge(plog_end_offset(l), durable);
        ck_assert_int_ge(plog_latest_epoch(l), 7);
        char recovered[8192], rebuilt[8192], path[600];
        epochs_text(l, recovered, sizeof recovered);
        plog_close(l);
        snprintf(path, sizeof path, "%s/leader-epoch-checkpoint", env.part);
        ck_assert_int_eq(unlink(path), 0);
        l = tlog_open(&env, &cfg, true);
        epochs_text(l, rebuilt, sizeof rebuilt);
        ck_assert_str_eq(recovered, rebuilt);
        plog_close(l);
    }
}
END_TEST

START_TEST(test_sigkill_writer)
{
    for (int round = 0; round < 5; round++) {
        int64_t durable = run_and_kill(100 + 40 * (uint64_t)round, false);
        plog_t *l = tlog_open(&env, &cfg, false);
        ck_assert_int_ge(plog_end_offset(l), durable);   /* nothing acknowledged is lost */
        check_every_offset(l);
        plog_close(l);
    }
}
END_TEST

static Suite *recovery_suite(void)
{
    Suite *s = suite_create("log-recovery");
    TCase *tc = tcase_create("recovery");
    tcase_add_unchecked_fixture(tc, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_torn_tail_random_positions);
    tcase_add_test(tc, test_bit_flips_in_tail);
    tcase_add_test(tc, test_garbage_appended);
    tcase_add_test(tc, test_corrupt_middle_segment);
    tcase_add_test(tc, test_trusted_segment_cut_short);
    tcase_add_test(tc, test_missing_or_corrupt_index_rebuilt);
    tcase_add_test(tc, test_sigkill_writer);
    tcase_add_test(tc, test_sigkill_writer_epochs);
    tcase_set_timeout(tc, 150);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], WRITER_ARG) == 0) {
        cairn_log_init("writer", 0, CAIRN_LOG_ERROR);
        writer(argv[2], atoi(argv[3]), strcmp(argv[4], "epochs") == 0);
    }
    return tlog_run_suite(recovery_suite(), CAIRN_LOG_ERROR);
}
