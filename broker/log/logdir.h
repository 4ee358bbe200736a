/* A log directory (one entry of log.dirs) as a whole: the clean-shutdown
 * marker and the listing of the partition directories it holds, so the
 * broker can reopen its logs at start. Blocking; start-up and shutdown. */
#ifndef CAIRN_LOGDIR_H
#define CAIRN_LOGDIR_H

#include <stdbool.h>
#include <stdint.h>

#define LOGDIR_CLEAN_MARKER ".cairn-clean-shutdown"
#define LOGDIR_TOPIC_MAX 249              /* Kafka's limit on topic names */

/* Returns 1 when the marker existed (it is then removed, durably: the
 * directory is fsync'd, so a crash after this start is not taken for a
 * clean one), 0 when it did not, -1 on an I/O error. */
int logdir_clean_marker_take(const char *log_dir);
/* Creates the marker durably (file and directory fsync'd). After every log
 * of the directory was closed with plog_close. Returns 0 or -1. */
int logdir_clean_marker_write(const char *log_dir);

typedef struct logdir_entry {
    const char *path;                     /* "<log_dir>/<name>" */
    const char *topic;                    /* may contain '-' and '.' */
    uint32_t partition;
    bool has_topic_id;                    /* partition.metadata was readable */
    uint8_t topic_id[16];
} logdir_entry_t;

/* Calls fn for each "<topic>-<partition>" directory in log_dir (split at
 * the last '-'), in no particular order; the entry is borrowed for the
 * call. Directories being deleted ("...-delete") and other names are
 * skipped. fn returning non-zero stops the scan. Returns the number of
 * entries passed to fn, or -1 when log_dir cannot be read. */
typedef int (*logdir_scan_fn)(void *arg, const logdir_entry_t *e);
int logdir_scan(const char *log_dir, logdir_scan_fn fn, void *arg);


/* Parses a partition directory name; 0 on success (topic gets a copy). */
int logdir_parse_name(const char *name, char topic[LOGDIR_TOPIC_MAX + 1],
                      uint32_t *partition);

#endif
