/* A partition log (plog.h): opening and closing, accessors and the segment
 * list. Appends live in plog_append.c, group commit in plog_sync.c, reads in
 * plog_read.c, recovery in plog_recovery.c, retention and truncation in
 * plog_retention.c, the leader-epoch cache in plog_epochs.c. */
#include "plog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"
#include "store_file.h"
#include "logdir.h"
#include "pmeta.h"
#include "timeutil.h"

#define SEGMENT_BYTES_MAX ((uint64_t)INT32_MAX)   /* positions are int32 in .index */

void plog_config_defaults(plog_config_t *c)
{
    c->segment_bytes = 1024ull * 1024 * 1024;
    c->roll_ms = 7LL * 24 * 3600 * 1000;
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->retention_bytes = -1;
    c->index_interval_bytes = 4096;
    c->index_max_bytes = 10 * 1024 * 1024;
    c->flush_interval_messages = 1;
    c->flush_interval_ms = -1;
}

static void set_config(plog_t *l, const plog_config_t *cfg)
{
    l->cfg = *cfg;
    if (l->cfg.segment_bytes > SEGMENT_BYTES_MAX)
        l->cfg.segment_bytes = SEGMENT_BYTES_MAX;
    if (l->cfg.index_max_bytes < 2 * 12)
        l->cfg.index_max_bytes = 2 * 12;
}

void plog_set_config(plog_t *l, const plog_config_t *cfg)
{
    bool was_durable = plog_durable_mode(l);
    set_config(l, cfg);
    if (plog_durable_mode(l) && !was_durable) {
        l->flush_wanted = true;
        plog_sync_kick(l);
    }
}

/* Opens the directory, checks or writes partition.metadata. */
static int open_dir(plog_t *l, const uint8_t topic_id[16], char *err, size_t err_len)
{
    if (store_file_mkdirs(l->dir) != 0) {
        snprintf(err, err_len, "cannot create %s: %s", l->dir, strerror(errno));
        return -1;
    }
    l->dir_fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dir_fd < 0) {
        snprintf(err, err_len, "cannot open %s: %s", l->dir, strerror(errno));
        return -1;
    }
    uint8_t found[16];
    int rc = pmeta_read_topic_id(l->dir_fd, found);
    if (rc == 0 && memcmp(found, topic_id, 16) != 0) {
        char a[PMETA_TOPIC_ID_CHARS + 1], b[PMETA_TOPIC_ID_CHARS + 1];
        pmeta_topic_id_format(found, a);
        pmeta_topic_id_format(topic_id, b);
        snprintf(err, err_len, "%s belongs to topic id %s, not %s", l->dir, a, b);
        return -1;
    }
    if (rc != 0 && pmeta_write_topic_id(l->dir_fd, topic_id) != 0) {
        snprintf(err, err_len, "cannot write %s/%s: %s", l->dir, PMETA_PARTITION_FILE,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static void free_log(plog_t *l)
{
    for (size_t i = 0; i < l->n_segs; i++)
        segment_close(l->segs[i]);
    if (l->dir_fd >= 0)
        close(l->dir_fd);
    free(l->segs);
    epoch_cache_free(&l->epochs);
    free(l->waiters);
    free(l->rbuf);
    free(l->dir);
    free(l->name);
    free(l);
}

plog_t *plog_open(const char *dir, const char *topic, uint32_t partition,
                  const uint8_t topic_id[16], const plog_config_t *cfg, bool clean_shutdown,
                  log_io_t *io, char *err, size_t err_len)
{
    plog_t *l = calloc(1, sizeof *l);
    char path[PATH_MAX], name[PATH_MAX];
    int n = snprintf(name, sizeof name, "%s-%" PRIu32, topic, partition);
    int m = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!l || n < 0 || (size_t)n >= sizeof name || m < 0 || (size_t)m >= sizeof path) {
        snprintf(err, err_len, "cannot open log %s-%" PRIu32 ": %s", topic, partition,
                 l ? "path too long" : "out of memory");
        free(l);
        return NULL;
    }
    l->dir_fd = -1;
    l->io = io;
    l->first_unflushed_mono_ms = -1;
    l->high_watermark = -1;
    epoch_cache_init(&l->epochs);
    l->epochs_unsafe_from = INT64_MAX;
    l->dir = strdup(path);
    l->name = strdup(name);
    set_config(l, cfg);
    if (!l->dir || !l->name) {
        snprintf(err, err_len, "cannot open log %s: out of memory", name);
        free_log(l);
        return NULL;
    }
    if (open_dir(l, topic_id, err, err_len) != 0 ||
        plog_recover(l, clean_shutdown, err, err_len) != 0) {
        free_log(l);
        return NULL;
    }
    LOG_INFO("log", "%s: opened, offsets %" PRId64 "..%" PRId64 ", %zu segment(s)%s",
             l->name, plog_start_offset(l), l->end_offset, l->n_segs,
             clean_shutdown ? "" : ", recovered");
    return l;
}

/* The next open trusts the checkpoint after a clean stop: when it cannot be
 * brought up to date, it is removed so that open rebuilds it instead. */
static void close_epochs(plog_t *l)
{
    if (plog_epochs_write_sync(l) == 0)
        return;
    LOG_WARN("log", "%s: cannot write %s (%s); removing it", l->name,
             PMETA_EPOCH_CHECKPOINT_FILE, strerror(errno));
    if (store_file_unlink(l->dir_fd, PMETA_EPOCH_CHECKPOINT_FILE) != 0 ||
        store_file_fsync_dir(l->dir_fd) != 0)
        LOG_ERROR("log", "%s: cannot remove %s: %s", l->name, PMETA_EPOCH_CHECKPOINT_FILE,
                  strerror(errno));
}

void plog_close(plog_t *l)
{
    if (!l)
        return;
    plog_detach_inflight(l);
    if (!l->failed) {
        if (plog_sync_blocking(l) != 0) {
            plog_fail(l, "fsync at close", errno);
        } else {
            l->durable_offset = l->end_offset;
            close_epochs(l);
            int64_t rp = plog_active(l)->base_offset;
            if (rp != l->recovery_point && plog_write_recovery_point(l, rp) != 0)
                LOG_WARN("log", "%s: cannot write the recovery point: %s", l->name,
                         strerror(errno));
        }
    }
    plog_waiters_finish(l, l->durable_offset, -1);
    free_log(l);
}

void plog_close_and_delete(plog_t *l)
{
    plog_detach_inflight(l);
    plog_waiters_finish(l, l->durable_offset, -1);
    char gone[PATH_MAX];
    snprintf(gone, sizeof gone, "%s.%" PRIx64 "-delete", l->dir, cairn_mono_us());
    const char *remove_path = gone;
    if (rename(l->dir, gone) != 0) {
        LOG_WARN("log", "%s: cannot rename %s away: %s", l->name, l->dir, strerror(errno));
        remove_path = l->dir;
    }
    if (log_io_remove(l->io, remove_path) != 0)
        LOG_WARN("log", "%s: cannot queue the removal of %s", l->name, remove_path);
    LOG_INFO("log", "%s: deleted", l->name);
    free_log(l);
}

const char *plog_dir(const plog_t *l) { return l->dir; }
int64_t plog_start_offset(const plog_t *l) { return l->segs[0]->base_offset; }
int64_t plog_end_offset(const plog_t *l) { return l->end_offset; }
int64_t plog_durable_offset(const plog_t *l) { return l->durable_offset; }
size_t plog_segment_count(const plog_t *l) { return l->n_segs; }

uint64_t plog_size_bytes(const plog_t *l)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->n_segs; i++)
        n += l->segs[i]->size_bytes;
    return n;
}

ssize_t plog_find_segment(const plog_t *l, int64_t offset)
{
    size_t lo = 0, hi = l->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->segs[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ssize_t)lo - 1;
}

int plog_push_segment(plog_t *l, segment_t *s)
{
    if (l->n_segs == l->cap_segs) {
        size_t cap = l->cap_segs ? 2 * l->cap_segs : 8;
        segment_t **p = realloc(l->segs, cap * sizeof *p);
        if (!p)
            return -1;
        l->segs = p;
        l->cap_segs = cap;
    }
    CAIRN_ASSERT(l->n_segs == 0 || s->base_offset == plog_active(l)->next_offset);
    l->segs[l->n_segs++] = s;
    return 0;
}

void plog_drop_segment_files(plog_t *l, segment_t *s)
{
    char names[3][SEGMENT_NAME_MAX], path[PATH_MAX];
    if (segment_rename_deleted(s, l->dir_fd, names) != 0)
        LOG_WARN("log", "%s: cannot rename segment %" PRId64 " away: %s", l->name,
                 s->base_offset, strerror(errno));
    if (l->rbuf_seg == s)
        plog_read_forget(l);
    segment_close(s);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", l->dir, names[i]);
        if (log_io_remove(l->io, path) != 0 && unlink(path) != 0 && errno != ENOENT)
            LOG_WARN("log", "%s: cannot remove %s: %s", l->name, path, strerror(errno));
    }
}
