/* Unit tests of group commit (broker/log/plog_sync.c, log_io.c): waiters
 * fire only after the fsync, in order; appends during an fsync are covered
 * by the next one; page-cache mode; a failing fsync fails the log; the io
 * thread's completions run on the loop thread. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "tlog.h"

static tlog_env_t env;

/* A sync call the test opens and closes like a gate. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open = true;
static atomic_int syncs_started;

static int gated_sync(int fd)
{
    atomic_fetch_add(&syncs_started, 1);
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return fdatasync(fd);
}

static void set_gate(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static int failing_sync(int fd)
{
    (void)fd;
    errno = EIO;
    return -1;
}

static void setup(void)
{
    tlog_env_init(&env);
}

static void teardown(void)
{
    set_gate(true);
    tlog_env_free(&env);
}

typedef struct fired {
    int order[64];
    int err[64];
    int n;
} fired_t;

static fired_t fired;
static int waiter_ids[64];

static void on_durable(void *arg, int err)
{
    int id = *(int *)arg;
    fired.order[fired.n] = id;
    fired.err[fired.n] = err;
    fired.n++;
}

static void add_waiter(plog_t *l, int id, int64_t end)
{
    waiter_ids[id] = id;
    ck_assert_int_eq(plog_when_durable(l, end, on_durable, &waiter_ids[id]), 0);
}

START_TEST(test_waiters_after_fsync_in_order)
{
    log_io_set_sync_fn(env.io, gated_sync);
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    set_gate(false);
    tlog_append(l, 2, 0, 10);                        /* queues sync #1 (end 2) */
    add_waiter(l, 0, 1);
    add_waiter(l, 1, 2);
    tlog_append(l, 3, 0, 10);                        /* during sync #1: covered by #2 */
    add_waiter(l, 2, 5);
    add_waiter(l, 3, 9);                             /* not appended yet */
    for (int i = 0; i < 20; i++)
        event_base_loop(env.base, EVLOOP_NONBLOCK);
    usleep(20000);
    event_base_loop(env.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(fired.n, 0);                    /* nothing before the fsync */
    ck_assert_int_eq(plog_durable_offset(l), 0);
    ck_assert_int_eq(plog_readable_offset(l), 0);
    set_gate(true);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 5);
    ck_assert_int_eq(fired.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fired.order[i], i);
        ck_assert_int_eq(fired.err[i], 0);
    }
    tlog_append(l, 4, 0, 10);
    tlog_pump(&env);
    ck_assert_int_eq(fired.n, 4);
    ck_assert_int_eq(fired.order[3], 3);
    /* Already durable: at once. */
    add_waiter(l, 4, 3);
    ck_assert_int_eq(fired.n, 5);
    plog_close(l);
}
END_TEST

/* One fsync in flight: many appends during it take one more sync. */
START_TEST(test_group_commit)
{
    log_io_set_sync_fn(env.io, gated_sync);
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.segment_bytes = 1 << 20;
    plog_t *l = tlog_open(&env, &cfg, true);
    set_gate(false);
    tlog_append(l, 1, 0, 10);
    while (atomic_load(&syncs_started) == 0)
        usleep(1000);
    for (int i = 0; i < 50; i++)
        tlog_append(l, 1, 0, 10);
    atomic_store(&syncs_started, 0);
    set_gate(true);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 51);
    /* The first job synced its files; the second covered the 50 appends
     * with the segment's files and the directory: a handful of fds. */
    ck_assert_int_le(atomic_load(&syncs_started), 8);
    plog_close(l);
}
END_TEST

START_TEST(test_page_cache_mode)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    cfg.flush_interval_messages = 10;
    cfg.flush_interval_ms = 50;
    cfg.segment_bytes = 1 << 20;
    plog_t *l = tlog_open(&env, &cfg, true);
    tlog_append(l, 3, 0, 10);
    tlog_pump(&env);
    ck_assert_int_eq(plog_readable_offset(l), 3);    /* readable before any fsync */
    ck_assert_int_eq(plog_durable_offset(l), 0);
    add_waiter(l, 0, 3);                             /* page-cache mode: at once */
    ck_assert_int_eq(fired.n, 1);
    tlog_append(l, 8, 0, 10);                        /* 11 messages: flush */
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 11);
    tlog_append(l, 1, 0, 10);
    plog_maybe_flush(l, (int64_t)0);                 /* not old enough */
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 11);
    usleep(60000);
    plog_maybe_flush(l, (int64_t)cairn_mono_ms());
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 12);
    plog_close(l);
}
END_TEST

START_TEST(test_failing_fsync_fails_log)
{
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    tlog_append(l, 1, 0, 10);
    tlog_pump(&env);
    ck_assert_int_eq(plog_durable_offset(l), 1);
    log_io_set_sync_fn(env.io, failing_sync);
    uint8_t buf[4096];
    size_t len = tlog_batch(buf, sizeof buf, 2, 0, 10);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(l, buf, len, 7, &info), 0);
    add_waiter(l, 0, 3);
    tlog_pump(&env);
    ck_assert_int_eq(fired.n, 1);
    ck_assert_int_eq(fired.err[0], -1);
    ck_assert_int_eq(plog_durable_offset(l), 1);     /* never assumed */
    len = tlog_batch(buf, sizeof buf, 2, 0, 10);
    ck_assert_int_eq(plog_append(l, buf, len, 7, &info), -1);
    add_waiter(l, 1, 2);
    ck_assert_int_eq(fired.err[1], -1);
    log_io_set_sync_fn(env.io, NULL);                /* a good fsync later changes nothing */
    ck_assert_int_eq(plog_append(l, buf, len, 7, &info), -1);
    plog_close(l);
}
END_TEST

static pthread_t loop_thread;
static int io_done_calls;

static void on_io_done(void *arg, int err)
{
    ck_assert(pthread_equal(pthread_self(), loop_thread));
    ck_assert_int_eq(err, *(int *)arg);
    io_done_calls++;
}

START_TEST(test_log_io_jobs)
{
    loop_thread = pthread_self();
    char path[512], dir[600];
    snprintf(path, sizeof path, "%s/x", env.dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    ck_assert_int_ge(fd, 0);
    int ok = 0, eio = EIO;
    int fds[1] = {dup(fd)};
    ck_assert_int_eq(log_io_sync(env.io, fds, 1, -1, on_io_done, &ok), 0);
    log_io_set_sync_fn(env.io, NULL);
    tlog_pump(&env);
    ck_assert_int_eq(io_done_calls, 1);
    log_io_set_sync_fn(env.io, failing_sync);
    fds[0] = dup(fd);
    ck_assert_int_eq(log_io_sync(env.io, fds, 1, dup(fd), on_io_done, &eio), 0);
    tlog_pump(&env);
    ck_assert_int_eq(io_done_calls, 2);
    close(fd);
    snprintf(dir, sizeof dir, "%s/tree", env.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/tree/file", env.dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    ck_assert_int_eq(log_io_remove(env.io, dir), 0);
    tlog_pump(&env);
    ck_assert_int_eq(tlog_file_size(dir), -1);
    ck_assert_uint_eq(log_io_pending(env.io), 0);
    /* log_io_free runs what is still queued. */
    fds[0] = open(env.dir, O_RDONLY);
    log_io_set_sync_fn(env.io, NULL);
    ck_assert_int_eq(log_io_sync(env.io, fds, 1, -1, on_io_done, &ok), 0);
    log_io_free(env.io);
    ck_assert_int_eq(io_done_calls, 3);
    env.io = log_io_new(env.base);
}
END_TEST

static int readable_calls;

static void on_readable(void *arg)
{
    (void)arg;
    readable_calls++;
}

START_TEST(test_on_readable)
{
    log_io_set_sync_fn(env.io, gated_sync);
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_t *l = tlog_open(&env, &cfg, true);
    plog_set_on_readable(l, on_readable, NULL);
    set_gate(false);
    tlog_append(l, 2, 0, 10);
    event_base_loop(env.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(readable_calls, 0);                 /* durable mode: after the fsync */
    set_gate(true);
    tlog_pump(&env);
    ck_assert_int_eq(readable_calls, 1);
    ck_assert_int_eq(plog_readable_offset(l), 2);
    cfg.flush_interval_messages = 100;
    plog_set_config(l, &cfg);
    tlog_append(l, 1, 0, 10);                            /* page-cache mode: at once */
    ck_assert_int_eq(readable_calls, 2);
    ck_assert_int_eq(plog_readable_offset(l), 3);
    plog_close(l);
}
END_TEST

static Suite *durability_suite(void)
{
    Suite *s = suite_create("log-durability");
    TCase *tc = tcase_create("durability");
    tcase_add_unchecked_fixture(tc, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_waiters_after_fsync_in_order);
    tcase_add_test(tc, test_group_commit);
    tcase_add_test(tc, test_page_cache_mode);
    tcase_add_test(tc, test_failing_fsync_fails_log);
    tcase_add_test(tc, test_log_io_jobs);
    tcase_add_test(tc, test_on_readable);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tlog_run_suite(durability_suite(), CAIRN_LOG_WARN);
}
