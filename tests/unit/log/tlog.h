/* Helpers shared by the log tests: record batches built with a correct
 * CRC32C, scratch directories, an event loop with a log_io, and shortcuts
 * for opening, appending to and reading back a partition log. */
#ifndef CAIRN_TLOG_H
#define CAIRN_TLOG_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "batch.h"
#include "log_io.h"
#include "log.h"
#include "plog.h"

#define TLOG_TOPIC "orders.eu-west"
#define TLOG_PARTITION 3u

extern const uint8_t tlog_topic_id[16];

/* Builds one uncompressed batch of n records (key "k<i>", value of
 * value_len bytes, one header, timestamps base_ts + i) into out. Returns
 * its size; aborts when cap is too small. */
size_t tlog_batch(uint8_t *out, size_t cap, int n, int64_t base_ts, size_t value_len);
/* The same batch as a leader stored it, for follower appends: baseOffset
 * and partitionLeaderEpoch set (both outside the CRC). */
size_t tlog_replica_batch(uint8_t *out, size_t cap, int64_t base_offset, int n,
                          int32_t epoch);
/* Recomputes the CRC of the batch at p after a test changed bytes >= 21. */
void tlog_fix_crc(uint8_t *p, size_t total);

/* A fresh directory under the test case's scratch root. */
void tlog_scratch_setup(void);
void tlog_scratch_teardown(void);
void tlog_new_dir(char *out, size_t len);
void tlog_rm_rf(const char *path);
void tlog_copy_dir(const char *from, const char *to);

/* The event loop and io thread of one test (fork mode: one per test). */
typedef struct tlog_env {
    struct event_base *base;
    log_io_t *io;
    char dir[256];               /* log.dirs */
    char part[300];              /* <dir>/<topic>-<partition> */
} tlog_env_t;

void tlog_env_init(tlog_env_t *env);
void tlog_env_free(tlog_env_t *env);
/* Runs the loop until the io thread is idle and its completions ran. */
void tlog_pump(tlog_env_t *env);

void tlog_small_config(plog_config_t *c);   /* 4 KiB segments, index every batch */
plog_t *tlog_open(tlog_env_t *env, const plog_config_t *cfg, bool clean);

/* Appends one batch of n records with timestamps from base_ts; returns its
 * base offset. */
int64_t tlog_append(plog_t *l, int n, int64_t base_ts, size_t value_len);

/* Reads the batches of a slice into memory and checks they are whole,
 * contiguous batches starting with the slice's first_offset and ending
 * before next_offset; returns the number of batches. */
int tlog_check_slice(const plog_slice_t *s);

/* Path of the segment file with the given base offset and extension. */
void tlog_seg_path(const tlog_env_t *env, char *out, size_t len, int64_t base,
                   const char *ext);
int64_t tlog_file_size(const char *path);
/* Reads a small file into out (NUL-terminated); its length, or -1. */
int64_t tlog_read_text(const char *path, char *out, size_t cap);
/* Writes text to path, replacing it. */
void tlog_write_text(const char *path, const char *text);
/* <env->part>/leader-epoch-checkpoint */
void tlog_checkpoint_path(const tlog_env_t *env, char *out, size_t len);

/* Logs at level, runs s (fork mode) and returns main's exit status. */
int tlog_run_suite(Suite *s, cairn_log_level_t level);

#endif
