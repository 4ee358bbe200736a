/* The leader-epoch cache of a partition log (plog.h, epoch_cache.h): its
 * queries, loading or rebuilding it at open, and persisting its checkpoint
 * through the group-commit sync jobs without blocking the loop thread. */
#include "plog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"
#include "pmeta.h"

#define CKPT PMETA_EPOCH_CHECKPOINT_FILE
#define CKPT_TMP PMETA_EPOCH_CHECKPOINT_FILE PMETA_TMP_SUFFIX
#define CKPT_MAX_BYTES (64u << 20)     /* millions of epochs; more is not a checkpoint */

int32_t plog_latest_epoch(const plog_t *l)
{
    return epoch_cache_latest(&l->epochs);
}

int64_t plog_epoch_start_offset(const plog_t *l, int32_t epoch)
{
    return epoch_cache_start_of(&l->epochs, epoch);
}

int64_t plog_end_offset_for_epoch(const plog_t *l, int32_t epoch, int32_t *epoch_out)
{
    return epoch_cache_end_offset_for(&l->epochs, epoch, l->end_offset, epoch_out);
}

int plog_begin_epoch(plog_t *l, int32_t epoch)
{
    CAIRN_ASSERT(epoch >= 0 && epoch >= epoch_cache_latest(&l->epochs));
    int rc = epoch_cache_assign(&l->epochs, epoch, l->end_offset);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        plog_epochs_changed(l, l->end_offset);
        plog_sync_kick(l);
    }
    return 0;
}

static void mark_durable(plog_t *l)
{
    l->epochs_durable = true;
    l->epochs_dirty = false;
    l->epochs_unsafe_from = INT64_MAX;
}

void plog_epochs_changed(plog_t *l, int64_t start_offset)
{
    l->epochs_dirty = true;
    l->epochs_durable = false;
    if (start_offset >= 0 && start_offset < l->epochs_unsafe_from)
        l->epochs_unsafe_from = start_offset;
    /* Page-cache mode stages it with the next flush it does anyway: until
     * then the recovery point stays below the new entry, so recovery finds
     * the epoch in the batches. */
    if (plog_durable_mode(l))
        l->flush_wanted = true;
}

int plog_epochs_stage(plog_t *l, plog_sync_job_t *job)
{
    job->ckpt_seq = 0;
    if (!l->epochs_dirty)
        return -1;
    size_t len;
    char *text = epoch_cache_format(&l->epochs, &len);
    if (!text)
        errno = ENOMEM;
    int fd = text ? pmeta_write_tmp(l->dir_fd, CKPT, text, len) : -1;
    free(text);
    if (fd < 0) {
        LOG_WARN("log", "%s: cannot write %s (%s); retried later", l->name, CKPT_TMP,
                 strerror(errno));
        return -1;
    }
    job->ckpt_seq = ++l->ckpt_staged_seq;
    return fd;
}

void plog_epochs_synced(plog_t *l, const plog_sync_job_t *job)
{
    /* This job's directory sync made an earlier rename durable. When that
     * was the latest staged checkpoint and nothing changed since, the disk
     * holds every entry and the recovery point may pass any of them. */
    if (job->dir_ckpt_seq != 0 && job->dir_ckpt_seq == l->ckpt_staged_seq &&
        !l->epochs_dirty)
        mark_durable(l);
    if (job->ckpt_seq == 0)
        return;
    if (renameat(l->dir_fd, CKPT_TMP, l->dir_fd, CKPT) != 0) {
        LOG_WARN("log", "%s: cannot rename %s: %s", l->name, CKPT_TMP, strerror(errno));
        l->epochs_dirty = true;
        l->flush_wanted = true;
        return;
    }
    l->ckpt_renamed_seq = job->ckpt_seq;
    l->dir_dirty = true;              /* the next sync makes the rename durable */
    l->flush_wanted = true;
}

void plog_epochs_job_lost(plog_t *l, const plog_sync_job_t *job)
{
    if (job->ckpt_seq != 0 && !l->epochs_durable) {
        l->epochs_dirty = true;
        l->flush_wanted = true;
    }
}

/* Callers made any in-flight job stale first (plog_sync_blocking), so no
 * staged checkpoint can be renamed over this one later. */
int plog_epochs_write_sync(plog_t *l)
{
    if (l->epochs_durable)
        return 0;
    size_t len;
    char *text = epoch_cache_format(&l->epochs, &len);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = pmeta_write_atomic(l->dir_fd, CKPT, text, len);
    free(text);
    if (rc != 0)
        return -1;
    mark_durable(l);
    return 0;
}

/* 0 with an owned text, 1 when the file is absent, -1 when unreadable. */
static int read_checkpoint(const plog_t *l, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    int fd = openat(l->dir_fd, CKPT, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size <= CKPT_MAX_BYTES &&
        (*text = malloc((size_t)st.st_size + 1)) != NULL &&
        store_file_pread_all(fd, *text, (size_t)st.st_size, 0) == 0) {
        *len = (size_t)st.st_size;
        rc = 0;
    }
    close(fd);
    if (rc != 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* Adds the epochs the batches of segments[first..] carry: a batch whose
 * partitionLeaderEpoch is above the latest cached one starts that epoch at
 * its baseOffset (as Kafka's segment recovery assigns them). Reads only
 * batch headers. */
static int scan_epochs(plog_t *l, size_t first, char *err, size_t err_len)
{
    bool warned = false;
    for (size_t i = first; i < l->n_segs; i++) {
        segment_t *s = l->segs[i];
        for (uint64_t pos = 0; pos < s->size_bytes;) {
            batch_header_t h;
            size_t total;
            int rc = segment_read_header(s, pos, &h, &total);
            if (rc != 0) {
                snprintf(err, err_len, "cannot read the epochs of %s: %s at byte %" PRIu64
                         " of segment %" PRId64, l->dir,
                         rc == -1 ? strerror(errno) : "corrupt batch header", pos,
                         s->base_offset);
                return -1;
            }
            int32_t latest = epoch_cache_latest(&l->epochs);
            if (h.partition_leader_epoch > latest &&
                epoch_cache_assign(&l->epochs, h.partition_leader_epoch, h.base_offset) < 0) {
                snprintf(err, err_len, "cannot load the epochs of %s: out of memory", l->dir);
                return -1;
            }
            if (h.partition_leader_epoch >= 0 && h.partition_leader_epoch < latest &&
                !warned) {
                warned = true;
                LOG_WARN("log", "%s: batch at offset %" PRId64 " has epoch %" PRId32
                         " below the epoch %" PRId32 " before it; ignored", l->name,
                         h.base_offset, h.partition_leader_epoch, latest);
            }
            pos += total;
        }
    }
    return 0;
}

/* Writes the checkpoint unless old (the file's text, NULL when it was not
 * usable) already says the same. */
static int write_if_changed(plog_t *l, const char *old, size_t old_len, char *err,
                            size_t err_len)
{
    size_t len;
    char *text = epoch_cache_format(&l->epochs, &len);
    int rc = 0;
    if (!text) {
        errno = ENOMEM;
        rc = -1;
    } else if (!old || old_len != len || memcmp(old, text, len) != 0) {
        rc = pmeta_write_atomic(l->dir_fd, CKPT, text, len);
    }
    free(text);
    if (rc != 0) {
        snprintf(err, err_len, "cannot write %s/%s: %s", l->dir, CKPT, strerror(errno));
        return -1;
    }
    mark_durable(l);
    return 0;
}

int plog_epochs_load(plog_t *l, int64_t rescan_from, char *err, size_t err_len)
{
    char *text;
    size_t len;
    int rc = read_checkpoint(l, &text, &len);
    bool trusted = rc == 0 && epoch_cache_parse(&l->epochs, text, len) == 0;
    int64_t start = plog_start_offset(l);
    if (!trusted) {
        if (rc != 1)
            LOG_WARN("log", "%s: unreadable %s; rebuilding it from the batches", l->name, CKPT);
        else if (l->end_offset > start)
            LOG_INFO("log", "%s: no %s; rebuilding it from the batches", l->name, CKPT);
        epoch_cache_clear(&l->epochs);
        rescan_from = start;
    }
    if (rescan_from < l->end_offset) {
        /* Recovery validated the batches from here on; their headers say
         * again what the checkpoint may only partly know. */
        epoch_cache_truncate_from_end(&l->epochs, rescan_from);
        ssize_t i = plog_find_segment(l, rescan_from);
        if (scan_epochs(l, i < 0 ? 0 : (size_t)i, err, err_len) != 0) {
            free(text);
            return -1;
        }
    }
    /* A crash may have kept a checkpoint newer than the log: never claim
     * epochs for offsets the log lost (KIP-101), nor below its start. */
    epoch_cache_truncate_from_end(&l->epochs, l->end_offset);
    epoch_cache_truncate_from_start(&l->epochs, start);
    rc = write_if_changed(l, trusted ? text : NULL, len, err, err_len);
    free(text);
    return rc;
}
